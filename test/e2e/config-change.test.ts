// What the operator changes between runs holds for the reviews already waiting, with the real binary on both
// databases: the answering policy is the one in force when a review is answered (not when it was taken in), and
// a price raised while an answer was on its way does not change what that answer costs.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { World, type Backend } from '../support/world.ts';

/** Writes the run's config file (YAML) and returns the `--config` arguments that point at it. */
async function configure(world: World, yaml: string): Promise<string[]> {
  const file = path.join(world.dir, 'gisbot.yaml');
  await writeFile(file, yaml);
  await chmod(file, 0o600);
  return ['--config', file];
}

async function stateOf(world: World, id: string): Promise<{ state: string; reason: string | null }> {
  const [row] = await world.query('SELECT state, reason FROM reviews WHERE id = ?', [id]);
  assert.ok(row, `review ${id} is stored`);
  return { state: String(row.state), reason: row.reason === null ? null : String(row.reason) };
}

async function charges(world: World): Promise<Record<string, string>> {
  const rows = await world.query("SELECT review_id, amount FROM ledger WHERE kind = 'charge' ORDER BY review_id");
  return Object.fromEntries(rows.map((row) => [String(row.review_id), money(row.amount)]));
}

/** A ledger amount as the backend returns it (MariaDB: '-5.00'; SQLite: -500 kopecks), as '-5.00'. */
function money(value: unknown): string {
  return typeof value === 'number' ? (value / 100).toFixed(2) : String(value);
}

function scenarios(backend: Backend): void {
  describe(`the policy in force when a review is answered (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => world.close());

    test('queued for lack of balance, then a branch disabled, one gone from the account, the threshold raised: none of them answered or charged', async () => {
      const [OFF, GONE, KEEP] = ['70000001020000001', '70000001020000002', '70000001020000003'];
      world.twogis.addBranch({ id: OFF, name: 'Закрытая на ремонт', orgId: '100' });
      world.twogis.addBranch({ id: GONE, name: 'Проданная', orgId: '100' });
      world.twogis.addBranch({ id: KEEP, name: 'Кофейня', orgId: '100' });
      world.twogis.addReview(OFF, { id: '610001', rating: 5, text: 'Отличный кофе' });
      world.twogis.addReview(GONE, { id: '610002', rating: 5, text: 'Вкусные булочки' });
      world.twogis.addReview(KEEP, { id: '610003', rating: 2, text: 'Долго ждали заказ' });
      world.twogis.addReview(KEEP, { id: '610004', rating: 5, text: 'Очень уютно' });

      const queued = await world.run(['poll-once', '--json', ...(await configure(world, 'policy:\n  approvalBelowRating: 0\n'))]);
      assert.equal(queued.code, 3, queued.stderr);
      for (const id of ['610001', '610002', '610003', '610004']) assert.deepEqual(await stateOf(world, id), { state: 'new', reason: null });

      const changed = await configure(
        world,
        `policy:\n  approvalBelowRating: 3\n  branches:\n    "${OFF}":\n      enabled: false\n`,
      );
      world.twogis.unlistBranch(GONE);
      assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);
      const answered = await world.run(['poll-once', '--json', ...changed]);
      assert.equal(answered.code, 0, answered.stderr);
      const summary = JSON.parse(answered.stdout);
      assert.deepEqual(
        [summary.posted, summary.skipped, summary.awaitingApproval, summary.failed, summary.charged, summary.balance],
        [1, 2, 1, 0, '5.00', '95.00'],
      );

      assert.equal(world.twogis.postsTo('610004'), 1);
      for (const id of ['610001', '610002', '610003']) assert.equal(world.twogis.postsTo(id), 0, `no answer to ${id}`);
      const off = await stateOf(world, '610001');
      assert.equal(off.state, 'skipped');
      assert.match(off.reason!, new RegExp(`answering is off for branch ${OFF}`));
      const gone = await stateOf(world, '610002');
      assert.equal(gone.state, 'skipped');
      assert.match(gone.reason!, new RegExp(`branch ${GONE} is no longer watched`));
      const low = await stateOf(world, '610003');
      assert.equal(low.state, 'needs_approval');
      assert.match(low.reason!, /rated 2, below policy\.approvalBelowRating \(3\)/);
      assert.deepEqual(await charges(world), { '610004': '-5.00' });
      const told = await world.query("SELECT review_id, type FROM events WHERE type IN ('review.skipped', 'review.needs_approval') ORDER BY review_id");
      assert.deepEqual(
        told.map((row) => [row.review_id, row.type]),
        [['610001', 'review.skipped'], ['610002', 'review.skipped'], ['610003', 'review.needs_approval']],
      );
      await world.checkInvariants(world.twogis.reviewIds());
    });

    test('queued for lack of balance, then the branch taken out of twogis.branches: not answered or charged', async () => {
      const [KEEP, DROPPED] = ['70000001020000003', '70000001020000004'];
      world.twogis.addBranch({ id: DROPPED, name: 'Вторая кофейня', orgId: '100' });
      world.twogis.addReview(DROPPED, { id: '620001', rating: 5, text: 'Хороший капучино' });
      world.twogis.addReview(KEEP, { id: '620002', rating: 5, text: 'Приятный персонал' });

      // A price above the balance queues them (95.00 left from the test before).
      const both = `twogis:\n  branches: ["${KEEP}", "${DROPPED}"]\n`;
      const queued = await world.run(['poll-once', '--json', ...(await configure(world, `${both}billing:\n  pricePerReply: 1000.00\n`))]);
      assert.equal(queued.code, 3, queued.stderr);
      for (const id of ['620001', '620002']) assert.equal((await stateOf(world, id)).state, 'new');

      const answered = await world.run(['poll-once', '--json', ...(await configure(world, `twogis:\n  branches: ["${KEEP}"]\n`))]);
      assert.equal(answered.code, 0, answered.stderr);
      assert.equal(world.twogis.postsTo('620002'), 1);
      assert.equal(world.twogis.postsTo('620001'), 0);
      const dropped = await stateOf(world, '620001');
      assert.equal(dropped.state, 'skipped');
      assert.match(dropped.reason!, new RegExp(`branch ${DROPPED} is no longer watched`));
      assert.deepEqual(await charges(world), { '610004': '-5.00', '620002': '-5.00' });
      await world.checkInvariants(world.twogis.reviewIds());
    });
  });

  describe(`a price raised while an answer was posting (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => world.close());

    test('killed after the POST, price 5.00 → 10.00: the next run charges the 5.00 it held, then stops for balance; later answers cost 10.00', async () => {
      const BRANCH = '70000001030000001';
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня', orgId: '100' });
      world.twogis.addReview(BRANCH, { id: '630001', rating: 5, text: 'Отличный кофе' });
      world.twogis.addReview(BRANCH, { id: '630002', rating: 5, text: 'Вкусные десерты' });
      assert.equal((await world.run(['balance', 'add', '5', '--yes'])).code, 0);

      // A sent answer is read back 2 × the 2GIS deadline after it left: 6 s here.
      const fast = await configure(world, 'twogis:\n  timeoutSeconds: 3\n');
      const crashed = await world.run(['poll-once', '--json', ...fast], { env: { GISBOT_FAILPOINT: 'after_post' } });
      assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
      // Which of the two is claimed first is the claim order's business: the one left posting is the one out there.
      const [inFlight] = await world.query("SELECT id FROM reviews WHERE state = 'posting'");
      assert.ok(inFlight, `one review is left posting: ${crashed.stderr}`);
      const first = String(inFlight.id);
      const second = first === '630001' ? '630002' : '630001';
      assert.equal(world.twogis.postsTo(first), 1, 'the answer is out on 2GIS');
      await new Promise((resolve) => setTimeout(resolve, 6_100));

      const raised = await configure(world, 'twogis:\n  timeoutSeconds: 3\nbilling:\n  pricePerReply: 10.00\n');
      const repaired = await world.run(['poll-once', '--json', ...raised]);
      assert.equal(repaired.code, 3, repaired.stderr);
      assert.equal((await stateOf(world, first)).state, 'posted');
      assert.deepEqual(await charges(world), { [first]: '-5.00' }, 'charged what was reserved when it was claimed');
      const held = await world.run(['balance', '--json']);
      assert.deepEqual(JSON.parse(held.stdout), { balance: '0.00', held: '0.00', currency: 'RUB' });
      const [posted] = await world.query("SELECT data FROM events WHERE type = 'reply.posted' AND review_id = ?", [first]);
      const data = typeof posted!.data === 'string' ? JSON.parse(posted!.data) : posted!.data;
      assert.equal(data.charged, '5.00');

      assert.equal((await world.run(['balance', 'add', '10', '--yes'])).code, 0);
      const later = await world.run(['poll-once', '--json', ...raised]);
      assert.equal(later.code, 0, later.stderr);
      assert.deepEqual([JSON.parse(later.stdout).charged, JSON.parse(later.stdout).balance], ['10.00', '0.00']);
      assert.deepEqual(await charges(world), { [first]: '-5.00', [second]: '-10.00' });
      for (const id of ['630001', '630002']) assert.equal(world.twogis.postsTo(id), 1);
      await world.checkInvariants(world.twogis.reviewIds(), { total: 1500n });
    });
  });
}

scenarios('mysql');
scenarios('sqlite');
