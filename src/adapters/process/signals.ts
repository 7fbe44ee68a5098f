// SIGINT and SIGTERM for the commands that work on reviews (run, poll-once, demo). The first signal asks the
// command to stop: it takes no new work, a model call in hand is cut and its review goes back to the queue, and an
// answer already on its way to 2GIS is finished and settled. A second asks it to stop waiting for anything else (the
// notifications still going out stay in the outbox); the POST and its settlement are still awaited, whatever comes
// after: abandoning one would leave an answer that may be on 2GIS unrecorded until the next run reads it back.
// Listening at all keeps Node's default (dying on the spot) away for as long as the command runs.
export type StopSignalName = 'SIGINT' | 'SIGTERM';

export interface StopRequest {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Aborted by the second: stop waiting for anything but an answer on its way to 2GIS. */
  readonly hurry: AbortSignal;
  /** The first signal received, or null while none was. */
  readonly received: StopSignalName | null;
}

/** A request that never comes: for callers (tests, benchmarks) that do not listen for signals. */
export const NEVER_STOPPED: StopRequest = { signal: new AbortController().signal, hurry: new AbortController().signal, received: null };

export class StopSignals implements StopRequest {
  readonly #stop = new AbortController();
  readonly #hurry = new AbortController();
  #received: StopSignalName | null = null;
  readonly #listener = (name: StopSignalName) => this.#receive(name);

  /** Listens from now until `dispose`; a signal is never left to Node's default meanwhile. */
  constructor() {
    process.on('SIGINT', this.#listener);
    process.on('SIGTERM', this.#listener);
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  get hurry(): AbortSignal {
    return this.#hurry.signal;
  }

  get received(): StopSignalName | null {
    return this.#received;
  }

  dispose(): void {
    process.off('SIGINT', this.#listener);
    process.off('SIGTERM', this.#listener);
  }

  #receive(name: StopSignalName): void {
    if (this.#received === null) {
      this.#received = name;
      this.#stop.abort(new Error(name));
    } else this.#hurry.abort(new Error(name));
  }
}
