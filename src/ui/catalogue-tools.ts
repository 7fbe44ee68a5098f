// What both message catalogues (messages.ts, messages.ru.ts) put into their sentences: the command's name, a shipped
// file's path, a path as a shell word. Its own module so that the Russian catalogue needs nothing of the English one
// but its type.
import path from 'node:path';
import { fromSource, shippedFile } from '../shipped.ts';

/**
 * The command that starts gisbot, as the hints name it: a clone runs its TypeScript through the project's npm
 * script, the installed package is the `gisbot` command.
 */
export const gisbotCommand = fromSource ? 'npm run gisbot --' : 'gisbot';

/** A file shipped with gisbot, as a person finds it from here: relative when it lies below the current folder. */
export function shipped(name: string): string {
  const file = shippedFile(name);
  const relative = path.relative(process.cwd(), file);
  return shellWord(relative.startsWith('..') || path.isAbsolute(relative) ? file : relative);
}

/** A path as one word of a shell command (quoted when it holds anything but the usual characters). */
export function shellWord(file: string): string {
  return /^[\w./@%+=:,-]+$/.test(file) ? file : JSON.stringify(file);
}

/** A time to the minute as a heading shows it: 2026-01-31 09:00, local. */
export function shortTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** Local time to the second, as the English texts print it: `2026-01-31 09:00:05` (format.ts's formatTime). */
export function localTime(at: Date): string {
  if (Number.isNaN(at.getTime())) return String(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${shortTime(at)}:${pad(at.getSeconds())}`;
}
