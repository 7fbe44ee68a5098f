// Relays stored events to the transport in order, at least once (invariant 18). The database is the buffer:
// at most 100 events are in hand at once, and answering never waits for delivery. An event the receiver does not
// acknowledge is sent again later, each time after a longer (capped, jittered) wait, and never dropped; the
// events behind it go on meanwhile.
import { isServiceError } from '../../errors.ts';
import type { Clock, DeliveryOutcome, EventTransport, Logger, PendingEvent, Store } from '../ports.ts';

/** Events sent and not yet settled, at most: the relay holds no more than this many in memory. */
const WINDOW = 100;
const IDLE_POLL_MS = 2_000;
const RETRY_MS = 1_000;
/**
 * How long the relay lets events gather after it is woken: a busy cycle commits them a few at a time, and a
 * read and a delete per handful cost more SQL than the answers themselves. Delivery waits that much longer.
 */
const GATHER_MS = 100;
/** How long stopping waits for the sends in flight to settle once the transport is closed. */
const STOP_GRACE_MS = 2_000;

/** How long an unacknowledged event waits before it is sent again: `firstMs` doubling per attempt, up to `maxMs`. */
export interface RedeliveryBackoff {
  firstMs: number;
  maxMs: number;
  /** 0 ≤ x < 1: the jitter; the wait is between half and all of the step. */
  random: () => number;
}

export const DEFAULT_REDELIVERY: RedeliveryBackoff = { firstMs: 5_000, maxMs: 10 * 60_000, random: Math.random };

/** The wait after the `attempts`-th unacknowledged send of an event. */
export function redeliveryDelayMs(attempts: number, backoff: RedeliveryBackoff): number {
  const step = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(step / 2 + backoff.random() * (step / 2));
}

/** What a drain left behind, for the person running the command. */
export interface DeliveryReport {
  /** Events still in the outbox: kept, and sent again later. */
  undelivered: number;
  /** The receiver refused the connection (HTTP 401/403): its words, until a delivery succeeds again. */
  refusal: string | null;
}

/** The notifier as the commands see it; the relay below, or a silent one when no WebSocket is set. */
export interface Notifier {
  start(): void;
  kick(): void;
  /** Waits until the outbox is empty, nothing in it falls due within `timeoutMs`, `timeoutMs` passes or `signal` aborts. */
  drain(timeoutMs: number, signal?: AbortSignal): Promise<DeliveryReport>;
  stop(): Promise<void>;
}

export const silentNotifier: Notifier = {
  start() {},
  kick() {},
  drain: async () => ({ undelivered: 0, refusal: null }),
  stop: async () => {},
};

export class OutboxRelay implements Notifier {
  #store: Store;
  #transport: EventTransport;
  #clock: Clock;
  #logger: Logger;
  #backoff: RedeliveryBackoff;
  #stopping = new AbortController();
  #loop: Promise<void> | null = null;
  /** Sent and not settled yet, by id; with #results, at most WINDOW. */
  #inFlight = new Map<string, PendingEvent>();
  /** Settled sends, not yet written to the store. */
  #results: SendResult[] = [];
  #wake: (() => void) | null = null;
  #gathering: ReturnType<typeof setTimeout> | null = null;
  /** Events were committed since the relay last looked. */
  #kicked = false;
  /** The last look filled the window: more may be due. */
  #backlog = false;
  #refusal: string | null = null;
  /** Refused connections so far: a drain stops waiting once one more comes. */
  #refusals = 0;

  constructor(store: Store, transport: EventTransport, clock: Clock, logger: Logger, backoff: RedeliveryBackoff = DEFAULT_REDELIVERY) {
    this.#store = store;
    this.#transport = transport;
    this.#clock = clock;
    this.#logger = logger;
    this.#backoff = backoff;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** New events were committed: look now instead of at the next poll. */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  async drain(timeoutMs: number, signal?: AbortSignal): Promise<DeliveryReport> {
    this.start();
    const deadline = Date.now() + timeoutMs;
    const refusals = this.#refusals;
    let pending = 0;
    for (;;) {
      const left = deadline - Date.now();
      let settled = false;
      try {
        const status = await this.#store.outboxStatus();
        pending = status.pending;
        // Nothing left, or all of it held back past the deadline: waiting would change nothing; nor would it
        // once the receiver has refused the connection (401/403) meanwhile.
        settled = pending === 0 || status.nextDueAt!.getTime() > this.#clock.now().getTime() + left || this.#refusals > refusals;
      } catch {
        // The database is away: the cycle reports that; the count stays the last one seen.
      }
      if (settled || left <= 0 || this.#stopping.signal.aborted || signal?.aborted) return this.#report(pending);
      this.kick();
      await this.#clock.sleep(Math.min(50, Math.max(1, left)));
    }
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#wake?.();
    await this.#loop;
    // Closing settles every send in flight (what was sent and not acknowledged counts as unacknowledged); what
    // they proved is written down. A send that has not settled by then stays due, for the next process.
    await this.#transport.close();
    for (let waited = 0; this.#inFlight.size > 0 && waited < STOP_GRACE_MS; waited += 10) await this.#clock.sleep(10);
    await this.#record().catch(() => {});
  }

  #report(pending: number): DeliveryReport {
    // Proven but not written yet: delivered, whatever the table says this instant.
    const proven = this.#results.filter((result) => result.outcome === 'delivered').length;
    return { undelivered: Math.max(0, pending - proven), refusal: this.#refusal };
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    let look = true;
    while (!signal.aborted) {
      let recorded: Recorded = { delivered: 0, failure: null };
      try {
        recorded = await this.#record();
        if ((look || this.#kicked || this.#backlog) && this.#inHand() < WINDOW) await this.#look();
      } catch (error) {
        recorded.failure ??= error;
      }
      look = false;
      if (signal.aborted) break;
      if (recorded.failure !== null) {
        this.#failed(recorded.failure);
        // A connection that carried some events is worth another at once (the transport spaces out connections
        // that carry nothing); anything else waits a little. Either way the failed events are due again.
        if (recorded.delivered === 0) await this.#clock.sleep(RETRY_MS, signal).catch(() => {});
        look = true;
        continue;
      }
      if (this.#backlog && this.#inHand() < WINDOW) continue;
      if (this.#results.length > 0 || this.#kicked) {
        if (this.#kicked) await this.#clock.sleep(GATHER_MS, signal).catch(() => {});
        continue;
      }
      look = await this.#sleepUntilWoken(IDLE_POLL_MS, signal);
    }
  }

  /** Reads the oldest due events and sends those not in hand yet (in flight, or settled and not written), in order, up to the window. */
  async #look(): Promise<void> {
    this.#kicked = false;
    const due = await this.#store.pendingOutbox(WINDOW, this.#clock.now());
    const settled = new Set(this.#results.map((result) => result.event.id));
    const room = WINDOW - this.#inFlight.size - settled.size;
    const fresh = due.filter((event) => !this.#inFlight.has(event.id) && !settled.has(event.id)).slice(0, Math.max(0, room));
    this.#backlog = due.length === WINDOW && fresh.length === room;
    for (const event of fresh) this.#send(event);
  }

  /** Events the relay holds in memory: in flight, or settled and not written down yet. */
  #inHand(): number {
    return this.#inFlight.size + this.#results.length;
  }

  #send(event: PendingEvent): void {
    this.#inFlight.set(event.id, event);
    this.#transport.send(event).then(
      (outcome) => this.#settled({ event, outcome, error: null }),
      (error: unknown) => this.#settled({ event, outcome: null, error }),
    );
  }

  /**
   * A send settled. The loop writes results down together: at once when nothing else is in flight, else after
   * GATHER_MS, so a batch whose proofs come one by one costs one write, not one per event.
   */
  #settled(result: SendResult): void {
    this.#inFlight.delete(result.event.id);
    this.#results.push(result);
    // The receiver took an event: whatever refused the connection before no longer does (the report says so at
    // once, before the delivery is written down).
    if (result.outcome === 'delivered') this.#refusal = null;
    if (this.#inFlight.size === 0) return this.#wake?.();
    this.#gathering ??= setTimeout(() => {
      this.#gathering = null;
      this.#wake?.();
    }, GATHER_MS);
  }

  /**
   * Writes down the settled sends: delivered events leave the outbox; unacknowledged ones wait their backoff
   * (the events behind them are not held up); those the connection failed under stay due, same id.
   */
  async #record(): Promise<Recorded> {
    const results = this.#results.splice(0);
    const delivered = results.filter((result) => result.outcome === 'delivered').map((result) => result.event.id);
    const unacknowledged = results.filter((result) => result.outcome === 'unacknowledged').map((result) => result.event);
    const failure = results.find((result) => result.error !== null)?.error ?? null;
    if (delivered.length > 0) await this.#store.markDelivered(delivered);
    if (unacknowledged.length > 0) await this.#defer(unacknowledged);
    return { delivered: delivered.length, failure };
  }

  async #defer(events: readonly PendingEvent[]): Promise<void> {
    const now = this.#clock.now().getTime();
    const entries = events.map((event) => ({ id: event.id, retryAt: new Date(now + redeliveryDelayMs(event.attempts + 1, this.#backoff)) }));
    await this.#store.deferDelivery(entries);
    const soonest = Math.min(...entries.map((entry) => entry.retryAt.getTime()));
    this.#logger.warn('events not acknowledged by the receiver; sent again later', {
      count: events.length,
      attempts: Math.max(...events.map((event) => event.attempts + 1)),
      retryInMs: soonest - now,
    });
  }

  #failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (isServiceError(error, 'websocket') && (error.kind === 'auth' || error.kind === 'blocked')) {
      this.#refusal = message;
      this.#refusals += 1;
    }
    this.#logger.warn('event delivery paused', { error: message });
  }

  /** Resolves true when `ms` passed, false when woken (a kick, a settled send, or stopping) first. */
  #sleepUntilWoken(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(true), ms);
      const done = (timedOut: boolean) => {
        clearTimeout(timer);
        this.#wake = null;
        // Each sleep's listener goes with it: left on the signal, they piled up (one per idle wait) for the
        // lifetime of the relay.
        signal.removeEventListener('abort', onAbort);
        resolve(timedOut);
      };
      const onAbort = () => done(false);
      this.#wake = () => done(false);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A settled send: an outcome, or the error the connection failed with. */
interface SendResult {
  event: PendingEvent;
  outcome: DeliveryOutcome | null;
  error: unknown;
}

interface Recorded {
  delivered: number;
  failure: unknown;
}
