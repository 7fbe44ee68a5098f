// JSON lines appended to the log file. Writing never blocks or breaks answering: lines are buffered by the
// stream, dropped (and counted) past a bound, and a failing disk turns file logging off with one warning.
// The file holds whole lines only: a line the disk had no room to finish is cut off again, at once and whenever
// the file is opened, so a reader never meets half a line. `reopen` (SIGHUP, after logrotate moved the file)
// lets the next line open the file anew at its configured path.
import { closeSync, createWriteStream, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { DomainEvent, Logger } from '../../core/ports.ts';
import type { Redact } from '../../redact.ts';

const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface FileLoggerOptions {
  file: string;
  redact: Redact;
  /** Told once when the file cannot be written (again after each reopen). */
  onFailure: (error: Error) => void;
}

export interface FileLogger extends Logger {
  /** Lets go of the file; the next line opens it again at its path. */
  reopen(): void;
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
      // The log's folder is by default the data folder, which also holds the database: only its owner may look in.
      mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
      dropPartialLine(options.file);
      const opened = createWriteStream(options.file, { flags: 'a', mode: 0o600 });
      // A stream let go of by reopen may still fail while it finishes: that is the moved file's business.
      opened.on('error', (error) => {
        if (stream === opened) fail(error);
      });
      stream = opened;
      return opened;
    } catch (error) {
      fail(error as Error);
      return null;
    }
  }

  function fail(error: Error): void {
    if (failed) return;
    failed = true;
    stream?.destroy();
    stream = null;
    try {
      dropPartialLine(options.file);
    } catch {
      // nothing more can be done for the file; the warning below says logging to it is off
    }
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
    reopen() {
      if (closed) return;
      // The lines still buffered go to the file they were meant for, moved or not.
      stream?.end();
      stream = null;
      failed = false;
      write({ at: new Date().toISOString(), level: 'info', msg: 'log file reopened' });
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

/** Cuts the file back to its last complete line, if it ends in the middle of one (a write the disk cut short). */
function dropPartialLine(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    let end = fstatSync(fd).size;
    const size = end;
    const chunk = Buffer.alloc(64 * 1024);
    while (end > 0) {
      const start = Math.max(0, end - (end === size ? 1 : chunk.length));
      const read = readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
      if (newline >= 0) {
        if (start + newline + 1 < size) ftruncateSync(fd, start + newline + 1);
        return;
      }
      end = start;
    }
    if (size > 0) ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}
