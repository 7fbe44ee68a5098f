// JSON lines appended to the log file. Writing never blocks or breaks answering: lines are buffered by the
// stream, dropped (and counted) past a bound, and a failing disk turns file logging off with one warning.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { DomainEvent, Logger } from '../../core/ports.ts';
import type { Redact } from '../../redact.ts';

const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface FileLoggerOptions {
  file: string;
  redact: Redact;
  /** Told once when the file cannot be written. */
  onFailure: (error: Error) => void;
}

export interface FileLogger extends Logger {
  close(): Promise<void>;
}

export function createFileLogger(options: FileLoggerOptions): FileLogger {
  let stream: WriteStream | null = null;
  let failed = false;
  let closed = false;
  let dropped = 0;

  function open(): WriteStream | null {
    if (failed || closed) return null;
    if (stream) return stream;
    try {
      mkdirSync(path.dirname(options.file), { recursive: true });
      stream = createWriteStream(options.file, { flags: 'a', mode: 0o600 });
      stream.on('error', fail);
      return stream;
    } catch (error) {
      fail(error as Error);
      return null;
    }
  }

  function fail(error: Error): void {
    if (failed) return;
    failed = true;
    stream?.destroy();
    options.onFailure(error);
  }

  function write(entry: Record<string, unknown>): void {
    const target = open();
    if (!target) return;
    if (target.writableLength > MAX_BUFFERED_BYTES) {
      dropped += 1;
      return;
    }
    if (dropped > 0) {
      target.write(`${JSON.stringify({ at: new Date().toISOString(), level: 'warn', msg: 'log lines dropped', dropped })}\n`);
      dropped = 0;
    }
    target.write(`${options.redact(JSON.stringify(entry))}\n`);
  }

  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    write({ at: new Date().toISOString(), level, msg, ...fields });

  return {
    event(event: DomainEvent) {
      write({ ...event, level: 'event' });
    },
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    flush() {
      const target = stream;
      if (!target || failed || target.writableLength === 0) return Promise.resolve();
      return new Promise((resolve) => target.write('', () => resolve()));
    },
    async close() {
      const target = stream;
      closed = true;
      stream = null;
      if (!target || failed) return;
      await new Promise<void>((resolve) => target.end(() => resolve()));
    },
  };
}
