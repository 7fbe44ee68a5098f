// `gisbot logs`: what the bot did, from the events table: a coloured table for people, one JSON object per line
// (the contract's event shape) with --json, and `--follow` to keep polling for new events until Ctrl-C.
import type { ChalkInstance } from 'chalk';
import type { Context } from '../context.ts';
import { eventJson } from '../core/events/events.ts';
import type { EventQuery, EventType, PendingEvent, StoredEvent } from '../core/ports.ts';
import { UsageError } from '../errors.ts';
import { clip, distinctNames, formatTime, pad, parseLimit, parseSince } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownLine, shownText } from '../ui/shown-text.ts';

export interface LogsOptions {
  since?: string;
  type?: string;
  review?: string;
  branch?: string;
  limit?: string;
  follow?: boolean;
  /** List the events still waiting in the outbox instead, with their delivery attempts. */
  pending?: boolean;
  /** Ends --follow (SIGINT, wired in cli.ts). */
  signal?: AbortSignal;
  /** How often --follow asks the store for new events. */
  pollMs?: number;
}

export interface LogsResult {
  /** The events to print; empty after --follow, which printed them as they came. */
  events: StoredEvent[];
  /** The branches' names as 2GIS lists them, for the table (the JSON keeps the ids). */
  branchNames?: ReadonlyMap<string, string>;
  /**
   * Several businesses' events in one table (no --business, a config listing several): each line names its
   * business, and the deployment's own events say so; the column's width (0: no column). The JSON always has `businessId`.
   */
  businessColumn?: number;
  followed: boolean;
  filtered: boolean;
  /** With --pending: the oldest events not delivered yet, and how many wait in all. */
  pending?: { events: PendingEvent[]; total: number };
}

/** Every event type, in the contract's order; a record so that a type added to the port must be added here. */
const TYPES: Record<EventType, true> = {
  'review.new': true,
  'reply.posted': true,
  'review.skipped': true,
  'review.needs_approval': true,
  'reply.failed': true,
  'balance.low': true,
  'balance.insufficient': true,
  'reply.removed': true,
  'auth.failed': true,
  'review.edited': true,
  'followup.new': true,
  'followup.posted': true,
  'telegram.refused': true,
  'complaint.repeated': true,
  'review.complained': true,
};
export const EVENT_TYPES = Object.keys(TYPES) as readonly EventType[];

export async function logs(ctx: Context, options: LogsOptions): Promise<LogsResult> {
  if (options.pending) return pendingEvents(ctx, options);
  if (options.type !== undefined && !EVENT_TYPES.includes(options.type as EventType)) {
    throw new UsageError(messages.logs.badType(options.type), messages.logs.typeHint(EVENT_TYPES));
  }
  const filters: Omit<EventQuery, 'limit'> = {
    ...(options.since === undefined ? {} : { since: parseSince(options.since, ctx.clock.now(), ctx.config.timeZone) }),
    ...(options.type === undefined ? {} : { type: options.type }),
    ...(options.review === undefined ? {} : { reviewId: options.review }),
    ...(options.branch === undefined ? {} : { branchId: options.branch }),
  };
  // Without --business: every business's events and the deployment's own, each naming its business.
  const everyBusiness = ctx.config.businessId === null || ctx.config.businesses.length === 1;
  const several = ctx.config.businessId === null && ctx.config.businesses.length > 1;
  const businessColumn = several ? Math.max('business'.length, ...ctx.config.businesses.map((business) => business.id.length)) : 0;
  const limit = options.limit === undefined ? 50 : parseLimit(options.limit);
  const filtered = Object.keys(filters).length > 0;
  const query = { ...filters, ...(everyBusiness ? { everyBusiness: true } : {}) };
  await ctx.store.migrate();
  const events = await ctx.store.listEvents({ ...query, limit });
  // Branch names of every business shown (a branch id belongs to one business: the config refuses sharing).
  const shown = several ? ctx.config.businesses.map((business) => ctx.store.forBusiness(business.id)) : [ctx.store];
  const listings = (await Promise.all(shown.map((store) => store.branchListings()))).flat();
  const branchNames = new Map(listings.map((listing) => [listing.branchId, listing.name]));
  if (!options.follow) return { events, followed: false, filtered, branchNames, businessColumn };

  printEvents(ctx.output, events, true, branchNames, businessColumn);
  if (!ctx.output.json) ctx.output.say(ctx.output.colors.dim(messages.logs.following));
  let last = events.at(-1)?.seq ?? 0;
  const signal = options.signal;
  while (!signal?.aborted) {
    await ctx.clock.sleep(options.pollMs ?? 500, signal).catch(() => {});
    if (signal?.aborted) break;
    const batch = await ctx.store.listEvents({ ...query, afterSeq: last, limit: 500 });
    printEvents(ctx.output, batch, false, branchNames, businessColumn);
    last = batch.at(-1)?.seq ?? last;
  }
  return { events: [], followed: true, filtered };
}

export function render(result: LogsResult, output: Output): void {
  if (result.pending) return printPending(output, result.pending);
  if (result.followed) return;
  if (result.events.length === 0 && !output.json) {
    output.say(result.filtered ? messages.logs.noneMatching : messages.logs.none);
    return;
  }
  printEvents(output, result.events, true, result.branchNames ?? new Map(), result.businessColumn ?? 0);
}

const WIDTHS = { time: 19, type: 21, branch: 17, review: 12 };

function printEvents(output: Output, events: readonly StoredEvent[], header: boolean, branchNames: ReadonlyMap<string, string>, businessColumn = 0): void {
  if (output.json) {
    for (const event of events) output.data(eventJson(event));
    return;
  }
  const d = output.dataColors;
  // The business first, when the table holds several: `—` for the deployment's own events (an unknown chat's press).
  const withBusiness = (line: string, businessId: string | null | undefined) => (businessColumn > 0 ? `${pad(shownLine(businessId ?? '—'), businessColumn)}  ${line}` : line);
  if (header && events.length > 0) {
    output.data(d.dim(withBusiness(row([...messages.logs.columns], output.width - (businessColumn > 0 ? businessColumn + 2 : 0)), messages.logs.businessColumn)));
  }
  // A branch by its name (the part that tells a chain's branches apart), its id where 2GIS has not listed it yet.
  const names = distinctNames([...branchNames.values()].map((name) => shownLine(name)), WIDTHS.branch);
  const branchOf = (id: string | null) => (id === null ? '' : (names.get(shownLine(branchNames.get(id) ?? '')) || shownLine(id)));
  for (const event of events) {
    const cells = [formatTime(event.at), paint(event.type, d)(event.type), branchOf(event.branchId), shownLine(event.reviewId ?? ''), shownText(summary(event))];
    output.data(withBusiness(row(cells, output.width - (businessColumn > 0 ? businessColumn + 2 : 0)), event.businessId));
  }
}

function row(cells: readonly string[], width: number): string {
  const [time = '', type = '', branch = '', review = '', what = ''] = cells;
  const fixed = [pad(time, WIDTHS.time), pad(type, WIDTHS.type), pad(branch || '—', WIDTHS.branch), pad(review || '—', WIDTHS.review)].join('  ');
  const used = WIDTHS.time + WIDTHS.type + WIDTHS.branch + Math.max(WIDTHS.review, [...review].length) + 8 + 2;
  return `${fixed}  ${clip(what, Math.max(20, width - used))}`.trimEnd();
}

function paint(type: string, d: ChalkInstance): (text: string) => string {
  switch (type) {
    case 'reply.posted':
      return d.green;
    case 'review.needs_approval':
    case 'balance.low':
      return d.yellow;
    case 'reply.failed':
    case 'balance.insufficient':
    case 'auth.failed':
      return d.red;
    case 'review.skipped':
      return d.dim;
    default:
      return d.cyan;
  }
}

/** The event's data in a few words. */
export function summary(event: StoredEvent): string {
  const data = event.data as Record<string, unknown>;
  const s = (key: string) => (data[key] === undefined || data[key] === null ? '' : String(data[key]));
  switch (event.type) {
    case 'review.new':
      return `${s('rating')}★ ${s('author')}: ${s('text') || messages.reply.noText}`;
    case 'reply.posted':
      return messages.logs.posted(s('charged'), s('balance'), s('text'));
    case 'review.skipped':
    case 'review.needs_approval':
      // Said in the reader's language by the event's code; the recorded English where there is none.
      return messages.console.reason(s('code') || undefined, s('reason'), s('followUpCode') || undefined);
    case 'reply.failed':
      return messages.console.reason(s('code') || undefined, s('error'), s('followUpCode') || undefined);
    case 'auth.failed':
      return s('error');
    case 'balance.low':
      return messages.logs.low(s('balance'), s('threshold'));
    case 'balance.insufficient':
      return messages.logs.insufficient(s('balance'), s('price'));
    case 'review.edited':
      return `${s('rating')}★ ${s('text') || messages.reply.noText}`;
    case 'followup.new':
      return `${s('author')}: ${s('text')}`;
    case 'followup.posted':
      return s('text');
    case 'reply.removed':
      return messages.logs.removed(s('text'), s('refunded'));
    case 'telegram.refused':
      return messages.logs.telegramRefused(s('chatId'), s('kind'));
    case 'complaint.repeated':
      return messages.logs.repeated(s('topic'), Number(data.count), Array.isArray(data.reviewIds) ? data.reviewIds.map(String) : []);
    default:
      return JSON.stringify(data);
  }
}

/** `logs --pending`: what the outbox still holds, oldest first. It takes --limit and nothing else. */
async function pendingEvents(ctx: Context, options: LogsOptions): Promise<LogsResult> {
  const others = (['since', 'type', 'review', 'branch', 'follow'] as const).filter((key) => options[key] !== undefined && options[key] !== false);
  if (others.length > 0) throw new UsageError(messages.logs.pendingAlone(others.map((key) => `--${key}`)));
  const limit = options.limit === undefined ? 50 : parseLimit(options.limit);
  await ctx.store.migrate();
  const [events, status] = await Promise.all([ctx.store.pendingOutbox(limit), ctx.store.outboxStatus()]);
  return { events: [], followed: false, filtered: false, pending: { events, total: status.pending } };
}

function printPending(output: Output, pending: NonNullable<LogsResult['pending']>): void {
  if (output.json) {
    for (const event of pending.events) {
      const delivery = { attempts: event.attempts, retryAt: event.retryAt?.toISOString() ?? null };
      output.data(JSON.stringify({ ...JSON.parse(eventJson(event)), delivery }));
    }
    return;
  }
  if (pending.total === 0) {
    output.say(messages.logs.nonePending);
    return;
  }
  const d = output.dataColors;
  output.data(d.dim(pendingRow(messages.logs.pendingColumns)));
  for (const event of pending.events) {
    const next = event.retryAt ? formatTime(event.retryAt) : messages.logs.dueNow;
    output.data(pendingRow([formatTime(event.at), paint(event.type, d)(event.type), shownLine(event.reviewId ?? '—'), String(event.attempts), next]));
  }
  output.say(messages.logs.pendingTotal(pending.total, pending.events.length));
}

function pendingRow(cells: readonly string[]): string {
  const [time = '', type = '', review = '', attempts = '', next = ''] = cells;
  return [pad(time, WIDTHS.time), pad(type, WIDTHS.type), pad(review, WIDTHS.review), pad(attempts, 8), next].join('  ').trimEnd();
}
