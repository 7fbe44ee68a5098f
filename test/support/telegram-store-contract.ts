// The Store contract's Telegram part (issue 15), run against each backend beside the rest of the contract
// (test/integration/store-contract.test.ts): the cards of reviews waiting for a person, the one turn to read the
// bot's updates with its offset, and one claim per update.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { TelegramCardBody, TelegramUpdate } from '../../src/core/ports.ts';
import { listed, type StoreFixture } from './store-contract.ts';

const MINUTE = 60_000;

function body(overrides: Partial<TelegramCardBody> = {}): TelegramCardBody {
  return {
    revision: 1,
    reason: 'rated 1',
    draft: {
      text: `Сергей, простите нас — "холодный" кофе \\ это 'наша' вина 😔`,
      problems: [],
      editedBy: null,
      model: 'gpt-4o-mini',
      promptVersion: 1,
      usage: { promptTokens: 10, completionTokens: 5, finishReason: 'stop', cost: null },
    },
    draftFailure: null,
    instruction: null,
    outcome: null,
    messages: [],
    ...overrides,
  };
}

function press(updateId: number): TelegramUpdate {
  return {
    updateId, kind: 'press', chatId: '-1001234567890', pressId: `p${updateId}`, messageId: 42, messageCardId: 3,
    from: { id: '5', name: 'Анна (@anna)' }, action: 'regenerate', cardId: 3, revision: 2,
  };
}

export function telegramStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  function contractTest(title: string, run: (fx: StoreFixture) => Promise<void>): void {
    test(title, async () => {
      const fx = await factory();
      try {
        await run(fx);
        await fx.checkInvariants(0);
      } finally {
        await fx.cleanup();
      }
    });
  }

  describe(`Store contract, Telegram: ${name}`, () => {
    contractTest('a failed review waits for a person too (one may answer it): it gets a card', async ({ store }) => {
      const waiting = listed({ createdAt: '2024-03-02T10:00:00.000+03:00' });
      const failed = listed({ createdAt: '2024-02-01T10:00:00.000+03:00' });
      assert.equal(await store.recordReview(waiting, 'needs_approval', 'rated 1', []), true);
      assert.equal(await store.recordReview(failed, 'new', null, []), true);
      const failing = randomUUID();
      assert.ok(await store.claimReview(failed.id, failing, new Date(), new Date(Date.now() + 60_000)));
      assert.deepEqual((await store.reviewsWithoutCard(10)).map((review) => review.id), [waiting.id], 'not while it is in work');
      assert.equal(await store.release(failed.id, failing, { state: 'failed', reason: 'the model failed: 404', retry: null }, []), true);
      assert.deepEqual((await store.reviewsWithoutCard(10)).map((review) => review.id), [waiting.id, failed.id]);
      assert.ok(await store.createTelegramCard(failed.id, body()));
      assert.deepEqual((await store.reviewsWithoutCard(10)).map((review) => review.id), [waiting.id]);
    });

    contractTest('a card per waiting review, made once, written by compare-and-set', async ({ store, open }) => {
      const older = listed({ createdAt: '2024-03-01T10:00:00.000+03:00' });
      const newer = listed({ createdAt: '2024-03-02T10:00:00.000+03:00' });
      const answered = listed();
      for (const review of [older, newer]) assert.equal(await store.recordReview(review, 'needs_approval', 'rated 1', []), true);
      assert.equal(await store.recordReview(answered, 'skipped', 'answered', []), true);
      assert.deepEqual((await store.reviewsWithoutCard(10)).map((review) => review.id), [newer.id, older.id], 'waiting ones, newest first');
      assert.deepEqual((await store.reviewsWithoutCard(1)).map((review) => review.id), [newer.id]);

      const other = open({ notifications: true });
      const made = await Promise.all([store, other, store, other].map((s) => s.createTelegramCard(newer.id, body())));
      const winners = made.filter((card) => card !== null);
      assert.equal(winners.length, 1, 'one card per review, however many make it at once');
      const card = winners[0]!;
      assert.deepEqual({ ...card, id: 0 }, { id: 0, reviewId: newer.id, active: true, version: 1, body: body() });
      assert.deepEqual(await other.telegramCard(card.id), card, 'read back byte for byte');
      assert.equal(await store.telegramCard(card.id + 1000), null);
      assert.deepEqual((await store.reviewsWithoutCard(10)).map((review) => review.id), [older.id]);

      const shown = body({ revision: 2, messages: [{ chatId: '-1001234567890', messageId: 42, shows: 2, awaitingEdit: true }] });
      assert.equal(await store.saveTelegramCard(card, shown, true), true);
      assert.equal(await other.saveTelegramCard(card, body({ revision: 9 }), true), false, 'a write from a stale read is refused');
      const saved = (await other.telegramCard(card.id))!;
      assert.deepEqual([saved.version, saved.body], [2, shown]);

      const second = (await store.createTelegramCard(older.id, body()))!;
      assert.deepEqual((await store.activeTelegramCards(10)).map((one) => one.id), [card.id, second.id], 'active ones, oldest first');
      const outcome = { kind: 'sent' as const, by: 'Анна (@anna)', at: new Date().toISOString(), charged: '5.00' };
      assert.equal(await store.saveTelegramCard(saved, { ...shown, outcome }, false), true);
      assert.deepEqual((await store.activeTelegramCards(10)).map((one) => one.id), [second.id]);
      const closed = (await store.telegramCard(card.id))!;
      assert.deepEqual([closed.active, closed.body.outcome], [false, outcome]);
    });

    contractTest('one worker at a time holds the turn to read updates; the offset only moves forward', async ({ store, open }) => {
      const other = open({ notifications: true });
      const now = new Date();
      const until = new Date(now.getTime() + MINUTE);
      const [a, b] = [randomUUID(), randomUUID()];
      const taken = await Promise.all([store.takeTelegramTurn(a, now, until), other.takeTelegramTurn(b, now, until)]);
      assert.equal(taken.filter((offset) => offset !== null).length, 1, 'one of two racing workers gets the turn');
      const [holder, waiter, holderStore, waiterStore] = taken[0] === null ? [b, a, other, store] : [a, b, store, other];
      assert.equal(await holderStore.takeTelegramTurn(holder, now, until), 0, 'the holder renews it');
      assert.equal(await waiterStore.takeTelegramTurn(waiter, now, until), null);
      await waiterStore.endTelegramTurn(waiter);
      assert.equal(await waiterStore.takeTelegramTurn(waiter, now, until), null, 'only the holder gives it up');

      await holderStore.storeTelegramUpdates([press(7), press(6)]);
      await holderStore.storeTelegramUpdates([press(5)]);
      assert.equal(await holderStore.takeTelegramTurn(holder, now, until), 8, 'past the newest update stored, never back');

      const later = new Date(until.getTime() + 1);
      assert.equal(await waiterStore.takeTelegramTurn(waiter, later, new Date(later.getTime() + MINUTE)), 8, 'an expired turn is taken over');
      await waiterStore.endTelegramTurn(waiter);
      assert.equal(await holderStore.takeTelegramTurn(holder, now, until), 8, 'a turn given up is free');
    });

    contractTest('an update is stored before it is acted on; one claim per try, given back on a failure; done once', async ({ store, open }) => {
      const other = open({ notifications: true });
      const now = new Date();
      const until = new Date(now.getTime() + MINUTE);
      const update = press(900_000_001);
      assert.equal(await store.claimTelegramUpdate(update.updateId, randomUUID(), now, until), null, 'not stored: nothing to act on');
      await Promise.all([store.storeTelegramUpdates([update]), other.storeTelegramUpdates([update])]);
      await store.storeTelegramUpdates([{ ...update, kind: 'other', chatId: null }]);
      assert.deepEqual(await other.pendingTelegramUpdates(now, 10), [update], 'stored once, read back as it came');
      const tokens = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const claims = await Promise.all(tokens.map((token, i) => (i % 2 === 0 ? store : other).claimTelegramUpdate(update.updateId, token, now, until)));
      assert.deepEqual(claims.filter((claim) => claim !== null), [{ attempts: 1, lastError: null }], 'one of four racing claimers acts on the update');
      const winner = tokens[claims.findIndex((claim) => claim !== null)]!;
      assert.equal(await store.claimTelegramUpdate(update.updateId, randomUUID(), now, until), null, 'held');
      assert.deepEqual(await store.pendingTelegramUpdates(now, 10), [], 'a held update is not pending');

      const later = new Date(until.getTime() + 1);
      const heir = randomUUID();
      assert.deepEqual(await other.claimTelegramUpdate(update.updateId, heir, later, new Date(later.getTime() + MINUTE)), { attempts: 2, lastError: null }, 'a claim that ran out');
      await store.finishTelegramUpdate(update.updateId, winner);
      await store.releaseTelegramUpdate(update.updateId, winner, 'not mine any more');
      assert.equal(await store.claimTelegramUpdate(update.updateId, randomUUID(), later, until), null, 'the heir holds it still');
      await other.releaseTelegramUpdate(update.updateId, heir, 'the database is locked — «занято»');
      const again = new Date();
      assert.deepEqual((await store.pendingTelegramUpdates(again, 10)).map((one) => one.updateId), [update.updateId], 'given back: pending at once');
      const third = randomUUID();
      assert.deepEqual(await store.claimTelegramUpdate(update.updateId, third, again, new Date(again.getTime() + MINUTE)), { attempts: 3, lastError: 'the database is locked — «занято»' });
      await store.finishTelegramUpdate(update.updateId, third, 'given_up');
      const muchLater = new Date(later.getTime() + 10 * MINUTE);
      assert.equal(await store.claimTelegramUpdate(update.updateId, randomUUID(), muchLater, new Date(muchLater.getTime() + MINUTE)), null, 'done');
      assert.deepEqual(await store.pendingTelegramUpdates(muchLater, 10), []);
      assert.equal(await store.takeTelegramTurn(randomUUID(), now, until), 900_000_002);
    });

    contractTest("the owner's panel: an alert's episode opens once across workers, with its events and messages", async ({ store, open }) => {
      const other = open({ notifications: true });
      const now = new Date('2030-01-07T09:00:00.000Z');
      const event = { id: randomUUID(), type: 'auth.failed' as const, at: now.toISOString(), reviewId: null, branchId: null, data: { code: 'token_expired' } };
      const notice = { kind: 'alert' as const, alert: { kind: 'auth.failed' as const, error: 'refused «токен»', code: 'token_expired' } };
      const episode = { kind: 'sign-in', subject: '' };
      const opened = await Promise.all([store, other, store].map((one) => one.openAlertEpisode(episode, now, { events: [event], messages: [{ chatId: '1', notice }, { chatId: '-2', notice }] })));
      assert.deepEqual(opened.filter(Boolean).length, 1, 'one worker opens it');
      assert.equal(await other.alertEpisodeOpen(episode), true);
      assert.equal((await store.listEvents({ type: 'auth.failed', limit: 10 })).length, 1);
      const queued = await store.queuedTelegramMessages(now, 10);
      assert.deepEqual(queued.map((one) => [one.chatId, one.notice]), [['1', notice], ['-2', notice]]);
      assert.equal(await store.closeAlertEpisode(episode), true);
      assert.equal(await store.closeAlertEpisode(episode), false);
      assert.equal(await other.openAlertEpisode(episode, now, {}), true, 'a new episode after it closed');

      const until = new Date(now.getTime() + MINUTE);
      const claims = await Promise.all([store, other].map((one) => one.claimTelegramMessage(queued[0]!.id, now, until)));
      assert.deepEqual(claims.sort(), [false, true], 'one sender');
      assert.deepEqual((await store.queuedTelegramMessages(now, 10)).map((one) => one.chatId), ['-2'], 'being sent: not queued');
      assert.deepEqual((await store.queuedTelegramMessages(until, 10)).map((one) => one.chatId), ['1', '-2'], 'its sender died: queued again');
      await store.finishTelegramMessage(queued[0]!.id, now, 'sent');
      assert.deepEqual(await store.sentTelegramMessages('1', new Date(now.getTime() - MINUTE)), { count: 1, last: now });
      assert.ok(await store.claimTelegramMessage(queued[1]!.id, now, until));
      await store.finishTelegramMessage(queued[1]!.id, now, 'retry');
      assert.deepEqual((await store.queuedTelegramMessages(now, 10)).map((one) => one.chatId), ['-2'], 'Telegram failed: queued again');
      assert.deepEqual(await store.sentTelegramMessages('-2', new Date(now.getTime() - MINUTE)), { count: 0, last: null });

      const cursor = await store.alertCursor();
      assert.ok(cursor >= 1, 'the first cursor is the newest event');
      assert.equal(await other.moveAlertCursor(cursor, cursor + 5), true);
      assert.equal(await store.moveAlertCursor(cursor, cursor + 9), false, 'moved meanwhile');
      assert.equal(await store.alertCursor(), cursor + 5);
      assert.equal(await store.lastTopUpId(), 0);
      await store.topUp(100n, null);
      assert.ok((await store.lastTopUpId()) > 0);
    });

    contractTest('reviews waiting for a person since before a moment: from their latest needs_approval event', async ({ store }) => {
      const early = listed({ createdAt: '2024-03-01T10:00:00.000+03:00' });
      const late = listed({ createdAt: '2024-03-02T10:00:00.000+03:00' });
      const at = (iso: string, id: string) => ({ id: randomUUID(), type: 'review.needs_approval' as const, at: iso, reviewId: id, branchId: null, data: {} });
      await store.recordReview(early, 'needs_approval', 'rated 1', [at('2030-01-01T00:00:00.000Z', early.id)]);
      await store.recordReview(late, 'needs_approval', 'rated 1', [at('2030-01-01T05:00:00.000Z', late.id)]);
      assert.deepEqual((await store.waitingForPersonSince(new Date('2030-01-01T03:00:00.000Z'), 10)).map((one) => one.id), [early.id]);
      assert.deepEqual((await store.waitingForPersonSince(new Date('2030-01-02T00:00:00.000Z'), 10)).map((one) => one.id), [early.id, late.id]);
      assert.deepEqual(await store.waitingForPersonSince(new Date('2029-01-01T00:00:00.000Z'), 10), []);
    });
  });
}
