// Reviews that wait for a person (WAITING_FOR_PERSON) are read again on 2GIS at least every
// approval.recheckMinutes, Telegram or not: one answered there by a manager, or deleted, stops waiting (skipped),
// and its Telegram card is closed by the bridge's next turn. 2GIS blocks rather than rate-limits, so the reads are
// few and bounded (README, "What happens to a review"):
// - intake reads each branch's first page anyway: a waiting review listed there is checked for free, and closed
//   at once when the listing shows an owner answer (noticeWaiting);
// - the rest, the longest unchecked first, from the listing of what is still unanswered (one request per 50): a
//   waiting review absent from the part of it that was read has been answered or removed, and is read alone to
//   confirm before it is closed;
// - one read per review only where a listing does not pay (a branch with one review due) or did not reach;
// all within RECHECK_REQUESTS_PER_CYCLE requests per 2GIS account and cycle. When each waiting review was last
// seen unanswered is kept in the store, so restarts and cron keep the cadence.
import { isServiceError, type ServiceError } from '../../errors.ts';
import { micros } from './dates.ts';
import type { PipelineDeps } from '../pipeline.ts';
import { ANSWERED_ELSEWHERE, LISTING_PAGE_SIZE, type ListedReview, type ReasonCode, type WaitingReview } from '../ports.ts';
import { finish } from './worker.ts';
import { keepAnswerFound } from '../voice/voice.ts';

/** The 2GIS requests (listing pages and single reads) one cycle may spend on re-reading waiting reviews. */
export const RECHECK_REQUESTS_PER_CYCLE = 20;
/** approval.recheckMinutes' default (src/config/schema.ts), for callers that set none. */
export const DEFAULT_RECHECK_MS = 10 * 60_000;
/** The waiting reviews one cycle looks at; more than this wait in turn (the longest unchecked first). */
const WAITING_LIMIT = 5_000;
/**
 * A check is due this much before recheckMinutes have passed (a tenth, at most a minute): cron starts a little
 * late or early, and a check that just missed its cycle would otherwise wait a whole cycle more.
 */
const EARLY_MAX_MS = 60_000;

const DELETED = 'deleted on 2GIS';

export interface RecheckReport {
  /** Requests spent: listing pages and single reads. */
  listings: number;
  reads: number;
  /** Waiting reviews that stopped waiting (answered or deleted on 2GIS). */
  closed: number;
  /** The 2GIS failure that stopped the re-reads for this cycle, if one did. */
  error: ServiceError | null;
}

/** One step of a cycle's re-reads: a branch's unanswered listing, or one review read alone. */
export type RecheckStep = { kind: 'list'; branchId: string; due: WaitingReview[] } | { kind: 'read'; review: WaitingReview };

export function recheckInterval(settings: PipelineDeps['settings']): number {
  return settings.recheckMs ?? DEFAULT_RECHECK_MS;
}

/** Whether a review last checked at `checkedAt` is to be read again now. */
export function isDue(checkedAt: Date | null, now: Date, recheckMs: number): boolean {
  if (checkedAt === null) return true;
  return now.getTime() - checkedAt.getTime() >= recheckMs - Math.min(EARLY_MAX_MS, recheckMs / 10);
}

/**
 * What to read, in order: the reviews that are due, the longest unchecked first (`waiting` comes in that order,
 * Store.waitingReviews). A branch with two or more due is listed (a page covers up to 50 of them); a branch with
 * one has it read alone (one request either way, and a read is never deeper than one page).
 */
export function planRecheck(waiting: readonly WaitingReview[], now: Date, recheckMs: number): RecheckStep[] {
  const dueByBranch = new Map<string, WaitingReview[]>();
  for (const review of waiting) {
    if (!isDue(review.checkedAt, now, recheckMs)) continue;
    const due = dueByBranch.get(review.branchId);
    if (due) due.push(review);
    else dueByBranch.set(review.branchId, [review]);
  }
  // A Map keeps the order of first insertion: the branch whose review waits longest since its check comes first.
  return [...dueByBranch].map(([branchId, due]): RecheckStep => (due.length === 1 ? { kind: 'read', review: due[0]! } : { kind: 'list', branchId, due }));
}

/** One cycle's re-reads of the waiting reviews that are due, within `budget` requests. */
export async function recheckWaiting(deps: PipelineDeps, signal?: AbortSignal, budget = RECHECK_REQUESTS_PER_CYCLE): Promise<RecheckReport> {
  const report: RecheckReport = { listings: 0, reads: 0, closed: 0, error: null };
  const now = deps.clock.now();
  const waiting = await deps.store.waitingReviews({ limit: WAITING_LIMIT });
  const left = () => budget - report.listings - report.reads;
  try {
    for (const step of planRecheck(waiting, now, recheckInterval(deps.settings))) {
      if (signal?.aborted || left() <= 0) break;
      const toRead = step.kind === 'read' ? [step.review] : await walkUnanswered(deps, step.branchId, step.due, waiting, report, left);
      for (const review of toRead) {
        if (signal?.aborted || left() <= 0) break;
        await readAlone(deps, review, report);
      }
    }
  } catch (error) {
    if (!isServiceError(error)) throw error;
    // 2GIS down, blocking or refusing the account: no more requests this cycle; what is due stays due.
    report.error = error;
    deps.logger.warn('waiting reviews could not be read again on 2GIS', { error: error.message });
  }
  return report;
}

/**
 * Pages a branch's unanswered listing while it covers two or more due reviews not seen yet. Waiting reviews listed
 * are checked (or closed, should the listing show an answer); a due one absent from the stretch the pages covered
 * (newer than the last item read, or the listing ended) is returned to be read alone and confirmed, first; then
 * those the pages did not reach.
 */
async function walkUnanswered(
  deps: PipelineDeps,
  branchId: string,
  due: readonly WaitingReview[],
  waiting: readonly WaitingReview[],
  report: RecheckReport,
  left: () => number,
): Promise<WaitingReview[]> {
  const ofBranch = new Set(waiting.filter((review) => review.branchId === branchId).map((review) => review.id));
  const unseen = new Map(due.map((review) => [review.id, review]));
  const absent: WaitingReview[] = [];
  let offsetDate: string | null = null;
  while (unseen.size >= 2 && left() > 0) {
    let page;
    try {
      page = await deps.twogis.listUnanswered(branchId, offsetDate);
    } catch (error) {
      // This branch's listing refused (a filter 2GIS does not take, a branch gone): its reviews are read alone.
      if (!isServiceError(error, '2gis') || (error.kind !== 'rejected' && error.kind !== 'bad_response')) throw error;
      report.listings += 1;
      deps.logger.warn('the listing of unanswered reviews was refused; waiting reviews are read one by one', { branchId, error: error.message });
      break;
    }
    report.listings += 1;
    const listed = page.reviews.filter((review) => ofBranch.has(review.id));
    for (const review of listed) unseen.delete(review.id);
    const closed = await noticeListedWaiting(deps, listed); // into a local first: see intake's use of it
    report.closed += closed;
    const ended = page.reviews.length + page.unreadable.length < LISTING_PAGE_SIZE;
    const last = page.cursor === null ? Number.NaN : micros(page.cursor);
    for (const review of [...unseen.values()]) {
      if (ended || micros(review.createdAt) > last) {
        absent.push(review);
        unseen.delete(review.id);
      }
    }
    // The listing's end, or a cursor that does not lead further down: what was not reached is read alone.
    if (ended || Number.isNaN(last) || (offsetDate !== null && last >= micros(offsetDate))) break;
    offsetDate = page.cursor;
  }
  return [...absent, ...unseen.values()];
}

/** Reads one waiting review alone: still unanswered (checked), answered or deleted (closed). */
async function readAlone(deps: PipelineDeps, review: WaitingReview, report: RecheckReport): Promise<void> {
  report.reads += 1;
  const status = await deps.twogis.readReview(review.id);
  if (status !== null && !status.hasOwnerAnswer) return deps.store.markReviewsChecked([review.id], deps.clock.now());
  const closing = status === null ? ({ reason: DELETED, code: 'deleted' } as const) : ({ reason: ANSWERED_ELSEWHERE.whileWaiting, code: 'answered_elsewhere' } as const);
  if (await closeWaiting(deps, review.id, closing, status?.ownerAnswer)) report.closed += 1;
}

/**
 * What a listing showed of reviews that wait for a person (intake's pages, the unanswered listing): one listed
 * with an owner answer stops waiting; the others were seen unanswered now. How many stopped waiting.
 */
export async function noticeListedWaiting(deps: PipelineDeps, listed: readonly ListedReview[]): Promise<number> {
  if (listed.length === 0) return 0;
  const waiting = new Set((await deps.store.waitingReviews({ ids: listed.map((review) => review.id), limit: listed.length })).map((review) => review.id));
  if (waiting.size === 0) return 0;
  const unanswered = listed.filter((review) => waiting.has(review.id) && !review.hasOwnerAnswer).map((review) => review.id);
  if (unanswered.length > 0) await deps.store.markReviewsChecked(unanswered, deps.clock.now());
  let closed = 0;
  for (const review of listed) {
    if (!waiting.has(review.id) || !review.hasOwnerAnswer) continue;
    const answer = review.ownerAnswerText ? { text: review.ownerAnswerText } : null;
    if (await closeWaiting(deps, review.id, { reason: ANSWERED_ELSEWHERE.whileWaiting, code: 'answered_elsewhere' }, answer)) closed += 1;
  }
  return closed;
}

/**
 * Skips a review that waited for a person, with its event (any reserve it held is released with it); false when it
 * is in work right now (a person sending it re-reads it on 2GIS first anyway) or at rest already. The owner's answer
 * found on 2GIS is kept as an example of the business's voice.
 */
async function closeWaiting(
  deps: PipelineDeps,
  reviewId: string,
  why: { reason: string; code: ReasonCode },
  ownerAnswer?: { text: string } | null,
): Promise<boolean> {
  const token = deps.ownership.newToken();
  const now = deps.clock.now();
  const claimed = await deps.store.claimReview(reviewId, token, now, new Date(now.getTime() + deps.settings.leaseMs));
  if (claimed === null) return false;
  const outcome = await finish(deps, claimed, token, { state: 'skipped', ...why });
  if (outcome.kind === 'skipped') await keepAnswerFound(deps, claimed, ownerAnswer);
  return outcome.kind === 'skipped';
}
