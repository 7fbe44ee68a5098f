// Which waiting reviews are read again on 2GIS, how, and at what cost (core/answering/recheck.ts), with the fakes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { isDue, planRecheck, recheckWaiting, RECHECK_REQUESTS_PER_CYCLE } from '../../src/core/answering/recheck.ts';
import { ServiceError } from '../../src/errors.ts';
import type { ListedReview, WaitingReview } from '../../src/core/ports.ts';
import { listed, pipeline } from '../support/fakes.ts';

const MINUTE = 60_000;
const RECHECK = 10 * MINUTE;
const ELSEWHERE = 'answered on 2GIS by someone else';

function waiting(id: string, branchId: string, checkedAt: Date | null): WaitingReview {
  return { id, branchId, createdAt: '2026-01-01T00:00:00.000Z', state: 'needs_approval', checkedAt };
}

/** A world of `count` reviews waiting for a person on `branchId`, on 2GIS and in the store, one second apart. */
async function waitingWorld(world: ReturnType<typeof pipeline>, branchId: string, count: number, prefix: string): Promise<ListedReview[]> {
  const reviews: ListedReview[] = [];
  for (let n = 0; n < count; n += 1) {
    const review = listed({ id: `${prefix}${String(n).padStart(4, '0')}`, branchId, rating: 1, createdAt: new Date(Date.UTC(2025, 5, 1) + (n + 1) * 1000 + Number(prefix) * 10_000_000).toISOString() });
    reviews.push(review);
    world.twogis.reviews.push(review);
    await world.store.recordReview(review, 'needs_approval', 'rated 1', []);
  }
  return reviews;
}

describe('what is read again', () => {
  const now = new Date('2026-01-01T12:00:00.000Z');
  const ago = (minutes: number) => new Date(now.getTime() - minutes * MINUTE);

  test('due: never checked, or checked recheckMinutes ago (a tenth early, at most a minute, for cron starting late)', () => {
    assert.equal(isDue(null, now, RECHECK), true);
    assert.equal(isDue(ago(10), now, RECHECK), true);
    assert.equal(isDue(ago(9.05), now, RECHECK), true);
    assert.equal(isDue(ago(8.9), now, RECHECK), false);
    assert.equal(isDue(ago(5), now, RECHECK), false);
    assert.equal(isDue(ago(59), now, 60 * MINUTE), true);
    assert.equal(isDue(ago(58.9), now, 60 * MINUTE), false);
  });

  test('the longest unchecked first; a branch with two or more due is listed, one with a single due is read alone', () => {
    const steps = planRecheck(
      [waiting('n1', 'b2', null), waiting('a1', 'b1', ago(30)), waiting('c1', 'b3', ago(20)), waiting('a2', 'b1', ago(12)), waiting('n2', 'b2', ago(11)), waiting('x', 'b1', ago(3))],
      now,
      RECHECK,
    );
    assert.deepEqual(
      steps.map((step) => (step.kind === 'list' ? `list ${step.branchId}: ${step.due.map((review) => review.id).join(',')}` : `read ${step.review.id}`)),
      ['list b2: n1,n2', 'list b1: a1,a2', 'read c1'],
    );
  });

  test('nothing due: nothing read', () => {
    assert.deepEqual(planRecheck([waiting('a', 'b1', ago(1)), waiting('b', 'b2', ago(2))], now, RECHECK), []);
  });
});

describe('reading again', () => {
  test('120 waiting on a branch: three pages of the unanswered listing; the one answered is read alone and closed', async () => {
    const world = pipeline();
    const reviews = await waitingWorld(world, 'b1', 120, '1');
    const answered = reviews[30]!; // on the second page, as the listing goes newest first
    world.twogis.answers.set(answered.id, { id: 'a1', text: 'Разберёмся.', byUs: false });
    const report = await recheckWaiting(world.deps);
    assert.deepEqual({ ...report, error: null }, { listings: 3, reads: 1, closed: 1, error: null });
    assert.deepEqual(world.twogis.listings.map((listing) => listing.unanswered), [true, true, true]);
    assert.deepEqual(world.twogis.reads, [answered.id], 'only the absent one is read alone');
    const closed = await world.store.getReview(answered.id);
    assert.deepEqual([closed?.state, closed?.reason], ['skipped', ELSEWHERE]);
    const checked = await world.store.waitingReviews({ limit: 500 });
    assert.equal(checked.length, 119);
    assert.ok(checked.every((review) => review.checkedAt?.getTime() === world.clock.now().getTime()), 'every other one checked now');
    const events = world.store.events.filter((event) => event.type === 'review.skipped');
    assert.deepEqual(events.map((event) => [event.reviewId, event.data.reason]), [[answered.id, ELSEWHERE]]);

    // Checked now: not read again before recheckMinutes; then again, in one listing pass.
    world.twogis.listings.length = 0;
    world.clock.advance(5 * MINUTE);
    assert.deepEqual({ ...(await recheckWaiting(world.deps)), error: null }, { listings: 0, reads: 0, closed: 0, error: null });
    world.clock.advance(5 * MINUTE);
    assert.equal((await recheckWaiting(world.deps)).listings, 3);
  });

  test('a review deleted on 2GIS stops waiting: "deleted on 2GIS"; its reserve, if any, released', async () => {
    const world = pipeline();
    const reviews = await waitingWorld(world, 'b1', 3, '2');
    world.twogis.reviews = world.twogis.reviews.filter((review) => review.id !== reviews[0]!.id);
    const report = await recheckWaiting(world.deps);
    assert.deepEqual([report.listings, report.reads, report.closed], [1, 1, 1]);
    const gone = await world.store.getReview(reviews[0]!.id);
    assert.deepEqual([gone?.state, gone?.reason], ['skipped', 'deleted on 2GIS']);
    assert.equal(world.store.reserved, 0n);
  });

  test('a branch with a single review due: read alone, no listing', async () => {
    const world = pipeline();
    const [only] = await waitingWorld(world, 'b1', 1, '3');
    world.twogis.answers.set(only!.id, { id: 'a1', text: 'Спасибо.', byUs: false });
    const report = await recheckWaiting(world.deps);
    assert.deepEqual([report.listings, report.reads, report.closed], [0, 1, 1]);
    assert.deepEqual(world.twogis.listings, []);
  });

  test('the budget holds with many branches; the next cycle takes those left, the longest unchecked first', async () => {
    const world = pipeline();
    for (let branch = 0; branch < 30; branch += 1) await waitingWorld(world, `b${branch}`, 2, String(10 + branch));
    const first = await recheckWaiting(world.deps);
    assert.equal(first.listings + first.reads, RECHECK_REQUESTS_PER_CYCLE);
    const listedFirst = new Set(world.twogis.listings.map((listing) => listing.branchId));
    world.twogis.listings.length = 0;
    world.clock.advance(MINUTE);
    const second = await recheckWaiting(world.deps);
    assert.equal(second.listings, 10, 'the ten branches left');
    assert.ok(world.twogis.listings.every((listing) => !listedFirst.has(listing.branchId)), 'none of those checked a minute ago');
  });

  test('a listing 2GIS refuses: the branch\'s due reviews are read one by one, within the budget', async () => {
    const world = pipeline();
    await waitingWorld(world, 'b1', 30, '4');
    world.twogis.listFailure = new ServiceError('2gis', 'rejected', '2GIS refused the request (400)');
    const report = await recheckWaiting(world.deps);
    assert.equal(report.error, null);
    assert.deepEqual([report.listings, report.reads], [1, RECHECK_REQUESTS_PER_CYCLE - 1]);
  });

  test('2GIS blocking: the re-reads stop for this cycle, and say why', async () => {
    const world = pipeline();
    await waitingWorld(world, 'b1', 5, '5');
    world.twogis.listFailure = new ServiceError('2gis', 'blocked', '2GIS refused access (403)');
    const report = await recheckWaiting(world.deps);
    assert.equal(report.error?.kind, 'blocked');
    assert.deepEqual([report.listings, report.reads], [0, 0]);
    assert.equal((await world.store.waitingReviews({ limit: 10 }))[0]?.checkedAt, null, 'still due');
  });

  test('a review in work (a person sending it) is not closed from here', async () => {
    const world = pipeline();
    const [review] = await waitingWorld(world, 'b1', 1, '6');
    world.twogis.answers.set(review!.id, { id: 'a1', text: 'Спасибо.', byUs: false });
    await world.store.claimReview(review!.id, 'a-person', world.clock.now(), new Date(world.clock.now().getTime() + MINUTE));
    const report = await recheckWaiting(world.deps);
    assert.equal(report.closed, 0);
    assert.equal((await world.store.getReview(review!.id))?.state, 'claimed');
  });
});

describe('intake', () => {
  test('a waiting review listed with an owner answer stops waiting in the cycle that lists it; one listed unanswered is checked', async () => {
    const world = pipeline();
    const branchId = world.twogis.branches[0]!.id;
    const [answered, unanswered] = await waitingWorld(world, branchId, 2, '7');
    world.twogis.answers.set(answered!.id, { id: 'a1', text: 'Разберёмся.', byUs: false });
    const summary = await runCycle(world.deps);
    assert.equal(summary.skipped, 1);
    const closed = await world.store.getReview(answered!.id);
    assert.deepEqual([closed?.state, closed?.reason], ['skipped', ELSEWHERE]);
    const [still] = await world.store.waitingReviews({ limit: 10 });
    assert.equal(still?.id, unanswered!.id);
    assert.equal(still?.checkedAt?.getTime(), world.clock.now().getTime());
    assert.deepEqual(world.twogis.listings.map((listing) => listing.unanswered), [false], 'the first page did it: no listing of the unanswered');
    assert.deepEqual(world.twogis.reads, []);
  });
});
