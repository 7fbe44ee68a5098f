// Databases made by earlier gisbots upgrade in place with nothing lost. For each schema version that was ever the
// newest (1 to 5), the store code of the commit that shipped it (taken from git into a temporary folder) makes a
// database on MariaDB and one on SQLite and fills it through its own Store: top-ups, prompt versions, reviews in
// every state (one posted and charged, one left in `posting` with its reserve, as a crash after the POST leaves it),
// hostile text, events, an outbox half delivered, follow-ups and their dialogue. Today's store then opens it:
// every row of every table is still there, the schema is the one a fresh database gets, today's store reads it
// all back, and answering goes on from there with the balance right to the kopeck.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createMysqlStore } from '../../src/adapters/store/mysql.ts';
import { LATEST_VERSION } from '../../src/adapters/store/migrations.ts';
import { createSqliteStore } from '../../src/adapters/store/sqlite.ts';
import type { DomainEvent, FollowUp, ListedReview, Store } from '../../src/core/ports.ts';
import { checkMoneyInvariants, createTestDatabase, queryDatabase } from '../support/mysql.ts';
import { checkSqliteInvariants, createTestSqliteFile, querySqlite } from '../support/sqlite.ts';
import { event, listed, PRICE } from '../support/store-contract.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The commit that made each schema version the newest, and the store files it had. */
const RELEASES = [
  { version: 1, commit: '27537e5' },
  { version: 2, commit: 'e955a57' },
  { version: 3, commit: '845b610' },
  { version: 4, commit: '0148183' },
  { version: 5, commit: '24fc948' },
  { version: 6, commit: '0e81eb3' },
  { version: 7, commit: '0a4bb5f' },
  { version: 8, commit: '5713365' },
  { version: 9, commit: '3c26f9a' },
  { version: 10, commit: 'c6765f3' },
  { version: 11, commit: '640a451' },
] as const;

const TABLES: Record<string, string> = {
  reviews: 'id',
  account: 'id',
  business_accounts: 'business_id',
  ledger: 'id',
  events: 'seq',
  outbox: 'seq',
  prompt_versions: 'version',
  dialogue: 'id',
  follow_ups: 'comment_id',
  branch_intake: 'branch_id',
  telegram_cards: 'id',
  review_topics: 'review_id, topic',
  complaints: 'branch_id, topic',
  branch_listings: 'branch_id',
  review_complaints: 'review_id',
  voice_examples: 'review_id',
  draft_decisions: 'id',
  template_uses: 'template_set, position',
  alert_episodes: 'kind, subject',
  telegram_messages: 'id',
  schema_migrations: 'version',
};

/** The tables whose every row belongs to one business since issue 19 (the account's row moved to business_accounts). */
const SCOPED = [
  'reviews', 'ledger', 'events', 'prompt_versions', 'dialogue', 'follow_ups', 'branch_intake', 'telegram_cards', 'review_topics', 'complaints', 'branch_listings',
  'review_complaints', 'voice_examples', 'draft_decisions', 'template_uses', 'alert_episodes', 'telegram_messages',
];

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/**
 * Whether this checkout holds `commit`: a shallow clone does not, and there this test is skipped with the reason
 * rather than failing every landing (the development machines and a full clone run it).
 */
function hasCommit(commit: string): boolean {
  try {
    execFileSync('git', ['-C', ROOT, 'cat-file', '-e', `${commit}^{commit}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The source of `commit` in a temporary folder, with this checkout's node_modules. */
async function checkout(commit: string): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), `gisbot-${commit}-`));
  folders.push(folder);
  const archive = path.join(folder, 'source.tar');
  try {
    execFileSync('git', ['-C', ROOT, 'archive', '-o', archive, commit, 'package.json', 'src'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test needs the project's git history (commit ${commit}): run it in a full clone`, { cause: error });
  }
  execFileSync('tar', ['-xf', archive, '-C', folder]);
  await symlink(path.join(ROOT, 'node_modules'), path.join(folder, 'node_modules'));
  return folder;
}

/** The store module of an earlier checkout: one folder per database until version 7, one store folder since. */
async function storeModule(folder: string, database: 'mysql' | 'sqlite'): Promise<string> {
  const split = path.join(folder, `src/adapters/${database}/store.ts`);
  return (await access(split).then(() => true, () => false)) ? split : path.join(folder, `src/adapters/store/${database}.ts`);
}

interface Filled {
  reviews: ListedReview[];
  events: DomainEvent[];
  delivered: string[];
  prompts: string[];
  followUps: FollowUp[];
  posted: ListedReview;
  inPosting: ListedReview;
  waiting: ListedReview;
}

const HOSTILE = `Кофе 👍🏽 "отличный" \\ '; DROP TABLE reviews; -- 𝕏 \u0000 конец`;
const draft = { text: 'Спасибо за отзыв!', model: 'gpt-4o-mini', promptVersion: 1, promptTokens: 120, completionTokens: 12, finishReason: 'stop', cost: '0.0001234567' };

/** The Store of those commits: until version 6, settlePosted took the price to charge (since, what the claim reserved). */
type EarlierStore = Omit<Store, 'settlePosted'> & {
  settlePosted(id: string, answer: { answerId: string; text: string }, ...rest: unknown[]): Promise<unknown>;
};

/** Fills a database through a Store of any version since 1 (only what every version had, follow-ups from 2). */
async function fill(store: EarlierStore, version: number): Promise<Filled> {
  const events: DomainEvent[] = [];
  const at = (type: DomainEvent['type'], review: ListedReview | null, data: Record<string, unknown> = {}) => {
    const made = event(type, { reviewId: review?.id ?? null, branchId: review?.branchId ?? null, data });
    events.push(made);
    return made;
  };
  await store.topUp(10_000n, 'first top-up');
  await store.topUp(250n, null);
  const prompts = ['Ты отвечаешь на отзывы вежливо.', 'Ты отвечаешь на отзывы вежливо и коротко.'];
  for (const text of prompts) await store.savePromptVersion(text);

  const reviews: ListedReview[] = [];
  const record = async (review: ListedReview, state: 'new' | 'skipped' | 'needs_approval', reason: string | null) => {
    reviews.push(review);
    assert.equal(await store.recordReview(review, state, reason, [at('review.new', review, { rating: review.rating })]), true);
    return review;
  };
  const claim = async (review: ListedReview) => {
    const token = `old:${randomUUID()}`;
    const now = new Date();
    const claimed = (await store.claimNext(token, now, new Date(now.getTime() + 600_000), PRICE)) as { id: string } | null;
    assert.equal(claimed?.id, review.id);
    assert.equal(await store.reserve(review.id, token, PRICE), 'reserved');
    return token;
  };
  const toPosting = async (review: ListedReview) => {
    const token = await claim(review);
    assert.equal(await store.saveDraft(review.id, token, draft), true);
    assert.equal(await store.beginPosting(review.id, token, new Date(), new Date()), true);
  };

  const posted = await record(listed({ text: HOSTILE, authorName: "O'Brien \\ 🎉" }), 'new', null);
  await toPosting(posted);
  const postedEvents = (balance: bigint) => [at('reply.posted', posted, { charged: '5.00', balance: String(balance) })];
  const answer = { answerId: 'answer-1', text: 'Спасибо! 🙏' };
  const settled = await (version < 6 ? store.settlePosted(posted.id, answer, PRICE, postedEvents) : store.settlePosted(posted.id, answer, postedEvents));
  assert.equal((settled as { balance: bigint }).balance, 9_750n);
  const inPosting = await record(listed(), 'new', null);
  await toPosting(inPosting);
  const failed = await record(listed({ rating: 3 }), 'new', null);
  const failedToken = await claim(failed);
  assert.equal(await store.release(failed.id, failedToken, { state: 'failed', reason: 'the model failed' }, [at('reply.failed', failed)]), true);
  const waiting = await record(listed({ authorId: null }), 'new', null);
  await record(listed(), 'skipped', 'already answered by the owner');
  await record(listed({ rating: 1 }), 'needs_approval', 'rated 1');
  await store.appendEvents([at('auth.failed', null), at('balance.low', null, { balance: 9_750n, threshold: '100.00' })]);
  const delivered = (await store.pendingOutbox(2)).map((e) => e.id);
  await store.markDelivered(delivered);

  const followUps: FollowUp[] = [];
  if (version >= 2) {
    const comment = (id: string, text: string): FollowUp => ({
      commentId: id, reviewId: posted.id, branchId: posted.branchId, authorId: posted.authorId, text, createdAt: new Date().toISOString(),
    });
    followUps.push(comment(`c-${randomUUID()}`, 'А когда откроетесь? 🤔'));
    assert.equal(await store.recordFollowUp(followUps[0]!, [at('followup.new', posted)]), true);
    const token = `old:${randomUUID()}`;
    assert.equal((await store.claimFollowUp(token, new Date(), new Date(Date.now() + 600_000)))?.commentId, followUps[0]!.commentId);
    if (typeof store.beginFollowUpPosting === 'function') await store.beginFollowUpPosting(followUps[0]!.commentId, token, new Date(), new Date());
    const outcome = { state: 'posted' as const, answerId: 'comment-1', text: 'В 9 утра!', draft: null };
    assert.equal(await store.finishFollowUp(followUps[0]!.commentId, token, outcome, [at('followup.posted', posted)]), true);
    followUps.push(comment(`c-${randomUUID()}`, 'Ещё вопрос'));
    assert.equal(await store.recordFollowUp(followUps[1]!, []), true);
  }
  if (version >= 8) assert.notEqual(await (store as Store).createTelegramCard(reviews[5]!.id, { revision: 1 } as never), null);
  if (version >= 9) {
    assert.equal(await (store as Store).saveTopics(posted.id, [{ key: 'кофе', label: 'Кофе' }]), true);
    const window = { from: new Date('2024-03-01T00:00:00Z'), to: new Date('2024-03-02T00:00:00Z') };
    assert.equal(await (store as Store).recordComplaint({ ...window, branchId: posted.branchId, topic: 'кофе' }, []), true);
  }
  if (version >= 11) await (store as Store).saveBranchListing({ branchId: posted.branchId, name: 'Кофейня «Зерно»', rating: 4.7, reviewsCount: 120, readAt: new Date('2024-03-01T09:00:00Z') });
  if (version >= 6) await store.saveBranchIntake(posted.branchId, { sweptAt: new Date('2024-03-01T09:00:00Z'), backlog: { cursor: '2024-02-01T10:00:00.000+03:00', until: null } });
  return { reviews, events, delivered, prompts, followUps, posted, inPosting, waiting };
}

type Rows = Array<Record<string, unknown>>;

interface Backend {
  name: 'mysql' | 'sqlite';
  oldStore(folder: string): Promise<EarlierStore>;
  newStore(): Store;
  /** Every row of `table` in primary-key order, or null when the table does not exist. */
  rows(table: string): Promise<Rows | null>;
  /** The schema, normalised: what a fresh database of today must equal. */
  schema(): Promise<unknown>;
  fresh(): Promise<{ schema(): Promise<unknown>; remove(): Promise<void> }>;
  checkInvariants(answers: number): Promise<void>;
  remove(): Promise<void>;
}

async function mysqlBackend(): Promise<Backend> {
  const open = async () => {
    const db = await createTestDatabase();
    const schema = async () => {
      const tables = await queryDatabase(db.url, 'SHOW TABLES');
      const shown: Record<string, string> = {};
      for (const row of tables) {
        const name = String(Object.values(row)[0]);
        const [created] = await queryDatabase(db.url, `SHOW CREATE TABLE ${name}`);
        shown[name] = String(created?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '');
      }
      return shown;
    };
    return { db, schema };
  };
  const { db, schema } = await open();
  return {
    name: 'mysql',
    async oldStore(folder) {
      const { createMysqlStore: create } = await import(pathToFileURL(await storeModule(folder, 'mysql')).href);
      return create({ url: db.url, notifications: true });
    },
    newStore: () => createMysqlStore({ url: db.url, notifications: true }),
    async rows(table) {
      const exists = await queryDatabase(db.url, 'SHOW TABLES LIKE ?', [table]);
      return exists.length === 0 ? null : queryDatabase(db.url, `SELECT * FROM ${table} ORDER BY ${TABLES[table]}`);
    },
    schema,
    async fresh() {
      const other = await open();
      const store = createMysqlStore({ url: other.db.url, notifications: true });
      await store.migrate();
      await store.close();
      return { schema: other.schema, remove: () => other.db.drop() };
    },
    checkInvariants: (answers) => checkMoneyInvariants(db.url, answers),
    remove: () => db.drop(),
  };
}

async function sqliteBackend(): Promise<Backend> {
  const file = await createTestSqliteFile();
  const schemaOf = async (where: string) =>
    (await querySqlite(where, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")).map((row) => ({
      ...row,
      sql: String(row.sql).replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')'),
    }));
  return {
    name: 'sqlite',
    async oldStore(folder) {
      const { createSqliteStore: create } = await import(pathToFileURL(await storeModule(folder, 'sqlite')).href);
      return create({ path: file.path, notifications: true });
    },
    newStore: () => createSqliteStore({ path: file.path, notifications: true }),
    async rows(table) {
      const exists = await querySqlite(file.path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table]);
      return exists.length === 0 ? null : querySqlite(file.path, `SELECT * FROM ${table} ORDER BY ${TABLES[table]}`);
    },
    schema: () => schemaOf(file.path),
    async fresh() {
      const other = await createTestSqliteFile();
      const store = createSqliteStore({ path: other.path, notifications: true });
      await store.migrate();
      await store.close();
      return { schema: () => schemaOf(other.path), remove: () => other.cleanup() };
    },
    checkInvariants: (answers) => checkSqliteInvariants(file.path, answers),
    remove: () => file.cleanup(),
  };
}

async function dump(backend: Backend): Promise<Record<string, Rows | null>> {
  const tables: Record<string, Rows | null> = {};
  for (const table of Object.keys(TABLES)) tables[table] = await backend.rows(table);
  return tables;
}

/** Every row of `before` is in `after`, unchanged in every column it had (a later version may add columns). */
function assertKept(before: Record<string, Rows | null>, after: Record<string, Rows | null>): void {
  // The one account row is business `default`'s balance now; every other row is business `default`'s.
  const [account] = before.account ?? [];
  assert.deepEqual(
    after.business_accounts?.map((row) => ({ ...row })),
    [{ business_id: 'default', balance: account?.balance, reserved: account?.reserved }],
    'the balance did not become business default\'s',
  );
  for (const table of SCOPED) {
    for (const row of after[table] ?? []) assert.equal(row.business_id, 'default', `${table}: a row is not business default's`);
  }
  for (const [table, rows] of Object.entries(before)) {
    if (rows === null || table === 'account' || table === 'business_accounts') continue;
    const now = after[table];
    assert.ok(now !== null && now !== undefined, `table ${table} is gone`);
    const kept = table === 'schema_migrations' ? now.slice(0, rows.length) : now;
    assert.equal(kept.length, rows.length, `${table}: ${rows.length} rows before, ${kept.length} after`);
    rows.forEach((row, i) => {
      // The panel's rows were written with business_id '' before the businesses (v18): they became default's.
      const columns = Object.keys(row).filter((column) => !(column === 'business_id' && row[column] === ''));
      const same = Object.fromEntries(columns.map((column) => [column, kept[i]![column]]));
      assert.deepEqual(same, Object.fromEntries(columns.map((column) => [column, row[column]])), `${table}: row ${i + 1} changed`);
    });
  }
}

/** Today's store reads back what the old one wrote, and goes on answering from there. */
async function checkThroughTodaysStore(store: Store, filled: Filled, version: number): Promise<void> {
  assert.deepEqual(await store.getBalance(), { balance: 9_750n, reserved: PRICE });
  const ledger = await store.ledger({ limit: 10 });
  assert.deepEqual(
    ledger.map((entry) => [entry.kind, entry.amount, entry.balanceAfter, entry.reviewId, entry.note]),
    [
      ['charge', -PRICE, 9_750n, filled.posted.id, null],
      ['topup', 250n, 10_250n, null, null],
      ['topup', 10_000n, 10_000n, null, 'first top-up'],
    ],
  );
  const events = await store.listEvents({ limit: 1000 });
  assert.deepEqual(new Set(events.map((e) => e.businessId)), new Set(['default']), "every event is business default's");
  assert.deepEqual(
    events.map(({ seq: _seq, businessId: _businessId, ...rest }) => rest),
    filled.events.map((e) => ({ ...e, data: JSON.parse(JSON.stringify(e.data, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))) })),
  );
  assert.deepEqual(
    (await store.pendingOutbox(1000)).map((e) => e.id),
    filled.events.map((e) => e.id).filter((id) => !filled.delivered.includes(id)),
  );
  assert.deepEqual((await store.listPromptVersions(10)).map((p) => p.text), [...filled.prompts].reverse());
  const states = await Promise.all(filled.reviews.map(async (review) => [review.text, (await store.getReview(review.id))?.state]));
  assert.deepEqual(states, [
    [HOSTILE, 'posted'],
    [filled.reviews[1]!.text, 'posting'],
    [filled.reviews[2]!.text, 'failed'],
    [filled.reviews[3]!.text, 'new'],
    [filled.reviews[4]!.text, 'skipped'],
    [filled.reviews[5]!.text, 'needs_approval'],
  ]);
  const posted = await store.getReview(filled.posted.id);
  assert.equal(posted?.answerId, 'answer-1');
  assert.equal(posted?.authorName, "O'Brien \\ 🎉");
  const said = (await store.dialogue(filled.posted.authorId, filled.posted.id)).map((line) => [line.role, line.text]);
  const followUpLines = version >= 2 ? [['reviewer', filled.followUps[0]!.text], ['owner', 'В 9 утра!'], ['reviewer', filled.followUps[1]!.text]] : [];
  assert.deepEqual(said, [['reviewer', HOSTILE], ['owner', 'Спасибо! 🙏'], ...followUpLines]);
  if (version >= 2) {
    assert.equal((await store.getFollowUp(filled.followUps[0]!.commentId))?.state, 'posted');
    assert.equal((await store.getFollowUp(filled.followUps[1]!.commentId))?.text, 'Ещё вопрос');
  }
  if (version >= 6) {
    const kept = { sweptAt: new Date('2024-03-01T09:00:00Z'), backlog: { cursor: '2024-02-01T10:00:00.000+03:00', until: null } };
    assert.deepEqual(await store.branchIntakes([filled.posted.branchId]), new Map([[filled.posted.branchId, kept]]));
  }
  assert.deepEqual(await store.recentAnswers(filled.posted.branchId, 10), [draft.text, 'Спасибо! 🙏'], 'the draft in posting, then the answer');

  // The answer left in `posting` is found out there and charged once; the review that waited is answered.
  assert.deepEqual(await store.settlePosted(filled.inPosting.id, { answerId: 'answer-2', text: 'Спасибо!' }, () => []), { balance: 9_250n, charged: PRICE });
  const token = randomUUID();
  const claimed = await store.claimNext(token, new Date(), new Date(Date.now() + 60_000), PRICE);
  assert.equal(typeof claimed === 'object' ? claimed?.id : claimed, filled.waiting.id);
  assert.equal(await store.saveDraft(filled.waiting.id, token, draft), true);
  assert.equal(await store.beginPosting(filled.waiting.id, token, new Date(), new Date()), true);
  assert.deepEqual(await store.settlePosted(filled.waiting.id, { answerId: 'answer-3', text: 'Ждём снова!' }, () => []), { balance: 8_750n, charged: PRICE });
  assert.deepEqual(await store.getBalance(), { balance: 8_750n, reserved: 0n });
}

for (const make of [sqliteBackend, mysqlBackend]) {
  describe(`a database made by an earlier gisbot upgrades in place (${make === sqliteBackend ? 'SQLite' : 'MySQL'})`, () => {
    for (const { version, commit } of RELEASES) {
      const skip = hasCommit(commit) ? false : `commit ${commit} is not in this clone (a shallow one): run it in a full clone`;
      test(`schema version ${version} (commit ${commit}) to ${LATEST_VERSION}: every row kept, the balance right`, { skip }, async () => {
        const folder = await checkout(commit);
        const backend = await make();
        try {
          const old = await backend.oldStore(folder);
          let filled: Filled;
          try {
            await old.migrate();
            filled = await fill(old, version);
          } finally {
            await old.close();
          }
          const versions = (await backend.rows('schema_migrations'))!.map((row) => Number(row.version));
          assert.deepEqual(versions, RELEASES.filter((r) => r.version <= version).map((r) => r.version), 'the old code made its own version');
          const before = await dump(backend);

          const store = backend.newStore();
          try {
            await store.migrate();
            assertKept(before, await dump(backend));
            const fresh = await backend.fresh();
            try {
              assert.deepEqual(await backend.schema(), await fresh.schema(), 'the upgraded schema is not the one a new database gets');
            } finally {
              await fresh.remove();
            }
            await checkThroughTodaysStore(store, filled, version);
          } finally {
            await store.close();
          }
          await backend.checkInvariants(3);
        } finally {
          await backend.remove();
        }
      });
    }
  });
}

/** The last schema before the businesses' (v18, the owner's panel): what versions 15 to 18 wrote becomes business default's. */
const BEFORE_BUSINESSES = { version: 18, commit: 'd0c3af9' } as const;

for (const make of [sqliteBackend, mysqlBackend]) {
  const { version, commit } = BEFORE_BUSINESSES;
  const skip = hasCommit(commit) ? false : `commit ${commit} is not in this clone (a shallow one): run it in a full clone`;
  test(`schema version ${version} (commit ${commit}) to ${LATEST_VERSION} on ${make === sqliteBackend ? 'SQLite' : 'MySQL'}: the panel's episodes, messages and cursor, template rotation, refunds and the owner's voice become business default's`, { skip }, async () => {
    const folder = await checkout(commit);
    const backend = await make();
    try {
      const old = (await backend.oldStore(folder)) as unknown as Store;
      const review = listed();
      const episode = { kind: 'reminder', subject: review.id };
      let cursor: number;
      try {
        await old.migrate();
        await old.topUp(1_000n, null);
        assert.equal(await old.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), true);
        assert.equal(await old.openAlertEpisode(episode, new Date(), { messages: [{ chatId: '42', notice: { kind: 'changed' } }] }), true);
        cursor = await old.alertCursor();
        assert.equal(await old.moveAlertCursor(cursor, cursor + 7), true);
        assert.equal(await old.takeTemplate('default/global:5', 3), 0);
        const example = { reviewId: review.id, branchId: review.branchId, rating: 2, reviewText: 'холодно', answerText: 'простите', weight: 'written' as const, at: new Date() };
        assert.equal(await old.keepVoiceExamples([example]), 1);
      } finally {
        await old.close();
      }
      const before = await dump(backend);
      const store = backend.newStore();
      try {
        await store.migrate();
        assertKept(before, await dump(backend));
        const fresh = await backend.fresh();
        try {
          assert.deepEqual(await backend.schema(), await fresh.schema(), 'the upgraded schema is not the one a new database gets');
        } finally {
          await fresh.remove();
        }
        assert.equal(await store.alertEpisodeOpen(episode), true, "the episode is default's");
        assert.equal(await store.openAlertEpisode(episode, new Date(), {}), false, 'open once, still');
        assert.equal(await store.alertCursor(), cursor + 7, "the cursor carried over as default's");
        assert.deepEqual((await store.queuedTelegramMessages(new Date(), 10)).map((message) => message.chatId), ['42']);
        assert.equal(await store.takeTemplate('default/global:5', 3), 1, 'the rotation goes on where it was');
        assert.deepEqual((await store.voiceExamples({ branchId: review.branchId, limit: 5 })).map((row) => row.answerText), ['простите']);
        assert.equal(await store.forBusiness('biz-b').alertEpisodeOpen(episode), false);
      } finally {
        await store.close();
      }
      await backend.checkInvariants(0);
    } finally {
      await backend.remove();
    }
  });
}

// Versions 22 and 23 (issue 23): the reasons an earlier gisbot wrote, to reviews and to follow-ups, get their codes
// where they are its own words; any other stays without one (read by its words). A v18 database is the nearest
// earlier one this clone can make.
for (const make of [sqliteBackend, mysqlBackend]) {
  const { version, commit } = BEFORE_BUSINESSES;
  const skip = hasCommit(commit) ? false : `commit ${commit} is not in this clone (a shallow one): run it in a full clone`;
  test(`schema version ${version} (commit ${commit}) to ${LATEST_VERSION} on ${make === sqliteBackend ? 'SQLite' : 'MySQL'}: the reviews' and the follow-ups' reasons get their codes`, { skip }, async () => {
    const folder = await checkout(commit);
    const backend = await make();
    try {
      const old = (await backend.oldStore(folder)) as unknown as Store;
      const kept: Array<[reason: string, state: 'skipped' | 'needs_approval', code: string | null]> = [
        ['hidden on 2GIS', 'skipped', 'hidden'],
        ['from another catalog (flamp)', 'skipped', 'other_catalog'],
        ['already answered', 'skipped', 'answered_elsewhere'],
        ['answered on 2GIS by someone else', 'skipped', 'answered_elsewhere'],
        ['answering is off for branch 70000001057394703 (policy.branches)', 'skipped', 'branch_off'],
        ['rated 1, below policy.approvalBelowRating (3)', 'needs_approval', 'below_threshold'],
        ['a rating without text, and policy.answerRatingOnly is off', 'needs_approval', 'rating_only'],
        ['looks like: not our customer (an ad: "скидки 50% на www.shop")', 'needs_approval', 'looks_like_not_a_customer'],
        ['the reply gate refused 2 drafts: draft 1: too long', 'needs_approval', 'gate_refused'],
        ['answer removed by 2GIS', 'needs_approval', 'answer_removed'],
        ['something an operator wrote by hand', 'needs_approval', null],
        ['already answered by the owner', 'skipped', null],
      ];
      const reviews = kept.map(() => listed());
      const complained = listed();
      const token = `old:${randomUUID()}`;
      const followUpsKept: Array<[reason: string, state: 'new' | 'skipped' | 'needs_approval' | 'failed', code: string | null]> = [
        ['the review is not known to gisbot', 'skipped', 'review_unknown'],
        ['a follow-up may have been posted by a worker that stopped: check 2GIS before answering', 'needs_approval', 'posting_interrupted'],
        ['the model failed: 400 Bad Request', 'failed', 'model_failed'],
        ['the reply gate refused 1 draft: draft 1: too long', 'needs_approval', 'gate_refused'],
        ['the moderation endpoint gave no verdict and policy.moderation is required: 404', 'needs_approval', 'moderation_unavailable'],
        ['the comment was deleted on 2GIS', 'skipped', 'comment_deleted'],
        ['answered on 2GIS before we posted', 'skipped', 'answered_elsewhere'],
        ['posting the follow-up went unanswered (timeout): check 2GIS before answering', 'needs_approval', 'post_unconfirmed'],
        ['2GIS refused the follow-up: 2GIS rejected POST with 400', 'failed', 'post_refused'],
        ['cannot reach the model at 127.0.0.1:9: ECONNREFUSED', 'new', 'service_failed'],
        ['stopped', 'new', 'stopped'],
        ['something an operator wrote by hand', 'skipped', null],
      ];
      const followUpIds = followUpsKept.map(() => `c-${randomUUID()}`);
      try {
        await old.migrate();
        for (const [index, [reason, state]] of kept.entries()) assert.equal(await old.recordReview(reviews[index]!, state, reason, []), true);
        // Each follow-up recorded, claimed and finished with the words an earlier gisbot wrote: each written as the
        // oldest, so that it is the one claimed (those put back in the queue, `new`, are claimed after it).
        for (const [index, [reason, state]] of followUpsKept.entries()) {
          const comment = { commentId: followUpIds[index]!, reviewId: reviews[0]!.id, branchId: reviews[0]!.branchId, authorId: 'u-1', text: 'Ещё вопрос', createdAt: new Date(Date.UTC(2024, 0, 1, 0, 60 - index)).toISOString() };
          assert.equal(await old.recordFollowUp(comment, []), true);
          const claim = `old:${randomUUID()}`;
          assert.equal((await old.claimFollowUp(claim, new Date(), new Date(Date.now() + 600_000)))?.commentId, comment.commentId);
          assert.equal(await old.finishFollowUp(comment.commentId, claim, { state, reason } as never, []), true);
        }
        assert.equal(await old.recordReview(complained, 'needs_approval', 'rated 2, below policy.approvalBelowRating (3)', []), true);
        const now = new Date();
        const later = new Date(now.getTime() + 600_000);
        assert.equal(await old.beginComplaint({ reviewId: complained.id, reason: 'реклама', notAClient: true }, token, now, later, now), true);
      } finally {
        await old.close();
      }
      const before = await dump(backend);
      const store = backend.newStore();
      try {
        await store.migrate();
        assertKept(before, await dump(backend));
        const codes = await Promise.all(reviews.map(async (review) => (await store.getReview(review.id))?.reasonCode ?? null));
        assert.deepEqual(codes, kept.map(([, , code]) => code));
        const followUpCodes = await Promise.all(followUpIds.map(async (id) => (await store.getFollowUp(id))?.reasonCode ?? null));
        assert.deepEqual(followUpCodes, followUpsKept.map(([, , code]) => code));
        const resting = await store.getReview(complained.id);
        assert.deepEqual([resting?.state, resting?.reason, resting?.reasonCode], ['skipped', 'complained to 2GIS', 'complained']);
        const [facts] = await store.reviewFacts({});
        assert.equal(facts?.answeredElsewhere, 2, 'by their codes');
        assert.equal(facts?.complained, 1);
        // The complaint given up on puts the review back as it waited, its code with it.
        assert.equal(await store.dropComplaint(complained.id, token), true);
        const back = await store.getReview(complained.id);
        assert.deepEqual([back?.state, back?.reason, back?.reasonCode], ['needs_approval', 'rated 2, below policy.approvalBelowRating (3)', 'below_threshold']);
      } finally {
        await store.close();
      }
    } finally {
      await backend.remove();
    }
  });
}
