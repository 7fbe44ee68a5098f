// `gisbot poll-once`: one cycle, for cron. Prints the contract's summary and picks the exit code. SIGINT or SIGTERM
// stops it as it stops `run` (adapters/process/signals.ts), with exit 130 or 143 after the summary of what was done.
import { NEVER_STOPPED, type StopRequest, type StopSignalName } from '../adapters/process/signals.ts';
import { businessOf, cardChatIds } from '../config/businesses.ts';
import type { Config } from '../config/load.ts';
import type { PanelSettings } from '../core/telegram-panel.ts';
import type { Context } from '../context.ts';
import { idleSummary, runCycle, type CycleSummary } from '../core/cycle.ts';
import { formatMoney } from '../core/money.ts';
import type { DeliveryReport } from '../core/outbox.ts';
import { countingSettlements, SettledTally } from '../core/pipeline.ts';
import { TelegramBridge, type ChatRefusal } from '../core/telegram.ts';
import { ExitCode, exitCodeOfSignal, GisbotError } from '../errors.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownText } from '../ui/shown-text.ts';

export interface PollOnceResult {
  summary: CycleSummary;
  delivery: DeliveryReport;
  exitCode: ExitCode;
  /** The signal that stopped the run, if one did. */
  stoppedBy?: StopSignalName;
}

/** How long a one-off run waits for the WebSocket before leaving the rest in the outbox for next time. */
const DELIVERY_GRACE_MS = 5_000;

export async function pollOnce(ctx: Context, stop: StopRequest = NEVER_STOPPED): Promise<PollOnceResult> {
  const { signal } = stop;
  announceStopping(ctx.output, stop);
  await ctx.store.migrate();
  ctx.notifier.start();
  // Every answer this run posts is counted where it is settled: the cycle's, and those sent by Telegram presses.
  const settled = new SettledTally();
  const deps = countingSettlements(ctx, settled);
  // Telegram first: the presses made since the last run are acted on (cron users get the bridge too); after the
  // cycle, the cards of reviews that came to wait in it go out. A `run` elsewhere holding the turn does both.
  const bridge = ctx.telegram ? new TelegramBridge({ ...deps, telegram: ctx.telegram, chatIds: cardChatIds(ctx.config), panel: panelSettings(ctx.config) }) : null;
  const telegramProblems: string[] = [];
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
  summary.problems.push(...new Set(telegramProblems));
  // A chat that takes no messages from the bot is the owner's setting to fix, not a failure of this run: every
  // other chat got its cards and every press was acted on. It is said on each run (cron mails it), without making
  // every later run exit 1 until someone unblocks the bot; `doctor` fails on it.
  summary.warnings.push(...new Set(refusingChats));
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
async function telegramTurn(bridge: TelegramBridge, problems: string[], refusingChats: string[], signal: AbortSignal): Promise<void> {
  try {
    const report = await bridge.turn({ waitSeconds: 0, signal });
    if (report === 'busy') return;
    problems.push(...report.problems);
    refusingChats.push(...report.refusingChats.map(chatRefusal));
  } catch (error) {
    if (!(error instanceof GisbotError)) throw error;
    problems.push(messages.telegram.failed(error.message));
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
  };
}

export function render(result: PollOnceResult, output: Output): void {
  const { summary } = result;
  if (output.json) output.data(JSON.stringify(summaryJson(summary)));
  else {
    const c = output.colors;
    output.say(
      [
        `${summary.fetched} fetched, ${summary.new} new`,
        c.green(`${summary.posted} answered`),
        `${summary.skipped} skipped`,
        c.yellow(`${summary.awaitingApproval} waiting for you`),
        summary.failed > 0 ? c.red(`${summary.failed} failed`) : '0 failed',
        `charged ${formatMoney(summary.charged)}, balance ${formatMoney(summary.balance)}`,
      ].join(' · '),
    );
  }
  // Warnings and problems may quote what a service answered.
  for (const warning of summary.warnings) output.warn(output.colors.yellow(`! ${shownText(warning)}`));
  for (const problem of summary.problems) output.error(output.colors.red(`✗ ${shownText(problem)}`));
  if (summary.stoppedForBalance) output.error(`${messages.cycle.insufficient} (${messages.cycle.insufficientHint})`);
  renderDelivery(result.delivery, output);
  if (result.stoppedBy) output.warn(messages.stop.stopped(result.stoppedBy, summary.posted, summary.released));
}

/** Undelivered notifications are no failure of the cycle (they are kept and sent later), but a person should know. */
export function renderDelivery(delivery: DeliveryReport, output: Output): void {
  if (delivery.refusal) output.error(output.colors.red(`✗ ${messages.notify.refused(shownText(delivery.refusal))}`));
  if (delivery.undelivered > 0) output.warn(output.colors.yellow(`! ${messages.notify.undelivered(delivery.undelivered)}`));
}
