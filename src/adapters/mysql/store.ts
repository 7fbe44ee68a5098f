// The Store port on MySQL / MariaDB through mysql2/promise, one pool per store.
// Money is DECIMAL(14,2) in the schema and bigint kopecks in code; it crosses the wire as decimal strings and
// every arithmetic on it in SQL goes through CAST(? AS DECIMAL(14,2)), so nothing is ever a float (invariant 6).
// All SQL uses placeholders (invariant 16).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from 'mysql2/promise';
import type { Pool, PoolConnection, PoolOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { ConfigError, ServiceError, UsageError } from '../../errors.ts';
import type { ServiceErrorKind } from '../../errors.ts';
import { formatMoney, parseStoredMoney } from '../../core/money.ts';
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

export interface MysqlStoreOptions {
  /** mysql://user:pass@host:port/db */
  url: string;
  /** false: events are stored but not queued in the outbox (nothing would ever drain it). */
  notifications: boolean;
  /** Masks the configured secrets in every string of an event's data before it is stored (and sent from the outbox). */
  redact?: Redact;
  connectionLimit?: number;
}

export interface MysqlConnectionSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Parses `mysql://user:pass@host:port/db`; the error never repeats the URL (it may hold a password). */
export function parseMysqlUrl(url: string): MysqlConnectionSettings {
  const problem = 'database.url must look like mysql://user:password@host:3306/database';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([problem]);
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new ConfigError([problem]);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (host === '' || database === '' || database.includes('/')) throw new ConfigError([problem]);
  const port = parsed.port === '' ? 3306 : Number(parsed.port);
  return {
    host,
    port,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

export function createMysqlStore(options: MysqlStoreOptions): MysqlStore {
  return new MysqlStore(options);
}

// ---------------------------------------------------------------- helpers

const MAX_MONEY = 10n ** 14n; // DECIMAL(14,2) holds up to 999 999 999 999.99
const MONEY = 'CAST(? AS DECIMAL(14,2))';
const SESSION_SQL_MODE =
  'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION';
const TRANSACTION_ATTEMPTS = 4;
const ER_DUP_ENTRY = 1062;
const ER_DUP_FIELDNAME = 1060;
const ER_DUP_KEYNAME = 1061;
const ER_CANT_DROP_FIELD_OR_KEY = 1091;
/** What a DDL statement that already ran says when run again after a crash half-way through its version. */
const ALREADY_DONE = new Set([ER_DUP_FIELDNAME, ER_DUP_KEYNAME, ER_CANT_DROP_FIELD_OR_KEY]);
const ER_LOCK_WAIT_TIMEOUT = 1205;
/** A sent answer may still land until `read_back_after` (beginPosting): nobody takes its row over before then. */
const READ_BACK_DUE = `(state <> 'posting' OR read_back_after IS NULL OR read_back_after <= ?)`;
const ER_LOCK_DEADLOCK = 1213;

/** A money amount as a decimal string for SQL; refuses what DECIMAL(14,2) cannot hold. */
function money(amount: Kopecks): string {
  if (amount <= -MAX_MONEY || amount >= MAX_MONEY) throw new RangeError(`money amount out of range: ${amount}`);
  return formatMoney(amount);
}

function nonNegative(amount: Kopecks, what: string): string {
  if (amount < 0n) throw new RangeError(`${what} must not be negative`);
  return money(amount);
}

/** Thrown inside a transaction to roll it back and hand `value` to the caller. */
class Rollback<T> {
  readonly value: T;
  constructor(value: T) {
    this.value = value;
  }
}

interface DatabaseError extends Error {
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  syscall?: string;
  fatal?: boolean;
}

function asDatabaseError(error: unknown): DatabaseError | null {
  if (!(error instanceof Error)) return null;
  const e = error as DatabaseError;
  if (typeof e.code !== 'string') return null;
  if (typeof e.errno === 'number' || typeof e.sqlState === 'string' || typeof e.syscall === 'string' || e.fatal) {
    return e;
  }
  if (/^(PROTOCOL_|ER_|E[A-Z]+$)/.test(e.code)) return e;
  return null;
}

function errnoOf(error: unknown): number | undefined {
  return asDatabaseError(error)?.errno;
}

function isRetryable(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

const LOGIN_ERRORS = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_HOST_IS_BLOCKED',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
]);

const SERVER_GONE_ERRORS = new Set([
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_SERVER_SHUTDOWN_IN_PROGRESS',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_READ_ONLY_MODE',
]);

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function nullableString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** A Date that DATETIME can hold, or null (invalid, or outside years 1000..9999). */
function storableDate(value: string): Date | null {
  const date = new Date(value);
  const time = date.getTime();
  if (Number.isNaN(time)) return null;
  const year = date.getUTCFullYear();
  return year >= 1000 && year <= 9999 ? date : null;
}

function requireDate(value: Date, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new RangeError(`${what} is not a valid time`);
  return value;
}

function eventDate(event: DomainEvent): Date {
  const date = storableDate(event.at);
  if (date === null) throw new RangeError(`event ${event.id} has an invalid time: ${event.at}`);
  return date;
}

function stringifyData(data: Record<string, unknown>): string {
  return JSON.stringify(data ?? {}, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

function parseData(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return JSON.parse(value) as Record<string, unknown>;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  return value as Record<string, unknown>;
}

function limitOf(limit: number): number {
  if (!Number.isFinite(limit)) return 0;
  return Math.max(0, Math.floor(limit));
}

const REVIEW_COLUMNS = `id, branch_id, branch_name, rating, text, author_id, author_name, created_at_text, state, reason,
  claim_token, lease_until, reserved, draft_text, post_attempts, answer_id`;

function toReview(row: RowDataPacket): StoredReview {
  return {
    id: String(row.id),
    branchId: String(row.branch_id),
    branchName: String(row.branch_name),
    rating: Number(row.rating),
    text: String(row.text),
    authorId: nullableString(row.author_id),
    authorName: String(row.author_name),
    createdAt: String(row.created_at_text),
    state: row.state as ReviewState,
    reason: nullableString(row.reason),
    claimToken: nullableString(row.claim_token),
    leaseUntil: row.lease_until === null || row.lease_until === undefined ? null : toDate(row.lease_until),
    reserved: parseStoredMoney(row.reserved),
    draftText: nullableString(row.draft_text),
    postAttempts: Number(row.post_attempts),
    answerId: nullableString(row.answer_id),
  };
}

const FOLLOW_UP_COLUMNS = `comment_id, review_id, branch_id, author_id, text, created_at_text, state, reason, claim_token,
  lease_until, answer_id, answer_text`;

function toFollowUp(row: RowDataPacket): StoredFollowUp {
  return {
    commentId: String(row.comment_id),
    reviewId: String(row.review_id),
    branchId: String(row.branch_id),
    authorId: nullableString(row.author_id),
    text: String(row.text),
    createdAt: String(row.created_at_text),
    state: row.state as FollowUpState,
    reason: nullableString(row.reason),
    claimToken: nullableString(row.claim_token),
    leaseUntil: row.lease_until === null || row.lease_until === undefined ? null : toDate(row.lease_until),
    answerId: nullableString(row.answer_id),
    answerText: nullableString(row.answer_text),
  };
}

const EVENT_COLUMNS = 'e.seq, e.id, e.type, e.at, e.review_id, e.branch_id, e.data';

function toEvent(row: RowDataPacket): StoredEvent {
  return {
    seq: Number(row.seq),
    id: String(row.id),
    type: row.type as EventType,
    at: toDate(row.at).toISOString(),
    reviewId: nullableString(row.review_id),
    branchId: nullableString(row.branch_id),
    data: parseData(row.data),
  };
}

function toLedgerEntry(row: RowDataPacket): LedgerEntry {
  return {
    id: Number(row.id),
    at: toDate(row.at),
    kind: row.kind as LedgerKind,
    amount: parseStoredMoney(row.amount),
    balanceAfter: parseStoredMoney(row.balance_after),
    reviewId: nullableString(row.review_id),
    note: nullableString(row.note),
  };
}

// ---------------------------------------------------------------- the store

export class MysqlStore implements Store {
  readonly #settings: MysqlConnectionSettings;
  readonly #notifications: boolean;
  readonly #redact: Redact;
  readonly #connectionLimit: number;
  #pool: Pool | null = null;
  /** Core connections whose session has been set up (sql_mode, time zone, isolation). */
  readonly #prepared = new WeakSet<object>();

  constructor(options: MysqlStoreOptions) {
    this.#settings = parseMysqlUrl(options.url);
    this.#notifications = options.notifications;
    this.#redact = options.redact ?? ((text) => text);
    this.#connectionLimit = options.connectionLimit ?? 10;
  }

  /** host:port, for messages. */
  get address(): string {
    const { host, port } = this.#settings;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  // ------------------------------------------------------------ plumbing

  #getPool(): Pool {
    if (this.#pool === null) {
      const { host, port, user, password, database } = this.#settings;
      const options: PoolOptions = {
        host,
        port,
        user,
        password,
        database,
        timezone: 'Z',
        charset: 'utf8mb4_unicode_ci',
        supportBigNumbers: true,
        bigNumberStrings: true,
        decimalNumbers: false,
        dateStrings: false,
        multipleStatements: false,
        connectTimeout: 5000,
        enableKeepAlive: true,
        keepAliveInitialDelay: 10_000,
        connectionLimit: this.#connectionLimit,
        maxIdle: this.#connectionLimit,
        idleTimeout: 60_000,
        waitForConnections: true,
        queueLimit: 0,
        resetOnRelease: false,
        // No stack captured per statement: every database error is translated into one line that names the
        // server and the cause (#translate), and the capture cost ~7 µs and ~1 KB on each of ~30 statements a review.
        trace: false,
        // Only query() is used, never execute(): no prepared statements to cache. The default (16000) preallocates
        // its LRU, ~0.75 MB of heap per connection.
        maxPreparedStatements: 16,
      };
      this.#pool = createPool(options);
    }
    return this.#pool;
  }

  /** A pooled connection with this store's session settings; the caller releases it. */
  async #acquire(): Promise<PoolConnection> {
    const connection = await this.#getPool().getConnection();
    const core = connection.connection as object;
    if (!this.#prepared.has(core)) {
      try {
        await connection.query(
          `SET SESSION sql_mode = ?, SESSION time_zone = '+00:00', SESSION innodb_lock_wait_timeout = 10`,
          [SESSION_SQL_MODE],
        );
        await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      } catch (error) {
        connection.destroy();
        throw error;
      }
      this.#prepared.add(core);
    }
    return connection;
  }

  /** Runs `fn` on one connection outside a transaction (autocommit). */
  async #withConnection<T>(fn: (connection: PoolConnection) => Promise<T>): Promise<T> {
    try {
      const connection = await this.#acquire();
      try {
        return await fn(connection);
      } finally {
        connection.release();
      }
    } catch (error) {
      throw this.#translate(error);
    }
  }

  /**
   * Runs `fn` in a transaction and commits; a thrown Rollback rolls back and returns its value. The whole
   * transaction is retried on deadlock or lock wait timeout (it was rolled back, so that is safe).
   */
  async #inTransaction<T>(fn: (connection: PoolConnection) => Promise<T>): Promise<T> {
    try {
      for (let attempt = 1; ; attempt++) {
        const connection = await this.#acquire();
        let broken = false;
        try {
          await connection.beginTransaction();
          try {
            const result = await fn(connection);
            await connection.commit();
            return result;
          } catch (error) {
            try {
              await connection.rollback();
            } catch {
              broken = true;
            }
            if (error instanceof Rollback) return error.value as T;
            if (isRetryable(error) && attempt < TRANSACTION_ATTEMPTS) {
              await sleep(5 + Math.floor(Math.random() * 20 * attempt));
              continue;
            }
            throw error;
          }
        } finally {
          if (broken) connection.destroy();
          else connection.release();
        }
      }
    } catch (error) {
      throw this.#translate(error);
    }
  }

  /** Database errors become one-line ServiceErrors naming host:port and the cause, never the password. */
  #translate(error: unknown): unknown {
    if (error instanceof ServiceError) return error;
    const e = asDatabaseError(error);
    if (e === null) return error;
    const code = e.code ?? '';
    const where = this.address;
    let kind: ServiceErrorKind = 'unavailable';
    let message: string;
    let hint: string | undefined;
    if (e.syscall !== undefined || /^E[A-Z]+$/.test(code) || code.startsWith('PROTOCOL_')) {
      const detail = e.syscall !== undefined ? `${e.syscall} ${code}` : e.message || code;
      message = `cannot reach MySQL at ${where}: ${detail}`;
      hint = 'check that the database server runs and that database.url names the right host and port';
    } else if (LOGIN_ERRORS.has(code)) {
      message = `MySQL at ${where} refused the login: ${e.sqlMessage ?? e.message}`;
      hint = 'check the user and password in database.url';
    } else if (code === 'ER_BAD_DB_ERROR') {
      message = `MySQL at ${where} has no database ${this.#settings.database}: ${e.sqlMessage ?? e.message}`;
      hint = 'create the database (CREATE DATABASE ... CHARACTER SET utf8mb4) or fix database.url';
    } else if (SERVER_GONE_ERRORS.has(code) || e.fatal) {
      message = `MySQL at ${where} is unavailable: ${e.sqlMessage ?? e.message}`;
    } else if (code === 'ER_NO_SUCH_TABLE') {
      kind = 'rejected';
      message = `MySQL at ${where}: ${e.sqlMessage ?? e.message}`;
      hint = 'the schema is missing: run the migrations';
    } else {
      kind = 'rejected';
      message = `MySQL at ${where} rejected a statement: ${code}: ${e.sqlMessage ?? e.message}`;
    }
    return new ServiceError('database', kind, this.#scrub(oneLine(message)), { cause: error, hint });
  }

  #scrub(text: string): string {
    const { password } = this.#settings;
    if (password === '') return text;
    let result = text.split(password).join('***');
    const encoded = encodeURIComponent(password);
    if (encoded !== password) result = result.split(encoded).join('***');
    return result;
  }

  #eventData(event: DomainEvent): string {
    return stringifyData(redactStrings(event.data, this.#redact));
  }

  async #insertEvents(connection: PoolConnection, events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) {
      try {
        await connection.query(
          'INSERT INTO events (id, type, at, review_id, branch_id, data) VALUES (?, ?, ?, ?, ?, ?)',
          [event.id, event.type, eventDate(event), event.reviewId, event.branchId, this.#eventData(event)],
        );
      } catch (error) {
        // At least once: an event already stored is not stored (or queued) again.
        if (errnoOf(error) === ER_DUP_ENTRY) continue;
        throw error;
      }
      if (this.#notifications) {
        await connection.query('INSERT INTO outbox (event_id) VALUES (?)', [event.id]);
      }
    }
  }

  async #readAccount(connection: PoolConnection): Promise<BalanceSnapshot> {
    const [rows] = await connection.query<RowDataPacket[]>('SELECT balance, reserved FROM account WHERE id = 1');
    const row = rows[0];
    if (row === undefined) throw new ServiceError('database', 'rejected', `MySQL at ${this.address}: the account row is missing`, { hint: 'run the migrations' });
    return { balance: parseStoredMoney(row.balance), reserved: parseStoredMoney(row.reserved) };
  }

  async #readReview(connection: PoolConnection, id: string): Promise<StoredReview | null> {
    const [rows] = await connection.query<RowDataPacket[]>(`SELECT ${REVIEW_COLUMNS} FROM reviews WHERE id = ?`, [id]);
    const row = rows[0];
    return row === undefined ? null : toReview(row);
  }

  // ------------------------------------------------------------ lifecycle

  async migrate(): Promise<void> {
    await this.#withConnection(async (connection) => {
      // Every command migrates first; nearly always the schema is current, which one read can tell without the lock.
      if (await this.#schemaIsCurrent(connection)) return;
      const [locked] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK('gisbot_migrate', 30) AS got");
      if (Number(locked[0]?.got) !== 1) {
        throw new ServiceError('database', 'unavailable', `MySQL at ${this.address}: timed out waiting for another process to finish migrating`);
      }
      try {
        await connection.query(MIGRATIONS_TABLE);
        const [rows] = await connection.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
        const applied = new Set(rows.map((row) => Number(row.version)));
        const newest = Math.max(0, ...applied);
        if (newest > LATEST_VERSION) {
          throw new ServiceError(
            'database',
            'rejected',
            `MySQL at ${this.address}: the schema is at version ${newest}, newer than this gisbot knows (${LATEST_VERSION})`,
            { hint: 'upgrade gisbot' },
          );
        }
        for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
          if (applied.has(migration.version)) continue;
          for (const statement of migration.statements) {
            try {
              await connection.query(statement);
            } catch (error) {
              // DDL commits at once: after a crash half-way through a version, some of its statements already ran.
              if (!ALREADY_DONE.has(errnoOf(error) ?? 0)) throw error;
            }
          }
          await connection.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
            migration.version,
            migration.name,
            new Date(),
          ]);
        }
      } finally {
        await connection.query("SELECT RELEASE_LOCK('gisbot_migrate')").catch(() => undefined);
      }
    });
  }

  /** Every known version applied and none newer; false when unsure (the table is missing, say). */
  async #schemaIsCurrent(connection: PoolConnection): Promise<boolean> {
    let rows: RowDataPacket[];
    try {
      [rows] = await connection.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
    } catch (error) {
      if (asDatabaseError(error)?.code === 'ER_NO_SUCH_TABLE') return false;
      throw error;
    }
    const applied = new Set(rows.map((row) => Number(row.version)));
    return migrations.every((migration) => applied.has(migration.version)) && Math.max(0, ...applied) <= LATEST_VERSION;
  }

  async ping(): Promise<void> {
    await this.#withConnection(async (connection) => {
      await connection.query('SELECT 1');
    });
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool !== null) await pool.end().catch(() => undefined);
  }

  // ------------------------------------------------------------ intake

  async findKnownReviewIds(ids: readonly string[]): Promise<Set<string>> {
    const known = new Set<string>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return known;
    await this.#withConnection(async (connection) => {
      for (let i = 0; i < unique.length; i += 500) {
        const chunk = unique.slice(i, i + 500);
        const [rows] = await connection.query<RowDataPacket[]>('SELECT id FROM reviews WHERE id IN (?)', [chunk]);
        for (const row of rows) known.add(String(row.id));
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
    const now = new Date();
    const createdAt = storableDate(review.createdAt) ?? now;
    return this.#inTransaction(async (connection) => {
      try {
        await connection.query(`INSERT INTO reviews (${RECORDED_REVIEW_COLUMNS}) VALUES ?`, [[recordedReviewRow(review, state, reason, now)]]);
      } catch (error) {
        if (errnoOf(error) === ER_DUP_ENTRY) throw new Rollback(false);
        throw error;
      }
      await this.#insertEvents(connection, events);
      await insertDialogue(connection, review.authorId ?? '', review.id, 'reviewer', review.text, createdAt);
      return true;
    });
  }

  async recordReviews(entries: readonly ReviewRecord[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    if (entries.length === 1) return [await this.recordReview(entries[0]!.review, entries[0]!.state, entries[0]!.reason, entries[0]!.events)];
    const now = new Date();
    // One statement per table for the whole page; a review or event already stored (another worker took the
    // page in a moment ago) undoes it all, and the page is recorded one by one, each as recordReview would.
    const together = await this.#inTransaction(async (connection) => {
      try {
        await connection.query(`INSERT INTO reviews (${RECORDED_REVIEW_COLUMNS}) VALUES ?`, [
          entries.map(({ review, state, reason }) => recordedReviewRow(review, state, reason, now)),
        ]);
        const events = entries.flatMap((entry) => entry.events);
        if (events.length > 0) {
          await connection.query('INSERT INTO events (id, type, at, review_id, branch_id, data) VALUES ?', [
            events.map((event) => [event.id, event.type, eventDate(event), event.reviewId, event.branchId, this.#eventData(event)]),
          ]);
          if (this.#notifications) await connection.query('INSERT INTO outbox (event_id) VALUES ?', [events.map((event) => [event.id])]);
        }
        await connection.query('INSERT INTO dialogue (author_id, review_id, role, text, at) VALUES ?', [
          entries.map(({ review }) => [review.authorId ?? '', review.id, 'reviewer', review.text, storableDate(review.createdAt) ?? now]),
        ]);
      } catch (error) {
        if (errnoOf(error) === ER_DUP_ENTRY) throw new Rollback(false);
        throw error;
      }
      return true;
    });
    if (together) return entries.map(() => true);
    const results: boolean[] = [];
    for (const entry of entries) results.push(await this.recordReview(entry.review, entry.state, entry.reason, entry.events));
    return results;
  }

  async getReview(id: string): Promise<StoredReview | null> {
    return this.#withConnection((connection) => this.#readReview(connection, id));
  }

  async branchIntakes(branchIds: readonly string[]): Promise<Map<string, BranchIntake>> {
    const kept = new Map<string, BranchIntake>();
    const unique = [...new Set(branchIds)];
    if (unique.length === 0) return kept;
    await this.#withConnection(async (connection) => {
      for (let i = 0; i < unique.length; i += 500) {
        const [rows] = await connection.query<RowDataPacket[]>(
          'SELECT branch_id, swept_at, backlog_cursor, backlog_until FROM branch_intake WHERE branch_id IN (?)',
          [unique.slice(i, i + 500)],
        );
        for (const row of rows) {
          const cursor = nullableString(row.backlog_cursor);
          kept.set(String(row.branch_id), {
            sweptAt: row.swept_at === null ? null : toDate(row.swept_at),
            backlog: cursor === null ? null : { cursor, until: row.backlog_until === null ? null : toDate(row.backlog_until) },
          });
        }
      }
    });
    return kept;
  }

  async saveBranchIntake(branchId: string, change: Partial<BranchIntake>): Promise<void> {
    const sets: string[] = [];
    if (change.sweptAt !== undefined) sets.push('swept_at = VALUES(swept_at)');
    if (change.backlog !== undefined) sets.push('backlog_cursor = VALUES(backlog_cursor)', 'backlog_until = VALUES(backlog_until)');
    if (sets.length === 0) return;
    const sweptAt = change.sweptAt ? requireDate(change.sweptAt, 'sweptAt') : null;
    const until = change.backlog?.until ? requireDate(change.backlog.until, 'backlog.until') : null;
    await this.#withConnection(async (connection) => {
      await connection.query(
        `INSERT INTO branch_intake (branch_id, swept_at, backlog_cursor, backlog_until, updated_at) VALUES (?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE ${sets.join(', ')}, updated_at = VALUES(updated_at)`,
        [branchId, sweptAt, change.backlog?.cursor ?? null, until, new Date()],
      );
    });
  }

  // ------------------------------------------------------------ work

  async claimNext(token: string, now: Date, leaseUntil: Date, price: Kopecks): Promise<StoredReview | 'insufficient' | null> {
    requireDate(now, 'now');
    requireDate(leaseUntil, 'leaseUntil');
    const priceText = nonNegative(price, 'price');
    return this.#inTransaction<StoredReview | 'insufficient' | null>(async (connection) => {
      // SKIP LOCKED: racing claimers each take a different row instead of queueing on the same one.
      // The whole row at once: it is locked, so after the UPDATE it is this row with the claim written in.
      const [rows] = await connection.query<RowDataPacket[]>(
        // Newest first: a backlog or a runaway listing of old reviews cannot hold back the other branches' new ones.
        `SELECT ${REVIEW_COLUMNS} FROM reviews WHERE state = 'new' ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE SKIP LOCKED`,
      );
      const row = rows[0];
      if (row === undefined) return null;
      const review = toReview(row);
      // A queued review holds nothing; should one hold something, the worker's reserve settles the difference.
      const funded = price > 0n && review.reserved === 0n;
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE reviews SET state = 'claimed', claim_token = ?, lease_until = ?, updated_at = ?${funded ? `, reserved = ${MONEY}` : ''}
         WHERE id = ? AND state = 'new'`,
        funded ? [token, leaseUntil, now, priceText, row.id] : [token, leaseUntil, now, row.id],
      );
      if (result.affectedRows !== 1) throw new Rollback(null);
      if (funded) {
        // Lock order as everywhere: the review row, then the account row, held from here to the COMMIT.
        const [reserved] = await connection.query<ResultSetHeader>(
          `UPDATE account SET reserved = reserved + ${MONEY} WHERE id = 1 AND balance - reserved >= ${MONEY}`,
          [priceText, priceText],
        );
        if (reserved.affectedRows !== 1) throw new Rollback<StoredReview | 'insufficient' | null>('insufficient');
      }
      return { ...review, state: 'claimed', claimToken: token, leaseUntil, reserved: funded ? price : review.reserved };
    });
  }

  async claimReview(reviewId: string, token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
    requireDate(now, 'now');
    requireDate(leaseUntil, 'leaseUntil');
    return this.#inTransaction(async (connection) => {
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE reviews SET state = 'claimed', claim_token = ?, lease_until = ?, updated_at = ?
         WHERE id = ? AND state IN ('new', 'needs_approval', 'failed')`,
        [token, leaseUntil, now, reviewId],
      );
      if (result.affectedRows !== 1) return null;
      return this.#readReview(connection, reviewId);
    });
  }

  async claimStale(token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
    requireDate(now, 'now');
    requireDate(leaseUntil, 'leaseUntil');
    return this.#inTransaction(async (connection) => {
      // A lease is live while lease_until > now (the beginPosting fence), so it is stale once lease_until <= now.
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT id FROM reviews WHERE state IN ('claimed', 'drafted', 'posting') AND lease_until <= ? AND ${READ_BACK_DUE}
         ORDER BY lease_until, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now, now],
      );
      const id = rows[0]?.id as string | undefined;
      if (id === undefined) return null;
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE reviews SET claim_token = ?, lease_until = ?, updated_at = ?
         WHERE id = ? AND state IN ('claimed', 'drafted', 'posting') AND lease_until <= ? AND ${READ_BACK_DUE}`,
        [token, leaseUntil, now, id, now, now],
      );
      if (result.affectedRows !== 1) throw new Rollback(null);
      return this.#readReview(connection, id);
    });
  }

  async listInFlight(): Promise<Array<{ id: string; claimToken: string }>> {
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT id, claim_token FROM reviews WHERE state IN ('claimed', 'drafted', 'posting') AND claim_token IS NOT NULL`,
      );
      return rows.map((row) => ({ id: row.id as string, claimToken: row.claim_token as string }));
    });
  }

  async reserve(reviewId: string, token: string, price: Kopecks): Promise<ReserveResult> {
    const priceText = nonNegative(price, 'price');
    return this.#inTransaction<ReserveResult>(async (connection) => {
      // Lock order everywhere: the review row, then the account row. A claim holding nothing takes the price in
      // one conditional UPDATE of the review (which locks it), then the funds, so the account row (the one row
      // every worker locks) is held only from there to the COMMIT.
      if (price > 0n) {
        const [taken] = await connection.query<ResultSetHeader>(
          `UPDATE reviews SET reserved = ${MONEY} WHERE id = ? AND claim_token = ? AND reserved = 0`,
          [priceText, reviewId, token],
        );
        if (taken.affectedRows === 1) {
          const [funded] = await connection.query<ResultSetHeader>(
            `UPDATE account SET reserved = reserved + ${MONEY} WHERE id = 1 AND balance - reserved >= ${MONEY}`,
            [priceText, priceText],
          );
          if (funded.affectedRows !== 1) throw new Rollback<ReserveResult>('insufficient');
          return 'reserved';
        }
      }
      // One reserve per claim, at the price of its moment: a price changed since applies to later claims.
      const [rows] = await connection.query<RowDataPacket[]>('SELECT 1 FROM reviews WHERE id = ? AND claim_token = ?', [reviewId, token]);
      return rows.length === 1 ? 'reserved' : 'lost';
    });
  }

  async saveDraft(reviewId: string, token: string, draft: DraftRecord): Promise<boolean> {
    return this.#withConnection(async (connection) => {
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE reviews SET state = 'drafted', draft_text = ?, model = ?, prompt_version = ?, prompt_tokens = ?,
           completion_tokens = ?, finish_reason = ?, model_cost = ?, updated_at = ?
         WHERE id = ? AND claim_token = ?`,
        [
          draft.text,
          draft.model,
          draft.promptVersion,
          draft.promptTokens,
          draft.completionTokens,
          draft.finishReason,
          draft.cost ?? null,
          new Date(),
          reviewId,
          token,
        ],
      );
      return result.affectedRows === 1;
    });
  }

  async beginPosting(reviewId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    requireDate(now, 'now');
    requireDate(holdUntil, 'holdUntil');
    return this.#withConnection(async (connection) => {
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE reviews SET state = 'posting', post_attempts = post_attempts + 1, read_back_after = ?, updated_at = ?
         WHERE id = ? AND claim_token = ? AND lease_until > ?`,
        [holdUntil, now, reviewId, token, now],
      );
      return result.affectedRows === 1;
    });
  }

  async relinquish(reviewId: string, token: string, at: Date): Promise<void> {
    requireDate(at, 'at');
    await this.#withConnection(async (connection) => {
      await connection.query(
        'UPDATE reviews SET claim_token = NULL, lease_until = ?, updated_at = ? WHERE id = ? AND claim_token = ?',
        [at, new Date(), reviewId, token],
      );
    });
  }

  async settlePosted(
    reviewId: string,
    answer: { answerId: string | null; text: string },
    events: (balanceAfter: Kopecks, charged: Kopecks, balanceBefore: Kopecks) => readonly DomainEvent[],
  ): Promise<{ balance: Kopecks; charged: Kopecks } | null> {
    return this.#inTransaction(async (connection) => {
      const now = new Date();
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT state, reserved, author_id FROM reviews WHERE id = ? FOR UPDATE',
        [reviewId],
      );
      const row = rows[0];
      if (row === undefined || row.state !== 'posting') throw new Rollback(null);
      // The price agreed when it was claimed, held since: always within the balance (the account's CHECK).
      const charged = parseStoredMoney(row.reserved);
      const chargedText = money(charged);
      const [updated] = await connection.query<ResultSetHeader>(
        `UPDATE reviews SET state = 'posted', answer_id = ?, answer_text = ?, charged = ${MONEY}, reserved = 0,
           claim_token = NULL, lease_until = NULL, updated_at = ?
         WHERE id = ? AND state = 'posting'`,
        [answer.answerId, answer.text, chargedText, now, reviewId],
      );
      if (updated.affectedRows !== 1) throw new Rollback(null);
      // Before the account row: it is the one row every worker locks, so it is locked last and held shortest.
      await insertDialogue(connection, nullableString(row.author_id) ?? '', reviewId, 'owner', answer.text, now);
      await connection.query(
        `UPDATE account SET balance = balance - ${MONEY}, reserved = reserved - ${MONEY} WHERE id = 1`,
        [chargedText, chargedText],
      );
      const { balance } = await this.#readAccount(connection);
      try {
        await connection.query(
          `INSERT INTO ledger (at, kind, amount, balance_after, review_id, charge_review_id, note)
           VALUES (?, 'charge', ${MONEY}, ${MONEY}, ?, ?, NULL)`,
          [now, money(-charged), money(balance), reviewId, reviewId],
        );
      } catch (error) {
        // The unique charge key: this review was charged already.
        if (errnoOf(error) === ER_DUP_ENTRY) throw new Rollback(null);
        throw error;
      }
      await this.#insertEvents(connection, events(balance, charged, balance + charged));
      return { balance, charged };
    });
  }

  async release(
    reviewId: string,
    token: string,
    outcome: ReleaseOutcome,
    events: readonly DomainEvent[],
  ): Promise<boolean> {
    return this.#inTransaction(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT reserved FROM reviews WHERE id = ? AND claim_token = ? FOR UPDATE',
        [reviewId, token],
      );
      const row = rows[0];
      if (row === undefined) throw new Rollback(false);
      const held = parseStoredMoney(row.reserved);
      const clearDraft =
        outcome.state === 'new'
          ? `, draft_text = NULL, model = NULL, prompt_version = NULL, prompt_tokens = NULL,
             completion_tokens = NULL, finish_reason = NULL, model_cost = NULL`
          : '';
      await connection.query(
        `UPDATE reviews SET state = ?, reason = ?, reserved = 0, claim_token = NULL, lease_until = NULL,
           updated_at = ?${clearDraft}
         WHERE id = ?`,
        [outcome.state, outcome.reason, new Date(), reviewId],
      );
      if (held !== 0n) {
        await connection.query(`UPDATE account SET reserved = reserved - ${MONEY} WHERE id = 1`, [money(held)]);
      }
      await this.#insertEvents(connection, events);
      return true;
    });
  }

  // ------------------------------------------------------------ events and outbox

  async appendEvents(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#inTransaction((connection) => this.#insertEvents(connection, events));
  }

  async listEvents(query: EventQuery): Promise<StoredEvent[]> {
    const limit = limitOf(query.limit);
    if (limit === 0) return [];
    const { clause, params, newestFirst } = eventQuerySql(query, limit, (since) => requireDate(since, 'since'));
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(`SELECT ${EVENT_COLUMNS} FROM events e ${clause}`, params);
      const events = rows.map(toEvent);
      return newestFirst ? events.reverse() : events;
    });
  }

  async pendingOutbox(limit: number, dueAt?: Date): Promise<PendingEvent[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    const due = dueAt === undefined ? '' : 'WHERE o.retry_at IS NULL OR o.retry_at <= ?';
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT ${EVENT_COLUMNS}, o.attempts, o.retry_at FROM outbox o JOIN events e ON e.id = o.event_id ${due} ORDER BY o.seq LIMIT ?`,
        dueAt === undefined ? [count] : [requireDate(dueAt, 'dueAt'), count],
      );
      return rows.map((row) => ({
        ...toEvent(row),
        attempts: Number(row.attempts),
        retryAt: row.retry_at === null ? null : toDate(row.retry_at),
      }));
    });
  }

  async markDelivered(eventIds: readonly string[]): Promise<void> {
    const unique = [...new Set(eventIds)];
    if (unique.length === 0) return;
    await this.#withConnection(async (connection) => {
      for (let i = 0; i < unique.length; i += 500) {
        await connection.query('DELETE FROM outbox WHERE event_id IN (?)', [unique.slice(i, i + 500)]);
      }
    });
  }

  async deferDelivery(entries: readonly { id: string; retryAt: Date }[]): Promise<void> {
    if (entries.length === 0) return;
    for (const entry of entries) requireDate(entry.retryAt, 'retryAt');
    await this.#inTransaction(async (connection) => {
      for (const entry of entries) {
        await connection.query('UPDATE outbox SET attempts = attempts + 1, retry_at = ? WHERE event_id = ?', [entry.retryAt, entry.id]);
      }
    });
  }

  async outboxStatus(): Promise<OutboxStatus> {
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS pending, MIN(COALESCE(retry_at, TIMESTAMP '1970-01-01 00:00:00')) AS next_due FROM outbox`,
      );
      const row = rows[0]!;
      return { pending: Number(row.pending), nextDueAt: row.next_due === null ? null : toDate(row.next_due) };
    });
  }

  // ------------------------------------------------------------ money

  async getBalance(): Promise<BalanceSnapshot> {
    return this.#withConnection((connection) => this.#readAccount(connection));
  }

  async topUp(amount: Kopecks, note: string | null): Promise<BalanceSnapshot> {
    if (amount <= 0n) throw new RangeError('a top-up must be a positive amount');
    const amountText = money(amount);
    return this.#inTransaction(async (connection) => {
      const [raised] = await connection.query<ResultSetHeader>(
        `UPDATE account SET balance = balance + ${MONEY} WHERE id = 1 AND balance <= ${MONEY}`,
        [amountText, money(MAX_MONEY - 1n - amount)],
      );
      if (raised.affectedRows !== 1) throw new UsageError(topUpTooLarge(amount, MAX_MONEY - 1n));
      const snapshot = await this.#readAccount(connection);
      await connection.query(
        `INSERT INTO ledger (at, kind, amount, balance_after, review_id, charge_review_id, note)
         VALUES (?, 'topup', ${MONEY}, ${MONEY}, NULL, NULL, ?)`,
        [new Date(), amountText, money(snapshot.balance), note],
      );
      return snapshot;
    });
  }

  async ledger(query: { since?: Date; limit: number }): Promise<LedgerEntry[]> {
    const limit = limitOf(query.limit);
    if (limit === 0) return [];
    const since = query.since === undefined ? null : requireDate(query.since, 'since');
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT id, at, kind, amount, balance_after, review_id, note FROM ledger
         ${since === null ? '' : 'WHERE at >= ?'} ORDER BY id DESC LIMIT ?`,
        since === null ? [limit] : [since, limit],
      );
      return rows.map(toLedgerEntry);
    });
  }

  // ------------------------------------------------------------ reading, for the operator's commands

  async listReviewsInState(state: ReviewState, limit: number): Promise<StoredReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT ${REVIEW_COLUMNS} FROM reviews WHERE state = ? ORDER BY created_at, id LIMIT ?`,
        [state, count],
      );
      return rows.map(toReview);
    });
  }

  async listPromptVersions(limit: number): Promise<PromptVersion[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT version, text, created_at FROM prompt_versions ORDER BY version DESC LIMIT ?',
        [count],
      );
      return rows.map((row) => ({ version: Number(row.version), text: String(row.text), createdAt: toDate(row.created_at) }));
    });
  }

  async getPromptVersion(version: number): Promise<PromptVersion | null> {
    if (!Number.isSafeInteger(version) || version < 1) return null;
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT version, text, created_at FROM prompt_versions WHERE version = ?',
        [version],
      );
      const row = rows[0];
      return row === undefined ? null : { version: Number(row.version), text: String(row.text), createdAt: toDate(row.created_at) };
    });
  }

  // ------------------------------------------------------------ prompts and dialogue

  async savePromptVersion(text: string): Promise<PromptVersion> {
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    return this.#inTransaction(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT version, text, sha256, created_at FROM prompt_versions ORDER BY version DESC LIMIT 1 FOR UPDATE',
      );
      const latest = rows[0];
      if (latest !== undefined && latest.sha256 === sha256 && latest.text === text) {
        return { version: Number(latest.version), text: String(latest.text), createdAt: toDate(latest.created_at) };
      }
      const createdAt = new Date();
      const [result] = await connection.query<ResultSetHeader>(
        'INSERT INTO prompt_versions (text, sha256, created_at) VALUES (?, ?, ?)',
        [text, sha256, createdAt],
      );
      return { version: Number(result.insertId), text, createdAt };
    });
  }

  async latestPrompt(): Promise<PromptVersion | null> {
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT version, text, created_at FROM prompt_versions ORDER BY version DESC LIMIT 1',
      );
      const row = rows[0];
      if (row === undefined) return null;
      return { version: Number(row.version), text: String(row.text), createdAt: toDate(row.created_at) };
    });
  }

  /** Answers of ours to a branch, posted or on their way, newest first: drafts must not repeat them. */
  async recentAnswers(branchId: string, limit: number): Promise<string[]> {
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT COALESCE(answer_text, draft_text) AS text FROM reviews
         WHERE branch_id = ? AND state IN ('drafted', 'posting', 'posted') AND COALESCE(answer_text, draft_text) IS NOT NULL
         ORDER BY updated_at DESC, id DESC LIMIT ?`,
        [branchId, Math.max(0, Math.floor(limit))],
      );
      return rows.map((row) => String(row.text));
    });
  }

  // ------------------------------------------------------------ follow-ups

  async #readFollowUp(connection: PoolConnection, commentId: string): Promise<StoredFollowUp | null> {
    const [rows] = await connection.query<RowDataPacket[]>(`SELECT ${FOLLOW_UP_COLUMNS} FROM follow_ups WHERE comment_id = ?`, [commentId]);
    const row = rows[0];
    return row === undefined ? null : toFollowUp(row);
  }

  async recordFollowUp(followUp: FollowUp, events: readonly DomainEvent[]): Promise<boolean> {
    const now = new Date();
    const createdAt = storableDate(followUp.createdAt) ?? now;
    return this.#inTransaction(async (connection) => {
      try {
        await connection.query(
          `INSERT INTO follow_ups (comment_id, review_id, branch_id, author_id, text, created_at_text, created_at, state,
             recorded_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)`,
          [followUp.commentId, followUp.reviewId, followUp.branchId, followUp.authorId, followUp.text, followUp.createdAt, createdAt, now, now],
        );
      } catch (error) {
        if (errnoOf(error) === ER_DUP_ENTRY) throw new Rollback(false);
        throw error;
      }
      await this.#insertEvents(connection, events);
      await insertDialogue(connection, followUp.authorId ?? '', followUp.reviewId, 'reviewer', followUp.text, createdAt);
      return true;
    });
  }

  async getFollowUp(commentId: string): Promise<StoredFollowUp | null> {
    return this.#withConnection((connection) => this.#readFollowUp(connection, commentId));
  }

  async claimFollowUp(token: string, now: Date, leaseUntil: Date): Promise<StoredFollowUp | null> {
    requireDate(now, 'now');
    requireDate(leaseUntil, 'leaseUntil');
    return this.#inTransaction(async (connection) => {
      // A follow-up whose worker died comes first (it may have a comment out there to read back), then the oldest new one.
      let [rows] = await connection.query<RowDataPacket[]>(
        `SELECT comment_id FROM follow_ups WHERE state IN ('claimed', 'posting') AND lease_until <= ? AND ${READ_BACK_DUE}
         ORDER BY lease_until, comment_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now, now],
      );
      if (rows[0] === undefined) {
        [rows] = await connection.query<RowDataPacket[]>(
          `SELECT comment_id FROM follow_ups WHERE state = 'new' ORDER BY created_at, comment_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
      }
      const id = rows[0]?.comment_id as string | undefined;
      if (id === undefined) return null;
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE follow_ups SET state = IF(state = 'new', 'claimed', state), claim_token = ?, lease_until = ?, updated_at = ?
         WHERE comment_id = ? AND (state = 'new' OR (state IN ('claimed', 'posting') AND lease_until <= ? AND ${READ_BACK_DUE}))`,
        [token, leaseUntil, now, id, now, now],
      );
      if (result.affectedRows !== 1) throw new Rollback(null);
      return this.#readFollowUp(connection, id);
    });
  }

  async beginFollowUpPosting(commentId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    requireDate(now, 'now');
    requireDate(holdUntil, 'holdUntil');
    return this.#withConnection(async (connection) => {
      const [result] = await connection.query<ResultSetHeader>(
        `UPDATE follow_ups SET state = 'posting', read_back_after = ?, updated_at = ?
         WHERE comment_id = ? AND claim_token = ? AND state = 'claimed' AND lease_until > ?`,
        [holdUntil, now, commentId, token, now],
      );
      return result.affectedRows === 1;
    });
  }

  async finishFollowUp(commentId: string, token: string, outcome: FollowUpOutcome, events: readonly DomainEvent[]): Promise<boolean> {
    const now = new Date();
    return this.#inTransaction(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT review_id, author_id FROM follow_ups WHERE comment_id = ? AND claim_token = ? AND state IN ('claimed', 'posting') FOR UPDATE`,
        [commentId, token],
      );
      const row = rows[0];
      if (row === undefined) return false;
      if (outcome.state === 'posted') {
        await connection.query(
          `UPDATE follow_ups SET state = 'posted', reason = NULL, claim_token = NULL, lease_until = NULL, answer_id = ?, answer_text = ?,
             model = ?, prompt_version = ?, prompt_tokens = ?, completion_tokens = ?, model_cost = ?, updated_at = ?
           WHERE comment_id = ?`,
          [
            outcome.answerId,
            outcome.text,
            outcome.draft?.model ?? null,
            outcome.draft?.promptVersion ?? null,
            outcome.draft?.promptTokens ?? null,
            outcome.draft?.completionTokens ?? null,
            outcome.draft?.cost ?? null,
            now,
            commentId,
          ],
        );
        await insertDialogue(connection, row.author_id ?? '', row.review_id, 'owner', outcome.text, now);
      } else {
        await connection.query(
          `UPDATE follow_ups SET state = ?, reason = ?, claim_token = NULL, lease_until = NULL, updated_at = ? WHERE comment_id = ?`,
          [outcome.state, outcome.reason, now, commentId],
        );
      }
      await this.#insertEvents(connection, events);
      return true;
    });
  }

  /** The history kept under the key (author, review), oldest first; an unknown author is ''. */
  async dialogue(authorId: string | null, reviewId: string): Promise<DialogueEntry[]> {
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT role, text, at FROM dialogue WHERE author_id = ? AND review_id = ? ORDER BY at, id',
        [authorId ?? '', reviewId],
      );
      return rows.map((row) => ({
        role: row.role as DialogueEntry['role'],
        text: String(row.text),
        at: toDate(row.at),
      }));
    });
  }

  // ------------------------------------------------------------ telegram (issue 15)
  // Written in the SQL both stores speak, so that the two read the same; only a refused duplicate differs.

  async reviewsWithoutCard(limit: number): Promise<StoredReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT ${REVIEW_COLUMNS} FROM reviews r WHERE r.state = 'needs_approval'
           AND NOT EXISTS (SELECT 1 FROM telegram_cards c WHERE c.review_id = r.id)
         ORDER BY r.created_at DESC, r.id DESC LIMIT ?`,
        [count],
      );
      return rows.map(toReview);
    });
  }

  async createTelegramCard(reviewId: string, body: TelegramCardBody): Promise<TelegramCard | null> {
    const now = new Date();
    const json = JSON.stringify(body);
    return this.#withConnection(async (connection) => {
      try {
        const [result] = await connection.query<ResultSetHeader>(
          'INSERT INTO telegram_cards (review_id, active, version, body, created_at, updated_at) VALUES (?, 1, 1, ?, ?, ?)',
          [reviewId, json, now, now],
        );
        return { id: Number(result.insertId), reviewId, active: true, version: 1, body: JSON.parse(json) as TelegramCardBody };
      } catch (error) {
        if (errnoOf(error) === ER_DUP_ENTRY) return null;
        throw error;
      }
    });
  }

  async telegramCard(id: number): Promise<TelegramCard | null> {
    if (!Number.isSafeInteger(id)) return null;
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(`SELECT ${CARD_COLUMNS} FROM telegram_cards c WHERE c.id = ?`, [id]);
      return rows[0] === undefined ? null : toCard(rows[0]);
    });
  }

  async activeTelegramCards(limit: number): Promise<TelegramCard[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return this.#withConnection(async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT ${CARD_COLUMNS} FROM telegram_cards c WHERE c.active = 1 ORDER BY c.id LIMIT ?`,
        [count],
      );
      return rows.map(toCard);
    });
  }

  async saveTelegramCard(card: TelegramCard, body: TelegramCardBody, active: boolean): Promise<boolean> {
    return this.#withConnection(async (connection) => {
      const [result] = await connection.query<ResultSetHeader>(
        'UPDATE telegram_cards SET body = ?, active = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?',
        [JSON.stringify(body), active ? 1 : 0, new Date(), card.id, card.version],
      );
      return result.affectedRows === 1;
    });
  }

  async takeTelegramTurn(token: string, now: Date, until: Date): Promise<number | null> {
    requireDate(now, 'now');
    requireDate(until, 'until');
    return this.#withConnection(async (connection) => {
      const [taken] = await connection.query<ResultSetHeader>(
        'UPDATE telegram_turn SET holder = ?, holder_until = ? WHERE id = 1 AND (holder IS NULL OR holder = ? OR holder_until <= ?)',
        [token, until, token, now],
      );
      if (taken.affectedRows !== 1) return null;
      const [rows] = await connection.query<RowDataPacket[]>('SELECT next_offset FROM telegram_turn WHERE id = 1');
      return Number(rows[0]?.next_offset ?? 0);
    });
  }

  async endTelegramTurn(token: string): Promise<void> {
    await this.#withConnection(async (connection) => {
      await connection.query('UPDATE telegram_turn SET holder = NULL, holder_until = NULL WHERE id = 1 AND holder = ?', [token]);
    });
  }

  async claimTelegramUpdate(updateId: number, token: string, now: Date, until: Date): Promise<boolean> {
    requireDate(now, 'now');
    requireDate(until, 'until');
    return this.#withConnection(async (connection) => {
      try {
        await connection.query(
          'INSERT INTO telegram_updates (update_id, claim_token, lease_until, done, updated_at) VALUES (?, ?, ?, 0, ?)',
          [updateId, token, until, now],
        );
        return true;
      } catch (error) {
        if (errnoOf(error) !== ER_DUP_ENTRY) throw error;
      }
      // Known: taken over only from a claimer whose claim ran out before it was done (it died acting on it).
      const [result] = await connection.query<ResultSetHeader>(
        'UPDATE telegram_updates SET claim_token = ?, lease_until = ?, updated_at = ? WHERE update_id = ? AND done = 0 AND lease_until <= ?',
        [token, until, now, updateId, now],
      );
      return result.affectedRows === 1;
    });
  }

  async finishTelegramUpdate(updateId: number, token: string): Promise<void> {
    const now = new Date();
    await this.#inTransaction(async (connection) => {
      await connection.query('UPDATE telegram_updates SET done = 1, updated_at = ? WHERE update_id = ? AND claim_token = ?', [now, updateId, token]);
      await connection.query('UPDATE telegram_turn SET next_offset = ? WHERE id = 1 AND next_offset < ?', [updateId + 1, updateId + 1]);
      // Telegram forgets an update once the offset passed it: a day later its row guards nothing.
      await connection.query('DELETE FROM telegram_updates WHERE done = 1 AND updated_at < ?', [new Date(now.getTime() - TELEGRAM_UPDATE_KEPT_MS)]);
    });
  }
}

const CARD_COLUMNS = 'c.id, c.review_id, c.active, c.version, c.body';
/** How long an acted-on Telegram update's row is kept. */
const TELEGRAM_UPDATE_KEPT_MS = 86_400_000;

function toCard(row: RowDataPacket): TelegramCard {
  return {
    id: Number(row.id),
    reviewId: String(row.review_id),
    active: Number(row.active) === 1,
    version: Number(row.version),
    body: parseData(row.body) as unknown as TelegramCardBody,
  };
}

const RECORDED_REVIEW_COLUMNS =
  'id, branch_id, branch_name, rating, text, author_id, author_name, created_at_text, created_at, state, reason, recorded_at, updated_at';

/** A review as intake records it, in the order of RECORDED_REVIEW_COLUMNS. */
function recordedReviewRow(review: ListedReview, state: ReviewRecord['state'], reason: string | null, now: Date): unknown[] {
  return [
    review.id,
    review.branchId,
    review.branchName,
    review.rating,
    review.text,
    review.authorId,
    review.authorName,
    review.createdAt,
    storableDate(review.createdAt) ?? now,
    state,
    reason,
    now,
    now,
  ];
}

/** One line of the dialogue history, keyed by (author, review); '' stands for an author 2GIS did not name. */
async function insertDialogue(connection: PoolConnection, authorId: string, reviewId: string, role: 'reviewer' | 'owner', body: string, at: Date): Promise<void> {
  await connection.query('INSERT INTO dialogue (author_id, review_id, role, text, at) VALUES (?, ?, ?, ?, ?)', [authorId, reviewId, role, body, at]);
}
