// Posted answers read back once more (issue 21, item 4): when, how often, and what a removed one becomes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANSWER_RECHECKS_PER_CYCLE, answerRecheckTime, recheckPostedAnswers } from '../../src/core/answering/answer-recheck.ts';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { ServiceError } from '../../src/errors.ts';
import { ANSWER_REMOVED } from '../../src/core/ports.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe('posted answers read back once more', () => {
  test('the due time is the delay plus at most a tenth of it (an hour at most), fractions of an hour allowed', () => {
    const posted = new Date('2026-01-01T00:00:00Z');
    assert.equal(answerRecheckTime(posted, 24 * HOUR, () => 0).getTime(), posted.getTime() + 24 * HOUR);
    assert.equal(answerRecheckTime(posted, 24 * HOUR, () => 0.999999).getTime(), posted.getTime() + 25 * HOUR - 4);
    assert.equal(answerRecheckTime(posted, 1_800, () => 0.5).getTime(), posted.getTime() + 1_890);
    assert.equal(answerRecheckTime(posted).getTime() >= posted.getTime() + 24 * HOUR, true, 'a day by default');
  });

  test('each answer is read back once, after the delay; one 2GIS removed waits for a person, announced, never posted again, still charged', async () => {
    const { deps, store, twogis, clock } = pipeline({ settings: { ...testSettings, recheckAfterMs: HOUR } });
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' }), listed({ id: '2' })];
    assert.equal((await runCycle(deps)).posted, 2);
    const readsAfterPosting = () => twogis.reads.length - 2; // one re-read before each post
    clock.advance(30 * MINUTE);
    await runCycle(deps);
    assert.equal(readsAfterPosting(), 0, 'not before the delay');

    twogis.answers.delete('1'); // 2GIS moderation took it down
    clock.advance(HOUR);
    await runCycle(deps);
    assert.equal(readsAfterPosting(), 2, 'each answer read back once');
    const removed = store.reviews.get('1')!;
    assert.deepEqual([removed.state, removed.reason], ['needs_approval', ANSWER_REMOVED]);
    assert.equal(store.reviews.get('2')!.state, 'posted');
    const event = store.events.find((e) => e.type === 'reply.removed');
    assert.equal(event?.reviewId, '1');
    assert.match(String(event?.data.text), /Спасибо/);
    assert.deepEqual(store.events.filter((e) => e.type === 'review.needs_approval').map((e) => [e.reviewId, e.data.reason]), [['1', ANSWER_REMOVED]]);
    assert.equal(store.balance, 9_000n, 'billing.refundRemoved is off by default: the answer was delivered');

    clock.advance(48 * HOUR);
    await runCycle(deps);
    assert.equal(readsAfterPosting(), 2, 'never read back again');
    assert.equal(twogis.posts.get('1'), 1, 'never posted again by itself');
    assert.equal(store.reviews.get('1')!.state, 'needs_approval');
  });

  test('with billing.refundRemoved the charge of a removed answer comes back, once', async () => {
    const { deps, store, twogis, clock } = pipeline({ settings: { ...testSettings, recheckAfterMs: HOUR, refundRemoved: true } });
    await store.topUp(1_000n);
    twogis.reviews = [listed({ id: '1' })];
    await runCycle(deps);
    twogis.answers.delete('1');
    clock.advance(2 * HOUR);
    await runCycle(deps);
    await runCycle(deps);
    assert.deepEqual(store.ledgerEntries.filter((e) => e.kind === 'adjustment').map((e) => [e.amount, e.reviewId]), [[500n, '1']]);
    assert.equal(store.balance, 1_000n);
    assert.equal(store.events.find((e) => e.type === 'reply.removed')?.data.refunded, '5.00');
  });

  test('an answer still there, replaced by a person, or whose review is gone stays as it is; a 2GIS that fails stops the rest, which wait', async () => {
    const { deps, store, twogis, clock } = pipeline({ settings: { ...testSettings, recheckAfterMs: HOUR } });
    await store.topUp(10_000n);
    twogis.reviews = ['1', '2', '3', '4'].map((id) => listed({ id }));
    await runCycle(deps);
    twogis.answers.set('2', { id: 'theirs', text: 'Ответ владельца', byUs: false });
    twogis.reviews = twogis.reviews.filter((review) => review.id !== '3');
    clock.advance(2 * HOUR);
    twogis.readFailure = new ServiceError('2gis', 'unavailable', '2GIS is down');
    assert.deepEqual(await recheckPostedAnswers(deps), { rechecked: 0, removed: 0 });
    twogis.readFailure = null;
    assert.deepEqual(await recheckPostedAnswers(deps), { rechecked: 3, removed: 0 }, 'the one claimed when 2GIS failed is not read again');
    assert.deepEqual(['1', '2', '3', '4'].map((id) => store.reviews.get(id)!.state), ['posted', 'posted', 'posted', 'posted']);
  });

  test('a busy day is spread: at most the cap per cycle, every answer read back once (1 request per posted answer)', async () => {
    const { deps, store, twogis, clock } = pipeline({ settings: { ...testSettings, recheckAfterMs: HOUR, concurrency: 4 } });
    await store.topUp(1_000_000n);
    const postedAt = new Map<string, number>();
    let next = 0;
    let most = 0;
    // A day of cycles every 10 minutes, and two hours more; a rush at noon of 60 reviews in one cycle, 2 a cycle otherwise.
    for (let cycle = 0; cycle < 144 + 12; cycle += 1) {
      const arriving = cycle >= 144 ? 0 : cycle === 72 ? 60 : 2;
      for (let i = 0; i < arriving; i += 1) {
        next += 1;
        twogis.reviews.push(listed({ id: String(next), createdAt: new Date(clock.now().getTime() - i).toISOString() }));
      }
      const before = twogis.reads.length;
      const summary = await runCycle(deps);
      for (const [id] of twogis.posts) if (!postedAt.has(id)) postedAt.set(id, cycle);
      const reads = twogis.reads.length - before - summary.posted;
      most = Math.max(most, reads);
      clock.advance(10 * MINUTE);
    }
    const posted = postedAt.size;
    assert.equal(posted, next, 'every review answered');
    const rechecks = twogis.reads.length - posted;
    assert.equal(rechecks / posted, 1, `${rechecks} rechecks for ${posted} posted answers`);
    assert.ok(most <= ANSWER_RECHECKS_PER_CYCLE, `${most} rechecks in one cycle (cap ${ANSWER_RECHECKS_PER_CYCLE})`);
    assert.equal(most, ANSWER_RECHECKS_PER_CYCLE, 'the noon rush came due in one cycle and was capped');
    assert.deepEqual(store.checkInvariants(twogis.answeredByUs()), []);
  });
});
