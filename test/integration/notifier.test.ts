// The outbox relay over a real WebSocket, with a real store on MariaDB (invariant 18).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createMysqlStore } from '../../src/adapters/store/mysql.ts';
import { createWsTransport } from '../../src/adapters/ws/transport.ts';
import { systemClock } from '../../src/context.ts';
import { OutboxRelay, type RedeliveryBackoff } from '../../src/core/events/outbox.ts';
import type { Clock, DomainEvent, Store } from '../../src/core/ports.ts';
import { WsReceiver, type ReceiverMode } from '../../src/sandbox/receiver.ts';
import { createTestDatabase, type TestDatabase } from '../support/mysql.ts';
import { silentLogger } from '../support/fakes.ts';
import { eventually, Receiver } from '../support/world.ts';

function events(count: number): DomainEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    id: randomUUID(),
    type: 'review.new',
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
    reviewId: `r${index}`,
    branchId: 'b1',
    data: { index },
  }));
}

describe('notifications over the WebSocket', () => {
  let db: TestDatabase;
  let store: Store;
  before(async () => {
    db = await createTestDatabase();
    store = createMysqlStore({ url: db.url, notifications: true });
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  test('the server down for a while, then up: every event delivered, in order, with the Bearer token', async () => {
    const receiver = await Receiver.start();
    const port = Number(new URL(receiver.url).port);
    await receiver.close();
    const relay = new OutboxRelay(store, createWsTransport({ url: `ws://127.0.0.1:${port}`, token: 'tok-1', ack: false, maxBackoffMs: 200 }), systemClock, silentLogger);
    const batch = events(20);
    await store.appendEvents(batch);
    relay.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await store.pendingOutbox(100)).length, 20, 'nothing is lost while the server is down');

    const server = new WebSocketServer({ host: '127.0.0.1', port });
    const received: Array<{ id: string; auth: string | undefined }> = [];
    server.on('connection', (socket, request) => socket.on('message', (data) => received.push({ id: JSON.parse(String(data)).id, auth: request.headers.authorization })));
    relay.kick();
    await eventually(() => received.length === 20, `delivered ${received.length} of 20`, 10_000);
    assert.deepEqual(received.map((frame) => frame.id), batch.map((event) => event.id));
    assert.ok(received.every((frame) => frame.auth === 'Bearer tok-1'));
    assert.equal((await relay.drain(2_000)).undelivered, 0);
    await relay.stop();
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  test('with ack, an event dropped before its acknowledgement is sent again with the same id', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as { port: number }).port;
    const seen: string[] = [];
    let dropped = false;
    server.on('connection', (socket) => {
      socket.on('message', (data) => {
        const id = JSON.parse(String(data)).id as string;
        seen.push(id);
        if (!dropped) {
          dropped = true;
          socket.terminate(); // the connection dies before the acknowledgement
          return;
        }
        socket.send(JSON.stringify({ ack: id }));
      });
    });
    const batch = events(3);
    await store.appendEvents(batch);
    const relay = new OutboxRelay(store, createWsTransport({ url: `ws://127.0.0.1:${port}`, token: null, ack: true, maxBackoffMs: 200 }), systemClock, silentLogger);
    relay.start();
    assert.equal((await relay.drain(10_000)).undelivered, 0, 'everything acknowledged in the end');
    await relay.stop();
    assert.equal(seen[0], batch[0]!.id);
    assert.ok(seen.filter((id) => id === batch[0]!.id).length >= 2, 'the unacknowledged event was sent again with the same id');
    assert.deepEqual([...new Set(seen)], batch.map((event) => event.id));
    await new Promise((resolve) => server.close(resolve));
  });

  test('10,000 pending events: all delivered, the relay never holds more than one batch', async () => {
    const receiver = await Receiver.start();
    const batch = events(10_000);
    for (let index = 0; index < batch.length; index += 1000) await store.appendEvents(batch.slice(index, index + 1000));
    let largestRead = 0;
    // The relay uses these three; the rest of the port is not reached (a Proxy would say so loudly).
    const counting = new Proxy({} as Store, {
      get: (_target, name) => {
        if (name === 'pendingOutbox') {
          return async (limit: number, dueAt?: Date) => {
            const rows = await store.pendingOutbox(limit, dueAt);
            largestRead = Math.max(largestRead, rows.length);
            return rows;
          };
        }
        if (name === 'markDelivered') return (ids: string[]) => store.markDelivered(ids);
        if (name === 'outboxStatus') return () => store.outboxStatus();
        throw new Error(`the relay used Store.${String(name)}`);
      },
    });
    const relay = new OutboxRelay(counting, createWsTransport({ url: receiver.url, token: null, ack: false }), systemClock, silentLogger);
    relay.start();
    try {
      assert.equal((await relay.drain(60_000)).undelivered, 0);
    } finally {
      await relay.stop();
    }
    assert.equal(receiver.frames.length, 10_000);
    assert.equal(new Set(receiver.frames.map((frame) => frame.event.id)).size, 10_000);
    assert.ok(largestRead <= 100, `read ${largestRead} events at once`);
    await receiver.close();
  });

  /** Short waits all round, so that a hostile receiver costs milliseconds. */
  const QUICK = { ackTimeoutMs: 300, pingIntervalMs: 200, maxBackoffMs: 200 };
  const QUICK_REDELIVERY: RedeliveryBackoff = { firstMs: 50, maxMs: 200, random: () => 0.5 };

  /** `mendsAfter`: the mode delivers nothing; once this holds, the receiver mends its ways. */
  const HOSTILE: Array<{ mode: ReceiverMode; acks: boolean[]; mendsAfter?: (receiver: WsReceiver) => Promise<boolean> }> = [
    { mode: { kind: 'close-mid-frame', every: 3 }, acks: [true, false] },
    { mode: { kind: 'reserved-opcode', every: 3 }, acks: [true, false] },
    { mode: { kind: 'terminate', every: 7 }, acks: [true, false] },
    { mode: { kind: 'garbage' }, acks: [true, false] },
    { mode: { kind: 'stall', after: 5 }, acks: [true, false], mendsAfter: async (receiver) => receiver.connections >= 2 },
    { mode: { kind: 'never-ack' }, acks: [true], mendsAfter: async () => (await store.pendingOutbox(100)).some((event) => event.attempts > 0) },
  ];

  for (const { mode, acks, mendsAfter } of HOSTILE) {
    for (const ack of acks) {
      test(`a receiver in mode ${mode.kind} (ack: ${ack}): no rejection escapes, every event arrives at least once`, async () => {
        const escaped: unknown[] = [];
        const onUnhandled = (reason: unknown) => escaped.push(reason);
        process.on('unhandledRejection', onUnhandled);
        const receiver = await WsReceiver.start({ mode });
        const relay = new OutboxRelay(store, createWsTransport({ url: receiver.url, token: null, ack, ...QUICK }), systemClock, silentLogger, QUICK_REDELIVERY);
        try {
          const batch = events(30);
          await store.appendEvents(batch);
          relay.start();
          if (mendsAfter) {
            await eventually(() => mendsAfter(receiver), 'the client noticed', 10_000);
            receiver.mode = { kind: 'normal' };
          }
          assert.equal((await relay.drain(20_000)).undelivered, 0, 'the outbox is empty');
          const missing = batch.filter((event) => !receiver.eventIds.has(event.id));
          assert.deepEqual(missing, [], `${missing.length} of 30 never arrived`);
          await relay.stop();
          await new Promise((resolve) => setTimeout(resolve, 50));
          assert.deepEqual(escaped, [], 'no rejection escaped the WebSocket client');
        } finally {
          process.off('unhandledRejection', onUnhandled);
          await relay.stop();
          await receiver.close();
        }
      });
    }
  }

  test('ack: 100 events never acknowledged do not stop the 50 behind them; they are resent ever later, capped, never dropped', async () => {
    const batch = events(150);
    const withheld = new Set(batch.slice(0, 100).map((event) => event.id));
    const receiver = await WsReceiver.start({ mode: { kind: 'withhold-acks', ids: withheld } });
    // A clock that moves only when told: each retry time is then exact (the jitter is pinned at its top).
    let now = new Date('2030-01-01T00:00:00.000Z');
    const clock: Clock = { now: () => now, sleep: systemClock.sleep };
    const backoff: RedeliveryBackoff = { firstMs: 60_000, maxMs: 240_000, random: () => 1 };
    const relay = new OutboxRelay(store, createWsTransport({ url: receiver.url, token: null, ack: true, ...QUICK }), clock, silentLogger, backoff);
    try {
      await store.appendEvents(batch);
      relay.start();
      const pendingIds = async () => new Set((await store.pendingOutbox(1000)).map((event) => event.id));
      await eventually(async () => (await pendingIds()).size === 100, 'the 50 behind the unacknowledged ones were delivered', 10_000);
      assert.deepEqual(await pendingIds(), withheld, 'what is left is exactly what the receiver did not acknowledge');

      const waits: number[] = [];
      for (let attempt = 1; attempt <= 4; attempt += 1) {
        await eventually(async () => (await store.pendingOutbox(1000)).every((event) => event.attempts === attempt), `attempt ${attempt} recorded`, 10_000);
        const pending = await store.pendingOutbox(1000);
        assert.equal(pending.length, 100, 'nothing is dropped');
        waits.push(pending[0]!.retryAt!.getTime() - now.getTime());
        assert.ok(pending.every((event) => event.retryAt!.getTime() === pending[0]!.retryAt!.getTime()));
        assert.deepEqual(await store.pendingOutbox(10, now), [], 'none is due before its time');
        now = pending[0]!.retryAt!;
        relay.kick();
      }
      assert.deepEqual(waits, [60_000, 120_000, 240_000, 240_000], 'doubling, capped');

      receiver.mode = { kind: 'normal' };
      now = new Date(now.getTime() + 240_000);
      assert.equal((await relay.drain(10_000)).undelivered, 0, 'delivered once the receiver acknowledges');
      for (const event of batch) assert.ok(receiver.eventIds.has(event.id));
      const sends = receiver.frames.filter((frame) => frame.event?.id === batch[0]!.id).length;
      assert.ok(sends >= 5, `the first event was sent ${sends} times`);
    } finally {
      await relay.stop();
      await receiver.close();
    }
  });

  test('a 401 on the upgrade: the drain says so, with how many events wait', async () => {
    const receiver = await WsReceiver.start({ refuseWith: 401 });
    const relay = new OutboxRelay(store, createWsTransport({ url: receiver.url, token: 'wrong', ack: false, ...QUICK }), systemClock, silentLogger, QUICK_REDELIVERY);
    try {
      await store.appendEvents(events(3));
      const report = await relay.drain(1_500);
      assert.equal(report.undelivered, 3);
      assert.match(report.refusal ?? '', /refused the connection with HTTP 401/);
      assert.ok(receiver.refused >= 1);
      receiver.refuseWith = null;
      assert.deepEqual(await relay.drain(10_000), { undelivered: 0, refusal: null }, 'a delivery clears the refusal');
    } finally {
      await relay.stop();
      await receiver.close();
    }
  });
});
