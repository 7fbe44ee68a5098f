// The Store on MySQL / MariaDB: the dialect of store.ts over mysql2/promise, one pool per store.
// Money is DECIMAL(14,2) in the schema and crosses the wire as a decimal string; every money value is bound as
// CAST(? AS DECIMAL(14,2)), so arithmetic on it in SQL is never a float (invariant 6). Racing workers lock rows
// (FOR UPDATE, claims SKIP LOCKED); a transaction that meets a deadlock or a lock wait timeout was rolled back
// whole and is run again.
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { ConfigError, ServiceError } from '../../errors.ts';
import type { ServiceErrorKind } from '../../errors.ts';
import { formatMoney, parseStoredMoney } from '../../core/money/money.ts';
import type { Store } from '../../core/ports.ts';
import { columns, Executor, raw, transact } from './dialect.ts';
import type { Connection, Dialect, Kind, Sql, Value } from './dialect.ts';
import { DEFAULT_BUSINESS, type Schema } from './migrations.ts';
import { SqlStore } from './store.ts';
import type { SqlStoreOptions } from './store.ts';

export interface MysqlStoreOptions extends SqlStoreOptions {
  /** mysql://user:pass@host:port/db */
  url: string;
  connectionLimit?: number;
}

export interface MysqlConnectionSettings { host: string; port: number; user: string; password: string; database: string }

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
  return { host, port, user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password), database };
}

export function createMysqlStore(options: MysqlStoreOptions): Store {
  return new SqlStore(new MysqlDialect(options), options);
}

const SCHEMA: Schema = {
  string: (length, fixed) => `${fixed ? 'CHAR' : 'VARCHAR'}(${length})`,
  id: 'VARCHAR(128)', bigint: 'BIGINT', tinyint: 'TINYINT', int: 'INT', mediumText: 'MEDIUMTEXT', longText: 'LONGTEXT',
  money: 'DECIMAL(14,2)', decimal: 'DECIMAL(20,10)', time: 'DATETIME(3)', preciseTime: 'DATETIME(6)',
  serial: (integer) => `${integer} NOT NULL AUTO_INCREMENT PRIMARY KEY`,
  nonNegative: (column) => `${column} >= 0`,
  typeCheck: () => '',
  appendOnly: () => [],
  dropIndex: (table, index) => `DROP INDEX ${index} ON ${table}`,
  idLast: '',
  // Every table uses utf8mb4 with a binary collation: ids and texts compare exactly, case and accents included.
  tableOptions: 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  insertOrIgnore: 'IGNORE',
  minutesBetween: (from, to) => `GREATEST(0, TIMESTAMPDIFF(MINUTE, ${from}, ${to}))`,
  // Each statement may run again after a crash half-way through the version: the column is then there (skipped),
  // and dropping and adding a key again gives the same key.
  scope: (table, keys = {}) => [
    `ALTER TABLE ${table} ADD COLUMN business_id VARCHAR(32) NOT NULL DEFAULT '${DEFAULT_BUSINESS}' FIRST`,
    ...(keys.primaryKey ? [`ALTER TABLE ${table} DROP PRIMARY KEY, ADD PRIMARY KEY (${['business_id', ...keys.primaryKey].join(', ')})`] : []),
    ...(keys.unique
      ? [`ALTER TABLE ${table} DROP INDEX ${keys.unique.name}, ADD CONSTRAINT ${keys.unique.name} UNIQUE (${['business_id', ...keys.unique.columns].join(', ')})`]
      : []),
    // No default from now on: a row written without its business is an error, not business `default`'s.
    `ALTER TABLE ${table} ALTER COLUMN business_id DROP DEFAULT`,
  ],
};

const SESSION_SQL_MODE = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION';
const TRANSACTION_ATTEMPTS = 4;
const ER_DUP_ENTRY = 1062;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
/** What a DDL statement that already ran says when run again after a crash half-way through its version. */
const ALREADY_DONE = new Set([1050, 1060, 1061, 1091]); // ER_TABLE_EXISTS_ERROR, ER_DUP_FIELDNAME, ER_DUP_KEYNAME, ER_CANT_DROP_FIELD_OR_KEY
const LOGIN_ERRORS = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_HOST_NOT_PRIVILEGED', 'ER_HOST_IS_BLOCKED',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'ER_NOT_SUPPORTED_AUTH_MODE']);
const SERVER_GONE_ERRORS = new Set(['ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_SERVER_SHUTDOWN', 'ER_SERVER_SHUTDOWN_IN_PROGRESS',
  'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_OPTION_PREVENTS_STATEMENT', 'ER_READ_ONLY_MODE']);

type DatabaseError = Error & { code?: string; errno?: number; sqlState?: string; sqlMessage?: string; syscall?: string; fatal?: boolean };

function asDatabaseError(error: unknown): DatabaseError | null {
  if (!(error instanceof Error)) return null;
  const e = error as DatabaseError;
  if (typeof e.code !== 'string') return null;
  if (typeof e.errno === 'number' || typeof e.sqlState === 'string' || typeof e.syscall === 'string' || e.fatal) return e;
  return /^(PROTOCOL_|ER_|E[A-Z]+$)/.test(e.code) ? e : null;
}

const errnoOf = (error: unknown): number => asDatabaseError(error)?.errno ?? 0;
const LOCK = columns('l', { got: 'int' });

/** One pooled connection as the dialect seam speaks to it. */
function connectionOf(connection: PoolConnection): Connection {
  return {
    query: async (text, params) => (await connection.query<RowDataPacket[]>(text, params))[0],
    async execute(text, params) {
      const [result] = await connection.query<ResultSetHeader>(text, params);
      return { changes: result.affectedRows, insertId: result.insertId };
    },
    async ddl(text) {
      try {
        await connection.query(text);
      } catch (error) {
        // DDL commits at once: after a crash half-way through a version, some of its statements already ran.
        if (!ALREADY_DONE.has(errnoOf(error))) throw error;
      }
    },
  };
}

class MysqlDialect implements Dialect {
  readonly schema = SCHEMA;
  readonly lockRows = raw(' FOR UPDATE');
  readonly skipLocked = raw(' FOR UPDATE SKIP LOCKED');
  readonly #settings: MysqlConnectionSettings;
  readonly #connectionLimit: number;
  #pool: Pool | null = null;
  /** Core connections whose session has been set up (sql_mode, time zone, isolation). */
  readonly #prepared = new WeakSet<object>();

  constructor(options: MysqlStoreOptions) {
    this.#settings = parseMysqlUrl(options.url);
    this.#connectionLimit = options.connectionLimit ?? 10;
  }

  get where(): string {
    const { host, port } = this.#settings;
    return `MySQL at ${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  upsert(_key: string, columns: readonly string[]): Sql {
    return raw(`ON DUPLICATE KEY UPDATE ${columns.map((column) => `${column} = VALUES(${column})`).join(', ')}`);
  }

  bind(value: Value): [string, unknown] {
    return typeof value === 'bigint' ? ['CAST(? AS DECIMAL(14,2))', formatMoney(value)] : ['?', value];
  }

  column(expression: string): string {
    return expression;
  }

  decode(kind: Kind, value: unknown): unknown {
    if (kind === 'int') return Number(value);
    if (kind === 'money') return parseStoredMoney(value as string);
    if (kind === 'time') return value instanceof Date ? value : new Date(String(value));
    if (kind === 'json') return typeof value === 'string' || Buffer.isBuffer(value) ? JSON.parse(String(value)) : (value ?? {});
    return String(value);
  }

  isDuplicate(error: unknown): boolean {
    return errnoOf(error) === ER_DUP_ENTRY;
  }

  isMissingTable(error: unknown): boolean {
    return asDatabaseError(error)?.code === 'ER_NO_SUCH_TABLE';
  }

  #getPool(): Pool {
    const limit = this.#connectionLimit;
    this.#pool ??= createPool({
      ...this.#settings,
      timezone: 'Z', charset: 'utf8mb4_unicode_ci', supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, dateStrings: false,
      multipleStatements: false, connectTimeout: 5000, enableKeepAlive: true, keepAliveInitialDelay: 10_000,
      connectionLimit: limit, maxIdle: limit, idleTimeout: 60_000, waitForConnections: true, queueLimit: 0, resetOnRelease: false,
      // No stack captured per statement: every database error is translated into one line that names the
      // server and the cause (#translate), and the capture cost ~7 µs and ~1 KB on each of ~30 statements a review.
      trace: false,
      // Only query() is used, never execute(): no prepared statements to cache. The default (16000) preallocates
      // its LRU, ~0.75 MB of heap per connection.
      maxPreparedStatements: 16,
    });
    return this.#pool;
  }

  /** A pooled connection with this store's session settings; the caller releases it. */
  async #acquire(): Promise<PoolConnection> {
    const connection = await this.#getPool().getConnection();
    const core = connection.connection as object;
    if (!this.#prepared.has(core)) {
      try {
        await connection.query(`SET SESSION sql_mode = ?, SESSION time_zone = '+00:00', SESSION innodb_lock_wait_timeout = 10`, [SESSION_SQL_MODE]);
        await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      } catch (error) {
        connection.destroy();
        throw error;
      }
      this.#prepared.add(core);
    }
    return connection;
  }

  async autocommit<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    try {
      const connection = await this.#acquire();
      try {
        return await fn(new Executor(this, connectionOf(connection)));
      } finally {
        connection.release();
      }
    } catch (error) {
      throw this.#translate(error);
    }
  }

  async transaction<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    try {
      for (let attempt = 1; ; attempt++) {
        const connection = await this.#acquire();
        let broken = false;
        try {
          const rollback = () => connection.rollback().catch(() => (broken = true));
          const work = () => fn(new Executor(this, connectionOf(connection)));
          return await transact(() => connection.beginTransaction(), () => connection.commit(), rollback, work);
        } catch (error) {
          const errno = errnoOf(error);
          if ((errno !== ER_LOCK_DEADLOCK && errno !== ER_LOCK_WAIT_TIMEOUT) || attempt >= TRANSACTION_ATTEMPTS) throw error;
          await sleep(5 + Math.floor(Math.random() * 20 * attempt));
        } finally {
          if (broken) connection.destroy();
          else connection.release();
        }
      }
    } catch (error) {
      throw this.#translate(error);
    }
  }

  /** Several processes may start at once: one migrates while the others wait for its named lock. */
  migrating<T>(fn: (x: Executor) => Promise<T>): Promise<T> {
    return this.autocommit(async (x) => {
      const locked = await x.first(LOCK, raw("FROM (SELECT GET_LOCK('gisbot_migrate', 30) AS got) l"));
      if (locked?.got !== 1) throw new ServiceError('database', 'unavailable', `${this.where}: timed out waiting for another process to finish migrating`);
      try {
        return await fn(x);
      } finally {
        await x.first(LOCK, raw("FROM (SELECT RELEASE_LOCK('gisbot_migrate') AS got) l")).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool !== null) await pool.end().catch(() => undefined);
  }

  /** Database errors become one-line ServiceErrors naming host:port and the cause, never the password. */
  #translate(error: unknown): unknown {
    if (error instanceof ServiceError) return error;
    const e = asDatabaseError(error);
    if (e === null) return error;
    const code = e.code ?? '';
    const detail = e.sqlMessage ?? e.message;
    let kind: ServiceErrorKind = 'unavailable';
    let message: string;
    let hint: string | undefined;
    if (e.syscall !== undefined || /^E[A-Z]+$/.test(code) || code.startsWith('PROTOCOL_')) {
      message = `cannot reach ${this.where}: ${e.syscall !== undefined ? `${e.syscall} ${code}` : e.message || code}`;
      hint = 'check that the database server runs and that database.url names the right host and port';
    } else if (LOGIN_ERRORS.has(code)) {
      message = `${this.where} refused the login: ${detail}`;
      hint = 'check the user and password in database.url';
    } else if (code === 'ER_BAD_DB_ERROR') {
      message = `${this.where} has no database ${this.#settings.database}: ${detail}`;
      hint = 'create the database (CREATE DATABASE ... CHARACTER SET utf8mb4) or fix database.url';
    } else if (SERVER_GONE_ERRORS.has(code) || e.fatal) {
      message = `${this.where} is unavailable: ${detail}`;
    } else if (code === 'ER_NO_SUCH_TABLE') {
      kind = 'rejected';
      message = `${this.where}: ${detail}`;
      hint = 'the schema is missing: run the migrations';
    } else {
      kind = 'rejected';
      message = `${this.where} rejected a statement: ${code}: ${detail}`;
    }
    return new ServiceError('database', kind, this.#scrub(message.replace(/\s+/g, ' ').trim()), { cause: error, hint });
  }

  #scrub(text: string): string {
    const { password } = this.#settings;
    if (password === '') return text;
    return [password, encodeURIComponent(password)].reduce((result, secret) => result.split(secret).join('***'), text);
  }
}
