// `gisbot reply [reviewId]`: without an id, the approval queue; with one, a draft to look at, then send / edit /
// regenerate / skip on a terminal. Drafting never writes anything; sending goes through sendReply: the gate,
// the balance reserve, the re-read on 2GIS and one settlement, exactly like the automatic pipeline.
import type { Context } from '../context.ts';
import { draftReply, messagesOf, sendReply, type ManualDraft, type SendOutcome } from '../core/approval/manual.ts';
import { gateProblems, type FoundProblem } from '../core/drafting/gate.ts';
import { looksLikeNotACustomer } from '../core/drafting/looks-like.ts';
import { noteRegeneration } from '../core/voice/voice.ts';
import { formatMoney } from '../core/money/money.ts';
import { isComplained, type StoredReview } from '../core/ports.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { parseLimit } from '../ui/format.ts';
import { errorLines } from '../ui/error-text.ts';
import { messages, messagesFor, type Catalogue } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { saidProblems } from '../ui/gate-problems.ts';
import { printDraft, printQueue, printReview, queueJson } from '../ui/reply-card.ts';
import { shownLine, shownText } from '../ui/shown-text.ts';
import { reasonText } from '../ui/reason.ts';

export interface ReplyOptions {
  reviewId?: string;
  send: boolean;
  dryRun: boolean;
  limit?: string;
}

/** What became of the answer: `posted` is the only one that reached 2GIS. */
export type ReplyAction = 'posted' | 'dry-run' | 'skipped' | 'refused' | 'insufficient' | 'not-posted';

export type ReplyResult =
  | { kind: 'queue'; reviews: StoredReview[]; exitCode: ExitCode }
  | {
      kind: 'answer';
      review: StoredReview;
      action: ReplyAction;
      text: string;
      /** The gate's verdict in English (--json). */
      problems: string[];
      /** The same rule by rule: --json adds the rules, the terminal says them in its language. */
      findings: FoundProblem[];
      /** Why it was not posted, in English whatever the terminal's language (--json; programs match it). */
      reason: string | null;
      /** The same in the terminal's language, for the person. */
      shown?: string | null;
      charged: string | null;
      balance: string | null;
      exitCode: ExitCode;
    };

const EDITABLE = new Set(['new', 'needs_approval', 'failed']);
/** A review that may be answered from here: waiting, or complained about to 2GIS (the person may answer it still). */
const answerable = (review: StoredReview) => EDITABLE.has(review.state) || isComplained(review);
/** How long a send waits for the WebSocket to take its event before leaving it in the outbox for the next run. */
const DELIVERY_GRACE_MS = 5_000;

export async function reply(ctx: Context, options: ReplyOptions): Promise<ReplyResult> {
  const id = options.reviewId;
  if (id === undefined) {
    const limit = options.limit === undefined ? 50 : parseLimit(options.limit);
    await ctx.store.migrate();
    return { kind: 'queue', reviews: await waitingForPerson(ctx, limit), exitCode: ExitCode.ok };
  }
  if (options.send && options.dryRun) throw new UsageError(messages.reply.sendOrDryRun);
  const asks = !options.send && !options.dryRun;
  if (asks && ctx.output.json) throw new UsageError(messages.reply.jsonNeedsFlag, messages.reply.flagHint(id));
  if (asks && !ctx.output.interactive) throw new UsageError(messages.reply.needsTerminal, messages.reply.flagHint(id));

  await ctx.store.migrate();
  const review = await ctx.store.getReview(id);
  if (!review) throw new UsageError(messages.reply.unknownReview(id), messages.reply.unknownReviewHint);
  if (!options.dryRun && !answerable(review)) throw new UsageError(messages.reply.notAnswerable(id, review.state, review.reason === null ? null : reasonText(review)));
  const show = !ctx.output.json;
  if (show) printReview(ctx.output, review);

  // The prompt in force, read without recording it: a dry run writes nothing. Sending records it as a version.
  const promptText = await ctx.prompts.read();
  const latest = await ctx.store.latestPrompt();
  const prompt = { text: promptText, version: latest?.text === promptText ? latest.version : 0 };
  const draft = async (instruction?: string): Promise<ManualDraft> => {
    const spinner = await ctx.output.spinner(instruction ? messages.reply.redrafting : messages.reply.drafting);
    try {
      return await draftReply(ctx, review, prompt, instruction);
    } finally {
      spinner.stop();
    }
  };

  let current = await draft();
  let text = current.text;
  let findings: FoundProblem[] = current.findings;
  let edited = false;
  const result = (action: ReplyAction, exitCode: ExitCode, extra: Partial<ReplyResult & { kind: 'answer' }> = {}): ReplyResult => ({
    kind: 'answer', review, action, text, problems: messagesOf(findings), findings, reason: null, charged: null, balance: null, exitCode, ...extra,
  });

  for (;;) {
    if (show) printDraft(ctx.output, text, findings, edited, edited ? null : current.template);
    if (options.dryRun) return result('dry-run', ExitCode.ok);
    const choice = options.send ? 'send' : await ctx.prompter.select(messages.reply.choose, choices(findings), messages.reply.needsTerminal);
    if (choice === 'skip') return result('skipped', ExitCode.ok);
    if (choice === 'edit') {
      text = (await ctx.prompter.editor(messages.reply.editing, text, messages.reply.needsTerminal, '.md')).trim();
      findings = gateProblems({ text, finishReason: 'stop' }, ctx.settings);
      edited = true;
      continue;
    }
    if (choice === 'regenerate') {
      const instruction = await ctx.prompter.input(messages.reply.instruction, {}, messages.reply.needsTerminal);
      current = await draft(instruction);
      await noteRegeneration(ctx, review);
      ({ text, findings } = current);
      edited = false;
      continue;
    }
    if (findings.length > 0) return result('refused', ExitCode.failed);
    const version = (await ctx.store.savePromptVersion(prompt.text)).version;
    const spinner = await ctx.output.spinner(messages.reply.sending);
    let outcome: SendOutcome;
    try {
      outcome = await sendReply(ctx, review.id, text, {
        model: current.completion.model,
        promptVersion: version,
        completion: current.completion,
        shown: current.text,
        template: edited ? null : current.template,
      });
      await ctx.notifier.drain(DELIVERY_GRACE_MS);
    } finally {
      spinner.stop();
    }
    if (outcome.kind === 'refused' && !options.send) {
      findings = outcome.findings;
      continue;
    }
    return fromOutcome(outcome, result);
  }
}

/**
 * The queue: the reviews waiting for a person, and those that failed (a person may answer them; the model's failures
 * are also tried again by themselves, as each one's retry time says), oldest first.
 */
async function waitingForPerson(ctx: Context, limit: number): Promise<StoredReview[]> {
  const [approval, failed] = await Promise.all([ctx.store.listReviewsInState('needs_approval', limit), ctx.store.listReviewsInState('failed', limit)]);
  return [...approval, ...failed]
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit);
}

type Build = (action: ReplyAction, exitCode: ExitCode, extra?: Partial<ReplyResult & { kind: 'answer' }>) => ReplyResult;

function fromOutcome(outcome: SendOutcome, result: Build): ReplyResult {
  switch (outcome.kind) {
    case 'posted':
      return result('posted', ExitCode.ok, { charged: formatMoney(outcome.charged), balance: formatMoney(outcome.balance) });
    case 'refused':
      return result('refused', ExitCode.failed, { problems: outcome.problems, findings: outcome.findings });
    case 'insufficient':
      return result('insufficient', ExitCode.insufficientBalance, replyOutcome(outcome));
    default:
      return result('not-posted', ExitCode.failed, replyOutcome(outcome));
  }
}

/**
 * Why an answer was not posted: `reason` in English, the same in every language (--json), and `shown`, the same
 * in the reader's words (`catalogue`: the terminal's); a service's own detail stays as it said it.
 */
export function replyOutcome(
  outcome: Exclude<SendOutcome, { kind: 'posted' | 'refused' }>,
  catalogue: Catalogue = messages,
): { reason: string; shown: string } {
  const english = messagesFor('en');
  const both = (say: (words: Catalogue) => string) => ({ reason: say(english), shown: say(catalogue) });
  switch (outcome.kind) {
    case 'insufficient':
      return both((words) => words.cycle.insufficient);
    case 'skipped':
    case 'needs_approval':
    case 'failed':
      return both((words) => words.console.reason(outcome.code ?? undefined, outcome.reason));
    case 'lost':
      return both((words) => words.reply.lost);
    case 'released':
      if (outcome.error) return { reason: outcome.error.message, shown: errorLines(outcome.error, catalogue).join('; ') };
      return both((words) => words.reply.released);
    case 'scheduled': // a person's answer is never delayed (worker.ts); listed for the switch's sake
      return both((words) => words.reply.released);
    case 'unsure':
      return both((words) => words.reply.unsure(outcome.error.message));
  }
}

function choices(problems: readonly FoundProblem[]) {
  return [
    { value: 'send', name: messages.reply.choices.send, disabled: problems.length > 0 ? messages.reply.choices.fixFirst : false },
    { value: 'edit', name: messages.reply.choices.edit },
    { value: 'regenerate', name: messages.reply.choices.regenerate },
    { value: 'skip', name: messages.reply.choices.skip },
  ] as const;
}

export function render(result: ReplyResult, output: Output): void {
  if (result.kind === 'queue') {
    if (output.json) output.data(JSON.stringify(result.reviews.map(queueJson)));
    else if (result.reviews.length === 0) output.say(messages.reply.queueEmpty);
    else {
      printQueue(output, result.reviews);
      output.say(output.colors.dim(messages.reply.queueHint));
    }
    return;
  }
  const { review, action, text, problems, findings, reason, charged, balance } = result;
  if (output.json) {
    // `problemRules`: each of `problems`' rule (core/drafting/gate.ts, GateRule), in the same order.
    const problemRules = findings.map((problem) => problem.rule);
    output.data(JSON.stringify({ reviewId: review.id, action, text, problems, problemRules, reason, charged, balance, looksLike: looksLikeNotACustomer(review.text) }));
  }
  const c = output.colors;
  const id = shownLine(review.id);
  if (action === 'posted') output.say(c.green(`✓ ${messages.reply.posted(id, charged!, balance!)}`));
  else if (action === 'dry-run') output.say(c.dim(messages.reply.dryRun));
  else if (action === 'skipped') output.say(c.dim(messages.reply.skipped(id)));
  else if (action === 'refused') output.error(c.red(`✗ ${shownText(messages.reply.refused(saidProblems(problems, findings, messages)))}`));
  else output.error(c.red(`✗ ${shownText(messages.reply.notPosted(result.shown ?? reason ?? ''))}`));
  if (action === 'insufficient') output.error(c.dim(messages.cycle.insufficientHint));
}
