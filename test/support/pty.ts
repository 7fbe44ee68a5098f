// The real binary on a real pseudo-terminal: util-linux `script` gives the child a pty, we type into it through
// script's stdin and read what the terminal would show. For the interactive flows (inquirer prompts, Ctrl-C).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { BIN } from './world.ts';

export const KEYS = { enter: '\r', ctrlC: '\x03', down: '\x1b[B' } as const;

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed, escape sequences included. */
  raw: string;
  /** The same without escape sequences. */
  text: string;
}

export class Pty {
  raw = '';
  #cursor = 0;
  readonly done: Promise<PtyResult>;
  #stdin: NodeJS.WritableStream;

  /** `columns`: the width the terminal reports (120 unless given; 0 as some consoles and containers report). */
  constructor(args: readonly string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number; columns?: number }) {
    const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;
    const command = `stty cols ${options.columns ?? 120} rows 40 2>/dev/null; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
    const child = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], {
      cwd: options.cwd,
      env: { TERM: 'xterm-256color', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#stdin = child.stdin;
    child.stdout.on('data', (chunk: Buffer) => (this.raw += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (this.raw += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    this.done = new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, raw: this.raw, text: this.text });
      });
    });
    void this.done.then(() => child.stdin.end());
  }

  get text(): string {
    return stripVTControlCharacters(this.raw).replaceAll('\r', '');
  }

  /** Waits until `pattern` shows up after the previous match, then moves past it. */
  async expect(pattern: string | RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.#cursor);
      const match = typeof pattern === 'string' ? { index: rest.indexOf(pattern), length: pattern.length } : matchOf(rest, pattern);
      if (match.index >= 0) {
        this.#cursor += match.index + match.length;
        return;
      }
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${String(pattern)}; the terminal shows:\n${this.text}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Types each of `keys` (a key, or a whole answer at once) a moment after the previous one. */
  async type(...keys: string[]): Promise<void> {
    for (const key of keys) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      this.#stdin.write(key);
    }
  }
}

function matchOf(text: string, pattern: RegExp): { index: number; length: number } {
  const match = pattern.exec(text);
  return match ? { index: match.index, length: match[0].length } : { index: -1, length: 0 };
}
