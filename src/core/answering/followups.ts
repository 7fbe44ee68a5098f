// Follow-ups (policy.answerFollowUps, off by default): when a reviewer writes again under our answer, gisbot
// drafts a short comment with the exchange so far as context, through the same gate, policy and moderation, and
// posts it as an ordinary comment of the business. At most once per reviewer comment: each is a row claimed with
// a lease and fenced before the POST; a POST whose outcome went unseen is read back, never re-posted blindly.
// Follow-ups are not charged: the review's answer was.
import { isServiceError, ServiceError } from '../../errors.ts';
import { draftFromCompletion, draftThroughGate } from '../drafting/drafting.ts';
import { makeEvent } from '../events/events.ts';
import { detectLanguage } from '../drafting/language.ts';
import { published, type PipelineDeps } from '../pipeline.ts';
import { answeringPolicy } from './policy.ts';
import type { DomainEvent, FollowUpOutcome, ListedReview, ReviewComment, StoredFollowUp, StoredReview } from '../ports.ts';
import { readBackTime, type CurrentPrompt } from './worker.ts';

export interface FollowUpCounts {
  found: number;
  posted: number;
  awaitingApproval: number;
  skipped: number;
  failed: number;
}

export function emptyFollowUpCounts(): FollowUpCounts {
  return { found: 0, posted: 0, awaitingApproval: 0, skipped: 0, failed: 0 };
}

/** Per store (one per process), the comment count last listed for each review: unchanged counts are not listed again. */
const commentsSeen = new WeakMap<object, Map<string, number>>();
const COMMENTS_SEEN_KEPT = 10_000;

/**
 * Looks for new comments of the reviewer under the answers of ours among the reviews just listed: a review shows
 * more comments than our answer alone. Each comment is recorded once, as a follow-up to write.
 */
export async function takeInFollowUps(deps: PipelineDeps, listed: readonly ListedReview[], counts: FollowUpCounts): Promise<void> {
  if (!answeringPolicy(deps.settings).answerFollowUps) return;
  let counted = commentsSeen.get(deps.store);
  if (!counted) commentsSeen.set(deps.store, (counted = new Map()));
  for (const candidate of listed) {
    if (candidate.commentsCount <= 1) continue;
    // A long-running process lists a review's comments again only when their count changed.
    if (counted.get(candidate.id) === candidate.commentsCount) continue;
    const review = await deps.store.getReview(candidate.id);
    if (review?.state !== 'posted' || review.authorId === null) continue;
    let comments: ReviewComment[];
    try {
      comments = await deps.twogis.listComments(review.id);
    } catch (error) {
      if (!isServiceError(error)) throw error;
      deps.logger.warn('could not list the comments under a review', { reviewId: review.id, error: error.message });
      continue;
    }
    const official = comments.findIndex((comment) => comment.isOfficialAnswer);
    if (official >= 0) await recordReviewerComments(deps, review, comments.slice(official + 1), counts);
    // Only once every comment is recorded: a failure above lists them again next time.
    counted.set(candidate.id, candidate.commentsCount);
    if (counted.size > COMMENTS_SEEN_KEPT) counted.delete(counted.keys().next().value!);
  }
}

async function recordReviewerComments(
  deps: PipelineDeps,
  review: StoredReview,
  comments: readonly ReviewComment[],
  counts: FollowUpCounts,
): Promise<void> {
  for (const comment of comments) {
    // Only the reviewer's own comments: not ours, not another visitor's.
    if (comment.author === null || comment.author.id !== review.authorId) continue;
    const event = makeEvent(deps.clock, 'followup.new', review, { commentId: comment.id, text: comment.text, author: comment.author.name });
    const recorded = await deps.store.recordFollowUp(
      {
        commentId: comment.id,
        reviewId: review.id,
        branchId: review.branchId,
        authorId: review.authorId,
        text: comment.text,
        createdAt: comment.createdAt || deps.clock.now().toISOString(),
      },
      [event],
    );
    if (!recorded) continue;
    counts.found += 1;
    published(deps, [event]);
  }
}

/** Answers the recorded follow-ups one at a time until none is left or a service keeps failing. */
export async function answerFollowUps(deps: PipelineDeps, prompt: CurrentPrompt, counts: FollowUpCounts, signal?: AbortSignal): Promise<void> {
  if (!answeringPolicy(deps.settings).answerFollowUps) return;
  let failures = 0;
  while (!signal?.aborted && failures < deps.settings.breakerThreshold) {
    const token = deps.ownership.newToken();
    const now = deps.clock.now();
    const followUp = await deps.store.claimFollowUp(token, now, new Date(now.getTime() + deps.settings.leaseMs));
    if (followUp === null) return;
    const outcome = await answerFollowUp(deps, followUp, token, prompt, signal);
    if (outcome === 'service_error') failures += 1;
    else {
      failures = 0;
      if (outcome === 'posted') counts.posted += 1;
      else if (outcome === 'needs_approval') counts.awaitingApproval += 1;
      else if (outcome === 'skipped') counts.skipped += 1;
      else if (outcome === 'failed') counts.failed += 1;
    }
  }
}

type FollowUpResult = FollowUpOutcome['state'] | 'lost' | 'service_error';

async function answerFollowUp(
  deps: PipelineDeps,
  followUp: StoredFollowUp,
  token: string,
  prompt: CurrentPrompt,
  signal?: AbortSignal,
): Promise<FollowUpResult> {
  const review = await deps.store.getReview(followUp.reviewId);
  if (review === null) return finish(deps, followUp, token, { state: 'skipped', reason: 'the review is not known to gisbot', code: 'review_unknown' });

  if (followUp.state === 'posting') {
    // Its worker died around the POST: what 2GIS shows decides, and nothing is posted again blindly.
    try {
      const ours = ourCommentAfter(await deps.twogis.listComments(review.id), followUp.commentId);
      if (ours) return finish(deps, followUp, token, { state: 'posted', answerId: ours.id, text: ours.text, draft: null }, review);
    } catch (error) {
      if (!isServiceError(error)) throw error;
      // Stays `posting`: it is read back again once this claim's lease ends.
      deps.logger.warn('could not read back a follow-up', { reviewId: review.id, error: error.message });
      return 'service_error';
    }
    return finish(deps, followUp, token, {
      state: 'needs_approval',
      reason: 'a follow-up may have been posted by a worker that stopped: check 2GIS before answering',
      code: 'posting_interrupted',
    });
  }

  let drafted;
  try {
    const history = await deps.store.dialogue(review.authorId, review.id);
    drafted = await draftThroughGate(deps, review, prompt, signal, {
      followUp: { history: history.filter((entry) => entry.text !== followUp.text || entry.role !== 'reviewer'), comment: followUp.text },
      languageOf: detectLanguage(followUp.text) === null ? review.text : followUp.text,
      seedKey: followUp.commentId,
    });
  } catch (error) {
    if (signal?.aborted) return release(deps, followUp, token);
    if (isServiceError(error, 'model') && (error.kind === 'rejected' || error.kind === 'bad_response')) {
      return finish(deps, followUp, token, { state: 'failed', reason: `the model failed: ${error.message}`, code: 'model_failed' });
    }
    if (isServiceError(error)) return release(deps, followUp, token, error);
    throw error;
  }
  if (drafted.kind === 'refused') return finish(deps, followUp, token, { state: 'needs_approval', reason: drafted.reason, code: 'gate_refused' }, review, { rules: drafted.rules });
  if (drafted.kind === 'unmoderated') {
    return finish(deps, followUp, token, {
      state: 'needs_approval',
      reason: `the moderation endpoint gave no verdict and policy.moderation is required: ${drafted.error.message}`,
      code: 'moderation_unavailable',
    });
  }

  // Right before posting: someone may have answered the comment by hand meanwhile.
  try {
    const comments = await deps.twogis.listComments(review.id);
    if (!comments.some((comment) => comment.id === followUp.commentId)) {
      return finish(deps, followUp, token, { state: 'skipped', reason: 'the comment was deleted on 2GIS', code: 'comment_deleted' });
    }
    if (ourCommentAfter(comments, followUp.commentId)) {
      return finish(deps, followUp, token, { state: 'skipped', reason: 'answered on 2GIS before we posted', code: 'answered_elsewhere' });
    }
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return release(deps, followUp, token, error);
  }

  if (!(await deps.store.beginFollowUpPosting(followUp.commentId, token, deps.clock.now(), readBackTime(deps)))) return 'lost';
  let commentId: string;
  try {
    ({ commentId } = await deps.twogis.postComment(review.id, drafted.text));
  } catch (error) {
    if (!isServiceError(error, '2gis')) throw error;
    if (error.kind === 'outcome_unknown' || (error.kind === 'rejected' && error.status === 409)) {
      // The comment may be out there: a person looks, rather than a second comment going out.
      return finish(deps, followUp, token, {
        state: 'needs_approval',
        reason: `posting the follow-up went unanswered (${error.message}): check 2GIS before answering`,
        code: 'post_unconfirmed',
      });
    }
    if (error.kind === 'rejected') return finish(deps, followUp, token, { state: 'failed', reason: `2GIS refused the follow-up: ${error.message}`, code: 'post_refused' });
    return release(deps, followUp, token, error);
  }
  const { completion } = drafted;
  return finish(
    deps,
    followUp,
    token,
    {
      state: 'posted',
      answerId: commentId,
      text: drafted.text,
      draft: draftFromCompletion(completion, prompt.version),
    },
    review,
  );
}

/** A comment of the business (official or not) after the reviewer's comment `commentId`. */
function ourCommentAfter(comments: readonly ReviewComment[], commentId: string): ReviewComment | null {
  const at = comments.findIndex((comment) => comment.id === commentId);
  if (at < 0) return null;
  return comments.slice(at + 1).find((comment) => comment.author === null) ?? null;
}

async function finish(
  deps: PipelineDeps,
  followUp: StoredFollowUp,
  token: string,
  outcome: FollowUpOutcome,
  review: Pick<StoredReview, 'id' | 'branchId'> = { id: followUp.reviewId, branchId: followUp.branchId },
  details: Record<string, unknown> = {},
): Promise<FollowUpResult> {
  const subject = { id: review.id, branchId: review.branchId };
  const data = { commentId: followUp.commentId, ...details };
  let event: DomainEvent;
  if (outcome.state === 'posted') event = makeEvent(deps.clock, 'followup.posted', subject, { ...data, text: outcome.text });
  // `code` says it is a follow-up's (the contract's), `followUpCode` why: a reader is told it in their words by it.
  else if (outcome.state === 'needs_approval') event = makeEvent(deps.clock, 'review.needs_approval', subject, { ...data, reason: outcome.reason, code: 'follow_up', followUpCode: outcome.code });
  else if (outcome.state === 'skipped') event = makeEvent(deps.clock, 'review.skipped', subject, { ...data, reason: outcome.reason, code: 'follow_up', followUpCode: outcome.code });
  else if (outcome.state === 'failed') event = makeEvent(deps.clock, 'reply.failed', subject, { ...data, error: outcome.reason, code: 'follow_up', followUpCode: outcome.code });
  else {
    await deps.store.finishFollowUp(followUp.commentId, token, outcome, []);
    return 'new';
  }
  if (!(await deps.store.finishFollowUp(followUp.commentId, token, outcome, [event]))) return 'lost';
  published(deps, [event]);
  return outcome.state;
}

/** Back to the queue untouched: a service failed before anything was posted. */
async function release(deps: PipelineDeps, followUp: StoredFollowUp, token: string, error?: ServiceError): Promise<FollowUpResult> {
  await finish(deps, followUp, token, error ? { state: 'new', reason: error.message, code: 'service_failed' } : { state: 'new', reason: 'stopped', code: 'stopped' });
  if (error) deps.logger.warn('a follow-up goes back to the queue', { reviewId: followUp.reviewId, error: error.message });
  return error ? 'service_error' : 'lost';
}
