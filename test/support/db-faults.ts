// Database faults for tests that run the real binary: another connection that holds the write lock (SQLite:
// BEGIN IMMEDIATE past the busy timeout; MariaDB: LOCK TABLES or row locks), and KILL of the workers' connections
// (MariaDB). Each fault ends by itself; `settle()` waits for every one begun.
import type { Connection } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSqlite } from '../../src/adapters/store/sqlite.ts';
import { connectDatabase } from './mysql.ts';
import type { World } from './world.ts';

export class DatabaseFaults {
  readonly #world: World;
  readonly #pending = new Set<Promise<void>>();
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
    const connection = await connectDatabase(this.#world.db.url);
    await connection.query(`LOCK TABLES ${tables.map((table) => `${table} WRITE`).join(', ')}`);
    this.injected.push(`mysql LOCK TABLES ${tables.join(',')} ${ms} ms`);
    this.#track(sleep(ms).then(() => release(connection, 'UNLOCK TABLES')));
  }

  /**
   * MariaDB: holds row locks on `sql` (a SELECT ... FOR UPDATE) in an open transaction for `ms`; past
   * innodb_lock_wait_timeout a worker waiting on them fails with a lock wait timeout.
   */
  async holdRows(sql: string, ms: number): Promise<void> {
    const connection = await connectDatabase(this.#world.db.url);
    await connection.query('START TRANSACTION');
    await connection.query(sql);
    this.injected.push(`mysql row locks ${ms} ms`);
    this.#track(sleep(ms).then(() => release(connection, 'ROLLBACK')));
  }

  /** MariaDB: KILLs the connections of other processes to the world's database (`match`: their running query); how many. */
  async killWorkers(match?: RegExp): Promise<number> {
    const connection = await connectDatabase(this.#world.db.url);
    try {
      const [rows] = await connection.query<Array<{ ID: number; INFO: string | null } & import('mysql2').RowDataPacket>>(
        'SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
      );
      const victims = rows.filter((row) => match === undefined || (row.INFO !== null && match.test(row.INFO)));
      for (const row of victims) await connection.query(`KILL ${Number(row.ID)}`).catch(() => {});
      if (victims.length > 0) this.injected.push(`mysql KILL ${victims.length}`);
      return victims.length;
    } finally {
      await connection.end();
    }
  }

  /** Waits for a worker's query matching `match` to wait on a lock (MariaDB), at most `ms`; whether one did. */
  async waitForWaiter(match: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    const connection = await connectDatabase(this.#world.db.url);
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
      await connection.end();
    }
  }

  async settle(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  #track(promise: Promise<void>): void {
    const tracked = promise.catch(() => {}).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}

async function release(connection: Connection, statement: string): Promise<void> {
  try {
    await connection.query(statement);
  } finally {
    await connection.end().catch(() => {});
  }
}
