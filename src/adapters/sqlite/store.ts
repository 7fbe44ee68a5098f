// The Store port on an embedded SQLite file through Node's built-in node:sqlite (no native build, no npm package).
// Same semantics as the MySQL store (src/adapters/mysql/store.ts), with SQLite's locking instead of row locks:
// - WAL mode and a busy timeout, so readers never block and writers queue for a while instead of failing;
// - every write runs in BEGIN IMMEDIATE: it takes the file's single write lock up front, so two processes (or two
//   stores in one process) can never both claim, reserve or settle the same review, nor overdraw the balance;
// - the reserve is one conditional UPDATE on the account, checked by `changes` (invariant 5).
// Money is INTEGER kopecks bound as bigint, never a float (invariant 6); all SQL uses placeholders (invariant 16).
// node:sqlite is synchronous: every method runs its whole transaction without awaiting, so it cannot interleave
// with another call, and keeps it short. It is imported on first use, so loading this module costs nothing.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';
import { ConfigError, ServiceError, UsageError } from '../../errors.ts';
import type { ServiceErrorKind } from '../../errors.ts';
import { eventQuerySql } from '../sql/event-query.ts';
import { redactStrings, type Redact } from '../../redact.ts';
import { topUpTooLarge } from '../sql/top-up.ts';
import type { Kopecks } from '../../core/money.ts';
import type {
  BalanceSnapshot,
  BranchIntake,
  DialogueEntry,
  DomainEvent,
  DraftRecord,
  EventQuery,
  EventType,
  FollowUp,
  FollowUpOutcome,
  FollowUpState,
  LedgerEntry,
  LedgerKind,
  ListedReview,
  OutboxStatus,
  PendingEvent,
  PromptVersion,
  ReleaseOutcome,
  ReserveResult,
  ReviewRecord,
  ReviewState,
  Store,
  StoredEvent,
  StoredFollowUp,
  StoredReview,
  TelegramCard,
  TelegramCardBody,
} from '../../core/ports.ts';
import { LATEST_VERSION, MIGRATIONS_TABLE, migrations } from './migrations.ts';

export interface SqliteStoreOptions {
  /** The database file; its folder is created when missing. `:memory:` is a private in-memory database. */
  path: string;
  /** false: events are stored but not queued in the outbox (nothing would ever drain it). */
  notifications: boolean;
  /** Masks the configured secrets in every string of an event's data before it is stored (and sent from the outbox). */
  redact?: Redact;
  /** How long a write waits for another process's write lock before giving up; 5000 ms by default. */
  busyTimeoutMs?: number;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}

/** `sqlite:<path>` (also `sqlite://<path>`, `~/` for the home folder) to a file path. */
export function sqlitePathFromUrl(url: string): string {
  if (!url.startsWith('sqlite:')) throw new ConfigError(['database.url must look like sqlite:<path> or mysql://...']);
  let file = url.slice('sqlite:'.length);
  if (file.startsWith('//')) file = file.slice(2);
  if (file === '~' || file.startsWith('~/')) file = path.join(homedir(), file.slice(1));
  if (file === '') throw new ConfigError(['database.url: sqlite: needs a file path, e.g. sqlite:./gisbot.db']);
  return file;
}

// ---------------------------------------------------------------- loading node:sqlite

type SqliteModule = typeof import('node:sqlite');

let loading: Promise<SqliteModule> | null = null;

/**
 * Imports node:sqlite once, dropping exactly the "SQLite is an experimental feature" warning that Node 22 prints
 * on load (stderr is for people); every other warning passes through unchanged.
 */
export function loadSqlite(): Promise<SqliteModule> {
  loading ??= importQuietly().catch((error: unknown) => {
    loading = null;
    throw new ServiceError(
      'database',
      'unavailable',
      oneLine(`node:sqlite is not available in Node.js ${process.version}: ${error instanceof Error ? error.message : String(error)}`),
      { hint: 'use Node.js 22.22 or newer, or a mysql:// database.url', cause: error },
    );
  });
  return loading;
}

function isSqliteWarning(warning: unknown, rest: readonly unknown[]): boolean {
  const message = typeof warning === 'string' ? warning : warning instanceof Error ? warning.message : '';
  const options = rest[0];
  const type =
    warning instanceof Error
      ? warning.name
      : typeof options === 'string'
        ? options
        : typeof options === 'object' && options !== null
          ? (options as { type?: unknown }).type
          : undefined;
  return type === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature');
}

async function importQuietly(): Promise<SqliteModule> {
  const original = process.emitWarning;
  const filter = function (this: unknown, warning: unknown, ...rest: unknown[]): void {
    if (isSqliteWarning(warning, rest)) return;
    Reflect.apply(original, this, [warning, ...rest]);
  } as typeof process.emitWarning;
  process.emitWarning = filter;
  try {
    return await import('node:sqlite');
  } finally {
    if (process.emitWarning === filter) process.emitWarning = original;
  }
}

// ---------------------------------------------------------------- helpers

const MAX_MONEY = 10n ** 14n; // the same range as the MySQL schema's DECIMAL(14,2)
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const IN_FLIGHT = `('claimed', 'drafted', 'posting')`;
/** A sent answer may still land until `read_back_after` (beginPosting): nobody takes its row over before then. */
const READ_BACK_DUE = `(state <> 'posting' OR read_back_after IS NULL OR read_back_after <= ?)`;

// Primary SQLite result codes (https://sqlite.org/rescode.html).
const SQLITE_PERM = 3;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_NOMEM = 7;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_PROTOCOL = 15;
const SQLITE_NOTADB = 26;
const UNAVAILABLE_CODES = new Set([SQLITE_PERM, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_PROTOCOL]);
/** Failures after which the open connection is not trusted again (a lock timeout is not one of them). */
const BROKEN_CONNECTION_CODES = new Set([...UNAVAILABLE_CODES, SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_CORRUPT]);

/** A money amount as bigint kopecks for SQL; refuses what the schema's range cannot hold. */
function money(amount: Kopecks): bigint {
  if (typeof amount !== 'bigint') throw new TypeError('a money amount must be bigint kopecks');
  if (amount <= -MAX_MONEY || amount >= MAX_MONEY) throw new RangeError(`money amount out of range: ${amount}`);
  return amount;
}

function nonNegative(amount: Kopecks, what: string): bigint {
  if (amount < 0n) throw new RangeError(`${what} must not be negative`);
  return money(amount);
}

/** Creates `file` empty with mode 0600 unless it exists. */
function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** Thrown inside a transaction to roll it back and hand `value` to the caller. */
class Rollback<T> {
  readonly value: T;
  constructor(value: T) {
    this.value = value;
  }
}

interface SqliteError extends Error {
  code?: string;
  errcode?: number;
  errstr?: string;
}

function asSqliteError(error: unknown): SqliteError | null {
  if (!(error instanceof Error)) return null;
  const e = error as SqliteError;
  return e.code === 'ERR_SQLITE_ERROR' || typeof e.errcode === 'number' ? e : null;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// Texts are read back as BLOBs and decoded here: node:sqlite reads a TEXT value only up to its first NUL
// character, while the bytes stored are complete. ignoreBOM keeps a leading U+FEFF as it was written.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Selects a text column as its exact UTF-8 bytes; decode with `text()`. */
function bytes(column: string, alias = column.replace(/^\w+\./, '')): string {
  return `CAST(${column} AS BLOB) AS ${alias}`;
}

function text(value: SQLOutputValue | undefined): string {
  if (value instanceof Uint8Array) return decoder.decode(value);
  return String(value);
}

function nullableText(value: SQLOutputValue | undefined): string | null {
  return value === null || value === undefined ? null : text(value);
}

function integer(value: SQLOutputValue | undefined): number {
  return Number(value);
}

function nullableInteger(value: SQLOutputValue | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function kopecks(value: SQLOutputValue | undefined): Kopecks {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new TypeError(`not an integer money amount: ${String(value)}`);
}

function dateOf(value: SQLOutputValue | undefined): Date {
  return new Date(Number(value));
}

/** Milliseconds for a Date that the MySQL schema could hold too (years 1000..9999), or null. */
function storableTime(value: string): number | null {
  const date = new Date(value);
  const time = date.getTime();
  if (Number.isNaN(time)) return null;
  const year = date.getUTCFullYear();
  return year >= 1000 && year <= 9999 ? time : null;
}

function requireTime(value: Date, what: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new RangeError(`${what} is not a valid time`);
  return value.getTime();
}

function eventTime(event: DomainEvent): number {
  const time = storableTime(event.at);
  if (time === null) throw new RangeError(`event ${event.id} has an invalid time: ${event.at}`);
  return time;
}

function stringifyData(data: Record<string, unknown>): string {
  return JSON.stringify(data ?? {}, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

function parseData(value: SQLOutputValue | undefined): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  return JSON.parse(text(value)) as Record<string, unknown>;
}

function limitOf(limit: number): number {
  if (!Number.isFinite(limit)) return 0;
  return Math.max(0, Math.floor(limit));
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

type Row = Record<string, SQLOutputValue>;

const REVIEW_COLUMNS = [
  bytes('r.id'),
  bytes('r.branch_id'),
  bytes('r.branch_name'),
  'r.rating',
  bytes('r.text'),
  bytes('r.author_id'),
  bytes('r.author_name'),
  bytes('r.created_at_text'),
  'r.state',
  bytes('r.reason'),
  bytes('r.claim_token'),
  'r.lease_until',
  'r.reserved',
  bytes('r.draft_text'),
  'r.post_attempts',
  bytes('r.answer_id'),
].join(', ');

function toReview(row: Row): StoredReview {
  return {
    id: text(row.id),
    branchId: text(row.branch_id),
    branchName: text(row.branch_name),
    rating: integer(row.rating),
    text: text(row.text),
    authorId: nullableText(row.author_id),
    authorName: text(row.author_name),
    createdAt: text(row.created_at_text),
    state: text(row.state) as ReviewState,
    reason: nullableText(row.reason),
    claimToken: nullableText(row.claim_token),
    leaseUntil: row.lease_until === null || row.lease_until === undefined ? null : dateOf(row.lease_until),
    reserved: kopecks(row.reserved),
    draftText: nullableText(row.draft_text),
    postAttempts: integer(row.post_attempts),
    answerId: nullableText(row.answer_id),
  };
}

const FOLLOW_UP_COLUMNS = [
  bytes('f.comment_id'),
  bytes('f.review_id'),
  bytes('f.branch_id'),
  bytes('f.author_id'),
  bytes('f.text'),
  bytes('f.created_at_text'),
  'f.state',
  bytes('f.reason'),
  bytes('f.claim_token'),
  'f.lease_until',
  bytes('f.answer_id'),
  bytes('f.answer_text'),
].join(', ');

function toFollowUp(row: Row): StoredFollowUp {
  return {
    commentId: text(row.comment_id),
    reviewId: text(row.review_id),
    branchId: text(row.branch_id),
    authorId: nullableText(row.author_id),
    text: text(row.text),
    createdAt: text(row.created_at_text),
    state: text(row.state) as FollowUpState,
    reason: nullableText(row.reason),
    claimToken: nullableText(row.claim_token),
    leaseUntil: row.lease_until === null || row.lease_until === undefined ? null : dateOf(row.lease_until),
    answerId: nullableText(row.answer_id),
    answerText: nullableText(row.answer_text),
  };
}

const EVENT_COLUMNS = [
  'e.seq',
  bytes('e.id'),
  bytes('e.type'),
  'e.at',
  bytes('e.review_id'),
  bytes('e.branch_id'),
  bytes('e.data'),
].join(', ');

function toEvent(row: Row): StoredEvent {
  return {
    seq: integer(row.seq),
    id: text(row.id),
    type: text(row.type) as EventType,
    at: dateOf(row.at).toISOString(),
    reviewId: nullableText(row.review_id),
    branchId: nullableText(row.branch_id),
    data: parseData(row.data),
  };
}

function toLedgerEntry(row: Row): LedgerEntry {
  return {
    id: integer(row.id),
    at: dateOf(row.at),
    kind: text(row.kind) as LedgerKind,
    amount: kopecks(row.amount),
    balanceAfter: kopecks(row.balance_after),
    reviewId: nullableText(row.review_id),
    note: nullableText(row.note),
  };
}

// ---------------------------------------------------------------- the store

/** One open file: the connection and its prepared statements. */
class Connection {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#prepare(sql).all(...params) as Row[];
  }

  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#prepare(sql).get(...params) as Row | undefined;
  }

  /** Runs a write statement; returns the rows it changed and the last inserted rowid. */
  run(sql: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    const result = this.#prepare(sql).run(...params);
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  close(): void {
    this.#statements.clear();
    this.db.close();
  }
}

export class SqliteStore implements Store {
  readonly #file: string;
  readonly #notifications: boolean;
  readonly #redact: Redact;
  readonly #busyTimeoutMs: number;
  #connection: Connection | null = null;

  constructor(options: SqliteStoreOptions) {
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new ConfigError(['database.url: sqlite: needs a file path, e.g. sqlite:./gisbot.db']);
    }
    this.#file = options.path === ':memory:' ? options.path : path.resolve(options.path);
    this.#notifications = options.notifications;
    this.#redact = options.redact ?? ((text) => text);
    this.#busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
  }

  /** The database file, for messages. */
  get file(): string {
    return this.#file;
  }

  // ------------------------------------------------------------ plumbing

  /**
   * Opens the file on first use: creates its folder (0700) and the file (0600: reviewers' names and the ledger are
   * the owner's only; SQLite gives its -wal and -shm files the same mode), WAL mode, busy timeout, full sync.
   */
  #open(sqlite: SqliteModule): Connection {
    if (this.#connection !== null) return this.#connection;
    if (this.#file !== ':memory:') {
      const folder = path.dirname(this.#file);
      try {
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        createPrivately(this.#file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new ServiceError(
          'database',
          'unavailable',
          `cannot open SQLite database ${this.#file}: cannot create it or its folder ${folder} (${code})`,
          { hint: 'check the path in database.url and the permissions of its folder', cause: error },
        );
      }
    }
    const db = new sqlite.DatabaseSync(this.#file, {
      timeout: this.#busyTimeoutMs,
      readBigInts: true,
      enableForeignKeyConstraints: false,
      enableDoubleQuotedStringLiterals: false,
    });
    try {
      db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      // Switching to WAL is persistent; it needs a moment of exclusive access on a fresh file, which the busy
      // timeout covers when several processes open it at once.
      db.prepare('PRAGMA journal_mode = WAL').get();
      // FULL: a committed charge or claim survives a power cut, not only a crash of the process.
      db.exec('PRAGMA synchronous = FULL');
    } catch (error) {
      db.close();
      throw error;
    }
    this.#connection = new Connection(db);
    return this.#connection;
  }

  /** Runs `fn` on the open file outside a transaction (each statement on its own). */
  async #read<T>(fn: (connection: Connection) => T): Promise<T> {
    const sqlite = await loadSqlite();
    try {
      return fn(this.#open(sqlite));
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction and commits; a thrown Rollback rolls back and returns its value.
   * IMMEDIATE takes the write lock before reading, so what `fn` reads stays true until it commits.
   */
  async #write<T>(fn: (connection: Connection) => T): Promise<T> {
    const sqlite = await loadSqlite();
    try {
      const connection = this.#open(sqlite);
      connection.db.exec('BEGIN IMMEDIATE');
      try {
        const result = fn(connection);
        connection.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (connection.db.isTransaction) {
          try {
            connection.db.exec('ROLLBACK');
          } catch {
            this.#drop(); // SQLite rolled back on its own or the file is gone: start afresh next time
          }
        }
        if (error instanceof Rollback) return error.value as T;
        throw error;
      }
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /** Translates `error`; after an I/O-level failure the connection is dropped, so the next call reopens the file. */
  #failed(error: unknown): unknown {
    const code = asSqliteError(error)?.errcode;
    if (code !== undefined && BROKEN_CONNECTION_CODES.has(code & 0xff)) this.#drop();
    return this.#translate(error);
  }

  #drop(): void {
    const connection = this.#connection;
    this.#connection = null;
    try {
      connection?.close();
    } catch {
      // already closed
    }
  }

  /** SQLite errors become one-line ServiceErrors naming the file and the cause. */
  #translate(error: unknown): unknown {
    if (error instanceof ServiceError) return error;
    const e = asSqliteError(error);
    if (e === null) return error;
    const primary = (e.errcode ?? 0) & 0xff;
    const detail = oneLine(e.message || e.errstr || 'error');
    const where = this.#file;
    let kind: ServiceErrorKind = 'unavailable';
    let message: string;
    let hint: string | undefined;
    if (primary === SQLITE_BUSY || primary === SQLITE_LOCKED) {
      message = `SQLite database ${where} stayed locked by another process for ${this.#busyTimeoutMs} ms: ${detail}`;
      hint = 'another gisbot process is writing to the same file; try again, or use MySQL for several busy workers';
    } else if (primary === SQLITE_CANTOPEN) {
      message = `cannot open SQLite database ${where}: ${detail}`;
      hint = 'check the path in database.url and that the file and its folder are writable';
    } else if (primary === SQLITE_NOTADB || primary === SQLITE_CORRUPT) {
      message = `${where} is not a usable SQLite database: ${detail}`;
      hint = 'point database.url at a gisbot database file, or move this file away';
    } else if (UNAVAILABLE_CODES.has(primary)) {
      message = `SQLite database ${where} is unavailable: ${detail}`;
    } else if (/no such table/i.test(detail)) {
      kind = 'rejected';
      message = `SQLite database ${where}: ${detail}`;
      hint = 'the schema is missing: run the migrations';
    } else {
      kind = 'rejected';
      message = `SQLite database ${where} rejected a statement: ${detail}`;
    }
    return new ServiceError('database', kind, oneLine(message), { cause: error, hint });
  }

  #eventData(event: DomainEvent): string {
    return stringifyData(redactStrings(event.data, this.#redact));
  }

  #insertEvents(connection: Connection, events: readonly DomainEvent[]): void {
    for (const event of events) {
      // At least once: an event already stored is not stored (or queued) again.
      const { changes } = connection.run(
        `INSERT INTO events (id, type, at, review_id, branch_id, data) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
        event.id,
        event.type,
        eventTime(event),
        event.reviewId ?? null,
        event.branchId ?? null,
        this.#eventData(event),
      );
      if (changes === 1 && this.#notifications) {
        connection.run('INSERT INTO outbox (event_id) VALUES (?)', event.id);
      }
    }
  }

  #readAccount(connection: Connection): BalanceSnapshot {
    const row = connection.get('SELECT balance, reserved FROM account WHERE id = 1');
    if (row === undefined) {
      throw new ServiceError('database', 'rejected', `SQLite database ${this.#file}: the account row is missing`, {
        hint: 'run the migrations',
      });
    }
    return { balance: kopecks(row.balance), reserved: kopecks(row.reserved) };
  }

  #readReview(connection: Connection, where: 'id' | 'rowid', key: string | number): StoredReview | null {
    const row = connection.get(`SELECT ${REVIEW_COLUMNS} FROM reviews r WHERE r.${where} = ?`, key);
    return row === undefined ? null : toReview(row);
  }

  // ------------------------------------------------------------ lifecycle

  async migrate(): Promise<void> {
    await this.#write((connection) => {
      const { db } = connection;
      this.#refuseForeignSchema(connection);
      db.exec(MIGRATIONS_TABLE);
      const rows = connection.all('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((row) => integer(row.version)));
      const newest = Math.max(0, ...applied);
      if (newest > LATEST_VERSION) {
        throw new ServiceError(
          'database',
          'rejected',
          `SQLite database ${this.#file}: the schema is at version ${newest}, newer than this gisbot knows (${LATEST_VERSION})`,
          { hint: 'upgrade gisbot' },
        );
      }
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        for (const statement of migration.statements) db.exec(statement);
        connection.run(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
          migration.version,
          migration.name,
          Date.now(),
        );
      }
    });
  }

  /** A file that holds another application's tables and no gisbot schema is not ours to add nine tables to. */
  #refuseForeignSchema(connection: Connection): void {
    const tables = connection
      .all(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)
      .map((row) => text(row.name));
    if (tables.length === 0 || tables.includes('schema_migrations')) return;
    const shown = tables.length > 5 ? `${tables.slice(0, 5).join(', ')} and ${tables.length - 5} more` : tables.join(', ');
    throw new ConfigError(
      [`database.url: ${this.#file} holds other tables (${shown}) and no gisbot schema: gisbot will not add its own to it`],
      'point database.url at a new file (it is created) or at a gisbot database',
    );
  }

  async ping(): Promise<void> {
    await this.#read((connection) => {
      connection.get('SELECT 1 AS one');
    });
  }

  async close(): Promise<void> {
    this.#drop();
  }

  // ------------------------------------------------------------ intake

  async findKnownReviewIds(ids: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return known;
    await this.#read((connection) => {
      for (let i = 0; i < unique.length; i += 500) {
        const chunk = unique.slice(i, i + 500);
        const rows = connection.all(
          `SELECT ${bytes('r.id')} FROM reviews r WHERE r.id IN (${placeholders(chunk.length)})`,
          ...chunk,
        );
        for (const row of rows) known.add(text(row.id));
      }
    });
    return known;
  }

  async recordReview(
    review: ListedReview,
    state: 'new' | 'skipped' | 'needs_approval',
    reason: string | null,
    events: readonly DomainEvent[],
  ): Promise<boolean> {
    const now = Date.now();
    const createdAt = storableTime(review.createdAt) ?? now;
    return this.#write((connection) => {
      const { changes } = connection.run(
        `INSERT INTO reviews (id, branch_id, branch_name, rating, text, author_id, author_name, created_at_text,
           created_at, state, reason, recorded_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
        review.id,
        review.branchId,
        review.branchName,
        review.rating,
        review.text,
        review.authorId ?? null,
        review.authorName,
        review.createdAt,
        createdAt,
        state,
        reason ?? null,
        now,
        now,
      );
      if (changes !== 1) throw new Rollback(false);
      this.#insertEvents(connection, events);
      insertDialogue(connection, review.authorId ?? '', review.id, 'reviewer', review.text, createdAt);
      return true;
    });
  }

  async recordReviews(entries: readonly ReviewRecord[]): Promise<boolean[]> {
    // In-process: a statement costs no round trip, so one by one costs no more than a page at once.
    const results: boolean[] = [];
    for (const entry of entries) results.push(await this.recordReview(entry.review, entry.state, entry.reason, entry.events));
    return results;
  }

  async getReview(id: string): Promise<StoredReview | null> {
    return this.#read((connection) => this.#readReview(connection, 'id', id));
  }

  async branchIntakes(branchIds: readonly string[]): Promise<Map<string, BranchIntake>> {
    const kept = new Map<string, BranchIntake>();
    const unique = [...new Set(branchIds)];
    await this.#read((connection) => {
      for (let i = 0; i < unique.length; i += 500) {
        const chunk = unique.slice(i, i + 500);
        const rows = connection.all(
          `SELECT ${bytes('b.branch_id')}, b.swept_at, ${bytes('b.backlog_cursor')}, b.backlog_until
           FROM branch_intake b WHERE b.branch_id IN (${placeholders(chunk.length)})`,
          ...chunk,
        );
        for (const row of rows) {
          const cursor = nullableText(row.backlog_cursor);
          kept.set(text(row.branch_id), {
            sweptAt: row.swept_at === null ? null : dateOf(row.swept_at),
            backlog: cursor === null ? null : { cursor, until: row.backlog_until === null ? null : dateOf(row.backlog_until) },
          });
        }
      }
    });
    return kept;
  }

  async saveBranchIntake(branchId: string, change: Partial<BranchIntake>): Promise<void> {
    const sets: string[] = [];
    if (change.sweptAt !== undefined) sets.push('swept_at = excluded.swept_at');
    if (change.backlog !== undefined) sets.push('backlog_cursor = excluded.backlog_cursor', 'backlog_until = excluded.backlog_until');
    if (sets.length === 0) return;
    const sweptAt = change.sweptAt ? requireTime(change.sweptAt, 'sweptAt') : null;
    const until = change.backlog?.until ? requireTime(change.backlog.until, 'backlog.until') : null;
    await this.#write((connection) => {
      connection.run(
        `INSERT INTO branch_intake (branch_id, swept_at, backlog_cursor, backlog_until, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (branch_id) DO UPDATE SET ${sets.join(', ')}, updated_at = excluded.updated_at`,
        branchId,
        sweptAt,
        change.backlog?.cursor ?? null,
        until,
        Date.now(),
      );
    });
  }

  // ------------------------------------------------------------ work

  async claimNext(token: string, now: Date, leaseUntil: Date, price: Kopecks): Promise<StoredReview | 'insufficient' | null> {
    const at = requireTime(now, 'now');
    const until = requireTime(leaseUntil, 'leaseUntil');
    const amount = nonNegative(price, 'price');
    return this.#write<StoredReview | 'insufficient' | null>((connection) => {
      // Newest first: a backlog or a runaway listing of old reviews cannot hold back the other branches' new ones.
      const row = connection.get(`SELECT rowid AS rowid, reserved FROM reviews WHERE state = 'new' ORDER BY created_at DESC, id DESC LIMIT 1`);
      if (row === undefined) return null;
      const rowid = integer(row.rowid);
      // A queued review holds nothing; should one hold something, the worker's reserve settles the difference.
      const funded = amount > 0n && kopecks(row.reserved) === 0n;
      const { changes } = connection.run(
        `UPDATE reviews SET state = 'claimed', claim_token = ?, lease_until = ?, updated_at = ?, reserved = reserved + ?
         WHERE rowid = ? AND state = 'new'`,
        token,
        until,
        at,
        funded ? amount : 0n,
        rowid,
      );
      if (changes !== 1) throw new Rollback(null);
      if (funded) {
        const { changes: reserved } = connection.run(
          'UPDATE account SET reserved = reserved + ? WHERE id = 1 AND balance - reserved >= ?',
          amount,
          amount,
        );
        if (reserved !== 1) throw new Rollback<StoredReview | 'insufficient' | null>('insufficient');
      }
      return this.#readReview(connection, 'rowid', rowid);
    });
  }

  async claimReview(reviewId: string, token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
    const at = requireTime(now, 'now');
    const until = requireTime(leaseUntil, 'leaseUntil');
    return this.#write((connection) => {
      const { changes } = connection.run(
        `UPDATE reviews SET state = 'claimed', claim_token = ?, lease_until = ?, updated_at = ?
         WHERE id = ? AND state IN ('new', 'needs_approval', 'failed')`,
        token,
        until,
        at,
        reviewId,
      );
      if (changes !== 1) return null;
      return this.#readReview(connection, 'id', reviewId);
    });
  }

  async claimStale(token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
    const at = requireTime(now, 'now');
    const until = requireTime(leaseUntil, 'leaseUntil');
    return this.#write((connection) => {
      // A lease is live while lease_until > now (the beginPosting fence), so it is stale once lease_until <= now.
      const row = connection.get(
        `SELECT rowid AS rowid FROM reviews WHERE state IN ${IN_FLIGHT} AND lease_until <= ? AND ${READ_BACK_DUE}
         ORDER BY lease_until, id LIMIT 1`,
        at,
        at,
      );
      if (row === undefined) return null;
      const rowid = integer(row.rowid);
      const { changes } = connection.run(
        `UPDATE reviews SET claim_token = ?, lease_until = ?, updated_at = ?
         WHERE rowid = ? AND state IN ${IN_FLIGHT} AND lease_until <= ? AND ${READ_BACK_DUE}`,
        token,
        until,
        at,
        rowid,
        at,
        at,
      );
      if (changes !== 1) throw new Rollback(null);
      return this.#readReview(connection, 'rowid', rowid);
    });
  }

  async listInFlight(): Promise<Array<{ id: string; claimToken: string }>> {
    return this.#read((connection) =>
      connection
        .all(
          `SELECT ${bytes('r.id')}, ${bytes('r.claim_token')} FROM reviews r
           WHERE r.state IN ${IN_FLIGHT} AND r.claim_token IS NOT NULL`,
        )
        .map((row) => ({ id: text(row.id), claimToken: text(row.claim_token) })),
    );
  }

  async reserve(reviewId: string, token: string, price: Kopecks): Promise<ReserveResult> {
    const amount = nonNegative(price, 'price');
    return this.#write<ReserveResult>((connection) => {
      const row = connection.get('SELECT rowid AS rowid, reserved FROM reviews WHERE id = ? AND claim_token = ?', reviewId, token);
      if (row === undefined) throw new Rollback<ReserveResult>('lost');
      // One reserve per claim, at the price of its moment: a price changed since applies to later claims.
      if (kopecks(row.reserved) > 0n || amount === 0n) return 'reserved';
      // The one conditional UPDATE: it reserves only what is free, and `changes` says whether it did.
      const { changes } = connection.run(
        'UPDATE account SET reserved = reserved + ? WHERE id = 1 AND balance - reserved >= ?',
        amount,
        amount,
      );
      if (changes !== 1) throw new Rollback<ReserveResult>('insufficient');
      connection.run('UPDATE reviews SET reserved = ? WHERE rowid = ?', amount, integer(row.rowid));
      return 'reserved';
    });
  }

  async saveDraft(reviewId: string, token: string, draft: DraftRecord): Promise<boolean> {
    return this.#write((connection) => {
      const { changes } = connection.run(
        `UPDATE reviews SET state = 'drafted', draft_text = ?, model = ?, prompt_version = ?, prompt_tokens = ?,
           completion_tokens = ?, finish_reason = ?, model_cost = ?, updated_at = ?
         WHERE id = ? AND claim_token = ?`,
        draft.text,
        draft.model,
        draft.promptVersion,
        draft.promptTokens ?? null,
        draft.completionTokens ?? null,
        draft.finishReason,
        draft.cost ?? null,
        Date.now(),
        reviewId,
        token,
      );
      return changes === 1;
    });
  }

  async beginPosting(reviewId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    const at = requireTime(now, 'now');
    const hold = requireTime(holdUntil, 'holdUntil');
    return this.#write((connection) => {
      const { changes } = connection.run(
        `UPDATE reviews SET state = 'posting', post_attempts = post_attempts + 1, read_back_after = ?, updated_at = ?
         WHERE id = ? AND claim_token = ? AND lease_until > ?`,
        hold,
        at,
        reviewId,
        token,
        at,
      );
      return changes === 1;
    });
  }

  async relinquish(reviewId: string, token: string, at: Date): Promise<void> {
    const time = requireTime(at, 'at');
    await this.#write((connection) => {
      connection.run(
        'UPDATE reviews SET claim_token = NULL, lease_until = ?, updated_at = ? WHERE id = ? AND claim_token = ?',
        time,
        Date.now(),
        reviewId,
        token,
      );
    });
  }

  async settlePosted(
    reviewId: string,
    answer: { answerId: string | null; text: string },
    events: (balanceAfter: Kopecks, charged: Kopecks, balanceBefore: Kopecks) => readonly DomainEvent[],
  ): Promise<{ balance: Kopecks; charged: Kopecks } | null> {
    return this.#write((connection) => {
      const now = Date.now();
      const row = connection.get(
        `SELECT r.rowid AS rowid, r.state, r.reserved, ${bytes('r.author_id')} FROM reviews r WHERE r.id = ?`,
        reviewId,
      );
      if (row === undefined || text(row.state) !== 'posting') throw new Rollback(null);
      // The price agreed when it was claimed, held since: always within the balance (the account's CHECK).
      const charged = kopecks(row.reserved);
      const { changes } = connection.run(
        `UPDATE reviews SET state = 'posted', answer_id = ?, answer_text = ?, charged = ?, reserved = 0,
           claim_token = NULL, lease_until = NULL, updated_at = ?
         WHERE rowid = ? AND state = 'posting'`,
        answer.answerId ?? null,
        answer.text,
        charged,
        now,
        integer(row.rowid),
      );
      if (changes !== 1) throw new Rollback(null);
      connection.run('UPDATE account SET balance = balance - ?, reserved = reserved - ? WHERE id = 1', charged, charged);
      const { balance } = this.#readAccount(connection);
      const entry = connection.run(
        `INSERT INTO ledger (at, kind, amount, balance_after, review_id, charge_review_id, note)
         VALUES (?, 'charge', ?, ?, ?, ?, NULL)
         ON CONFLICT (charge_review_id) DO NOTHING`,
        now,
        -charged,
        balance,
        reviewId,
        reviewId,
      );
      // The unique charge key: this review was charged already.
      if (entry.changes !== 1) throw new Rollback(null);
      this.#insertEvents(connection, events(balance, charged, balance + charged));
      insertDialogue(connection, nullableText(row.author_id) ?? '', reviewId, 'owner', answer.text, now);
      return { balance, charged };
    });
  }

  async release(
    reviewId: string,
    token: string,
    outcome: ReleaseOutcome,
    events: readonly DomainEvent[],
  ): Promise<boolean> {
    return this.#write((connection) => {
      const row = connection.get('SELECT rowid AS rowid, reserved FROM reviews WHERE id = ? AND claim_token = ?', reviewId, token);
      if (row === undefined) throw new Rollback(false);
      const held = kopecks(row.reserved);
      const clearDraft =
        outcome.state === 'new'
          ? `, draft_text = NULL, model = NULL, prompt_version = NULL, prompt_tokens = NULL,
             completion_tokens = NULL, finish_reason = NULL, model_cost = NULL`
          : '';
      connection.run(
        `UPDATE reviews SET state = ?, reason = ?, reserved = 0, claim_token = NULL, lease_until = NULL,
           updated_at = ?${clearDraft}
         WHERE rowid = ?`,
        outcome.state,
        outcome.reason ?? null,
        Date.now(),
        integer(row.rowid),
      );
      if (held !== 0n) connection.run('UPDATE account SET reserved = reserved - ? WHERE id = 1', held);
      this.#insertEvents(connection, events);
      return true;
    });
  }

  // ------------------------------------------------------------ events and outbox

  async appendEvents(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#write((connection) => this.#insertEvents(connection, events));
  }

  async listEvents(query: EventQuery): Promise<StoredEvent[]> {
    const limit = limitOf(query.limit);
    if (limit === 0) return [];
    const { clause, params, newestFirst } = eventQuerySql(query, limit, (since) => requireTime(since, 'since'));
    return this.#read((connection) => {
      const events = connection.all(`SELECT ${EVENT_COLUMNS} FROM events e ${clause}`, ...params).map(toEvent);
      return newestFirst ? events.reverse() : events;
    });
  }

  async pendingOutbox(limit: number, dueAt?: Date): Promise<PendingEvent[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    const due = dueAt === undefined ? '' : 'WHERE o.retry_at IS NULL OR o.retry_at <= ?';
    const params = dueAt === undefined ? [count] : [requireTime(dueAt, 'dueAt'), count];
    return this.#read((connection) =>
      connection
        .all(`SELECT ${EVENT_COLUMNS}, o.attempts, o.retry_at FROM outbox o JOIN events e ON e.id = o.event_id ${due} ORDER BY o.seq LIMIT ?`, ...params)
        .map((row) => ({ ...toEvent(row), attempts: integer(row.attempts), retryAt: row.retry_at === null ? null : dateOf(row.retry_at) })),
    );
  }

  async markDelivered(eventIds: readonly string[]): Promise<void> {
    const unique = [...new Set(eventIds)];
    if (unique.length === 0) return;
    await this.#write((connection) => {
      for (let i = 0; i < unique.length; i += 500) {
        const chunk = unique.slice(i, i + 500);
        connection.run(`DELETE FROM outbox WHERE event_id IN (${placeholders(chunk.length)})`, ...chunk);
      }
    });
  }

  async deferDelivery(entries: readonly { id: string; retryAt: Date }[]): Promise<void> {
    if (entries.length === 0) return;
    const times = entries.map((entry) => requireTime(entry.retryAt, 'retryAt'));
    await this.#write((connection) => {
      entries.forEach((entry, index) => {
        connection.run('UPDATE outbox SET attempts = attempts + 1, retry_at = ? WHERE event_id = ?', times[index]!, entry.id);
      });
    });
  }

  async outboxStatus(): Promise<OutboxStatus> {
    return this.#read((connection) => {
      const row = connection.get('SELECT COUNT(*) AS pending, MIN(COALESCE(retry_at, 0)) AS next_due FROM outbox');
      return { pending: integer(row?.pending), nextDueAt: row?.next_due === null || row?.next_due === undefined ? null : dateOf(row.next_due) };
    });
  }

  // ------------------------------------------------------------ money

  async getBalance(): Promise<BalanceSnapshot> {
    return this.#read((connection) => this.#readAccount(connection));
  }

  async topUp(amount: Kopecks, note: string | null): Promise<BalanceSnapshot> {
    if (amount <= 0n) throw new RangeError('a top-up must be a positive amount');
    const value = money(amount);
    return this.#write((connection) => {
      const raised = connection.run('UPDATE account SET balance = balance + ? WHERE id = 1 AND balance <= ?', value, MAX_MONEY - 1n - amount);
      if (raised.changes !== 1) throw new UsageError(topUpTooLarge(amount, MAX_MONEY - 1n));
      const snapshot = this.#readAccount(connection);
      connection.run(
        `INSERT INTO ledger (at, kind, amount, balance_after, review_id, charge_review_id, note)
         VALUES (?, 'topup', ?, ?, NULL, NULL, ?)`,
        Date.now(),
        value,
        money(snapshot.balance),
        note ?? null,
      );
      return snapshot;
    });
  }

  async ledger(query: { since?: Date; limit: number }): Promise<LedgerEntry[]> {
    const limit = limitOf(query.limit);
    if (limit === 0) return [];
    const since = query.since === undefined ? null : requireTime(query.since, 'since');
    const columns = `l.id, l.at, l.kind, l.amount, l.balance_after, ${bytes('l.review_id')}, ${bytes('l.note')}`;
    return this.#read((connection) => {
      const rows =
        since === null
          ? connection.all(`SELECT ${columns} FROM ledger l ORDER BY l.id DESC LIMIT ?`, limit)
          : connection.all(`SELECT ${columns} FROM ledger l WHERE l.at >= ? ORDER BY l.id DESC LIMIT ?`, since, limit);
      return rows.map(toLedgerEntry);
    });
  }

  // ------------------------------------------------------------ reading, for the operator's commands

  async listReviewsInState(state: ReviewState, limit: number): Promise<StoredReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#read((connection) =>
      connection
        .all(`SELECT ${REVIEW_COLUMNS} FROM reviews r WHERE r.state = ? ORDER BY r.created_at, r.id LIMIT ?`, state, count)
        .map(toReview),
    );
  }

  async listPromptVersions(limit: number): Promise<PromptVersion[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#read((connection) =>
      connection
        .all(`SELECT p.version, ${bytes('p.text')}, p.created_at FROM prompt_versions p ORDER BY p.version DESC LIMIT ?`, count)
        .map((row) => ({ version: integer(row.version), text: text(row.text), createdAt: dateOf(row.created_at) })),
    );
  }

  async getPromptVersion(version: number): Promise<PromptVersion | null> {
    if (!Number.isSafeInteger(version) || version < 1) return null;
    return this.#read((connection) => {
      const row = connection.get(`SELECT p.version, ${bytes('p.text')}, p.created_at FROM prompt_versions p WHERE p.version = ?`, version);
      return row === undefined ? null : { version: integer(row.version), text: text(row.text), createdAt: dateOf(row.created_at) };
    });
  }

  // ------------------------------------------------------------ prompts and dialogue

  async savePromptVersion(promptText: string): Promise<PromptVersion> {
    const sha256 = createHash('sha256').update(promptText, 'utf8').digest('hex');
    return this.#write((connection) => {
      const latest = connection.get(
        `SELECT p.version, ${bytes('p.text')}, p.sha256, p.created_at FROM prompt_versions p ORDER BY p.version DESC LIMIT 1`,
      );
      if (latest !== undefined && text(latest.sha256) === sha256 && text(latest.text) === promptText) {
        return { version: integer(latest.version), text: text(latest.text), createdAt: dateOf(latest.created_at) };
      }
      const createdAt = Date.now();
      const { lastInsertRowid } = connection.run(
        'INSERT INTO prompt_versions (text, sha256, created_at) VALUES (?, ?, ?)',
        promptText,
        sha256,
        createdAt,
      );
      return { version: lastInsertRowid, text: promptText, createdAt: new Date(createdAt) };
    });
  }

  async latestPrompt(): Promise<PromptVersion | null> {
    return this.#read((connection) => {
      const row = connection.get(
        `SELECT p.version, ${bytes('p.text')}, p.created_at FROM prompt_versions p ORDER BY p.version DESC LIMIT 1`,
      );
      if (row === undefined) return null;
      return { version: integer(row.version), text: text(row.text), createdAt: dateOf(row.created_at) };
    });
  }

  /** Answers of ours to a branch, posted or on their way, newest first: drafts must not repeat them. */
  async recentAnswers(branchId: string, limit: number): Promise<string[]> {
    return this.#read((connection) =>
      connection
        .all(
          `SELECT ${bytes('COALESCE(r.answer_text, r.draft_text)', 'text')} FROM reviews r
           WHERE r.branch_id = ? AND r.state IN ('drafted', 'posting', 'posted')
             AND COALESCE(r.answer_text, r.draft_text) IS NOT NULL
           ORDER BY r.updated_at DESC, r.id DESC LIMIT ?`,
          branchId,
          Math.max(0, Math.floor(limit)),
        )
        .map((row) => text(row.text)),
    );
  }

  // ------------------------------------------------------------ follow-ups

  #readFollowUp(connection: Connection, commentId: string): StoredFollowUp | null {
    const row = connection.get(`SELECT ${FOLLOW_UP_COLUMNS} FROM follow_ups f WHERE f.comment_id = ?`, commentId);
    return row === undefined ? null : toFollowUp(row);
  }

  async recordFollowUp(followUp: FollowUp, events: readonly DomainEvent[]): Promise<boolean> {
    const now = Date.now();
    const createdAt = storableTime(followUp.createdAt) ?? now;
    return this.#write((connection) => {
      const { changes } = connection.run(
        `INSERT INTO follow_ups (comment_id, review_id, branch_id, author_id, text, created_at_text, created_at, state,
           recorded_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)
         ON CONFLICT (comment_id) DO NOTHING`,
        followUp.commentId,
        followUp.reviewId,
        followUp.branchId,
        followUp.authorId ?? null,
        followUp.text,
        followUp.createdAt,
        createdAt,
        now,
        now,
      );
      if (changes !== 1) throw new Rollback(false);
      this.#insertEvents(connection, events);
      insertDialogue(connection, followUp.authorId ?? '', followUp.reviewId, 'reviewer', followUp.text, createdAt);
      return true;
    });
  }

  async getFollowUp(commentId: string): Promise<StoredFollowUp | null> {
    return this.#read((connection) => this.#readFollowUp(connection, commentId));
  }

  async claimFollowUp(token: string, now: Date, leaseUntil: Date): Promise<StoredFollowUp | null> {
    const at = requireTime(now, 'now');
    const until = requireTime(leaseUntil, 'leaseUntil');
    return this.#write((connection) => {
      // A follow-up whose worker died comes first (it may have a comment out there to read back), then the oldest new one.
      const row =
        connection.get(
          `SELECT f.comment_id AS comment_id FROM follow_ups f
           WHERE f.state IN ('claimed', 'posting') AND f.lease_until <= ? AND ${READ_BACK_DUE}
           ORDER BY f.lease_until, f.comment_id LIMIT 1`,
          at,
          at,
        ) ?? connection.get(`SELECT f.comment_id AS comment_id FROM follow_ups f WHERE f.state = 'new' ORDER BY f.created_at, f.comment_id LIMIT 1`);
      if (row === undefined) return null;
      const id = text(row.comment_id);
      const { changes } = connection.run(
        `UPDATE follow_ups SET state = CASE WHEN state = 'new' THEN 'claimed' ELSE state END, claim_token = ?, lease_until = ?,
           updated_at = ?
         WHERE comment_id = ? AND (state = 'new' OR (state IN ('claimed', 'posting') AND lease_until <= ? AND ${READ_BACK_DUE}))`,
        token,
        until,
        at,
        id,
        at,
        at,
      );
      if (changes !== 1) throw new Rollback(null);
      return this.#readFollowUp(connection, id);
    });
  }

  async beginFollowUpPosting(commentId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    const at = requireTime(now, 'now');
    const hold = requireTime(holdUntil, 'holdUntil');
    return this.#write((connection) => {
      const { changes } = connection.run(
        `UPDATE follow_ups SET state = 'posting', read_back_after = ?, updated_at = ?
         WHERE comment_id = ? AND claim_token = ? AND state = 'claimed' AND lease_until > ?`,
        hold,
        at,
        commentId,
        token,
        at,
      );
      return changes === 1;
    });
  }

  async finishFollowUp(commentId: string, token: string, outcome: FollowUpOutcome, events: readonly DomainEvent[]): Promise<boolean> {
    const now = Date.now();
    return this.#write((connection) => {
      const row = connection.get(
        `SELECT ${bytes('f.review_id')}, ${bytes('f.author_id')} FROM follow_ups f
         WHERE f.comment_id = ? AND f.claim_token = ? AND f.state IN ('claimed', 'posting')`,
        commentId,
        token,
      );
      if (row === undefined) return false;
      if (outcome.state === 'posted') {
        connection.run(
          `UPDATE follow_ups SET state = 'posted', reason = NULL, claim_token = NULL, lease_until = NULL, answer_id = ?, answer_text = ?,
             model = ?, prompt_version = ?, prompt_tokens = ?, completion_tokens = ?, model_cost = ?, updated_at = ?
           WHERE comment_id = ?`,
          outcome.answerId ?? null,
          outcome.text,
          outcome.draft?.model ?? null,
          outcome.draft?.promptVersion ?? null,
          outcome.draft?.promptTokens ?? null,
          outcome.draft?.completionTokens ?? null,
          outcome.draft?.cost ?? null,
          now,
          commentId,
        );
        insertDialogue(connection, nullableText(row.author_id) ?? '', text(row.review_id), 'owner', outcome.text, now);
      } else {
        connection.run(
          `UPDATE follow_ups SET state = ?, reason = ?, claim_token = NULL, lease_until = NULL, updated_at = ? WHERE comment_id = ?`,
          outcome.state,
          outcome.reason,
          now,
          commentId,
        );
      }
      this.#insertEvents(connection, events);
      return true;
    });
  }

  /** The history kept under the key (author, review), oldest first; an unknown author is ''. */
  async dialogue(authorId: string | null, reviewId: string): Promise<DialogueEntry[]> {
    return this.#read((connection) =>
      connection
        .all(
          `SELECT d.role, ${bytes('d.text')}, d.at FROM dialogue d
           WHERE d.author_id = ? AND d.review_id = ? ORDER BY d.at, d.id`,
          authorId ?? '',
          reviewId,
        )
        .map((row) => ({ role: text(row.role) as DialogueEntry['role'], text: text(row.text), at: dateOf(row.at) })),
    );
  }

  // ------------------------------------------------------------ telegram (issue 15)
  // Written in the SQL both stores speak, so that the two read the same; only a refused duplicate differs.

  async reviewsWithoutCard(limit: number): Promise<StoredReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#read((connection) =>
      connection
        .all(
          `SELECT ${REVIEW_COLUMNS} FROM reviews r WHERE r.state = 'needs_approval'
             AND NOT EXISTS (SELECT 1 FROM telegram_cards c WHERE c.review_id = r.id)
           ORDER BY r.created_at DESC, r.id DESC LIMIT ?`,
          count,
        )
        .map(toReview),
    );
  }

  async createTelegramCard(reviewId: string, body: TelegramCardBody): Promise<TelegramCard | null> {
    const now = Date.now();
    const json = JSON.stringify(body);
    return this.#write((connection) => {
      const { changes, lastInsertRowid } = connection.run(
        `INSERT INTO telegram_cards (review_id, active, version, body, created_at, updated_at) VALUES (?, 1, 1, ?, ?, ?)
         ON CONFLICT (review_id) DO NOTHING`,
        reviewId,
        json,
        now,
        now,
      );
      if (changes !== 1) return null;
      return { id: lastInsertRowid, reviewId, active: true, version: 1, body: JSON.parse(json) as TelegramCardBody };
    });
  }

  async telegramCard(id: number): Promise<TelegramCard | null> {
    if (!Number.isSafeInteger(id)) return null;
    return this.#read((connection) => {
      const row = connection.get(`SELECT ${CARD_COLUMNS} FROM telegram_cards c WHERE c.id = ?`, id);
      return row === undefined ? null : toCard(row);
    });
  }

  async activeTelegramCards(limit: number): Promise<TelegramCard[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#read((connection) =>
      connection.all(`SELECT ${CARD_COLUMNS} FROM telegram_cards c WHERE c.active = 1 ORDER BY c.id LIMIT ?`, count).map(toCard),
    );
  }

  async saveTelegramCard(card: TelegramCard, body: TelegramCardBody, active: boolean): Promise<boolean> {
    const json = JSON.stringify(body);
    return this.#write(
      (connection) =>
        connection.run(
          'UPDATE telegram_cards SET body = ?, active = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?',
          json,
          active ? 1 : 0,
          Date.now(),
          card.id,
          card.version,
        ).changes === 1,
    );
  }

  async takeTelegramTurn(token: string, now: Date, until: Date): Promise<number | null> {
    const at = requireTime(now, 'now');
    const end = requireTime(until, 'until');
    return this.#write((connection) => {
      const { changes } = connection.run(
        'UPDATE telegram_turn SET holder = ?, holder_until = ? WHERE id = 1 AND (holder IS NULL OR holder = ? OR holder_until <= ?)',
        token,
        end,
        token,
        at,
      );
      if (changes !== 1) return null;
      return integer(connection.get('SELECT next_offset FROM telegram_turn WHERE id = 1')?.next_offset ?? 0);
    });
  }

  async endTelegramTurn(token: string): Promise<void> {
    await this.#write((connection) => {
      connection.run('UPDATE telegram_turn SET holder = NULL, holder_until = NULL WHERE id = 1 AND holder = ?', token);
    });
  }

  async claimTelegramUpdate(updateId: number, token: string, now: Date, until: Date): Promise<boolean> {
    const at = requireTime(now, 'now');
    const end = requireTime(until, 'until');
    return this.#write((connection) => {
      const inserted = connection.run(
        `INSERT INTO telegram_updates (update_id, claim_token, lease_until, done, updated_at) VALUES (?, ?, ?, 0, ?)
         ON CONFLICT (update_id) DO NOTHING`,
        updateId,
        token,
        end,
        at,
      );
      if (inserted.changes === 1) return true;
      // Known: taken over only from a claimer whose claim ran out before it was done (it died acting on it).
      return (
        connection.run(
          'UPDATE telegram_updates SET claim_token = ?, lease_until = ?, updated_at = ? WHERE update_id = ? AND done = 0 AND lease_until <= ?',
          token,
          end,
          at,
          updateId,
          at,
        ).changes === 1
      );
    });
  }

  async finishTelegramUpdate(updateId: number, token: string): Promise<void> {
    const now = Date.now();
    await this.#write((connection) => {
      connection.run('UPDATE telegram_updates SET done = 1, updated_at = ? WHERE update_id = ? AND claim_token = ?', now, updateId, token);
      connection.run('UPDATE telegram_turn SET next_offset = ? WHERE id = 1 AND next_offset < ?', updateId + 1, updateId + 1);
      // Telegram forgets an update once the offset passed it: a day later its row guards nothing.
      connection.run('DELETE FROM telegram_updates WHERE done = 1 AND updated_at < ?', now - TELEGRAM_UPDATE_KEPT_MS);
    });
  }
}

const CARD_COLUMNS = `c.id, ${bytes('c.review_id')}, c.active, c.version, ${bytes('c.body')}`;
/** How long an acted-on Telegram update's row is kept. */
const TELEGRAM_UPDATE_KEPT_MS = 86_400_000;

function toCard(row: Row): TelegramCard {
  return {
    id: integer(row.id),
    reviewId: text(row.review_id),
    active: integer(row.active) === 1,
    version: integer(row.version),
    body: JSON.parse(text(row.body)) as TelegramCardBody,
  };
}

/** One line of the dialogue history, keyed by (author, review); '' stands for an author 2GIS did not name. */
function insertDialogue(connection: Connection, authorId: string, reviewId: string, role: 'reviewer' | 'owner', body: string, at: number): void {
  connection.run('INSERT INTO dialogue (author_id, review_id, role, text, at) VALUES (?, ?, ?, ?, ?)', authorId, reviewId, role, body, at);
}
