// One claimed review's way: reserve → draft → gate → re-read → post → settle. Every step after the claim is
// fenced by the claim token; the POST additionally by an unexpired lease (invariant 8).
import { isServiceError, ServiceError } from '../../errors.ts';
import { answerRecheckTime } from './answer-recheck.ts';
import { draftFromCompletion, draftFromTemplate, draftThroughGate, forgetWording } from '../drafting/drafting.ts';
import { makeEvent } from '../events/events.ts';
import { formatMoney, type Kopecks } from '../money/money.ts';
import { published, type PipelineDeps } from '../pipeline.ts';
import { answeringPolicy, decideAnswering } from './policy.ts';
import { templateSetFor } from '../drafting/templates.ts';
import { LOOKS_LIKE_CODE, looksLikeNotACustomer, looksLikeReason } from '../drafting/looks-like.ts';
import { keepAnswerFound } from '../voice/voice.ts';
import { ANSWERED_ELSEWHERE, isComplained, type DomainEvent, type FailureRetry, type ReasonCode, type ReleaseOutcome, type StoredReview } from '../ports.ts';
import { canPass, retryAfterFailure } from './retries.ts';

export type WorkOutcome =
  | { kind: 'posted'; charged: Kopecks; balance: Kopecks }
  | { kind: 'skipped' | 'needs_approval' | 'failed'; reason: string; code?: ReasonCode | null }
  /** No funds for the price: the review went back to `new`. */
  | { kind: 'insufficient' }
  /** Drafted, and waiting out policy.postDelayMinutes with its reserve held: any later cycle posts it (reconcile.ts). */
  | { kind: 'scheduled'; postAfter: Date }
  /** The claim was lost to another worker (expired lease): nothing more to do here. */
  | { kind: 'lost' }
  /** Put back to `new` untouched: shutdown, or a service that failed before anything happened. */
  | { kind: 'released'; error?: ServiceError }
  /** The POST's outcome was not seen; the reconciler reads it back before anything else. */
  | { kind: 'unsure'; error: ServiceError };

export interface CurrentPrompt {
  text: string;
  version: number;
}

/** The system prompt in force, recorded as a version so every answer can say which one it used. */
export async function currentPrompt(deps: Pick<PipelineDeps, 'store' | 'prompts'>): Promise<CurrentPrompt> {
  const saved = await deps.store.savePromptVersion(await deps.prompts.read());
  return { text: saved.text, version: saved.version };
}

/**
 * Answers one claimed review, if the policy in force and the branches watched this cycle (`watched`) still let
 * it be answered automatically. `posted` is called once the answer is out on 2GIS, before its settlement: the
 * caller may go on to its next review while the answer is recorded and charged.
 */
export async function answerReview(
  deps: PipelineDeps,
  review: StoredReview,
  token: string,
  prompt: CurrentPrompt,
  watched: ReadonlySet<string>,
  signal?: AbortSignal,
  posted?: () => void,
): Promise<WorkOutcome> {
  const { store, settings } = deps;
  deps.failpoint('after_claim');

  // The review may have waited since its intake (for funds, say) while the operator changed the policy.
  const decision = decideAnswering(review, settings, watched);
  if (decision.state !== 'new') return await finish(deps, review, token, decision);

  // A rating without words that the owner wrote texts for is answered from them, at their price (templates.ts).
  const templates = templateSetFor(review, settings);
  const price = templates === null ? settings.price : (settings.templatePrice ?? settings.price);
  // A lane's claim holds its price already (Store.claimNext); any other claim reserves it here.
  const reserved = review.reserved > 0n || price === 0n ? 'reserved' : await store.reserve(review.id, token, price);
  if (reserved === 'lost') return { kind: 'lost' };
  if (reserved === 'insufficient') {
    await release(deps, review, token, { state: 'new', reason: null });
    return { kind: 'insufficient' };
  }

  let draftText: string;
  let saving: Promise<boolean>;
  try {
    if (templates !== null) {
      const filled = await draftFromTemplate(deps, review, templates);
      if (filled.kind === 'refused') {
        return await finish(deps, review, token, { state: 'needs_approval', reason: filled.reason, code: 'gate_refused', details: { rules: filled.rules, template: filled.note } });
      }
      draftText = filled.text;
      saving = store.saveDraft(review.id, token, {
        text: draftText,
        model: 'template',
        promptVersion: prompt.version,
        promptTokens: null,
        completionTokens: null,
        finishReason: 'stop',
        template: filled.note,
      });
      return await postOrSchedule(deps, review, token, draftText, saving, posted);
    }
    const drafted = await draftThroughGate(deps, review, prompt, signal);
    deps.failpoint('after_generate');
    if (drafted.kind === 'refused') {
      return await finish(deps, review, token, { state: 'needs_approval', reason: drafted.reason, code: 'gate_refused', details: { rules: drafted.rules } });
    }
    if (drafted.kind === 'unmoderated') {
      return await finish(deps, review, token, {
        state: 'needs_approval',
        reason: `the moderation endpoint gave no verdict and policy.moderation is required: ${drafted.error.message}`,
        code: 'moderation_unavailable',
        details: { rules: ['moderation'] },
      });
    }
    // A review that looks as if no customer wrote it waits for a person whatever its rating: they may complain to
    // 2GIS instead of answering (looks-like.ts). Nothing is posted or charged; the card and `reply` draft it again.
    const looks = looksLikeNotACustomer(review.text);
    if (looks !== null) {
      return await finish(deps, review, token, { state: 'needs_approval', reason: looksLikeReason(looks), code: LOOKS_LIKE_CODE, details: { looksLike: looks.kind } });
    }
    const { completion } = drafted;
    draftText = drafted.text;
    saving = store.saveDraft(review.id, token, { text: draftText, ...draftFromCompletion(completion, prompt.version) });
  } catch (error) {
    if (signal?.aborted) return releaseForLater(deps, review, token);
    if (canPass(error)) {
      const retry = retryAfterFailure(review.failedTries ?? 0, deps.settings.modelSettings ?? '', deps.clock.now());
      return await finish(deps, review, token, { state: 'failed', reason: `the model failed: ${error.message}`, code: 'model_failed', retry });
    }
    return releaseForLater(deps, review, token, error);
  }

  const outcome = await postOrSchedule(deps, review, token, draftText, saving, posted);
  // Words that were not posted (nor perhaps posted: unsure, or taken over, or waiting) may be another review's answer.
  if (outcome.kind !== 'posted' && outcome.kind !== 'unsure' && outcome.kind !== 'lost' && outcome.kind !== 'scheduled') {
    forgetWording(deps.store, review.branchId, draftText, review.id);
  }
  return outcome;
}

/**
 * Posts a saved automatic draft now, or, under policy.postDelayMinutes, leaves it drafted until a random time in
 * that window (its reserve held): the re-read on 2GIS happens when it is posted, by whichever cycle comes then.
 */
async function postOrSchedule(
  deps: PipelineDeps,
  review: StoredReview,
  token: string,
  text: string,
  saving: Promise<boolean>,
  posted?: () => void,
): Promise<WorkOutcome> {
  const window = answeringPolicy(deps.settings).postDelayMinutes;
  if (window === null) return rereadAndPost(deps, review, token, text, { saving, posted });
  let saved: boolean;
  try {
    saved = await saving;
  } catch (error) {
    return releaseForLater(deps, review, token, error);
  }
  if (!saved) return { kind: 'lost' };
  const postAfter = new Date(deps.clock.now().getTime() + postDelayMs(window));
  if (!(await deps.store.scheduleDraft(review.id, token, postAfter))) return { kind: 'lost' };
  deps.logger.info('the answer waits before it is posted (policy.postDelayMinutes)', { reviewId: review.id, postAfter: postAfter.toISOString() });
  return { kind: 'scheduled', postAfter };
}

/** A random wait within `[min, max]` minutes. */
export function postDelayMs(window: readonly [number, number], random: () => number = Math.random): number {
  const [min, max] = window;
  return Math.round((min + random() * (max - min)) * 60_000);
}

export interface PostOptions {
  /** Where the review goes when a service fails before anything was posted; default back to the queue. */
  onServiceError?: ReleaseOutcome;
  /** The draft's save, under way: the read-back goes out beside it, and nothing is posted unless it was saved. */
  saving?: Promise<boolean>;
  /** Called once the answer is out on 2GIS, before its settlement. */
  posted?: () => void;
}

/** Reads the review back right before posting (invariant 2), then posts and settles. */
export async function rereadAndPost(
  deps: PipelineDeps,
  review: StoredReview,
  token: string,
  text: string,
  options: PostOptions = {},
): Promise<WorkOutcome> {
  const [read, saved] = await Promise.allSettled([deps.twogis.readReview(review.id), options.saving ?? true]);
  if (saved.status === 'rejected') return releaseForLater(deps, review, token, saved.reason);
  if (!saved.value) return { kind: 'lost' };
  if (read.status === 'rejected') return releaseForLater(deps, review, token, read.reason, options.onServiceError);
  const status = read.value;
  if (status === null) return await finish(deps, review, token, { state: 'skipped', reason: 'deleted on 2GIS', code: 'deleted' });
  if (status.hasOwnerAnswer) {
    const outcome = await finish(deps, review, token, { state: 'skipped', reason: ANSWERED_ELSEWHERE.beforePosting, code: 'answered_elsewhere' });
    if (outcome.kind === 'skipped') await keepAnswerFound(deps, review, status.ownerAnswer);
    return outcome;
  }
  return postAndSettle(deps, review, token, text, options);
}

/** The fence, the POST and the settlement; shared with the reconciler's re-post. */
export async function postAndSettle(
  deps: PipelineDeps,
  review: StoredReview,
  token: string,
  text: string,
  options: Omit<PostOptions, 'saving'> = {},
): Promise<WorkOutcome> {
  const onServiceError = options.onServiceError ?? { state: 'new', reason: null };
  if (!(await deps.store.beginPosting(review.id, token, deps.clock.now(), readBackTime(deps)))) return { kind: 'lost' };
  deps.failpoint('before_post');
  let answerId: string;
  try {
    ({ answerId } = await deps.twogis.postAnswer(review.id, text));
  } catch (error) {
    if (isServiceError(error, '2gis') && error.kind === 'rejected' && error.status !== 409) {
      return await finish(deps, review, token, { state: 'failed', reason: `2GIS refused the answer: ${error.message}`, code: 'post_refused' });
    }
    if (isServiceError(error, '2gis') && (error.kind === 'outcome_unknown' || error.kind === 'rejected')) {
      // Unseen outcome, or 409 (an answer is already there, perhaps ours): never post blindly again.
      // Leave it in `posting` for the reconciler, which reads the review back first (invariant 3).
      await deps.store.relinquish(review.id, token, readBackTime(deps));
      deps.logger.warn('answer outcome unknown; it will be read back', { reviewId: review.id, error: error.message });
      return { kind: 'unsure', error };
    }
    // Refused before anything happened (auth, blocked, connection refused): safe to try again later.
    return releaseForLater(deps, review, token, error, onServiceError);
  }
  deps.failpoint('after_post');
  options.posted?.();
  return settle(deps, review, { answerId, text });
}

export async function settle(
  deps: PipelineDeps,
  review: StoredReview,
  answer: { answerId: string | null; text: string },
): Promise<WorkOutcome> {
  const { settings, clock } = deps;
  let events: DomainEvent[] = [];
  const settled = await deps.store.settlePosted(review.id, answer, (balanceAfter, charged, balanceBefore) => {
    events = [
      makeEvent(clock, 'reply.posted', review, {
        text: answer.text,
        charged: formatMoney(charged),
        balance: formatMoney(balanceAfter),
      }),
    ];
    // Once per downward crossing (contract.md): the charge that takes the balance below the threshold, not each after.
    if (balanceAfter < settings.lowBalance && balanceBefore >= settings.lowBalance) {
      events.push(makeEvent(clock, 'balance.low', null, { balance: formatMoney(balanceAfter), threshold: formatMoney(settings.lowBalance) }));
    }
    return events;
  }, answerRecheckTime(clock.now(), settings.recheckAfterMs));
  if (settled === null) return { kind: 'lost' };
  deps.failpoint('after_record');
  deps.onSettled?.({ reviewId: review.id, charged: settled.charged, balance: settled.balance });
  published(deps, events);
  return { kind: 'posted', charged: settled.charged, balance: settled.balance };
}

/**
 * When a POST leaving now, or one whose outcome went unseen, may be read back: a request that timed out here, or
 * whose sender died, can still land at 2GIS a little later, and a read-back before then would wrongly conclude
 * that nothing was posted.
 */
export function readBackTime(deps: PipelineDeps): Date {
  return new Date(deps.clock.now().getTime() + deps.settings.readBackDelayMs);
}

/** Ends a review's work with a recorded reason and the matching event. */
export async function finish(
  deps: PipelineDeps,
  review: StoredReview,
  token: string,
  outcome: { state: 'skipped' | 'needs_approval' | 'failed'; reason: string; code?: ReasonCode; details?: Record<string, unknown>; retry?: FailureRetry },
): Promise<WorkOutcome> {
  const details = outcome.details ?? {};
  const event =
    outcome.state === 'skipped'
      ? makeEvent(deps.clock, 'review.skipped', review, { reason: outcome.reason, ...(outcome.code ? { code: outcome.code } : {}), ...details })
      : outcome.state === 'needs_approval'
        ? makeEvent(deps.clock, 'review.needs_approval', review, { reason: outcome.reason, ...(outcome.code ? { code: outcome.code } : {}), ...details })
        : makeEvent(deps.clock, 'reply.failed', review, {
            error: outcome.reason,
            ...(outcome.code ? { code: outcome.code } : {}),
            ...details,
            ...(outcome.retry ? { retryAt: outcome.retry.at?.toISOString() ?? null } : {}),
          });
  // A failure is tried again by itself only when the caller says so (retries.ts); any other waits for a person.
  const code = outcome.code ?? null;
  const released: ReleaseOutcome =
    outcome.state === 'failed'
      ? { state: 'failed', reason: outcome.reason, code, retry: outcome.retry ?? null }
      : { state: outcome.state, reason: outcome.reason, code };
  if (!(await deps.store.release(review.id, token, released, [event]))) return { kind: 'lost' };
  published(deps, [event]);
  return { kind: outcome.state, reason: outcome.reason, code };
}

/** Puts a review back where it waits (the queue, or a person's queue) untouched; rethrows what is not a service's. */
export async function releaseForLater(
  deps: PipelineDeps,
  review: StoredReview,
  token: string,
  error?: unknown,
  back: ReleaseOutcome = { state: 'new', reason: null },
): Promise<WorkOutcome> {
  const serviceError = error instanceof ServiceError ? error : undefined;
  // A review complained about keeps its reason (COMPLAINED): it says where the review rests, not what went wrong.
  const kept = isComplained(back) || serviceError === undefined;
  const reason = kept ? back.reason : serviceError.message;
  const code = kept ? (back.code ?? null) : 'service_failed';
  await release(deps, review, token, { ...back, reason, code } as ReleaseOutcome);
  if (error !== undefined && serviceError === undefined) throw error;
  return serviceError ? { kind: 'released', error: serviceError } : { kind: 'released' };
}

async function release(deps: PipelineDeps, review: StoredReview, token: string, outcome: ReleaseOutcome): Promise<void> {
  await deps.store.release(review.id, token, outcome, []);
}
