// What only the MySQL store does: the shared Store behaviours are in the contract suite
// (test/support/store-contract.ts, run on MySQL and SQLite by test/integration/store-contract.test.ts).
// Here: connecting lazily, one-line errors without the password, and migrations racing from several stores.
// Runs against a real MariaDB/MySQL (127.0.0.1:3306 as root, or GISBOT_TEST_MYSQL_URL).
import { LATEST_VERSION } from '../../src/adapters/store/migrations.ts';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMysqlStore } from '../../src/adapters/store/mysql.ts';
import type { Store } from '../../src/core/ports.ts';
import { ConfigError, ServiceError } from '../../src/errors.ts';
import { checkMoneyInvariants, createTestDatabase, queryDatabase } from '../support/mysql.ts';
import type { TestDatabase } from '../support/mysql.ts';

/** Every schema version, once each: the migration history's length. */
const EVERY_VERSION = Array.from({ length: LATEST_VERSION }, (_, index) => index + 1);

describe('MysqlStore', () => {
  let db: TestDatabase;
  let store: Store;

  before(async () => {
    db = await createTestDatabase();
    store = createMysqlStore({ url: db.url, notifications: true });
    await store.migrate();
  });

  after(async () => {
    await store?.close();
    await db?.drop();
  });

  test('construction does not connect; an unreachable database is a one-line ServiceError without the password', async () => {
    const password = 'S3cret-Pa55word';
    const unreachable = createMysqlStore({ url: `mysql://gisbot:${password}@127.0.0.1:3399/gisbot`, notifications: true });
    for (const attempt of [() => unreachable.ping(), () => unreachable.migrate(), () => unreachable.getBalance()]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof ServiceError, `not a ServiceError: ${String(error)}`);
        assert.equal(error.service, 'database');
        assert.equal(error.kind, 'unavailable');
        assert.match(error.message, /127\.0\.0\.1:3399/);
        assert.match(error.message, /ECONNREFUSED/);
        assert.ok(!error.message.includes(password), error.message);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
    await unreachable.close();

    const url = new URL(db.url);
    const wrongPassword = createMysqlStore({
      url: `mysql://${url.username || 'root'}:${password}@${url.host}${url.pathname}`,
      notifications: true,
    });
    await assert.rejects(wrongPassword.ping(), (error: unknown) => {
      assert.ok(error instanceof ServiceError);
      assert.equal(error.kind, 'unavailable');
      assert.ok(error.message.includes(url.host), error.message);
      assert.ok(!error.message.includes(password), error.message);
      return true;
    });
    await wrongPassword.close();

    const missing = createMysqlStore({ url: `mysql://${url.username}@${url.host}/gisbot_no_such_db_${process.pid}`, notifications: true });
    await assert.rejects(missing.ping(), (error: unknown) => {
      assert.ok(error instanceof ServiceError);
      assert.equal(error.kind, 'unavailable');
      assert.ok(error.message.includes(url.host), error.message);
      return true;
    });
    await missing.close();

    assert.throws(() => createMysqlStore({ url: `postgres://x:${password}@h/db`, notifications: true }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(!error.message.includes(password));
      return true;
    });
  });

  test('migrate is idempotent and safe from two stores at once', async () => {
    await store.migrate();
    await store.migrate();
    const versions = await queryDatabase(db.url, 'SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((r) => Number(r.version)),
      EVERY_VERSION,
    );

    const fresh = await createTestDatabase();
    const a = createMysqlStore({ url: fresh.url, notifications: true });
    const b = createMysqlStore({ url: fresh.url, notifications: true });
    try {
      await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
      const rows = await queryDatabase(fresh.url, 'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version');
      assert.deepEqual(
        rows.map((r) => [Number(r.version), Number(r.n)]),
        EVERY_VERSION.map((version) => [version, 1]),
      );
      const accounts = await queryDatabase(fresh.url, 'SELECT COUNT(*) AS n FROM business_accounts');
      assert.equal(Number(accounts[0]?.n), 1);
      assert.deepEqual(await b.getBalance(), { balance: 0n, reserved: 0n });
      await checkMoneyInvariants(fresh.url, 0);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
    await checkMoneyInvariants(db.url, 0);
  });

  test('a version cut short by a crash is finished on the next start (DDL commits statement by statement)', async () => {
    const fresh = await createTestDatabase();
    const first = createMysqlStore({ url: fresh.url, notifications: false });
    try {
      await first.migrate();
      // As if the process died after version 4's CREATE INDEX, before its DROP INDEX and its record.
      await queryDatabase(fresh.url, 'DELETE FROM schema_migrations WHERE version = 4');
      await queryDatabase(fresh.url, 'CREATE INDEX reviews_branch ON reviews (branch_id)');
      await first.migrate();
      const indexes = await queryDatabase(fresh.url, "SHOW INDEX FROM reviews WHERE Key_name LIKE 'reviews_branch%'");
      assert.deepEqual([...new Set(indexes.map((row) => String(row.Key_name)))], ['reviews_branch_updated']);
      const versions = await queryDatabase(fresh.url, 'SELECT version FROM schema_migrations WHERE version = 4');
      assert.equal(versions.length, 1);

      // Version 7 cut short after its first ADD COLUMN: the column already there is skipped, the second added.
      await queryDatabase(fresh.url, 'DELETE FROM schema_migrations WHERE version = 7');
      await queryDatabase(fresh.url, 'ALTER TABLE outbox DROP COLUMN retry_at');
      await first.migrate();
      const columns = await queryDatabase(fresh.url, "SHOW COLUMNS FROM outbox WHERE Field IN ('attempts', 'retry_at')");
      assert.deepEqual(columns.map((row) => String(row.Field)).sort(), ['attempts', 'retry_at']);
      assert.equal((await queryDatabase(fresh.url, 'SELECT version FROM schema_migrations WHERE version = 7')).length, 1);
      await checkMoneyInvariants(fresh.url, 0);
    } finally {
      await first.close();
      await fresh.drop();
    }
  });

  test("the repeat check reads a branch's newest answers through its index, without sorting the branch", async () => {
    const fresh = await createTestDatabase();
    const store = createMysqlStore({ url: fresh.url, notifications: false });
    try {
      await store.migrate();
      const [plan] = await queryDatabase(
        fresh.url,
        `EXPLAIN SELECT COALESCE(answer_text, draft_text) AS text FROM reviews
         WHERE business_id = 'default' AND branch_id = '1' AND state IN ('drafted', 'posting', 'posted') AND COALESCE(answer_text, draft_text) IS NOT NULL
         ORDER BY updated_at DESC, id DESC LIMIT 50`,
      );
      assert.equal(plan?.key, 'reviews_business_branch_updated');
      assert.ok(!String(plan?.Extra).includes('filesort'), String(plan?.Extra));
      await checkMoneyInvariants(fresh.url, 0);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });
});
