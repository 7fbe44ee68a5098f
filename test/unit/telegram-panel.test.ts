// The owner's panel over fakes: the digest's week slot in a zone, alerts once per episode, reminders once, the
// digest once per week across two workers, and a burst queued within Telegram's limits, never dropped.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createSqliteStore } from '../../src/adapters/store/sqlite.ts';
import { makeEvent } from '../../src/core/events/events.ts';
import type { CardView, Clock, Store, Telegram, TelegramNotice } from '../../src/core/ports.ts';
import { digestSlot, GROUP_PER_MINUTE, Panel, type PanelSettings } from '../../src/core/approval/telegram-panel.ts';
import { ServiceError } from '../../src/errors.ts';
import { pipeline } from '../support/fakes.ts';
import { createTestSqliteFile } from '../support/sqlite.ts';

const OWNER = '100';
const GROUP = '-200';

/** Records what the panel sends; `refuse` makes a call fail as Telegram would. */
class RecordingTelegram implements Telegram {
  sent: Array<{ chatId: string; notice: TelegramNotice; at: number }> = [];
  refuse: ServiceError | null = null;
  readonly #clock: { now(): Date };
  constructor(clock: { now(): Date }) {
    this.#clock = clock;
  }
  async me() {
    return { username: 'bot' };
  }
  async chat() {
    return { title: '', type: 'private' };
  }
  async updates() {
    return [];
  }
  async sendCard(_chatId: string, _card: CardView) {
    return 1;
  }
  async editCard() {}
  async answerPress() {}
  async notify(chatId: string, notice: TelegramNotice) {
    if (this.refuse) throw this.refuse;
    this.sent.push({ chatId, notice, at: this.#clock.now().getTime() });
  }
}

/** A clock whose sleeps pass (the queue waits between messages to one chat). */
class SleepingClock implements Clock {
  current = new Date('2026-01-01T00:00:00.000Z');
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
  async sleep(ms: number) {
    this.advance(ms);
  }
}

function panelWorld(settings: Partial<PanelSettings> = {}, chatIds = [OWNER, GROUP], store?: Store) {
  const clock = new SleepingClock();
  clock.current = new Date('2026-12-07T08:00:00.000Z'); // a Monday
  const world = pipeline({ clock, ...(store ? { store } : {}) });
  const telegram = new RecordingTelegram(clock);
  const panelSettings: PanelSettings = { business: { id: 'default', name: null }, timeZone: 'UTC', ...settings };
  const panel = () => new Panel({ ...world.deps, telegram, chatIds, panel: panelSettings }, async () => {});
  return { ...world, clock, telegram, panel };
}

const alerts = (telegram: RecordingTelegram, kind: string) =>
  telegram.sent.filter((one) => one.notice.kind === 'alert' && one.notice.alert.kind === kind);

describe('the digest week slot', () => {
  const cases: Array<[string, string, string, string]> = [
    ['mon 09:00', 'UTC', '2026-12-07T09:00:00.000Z', '2026-12-07T09:00:00.000Z'],
    ['mon 09:00', 'UTC', '2026-12-07T08:59:59.000Z', '2026-11-30T09:00:00.000Z'],
    ['mon 09:00', 'Asia/Almaty', '2026-12-07T04:30:00.000Z', '2026-12-07T04:00:00.000Z'],
    ['mon 09:00', 'Asia/Almaty', '2026-12-06T23:00:00.000Z', '2026-11-30T04:00:00.000Z'],
    ['sun 23:30', 'Europe/Moscow', '2026-12-07T00:00:00.000Z', '2026-12-06T20:30:00.000Z'],
    // Summer time: 09:00 in Berlin is 07:00 UTC in June, 08:00 in December.
    ['mon 09:00', 'Europe/Berlin', '2026-06-08T07:00:00.000Z', '2026-06-08T07:00:00.000Z'],
    ['mon 09:00', 'Europe/Berlin', '2026-12-07T08:30:00.000Z', '2026-12-07T08:00:00.000Z'],
  ];
  for (const [schedule, zone, now, slot] of cases) {
    test(`${schedule} in ${zone} at ${now} → ${slot}`, () => {
      assert.equal(digestSlot(schedule, zone, new Date(now))?.toISOString(), slot);
    });
  }
  test('an unreadable schedule has no slot', () => assert.equal(digestSlot('monday', 'UTC', new Date()), null));
});

describe('alerts once per episode', () => {
  test('balance.insufficient on every cycle is alerted once until the next top-up', async () => {
    const { store, clock, telegram, panel } = panelWorld();
    await store.topUp(100n);
    await panel().pushes(); // the cursor starts at the newest event: history is not alerted
    const insufficient = () => store.appendEvents([makeEvent(clock, 'balance.insufficient', null, { balance: '1.00', price: '5.00' })]);
    for (let cycle = 0; cycle < 3; cycle += 1) {
      await insufficient();
      await panel().pushes();
      clock.advance(60_000);
    }
    assert.equal(alerts(telegram, 'balance.insufficient').length, 2, 'one per chat');
    await store.topUp(1000n);
    await insufficient();
    await panel().pushes();
    assert.equal(alerts(telegram, 'balance.insufficient').length, 4, 'a new episode after the top-up');
  });

  test('auth.failed, balance.low and complaint.repeated: one alert per event in each chat', async () => {
    const { store, clock, telegram, panel } = panelWorld();
    await panel().pushes();
    await store.appendEvents([
      makeEvent(clock, 'auth.failed', null, { error: 'token refused', code: 'token_expired' }),
      makeEvent(clock, 'balance.low', null, { balance: '40.00', threshold: '50.00' }),
      makeEvent(clock, 'complaint.repeated', null, { topic: 'долгое ожидание', count: 3, reviewIds: [] }),
      makeEvent(clock, 'review.new', null, {}),
    ]);
    await panel().pushes();
    await panel().pushes();
    assert.deepEqual(
      telegram.sent.map((one) => (one.notice.kind === 'alert' ? `${one.chatId} ${one.notice.alert.kind}` : one.notice.kind)).sort(),
      [`${GROUP} auth.failed`, `${GROUP} balance.low`, `${GROUP} complaint.repeated`, `${OWNER} auth.failed`, `${OWNER} balance.low`, `${OWNER} complaint.repeated`],
    );
  });

  test('a review waiting longer than approval.remindAfterHours is reminded of once', async () => {
    const { store, clock, telegram, panel } = panelWorld({ remindAfterHours: 2 }, [OWNER]);
    await store.recordReview(
      { id: 'r1', branchId: 'b', branchName: 'Кофейня', rating: 1, text: 'Плохо', authorId: 'a', authorName: 'Анна', createdAt: clock.now().toISOString(), editedAt: null, catalogId: '2gis', isHidden: false, canReply: true, hasOwnerAnswer: false, commentsCount: 0 },
      'needs_approval',
      'below the rating',
      [makeEvent(clock, 'review.needs_approval', { id: 'r1', branchId: 'b' }, {})],
    );
    await panel().pushes();
    assert.equal(alerts(telegram, 'reminder').length, 0);
    clock.advance(2 * 3_600_000 + 1);
    await panel().pushes();
    await panel().pushes();
    assert.equal(alerts(telegram, 'reminder').length, 1);
  });
});

describe('the weekly digest', () => {
  test('once per week across two workers; again the next week; not at all a day late', async () => {
    // The week's figures are summed by a real store (the memory store sums none).
    const file = await createTestSqliteFile();
    const store = createSqliteStore({ path: file.path, notifications: false });
    await store.migrate();
    after(async () => {
      await store.close();
      await file.cleanup();
    });
    const { clock, telegram, panel } = panelWorld({ digest: 'mon 09:00' }, [OWNER], store);
    const digests = () => telegram.sent.filter((one) => one.notice.kind === 'digest').length;
    await panel().pushes();
    assert.equal(digests(), 0, 'before its hour');
    clock.advance(3_600_000); // 09:00
    await Promise.all([panel().pushes(), panel().pushes()]);
    await panel().pushes();
    assert.equal(digests(), 1);
    clock.advance(7 * 86_400_000);
    await panel().pushes();
    assert.equal(digests(), 2);
    clock.advance(7 * 86_400_000 + 86_400_000); // nothing ran that Monday
    await panel().pushes();
    assert.equal(digests(), 2);
  });
});

describe("Telegram's limits", () => {
  test("a burst to a group: 20 a minute, each chat's messages a second apart, the rest queued and sent later", async () => {
    const { store, clock, telegram, panel } = panelWorld({}, [GROUP]);
    await panel().pushes();
    await store.appendEvents(Array.from({ length: 25 }, (_, i) => makeEvent(clock, 'balance.low', null, { balance: `${i}.00`, threshold: '50.00' })));
    await panel().pushes();
    assert.equal(telegram.sent.length, GROUP_PER_MINUTE);
    const gaps = telegram.sent.slice(1).map((one, i) => one.at - telegram.sent[i]!.at);
    assert.ok(gaps.every((gap) => gap >= 1_000), `gaps ${gaps.join(',')}`);
    assert.equal((await store.queuedTelegramMessages(clock.now(), 100)).length, 5);
    clock.advance(60_000);
    await panel().pushes();
    assert.equal(telegram.sent.length, 25);
    assert.deepEqual(telegram.sent.map((one) => (one.notice.kind === 'alert' && one.notice.alert.kind === 'balance.low' ? one.notice.alert.balance : '')), Array.from({ length: 25 }, (_, i) => `${i}.00`));
  });

  test('Telegram asking to slow down keeps the message queued; a chat that blocked the bot does not hold the queue', async () => {
    const { store, clock, telegram, panel } = panelWorld({}, [OWNER]);
    await panel().pushes();
    await store.appendEvents([makeEvent(clock, 'balance.low', null, { balance: '1.00', threshold: '50.00' })]);
    telegram.refuse = new ServiceError('telegram', 'unavailable', 'Too Many Requests: retry after 5', { retryAfterMs: 5_000 });
    await assert.rejects(panel().pushes());
    assert.equal((await store.queuedTelegramMessages(clock.now(), 10)).length, 1);
    telegram.refuse = null;
    await panel().pushes();
    assert.equal(telegram.sent.length, 1);
    await store.appendEvents([makeEvent(clock, 'balance.low', null, { balance: '0.50', threshold: '50.00' })]);
    telegram.refuse = new ServiceError('telegram', 'blocked', 'Forbidden: bot was blocked by the user');
    await panel().pushes();
    assert.equal((await store.queuedTelegramMessages(clock.now(), 10)).length, 0);
  });
});
