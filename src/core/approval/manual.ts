// A person's answer (`gisbot reply <id>`): draft as often as they like without touching state or money, then
// send through the same gate, balance reserve, re-read and settlement as the automatic pipeline.
import { UsageError } from '../../errors.ts';
import { gateContext } from '../drafting/drafting.ts';
import { gateProblems, normaliseDraft, withoutSecrets, type GateProblem } from '../drafting/gate.ts';
import type { PipelineDeps } from '../pipeline.ts';
import { noteTopics } from '../insight/insight.ts';
import { hasText, planAnswer } from '../answering/policy.ts';
import { chosenTemplate, templateSetFor } from '../drafting/templates.ts';
import { isComplained, type Completion, type ReleaseOutcome, type StoredReview } from '../ports.ts';
import { buildMessages } from '../drafting/prompt.ts';
import { topicsOf } from '../insight/topics.ts';
import { chooseExamples, decisionOf, keepExample, noteDecision, weightOf } from '../voice/voice.ts';
import { rereadAndPost, type CurrentPrompt, type WorkOutcome } from '../answering/worker.ts';

export { currentPrompt } from '../answering/worker.ts';

export interface ManualDraft {
  text: string;
  /** The gate's verdict in English; empty means the draft may be sent. */
  problems: string[];
  /** The same verdict rule by rule, for the reader's language. */
  findings: GateProblem[];
  completion: Completion;
  /** The template the draft came from ("5★ 2/3"), or null when the model wrote it. */
  template: string | null;
}

export async function findReview(deps: Pick<PipelineDeps, 'store'>, reviewId: string): Promise<StoredReview> {
  const review = await deps.store.getReview(reviewId);
  if (!review) throw new UsageError(`review ${reviewId} is not known to gisbot`, undefined, { code: 'review_unknown', reviewId });
  return review;
}

/** Drafts an answer; `instruction` is the person's steer for a regeneration ("shorter", "mention the terrace"). */
export async function draftReply(
  deps: PipelineDeps,
  review: StoredReview,
  prompt: CurrentPrompt,
  instruction?: string,
  signal?: AbortSignal,
): Promise<ManualDraft> {
  const plan = planAnswer(review, deps.settings);
  // A rating without words that the owner wrote texts for: the next of them, unless the person asks for a change.
  const templates = instruction?.trim() ? null : templateSetFor(review, deps.settings);
  if (templates !== null) {
    const chosen = chosenTemplate(templates, await deps.store.takeTemplate(templates.key, templates.texts.length), review.authorName);
    const text = normaliseDraft(chosen.text);
    const completion: Completion = { text, finishReason: 'stop', model: 'template', promptTokens: null, completionTokens: null };
    const findings = gateProblems({ text, finishReason: 'stop' }, deps.settings, gateContext(review, plan, null));
    return { text, problems: messagesOf(findings), findings, completion, template: chosen.note };
  }
  const messages = buildMessages(prompt.text, review, plan, [], undefined, await chooseExamples(deps, review, signal));
  if (instruction?.trim()) {
    messages.push({ role: 'system', content: `The business owner asks for this change to the answer: ${instruction.trim()}` });
  }
  const answered = await deps.model.complete(messages, signal, hasText(review.text) ? { topics: true } : {});
  // The topics line never reaches the person's draft; the labels travel with the completion until it is sent.
  const drafted = topicsOf(answered);
  const completion: Completion = { ...answered, text: drafted.text, topics: drafted.labels };
  const text = normaliseDraft(completion.text);
  const context = gateContext(review, plan, prompt);
  const findings = gateProblems({ text, finishReason: completion.finishReason }, deps.settings, context);
  // The person is shown (and may edit) the draft with any secret the model echoed masked; the verdict stands.
  return { text: withoutSecrets(text, deps.settings.secrets ?? []), problems: messagesOf(findings), findings, completion, template: null };
}

export type SendOutcome = WorkOutcome | { kind: 'refused'; problems: string[]; findings: GateProblem[] } | { kind: 'insufficient' };

/**
 * The gate a person's answer passes before it is sent, the language rule included; the person's own limit is
 * reply.maxLength (a person may answer a rating without text at more length than the one-sentence rule allows the
 * model).
 */
export function checkPersonAnswer(deps: Pick<PipelineDeps, 'settings'>, review: StoredReview, text: string): GateProblem[] {
  const { maxLength: _ruleLimit, ...context } = gateContext(review, planAnswer(review, deps.settings), null);
  return gateProblems({ text: normaliseDraft(text), finishReason: 'stop' }, deps.settings, context);
}

/** The gate's verdict in English, as logs, --json and stored rows keep it. */
export function messagesOf(problems: readonly { message: string }[]): string[] {
  return problems.map((problem) => problem.message);
}

/** A person's answer as it came about: what they were shown before they sent it. */
export interface PersonDraft {
  model: string;
  promptVersion: number;
  completion: Completion | null;
  /**
   * The model's draft the person was shown last, which they sent as it was or changed; null when they wrote the
   * answer with no draft. Absent: not known, and the answer is not kept as an example of the owner's voice.
   */
  shown?: string | null;
  /** The owner's template the draft came from (`5★ 2/3`), when it did. */
  template?: string | null;
}

/**
 * Posts `text` as the answer to a review that waits (new, for approval, or failed), once. A posted answer is kept
 * as an example of the owner's voice, weighted by how much of the shown draft the person changed.
 */
export async function sendReply(deps: PipelineDeps, reviewId: string, text: string, draft: PersonDraft): Promise<SendOutcome> {
  const answer = normaliseDraft(text);
  const before = await findReview(deps, reviewId);
  // The same gate as the automatic pipeline.
  const findings = checkPersonAnswer(deps, before, answer);
  if (findings.length > 0) return { kind: 'refused', problems: messagesOf(findings), findings };

  const token = deps.ownership.newToken();
  // `run` acts on Telegram presses beside its cycles, whose reconciler would otherwise take this claim for a dead one.
  const letGo = deps.ownership.hold(token);
  try {
    return await claimAndSend(deps, before, token, answer, draft);
  } finally {
    letGo();
  }
}

async function claimAndSend(
  deps: PipelineDeps,
  before: StoredReview,
  token: string,
  answer: string,
  draft: PersonDraft,
): Promise<SendOutcome> {
  const reviewId = before.id;
  const now = deps.clock.now();
  const review = await deps.store.claimReview(reviewId, token, now, new Date(now.getTime() + deps.settings.leaseMs));
  if (!review) {
    // The English for the log and programs; the reader's catalogue says it by its code (ui/error-text.ts).
    throw new UsageError(`review ${reviewId} cannot be answered now: it is ${describeState(before)}`, undefined, {
      code: 'review_not_free',
      reviewId,
      state: before.state,
      reason: before.reason,
      reasonCode: before.reasonCode ?? null,
    });
  }
  const back: ReleaseOutcome =
    before.state === 'needs_approval' || before.state === 'failed' || isComplained(before)
      ? { state: before.state as 'needs_approval' | 'failed' | 'skipped', reason: before.reason ?? '', code: before.reasonCode ?? null }
      : { state: 'new', reason: null };

  // The owner's template sent as it was costs what a template's answer costs (billing.pricePerTemplateReply).
  const price = draft.template ? (deps.settings.templatePrice ?? deps.settings.price) : deps.settings.price;
  const reserved = await deps.store.reserve(reviewId, token, price);
  if (reserved !== 'reserved') {
    await deps.store.release(reviewId, token, back, []);
    return reserved === 'insufficient' ? { kind: 'insufficient' } : { kind: 'lost' };
  }
  await deps.store.saveDraft(reviewId, token, {
    text: answer,
    model: draft.model,
    promptVersion: draft.promptVersion,
    promptTokens: draft.completion?.promptTokens ?? null,
    completionTokens: draft.completion?.completionTokens ?? null,
    finishReason: draft.completion?.finishReason ?? 'stop',
    cost: draft.completion?.cost ?? null,
    sentBy: 'person',
    template: draft.template ?? null,
  });
  // Drafting wrote nothing: the topics of the draft a person sends are kept now.
  await noteTopics(deps, review, draft.completion?.topics ?? []);
  const outcome = await rereadAndPost(deps, review, token, answer, { onServiceError: back });
  if (outcome.kind === 'posted' && draft.shown !== undefined) {
    await noteDecision(deps, review, decisionOf(draft.shown, answer));
    await keepExample(deps, review, answer, weightOf(draft.shown, answer));
  }
  return outcome;
}

function describeState(review: StoredReview): string {
  switch (review.state) {
    case 'posted':
      return 'already answered by gisbot';
    case 'skipped':
      return `skipped (${review.reason ?? 'no reason recorded'})`;
    default:
      return 'being answered by a worker right now';
  }
}
