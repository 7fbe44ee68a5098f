// SQLite test databases in temporary folders, the money invariants checked against one (the twin of
// checkMoneyInvariants in ./mysql.ts), and the worker that the two-process test runs in a child process.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQLInputValue, SQLOutputValue } from 'node:sqlite';
import { createSqliteStore, loadSqlite } from '../../src/adapters/store/sqlite.ts';
import { claimFree } from './claims.ts';
import { expectedTotal, LEDGER_CHECKS, type ExpectedCharges } from './charges.ts';

export interface TestSqliteFile {
  /** The database file (not created yet). */
  path: string;
  /** Its temporary folder. */
  dir: string;
  /** Removes the folder with the file and its -wal/-shm companions. */
  cleanup(): Promise<void>;
}

export async function createTestSqliteFile(name = 'gisbot.db'): Promise<TestSqliteFile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gisbot-sqlite-'));
  return {
    path: path.join(dir, name),
    dir,
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Row = Record<string, SQLOutputValue>;

/** Runs one statement against the file on a connection of its own (for assertions on raw tables). */
export async function querySqlite(file: string, sql: string, params: SQLInputValue[] = []): Promise<Row[]> {
  const { DatabaseSync } = await loadSqlite();
  const db = new DatabaseSync(file, { readBigInts: true, timeout: 5000 });
  try {
    return db.prepare(sql).all(...params) as Row[];
  } finally {
    db.close();
  }
}

/**
 * Asserts the money and work invariants against the file: nothing reserved or in flight, the balance is the
 * sum of the ledger, one charge of `pricePerReply` per answer of ours and no other, amounts stored as integers.
 */
export async function checkSqliteInvariants(
  file: string,
  answersByUs: number,
  pricePerReply: ExpectedCharges = 500n,
  business = 'default',
): Promise<void> {
  const { DatabaseSync } = await loadSqlite();
  const db = new DatabaseSync(file, { readBigInts: true, timeout: 5000 });
  try {
    // Every `?` of these statements is the business: the invariants hold per business.
    const params = (sql: string) => [...sql.matchAll(/\?/g)].map(() => business);
    const one = (sql: string): Row => {
      const row = db.prepare(sql).get(...params(sql)) as Row | undefined;
      assert.ok(row !== undefined, `no row from: ${sql}`);
      return row;
    };
    const all = (sql: string): Row[] => db.prepare(sql).all(...params(sql)) as Row[];

    const account = one(
      "SELECT COALESCE(MAX(balance), 0) AS balance, COALESCE(MAX(reserved), 0) AS reserved, typeof(COALESCE(MAX(balance), 0)) AS tb, typeof(COALESCE(MAX(reserved), 0)) AS tr FROM business_accounts WHERE business_id = ?",
    );
    assert.deepEqual([account.tb, account.tr], ['integer', 'integer'], 'money is not stored as integers');
    const balance = account.balance as bigint;
    const reserved = account.reserved as bigint;
    assert.ok(balance >= 0n, `balance is negative: ${balance}`);
    assert.equal(reserved, 0n, 'account.reserved is not 0: a reserve is left hanging');
    assert.ok(Number(one('SELECT COUNT(*) AS n FROM business_accounts WHERE business_id = ?').n) <= 1, 'the account is not one row');

    const reviewsReserved = one('SELECT COALESCE(SUM(reserved), 0) AS total FROM reviews WHERE business_id = ?');
    assert.equal(reviewsReserved.total, 0n, 'a review still holds a reserve');

    // Answers 2GIS removed were delivered and charged: they count beside those still there.
    const charged = answersByUs + Number(one(LEDGER_CHECKS.removedAnswers).n);
    const charges = one("SELECT COALESCE(SUM(amount), 0) AS total, COUNT(*) AS n FROM ledger WHERE business_id = ? AND kind = 'charge'");
    assert.equal(charges.total, -expectedTotal(charged, pricePerReply), 'the sum of charges is not price × answers');
    assert.equal(Number(charges.n), charged, 'the number of charges is not the number of answers');

    const posted = one("SELECT COUNT(*) AS n FROM reviews WHERE business_id = ? AND state = 'posted'");
    assert.equal(Number(posted.n), answersByUs, 'the number of posted reviews is not the number of answers');

    const ledgerSum = one('SELECT COALESCE(SUM(amount), 0) AS total FROM ledger WHERE business_id = ?');
    assert.equal(balance, ledgerSum.total, 'the balance is not the sum of the ledger');

    const inFlight = one("SELECT COUNT(*) AS n FROM reviews WHERE business_id = ? AND state IN ('claimed', 'drafted', 'posting')");
    assert.equal(Number(inFlight.n), 0, 'reviews are left claimed, drafted or posting');

    assert.deepEqual(all(LEDGER_CHECKS.overcharged), [], 'a review was charged more than once per answer');
    assert.deepEqual(all(LEDGER_CHECKS.unposted), [], 'a charge exists for a review that is not posted');
    assert.deepEqual(all(LEDGER_CHECKS.mismatched), [], 'a review records another charge than its ledger entries');
    assert.deepEqual(all(LEDGER_CHECKS.strayRefunds), [], 'a refund returns no removed answer\'s charge');

    const negative = all('SELECT id FROM ledger WHERE business_id = ? AND balance_after < 0');
    assert.deepEqual(negative, [], 'the balance went below zero at some point');

    const floats = one(
      `SELECT (SELECT COUNT(*) FROM ledger WHERE business_id = ? AND (typeof(amount) <> 'integer' OR typeof(balance_after) <> 'integer'))
            + (SELECT COUNT(*) FROM reviews WHERE business_id = ? AND (typeof(reserved) <> 'integer' OR typeof(charged) <> 'integer')) AS n`,
    );
    assert.equal(Number(floats.n), 0, 'a money amount is not stored as an integer');
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- the worker of the two-process test

export interface WorkerReport {
  worker: string;
  claimed: string[];
  posted: string[];
  insufficient: string[];
}

/**
 * A worker process on the same file: waits for "go" on stdin, then claims, reserves, posts and settles until no
 * review is left, releasing the ones it cannot pay for; prints a WorkerReport as JSON on stdout.
 */
export async function runStoreWorker(file: string, worker: string, price: bigint): Promise<void> {
  const store = createSqliteStore({ path: file, notifications: true });
  await store.migrate();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    process.stdin.once('data', () => resolve());
  });
  process.stdin.pause();
  const report: WorkerReport = { worker, claimed: [], posted: [], insufficient: [] };
  for (;;) {
    const token = `${worker}:${randomUUID()}`;
    const now = new Date();
    const review = await claimFree(store, token, now, new Date(now.getTime() + 60_000));
    if (review === null) break;
    report.claimed.push(review.id);
    // Work happens between the steps (the model, 2GIS): the write lock is free then, and the other process runs.
    await sleep(1);
    const reserved = await store.reserve(review.id, token, price);
    if (reserved !== 'reserved') {
      if (!(await store.release(review.id, token, { state: 'skipped', reason: `reserve: ${reserved}` }, []))) {
        throw new Error(`${worker} lost ${review.id}`);
      }
      report.insufficient.push(review.id);
      continue;
    }
    await sleep(1);
    if (!(await store.saveDraft(review.id, token, { text: 'Спасибо!', model: 'm', promptVersion: 1, promptTokens: null, completionTokens: null, finishReason: 'stop' }))) {
      throw new Error(`${worker} lost ${review.id} before the draft`);
    }
    if (!(await store.beginPosting(review.id, token, new Date(), new Date()))) throw new Error(`${worker} lost ${review.id} at the fence`);
    const settled = await store.settlePosted(review.id, { answerId: `${worker}-${review.id}`, text: 'Спасибо!' }, () => []);
    if (settled === null) throw new Error(`${worker}: ${review.id} was settled by someone else`);
    if (settled.balance < 0n) throw new Error(`${worker}: the balance went negative: ${settled.balance}`);
    report.posted.push(review.id);
  }
  await store.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
