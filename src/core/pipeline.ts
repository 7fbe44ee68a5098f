// What every capability of the core is handed, in one place: the ports and the settings. The context satisfies it.
// The settings' shapes live here, beside PipelineSettings that gathers them, so that this file imports no module that
// imports it back (test/unit/architecture.test.ts); each capability keeps its own defaults.
import { ofBusiness } from './events/events.ts';
import type { ConfiguredSecret } from './drafting/gate.ts';
import type { Turns } from './answering/turns.ts';
import type { Kopecks } from './money/money.ts';
import type { AnsweringPolicy } from './answering/policy.ts';
import type { Clock, DomainEvent, Failpoint, Logger, Model, Ownership, PromptSource, Store, TwoGis } from './ports.ts';

/** What one branch may cost a cycle, and its sweeps (answering/intake.ts, DEFAULT_INTAKE_LIMITS). */
export interface IntakeLimits {
  /** Review pages one branch may cost a cycle. */
  maxPagesPerBranch: number;
  /** Time one branch may take a cycle, checked before each page after the first. */
  maxMsPerBranch: number;
  /** How far back a sweep reads. */
  sweepMs: number;
  /** How often a branch is swept; 0 sweeps every cycle. */
  sweepIntervalMs: number;
}

/** When a complaint topic counts as recurring (insight/insight.ts, DEFAULT_INSIGHT). */
export interface InsightSettings {
  repeatThreshold: number;
  repeatWindowMs: number;
}

/** The owner's examples in the prompt (voice/voice.ts, DEFAULT_VOICE). */
export interface VoiceSettings {
  /** How many examples go into a prompt; 0: none, and the prompt is exactly what it was before examples. */
  examples: number;
  /** A model of the server's `/embeddings` to compare reviews with; null: the lexical measure. */
  embeddingModel: string | null;
}

export interface PipelineSettings {
  price: Kopecks;
  /** The business these settings serve (`default` without `businesses:`): its template rotation is its own. */
  businessId?: string;
  /** The price of an answer from the owner's templates (billing.pricePerTemplateReply); default `price`. */
  templatePrice?: Kopecks;
  lowBalance: Kopecks;
  approvalBelowRating: number;
  maxLength: number;
  leaseMs: number;
  concurrency: number;
  /** Attempts at posting one review (first try plus reconciler re-posts) before it fails with a reason. */
  maxPostAttempts: number;
  /** How long after an unseen POST its review is read back (longer than the POST's own deadline). */
  readBackDelayMs: number;
  /** Consecutive service failures that stop claiming new work for the rest of the cycle. */
  breakerThreshold: number;
  /** Answering rules beyond approvalBelowRating (policy.ts); missing keys take the defaults. */
  policy?: Partial<AnsweringPolicy>;
  /** The config's secrets: the reply gate refuses a draft that holds one. */
  secrets?: readonly ConfiguredSecret[];
  /** What one branch may cost a cycle, and its sweeps (intake.ts); missing keys take the defaults. */
  intake?: Partial<IntakeLimits>;
  /** How often a review waiting for a person is read again on 2GIS (approval.recheckMinutes; recheck.ts's default). */
  recheckMs?: number;
  /** When a complaint topic counts as recurring (insight.ts); missing keys take the defaults. */
  insight?: Partial<InsightSettings>;
  /** The owner's examples in the prompt (voice.ts); missing keys take the defaults. */
  voice?: Partial<VoiceSettings>;
  /**
   * The digest of the model settings in force (retries.ts): a review the model failed under other settings is
   * tried again at once. Default ''.
   */
  modelSettings?: string;
  /** How long after posting an answer is read back once more (twogis.recheckAfterHours); absent: a day. */
  recheckAfterMs?: number;
  /** Whether an answer 2GIS removed is refunded (billing.refundRemoved); absent: false. */
  refundRemoved?: boolean;
}

export interface PipelineDeps {
  store: Store;
  twogis: TwoGis;
  model: Model;
  clock: Clock;
  logger: Logger;
  failpoint: Failpoint;
  ownership: Ownership;
  prompts: PromptSource;
  settings: PipelineSettings;
  /** Called after each committed event, e.g. to wake the outbox relay. */
  onEvents?: (events: readonly DomainEvent[]) => void;
  /** The deployment's one worker pool, when several businesses are served at once (turns.ts). */
  turns?: Turns;
  /**
   * Called once per answer this process recorded as posted and charged, whatever path posted it (a cycle's lane, a
   * read-back, a person's answer from the terminal or a Telegram press): the one source of a run's counts.
   */
  onSettled?: (settlement: Settlement) => void;
}

export interface Settlement {
  reviewId: string;
  charged: Kopecks;
  /** The balance after the charge. */
  balance: Kopecks;
}

/** What a run's settlements came to. */
export class SettledTally {
  posted = 0;
  charged: Kopecks = 0n;
  add(settlement: Settlement): void {
    this.posted += 1;
    this.charged += settlement.charged;
  }
}

/** `deps` whose settlements are also counted in `tally` (and still reported to whoever listened before). */
export function countingSettlements<D extends PipelineDeps>(deps: D, tally: SettledTally): D {
  const outer = deps.onSettled;
  return {
    ...deps,
    onSettled: (settlement: Settlement) => {
      tally.add(settlement);
      outer?.(settlement);
    },
  };
}

/**
 * Logs committed events and tells whoever listens. Call only after the transaction that stored them. Each names
 * the business whose store kept it, as the stored row does.
 */
export function published(deps: Pick<PipelineDeps, 'logger' | 'onEvents'> & { store: Pick<Store, 'businessId'> }, events: readonly DomainEvent[]): void {
  events = ofBusiness(events, deps.store.businessId);
  for (const event of events) deps.logger.event(event);
  if (events.length > 0) deps.onEvents?.(events);
}
