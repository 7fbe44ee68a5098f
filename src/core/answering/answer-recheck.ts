// Answers 2GIS removed after they were posted (issue 21): each posted answer is read back once more, a while after
// posting (twogis.recheckAfterHours). One that is gone sends its review back to a person, never to the queue.
import { isServiceError } from '../../errors.ts';
import { makeEvent } from '../events/events.ts';
import { formatMoney } from '../money/money.ts';
import { published, type PipelineDeps } from '../pipeline.ts';
import { ANSWER_REMOVED, type AnswerToRecheck, type ReviewStatus } from '../ports.ts';

/** twogis.recheckAfterHours' default: a day. */
export const DEFAULT_RECHECK_AFTER_MS = 86_400_000;

/**
 * Rechecks one worker makes in one cycle, at most, one after another: a busy day's answers come due as they were
 * posted, and what is over the cap waits for the next cycle instead of going out in one burst.
 */
export const ANSWER_RECHECKS_PER_CYCLE = 20;

/** The due times are spread by up to this share of the delay (at most JITTER_MAX_MS), so a burst of posts does not come due at once. */
const JITTER_SHARE = 0.1;
const JITTER_MAX_MS = 3_600_000;

/** When an answer posted at `postedAt` is read back once more: the delay, plus a random part of it. */
export function answerRecheckTime(postedAt: Date, recheckAfterMs: number = DEFAULT_RECHECK_AFTER_MS, random: () => number = Math.random): Date {
  const jitter = Math.min(recheckAfterMs * JITTER_SHARE, JITTER_MAX_MS) * random();
  return new Date(postedAt.getTime() + recheckAfterMs + Math.floor(jitter));
}

export interface AnswerRecheckCounts {
  /** Answers read back once more this cycle. */
  rechecked: number;
  /** Of them, the ones 2GIS removed. */
  removed: number;
}

/**
 * Reads back the posted answers whose recheck came due, up to ANSWER_RECHECKS_PER_CYCLE, one request each. A
 * claim is taken before the request and never given back, so no answer is read twice, by this worker or another;
 * a 2GIS that fails stops the rest for this cycle (those not claimed yet wait for the next).
 */
export async function recheckPostedAnswers(deps: PipelineDeps, signal?: AbortSignal): Promise<AnswerRecheckCounts> {
  const counts: AnswerRecheckCounts = { rechecked: 0, removed: 0 };
  for (let i = 0; i < ANSWER_RECHECKS_PER_CYCLE && !signal?.aborted; i += 1) {
    const due = await deps.store.claimAnswerRecheck(deps.clock.now());
    if (due === null) break;
    let status: ReviewStatus | null;
    try {
      status = await deps.twogis.readReview(due.reviewId);
    } catch (error) {
      if (!isServiceError(error)) throw error;
      deps.logger.warn('could not read back a posted answer; it is not read again', { reviewId: due.reviewId, error: error.message });
      break;
    }
    counts.rechecked += 1;
    if (isRemoved(status) && (await recordRemoved(deps, due))) counts.removed += 1;
  }
  return counts;
}

/**
 * Our answer is gone when the review reads back with no owner answer at all (2gis-api.md: `hasCompanyComment`
 * false, `firstAnswer` null). Another answer in its place is a person's doing in the cabinet, not a removal; a
 * review deleted altogether took its answer with it and waits for nobody.
 */
function isRemoved(status: ReviewStatus | null): boolean {
  return status !== null && !status.hasOwnerAnswer && status.ownerAnswer === null;
}

async function recordRemoved(deps: PipelineDeps, due: AnswerToRecheck): Promise<boolean> {
  const subject = { id: due.reviewId, branchId: due.branchId };
  let events: ReturnType<typeof makeEvent>[] = [];
  const recorded = await deps.store.recordAnswerRemoved(due.reviewId, due.answerId, deps.settings.refundRemoved ?? false, (refunded, balance) => {
    const refund = refunded > 0n ? { refunded: formatMoney(refunded), balance: formatMoney(balance) } : {};
    events = [
      makeEvent(deps.clock, 'reply.removed', subject, { text: due.text, ...refund }),
      makeEvent(deps.clock, 'review.needs_approval', subject, { reason: ANSWER_REMOVED, code: 'answer_removed' }),
    ];
    return events;
  });
  if (recorded === null) return false;
  published(deps, events);
  // Seen unanswered just now: the re-read of waiting reviews (approval.recheckMinutes) need not read it again at once.
  await deps.store.markReviewsChecked([due.reviewId], deps.clock.now());
  deps.logger.warn('2GIS removed an answer of ours; the review waits for a person', { reviewId: due.reviewId });
  return true;
}
