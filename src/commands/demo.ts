// `gisbot demo`: one full cycle against two pretend businesses on loopback, as an agency would serve them: one
// database, one worker pool, each business its own 2GIS account and balance. The coffee chain's story is told review
// by review; the clinic beside it shows that its money is its own. The sandboxes run in this process, the config is
// built here (the user's .gisbotrc and environment are never read), the adapters are the real ones (got, the openai
// SDK, node:sqlite, ws), the database is a temporary SQLite file, and the folder is removed at the end unless --keep.
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StopRequest } from '../adapters/process/signals.ts';
import { businessesOf, cardChatIds } from '../config/businesses.ts';
import { loadConfig } from '../config/load.ts';
import { businessDeps, createContext, type Context } from '../context.ts';
import { runCycle, type CycleSummary } from '../core/answering/cycle.ts';
import { DEMO_TOP_UP_NOTE } from '../core/money/ledger-notes.ts';
import { countingSettlements, SettledTally } from '../core/pipeline.ts';
import { Turns } from '../core/answering/turns.ts';
import { reportData } from '../core/insight/report.ts';
import { periodStats } from '../core/insight/stats.ts';
import { TelegramBridge } from '../core/approval/telegram.ts';
import { formatMoney, parseMoney, type Kopecks } from '../core/money/money.ts';
import type { Store, StoredEvent } from '../core/ports.ts';
import { ExitCode, exitCodeOfSignal, InterruptedError, UsageError } from '../errors.ts';
import { startDemoWorld, type DemoBusiness, type DemoWorld } from '../sandbox/demo-world.ts';
import { countBy, outcomeOf, renderDemo, type DemoBusinessResult, type DemoResult, type DemoReviewResult } from '../ui/demo-report.ts';
import { messages } from '../ui/messages.ts';
import { Output } from '../ui/output.ts';
import { reportHtml } from '../ui/report-html.ts';
import { shownText } from '../ui/shown-text.ts';
import { bindToAccount } from './binding.ts';
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
/** The clinic's balance: two of its three answers, so that one business runs out while the other answers on. */
export const NEIGHBOUR_BALANCE: Kopecks = 1_000n;
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
    await ctx.store.migrate();
    // Each business seen from its own config and store, as `poll-once` serves several: the coffee chain first.
    const served = await Promise.all(businessesOf(ctx.config).map((business) => businessDeps(ctx!, business)));
    const befores = [];
    for (const [index, deps] of served.entries()) {
      await bindToAccount(deps.store, deps.twogis);
      befores.push(await deps.store.topUp(index === 0 ? options.balance : NEIGHBOUR_BALANCE, DEMO_TOP_UP_NOTE));
    }
    const coffee = served[0]!;
    ctx.notifier.start();
    tools.output.say(messages.demo.cycling);
    // One worker pool for both, taking turns between them (core/answering/turns.ts).
    const turns = new Turns({ concurrency: ctx.config.polling.concurrency, perBusiness: ctx.config.polling.concurrencyPerBusiness });
    const summaries: CycleSummary[] = await Promise.all(
      served.map(async (deps) => {
        const settled = new SettledTally();
        const summary = await runCycle(countingSettlements({ ...deps, turns }, settled), signal);
        summary.posted = settled.posted;
        summary.charged = settled.charged;
        return summary;
      }),
    );
    if (signal?.aborted) throw interrupted();
    // The coffee chain's reviews that wait for a person go to the owner's chat as cards, as `run` and `poll-once` send them.
    const bridge = new TelegramBridge({ ...coffee, telegram: ctx.telegram!, chatIds: cardChatIds(coffee.business.config) });
    await bridge.turn({ waitSeconds: 0, signal });
    await bridge.end();
    if (signal?.aborted) throw interrupted();
    await ctx.notifier.drain(DELIVERY_GRACE_MS);

    const eventsOf = await Promise.all(served.map((deps) => deps.store.listEvents({ limit: 10_000 })));
    const businesses: DemoBusinessResult[] = [];
    for (const [index, deps] of served.entries()) {
      const seeds = world.businesses[index]!;
      const summary = summaries[index]!;
      summary.balance = (await deps.store.getBalance()).balance;
      const reviews = await reviewResults(deps.store, seeds, eventsOf[index]!, summary.stoppedForBalance);
      businesses.push({ id: deps.business.id, name: seeds.name, reviews, balance: await moneyOf(deps.store, befores[index]!.balance, deps.settings.price, reviews), stoppedForBalance: summary.stoppedForBalance });
    }
    const events = eventsOf[0]!;
    const { reviews, balance } = businesses[0]!;
    // What the owner would see of this cycle: its stats, and the report, written into the folder.
    const now = ctx.clock.now();
    const period = { from: new Date(now.getTime() - DEMO_PERIOD_MS), to: now };
    const stats = await periodStats(coffee.store, period);
    const report = path.join(folder, REPORT_FILE);
    await writeFile(report, reportHtml(await reportData(coffee.store, period, now)), 'utf8');
    const allEvents = eventsOf.reduce((sum, each) => sum + each.length, 0);
    await world.receiver.waitFor(allEvents, DELIVERY_GRACE_MS);
    const logFile = ctx.config.logs.file;
    await ctx.close(); // flushes the log file before its lines are counted
    ctx = null;
    const logged = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter((line) => line.includes('"level":"event"'));
    const logLines = logged.filter((line) => line.includes(`"businessId":"${coffee.business.id}"`));

    // Each event once over the WebSocket, for both businesses; the coffee chain's counted on its own too.
    const frames = world.receiver.eventIds.size;
    const coffeeFrames = new Set(world.receiver.frames.filter((frame) => frame.event?.businessId === coffee.business.id).map((frame) => frame.event?.id)).size;
    const problems = [
      ...businesses.filter((one) => !one.balance.arithmeticOk).map((one) => (businesses.length > 1 ? `${one.id}: ${messages.demo.problemMoney}` : messages.demo.problemMoney)),
      ...businesses.flatMap((one) => one.reviews).filter((review) => review.outcome === 'unfinished').map((review) => messages.demo.problemUnfinished(review.id)),
      ...(frames === allEvents ? [] : [messages.demo.problemFrames(frames, allEvents)]),
    ];
    return {
      reviews,
      balance,
      summary: summaryJson(summaries[0]!),
      stoppedForBalance: summaries[0]!.stoppedForBalance,
      businesses: businesses.map(({ id, name, balance: money, reviews: own, stoppedForBalance }) => ({ id, name, balance: money, outcomes: countBy(own.map((review) => review.outcome)), reviews: own.length, stoppedForBalance })),
      events: {
        stored: events.length,
        byType: countBy(events.map((event) => event.type)),
        logFile,
        logLines: logLines.length,
        websocket: { url: world.receiver.url, frames: coffeeFrames },
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

/**
 * The config of this run, written to the folder (mode 0600: it holds the sandboxes' made-up secrets): an agency's,
 * the deployment's services at the top and each business under `businesses:` with its own 2GIS account.
 */
async function demoContext(world: DemoWorld, folder: string, output: Output): Promise<Context> {
  const file = path.join(folder, CONFIG_FILE);
  const business = (one: DemoBusiness, chatIds: string[]) => ({
    name: one.name,
    twogis: { login: one.login, password: one.password },
    ...(chatIds.length > 0 ? { telegram: { chatIds } } : {}),
  });
  const [coffee, ...others] = world.businesses;
  const settings = {
    twogis: { apiUrl: world.twogis.url },
    openai: { baseURL: world.model.url, apiKey: world.credentials.apiKey, model: 'gpt-4o-mini' },
    database: { url: `sqlite:${path.join(folder, 'gisbot.db')}` },
    billing: { pricePerReply: PRICE, lowBalance: '50.00' },
    websocket: { url: world.receiver.url, token: world.credentials.wsToken },
    logs: { file: path.join(folder, 'gisbot.log') },
    telegram: { botToken: world.credentials.botToken, apiUrl: world.telegram.url },
    businesses: Object.fromEntries([[coffee!.id, business(coffee!, [world.ownerChat])], ...others.map((one) => [one.id, business(one, [])])]),
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
  return createContext(config, quiet, { model: true, telegram: true, servesMany: true }, { failpoint: () => {} });
}

/** A business's money over the cycle: the balance before and after, its answers, and whether the ledger agrees. */
async function moneyOf(store: Store, before: Kopecks, price: Kopecks, reviews: readonly DemoReviewResult[]): Promise<DemoResult['balance']> {
  const after = await store.getBalance();
  const charges = (await store.ledger({ limit: 10_000 })).filter((entry) => entry.kind === 'charge');
  const answered = reviews.filter((review) => review.outcome === 'answered').length;
  const charged = charges.reduce((sum, entry) => sum - entry.amount, 0n);
  const arithmeticOk = after.balance === before - price * BigInt(answered) && charged === price * BigInt(answered) && after.reserved === 0n;
  return { before: formatMoney(before), price: formatMoney(price), answered, charged: formatMoney(charged), after: formatMoney(after.balance), arithmeticOk };
}

async function reviewResults(store: Store, business: DemoBusiness, events: readonly StoredEvent[], stoppedForBalance: boolean) {
  const results: DemoReviewResult[] = [];
  for (const seed of business.reviews) {
    const stored = await store.getReview(seed.id);
    const own = events.filter((event) => event.reviewId === seed.id);
    const posted = own.find((event) => event.type === 'reply.posted');
    const waiting = own.findLast((event) => event.type === 'review.needs_approval');
    const state = stored?.state ?? 'unknown';
    results.push({
      id: seed.id,
      branch: business.branches.find((branch) => branch.id === seed.branchId)?.name ?? seed.branchId,
      kind: seed.kind,
      rating: seed.rating,
      author: seed.author,
      text: seed.text,
      state,
      outcome: outcomeOf(state),
      reason: stored?.reason ?? (state === 'new' && stoppedForBalance ? messages.demo.queuedReason : null),
      reasonCode: stored?.reason ? (stored.reasonCode ?? null) : null,
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
