// `gisbot branches`: the account's branches as 2GIS lists them (id, name, address), whether gisbot watches each
// (`twogis.branches`, or all), the policy overrides in force for it (`policy.branches.<id>`), and what the store
// holds of it: reviews seen, answered, waiting. The ids to copy into those two keys.
import type { Context } from '../context.ts';
import { waitingOf } from '../core/insight/figures.ts';
import type { Branch, BranchFacts } from '../core/ports.ts';
import { table } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownLine } from '../ui/shown-text.ts';

export interface BranchRow {
  id: string;
  name: string;
  address: string | null;
  watched: boolean;
  /** The keys of policy.branches.<id> as the config gives them; empty when the branch follows policy.*. */
  policy: Record<string, unknown>;
  reviews: number;
  answered: number;
  waiting: number;
  /** Named in twogis.branches but not among the account's branches (a typo, or a branch of another account). */
  unknown: boolean;
}

export interface BranchesResult {
  branches: BranchRow[];
}

export async function branches(ctx: Context): Promise<BranchesResult> {
  await ctx.store.migrate();
  const [listed, facts] = await Promise.all([ctx.twogis.accountBranches(), ctx.store.reviewFacts({})]);
  const watchedIds = ctx.config.twogis.branches ?? null;
  const missing: Branch[] = (watchedIds ?? []).filter((id) => !listed.some((branch) => branch.id === id)).map((id) => ({ id, name: '' }));
  const row = (branch: Branch, unknown: boolean): BranchRow => {
    const own = facts.find((each) => each.branchId === branch.id);
    return {
      id: branch.id,
      name: branch.name || own?.branchName || '',
      address: branch.address ?? null,
      watched: watchedIds === null || watchedIds.includes(branch.id),
      policy: { ...ctx.config.policy.branches[branch.id] },
      ...counts(own),
      unknown,
    };
  };
  return { branches: [...listed.map((branch) => row(branch, false)), ...missing.map((branch) => row(branch, true))] };
}

function counts(facts: BranchFacts | undefined): Pick<BranchRow, 'reviews' | 'answered' | 'waiting'> {
  return { reviews: facts?.reviews ?? 0, answered: facts?.answered ?? 0, waiting: facts === undefined ? 0 : waitingOf(facts) };
}

export function render(result: BranchesResult, output: Output): void {
  if (output.json) {
    output.data(JSON.stringify(result.branches.map(({ unknown: _unknown, ...branch }) => branch)));
    return;
  }
  const m = messages.branches;
  const d = output.dataColors;
  if (result.branches.length === 0) {
    output.say(m.none);
    return;
  }
  const rows = result.branches.map((branch) => [
    shownLine(branch.id),
    branch.watched ? d.green(m.yes) : d.dim(m.no),
    String(branch.reviews),
    String(branch.answered),
    branch.waiting > 0 ? d.yellow(String(branch.waiting)) : '0',
    branch.unknown ? d.red(m.notInAccount) : shownLine(branch.name),
    shownLine(branch.address ?? ''),
    Object.keys(branch.policy).length > 0 ? shownLine(m.policy(branch.policy)) : d.dim(m.defaults),
  ]);
  for (const line of table(m.columns, rows, output.width, d)) output.data(line);
}
