// The owner's complaint about a review (`gisbot complain`, and later the Telegram card's Complain button): sent to
// 2GIS once, like an answer. It is recorded as being sent before its POST; a POST whose outcome was not seen is
// read back where 2GIS lets us (found: sent) and otherwise left "outcome unknown" for the person to check, never
// sent again blindly. Never charged, never automatic. A review waiting for an answer leaves the waiting list as
// complained about (COMPLAINED) and can still be answered by a person.
import { isServiceError, ServiceError } from '../../errors.ts';
import { makeEvent } from '../events/events.ts';
import { published, type PipelineDeps } from '../pipeline.ts';
import type { ReviewComplaint, StoredReview } from '../ports.ts';

/** The most a complaint's text may hold (2GIS's own limit, as the cabinet's form has it). */
export const MAX_COMPLAINT_LENGTH = 2000;

export type ComplaintOutcome =
  /** This call's POST reached 2GIS (or found it there when its outcome was not seen). */
  | { kind: 'sent' }
  /** The review has a complaint already: an earlier press sent it, or 2GIS says it has one. */
  | { kind: 'already_sent' }
  /**
   * A POST left and what became of it is not known, and 2GIS does not let us read it back (or not yet: `retryAfter`).
   * It is not sent again blindly: the person checks the cabinet.
   */
  | { kind: 'outcome_unknown'; detail: string | null; retryAfter: Date | null }
  | { kind: 'empty_reason' }
  | { kind: 'reason_too_long'; length: number }
  | { kind: 'unknown_review' }
  /** 2GIS no longer has the review (404). */
  | { kind: 'not_on_2gis' }
  /** 2GIS does not let the owner complain about it (`allowedActions.complain` false), or refused the complaint. */
  | { kind: 'not_allowed'; detail: string | null };

export type ComplaintDeps = Pick<PipelineDeps, 'store' | 'twogis' | 'clock' | 'logger' | 'failpoint' | 'ownership' | 'settings' | 'onEvents'>;

/** Complaints this process is sending now: their tokens are alive whatever `ownership` says of this process. */
const inHand = new Set<string>();
/** How often a press waits on another worker that is sending the same complaint. */
const WAIT_MS = 100;

/** What is wrong with a complaint's reason, before anything is looked up; null when nothing is. */
export function checkComplaintReason(reason: string | undefined): Extract<ComplaintOutcome, { kind: 'empty_reason' | 'reason_too_long' }> | null {
  const text = (reason ?? '').trim();
  if (text === '') return { kind: 'empty_reason' };
  if (text.length > MAX_COMPLAINT_LENGTH) return { kind: 'reason_too_long', length: text.length };
  return null;
}

/** Files the owner's complaint about a review, once. */
export async function fileComplaint(deps: ComplaintDeps, reviewId: string, reason: string, notAClient: boolean): Promise<ComplaintOutcome> {
  const problem = checkComplaintReason(reason);
  if (problem !== null) return problem;
  const text = reason.trim();
  const review = await deps.store.getReview(reviewId);
  if (review === null) return { kind: 'unknown_review' };

  // Bounded: each round either settles, or waits on a live holder whose lease runs out in the end.
  const rounds = Math.max(10, Math.ceil(deps.settings.leaseMs / WAIT_MS) + 10);
  for (let round = 0; round < rounds; round++) {
    const existing = await deps.store.reviewComplaint(reviewId);
    if (existing === null) {
      const status = await deps.twogis.readReview(reviewId);
      if (status === null) return { kind: 'not_on_2gis' };
      if (status.canComplain === false) return { kind: 'not_allowed', detail: null };
      const token = deps.ownership.newToken();
      const now = deps.clock.now();
      const complaint = { reviewId, reason: text, notAClient };
      // Another press began it a moment ago: look again.
      if (!(await deps.store.beginComplaint(complaint, token, now, leaseEnd(deps, now), holdEnd(deps, now)))) continue;
      return holding(token, () => send(deps, review, token, complaint));
    }
    if (existing.state === 'sent') return { kind: 'already_sent' };
    const now = deps.clock.now();
    const holder = existing.claimToken;
    if (holder !== null && isAlive(deps, holder, existing, now)) {
      // Another worker is sending it right now: its outcome is this press's too.
      await deps.clock.sleep(WAIT_MS);
      continue;
    }
    const token = deps.ownership.newToken();
    if (!(await deps.store.takeOverComplaint(reviewId, holder, token, now, leaseEnd(deps, now)))) continue;
    return holding(token, () => recover(deps, review, existing, token));
  }
  return { kind: 'outcome_unknown', detail: null, retryAfter: null };
}

/** The complaint's POST, and what its outcome makes of the record. */
async function send(deps: ComplaintDeps, review: StoredReview, token: string, complaint: Pick<ReviewComplaint, 'reviewId' | 'reason' | 'notAClient'>): Promise<ComplaintOutcome> {
  let answer: 'sent' | 'already';
  try {
    answer = await deps.twogis.postComplaint(review.id, { text: complaint.reason, isNoClientComplaint: complaint.notAClient });
  } catch (error) {
    if (!isServiceError(error, '2gis')) throw error; // left `sending`: the next press reads it back
    if (error.kind === 'outcome_unknown') {
      deps.logger.warn('complaint sent, its outcome not seen: reading it back', { reviewId: review.id, error: error.message });
      const found = await readBack(deps, review.id);
      if (found === 'found') return settle(deps, review, token, complaint, { kind: 'sent' });
      await deps.store.finishComplaint(review.id, token, 'outcome_unknown', []);
      return { kind: 'outcome_unknown', detail: error.message, retryAfter: found === 'none' ? holdEnd(deps, deps.clock.now()) : null };
    }
    // Refused, or never left: nothing is at 2GIS, and the review goes back to where it was.
    await deps.store.dropComplaint(review.id, token);
    if (error.kind === 'rejected') return { kind: 'not_allowed', detail: error.message };
    throw error;
  }
  deps.failpoint('after_complaint_sent');
  return settle(deps, review, token, complaint, answer === 'sent' ? { kind: 'sent' } : { kind: 'already_sent' });
}

/** A complaint whose POST may have left (its sender died, or did not see the outcome): read back, never sent blindly. */
async function recover(deps: ComplaintDeps, review: StoredReview, complaint: ReviewComplaint, token: string): Promise<ComplaintOutcome> {
  const found = await readBack(deps, review.id);
  if (found === 'found') return settle(deps, review, token, complaint, { kind: 'already_sent' });
  const now = deps.clock.now();
  if (found === 'none' && complaint.readBackAfter !== null && complaint.readBackAfter <= now) {
    // 2GIS shows none, and the POST that left before can no longer land: it never reached 2GIS. Sent now, once.
    if (await deps.store.resendComplaint(review.id, token, now, holdEnd(deps, now))) return send(deps, review, token, complaint);
  }
  await deps.store.finishComplaint(review.id, token, 'outcome_unknown', []);
  const retryAfter = found === 'none' ? complaint.readBackAfter : null;
  return { kind: 'outcome_unknown', detail: found === 'none' ? null : found.detail, retryAfter };
}

async function settle(
  deps: ComplaintDeps,
  review: StoredReview,
  token: string,
  complaint: Pick<ReviewComplaint, 'reason' | 'notAClient'>,
  outcome: ComplaintOutcome,
): Promise<ComplaintOutcome> {
  const event = makeEvent(deps.clock, 'review.complained', { id: review.id, branchId: review.branchId }, {
    reason: complaint.reason,
    notAClient: complaint.notAClient,
  });
  if (await deps.store.finishComplaint(review.id, token, 'sent', [event])) published(deps, [event]);
  return outcome;
}

/** Whether 2GIS holds a complaint about the review; `cannot` when it does not let us read them, or failed to. */
async function readBack(deps: ComplaintDeps, reviewId: string): Promise<'found' | 'none' | { detail: string }> {
  try {
    const complaints = await deps.twogis.listComplaints(reviewId);
    if (complaints === null) return { detail: '2GIS does not let gisbot read complaints back' };
    return complaints.length > 0 ? 'found' : 'none';
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    return { detail: error.message };
  }
}

function isAlive(deps: ComplaintDeps, holder: string, complaint: ReviewComplaint, now: Date): boolean {
  if (inHand.has(holder)) return true;
  return complaint.leaseUntil !== null && complaint.leaseUntil > now && !deps.ownership.isAbandoned(holder);
}

async function holding<T>(token: string, work: () => Promise<T>): Promise<T> {
  inHand.add(token);
  try {
    return await work();
  } finally {
    inHand.delete(token);
  }
}

function leaseEnd(deps: ComplaintDeps, now: Date): Date {
  return new Date(now.getTime() + deps.settings.leaseMs);
}

/** A POST sent now may land until then (Store.beginPosting's hold, for the same reason). */
function holdEnd(deps: ComplaintDeps, now: Date): Date {
  return new Date(now.getTime() + deps.settings.readBackDelayMs);
}
