// `gisbot run`: checks every service, then polls and answers in a loop until SIGINT/SIGTERM. A signal lets the
// reviews in hand finish (or go back to the queue) and ends with exit code 0.
import type { Business } from '../config/businesses.ts';
import { businessDeps, type Context } from '../context.ts';
import { cycleStatus, runCycle, type CycleSummary } from '../core/answering/cycle.ts';
import { formatMoney } from '../core/money/money.ts';
import type { DeliveryReport } from '../core/events/outbox.ts';
import { countingSettlements, SettledTally, type PipelineDeps } from '../core/pipeline.ts';
import { TelegramBridge, type TelegramTrouble } from '../core/approval/telegram.ts';
import { Turns } from '../core/answering/turns.ts';
import { ExitCode, GisbotError } from '../errors.ts';
import { errorLines } from '../ui/error-text.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownText } from '../ui/shown-text.ts';
import { bindEvery, bindToAccount } from './binding.ts';
import { checkServices, type ServiceCheck } from './checks.ts';
import { bridgedMany, bridgedOne, chatRefusal, chatsOf, render as renderSummary, renderDelivery, servesOneOfMany } from './poll-once.ts';

export interface RunOptions {
  /** Aborted by SIGINT/SIGTERM (wired in cli.ts). */
  signal: AbortSignal;
  /** Aborted by a second one: the notifications still going out are left in the outbox. */
  hurry?: AbortSignal;
  /** Stop after this many cycles (tests and benchmarks); endless when absent. */
  maxCycles?: number;
}

export interface RunResult {
  cycles: number;
  posted: number;
  exitCode: ExitCode;
}

export async function run(ctx: Context, options: RunOptions, businesses: readonly Business[] = []): Promise<RunResult> {
  if (businesses.length > 1) return runMany(ctx, options, businesses);
  const failing = (await checkServices(ctx)).filter((check) => !check.ok);
  if (failing.length > 0) {
    for (const check of failing) ctx.output.error(preflightLine(check));
    throw new GisbotError(messages.preflight.failed(failing.length), ExitCode.failed, messages.preflight.hint);
  }
  await bindToAccount(ctx.store, ctx.twogis);
  ctx.notifier.start();
  ctx.output.say(messages.run.started(ctx.config.polling.intervalSeconds, ctx.settings.concurrency));
  // A signal during the checks above is answered too: no cycle starts.
  const stopping = () => ctx.output.say(messages.run.stopping);
  if (options.signal.aborted) stopping();
  else options.signal.addEventListener('abort', stopping, { once: true });
  options.hurry?.addEventListener('abort', () => ctx.output.say(messages.stop.hurrying), { once: true });

  // Every answer posted while running, by a cycle or a Telegram press, is counted where it is settled.
  const settled = new SettledTally();
  const counted = countingSettlements(ctx, settled);
  // The Telegram bridge's own loop beside the cycles: a review that comes to wait cuts its long poll short.
  const chats = bridgedOne(ctx.config, counted);
  const bridge = ctx.telegram
    ? new TelegramBridge({ ...counted, telegram: ctx.telegram, ...chats, onTrouble: (trouble) => sayTrouble(ctx.output, trouble) })
    : null;
  const deps: PipelineDeps = bridge ? kicking(counted, bridge) : counted;
  if (bridge) ctx.output.say(messages.run.telegram(chatsOf(chats)));
  const partial = bridge ? servesOneOfMany(ctx.config) : null;
  if (partial) ctx.output.warn(ctx.output.colors.yellow(`! ${partial}`));
  const bridging = bridge?.run(options.signal) ?? Promise.resolve();

  const result: RunResult = { cycles: 0, posted: 0, exitCode: ExitCode.ok };
  const intervalMs = ctx.config.polling.intervalSeconds * 1000;
  let delivery: DeliveryReport = NOTHING_LEFT;
  const cycleErrors = new Map<string, { error: string; again: number }>();
  while (!options.signal.aborted) {
    const summary = await cycleSafely(deps, ctx, options.signal, cycleErrors);
    result.cycles += 1;
    if (summary) {
      if (summary.posted + summary.failed + summary.awaitingApproval > 0 || summary.problems.length + summary.warnings.length > 0) {
        renderSummary({ summary, delivery: NOTHING_LEFT, exitCode: ExitCode.ok }, ctx.output);
      }
    }
    if (options.maxCycles !== undefined && result.cycles >= options.maxCycles) break;
    // The cycle's events get part of the pause to go out; what is still left then is worth a line.
    const started = Date.now();
    delivery = reportChanges(ctx.output, delivery, await ctx.notifier.drain(Math.min(DELIVERY_GRACE_MS, intervalMs), options.signal));
    const waited = Date.now() - started;
    await ctx.clock.sleep(Math.max(0, intervalMs - waited), options.signal).catch(() => {});
  }
  await bridging;
  result.posted = settled.posted;
  reportChanges(ctx.output, delivery, await ctx.notifier.drain(2_000, options.hurry));
  ctx.output.say(messages.run.stopped);
  return result;
}

/**
 * Every business of `businesses` served in turn-taking cycles until a signal (core/answering/turns.ts): each with its own
 * 2GIS account, balance, prompt and policy. The database is checked first; each business is bound to its account
 * (a business whose 2GIS cannot be reached now is bound once it can: its cycle meets the same failure meanwhile).
 * One Telegram bridge beside the cycles serves them all: one bot, each business's chats, the agency's staff chats.
 */
async function runMany(ctx: Context, options: RunOptions, businesses: readonly Business[]): Promise<RunResult> {
  await ctx.store.migrate();
  const served = await Promise.all(businesses.map((business) => businessDeps(ctx, business)));
  await bindEvery(served);
  ctx.notifier.start();
  ctx.output.say(messages.run.started(ctx.config.polling.intervalSeconds, ctx.config.polling.concurrency));
  options.signal.addEventListener('abort', () => ctx.output.say(messages.run.stopping), { once: true });
  const turns = new Turns({ concurrency: ctx.config.polling.concurrency, perBusiness: ctx.config.polling.concurrencyPerBusiness });
  // Every answer posted while running, by a cycle or a Telegram press, is counted where it is settled.
  const settled = new SettledTally();
  const counted = served.map((deps) => ({ id: deps.business.id, config: deps.business.config, deps: countingSettlements({ ...deps, turns }, settled) }));
  const chats = bridgedMany(ctx.config, counted);
  const bridge = ctx.telegram ? new TelegramBridge({ ...ctx, telegram: ctx.telegram, ...chats, onTrouble: (trouble) => sayTrouble(ctx.output, trouble) }) : null;
  const cycling = counted.map(({ id, deps }) => ({ id, deps: bridge ? kicking(deps, bridge) : deps }));
  if (bridge) ctx.output.say(messages.run.telegram(chatsOf(chats)));
  const bridging = bridge?.run(options.signal) ?? Promise.resolve();
  const result: RunResult = { cycles: 0, posted: 0, exitCode: ExitCode.ok };
  const intervalMs = ctx.config.polling.intervalSeconds * 1000;
  let delivery: DeliveryReport = NOTHING_LEFT;
  const cycleErrors = new Map<string, { error: string; again: number }>();
  while (!options.signal.aborted) {
    const summaries = await Promise.all(cycling.map(async ({ id, deps }) => ({ id, summary: await cycleSafely(deps, ctx, options.signal, cycleErrors, id) })));
    result.cycles += 1;
    for (const { id, summary } of summaries) {
      if (!summary) continue;
      if (summary.posted + summary.failed + summary.awaitingApproval > 0 || summary.problems.length > 0) {
        ctx.output.say(messages.businesses.cycleLine(id, summary.posted, summary.awaitingApproval, summary.failed, formatMoney(summary.charged), formatMoney(summary.balance), cycleStatus(summary)));
        for (const problem of summary.problems) ctx.output.error(ctx.output.colors.red(`✗ ${id}: ${shownText(messages.cycle.problem(problem))}`));
      }
    }
    if (options.maxCycles !== undefined && result.cycles >= options.maxCycles) break;
    const started = Date.now();
    delivery = reportChanges(ctx.output, delivery, await ctx.notifier.drain(Math.min(DELIVERY_GRACE_MS, intervalMs), options.signal));
    await ctx.clock.sleep(Math.max(0, intervalMs - (Date.now() - started)), options.signal).catch(() => {});
  }
  await bridging;
  result.posted = settled.posted;
  reportChanges(ctx.output, delivery, await ctx.notifier.drain(2_000));
  ctx.output.say(messages.run.stopped);
  return result;
}

/** `deps` whose committed events also end the bridge's long poll: a review that came to wait gets its card at once. */
function kicking(deps: PipelineDeps, bridge: TelegramBridge): PipelineDeps {
  return { ...deps, onEvents: (events) => { deps.onEvents?.(events); bridge.kick(events); } };
}

/** One line on stderr, once per kind of trouble (the bridge says each once): a revoked token, another poller, a chat. */
function sayTrouble(output: Output, trouble: TelegramTrouble): void {
  const c = output.colors;
  if (trouble.kind === 'down') output.error(c.red(`✗ ${messages.telegram.down(trouble.error, trouble.hint)}`));
  else if (trouble.kind === 'card') output.error(c.red(`✗ ${shownText(messages.cycle.problem(trouble.problem))}`));
  else output.warn(c.yellow(`! ${chatRefusal(trouble.refusal)}`));
}

/** How long `run` lets a cycle's events go out before it says what is left. */
const DELIVERY_GRACE_MS = 5_000;
const NOTHING_LEFT: DeliveryReport = { undelivered: 0, refusal: null };

/** A line only when something changed: a receiver down for an hour makes one warning, not one per cycle. */
function reportChanges(output: Output, before: DeliveryReport, now: DeliveryReport): DeliveryReport {
  renderDelivery(
    { refusal: now.refusal === before.refusal ? null : now.refusal, undelivered: now.undelivered === before.undelivered ? 0 : now.undelivered },
    output,
  );
  return now;
}

/**
 * A service that fails during a cycle is retried by the next one; only the checks before the first are fatal. The
 * person reads each failure once: one line (the log file keeps it, at warn: the next cycle retries, and the log's
 * echo on stderr would say it a second time), and the same failure again in the cycles after it is not repeated
 * until a cycle works again, which is said too. `failing` holds, per business, the error last said.
 */
async function cycleSafely(
  deps: PipelineDeps,
  ctx: Context,
  signal: AbortSignal,
  failing: Map<string, { error: string; again: number }> = new Map(),
  key = '',
): Promise<CycleSummary | null> {
  try {
    const summary = await runCycle(deps, signal);
    const was = failing.get(key);
    if (was !== undefined) {
      failing.delete(key);
      ctx.output.say(messages.run.cycleRecovered(was.again + 1));
    }
    return summary;
  } catch (error) {
    if (!(error instanceof GisbotError)) throw error;
    ctx.logger.warn('cycle failed; the next cycle tries again', { error: error.message });
    const was = failing.get(key);
    if (was?.error === error.message) was.again += 1;
    else {
      failing.set(key, { error: error.message, again: 0 });
      // What failed in the reader's words, the service's own detail after them (ui/error-text.ts).
      ctx.output.error(messages.run.cycleFailed(shownText(errorLines(error).join('; '))));
    }
    return null;
  }
}

export function render(_result: RunResult, _output: Output): void {}

/** A service that did not answer before the first cycle: its name, what failed in the reader's words, its own detail. */
export function preflightLine(check: ServiceCheck): string {
  return `✗ ${check.name}: ${shownText(messages.doctor.failure(check.code, check.detail))}`;
}
