// Database faults for tests that run the real binary: another connection that holds the write lock (SQLite:
// BEGIN IMMEDIATE past the busy timeout; MariaDB: LOCK TABLES or row locks), and KILL of the workers' connections
// (MariaDB). Each fault ends by itself; `settle()` waits for every one begun. The faults' own connections are never
// among the KILLed, and each is let go of even when the server dropped it: a test file ends with nothing left open.
import type { Connection } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSqlite } from '../../src/adapters/store/sqlite.ts';
import { connectDatabase } from './mysql.ts';
import type { World } from './world.ts';

export class DatabaseFaults {
  readonly #world: World;
  readonly #pending = new Set<Promise<void>>();
  /** The server's ids of this object's own connections: KILLs spare them. */
  readonly #own = new Set<number>();
  /** What was injected, for the test's report. */
  readonly injected: string[] = [];

  constructor(world: World) {
    this.#world = world;
  }

  /**
   * Holds the write lock for `ms`: on SQLite the whole file (BEGIN IMMEDIATE), on MariaDB the given tables
   * (LOCK TABLES ... WRITE). Resolves once the lock is held; the release runs in the background.
   */
  async holdWriteLock(ms: number, tables: readonly string[] = ['telegram_cards', 'telegram_updates']): Promise<void> {
    if (this.#world.backend === 'sqlite') {
      const { DatabaseSync } = await loadSqlite();
      const db = new DatabaseSync(this.#world.sqliteFile, { timeout: 20_000 });
      db.exec('BEGIN IMMEDIATE');
      this.injected.push(`sqlite write lock ${ms} ms`);
      this.#track(sleep(ms).then(() => {
        db.exec('COMMIT');
        db.close();
      }));
      return;
    }
    await this.#hold(ms, `LOCK TABLES ${tables.map((table) => `${table} WRITE`).join(', ')}`, 'UNLOCK TABLES', `mysql LOCK TABLES ${tables.join(',')} ${ms} ms`);
  }

  /**
   * MariaDB: holds row locks on `sql` (a SELECT ... FOR UPDATE) in an open transaction for `ms`; past
   * innodb_lock_wait_timeout a worker waiting on them fails with a lock wait timeout.
   */
  async holdRows(sql: string, ms: number): Promise<void> {
    await this.#hold(ms, ['START TRANSACTION', sql], 'ROLLBACK', `mysql row locks ${ms} ms`);
  }

  /**
   * MariaDB: takes a lock with `take` on a connection of its own, keeps it `ms`, lets go with `release`. Tracked from
   * its first step, so settle() also waits for a fault still taking its lock; resolves once the lock is held.
   */
  async #hold(ms: number, take: string | readonly string[], release: string, said: string): Promise<void> {
    let held = () => {};
    const taken = new Promise<void>((resolve) => (held = resolve));
    const fault = (async () => {
      const connection = await this.#connect();
      try {
        // Never waits for ever on a metadata lock (the default is a year): the world may be closing.
        await connection.query('SET SESSION lock_wait_timeout = 20');
        for (const statement of [take].flat()) await connection.query(statement);
        this.injected.push(said);
        held();
        await sleep(ms);
        await connection.query(release);
      } finally {
        await this.#let(connection);
      }
    })();
    this.#track(fault);
    await Promise.race([taken, fault]);
  }

  /** MariaDB: KILLs the connections of other processes to the world's database (`match`: their running query); how many. */
  async killWorkers(match?: RegExp): Promise<number> {
    const connection = await this.#connect();
    try {
      const [rows] = await connection.query<Array<{ ID: number; INFO: string | null } & import('mysql2').RowDataPacket>>(
        'SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
      );
      const victims = rows.filter((row) => !this.#own.has(Number(row.ID)) && (match === undefined || (row.INFO !== null && match.test(row.INFO))));
      for (const row of victims) await connection.query(`KILL ${Number(row.ID)}`).catch(() => {});
      if (victims.length > 0) this.injected.push(`mysql KILL ${victims.length}`);
      return victims.length;
    } finally {
      await this.#let(connection);
    }
  }

  /**
   * MariaDB, in the background (settle() waits for it): once a worker's query matching `match` waits on a lock,
   * within `ms`, that worker's connection is KILLed there.
   */
  killWaiterSoon(match: RegExp, ms: number): void {
    this.#track(this.waitForWaiter(match, ms).then(async (waiting) => void (waiting ? await this.killWorkers(match) : 0)));
  }

  /** Waits for a worker's query matching `match` to wait on a lock (MariaDB), at most `ms`; whether one did. */
  async waitForWaiter(match: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    const connection = await this.#connect();
    try {
      while (Date.now() < deadline) {
        const [rows] = await connection.query<Array<{ INFO: string | null } & import('mysql2').RowDataPacket>>(
          'SELECT INFO FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND INFO IS NOT NULL',
        );
        if (rows.some((row) => row.INFO !== null && match.test(row.INFO))) return true;
        await sleep(20);
      }
      return false;
    } finally {
      await this.#let(connection);
    }
  }

  async settle(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async #connect(): Promise<Connection> {
    const connection = await connectDatabase(this.#world.db.url);
    this.#own.add(connection.threadId);
    return connection;
  }

  /** Ends a connection of ours; one the server dropped may never answer the goodbye, so it is destroyed after a while. */
  async #let(connection: Connection): Promise<void> {
    await Promise.race([connection.end().catch(() => {}), sleep(2_000, undefined, { ref: false })]);
    connection.destroy();
    this.#own.delete(connection.threadId);
  }

  #track(promise: Promise<void>): void {
    const tracked = promise.catch(() => {}).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}
