// The Store on an embedded SQLite file: the dialect of store.ts over Node's built-in node:sqlite (no native
// build, no npm package), imported on first use so that loading this module costs nothing.
// - WAL mode and a busy timeout, so readers never block and writers queue for a while instead of failing;
// - every transaction is BEGIN IMMEDIATE: it takes the file's single write lock up front, so two processes (or two
//   stores in one process) can never both claim, reserve or settle the same review, nor overdraw the balance; the
//   lock is the row lock, so no statement needs FOR UPDATE;
// - one handle per store, and the store's calls take turns on it, so one call's statements never interleave with
//   another's transaction.
// Money is INTEGER kopecks bound as bigint, times INTEGER milliseconds (invariant 6).
import { closeSync, constants, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { ConfigError, ServiceError } from '../../errors.ts';
import type { ServiceErrorKind } from '../../errors.ts';
import type { Store } from '../../core/ports.ts';
import { columns, empty, Executor, MAX_MONEY, raw, sql, transact } from './dialect.ts';
import type { Connection, Dialect, Kind, Sql, Value } from './dialect.ts';
import { DEFAULT_BUSINESS, type Schema, type ScopedKeys } from './migrations.ts';
import { SqlStore } from './store.ts';
import type { SqlStoreOptions } from './store.ts';

export interface SqliteStoreOptions extends SqlStoreOptions {
  /** The database file; its folder is created when missing. `:memory:` is a private in-memory database. */
  path: string;
  /** How long a write waits for another process's write lock before giving up; 5000 ms by default. */
  busyTimeoutMs?: number;
  /** The file system as opening the file needs it; tests stand in a read-only one (root may write anywhere). */
  files?: SqliteFiles;
}

/** What opening a database file does to its folder, apart from SQLite itself. */
export interface SqliteFiles {
  /** Creates the folder (0700) and the file (0600) when missing; throws an errno error when it cannot. */
  prepare(folder: string, file: string): void;
  /** Why nothing can be written in `folder` (`EROFS`, `EACCES`, `EPERM`), or null when something can. */
  readOnly(folder: string): string | null;
}

/** The errno codes of a folder nothing can be written in. */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

export const realSqliteFiles: SqliteFiles = {
  prepare(folder, file) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    closeSync(openSync(file, constants.O_CREAT | constants.O_RDONLY, 0o600)); // 0600 if it is created now
  },
  readOnly(folder) {
    // Tried, not asked (access(2) says yes to root on a read-only mount's permissions, never to EROFS's cause).
    const probe = path.join(folder, `.gisbot-write-probe-${process.pid}-${Date.now()}`);
    try {
      closeSync(openSync(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
      unlinkSync(probe);
      return null;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code !== undefined && READ_ONLY_CODES.has(code) ? code : null;
    }
  },
};

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqlStore(new SqliteDialect(options), options);
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
    const detail = error instanceof Error ? error.message : String(error);
    throw new ServiceError('database', 'unavailable', `node:sqlite is not available in Node.js ${process.version}: ${detail}`.replace(/\s+/g, ' '), {
      hint: 'use Node.js 22.22 or newer, or a mysql:// database.url',
      cause: error,
    });
  });
  return loading;
}

function isSqliteWarning(warning: unknown, rest: readonly unknown[]): boolean {
  const message = typeof warning === 'string' ? warning : warning instanceof Error ? warning.message : '';
  const options = rest[0];
  const type = warning instanceof Error ? warning.name : typeof options === 'string' ? options : (options as { type?: unknown } | null | undefined)?.type;
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

// ---------------------------------------------------------------- the dialect

const LARGEST = String(MAX_MONEY - 1n);

/** STRICT tables, so a column holds only its declared type; ids and texts are TEXT compared byte for byte. */
const SCHEMA: Schema = {
  string: () => 'TEXT', id: 'TEXT', bigint: 'INTEGER', mediumText: 'TEXT', longText: 'TEXT', decimal: 'TEXT',
  tinyint: 'INTEGER', int: 'INTEGER', money: 'INTEGER', time: 'INTEGER', preciseTime: 'INTEGER',
  serial: () => 'INTEGER PRIMARY KEY AUTOINCREMENT',
  nonNegative: (column) => `${column} BETWEEN 0 AND ${LARGEST}`,
  typeCheck: (name, condition) => `CONSTRAINT ${name} CHECK (${condition})`,
  appendOnly: (table) =>
    ['UPDATE', 'DELETE'].map(
      (verb) => `CREATE TRIGGER ${table}_no_${verb.toLowerCase()} BEFORE ${verb} ON ${table}
       BEGIN SELECT RAISE(ABORT, 'the ${table} is append-only'); END`,
    ),
  dropIndex: (_table, index) => `DROP INDEX ${index}`,
  // Its indexes end with the rowid, not with the primary key `id`.
  idLast: ', id',
  tableOptions: 'STRICT',
  insertOrIgnore: 'OR IGNORE',
  // Milliseconds, as integers: the division is whole.
  minutesBetween: (from, to) => `MAX(0, (${to} - ${from}) / 60000)`,
  // A key cannot be altered in SQLite: the rebuild is done when the statement runs (FileConnection.ddl), from the
  // table's CREATE text as it is then.
  scope: (table, keys = {}) => [`${REBUILD}${JSON.stringify({ table, ...keys })}`],
};

/** The mark of a table rebuild among a migration's statements (Schema.scope). */
const REBUILD = '-- gisbot:scope ';

/**
 * The table rebuilt with `business_id` first and in its keys (https://sqlite.org/lang_altertable.html, "other
 * kinds of table schema changes"): a new table from the old CREATE text, the rows copied as business `default`'s,
 * the old table dropped (its append-only triggers do not fire on DROP), the new one renamed, and the old table's
 * indexes and triggers made again. Inside the migration's transaction: all of it or none.
 */
function rebuildScoped(db: DatabaseSync, change: ScopedKeys & { table: string }): void {
  const { table } = change;
  const read = (query: string, ...params: string[]) => db.prepare(query).all(...params) as Array<Record<string, unknown>>;
  const created = read("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", table)[0]?.sql;
  if (typeof created !== 'string') throw new Error(`migration: table ${table} is missing`);
  const columnNames = read(`SELECT name FROM pragma_table_info(?)`, table).map((row) => `"${String(row.name)}"`);
  const attached = read("SELECT sql FROM sqlite_schema WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name", table)
    .map((row) => String(row.sql));
  const scoped = `${table}_scoped`;
  let text = created.replace(/^CREATE TABLE\s+"?\w+"?\s*\(/, `CREATE TABLE ${scoped} (\n  business_id TEXT NOT NULL,`);
  if (change.primaryKey) {
    const key = `PRIMARY KEY (${['business_id', ...change.primaryKey].join(', ')})`;
    if (/PRIMARY KEY \(/.test(text)) text = text.replace(/PRIMARY KEY \([^)]*\)/, key);
    else {
      text = text.replace(/ PRIMARY KEY(?! \()/, '');
      const end = text.lastIndexOf(')');
      text = `${text.slice(0, end).trimEnd()},\n  ${key}\n${text.slice(end)}`;
    }
  }
  if (change.unique) {
    const { name, columns: unique } = change.unique;
    text = text.replace(new RegExp(`CONSTRAINT ${name} UNIQUE \\([^)]*\\)`), `CONSTRAINT ${name} UNIQUE (${['business_id', ...unique].join(', ')})`);
  }
  db.exec(text);
  db.exec(`INSERT INTO ${scoped} (business_id, ${columnNames.join(', ')}) SELECT '${DEFAULT_BUSINESS}', ${columnNames.join(', ')} FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${scoped} RENAME TO ${table}`);
  for (const statement of attached) db.exec(statement);
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
// Primary SQLite result codes (https://sqlite.org/rescode.html), and the two extended ones of a duplicate key.
const [SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_READONLY] = [3, 5, 6, 7, 8];
const [SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_NOTADB] = [10, 11, 13, 14, 15, 26];
const DUPLICATE_KEY_CODES = new Set([1555, 2067]); // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
const UNAVAILABLE_CODES = new Set([SQLITE_PERM, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_PROTOCOL]);
/** Failures after which the open connection is not trusted again (a lock timeout is not one of them). */
const BROKEN_CONNECTION_CODES = new Set([...UNAVAILABLE_CODES, SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_CORRUPT]);

type SqliteError = Error & { code?: string; errcode?: number; errstr?: string };

function asSqliteError(error: unknown): SqliteError | null {
  if (!(error instanceof Error)) return null;
  const e = error as SqliteError;
  return e.code === 'ERR_SQLITE_ERROR' || typeof e.errcode === 'number' ? e : null;
}

// Texts are read back as BLOBs and decoded here: node:sqlite reads a TEXT value only up to its first NUL
// character, while the bytes stored are complete. ignoreBOM keeps a leading U+FEFF as it was written.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const text = (value: unknown): string => (value instanceof Uint8Array ? decoder.decode(value) : String(value));

/** One open file and its prepared statements. */
class FileConnection implements Connection {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  #prepare(sql: string): StatementSync {
    return this.#statements.get(sql) ?? this.#statements.set(sql, this.db.prepare(sql)).get(sql)!;
  }

  async query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
    return this.#prepare(sql).all(...(params as SQLInputValue[]));
  }

  async execute(sql: string, params: unknown[]): Promise<{ changes: number; insertId: number }> {
    const result = this.#prepare(sql).run(...(params as SQLInputValue[]));
    return { changes: Number(result.changes), insertId: Number(result.lastInsertRowid) };
  }

  async ddl(sql: string): Promise<void> {
    if (sql.startsWith(REBUILD)) rebuildScoped(this.db, JSON.parse(sql.slice(REBUILD.length)) as ScopedKeys & { table: string });
    else this.db.exec(sql);
  }

  close(): void {
    this.#statements.clear();
    this.db.close();
  }
}

const TABLE = columns('t', { name: 'text' });


/** The last call in line on each file (or in-memory database) of this process. */
const turns = new Map<unknown, Promise<void>>();

class SqliteDialect implements Dialect {
  readonly schema = SCHEMA;
  readonly lockRows = empty;
  readonly skipLocked = empty;
  readonly #file: string;
  readonly #busyTimeoutMs: number;
  readonly #files: SqliteFiles;
  #connection: FileConnection | null = null;

  constructor(options: SqliteStoreOptions) {
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new ConfigError(['database.url: sqlite: needs a file path, e.g. sqlite:./gisbot.db']);
    }
    this.#file = options.path === ':memory:' ? options.path : path.resolve(options.path);
    this.#busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    this.#files = options.files ?? realSqliteFiles;
  }

  /** The error for a database whose folder takes no writes: it names the folder, and what to do. */
  #readOnly(folder: string, code: string, cause: unknown): ServiceError {
    return new ServiceError('database', 'unavailable', `cannot open ${this.where}: its folder ${folder} is read-only (${code})`, {
      hint: `gisbot keeps its database (and by default its log) in ${folder}: make it writable for this user, or set database.url to a file in a writable folder`,
      cause,
    });
  }

  get where(): string {
    return `SQLite database ${this.#file}`;
  }

  upsert(key: string, columns: readonly string[]): Sql {
    return raw(`ON CONFLICT (${key}) DO UPDATE SET ${columns.map((column) => `${column} = excluded.${column}`).join(', ')}`);
  }

  bind(value: Value): [string, unknown] {
    return ['?', value instanceof Date ? value.getTime() : value];
  }

  column(expression: string, kind: Kind): string {
    return kind === 'text' || kind === 'json' ? `CAST(${expression} AS BLOB)` : expression;
  }

  decode(kind: Kind, value: unknown): unknown {
    if (kind === 'int') return Number(value);
    if (kind === 'time') return new Date(Number(value));
    if (kind === 'json') return JSON.parse(text(value));
    if (kind === 'text') return text(value);
    if (typeof value === 'bigint') return value;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    throw new TypeError(`not an integer money amount: ${String(value)}`);
  }

  isDuplicate(error: unknown): boolean {
    return DUPLICATE_KEY_CODES.has(asSqliteError(error)?.errcode ?? 0);
  }

  isMissingTable(error: unknown): boolean {
    return /no such table/i.test(asSqliteError(error)?.message ?? '');
  }

  autocommit<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    return this.#take((connection) => fn(new Executor(this, connection)));
  }

  /** BEGIN IMMEDIATE takes the write lock before reading, so what `fn` reads stays true until it commits. */
  transaction<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    return this.#take((connection) => {
      const rollback = () => {
        if (!connection.db.isTransaction) return;
        try {
          connection.db.exec('ROLLBACK');
        } catch {
          this.#drop(); // SQLite rolled back on its own or the file is gone: start afresh next time
        }
      };
      const exec = (statement: string) => () => connection.db.exec(statement);
      return transact(exec('BEGIN IMMEDIATE'), exec('COMMIT'), rollback, () => fn(new Executor(this, connection)));
    });
  }

  /**
   * DDL is transactional here: a version and its record are applied all or nothing, under the write lock. A file
   * that holds another application's tables and no gisbot schema is not ours to add our tables to.
   */
  migrating<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    return this.transaction(async (x) => {
      const present = sql`FROM sqlite_schema t WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY t.name`;
      const tables = (await x.all(TABLE, present)).map((t) => t.name);
      if (tables.length > 0 && !tables.includes('schema_migrations')) {
        const shown = tables.length > 5 ? `${tables.slice(0, 5).join(', ')} and ${tables.length - 5} more` : tables.join(', ');
        throw new ConfigError(
          [`database.url: ${this.#file} holds other tables (${shown}) and no gisbot schema: gisbot will not add its own to it`],
          'point database.url at a new file (it is created) or at a gisbot database',
        );
      }
      return fn(x);
    });
  }

  async close(): Promise<void> {
    this.#drop();
  }

  /**
   * Runs `fn` on the open file once every earlier call of this process on the file is done: a transaction waits
   * for its statements between awaits, and another store's BEGIN IMMEDIATE meanwhile would block the one thread
   * that could finish it. After an I/O-level failure the file is reopened.
   */
  #take<T>(fn: (connection: FileConnection) => Promise<T>): Promise<T> {
    const key = this.#file === ':memory:' ? this : this.#file;
    const turn = (turns.get(key) ?? Promise.resolve()).then(async () => {
      try {
        return await fn(this.#open(await loadSqlite()));
      } catch (error) {
        const code = asSqliteError(error)?.errcode;
        if (code !== undefined && BROKEN_CONNECTION_CODES.has(code & 0xff)) this.#drop();
        throw this.#translate(error);
      }
    });
    const done = turn.then(
      () => undefined,
      () => undefined,
    );
    turns.set(key, done);
    void done.then(() => turns.get(key) === done && turns.delete(key));
    return turn;
  }

  /**
   * Opens the file on first use: creates its folder (0700) and the file (0600: reviewers' names and the ledger are
   * the owner's only; SQLite gives its -wal and -shm files the same mode), WAL mode, busy timeout, full sync.
   */
  #open(sqlite: SqliteModule): FileConnection {
    if (this.#connection !== null) return this.#connection;
    if (this.#file !== ':memory:') {
      const folder = path.dirname(this.#file);
      try {
        this.#files.prepare(folder, this.#file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        if (READ_ONLY_CODES.has(code)) throw this.#readOnly(folder, code, error);
        throw new ServiceError('database', 'unavailable', `cannot open SQLite database ${this.#file}: cannot create it or its folder ${folder} (${code})`, {
          hint: 'check the path in database.url and the permissions of its folder',
          cause: error,
        });
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
    this.#connection = new FileConnection(db);
    return this.#connection;
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
    const detail = e.message || e.errstr || 'error';
    let kind: ServiceErrorKind = 'unavailable';
    let message: string;
    let hint: string | undefined;
    if (primary === SQLITE_BUSY || primary === SQLITE_LOCKED) {
      message = `${this.where} stayed locked by another process for ${this.#busyTimeoutMs} ms: ${detail}`;
      hint = 'another gisbot process is writing to the same file; try again, or use MySQL for several busy workers';
    } else if ((primary === SQLITE_CANTOPEN || primary === SQLITE_READONLY) && this.#file !== ':memory:' && this.#files.readOnly(path.dirname(this.#file)) !== null) {
      // The file is there, but its folder takes no -wal/-shm files nor journal: say which folder, not "unable to open".
      const folder = path.dirname(this.#file);
      return this.#readOnly(folder, this.#files.readOnly(folder)!, error);
    } else if (primary === SQLITE_CANTOPEN) {
      message = `cannot open ${this.where}: ${detail}`;
      hint = 'check the path in database.url and that the file and its folder are writable';
    } else if (primary === SQLITE_NOTADB || primary === SQLITE_CORRUPT) {
      message = `${this.#file} is not a usable SQLite database: ${detail}`;
      hint = 'point database.url at a gisbot database file, or move this file away';
    } else if (UNAVAILABLE_CODES.has(primary)) {
      message = `${this.where} is unavailable: ${detail}`;
    } else if (this.isMissingTable(error)) {
      kind = 'rejected';
      message = `${this.where}: ${detail}`;
      hint = 'the schema is missing: run the migrations';
    } else {
      kind = 'rejected';
      message = `${this.where} rejected a statement: ${detail}`;
    }
    return new ServiceError('database', kind, message.replace(/\s+/g, ' ').trim(), { cause: error, hint });
  }
}
