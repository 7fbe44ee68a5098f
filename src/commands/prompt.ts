// `gisbot prompt show|history|edit|rollback`. The prompt FILE is what the pipeline reads; the store keeps every
// version of it (the pipeline records the text in force before each answer, and each save here is a version).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultPromptName } from '../config/businesses.ts';
import type { Config } from '../config/load.ts';
import type { Context } from '../context.ts';
import type { PromptVersion } from '../core/ports.ts';
import { UsageError } from '../errors.ts';
import { shippedFile } from '../shipped.ts';
import { clip, formatTime, parseLimit, table } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownText } from '../ui/shown-text.ts';

export type PromptResult =
  | { kind: 'show'; version: PromptVersion | null; text: string; current: boolean }
  | { kind: 'history'; versions: PromptVersion[]; current: number | null; unrecorded: boolean }
  | { kind: 'saved'; file: string; version: PromptVersion | null; reason: 'empty' | 'unchanged' | null; added: number; removed: number }
  | { kind: 'rollback'; file: string; from: number; version: PromptVersion; changed: boolean };

export async function showPrompt(ctx: Context, options: { version?: string }): Promise<PromptResult> {
  const wanted = options.version === undefined ? null : versionNumber(options.version);
  await ctx.store.migrate();
  const file = await ctx.prompts.read();
  if (wanted === null) {
    const latest = await ctx.store.latestPrompt();
    return { kind: 'show', version: latest?.text === file ? latest : null, text: file, current: true };
  }
  const version = await findVersion(ctx, wanted);
  return { kind: 'show', version, text: version.text, current: version.text === file };
}

export async function promptHistory(ctx: Context, options: { limit?: string }): Promise<PromptResult> {
  const limit = options.limit === undefined ? 20 : parseLimit(options.limit);
  await ctx.store.migrate();
  const [versions, file] = await Promise.all([ctx.store.listPromptVersions(limit), ctx.prompts.read()]);
  const current = versions.find((version) => version.text === file)?.version ?? null;
  const latest = versions[0];
  return { kind: 'history', versions, current, unrecorded: latest === undefined || latest.text !== file };
}

export async function editPrompt(ctx: Context): Promise<PromptResult> {
  const file = promptTarget(ctx.config);
  if (!ctx.output.interactive) throw new UsageError(messages.prompt.needsTerminal, messages.prompt.editHint(file, file === ctx.config.prompt.file ? null : ctx.config.prompt.file));
  await ctx.store.migrate();
  const before = await ctx.prompts.read();
  const after = await ctx.prompter.editor(messages.prompt.editing(file), before, messages.prompt.needsTerminal, '.md');
  const unsaved = { kind: 'saved', file, version: null, added: 0, removed: 0 } as const;
  if (after.trim() === '') return { ...unsaved, reason: 'empty' };
  if (after.trimEnd() === before.trimEnd()) return { ...unsaved, reason: 'unchanged' };
  await ctx.store.savePromptVersion(before);
  await writePrompt(file, after);
  const version = await ctx.store.savePromptVersion(after);
  return { kind: 'saved', file, version, reason: null, ...lineChanges(before, after) };
}

export async function rollbackPrompt(ctx: Context, options: { version: string }): Promise<PromptResult> {
  const wanted = versionNumber(options.version);
  await ctx.store.migrate();
  const old = await findVersion(ctx, wanted);
  const file = promptTarget(ctx.config);
  const before = await ctx.prompts.read().catch(() => null);
  const changed = before !== old.text;
  if (changed) {
    if (before !== null && before.trim() !== '') await ctx.store.savePromptVersion(before);
    await writePrompt(file, old.text);
  }
  const version = await ctx.store.savePromptVersion(old.text);
  return { kind: 'rollback', file, from: old.version, version, changed };
}

/** Read before the database is opened: a mistyped version changes nothing, not even by creating the file. */
function versionNumber(text: string): number {
  const number = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < 1) throw new UsageError(messages.prompt.badVersion(text));
  return number;
}

async function findVersion(ctx: Context, number: number): Promise<PromptVersion> {
  const version = await ctx.store.getPromptVersion(number);
  if (!version) throw new UsageError(messages.prompt.noSuchVersion(number), messages.prompt.historyHint);
  return version;
}

/**
 * Where a new prompt is written: the configured file, except the prompt shipped inside gisbot itself, which stays
 * untouched: the copy goes to `prompts/system.md` (a business's `prompts/<id>.md`) beside the config (or here),
 * which the config then picks up.
 */
export function promptTarget(config: Readonly<Config>): string {
  const file = config.prompt.file;
  const local = path.resolve(config.source ? path.dirname(config.source) : process.cwd(), defaultPromptName(config.businessId));
  return file === shippedFile(path.join('prompts', 'system.md')) ? local : file;
}

async function writePrompt(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, 'utf8');
}

/** Lines added and removed, counted as multisets: enough for a one-line summary. */
function lineChanges(before: string, after: string): { added: number; removed: number } {
  const counts = new Map<string, number>();
  for (const line of before.split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  let added = 0;
  for (const line of after.split('\n')) {
    const left = counts.get(line) ?? 0;
    if (left > 0) counts.set(line, left - 1);
    else added += 1;
  }
  const removed = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return { added, removed };
}

const versionJson = (version: PromptVersion | null) => ({ version: version?.version ?? null, createdAt: version?.createdAt.toISOString() ?? null });

export function render(result: PromptResult, output: Output): void {
  const c = output.colors;
  const d = output.dataColors;
  switch (result.kind) {
    case 'show':
      if (output.json) return output.data(JSON.stringify({ ...versionJson(result.version), current: result.current, text: result.text }));
      output.say(c.dim(messages.prompt.showing(result.version?.version ?? null, result.version ? formatTime(result.version.createdAt) : null, result.current)));
      return output.data(shownText(result.text));
    case 'history': {
      const rows = result.versions.map((v) => ({ ...versionJson(v), current: v.version === result.current, chars: [...v.text].length, firstLine: v.text.trim().split('\n')[0] ?? '' }));
      if (output.json) return output.data(JSON.stringify(rows));
      if (rows.length === 0) output.say(messages.prompt.noHistory);
      const cells = result.versions.map((v, i) => [
        v.version === result.current ? d.green(`${v.version} ●`) : String(v.version),
        formatTime(v.createdAt),
        String(rows[i]!.chars),
        clip(shownText(rows[i]!.firstLine), 200),
      ]);
      if (rows.length > 0) for (const line of table(messages.prompt.columns, cells, output.width, d)) output.data(line);
      if (result.unrecorded && rows.length > 0) output.say(c.yellow(messages.prompt.unrecorded));
      return;
    }
    case 'saved':
      if (output.json) return output.data(JSON.stringify({ saved: result.version !== null, ...versionJson(result.version), file: result.file, reason: result.reason }));
      if (result.reason) return output.say(c.yellow(messages.prompt.notSaved(result.reason)));
      return output.say(c.green(`✓ ${messages.prompt.saved(result.version!.version, result.file, result.added, result.removed)}`));
    case 'rollback':
      if (output.json) return output.data(JSON.stringify({ ...versionJson(result.version), from: result.from, file: result.file, changed: result.changed }));
      return output.say(c.green(`✓ ${messages.prompt.rolledBack(result.from, result.version.version, result.changed)}`));
  }
}
