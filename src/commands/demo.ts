// `gisbot demo`: one full cycle against a pretend business on loopback. The sandboxes run in this process, the
// config is built here (the user's .gisbotrc and environment are never read), the adapters are the real ones
// (got, the openai SDK, node:sqlite, ws), the database is a temporary SQLite file, and the folder is removed
// at the end unless --keep.
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StopRequest } from '../adapters/process/signals.ts';
import { loadConfig } from '../config/load.ts';
import { createContext, type Context } from '../context.ts';
import { runCycle } from '../core/cycle.ts';
import { reportData } from '../core/report.ts';
import { periodStats } from '../core/stats.ts';
import { TelegramBridge } from '../core/telegram.ts';
import { formatMoney, parseMoney, type Kopecks } from '../core/money.ts';
import type { StoredEvent } from '../core/ports.ts';
import { ExitCode, exitCodeOfSignal, InterruptedError, UsageError } from '../errors.ts';
import { startDemoWorld, type DemoWorld } from '../sandbox/demo-world.ts';
import { countBy, outcomeOf, renderDemo, type DemoResult, type DemoReviewResult } from '../ui/demo-report.ts';
import { messages } from '../ui/messages.ts';
import { Output } from '../ui/output.ts';
import { reportHtml } from '../ui/report-html.ts';
import { shownText } from '../ui/shown-text.ts';
import { announceStopping, summaryJson } from './poll-once.ts';
import { statsJson } from './stats.ts';

export type { DemoResult } from '../ui/demo-report.ts';

export interface DemoOptions {
  keep: boolean;
  /** The demo balance before the cycle, e.g. "100.00". */
  balance: Kopecks;
  /** SIGINT or SIGTERM: the cycle stops (exit 130 or 143) and the folder is removed all the same. */
  stop?: StopRequest;
}

export const DEMO_BALANCE: Kopecks = 10_000n;
const PRICE = '5.00';
const CONFIG_FILE = 'gisbot.demo.json';
const DELIVERY_GRACE_MS = 5_000;
const REPORT_FILE = 'report.html';
/** The demo's reviews are at most two days old: a week holds them all. */
const DEMO_PERIOD_MS = 7 * 86_400_000;

/** `--balance <amount>`, or the default 100.00. */
export function demoBalance(text: string | undefined): Kopecks {
  if (text === undefined) return DEMO_BALANCE;
  const amount = parseMoney(text);
  if (amount === null || amount === 0n) throw new UsageError(messages.demo.badBalance(text), messages.balance.badAmountHint);
  return amount;
}

export async function demo(tools: { output: Output }, options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const signal = options.stop?.signal;
  if (options.stop) announceStopping(tools.output, options.stop);
  const interrupted = () => new InterruptedError(exitCodeOfSignal(options.stop?.received ?? 'SIGINT'));
  const folder = await mkdtemp(path.join(tmpdir(), 'gisbot-demo-'));
  let world: DemoWorld | null = null;
  let ctx: Context | null = null;
  try {
    tools.output.say(messages.demo.starting);
    world = await startDemoWorld();
    ctx = await demoContext(world, folder, tools.output);
    const price = ctx.settings.price;
    await ctx.store.migrate();
    const before = await ctx.store.topUp(options.balance, 'demo balance');
    ctx.notifier.start();
    tools.output.say(messages.demo.cycling);
    const summary = await runCycle(ctx, signal);
    if (signal?.aborted) throw interrupted();
    // The reviews that wait for a person go to the owner's chat as cards, as `run` and `poll-once` send them.
    const bridge = new TelegramBridge({ ...ctx, telegram: ctx.telegram!, chatIds: ctx.config.telegram.chatIds });
    await bridge.turn({ waitSeconds: 0, signal });
    await bridge.end();
    if (signal?.aborted) throw interrupted();
    await ctx.notifier.drain(DELIVERY_GRACE_MS);

    const events = await ctx.store.listEvents({ limit: 10_000 });
    const after = await ctx.store.getBalance();
    const charges = (await ctx.store.ledger({ limit: 10_000 })).filter((entry) => entry.kind === 'charge');
    const reviews = await reviewResults(ctx, world, events, summary.stoppedForBalance);
    // What the owner would see of this cycle: its stats, and the report, written into the folder.
    const now = ctx.clock.now();
    const period = { from: new Date(now.getTime() - DEMO_PERIOD_MS), to: now };
    const stats = await periodStats(ctx.store, period);
    const report = path.join(folder, REPORT_FILE);
    await writeFile(report, reportHtml(await reportData(ctx.store, period, now)), 'utf8');
    await world.receiver.waitFor(events.length, DELIVERY_GRACE_MS);
    const logFile = ctx.config.logs.file;
    await ctx.close(); // flushes the log file before its lines are counted
    ctx = null;
    const logLines = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter((line) => line.includes('"level":"event"'));

    const answered = reviews.filter((review) => review.outcome === 'answered').length;
    const charged = charges.reduce((sum, entry) => sum - entry.amount, 0n);
    const arithmeticOk =
      after.balance === before.balance - price * BigInt(answered) && charged === price * BigInt(answered) && after.reserved === 0n;
    const frames = world.receiver.eventIds.size;
    const problems = [
      ...(arithmeticOk ? [] : [messages.demo.problemMoney]),
      ...reviews.filter((review) => review.outcome === 'unfinished').map((review) => messages.demo.problemUnfinished(review.id)),
      ...(frames === events.length ? [] : [messages.demo.problemFrames(frames, events.length)]),
    ];
    return {
      reviews,
      balance: { before: formatMoney(before.balance), price: formatMoney(price), answered, charged: formatMoney(charged), after: formatMoney(after.balance), arithmeticOk },
      summary: summaryJson(summary),
      stoppedForBalance: summary.stoppedForBalance,
      events: {
        stored: events.length,
        byType: countBy(events.map((event) => event.type)),
        logFile,
        logLines: logLines.length,
        websocket: { url: world.receiver.url, frames },
      },
      stats,
      report: options.keep ? report : null,
      telegram: {
        chat: world.ownerChat,
        cards: world.telegram.messagesIn(world.ownerChat).map((message) => ({
          reviewId: /review (\S+)$/.exec(message.text)?.[1] ?? null,
          text: message.text,
          buttons: message.buttons.flat().map((button) => button.text),
        })),
      },
      folder: options.keep ? folder : null,
      configFile: options.keep ? path.join(folder, CONFIG_FILE) : null,
      seconds: Math.round(performance.now() - started) / 1000,
      problems,
      exitCode: problems.length === 0 ? ExitCode.ok : ExitCode.failed,
    };
  } finally {
    await ctx?.close();
    await world?.close();
    // A demo cleans up after itself: the report, database, log and config go with the folder unless --keep.
    if (!options.keep) await rm(folder, { recursive: true, force: true });
  }
}

/** The config of this run, written to the folder (mode 0600: it holds the sandboxes' made-up secrets). */
async function demoContext(world: DemoWorld, folder: string, output: Output): Promise<Context> {
  const file = path.join(folder, CONFIG_FILE);
  const settings = {
    twogis: { apiUrl: world.twogis.url, login: world.credentials.login, password: world.credentials.password },
    openai: { baseURL: world.model.url, apiKey: world.credentials.apiKey, model: 'gpt-4o-mini' },
    database: { url: `sqlite:${path.join(folder, 'gisbot.db')}` },
    billing: { pricePerReply: PRICE, lowBalance: '50.00' },
    websocket: { url: world.receiver.url, token: world.credentials.wsToken },
    logs: { file: path.join(folder, 'gisbot.log') },
    telegram: { botToken: world.credentials.botToken, chatIds: [world.ownerChat], apiUrl: world.telegram.url },
  };
  await writeFile(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  // An explicit file and an empty environment: nothing of the user's own set-up is read.
  const config = await loadConfig({ file, env: {}, cwd: folder, dataDir: folder });
  // The openai SDK reads OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_CUSTOM_HEADERS… from the environment by itself:
  // this process only runs the demo, so they are dropped and none of the user's settings reach even the sandbox.
  for (const variable of Object.keys(process.env)) if (variable.startsWith('OPENAI_')) delete process.env[variable];
  // The context's own lines (one per event) stay quiet: the report at the end tells the story.
  const quiet = new Output({ json: true, quiet: true, debug: output.debug });
  return createContext(config, quiet, { twogis: true, model: true, telegram: true }, { failpoint: () => {} });
}

async function reviewResults(ctx: Context, world: DemoWorld, events: readonly StoredEvent[], stoppedForBalance: boolean) {
  const results: DemoReviewResult[] = [];
  for (const seed of world.reviews) {
    const stored = await ctx.store.getReview(seed.id);
    const own = events.filter((event) => event.reviewId === seed.id);
    const posted = own.find((event) => event.type === 'reply.posted');
    const waiting = own.findLast((event) => event.type === 'review.needs_approval');
    const state = stored?.state ?? 'unknown';
    results.push({
      id: seed.id,
      branch: world.branches.find((branch) => branch.id === seed.branchId)?.name ?? seed.branchId,
      kind: seed.kind,
      rating: seed.rating,
      author: seed.author,
      text: seed.text,
      state,
      outcome: outcomeOf(state),
      reason: stored?.reason ?? (state === 'new' && stoppedForBalance ? messages.demo.queuedReason : null),
      rules: Array.isArray(waiting?.data.rules) ? (waiting.data.rules as string[]) : [],
      answer: typeof posted?.data.text === 'string' ? posted.data.text : null,
      charged: typeof posted?.data.charged === 'string' ? posted.data.charged : '0.00',
    });
  }
  return results;
}

export function render(result: DemoResult, output: Output): void {
  if (output.json) {
    const { exitCode: _exitCode, stats, ...document } = result;
    output.data(JSON.stringify({ ...document, stats: statsJson(stats) }));
  } else renderDemo(result, output);
  for (const problem of result.problems) output.error(output.colors.red(`✗ ${shownText(problem)}`));
}
