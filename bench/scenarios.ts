// The measured scenarios. Each takes its sizes as arguments: `npm run bench` runs them at the issue's sizes,
// test/bench/ratios.test.ts at small ones. Every scenario opens its own worlds (own databases) and closes them.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import got from 'got';
import path from 'node:path';
import { cpuMs, median, mustRun, openWorld, ROOT, seed, type Run, type World } from './harness.ts';
import { templateOf, type SqlTemplate } from './probe.ts';
import { createConnection } from 'mysql2/promise';
import { tracingChannel } from 'node:diagnostics_channel';
import { createMysqlStore, parseMysqlUrl } from '../src/adapters/store/mysql.ts';
import { queryDatabase } from '../test/support/mysql.ts';
import { querySqlite } from '../test/support/sqlite.ts';
import { World as TestWorld } from '../test/support/world.ts';
import { loadSqlite } from '../src/adapters/store/sqlite.ts';

const REVIEW_LIST = /^presence\/branch\/[^/]+\/reviews$/;

/** The answering path's statements per answered review, START TRANSACTION and COMMIT included (see BENCHMARKS.md). */
export const STATEMENTS_PER_REVIEW = 22;

/**
 * The same when each review comes alone on its branch's page (200 reviews in 200 branches): nothing to batch at
 * intake, so it pays its own dedup look-up and transaction (7 statements instead of ~0.7).
 */
export const STATEMENTS_PER_LONE_REVIEW = 28;

/** V8 sized for a small host (README): semi-spaces of 2 MB, old generation capped at 192 MB (~6 × what gisbot holds). */
export const SMALL_HEAP_NODE_OPTIONS = '--max-semi-space-size=2 --max-old-space-size=192';

// ---------------------------------------------------------------- 1. throughput

export interface ThroughputResult {
  reviews: number;
  branches: number;
  concurrency: number;
  latencyMs: number;
  posted: number;
  /** Chat completions the model sandbox answered (1 per review unless a draft was regenerated). */
  completions: number;
  wallMs: number;
  /** reviews × latency / concurrency */
  idealMs: number;
  run: Run;
}

/** One `poll-once` over `reviews` new reviews in `branches` branches, the model taking `latencyMs` per call. */
export async function throughput(options: { reviews: number; branches: number; concurrency: number; latencyMs: number; sql?: boolean }): Promise<ThroughputResult> {
  const world = await openWorld(options.concurrency);
  try {
    await mustRun(world, ['balance', 'add', String(options.reviews * 5 + 100), '--yes']);
    seed(world, options.branches, Math.ceil(options.reviews / options.branches));
    world.model.latencyMs = options.latencyMs;
    const run = await mustRun(world, ['poll-once', '--json'], { sql: options.sql ?? false });
    const summary = JSON.parse(run.stdout) as { posted: number };
    return {
      ...options,
      posted: summary.posted,
      completions: world.model.completions,
      wallMs: run.wallMs,
      idealMs: (options.reviews * options.latencyMs) / options.concurrency,
      run,
    };
  } finally {
    await world.close();
  }
}

// ---------------------------------------------------------------- 2b. answers read back once more (issue 21)

export interface AnswerRecheckResult {
  waves: number;
  posted: number;
  /** GETs of a review after our answer to it was posted: its recheck (twogis.recheckAfterHours). */
  rechecks: number;
  /** Answers read back more than once: must be none. */
  readTwice: number;
  /** The most rechecks one `poll-once` made (ANSWER_RECHECKS_PER_CYCLE caps it). */
  mostInOneRun: number;
  runs: number;
}

/**
 * A day compressed: `waves` cycles (`poll-once`), each bringing `perWave` new reviews over `branches` branches, one
 * of them (the middle) a rush of `rush`; twogis.recheckAfterHours 0.0005 (1.8 s) brings each answer's recheck due a
 * cycle or two later, so rechecks and new answers share cycles as on a real day. Then cycles until every answer
 * came due and was read back. Counts 2GIS's requests, not time.
 */
export async function answerRechecks(options: { waves: number; perWave: number; rush: number; branches: number }): Promise<AnswerRecheckResult> {
  const world = await TestWorld.start();
  try {
    await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ polling: { concurrency: 8 }, twogis: { recheckAfterHours: 0.0005 } }));
    const branchIds = Array.from({ length: options.branches }, (_, b) => `95${String(b).padStart(8, '0')}`);
    for (const [b, id] of branchIds.entries()) world.twogis.addBranch({ id, name: `Кофейня №${b + 1}`, orgId: '100' });
    const total = options.waves * options.perWave + options.rush - options.perWave;
    const topUp = await world.run(['balance', 'add', String(total * 5 + 100), '--yes']);
    if (topUp.code !== 0) throw new Error(topUp.stderr);
    const postedAt = new Map<string, number>();
    const readsAfter = new Map<string, number>();
    let seen = 0;
    let mostInOneRun = 0;
    let runs = 0;
    const poll = async () => {
      const result = await world.run(['poll-once', '--json']);
      if (result.code !== 0) throw new Error(`poll-once exited ${result.code}: ${result.stderr}`);
      runs += 1;
      let inRun = 0;
      for (const request of world.twogis.requests.slice(seen)) {
        const posted = /^presence\/reviews\/(\d+)\/comments$/.exec(request.path);
        if (request.method === 'POST' && posted) postedAt.set(posted[1]!, request.at);
        const read = /^presence\/reviews\/(\d+)$/.exec(request.path);
        if (request.method === 'GET' && read && postedAt.has(read[1]!)) {
          readsAfter.set(read[1]!, (readsAfter.get(read[1]!) ?? 0) + 1);
          inRun += 1;
        }
      }
      seen = world.twogis.requests.length;
      mostInOneRun = Math.max(mostInOneRun, inRun);
    };
    let serial = 0;
    for (let wave = 0; wave < options.waves; wave += 1) {
      const arriving = wave === Math.floor(options.waves / 2) ? options.rush : options.perWave;
      for (let n = 0; n < arriving; n += 1) {
        serial += 1;
        world.twogis.addReview(branchIds[serial % branchIds.length]!, { id: `95${String(serial).padStart(7, '0')}`, rating: 5, text: `Отзыв ${serial}` });
      }
      await poll();
    }
    // The last answers come due 1.8–1.98 s after their post; the cap leaves a rush's rest to the cycles after.
    for (let tail = 0; tail < Math.ceil(total / 20) + 2 && [...postedAt.keys()].some((id) => !readsAfter.has(id)); tail += 1) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await poll();
    }
    const rechecks = [...readsAfter.values()].reduce((a, b) => a + b, 0);
    return {
      waves: options.waves,
      posted: postedAt.size,
      rechecks,
      readTwice: [...readsAfter.values()].filter((count) => count > 1).length,
      mostInOneRun,
      runs,
    };
  } finally {
    await world.close();
  }
}

// ---------------------------------------------------------------- 2. idle poll

export interface IdleResult {
  branches: number;
  concurrency: number;
  latencyMs: number;
  /** GETs of a branch's review list during the measured cycle. */
  listRequests: number;
  /** Every 2GIS request of the measured cycle (the login and the branch discovery included). */
  allRequests: number;
  wallMs: number;
  /** (discovery requests + branches / concurrency) × latency */
  idealMs: number;
  run: Run;
}

/**
 * `branches` branches whose reviews were all taken in by an earlier cycle; the measured `poll-once` should ask
 * each branch for one page and stop. 2GIS answers every request after `latencyMs`.
 */
export async function idlePoll(options: { branches: number; concurrency: number; latencyMs: number }): Promise<IdleResult> {
  const world = await openWorld(options.concurrency);
  try {
    seed(world, options.branches, 1, { answered: true });
    await mustRun(world, ['poll-once', '--json']);
    world.twogis.latencyMs = options.latencyMs;
    const before = world.twogis.requests.length;
    const run = await mustRun(world, ['poll-once', '--json']);
    const requests = world.twogis.requests.slice(before);
    const listRequests = requests.filter((request) => REVIEW_LIST.test(request.path)).length;
    const discovery = requests.length - listRequests;
    return {
      ...options,
      listRequests,
      allRequests: requests.length,
      wallMs: run.wallMs,
      idealMs: (discovery + options.branches / options.concurrency) * options.latencyMs,
      run,
    };
  } finally {
    await world.close();
  }
}

export interface SweepResult {
  branches: number;
  reviewsPerBranch: number;
  /** Review-list requests per branch in a cycle that sweeps every branch, and in one that sweeps none. */
  sweptPerBranch: number;
  unsweptPerBranch: number;
}

/**
 * The sweep's cost (polling.sweepDays): `branches` branches with `reviewsPerBranch` answered reviews each, all
 * inside the sweep's reach; one cycle with every branch due for its sweep (sweepIntervalMinutes 0), one with none.
 */
export async function sweepCost(options: { branches: number; reviewsPerBranch: number }): Promise<SweepResult> {
  const world = await openWorld(8);
  try {
    seed(world, options.branches, options.reviewsPerBranch, { answered: true });
    await mustRun(world, ['poll-once', '--json']);
    const listRequests = async (config: object) => {
      await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ polling: { concurrency: 8, ...config } }));
      const before = world.twogis.requests.length;
      await mustRun(world, ['poll-once', '--json']);
      return world.twogis.requests.slice(before).filter((request) => REVIEW_LIST.test(request.path)).length / options.branches;
    };
    const sweptPerBranch = await listRequests({ sweepIntervalMinutes: 0 });
    const unsweptPerBranch = await listRequests({ sweepIntervalMinutes: 24 * 60 });
    return { ...options, sweptPerBranch, unsweptPerBranch };
  } finally {
    await world.close();
  }
}

// ---------------------------------------------------------------- 3. start-up

export interface StartupResult {
  runs: number;
  /** Medians, ms. */
  nodeMs: number;
  helpMs: number;
  balanceMs: number;
  /** `balance --json` with the compile cache off (NODE_DISABLE_COMPILE_CACHE=1), as before a first start. */
  balanceUncachedMs: number;
  /** With `floors`: medians of what any start of this shape pays before gisbot's own code runs, ms. */
  floors?: Record<string, number>;
}

/** Fixed costs: node type-stripping an empty .ts file, and importing each heavy dependency alone. */
const FLOORS: Record<string, string[]> = {
  'node empty.ts (type stripping)': [],
  "import('commander')": ['--input-type=module', '-e', "await import('commander')"],
  "import('zod')": ['--input-type=module', '-e', "await import('zod')"],
  "import('cosmiconfig')": ['--input-type=module', '-e', "await import('cosmiconfig')"],
  "import('mysql2/promise')": ['--input-type=module', '-e', "await import('mysql2/promise')"],
};

/**
 * Medians of `runs` interleaved runs of `node -e 0`, `gisbot --help` and `gisbot balance --json` (the latter on
 * a migrated database), all by this very node. `entry` is the gisbot script: bin/gisbot.ts, or a built one.
 */
export async function startup(options: { runs: number; entry: string; floors?: boolean }): Promise<StartupResult> {
  const world = await openWorld(4);
  const empty = path.join(world.dir, 'empty.ts');
  await writeFile(empty, '');
  try {
    await mustRun(world, ['balance', 'add', '100', '--yes']);
    const env = world.env();
    const time = (args: string[], cwd = world.dir, extraEnv: NodeJS.ProcessEnv = {}): number => {
      const started = performance.now();
      const result = spawnSync(process.execPath, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = performance.now() - started;
      if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
      return ms;
    };
    const node: number[] = [];
    const help: number[] = [];
    const balance: number[] = [];
    const balanceUncached: number[] = [];
    for (let i = 0; i < 2; i += 1) time([options.entry, 'balance', '--json']); // warm the disk cache
    for (let i = 0; i < options.runs; i += 1) {
      node.push(time(['-e', '0']));
      help.push(time([options.entry, '--help']));
      balance.push(time([options.entry, 'balance', '--json']));
      balanceUncached.push(time([options.entry, 'balance', '--json'], world.dir, { NODE_DISABLE_COMPILE_CACHE: '1' }));
    }
    const result: StartupResult = {
      runs: options.runs,
      nodeMs: median(node),
      helpMs: median(help),
      balanceMs: median(balance),
      balanceUncachedMs: median(balanceUncached),
    };
    if (options.floors) {
      result.floors = {};
      // gisbot keeps V8's compiled code on disk (bin/gisbot.ts), so each floor gets a warm cache of its own too.
      const cached = { NODE_COMPILE_CACHE: path.join(world.dir, 'compile-cache') };
      for (const [name, args] of Object.entries(FLOORS)) {
        const floor = () => time(args.length === 0 ? [empty] : args, ROOT, cached);
        floor();
        const runs = Array.from({ length: options.runs }, floor);
        result.floors[name] = median(runs);
      }
    }
    return result;
  } finally {
    await world.close();
  }
}

// ---------------------------------------------------------------- 4, 5. memory and own CPU; 6. database

export interface FootprintResult {
  reviews: number;
  branches: number;
  /** NODE_OPTIONS of the measured process, if any. */
  nodeOptions: string | null;
  /** The memory limit it ran under (a control group), MB; null: the whole host. */
  limitMb: number | null;
  /** 'bin/gisbot.ts' or 'built package'. */
  entry: string;
  posted: number;
  maxRssKb: number;
  /** The largest heap in use right after a full collection: what the process holds, garbage aside. */
  liveHeapMb: number;
  /** user+sys of the answering run and of an idle cycle over the same branches. */
  cpuMs: number;
  baselineCpuMs: number;
  /** (cpuMs − baselineCpuMs) / reviews */
  cpuPerReviewMs: number;
  wallMs: number;
  /** With `probeSql`: a further cycle of `probeSql` reviews on top, its statements counted and EXPLAINed. */
  sql?: { reviews: number; posted: number; templates: SqlTemplate[]; plans: Plan[] };
}

/**
 * One `poll-once` answering `reviews` reviews in `branches` branches, the model answering at once, measured by
 * the probe (nothing else counted in that process: no SQL tracing). With `probeSql`, one more cycle of that many
 * reviews runs on the now large tables with the statements counted, and each statement is EXPLAINed there.
 */
export async function footprint(options: {
  reviews: number;
  branches: number;
  concurrency: number;
  probeSql?: number;
  nodeOptions?: string;
  /** The gisbot script to run; default bin/gisbot.ts. */
  entry?: string;
  /** A memory control group the measured poll-once starts in (as a container or a small host; memoryLimitedGroup). */
  limit?: { procs: string; megabytes: number };
}): Promise<FootprintResult> {
  const env: Record<string, string> = options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {};
  const entry = { ...(options.entry ? { entry: options.entry } : {}), ...(options.limit ? { cgroupProcs: options.limit.procs } : {}) };
  const world = await openWorld(options.concurrency);
  try {
    await mustRun(world, ['balance', 'add', String((options.reviews + (options.probeSql ?? 0)) * 5 + 100), '--yes']);
    const { branchIds } = seed(world, options.branches, 0);
    const baseline = await mustRun(world, ['poll-once', '--json'], { env, ...entry });
    const add = (count: number, tag: string) => {
      for (let n = 0; n < count; n += 1) {
        const branchId = branchIds[n % branchIds.length]!;
        world.twogis.addReview(branchId, { id: `${branchId}${tag}${String(n).padStart(6, '0')}`, rating: 5, text: `Всё понравилось, кофе отличный (${n + 1})` });
      }
    };
    add(options.reviews, '1');
    const run = await mustRun(world, ['poll-once', '--json'], { env, ...entry });
    const posted = (JSON.parse(run.stdout) as { posted: number }).posted;
    const result: FootprintResult = {
      reviews: options.reviews,
      branches: options.branches,
      nodeOptions: options.nodeOptions ?? null,
      entry: options.entry ? 'built package' : 'bin/gisbot.ts',
      limitMb: options.limit?.megabytes ?? null,
      posted,
      maxRssKb: run.probe.maxRssKb,
      liveHeapMb: run.probe.heap?.liveMb ?? 0,
      cpuMs: cpuMs(run.probe),
      baselineCpuMs: cpuMs(baseline.probe),
      cpuPerReviewMs: (cpuMs(run.probe) - cpuMs(baseline.probe)) / options.reviews,
      wallMs: run.wallMs,
    };
    if (options.probeSql) {
      add(options.probeSql, '2');
      const counted = await mustRun(world, ['poll-once', '--json'], { sql: true });
      const templates = counted.probe.sql ?? [];
      result.sql = {
        reviews: options.probeSql,
        posted: (JSON.parse(counted.stdout) as { posted: number }).posted,
        templates,
        plans: await explainAll(world, templates),
      };
    }
    return result;
  } finally {
    await world.close();
  }
}

/**
 * CPU of this process per round trip of the cheapest statement (`SELECT 1`) through mysql2 to the local MariaDB:
 * the floor under any statement of the answering path on this machine.
 */
export async function statementCost(options: { statements: number }): Promise<{ cpuUs: number; wallUs: number }> {
  const world = await openWorld(1);
  try {
    const { host, port, user, password, database } = parseMysqlUrl(world.db.url);
    const connection = await createConnection({ host, port, user, password, database, trace: false });
    try {
      for (let i = 0; i < 200; i += 1) await connection.query('SELECT 1');
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < options.statements; i += 1) await connection.query('SELECT 1');
      const wallUs = ((performance.now() - started) * 1000) / options.statements;
      const used = process.cpuUsage(cpu);
      return { cpuUs: (used.user + used.system) / options.statements, wallUs };
    } finally {
      await connection.end();
    }
  } finally {
    await world.close();
  }
}

/**
 * CPU per GET of a small JSON body from a loopback server in this process, through got (an instance with the 2GIS
 * client's options) and through node's own http: the server's share is the same in both, the difference is the
 * client's. The 2GIS adapter uses got (the project's package set requires it); a review costs ~2.2 requests.
 */
export async function httpClientCost(options: { requests: number }): Promise<{ gotUs: number; nodeUs: number }> {
  const body = JSON.stringify({ meta: { code: 200 }, result: { id: '1', rating: 5, hasCompanyComment: false, firstAnswer: null } });
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/1.0/presence/reviews/1`;
    const headers = { accept: 'application/json', authorization: 'Bearer token' };
    const client = got.extend({ responseType: 'text', throwHttpErrors: false, followRedirect: false, retry: { limit: 0 }, timeout: { request: 15_000 } });
    const viaGot = async () => {
      await client(new URL(url), { method: 'GET', headers, searchParams: { catalog: '2gis' } });
    };
    const viaNode = () =>
      new Promise<void>((resolve, reject) => {
        const target = new URL(url);
        target.searchParams.set('catalog', '2gis');
        const request = httpRequest(target, { method: 'GET', headers }, (response) => {
          response.resume();
          response.on('end', resolve);
        });
        request.on('error', reject);
        request.end();
      });
    const cost = async (call: () => Promise<void>): Promise<number> => {
      for (let i = 0; i < 200; i += 1) await call();
      const before = process.cpuUsage();
      for (let i = 0; i < options.requests; i += 1) await call();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / options.requests;
    };
    // Interleaved, twice each: the second round is the one reported (both warm).
    await cost(viaGot);
    await cost(viaNode);
    return { gotUs: await cost(viaGot), nodeUs: await cost(viaNode) };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- 6. database

export interface QueryCount {
  total: number;
  /** Every statement but START TRANSACTION, COMMIT, ROLLBACK and session SETs. */
  data: number;
}

const TRANSACTION_CONTROL = /^(START TRANSACTION|COMMIT|ROLLBACK|SET )/i;

export function countStatements(templates: readonly SqlTemplate[]): QueryCount {
  let total = 0;
  let data = 0;
  for (const { template, count } of templates) {
    total += count;
    if (!TRANSACTION_CONTROL.test(template)) data += count;
  }
  return { total, data };
}

export interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  rows: number;
  extra: string;
}

export interface Plan {
  template: string;
  count: number;
  rows: PlanRow[];
  /** A row of the plan reads a whole table of more than a few hundred rows (type ALL or index). */
  fullScan: boolean;
}

const EXPLAINABLE = /^(SELECT|UPDATE|DELETE|INSERT)\b/i;
/** Below this many rows a table scan costs nothing worth naming (the one-row account table, say). */
const SMALL_TABLE = 200;

/** EXPLAINs each data statement, as it was sent, against the world's database. */
export async function explainAll(world: World, templates: readonly SqlTemplate[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const template of templates) {
    if (!EXPLAINABLE.test(template.template) || /^SELECT (GET_LOCK|RELEASE_LOCK)/i.test(template.template)) continue;
    const rows = await queryDatabase(world.db.url, `EXPLAIN ${template.example}`);
    const planRows = rows.map((row) => planRow(row));
    plans.push({
      template: template.template,
      count: template.count,
      rows: planRows,
      fullScan: planRows.some((row) => (row.type === 'ALL' || row.type === 'index') && row.rows > SMALL_TABLE),
    });
  }
  return plans;
}

export interface BranchHistoryResult {
  reviews: number;
  /** The repeat check as the store sends it, median ms, and its plan: as migrated, and on the schema before v4. */
  withIndex: { ms: number; plan: PlanRow[] };
  withoutIndex: { ms: number; plan: PlanRow[] };
  /** The statement, as sent. */
  sql: string;
}

/** The index of schema version 4 that lets the repeat check read a branch's newest answers first and stop. */
export const BRANCH_INDEX = 'reviews_business_branch_updated ON reviews (business_id, branch_id, updated_at, id)';

/**
 * The repeat check (Store.recentAnswers: a branch's last 50 answers, read on every draft) on one branch with
 * `reviews` answered reviews, as a business with one branch has after some years: timed and EXPLAINed as the
 * store sends it on the migrated schema, then again on the schema before version 4 (only a branch_id index).
 */
export async function branchHistory(options: { reviews: number }): Promise<BranchHistoryResult> {
  const world = await openWorld(1);
  const store = createMysqlStore({ url: world.db.url, notifications: false });
  try {
    await store.migrate();
    const { host, port, user, password, database } = parseMysqlUrl(world.db.url);
    const connection = await createConnection({ host, port, user, password, database, timezone: 'Z' });
    try {
      const start = Date.UTC(2022, 0, 1);
      for (let from = 0; from < options.reviews; from += 1000) {
        const rows: unknown[][] = [];
        for (let n = from; n < Math.min(options.reviews, from + 1000); n += 1) {
          const at = new Date(start + n * 60_000);
          rows.push(['default', `h${n}`, '1', 'Кофейня', 5, 'Всё понравилось', `u${n}`, 'Анна', at.toISOString(), at, 'posted', at, at, `Спасибо за отзыв ${n}!`]);
        }
        await connection.query(
          `INSERT INTO reviews (business_id, id, branch_id, branch_name, rating, text, author_id, author_name, created_at_text, created_at, state,
             recorded_at, updated_at, answer_text) VALUES ?`,
          [rows],
        );
      }
      await connection.query('ANALYZE TABLE reviews');
      let sql = '';
      const capture = {
        start: (context: { query: string }) => {
          sql = String(context.query);
        },
        end() {},
        asyncStart() {},
        asyncEnd() {},
        error() {},
      };
      const channel = tracingChannel<unknown, { query: string }>('mysql2:query');
      const measure = async () => {
        channel.subscribe(capture);
        await store.recentAnswers('1', 50);
        channel.unsubscribe(capture);
        const times: number[] = [];
        for (let i = 0; i < 30; i += 1) {
          const started = performance.now();
          await store.recentAnswers('1', 50);
          times.push(performance.now() - started);
        }
        const [plan] = await connection.query(`EXPLAIN ${sql}`);
        return { ms: median(times), plan: (plan as Array<Record<string, unknown>>).map(planRow) };
      };
      const withIndex = await measure();
      await connection.query('CREATE INDEX reviews_branch ON reviews (business_id, branch_id)');
      await connection.query('DROP INDEX reviews_business_branch_updated ON reviews');
      await connection.query('ANALYZE TABLE reviews');
      const withoutIndex = await measure();
      return { reviews: options.reviews, withIndex, withoutIndex, sql: templateOf(sql) };
    } finally {
      await connection.end();
    }
  } finally {
    await store.close();
    await world.close();
  }
}

function planRow(row: Record<string, unknown>): PlanRow {
  return {
    table: String(row.table ?? ''),
    type: String(row.type ?? ''),
    key: row.key === null || row.key === undefined ? null : String(row.key),
    rows: Number(row.rows ?? 0),
    extra: String(row.Extra ?? ''),
  };
}

export type { World };

// ---------------------------------------------------------------- 7. stats on a large store

export interface StatsScaleResult {
  backend: 'mysql' | 'sqlite';
  branches: number;
  reviews: number;
  /** `gisbot stats --json` over the last 30 days, and over the whole store (181 days), medians of `runs` runs. */
  monthMs: number;
  allMs: number;
  /** The same process doing nothing but `balance --json`: what start-up and the config cost of those times. */
  baselineMs: number;
  runs: number;
  /** How the database reads the period's reviews (EXPLAIN, or SQLite's EXPLAIN QUERY PLAN). */
  plan: string[];
}

const STATS_DAYS = 180;

/**
 * `branches` branches and `reviews` reviews over half a year, written straight into the database of a migrated
 * store (outcomes, ratings, charges, tokens, times to answer, a topic on each complaint), then `gisbot stats`.
 */
export async function statsAtScale(options: { branches: number; reviews: number; backend: 'mysql' | 'sqlite'; runs: number }): Promise<StatsScaleResult> {
  const world = await TestWorld.start({ database: options.backend });
  try {
    await mustRun(world, ['balance', '--json']); // migrates
    const now = Date.now();
    const reviewRows: unknown[][] = [];
    const topicRows: unknown[][] = [];
    for (let n = 0; n < options.reviews; n += 1) {
      const created = now - Math.floor(((n * 7919) % options.reviews) / options.reviews * STATS_DAYS * 86_400_000) - 60_000;
      const branch = `8${String(n % options.branches).padStart(15, '0')}`;
      const rating = 1 + (n % 5);
      const kind = n % 20;
      const [state, reason, sentBy] =
        kind < 14 ? ['posted', null, kind === 0 ? 'person' : 'gisbot'] : kind < 16 ? ['skipped', kind === 14 ? 'already answered' : 'hidden on 2GIS', null] : kind < 18 ? ['needs_approval', 'rated 1', null] : kind === 18 ? ['failed', 'refused', null] : ['new', null, null];
      const posted = state === 'posted';
      const minutes = posted ? 1 + (n % 240) : null;
      reviewRows.push([
        `s${n}`, branch, `Кофейня №${n % options.branches}`, rating, 'Отзыв', `u${n}`, 'Анна', new Date(created).toISOString(), created, state, reason,
        created, created, posted ? 500 : 0, posted ? 300 : null, posted ? 60 : null, posted ? '0.0000456' : null, sentBy,
        posted ? created + minutes! * 60_000 : null, minutes,
      ]);
      if (rating <= 3) topicRows.push([`s${n}`, `topic ${n % 25}`, `тема ${n % 25}`, branch, rating, created]);
    }
    await bulkInsert(world, options.backend, reviewRows, topicRows);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const time = async (args: string[]) => {
      const walls: number[] = [];
      for (let i = 0; i < options.runs; i += 1) walls.push((await mustRun(world, args)).wallMs);
      return median(walls);
    };
    return {
      ...options,
      monthMs: await time(['stats', '--json']),
      allMs: await time(['stats', '--json', '--since', `${STATS_DAYS + 1}d`]),
      baselineMs: await time(['balance', '--json']),
      plan: await statsPlan(world, options.backend, now),
    };
  } finally {
    await world.close();
  }
}

const REVIEW_COLUMNS = `id, branch_id, branch_name, rating, text, author_id, author_name, created_at_text, created_at, state, reason,
  recorded_at, updated_at, charged, prompt_tokens, completion_tokens, model_cost, sent_by, posted_at, answer_minutes, business_id`;
const TOPIC_COLUMNS = 'review_id, topic, label, branch_id, rating, created_at, business_id';

/** Times are milliseconds here: SQLite keeps them so, MySQL is given Dates and money as decimal strings. */
async function bulkInsert(world: TestWorld, backend: 'mysql' | 'sqlite', reviews: unknown[][], topics: unknown[][]): Promise<void> {
  if (backend === 'mysql') {
    const { host, port, user, password, database } = parseMysqlUrl(world.db.url);
    const connection = await createConnection({ host, port, user, password, database, timezone: 'Z' });
    try {
      const asMysql = (row: unknown[], times: number[], money: number[]) =>
        row.map((value, i) => (value !== null && times.includes(i) ? new Date(value as number) : value !== null && money.includes(i) ? ((value as number) / 100).toFixed(2) : value));
      for (let i = 0; i < reviews.length; i += 2000) {
        const rows = reviews.slice(i, i + 2000).map((row) => [...asMysql(row, [8, 11, 12, 18], [13]), 'default']);
        await connection.query(`INSERT INTO reviews (${REVIEW_COLUMNS}) VALUES ?`, [rows]);
      }
      for (let i = 0; i < topics.length; i += 2000) {
        await connection.query(`INSERT INTO review_topics (${TOPIC_COLUMNS}) VALUES ?`, [topics.slice(i, i + 2000).map((row) => [...asMysql(row, [5], []), 'default'])]);
      }
      await connection.query('ANALYZE TABLE reviews, review_topics');
    } finally {
      await connection.end();
    }
    return;
  }
  const { DatabaseSync } = await loadSqlite();
  const db = new DatabaseSync(world.sqliteFile);
  try {
    db.exec('BEGIN');
    const review = db.prepare(`INSERT INTO reviews (${REVIEW_COLUMNS}) VALUES (${REVIEW_COLUMNS.split(',').map(() => '?').join(', ')})`);
    for (const row of reviews) review.run(...(row as never[]), 'default');
    const topic = db.prepare(`INSERT INTO review_topics (${TOPIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    for (const row of topics) topic.run(...(row as never[]), 'default');
    db.exec('COMMIT');
    db.exec('ANALYZE');
  } finally {
    db.close();
  }
}

/**
 * How the database reads the period's reviews for the last 30 days. MariaDB: EXPLAIN of the very statement the
 * store sends (taken from mysql2's diagnostics channel). SQLite: EXPLAIN QUERY PLAN of a statement of the same
 * FROM, WHERE and GROUP BY that reads columns no index holds, as the store's does.
 */
async function statsPlan(world: TestWorld, backend: 'mysql' | 'sqlite', now: number): Promise<string[]> {
  const period = { from: new Date(now - 30 * 86_400_000), to: new Date(now) };
  if (backend === 'mysql') {
    const store = createMysqlStore({ url: world.db.url, notifications: false });
    const sent: string[] = [];
    const capture = { start: (context: { query: string }) => void sent.push(String(context.query)), end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
    const channel = tracingChannel<unknown, { query: string }>('mysql2:query');
    try {
      channel.subscribe(capture);
      await store.reviewFacts(period);
    } finally {
      channel.unsubscribe(capture);
      await store.close();
    }
    const facts = sent.find((text) => text.includes('COUNT(r.model_cost)'))!;
    const rows = await queryDatabase(world.db.url, `EXPLAIN ${facts}`);
    return rows.map((row) => `${row.table}: ${row.type} on ${row.key ?? 'no index'} (${row.rows} rows${row.Extra ? `; ${row.Extra}` : ''})`);
  }
  const rows = await querySqlite(
    world.sqliteFile,
    `EXPLAIN QUERY PLAN SELECT r.branch_id, COUNT(*), SUM(r.rating), SUM(r.charged), SUM(r.prompt_tokens) FROM reviews r
     WHERE r.created_at >= ? AND r.created_at < ? GROUP BY r.branch_id`,
    [period.from.getTime(), period.to.getTime()],
  );
  return rows.map((row) => String(row.detail));
}

// ---------------------------------------------------------------- 8. many businesses (issue 19)

export interface BusinessesResult {
  /** The businesses besides the big one, each with `fresh` new reviews. */
  others: number;
  /** Answers in the order they were recorded (events' seq): at which one each other business's first came. */
  positions: number[];
  /** The latest of those positions (1-based): every other business is answered within the first `latest`. */
  latest: number;
  posted: number;
  wallMs: number;
  /** reviews × latency / concurrency */
  idealMs: number;
  /** From the spawn to the first and to the last answer recorded: start-up before, the cycle's tail after. */
  firstPostedMs: number;
  lastPostedMs: number;
  run: Run;
}

/**
 * One deployment, one `poll-once` over `businesses` businesses, each its own 2GIS account: the first with `backlog`
 * new reviews, every other with `fresh` each, the model taking `latencyMs` per call, `concurrency` answers at once.
 * Fairness: where among the answers each small business's came (round robin: within the first few dozen,
 * whatever the backlog); throughput: the wall time against the ideal reviews × latency / concurrency.
 */
export async function businesses(options: { businesses: number; backlog: number; fresh: number; concurrency: number; latencyMs: number }): Promise<BusinessesResult> {
  const world = await TestWorld.start();
  try {
    const ids = Array.from({ length: options.businesses }, (_, index) => `biz-${index}`);
    const env: Record<string, string> = {};
    const lines = [`polling: { concurrency: ${options.concurrency} }`, 'billing: { pricePerReply: "5.00" }', 'businesses:'];
    let reviews = 0;
    for (const [index, id] of ids.entries()) {
      const login = `${id}@example.kz`;
      const password = `bench-password-${index}-0123456789`;
      world.twogis.addAccount({ login, password });
      world.twogis.addOrg({ id: String(1000 + index), name: id, login });
      const count = index === 0 ? options.backlog : options.fresh;
      // The backlog spread over branches of 100, as 2GIS pages them; a small business has one branch.
      const branches = Math.max(1, Math.ceil(count / 100));
      for (let b = 0; b < branches; b += 1) {
        const branchId = `8${String(index).padStart(4, '0')}${String(b).padStart(4, '0')}`;
        world.twogis.addBranch({ id: branchId, name: `${id} №${b + 1}`, orgId: String(1000 + index) });
        for (let r = 0; r < Math.min(100, count - b * 100); r += 1) {
          world.twogis.addReview(branchId, { id: `${branchId}${String(r).padStart(4, '0')}`, rating: 5, text: `Всё понравилось (${r + 1})` });
          reviews += 1;
        }
      }
      lines.push(`  ${id}:`, `    name: "${id}"`, `    twogis: { login: "${login}" }`);
      env[`GISBOT_${id.toUpperCase().replaceAll('-', '_')}_2GIS_PASSWORD`] = password;
    }
    const config = path.join(world.dir, 'agency.yaml');
    await writeFile(config, `${lines.join('\n')}\n`, { mode: 0o600 });
    const unprefixed = { GISBOT_2GIS_LOGIN: '', GISBOT_2GIS_PASSWORD: '' };
    const asAgency = (args: string[]) => mustRun(world, ['--config', config, ...args], { env: { ...env, ...unprefixed }, codes: [0, 3] });
    for (const id of ids) await asAgency(['balance', 'add', String(reviews * 5 + 100), '--yes', '--business', id]);
    world.model.latencyMs = options.latencyMs;
    const spawned = Date.now();
    const run = await asAgency(['poll-once', '--json']);
    const order = await queryDatabase(world.db.url, "SELECT business_id, at FROM events WHERE type = 'reply.posted' ORDER BY seq");
    const postedAt = order.map((row) => new Date(row.at as string).getTime() - spawned);
    const positions = ids.slice(1).map((id) => order.findIndex((row) => row.business_id === id) + 1);
    return {
      others: ids.length - 1,
      positions,
      latest: Math.max(...positions.map((position) => (position === 0 ? Infinity : position))),
      posted: (JSON.parse(run.stdout) as { posted: number }).posted,
      wallMs: run.wallMs,
      idealMs: (reviews * options.latencyMs) / options.concurrency,
      firstPostedMs: Math.min(...postedAt),
      lastPostedMs: Math.max(...postedAt),
      run,
    };
  } finally {
    await world.close();
  }
}
