// Test databases on the local MariaDB/MySQL and the money invariants checked against one.
// The server defaults to mysql://root@127.0.0.1:3306; GISBOT_TEST_MYSQL_URL (without a database) overrides it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { parseStoredMoney } from '../../src/core/money/money.ts';
import { expectedTotal, LEDGER_CHECKS, type ExpectedCharges } from './charges.ts';
import { parseMysqlUrl } from '../../src/adapters/store/mysql.ts';

const SERVER_URL = process.env.GISBOT_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

function serverSettings(): { host: string; port: number; user: string; password: string } {
  const url = new URL(SERVER_URL);
  return {
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

async function connectServer(): Promise<Connection> {
  return createConnection({ ...serverSettings(), charset: 'utf8mb4_unicode_ci', connectTimeout: 5000 });
}

export async function connectDatabase(url: string): Promise<Connection> {
  const { host, port, user, password, database } = parseMysqlUrl(url);
  return createConnection({
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
    connectTimeout: 5000,
  });
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty, uniquely named database; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `gisbot_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const connection = await connectServer();
  try {
    await connection.query('CREATE DATABASE ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', [name]);
  } finally {
    await connection.end();
  }
  const { host, port, user, password } = serverSettings();
  const credentials = password === '' ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  const url = `mysql://${credentials}@${host}:${port}/${name}`;
  let dropped = false;
  return {
    url,
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = await connectServer();
      try {
        await c.query('DROP DATABASE IF EXISTS ??', [name]);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Asserts the money and work invariants against the database: nothing reserved or in flight, the balance is
 * the sum of the ledger, one charge of `pricePerReply` per answer of ours and no other.
 */
export async function checkMoneyInvariants(
  url: string,
  answersByUs: number,
  pricePerReply: ExpectedCharges = 500n,
  business = 'default',
): Promise<void> {
  const connection = await connectDatabase(url);
  try {
    // Every `?` of these statements is the business: the invariants hold per business.
    const scoped = (sql: string) => [sql, [...sql.matchAll(/\?/g)].map(() => business)] as const;
    const one = async (sql: string): Promise<RowDataPacket> => {
      const [rows] = await connection.query<RowDataPacket[]>(...scoped(sql));
      const row = rows[0];
      assert.ok(row !== undefined, `no row from: ${sql}`);
      return row;
    };
    const account = await one('SELECT COALESCE(MAX(balance), 0) AS balance, COALESCE(MAX(reserved), 0) AS reserved FROM business_accounts WHERE business_id = ?');
    const balance = parseStoredMoney(account.balance);
    const reserved = parseStoredMoney(account.reserved);
    assert.ok(balance >= 0n, `balance is negative: ${balance}`);
    assert.equal(reserved, 0n, 'account.reserved is not 0: a reserve is left hanging');

    const reviewsReserved = await one('SELECT COALESCE(SUM(reserved), 0) AS total FROM reviews WHERE business_id = ?');
    assert.equal(parseStoredMoney(reviewsReserved.total), 0n, 'a review still holds a reserve');

    // Answers 2GIS removed were delivered and charged: they count beside those still there.
    const charged = answersByUs + Number((await one(LEDGER_CHECKS.removedAnswers)).n);
    const charges = await one(
      "SELECT COALESCE(SUM(amount), 0) AS total, COUNT(*) AS n FROM ledger WHERE business_id = ? AND kind = 'charge'",
    );
    assert.equal(
      parseStoredMoney(charges.total),
      -expectedTotal(charged, pricePerReply),
      'the sum of charges is not price × answers',
    );
    assert.equal(Number(charges.n), charged, 'the number of charges is not the number of answers');

    const posted = await one("SELECT COUNT(*) AS n FROM reviews WHERE business_id = ? AND state = 'posted'");
    assert.equal(Number(posted.n), answersByUs, 'the number of posted reviews is not the number of answers');

    const ledgerSum = await one('SELECT COALESCE(SUM(amount), 0) AS total FROM ledger WHERE business_id = ?');
    assert.equal(balance, parseStoredMoney(ledgerSum.total), 'the balance is not the sum of the ledger');

    const inFlight = await one("SELECT COUNT(*) AS n FROM reviews WHERE business_id = ? AND state IN ('claimed', 'drafted', 'posting')");
    assert.equal(Number(inFlight.n), 0, 'reviews are left claimed, drafted or posting');

    const all = async (sql: string) => (await connection.query<RowDataPacket[]>(...scoped(sql)))[0];
    assert.deepEqual(await all(LEDGER_CHECKS.overcharged), [], 'a review was charged more than once per answer');
    assert.deepEqual(await all(LEDGER_CHECKS.unposted), [], 'a charge exists for a review that is not posted');
    assert.deepEqual(await all(LEDGER_CHECKS.mismatched), [], 'a review records another charge than its ledger entries');
    assert.deepEqual(await all(LEDGER_CHECKS.strayRefunds), [], 'a refund returns no removed answer\'s charge');
  } finally {
    await connection.end();
  }
}

/** Runs one query against the test database (for assertions on raw tables). */
export async function queryDatabase(url: string, sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  const connection = await connectDatabase(url);
  try {
    const [rows] = await connection.query<RowDataPacket[]>(sql, params);
    return rows;
  } finally {
    await connection.end();
  }
}
