// The WebSocket leg of the outbox: one connection at a time, reconnected with capped jittered backoff, and an
// event counted delivered only on proof that the receiver read it: its `{"ack":"<id>"}` with `ack`, otherwise
// the pong to a ping sent after it (frames arrive in order, so the pong comes after the event was read).
// Whatever the receiver does (drops, stalls, cuts a frame, sends garbage or a bad opcode), the connection is
// dropped and every send on it settles; no promise of this module is ever left to reject unobserved.
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { eventJson } from '../../core/events/events.ts';
import type { DeliveryOutcome, DomainEvent, EventTransport } from '../../core/ports.ts';
import { ServiceError, type ServiceErrorKind } from '../../errors.ts';

export interface WsTransportOptions {
  url: string;
  token: string | null;
  ack: boolean;
  connectTimeoutMs?: number;
  /** How long a sent event waits for its proof: the ack (then it is 'unacknowledged'), or the pong (then the connection is dropped). */
  ackTimeoutMs?: number;
  pingIntervalMs?: number;
  maxBackoffMs?: number;
}

export function createWsTransport(options: WsTransportOptions): EventTransport {
  return new WsTransport(options);
}

/**
 * What `doctor` asks of a receiver, over the same path events take: with `ack`, that it acknowledges a probe
 * event (`{"type":"doctor.probe"}`, sent only then); without, that it answers a ping, the proof gisbot relies on.
 * Rejects when the connection fails (a refused upgrade carries its HTTP status).
 */
export async function probeReceiver(options: WsTransportOptions): Promise<'acknowledged' | 'unacknowledged' | 'answered a ping'> {
  const transport = new WsTransport(options);
  try {
    if (!options.ack) {
      await transport.roundTrip();
      return 'answered a ping';
    }
    return (await transport.sendProbe()) === 'delivered' ? 'acknowledged' : 'unacknowledged';
  } finally {
    await transport.close();
  }
}

/** One send waiting for its proof of delivery. */
interface Waiter {
  settle(outcome: DeliveryOutcome): void;
  fail(error: ServiceError): void;
}

class WsTransport implements EventTransport {
  #options: Required<WsTransportOptions>;
  #link: Link | null = null;
  #connecting: Promise<Link> | null = null;
  /** Connections in a row that failed or delivered nothing: what the reconnect backoff grows with. */
  #failures = 0;
  #retryAt = 0;
  /** Aborted by close(): cuts short a reconnect wait or a handshake under way. */
  #closing = new AbortController();

  constructor(options: WsTransportOptions) {
    this.#options = {
      connectTimeoutMs: 5_000,
      ackTimeoutMs: 10_000,
      pingIntervalMs: 15_000,
      maxBackoffMs: 30_000,
      ...options,
    };
  }

  async send(event: DomainEvent): Promise<DeliveryOutcome> {
    const link = await this.#connected();
    return link.deliver(event.id, eventJson(event));
  }

  /** An event of the contract's shape that is not one of gisbot's: the receiver may drop it, but acks it by id. */
  async sendProbe(): Promise<DeliveryOutcome> {
    const id = `doctor-${randomUUID()}`;
    const probe = { id, type: 'doctor.probe', at: new Date().toISOString(), reviewId: null, branchId: null, data: {} };
    const link = await this.#connected();
    return link.deliver(id, JSON.stringify(probe));
  }

  /** Resolves when the receiver answers a ping; rejects when the connection fails first. */
  async roundTrip(): Promise<void> {
    const link = await this.#connected();
    await link.roundTrip();
  }

  async close(): Promise<void> {
    this.#closing.abort();
    const link = this.#link;
    this.#link = null;
    await link?.close(closedError());
  }

  async #connected(): Promise<Link> {
    if (this.#closing.signal.aborted) throw closedError();
    if (this.#link) return this.#link;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Link> {
    const closing = this.#closing.signal;
    const wait = this.#retryAt - Date.now();
    if (wait > 0) await abortableWait(wait, closing);
    if (closing.aborted) throw closedError();
    const { default: WebSocketClass } = await import('ws');
    const headers: Record<string, string> = this.#options.token ? { Authorization: `Bearer ${this.#options.token}` } : {};
    const socket = new WebSocketClass(this.#options.url, { headers, handshakeTimeout: this.#options.connectTimeoutMs });
    // Listened to from the first moment to the last: an 'error' without a listener would throw.
    socket.on('error', () => socket.terminate());
    const abandon = () => socket.terminate();
    closing.addEventListener('abort', abandon, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', (error) => reject(this.#error('cannot connect', 'unavailable', error)));
        socket.once('close', () => reject(this.#error('cannot connect', 'unavailable', new Error('connection closed'))));
        socket.once('unexpected-response', (request, response) => {
          const status = response.statusCode ?? 0;
          const kind: ServiceErrorKind = status === 401 ? 'auth' : status === 403 ? 'blocked' : 'unavailable';
          reject(this.#error(`refused the connection with HTTP ${status}`, kind, undefined, status));
          request.destroy();
        });
      });
    } catch (error) {
      socket.terminate();
      if (closing.aborted) throw closedError();
      this.#failed();
      throw error;
    } finally {
      closing.removeEventListener('abort', abandon);
    }
    const link = new Link(socket, this.#options, {
      delivered: () => {
        this.#failures = 0;
      },
      closed: (proved) => {
        if (this.#link === link) this.#link = null;
        if (!proved) this.#failed();
      },
      error: (what, cause) => this.#error(what, 'unavailable', cause),
    });
    if (closing.aborted) {
      await link.close(closedError());
      throw closedError();
    }
    if (socket.readyState !== socket.OPEN) {
      const error = this.#error('cannot connect', 'unavailable', new Error('connection closed'));
      await link.close(error);
      throw error;
    }
    this.#link = link;
    return link;
  }

  /** One more connection that got nothing through: the next waits longer (capped, jittered). */
  #failed(): void {
    this.#failures += 1;
    const ceiling = Math.min(this.#options.maxBackoffMs, 250 * 2 ** Math.min(this.#failures, 10));
    this.#retryAt = Date.now() + ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #error(what: string, kind: ServiceErrorKind, cause: unknown, status?: number): ServiceError {
    const host = new URL(this.#options.url).host;
    const reason = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
    return new ServiceError('websocket', kind, `WebSocket ${host}: ${what}${reason}`, { cause, ...(status === undefined ? {} : { status }) });
  }
}

/**
 * Pings unanswered at once, at most. A ping after each event lets a connection that dies mid-batch keep what it
 * carried before, but receivers guard against ping floods (the ws server drops a client with 60 pongs queued):
 * past this, one ping covers all the events written since the last.
 */
const MAX_PINGS_IN_FLIGHT = 8;

function closedError(): ServiceError {
  return new ServiceError('websocket', 'unavailable', 'the notifier is closed');
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
function abortableWait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface LinkEvents {
  /** An event was proven delivered on this connection. */
  delivered(): void;
  /** The connection is gone; `proved`: it delivered at least one event. */
  closed(proved: boolean): void;
  error(what: string, cause: unknown): ServiceError;
}

/** One open connection and the sends waiting on it. */
class Link {
  #socket: WebSocket;
  #options: Required<WsTransportOptions>;
  #events: LinkEvents;
  /** With `ack`: the sends waiting for their event's acknowledgement, by event id. */
  #acks = new Map<string, Waiter[]>();
  /**
   * Without `ack`: the sends waiting for the pong to a ping sent behind them, oldest first; `ping` is null for
   * those sent since the last ping.
   */
  #proofs: Array<{ ping: number | null; waiter: Waiter }> = [];
  #pings = 0;
  #answered = 0;
  #proved = false;
  #open = true;
  /** Why gisbot dropped the connection, when it did. */
  #dropped: string | null = null;
  #keepalive: NodeJS.Timeout;

  constructor(socket: WebSocket, options: Required<WsTransportOptions>, events: LinkEvents) {
    this.#socket = socket;
    this.#options = options;
    this.#events = events;
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.#onMessage(String(data));
    });
    socket.on('pong', (data) => this.#onPong(String(data)));
    socket.on('close', (code) =>
      this.#onClose(events.error('connection closed', new Error(this.#dropped ?? `the receiver ended it (code ${code})`))),
    );
    // No pong since the last keepalive ping: the peer or the path is dead.
    let lastPing = 0;
    this.#keepalive = setInterval(() => {
      if (this.#answered < lastPing) return this.#drop(`no pong within ${Math.round(options.pingIntervalMs / 1000)} s`);
      lastPing = this.#ping();
    }, options.pingIntervalMs);
    this.#keepalive.unref();
  }

  /** Sends one event's frame; settles on its proof (see the top of the file). */
  deliver(eventId: string, frame: string): Promise<DeliveryOutcome> {
    return new Promise<DeliveryOutcome>((resolve, reject) => {
      if (!this.#open) return reject(this.#events.error('send failed', new Error('the connection is closed')));
      const waiter = this.#waiter(eventId, resolve, reject);
      this.#socket.send(frame, (error) => {
        if (error) this.#drop(`send failed: ${error.message}`);
      });
      if (this.#options.ack) {
        const list = this.#acks.get(eventId) ?? [];
        list.push(waiter);
        this.#acks.set(eventId, list);
      } else {
        this.#proofs.push({ ping: null, waiter });
        if (this.#pings - this.#answered < MAX_PINGS_IN_FLIGHT) this.#ping();
      }
    });
  }

  roundTrip(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.#open) return reject(this.#events.error('ping failed', new Error('the connection is closed')));
      // Settled by a pong, like the proof of an event; a missing pong drops the connection, failing it.
      const waiter = this.#waiter('', () => resolve(), reject, false);
      this.#proofs.push({ ping: null, waiter });
      this.#ping();
    });
  }

  /** Ends the connection; sends still waiting for an acknowledgement count as unacknowledged (they were sent). */
  async close(error: ServiceError): Promise<void> {
    const socket = this.#socket;
    const wasOpen = socket.readyState === socket.OPEN;
    for (const waiter of [...this.#acks.values()].flat()) waiter.settle('unacknowledged');
    this.#onClose(error);
    if (!wasOpen) return socket.terminate();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 1_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, 'bye');
    });
  }

  /** A waiter that settles once: on its proof, its deadline, or the connection's end. */
  #waiter(
    eventId: string,
    resolve: (outcome: DeliveryOutcome) => void,
    reject: (error: ServiceError) => void,
    acknowledged = this.#options.ack,
  ): Waiter {
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      const list = this.#acks.get(eventId);
      if (list) {
        const rest = list.filter((one) => one !== waiter);
        if (rest.length > 0) this.#acks.set(eventId, rest);
        else this.#acks.delete(eventId);
      }
      return true;
    };
    const waiter: Waiter = {
      settle: (outcome) => {
        if (!finish()) return;
        if (outcome === 'delivered') {
          this.#proved = true;
          this.#events.delivered();
        }
        resolve(outcome);
      },
      fail: (error) => {
        if (finish()) reject(error);
      },
    };
    // With ack, silence is the receiver's answer ('unacknowledged'); without, a missing pong means the link is dead.
    const timer = setTimeout(
      () => (acknowledged ? waiter.settle('unacknowledged') : this.#drop(`no pong within ${Math.round(this.#options.ackTimeoutMs / 1000)} s`)),
      this.#options.ackTimeoutMs,
    );
    timer.unref();
    return waiter;
  }

  /** Sends a ping; its pong will prove every event written before it. */
  #ping(): number {
    this.#pings += 1;
    const ping = this.#pings;
    for (let index = this.#proofs.length - 1; index >= 0 && this.#proofs[index]!.ping === null; index -= 1) this.#proofs[index]!.ping = ping;
    try {
      this.#socket.ping(String(ping));
    } catch (error) {
      this.#drop(`ping failed: ${(error as Error).message}`);
    }
    return ping;
  }

  #onPong(data: string): void {
    const ping = Number(data);
    // A pong answers every ping up to its own (a peer may answer only the latest); an unsolicited one proves nothing.
    if (!Number.isSafeInteger(ping) || ping <= this.#answered || ping > this.#pings) return;
    this.#answered = ping;
    while (this.#proofs.length > 0 && (this.#proofs[0]!.ping ?? Infinity) <= ping) this.#proofs.shift()!.waiter.settle('delivered');
    if (this.#proofs.at(-1)?.ping === null) this.#ping();
  }

  #onMessage(text: string): void {
    if (!this.#options.ack) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const id = typeof message === 'object' && message !== null ? (message as { ack?: unknown }).ack : undefined;
    if (typeof id !== 'string') return;
    for (const waiter of this.#acks.get(id) ?? []) waiter.settle('delivered');
  }

  /** Gives up on the connection: 'close' follows and fails what waits on it with `reason`. */
  #drop(reason: string): void {
    this.#dropped ??= reason;
    this.#socket.terminate();
  }

  #onClose(error: ServiceError): void {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#keepalive);
    const waiting = [...[...this.#acks.values()].flat(), ...this.#proofs.map((proof) => proof.waiter)];
    this.#acks.clear();
    this.#proofs = [];
    for (const waiter of waiting) waiter.fail(error);
    this.#events.closed(this.#proved);
  }
}
