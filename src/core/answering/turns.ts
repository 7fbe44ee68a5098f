// One worker pool for every business of a deployment (issue 19): `concurrency` answers at once in all, handed out
// in turns between the businesses that have work ready, so a business with a backlog of thousands cannot hold
// back another's fresh review. Each business's cycle runs its own lanes; a lane holds a turn from its claim until
// its answer is out (or the review came to rest), then queues again behind the others.

export interface TurnOptions {
  /** Answers in work at once, over every business. */
  concurrency: number;
  /** The most one business may hold at once (`polling.concurrencyPerBusiness`); default: all of them. */
  perBusiness?: number;
}

/** A turn held; `end` gives it back (once; later calls do nothing). */
export interface Turn {
  end(): void;
}

export class Turns {
  readonly #concurrency: number;
  readonly #perBusiness: number;
  #free: number;
  /** Each business's lanes waiting for a turn, first come first served within a business. */
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #held = new Map<string, number>();
  /** The businesses in the order they first asked for a turn. */
  readonly #rotation: string[] = [];
  /** When each business was last given a turn (a count of turns given); never: not in the map. */
  readonly #lastServed = new Map<string, number>();
  #given = 0;

  constructor(options: TurnOptions) {
    this.#concurrency = Math.max(1, Math.floor(options.concurrency));
    this.#perBusiness = Math.max(1, Math.min(this.#concurrency, Math.floor(options.perBusiness ?? this.#concurrency)));
    this.#free = this.#concurrency;
  }

  /** The lanes one business's cycle runs: never more than it may hold at once. */
  get lanesPerBusiness(): number {
    return this.#perBusiness;
  }

  /** Waits for a turn of `businessId`; rejected by `signal` while it waits. */
  take(businessId: string, signal?: AbortSignal): Promise<Turn> {
    return new Promise<Turn>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#turnOf(businessId));
      };
      const onAbort = () => {
        const queue = this.#waiting.get(businessId) ?? [];
        const at = queue.indexOf(grant);
        if (at >= 0) queue.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const queue = this.#waiting.get(businessId) ?? [];
      this.#waiting.set(businessId, queue);
      if (!this.#rotation.includes(businessId)) this.#rotation.push(businessId);
      queue.push(grant);
      this.#dispatch();
    });
  }

  #turnOf(businessId: string): Turn {
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        this.#free += 1;
        this.#held.set(businessId, (this.#held.get(businessId) ?? 1) - 1);
        this.#dispatch();
      },
    };
  }

  /**
   * Hands free turns out round robin: to the business with a lane waiting and room left that was served longest
   * ago, one never served first (a business that asks late is not put behind one that was served all along).
   */
  #dispatch(): void {
    while (this.#free > 0) {
      let next: string | undefined;
      for (const id of this.#rotation) {
        if ((this.#waiting.get(id)?.length ?? 0) === 0 || (this.#held.get(id) ?? 0) >= this.#perBusiness) continue;
        if (next === undefined || (this.#lastServed.get(id) ?? -1) < (this.#lastServed.get(next) ?? -1)) next = id;
      }
      if (next === undefined) return;
      const grant = this.#waiting.get(next)!.shift()!;
      this.#free -= 1;
      this.#held.set(next, (this.#held.get(next) ?? 0) + 1);
      this.#lastServed.set(next, this.#given++);
      grant();
    }
  }
}
