// Small pieces the operator's commands share: reading `--since` and `--limit`, printing times, stars and tables.
import { stripVTControlCharacters } from 'node:util';
import type { ChalkInstance } from 'chalk';
import { UsageError } from '../errors.ts';
import { machineTimeZone, readMoment } from '../core/insight/period.ts';
import { messages } from './messages.ts';


/**
 * `15m`, `2h`, `3d` (also `30s`, `1w`) before `now`; a date (`2026-01-31`: midnight in `timeZone`); a local time
 * (`2026-01-31T09:00`, in `timeZone`); or an instant (`2026-01-31T09:00Z`, `…+05:00`). See core/insight/period.ts.
 */
export function parseSince(text: string, now: Date = new Date(), timeZone: string = machineTimeZone(), flag = '--since'): Date {
  const moment = readMoment(text, now, timeZone);
  if (moment instanceof Date) return moment;
  const message =
    moment === 'impossible' ? messages.input.impossibleDate(text, flag) : moment === 'range' ? messages.input.outOfRange(text, flag) : messages.input.badSince(text, flag);
  throw new UsageError(message, messages.input.sinceHint);
}

export function parseLimit(text: string, max = 10_000): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(messages.input.badLimit(text, max));
  }
  return Number(text);
}

/** Local time to the second, as people read logs: `2026-01-31 09:00:05`. */
export function formatTime(at: Date | string): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return String(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function stars(rating: number, c: ChalkInstance): string {
  const full = Math.max(0, Math.min(5, Math.round(rating)));
  const paint = full <= 2 ? c.red : full === 3 ? c.yellow : c.green;
  return `${paint('★'.repeat(full))}${c.dim('☆'.repeat(5 - full))} ${rating}/5`;
}

/** One line, at most `width` characters, cut with an ellipsis. */
export function clip(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const chars = [...line];
  if (width <= 1) return chars.length > 0 ? '…' : '';
  return chars.length > width ? `${chars.slice(0, width - 1).join('').trimEnd()}…` : line;
}

/**
 * Names that share a beginning (a chain's branches: "Кофейня «Зерно» на Абая", "Кофейня «Зерно» на Достык") cut to
 * `width` so that what tells them apart stays: the shared words go first ("…на Абая"), then the end of the rest.
 * Each name's cut, keyed by the name as given.
 */
export function distinctNames(names: readonly string[], width: number): Map<string, string> {
  const lines = [...new Set(names)].map((name) => name.replace(/\s+/g, ' ').trim());
  const cut = new Map<string, string>();
  for (const name of new Set(names)) {
    const line = name.replace(/\s+/g, ' ').trim();
    // What this name shares with the one most like it: the rest is what tells the two apart.
    const shared = lines.filter((other) => other !== line).reduce((longest, other) => {
      const words = sharedWords([line, other]);
      return words.length > longest.length ? words : longest;
    }, '');
    if ([...line].length <= width || shared === '') cut.set(name, clip(line, width));
    else cut.set(name, clip(`…${line.slice(shared.length)}`, width));
  }
  return cut;
}

/** The whole words every line begins with (with the space after them), or ''. */
function sharedWords(lines: readonly string[]): string {
  let prefix = lines[0]!;
  for (const line of lines.slice(1)) {
    let length = 0;
    while (length < prefix.length && length < line.length && prefix[length] === line[length]) length += 1;
    prefix = prefix.slice(0, length);
  }
  const lastSpace = prefix.lastIndexOf(' ');
  return lastSpace < 0 ? '' : prefix.slice(0, lastSpace + 1);
}

export function visibleLength(text: string): number {
  return [...stripVTControlCharacters(text)].length;
}

export function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}

/**
 * A table for stdout: columns as wide as their widest cell, the last one clipped to what is left of `width`.
 * Cells may already be coloured; the header is dimmed.
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, width: number, c: ChalkInstance): string[] {
  const widths = header.map((title, index) => Math.max(visibleLength(title), ...rows.map((row) => visibleLength(row[index] ?? ''))));
  const last = header.length - 1;
  const used = widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0);
  const lastWidth = Math.max(10, width - used);
  const line = (cells: readonly string[]) =>
    cells.map((cell, index) => (index === last ? clipColoured(cell, lastWidth) : pad(cell, widths[index]!))).join('  ').trimEnd();
  return [c.dim(line(header)), ...rows.map(line)];
}

function clipColoured(cell: string, width: number): string {
  return visibleLength(cell) <= width ? cell : clip(stripVTControlCharacters(cell), width);
}
