// Relays stored events to the transport in order, at least once (invariant 18). The database is the buffer:
// at most one batch is held in memory, and answering never waits for delivery.
import type { Clock, DomainEvent, EventTransport, Logger, Store } from './ports.ts';

const BATCH = 100;
const IDLE_POLL_MS = 2_000;
const RETRY_MS = 1_000;
/**
 * How long the relay lets events gather after it is woken: a busy cycle commits them a few at a time, and a
 * read and a delete per handful cost more SQL than the answers themselves. Delivery waits that much longer.
 */
const GATHER_MS = 100;

/** The notifier as the commands see it; the relay below, or a silent one when no WebSocket is set. */
export interface Notifier {
  start(): void;
  kick(): void;
  drain(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export const silentNotifier: Notifier = {
  start() {},
  kick() {},
  drain: async () => true,
  stop: async () => {},
};

export class OutboxRelay implements Notifier {
  #store: Store;
  #transport: EventTransport;
  #clock: Clock;
  #logger: Logger;
  #wake: (() => void) | null = null;
  #stopping = new AbortController();
  #loop: Promise<void> | null = null;
  #idle = true;
  /** Events were committed since the relay last looked. */
  #kicked = false;

  constructor(store: Store, transport: EventTransport, clock: Clock, logger: Logger) {
    this.#store = store;
    this.#transport = transport;
    this.#clock = clock;
    this.#logger = logger;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** New events were committed: look now instead of at the next poll. */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  /** Waits until the outbox is empty or `timeoutMs` passes; returns whether everything was delivered. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.start();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#idle && (await this.#store.pendingOutbox(1)).length === 0) return true;
      if (Date.now() >= deadline || this.#stopping.signal.aborted) return false;
      this.kick();
      await this.#clock.sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.kick();
    await this.#transport.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        this.#kicked = false;
        const batch = await this.#store.pendingOutbox(BATCH);
        this.#idle = batch.length === 0;
        if (batch.length > 0) {
          await this.#deliver(batch);
          // A short batch was all there was, unless events came meanwhile (checked below): no empty look after it.
          if (batch.length === BATCH) continue;
        }
      } catch (error) {
        if (signal.aborted) return;
        this.#logger.warn('event delivery paused', { error: error instanceof Error ? error.message : String(error) });
        await this.#clock.sleep(RETRY_MS, signal).catch(() => {});
        continue;
      }
      if (!this.#kicked) await this.#sleepUntilKicked(IDLE_POLL_MS, signal);
      if (this.#kicked) await this.#clock.sleep(GATHER_MS, signal).catch(() => {});
    }
  }

  /**
   * Sends a batch pipelined, in order, then marks what was delivered in one write. An event whose delivery
   * failed, and everything after it, stays pending and is sent again (same id) on the next round.
   */
  async #deliver(batch: readonly DomainEvent[]): Promise<void> {
    const results = await Promise.allSettled(batch.map((event) => this.#transport.send(event)));
    const firstFailure = results.findIndex((result) => result.status === 'rejected');
    const delivered = firstFailure === -1 ? batch : batch.slice(0, firstFailure);
    if (delivered.length > 0) await this.#store.markDelivered(delivered.map((event) => event.id));
    if (firstFailure !== -1) throw (results[firstFailure] as PromiseRejectedResult).reason;
  }

  #sleepUntilKicked(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        // Each sleep's listener goes with it: left on the signal, they piled up (one per idle wait) for the
        // lifetime of the relay.
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
