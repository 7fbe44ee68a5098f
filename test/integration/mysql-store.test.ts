// The MySQL Store against a real MariaDB/MySQL (127.0.0.1:3306 as root, or GISBOT_TEST_MYSQL_URL).
// One fresh database for the file; every test leaves no work in flight and ends with the money invariants.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createMysqlStore } from '../../src/adapters/mysql/store.ts';
import type { MysqlStore } from '../../src/adapters/mysql/store.ts';
import { formatMoney } from '../../src/core/money.ts';
import type { Kopecks } from '../../src/core/money.ts';
import type { DomainEvent, EventType, ListedReview, StoredEvent } from '../../src/core/ports.ts';
import { ConfigError, ServiceError } from '../../src/errors.ts';
import { checkMoneyInvariants, createTestDatabase, queryDatabase } from '../support/mysql.ts';
import type { TestDatabase } from '../support/mysql.ts';

const PRICE = 500n;
const MINUTE = 60_000;

let reviewCounter = 0;
function listed(overrides: Partial<ListedReview> = {}): ListedReview {
  reviewCounter += 1;
  const minute = String(reviewCounter % 60).padStart(2, '0');
  const hour = String(Math.floor(reviewCounter / 60) % 24).padStart(2, '0');
  return {
    id: `7000000${Date.now()}${String(reviewCounter).padStart(4, '0')}`,
    branchId: '70000001057394703',
    branchName: 'Кофейня «Зерно»',
    rating: 5,
    text: `Отличный кофе, отзыв ${reviewCounter}`,
    authorId: `user-${reviewCounter}`,
    authorName: 'Анна',
    createdAt: `2024-03-01T${hour}:${minute}:00.000+03:00`,
    editedAt: null,
    catalogId: '2gis',
    isHidden: false,
    canReply: true,
    hasOwnerAnswer: false,
    commentsCount: 0,
    ...overrides,
  };
}

function event(type: EventType, overrides: Partial<DomainEvent> = {}): DomainEvent {
  return {
    id: randomUUID(),
    type,
    at: new Date().toISOString(),
    reviewId: null,
    branchId: null,
    data: {},
    ...overrides,
  };
}

function stripSeq(events: readonly StoredEvent[]): DomainEvent[] {
  return events.map(({ seq: _seq, ...rest }) => rest);
}

function lease(now: Date, ms = MINUTE): Date {
  return new Date(now.getTime() + ms);
}

describe('MysqlStore', () => {
  let db: TestDatabase;
  let store: MysqlStore;
  /** Answers posted (and charged) so far in this database. */
  let posted = 0;

  /** Moves every review still new or in flight out of work, so that no test leaves anything behind. */
  async function tidy(): Promise<void> {
    for (;;) {
      const token = randomUUID();
      const review = await store.claimNext(token, new Date(), lease(new Date()));
      if (review === null) break;
      assert.equal(await store.release(review.id, token, { state: 'skipped', reason: 'tidy' }, []), true);
    }
    for (;;) {
      const token = randomUUID();
      const future = new Date(Date.now() + 365 * 24 * 3600_000);
      const review = await store.claimStale(token, future, lease(future));
      if (review === null) break;
      assert.equal(await store.release(review.id, token, { state: 'failed', reason: 'tidy' }, []), true);
    }
  }

  async function drainOutbox(target: MysqlStore = store): Promise<void> {
    for (;;) {
      const pending = await target.pendingOutbox(500);
      if (pending.length === 0) return;
      await target.markDelivered(pending.map((e) => e.id));
    }
  }

  /** Claims `review` (which must be the only new one), reserves, drafts and begins posting. */
  async function bringToPosting(review: ListedReview, price: Kopecks = PRICE): Promise<string> {
    assert.equal(await store.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), true);
    const token = randomUUID();
    const now = new Date();
    const claimed = await store.claimNext(token, now, lease(now));
    assert.equal(claimed?.id, review.id);
    assert.equal(await store.reserve(review.id, token, price), 'reserved');
    assert.equal(
      await store.saveDraft(review.id, token, {
        text: 'Спасибо за отзыв!',
        model: 'gpt-4o-mini',
        promptVersion: 1,
        promptTokens: 120,
        completionTokens: 12,
        finishReason: 'stop',
      }),
      true,
    );
    assert.equal(await store.beginPosting(review.id, token, new Date()), true);
    return token;
  }

  function postedEvents(review: ListedReview, text: string) {
    return (balance: Kopecks): DomainEvent[] => [
      event('reply.posted', {
        reviewId: review.id,
        branchId: review.branchId,
        data: { text, charged: formatMoney(PRICE), balance: formatMoney(balance) },
      }),
    ];
  }

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
      [1],
    );

    const fresh = await createTestDatabase();
    const a = createMysqlStore({ url: fresh.url, notifications: true });
    const b = createMysqlStore({ url: fresh.url, notifications: true });
    try {
      await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
      const rows = await queryDatabase(fresh.url, 'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version');
      assert.deepEqual(
        rows.map((r) => [Number(r.version), Number(r.n)]),
        [[1, 1]],
      );
      const accounts = await queryDatabase(fresh.url, 'SELECT COUNT(*) AS n FROM account');
      assert.equal(Number(accounts[0]?.n), 1);
      assert.deepEqual(await b.getBalance(), { balance: 0n, reserved: 0n });
      await checkMoneyInvariants(fresh.url, 0);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
    await checkMoneyInvariants(db.url, posted);
  });

  test('prompt versions are kept and deduplicated against the latest', async () => {
    assert.equal(await store.latestPrompt(), null);
    const a = 'Ты отвечаешь на отзывы. «Кавычки», \'апострофы\', \\ и 🙂';
    const v1 = await store.savePromptVersion(a);
    assert.equal(v1.version, 1);
    assert.equal(v1.text, a);
    assert.ok(v1.createdAt instanceof Date);
    assert.equal((await store.savePromptVersion(a)).version, 1);
    const v2 = await store.savePromptVersion(`${a}\nещё строка`);
    assert.equal(v2.version, 2);
    const v3 = await store.savePromptVersion(a);
    assert.equal(v3.version, 3, 'going back to an older text is a new version');
    const latest = await store.latestPrompt();
    assert.equal(latest?.version, 3);
    assert.equal(latest?.text, a);
    await checkMoneyInvariants(db.url, posted);
  });

  test('intake is idempotent, also with concurrent writers', async () => {
    const review = listed();
    assert.equal(await store.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), true);
    assert.equal(await store.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), false);
    assert.equal((await store.listEvents({ reviewId: review.id, limit: 100 })).length, 1);

    const stored = await store.getReview(review.id);
    assert.deepEqual(stored, {
      id: review.id,
      branchId: review.branchId,
      branchName: review.branchName,
      rating: review.rating,
      text: review.text,
      authorId: review.authorId,
      authorName: review.authorName,
      createdAt: review.createdAt,
      state: 'new',
      reason: null,
      claimToken: null,
      leaseUntil: null,
      reserved: 0n,
      draftText: null,
      postAttempts: 0,
      answerId: null,
    });
    assert.equal(await store.getReview('no-such-review'), null);
    assert.deepEqual(await store.findKnownReviewIds([review.id, 'no-such-review', review.id]), new Set([review.id]));
    assert.deepEqual(await store.findKnownReviewIds([]), new Set());

    const racing = listed({ authorId: null });
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        store.recordReview(racing, 'skipped', 'low rating', [event('review.skipped', { reviewId: racing.id })]),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await store.listEvents({ reviewId: racing.id, limit: 100 })).length, 1);
    const rows = await queryDatabase(db.url, 'SELECT COUNT(*) AS n FROM reviews WHERE id = ?', [racing.id]);
    assert.equal(Number(rows[0]?.n), 1);
    assert.deepEqual(await store.dialogue(null, racing.id), [
      { role: 'reviewer', text: racing.text, at: new Date(racing.createdAt) },
    ]);

    await tidy();
    await checkMoneyInvariants(db.url, posted);
  });

  test('hostile review text round-trips byte for byte', async () => {
    const texts = [
      `It's "great" \\ really \\\\ \\' \\" \\0 \\n`,
      "'; DROP TABLE reviews; --",
      "Robert'); DROP TABLE reviews;-- \u0000 nul",
      '😀👍🏽 𝒳 𠜎 — кириллица, 中文, العربية',
      'line1\nline2\r\nline3\ttab %s %d ? ?? :name $1',
      '`backticks` /* comment */ # hash',
      'x'.repeat(200_000) + '🦄',
    ];
    const id = `70000001057394703'; DROP TABLE reviews; --`;
    const reviews = texts.map((text, i) =>
      listed({
        id: i === 0 ? id : undefined,
        text,
        authorName: `Имя ${i} 🐱 "O'Brien" \\`,
        branchName: `Филиал ${i} 🏢 '; --`,
        authorId: `author'${i}"\\`,
      }),
    ).map((r) => (r.id === undefined ? { ...r, id: listed().id } : r));
    for (const review of reviews) {
      const e = event('review.skipped', { reviewId: review.id, branchId: review.branchId, data: { reason: review.text.slice(0, 100), nested: { quote: "'\"\\" } } });
      assert.equal(await store.recordReview(review, 'skipped', `reason: ${review.text.slice(0, 50)}`, [e]), true);
      const stored = await store.getReview(review.id);
      assert.ok(stored !== null);
      assert.equal(stored.id, review.id);
      assert.ok(Buffer.from(stored.text, 'utf8').equals(Buffer.from(review.text, 'utf8')), 'text differs');
      assert.equal(stored.authorName, review.authorName);
      assert.equal(stored.branchName, review.branchName);
      assert.equal(stored.authorId, review.authorId);
      assert.equal(stored.reason, `reason: ${review.text.slice(0, 50)}`);
      const [storedEvent] = await store.listEvents({ reviewId: review.id, limit: 10 });
      assert.deepEqual(storedEvent?.data, e.data);
      const dialogue = await store.dialogue(review.authorId, review.id);
      assert.equal(dialogue.length, 1);
      assert.ok(Buffer.from(dialogue[0]?.text ?? '', 'utf8').equals(Buffer.from(review.text, 'utf8')));
    }
    const tables = await queryDatabase(db.url, "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'reviews'");
    assert.equal(Number(tables[0]?.n), 1, 'the reviews table is still there');
    await checkMoneyInvariants(db.url, posted);
  });

  test('claimNext takes the oldest first and 8 racing claimers take each review exactly once', async () => {
    // Offsets differ: ordering is by the instant, and the text comes back exactly as given.
    const order = [
      listed({ createdAt: '2020-05-01T12:00:00+07:00' }), // 05:00Z
      listed({ createdAt: '2020-05-01T04:00:00.5Z' }), // 04:00:00.5Z
      listed({ createdAt: '2020-05-01T06:00:00.000+00:00' }), // 06:00Z
    ];
    for (const review of order) assert.equal(await store.recordReview(review, 'new', null, []), true);
    const expected = [order[1], order[0], order[2]];
    for (const review of expected) {
      const token = randomUUID();
      const now = new Date();
      const claimed = await store.claimNext(token, now, lease(now));
      assert.ok(claimed !== null);
      assert.equal(claimed.id, review?.id);
      assert.equal(claimed.createdAt, review?.createdAt);
      assert.equal(claimed.state, 'claimed');
      assert.equal(claimed.claimToken, token);
      assert.equal(claimed.leaseUntil?.getTime(), lease(now).getTime());
      assert.equal(await store.release(claimed.id, token, { state: 'skipped', reason: 'order test' }, []), true);
    }

    const reviews = Array.from({ length: 20 }, () => listed());
    for (const review of reviews) assert.equal(await store.recordReview(review, 'new', null, []), true);
    const other = createMysqlStore({ url: db.url, notifications: true, connectionLimit: 4 });
    try {
      const claims: { id: string; token: string }[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          const target = worker % 2 === 0 ? store : other;
          for (;;) {
            const token = randomUUID();
            const now = new Date();
            const claimed = await target.claimNext(token, now, lease(now));
            if (claimed === null) return;
            assert.equal(claimed.claimToken, token);
            claims.push({ id: claimed.id, token });
          }
        }),
      );
      assert.deepEqual(claims.map((c) => c.id).sort(), reviews.map((r) => r.id).sort());
      assert.equal(new Set(claims.map((c) => c.id)).size, 20, 'a review was claimed twice');
      for (const claim of claims) {
        assert.equal(await store.release(claim.id, claim.token, { state: 'skipped', reason: 'race test' }, []), true);
      }
    } finally {
      await other.close();
    }
    assert.equal(await store.claimNext(randomUUID(), new Date(), lease(new Date())), null);
    await checkMoneyInvariants(db.url, posted);
  });

  test('reserve: 12.00 and price 5.00 with 5 racing claims gives exactly 2 reserves; the balance never goes negative', async () => {
    assert.deepEqual(await store.getBalance(), { balance: 0n, reserved: 0n });
    assert.deepEqual(await store.topUp(1200n, 'test funds'), { balance: 1200n, reserved: 0n });
    const reviews = Array.from({ length: 5 }, () => listed());
    const claims: { review: ListedReview; token: string }[] = [];
    for (const review of reviews) {
      assert.equal(await store.recordReview(review, 'new', null, []), true);
      const token = randomUUID();
      const claimed = await store.claimNext(token, new Date(), lease(new Date()));
      assert.ok(claimed !== null);
      claims.push({ review: reviews.find((r) => r.id === claimed.id) as ListedReview, token });
    }
    const results = await Promise.all(claims.map((c) => store.reserve(c.review.id, c.token, PRICE)));
    assert.equal(results.filter((r) => r === 'reserved').length, 2);
    assert.equal(results.filter((r) => r === 'insufficient').length, 3);
    assert.deepEqual(await store.getBalance(), { balance: 1200n, reserved: 1000n });

    for (const [i, claim] of claims.entries()) {
      if (results[i] === 'reserved') {
        assert.equal((await store.getReview(claim.review.id))?.reserved, PRICE);
        assert.equal(await store.beginPosting(claim.review.id, claim.token, new Date()), true);
        const settled = await store.settlePosted(
          claim.review.id,
          { answerId: `answer-${i}`, text: 'Спасибо!' },
          PRICE,
          postedEvents(claim.review, 'Спасибо!'),
        );
        assert.ok(settled !== null);
        assert.ok(settled.balance >= 0n);
        posted += 1;
      } else {
        assert.equal((await store.getReview(claim.review.id))?.reserved, 0n);
        const released = await store.release(claim.review.id, claim.token, { state: 'new', reason: 'insufficient balance' }, [
          event('balance.insufficient', { reviewId: claim.review.id }),
        ]);
        assert.equal(released, true);
      }
    }
    assert.deepEqual(await store.getBalance(), { balance: 200n, reserved: 0n });
    // Nothing can be reserved with 2.00 left.
    const poor = listed();
    assert.equal(await store.recordReview(poor, 'new', null, []), true);
    for (;;) {
      const token = randomUUID();
      const claimed = await store.claimNext(token, new Date(), lease(new Date()));
      if (claimed === null) break;
      assert.equal(await store.reserve(claimed.id, token, PRICE), 'insufficient');
      await store.release(claimed.id, token, { state: 'skipped', reason: 'no funds' }, []);
    }
    assert.deepEqual(await store.getBalance(), { balance: 200n, reserved: 0n });
    await checkMoneyInvariants(db.url, posted);
  });

  test('settling twice (or concurrently) charges once; a posting review without a reserve is still charged', async () => {
    await store.topUp(2000n, null);
    const before = await store.getBalance();
    const review = listed();
    await bringToPosting(review);
    assert.equal((await store.getBalance()).reserved, before.reserved + PRICE);
    const results = await Promise.all(
      Array.from({ length: 3 }, () =>
        store.settlePosted(review.id, { answerId: 'ans-1', text: 'Спасибо, ждём снова! 😊' }, PRICE, postedEvents(review, 'Спасибо, ждём снова! 😊')),
      ),
    );
    const winners = results.filter((r) => r !== null);
    assert.equal(winners.length, 1);
    assert.equal(winners[0]?.balance, before.balance - PRICE);
    posted += 1;
    assert.equal(
      await store.settlePosted(review.id, { answerId: 'ans-1', text: 'again' }, PRICE, postedEvents(review, 'again')),
      null,
    );
    assert.deepEqual(await store.getBalance(), { balance: before.balance - PRICE, reserved: before.reserved });

    const stored = await store.getReview(review.id);
    assert.equal(stored?.state, 'posted');
    assert.equal(stored?.answerId, 'ans-1');
    assert.equal(stored?.reserved, 0n);
    assert.equal(stored?.claimToken, null);
    assert.equal(stored?.leaseUntil, null);
    assert.equal(stored?.postAttempts, 1);
    const posts = await store.listEvents({ reviewId: review.id, type: 'reply.posted', limit: 10 });
    assert.equal(posts.length, 1);
    assert.equal(posts[0]?.data.balance, formatMoney(before.balance - PRICE));
    const [charge] = await store.ledger({ limit: 1 });
    assert.equal(charge?.kind, 'charge');
    assert.equal(charge?.amount, -PRICE);
    assert.equal(charge?.reviewId, review.id);
    assert.equal(charge?.balanceAfter, before.balance - PRICE);
    const dialogue = await store.dialogue(review.authorId, review.id);
    assert.deepEqual(
      dialogue.map((d) => [d.role, d.text]),
      [
        ['reviewer', review.text],
        ['owner', 'Спасибо, ждём снова! 😊'],
      ],
    );

    // Posting without a reserve (the answer is out there): charged all the same, reserved untouched.
    const bare = listed();
    assert.equal(await store.recordReview(bare, 'new', null, []), true);
    const token = randomUUID();
    assert.equal((await store.claimNext(token, new Date(), lease(new Date())))?.id, bare.id);
    assert.equal(await store.beginPosting(bare.id, token, new Date()), true);
    const mid = await store.getBalance();
    const settled = await store.settlePosted(bare.id, { answerId: null, text: 'Спасибо' }, PRICE, () => []);
    assert.deepEqual(settled, { balance: mid.balance - PRICE });
    posted += 1;
    assert.deepEqual(await store.getBalance(), { balance: mid.balance - PRICE, reserved: mid.reserved });

    // Settling a review that is not posting does nothing.
    assert.equal(await store.settlePosted('no-such-review', { answerId: null, text: 'x' }, PRICE, () => []), null);
    await checkMoneyInvariants(db.url, posted);
  });

  test('release returns the reserve; a repeated reserve does not reserve twice', async () => {
    await store.topUp(1000n, null);
    const before = await store.getBalance();
    const review = listed();
    assert.equal(await store.recordReview(review, 'new', null, []), true);
    const token = randomUUID();
    assert.equal((await store.claimNext(token, new Date(), lease(new Date())))?.id, review.id);
    assert.equal(await store.reserve(review.id, token, PRICE), 'reserved');
    assert.equal(await store.reserve(review.id, token, PRICE), 'reserved');
    assert.deepEqual(await store.getBalance(), { balance: before.balance, reserved: before.reserved + PRICE });
    assert.equal(await store.reserve(review.id, 'not-the-token', PRICE), 'lost');
    assert.equal(
      await store.saveDraft(review.id, token, {
        text: 'Черновик',
        model: 'm',
        promptVersion: 3,
        promptTokens: null,
        completionTokens: null,
        finishReason: 'stop',
      }),
      true,
    );
    assert.equal((await store.getReview(review.id))?.draftText, 'Черновик');
    assert.equal((await store.getReview(review.id))?.state, 'drafted');

    assert.equal(await store.release(review.id, 'not-the-token', { state: 'new', reason: null }, []), false);
    const e = event('reply.failed', { reviewId: review.id, data: { error: 'model unavailable' } });
    assert.equal(await store.release(review.id, token, { state: 'new', reason: 'model unavailable' }, [e]), true);
    assert.deepEqual(await store.getBalance(), before);
    const stored = await store.getReview(review.id);
    assert.equal(stored?.state, 'new');
    assert.equal(stored?.reason, 'model unavailable');
    assert.equal(stored?.draftText, null);
    assert.equal(stored?.reserved, 0n);
    assert.equal(stored?.claimToken, null);
    assert.equal(stored?.leaseUntil, null);
    assert.deepEqual(stripSeq(await store.listEvents({ reviewId: review.id, limit: 10 })), [e]);
    // The old token is dead.
    assert.equal(await store.reserve(review.id, token, PRICE), 'lost');
    assert.equal(await store.release(review.id, token, { state: 'skipped', reason: 'x' }, []), false);

    // Claimed again: needs_approval keeps the draft columns as they are and releases the reserve.
    const again = randomUUID();
    assert.equal((await store.claimNext(again, new Date(), lease(new Date())))?.id, review.id);
    assert.equal(await store.reserve(review.id, again, PRICE), 'reserved');
    assert.equal(await store.release(review.id, again, { state: 'needs_approval', reason: 'rating 2' }, []), true);
    assert.equal((await store.getReview(review.id))?.state, 'needs_approval');
    assert.deepEqual(await store.getBalance(), before);
    await checkMoneyInvariants(db.url, posted);
  });

  test('a worker whose lease expired cannot reach the POST; claimStale hands the review to a new token', async () => {
    const review = listed();
    assert.equal(await store.recordReview(review, 'new', null, []), true);
    const t0 = new Date();
    const a = randomUUID();
    assert.equal((await store.claimNext(a, t0, lease(t0, 1000)))?.id, review.id);
    assert.equal(await store.reserve(review.id, a, PRICE), 'reserved');
    assert.equal(
      await store.saveDraft(review.id, a, {
        text: 'Спасибо',
        model: 'm',
        promptVersion: 1,
        promptTokens: 1,
        completionTokens: 1,
        finishReason: 'stop',
      }),
      true,
    );
    assert.equal(await store.claimStale(randomUUID(), lease(t0, 500), lease(t0, MINUTE)), null, 'the lease is still live');
    assert.equal(await store.beginPosting(review.id, a, lease(t0, 2000)), false, 'an expired lease passes the fence');

    const b = randomUUID();
    const taken = await store.claimStale(b, lease(t0, 2000), lease(t0, MINUTE));
    assert.equal(taken?.id, review.id);
    assert.equal(taken?.state, 'drafted');
    assert.equal(taken?.claimToken, b);
    assert.equal(taken?.reserved, PRICE);
    assert.equal(taken?.draftText, 'Спасибо');
    assert.equal(await store.saveDraft(review.id, a, { text: 'x', model: 'm', promptVersion: 1, promptTokens: null, completionTokens: null, finishReason: 'stop' }), false);
    assert.equal(await store.reserve(review.id, a, PRICE), 'lost');
    assert.equal(await store.release(review.id, a, { state: 'failed', reason: 'x' }, []), false);
    assert.equal(await store.beginPosting(review.id, a, lease(t0, 2000)), false);
    assert.equal(await store.reserve(review.id, b, PRICE), 'reserved', 'the reserve moved with the review');

    assert.equal(await store.beginPosting(review.id, b, lease(t0, 2000)), true);
    await store.expireLease(review.id, b, lease(t0, 3000));
    assert.equal(await store.beginPosting(review.id, b, lease(t0, 3000)), false);
    const c = randomUUID();
    const reconciled = await store.claimStale(c, lease(t0, 3000), lease(t0, MINUTE));
    assert.equal(reconciled?.id, review.id);
    assert.equal(reconciled?.state, 'posting');
    assert.equal(reconciled?.postAttempts, 1);
    const settled = await store.settlePosted(review.id, { answerId: 'found-on-read-back', text: 'Спасибо' }, PRICE, () => []);
    assert.ok(settled !== null);
    posted += 1;
    assert.equal((await store.getBalance()).reserved, 0n);
    await checkMoneyInvariants(db.url, posted);
  });

  test('events and the outbox keep their order; markDelivered removes delivered events', async () => {
    await drainOutbox();
    assert.deepEqual(await store.pendingOutbox(10), []);
    const e1 = event('review.new', {
      at: '2030-01-01T00:00:00.001Z',
      reviewId: 'r-1',
      branchId: 'b-1',
      data: { rating: 5, text: 'Всё 👍', nested: { list: [1, 'two', null], flag: true } },
    });
    const e2 = event('balance.low', { at: '2030-01-02T00:00:00.000Z', data: { balance: '40.00' } });
    const e3 = event('review.skipped', { at: '2030-01-03T00:00:00.123Z', reviewId: 'r-2', branchId: 'b-2', data: { reason: "it's \"quoted\"" } });
    await store.appendEvents([e1, e2, e3]);
    await store.appendEvents([]);

    const pending = await store.pendingOutbox(10);
    assert.deepEqual(stripSeq(pending), [e1, e2, e3]);
    assert.ok((pending[0]?.seq ?? 0) < (pending[1]?.seq ?? 0) && (pending[1]?.seq ?? 0) < (pending[2]?.seq ?? 0));
    assert.deepEqual(stripSeq(await store.pendingOutbox(2)), [e1, e2]);

    await store.markDelivered([e1.id, e2.id]);
    await store.markDelivered([]);
    await store.markDelivered(['no-such-event']);
    assert.deepEqual(stripSeq(await store.pendingOutbox(10)), [e3]);

    // At least once: appending an event again stores and queues nothing new.
    await store.appendEvents([e1]);
    assert.deepEqual(stripSeq(await store.pendingOutbox(10)), [e3]);
    assert.equal((await store.listEvents({ reviewId: 'r-1', limit: 10 })).length, 1);

    const [s1, s2, s3] = pending.map((e) => e.seq);
    assert.deepEqual(stripSeq(await store.listEvents({ afterSeq: s1, limit: 10 })), [e2, e3]);
    assert.deepEqual(stripSeq(await store.listEvents({ afterSeq: s1, limit: 1 })), [e2]);
    assert.deepEqual(stripSeq(await store.listEvents({ limit: 2 })), [e2, e3], 'the last events, ascending');
    assert.deepEqual(stripSeq(await store.listEvents({ type: 'balance.low', limit: 10 })), [e2]);
    assert.deepEqual(stripSeq(await store.listEvents({ reviewId: 'r-2', limit: 10 })), [e3]);
    assert.deepEqual(stripSeq(await store.listEvents({ branchId: 'b-1', limit: 10 })), [e1]);
    assert.deepEqual(stripSeq(await store.listEvents({ since: new Date('2030-01-02T00:00:00.000Z'), limit: 10 })), [e2, e3]);
    assert.deepEqual(await store.listEvents({ afterSeq: s3, limit: 10 }), []);
    assert.deepEqual(await store.listEvents({ limit: 0 }), []);
    assert.equal(typeof s2, 'number');
    await drainOutbox();
    await checkMoneyInvariants(db.url, posted);
  });

  test('notifications: false stores events but queues nothing in the outbox', async () => {
    await drainOutbox();
    const quiet = createMysqlStore({ url: db.url, notifications: false });
    try {
      const e = event('auth.failed', { data: { status: 401 } });
      await quiet.appendEvents([e]);
      const review = listed();
      const reviewEvent = event('review.new', { reviewId: review.id });
      assert.equal(await quiet.recordReview(review, 'new', null, [reviewEvent]), true);
      const token = randomUUID();
      assert.equal((await quiet.claimNext(token, new Date(), lease(new Date())))?.id, review.id);
      assert.equal(await quiet.reserve(review.id, token, PRICE), 'reserved');
      assert.equal(await quiet.beginPosting(review.id, token, new Date()), true);
      const postedEvent = event('reply.posted', { reviewId: review.id });
      assert.ok((await quiet.settlePosted(review.id, { answerId: 'q', text: 'Спасибо' }, PRICE, () => [postedEvent])) !== null);
      posted += 1;
      assert.deepEqual(await quiet.pendingOutbox(10), []);
      assert.deepEqual(await store.pendingOutbox(10), []);
      const stored = await store.listEvents({ limit: 3 });
      assert.deepEqual(stripSeq(stored), [e, reviewEvent, postedEvent]);
    } finally {
      await quiet.close();
    }
    await checkMoneyInvariants(db.url, posted);
  });

  test('top-ups and charges are in the ledger, newest first, and the balance is their sum', async () => {
    const before = await store.getBalance();
    const first = await store.topUp(10_000n, 'пополнение 💰 \'; --');
    assert.deepEqual(first, { balance: before.balance + 10_000n, reserved: before.reserved });
    const second = await store.topUp(50n, null);
    assert.equal(second.balance, before.balance + 10_050n);
    const [newest, older] = await store.ledger({ limit: 2 });
    assert.equal(newest?.kind, 'topup');
    assert.equal(newest?.amount, 50n);
    assert.equal(newest?.balanceAfter, second.balance);
    assert.equal(newest?.note, null);
    assert.equal(older?.amount, 10_000n);
    assert.equal(older?.note, 'пополнение 💰 \'; --');
    assert.equal(older?.balanceAfter, first.balance);
    assert.ok((newest?.id ?? 0) > (older?.id ?? 0));
    assert.ok(newest?.at instanceof Date);
    const recent = await store.ledger({ since: older?.at ?? new Date(), limit: 100 });
    assert.deepEqual(
      recent.slice(0, 2).map((e) => e.amount),
      [50n, 10_000n],
    );
    assert.ok(recent.every((e) => e.at.getTime() >= (older?.at.getTime() ?? 0)));
    const all = await store.ledger({ limit: 1000 });
    assert.equal(
      all.reduce((sum, e) => sum + e.amount, 0n),
      second.balance,
    );
    assert.equal(all.filter((e) => e.kind === 'charge').length, posted);
    await assert.rejects(store.topUp(0n, null));
    await assert.rejects(store.topUp(-100n, null));
    assert.deepEqual(await store.getBalance(), second);
    await checkMoneyInvariants(db.url, posted);
  });
});
