// `gisbot stats`: what the balance bought in a period, per branch and in total, from the store alone (no service
// is asked): reviews, answers (by gisbot, by a person), the reply rate, the time to answer, the rating and its
// change, the money charged, the model's tokens and cost, and the recurring complaint topics.
import type { Context } from '../context.ts';
import { periodStats, type Stats } from '../core/insight/stats.ts';
import { UsageError } from '../errors.ts';
import { parseSince } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { printStats } from '../ui/stats-table.ts';
import { currency } from '../ui/language.ts';

export interface StatsOptions {
  since?: string;
  until?: string;
  branch?: string;
}

export type StatsResult = Stats;

/** The period when none is given: the last 30 days. */
export const DEFAULT_SINCE = '30d';

export async function stats(ctx: Context, options: StatsOptions): Promise<StatsResult> {
  const period = readPeriod(options, ctx.clock.now(), ctx.config.timeZone);
  if (options.branch !== undefined && !/^\d+$/.test(options.branch)) throw new UsageError(messages.stats.badBranch(options.branch));
  await ctx.store.migrate();
  return periodStats(ctx.store, { ...period, ...(options.branch === undefined ? {} : { branchId: options.branch }) });
}

/**
 * `--since` (default 30d, inclusive) and `--until` (default now, exclusive): spans back from now, dates (midnight
 * in the business's `timeZone`), local times there, or instants with a zone.
 */
export function readPeriod(options: { since?: string; until?: string }, now: Date, timeZone: string): { from: Date; to: Date } {
  const from = parseSince(options.since ?? DEFAULT_SINCE, now, timeZone, '--since');
  const to = options.until === undefined ? now : parseSince(options.until, now, timeZone, '--until');
  if (from.getTime() >= to.getTime()) throw new UsageError(messages.stats.emptyPeriod(from.toISOString(), to.toISOString()));
  return { from, to };
}

/** The contract's `stats --json` document. */
export function statsJson(result: Stats) {
  return {
    period: { from: result.period.from.toISOString(), to: result.period.to.toISOString() },
    total: result.total,
    branches: result.branches.map(({ id, name, topics, ...rest }) => ({ id, name, ...rest, topics })),
    topics: result.topics,
    currency: currency(),
  };
}

export function render(result: StatsResult, output: Output): void {
  if (output.json) output.data(JSON.stringify(statsJson(result)));
  else printStats(result, output);
}
