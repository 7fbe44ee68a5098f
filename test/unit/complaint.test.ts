// The owner's complaint about a review (core/approval/complaint.ts) against the hand-written fakes: sent once, recorded
// before its POST, read back when its outcome was not seen, never sent again blindly, never charged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { fileComplaint, MAX_COMPLAINT_LENGTH } from '../../src/core/approval/complaint.ts';
import { currentPrompt, sendReply } from '../../src/core/approval/manual.ts';
import { figureOf } from '../../src/core/insight/figures.ts';
import { COMPLAINED } from '../../src/core/ports.ts';
import { ServiceError } from '../../src/errors.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

/** A world with one review waiting for a person (rated 1) and a topped-up balance. */
async function waiting(overrides: Parameters<typeof pipeline>[0] = {}) {
  const world = pipeline(overrides);
  await world.store.topUp(1000n);
  world.twogis.reviews = [listed({ id: '1', rating: 1, text: 'Не был у вас, но всё плохо' })];
  await runCycle(world.deps);
  assert.equal((await world.store.getReview('1'))!.state, 'needs_approval');
  return world;
}

const unseen = (stored: boolean) =>
  Object.assign(new ServiceError('2gis', 'outcome_unknown', 'no answer from 2GIS to POST presence/reviews/1/complaints (ECONNRESET)'), { stored });

test('sent once: the review leaves the waiting list as complained about, one event, nothing charged; a second press sends nothing', async () => {
  const { deps, store, twogis } = await waiting();
  assert.deepEqual(await fileComplaint(deps, '1', '  Автор никогда не был нашим гостем  ', true), { kind: 'sent' });
  assert.deepEqual(twogis.complaints.get('1'), [{ id: 'complaint-1', text: 'Автор никогда не был нашим гостем', isNoClientComplaint: true }]);
  const review = (await store.getReview('1'))!;
  assert.deepEqual([review.state, review.reason], ['skipped', COMPLAINED]);
  assert.equal(figureOf(review), 'complained', 'stats count it as complained');
  const events = store.events.filter((event) => event.type === 'review.complained');
  assert.deepEqual(events.map((event) => event.data), [{ reason: 'Автор никогда не был нашим гостем', notAClient: true }]);
  assert.equal(store.balance, 1000n, 'never charged');

  assert.deepEqual(await fileComplaint(deps, '1', 'another reason', false), { kind: 'already_sent' });
  assert.equal(twogis.complaintPosts.get('1'), 1, 'one complaint request');
  assert.equal(store.events.filter((event) => event.type === 'review.complained').length, 1);
});

test('bad input is refused before anything is sent: no reason, too long, unknown review, not allowed by 2GIS', async () => {
  const { deps, store, twogis } = await waiting();
  assert.deepEqual(await fileComplaint(deps, '1', '   ', false), { kind: 'empty_reason' });
  assert.deepEqual(await fileComplaint(deps, '1', 'x'.repeat(MAX_COMPLAINT_LENGTH + 1), false), { kind: 'reason_too_long', length: MAX_COMPLAINT_LENGTH + 1 });
  assert.equal((await fileComplaint(deps, '1', 'x'.repeat(MAX_COMPLAINT_LENGTH), false)).kind, 'sent', 'exactly 2,000 characters are taken');
  assert.deepEqual(await fileComplaint(deps, 'nope', 'fake', false), { kind: 'unknown_review' });

  twogis.reviews.push(listed({ id: '2', rating: 2 }));
  await runCycle(deps);
  twogis.noComplaints.add('2');
  assert.deepEqual(await fileComplaint(deps, '2', 'fake', false), { kind: 'not_allowed', detail: null });
  assert.equal(twogis.complaintPosts.get('2'), undefined);
  assert.equal((await store.getReview('2'))!.state, 'needs_approval', 'still waiting');
});

test('a complaint 2GIS refuses is forgotten and the review waits again as it did', async () => {
  const { deps, store, twogis } = await waiting();
  twogis.complaintFailure = () => new ServiceError('2gis', 'rejected', '2GIS rejected POST presence/reviews/1/complaints with 400: text is invalid', { status: 400 });
  const refused = await fileComplaint(deps, '1', 'fake', false);
  assert.equal(refused.kind, 'not_allowed');
  const review = (await store.getReview('1'))!;
  assert.equal(review.state, 'needs_approval');
  assert.match(review.reason ?? '', /approvalBelowRating/, 'with the reason it waited for');
  assert.equal(await store.reviewComplaint('1'), null);
  twogis.complaintFailure = null;
  assert.equal((await fileComplaint(deps, '1', 'fake', false)).kind, 'sent', 'a later press may send it');
});

test('an unseen outcome is read back: found means sent; where 2GIS cannot be read back it stays outcome_unknown and is never sent again', async () => {
  const found = await waiting();
  found.twogis.complaintFailure = () => unseen(true);
  assert.deepEqual(await found.deps.store.reviewComplaint('1'), null);
  assert.deepEqual(await fileComplaint(found.deps, '1', 'fake', true), { kind: 'sent' });
  assert.equal((await found.store.reviewComplaint('1'))!.state, 'sent');

  const blind = await waiting();
  blind.twogis.complaintFailure = () => unseen(true);
  blind.twogis.complaintReadBack = false;
  const first = await fileComplaint(blind.deps, '1', 'fake', true);
  assert.equal(first.kind, 'outcome_unknown');
  const second = await fileComplaint(blind.deps, '1', 'fake', true);
  assert.equal(second.kind, 'outcome_unknown');
  assert.equal(blind.twogis.complaintPosts.get('1'), 1, 'never sent again blindly');
  assert.equal((await blind.store.getReview('1'))!.reason, COMPLAINED, 'it left the waiting list all the same');
  assert.equal(blind.store.events.filter((event) => event.type === 'review.complained').length, 0);
});

test('a complaint whose POST never landed is sent again only once 2GIS shows none and the first can no longer land', async () => {
  const { deps, store, twogis, clock } = await waiting({ settings: { ...testSettings, readBackDelayMs: 30_000 } });
  twogis.complaintFailure = () => unseen(false);
  const first = await fileComplaint(deps, '1', 'fake', false);
  assert.equal(first.kind, 'outcome_unknown');
  assert.ok(first.kind === 'outcome_unknown' && first.retryAfter !== null);
  twogis.complaintFailure = null;
  assert.equal((await fileComplaint(deps, '1', 'fake', false)).kind, 'outcome_unknown', 'too early: the first may still land');
  assert.equal(twogis.complaintPosts.get('1'), 1);
  clock.advance(30_000);
  assert.deepEqual(await fileComplaint(deps, '1', 'fake', false), { kind: 'sent' });
  assert.equal(twogis.complaintPosts.get('1'), 2);
  assert.equal((await store.reviewComplaint('1'))!.attempts, 2);
});

test('a sender that died after its POST: the next press reads it back and sends nothing', async () => {
  const { deps, store, twogis, clock } = await waiting({ ownership: { newToken: () => `t-${Math.random()}`, isAbandoned: (token) => token === 'dead', hold: () => () => {} } });
  const now = clock.now();
  assert.ok(await store.beginComplaint({ reviewId: '1', reason: 'fake', notAClient: true }, 'dead', now, new Date(now.getTime() + 300_000), now));
  twogis.complaints.set('1', [{ id: 'c', text: 'fake', isNoClientComplaint: true }]);
  assert.deepEqual(await fileComplaint(deps, '1', 'other words', false), { kind: 'already_sent' });
  assert.equal(twogis.complaintPosts.get('1'), undefined, 'no POST');
  const events = store.events.filter((event) => event.type === 'review.complained');
  assert.deepEqual(events.map((event) => event.data), [{ reason: 'fake', notAClient: true }], 'the recorded complaint, announced once');
});

test('a complained-about review can still be answered by a person, and stays complained about if that fails', async () => {
  const { deps, store, twogis } = await waiting();
  await fileComplaint(deps, '1', 'fake', true);
  const prompt = await currentPrompt(deps);
  twogis.postFailure = () => new ServiceError('2gis', 'unavailable', 'cannot reach 2GIS');
  const failed = await sendReply(deps, '1', 'Спасибо за отзыв, мы разберёмся.', { model: 'person', promptVersion: prompt.version, completion: null });
  assert.notEqual(failed.kind, 'posted');
  assert.deepEqual([(await store.getReview('1'))!.state, (await store.getReview('1'))!.reason], ['skipped', COMPLAINED]);
  twogis.postFailure = null;
  const sent = await sendReply(deps, '1', 'Спасибо за отзыв, мы разберёмся.', { model: 'person', promptVersion: prompt.version, completion: null });
  assert.equal(sent.kind, 'posted');
  assert.equal(twogis.answers.get('1')?.text, 'Спасибо за отзыв, мы разберёмся.');
  assert.equal((await store.getReview('1'))!.state, 'posted');
});
