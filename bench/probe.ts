// Loaded into the measured gisbot process with `node --import bench/probe.ts bin/gisbot.ts ...`. It changes
// nothing in gisbot: at exit it writes the process's own figures (CPU, peak RSS, wall time since start) to the
// file named by BENCH_PROBE_FILE, and with BENCH_PROBE_SQL=1 it also counts every statement the MySQL driver sends
// (mysql2's diagnostics channel `mysql2:query`: START TRANSACTION, COMMIT and SET included), grouped by template.
import diagnosticsChannel, { tracingChannel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface SqlTemplate {
  /** The statement with its literals replaced by `?`. */
  template: string;
  count: number;
  /** Sum of the statements' round trips (sent to result), ms. */
  totalMs: number;
  /** One statement as sent (literals in place), for EXPLAIN. */
  example: string;
}

export interface ProbeReport {
  /** From process start (performance.timeOrigin) to exit. */
  wallMs: number;
  userMs: number;
  systemMs: number;
  /** Peak resident set size, kilobytes. */
  maxRssKb: number;
  /** Present with BENCH_PROBE_SQL=1. */
  sql?: SqlTemplate[];
  /**
   * Largest heap figures seen (sampled every 100 ms), MB; `liveMb`: the heap outside the young generation in use
   * right after a full (mark-compact) collection, the median over the second half of the run's collections: what
   * the process holds in its steady state, garbage and passing peaks aside.
   */
  heap?: { usedMb: number; totalMb: number; externalMb: number; liveMb: number };
  /** Present with BENCH_PROBE_SQL=1: HTTP exchanges by `METHOD host path-shape`, their count and summed time. */
  http?: Array<{ call: string; count: number; totalMs: number }>;
}

const file = process.env.BENCH_PROBE_FILE;
const templates = new Map<string, SqlTemplate>();

const http = new Map<string, { call: string; count: number; totalMs: number }>();

if (file && process.env.BENCH_PROBE_SQL === '1') {
  type QueryContext = { query: string; benchStarted?: number; benchTemplate?: SqlTemplate };
  const finished = (context: QueryContext) => {
    if (context.benchStarted === undefined || !context.benchTemplate) return;
    context.benchTemplate.totalMs += performance.now() - context.benchStarted;
    context.benchStarted = undefined;
  };
  tracingChannel<unknown, QueryContext>('mysql2:query').subscribe({
    start(context) {
      const sql = String(context.query);
      const template = templateOf(sql);
      let seen = templates.get(template);
      if (seen) seen.count += 1;
      else templates.set(template, (seen = { template, count: 1, totalMs: 0, example: sql }));
      context.benchTemplate = seen;
      context.benchStarted = performance.now();
    },
    end() {},
    asyncStart: finished,
    asyncEnd() {},
    error: finished,
  });

  // node:http (the 2GIS client, through got) and undici (the OpenAI SDK's fetch).
  const started = new WeakMap<object, { call: string; at: number }>();
  const shape = (path: string) => path.split('?')[0]!.replace(/\/\d+(?=\/|$)/g, '/:id');
  const done = (request: object) => {
    const begun = started.get(request);
    if (!begun) return;
    started.delete(request);
    const entry = http.get(begun.call) ?? { call: begun.call, count: 0, totalMs: 0 };
    entry.count += 1;
    entry.totalMs += performance.now() - begun.at;
    http.set(begun.call, entry);
  };
  subscribe('http.client.request.start', ({ request }: { request: { method: string; path: string } }) => {
    started.set(request, { call: `${request.method} ${shape(request.path)}`, at: performance.now() });
  });
  subscribe('http.client.response.finish', ({ request }: { request: object }) => done(request));
  subscribe('undici:request:create', ({ request }: { request: { method: string; path: string } }) => {
    started.set(request, { call: `${request.method} ${shape(request.path)}`, at: performance.now() });
  });
  subscribe('undici:request:trailers', ({ request }: { request: object }) => done(request));
}

function subscribe<T>(name: string, listener: (message: T) => void): void {
  diagnosticsChannel.subscribe(name, (message) => listener(message as T));
}

const heap = { usedMb: 0, totalMb: 0, externalMb: 0, liveMb: 0 };
const survivors: number[] = [];

if (file) {
  const sample = () => {
    const memory = process.memoryUsage();
    heap.usedMb = Math.max(heap.usedMb, memory.heapUsed / 2 ** 20);
    heap.totalMb = Math.max(heap.totalMb, memory.heapTotal / 2 ** 20);
    heap.externalMb = Math.max(heap.externalMb, memory.external / 2 ** 20);
  };
  setInterval(sample, 100).unref();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      // Outside the young generation (which refills at once): what survived the collection.
      const survived = getHeapSpaceStatistics()
        .filter((space) => !space.space_name.startsWith('new_'))
        .reduce((sum, space) => sum + space.space_used_size, 0);
      survivors.push(survived / 2 ** 20);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('exit', () => {
    sample();
    const steady = survivors.slice(Math.floor(survivors.length / 2)).sort((x, y) => x - y);
    heap.liveMb = steady.length === 0 ? 0 : steady[Math.floor(steady.length / 2)]!;
    const usage = process.resourceUsage();
    const report: ProbeReport = {
      wallMs: performance.now(),
      userMs: usage.userCPUTime / 1000,
      systemMs: usage.systemCPUTime / 1000,
      maxRssKb: usage.maxRSS,
      heap,
      ...(templates.size > 0 ? { sql: [...templates.values()] } : {}),
      ...(http.size > 0 ? { http: [...http.values()] } : {}),
    };
    writeFileSync(file, JSON.stringify(report));
  });
}

/** Literals out, whitespace folded: `IN ('1', '2')` and `IN ('3')` are one template. */
export function templateOf(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.|'')*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\?(?:\s*,\s*\?)+/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}
