// Repairs what a crash or an expired lease left behind, before any new work (invariant 9).
import { ServiceError } from '../../errors.ts';
import type { PipelineDeps } from '../pipeline.ts';
import { keepAnswerFound } from '../voice/voice.ts';
import { ANSWERED_ELSEWHERE, type StoredReview } from '../ports.ts';
import { finish, postAndSettle, readBackTime, rereadAndPost, settle, type WorkOutcome } from './worker.ts';

/**
 * Takes over every in-flight review whose lease expired and brings it to a resting state; after `signal`, no more
 * of them (the one in hand is finished: the next run takes the rest).
 */
export async function reconcile(deps: PipelineDeps, signal?: AbortSignal): Promise<Array<[reviewId: string, outcome: WorkOutcome]>> {
  const outcomes: Array<[string, WorkOutcome]> = [];
  if (signal?.aborted) return outcomes;
  await expireAbandonedClaims(deps);
  while (!signal?.aborted) {
    const token = deps.ownership.newToken();
    const now = deps.clock.now();
    const stale = await deps.store.claimStale(token, now, new Date(now.getTime() + deps.settings.leaseMs));
    if (stale === null) return outcomes;
    deps.logger.info('recovering an interrupted review', { reviewId: stale.id, state: stale.state });
    const outcome = await recover(deps, stale, token);
    outcomes.push([stale.id, outcome]);
    // A 2GIS that cannot be read now will not be readable for the next stale review either.
    if (outcome.kind === 'unsure' || (outcome.kind === 'released' && outcome.error)) return outcomes;
  }
  return outcomes;
}

/**
 * Claims held by a process of this machine that died need not wait out their lease; nor do claims of this very
 * process: the reconciler runs only between cycles, when the cycles hold no work, so any claim of its own was left
 * by a cycle that failed half-way (the database went away during a settle, say). A claim held beside the cycles (a
 * Telegram press in `run`, Ownership.hold) is not among them.
 */
async function expireAbandonedClaims(deps: PipelineDeps): Promise<void> {
  for (const { id, claimToken } of await deps.store.listInFlight()) {
    if (deps.ownership.isAbandoned(claimToken)) await deps.store.relinquish(id, claimToken, deps.clock.now());
  }
}

async function recover(deps: PipelineDeps, review: StoredReview, token: string): Promise<WorkOutcome> {
  // An answer that waited out policy.postDelayMinutes: read back on 2GIS and posted now, its reserve held since.
  if (review.state === 'drafted' && review.postAfter != null && review.draftText !== null) {
    return rereadAndPost(deps, review, token, review.draftText);
  }
  if (review.state !== 'posting') {
    // Nothing left our hands yet: give it back to the queue, with its reserve released.
    await deps.store.release(review.id, token, { state: 'new', reason: 'recovered after an interrupted run', code: 'recovered' }, []);
    return { kind: 'released' };
  }
  return resolvePosting(deps, review, token);
}

/** A POST may or may not have landed: read the review back before anything else (invariant 3). */
export async function resolvePosting(deps: PipelineDeps, review: StoredReview, token: string): Promise<WorkOutcome> {
  const draft = review.draftText ?? '';
  let status;
  try {
    status = await deps.twogis.readReview(review.id);
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    await deps.store.relinquish(review.id, token, readBackTime(deps));
    return { kind: 'unsure', error };
  }
  if (status === null) return finish(deps, review, token, { state: 'skipped', reason: 'deleted on 2GIS', code: 'deleted' });
  if (status.ownerAnswer && sameText(status.ownerAnswer.text, draft)) {
    return settle(deps, review, { answerId: status.ownerAnswer.id, text: status.ownerAnswer.text });
  }
  if (status.hasOwnerAnswer) {
    const outcome = await finish(deps, review, token, { state: 'skipped', reason: ANSWERED_ELSEWHERE.onReadBack, code: 'answered_elsewhere' });
    if (outcome.kind === 'skipped') await keepAnswerFound(deps, review, status.ownerAnswer);
    return outcome;
  }
  if (review.postAttempts >= deps.settings.maxPostAttempts) {
    return finish(deps, review, token, {
      state: 'failed',
      reason: `2GIS did not take the answer after ${review.postAttempts} attempts`,
      code: 'post_unconfirmed',
    });
  }
  return postAndSettle(deps, review, token, draft);
}

function sameText(a: string, b: string): boolean {
  return a.trim().normalize('NFC') === b.trim().normalize('NFC');
}
