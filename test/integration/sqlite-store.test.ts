// What only the SQLite store does: the shared Store behaviours are in the contract suite
// (test/support/store-contract.ts, run on MySQL and SQLite by test/integration/store-contract.test.ts).
// Here: opening files (and failing to, in one line naming the file), WAL and the write lock, the quiet lazy load
// of node:sqlite, and two processes working on one file.
import { LATEST_VERSION } from '../../src/adapters/store/migrations.ts';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createSqliteStore, loadSqlite, realSqliteFiles, sqlitePathFromUrl } from '../../src/adapters/store/sqlite.ts';
import { ConfigError, ServiceError } from '../../src/errors.ts';
import { checkSqliteInvariants, createTestSqliteFile, querySqlite } from '../support/sqlite.ts';
import type { TestSqliteFile, WorkerReport } from '../support/sqlite.ts';
import { listed } from '../support/store-contract.ts';
import { claimFree } from '../support/claims.ts';

const root = path.resolve(import.meta.dirname, '../..');
const storeUrl = pathToFileURL(path.join(root, 'src/adapters/store/sqlite.ts')).href;
const supportUrl = pathToFileURL(path.join(root, 'test/support/sqlite.ts')).href;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an ES module snippet in a fresh Node process (the same binary as this test). */
function runNode(code: string, args: string[] = []): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function assertDatabaseUnavailable(error: unknown, file: string, pattern?: RegExp): true {
  assert.ok(error instanceof ServiceError, `not a ServiceError: ${String(error)}`);
  assert.equal(error.service, 'database');
  assert.equal(error.kind, 'unavailable');
  assert.ok(error.message.includes(file), `the message does not name ${file}: ${error.message}`);
  assert.ok(!error.message.includes('\n'), 'the message is not one line');
  if (pattern) assert.match(error.message, pattern);
  return true;
}

describe('SqliteStore', () => {
  let tmp: TestSqliteFile;

  before(async () => {
    tmp = await createTestSqliteFile();
  });

  after(async () => {
    await tmp?.cleanup();
  });

  test('sqlite: URLs name a file path', () => {
    assert.equal(sqlitePathFromUrl('sqlite:/var/lib/gisbot/gisbot.db'), '/var/lib/gisbot/gisbot.db');
    assert.equal(sqlitePathFromUrl('sqlite:///var/lib/gisbot/gisbot.db'), '/var/lib/gisbot/gisbot.db');
    assert.equal(sqlitePathFromUrl('sqlite:./data/gisbot.db'), './data/gisbot.db');
    assert.equal(sqlitePathFromUrl('sqlite:gisbot.db'), 'gisbot.db');
    assert.equal(sqlitePathFromUrl('sqlite:~/gisbot/gisbot.db'), path.join(homedir(), 'gisbot/gisbot.db'));
    assert.throws(() => sqlitePathFromUrl('sqlite:'), ConfigError);
    assert.throws(() => sqlitePathFromUrl('mysql://h/db'), ConfigError);
    assert.throws(() => createSqliteStore({ path: '', notifications: true }), ConfigError);
  });

  test('loading the module costs nothing; node:sqlite loads on first use without its experimental warning', async () => {
    const file = path.join(tmp.dir, 'quiet', 'quiet.db');
    const code = `
      const original = process.emitWarning;
      const { createSqliteStore } = await import(${JSON.stringify(storeUrl)});
      const loadedAtImport = process.moduleLoadList.some((m) => m.includes('sqlite'));
      const store = createSqliteStore({ path: process.argv[1], notifications: true });
      const loadedAtCreate = process.moduleLoadList.some((m) => m.includes('sqlite'));
      const pinging = store.ping();
      process.emitWarning('a warning while node:sqlite loads', 'ExperimentalWarning');
      await pinging;
      await store.migrate();
      await store.close();
      process.emitWarning('a warning after it loaded');
      const loadedAfter = process.moduleLoadList.some((m) => m.includes('sqlite'));
      console.log(JSON.stringify({ loadedAtImport, loadedAtCreate, loadedAfter, restored: process.emitWarning === original }));
    `;
    const result = await runNode(code, [file]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { loadedAtImport: false, loadedAtCreate: false, loadedAfter: true, restored: true });
    assert.doesNotMatch(result.stderr, /SQLite is an experimental feature/);
    assert.match(result.stderr, /a warning while node:sqlite loads/, 'other warnings are not hidden');
    assert.match(result.stderr, /a warning after it loaded/);
  });

  test('opening creates the folder, WAL mode and the versioned schema; migrate is idempotent', async () => {
    const file = path.join(tmp.dir, 'nested', 'deeper', 'gisbot.db');
    const store = createSqliteStore({ path: file, notifications: true });
    try {
      await store.migrate();
      await store.migrate();
      const [mode] = await querySqlite(file, 'PRAGMA journal_mode');
      assert.equal(mode?.journal_mode, 'wal');
      const versions = await querySqlite(file, 'SELECT version, name FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        versions.map((r) => [Number(r.version), r.name]),
        [
          [1, 'initial schema'],
          [2, 'follow-ups'],
          [3, 'model cost per answer'],
          [4, 'a branch newest answers first'],
          [5, 'a sent answer is read back only once it can no longer land'],
          [6, 'branch intake: last sweep and backlog'],
          [7, 'redelivery backoff per event'],
          [8, 'telegram cards and updates'],
          [9, 'insight: who sent an answer and when, review topics, complaint windows'],
          [10, 'a failed review is tried again'],
          [11, 'branch listings: each listed branch with its name and its rating on 2GIS'],
          [12, 'when a waiting review was last seen unanswered on 2GIS'],
          [13, 'telegram updates kept until acted on'],
          [14, "the owner's complaints about reviews"],
          [15, 'a posted answer is read back once more: removed by 2GIS'],
          [16, "the owner's voice: examples of answers a person produced"],
          [17, 'template rotation, and answers waiting out a posting delay'],
          [18, "the owner's panel: alerts once per episode, and Telegram's own messages queued"],
          [19, 'many businesses: every row belongs to one'],
          [20, "the deployment's settings: the currency its ledger is kept in"],
          [21, '2GIS access tokens: when each first and last signed in'],
          [22, 'reviews: the code of their reason, beside its English words'],
          [23, 'follow-ups: the code of their reason, beside its English words'],
        ],
      );
      const accounts = await querySqlite(file, 'SELECT COUNT(*) AS n FROM business_accounts');
      assert.equal(Number(accounts[0]?.n), 1);
      await checkSqliteInvariants(file, 0);
    } finally {
      await store.close();
    }

    // A relative path is taken from the working folder, and messages name the absolute file.
    const relative = path.relative(process.cwd(), path.join(tmp.dir, 'relative.db'));
    const other = createSqliteStore({ path: relative, notifications: false });
    try {
      await other.migrate();
      assert.deepEqual(await other.getBalance(), { balance: 0n, reserved: 0n });
    } finally {
      await other.close();
    }

    const memory = createSqliteStore({ path: ':memory:', notifications: true });
    try {
      await memory.migrate();
      assert.deepEqual(await memory.topUp(100n, null), { balance: 100n, reserved: 0n });
    } finally {
      await memory.close();
    }
  });

  test('a file that cannot be opened is a one-line unavailable ServiceError naming the file', async () => {
    // The folder cannot be created: a plain file is in the way.
    const blocker = path.join(tmp.dir, 'blocker');
    await writeFile(blocker, 'not a folder');
    const underFile = path.join(blocker, 'sub', 'gisbot.db');
    const a = createSqliteStore({ path: underFile, notifications: true });
    for (const attempt of [() => a.ping(), () => a.migrate(), () => a.getBalance()]) {
      await assert.rejects(attempt(), (error: unknown) => assertDatabaseUnavailable(error, underFile, /cannot open/));
    }
    await a.close();

    // The path is a folder.
    const folder = path.join(tmp.dir, 'a-folder.db');
    await mkdir(folder);
    const b = createSqliteStore({ path: folder, notifications: true });
    await assert.rejects(b.migrate(), (error: unknown) => assertDatabaseUnavailable(error, folder, /cannot open/));
    await b.close();

    // The file is not a database; the file is left as it was.
    const garbage = path.join(tmp.dir, 'garbage.db');
    const content = 'this is not an SQLite database, just text\n'.repeat(200);
    await writeFile(garbage, content);
    const c = createSqliteStore({ path: garbage, notifications: true });
    await assert.rejects(c.migrate(), (error: unknown) => assertDatabaseUnavailable(error, garbage, /not a usable SQLite database/));
    assert.equal(await readFile(garbage, 'utf8'), content);
    // Once the file is moved away, the same store opens afresh.
    await rm(garbage);
    await c.migrate();
    assert.deepEqual(await c.getBalance(), { balance: 0n, reserved: 0n });
    await c.close();
  });

  test('a read-only data folder (as on a read-only mount: tests run as root, so it is stood in) names the folder and what to do', async () => {
    const erofs = () => Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
    const readOnlyHint = (folder: string) => (error: unknown) => {
      assertDatabaseUnavailable(error, folder, /read-only \(EROFS\)$/);
      const hint = (error as ServiceError).hint ?? '';
      assert.ok(hint.includes(folder) && /make it writable for this user, or set database\.url/.test(hint), hint);
      assert.ok(!hint.includes('\n'), 'one line');
      return true;
    };

    // A fresh folder that cannot be made or written: the file cannot be created.
    const fresh = path.join(tmp.dir, 'ro-fresh', 'gisbot.db');
    const a = createSqliteStore({ path: fresh, notifications: false, files: { prepare: () => { throw erofs(); }, readOnly: () => 'EROFS' } });
    await assert.rejects(a.migrate(), readOnlyHint(path.dirname(fresh)));
    await a.close();

    // The file's folder takes no -wal, -shm or journal files: SQLite says only "unable to open database file".
    const existing = path.join(tmp.dir, 'ro-missing-folder', 'gisbot.db');
    const b = createSqliteStore({ path: existing, notifications: false, files: { prepare: () => {}, readOnly: () => 'EROFS' } });
    await assert.rejects(b.migrate(), readOnlyHint(path.dirname(existing)));
    await b.close();

    // A folder that does take writes keeps SQLite's own words.
    const c = createSqliteStore({ path: existing, notifications: false, files: { prepare: () => {}, readOnly: () => null } });
    await assert.rejects(c.migrate(), (error: unknown) => assertDatabaseUnavailable(error, existing, /cannot open .*: unable to open database file/));
    await c.close();

    // The real probe: a writable folder is writable, and leaves nothing behind.
    assert.equal(realSqliteFiles.readOnly(tmp.dir), null);
    assert.deepEqual((await readdir(tmp.dir)).filter((name) => name.startsWith('.gisbot-write-probe')), []);
  });

  test('a write lock held past the busy timeout is an unavailable ServiceError; readers are not blocked', async () => {
    const file = path.join(tmp.dir, 'busy.db');
    const store = createSqliteStore({ path: file, notifications: true, busyTimeoutMs: 150 });
    await store.migrate();
    await store.topUp(1000n, null);
    const review = listed();
    assert.equal(await store.recordReview(review, 'new', null, []), true);

    const { DatabaseSync } = await loadSqlite();
    const holder = new DatabaseSync(file);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      await assert.rejects(store.topUp(100n, null), (error: unknown) => assertDatabaseUnavailable(error, file, /locked/));
      assert.ok(Date.now() - started >= 100, 'it waited for the lock first');
      await assert.rejects(claimFree(store, 't', new Date(), new Date(Date.now() + 60_000)), (error: unknown) =>
        assertDatabaseUnavailable(error, file),
      );
      // WAL: reads go on while another connection writes.
      assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: 0n });
      assert.equal((await store.getReview(review.id))?.state, 'new');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // Nothing half-done was left behind, and the store works again once the lock is free.
    assert.deepEqual(await store.topUp(100n, null), { balance: 1100n, reserved: 0n });
    const token = 'after-the-lock';
    assert.equal((await claimFree(store, token, new Date(), new Date(Date.now() + 60_000)))?.id, review.id);
    assert.equal(await store.release(review.id, token, { state: 'skipped', reason: 'done' }, []), true);
    await store.close();
    await checkSqliteInvariants(file, 0);
  });

  test('a schema newer than this gisbot is refused; the ledger refuses edits', async () => {
    const file = path.join(tmp.dir, 'newer.db');
    const store = createSqliteStore({ path: file, notifications: true });
    try {
      await store.migrate();
      await store.topUp(500n, 'first');
      const { DatabaseSync } = await loadSqlite();
      const raw = new DatabaseSync(file);
      try {
        assert.throws(() => raw.exec('UPDATE ledger SET amount = 1'), /append-only/);
        assert.throws(() => raw.exec('DELETE FROM ledger'), /append-only/);
        assert.throws(() => raw.exec('UPDATE business_accounts SET balance = -1'), /CHECK constraint failed/);
        assert.throws(() => raw.exec('UPDATE business_accounts SET balance = 2.5'), /cannot store REAL value in INTEGER column/);
        raw.exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)`);
      } finally {
        raw.close();
      }
      await assert.rejects(store.migrate(), (error: unknown) => {
        assert.ok(error instanceof ServiceError);
        assert.equal(error.kind, 'rejected');
        assert.match(error.message, new RegExp(`version 99, newer than this gisbot knows \\(${LATEST_VERSION}\\)`));
        assert.ok(error.message.includes(file));
        return true;
      });
      assert.deepEqual(await store.getBalance(), { balance: 500n, reserved: 0n });
    } finally {
      await store.close();
    }
  });

  test('two processes on one file, migrating at once: each review claimed once, the balance never below zero', async () => {
    const file = path.join(tmp.dir, 'two-processes', 'gisbot.db');
    const REVIEWS = 150;
    const AFFORDABLE = 60;
    const PRICE = 500n;
    const workerCode = `
      const { runStoreWorker } = await import(${JSON.stringify(supportUrl)});
      await runStoreWorker(process.argv[1], process.argv[2], ${PRICE}n);
    `;
    const workers = ['w1', 'w2'].map((name) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', workerCode, file, name], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.startsWith('ready\n')) resolve();
        });
        child.on('close', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${stderr}`)));
      });
      const done = new Promise<WorkerReport>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
          if (code !== 0) return reject(new Error(`${name} exited with ${code}: ${stderr}`));
          try {
            resolve(JSON.parse(stdout.slice('ready\n'.length)) as WorkerReport);
          } catch (error) {
            reject(new Error(`${name} printed no report: ${stdout} ${stderr}`, { cause: error }));
          }
        });
      });
      done.catch(() => {});
      return { child, ready, done };
    });

    // Both migrated the fresh file at the same time; now the queue and the funds, then go.
    await Promise.all(workers.map((w) => w.ready));
    const store = createSqliteStore({ path: file, notifications: true });
    await store.migrate();
    const reviews = Array.from({ length: REVIEWS }, () => listed());
    for (const review of reviews) assert.equal(await store.recordReview(review, 'new', null, []), true);
    await store.topUp(PRICE * BigInt(AFFORDABLE), 'for the race');
    for (const w of workers) w.child.stdin.end('go\n');
    const reports = await Promise.all(workers.map((w) => w.done));

    const claimed = reports.flatMap((r) => r.claimed);
    assert.equal(claimed.length, REVIEWS, 'every review was claimed exactly once in all');
    assert.equal(new Set(claimed).size, REVIEWS, 'a review was claimed twice');
    assert.deepEqual([...claimed].sort(), reviews.map((r) => r.id).sort());
    for (const report of reports) assert.ok(report.claimed.length > 0, `${report.worker} got no work: no race happened`);
    const posted = reports.flatMap((r) => r.posted);
    assert.equal(posted.length, AFFORDABLE, 'exactly what the balance paid for was posted');
    assert.equal(reports.flatMap((r) => r.insufficient).length, REVIEWS - AFFORDABLE);
    assert.deepEqual(await store.getBalance(), { balance: 0n, reserved: 0n });
    const versions = await querySqlite(file, 'SELECT version FROM schema_migrations');
    assert.deepEqual(versions.map((r) => Number(r.version)), Array.from({ length: LATEST_VERSION }, (_, index) => index + 1), 'migrated once');
    await store.close();
    await checkSqliteInvariants(file, AFFORDABLE);
  });
});
