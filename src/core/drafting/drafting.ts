// A draft that may be posted: asks the model, puts the answer through the reply gate, the repeat check and (by
// policy) the provider's moderation; a refused draft is regenerated with the reasons as an instruction, a
// bounded number of times (invariant 14). Touches no state and no money: the caller decides what follows.
import { isServiceError, type ServiceError } from '../../errors.ts';
import { comparableText, gateProblems, normaliseDraft, type GateContext, type GateProblem, type GateRule } from './gate.ts';
import type { PipelineDeps } from '../pipeline.ts';
import { noteTopics } from '../insight/insight.ts';
import { answeringPolicy, hasText, planAnswer, planFollowUp, type AnswerPlan } from '../answering/policy.ts';
import type { ChatMessage, Completion, DraftRecord, StoredReview } from '../ports.ts';
import { buildMessages, type FollowUpForPrompt } from './prompt.ts';
import { chosenTemplate, type TemplateSet } from './templates.ts';
import { topicsOf } from '../insight/topics.ts';
import { chooseExamples } from '../voice/voice.ts';

export interface PromptInForce {
  text: string;
  version: number;
}

export type DraftResult =
  | { kind: 'ok'; text: string; completion: Completion; attempts: number }
  /** Every draft was refused: the reasons of each, in order. */
  | { kind: 'refused'; reason: string; rules: GateRule[]; attempts: number }
  /** policy.moderation is `required` and the endpoint gave no verdict. */
  | { kind: 'unmoderated'; error: ServiceError; attempts: number };

/** What else a draft is about: a person's steer, or a follow-up to the reviewer's new comment. */
export interface DraftExtras {
  /** Appended after the review (and after the gate's corrections). */
  messages?: readonly ChatMessage[];
  /** The text the answer's language is judged against; default the review's. */
  languageOf?: string;
  /** Draft a follow-up comment to `comment`, with the exchange so far as context. */
  followUp?: FollowUpForPrompt;
  /** Varies the sampling seed (a follow-up's comment id); default the review's id. */
  seedKey?: string;
}

/** What is kept of the model's call beside a draft's text (Store.saveDraft): the one mapping for every path. */
export function draftFromCompletion(completion: Completion, promptVersion: number): Omit<DraftRecord, 'text'> {
  return {
    model: completion.model,
    promptVersion,
    promptTokens: completion.promptTokens,
    completionTokens: completion.completionTokens,
    finishReason: completion.finishReason,
    cost: completion.cost ?? null,
  };
}

export async function draftThroughGate(
  deps: PipelineDeps,
  review: StoredReview,
  prompt: PromptInForce,
  signal?: AbortSignal,
  extras: DraftExtras = {},
): Promise<DraftResult> {
  const policy = answeringPolicy(deps.settings);
  const reviewPlan = planAnswer(review, deps.settings);
  const plan = extras.followUp ? planFollowUp(reviewPlan, extras.followUp.comment) : reviewPlan;
  const context = gateContext(review, plan, prompt, extras);
  const corrections: string[] = [];
  const refusals: string[] = [];
  const rules = new Set<GateRule>();
  // The branch's last answers are read while the model writes (one round trip off the review's path); unused
  // if the gate refuses the draft for another reason first.
  const recentAnswers = policy.recentAnswers > 0 ? deps.store.recentAnswers(review.branchId, policy.recentAnswers) : null;
  recentAnswers?.catch(() => {}); // awaited below when needed; a failure surfaces there, not as an unhandled rejection
  let recent: Set<string> | null = null;
  const attempts = 1 + Math.max(0, policy.maxRegenerations);
  // The review's topics come with its first draft that names any (a follow-up's comment has none of its own).
  let topicsWanted = !extras.followUp && hasText(review.text);
  // The owner's answers to the reviews most like this one, chosen once for every attempt.
  const examples = extras.followUp ? [] : await chooseExamples(deps, review, signal);

  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const messages = [...buildMessages(prompt.text, review, plan, corrections, extras.followUp, examples), ...(extras.messages ?? [])];
    const completion = await deps.model.complete(messages, signal, {
      seed: seedFor(extras.seedKey ?? review.id, attempt),
      ...(topicsWanted ? { topics: true } : {}),
    });
    const drafted = topicsOf(completion);
    if (topicsWanted && drafted.labels.length > 0) {
      topicsWanted = false;
      await noteTopics(deps, review, drafted.labels);
    }
    const text = normaliseDraft(drafted.text);
    const problems: GateProblem[] = gateProblems({ text, finishReason: completion.finishReason }, deps.settings, context);

    if (problems.length === 0 && recentAnswers !== null) {
      recent ??= new Set((await recentAnswers).map(comparableText));
      if (recent.has(comparableText(text))) {
        problems.push({ rule: 'repeat', message: 'it repeats word for word an answer we already gave: word it differently' });
      }
    }

    if (problems.length === 0 && policy.moderation !== 'off') {
      try {
        const verdict = await deps.model.moderate(text, signal);
        if (verdict.flagged) {
          const categories = verdict.categories.length > 0 ? verdict.categories.join(', ') : 'no category given';
          problems.push({ rule: 'moderation', message: `the moderation endpoint flagged it (${categories})`, params: { categories } });
        }
      } catch (error) {
        if (signal?.aborted || !isServiceError(error, 'model')) throw error;
        if (policy.moderation === 'required') return { kind: 'unmoderated', error, attempts: attempt };
        deps.logger.warn('moderation gave no verdict; policy.moderation is optional, so the draft goes on', {
          reviewId: review.id,
          error: error.message,
        });
      }
    }

    if (problems.length === 0 && policy.recentAnswers > 0 && !claimWording(deps.store, review.branchId, text, review.id)) {
      // Another review of this branch is being answered with these very words right now, in this process.
      problems.push({ rule: 'repeat', message: 'it repeats word for word an answer we already gave: word it differently' });
    }

    if (problems.length === 0) return { kind: 'ok', text, completion, attempts: attempt };
    for (const problem of problems) {
      rules.add(problem.rule);
      if (!corrections.includes(problem.message)) corrections.push(problem.message);
    }
    refusals.push(`draft ${attempt}: ${problems.map((problem) => problem.message).join(', ')}`);
    deps.logger.info('the reply gate refused a draft', { reviewId: review.id, attempt, rules: problems.map((p) => p.rule) });
  }
  return {
    kind: 'refused',
    reason: `the reply gate refused ${attempts} draft${attempts === 1 ? '' : 's'}: ${refusals.join('; ')}`,
    rules: [...rules],
    attempts,
  };
}

export type TemplateDraft =
  | { kind: 'ok'; text: string; note: string }
  | { kind: 'refused'; reason: string; rules: GateRule[]; note: string };

/**
 * The next template of the rotation for a rating without words, `{name}` filled in, through the reply gate: no
 * model call. The repeat rule is not asked: the rotation is what keeps the answers apart. A refused template is
 * not swapped for another: the owner's words wait for a person, who sees why.
 */
export async function draftFromTemplate(deps: PipelineDeps, review: StoredReview, set: TemplateSet): Promise<TemplateDraft> {
  const position = await deps.store.takeTemplate(set.key, set.texts.length);
  const chosen = chosenTemplate(set, position, review.authorName);
  const text = normaliseDraft(chosen.text);
  const context = gateContext(review, planAnswer(review, deps.settings), null);
  const problems = gateProblems({ text, finishReason: 'stop' }, deps.settings, context);
  if (problems.length === 0) return { kind: 'ok', text, note: chosen.note };
  return {
    kind: 'refused',
    reason: `the reply gate refused template ${chosen.note}: ${problems.map((problem) => problem.message).join(', ')}`,
    rules: [...new Set(problems.map((problem) => problem.rule))],
    note: chosen.note,
  };
}

export function gateContext(
  review: Pick<StoredReview, 'text'>,
  plan: AnswerPlan,
  prompt: PromptInForce | null,
  extras: DraftExtras = {},
): GateContext {
  return {
    reviewText: extras.languageOf ?? review.text,
    defaultLanguage: plan.defaultLanguage,
    ...(plan.maxLength === undefined ? {} : { maxLength: plan.maxLength }),
    ...(prompt ? { systemPrompt: prompt.text } : {}),
  };
}

/**
 * Wordings handed out by this process, per store, with the review each went to: the store's recent answers show an
 * answer only once it is sent, so two reviews drafted at the same moment would otherwise both pass the repeat check
 * with the same words. A review drafted again (its answer was not posted: 2GIS said 429) may have its own words back.
 */
const handedOut = new WeakMap<object, Map<string, string>>();
const HANDED_OUT_KEPT = 5000;

function wordingKey(branchId: string, text: string): string {
  return `${branchId}\u0000${comparableText(text)}`;
}

function claimWording(store: object, branchId: string, text: string, reviewId: string): boolean {
  let claimed = handedOut.get(store);
  if (!claimed) handedOut.set(store, (claimed = new Map()));
  const key = wordingKey(branchId, text);
  const holder = claimed.get(key);
  if (holder !== undefined) return holder === reviewId;
  claimed.set(key, reviewId);
  if (claimed.size > HANDED_OUT_KEPT) claimed.delete(claimed.keys().next().value!);
  return true;
}

/** Gives back the words handed to a review whose answer was not posted: they are nobody's answer. */
export function forgetWording(store: object, branchId: string, text: string, reviewId: string): void {
  const claimed = handedOut.get(store);
  const key = wordingKey(branchId, text);
  if (claimed?.get(key) === reviewId) claimed.delete(key);
}

/** A per-review, per-attempt sampling seed: two reviews with the same text are not drafted alike. */
export function seedFor(reviewId: string, attempt: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${reviewId}:${attempt}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & 0x7fffffff;
}
