// The outbox relay over a real WebSocket, with a real store on MariaDB (invariant 18).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createMysqlStore } from '../../src/adapters/store/mysql.ts';
import { createWsTransport } from '../../src/adapters/ws/transport.ts';
import { systemClock } from '../../src/context.ts';
import { OutboxRelay } from '../../src/core/outbox.ts';
import type { DomainEvent, Store } from '../../src/core/ports.ts';
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
    assert.ok(await relay.drain(2_000));
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
    assert.ok(await relay.drain(10_000), 'everything acknowledged in the end');
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
    // The relay uses these two; the rest of the port is not reached (a Proxy would say so loudly).
    const counting = new Proxy({} as Store, {
      get: (_target, name) => {
        if (name === 'pendingOutbox') {
          return async (limit: number) => {
            const rows = await store.pendingOutbox(limit);
            largestRead = Math.max(largestRead, rows.length);
            return rows;
          };
        }
        if (name === 'markDelivered') return (ids: string[]) => store.markDelivered(ids);
        throw new Error(`the relay used Store.${String(name)}`);
      },
    });
    const relay = new OutboxRelay(counting, createWsTransport({ url: receiver.url, token: null, ack: false }), systemClock, silentLogger);
    relay.start();
    assert.ok(await relay.drain(60_000));
    await relay.stop();
    assert.equal(receiver.frames.length, 10_000);
    assert.equal(new Set(receiver.frames.map((frame) => frame.event.id)).size, 10_000);
    assert.ok(largestRead <= 100, `read ${largestRead} events at once`);
    await receiver.close();
  });
});
