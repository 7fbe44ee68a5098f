// Intake against a hostile 2GIS, through the real binary: a listing that never ends, pages too big to read,
// items that break the protocol or the columns, and reviews 2GIS publishes late under their original date.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { queryDatabase } from '../support/mysql.ts';
import { World, type Backend } from '../support/world.ts';

const HOUR = 3_600_000;

/** The 2GIS list requests made for one branch. */
function listings(world: World, branchId: string, since = 0): number {
  return world.twogis.requests.slice(since).filter((request) => request.method === 'GET' && request.path === `presence/branch/${branchId}/reviews`).length;
}

async function writeConfig(world: World, config: Record<string, unknown>): Promise<void> {
  await writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify(config));
}

/** `2025-01-02T10:11:12.123456+07:00`-style dates (what 2GIS sends), `hoursAgo` before now. */
function plus7(hoursAgo: number): string {
  return new Date(Date.now() - hoursAgo * HOUR + 7 * HOUR).toISOString().replace('Z', '+07:00');
}

async function warnings(world: World): Promise<Array<Record<string, unknown>>> {
  return (await world.logLines()).filter((line) => line.level === 'warn');
}

describe('a listing that never ends (mysql)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => world.close());

  test('50 new reviews on every page: one branch costs at most its page cap; the others are answered first', async () => {
    const endless = '70000001017460001';
    const healthy = ['70000001017460002', '70000001017460003', '70000001017460004'];
    world.twogis.addBranch({ id: endless, name: 'Бесконечная', orgId: '100' });
    for (const id of healthy) world.twogis.addBranch({ id, name: `Кофейня ${id.slice(-1)}`, orgId: '100' });
    world.twogis.addReview(endless, { id: '610001', rating: 5, text: 'Сегодняшний отзыв' });
    world.twogis.makeEndless(endless, 'fresh');
    const fresh = healthy.map((branch, index) => world.twogis.addReview(branch, { id: `62000${index}`, rating: 5, text: 'Отличный кофе' }).id);
    // Money for four answers: the newest reviews come first, whatever an endless branch has made up below them.
    assert.equal((await world.run(['balance', 'add', '20', '--yes'])).code, 0);

    const result = await world.run(['poll-once', '--json'], { timeoutMs: 90_000 });
    assert.notEqual(result.signal, 'SIGKILL', 'poll-once did not end');
    assert.equal(result.code, 3, result.stderr);
    assert.ok(world.twogis.madeUpPages(endless) <= 19, `made up ${world.twogis.madeUpPages(endless)} pages`);
    assert.equal(listings(world, endless), 20, 'the default cap: 20 pages');
    for (const id of [...fresh, '610001']) assert.equal(world.twogis.postsTo(id), 1, `review ${id} answered`);
    assert.match(result.stderr, new RegExp(`branch ${endless}: .*20 pages \\(polling\\.maxPagesPerBranch\\)`));
    assert.ok((await warnings(world)).some((line) => line.branchId === endless && /maxPagesPerBranch/.test(String(line.msg))));

    // The next cycle goes on below where this one stopped, again for one page cap at most.
    const before = world.twogis.requests.length;
    const again = await world.run(['poll-once', '--json'], { timeoutMs: 90_000 });
    assert.equal(again.code, 3, again.stderr);
    assert.equal(listings(world, endless, before), 20);
    const ids = (await world.query('SELECT id FROM reviews')).map((row) => String(row.id));
    await world.checkInvariants(ids);
  });
});

describe('a listing that never ends (sqlite)', () => {
  let world: World;
  before(async () => {
    world = await World.start({ database: 'sqlite' });
  });
  after(async () => world.close());

  test('two dates in turn: the listing is cut where it turns back, and reported', async () => {
    const turning = '70000001017460011';
    const healthy = '70000001017460012';
    world.twogis.addBranch({ id: turning, name: 'Туда-сюда', orgId: '100' });
    world.twogis.addBranch({ id: healthy, name: 'Кофейня', orgId: '100' });
    world.twogis.addReview(turning, { id: '630001', rating: 5 });
    world.twogis.makeEndless(turning, 'alternating');
    world.twogis.addReview(healthy, { id: '630002', rating: 5 });
    assert.equal((await world.run(['balance', 'add', '1000', '--yes'])).code, 0);

    const result = await world.run(['poll-once', '--json'], { timeoutMs: 90_000 });
    assert.notEqual(result.signal, 'SIGKILL', 'poll-once did not end');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(listings(world, turning), 4, 'the first page, two made-up pages, and the one that turned back');
    assert.match(result.stderr, new RegExp(`branch ${turning}: 2GIS listed a page newer than the one before`));
    assert.equal(world.twogis.postsTo('630002'), 1);
    const ids = (await world.query('SELECT id FROM reviews')).map((row) => String(row.id));
    await world.checkInvariants(ids);
  });

  test('a slow endless listing stops at polling.maxSecondsPerBranch', async () => {
    const slow = '70000001017460013';
    world.twogis.addBranch({ id: slow, name: 'Медленная', orgId: '100' });
    world.twogis.addReview(slow, { id: '640001', rating: 5 });
    world.twogis.makeEndless(slow, 'fresh');
    await writeConfig(world, { twogis: { branches: [slow] }, polling: { maxSecondsPerBranch: 1, maxPagesPerBranch: 1000 } });
    world.twogis.pageDelayMs = 300;
    try {
      const result = await world.run(['poll-once', '--json'], { timeoutMs: 90_000 });
      assert.notEqual(result.signal, 'SIGKILL', 'poll-once did not end');
      assert.match(result.stderr, new RegExp(`branch ${slow}: .*\\(polling\\.maxSecondsPerBranch\\)`));
      const pages = listings(world, slow);
      assert.ok(pages >= 1 && pages < 1000, `${pages} pages`);
    } finally {
      world.twogis.pageDelayMs = 0;
      await writeConfig(world, {});
    }
    const ids = (await world.query('SELECT id FROM reviews')).map((row) => String(row.id));
    await world.checkInvariants(ids);
  });
});

describe('responses too big to read (mysql)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => world.close());

  test('a 300 MB review page is cut at the limit, named in the error; the other branches are answered', async () => {
    const huge = '70000001017460021';
    const healthy = '70000001017460022';
    world.twogis.addBranch({ id: huge, name: 'Огромная', orgId: '100' });
    world.twogis.addBranch({ id: healthy, name: 'Кофейня', orgId: '100' });
    world.twogis.addReview(huge, { id: '650001', rating: 5 });
    world.twogis.addReview(healthy, { id: '650002', rating: 5 });
    world.twogis.faults.add({ method: 'GET', path: `presence/branch/${huge}/reviews`, fault: { type: 'huge', bytes: 300 * 1024 * 1024 }, times: Infinity });
    assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);

    const result = await world.run(['poll-once', '--json']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /2GIS sent more than 8 MiB .*GET presence\/branch\/70000001017460021\/reviews/);
    assert.equal(world.twogis.postsTo('650002'), 1);
    assert.equal(world.twogis.postsTo('650001'), 0);
    world.twogis.faults.clear();
    await world.checkInvariants(['650001', '650002']);
  });

  test('a 10 MB model answer is refused at the limit, named in the reason; nothing posted for it', async () => {
    const branch = '70000001017460023';
    world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
    await writeConfig(world, { twogis: { branches: [branch] } });
    world.twogis.addReview(branch, { id: '650003', rating: 5, text: 'Очень вкусно' });
    world.model.faults.add({ method: 'POST', path: 'chat/completions', fault: { type: 'huge', bytes: 10 * 1024 * 1024 } });
    try {
      const result = await world.run(['poll-once', '--json']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /more than 1 MiB/);
      assert.equal(world.twogis.postsTo('650003'), 0);
      const [row] = await world.query("SELECT state, reason FROM reviews WHERE id = '650003'");
      assert.equal(row!.state, 'failed');
      assert.match(String(row!.reason), /sent more than 1 MiB in answer to POST \/chat\/completions/);
    } finally {
      await writeConfig(world, {});
    }
    await world.checkInvariants(['650001', '650002', '650003']);
  });
});

/** Bad items between good ones, on both stores. */
function badItems(backend: Backend): void {
  describe(`items 2GIS should never send, on a good page (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => world.close());

    test('each bad item is skipped with its reason, the good ones on its page and below it are answered', async () => {
      const branch = '70000001017460031';
      const longName = '70000001017460032';
      world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
      world.twogis.addBranch({ id: longName, name: `Кофейня ${'«очень длинное имя» '.repeat(4000)}`, orgId: '100' });
      const add = (id: string, hoursAgo: number, extra: Record<string, unknown> = {}) =>
        world.twogis.addReview(branch, { id, rating: 5, text: 'Отличный кофе', dateCreated: plus7(hoursAgo), ...extra }).id;
      // Page 1 (50 items, newest first): good, bad, answered by a person; its last item has no date.
      const good = [add('660001', 1), add('660002', 5)];
      const bad = {
        '660010': 'rating',
        '660011': 'rating',
        '660012': 'rating',
        '660013': 'rating',
        '660014': 'rating',
        '660015': 'rating',
        '660016': 'rating',
      };
      add('660010', 2, { wire: { omit: ['rating'] } });
      add('660011', 3, { wire: { raw: { rating: 'null' } } });
      add('660012', 4, { wire: { raw: { rating: '1e400' } } });
      add('660013', 6, { rating: 4.5 });
      add('660014', 7, { rating: 6 });
      add('660015', 8, { rating: 255 });
      add('660016', 9, { rating: 1000 });
      add('7'.repeat(129), 10);
      add('660018', 11, { dateCreated: `${plus7(11).slice(0, 20)}${'1'.repeat(60)}+07:00` });
      for (let index = 0; index < 38; index += 1) {
        const id = add(`6601${String(index).padStart(2, '0')}`, 12 + index);
        world.twogis.answerAsOwner(id, 'Спасибо!');
      }
      add('660019', 60, { wire: { omit: ['dateCreated'] } });
      // Page 2: one more good review, only reached through the cursor of page 1's last dated item.
      good.push(add('660003', 70));
      world.twogis.addReview(longName, { id: '660004', rating: 5, text: 'Вкусные круассаны' });
      good.push('660004');
      assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);

      const result = await world.run(['poll-once', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.equal(summary.posted, 4, result.stderr);
      for (const id of good) assert.equal(world.twogis.postsTo(id), 1, `review ${id} answered`);
      for (const id of [...Object.keys(bad), '660018', '660019']) assert.equal(world.twogis.postsTo(id), 0, `review ${id} left alone`);
      const stored = new Set((await world.query('SELECT id FROM reviews')).map((row) => String(row.id)));
      for (const id of [...Object.keys(bad), '660018', '660019', '7'.repeat(129)]) assert.ok(!stored.has(id), `${id} not taken in`);
      assert.match(result.stderr, new RegExp(`branch ${branch}: 10 listed reviews cannot be taken in`));

      const skips = (await warnings(world)).filter((line) => line.msg === 'a listed review cannot be taken in');
      const reasons = Object.fromEntries(skips.map((line) => [String(line.reviewId), String(line.reason)]));
      assert.match(reasons['660010']!, /rating/);
      assert.match(reasons['660011']!, /rating/);
      assert.match(reasons['660012']!, /rating/);
      assert.match(reasons['660013']!, /rating 4\.5 is not a whole number from 1 to 5/);
      assert.match(reasons['660014']!, /rating 6 is not a whole number from 1 to 5/);
      assert.match(reasons['660015']!, /rating 255/);
      assert.match(reasons['660016']!, /rating 1000/);
      assert.match(reasons['660018']!, /dateCreated is longer than 64 characters/);
      assert.match(reasons['660019']!, /dateCreated/);
      assert.match(reasons['7'.repeat(129)]!, /id is longer than 128 characters/);

      const [named] = await world.query("SELECT branch_name FROM reviews WHERE id = '660004'");
      assert.ok(String(named!.branch_name).length <= 255);
      assert.ok(String(named!.branch_name).startsWith('Кофейня «очень длинное имя»'));
      assert.ok((await warnings(world)).some((line) => /branch name/.test(String(line.note ?? line.msg))));

      // Nothing about the page changed: the next cycle reads one page and takes nothing twice.
      const before = world.twogis.requests.length;
      const again = await world.run(['poll-once', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).posted, 0);
      assert.equal(listings(world, branch, before), 1);
      await world.checkInvariants([...stored]);
    });
  });
}

badItems('mysql');
badItems('sqlite');

describe('three branches with bad items listed first (mysql)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => world.close());

  test('the breaker stays closed: the seven healthy branches and the good items of the bad ones are answered', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      const branch = `7000000101746005${index}`;
      world.twogis.addBranch({ id: branch, name: `Кофейня ${index}`, orgId: '100' });
      ids.push(world.twogis.addReview(branch, { id: `67000${index}`, rating: 5, text: 'Всё понравилось' }).id);
      if (index < 3) world.twogis.addReview(branch, { id: `67100${index}`, rating: 200, text: 'Плохая оценка' });
    }
    // One branch at a time: before item-level validation, the three bad pages in a row opened the breaker.
    await writeConfig(world, { polling: { concurrency: 1 } });
    assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);
    const result = await world.run(['poll-once', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).posted, 10, result.stderr);
    for (const id of ids) assert.equal(world.twogis.postsTo(id), 1, `review ${id} answered`);
    await world.checkInvariants([...ids, '671000', '671001', '671002']);
  });
});

/** Late reviews: 2GIS publishes after moderation under the original date, below pages gisbot has seen. */
function lateReviews(backend: Backend): void {
  describe(`a review published late, below pages already seen (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => world.close());

    test('is answered by the next sweep; between sweeps an idle branch costs one request', async () => {
      const branch = '70000001017460041';
      world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
      // 150 reviews an hour apart (three pages, all within the 7 days a sweep looks back), waiting for a person.
      for (let index = 0; index < 150; index += 1) {
        world.twogis.addReview(branch, { id: `68${String(index).padStart(4, '0')}`, rating: 2, dateCreated: plus7(index + 1) });
      }
      assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);
      const first = await world.run(['poll-once', '--json']);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(JSON.parse(first.stdout).new, 150);

      // Moderation lets a review through 110 hours after it was written: it lands on page 3.
      world.twogis.addReview(branch, { id: '689999', rating: 5, text: 'Написал неделю назад', dateCreated: plus7(110.5) });
      let before = world.twogis.requests.length;
      const idle = await world.run(['poll-once', '--json']);
      assert.equal(idle.code, 0, idle.stderr);
      assert.equal(listings(world, branch, before), 1, 'no sweep due yet: one page');
      assert.equal(world.twogis.postsTo('689999'), 0);

      // The last sweep was longer ago than polling.sweepIntervalMinutes (default 180).
      const past = Date.now() - 4 * HOUR;
      if (backend === 'sqlite') await world.query('UPDATE branch_intake SET swept_at = ?', [past]);
      else await queryDatabase(world.db.url, 'UPDATE branch_intake SET swept_at = ?', [new Date(past)]);
      before = world.twogis.requests.length;
      const swept = await world.run(['poll-once', '--json']);
      assert.equal(swept.code, 0, swept.stderr);
      assert.equal(world.twogis.postsTo('689999'), 1, swept.stderr);
      assert.equal(listings(world, branch, before), 5, 'the sweep reads the four pages of 151 reviews and the empty one after them');

      before = world.twogis.requests.length;
      const after = await world.run(['poll-once', '--json']);
      assert.equal(after.code, 0, after.stderr);
      assert.equal(listings(world, branch, before), 1, 'swept a moment ago: one page');
      await world.checkInvariants(world.twogis.reviewIds());
    });

    test('polling.sweepIntervalMinutes: 0 sweeps every cycle', async () => {
      const branch = '70000001017460042';
      world.twogis.addBranch({ id: branch, name: 'Вторая кофейня', orgId: '100' });
      for (let index = 0; index < 120; index += 1) {
        world.twogis.addReview(branch, { id: `69${String(index).padStart(4, '0')}`, rating: 2, dateCreated: plus7(index + 1) });
      }
      await writeConfig(world, { twogis: { branches: [branch] }, polling: { sweepIntervalMinutes: 0 } });
      try {
        assert.equal((await world.run(['poll-once', '--json'])).code, 0);
        world.twogis.addReview(branch, { id: '699999', rating: 5, text: 'Поздний отзыв', dateCreated: plus7(100.5) });
        const result = await world.run(['poll-once', '--json']);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(world.twogis.postsTo('699999'), 1, result.stderr);
      } finally {
        await writeConfig(world, {});
      }
      await world.checkInvariants(world.twogis.reviewIds());
    });
  });
}

lateReviews('sqlite');
lateReviews('mysql');
