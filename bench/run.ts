// `npm run bench`: gisbot's speed and footprint against the limits of issue 7, measured over the loopback
// sandboxes (src/sandbox/) and the local MariaDB (its own databases, dropped after). Prints a table and writes
// BENCHMARKS.md. Every gisbot process here is the real binary, run by this very node.
//
//   node bench/run.ts            the whole benchmark (a few minutes on 2 cores)
//   node bench/run.ts --no-write print only, leave BENCHMARKS.md alone
//   node bench/run.ts --prompt-only  only the prompt's size with and without the owner's examples (in process)
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { queryDatabase } from '../test/support/mysql.ts';
import { buildPackage, machine, memoryLimitedGroup, openWorld, ROOT, type Machine } from './harness.ts';
import {
  countStatements,
  footprint,
  idlePoll,
  answerRechecks,
  type AnswerRecheckResult,
  sweepCost,
  SMALL_HEAP_NODE_OPTIONS,
  startup,
  statementCost,
  httpClientCost,
  branchHistory,
  BRANCH_INDEX,
  type BranchHistoryResult,
  STATEMENTS_PER_LONE_REVIEW,
  STATEMENTS_PER_REVIEW,
  throughput,
  type FootprintResult,
  type IdleResult,
  type SweepResult,
  type Plan,
  type PlanRow,
  type StartupResult,
  type ThroughputResult,
  statsAtScale,
  type StatsScaleResult,
  businesses as manyBusinesses,
  type BusinessesResult,
} from './scenarios.ts';
import type { SqlTemplate } from './probe.ts';
import { measurePromptSize, type PromptSize } from '../test/support/prompt-size.ts';

/** BENCHMARKS.md's line above the sections measured by hand: a run rewrites everything above it. */
const HAND_WRITTEN = '<!-- Below: measured by hand, with the command each names. `npm run bench` rewrites everything above and keeps this part. -->';

const write = !process.argv.includes('--no-write');
const say = (text: string) => process.stderr.write(`${text}\n`);
/** The memory of a small container or host, for the memory figure measured under a limit. */
const CONTAINER_MB = 512;
const began = performance.now();
const loadBefore = os.loadavg()[0]!;

say('gisbot benchmark: sandboxes on loopback, MariaDB on 127.0.0.1:3306; each scenario on its own database');
const mariadb = await mariadbVersion();

/**
 * 8: many businesses in one deployment (issue 19): fairness of the one worker pool, and its throughput, beside one
 * business with the same 2,000 reviews in 50 branches run right after it: on a shared machine the pair tells what
 * serving many businesses costs, whatever else the machine is doing.
 */
async function businessesSection(): Promise<{ fairness: BusinessesResult; spread: BusinessesResult; alone: ThroughputResult }> {
  say('8 businesses: one with 2,000 waiting reviews and 20 with one fresh review each, model 200 ms, concurrency 8 …');
  const fairness = await manyBusinesses({ businesses: 21, backlog: 2000, fresh: 1, concurrency: 8, latencyMs: 200 });
  say(`    every one of the 20 answered within the first ${fairness.latest} answers (positions ${fairness.positions.join(', ')})`);
  say('    2,000 reviews over 50 businesses (40 each), model 200 ms, concurrency 8 …');
  const spread = await manyBusinesses({ businesses: 50, backlog: 40, fresh: 40, concurrency: 8, latencyMs: 200 });
  say(`    ${seconds(spread.wallMs)} (ideal ${seconds(spread.idealMs)}, ${(spread.wallMs / spread.idealMs).toFixed(3)} × ideal), ${spread.posted} posted`);
  say(`    first answer ${seconds(spread.firstPostedMs)} after the spawn, last ${seconds(spread.lastPostedMs)}, exit ${seconds(spread.wallMs)}`);
  say('    the same 2,000 reviews as one business with 50 branches, right after …');
  const alone = await throughput({ reviews: 2000, branches: 50, concurrency: 8, latencyMs: 200 });
  say(`    ${seconds(alone.wallMs)} (${(alone.wallMs / alone.idealMs).toFixed(3)} × ideal): 50 businesses take ${(spread.wallMs / alone.wallMs).toFixed(3)} × one's time`);
  return { fairness, spread, alone };
}
/** 9: the prompt's characters per model call with and without the owner's examples (issue 22), in process. */
async function promptSection(): Promise<PromptSize> {
  say("9 the prompt's size: 10 held-out reviews drafted against 30 of the owner's examples at one branch …");
  const size = await measurePromptSize();
  say(`    prompt characters per call: ${size.withoutExamples} without examples, ${size.withExamples} with ${size.examples} (largest ${size.largest}, bound ${size.bound})`);
  return size;
}
if (process.argv.includes('--prompt-only')) {
  process.stdout.write(`${table(promptFigures(await promptSection())).join('\n')}\n`);
  process.exit(0);
}
if (process.argv.includes('--businesses-only')) {
  await businessesSection();
  process.exit(0);
}

say('1/6 throughput: 2,000 new reviews in 200 branches, model 200 ms, concurrency 8 …');
const wide = await throughput({ reviews: 2000, branches: 200, concurrency: 8, latencyMs: 200, sql: true });
say(`    ${seconds(wide.wallMs)} (ideal ${seconds(wide.idealMs)})`);
say('    the same at concurrency 1, on a proportional subset: 100 reviews in 10 branches …');
const narrow = await throughput({ reviews: 100, branches: 10, concurrency: 1, latencyMs: 200 });
say(`    ${seconds(narrow.wallMs)} (ideal ${seconds(narrow.idealMs)})`);

say('2/6 idle poll: 1,000 branches with nothing new, 2GIS 20 ms per request, concurrency 8 …');
const idle = await idlePoll({ branches: 1000, concurrency: 8, latencyMs: 20 });
say(`    ${idle.listRequests} review-list requests, ${idle.allRequests} in all, ${seconds(idle.wallMs)}`);
say('    the sweep: 100 branches with 120 answered reviews each in the last 7 days, one cycle sweeping, one not …');
const sweep = await sweepCost({ branches: 100, reviewsPerBranch: 120 });
say(`    ${sweep.sweptPerBranch.toFixed(2)} review-list requests per branch sweeping, ${sweep.unsweptPerBranch.toFixed(2)} between sweeps`);
say('    posted answers read back once more: a day in 24 cycles of 10 new reviews (a rush of 60 at noon), 20 branches …');
const rechecks = await answerRechecks({ waves: 24, perWave: 10, rush: 60, branches: 20 });
say(`    ${rechecks.rechecks} rechecks for ${rechecks.posted} posted answers, at most ${rechecks.mostInOneRun} in one cycle`);

say('3/6 start-up: node -e 0, gisbot --help, gisbot balance --json; 15 runs each, medians …');
const fromSource = await startup({ runs: 15, entry: path.join(ROOT, 'bin', 'gisbot.ts'), floors: true });
say(`    bin/gisbot.ts: ${ms(fromSource.helpMs)} / ${ms(fromSource.balanceMs)} against ${ms(fromSource.nodeMs)}`);
const built = await buildPackage();
let fromPackage: StartupResult;
let smallHeapBuilt: FootprintResult;
try {
  fromPackage = await startup({ runs: 15, entry: built.entry });
  say(`    built package: ${ms(fromPackage.helpMs)} / ${ms(fromPackage.balanceMs)} against ${ms(fromPackage.nodeMs)}`);
  say(`    (for 4/6) the built package answering 10,000 reviews with NODE_OPTIONS="${SMALL_HEAP_NODE_OPTIONS}" …`);
  smallHeapBuilt = await footprint({ reviews: 10_000, branches: 200, concurrency: 8, nodeOptions: SMALL_HEAP_NODE_OPTIONS, entry: built.entry });
  say(`    peak RSS ${mb(smallHeapBuilt.maxRssKb)}, ${smallHeapBuilt.cpuPerReviewMs.toFixed(2)} ms CPU per review`);
} finally {
  await built.remove();
}

say('4-6/6 memory and CPU: answering 1,000 and 10,000 reviews (200 branches, model at once, concurrency 8) …');
const small = await footprint({ reviews: 1000, branches: 200, concurrency: 8 });
say(`    1,000: peak RSS ${mb(small.maxRssKb)}, ${small.cpuPerReviewMs.toFixed(2)} ms CPU per review`);
const large = await footprint({ reviews: 10_000, branches: 200, concurrency: 8, probeSql: 200 });
say(`    10,000: peak RSS ${mb(large.maxRssKb)}, ${large.cpuPerReviewMs.toFixed(2)} ms CPU per review`);
say(`    10,000 with NODE_OPTIONS="${SMALL_HEAP_NODE_OPTIONS}" …`);
const smallHeap = await footprint({ reviews: 10_000, branches: 200, concurrency: 8, nodeOptions: SMALL_HEAP_NODE_OPTIONS });
say(`    peak RSS ${mb(smallHeap.maxRssKb)}, ${smallHeap.cpuPerReviewMs.toFixed(2)} ms CPU per review`);
say(`    10,000 in a ${CONTAINER_MB} MB container (a memory cgroup; V8 defaults) …`);
const group = await memoryLimitedGroup(CONTAINER_MB);
let contained: FootprintResult | null = null;
try {
  if (group) contained = await footprint({ reviews: 10_000, branches: 200, concurrency: 8, limit: { procs: group.procs, megabytes: CONTAINER_MB } });
} finally {
  await group?.remove();
}
say(contained ? `    peak RSS ${mb(contained.maxRssKb)}, ${contained.cpuPerReviewMs.toFixed(2)} ms CPU per review` : '    no memory cgroup can be made here (needs root): skipped');

const roundTrip = await statementCost({ statements: 3000 });
const http = await httpClientCost({ requests: 3000 });
say(`    one GET on loopback: ${http.gotUs.toFixed(0)} µs of CPU through got, ${http.nodeUs.toFixed(0)} µs through node's http (server included)`);
say('    the repeat check on one branch of 20,000 answered reviews …');
const history = await branchHistory({ reviews: 20_000 });
say(`    ${history.withIndex.ms.toFixed(2)} ms a draft (${history.withoutIndex.ms.toFixed(2)} ms on the schema before version 4)`);
say('7 stats: 200 branches, 100,000 reviews over half a year, `gisbot stats --json` on SQLite and on MariaDB …');
const statsScale = [];
for (const backend of ['sqlite', 'mysql'] as const) {
  const result = await statsAtScale({ branches: 200, reviews: 100_000, backend, runs: 5 });
  say(`    ${backend}: ${ms(result.monthMs)} the last 30 days, ${ms(result.allMs)} the whole store (balance --json: ${ms(result.baselineMs)})`);
  statsScale.push(result);
}
const many = await businessesSection();
const prompt = await promptSection();
const nodeRssKb = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS))'], { encoding: 'utf8' }));
say(`    one SELECT 1 round trip: ${roundTrip.cpuUs.toFixed(0)} µs of CPU`);

const figures = tabulate({ wide, narrow, idle, sweep, rechecks, fromSource, fromPackage, small, large, smallHeap, smallHeapBuilt, contained, roundTrip, http, nodeRssKb, history, statsScale, prompt });
figures.push(
  {
    figure: '8 fairness: 1 business with 2,000 waiting, 20 with 1 fresh each, model 200 ms, concurrency 8 (latest of the 20, among answers)',
    value: String(many.fairness.latest),
    bound: '≤ 40',
    ratio: `${(many.fairness.latest / 40).toFixed(3)} of 40`,
    met: many.fairness.latest <= 40,
  },
  {
    figure: '8 throughput: 2,000 reviews over 50 businesses, model 200 ms, concurrency 8 (wall time)',
    value: seconds(many.spread.wallMs),
    bound: `≤ 1.15 × ideal ${seconds(many.spread.idealMs)}`,
    ratio: `${(many.spread.wallMs / many.spread.idealMs).toFixed(3)} × ideal`,
    met: many.spread.wallMs / many.spread.idealMs <= 1.15 && many.spread.posted === 2000,
  },
  {
    figure: '8 the same 2,000 reviews as one business with 50 branches, run right after (wall time)',
    value: seconds(many.alone.wallMs),
    bound: `50 businesses: ${seconds(many.spread.wallMs)}`,
    ratio: `${(many.spread.wallMs / many.alone.wallMs).toFixed(3)} × one business`,
    met: null,
  },
);
const elapsed = (performance.now() - began) / 1000;
const load = { before: loadBefore, after: os.loadavg()[0]! };
say('');
process.stdout.write(`${table(figures).join('\n')}\n`);
say(`\nthe benchmark took ${elapsed.toFixed(0)} s`);
if (write) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  // What was measured by hand (before/after comparisons, section 8's breakdown) is kept below the marker.
  const kept = await readFile(file, 'utf8').then((text) => (text.includes(HAND_WRITTEN) ? text.slice(text.indexOf(HAND_WRITTEN)) : ''), () => '');
  const generated = report({ figures, wide, narrow, idle, sweep, rechecks, fromSource, fromPackage, small, large, smallHeap, smallHeapBuilt, contained, roundTrip, http, nodeRssKb, history, statsScale, prompt, elapsed, load });
  await writeFile(file, kept === '' ? generated : `${generated}\n${kept}`);
  say('wrote BENCHMARKS.md');
}
process.exitCode = figures.every((figure) => figure.met !== false) ? 0 : 1;

// ---------------------------------------------------------------- figures

interface Figure {
  figure: string;
  value: string;
  bound: string;
  /** value ÷ bound, or what the row says it is. */
  ratio: string;
  /** null: reported, no target. */
  met: boolean | null;
}

interface Results {
  wide: ThroughputResult;
  narrow: ThroughputResult;
  idle: IdleResult;
  sweep: SweepResult;
  rechecks: AnswerRecheckResult;
  fromSource: StartupResult;
  fromPackage: StartupResult;
  small: FootprintResult;
  large: FootprintResult;
  smallHeap: FootprintResult;
  smallHeapBuilt: FootprintResult;
  /** 10,000 reviews in a CONTAINER_MB memory cgroup; null where none could be made. */
  contained: FootprintResult | null;
  /** One SELECT 1 round trip: this process's CPU and the wall time, µs. */
  roundTrip: { cpuUs: number; wallUs: number };
  /** Peak RSS of `node -e 0`, KB. */
  nodeRssKb: number;
  /** CPU of one loopback GET through got and through node's http, µs (server included in both). */
  http: { gotUs: number; nodeUs: number };
  history: BranchHistoryResult;
  /** `gisbot stats` on 200 branches and 100,000 reviews, on each backend. */
  statsScale: StatsScaleResult[];
  /** Prompt characters per model call with and without the owner's examples. */
  prompt: PromptSize;
}

function tabulate(r: Results): Figure[] {
  const figures: Figure[] = [];
  const wideRatio = r.wide.wallMs / r.wide.idealMs;
  figures.push({
    figure: '1 throughput: 2,000 reviews, 200 branches, model 200 ms, concurrency 8 (wall time)',
    value: seconds(r.wide.wallMs),
    bound: `≤ 1.15 × ideal ${seconds(r.wide.idealMs)} = ${seconds(r.wide.idealMs * 1.15)}`,
    ratio: `${wideRatio.toFixed(3)} × ideal`,
    met: wideRatio <= 1.15 && r.wide.posted === r.wide.reviews,
  });
  const speedUp = r.narrow.wallMs / r.narrow.reviews / (r.wide.wallMs / r.wide.reviews);
  figures.push({
    figure: '1 speed-up over concurrency 1 (time per review; c=1 on 100 reviews in 10 branches)',
    value: `${speedUp.toFixed(2)} ×`,
    bound: `ideal 8 × (c=1: ${(r.narrow.wallMs / r.narrow.reviews).toFixed(0)} ms per review)`,
    ratio: `${(speedUp / 8).toFixed(3)} of ideal`,
    met: null,
  });
  const perBranch = r.idle.listRequests / r.idle.branches;
  figures.push({
    figure: '2 idle poll: 1,000 branches, nothing new (review-list requests per branch)',
    value: perBranch.toFixed(3),
    bound: '1',
    ratio: perBranch.toFixed(3),
    met: perBranch <= 1,
  });
  figures.push({
    figure: '2 idle poll: all 2GIS requests per branch (login and branch discovery included)',
    value: (r.idle.allRequests / r.idle.branches).toFixed(3),
    bound: '1 + discovery',
    ratio: (r.idle.allRequests / r.idle.branches).toFixed(3),
    met: null,
  });
  // Cycles between two sweeps at the defaults (polling.sweepIntervalMinutes 180): `run` every 60 s, cron every 5 min.
  for (const [label, cycles] of [
    ['run every 60 s', 180],
    ['cron every 5 min', 36],
  ] as const) {
    const average = (r.sweep.unsweptPerBranch * (cycles - 1) + r.sweep.sweptPerBranch) / cycles;
    figures.push({
      figure: `2 idle poll with sweeps: review-list requests per branch and cycle, ${label} (120 reviews a week per branch)`,
      value: average.toFixed(3),
      bound: '~1',
      ratio: average.toFixed(3),
      met: average <= 1.1,
    });
  }
  const perAnswer = r.rechecks.rechecks / r.rechecks.posted;
  figures.push({
    figure: `2 posted answers read back once more: 2GIS requests per posted answer over a day (${r.rechecks.posted} answers, ${r.rechecks.runs} cycles)`,
    value: perAnswer.toFixed(3),
    bound: '≤ 1.01',
    ratio: perAnswer.toFixed(3),
    met: perAnswer <= 1.01 && r.rechecks.readTwice === 0,
  });
  figures.push({
    figure: '2 posted answers read back once more: the most in one cycle (a rush of 60 answers)',
    value: String(r.rechecks.mostInOneRun),
    bound: '≤ 20 (ANSWER_RECHECKS_PER_CYCLE)',
    ratio: (r.rechecks.mostInOneRun / 20).toFixed(3),
    met: r.rechecks.mostInOneRun <= 20,
  });
  figures.push({
    figure: '2 idle poll: wall time (2GIS 20 ms per request, concurrency 8)',
    value: seconds(r.idle.wallMs),
    bound: `ideal ${seconds(r.idle.idealMs)}`,
    ratio: `${(r.idle.wallMs / r.idle.idealMs).toFixed(3)} × ideal`,
    met: null,
  });
  for (const [label, s] of [
    ['bin/gisbot.ts', r.fromSource],
    ['built package', r.fromPackage],
  ] as const) {
    figures.push({
      figure: `3 start-up: gisbot --help (${label}), median of ${s.runs}`,
      value: ms(s.helpMs),
      bound: `≤ 1.5 × node -e 0 (${ms(s.nodeMs)}) = ${ms(s.nodeMs * 1.5)}`,
      ratio: `${(s.helpMs / s.nodeMs).toFixed(2)} × node`,
      met: s.helpMs / s.nodeMs <= 1.5,
    });
    figures.push({
      figure: `3 start-up: gisbot balance --json (${label}), median of ${s.runs}`,
      value: ms(s.balanceMs),
      bound: `≤ 3 × node -e 0 (${ms(s.nodeMs)}) = ${ms(s.nodeMs * 3)}`,
      ratio: `${(s.balanceMs / s.nodeMs).toFixed(2)} × node`,
      met: s.balanceMs / s.nodeMs <= 3,
    });
  }
  const MEMORY_BOUND_MB = 150; // peak RSS answering 10,000 reviews
  const peakRss = (figure: string, run: FootprintResult | null): Figure => ({
    figure,
    value: run ? mb(run.maxRssKb) : 'not measured (no cgroup)',
    bound: `≤ ${MEMORY_BOUND_MB} MB`,
    ratio: run ? (run.maxRssKb / 1024 / MEMORY_BOUND_MB).toFixed(3) : '—',
    met: run ? run.maxRssKb / 1024 <= MEMORY_BOUND_MB : null,
  });
  figures.push(
    peakRss('4 memory: peak RSS answering 10,000 reviews (V8 defaults on this host)', r.large),
    peakRss(`4 memory: the same in a ${CONTAINER_MB} MB container (a memory cgroup, V8 defaults: Node sizes its heap from the limit)`, r.contained),
    peakRss(`4 memory: the same with NODE_OPTIONS="${SMALL_HEAP_NODE_OPTIONS}" (README)`, r.smallHeap),
    peakRss('4 memory: the same, the built package (what an installed gisbot runs)', r.smallHeapBuilt),
  );
  const liveGrowth = r.large.liveHeapMb / r.small.liveHeapMb;
  figures.push({
    figure: '4 memory: flat as the count grows (steady live heap after full GCs, 10,000 ÷ 1,000 reviews)',
    value: `${r.large.liveHeapMb.toFixed(1)} MB ÷ ${r.small.liveHeapMb.toFixed(1)} MB`,
    bound: '≤ 1.25 (10 × the reviews)',
    ratio: liveGrowth.toFixed(3),
    met: liveGrowth <= 1.25,
  });
  figures.push({
    figure: '4 memory: peak RSS 10,000 ÷ 1,000 reviews',
    value: `${mb(r.large.maxRssKb)} ÷ ${mb(r.small.maxRssKb)}`,
    bound: '≤ 1.25',
    ratio: (r.large.maxRssKb / r.small.maxRssKb).toFixed(3),
    met: null,
  });
  figures.push({
    figure: '5 own CPU per review (user+sys − idle cycle, ÷ reviews), 10,000 reviews',
    value: `${r.large.cpuPerReviewMs.toFixed(2)} ms`,
    bound: '≤ 2 ms',
    ratio: (r.large.cpuPerReviewMs / 2).toFixed(3),
    met: r.large.cpuPerReviewMs <= 2,
  });
  // The statements of the counted throughput run: its reviews share their branches' pages as the 10,000 do (the
  // measured CPU run counts nothing, to keep its CPU clean).
  const statementsFloor = (perReview(r.wide.run.probe.sql ?? [], r.wide.posted).total * r.roundTrip.cpuUs) / 1000;
  const requests = twoGisRequestsPerReview(r.wide);
  figures.push({
    figure: "5 of which got's share over node's own http (2GIS requests per review × the difference per request)",
    value: `${((requests * (r.http.gotUs - r.http.nodeUs)) / 1000).toFixed(2)} ms`,
    bound: '≤ 2 ms',
    ratio: ((requests * (r.http.gotUs - r.http.nodeUs)) / 1000 / 2).toFixed(3),
    met: null,
  });
  figures.push({
    figure: '5 of which the database round trips alone (statements per review × CPU of one SELECT 1)',
    value: `${statementsFloor.toFixed(2)} ms`,
    bound: '≤ 2 ms',
    ratio: (statementsFloor / 2).toFixed(3),
    met: null,
  });
  const statements = (figure: string, sql: ReturnType<typeof perReview>, bound: number): Figure => ({
    figure,
    value: sql.total.toFixed(2),
    bound: `≤ ${bound}`,
    ratio: (sql.total / bound).toFixed(3),
    met: sql.total <= bound,
  });
  figures.push(
    statements(
      '6 database: statements per answered review (2,000 reviews, START/COMMIT included)',
      perReview(r.wide.run.probe.sql ?? [], r.wide.posted),
      STATEMENTS_PER_REVIEW,
    ),
    statements(
      '6 database: the same, 200 more reviews on top of 10,000, one per branch (alone on its page: no batching at intake)',
      perReview(r.large.sql?.templates ?? [], r.large.sql?.posted ?? 0),
      STATEMENTS_PER_LONE_REVIEW,
    ),
  );
  const scans = (r.large.sql?.plans ?? []).filter((plan) => plan.fullScan);
  figures.push({
    figure: '6 database: statements that scan a whole table (EXPLAIN, 10,000+ reviews)',
    value: String(scans.length),
    bound: '0',
    ratio: String(scans.length),
    met: scans.length === 0,
  });
  const sorts = r.history.withIndex.plan.some((row) => row.extra.includes('filesort'));
  figures.push({
    figure: `6 database: the repeat check (last 50 answers of a branch, every draft) on one branch of ${r.history.reviews.toLocaleString('en')} answered reviews`,
    value: `${r.history.withIndex.ms.toFixed(2)} ms${sorts ? ', reads and sorts all of them' : ', reads its 50 rows'}`,
    bound: `reads its 50 rows (before schema v4: ${r.history.withoutIndex.ms.toFixed(2)} ms)`,
    ratio: `${(r.history.withIndex.ms / r.history.withoutIndex.ms).toFixed(3)}`,
    met: !sorts,
  });
  for (const s of r.statsScale) {
    figures.push({
      figure: `7 stats: gisbot stats --json, ${s.branches} branches, ${s.reviews.toLocaleString('en')} reviews, the whole store (${s.backend}), median of ${s.runs}`,
      value: ms(s.allMs),
      bound: '< 1 s',
      ratio: (s.allMs / 1000).toFixed(3),
      met: s.allMs < 1000,
    });
    figures.push({
      figure: `7 stats: the same, the last 30 days (the default period; ${s.backend})`,
      value: ms(s.monthMs),
      bound: `< 1 s (balance --json: ${ms(s.baselineMs)})`,
      ratio: (s.monthMs / 1000).toFixed(3),
      met: s.monthMs < 1000,
    });
  }
  figures.push(...promptFigures(r.prompt));
  return figures;
}

/** The prompt's size per model call: reported without examples and with them, and the largest call against the bound. */
function promptFigures(p: PromptSize): Figure[] {
  return [
    {
      figure: `9 prompt characters per model call (all messages; ${p.calls} reviews against 30 of the owner's examples): without examples → with ${p.examples}`,
      value: `${p.withoutExamples} → ${p.withExamples}`,
      bound: `≤ ${p.bound.toLocaleString('en')} (PROMPT_CHARACTER_BOUND)`,
      ratio: `${(p.withExamples / p.withoutExamples).toFixed(2)} × without`,
      met: null,
    },
    {
      figure: '9 prompt characters: the largest call with examples',
      value: String(p.largest),
      bound: `≤ ${p.bound.toLocaleString('en')}`,
      ratio: (p.largest / p.bound).toFixed(3),
      met: p.largest <= p.bound,
    },
  ];
}

/** 2GIS requests of the throughput cycle (listing, re-reads, posts, login) per answered review. */
function twoGisRequestsPerReview(result: ThroughputResult): number {
  const calls = (result.run.probe.http ?? []).filter((call) => call.call.includes('/api/1.0/'));
  return calls.reduce((sum, call) => sum + call.count, 0) / Math.max(1, result.posted);
}

function perReview(templates: readonly SqlTemplate[], posted: number): { total: number; data: number } {
  const { total, data } = countStatements(templates);
  return { total: total / Math.max(1, posted), data: data / Math.max(1, posted) };
}

// ---------------------------------------------------------------- output

function table(figures: readonly Figure[]): string[] {
  const rows = figures.map((f) => [f.figure, f.value, f.bound, f.ratio, f.met === null ? '—' : f.met ? 'met' : 'NOT MET']);
  const header = ['figure', 'value', 'bound', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function report(r: Results & { figures: Figure[]; elapsed: number; load: { before: number; after: number } }): string {
  const m: Machine = machine();
  const cpuModel = m.cpuModel;
  const lines: string[] = [];
  lines.push('# Benchmarks');
  lines.push('');
  lines.push('Written by `npm run bench` (`node bench/run.ts`, the pinned node). Every figure below is from one run on this');
  lines.push('machine; the command reproduces it. The sandboxes of `src/sandbox/` stand for 2GIS and the model on loopback,');
  lines.push('the database is the local MariaDB (a fresh database per scenario, dropped after), and every gisbot process is');
  lines.push('the real binary (`bin/gisbot.ts` unless a row says "built package"), measured from inside by `bench/probe.ts`');
  lines.push('(`process.resourceUsage()` at exit: user and system CPU, peak RSS; SQL statements through mysql2\'s diagnostics');
  lines.push('channel, only in the runs that count them).');
  lines.push('');
  lines.push(`- machine: ${m.cpus} CPUs (\`nproc\`), ${cpuModel}, ${m.memoryGb} GB memory, ${m.os}`);
  lines.push(`- Node ${m.node}; MariaDB ${mariadb}`);
  lines.push(`- date: ${m.date}; the whole benchmark took ${r.elapsed.toFixed(0)} s; load average (1 min) ${r.load.before.toFixed(2)} before, ${r.load.after.toFixed(2)} after`);
  lines.push('  (the machine is shared: other work running at the same time slows the wall times and inflates CPU and RSS)');
  lines.push('- command: `npm run bench` (`npm test` checks the counts in small, `test/bench/counts.test.ts`; timings only here)');
  lines.push('');
  lines.push('| figure | value | bound | ratio | target |');
  lines.push('|---|---|---|---|---|');
  for (const f of r.figures) lines.push(`| ${f.figure} | ${f.value} | ${f.bound} | ${f.ratio} | ${f.met === null ? '—' : f.met ? 'met' : '**not met**'} |`);
  lines.push('');
  lines.push(...details(r));
  return `${lines.join('\n')}\n`;
}

function details(r: Results & { figures: Figure[] }): string[] {
  const lines: string[] = [];
  const wideSql = perReview(r.wide.run.probe.sql ?? [], r.wide.posted);
  lines.push('## 1. Throughput');
  lines.push('');
  lines.push(`One \`poll-once\` over ${r.wide.reviews} new reviews in ${r.wide.branches} branches with \`polling.concurrency\` ${r.wide.concurrency}; the model`);
  lines.push(`sandbox answers each request after ${r.wide.latencyMs} ms. Ideal: reviews × latency ÷ concurrency = ${seconds(r.wide.idealMs)}. Measured from`);
  lines.push('spawning the process to its exit: start-up, migration check, intake of every branch, answering, delivery of');
  lines.push(`the events over the WebSocket. Posted ${r.wide.posted}; the model answered ${r.wide.completions} completions; gisbot's own CPU`);
  lines.push(`${seconds(r.wide.run.probe.userMs + r.wide.run.probe.systemMs)}, peak RSS ${mb(r.wide.run.probe.maxRssKb)}.`);
  lines.push('');
  lines.push(`Concurrency 1 on a proportional subset (${r.narrow.reviews} reviews in ${r.narrow.branches} branches, same latency): ${seconds(r.narrow.wallMs)}, ideal`);
  lines.push(`${seconds(r.narrow.idealMs)}; ${(r.narrow.wallMs / r.narrow.reviews).toFixed(0)} ms per review against ${(r.wide.wallMs / r.wide.reviews).toFixed(1)} ms at concurrency ${r.wide.concurrency}.`);
  lines.push('');
  if (r.wide.run.probe.http) {
    lines.push('Where a review\'s time goes (summed over all lanes, ÷ answered reviews; from the counted run):');
    lines.push('');
    lines.push('| call | count | ms per review | ms each |');
    lines.push('|---|---|---|---|');
    for (const call of [...r.wide.run.probe.http].sort((a, b) => b.totalMs - a.totalMs)) {
      lines.push(`| ${call.call} | ${call.count} | ${(call.totalMs / r.wide.posted).toFixed(2)} | ${(call.totalMs / call.count).toFixed(2)} |`);
    }
    const sqlMs = (r.wide.run.probe.sql ?? []).reduce((sum, t) => sum + t.totalMs, 0);
    lines.push(`| SQL statements (all) | ${countStatements(r.wide.run.probe.sql ?? []).total} | ${(sqlMs / r.wide.posted).toFixed(2)} | ${(sqlMs / Math.max(1, countStatements(r.wide.run.probe.sql ?? []).total)).toFixed(2)} |`);
    lines.push('');
  }
  const wideRatio = r.wide.wallMs / r.wide.idealMs;
  const laneMs = (r.wide.wallMs * r.wide.concurrency) / r.wide.reviews;
  const accountWaits = (r.wide.run.probe.sql ?? []).filter((t) => t.template.startsWith('UPDATE business_accounts'));
  const accountMs = accountWaits.reduce((sum, t) => sum + t.totalMs, 0) / Math.max(1, r.wide.posted);
  lines.push(`**Where the time over the ideal goes.** Each lane spends ${laneMs.toFixed(1)} ms per review against the model's ${r.wide.latencyMs} ms`);
  lines.push(`(${wideRatio.toFixed(3)} × the ideal). Besides the model call, a lane's path for one review is the claim with its reserve (one`);
  lines.push('transaction, 5 statements), the draft\'s save beside the 2GIS re-read, the fence (1 statement) and the POST; the');
  lines.push('branch\'s recent answers (the repeat check) are read while the model writes, and the settlement (10 statements: the');
  lines.push('charge, ledger entry, event, outbox row, dialogue) runs while the lane claims its next review. Intake and the event');
  lines.push('relay run beside the lanes. On this 2-core machine, which also runs MariaDB and both sandboxes, each statement waits');
  lines.push(`~0.5-1 ms rather than its bare round trip, and the reserve and the charge update the one account row (every answer's`);
  lines.push(`money goes through it): those two statements took ${accountMs.toFixed(1)} ms per review, waits for each other included. The 2GIS`);
  lines.push(`client's HTTP library adds its share: a GET costs ${r.http.gotUs.toFixed(0)} µs of CPU through got against ${r.http.nodeUs.toFixed(0)} µs through node's own http`);
  lines.push('(measured here, server included in both); got stays because the project\'s package set requires it.');
  lines.push('');
  lines.push('## 2. Idle poll');
  lines.push('');
  lines.push(`${r.idle.branches} branches whose one review an earlier cycle took in; 2GIS (the sandbox) answers every request after`);
  lines.push(`${r.idle.latencyMs} ms; concurrency ${r.idle.concurrency}. The measured cycle made ${r.idle.listRequests} review-list requests and ${r.idle.allRequests} requests in all (the`);
  lines.push(`login, the account and the branch pages). Ideal wall time: (discovery requests + branches ÷ concurrency) × latency =`);
  lines.push(`${seconds(r.idle.idealMs)}; measured ${seconds(r.idle.wallMs)}, start-up included.`);
  lines.push('');
  lines.push(`The sweep (\`polling.sweepDays\`, 7): ${r.sweep.branches} branches with ${r.sweep.reviewsPerBranch} answered reviews each, all within the last 7 days. A cycle`);
  lines.push(`that sweeps every branch made ${r.sweep.sweptPerBranch.toFixed(2)} review-list requests per branch (50 reviews a page, down to the sweep's reach);`);
  lines.push(`one between sweeps ${r.sweep.unsweptPerBranch.toFixed(2)}. At the default \`polling.sweepIntervalMinutes\` (180) that averages out over the cycles`);
  lines.push('between two sweeps as in the table.');
  lines.push('');
  lines.push('## 3. Start-up');
  lines.push('');
  lines.push(`Medians of ${r.fromSource.runs} interleaved runs each, the same node for all; \`balance --json\` against a migrated database (it`);
  lines.push('connects, checks the schema version and reads the account). "Built package" is `npm run build`\'s `dist/`, built');
  lines.push('into a temporary folder: what an installed `gisbot` runs. `bin/gisbot.ts` is what `npm run gisbot` (and the');
  lines.push('README\'s cron line) runs: Node strips the types of every module it loads on each start. gisbot turns on');
  lines.push('Node\'s compile cache (`module.enableCompileCache()`, V8\'s code kept on disk), warm here as after a first start.');
  lines.push('');
  lines.push('| entry | node -e 0 | --help | balance --json | balance --json, compile cache off |');
  lines.push('|---|---|---|---|---|');
  for (const [label, s] of [
    ['bin/gisbot.ts', r.fromSource],
    ['built package', r.fromPackage],
  ] as const) {
    lines.push(`| ${label} | ${ms(s.nodeMs)} | ${ms(s.helpMs)} (${(s.helpMs / s.nodeMs).toFixed(2)} ×) | ${ms(s.balanceMs)} (${(s.balanceMs / s.nodeMs).toFixed(2)} ×) | ${ms(s.balanceUncachedMs)} (${(s.balanceUncachedMs / s.nodeMs).toFixed(2)} ×) |`);
  }
  lines.push('');
  const notMet = r.figures.filter((f) => f.figure.startsWith('3 ') && f.met === false).length;
  if (notMet > 0 && r.fromSource.floors) {
    const floors = r.fromSource.floors;
    const x = (name: string) => ((floors[name] ?? 0) / r.fromSource.nodeMs).toFixed(2);
    lines.push(`**Why the start-up targets are not met.** They are ratios to a bare \`node -e 0\`, and the fixed costs below are paid`);
    lines.push(`before gisbot's own code does anything: from the checkout, node's type stripping alone is ${x('node empty.ts (type stripping)')} × node; commander`);
    lines.push(`(the command line, needed for \`--help\`) is ${x("import('commander')")} ×; \`balance --json\` also needs the config's schema`);
    lines.push(`(zod, ${x("import('zod')")} ×) and search (cosmiconfig, ${x("import('cosmiconfig')")} ×) and the MySQL driver (mysql2, ${x("import('mysql2/promise')")} ×) before`);
    lines.push('its first byte reaches the database. Nothing else loads: the adapters, the model SDK, chalk, franc and the');
    lines.push('WebSocket client come only with the commands that use them.');
    const node = r.fromSource.nodeMs;
    const imports = ["import('commander')", "import('zod')", "import('cosmiconfig')", "import('mysql2/promise')"];
    const importsMs = node + imports.reduce((sum, name) => sum + Math.max(0, (floors[name] ?? node) - node), 0);
    lines.push(`Added up (node, then each import's time beyond node's), those four imports come to ${ms(importsMs)},`);
    lines.push(`${(importsMs / node).toFixed(2)} × node, before \`balance --json\` runs a line of its own: the 3 × bound is out of reach with them.`);
    lines.push(`\`--help\` needs only commander; the rest of the built \`--help\`, ${ms(r.fromPackage.helpMs - (floors["import('commander')"] ?? 0))}, is gisbot's`);
    lines.push('command table, its messages and the help text.');
    lines.push('');
  }
  if (r.fromSource.floors) {
    lines.push('What a start pays before any of gisbot\'s own code runs (medians, the same node; each import alone, with a warm');
    lines.push('compile cache as gisbot has):');
    lines.push('');
    lines.push('| fixed cost | median | × node -e 0 |');
    lines.push('|---|---|---|');
    lines.push(`| node -e 0 | ${ms(r.fromSource.nodeMs)} | 1.00 |`);
    for (const [name, value] of Object.entries(r.fromSource.floors)) {
      lines.push(`| ${name} | ${ms(value)} | ${(value / r.fromSource.nodeMs).toFixed(2)} |`);
    }
    lines.push('');
  }
  lines.push('## 4, 5. Memory and own CPU');
  lines.push('');
  lines.push('One `poll-once` answering N reviews spread over 200 branches, the model answering at once, concurrency 8; the');
  lines.push('idle baseline is a `poll-once` over the same 200 branches with nothing new, run just before.');
  lines.push('');
  lines.push('| reviews | entry | memory | NODE_OPTIONS | posted | peak RSS | live heap after full GCs (median, 2nd half) | CPU (user+sys) | idle baseline | CPU per review | wall |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const f of [r.small, r.large, ...(r.contained ? [r.contained] : []), r.smallHeap, r.smallHeapBuilt]) {
    lines.push(
      `| ${f.reviews} | ${f.entry} | ${f.limitMb === null ? 'the host' : `${f.limitMb} MB cgroup`} | ${f.nodeOptions ? `\`${f.nodeOptions}\`` : '—'} | ${f.posted} | ${mb(f.maxRssKb)} | ${f.liveHeapMb.toFixed(1)} MB | ${seconds(f.cpuMs)} | ${seconds(f.baselineCpuMs)} | ${f.cpuPerReviewMs.toFixed(2)} ms | ${seconds(f.wallMs)} |`,
    );
  }
  lines.push('');
  lines.push(`**Memory.** What gisbot holds is flat: ${r.small.liveHeapMb.toFixed(1)} MB of heap left after a full collection (the median over the`);
  lines.push(`second half of the run) at 1,000 reviews, ${r.large.liveHeapMb.toFixed(1)} MB at 10,000 (most of it compiled code and module sources).`);
  lines.push('The peak RSS above that is how V8 sizes its heap for the memory it sees: on this host (23.5 GB) a young');
  lines.push('generation of up to 2 × 16 MB and an old generation allowed to grow to 3-4 × the live heap between full');
  lines.push(`collections while the process allocates flat out, on top of node's own resident code (${mb(r.nodeRssKb)} for \`node -e 0\`).`);
  if (r.contained) {
    lines.push(`In a ${CONTAINER_MB} MB container (a memory cgroup, as Docker or systemd's MemoryMax= set) Node sizes the heap from the limit, and`);
    lines.push(`the same 10,000 reviews peak at ${mb(r.contained.maxRssKb)} with no option at all, for ${r.contained.cpuPerReviewMs.toFixed(2)} ms of CPU per review (collections run`);
    lines.push(`more often) against ${r.large.cpuPerReviewMs.toFixed(2)} ms on the whole host.`);
  }
  lines.push(`On a large host the README's NODE_OPTIONS do the same: ${mb(r.smallHeap.maxRssKb)} from the checkout (${r.smallHeap.cpuPerReviewMs.toFixed(2)} ms of CPU per review),`);
  lines.push(`${mb(r.smallHeapBuilt.maxRssKb)} as the built package, which has no types to strip (node's type stripper is resident in every run from the`);
  lines.push('checkout). The defaults are left to Node on purpose: a flag in the shebang would override a user\'s own NODE_OPTIONS.');
  lines.push('From run to run the peaks move by about ±5 MB with the timing of the collections.');
  lines.push('');
  const statements = perReview(r.wide.run.probe.sql ?? [], r.wide.posted).total;
  const floor = (statements * r.roundTrip.cpuUs) / 1000;
  lines.push(`**CPU.** One SQL round trip to the local MariaDB costs this process ${r.roundTrip.cpuUs.toFixed(0)} µs of CPU on this machine (\`SELECT 1\`,`);
  lines.push(`measured: mysql2's work plus the loopback socket's system calls; ${r.roundTrip.wallUs.toFixed(0)} µs of wall time). At ${statements.toFixed(1)} statements per`);
  lines.push(`answered review that alone is ${floor.toFixed(2)} ms of the ${r.large.cpuPerReviewMs.toFixed(2)} ms; the rest is the HTTP exchanges with 2GIS (list, re-read,`);
  lines.push(`post: ~${twoGisRequestsPerReview(r.wide).toFixed(1)} requests a review through got, ${r.http.gotUs.toFixed(0)} µs each against ${r.http.nodeUs.toFixed(0)} µs through node's`);
  lines.push('own http), the model call through the OpenAI SDK, the reply gate and language check, the log line and the WebSocket');
  lines.push('notification. Every statement left is one the guarantees need (RELIABILITY.md): a claim, a reserve, the fence,');
  lines.push('the settlement with its ledger entry, event and outbox row.');
  lines.push('');
  lines.push('## 6. Database');
  lines.push('');
  lines.push(`Statements per answered review: ${wideSql.total.toFixed(2)} in all, ${wideSql.data.toFixed(2)} without START TRANSACTION/COMMIT/SET`);
  lines.push(`(2,000 reviews); the bound is ${STATEMENTS_PER_REVIEW}: 18.6 by design for each review (taking it in: one transaction of 6`);
  lines.push('statements per page of 10 new reviews, 0.6 a review, and the page\'s dedup look-up, 0.1; the claim with its reserve: 5;');
  lines.push('the repeat check: 1; the draft: 1; the fence before the POST: 1; the settlement with the charge, ledger entry,');
  lines.push('event, outbox row and dialogue: 10), the outbox relay (a SELECT and a DELETE per batch of events gathered over');
  lines.push('100 ms) and, per cycle, a fixed few (session set-up, schema check, reconcile, the lanes\' last empty claims).');
  lines.push(`A review alone on its branch's page (the second row) pays its intake alone, 7 statements instead of ~0.7: ~25 by design,`);
  lines.push(`bound ${STATEMENTS_PER_LONE_REVIEW}.`);
  lines.push(`None depends on how many reviews the tables hold. Every statement of the ${r.wide.reviews}-review cycle, by template:`);
  lines.push('');
  lines.push('| count | per review | ms each | statement |');
  lines.push('|---|---|---|---|');
  for (const t of [...(r.wide.run.probe.sql ?? [])].sort((a, b) => b.count - a.count)) {
    lines.push(`| ${t.count} | ${(t.count / r.wide.posted).toFixed(2)} | ${(t.totalMs / t.count).toFixed(2)} | \`${clip(t.template)}\` |`);
  }
  lines.push('');
  const h = r.history;
  const planText = (plan: readonly PlanRow[]) => plan.map((row) => `${row.type} on ${row.key ?? 'no key'}, ~${row.rows} rows${row.extra ? ` (${row.extra})` : ''}`).join('; ');
  lines.push(`**The one statement that grew with a branch's history.** The repeat check (\`Store.recentAnswers\`, on every draft)`);
  lines.push(`asks for a branch's last 50 answers. On a branch of ${h.reviews.toLocaleString('en')} answered reviews (one branch, some years of`);
  lines.push(`answers), with schema version 4's index \`${BRANCH_INDEX}\` it reads newest first and stops at 50:`);
  lines.push(`${planText(h.withIndex.plan)}, ${h.withIndex.ms.toFixed(2)} ms a draft. On the schema before it (an index on branch_id alone)`);
  lines.push(`MariaDB read all of them and sorted them: ${planText(h.withoutIndex.plan)}, ${h.withoutIndex.ms.toFixed(2)} ms.`);
  lines.push('');
  lines.push('**stats on a large store.** 200 branches and 100,000 reviews over half a year (outcomes, ratings, charges, tokens,');
  lines.push('times to answer, a topic on each complaint) written straight into a migrated database; `gisbot stats --json` is the');
  lines.push('real binary, start-up included (`balance --json` beside it shows what start-up alone costs). How each database reads');
  lines.push("the period's reviews for the last 30 days:");
  lines.push('');
  for (const s of r.statsScale) lines.push(`- ${s.backend}: ${s.plan.join('; ')}`);
  lines.push('');
  lines.push(`EXPLAIN of every data statement of a cycle of ${r.large.sql?.reviews ?? 0} reviews run on top of the ${r.large.reviews} (as sent, with its`);
  lines.push('values): a plan row of type ALL or index over more than 200 rows counts as a whole-table scan.');
  lines.push('');
  lines.push('| statement | table: type, key, rows | whole-table scan |');
  lines.push('|---|---|---|');
  for (const plan of explained(r.large.sql?.plans ?? [])) {
    const rows = plan.rows.map((row) => `${row.table || '—'}: ${row.type || '—'}, ${row.key ?? 'no key'}, ${row.rows}`).join('; ');
    lines.push(`| \`${clip(plan.template)}\` | ${rows} | ${plan.fullScan ? '**yes**' : 'no'} |`);
  }
  lines.push('');
  lines.push("## 9. The prompt's size (the owner's voice)");
  lines.push('');
  lines.push(`Characters of every message of one model call (system prompt \`You answer reviews.\`, the answer plan, the review), averaged`);
  lines.push(`over the ${r.prompt.calls} held-out reviews of \`test/fixtures/voice-pairs.ts\` drafted at a branch holding 30 of the owner's examples:`);
  lines.push(`${r.prompt.withoutExamples} without examples (\`voice.examples: 0\`, byte for byte the prompt before issue 22), ${r.prompt.withExamples} with the default ${r.prompt.examples}`);
  lines.push(`(the largest call ${r.prompt.largest}). Each example's review and answer are cut to 700 characters (EXAMPLE_TEXT_LIMIT), and examples are`);
  lines.push(`left out, the least similar first, so that the whole call stays under ${r.prompt.bound.toLocaleString('en')} characters (PROMPT_CHARACTER_BOUND, src/core/drafting/prompt.ts);`);
  lines.push('a system prompt past the bound by itself gets none. `node bench/run.ts --prompt-only` measures this alone.');
  lines.push('');
  return lines;
}

function explained(plans: readonly Plan[]): Plan[] {
  return [...plans].sort((a, b) => b.count - a.count);
}

function clip(sql: string): string {
  const text = sql.replaceAll('|', '\\|');
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

async function mariadbVersion(): Promise<string> {
  const world = await openWorld(1);
  try {
    const [row] = await queryDatabase(world.db.url, 'SELECT VERSION() AS version');
    return String(row?.version ?? 'unknown');
  } finally {
    await world.close();
  }
}

function seconds(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

function mb(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MB`;
}
