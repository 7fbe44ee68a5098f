// `gisbot businesses`: every business of the deployment at a glance (contract.md, "Businesses"): its status, money,
// branches, the reviews waiting for a person, the answers of the last 30 days and its last cycle. Read from the
// database alone: no business's 2GIS account is reached.
import type { Business } from '../config/businesses.ts';
import type { Context } from '../context.ts';
import { formatMoney } from '../core/money/money.ts';
import type { BusinessRecord } from '../core/ports.ts';
import { formatTime, table } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';

export type BusinessStatus = 'ok' | 'no_balance' | 'sign_in_failed' | 'paused' | 'never_run';

export interface BusinessRow {
  id: string;
  name: string | null;
  enabled: boolean;
  status: BusinessStatus;
  balance: string;
  held: string;
  currency: string;
  branches: number;
  waiting: number;
  answered30d: number;
  lastCycleAt: string | null;
}

export interface BusinessesResult {
  rows: BusinessRow[];
}

const DAY_MS = 86_400_000;

export async function listBusinesses(ctx: Context, businesses: readonly Business[]): Promise<BusinessesResult> {
  await ctx.store.migrate();
  const records = new Map((await ctx.store.businessRecords()).map((record) => [record.id, record]));
  const since = new Date(ctx.clock.now().getTime() - 30 * DAY_MS);
  const rows = await Promise.all(
    businesses.map(async (business): Promise<BusinessRow> => {
      const store = ctx.store.forBusiness(business.id);
      const [money, all, recent, seen] = await Promise.all([store.getBalance(), store.reviewFacts({}), store.reviewFacts({ from: since }), store.reviewBranches()]);
      const sum = (facts: typeof all, key: 'waitingForPerson' | 'answered') => facts.reduce((total, branch) => total + branch[key], 0);
      return {
        id: business.id,
        name: business.name,
        enabled: business.enabled,
        status: statusOf(business, records.get(business.id)),
        balance: formatMoney(money.balance),
        held: formatMoney(money.reserved),
        currency: ctx.config.billing.currency,
        branches: business.config.twogis.branches?.length ?? seen.length,
        waiting: sum(all, 'waitingForPerson'),
        answered30d: sum(recent, 'answered'),
        lastCycleAt: records.get(business.id)?.lastCycleAt?.toISOString() ?? null,
      };
    }),
  );
  return { rows };
}


function statusOf(business: Business, record: BusinessRecord | undefined): BusinessStatus {
  if (!business.enabled) return 'paused';
  if (!record?.lastCycleAt || !record.lastStatus) return 'never_run';
  return record.lastStatus;
}

export function render(result: BusinessesResult, output: Output): void {
  if (output.json) {
    output.data(JSON.stringify(result.rows));
    return;
  }
  const words = messages.businesses;
  const rows = result.rows.map((row) => [
    row.id,
    row.name ?? '',
    words.status[row.status],
    messages.money(row.balance),
    messages.money(row.held),
    String(row.branches),
    String(row.waiting),
    String(row.answered30d),
    row.lastCycleAt ? formatTime(row.lastCycleAt) : '—',
  ]);
  for (const line of table(words.columns, rows, output.width, output.dataColors)) output.data(line);
}
