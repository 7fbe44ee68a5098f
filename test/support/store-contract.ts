// The Store contract: every behaviour the core relies on, written once and run against each backend
// (test/integration/store-contract.test.ts). Each test gets a fresh, migrated database from the factory and ends
// with the backend's money and work invariants (nothing reserved or in flight, balance = sum of the ledger,
// one charge per answer of ours).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import type { GisbotError } from '../../src/errors.ts';
import { formatMoney } from '../../src/core/money/money.ts';
import { reportData } from '../../src/core/insight/report.ts';
import type { Kopecks } from '../../src/core/money/money.ts';
import { ANSWER_REMOVED, COMPLAINED, type DomainEvent, type DraftDecision, type EventType, type FailureRetry, type ListedReview, type Store, type StoredEvent, type VoiceExample, type VoiceWeight } from '../../src/core/ports.ts';
import type { ExpectedCharges } from './charges.ts';
import { createRedactor, type Redact } from '../../src/redact.ts';
import { claimFree } from './claims.ts';

export interface StoreFixture {
  /** A migrated store on a fresh, empty database. */
  store: Store;
  /** Asserts the money and work invariants against the database, with `answersByUs` answers posted (of `business`, default `default`). */
  checkInvariants(answersByUs: number, charges?: ExpectedCharges, business?: string): Promise<void>;
  /** Closes every store opened on the database and removes the database. */
  cleanup(): Promise<void>;
  /** Another store on the same database, as a second worker would open it; closed by `cleanup`. */
  open(options: StoreOpenOptions): Store;
}

export interface StoreOpenOptions {
  notifications: boolean;
  redact?: Redact;
}

export const PRICE = 500n;
const MINUTE = 60_000;
const run = randomBytes(3).toString('hex');
let reviewCounter = 0;

export function listed(overrides: Partial<ListedReview> = {}): ListedReview {
  reviewCounter += 1;
  const minute = String(reviewCounter % 60).padStart(2, '0');
  const hour = String(Math.floor(reviewCounter / 60) % 24).padStart(2, '0');
  return {
    id: `70000${run}${String(reviewCounter).padStart(5, '0')}`,
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

export function event(type: EventType, overrides: Partial<DomainEvent> = {}): DomainEvent {
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

/** The events as they were appended: without the store's sequence number, delivery record and business (its own). */
function stripSeq(events: ReadonlyArray<StoredEvent & { attempts?: number; retryAt?: Date | null }>): DomainEvent[] {
  return events.map(({ seq: _seq, attempts: _attempts, retryAt: _retryAt, businessId: _businessId, ...rest }) => rest);
}

function lease(now: Date, ms = MINUTE): Date {
  return new Date(now.getTime() + ms);
}

const draft = {
  text: 'Спасибо за отзыв!',
  model: 'gpt-4o-mini',
  promptVersion: 1,
  promptTokens: 120,
  completionTokens: 12,
  finishReason: 'stop',
};

function postedEvents(review: ListedReview, text: string) {
  return (balance: Kopecks): DomainEvent[] => [
    event('reply.posted', {
      reviewId: review.id,
      branchId: review.branchId,
      data: { text, charged: formatMoney(PRICE), balance: formatMoney(balance) },
    }),
  ];
}

/** Records `review` as new and claims it (it must be the only new one). */
async function recordAndClaim(store: Store, review: ListedReview, now = new Date()): Promise<string> {
  assert.equal(await store.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), true);
  const token = randomUUID();
  const claimed = await claimFree(store, token, now, lease(now));
  assert.equal(claimed?.id, review.id);
  return token;
}

/** Claims `review` (which must be the only new one), reserves, drafts and begins posting. */
async function bringToPosting(store: Store, review: ListedReview, price: Kopecks = PRICE): Promise<string> {
  const token = await recordAndClaim(store, review);
  assert.equal(await store.reserve(review.id, token, price), 'reserved');
  assert.equal(await store.saveDraft(review.id, token, draft), true);
  assert.equal(await store.beginPosting(review.id, token, new Date(), new Date()), true);
  return token;
}

async function drainOutbox(store: Store): Promise<void> {
  for (;;) {
    const pending = await store.pendingOutbox(500);
    if (pending.length === 0) return;
    await store.markDelivered(pending.map((e) => e.id));
  }
}

export function storeContract(name: string, factory: () => Promise<StoreFixture>): void {
  /**
   * Runs `body` on a fresh database; it returns the number of answers posted (each charged PRICE), or the answers
   * and what they were charged in all, checked by the invariants.
   */
  function contractTest(title: string, body: (fx: StoreFixture) => Promise<number | { answers: number; charged: Kopecks }>): void {
    test(title, async () => {
      const fx = await factory();
      try {
        const posted = await body(fx);
        if (typeof posted === 'number') await fx.checkInvariants(posted);
        else await fx.checkInvariants(posted.answers, { total: posted.charged });
      } finally {
        await fx.cleanup();
      }
    });
  }

  describe(`Store contract: ${name}`, () => {
    contractTest('migrate is idempotent and a fresh database starts empty', async ({ store, open }) => {
      await store.migrate();
      await store.migrate();
      await store.ping();
      assert.deepEqual(await store.getBalance(), { balance: 0n, reserved: 0n });
      assert.deepEqual(await store.ledger({ limit: 10 }), []);
      assert.deepEqual(await store.listEvents({ limit: 10 }), []);
      assert.deepEqual(await store.pendingOutbox(10), []);
      assert.deepEqual(await store.listInFlight(), []);
      assert.equal(await store.latestPrompt(), null);
      assert.equal(await claimFree(store, randomUUID(), new Date(), lease(new Date())), null);
      assert.equal(await store.claimStale(randomUUID(), new Date(), lease(new Date())), null);

      // Data survives a close and another store (migrating again) on the same database.
      await store.topUp(700n, null);
      await store.close();
      await store.close();
      const other = open({ notifications: true });
      await other.migrate();
      assert.deepEqual(await other.getBalance(), { balance: 700n, reserved: 0n });
      assert.deepEqual(await store.getBalance(), { balance: 700n, reserved: 0n }, 'a closed store opens again on use');
      return 0;
    });

    contractTest('claimReview takes a named review from new, needs_approval or failed only, once', async ({ store, open }) => {
      const waiting = listed();
      const resting = listed();
      assert.equal(await store.recordReview(waiting, 'needs_approval', 'rated 1', []), true);
      assert.equal(await store.recordReview(resting, 'skipped', 'hidden on 2GIS', []), true);
      const now = new Date();
      const other = open({ notifications: true });
      const claims = await Promise.all([store, other, store, other].map((s) => s.claimReview(waiting.id, randomUUID(), now, lease(now))));
      const winners = claims.filter((claim) => claim !== null);
      assert.equal(winners.length, 1, 'one claimer wins');
      assert.equal(winners[0]!.state, 'claimed');
      assert.equal(await store.claimReview(resting.id, randomUUID(), now, lease(now)), null, 'a skipped review stays skipped');
      assert.equal(await store.claimReview('no-such-review', randomUUID(), now, lease(now)), null);
      await store.release(waiting.id, winners[0]!.claimToken!, { state: 'failed', reason: 'x' }, []);
      assert.notEqual(await store.claimReview(waiting.id, randomUUID(), now, lease(now)), null, 'a failed review can be retried by a person');
      const token = (await store.getReview(waiting.id))!.claimToken!;
      await store.release(waiting.id, token, { state: 'needs_approval', reason: 'back to the queue' }, []);
      return 0;
    });

    contractTest("a review's reason keeps its code beside its words; the figures go by the code", async ({ store }) => {
      const [alone, paged, other, released, unknown] = [listed(), listed(), listed(), listed(), listed()];
      assert.equal(await store.recordReview(alone, 'needs_approval', 'rated 1, below policy.approvalBelowRating (3)', [], 'below_threshold'), true);
      assert.deepEqual(
        await store.recordReviews([
          { review: paged, state: 'skipped', reason: 'words of another day', code: 'answered_elsewhere', events: [] },
          // Words that once meant a complaint, with another code: the code says what it is.
          { review: other, state: 'skipped', reason: 'complained to 2GIS', code: 'hidden', events: [] },
        ]),
        [true, true],
      );
      assert.equal(await store.recordReview(released, 'new', null, []), true);
      assert.equal(await store.recordReview(unknown, 'skipped', 'answered by someone else', []), true);
      const code = async (review: ListedReview) => (await store.getReview(review.id))?.reasonCode ?? null;
      assert.deepEqual(await Promise.all([alone, paged, other, released, unknown].map(code)), ['below_threshold', 'answered_elsewhere', 'hidden', null, null]);

      const now = new Date();
      const token = randomUUID();
      assert.notEqual(await store.claimReview(released.id, token, now, lease(now)), null);
      await store.release(released.id, token, { state: 'failed', reason: 'the model failed: 503', code: 'model_failed', retry: null }, []);
      assert.equal(await code(released), 'model_failed');
      const again = randomUUID();
      assert.notEqual(await store.claimReview(released.id, again, now, lease(now)), null);
      await store.release(released.id, again, { state: 'new', reason: null }, []);
      assert.equal(await code(released), null, 'no code given: none kept');

      const [facts] = await store.reviewFacts({});
      // `paged` by its code, `unknown` (no code, a row kept before codes) by its words; `other` is skipped, not complained.
      assert.equal(facts?.answeredElsewhere, 2);
      assert.equal(facts?.complained, 0);
      assert.equal(facts?.skipped, 1);
      return 0;
    });

    contractTest('waiting reviews: those waiting for a person, the longest unchecked first; a check marks only them', async ({ store }) => {
      const [fresh, older, newer, skipped, queued] = [listed({ branchId: '1' }), listed({ branchId: '2' }), listed(), listed(), listed()];
      const recording = Date.now();
      await store.recordReview(fresh, 'needs_approval', 'rated 1', []);
      const recorded = Date.now();
      await store.recordReview(older, 'needs_approval', 'rated 2', []);
      await store.recordReview(newer, 'needs_approval', 'rated 1', []);
      await store.recordReview(skipped, 'skipped', 'hidden on 2GIS', []);
      await store.recordReview(queued, 'new', null, []);
      const now = new Date('2026-03-01T10:00:00.000Z');
      await store.markReviewsChecked([newer.id, skipped.id, queued.id, 'no-such-review'], new Date(now.getTime() - MINUTE));
      await store.markReviewsChecked([older.id], new Date(now.getTime() - 5 * MINUTE));
      const all = await store.waitingReviews({ limit: 10 });
      assert.deepEqual(
        all.slice(0, 2).map((review) => [review.id, review.branchId, review.createdAt, review.state, review.checkedAt?.toISOString() ?? null]),
        [
          [older.id, '2', older.createdAt, 'needs_approval', '2026-03-01T09:55:00.000Z'],
          [newer.id, newer.branchId, newer.createdAt, 'needs_approval', '2026-03-01T09:59:00.000Z'],
        ],
      );
      assert.equal(all[2]?.id, fresh.id);
      const taken = all[2]?.checkedAt?.getTime() ?? 0;
      assert.ok(taken >= recording - 1000 && taken <= recorded + 1000, 'a review taken in was seen unanswered then');
      assert.equal(all.length, 3, 'a skipped and a queued review do not wait for a person');
      assert.deepEqual((await store.waitingReviews({ limit: 2 })).map((review) => review.id), [older.id, newer.id]);
      assert.deepEqual((await store.waitingReviews({ ids: [fresh.id, skipped.id, newer.id, 'no-such-review'], limit: 10 })).map((review) => review.id), [newer.id, fresh.id]);
      assert.deepEqual(await store.waitingReviews({ ids: [], limit: 10 }), []);
      const many = Array.from({ length: 1200 }, (_, i) => `unknown-${i}`);
      assert.deepEqual((await store.waitingReviews({ ids: [...many, older.id], limit: 10 })).map((review) => review.id), [older.id], 'long id lists are fine');
      await store.markReviewsChecked([...many, fresh.id], now);
      assert.equal((await store.waitingReviews({ ids: [fresh.id], limit: 1 }))[0]?.checkedAt?.toISOString(), now.toISOString());

      // A failed review waits for a person too; one in work does not.
      const token = randomUUID();
      await store.claimReview(fresh.id, token, now, lease(now));
      assert.deepEqual((await store.waitingReviews({ limit: 10 })).map((review) => review.id), [older.id, newer.id], 'in work: not waiting');
      await store.release(fresh.id, token, { state: 'failed', reason: 'the model failed' }, []);
      assert.deepEqual((await store.waitingReviews({ limit: 10 })).map((review) => [review.id, review.state]).at(-1), [fresh.id, 'failed']);
      return 0;
    });

    contractTest('intake is idempotent, also with concurrent writers', async ({ store, open }) => {
      const review = listed();
      assert.equal(await store.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), true);
      assert.equal(await store.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), false);
      assert.equal(
        await store.recordReview({ ...review, text: 'changed' }, 'skipped', 'x', [event('review.skipped', { reviewId: review.id })]),
        false,
        'a known review is not overwritten',
      );
      assert.equal((await store.listEvents({ reviewId: review.id, limit: 100 })).length, 1);

      assert.deepEqual(await store.getReview(review.id), {
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
        reasonCode: null,
        claimToken: null,
        leaseUntil: null,
        reserved: 0n,
        draftText: null,
        postAttempts: 0,
        answerId: null,
        failedTries: 0,
        retryAt: null,
        postAfter: null,
        template: null,
      });
      assert.equal(await store.getReview('no-such-review'), null);
      assert.deepEqual(await store.findKnownReviewIds([review.id, 'no-such-review', review.id]), new Set([review.id]));
      assert.deepEqual(await store.findKnownReviewIds([]), new Set());
      const many = Array.from({ length: 1200 }, (_, i) => `unknown-${i}`);
      assert.deepEqual(await store.findKnownReviewIds([...many, review.id]), new Set([review.id]), 'long id lists are fine');

      const racing = listed({ authorId: null });
      const other = open({ notifications: true });
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? store : other).recordReview(racing, 'skipped', 'low rating', [
            event('review.skipped', { reviewId: racing.id }),
          ]),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store.listEvents({ reviewId: racing.id, limit: 100 })).length, 1);
      const stored = await other.getReview(racing.id);
      assert.equal(stored?.state, 'skipped');
      assert.equal(stored?.reason, 'low rating');
      assert.equal(stored?.authorId, null);
      assert.deepEqual(await store.dialogue(null, racing.id), [
        { role: 'reviewer', text: racing.text, at: new Date(racing.createdAt) },
      ]);

      const held = listed();
      assert.equal(await store.recordReview(held, 'needs_approval', 'rating 1', []), true);
      assert.equal((await store.getReview(held.id))?.state, 'needs_approval');
      // Neither skipped nor needs_approval reviews are work.
      const token = randomUUID();
      assert.equal((await claimFree(store, token, new Date(), lease(new Date())))?.id, review.id);
      assert.equal(await claimFree(store, randomUUID(), new Date(), lease(new Date())), null);
      assert.equal(await store.release(review.id, token, { state: 'skipped', reason: 'tidy' }, []), true);
      return 0;
    });

    contractTest('hostile review text round-trips byte for byte', async ({ store }) => {
      const texts = [
        `It's "great" \\ really \\\\ \\' \\" \\0 \\n`,
        "'; DROP TABLE reviews; --",
        "Robert'); DROP TABLE reviews;-- \u0000 nul",
        '😀👍🏽 𝒳 𠜎 — кириллица, 中文, العربية',
        '\uFEFFbyte order mark first, then\u0000\u0000two nuls',
        'line1\nline2\r\nline3\ttab %s %d ? ?? :name $1 @p ?1',
        '`backticks` /* comment */ # hash -- dash',
        'x'.repeat(200_000) + '🦄',
      ];
      const reviews = texts.map((text, i) =>
        listed({
          ...(i === 1 ? { id: `70000001057394703'; DROP TABLE reviews; --` } : {}),
          ...(i === 2 ? { id: `id-with-\u0000-nul-😀` } : {}),
          text,
          authorName: `Имя ${i} 🐱 "O'Brien" \\`,
          branchName: `Филиал ${i} 🏢 '; --`,
          authorId: `author'${i}"\\\u0000`,
        }),
      );
      for (const review of reviews) {
        const e = event('review.skipped', {
          reviewId: review.id,
          branchId: review.branchId,
          data: { reason: review.text.slice(0, 100), nested: { quote: "'\"\\", nul: '\u0000' } },
        });
        assert.equal(await store.recordReview(review, 'skipped', `reason: ${review.text.slice(0, 50)}`, [e]), true);
        const stored = await store.getReview(review.id);
        assert.ok(stored !== null, `review ${JSON.stringify(review.id)} not found`);
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
      assert.deepEqual(
        await store.findKnownReviewIds(reviews.map((r) => r.id)),
        new Set(reviews.map((r) => r.id)),
      );

      // Through the whole path: draft, posted answer and ledger note keep their bytes too.
      await store.topUp(PRICE, "пополнение 💰 '; DROP TABLE ledger; -- \u0000");
      const review = listed({ text: texts[2] });
      const token = await recordAndClaim(store, review);
      assert.equal(await store.reserve(review.id, token, PRICE), 'reserved');
      const hostile = `Спасибо! ${texts[0]} ${texts[3]}`;
      assert.equal(await store.saveDraft(review.id, token, { ...draft, text: hostile }), true);
      assert.equal((await store.getReview(review.id))?.draftText, hostile);
      assert.equal(await store.beginPosting(review.id, token, new Date(), new Date()), true);
      assert.ok((await store.settlePosted(review.id, { answerId: "a'\\1", text: hostile }, () => [])) !== null);
      assert.equal((await store.getReview(review.id))?.answerId, "a'\\1");
      assert.deepEqual(
        (await store.dialogue(review.authorId, review.id)).map((d) => d.text),
        [review.text, hostile],
      );
      const notes = (await store.ledger({ limit: 10 })).map((e) => e.note);
      assert.ok(notes.includes("пополнение 💰 '; DROP TABLE ledger; -- \u0000"));
      return 1;
    });

    contractTest('claimNext takes the newest first and 8 racing claimers on two stores take each review exactly once', async ({ store, open }) => {
      // Offsets differ: ordering is by the instant, and the text comes back exactly as given.
      const order = [
        listed({ createdAt: '2020-05-01T12:00:00+07:00' }), // 05:00Z
        listed({ createdAt: '2020-05-01T04:00:00.5Z' }), // 04:00:00.5Z
        listed({ createdAt: '2020-05-01T06:00:00.000+00:00' }), // 06:00Z
      ];
      for (const review of order) assert.equal(await store.recordReview(review, 'new', null, []), true);
      for (const review of [order[2], order[0], order[1]]) {
        const token = randomUUID();
        const now = new Date();
        const claimed = await claimFree(store, token, now, lease(now));
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
      const other = open({ notifications: true });
      const claims: { id: string; token: string }[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          const target = worker % 2 === 0 ? store : other;
          for (;;) {
            const token = randomUUID();
            const now = new Date();
            const claimed = await claimFree(target, token, now, lease(now));
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
      assert.equal(await claimFree(store, randomUUID(), new Date(), lease(new Date())), null);
      return 0;
    });

    contractTest('recordReviews stores a page at once, and racing pages record each review exactly once', async ({ store, open }) => {
      const page = [listed({ authorId: null }), listed(), listed({ text: "отзыв с 'кавычками'; -- \u0000 и 💬" })];
      const entries = page.map((review, i) => ({
        review,
        state: i === 1 ? ('skipped' as const) : ('new' as const),
        reason: i === 1 ? 'hidden on 2GIS' : null,
        events: [event('review.new', { reviewId: review.id }), ...(i === 1 ? [event('review.skipped', { reviewId: review.id })] : [])],
      }));
      assert.deepEqual(await store.recordReviews(entries), [true, true, true]);
      for (const [i, review] of page.entries()) {
        const stored = await store.getReview(review.id);
        assert.deepEqual([stored?.state, stored?.reason, stored?.text, stored?.authorId], [entries[i]!.state, entries[i]!.reason, review.text, review.authorId]);
        assert.equal((await store.listEvents({ reviewId: review.id, limit: 10 })).length, entries[i]!.events.length);
        assert.deepEqual((await store.dialogue(review.authorId, review.id)).map((d) => [d.role, d.text]), [['reviewer', review.text]]);
      }
      const queued = (await store.pendingOutbox(100)).map((e) => e.id);
      for (const entry of entries) for (const e of entry.events) assert.ok(queued.includes(e.id), 'every event is queued for delivery');
      assert.deepEqual(await store.recordReviews([]), []);

      // A page where one review is known: that one is not recorded again, the others are.
      const known = page[0]!;
      const next = [listed(), known, listed()];
      const nextEntries = next.map((review) => ({ review, state: 'new' as const, reason: null, events: [event('review.new', { reviewId: review.id })] }));
      assert.deepEqual(await store.recordReviews(nextEntries), [true, false, true]);
      assert.equal((await store.listEvents({ reviewId: known.id, limit: 10 })).length, 1, 'the known review got no second event');
      assert.equal((await store.dialogue(known.authorId, known.id)).length, 1);

      // Two stores taking in the same overlapping pages at once: each review once.
      const shared = Array.from({ length: 12 }, () => listed());
      const other = open({ notifications: true });
      const pageOf = (from: number, to: number) =>
        shared.slice(from, to).map((review) => ({ review, state: 'new' as const, reason: null, events: [event('review.new', { reviewId: review.id })] }));
      const results = await Promise.all([store.recordReviews(pageOf(0, 8)), other.recordReviews(pageOf(4, 12)), other.recordReviews(pageOf(0, 12))]);
      const recorded = results.flat().filter(Boolean).length;
      assert.equal(recorded, 12, 'each review recorded by exactly one page');
      for (const review of shared) assert.equal((await store.listEvents({ reviewId: review.id, limit: 10 })).length, 1);
      return 0;
    });

    contractTest('branch intake: nothing kept for a branch never seen; each change kept, the rest left as it was', async ({ store, open }) => {
      const branch = '70000001057394703';
      const other = '70000001057394704';
      assert.deepEqual(await store.branchIntakes([branch, other]), new Map());
      const sweptAt = new Date('2026-03-01T10:00:00.123Z');
      await store.saveBranchIntake(branch, { sweptAt });
      assert.deepEqual((await store.branchIntakes([branch, other])).get(branch), { sweptAt, backlog: null });
      // A cursor as 2GIS sends it, kept byte for byte, with a backlog that stops at known pages (until null).
      const cursor = '2021-01-25T14:26:44.918796+07:00';
      await store.saveBranchIntake(branch, { backlog: { cursor, until: null } });
      assert.deepEqual((await store.branchIntakes([branch])).get(branch), { sweptAt, backlog: { cursor, until: null } });
      const until = new Date(0);
      await open({ notifications: false }).saveBranchIntake(branch, { backlog: { cursor: '2'.repeat(64), until } });
      assert.deepEqual((await store.branchIntakes([branch])).get(branch), { sweptAt, backlog: { cursor: '2'.repeat(64), until } });
      await store.saveBranchIntake(branch, { backlog: null, sweptAt: new Date('2026-03-02T00:00:00.000Z') });
      await store.saveBranchIntake(other, { backlog: { cursor, until: sweptAt } });
      const kept = await store.branchIntakes([branch, other, branch]);
      assert.deepEqual(kept.get(branch), { sweptAt: new Date('2026-03-02T00:00:00.000Z'), backlog: null });
      assert.deepEqual(kept.get(other), { sweptAt: null, backlog: { cursor, until: sweptAt } });
      const many = Array.from({ length: 600 }, (_, index) => `7000${String(index).padStart(6, '0')}`);
      for (const id of many.slice(0, 3)) await store.saveBranchIntake(id, { sweptAt });
      assert.equal((await store.branchIntakes(many)).size, 3, 'more ids than one statement takes');
      return 0;
    });

    contractTest('a review at the limits intake admits round-trips on every store: 128-character ids, a 64-character date, ratings 1 and 5', async ({ store }) => {
      const longest = listed({
        id: `7${'0'.repeat(127)}`,
        authorId: `u${'9'.repeat(127)}`,
        rating: 1,
        createdAt: `2024-03-01T10:00:00.${'1'.repeat(38)}+03:00`,
        branchName: 'К'.repeat(255),
        authorName: '𝄞'.repeat(127),
      });
      assert.equal(longest.createdAt.length, 64);
      const top = listed({ rating: 5 });
      assert.deepEqual(await store.recordReviews([
        { review: longest, state: 'new', reason: null, events: [event('review.new', { reviewId: longest.id, branchId: longest.branchId })] },
        { review: top, state: 'skipped', reason: 'test', events: [] },
      ]), [true, true]);
      const stored = await store.getReview(longest.id);
      assert.equal(stored?.id, longest.id);
      assert.equal(stored?.createdAt, longest.createdAt);
      assert.equal(stored?.branchName, longest.branchName);
      assert.equal(stored?.authorName, longest.authorName);
      assert.equal(stored?.authorId, longest.authorId);
      assert.equal(stored?.rating, 1);
      assert.equal((await store.getReview(top.id))?.rating, 5);
      return 0;
    });

    contractTest('claimNext with a price claims and reserves at once; short of funds it claims nothing, even racing on two stores', async ({ store, open }) => {
      await store.topUp(PRICE * 5n, null);
      const reviews = Array.from({ length: 12 }, () => listed());
      for (const review of reviews) assert.equal(await store.recordReview(review, 'new', null, []), true);
      const other = open({ notifications: true });
      const claims: { id: string; token: string }[] = [];
      let short = 0;
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          const target = worker % 2 === 0 ? store : other;
          // A claimer skips rows its racers hold (SKIP LOCKED), so it may find all that is left held for an
          // instant and see an empty queue; it looks again, as a lane does when reviews arrive.
          for (let emptyLooks = 0; ; ) {
            const token = randomUUID();
            const now = new Date();
            const claimed = await target.claimNext(token, now, lease(now), PRICE);
            if (claimed === 'insufficient') {
              short += 1;
              return;
            }
            if (claimed === null) {
              emptyLooks += 1;
              assert.ok(emptyLooks < 200, 'reviews were left and funds were short: the queue never stays empty');
              await setTimeout(1);
              continue;
            }
            assert.equal(claimed.claimToken, token);
            assert.equal(claimed.reserved, PRICE);
            claims.push({ id: claimed.id, token });
          }
        }),
      );
      assert.equal(claims.length, 5, 'exactly what the balance covers was claimed');
      assert.equal(new Set(claims.map((c) => c.id)).size, 5, 'a review was claimed twice');
      assert.equal(short, 8);
      assert.deepEqual(await store.getBalance(), { balance: PRICE * 5n, reserved: PRICE * 5n });
      const left = await Promise.all(reviews.filter((r) => !claims.some((c) => c.id === r.id)).map((r) => store.getReview(r.id)));
      for (const review of left) {
        assert.deepEqual([review?.state, review?.claimToken, review?.reserved], ['new', null, 0n], 'a review short of funds stays queued, untouched');
      }
      // With nobody racing, reviews left and no funds is always 'insufficient', never an empty queue.
      const now = new Date();
      assert.equal(await store.claimNext(randomUUID(), now, lease(now), PRICE), 'insufficient');
      for (const claim of claims) {
        assert.equal(await store.release(claim.id, claim.token, { state: 'new', reason: null }, []), true);
      }
      assert.deepEqual(await store.getBalance(), { balance: PRICE * 5n, reserved: 0n });
      return 0;
    });

    contractTest('listInFlight lists claimed, drafted and posting reviews with their tokens, nothing else', async ({ store }) => {
      await store.topUp(10_000n, null);
      const [a, b, c, d] = [listed(), listed(), listed(), listed()];
      const tokenA = await recordAndClaim(store, a!);
      const tokenB = await recordAndClaim(store, b!);
      assert.equal(await store.saveDraft(b!.id, tokenB, draft), true);
      const tokenC = await bringToPosting(store, c!);
      assert.equal(await store.recordReview(d!, 'new', null, []), true);
      const sort = (list: Array<{ id: string; claimToken: string }>) => [...list].sort((x, y) => x.id.localeCompare(y.id));
      assert.deepEqual(
        sort(await store.listInFlight()),
        sort([
          { id: a!.id, claimToken: tokenA },
          { id: b!.id, claimToken: tokenB },
          { id: c!.id, claimToken: tokenC },
        ]),
      );
      assert.equal((await store.getReview(b!.id))?.state, 'drafted');
      assert.equal((await store.getReview(c!.id))?.state, 'posting');

      assert.equal(await store.release(a!.id, tokenA, { state: 'skipped', reason: 'done' }, []), true);
      assert.equal(await store.release(b!.id, tokenB, { state: 'failed', reason: 'done' }, []), true);
      assert.ok((await store.settlePosted(c!.id, { answerId: 'x', text: 'Спасибо' }, () => [])) !== null);
      assert.deepEqual(await store.listInFlight(), []);
      const tokenD = randomUUID();
      assert.equal((await claimFree(store, tokenD, new Date(), lease(new Date())))?.id, d!.id);
      assert.equal(await store.release(d!.id, tokenD, { state: 'needs_approval', reason: 'done' }, []), true);
      return 1;
    });

    contractTest('reserve: 12.00 and price 5.00 with 5 racing claims gives exactly 2 reserves; the balance never goes negative', async ({ store, open }) => {
      assert.deepEqual(await store.topUp(1200n, 'test funds'), { balance: 1200n, reserved: 0n });
      const reviews = Array.from({ length: 5 }, () => listed());
      const claims: { review: ListedReview; token: string }[] = [];
      for (const review of reviews) {
        assert.equal(await store.recordReview(review, 'new', null, []), true);
        const token = randomUUID();
        const claimed = await claimFree(store, token, new Date(), lease(new Date()));
        assert.ok(claimed !== null);
        claims.push({ review: reviews.find((r) => r.id === claimed.id) as ListedReview, token });
      }
      const other = open({ notifications: true });
      const results = await Promise.all(claims.map((c, i) => (i % 2 === 0 ? store : other).reserve(c.review.id, c.token, PRICE)));
      assert.equal(results.filter((r) => r === 'reserved').length, 2);
      assert.equal(results.filter((r) => r === 'insufficient').length, 3);
      assert.deepEqual(await store.getBalance(), { balance: 1200n, reserved: 1000n });

      let posted = 0;
      for (const [i, claim] of claims.entries()) {
        if (results[i] === 'reserved') {
          assert.equal((await store.getReview(claim.review.id))?.reserved, PRICE);
          assert.equal(await store.beginPosting(claim.review.id, claim.token, new Date(), new Date()), true);
          const settled = await store.settlePosted(
            claim.review.id,
            { answerId: `answer-${i}`, text: 'Спасибо!' },
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
      for (;;) {
        const token = randomUUID();
        const claimed = await claimFree(store, token, new Date(), lease(new Date()));
        if (claimed === null) break;
        assert.equal(await store.reserve(claimed.id, token, PRICE), 'insufficient');
        assert.equal(await store.release(claimed.id, token, { state: 'skipped', reason: 'no funds' }, []), true);
      }
      assert.deepEqual(await store.getBalance(), { balance: 200n, reserved: 0n });
      assert.equal(await store.reserve('no-such-review', 'no-token', PRICE), 'lost');
      await assert.rejects(store.reserve(claims[0]!.review.id, claims[0]!.token, -1n), RangeError);
      return posted;
    });

    contractTest('a claim reserves once, at the price of its moment: reserving again at another price keeps it, and the settlement charges it', async ({ store }) => {
      await store.topUp(1000n, null);
      const review = listed();
      const token = await recordAndClaim(store, review);
      assert.equal(await store.reserve(review.id, token, 1100n), 'insufficient');
      assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: 0n }, 'a refused reserve holds nothing');
      assert.equal(await store.reserve(review.id, token, 0n), 'reserved', 'a zero price reserves nothing');
      assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: 0n });
      assert.equal(await store.reserve(review.id, token, 1000n), 'reserved');
      assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: 1000n });
      // The price went up (or down) since the claim: the review keeps what it holds.
      for (const price of [1500n, 300n, 0n]) {
        assert.equal(await store.reserve(review.id, token, price), 'reserved');
        assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: 1000n });
        assert.equal((await store.getReview(review.id))?.reserved, 1000n);
      }
      // All of the balance held, then settled: the charge is the reserve, and never more than the balance.
      assert.equal(await store.saveDraft(review.id, token, draft), true);
      assert.equal(await store.beginPosting(review.id, token, new Date(), new Date()), true);
      assert.deepEqual(await store.settlePosted(review.id, { answerId: 'a', text: 'Спасибо' }, () => []), { balance: 0n, charged: 1000n });
      assert.deepEqual(await store.getBalance(), { balance: 0n, reserved: 0n });
      const [charge] = await store.ledger({ limit: 1 });
      assert.deepEqual([charge?.kind, charge?.amount, charge?.balanceAfter], ['charge', -1000n, 0n]);
      return { answers: 1, charged: 1000n };
    });

    contractTest('settling twice (or concurrently) charges once; a posting review claimed while answering was free is charged nothing', async ({ store, open }) => {
      await store.topUp(2000n, null);
      const before = await store.getBalance();
      const review = listed();
      await bringToPosting(store, review);
      assert.equal((await store.getBalance()).reserved, before.reserved + PRICE);
      const other = open({ notifications: true });
      const results = await Promise.all(
        Array.from({ length: 3 }, (_, i) =>
          (i === 1 ? other : store).settlePosted(
            review.id,
            { answerId: 'ans-1', text: 'Спасибо, ждём снова! 😊' },
            postedEvents(review, 'Спасибо, ждём снова! 😊'),
          ),
        ),
      );
      const winners = results.filter((r) => r !== null);
      assert.equal(winners.length, 1);
      assert.deepEqual(winners[0], { balance: before.balance - PRICE, charged: PRICE });
      let posted = 1;
      assert.equal(
        await store.settlePosted(review.id, { answerId: 'ans-1', text: 'again' }, postedEvents(review, 'again')),
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
      assert.equal(stored?.draftText, draft.text);
      const posts = await store.listEvents({ reviewId: review.id, type: 'reply.posted', limit: 10 });
      assert.equal(posts.length, 1);
      assert.equal(posts[0]?.data.balance, formatMoney(before.balance - PRICE));
      const [charge] = await store.ledger({ limit: 1 });
      assert.equal(charge?.kind, 'charge');
      assert.equal(charge?.amount, -PRICE);
      assert.equal(charge?.reviewId, review.id);
      assert.equal(charge?.balanceAfter, before.balance - PRICE);
      assert.equal(charge?.note, null);
      assert.deepEqual(
        (await store.dialogue(review.authorId, review.id)).map((d) => [d.role, d.text]),
        [
          ['reviewer', review.text],
          ['owner', 'Спасибо, ждём снова! 😊'],
        ],
      );

      // Claimed at a price of 0.00, it holds no reserve: recorded as posted with a charge of 0.00, whatever the
      // price is by the time it settles (a price applies to the claims made after it).
      const bare = listed();
      const token = await recordAndClaim(store, bare);
      assert.equal(await store.reserve(bare.id, token, 0n), 'reserved');
      assert.equal(await store.beginPosting(bare.id, token, new Date(), new Date()), true);
      const mid = await store.getBalance();
      const balances: Array<[Kopecks, Kopecks, Kopecks]> = [];
      const settled = await store.settlePosted(bare.id, { answerId: null, text: 'Спасибо' }, (after, charged, before) => {
        balances.push([after, charged, before]);
        return [];
      });
      assert.deepEqual(settled, { balance: mid.balance, charged: 0n });
      assert.deepEqual(balances, [[mid.balance, 0n, mid.balance]], 'the events see the balance after the charge, the charge and the balance before it');
      posted += 1;
      assert.deepEqual(await store.getBalance(), mid);
      assert.equal((await store.getReview(bare.id))?.answerId, null);
      const [free] = await store.ledger({ limit: 1 });
      assert.deepEqual([free?.kind, free?.amount, free?.reviewId], ['charge', 0n, bare.id], 'the answer is on the ledger once');

      // Settling a review that is not posting does nothing and charges nothing.
      assert.equal(await store.settlePosted('no-such-review', { answerId: null, text: 'x' }, () => []), null);
      const claimedOnly = listed();
      const claimedToken = await recordAndClaim(store, claimedOnly);
      const ledgerBefore = await store.ledger({ limit: 1000 });
      assert.equal(await store.settlePosted(claimedOnly.id, { answerId: 'y', text: 'y' }, () => []), null);
      assert.equal((await store.getReview(claimedOnly.id))?.state, 'claimed');
      assert.deepEqual(await store.ledger({ limit: 1000 }), ledgerBefore);
      assert.equal(await store.release(claimedOnly.id, claimedToken, { state: 'skipped', reason: 'done' }, []), true);
      return { answers: posted, charged: PRICE };
    });

    contractTest('release returns the reserve with its events; a repeated reserve does not reserve twice', async ({ store }) => {
      await store.topUp(1000n, null);
      const before = await store.getBalance();
      const review = listed();
      const token = await recordAndClaim(store, review);
      assert.equal(await store.reserve(review.id, token, PRICE), 'reserved');
      assert.equal(await store.reserve(review.id, token, PRICE), 'reserved');
      assert.deepEqual(await store.getBalance(), { balance: before.balance, reserved: before.reserved + PRICE });
      assert.equal(await store.reserve(review.id, 'not-the-token', PRICE), 'lost');
      assert.equal(
        await store.saveDraft(review.id, token, { ...draft, text: 'Черновик', promptVersion: 3, promptTokens: null, completionTokens: null }),
        true,
      );
      assert.equal((await store.getReview(review.id))?.draftText, 'Черновик');
      assert.equal((await store.getReview(review.id))?.state, 'drafted');
      assert.equal(await store.saveDraft(review.id, 'not-the-token', draft), false);

      assert.equal(await store.release(review.id, 'not-the-token', { state: 'new', reason: null }, []), false);
      const e = event('reply.failed', { reviewId: review.id, data: { error: 'model unavailable' } });
      assert.equal(await store.release(review.id, token, { state: 'new', reason: 'model unavailable', code: 'service_failed' }, [e]), true);
      assert.deepEqual(await store.getBalance(), before);
      const stored = await store.getReview(review.id);
      assert.equal(stored?.state, 'new');
      assert.equal(stored?.reason, 'model unavailable');
      assert.equal(stored?.draftText, null, 'a review back in the queue starts from scratch');
      assert.equal(stored?.reserved, 0n);
      assert.equal(stored?.claimToken, null);
      assert.equal(stored?.leaseUntil, null);
      assert.deepEqual(
        stripSeq(await store.listEvents({ reviewId: review.id, limit: 10 })).map((x) => x.type),
        ['review.new', 'reply.failed'],
      );
      // The old token is dead.
      assert.equal(await store.reserve(review.id, token, PRICE), 'lost');
      assert.equal(await store.release(review.id, token, { state: 'skipped', reason: 'x' }, []), false);
      assert.equal(await store.beginPosting(review.id, token, new Date(), new Date()), false);

      // Claimed again: needs_approval keeps the draft and releases the reserve.
      const again = randomUUID();
      assert.equal((await claimFree(store, again, new Date(), lease(new Date())))?.id, review.id);
      assert.equal(await store.reserve(review.id, again, PRICE), 'reserved');
      assert.equal(await store.saveDraft(review.id, again, { ...draft, text: 'Второй черновик' }), true);
      assert.equal(await store.release(review.id, again, { state: 'needs_approval', reason: 'rating 2' }, []), true);
      const waiting = await store.getReview(review.id);
      assert.equal(waiting?.state, 'needs_approval');
      assert.equal(waiting?.reason, 'rating 2');
      assert.equal(waiting?.draftText, 'Второй черновик');
      assert.deepEqual(await store.getBalance(), before);
      assert.equal(await claimFree(store, randomUUID(), new Date(), lease(new Date())), null);
      return 0;
    });

    contractTest('a sent answer is not read back before it can no longer land, however its owner gave it up', async ({ store }) => {
      await store.topUp(1000n, null);
      const review = listed();
      assert.equal(await store.recordReview(review, 'new', null, []), true);
      const t0 = new Date();
      const owner = randomUUID();
      assert.equal((await claimFree(store, owner, t0, lease(t0, 1000)))?.id, review.id);
      assert.equal(await store.reserve(review.id, owner, PRICE), 'reserved');
      assert.equal(await store.saveDraft(review.id, owner, { ...draft, text: 'Спасибо' }), true);
      // The POST leaves at t0+500 and could land until t0+30s; the claim's own lease ends at t0+1s.
      assert.equal(await store.beginPosting(review.id, owner, lease(t0, 500), lease(t0, 30_000)), true);
      assert.equal(await store.claimStale(randomUUID(), lease(t0, 1000), lease(t0, MINUTE)), null, 'not when the lease ends');
      // Its owner died: the reconciler gives the claim up at once, and the hold stays.
      await store.relinquish(review.id, owner, lease(t0, 1500));
      assert.equal(await store.claimStale(randomUUID(), lease(t0, 29_999), lease(t0, MINUTE)), null, 'not before the hold ends');
      const reader = randomUUID();
      const taken = await store.claimStale(reader, lease(t0, 30_000), lease(t0, MINUTE));
      assert.equal(taken?.state, 'posting');
      // The reader dies too: its claim, which sent nothing, is given up and taken over at once.
      await store.relinquish(review.id, reader, lease(t0, 30_001));
      assert.equal((await store.claimStale(randomUUID(), lease(t0, 30_001), lease(t0, MINUTE)))?.id, review.id);
      assert.deepEqual(await store.settlePosted(review.id, { answerId: 'read-back', text: 'Спасибо' }, () => []), { balance: 1000n - PRICE, charged: PRICE });
      return 1;
    });

    contractTest('a worker whose lease expired cannot reach the POST; claimStale hands the review to a new token', async ({ store }) => {
      await store.topUp(1000n, null);
      const review = listed();
      assert.equal(await store.recordReview(review, 'new', null, []), true);
      const t0 = new Date();
      const a = randomUUID();
      assert.equal((await claimFree(store, a, t0, lease(t0, 1000)))?.id, review.id);
      assert.equal(await store.reserve(review.id, a, PRICE), 'reserved');
      assert.equal(await store.saveDraft(review.id, a, { ...draft, text: 'Спасибо' }), true);
      assert.equal(await store.claimStale(randomUUID(), lease(t0, 500), lease(t0, MINUTE)), null, 'the lease is still live');
      assert.equal(await store.beginPosting(review.id, a, lease(t0, 1000), lease(t0, 1000)), false, 'the lease ends at lease_until');
      assert.equal(await store.beginPosting(review.id, a, lease(t0, 2000), lease(t0, 2000)), false, 'an expired lease does not pass the fence');
      assert.equal((await store.getReview(review.id))?.state, 'drafted');

      const b = randomUUID();
      const taken = await store.claimStale(b, lease(t0, 1000), lease(t0, MINUTE));
      assert.equal(taken?.id, review.id, 'stale once lease_until <= now');
      assert.equal(taken?.state, 'drafted');
      assert.equal(taken?.claimToken, b);
      assert.equal(taken?.leaseUntil?.getTime(), lease(t0, MINUTE).getTime());
      assert.equal(taken?.reserved, PRICE);
      assert.equal(taken?.draftText, 'Спасибо');
      assert.equal(await store.claimStale(randomUUID(), lease(t0, 2000), lease(t0, MINUTE)), null, 'taken over once');
      assert.deepEqual(await store.listInFlight(), [{ id: review.id, claimToken: b }]);
      assert.equal(await store.saveDraft(review.id, a, { ...draft, text: 'x' }), false);
      assert.equal(await store.reserve(review.id, a, PRICE), 'lost');
      assert.equal(await store.release(review.id, a, { state: 'failed', reason: 'x' }, []), false);
      assert.equal(await store.beginPosting(review.id, a, lease(t0, 2000), lease(t0, 2000)), false);
      await store.relinquish(review.id, a, lease(t0, 2000));
      assert.equal((await store.getReview(review.id))?.leaseUntil?.getTime(), lease(t0, MINUTE).getTime(), 'a dead token cannot give up the claim');
      assert.equal(await store.reserve(review.id, b, PRICE), 'reserved', 'the reserve moved with the review');
      assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: PRICE });

      assert.equal(await store.beginPosting(review.id, b, lease(t0, 2000), lease(t0, 2000)), true);
      await store.relinquish(review.id, b, lease(t0, 3000));
      const waiting = await store.getReview(review.id);
      assert.equal(waiting?.leaseUntil?.getTime(), lease(t0, 3000).getTime());
      assert.equal(waiting?.claimToken, null, 'nobody owns it while it waits');
      assert.deepEqual(await store.listInFlight(), [], 'an unowned review is no crashed owner\'s');
      assert.equal(await store.beginPosting(review.id, b, lease(t0, 2500), lease(t0, 2500)), false, 'the old owner cannot post it any more');
      assert.equal(await store.claimStale(randomUUID(), lease(t0, 2999), lease(t0, MINUTE)), null, 'not before its time');
      const c = randomUUID();
      const reconciled = await store.claimStale(c, lease(t0, 3000), lease(t0, MINUTE));
      assert.equal(reconciled?.id, review.id);
      assert.equal(reconciled?.state, 'posting');
      assert.equal(reconciled?.postAttempts, 1);
      // Keyed on the review being in `posting`, not on the token: whoever sees the answer records it.
      const settled = await store.settlePosted(review.id, { answerId: 'found-on-read-back', text: 'Спасибо' }, () => []);
      assert.deepEqual(settled, { balance: 1000n - PRICE, charged: PRICE });
      assert.equal((await store.getBalance()).reserved, 0n);
      assert.equal(await store.release(review.id, c, { state: 'failed', reason: 'late' }, []), false, 'settled reviews are out of work');
      assert.equal((await store.getReview(review.id))?.state, 'posted');
      return 1;
    });

    contractTest('events and the outbox keep their order; markDelivered removes delivered events', async ({ store }) => {
      const e1 = event('review.new', {
        at: '2030-01-01T00:00:00.001Z',
        reviewId: 'r-1',
        branchId: 'b-1',
        data: { rating: 5, text: 'Всё 👍', nested: { list: [1, 'two', null], flag: true } },
      });
      const e2 = event('balance.low', { at: '2030-01-02T00:00:00.000Z', data: { balance: '40.00' } });
      const e3 = event('review.skipped', {
        at: '2030-01-03T00:00:00.123Z',
        reviewId: 'r-2',
        branchId: 'b-2',
        data: { reason: "it's \"quoted\"" },
      });
      await store.appendEvents([e1, e2, e3]);
      await store.appendEvents([]);

      const pending = await store.pendingOutbox(10);
      assert.deepEqual(stripSeq(pending), [e1, e2, e3]);
      assert.ok((pending[0]?.seq ?? 0) < (pending[1]?.seq ?? 0) && (pending[1]?.seq ?? 0) < (pending[2]?.seq ?? 0));
      assert.deepEqual(stripSeq(await store.pendingOutbox(2)), [e1, e2]);
      assert.deepEqual(await store.pendingOutbox(0), []);

      await store.markDelivered([e1.id, e2.id, e1.id]);
      await store.markDelivered([]);
      await store.markDelivered(['no-such-event']);
      assert.deepEqual(stripSeq(await store.pendingOutbox(10)), [e3]);

      // At least once: appending an event again stores and queues nothing new.
      await store.appendEvents([e1]);
      assert.deepEqual(stripSeq(await store.pendingOutbox(10)), [e3]);
      assert.equal((await store.listEvents({ reviewId: 'r-1', limit: 10 })).length, 1);

      // Events stored with a state change queue behind the earlier ones.
      const review = listed();
      const e4 = event('review.new', { reviewId: review.id, branchId: review.branchId });
      assert.equal(await store.recordReview(review, 'new', null, [e4]), true);
      const token = randomUUID();
      assert.equal((await claimFree(store, token, new Date(), lease(new Date())))?.id, review.id);
      const e5 = event('review.skipped', { reviewId: review.id, data: { big: 12345678901234567890n } as Record<string, unknown> });
      assert.equal(await store.release(review.id, token, { state: 'skipped', reason: 'x' }, [e5]), true);
      const queued = await store.pendingOutbox(10);
      assert.deepEqual(queued.map((e) => e.id), [e3.id, e4.id, e5.id]);
      assert.deepEqual(queued[2]?.data, { big: '12345678901234567890' }, 'bigint data is stored as a string');

      // Times come back as UTC ISO strings of the same instant.
      const offset = event('auth.failed', { at: '2030-06-01T03:00:00+03:00' });
      await store.appendEvents([offset]);
      assert.equal((await store.listEvents({ type: 'auth.failed', limit: 1 }))[0]?.at, '2030-06-01T00:00:00.000Z');
      await assert.rejects(store.appendEvents([event('auth.failed', { at: 'not a time' })]), RangeError);

      // A lot at once, in order.
      const bulk = Array.from({ length: 1100 }, (_, i) => event('balance.low', { data: { i } }));
      await store.appendEvents(bulk);
      const all = await store.pendingOutbox(5000);
      assert.equal(all.length, 3 + 1 + bulk.length);
      assert.deepEqual(all.slice(4).map((e) => e.id), bulk.map((e) => e.id));
      await store.markDelivered(all.map((e) => e.id));
      assert.deepEqual(await store.pendingOutbox(10), []);
      await drainOutbox(store);
      return 0;
    });

    contractTest('deferDelivery holds an event back and counts its attempts; the ones behind it stay due', async ({ store }) => {
      assert.deepEqual(await store.outboxStatus(), { pending: 0, nextDueAt: null });
      const [e1, e2, e3] = [event('review.new'), event('reply.posted'), event('review.skipped')];
      await store.appendEvents([e1, e2, e3]);
      const now = new Date('2030-01-01T00:00:00.000Z');
      assert.deepEqual(await store.outboxStatus(), { pending: 3, nextDueAt: new Date(0) });
      const fresh = await store.pendingOutbox(10, now);
      assert.deepEqual(fresh.map((e) => [e.id, e.attempts, e.retryAt]), [[e1.id, 0, null], [e2.id, 0, null], [e3.id, 0, null]]);

      const later = new Date('2030-01-01T00:00:05.250Z');
      await store.deferDelivery([{ id: e1.id, retryAt: later }, { id: e3.id, retryAt: new Date('2030-01-01T00:01:00.000Z') }]);
      await store.deferDelivery([]);
      await store.deferDelivery([{ id: 'no-such-event', retryAt: later }]);
      assert.deepEqual((await store.pendingOutbox(10, now)).map((e) => e.id), [e2.id], 'only what is due, in order');
      assert.deepEqual((await store.pendingOutbox(1, now)).map((e) => e.id), [e2.id], 'the limit counts due events only');
      assert.deepEqual((await store.pendingOutbox(10, later)).map((e) => e.id), [e1.id, e2.id], 'due at its retry time');
      const all = await store.pendingOutbox(10);
      assert.deepEqual(all.map((e) => [e.id, e.attempts, e.retryAt?.toISOString() ?? null]), [
        [e1.id, 1, later.toISOString()],
        [e2.id, 0, null],
        [e3.id, 1, '2030-01-01T00:01:00.000Z'],
      ]);
      assert.deepEqual(stripSeq(all), [e1, e2, e3]);
      assert.deepEqual(await store.outboxStatus(), { pending: 3, nextDueAt: new Date(0) });

      await store.deferDelivery([{ id: e1.id, retryAt: new Date('2030-01-01T00:00:30.000Z') }]);
      assert.equal((await store.pendingOutbox(10)).find((e) => e.id === e1.id)?.attempts, 2);
      await store.markDelivered([e2.id]);
      assert.deepEqual(await store.outboxStatus(), { pending: 2, nextDueAt: new Date('2030-01-01T00:00:30.000Z') });
      await store.markDelivered([e1.id, e3.id]);
      assert.deepEqual(await store.outboxStatus(), { pending: 0, nextDueAt: null });
      await assert.rejects(store.deferDelivery([{ id: e1.id, retryAt: new Date(Number.NaN) }]), RangeError);
      return 0;
    });

    contractTest('listEvents: cursor, last N ascending, and filters by type, review, branch and time', async ({ store }) => {
      const e1 = event('review.new', { at: '2030-01-01T00:00:00.001Z', reviewId: 'r-1', branchId: 'b-1' });
      const e2 = event('balance.low', { at: '2030-01-02T00:00:00.000Z', data: { balance: '40.00' } });
      const e3 = event('review.skipped', { at: '2030-01-03T00:00:00.123Z', reviewId: 'r-2', branchId: 'b-2' });
      const e4 = event('review.new', { at: '2030-01-04T00:00:00.000Z', reviewId: 'r-3', branchId: 'b-1' });
      await store.appendEvents([e1, e2]);
      await store.appendEvents([e3, e4]);
      const stored = await store.listEvents({ limit: 100 });
      assert.deepEqual(stripSeq(stored), [e1, e2, e3, e4]);
      const [s1, , , s4] = stored.map((e) => e.seq);
      assert.deepEqual(stripSeq(await store.listEvents({ afterSeq: s1, limit: 10 })), [e2, e3, e4]);
      assert.deepEqual(stripSeq(await store.listEvents({ afterSeq: s1, limit: 1 })), [e2]);
      assert.deepEqual(stripSeq(await store.listEvents({ afterSeq: 0, limit: 2 })), [e1, e2]);
      assert.deepEqual(stripSeq(await store.listEvents({ limit: 2 })), [e3, e4], 'the last events, ascending');
      assert.deepEqual(stripSeq(await store.listEvents({ type: 'balance.low', limit: 10 })), [e2]);
      assert.deepEqual(stripSeq(await store.listEvents({ type: 'review.new', limit: 10 })), [e1, e4]);
      assert.deepEqual(stripSeq(await store.listEvents({ type: 'review.new', limit: 1 })), [e4]);
      assert.deepEqual(stripSeq(await store.listEvents({ reviewId: 'r-2', limit: 10 })), [e3]);
      assert.deepEqual(stripSeq(await store.listEvents({ branchId: 'b-1', limit: 10 })), [e1, e4]);
      assert.deepEqual(stripSeq(await store.listEvents({ branchId: 'b-1', afterSeq: s1, limit: 10 })), [e4]);
      assert.deepEqual(
        stripSeq(await store.listEvents({ since: new Date('2030-01-02T00:00:00.000Z'), limit: 10 })),
        [e2, e3, e4],
        'since is inclusive',
      );
      assert.deepEqual(
        stripSeq(await store.listEvents({ since: new Date('2030-01-02T00:00:00.001Z'), type: 'review.new', limit: 10 })),
        [e4],
      );
      assert.deepEqual(await store.listEvents({ afterSeq: s4, limit: 10 }), []);
      assert.deepEqual(await store.listEvents({ type: 'no.such.type', limit: 10 }), []);
      assert.deepEqual(await store.listEvents({ limit: 0 }), []);
      assert.deepEqual(await store.listEvents({ limit: -5 }), []);
      await drainOutbox(store);
      return 0;
    });

    contractTest('a store given a redactor masks the secrets in every string of event data it stores and queues', async ({ open }) => {
      const secret = 'sentinel-secret-4d2a';
      const masking = open({ notifications: true, redact: createRedactor([secret]) });
      const review = listed({ text: `ключ ${secret}` });
      const single = event('review.new', { reviewId: review.id, data: { text: `ключ ${secret}`, nested: { list: [secret, 5] }, rating: 5 } });
      assert.equal(await masking.recordReview(review, 'new', null, [single]), true);
      // A page goes in with one statement per table on MySQL: its events are masked too.
      const page = [listed(), listed()].map((item) => ({
        review: item,
        state: 'skipped' as const,
        reason: 'hidden on 2GIS',
        events: [event('review.skipped', { reviewId: item.id, branchId: item.branchId, data: { reason: `${secret}${secret}` } })],
      }));
      assert.deepEqual(await masking.recordReviews(page), [true, true]);
      await masking.appendEvents([event('auth.failed', { data: { error: `login refused for "${secret}"` } })]);

      const stored = await masking.listEvents({ limit: 10 });
      const queued = await masking.pendingOutbox(10);
      assert.equal(stored.length, 4);
      assert.equal(queued.length, 4);
      for (const events of [stored, queued]) assert.ok(!JSON.stringify(events).includes(secret), 'a secret was stored');
      assert.deepEqual(stored.find((e) => e.id === single.id)!.data, { text: 'ключ ***', nested: { list: ['***', 5] }, rating: 5 });
      assert.deepEqual(stored.find((e) => e.type === 'auth.failed')!.data, { error: 'login refused for "***"' });
      await drainOutbox(masking);
      return 0;
    });

    contractTest('notifications: false stores events but queues nothing in the outbox', async ({ store, open }) => {
      const quiet = open({ notifications: false });
      await quiet.topUp(1000n, null);
      const e = event('auth.failed', { data: { status: 401 } });
      await quiet.appendEvents([e]);
      const review = listed();
      const reviewEvent = event('review.new', { reviewId: review.id });
      assert.equal(await quiet.recordReview(review, 'new', null, [reviewEvent]), true);
      const token = randomUUID();
      assert.equal((await claimFree(quiet, token, new Date(), lease(new Date())))?.id, review.id);
      assert.equal(await quiet.reserve(review.id, token, PRICE), 'reserved');
      assert.equal(await quiet.beginPosting(review.id, token, new Date(), new Date()), true);
      const postedEvent = event('reply.posted', { reviewId: review.id });
      assert.ok((await quiet.settlePosted(review.id, { answerId: 'q', text: 'Спасибо' }, () => [postedEvent])) !== null);
      assert.deepEqual(await quiet.pendingOutbox(10), []);
      assert.deepEqual(await store.pendingOutbox(10), []);
      assert.deepEqual(stripSeq(await store.listEvents({ limit: 10 })), [e, reviewEvent, postedEvent]);

      // The same database with notifications on queues what it stores from then on.
      const loud = event('balance.low', { data: { balance: '5.00' } });
      await store.appendEvents([loud]);
      assert.deepEqual(stripSeq(await quiet.pendingOutbox(10)), [loud]);
      await drainOutbox(store);
      return 1;
    });

    contractTest('top-ups and charges are in the append-only ledger, newest first, and the balance is their sum', async ({ store }) => {
      assert.deepEqual(await store.getBalance(), { balance: 0n, reserved: 0n });
      const first = await store.topUp(10_000n, 'пополнение 💰 \'; --');
      assert.deepEqual(first, { balance: 10_000n, reserved: 0n });
      const second = await store.topUp(50n, null);
      assert.deepEqual(second, { balance: 10_050n, reserved: 0n });
      const [newest, older] = await store.ledger({ limit: 2 });
      assert.equal(newest?.kind, 'topup');
      assert.equal(newest?.amount, 50n);
      assert.equal(newest?.balanceAfter, second.balance);
      assert.equal(newest?.note, null);
      assert.equal(newest?.reviewId, null);
      assert.equal(older?.amount, 10_000n);
      assert.equal(older?.note, 'пополнение 💰 \'; --');
      assert.equal(older?.balanceAfter, first.balance);
      assert.ok((newest?.id ?? 0) > (older?.id ?? 0));
      assert.ok(newest?.at instanceof Date && Math.abs(newest.at.getTime() - Date.now()) < MINUTE);
      const snapshot = await store.ledger({ limit: 1000 });

      // A reserve is not a ledger entry; a charge is.
      const review = listed();
      await bringToPosting(store, review);
      assert.deepEqual(await store.ledger({ limit: 1000 }), snapshot);
      assert.deepEqual(await store.getBalance(), { balance: 10_050n, reserved: PRICE });
      assert.ok((await store.settlePosted(review.id, { answerId: 'z', text: 'Спасибо' }, () => [])) !== null);
      const third = await store.topUp(1n, 'one kopeck');
      assert.deepEqual(third, { balance: 10_050n - PRICE + 1n, reserved: 0n });

      const all = await store.ledger({ limit: 1000 });
      assert.equal(all.length, 4);
      assert.deepEqual(all.slice(2), snapshot, 'earlier entries never change');
      assert.deepEqual(
        all.map((e) => [e.kind, e.amount]),
        [
          ['topup', 1n],
          ['charge', -PRICE],
          ['topup', 50n],
          ['topup', 10_000n],
        ],
      );
      // Every entry's balance follows from the one before it, and the balance is the sum.
      const ascending = [...all].reverse();
      let running = 0n;
      for (const entry of ascending) {
        running += entry.amount;
        assert.equal(entry.balanceAfter, running);
      }
      assert.equal(running, third.balance);
      assert.deepEqual(await store.getBalance(), third);

      const since = await store.ledger({ since: older?.at ?? new Date(), limit: 100 });
      assert.ok(since.length >= 3 && since.every((e) => e.at.getTime() >= (older?.at.getTime() ?? 0)));
      assert.deepEqual(await store.ledger({ since: new Date(Date.now() + MINUTE), limit: 100 }), []);
      assert.deepEqual(await store.ledger({ limit: 0 }), []);
      assert.deepEqual((await store.ledger({ limit: 1 })).map((e) => e.amount), [1n]);

      await assert.rejects(store.topUp(0n, null), RangeError);
      await assert.rejects(store.topUp(-100n, null), RangeError);
      await assert.rejects(store.topUp(10n ** 14n, null), RangeError);
      const largest = 10n ** 14n - 1n; // 999 999 999 999.99
      await store.topUp(largest - third.balance, 'up to the largest balance');
      assert.equal((await store.getBalance()).balance, largest, 'large amounts stay exact');
      await assert.rejects(
        store.topUp(1n, null),
        (error: GisbotError) => error.exitCode === 2 && /a top-up of 0\.01 would take the balance past 999999999999\.99/.test(error.message),
        'beyond the largest balance: a usage error, not a raw database one',
      );
      assert.equal((await store.getBalance()).balance, largest);
      return 1;
    });

    contractTest('prompt versions are kept and deduplicated against the latest', async ({ store }) => {
      assert.equal(await store.latestPrompt(), null);
      const a = 'Ты отвечаешь на отзывы. «Кавычки», \'апострофы\', \\ и 🙂';
      const v1 = await store.savePromptVersion(a);
      assert.equal(v1.version, 1);
      assert.equal(v1.text, a);
      assert.ok(v1.createdAt instanceof Date);
      const again = await store.savePromptVersion(a);
      assert.equal(again.version, 1);
      assert.equal(again.createdAt.getTime(), v1.createdAt.getTime());
      const v2 = await store.savePromptVersion(`${a}\nещё строка`);
      assert.equal(v2.version, 2);
      assert.equal((await store.latestPrompt())?.version, 2);
      const v3 = await store.savePromptVersion(a);
      assert.equal(v3.version, 3, 'going back to an older text is a new version');
      const latest = await store.latestPrompt();
      assert.equal(latest?.version, 3);
      assert.equal(latest?.text, a);
      assert.equal(latest?.createdAt.getTime(), v3.createdAt.getTime());
      assert.equal((await store.savePromptVersion(`${a} `)).version, 4, 'one space is a change');
      assert.equal((await store.savePromptVersion('')).version, 5);
      assert.equal((await store.savePromptVersion('')).version, 5);
      return 0;
    });

    contractTest('prompt history: every version newest first, any one by number', async ({ store }) => {
      assert.deepEqual(await store.listPromptVersions(10), []);
      assert.equal(await store.getPromptVersion(1), null);
      const texts = ['первый «промпт» 🙂', 'второй\nс переводом строки', 'первый «промпт» 🙂'];
      for (const text of texts) await store.savePromptVersion(text);
      const all = await store.listPromptVersions(10);
      assert.deepEqual(all.map((v) => [v.version, v.text]), [[3, texts[2]], [2, texts[1]], [1, texts[0]]]);
      assert.ok(all.every((v) => v.createdAt instanceof Date && !Number.isNaN(v.createdAt.getTime())));
      assert.deepEqual((await store.listPromptVersions(2)).map((v) => v.version), [3, 2]);
      assert.deepEqual(await store.listPromptVersions(0), []);
      const second = await store.getPromptVersion(2);
      assert.equal(second?.text, texts[1]);
      assert.equal(second?.createdAt.getTime(), all[1]!.createdAt.getTime());
      for (const missing of [0, -1, 4, 1.5, Number.NaN]) assert.equal(await store.getPromptVersion(missing), null, `version ${missing}`);
      return 0;
    });

    contractTest('listReviewsInState: the reviews resting in one state, oldest first', async ({ store }) => {
      const late = listed({ createdAt: '2024-04-02T10:00:00+03:00', rating: 1 });
      const early = listed({ createdAt: '2024-04-01T10:00:00+07:00', rating: 2 });
      const other = listed({ createdAt: '2024-03-01T10:00:00Z' });
      assert.equal(await store.recordReview(late, 'needs_approval', 'rated 1', []), true);
      assert.equal(await store.recordReview(early, 'needs_approval', 'rated 2', []), true);
      assert.equal(await store.recordReview(other, 'skipped', 'hidden on 2GIS', []), true);
      const queue = await store.listReviewsInState('needs_approval', 10);
      assert.deepEqual(queue.map((r) => [r.id, r.reason, r.rating]), [[early.id, 'rated 2', 2], [late.id, 'rated 1', 1]]);
      assert.deepEqual(queue[0], await store.getReview(early.id));
      assert.deepEqual((await store.listReviewsInState('needs_approval', 1)).map((r) => r.id), [early.id]);
      assert.deepEqual((await store.listReviewsInState('skipped', 10)).map((r) => r.id), [other.id]);
      assert.deepEqual(await store.listReviewsInState('posted', 10), []);
      assert.deepEqual(await store.listReviewsInState('needs_approval', 0), []);
      return 0;
    });

    contractTest('dialogue: the review and our answer, keyed by author and review, oldest first', async ({ store }) => {
      await store.topUp(2000n, null);
      const first = listed({ authorId: 'author-1', createdAt: '2024-05-01T10:00:00Z' });
      await bringToPosting(store, first);
      assert.ok((await store.settlePosted(first.id, { answerId: 'a1', text: 'Спасибо, Анна!' }, () => [])) !== null);
      const history = await store.dialogue('author-1', first.id);
      assert.deepEqual(
        history.map((d) => [d.role, d.text]),
        [
          ['reviewer', first.text],
          ['owner', 'Спасибо, Анна!'],
        ],
      );
      assert.equal(history[0]?.at.getTime(), new Date('2024-05-01T10:00:00Z').getTime(), 'the review is dated when written');
      assert.ok(history[1]?.at instanceof Date && history[1].at.getTime() > history[0]!.at.getTime());

      // Another review by the same author is another conversation; another author's is not ours.
      const second = listed({ authorId: 'author-1' });
      assert.equal(await store.recordReview(second, 'skipped', 'no text', []), true);
      assert.deepEqual((await store.dialogue('author-1', second.id)).map((d) => d.role), ['reviewer']);
      assert.deepEqual(await store.dialogue('author-2', first.id), []);
      assert.deepEqual(await store.dialogue(null, first.id), []);
      assert.deepEqual(await store.dialogue('author-1', 'no-such-review'), []);

      // An anonymous author's answer is kept under ''.
      const anonymous = listed({ authorId: null });
      await bringToPosting(store, anonymous);
      assert.ok((await store.settlePosted(anonymous.id, { answerId: 'a2', text: 'Спасибо!' }, () => [])) !== null);
      assert.deepEqual(
        (await store.dialogue(null, anonymous.id)).map((d) => [d.role, d.text]),
        [
          ['reviewer', anonymous.text],
          ['owner', 'Спасибо!'],
        ],
      );
      return 2;
    });

    contractTest('times: a created_at that cannot be read is kept as text and queued as of when it was recorded', async ({ store }) => {
      const odd = listed({ createdAt: 'вчера' });
      const dated = listed({ createdAt: '2001-01-01T00:00:00Z' });
      assert.equal(await store.recordReview(odd, 'new', null, []), true);
      assert.equal(await store.recordReview(dated, 'new', null, []), true);
      assert.equal((await store.getReview(odd.id))?.createdAt, 'вчера');
      // Newest first: recorded now, the unreadable one comes before a review of 2001.
      const first = randomUUID();
      const claimed = await claimFree(store, first, new Date(), lease(new Date()));
      assert.equal(claimed?.id, odd.id);
      assert.equal(claimed?.createdAt, 'вчера');
      const second = randomUUID();
      assert.equal((await claimFree(store, second, new Date(), lease(new Date())))?.id, dated.id);
      await assert.rejects(claimFree(store, randomUUID(), new Date(Number.NaN), lease(new Date())), RangeError);
      await assert.rejects(store.beginPosting(odd.id, first, new Date(Number.NaN), new Date(Number.NaN)), RangeError);
      assert.equal(await store.release(odd.id, first, { state: 'skipped', reason: 'x' }, []), true);
      assert.equal(await store.release(dated.id, second, { state: 'skipped', reason: 'x' }, []), true);
      return 0;
    });

    contractTest('recentAnswers: our answers to one branch, posted or sent with an unseen outcome, newest first; a draft is none', async ({ store }) => {
      await store.topUp(10_000n, null);
      const branchId = '70000001099900001';
      const first = listed({ branchId });
      await bringToPosting(store, first);
      assert.notEqual(await store.settlePosted(first.id, { answerId: 'a-1', text: 'Первый ответ' }, postedEvents(first, 'Первый ответ')), null);
      const second = listed({ branchId });
      const secondToken = await recordAndClaim(store, second);
      assert.equal(await store.reserve(second.id, secondToken, PRICE), 'reserved');
      assert.equal(await store.saveDraft(second.id, secondToken, { ...draft, text: 'Второй ответ 🎉 \'; --' }), true);
      const elsewhere = listed({ branchId: '70000001099900002' });
      await bringToPosting(store, elsewhere);
      await store.settlePosted(elsewhere.id, { answerId: 'a-2', text: 'Другой филиал' }, postedEvents(elsewhere, 'Другой филиал'));
      assert.equal(await store.recordReview(listed({ branchId }), 'needs_approval', 'rated 1', []), true);

      assert.deepEqual(await store.recentAnswers(branchId, 10), ['Первый ответ'], 'a draft not sent is no answer');
      assert.equal(await store.beginPosting(second.id, secondToken, new Date(), new Date()), true);
      assert.deepEqual(await store.recentAnswers(branchId, 10), ['Второй ответ 🎉 \'; --', 'Первый ответ'], 'a sent answer may be out there');
      assert.deepEqual(await store.recentAnswers(branchId, 1), ['Второй ответ 🎉 \'; --']);
      assert.deepEqual(await store.recentAnswers('70000001099900003', 10), []);
      // 2GIS answered 429: nothing was posted, and the review went back to the queue.
      assert.equal(await store.release(second.id, secondToken, { state: 'new', reason: '2GIS answered 429' }, []), true);
      assert.deepEqual(await store.recentAnswers(branchId, 10), ['Первый ответ'], 'an answer 2GIS did not take is no answer');
      return 2;
    });

    contractTest("the owner's voice: examples kept once per review, the branch's first and newest first, removed answers never read; decisions counted by period", async ({ store, open }) => {
      const branch = '70000001099900011';
      const other = '70000001099900012';
      const at = (minute: number) => new Date(Date.UTC(2024, 2, 1, 10, minute));
      const example = (reviewId: string, branchId: string, minute: number, weight: VoiceWeight = 'corrected'): VoiceExample => ({
        reviewId,
        branchId,
        rating: 2,
        reviewText: `Кофе остыл ☕ '; DROP TABLE voice_examples; -- ${reviewId}`,
        answerText: `{name}, простите нас за холодный кофе, мы поговорили с бариста ${reviewId}`,
        weight,
        at: at(minute),
      });
      const [a, b, c, d] = [example('v-1', branch, 1), example('v-2', other, 9), example('v-3', branch, 5, 'elsewhere'), example('v-4', branch, 3)];
      assert.equal(await store.keepVoiceExamples([a, b]), 2);
      assert.equal(await open({ notifications: true }).keepVoiceExamples([{ ...a, answerText: 'другой текст' }, c, d]), 2, 'one example per review');
      const read = await store.voiceExamples({ branchId: branch, limit: 10 });
      assert.deepEqual(read.map((row) => row.reviewId), ['v-3', 'v-4', 'v-1', 'v-2'], "the branch's first, newest first");
      assert.deepEqual(read[2], { ...a, vector: null }, 'kept as given, the first version');
      assert.deepEqual((await store.voiceExamples({ branchId: branch, limit: 2 })).map((row) => row.reviewId), ['v-3', 'v-4']);
      assert.deepEqual((await store.voiceExamples({ branchId: other, limit: 2, excludeReviewId: 'v-2' })).map((row) => row.reviewId), ['v-3', 'v-4']);

      const vector = [0.125, -1e-7, 0.3333333333333333, 1];
      await store.saveVoiceVectors('embed-small', [{ reviewId: 'v-1', vector }]);
      const withVectors = await store.voiceExamples({ branchId: branch, limit: 10, embeddingModel: 'embed-small' });
      assert.deepEqual(withVectors.find((row) => row.reviewId === 'v-1')?.vector, vector, 'the vector as computed');
      assert.equal(withVectors.find((row) => row.reviewId === 'v-3')?.vector, null);
      assert.equal((await store.voiceExamples({ branchId: branch, limit: 10, embeddingModel: 'embed-large' })).find((row) => row.reviewId === 'v-1')?.vector, null, "another model's vector is no vector");

      await store.appendEvents([event('reply.removed' as EventType, { reviewId: 'v-3', branchId: branch })]);
      assert.deepEqual((await store.voiceExamples({ branchId: branch, limit: 10 })).map((row) => row.reviewId), ['v-4', 'v-1', 'v-2'], 'an answer 2GIS removed is no example');

      // What a person did with the drafts shown, counted with the facts of the reviews' period, per branch.
      const decidedBranch = '70000001099900013';
      const [r1, r2, r3, r4] = [1, 2, 3, 4].map(() => listed({ branchId: decidedBranch, createdAt: '2024-03-05T12:00:00.000+03:00' }));
      const outside = listed({ branchId: decidedBranch, createdAt: '2024-04-05T12:00:00.000+03:00' });
      for (const review of [r1!, r2!, r3!, r4!, outside]) assert.equal(await store.recordReview(review, 'needs_approval', 'rated 1', []), true);
      const decide = (review: ListedReview, kind: DraftDecision['kind'], share: number | null) =>
        store.recordDecision({ reviewId: review.id, branchId: decidedBranch, kind, share, at: at(30) });
      await decide(r1!, 'regenerated', null);
      await decide(r1!, 'regenerated', null);
      await decide(r1!, 'untouched', 0);
      await decide(r2!, 'edited', 0.25);
      await decide(r3!, 'regenerated', null);
      await decide(r3!, 'rewritten', 0.8);
      await decide(r4!, 'edited', 0.5);
      await decide(outside, 'rewritten', 1);
      const facts = (await store.reviewFacts({ from: new Date('2024-03-01T00:00:00Z'), to: new Date('2024-04-01T00:00:00Z'), branchId: decidedBranch }))[0]!;
      assert.deepEqual(
        [facts.untouched, facts.edited, facts.rewritten, facts.regenerated, facts.changedPermille],
        [1, 2, 1, 3, 1550],
        'the period\'s reviews only',
      );
      const all = (await store.reviewFacts({ branchId: decidedBranch }))[0]!;
      assert.deepEqual([all.rewritten, all.changedPermille], [2, 2550]);

      // The report's trend of them, week by week: each decision in its review's week.
      const later = listed({ branchId: decidedBranch, createdAt: '2024-03-12T12:00:00.000+03:00' });
      assert.equal(await store.recordReview(later, 'needs_approval', 'rated 1', []), true);
      await decide(later, 'untouched', 0);
      const trend = await reportData(store, { from: new Date('2024-03-03T00:00:00Z'), to: new Date('2024-03-17T00:00:00Z') }, at(40));
      assert.deepEqual(
        trend.weeks.map((week) => week.decisions),
        [
          { untouched: 1, edited: 2, rewritten: 1, regenerated: 3, editedShare: 0.388 },
          { untouched: 1, edited: 0, rewritten: 0, regenerated: 0, editedShare: 0 },
        ],
      );
      assert.deepEqual(trend.branchWeeks.get(decidedBranch)?.map((week) => week.decisions.untouched), [1, 1]);
      return 0;
    });

    contractTest('requeueFailed: a failure that can pass goes back to the queue when its retry time comes or the model settings change', async ({ store }) => {
      const now = new Date();
      const later = new Date(now.getTime() + 10 * MINUTE);
      const [due, waiting, exhausted, refused, personTried] = [listed(), listed(), listed(), listed(), listed()];
      const fail = async (review: ListedReview, retry: FailureRetry | null) => {
        const token = await recordAndClaim(store, review);
        assert.equal(await store.release(review.id, token, { state: 'failed', reason: 'the model failed: 404', retry }, []), true);
      };
      await fail(due, { settings: 'A', tries: 1, at: now });
      await fail(waiting, { settings: 'A', tries: 2, at: later });
      await fail(exhausted, { settings: 'A', tries: 5, at: null });
      await fail(refused, null);
      await fail(personTried, { settings: 'A', tries: 1, at: later });
      const kept = (await store.getReview(waiting.id))!;
      assert.deepEqual([kept.state, kept.failedTries, kept.retryAt?.getTime()], ['failed', 2, later.getTime()]);

      // A person's try that did not post (no retry given) leaves the review's retry as it was.
      const token = randomUUID();
      assert.ok(await store.claimReview(personTried.id, token, now, lease(now)));
      assert.equal(await store.release(personTried.id, token, { state: 'failed', reason: '2GIS answered 429' }, []), true);
      assert.equal((await store.getReview(personTried.id))?.retryAt?.getTime(), later.getTime());

      const state = async (review: ListedReview) => {
        const stored = (await store.getReview(review.id))!;
        return [stored.state, stored.failedTries];
      };
      assert.equal(await store.requeueFailed(now, 'A'), 1, 'due now, under the same settings');
      assert.deepEqual(await state(due), ['new', 1], 'its tries go on counting');
      assert.deepEqual(await state(waiting), ['failed', 2]);
      assert.equal(await store.requeueFailed(now, 'A'), 0);
      assert.equal(await store.requeueFailed(now, 'B'), 3, 'the model settings changed: every failure that can pass, at once');
      assert.deepEqual(await state(waiting), ['new', 0], 'its tries count anew');
      assert.deepEqual(await state(exhausted), ['new', 0]);
      assert.deepEqual(await state(personTried), ['new', 0]);
      assert.deepEqual(await state(refused), ['failed', 0], 'a failure kept without retry waits for a person');
      assert.equal(await store.requeueFailed(later, 'C'), 0);
      await assert.rejects(store.requeueFailed(new Date(Number.NaN), 'A'), RangeError);
      for (const review of [due, waiting, exhausted, personTried]) {
        const again = randomUUID();
        assert.ok(await store.claimReview(review.id, again, now, lease(now)));
        assert.equal(await store.release(review.id, again, { state: 'skipped', reason: 'done' }, []), true);
      }
      return 0;
    });

    contractTest('follow-ups: recorded once, claimed by one, fenced, finished with the dialogue history', async ({ store, open }) => {
      const review = listed({ authorId: 'author-77' });
      assert.equal(await store.recordReview(review, 'new', null, []), true);
      const followUp = {
        commentId: `c-${review.id}`,
        reviewId: review.id,
        branchId: review.branchId,
        authorId: review.authorId,
        text: "А парковка есть? 🚗 \\ '; DROP TABLE follow_ups; --",
        createdAt: '2024-03-02T10:00:00.5+03:00',
      };
      const other = open({ notifications: true });
      const recorded = await Promise.all([store, other, store].map((s) => s.recordFollowUp(followUp, [event('followup.new', { reviewId: review.id })])));
      assert.deepEqual(recorded.filter(Boolean).length, 1, 'recorded once');
      assert.equal((await store.listEvents({ type: 'followup.new', limit: 10 })).length, 1);
      assert.deepEqual(await store.getFollowUp(followUp.commentId), {
        ...followUp,
        state: 'new',
        reason: null,
        reasonCode: null,
        claimToken: null,
        leaseUntil: null,
        answerId: null,
        answerText: null,
      });

      const now = new Date();
      const claims = await Promise.all([store, other, store, other].map((s) => s.claimFollowUp(randomUUID(), now, lease(now))));
      const winners = claims.filter((claim) => claim !== null);
      assert.equal(winners.length, 1, 'one claimer wins');
      const token = winners[0]!.claimToken!;
      assert.equal(winners[0]!.state, 'claimed');
      assert.equal(await store.claimFollowUp(randomUUID(), now, lease(now)), null, 'nothing else to claim');
      assert.equal(await store.beginFollowUpPosting(followUp.commentId, 'not-the-token', now, now), false);
      assert.equal(await store.beginFollowUpPosting(followUp.commentId, token, new Date(now.getTime() + 2 * MINUTE), new Date(now.getTime() + 2 * MINUTE)), false, 'an expired lease cannot post');

      // Back to the queue, then claimed again; a lease that ended hands a `posting` one over as `posting`.
      assert.equal(await store.finishFollowUp(followUp.commentId, token, { state: 'new', reason: 'model unavailable', code: 'service_failed' }, []), true);
      const second = (await store.claimFollowUp(randomUUID(), now, lease(now)))!;
      assert.equal(second.state, 'claimed');
      assert.equal(await store.beginFollowUpPosting(followUp.commentId, second.claimToken!, now, now), true);
      const later = new Date(now.getTime() + 2 * MINUTE);
      const takeover = (await store.claimFollowUp(randomUUID(), later, lease(later)))!;
      assert.equal(takeover.state, 'posting', 'whoever takes it over knows a comment may be out there');
      assert.equal(
        await store.finishFollowUp(followUp.commentId, second.claimToken!, { state: 'posted', answerId: 'x', text: 'x', draft: null }, []),
        false,
        'the stale token cannot finish it',
      );
      const answer = 'Да, парковка во дворе 🚗';
      assert.equal(
        await store.finishFollowUp(
          followUp.commentId,
          takeover.claimToken!,
          { state: 'posted', answerId: 'our-comment', text: answer, draft: { model: 'm', promptVersion: 1, promptTokens: 3, completionTokens: 4, finishReason: 'stop' } },
          [event('followup.posted', { reviewId: review.id })],
        ),
        true,
      );
      const done = (await store.getFollowUp(followUp.commentId))!;
      assert.deepEqual([done.state, done.answerId, done.answerText, done.claimToken], ['posted', 'our-comment', answer, null]);
      assert.deepEqual(
        (await store.dialogue(review.authorId, review.id)).map((entry) => [entry.role, entry.text]),
        [
          ['reviewer', review.text],
          ['reviewer', followUp.text],
          ['owner', answer],
        ],
      );
      const waiting = { ...followUp, commentId: `w-${review.id}` };
      assert.equal(await store.recordFollowUp(waiting, []), true);
      const claim = (await store.claimFollowUp(randomUUID(), later, lease(later)))!;
      assert.equal(await store.finishFollowUp(waiting.commentId, claim.claimToken!, { state: 'needs_approval', reason: 'the gate refused it', code: 'gate_refused' }, []), true);
      const waited = (await store.getFollowUp(waiting.commentId))!;
      assert.deepEqual([waited.state, waited.reason, waited.reasonCode], ['needs_approval', 'the gate refused it', 'gate_refused']);
      assert.equal(await store.claimFollowUp(randomUUID(), later, lease(later)), null);
      const token2 = randomUUID();
      assert.notEqual(await claimFree(store, token2, now, lease(now)), null);
      assert.equal(await store.release(review.id, token2, { state: 'skipped', reason: 'x' }, []), true);
      return 0;
    });
    // ---------------------------------------------------------------- many businesses (issue 19)

    contractTest('two businesses on one database never see, claim, charge or count each other\'s rows, even with the same ids', async (fx) => {
      const a = fx.store.forBusiness('biz-a');
      const b = fx.store.forBusiness('biz-b');
      assert.equal(a.businessId, 'biz-a');
      // The same review id and branch in both: each business has its own row.
      const review = listed({ branchId: 'shared-branch' });
      assert.equal(await a.recordReview(review, 'new', null, [event('review.new', { reviewId: review.id })]), true);
      assert.equal(await b.recordReview({ ...review, text: 'B says' }, 'new', null, [event('review.new', { reviewId: review.id })]), true);
      assert.deepEqual(await fx.store.findKnownReviewIds([review.id]), new Set(), 'business default knows nothing of them');
      assert.equal((await b.getReview(review.id))?.text, 'B says');
      await a.topUp(1_200n, 'A pays');
      assert.deepEqual(await b.getBalance(), { balance: 0n, reserved: 0n });
      // B has no money: its review is not claimed; A's is, from A's money alone.
      assert.equal(await b.claimNext(randomUUID(), new Date(), lease(new Date()), PRICE), 'insufficient');
      const token = randomUUID();
      const claimed = await a.claimNext(token, new Date(), lease(new Date()), PRICE);
      assert.equal(typeof claimed === 'object' && claimed?.text, review.text);
      assert.equal(await b.claimNext(randomUUID(), new Date(), lease(new Date()), 0n).then((r) => (typeof r === 'object' ? r?.text : r)), 'B says');
      assert.deepEqual(await a.getBalance(), { balance: 1_200n, reserved: PRICE });
      assert.equal(await a.saveDraft(review.id, token, draft), true);
      assert.equal(await a.beginPosting(review.id, token, new Date(), new Date()), true);
      assert.deepEqual(await a.settlePosted(review.id, { answerId: 'ans-a', text: 'A answers' }, postedEvents(review, 'A answers')), { balance: 700n, charged: PRICE });
      assert.equal((await b.getReview(review.id))?.state, 'claimed', "B's row is untouched");
      assert.deepEqual((await b.ledger({ limit: 10 })).length, 0);
      assert.deepEqual((await a.ledger({ limit: 10 })).map((entry) => entry.kind), ['charge', 'topup']);
      // B's claim goes back to the queue; B's events are B's, A's are A's, the deployment's are none's.
      const bToken = (await b.listInFlight())[0]!.claimToken;
      assert.equal(await b.release(review.id, bToken, { state: 'needs_approval', reason: 'rated low' }, [event('review.needs_approval', { reviewId: review.id })]), true);
      await fx.store.appendEvents([event('telegram.refused', { businessId: null })]);
      const types = async (store: Store) => (await store.listEvents({ limit: 50 })).map((e) => `${e.businessId}:${e.type}`);
      assert.deepEqual(await types(a), ['biz-a:review.new', 'biz-a:reply.posted']);
      assert.deepEqual(await types(b), ['biz-b:review.new', 'biz-b:review.needs_approval']);
      assert.deepEqual((await fx.store.listEvents({ limit: 50, businessId: null })).map((e) => e.type), ['telegram.refused']);
      assert.equal((await fx.store.listEvents({ limit: 50, everyBusiness: true })).length, 5);
      assert.deepEqual((await a.listReviewsInState('needs_approval', 10)).length, 0);
      assert.deepEqual((await b.listReviewsInState('needs_approval', 10)).map((r) => r.id), [review.id]);
      assert.deepEqual(await a.recentAnswers('shared-branch', 5), ['A answers']);
      assert.deepEqual(await b.recentAnswers('shared-branch', 5), []);
      // Prompts, cards, topics and facts are each business's own.
      await a.savePromptVersion('A prompt');
      assert.equal(await b.latestPrompt(), null);
      assert.notEqual(await b.createTelegramCard(review.id, { revision: 1 } as never), null);
      assert.equal((await a.reviewsWithoutCard(10)).length, 0);
      assert.deepEqual((await b.activeTelegramCards(10)).map((card) => card.reviewId), [review.id]);
      assert.deepEqual(await a.activeTelegramCards(10), []);
      assert.equal(await a.telegramCard((await b.activeTelegramCards(10))[0]!.id), null, "A cannot read B's card by its id");
      assert.equal(await a.saveTopics(review.id, [{ key: 'coffee', label: 'coffee' }]), true);
      assert.equal(await b.saveTopics(review.id, [{ key: 'service', label: 'service' }]), true);
      assert.deepEqual((await b.topicCounts({ maxRating: 5 })).map((t) => t.topic), ['service']);
      assert.deepEqual((await a.reviewFacts({})).map((f) => [f.branchId, f.reviews, f.answered, f.charged]), [['shared-branch', 1, 1, PRICE]]);
      assert.deepEqual((await b.reviewFacts({})).map((f) => [f.branchId, f.reviews, f.answered, f.waitingForPerson]), [['shared-branch', 1, 0, 1]]);
      await a.saveBranchIntake('shared-branch', { sweptAt: new Date('2030-01-01T00:00:00Z') });
      assert.deepEqual(await b.branchIntakes(['shared-branch']), new Map());
      await fx.checkInvariants(1, undefined, 'biz-a');
      await fx.checkInvariants(0, undefined, 'biz-b');
      return 0;
    });

    contractTest("answers read back, refunds, templates, the owner's voice and the panel's alerts are each business's own; the panel's message queue is the deployment's", async (fx) => {
      const a = fx.store.forBusiness('biz-a');
      const b = fx.store.forBusiness('biz-b');
      await a.topUp(5_000n, 'A pays');
      await b.topUp(5_000n, 'B pays');
      // The same review id posted by both, each due for its recheck: a business reads back and refunds only its own.
      const review = listed({ branchId: 'shared-branch' });
      const due = new Date(Date.now() + MINUTE);
      for (const store of [a, b]) {
        await bringToPosting(store, review);
        assert.notEqual(await store.settlePosted(review.id, { answerId: `ans-${store.businessId}`, text: 'Спасибо!' }, postedEvents(review, 'Спасибо!'), due), null);
      }
      const later = new Date(Date.now() + 2 * MINUTE);
      assert.equal(await fx.store.claimAnswerRecheck(later), null, 'business default has nothing to read back');
      assert.equal((await a.claimAnswerRecheck(later))?.answerId, 'ans-biz-a');
      assert.equal(await a.claimAnswerRecheck(later), null, "A never claims B's");
      assert.equal((await b.claimAnswerRecheck(later))?.answerId, 'ans-biz-b');
      const removed = (refunded: Kopecks, balance: Kopecks) => [event('reply.removed', { reviewId: review.id, data: { refunded: formatMoney(refunded), balance: formatMoney(balance) } })];
      assert.equal(await a.recordAnswerRemoved(review.id, 'ans-biz-b', true, removed), null, "B's answer is not A's to record");
      assert.deepEqual(await a.recordAnswerRemoved(review.id, 'ans-biz-a', true, removed), { refunded: PRICE });
      assert.deepEqual(await a.getBalance(), { balance: 5_000n, reserved: 0n }, "A's charge came back to A");
      assert.deepEqual(await b.getBalance(), { balance: 5_000n - PRICE, reserved: 0n }, "B's money is untouched");
      assert.equal((await b.getReview(review.id))?.state, 'posted');
      assert.deepEqual(await b.recordAnswerRemoved(review.id, 'ans-biz-b', true, removed), { refunded: PRICE }, "B's refund is keyed apart from A's");

      // Templates rotate per business: the same set's first use is each one's first template.
      assert.deepEqual([await a.takeTemplate('global:5', 3), await a.takeTemplate('global:5', 3), await b.takeTemplate('global:5', 3)], [0, 1, 0]);

      // The owner's voice: examples and decisions.
      const example = { reviewId: 'v-1', branchId: 'shared-branch', rating: 2, reviewText: 'холодно', answerText: 'простите', weight: 'written' as const, at: new Date() };
      assert.equal(await a.keepVoiceExamples([example]), 1);
      assert.equal(await b.keepVoiceExamples([{ ...example, answerText: 'B простите' }]), 1, 'the same review id is kept once per business');
      assert.deepEqual((await b.voiceExamples({ branchId: 'shared-branch', limit: 5 })).map((row) => row.answerText), ['B простите']);
      assert.deepEqual(await fx.store.voiceExamples({ branchId: 'shared-branch', limit: 5 }), []);
      await a.recordDecision({ reviewId: review.id, branchId: 'shared-branch', kind: 'edited', share: 0.2, at: new Date() });
      assert.deepEqual((await a.reviewFacts({})).map((f) => f.edited), [1]);
      assert.deepEqual((await b.reviewFacts({})).map((f) => f.edited), [0]);

      // The panel: an episode, the cursor and the newest top-up are the business's; the queue goes out for all.
      const episode = { kind: 'reminder', subject: review.id };
      const notice = { kind: 'changed' } as const;
      assert.equal(await a.openAlertEpisode(episode, new Date(), { messages: [{ chatId: '42', notice }] }), true);
      assert.equal(await a.openAlertEpisode(episode, new Date(), {}), false);
      assert.equal(await b.alertEpisodeOpen(episode), false);
      assert.equal(await b.openAlertEpisode(episode, new Date(), { messages: [{ chatId: '42', notice }] }), true);
      assert.equal(await a.closeAlertEpisode(episode), true);
      assert.equal(await b.alertEpisodeOpen(episode), true, "closing A's leaves B's open");
      assert.equal((await fx.store.queuedTelegramMessages(new Date(), 10)).length, 2, 'one queue for the one bot');
      const [cursorA, cursorB] = [await a.alertCursor(), await b.alertCursor()];
      assert.equal(await a.moveAlertCursor(cursorA, cursorA + 1_000), true);
      assert.equal(await b.alertCursor(), cursorB, "moving A's cursor leaves B's");
      assert.equal(await b.moveAlertCursor(cursorB, cursorB + 1), true);
      assert.notEqual(await a.lastTopUpId(), await b.lastTopUpId());
      await fx.checkInvariants(0, undefined, 'biz-a');
      await fx.checkInvariants(0, undefined, 'biz-b');
      return 0;
    });

    contractTest('racing claimers over three businesses: 100.00, 12.00 and 0 reserve from their own balances only', async (fx) => {
      const balances = { rich: 10_000n, poor: 1_200n, empty: 0n } as const;
      const stores = Object.fromEntries(Object.keys(balances).map((id) => [id, fx.store.forBusiness(id)])) as Record<keyof typeof balances, Store>;
      const second = fx.open({ notifications: true });
      for (const [id, amount] of Object.entries(balances)) {
        if (amount > 0n) await stores[id as keyof typeof balances].topUp(amount, null);
        for (let i = 0; i < 4; i++) await stores[id as keyof typeof balances].recordReview(listed(), 'new', null, []);
      }
      const claims = await Promise.all(
        Object.keys(balances).flatMap((id) =>
          Array.from({ length: 6 }, (_, i) => {
            const store = (i % 2 === 0 ? fx.store : second).forBusiness(id);
            return store.claimNext(randomUUID(), new Date(), lease(new Date()), PRICE).then((claimed) => [id, claimed] as const);
          }),
        ),
      );
      const taken = (id: string) => claims.filter(([owner, claimed]) => owner === id && typeof claimed === 'object' && claimed !== null).length;
      assert.deepEqual([taken('rich'), taken('poor'), taken('empty')], [4, 2, 0]);
      assert.deepEqual(await stores.poor.getBalance(), { balance: 1_200n, reserved: 1_000n });
      assert.deepEqual(await stores.empty.getBalance(), { balance: 0n, reserved: 0n });
      for (const store of Object.values(stores)) {
        for (const { id, claimToken } of await store.listInFlight()) assert.equal(await store.release(id, claimToken, { state: 'new', reason: null }, []), true);
      }
      for (const id of Object.keys(balances)) await fx.checkInvariants(0, undefined, id);
      return 0;
    });

    contractTest('a business is bound to the first 2GIS account it serves; another account, or a second business on it, is refused', async (fx) => {
      const a = fx.store.forBusiness('biz-a');
      const b = fx.store.forBusiness('biz-b');
      assert.equal(await a.businessRecord(), null);
      const [first, racing] = await Promise.all([
        a.bindAccount({ userId: 'u-1', login: 'a@example.kz' }),
        fx.open({ notifications: true }).forBusiness('biz-a').bindAccount({ userId: 'u-1', login: 'a@example.kz' }),
      ]);
      assert.deepEqual([first, racing], [{ kind: 'bound' }, { kind: 'bound' }]);
      assert.deepEqual(await a.bindAccount({ userId: 'u-2', login: 'b@example.kz' }), { kind: 'other', bound: { userId: 'u-1', login: 'a@example.kz' } });
      assert.deepEqual(await b.bindAccount({ userId: 'u-1', login: 'a@example.kz' }), { kind: 'taken', businessId: 'biz-a' });
      assert.deepEqual(await b.bindAccount({ userId: 'u-2', login: null }), { kind: 'bound' });
      const at = new Date('2030-01-01T10:00:00Z');
      await b.recordCycle(at, 'no_balance');
      await fx.store.forBusiness('biz-c').recordCycle(at, 'ok');
      assert.deepEqual(
        (await fx.store.businessRecords()).map((r) => [r.id, r.binding?.login ?? null, r.lastStatus, r.lastCycleAt?.toISOString() ?? null]),
        [['biz-a', 'a@example.kz', null, null], ['biz-b', null, 'no_balance', at.toISOString()], ['biz-c', null, 'ok', at.toISOString()]],
      );
      assert.deepEqual((await b.businessRecord())?.binding, { userId: 'u-2', login: null });
      return 0;
    });

    contractTest("the ledger's currency: recorded once (racing workers agree); changed while the ledger is empty; refused once it has entries", async (fx) => {
      const [first, racing] = await Promise.all([fx.store.keepCurrency('KZT'), fx.open({ notifications: true }).keepCurrency('KZT')]);
      assert.deepEqual([first, racing], [{ kind: 'kept' }, { kind: 'kept' }]);
      assert.deepEqual(await fx.store.keepCurrency('RUB'), { kind: 'kept' }, 'no entry yet: the deployment may still choose');
      await fx.store.forBusiness('biz-a').topUp(PRICE, null);
      assert.deepEqual(await fx.store.keepCurrency('RUB'), { kind: 'kept' });
      assert.deepEqual(await fx.store.forBusiness('biz-b').keepCurrency('KZT'), { kind: 'refused', recorded: 'RUB' }, 'one currency for every business');
      return 0;
    });

    contractTest('takeTemplate: least recently used first, every template before one repeats, across stores and racing workers', async ({ store, open }) => {
      const other = open({ notifications: true });
      const taken = [];
      for (let i = 0; i < 6; i += 1) taken.push(await (i % 2 === 0 ? store : other).takeTemplate('global:5', 3));
      assert.deepEqual(taken, [0, 1, 2, 0, 1, 2]);
      assert.equal(await store.takeTemplate('branch:1:5', 2), 0, 'each set rotates on its own');
      assert.equal(await store.takeTemplate('global:5', 4), 3, 'a template added to the list comes first');
      // Racing workers: 9 takes of a set of 3 give each template three times.
      const raced = await Promise.all(Array.from({ length: 9 }, (_, i) => (i % 2 === 0 ? store : other).takeTemplate('global:4', 3)));
      assert.deepEqual([0, 1, 2].map((place) => raced.filter((p) => p === place).length), [3, 3, 3]);
      return 0;
    });

    contractTest('scheduleDraft: the draft waits with its reserve, no claim; claimStale hands it out from its time on; counted as scheduled', async ({ store }) => {
      await store.topUp(1000n, null);
      const review = listed({ text: '' });
      await store.recordReview(review, 'new', null, []);
      const now = new Date();
      const token = randomUUID();
      const claimed = await store.claimNext(token, now, lease(now), (queued) => (queued.text === '' ? 120n : PRICE));
      assert.equal((claimed as { reserved: Kopecks }).reserved, 120n, 'the review’s own price is reserved at the claim');
      assert.equal(await store.saveDraft(review.id, token, { text: 'Спасибо!', model: 'template', promptVersion: 1, promptTokens: null, completionTokens: null, finishReason: 'stop', template: '5★ 1/3' }), true);
      const postAfter = new Date(now.getTime() + 90_000);
      assert.equal(await store.scheduleDraft(review.id, 'not-the-token', postAfter), false);
      assert.equal(await store.scheduleDraft(review.id, token, postAfter), true);
      const waiting = (await store.getReview(review.id))!;
      assert.deepEqual([waiting.state, waiting.claimToken, waiting.postAfter?.toISOString(), waiting.template, waiting.reserved], ['drafted', null, postAfter.toISOString(), '5★ 1/3', 120n]);
      assert.deepEqual(await store.getBalance(), { balance: 1000n, reserved: 120n });
      assert.deepEqual(await store.listInFlight(), []);
      const [facts] = await store.reviewFacts({});
      assert.deepEqual([facts!.scheduled, facts!.waitingForMoney], [1, 0]);
      assert.equal(await store.claimStale(randomUUID(), new Date(postAfter.getTime() - 1000), lease(now)), null, 'not before its time');
      const later = new Date(postAfter.getTime() + 1000);
      const takeover = (await store.claimStale(randomUUID(), later, lease(later)))!;
      assert.equal(takeover.id, review.id);
      assert.equal(takeover.draftText, 'Спасибо!');
      assert.equal(await store.beginPosting(review.id, takeover.claimToken!, later, later), true);
      const settled = await store.settlePosted(review.id, { answerId: 'a1', text: 'Спасибо!' }, () => []);
      assert.deepEqual(settled, { balance: 880n, charged: 120n });
      return { answers: 1, charged: 120n };
    });

    contractTest("an owner's complaint: begun once across stores, out of the waiting list, read back, settled once, dropped back", async ({ store, open }) => {
      const waiting = listed();
      const answered = listed();
      assert.equal(await store.recordReview(waiting, 'needs_approval', 'rated 1', []), true);
      assert.equal(await store.recordReview(answered, 'skipped', 'already answered', []), true);
      const now = new Date();
      const other = open({ notifications: true });
      const complaint = { reviewId: waiting.id, reason: 'Автор не был у нас; «реклама» конкурента', notAClient: true };
      const tokens = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const begun = await Promise.all(
        [store, other, store, other].map((s, i) => s.beginComplaint(complaint, tokens[i]!, now, lease(now), new Date(now.getTime() + 30_000))),
      );
      assert.equal(begun.filter(Boolean).length, 1, 'one complaint per review');
      const holder = tokens[begun.indexOf(true)]!;
      assert.equal(await store.beginComplaint({ ...complaint, reviewId: 'no-such-review' }, randomUUID(), now, lease(now), now), false);
      const sending = (await store.reviewComplaint(waiting.id))!;
      assert.deepEqual(
        { ...sending, leaseUntil: null, readBackAfter: null },
        { reviewId: waiting.id, state: 'sending', reason: complaint.reason, notAClient: true, claimToken: holder, leaseUntil: null, readBackAfter: null, attempts: 1 },
      );
      assert.deepEqual([(await store.getReview(waiting.id))!.state, (await store.getReview(waiting.id))!.reason], ['skipped', COMPLAINED]);
      assert.deepEqual(await store.listReviewsInState('needs_approval', 10), [], 'it left the waiting list');
      const [facts] = await store.reviewFacts({ branchId: waiting.branchId });
      assert.deepEqual([facts!.complained, facts!.skipped, facts!.waitingForPerson], [1, 0, 0], 'stats count it as complained, nothing else');

      // A crashed holder's complaint is taken over once; the taker lets go of it as outcome unknown.
      const takers = [randomUUID(), randomUUID()];
      const taken = await Promise.all([store, other].map((s, i) => s.takeOverComplaint(waiting.id, holder, takers[i]!, now, lease(now))));
      assert.equal(taken.filter(Boolean).length, 1);
      const taker = takers[taken.indexOf(true)]!;
      assert.equal(await store.finishComplaint(waiting.id, holder, 'outcome_unknown', []), false, 'not by its old holder');
      assert.equal(await store.finishComplaint(waiting.id, taker, 'outcome_unknown', []), true);
      assert.deepEqual([(await store.reviewComplaint(waiting.id))!.state, (await store.reviewComplaint(waiting.id))!.claimToken], ['outcome_unknown', null]);
      // The next press takes it from nobody, sends it again behind the fence, and it is settled once with its event.
      const next = randomUUID();
      assert.equal(await store.takeOverComplaint(waiting.id, null, next, now, lease(now)), true);
      assert.equal(await store.resendComplaint(waiting.id, next, now, now), true);
      assert.equal((await store.reviewComplaint(waiting.id))!.attempts, 2);
      const settled = await Promise.all(
        [store, other].map((s) => s.finishComplaint(waiting.id, next, 'sent', [event('review.complained', { reviewId: waiting.id, data: { reason: 'x', notAClient: true } })])),
      );
      assert.equal(settled.filter(Boolean).length, 1, 'settled once');
      assert.equal((await store.listEvents({ type: 'review.complained', limit: 10 })).length, 1);
      assert.equal(await store.takeOverComplaint(waiting.id, null, randomUUID(), now, lease(now)), false, 'a sent complaint is never taken again');
      assert.equal(await store.dropComplaint(waiting.id, next), false, 'nor dropped');

      // One 2GIS refused: forgotten, and the review waits again as it did; an answered review keeps its state.
      for (const [review, state, reason] of [[answered, 'skipped', 'already answered'], [listed(), 'failed', '2GIS refused the answer']] as const) {
        if (review !== answered) assert.equal(await store.recordReview(review, 'needs_approval', 'x', []), true);
        if (review !== answered) {
          const claim = (await store.claimReview(review.id, randomUUID(), now, lease(now)))!;
          await store.release(review.id, claim.claimToken!, { state: 'failed', reason }, []);
        }
        const token = randomUUID();
        assert.equal(await store.beginComplaint({ ...complaint, reviewId: review.id }, token, now, lease(now), now), true);
        assert.equal((await store.getReview(review.id))!.reason, review === answered ? reason : COMPLAINED);
        assert.equal(await store.dropComplaint(review.id, token), true);
        assert.equal(await store.reviewComplaint(review.id), null);
        assert.deepEqual([(await store.getReview(review.id))!.state, (await store.getReview(review.id))!.reason], [state, reason]);
      }
      // A complained-about review may still be claimed by a person.
      assert.notEqual(await store.claimReview(waiting.id, randomUUID(), now, lease(now)), null);
      const claimed = (await store.getReview(waiting.id))!;
      await store.release(waiting.id, claimed.claimToken!, { state: 'skipped', reason: COMPLAINED }, []);
      return 0;
    });

    // ---------------------------------------------------------- answers 2GIS removed (issue 21)

    contractTest('a posted answer is due for its recheck when settled, and claimed once across racing workers, only when due and still posted', async ({ store, open }) => {
      await store.topUp(5000n, null);
      const now = new Date();
      const review = listed();
      await bringToPosting(store, review);
      const due = new Date(now.getTime() + MINUTE);
      assert.notEqual(await store.settlePosted(review.id, { answerId: 'ans-r', text: 'Спасибо! 🙏' }, postedEvents(review, 'Спасибо! 🙏'), due), null);
      const never = listed();
      await bringToPosting(store, never);
      assert.notEqual(await store.settlePosted(never.id, { answerId: 'ans-n', text: 'Ждём вас' }, postedEvents(never, 'Ждём вас')), null);

      assert.equal(await store.claimAnswerRecheck(now), null, 'not due yet');
      const later = new Date(now.getTime() + 2 * MINUTE);
      const others = [open({ notifications: true }), open({ notifications: true })];
      const claims = await Promise.all([store, ...others, store, ...others].map((s) => s.claimAnswerRecheck(later)));
      const winners = claims.filter((claim) => claim !== null);
      assert.equal(winners.length, 1, 'one worker reads the answer back');
      assert.deepEqual(winners[0], { reviewId: review.id, branchId: review.branchId, answerId: 'ans-r', text: 'Спасибо! 🙏' });
      assert.equal(await store.claimAnswerRecheck(new Date(now.getTime() + 60 * MINUTE)), null, 'claimed once, ever; an answer without a due time never');
      return 2;
    });

    contractTest('an answer 2GIS removed: the review waits for a person, counted and still charged; with a refund, refunded once across racing workers; a person\'s answer after it is charged anew', async ({ store, open }) => {
      await store.topUp(5000n, null);
      const removedEvents = (review: ListedReview) => (refunded: Kopecks, balance: Kopecks) => [
        event('reply.removed', { reviewId: review.id, branchId: review.branchId, data: { text: 'Спасибо!', refunded: formatMoney(refunded), balance: formatMoney(balance) } }),
      ];
      // Kept charged: the answer was delivered (billing.refundRemoved false).
      const kept = listed();
      await bringToPosting(store, kept);
      await store.settlePosted(kept.id, { answerId: 'ans-k', text: 'Спасибо!' }, postedEvents(kept, 'Спасибо!'));
      const before = await store.getBalance();
      assert.equal(await store.recordAnswerRemoved(kept.id, 'another-answer', false, removedEvents(kept)), null, 'not the answer posted');
      assert.deepEqual(await store.recordAnswerRemoved(kept.id, 'ans-k', false, removedEvents(kept)), { refunded: 0n });
      assert.equal(await store.recordAnswerRemoved(kept.id, 'ans-k', false, removedEvents(kept)), null, 'recorded once');
      const waiting = await store.getReview(kept.id);
      assert.deepEqual([waiting?.state, waiting?.reason], ['needs_approval', ANSWER_REMOVED]);
      assert.deepEqual(await store.getBalance(), before);
      assert.equal((await store.listEvents({ reviewId: kept.id, type: 'reply.removed', limit: 10 })).length, 1);
      assert.equal(await store.claimAnswerRecheck(new Date(Date.now() + 60 * MINUTE)), null, 'nothing to read back');

      // Refunded: racing workers, one refund.
      const refunded = listed();
      await bringToPosting(store, refunded);
      await store.settlePosted(refunded.id, { answerId: 'ans-f', text: 'Спасибо!' }, postedEvents(refunded, 'Спасибо!'));
      const charged = await store.getBalance();
      const others = [open({ notifications: true }), open({ notifications: true })];
      const results = await Promise.all([store, ...others, store].map((s) => s.recordAnswerRemoved(refunded.id, 'ans-f', true, removedEvents(refunded))));
      assert.deepEqual(results.filter((result) => result !== null), [{ refunded: PRICE }], 'one refund');
      assert.deepEqual(await store.getBalance(), { balance: charged.balance + PRICE, reserved: charged.reserved });
      const refunds = (await store.ledger({ limit: 100 })).filter((entry) => entry.kind === 'adjustment');
      assert.deepEqual(refunds.map((entry) => [entry.amount, entry.reviewId, entry.balanceAfter]), [[PRICE, refunded.id, charged.balance + PRICE]]);

      // A person answers again (gisbot reply): charged once more, under its own key; removed again, refunded once more.
      const token = randomUUID();
      const now = new Date();
      assert.equal((await store.claimReview(refunded.id, token, now, lease(now)))?.state, 'claimed');
      assert.equal(await store.reserve(refunded.id, token, PRICE), 'reserved');
      assert.equal(await store.saveDraft(refunded.id, token, { ...draft, sentBy: 'person' }), true);
      assert.equal(await store.beginPosting(refunded.id, token, now, now), true);
      assert.deepEqual(await store.settlePosted(refunded.id, { answerId: 'ans-p', text: 'Ещё раз спасибо' }, postedEvents(refunded, 'Ещё раз спасибо')), {
        balance: charged.balance,
        charged: PRICE,
      });
      const facts = await store.reviewFacts({});
      assert.deepEqual(facts.map((row) => [row.removed, row.waitingForPerson, row.answered]), [[2, 1, 1]], 'two answers removed, one review waits, one answered');
      // One answer of ours is on 2GIS; the two removed ones stay charged (the invariants count them): three charges.
      return 1;
    });

    contractTest("a 2GIS token's use: its first sign-in kept, its last moved on (never back), each business's own, never the token", async ({ store, open }) => {
      const fingerprint = 'a'.repeat(64);
      assert.equal(await store.accessTokenUse(fingerprint), null);
      const first = new Date('2026-12-01T10:00:00.000Z');
      assert.deepEqual(await store.noteAccessToken(fingerprint, first), { firstUsedAt: first, lastUsedAt: first });
      const later = new Date('2026-12-03T08:30:00.000Z');
      const other = open({ notifications: false });
      await Promise.all([store.noteAccessToken(fingerprint, later), other.noteAccessToken(fingerprint, later)]);
      assert.deepEqual(await store.noteAccessToken(fingerprint, new Date('2026-12-02T00:00:00.000Z')), { firstUsedAt: first, lastUsedAt: later }, 'an earlier clock moves nothing back');
      assert.deepEqual(await other.accessTokenUse(fingerprint), { firstUsedAt: first, lastUsedAt: later });
      assert.equal(await store.forBusiness('another-one').accessTokenUse(fingerprint), null, "another business's record is its own");
      assert.equal(await store.accessTokenUse('b'.repeat(64)), null, 'a fresh token starts its own record');
      return 0;
    });
  });
}
