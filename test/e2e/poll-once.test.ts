// The real binary against the sandboxes, a real WebSocket receiver and a real database: the same scenarios on
// MariaDB and on the embedded SQLite file.
import assert from 'node:assert/strict';
import { writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, SECRETS, World, type Backend } from '../support/world.ts';

function seedBranches(world: World, count: number): string[] {
  const ids: string[] = [];
  for (let index = 1; index <= count; index += 1) {
    const id = `7000000101746609${index}`;
    world.twogis.addBranch({ id, name: `Кофейня №${index}`, orgId: '100' });
    ids.push(id);
  }
  return ids;
}

/** The pipeline's end-to-end scenarios, on the store `backend`. */
function scenarios(backend: Backend): void {
  describe(`gisbot poll-once end to end (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => {
      await world.close();
    });

    test('answers exactly the eligible reviews of three branches, charges, records, logs and notifies', async () => {
      const [first, second, third] = seedBranches(world, 3) as [string, string, string];
      const { twogis } = world;
      const eligible = [
        twogis.addReview(first, { id: '1001', rating: 5, text: 'Отличный кофе и быстрое обслуживание' }),
        twogis.addReview(second, { id: '2001', rating: 4, text: '' }),
        twogis.addReview(third, { id: '3001', rating: 5, text: "It's \"great\" \\ '; DROP TABLE reviews; -- ☕🎉𝄞" }),
      ];
      const answered = twogis.addReview(first, { id: '1002', rating: 5 });
      twogis.answerAsOwner('1002', 'Спасибо!');
      const hidden = twogis.addReview(second, { id: '2002', isHidden: true });
      const syndicated = twogis.addReview(third, { id: '3002', catalog: { id: 'flamp', name: 'Flamp' } });
      const lowRated = twogis.addReview(first, { id: '1003', rating: 1, text: 'Ужасно' });
      const all = [...eligible, answered, hidden, syndicated, lowRated].map((review) => review.id);

      const topUp = await world.run(['balance', 'add', '100', '--yes', '--json']);
      assert.equal(topUp.code, 0, topUp.stderr);
      assert.deepEqual(JSON.parse(topUp.stdout), { balance: '100.00', held: '0.00', currency: 'RUB' });

      const result = await world.run(['poll-once', '--json']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        fetched: 7,
        new: 7,
        posted: 3,
        skipped: 3,
        awaitingApproval: 1,
        failed: 0,
        charged: '15.00',
        balance: '85.00',
        currency: 'RUB',
      });
      for (const review of eligible) assert.equal(twogis.postsTo(review.id), 1, `answer to ${review.id}`);
      for (const id of ['1002', '2002', '3002', '1003']) assert.equal(twogis.postsTo(id), 0, `no answer to ${id}`);

      const rows = await world.query('SELECT id, state, text FROM reviews ORDER BY id');
      const states = Object.fromEntries(rows.map((row) => [row.id, row.state]));
      assert.deepEqual(states, {
        '1001': 'posted', '1002': 'skipped', '1003': 'needs_approval',
        '2001': 'posted', '2002': 'skipped', '3001': 'posted', '3002': 'skipped',
      });
      assert.equal(rows.find((row) => row.id === '3001')!.text, "It's \"great\" \\ '; DROP TABLE reviews; -- ☕🎉𝄞");

      const events = await world.query('SELECT id, type FROM events ORDER BY seq');
      const logged = (await world.logLines()).filter((line) => line.level === 'event');
      assert.deepEqual(logged.map((line) => line.id).sort(), events.map((row) => row.id).sort());
      assert.equal(events.filter((row) => row.type === 'reply.posted').length, 3);
      assert.equal(events.filter((row) => row.type === 'review.new').length, 7);
      assert.equal(events.filter((row) => row.type === 'review.needs_approval').length, 1);
      await eventually(() => world.receiver.frames.length === events.length, 'one frame per event');
      assert.deepEqual(world.receiver.frames.map((frame) => frame.event.id).sort(), events.map((row) => row.id).sort());
      const framesOf = (reviewId: string) => world.receiver.frames.filter((frame) => frame.event.reviewId === reviewId).map((frame) => frame.event.type);
      assert.deepEqual(framesOf('1001'), ['review.new', 'reply.posted'], 'one review\'s events arrive in order');
      assert.ok(world.receiver.frames.every((frame) => frame.authorization === `Bearer ${SECRETS.wsToken}`));
      const posted = world.receiver.frames.find((frame) => frame.event.type === 'reply.posted')!.event;
      assert.deepEqual(Object.keys(posted).sort(), ['at', 'branchId', 'businessId', 'data', 'id', 'reviewId', 'type']);
      assert.equal(posted.businessId, 'default', 'a config without businesses: is business default');
      assert.deepEqual(Object.keys(posted.data as object).sort(), ['balance', 'charged', 'text']);

      const again = await world.run(['poll-once', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(JSON.parse(again.stdout), {
        fetched: 7, new: 0, posted: 0, skipped: 0, awaitingApproval: 0, failed: 0, charged: '0.00', balance: '85.00', currency: 'RUB',
      });

      const sinks = [result.stdout, result.stderr, again.stderr, topUp.stderr, JSON.stringify(await world.logLines()),
        JSON.stringify(await world.query('SELECT * FROM events')), world.receiver.frames.map((frame) => frame.raw).join('\n')];
      for (const secret of Object.values(SECRETS)) {
        for (const sink of sinks) assert.ok(!sink.includes(secret), 'a secret leaked into an output');
      }
      await world.checkInvariants(all);
    });
  });

  describe(`gisbot poll-once against a changing 2GIS (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => {
      await world.close();
    });

    test('pages past 50 reviews with a repeated item, re-logs in once after the token expires', async () => {
      const [branch] = seedBranches(world, 1) as [string];
      world.twogis.repeatBoundaryItem = true;
      const ids = Array.from({ length: 120 }, (_, index) => world.twogis.addReview(branch, { id: `9${String(index).padStart(4, '0')}`, rating: 2 }).id);
      await world.run(['balance', 'add', '1000', '--yes']);

      const first = await world.run(['poll-once', '--json']);
      assert.equal(first.code, 0, first.stderr);
      const summary = JSON.parse(first.stdout);
      assert.equal(summary.fetched, 120);
      assert.equal(summary.new, 120);
      assert.equal(summary.awaitingApproval, 120);
      const listings = world.twogis.requests.filter((request) => request.path.endsWith('/reviews') && request.method === 'GET');
      assert.ok(listings.some((request) => request.query.offsetDate), 'the cursor was used');
      const count = (await world.query('SELECT COUNT(*) AS count FROM reviews'))[0]!.count;
      assert.equal(Number(count), 120);

      world.twogis.addReview(branch, { id: '99999', rating: 5 });
      ids.push('99999');
      world.twogis.expireTokens();
      const logins = () => world.twogis.requests.filter((request) => request.path === 'users/auth').length;
      const before = logins();
      const second = await world.run(['poll-once', '--json']);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(JSON.parse(second.stdout).posted, 1);
      assert.equal(logins() - before, 1, 'one login per process');

      // The token expires while the process is between calls: one re-login, the cycle completes.
      world.twogis.addReview(branch, { id: '99998', rating: 5, text: 'expire-tokens-now' });
      ids.push('99998');
      const respond = world.model.responder;
      world.model.responder = (request) => {
        world.twogis.expireTokens();
        return respond(request);
      };
      const beforeThird = logins();
      const third = await world.run(['poll-once', '--json']);
      world.model.responder = respond;
      assert.equal(third.code, 0, third.stderr);
      assert.equal(JSON.parse(third.stdout).posted, 1);
      assert.equal(logins() - beforeThird, 2, 'the first login and one re-login');
      await world.checkInvariants(ids);
    });

    test('an owner answer that appears between fetch and post: skipped, not charged, nothing posted', async () => {
      const branch = '70000001017466092';
      world.twogis.addBranch({ id: branch, name: 'Третья кофейня', orgId: '100' });
      world.twogis.addReview(branch, { id: '77001', rating: 5, text: 'answered-meanwhile' });
      await world.run(['balance', 'add', '50', '--yes']);
      const before = (await world.query('SELECT balance FROM business_accounts'))[0]!.balance;
      const respond = world.model.responder;
      world.model.responder = (request) => {
        if (request.messages.some((message) => message.content.includes('answered-meanwhile'))) {
          world.twogis.answerAsOwner('77001', 'Спасибо, это владелец');
        }
        return respond(request);
      };
      const result = await world.run(['poll-once', '--json']);
      world.model.responder = respond;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(world.twogis.postsTo('77001'), 0);
      const [row] = await world.query("SELECT state, reason FROM reviews WHERE id = '77001'");
      assert.equal(row!.state, 'skipped');
      const afterwards = (await world.query('SELECT balance FROM business_accounts'))[0]!.balance;
      assert.equal(afterwards, before);
    });
  });

  describe(`gisbot poll-once with too little money (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => {
      await world.close();
    });

    test('balance 12.00 and five eligible reviews: two answers, 2.00 left, balance.insufficient, exit 3', async () => {
      const [branch] = seedBranches(world, 1) as [string];
      const ids = ['1', '2', '3', '4', '5'].map((n) => world.twogis.addReview(branch, { id: `5500${n}`, rating: 5 }).id);
      await world.run(['balance', 'add', '12', '--yes']);
      const result = await world.run(['poll-once', '--json']);
      assert.equal(result.code, 3, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.equal(summary.posted, 2);
      assert.equal(summary.charged, '10.00');
      assert.equal(summary.balance, '2.00');
      assert.match(result.stderr, /balance/);
      assert.equal(ids.filter((id) => world.twogis.postsTo(id) === 1).length, 2);
      const insufficient = await world.query("SELECT id FROM events WHERE type = 'balance.insufficient'");
      assert.equal(insufficient.length, 1);
      await world.checkInvariants(ids);
    });
  });
}

scenarios('mysql');
scenarios('sqlite');

describe('gisbot fails clearly', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.close();
  });

  test('a wrong type and an unknown key: exit 2 naming both paths, no stack trace', async () => {
    const file = path.join(world.dir, 'broken.json');
    await writeFile(file, JSON.stringify({ polling: { concurrency: 'four' }, billing: { price: '5.00' } }));
    await chmod(file, 0o600);
    const result = await world.run(['poll-once', '--config', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /polling\.concurrency: /);
    assert.match(result.stderr, /billing\.price: unknown key/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.equal(result.stdout, '');
  });

  test('MySQL unreachable: exit 1 with one line naming the host, no stack, no password', async () => {
    const result = await world.run(['poll-once', '--json'], {
      env: { GISBOT_DATABASE_URL: 'mysql://gisbot:db-sentinel-pass@127.0.0.1:3399/gisbot' },
    });
    assert.equal(result.code, 1);
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
    assert.equal(errorLines.length, 1, result.stderr);
    assert.match(errorLines[0]!, /127\.0\.0\.1:3399/);
    assert.doesNotMatch(result.stderr, /db-sentinel-pass|\n\s+at /);
    assert.equal(result.stdout, '');
  });
});
