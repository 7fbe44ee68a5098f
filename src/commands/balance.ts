// `gisbot balance` and `gisbot balance add <amount>`. Money is parsed exactly and printed with two places.
import type { Context } from '../context.ts';
import { formatMoney, parseMoney, type Kopecks } from '../core/money.ts';
import type { BalanceSnapshot } from '../core/ports.ts';
import { UsageError } from '../errors.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';

export interface BalanceResult {
  snapshot: BalanceSnapshot;
  lowBalance: Kopecks;
  added: Kopecks | null;
}

export async function showBalance(ctx: Context): Promise<BalanceResult> {
  await ctx.store.migrate();
  return { snapshot: await ctx.store.getBalance(), lowBalance: ctx.settings.lowBalance, added: null };
}

export interface AddOptions {
  amount: string;
  yes: boolean;
}

export async function addBalance(ctx: Context, options: AddOptions): Promise<BalanceResult> {
  const amount = parseAmount(options.amount);
  await ctx.store.migrate();
  if (!options.yes) {
    const current = await ctx.store.getBalance();
    const confirmed = await ctx.prompter.confirm(
      messages.balance.confirmTopUp(formatMoney(amount), formatMoney(current.balance + amount)),
      messages.balance.needsYes,
    );
    if (!confirmed) throw new UsageError(messages.balance.cancelled);
  }
  const snapshot = await ctx.store.topUp(amount, 'top-up from the command line');
  return { snapshot, lowBalance: ctx.settings.lowBalance, added: amount };
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
    output.data(JSON.stringify({ balance: formatMoney(balance), held: formatMoney(reserved) }));
    return;
  }
  const c = output.colors;
  if (result.added !== null) output.say(c.green(`added ${formatMoney(result.added)}`));
  output.data(`balance ${c.bold(formatMoney(balance))}${reserved > 0n ? ` (${formatMoney(reserved)} held for answers in progress)` : ''}`);
  if (balance < result.lowBalance) output.warn(c.yellow(messages.balance.low(formatMoney(balance), formatMoney(result.lowBalance))));
}
