// The seam between the one Store (store.ts) and its two databases (mysql.ts, sqlite.ts): statements written once
// as `sql` templates, typed column sets that read a row back, and the Dialect each database implements for what
// really differs: how a value is bound and a column read, how rows are locked, how a transaction is opened and
// retried, and how the connection (a pool, or one file handle) is held. Every value becomes a placeholder
// (invariant 16); money is bigint kopecks and never a float on its way in or out (invariant 6).
import type { Kopecks } from '../../core/money/money.ts';
import type { Schema } from './migrations.ts';

/** What a statement binds: bigint is always money (kopecks), a Date always a point in time. */
export type Value = string | number | bigint | Date | null;
type Part = Value | readonly Value[] | Sql;

/** The largest amount either schema holds, exclusive: DECIMAL(14,2) is at most 999 999 999 999.99. */
export const MAX_MONEY = 10n ** 14n;

/** A statement, its text kept apart from its values. */
export class Sql {
  readonly parts: readonly string[];
  readonly values: readonly Part[];
  constructor(parts: readonly string[], values: readonly Part[]) {
    this.parts = parts;
    this.values = values;
  }
}

/** sql`... ${value} ...`: a value becomes one placeholder, a list a comma-separated run of them, a Sql is inlined. */
export function sql(strings: TemplateStringsArray, ...values: Part[]): Sql {
  return new Sql(strings, values);
}

/** Trusted SQL text, with no values: a keyword or a constant fragment. */
export function raw(text: string): Sql {
  return new Sql([text], []);
}

export const empty = raw('');

export function join(items: readonly Sql[], separator = ', '): Sql {
  return new Sql(items.length === 0 ? [''] : ['', ...items.slice(1).map(() => separator), ''], items);
}

/** The text with `?` placeholders and the values to bind, each as the dialect binds it. */
export function render(statement: Sql, dialect: Dialect): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: Value): string => {
    if (typeof value === 'bigint' && (value <= -MAX_MONEY || value >= MAX_MONEY)) throw new RangeError(`money amount out of range: ${value}`);
    const [placeholder, param] = dialect.bind(value);
    params.push(param);
    return placeholder;
  };
  const text = (part: Sql): string =>
    part.values.reduce<string>((done, value, i) => {
      const piece = value instanceof Sql ? text(value) : Array.isArray(value) ? value.map(bind).join(', ') : bind(value as Value);
      return done + piece + part.parts[i + 1];
    }, part.parts[0] ?? '');
  return { text: text(statement), params };
}

// ---------------------------------------------------------------- reading rows back

export type Kind = 'text' | 'int' | 'money' | 'time' | 'json';
/** A column's kind, `?` when it may be NULL; a pair names its SQL expression when it is not the snake_cased key. */
export type Spec = Kind | `${Kind}?` | readonly [Kind | `${Kind}?`, string];
interface Decoded { text: string; int: number; money: Kopecks; time: Date; json: Record<string, unknown> }
type KindOf<S> = S extends readonly [infer K, string] ? K : S;
type ValueOf<K> = K extends `${infer B extends Kind}?` ? Decoded[B] | null : K extends Kind ? Decoded[K] : never;
type Fields<C> = { -readonly [N in keyof C]: ValueOf<KindOf<C[N]>> };
/** The row a ColumnSet reads, typed by its columns. */
export type RowOf<S> = S extends ColumnSet<infer C> ? Fields<C> : never;

/** The columns a query reads, keyed by the property each becomes; `alias` is the table's name in the query. */
export class ColumnSet<C extends Record<string, Spec>> {
  readonly #columns: Array<{ key: string; kind: Kind; nullable: boolean; expression: string }>;
  readonly #lists = new WeakMap<Dialect, string>();

  constructor(alias: string, spec: C) {
    this.#columns = Object.entries(spec).map(([key, value]) => {
      const [kind, expression] = typeof value === 'string' ? [value, key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] : value;
      const qualified = /^[a-z_][a-z0-9_]*$/.test(expression) ? `${alias}.${expression}` : expression;
      return { key, kind: kind.replace('?', '') as Kind, nullable: kind.endsWith('?'), expression: qualified };
    });
  }

  list(dialect: Dialect): string {
    let list = this.#lists.get(dialect);
    if (list === undefined) {
      list = this.#columns.map((c) => `${dialect.column(c.expression, c.kind)} AS ${c.key}`).join(', ');
      this.#lists.set(dialect, list);
    }
    return list;
  }

  decode(row: Record<string, unknown>, dialect: Dialect): Fields<C> {
    const decoded: Record<string, unknown> = {};
    for (const { key, kind, nullable } of this.#columns) {
      const value = row[key];
      decoded[key] = nullable && (value === null || value === undefined) ? null : dialect.decode(kind, value);
    }
    return decoded as Fields<C>;
  }
}

export function columns<const C extends Record<string, Spec>>(alias: string, spec: C): ColumnSet<C> {
  return new ColumnSet(alias, spec);
}

// ---------------------------------------------------------------- what each database implements

/** One connection of a dialect, in or out of a transaction: raw text with `?` placeholders. */
export interface Connection {
  query(text: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  execute(text: string, params: unknown[]): Promise<{ changes: number; insertId: number }>;
  /** A migration's DDL statement. */
  ddl(text: string): Promise<void>;
}

export interface Dialect {
  /** The database, for messages: `MySQL at host:port`, `SQLite database /path`. */
  readonly where: string;
  readonly schema: Schema;
  /** Appended to a SELECT that is followed by a write to its row: `FOR UPDATE`, or nothing for a single writer. */
  readonly lockRows: Sql;
  /** As lockRows, where racing claimers should each take another row instead of waiting for this one. */
  readonly skipLocked: Sql;
  /** After an INSERT: on a duplicate `key`, the row already there takes these columns of the inserted one. */
  upsert(key: string, columns: readonly string[]): Sql;
  /** A value's placeholder and what is bound to it. */
  bind(value: Value): [placeholder: string, param: unknown];
  /** A column as a SELECT reads it (without the alias). */
  column(expression: string, kind: Kind): string;
  decode(kind: Kind, value: unknown): unknown;
  /** Statements each on their own (autocommit). */
  autocommit<T>(fn: (x: Executor) => Promise<T>): Promise<T>;
  /** One transaction that holds what it read until it commits; a thrown Rollback rolls back and returns its value. */
  transaction<T>(fn: (x: Executor) => Promise<T>): Promise<T>;
  /** Migrating: one process at a time. */
  migrating<T>(fn: (x: Executor) => Promise<T>): Promise<T>;
  isDuplicate(error: unknown): boolean;
  isMissingTable(error: unknown): boolean;
  close(): Promise<void>;
}

/** Thrown inside a transaction to roll it back and hand `value` to the caller. */
export class Rollback {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}

/**
 * Runs `fn` between `begin` and `commit`. Anything thrown rolls the transaction back (a failing rollback is
 * `rollback`'s to handle); a Rollback hands its value to the caller, anything else is thrown on.
 */
export async function transact<T>(begin: () => unknown, commit: () => unknown, rollback: () => unknown, fn: () => Promise<T>): Promise<T> {
  await begin();
  try {
    const result = await fn();
    await commit();
    return result;
  } catch (error) {
    await rollback();
    if (error instanceof Rollback) return error.value as T;
    throw error;
  }
}

/** Statements and typed rows over one connection. */
export class Executor {
  readonly #dialect: Dialect;
  readonly #connection: Connection;

  constructor(dialect: Dialect, connection: Connection) {
    this.#dialect = dialect;
    this.#connection = connection;
  }

  /** `SELECT <the set's columns> <rest>`, each row decoded. */
  async all<C extends Record<string, Spec>>(set: ColumnSet<C>, rest: Sql): Promise<Array<Fields<C>>> {
    const { text, params } = render(rest, this.#dialect);
    const rows = await this.#connection.query(`SELECT ${set.list(this.#dialect)} ${text}`, params);
    return rows.map((row) => set.decode(row, this.#dialect));
  }

  async first<C extends Record<string, Spec>>(set: ColumnSet<C>, rest: Sql): Promise<Fields<C> | undefined> {
    return (await this.all(set, rest))[0];
  }

  /** A write; the number of rows it changed. */
  async run(statement: Sql): Promise<number> {
    const { text, params } = render(statement, this.#dialect);
    return (await this.#connection.execute(text, params)).changes;
  }

  /** An INSERT; the id it was given. */
  async insert(statement: Sql): Promise<number> {
    const { text, params } = render(statement, this.#dialect);
    return (await this.#connection.execute(text, params)).insertId;
  }

  ddl(text: string): Promise<void> {
    return this.#connection.ddl(text);
  }
}
