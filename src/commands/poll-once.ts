// `gisbot poll-once`: one cycle, for cron. Prints the contract's summary and picks the exit code. SIGINT or SIGTERM
// stops it as it stops `run` (adapters/process/signals.ts), with exit 130 or 143 after the summary of what was done.
import { NEVER_STOPPED, type StopRequest, type StopSignalName } from '../adapters/process/signals.ts';
import { businessOf, type Business } from '../config/businesses.ts';
import type { Config } from '../config/load.ts';
import { businessDeps, type Context } from '../context.ts';
import { cycleStatus, idleSummary, runCycle, type CycleSummary } from '../core/answering/cycle.ts';
import type { CycleStatus } from '../core/ports.ts';
import type { PanelSettings } from '../core/approval/telegram-panel.ts';
import { Turns } from '../core/answering/turns.ts';
import { formatMoney } from '../core/money/money.ts';
import type { DeliveryReport } from '../core/events/outbox.ts';
import { countingSettlements, SettledTally, type PipelineDeps } from '../core/pipeline.ts';
import { TelegramBridge, type ChatRefusal, type TelegramDeps } from '../core/approval/telegram.ts';
import { distinctProblems, ExitCode, exitCodeOfSignal, GisbotError, type CycleProblem } from '../errors.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownText } from '../ui/shown-text.ts';
import { bindEvery, bindToAccount } from './binding.ts';
import { currency } from '../ui/language.ts';

export interface PollOnceResult {
  summary: CycleSummary;
  delivery: DeliveryReport;
  exitCode: ExitCode;
  /** The signal that stopped the run, if one did. */
  stoppedBy?: StopSignalName;
  /** Each business's own outcome, when the config lists businesses (`businesses:`). */
  businesses?: BusinessOutcome[];
}

export interface BusinessOutcome {
  id: string;
  summary: CycleSummary;
  status: CycleStatus;
}

/** How long a one-off run waits for the WebSocket before leaving the rest in the outbox for next time. */
const DELIVERY_GRACE_MS = 5_000;

export async function pollOnce(ctx: Context, stop: StopRequest = NEVER_STOPPED, businesses: readonly Business[] = []): Promise<PollOnceResult> {
  if (businesses.length > 1) return pollMany(ctx, stop, businesses);
  const result = await pollOne(ctx, stop);
  // A config with `businesses:` served for one of them (--business, or the only one enabled) says whose it was.
  if (ctx.config.businessId === null || !isListed(ctx.config)) return result;
  return { ...result, businesses: [{ id: ctx.store.businessId, summary: result.summary, status: cycleStatus(result.summary) }] };
}

/** The config lists businesses (`businesses:`), rather than being one business by itself. */
function isListed(config: Context['config']): boolean {
  return config.businesses.length > 1 || config.businesses.some((business) => business.name !== null);
}

/**
 * Every business of `businesses` served in one cycle each, at once: each with its own 2GIS account, balance, prompt
 * and policy, and one worker pool taking turns between them (core/answering/turns.ts). Every business is checked against
 * the account it is bound to before anything is answered.
 */
async function pollMany(ctx: Context, stop: StopRequest, businesses: readonly Business[]): Promise<PollOnceResult> {
  const { signal } = stop;
  announceStopping(ctx.output, stop);
  await ctx.store.migrate();
  const served = await Promise.all(businesses.map((business) => businessDeps(ctx, business)));
  await bindEvery(served);
  ctx.notifier.start();
  const turns = new Turns({ concurrency: ctx.config.polling.concurrency, perBusiness: ctx.config.polling.concurrencyPerBusiness });
  // Each business's answers counted where they are settled, as a single business's are: a cycle's and a press's.
  const tallies = new Map(served.map((deps) => [deps.business.id, new SettledTally()]));
  const counted = served.map((deps) => ({ id: deps.business.id, config: deps.business.config, deps: countingSettlements({ ...deps, turns }, tallies.get(deps.business.id)!) }));
  // One bot for every business: the presses first, the cards of the reviews that came to wait after the cycles.
  const bridge = ctx.telegram ? new TelegramBridge({ ...ctx, telegram: ctx.telegram, ...bridgedMany(ctx.config, counted) }) : null;
  const telegramProblems: CycleProblem[] = [];
  const refusingChats: string[] = [];
  const spinner = await ctx.output.spinner('polling 2GIS…');
  let outcomes: BusinessOutcome[];
  try {
    if (bridge && !signal.aborted) await telegramTurn(bridge, telegramProblems, refusingChats, signal);
    outcomes = await Promise.all(
      counted.map(async ({ deps, id }) => {
        const summary = signal.aborted ? idleSummary(0n) : await runCycle(deps, signal);
        return { id, summary, status: cycleStatus(summary) };
      }),
    );
    if (bridge && !signal.aborted) await telegramTurn(bridge, telegramProblems, refusingChats, signal);
  } finally {
    await bridge?.end().catch(() => {});
    spinner.stop();
  }
  for (const outcome of outcomes) {
    const { summary } = outcome;
    const tally = tallies.get(outcome.id)!;
    summary.posted = tally.posted;
    summary.charged = tally.charged;
    summary.balance = (await ctx.store.forBusiness(outcome.id).getBalance()).balance; // after the presses acted on
    outcome.status = cycleStatus(summary);
  }
  const delivery = await ctx.notifier.drain(DELIVERY_GRACE_MS, stop.hurry);
  const summary = totalOf(outcomes.map((outcome) => outcome.summary));
  // Telegram's trouble is the deployment's, not one business's: said once, and a failure of the run as with one.
  summary.problems.push(...distinctProblems(telegramProblems));
  summary.warnings.push(...[...new Set(refusingChats)].map((text) => ({ kind: 'said' as const, text })));
  const codes = [...outcomes.map((outcome) => exitCodeOf(outcome.summary)), telegramProblems.length > 0 ? ExitCode.failed : ExitCode.ok];
  const exitCode = stop.received === null ? exitCodeOfMany(codes) : exitCodeOfSignal(stop.received);
  return { summary, delivery, exitCode, businesses: outcomes, ...(stop.received === null ? {} : { stoppedBy: stop.received }) };
}

/**
 * The bridge's chats over several businesses (issue 19): each business's own chats get its cards only; the
 * top-level telegram.chatIds, the agency's staff chats, get every business's.
 */
export function bridgedMany(config: Readonly<Config>, served: ReadonlyArray<{ deps: PipelineDeps; config: Readonly<Config> }>): Pick<TelegramDeps, 'chatIds' | 'businesses'> {
  return {
    chatIds: config.telegram.chatIds,
    businesses: served.map((one) => ({ deps: one.deps, chatIds: one.config.telegram.chatIds, panel: panelSettings(one.config) })),
  };
}

/**
 * The bridge's chats for one business's config: its own, and, when the config lists businesses, the agency's
 * staff chats, which get its cards too, naming it.
 */
export function bridgedOne(config: Readonly<Config>, deps: PipelineDeps): Pick<TelegramDeps, 'chatIds' | 'businesses'> {
  return { chatIds: businessOf(config)?.staffChatIds ?? [], businesses: [{ deps, chatIds: config.telegram.chatIds, panel: panelSettings(config) }] };
}

/**
 * The line for a process that runs the bridge for one business of several enabled ones (`--business`): the bot
 * is theirs too, and this process takes presses from their chats as from unknown chats. Null when it serves all.
 */
export function servesOneOfMany(config: Readonly<Config>): string | null {
  const business = businessOf(config);
  const others = config.businesses.filter((one) => one.enabled && one.id !== business?.id).map((one) => one.id);
  return business && others.length > 0 ? messages.telegram.onlyOne(business.id, others) : null;
}

/** Every chat that gets cards: each business's own and the staff's. */
export function chatsOf(chats: Pick<TelegramDeps, 'chatIds' | 'businesses'>): number {
  return new Set([...chats.chatIds, ...(chats.businesses ?? []).flatMap((business) => business.chatIds)]).size;
}

/** The businesses' summaries summed; problems and warnings each name their business. */
function totalOf(summaries: readonly CycleSummary[]): CycleSummary {
  const total: CycleSummary = { ...summaries[0]!, problems: [], warnings: [], followUps: { ...summaries[0]!.followUps } };
  for (const [index, summary] of summaries.entries()) {
    if (index > 0) {
      for (const key of ['fetched', 'new', 'posted', 'skipped', 'awaitingApproval', 'failed'] as const) total[key] += summary[key];
      total.charged += summary.charged;
      total.released += summary.released;
      total.balance += summary.balance;
      total.stoppedForBalance ||= summary.stoppedForBalance;
    }
    total.problems.push(...summary.problems);
    total.warnings.push(...summary.warnings);
  }
  return total;
}

/** Over several businesses: 1 if any failed or could not be reached, else 3 if any stopped for lack of balance, else 0. */
export function exitCodeOfMany(codes: readonly ExitCode[]): ExitCode {
  if (codes.includes(ExitCode.failed)) return ExitCode.failed;
  if (codes.includes(ExitCode.insufficientBalance)) return ExitCode.insufficientBalance;
  return ExitCode.ok;
}

async function pollOne(ctx: Context, stop: StopRequest): Promise<PollOnceResult> {
  const { signal } = stop;
  announceStopping(ctx.output, stop);
  await ctx.store.migrate();
  await bindToAccount(ctx.store, ctx.twogis);
  ctx.notifier.start();
  // Every answer this run posts is counted where it is settled: the cycle's, and those sent by Telegram presses.
  const settled = new SettledTally();
  const deps = countingSettlements(ctx, settled);
  // Telegram first: the presses made since the last run are acted on (cron users get the bridge too); after the
  // cycle, the cards of reviews that came to wait in it go out. A `run` elsewhere holding the turn does both.
  const bridge = ctx.telegram ? new TelegramBridge({ ...deps, telegram: ctx.telegram, ...bridgedOne(ctx.config, deps) }) : null;
  const telegramProblems: CycleProblem[] = [];
  const refusingChats: string[] = [];
  const spinner = await ctx.output.spinner('polling 2GIS…');
  let summary: CycleSummary | null = null;
  try {
    if (bridge && !signal.aborted) await telegramTurn(bridge, telegramProblems, refusingChats, signal);
    if (!signal.aborted) summary = await runCycle(deps, signal);
    if (bridge && !signal.aborted) await telegramTurn(bridge, telegramProblems, refusingChats, signal);
  } finally {
    await bridge?.end().catch(() => {});
    spinner.stop();
  }
  summary ??= idleSummary(0n);
  summary.posted = settled.posted;
  summary.charged = settled.charged;
  summary.balance = (await ctx.store.getBalance()).balance; // after the presses acted on once the cycle was over
  summary.problems.push(...distinctProblems(telegramProblems));
  // A chat that takes no messages from the bot is the owner's setting to fix, not a failure of this run: every
  // other chat got its cards and every press was acted on. It is said on each run (cron mails it), without making
  // every later run exit 1 until someone unblocks the bot; `doctor` fails on it.
  summary.warnings.push(...[...new Set(refusingChats)].map((text) => ({ kind: 'said' as const, text })));
  const partial = bridge ? servesOneOfMany(ctx.config) : null;
  if (partial) summary.warnings.push({ kind: 'said', text: partial });
  const delivery = await ctx.notifier.drain(DELIVERY_GRACE_MS, stop.hurry);
  if (stop.received === null) return { summary, delivery, exitCode: exitCodeOf(summary) };
  return { summary, delivery, exitCode: exitCodeOfSignal(stop.received), stoppedBy: stop.received };
}

/** A line as each signal arrives (or at once, for one that came before the command started). */
export function announceStopping(output: Output, stop: StopRequest): void {
  const name = () => stop.received ?? 'SIGINT';
  const stopping = () => output.warn(messages.stop.stopping(name()));
  if (stop.signal.aborted) stopping();
  else stop.signal.addEventListener('abort', stopping, { once: true });
  stop.hurry.addEventListener('abort', () => output.warn(messages.stop.hurrying), { once: true });
}

/** What the owner's panel needs of a business's config: its name, time zone, digest and reminders. */
export function panelSettings(config: Readonly<Config>): PanelSettings {
  const business = businessOf(config);
  return {
    business: { id: business?.id ?? config.businessId ?? '', name: business?.name ?? null },
    timeZone: config.timeZone,
    digest: config.telegram.digest,
    remindAfterHours: config.approval.remindAfterHours,
  };
}

/** One turn of the bridge without waiting; what went wrong, in lines for the summary (answering goes on regardless). */
async function telegramTurn(bridge: TelegramBridge, problems: CycleProblem[], refusingChats: string[], signal: AbortSignal): Promise<void> {
  try {
    const report = await bridge.turn({ waitSeconds: 0, signal });
    if (report === 'busy') return;
    problems.push(...report.problems);
    refusingChats.push(...report.refusingChats.map(chatRefusal));
  } catch (error) {
    if (!(error instanceof GisbotError)) throw error;
    problems.push({ kind: 'telegram_down', detail: error.message });
  }
}

/** A chat that takes no messages from the bot, in words: a migrated group with the id to put in its place. */
export function chatRefusal(refusal: ChatRefusal): string {
  return refusal.movedTo === null
    ? messages.telegram.chatRefuses(refusal.chatId, refusal.error)
    : messages.telegram.chatMoved(refusal.chatId, refusal.movedTo, refusal.error);
}

export function exitCodeOf(summary: CycleSummary): ExitCode {
  if (summary.stoppedForBalance) return ExitCode.insufficientBalance;
  if (summary.failed > 0 || summary.problems.length > 0) return ExitCode.failed;
  return ExitCode.ok;
}

/** The contract's JSON shape, in the contract's key order. */
export function summaryJson(summary: CycleSummary) {
  return {
    fetched: summary.fetched,
    new: summary.new,
    posted: summary.posted,
    skipped: summary.skipped,
    awaitingApproval: summary.awaitingApproval,
    failed: summary.failed,
    charged: formatMoney(summary.charged),
    balance: formatMoney(summary.balance),
    currency: currency(),
  };
}

/** poll-once --json over businesses: the totals (balance per business only, with several) and each business. */
export function manyJson(result: PollOnceResult & { businesses: BusinessOutcome[] }) {
  const { balance, ...totals } = summaryJson(result.summary);
  return {
    ...totals,
    ...(result.businesses.length === 1 ? { balance } : {}),
    businesses: result.businesses.map(({ id, summary, status }) => ({
      id,
      posted: summary.posted,
      awaitingApproval: summary.awaitingApproval,
      failed: summary.failed,
      charged: formatMoney(summary.charged),
      balance: formatMoney(summary.balance),
      status,
    })),
  };
}

export function render(result: PollOnceResult, output: Output): void {
  const { summary } = result;
  if (output.json) output.data(JSON.stringify(result.businesses ? manyJson({ ...result, businesses: result.businesses }) : summaryJson(summary)));
  else if (result.businesses && result.businesses.length > 1) {
    for (const { id, summary: own, status } of result.businesses) {
      output.say(messages.businesses.cycleLine(id, own.posted, own.awaitingApproval, own.failed, formatMoney(own.charged), formatMoney(own.balance), status));
    }
  } else {
    const c = output.colors;
    output.say(
      [
        messages.cycle.fetched(summary.fetched, summary.new),
        c.green(messages.cycle.answered(summary.posted)),
        messages.cycle.skipped(summary.skipped),
        c.yellow(messages.cycle.waiting(summary.awaitingApproval)),
        summary.failed > 0 ? c.red(messages.cycle.failed(summary.failed)) : messages.cycle.failed(0),
        messages.cycle.money(formatMoney(summary.charged), formatMoney(summary.balance)),
      ].join(' · '),
    );
  }
  // Warnings and problems may quote what a service answered.
  for (const warning of summary.warnings) output.warn(output.colors.yellow(`! ${shownText(messages.cycle.warning(warning))}`));
  for (const problem of summary.problems) output.error(output.colors.red(`✗ ${shownText(messages.cycle.problem(problem))}`));
  if (summary.stoppedForBalance) output.error(`${messages.cycle.insufficient} (${messages.cycle.insufficientHint})`);
  renderDelivery(result.delivery, output);
  if (result.stoppedBy) output.warn(messages.stop.stopped(result.stoppedBy, summary.posted, summary.released));
}

/** Undelivered notifications are no failure of the cycle (they are kept and sent later), but a person should know. */
export function renderDelivery(delivery: DeliveryReport, output: Output): void {
  if (delivery.refusal) output.error(output.colors.red(`✗ ${messages.notify.refused(shownText(delivery.refusal))}`));
  if (delivery.undelivered > 0) output.warn(output.colors.yellow(`! ${messages.notify.undelivered(delivery.undelivered)}`));
}
