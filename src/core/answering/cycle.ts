// One polling cycle: repair, take in, answer with bounded concurrency, re-read what waits for a person, read back
// what stayed unsure.
import { distinctProblems, isServiceError, type CycleProblem, type CycleWarning, type ServiceError } from '../../errors.ts';
import { recheckPostedAnswers } from './answer-recheck.ts';
import { makeEvent } from '../events/events.ts';
import { answerFollowUps, emptyFollowUpCounts, takeInFollowUps, type FollowUpCounts } from './followups.ts';
import { emptyIntakeCounts, intakeBranch, NOTHING_KEPT } from './intake.ts';
import { formatMoney, type Kopecks } from '../money/money.ts';
import { countingSettlements, published, SettledTally, type PipelineDeps } from '../pipeline.ts';
import { answeringPolicy } from './policy.ts';
import { recheckWaiting } from './recheck.ts';
import { priceOf } from '../drafting/templates.ts';
import { reconcile } from './reconcile.ts';
import type { Branch, CycleStatus, ListedReview, StoredReview } from '../ports.ts';
import type { Turn } from './turns.ts';
import { answerReview, currentPrompt, type WorkOutcome } from './worker.ts';

export interface CycleSummary {
  fetched: number;
  new: number;
  posted: number;
  skipped: number;
  awaitingApproval: number;
  failed: number;
  charged: Kopecks;
  balance: Kopecks;
  stoppedForBalance: boolean;
  /** One per service failure met during the cycle (each said once), in codes and the service's own detail. */
  problems: CycleProblem[];
  /** One per branch whose intake was cut short or had items it could not take in (in codes); not a failure. */
  warnings: CycleWarning[];
  /** The reviewers' comments under our answers taken in and answered (policy.answerFollowUps); not charged. */
  followUps: FollowUpCounts;
  /** Reviews put back in the queue untouched, without a failure: a stop signal, or work left by a crash. */
  released: number;
  /** 2GIS refused the business's credentials this cycle. */
  signInFailed?: boolean;
}

/** The summary of a cycle that never started (a stop signal came first). */
export function idleSummary(balance: Kopecks): CycleSummary {
  return {
    ...emptyIntakeCounts(),
    posted: 0,
    failed: 0,
    charged: 0n,
    balance,
    stoppedForBalance: false,
    problems: [],
    warnings: [],
    followUps: emptyFollowUpCounts(),
    released: 0,
  };
}

/** How a business's cycle ended, as `gisbot businesses` shows it. */
export function cycleStatus(summary: Pick<CycleSummary, 'stoppedForBalance'> & { signInFailed?: boolean }): CycleStatus {
  if (summary.signInFailed) return 'sign_in_failed';
  return summary.stoppedForBalance ? 'no_balance' : 'ok';
}

/** The turn of a cycle that serves one business alone: there is nobody to take turns with. */
const NO_TURN: Turn = { end: () => {} };

/** Passes over the queue after one stopped for lack of funds that other answers then released. */
const EXTRA_PASSES = 3;

export async function runCycle(caller: PipelineDeps, signal?: AbortSignal): Promise<CycleSummary> {
  // What was posted and charged is counted where it is settled, whichever step of the cycle settled it.
  const settled = new SettledTally();
  const deps = countingSettlements(caller, settled);
  const intake = emptyIntakeCounts();
  const outcomes = new Map<string, WorkOutcome>();
  const breaker = new Breaker(deps.settings.breakerThreshold);
  const state = { stoppedForBalance: false };

  // Only the follow-up check looks at what the pages listed: without it nothing is kept (memory stays flat).
  const listed: ListedReview[] | undefined = answeringPolicy(deps.settings).answerFollowUps ? [] : undefined;
  const followUps = emptyFollowUpCounts();
  const prompt = await currentPrompt(deps);
  collect(outcomes, await reconcile(deps, signal), breaker);
  // Reviews the model failed whose retry time came, or that failed under other model settings, join the queue.
  const requeued = await deps.store.requeueFailed(deps.clock.now(), deps.settings.modelSettings ?? '');
  if (requeued > 0) deps.logger.info('failed reviews are tried again', { reviews: requeued });

  // Intake and answering overlap: the lanes answer what the first branches brought while the others are still
  // being listed, instead of waiting for the last branch (a lane that finds the queue empty meanwhile waits for
  // the next branch to be taken in).
  const arrivals = new Arrivals();
  // The branches watched this cycle (twogis.branches, or the account's own list), null when they could not be
  // listed. Intake pages them; the lanes answer only their reviews: the list may have changed since a review
  // now in the queue was taken in.
  const branchList: Promise<Branch[] | null> = breaker.open
    ? Promise.resolve(null)
    : deps.twogis.listBranches().catch((error: unknown) => {
        if (!isServiceError(error)) throw error;
        breaker.failed(error, true);
        return null;
      });
  const watching = branchList.then((branches) => branches && new Set(branches.map((branch) => branch.id)));
  const takeIn = async () => {
    try {
      const branches = await branchList;
      if (branches === null) return;
      const kept = await deps.store.branchIntakes(branches.map((branch) => branch.id));
      await forEachLimited(branches, deps.settings.concurrency, async (branch) => {
        if (breaker.open || signal?.aborted) return;
        try {
          await intakeBranch(deps, branch, intake, { kept: kept.get(branch.id) ?? NOTHING_KEPT, listed, signal });
          breaker.succeeded();
        } catch (error) {
          if (!isServiceError(error)) throw error;
          // A page that cannot be read (too big, malformed) or a listing refused for this branch says nothing
          // about the service: it is reported, and the other branches go on.
          if (error.kind === 'bad_response' || error.kind === 'rejected') breaker.report(error);
          else breaker.failed(error);
          deps.logger.error('could not list reviews', { branchId: branch.id, error: error.message });
        } finally {
          arrivals.notify();
        }
      });
    } catch (error) {
      arrivals.failed = true; // a bug, not a service: the lanes stop, the error goes up once they have
      throw error;
    } finally {
      arrivals.close();
    }
  };

  // Serving several businesses, the lanes take turns with theirs (turns.ts): one pool, round robin.
  const lanes = deps.turns?.lanesPerBusiness ?? deps.settings.concurrency;
  const claimNext = (): Promise<Claim> => {
    const token = deps.ownership.newToken();
    const now = deps.clock.now();
    const arrived = arrivals.generation;
    return deps.store.claimNext(token, now, new Date(now.getTime() + deps.settings.leaseMs), (queued) => priceOf(queued, deps.settings)).then(
      (review): Claim => (review === 'insufficient' ? { kind: 'insufficient' } : review === null ? { kind: 'empty', arrived } : { kind: 'review', review, token }),
      (error: unknown): Claim => ({ kind: 'error', error }),
    );
  };
  const answerQueue = () =>
    forEachLimited(range(lanes), lanes, async (_lane, halted) => {
      // A lane goes on to its next review once an answer is out on 2GIS; recording and charging it (a dozen
      // statements, several waiting on the account row) runs meanwhile. At most one settlement trails a lane.
      let settling: Promise<void> = Promise.resolve();
      // The lane's next review, claimed while its current one is with the model: the claim is a transaction whose
      // reserve waits on the account row behind other answers' charges, and that wait is then off the lane's way.
      let ahead: Promise<Claim> | null = null;
      const goesOn = () => !breaker.open && !state.stoppedForBalance && !signal?.aborted && !halted() && !arrivals.failed;
      const watched = await watching;
      if (watched === null) return;
      try {
        while (goesOn()) {
          const turn = deps.turns ? await deps.turns.take(deps.store.businessId, signal).catch(() => null) : NO_TURN;
          if (turn === null) break; // the signal came while this lane waited for its turn
          let claim = await (ahead ?? claimNext());
          // Found nothing, or no funds, while the last review was in work: that review may have gone back to the
          // queue since (a 2GIS busy for a moment), or let go of its reserve (a refused draft). Look again now.
          if (ahead !== null && (claim.kind === 'empty' || claim.kind === 'insufficient')) claim = await claimNext();
          ahead = null;
          if (claim.kind !== 'review') turn.end();
          if (claim.kind === 'error') throw claim.error;
          if (claim.kind === 'insufficient') {
            state.stoppedForBalance = true;
            break;
          }
          if (claim.kind === 'empty') {
            if (arrivals.generation !== claim.arrived) continue; // a branch was taken in meanwhile: look again
            if (!arrivals.open) return;
            await arrivals.next();
            continue;
          }
          const { review, token } = claim;
          let markPosted = () => {};
          const posted = new Promise<void>((resolve) => (markPosted = resolve));
          const work = answerReview(deps, review, token, prompt, watched, signal, markPosted).then((outcome) => {
            if (outcome.kind === 'insufficient') state.stoppedForBalance = true;
            else collect(outcomes, [[review.id, outcome]], breaker);
          });
          if (goesOn()) ahead = claimNext();
          await Promise.race([work, posted]).finally(() => turn.end());
          const previous = settling;
          settling = work; // awaited below even if the previous one failed: nothing is left running
          await previous;
        }
      } finally {
        // A review claimed ahead that the lane will not answer goes back to the queue as it was, its reserve freed.
        if (ahead !== null) await giveBack(deps, await ahead);
        await settling;
      }
    });
  const [tookIn, answered] = await Promise.allSettled([takeIn(), answerQueue()]);
  if (tookIn.status === 'rejected') throw tookIn.reason;
  if (answered.status === 'rejected') throw answered.reason;
  // A lane can find no funds while the last of the money is held by answers that then were not posted (a
  // refused draft, a review answered meanwhile): once they let go of it, answer with what is free again.
  for (let pass = 0; pass < EXTRA_PASSES && state.stoppedForBalance && !breaker.open && !signal?.aborted; pass += 1) {
    const { balance, reserved } = await deps.store.getBalance();
    if (balance - reserved < deps.settings.price) break;
    state.stoppedForBalance = false;
    await answerQueue();
  }

  // The reviews waiting for a person that intake did not see listed are read again when due (recheck.ts).
  if (!breaker.open && !signal?.aborted) {
    const rechecked = await recheckWaiting(deps, signal);
    intake.skipped += rechecked.closed;
    if (rechecked.error) breaker.report(rechecked.error);
  }

  // Answers whose POST outcome went unseen this cycle are read back now rather than next time.
  if (!breaker.open) collect(outcomes, await reconcile(deps, signal), breaker);

  // The reviewers' comments under our answers (policy.answerFollowUps; off by default: nothing happens).
  // Follow-ups are not charged, so they go on when the balance ran out.
  if (!breaker.open && !signal?.aborted) {
    await takeInFollowUps(deps, listed ?? [], followUps);
    await answerFollowUps(deps, prompt, followUps, signal);
  }

  // Posted answers read back once more (twogis.recheckAfterHours): not charged, so they go on without funds too.
  if (!breaker.open && !signal?.aborted) {
    const rechecks = await recheckPostedAnswers(deps, signal);
    if (rechecks.rechecked > 0) deps.logger.info('posted answers read back once more', { ...rechecks });
  }

  const snapshot = await deps.store.getBalance();
  if (state.stoppedForBalance) await announceInsufficient(deps, snapshot.balance - snapshot.reserved);
  const authProblem = breaker.errors.find((error) => error.kind === 'auth' && error.service === '2gis');
  if (authProblem) await announceSignInFailed(deps, authProblem);
  else if ((await branchList) !== null) await deps.store.closeAlertEpisode(SIGN_IN_EPISODE);
  const summary = { ...tally(intake, outcomes, settled, snapshot.balance, state.stoppedForBalance, breaker), followUps, ...(authProblem ? { signInFailed: true } : {}) };
  await deps.store.recordCycle(deps.clock.now(), cycleStatus(summary));
  return summary;
}

async function announceInsufficient(deps: PipelineDeps, available: Kopecks): Promise<void> {
  await announce(deps, 'balance.insufficient', {
    balance: formatMoney(available),
    price: formatMoney(deps.settings.price),
  });
}

/**
 * 2GIS refusing the sign-in is one episode, from the first refusal until a cycle signs in again: one auth.failed
 * event (and one Telegram alert) for it, not one per cron run. The episode row is the compare-and-set across workers.
 */
const SIGN_IN_EPISODE = { kind: 'sign-in', subject: '' };

async function announceSignInFailed(deps: PipelineDeps, problem: ServiceError): Promise<void> {
  const event = makeEvent(deps.clock, 'auth.failed', null, { error: problem.message, ...(problem.code ? { code: problem.code } : {}) });
  if (await deps.store.openAlertEpisode(SIGN_IN_EPISODE, deps.clock.now(), { events: [event] })) published(deps, [event]);
}

async function announce(deps: PipelineDeps, type: 'balance.insufficient', data: Record<string, unknown>) {
  const event = makeEvent(deps.clock, type, null, data);
  await deps.store.appendEvents([event]);
  published(deps, [event]);
}

function collect(outcomes: Map<string, WorkOutcome>, results: Iterable<[string, WorkOutcome]>, breaker: Breaker): void {
  for (const [reviewId, outcome] of results) {
    outcomes.set(reviewId, outcome);
    if ((outcome.kind === 'released' || outcome.kind === 'unsure') && outcome.error) breaker.failed(outcome.error);
    else if (outcome.kind !== 'lost') breaker.succeeded();
  }
}

function tally(
  intake: ReturnType<typeof emptyIntakeCounts>,
  outcomes: Map<string, WorkOutcome>,
  settled: SettledTally,
  balance: Kopecks,
  stoppedForBalance: boolean,
  breaker: Breaker,
): Omit<CycleSummary, 'followUps'> {
  const summary: Omit<CycleSummary, 'followUps'> = {
    ...intake,
    posted: settled.posted,
    failed: 0,
    charged: settled.charged,
    balance,
    stoppedForBalance,
    problems: [],
    released: 0,
  };
  for (const outcome of outcomes.values()) {
    if (outcome.kind === 'skipped') summary.skipped += 1;
    else if (outcome.kind === 'released' && !outcome.error) summary.released += 1;
    else if (outcome.kind === 'needs_approval') summary.awaitingApproval += 1;
    else if (outcome.kind === 'failed' || outcome.kind === 'unsure' || (outcome.kind === 'released' && outcome.error)) {
      summary.failed += 1;
    }
  }
  // A refused sign-in is said with what to do about it (which setting to fix, or how to take a fresh token): the one
  // line a cron run prints about it.
  summary.problems = distinctProblems(
    breaker.errors.map((error) => ({
      kind: 'service',
      service: error.service,
      failure: error.kind,
      detail: error.message,
      ...(error.kind === 'auth' && error.hint ? { hint: error.hint } : {}),
    })),
  );
  return summary;
}

/** What a lane's claim on the queue came to. */
type Claim =
  | { kind: 'review'; review: StoredReview; token: string }
  | { kind: 'insufficient' }
  /** Nothing new in the queue when it looked; `arrived`: intake's progress then (Arrivals.generation). */
  | { kind: 'empty'; arrived: number }
  | { kind: 'error'; error: unknown };

/**
 * Puts a review claimed ahead and never worked back in the queue untouched (its reason kept, its reserve freed).
 * Should that fail, the claim's lease runs out and any cycle takes the review up again (claimStale).
 */
async function giveBack(deps: PipelineDeps, claim: Claim): Promise<void> {
  if (claim.kind !== 'review') return;
  const { review, token } = claim;
  try {
    await deps.store.release(review.id, token, { state: 'new', reason: review.reason, code: review.reasonCode ?? null }, []);
  } catch (error) {
    deps.logger.warn('a review claimed ahead could not be put back; it is taken up again once its claim lapses', {
      reviewId: review.id,
      error: (error as Error).message,
    });
  }
}

/** Intake's progress, for the answering lanes that wait on it: a generation counter bumped after each branch. */
class Arrivals {
  generation = 0;
  open = true;
  failed = false;
  #waiting: Array<() => void> = [];
  notify(): void {
    this.generation += 1;
    for (const wake of this.#waiting.splice(0)) wake();
  }
  close(): void {
    this.open = false;
    this.notify();
  }
  /** Resolves at the next branch taken in, or when intake ends. */
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/** Stops new work after `threshold` consecutive service failures, so a dead dependency does not burn the queue. */
class Breaker {
  readonly errors: ServiceError[] = [];
  #consecutive = 0;
  #threshold: number;
  constructor(threshold: number) {
    this.#threshold = threshold;
  }
  get open(): boolean {
    return this.#consecutive >= this.#threshold;
  }
  /** A failure that does not count toward opening: reported only. */
  report(error: ServiceError): void {
    this.errors.push(error);
  }
  failed(error: ServiceError, fatal = false): void {
    this.errors.push(error);
    this.#consecutive = fatal || error.kind === 'auth' || error.kind === 'blocked' ? this.#threshold : this.#consecutive + 1;
  }
  succeeded(): void {
    this.#consecutive = 0;
  }
}

/**
 * Runs `work` over `items`, at most `limit` at once. When one lane throws, the others stop taking items and
 * finish what they hold before the first error is rethrown: nothing is left running behind the caller's back.
 */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, halted: () => boolean) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const halted = () => failure !== null;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !halted()) {
      try {
        await work(items[next++]!, halted);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw (failure as { error: unknown }).error;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}
