// `gisbot balance` and `gisbot balance add <amount>`. Money is parsed exactly and printed with two places.
import type { Context } from '../context.ts';
import { CLI_TOP_UP_NOTE } from '../core/money/ledger-notes.ts';
import { formatMoney, parseMoney, type Kopecks } from '../core/money/money.ts';
import type { BalanceSnapshot, LedgerEntry } from '../core/ports.ts';
import { UsageError } from '../errors.ts';
import { formatTime, table } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownLine } from '../ui/shown-text.ts';
import { currency } from '../ui/language.ts';

export interface BalanceResult {
  snapshot: BalanceSnapshot;
  lowBalance: Kopecks;
  added: Kopecks | null;
  /** A correction made (balance adjust), with its sign. */
  adjusted?: Kopecks;
  /** The last few charges, newest first (not part of --json, which the contract fixes). */
  recentCharges: LedgerEntry[];
  /** The person said no to the top-up: nothing changed. */
  declined?: boolean;
}

const RECENT_CHARGES = 5;

export async function showBalance(ctx: Context): Promise<BalanceResult> {
  await ctx.store.migrate();
  const [snapshot, entries] = await Promise.all([ctx.store.getBalance(), ctx.store.ledger({ limit: 50 })]);
  const recentCharges = entries.filter((entry) => entry.kind === 'charge').slice(0, RECENT_CHARGES);
  return { snapshot, lowBalance: ctx.settings.lowBalance, added: null, recentCharges };
}

export interface AddOptions {
  amount: string;
  yes: boolean;
}

export async function addBalance(ctx: Context, options: AddOptions): Promise<BalanceResult> {
  const amount = parseAmount(options.amount);
  // Before the database is opened: a usage error changes nothing, not even by creating the file.
  if (!options.yes && !ctx.output.interactive) throw new UsageError(messages.balance.needsYes);
  await ctx.store.migrate();
  if (!options.yes) {
    const current = await ctx.store.getBalance();
    const confirmed = await ctx.prompter.confirm(
      messages.balance.confirmTopUp(formatMoney(amount), formatMoney(current.balance + amount)),
      messages.balance.needsYes,
    );
    if (!confirmed) return { snapshot: current, lowBalance: ctx.settings.lowBalance, added: null, recentCharges: [], declined: true };
  }
  const snapshot = await ctx.store.topUp(amount, CLI_TOP_UP_NOTE);
  return { snapshot, lowBalance: ctx.settings.lowBalance, added: amount, recentCharges: [] };
}

export interface AdjustOptions {
  amount: string;
  note: string | undefined;
  yes: boolean;
}

/** A correction: a ledger entry of either sign with the reason, never an edit; never below zero. */
export async function adjustBalance(ctx: Context, options: AdjustOptions): Promise<BalanceResult> {
  const amount = parseSignedAmount(options.amount);
  const note = options.note?.trim() ?? '';
  if (note === '') throw new UsageError(messages.balance.needsNote);
  if (!options.yes && !ctx.output.interactive) throw new UsageError(messages.balance.needsYesAdjust);
  await ctx.store.migrate();
  const current = await ctx.store.getBalance();
  if (!options.yes) {
    const confirmed = await ctx.prompter.confirm(
      messages.balance.confirmAdjust(formatSigned(amount), formatMoney(current.balance + amount), note),
      messages.balance.needsYesAdjust,
    );
    if (!confirmed) return { snapshot: current, lowBalance: ctx.settings.lowBalance, added: null, recentCharges: [], declined: true };
  }
  const snapshot = await ctx.store.adjust(amount, note);
  if (snapshot === null) {
    const latest = await ctx.store.getBalance();
    throw new UsageError(messages.balance.belowZero(formatSigned(amount), formatMoney(latest.balance - latest.reserved)));
  }
  return { snapshot, lowBalance: ctx.settings.lowBalance, added: null, adjusted: amount, recentCharges: [] };
}

function parseSignedAmount(text: string): Kopecks {
  const match = /^\s*([+-]?)(.*)$/.exec(text)!;
  const magnitude = parseMoney(match[2]!);
  if (magnitude === null) throw new UsageError(messages.balance.badAdjustment(text), messages.balance.badAdjustmentHint);
  if (magnitude === 0n) throw new UsageError(messages.balance.zeroAmount);
  return match[1] === '-' ? -magnitude : magnitude;
}

function formatSigned(amount: Kopecks): string {
  return amount < 0n ? `-${formatMoney(-amount)}` : `+${formatMoney(amount)}`;
}

export function parseAmount(text: string): Kopecks {
  const amount = parseMoney(text);
  if (amount === null) throw new UsageError(messages.balance.badAmount(text), messages.balance.badAmountHint);
  if (amount === 0n) throw new UsageError(messages.balance.zeroAmount);
  return amount;
}

export function render(result: BalanceResult, output: Output): void {
  const { balance, reserved } = result.snapshot;
  if (output.json) {
    output.data(JSON.stringify({ balance: formatMoney(balance), held: formatMoney(reserved), currency: currency() }));
    return;
  }
  const c = output.colors;
  const d = output.dataColors;
  if (result.declined) return output.say(messages.balance.cancelled);
  if (result.added !== null) output.say(c.green(messages.balance.added(formatMoney(result.added))));
  if (result.adjusted !== undefined) output.say(c.green(messages.balance.adjusted(formatSigned(result.adjusted))));
  output.data(`${d.bold(messages.balance.line(formatMoney(balance)))}${reserved > 0n ? ` (${messages.balance.held(formatMoney(reserved))})` : ''}`);
  if (result.recentCharges.length > 0) {
    output.data('');
    const rows = result.recentCharges.map((entry) => [formatTime(entry.at), d.red(messages.money(formatMoney(entry.amount))), shownLine(entry.reviewId ?? messages.history.note(entry.note ?? ''))]);
    for (const line of table(messages.balance.chargesColumns, rows, output.width, d)) output.data(line);
  }
  if (balance < result.lowBalance) {
    output.warn(c.yellow(`! ${messages.balance.low(formatMoney(balance), formatMoney(result.lowBalance))}`));
    output.warn(c.dim(messages.cycle.insufficientHint));
  }
}
