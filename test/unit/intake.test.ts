// Intake's walks over fakes: the per-branch limits and the backlog they leave, sweeps, and items that cannot be
// taken in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { micros } from '../../src/core/answering/dates.ts';
import { admit } from '../../src/core/answering/intake.ts';
import { ServiceError } from '../../src/errors.ts';
import { messagesFor } from '../../src/ui/messages.ts';
import type { ReviewPage } from '../../src/core/ports.ts';
import { listed, pipeline } from '../support/fakes.ts';

const BRANCH = '70000001017466092';
const DAY = 86_400_000;

/** Reviews an hour apart, the newest an hour before the fake clock's now (2026-01-01). */
function hourly(count: number, from = 0) {
  return Array.from({ length: count }, (_, index) =>
    listed({ id: String(from + index + 1), rating: 2, createdAt: new Date(Date.UTC(2026, 0, 1) - (from + index + 1) * 3_600_000).toISOString() }),
  );
}

/** Counts the list requests the fake 2GIS gets. */
function countPages(twogis: ReturnType<typeof pipeline>['twogis']): { pages: number } {
  const counter = { pages: 0 };
  const list = twogis.listReviews.bind(twogis);
  twogis.listReviews = async (branchId, offset) => {
    counter.pages += 1;
    return list(branchId, offset);
  };
  return counter;
}

describe('intake limits and the backlog', () => {
  test('a walk cut at the page cap goes on from its backlog in the next cycles until the listing ends; an idle branch then costs one page', async () => {
    const { deps, store, twogis } = pipeline();
    const limited = { ...deps, settings: { ...deps.settings, intake: { maxPagesPerBranch: 2 } } };
    twogis.reviews = hourly(230);
    const counter = countPages(twogis);
    const first = await runCycle(limited);
    assert.equal(first.new, 100);
    assert.equal(counter.pages, 2);
    assert.deepEqual(first.warnings.map((warning) => messagesFor('en').cycle.warning(warning)), [
      `branch ${BRANCH}: intake stopped after 2 pages (polling.maxPagesPerBranch); the rest is read in the next cycles`,
    ]);
    assert.deepEqual(first.warnings.map((warning) => messagesFor('ru').cycle.warning(warning)), [
      `филиал ${BRANCH}: приём отзывов остановлен после 2 страниц (polling.maxPagesPerBranch); остальное прочитается в следующих циклах`,
    ]);
    assert.equal(store.branches.get(BRANCH)?.backlog?.cursor, twogis.reviews[99]!.createdAt);

    const news: number[] = [];
    for (let cycle = 0; cycle < 4; cycle += 1) {
      counter.pages = 0;
      news.push((await runCycle(limited)).new);
      assert.equal(counter.pages, 2, 'one page at the top (known), one from the backlog, then the cap');
    }
    assert.deepEqual(news, [50, 50, 30, 0], 'the last one reads the empty page that ends the listing');
    assert.equal(store.branches.get(BRANCH)?.backlog, null, 'the listing ended: no backlog');
    assert.equal(store.reviews.size, 230);

    counter.pages = 0;
    await runCycle(limited);
    assert.equal(counter.pages, 1, 'idle: one page');
  });

  test('a listing whose dates turn back is cut there and reported; one with no usable date on a page too', async () => {
    const { deps, twogis, store } = pipeline();
    let call = 0;
    twogis.listReviews = async (): Promise<ReviewPage> => {
      call += 1;
      const date = call % 2 === 1 ? '2025-12-30T00:00:00.000000+07:00' : '2025-12-29T00:00:00.000000+07:00';
      const reviews = Array.from({ length: 50 }, (_, index) => listed({ id: `${call}-${index}`, rating: 2, createdAt: date }));
      return { reviews, unreadable: [], cursor: date };
    };
    const summary = await runCycle(deps);
    assert.equal(call, 3);
    assert.match(messagesFor('en').cycle.warning(summary.warnings[0]!), /^branch \d+: 2GIS listed a page newer than the one before \(offsetDate \S+, then \S+\); the listing was cut there$/);
    assert.match(messagesFor('ru').cycle.warning(summary.warnings[0]!), /^филиал \d+: 2ГИС выдал страницу новее предыдущей \(offsetDate \S+, затем \S+\); список прерван на ней$/);
    assert.equal(store.reviews.size, 150);

    const other = pipeline();
    other.twogis.listReviews = async () => ({ reviews: [listed({ id: '1', rating: 2 })], unreadable: [], cursor: null });
    const cut = await runCycle(other.deps);
    assert.match(messagesFor('en').cycle.warning(cut.warnings[0]!), /: 2GIS listed a page with no usable dateCreated to page on from; the listing was cut there$/);
    assert.match(messagesFor('ru').cycle.warning(cut.warnings[0]!), /^филиал \d+: на странице 2ГИС нет даты dateCreated, с которой читать дальше; список прерван на ней$/);
  });

  test('sweeps: the first cycle sweeps, the next ones wait for polling.sweepIntervalMinutes, then a sweep finds a late review', async () => {
    const { deps, store, twogis, clock } = pipeline();
    await store.topUp(10_000n);
    twogis.reviews = hourly(120);
    const counter = countPages(twogis);
    await runCycle(deps);
    assert.equal(store.branches.get(BRANCH)?.sweptAt?.getTime(), clock.now().getTime());
    twogis.reviews.push(listed({ id: 'late', rating: 5, createdAt: new Date(Date.UTC(2026, 0, 1) - 110.5 * 3_600_000).toISOString() }));
    counter.pages = 0;
    clock.advance(60_000);
    const idle = await runCycle(deps);
    assert.equal(idle.new, 0);
    assert.equal(counter.pages, 1);

    clock.advance(3 * 3_600_000);
    counter.pages = 0;
    const swept = await runCycle(deps);
    assert.equal(swept.new, 1);
    assert.equal(swept.posted, 1);
    assert.equal(counter.pages, 4, 'three pages of 121 reviews, then the empty one');
  });

  test('a sweep reads down to polling.sweepDays and no further', async () => {
    const { deps, twogis } = pipeline();
    const shallow = { ...deps, settings: { ...deps.settings, intake: { sweepMs: 2 * DAY, sweepIntervalMs: 0 } } };
    twogis.reviews = hourly(500);
    await runCycle(shallow);
    const counter = countPages(twogis);
    await runCycle(shallow);
    // Two days back are the newest 48 reviews: the first page already reaches past them.
    assert.equal(counter.pages, 1);
  });

  test('a page fetch that fails mid-walk leaves the backlog, and the next cycle goes on from it', async () => {
    const { deps, store, twogis } = pipeline();
    twogis.reviews = hourly(120);
    const list = twogis.listReviews.bind(twogis);
    let failNext = true;
    twogis.listReviews = async (branchId, offset) => {
      if (offset !== null && failNext) {
        failNext = false;
        throw new ServiceError('2gis', 'unavailable', 'cannot reach 2GIS');
      }
      return list(branchId, offset);
    };
    const first = await runCycle(deps);
    assert.equal(first.new, 50);
    assert.ok(store.branches.get(BRANCH)?.backlog);
    const second = await runCycle(deps);
    assert.equal(second.new, 70);
    assert.equal(store.branches.get(BRANCH)?.backlog, null);
  });
});

describe('items that cannot be taken in', () => {
  test('admit: ratings outside 1–5 or not whole, ids and dates longer than the columns; names cut with a note', () => {
    for (const rating of [0, 6, 255, 1000, 4.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.match((admit(listed({ id: '1', rating })) as { reason: string }).reason, /is not a whole number from 1 to 5/);
    }
    assert.match((admit(listed({ id: 'x'.repeat(129) })) as { reason: string }).reason, /id is longer than 128/);
    assert.match((admit(listed({ id: '1', createdAt: `2025-01-01T00:00:00.${'1'.repeat(60)}Z` })) as { reason: string }).reason, /longer than 64/);
    assert.match((admit(listed({ id: '1', createdAt: 'yesterday' })) as { reason: string }).reason, /is not a date/);
    const named = admit(listed({ id: '1', branchName: 'К'.repeat(70_000), authorName: 'Анна', authorId: 'u'.repeat(200) }));
    assert.ok('review' in named);
    assert.equal(named.review.branchName.length, 255);
    assert.equal(named.review.authorId, null);
    assert.equal(named.notes.length, 2);
    assert.ok('review' in admit(listed({ id: '1', rating: 1 })) && 'review' in admit(listed({ id: '1', rating: 5 })));
  });

  test('micros compares 2GIS dates as instants to the microsecond', () => {
    assert.equal(micros('2021-01-25T14:26:44.918796+07:00'), Date.parse('2021-01-25T07:26:44.918Z') * 1000 + 796);
    assert.equal(micros('2021-01-25T07:26:44Z'), micros('2021-01-25T14:26:44.000+07:00'));
    assert.ok(micros('2021-01-25T14:26:44.918797+07:00') > micros('2021-01-25T14:26:44.918796+07:00'));
    assert.equal(micros('2021-01-25T14:26:44+0700'), micros('2021-01-25T07:26:44Z'));
    assert.ok(Number.isNaN(micros('soon')));
  });

  test('an item the store refuses is skipped; the rest of its page is taken, and the breaker stays closed', async () => {
    const { deps, store, twogis } = pipeline();
    await store.topUp(10_000n);
    twogis.branches = ['1', '2', '3', '4'].map((id) => ({ id: `7000000101746609${id}`, name: 'Кофейня' }));
    twogis.reviews = twogis.branches.flatMap((branch, index) => [
      listed({ id: `${index}1`, branchId: branch.id }),
      listed({ id: `${index}2`, branchId: branch.id, text: 'refuse me' }),
    ]);
    const recordReview = store.recordReview.bind(store);
    store.recordReviews = async (entries) => {
      if (entries.some((entry) => entry.review.text === 'refuse me')) throw new ServiceError('database', 'rejected', 'MySQL rejected a statement: ER_DATA_TOO_LONG');
      return Promise.all(entries.map((entry) => recordReview(entry.review, entry.state, entry.reason, entry.events)));
    };
    store.recordReview = async (review, ...rest) => {
      if (review.text === 'refuse me') throw new ServiceError('database', 'rejected', 'MySQL rejected a statement: ER_DATA_TOO_LONG');
      return recordReview(review, ...rest);
    };
    const summary = await runCycle({ ...deps, settings: { ...deps.settings, concurrency: 1 } });
    assert.equal(summary.posted, 4);
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.warnings.length, 4);
    assert.match(messagesFor('en').cycle.warning(summary.warnings[0]!), /1 listed review cannot be taken in .*the database refused it: MySQL rejected a statement/);
    assert.match(messagesFor('ru').cycle.warning(summary.warnings[0]!), /^филиал \d+: 1 отзыв из списка не удаётся принять \(подробности в журнале\): .*the database refused it: MySQL rejected a statement/);
  });

  test('a listing refused or unreadable for three branches in a row does not open the breaker; a dead 2GIS does', async () => {
    const { deps, store, twogis } = pipeline();
    await store.topUp(10_000n);
    twogis.branches = ['1', '2', '3', '4'].map((id) => ({ id: `7000000101746609${id}`, name: 'Кофейня' }));
    twogis.reviews = [listed({ id: '41', branchId: twogis.branches[3]!.id })];
    const list = twogis.listReviews.bind(twogis);
    twogis.listReviews = async (branchId, offset) => {
      if (branchId === twogis.branches[0]!.id) throw new ServiceError('2gis', 'bad_response', '2GIS sent more than 8 MiB');
      if (branchId !== twogis.branches[3]!.id) throw new ServiceError('2gis', 'rejected', '2GIS rejected GET with 404');
      return list(branchId, offset);
    };
    const summary = await runCycle({ ...deps, settings: { ...deps.settings, concurrency: 1 } });
    assert.equal(summary.posted, 1);
    assert.equal(summary.problems.length, 2);

    const dead = pipeline();
    await dead.store.topUp(10_000n);
    dead.twogis.branches = twogis.branches;
    dead.twogis.reviews = [listed({ id: '41', branchId: twogis.branches[3]!.id })];
    dead.twogis.listReviews = async (branchId) => {
      if (branchId !== twogis.branches[3]!.id) throw new ServiceError('2gis', 'unavailable', 'cannot reach 2GIS');
      return { reviews: [], unreadable: [], cursor: null };
    };
    const stopped = await runCycle({ ...dead.deps, settings: { ...dead.deps.settings, concurrency: 1 } });
    assert.equal(stopped.posted, 0);
  });
});

describe('intake counts across branches taken in at once', () => {
  test('a branch whose check of waiting reviews is slow does not overwrite what another branch counted meanwhile', async () => {
    const { deps, store, twogis } = pipeline();
    const settings = { ...deps.settings, concurrency: 2 };
    twogis.branches = [{ id: 'A', name: 'A' }, { id: 'B', name: 'B' }];
    twogis.reviews = [
      listed({ id: 'a1', branchId: 'A', rating: 5, hasOwnerAnswer: true }),
      listed({ id: 'b1', branchId: 'B', rating: 5, isHidden: true }),
      listed({ id: 'b2', branchId: 'B', rating: 5, hasOwnerAnswer: true }),
    ];
    // Branch A's look at its waiting reviews is answered only after branch B has taken its reviews in.
    let bDone!: () => void;
    const bRecorded = new Promise<void>((resolve) => (bDone = resolve));
    const waiting = store.waitingReviews.bind(store);
    store.waitingReviews = async (query) => {
      if (query.ids?.includes('a1')) await bRecorded;
      else if (query.ids?.includes('b1')) bDone();
      return waiting(query);
    };
    const summary = await runCycle({ ...deps, settings });
    assert.equal(summary.new, 3);
    assert.equal(summary.skipped, 3, 'each skipped review counted once, whichever branch finished first');
  });
});
