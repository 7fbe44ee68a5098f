// `gisbot balance history`: the ledger, newest first: top-ups, charges (one per posted answer), adjustments.
import type { Context } from '../context.ts';
import { formatMoney } from '../core/money/money.ts';
import type { LedgerEntry } from '../core/ports.ts';
import { formatTime, parseLimit, parseSince, table } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownLine } from '../ui/shown-text.ts';

export interface HistoryOptions {
  since?: string;
  limit?: string;
}

export interface HistoryResult {
  entries: LedgerEntry[];
  since: Date | null;
}

export async function balanceHistory(ctx: Context, options: HistoryOptions): Promise<HistoryResult> {
  const since = options.since === undefined ? null : parseSince(options.since, ctx.clock.now(), ctx.config.timeZone);
  const limit = options.limit === undefined ? 20 : parseLimit(options.limit);
  await ctx.store.migrate();
  const entries = await ctx.store.ledger(since === null ? { limit } : { since, limit });
  return { entries, since };
}

/** One ledger entry as --json prints it: money as two-place strings, the time in ISO. */
export function entryJson(entry: LedgerEntry) {
  return {
    id: entry.id,
    at: entry.at.toISOString(),
    kind: entry.kind,
    amount: formatMoney(entry.amount),
    balanceAfter: formatMoney(entry.balanceAfter),
    reviewId: entry.reviewId,
    note: entry.note,
  };
}

export function render(result: HistoryResult, output: Output): void {
  if (output.json) {
    output.data(JSON.stringify(result.entries.map(entryJson)));
    return;
  }
  if (result.entries.length === 0) {
    output.say(result.since ? messages.history.emptySince(formatTime(result.since)) : messages.history.empty);
    return;
  }
  const d = output.dataColors;
  const kinds: Readonly<Record<string, string>> = messages.history.kinds;
  const rows = result.entries.map((entry) => [
    formatTime(entry.at),
    entry.kind === 'topup' ? d.green(kinds[entry.kind] ?? entry.kind) : entry.kind === 'charge' ? (kinds[entry.kind] ?? entry.kind) : d.yellow(kinds[entry.kind] ?? entry.kind),
    entry.amount < 0n ? d.red(messages.money(formatMoney(entry.amount))) : d.green(messages.money(`+${formatMoney(entry.amount)}`)),
    messages.money(formatMoney(entry.balanceAfter)),
    shownLine(entry.reviewId ? messages.history.forReview(entry.reviewId) : messages.history.note(entry.note ?? '')),
  ]);
  for (const line of table(messages.history.columns, rows, output.width, d)) output.data(line);
}
