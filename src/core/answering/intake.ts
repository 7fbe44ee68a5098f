// Pages reviews in, newest first, and records each once (invariant 10). What one branch may cost in a cycle is
// bounded (polling.maxPagesPerBranch, polling.maxSecondsPerBranch): a listing that never ends, or one whose
// dates go back and forth, costs its branch a bounded share of the cycle and is reported, never the cycle.
//
// A branch is read in at most two walks a cycle, which share those limits:
// - from the newest page down until a page holds nothing new: everything older was seen by an earlier cycle.
//   When a sweep is due (polling.sweepIntervalMinutes) the walk goes on through pages already seen, down to
//   polling.sweepDays back: 2GIS publishes a review after moderation under its original date, below pages
//   gisbot has read.
// - from the backlog: where a walk cut short by the limits (a failure, a signal) stopped, by the same rule.
//   The backlog is kept in the store, so a long listing is taken in over several cycles, newest first.
//
// A review waiting for a person that a page lists is seen unanswered then, or, listed with an owner answer, stops
// waiting (recheck.ts).
//
// An item that cannot be taken in (2gis-api.md: a rating 1–5, a date; and what the columns of both stores hold)
// is logged as skipped with its reason, and the rest of its page is taken.
import { isServiceError, type CycleWarning } from '../../errors.ts';
import { noticeEdits } from './edits.ts';
import { makeEvent } from '../events/events.ts';
import { published, type IntakeLimits, type PipelineDeps } from '../pipeline.ts';
import { decideIntake } from './policy.ts';
import { micros } from './dates.ts';
import { noticeListedWaiting } from './recheck.ts';
import { type Branch, type BranchIntake, type ListedReview, type ReviewRecord, type TwoGisRating, type UnreadableItem } from '../ports.ts';
import { keepAnswerFound } from '../voice/voice.ts';

/** The config's defaults (src/config/schema.ts), for callers that set none. */
export const DEFAULT_INTAKE_LIMITS: IntakeLimits = {
  maxPagesPerBranch: 20,
  maxMsPerBranch: 60_000,
  sweepMs: 7 * 86_400_000,
  sweepIntervalMs: 180 * 60_000,
};

export interface IntakeCounts {
  fetched: number;
  new: number;
  skipped: number;
  awaitingApproval: number;
  /** One per branch whose intake was cut short or had items it could not take, for the person (in codes). */
  warnings: CycleWarning[];
}

export function emptyIntakeCounts(): IntakeCounts {
  return { fetched: 0, new: 0, skipped: 0, awaitingApproval: 0, warnings: [] };
}

export const NOTHING_KEPT: BranchIntake = { sweptAt: null, backlog: null };

export interface BranchIntakeOptions {
  /** What the store kept about the branch (Store.branchIntakes); a branch never seen when absent. */
  kept?: BranchIntake;
  /** Collects every valid review the pages showed, known or not (the follow-up check looks at them). */
  listed?: ListedReview[];
  /** Stops the walk before its next page; where it stopped becomes the backlog. */
  signal?: AbortSignal;
}

/** Where a walk starts and how deep it goes: past pages with nothing new only while newer than `until`. */
interface Walk {
  from: string | null;
  until: number | null;
}

/** The limit a walk reached (null: the process is stopping). */
type LimitReached = { limit: 'pages' | 'seconds'; reached: number };
type WalkEnd = { kind: 'done' } | { kind: 'cut'; next: string; why: LimitReached | null };

/** `until` of a backlog that must read to the end of the listing: older than any review. */
const TO_THE_END = new Date(0);

/** The branch's name and its rating on 2GIS, for stats and the report; a failure to keep them stops no intake. */
async function keepListing(deps: PipelineDeps, branch: Branch, summary: TwoGisRating): Promise<void> {
  try {
    await deps.store.saveBranchListing({ branchId: branch.id, name: branch.name, ...summary, readAt: deps.clock.now() });
  } catch (error) {
    deps.logger.warn('the branch listing was not kept', { branchId: branch.id, error: error instanceof Error ? error.message : String(error) });
  }
}

export async function intakeBranch(deps: PipelineDeps, branch: Branch, counts: IntakeCounts, options: BranchIntakeOptions = {}): Promise<void> {
  const limits = intakeLimits(deps.settings);
  const kept = options.kept ?? NOTHING_KEPT;
  const started = deps.clock.now().getTime();
  const sweeping = kept.sweptAt === null || started - kept.sweptAt.getTime() >= limits.sweepIntervalMs;
  const horizon = sweeping ? started - limits.sweepMs : null;
  const seen = new Set<string>();
  const unreadable: UnreadableItem[] = [];
  let pages = 0;

  const save = (change: Partial<BranchIntake>) => deps.store.saveBranchIntake(branch.id, change);

  /** Reads pages from `walk.from`; a page fetch that fails leaves its cursor as the backlog, then throws. */
  const walk = async ({ from, until }: Walk): Promise<WalkEnd> => {
    let offsetDate = from;
    for (;;) {
      if (offsetDate !== null) {
        const why = limitReached(deps, limits, pages, started, options.signal);
        if (why !== undefined) return { kind: 'cut', next: offsetDate, why };
      }
      pages += 1;
      let page;
      try {
        page = await deps.twogis.listReviews(branch.id, offsetDate);
      } catch (error) {
        if (offsetDate !== null) await save({ backlog: { cursor: offsetDate, until: until === null ? null : new Date(until) } }).catch(() => {});
        throw error;
      }
      if (offsetDate === null && page.summary) await keepListing(deps, branch, page.summary);
      if (page.reviews.length === 0 && page.unreadable.length === 0) return { kind: 'done' };
      const fresh = page.reviews.filter((review) => !seen.has(review.id));
      for (const review of fresh) seen.add(review.id);
      for (const item of page.unreadable) {
        if (item.id !== null && seen.has(item.id)) continue;
        if (item.id !== null) seen.add(item.id);
        deps.logger.warn('a listed review cannot be taken in', { branchId: branch.id, reviewId: item.id, reason: item.reason });
        unreadable.push(item);
        counts.fetched += 1;
      }
      counts.fetched += fresh.length;
      const taken = await takeIn(deps, branch, fresh, unreadable, counts, options.listed);

      const cursor = page.cursor;
      const next = cursor === null || cursor.length > MAX_DATE_LENGTH ? Number.NaN : micros(cursor);
      if (Number.isNaN(next)) {
        warn(deps, counts, { kind: 'no_page_date', branchId: branch.id }, `2GIS listed a page with no usable dateCreated to page on from; the listing was cut there`, { cursor });
        return { kind: 'done' };
      }
      if (offsetDate !== null) {
        if (cursor === offsetDate || next === micros(offsetDate)) return { kind: 'done' }; // the same page again
        if (next > micros(offsetDate)) {
          const turnedBack: CycleWarning = { kind: 'dates_turned_back', branchId: branch.id, offsetDate, cursor: cursor ?? '' };
          warn(deps, counts, turnedBack, `2GIS listed a page newer than the one before (offsetDate ${offsetDate}, then ${cursor}); the listing was cut there`, {
            offsetDate,
            cursor,
          });
          return { kind: 'done' };
        }
      }
      const deeper = taken > 0 || (until !== null && next > until * 1000);
      if (!deeper) return { kind: 'done' };
      offsetDate = cursor;
    }
  };

  const top = await walk({ from: null, until: horizon });
  if (top.kind === 'cut') {
    // A backlog left from before lies deeper: the new one reads to the end of the listing to cover both.
    const until = kept.backlog !== null ? TO_THE_END : horizon === null ? null : new Date(horizon);
    await save({ backlog: { cursor: top.next, until }, ...(sweeping ? { sweptAt: new Date(started) } : {}) });
    stopped(deps, counts, branch, top);
  } else {
    if (sweeping) await save({ sweptAt: new Date(started) });
    const backlog = kept.backlog;
    if (backlog !== null) {
      const end = await walk({ from: backlog.cursor, until: backlog.until === null ? null : backlog.until.getTime() });
      await save({ backlog: end.kind === 'cut' ? { cursor: end.next, until: backlog.until } : null });
      if (end.kind === 'cut') stopped(deps, counts, branch, end);
    }
  }
  if (unreadable.length > 0) {
    // Each item was logged as it was met; the person gets the first few.
    counts.warnings.push({ kind: 'unreadable', branchId: branch.id, count: unreadable.length, items: unreadable.slice(0, 3).map(({ id, reason }) => ({ id, reason })) });
  }
}

export function intakeLimits(settings: PipelineDeps['settings']): IntakeLimits {
  return { ...DEFAULT_INTAKE_LIMITS, ...settings.intake };
}

/** Why the branch may read no more pages this cycle (null: the process is stopping), or undefined. */
function limitReached(
  deps: PipelineDeps,
  limits: IntakeLimits,
  pages: number,
  started: number,
  signal: AbortSignal | undefined,
): LimitReached | null | undefined {
  if (signal?.aborted) return null;
  if (pages >= limits.maxPagesPerBranch) return { limit: 'pages', reached: pages };
  const elapsed = deps.clock.now().getTime() - started;
  if (elapsed >= limits.maxMsPerBranch) return { limit: 'seconds', reached: Math.round(elapsed / 1000) };
  return undefined;
}

/** Reports a walk cut by a limit; one cut by a signal to stop is not news. */
function stopped(deps: PipelineDeps, counts: IntakeCounts, branch: Branch, end: { next: string; why: LimitReached | null }): void {
  if (end.why === null) return;
  const after = end.why.limit === 'pages' ? `${end.why.reached} pages (polling.maxPagesPerBranch)` : `${end.why.reached} s (polling.maxSecondsPerBranch)`;
  warn(deps, counts, { kind: 'intake_cut', branchId: branch.id, ...end.why }, `intake stopped after ${after}; the rest is read in the next cycles`, { cursor: end.next });
}

/** The log's line (English, `text`) and the person's warning (in codes, worded by the reader's catalogue). */
function warn(deps: PipelineDeps, counts: IntakeCounts, warning: CycleWarning & { branchId: string }, text: string, fields: Record<string, unknown>): void {
  deps.logger.warn(text, { branchId: warning.branchId, ...fields });
  counts.warnings.push(warning);
}

/**
 * Records the page's reviews that are new and can be stored; returns how many were new (recorded now, or by
 * another worker a moment ago). Items that cannot be taken in join `unreadable`.
 */
async function takeIn(
  deps: PipelineDeps,
  branch: Branch,
  fresh: readonly ListedReview[],
  unreadable: UnreadableItem[],
  counts: IntakeCounts,
  listed: ListedReview[] | undefined,
): Promise<number> {
  const admitted: Array<{ review: ListedReview; notes: string[] }> = [];
  for (const review of fresh) {
    const verdict = admit(review);
    if ('reason' in verdict) {
      deps.logger.warn('a listed review cannot be taken in', { branchId: branch.id, reviewId: review.id, reason: verdict.reason });
      unreadable.push({ id: review.id, reason: verdict.reason });
    } else admitted.push(verdict);
  }
  const reviews = admitted.map((entry) => entry.review);
  listed?.push(...reviews);
  const known = await deps.store.findKnownReviewIds(reviews.map((review) => review.id));
  await noticeEdits(deps, reviews.filter((review) => known.has(review.id) && review.editedAt !== null));
  const unknown = admitted.filter((entry) => !known.has(entry.review.id));
  for (const { review, notes } of unknown) {
    for (const note of notes) deps.logger.warn('a listed review was taken in with a change', { branchId: branch.id, reviewId: review.id, note });
  }
  const refused = await record(deps, branch, unknown.map((entry) => entry.review), counts);
  unreadable.push(...refused);
  // The page shows whether the reviews that wait for a person (listed here, or taken in just now) are answered.
  // Read into a local first: `counts.skipped += await …` would read the count before the wait and write back over
  // what the other branches, taken in at the same time, counted meanwhile.
  const closed = await noticeListedWaiting(deps, reviews);
  counts.skipped += closed;
  return unknown.length - refused.length;
}

/** What both stores hold (the MySQL columns: VARCHAR(128) ids, VARCHAR(64) dates, MEDIUMTEXT texts). */
const MAX_ID_LENGTH = 128;
const MAX_DATE_LENGTH = 64;
const MAX_TEXT_BYTES = 16_777_215;
/** Names are cut here, well inside their TEXT columns: they go into every prompt for the branch. */
const MAX_NAME_LENGTH = 255;

/** A review as it can be stored, with a note for each harmless change; or why it cannot be taken in. */
export function admit(review: ListedReview): { review: ListedReview; notes: string[] } | { reason: string } {
  if (review.id.length > MAX_ID_LENGTH) return { reason: `id is longer than ${MAX_ID_LENGTH} characters` };
  if (!Number.isInteger(review.rating) || review.rating < 1 || review.rating > 5) {
    return { reason: `rating ${review.rating} is not a whole number from 1 to 5` };
  }
  if (review.createdAt.length > MAX_DATE_LENGTH) return { reason: `dateCreated is longer than ${MAX_DATE_LENGTH} characters` };
  if (Number.isNaN(micros(review.createdAt))) return { reason: `dateCreated ${JSON.stringify(review.createdAt)} is not a date` };
  if (review.text.length * 3 > MAX_TEXT_BYTES && new TextEncoder().encode(review.text).length > MAX_TEXT_BYTES) {
    return { reason: `text is longer than ${MAX_TEXT_BYTES} bytes` };
  }
  const notes: string[] = [];
  let admitted = review;
  if (review.authorId !== null && review.authorId.length > MAX_ID_LENGTH) {
    admitted = { ...admitted, authorId: null };
    notes.push(`author id dropped: longer than ${MAX_ID_LENGTH} characters`);
  }
  if (review.branchName.length > MAX_NAME_LENGTH) {
    admitted = { ...admitted, branchName: cut(review.branchName) };
    notes.push(`branch name cut to ${MAX_NAME_LENGTH} characters (it had ${review.branchName.length})`);
  }
  if (review.authorName.length > MAX_NAME_LENGTH) {
    admitted = { ...admitted, authorName: cut(review.authorName) };
    notes.push(`author name cut to ${MAX_NAME_LENGTH} characters (it had ${review.authorName.length})`);
  }
  return { review: admitted, notes };
}

/** The first characters of `text` (whole code points), with an ellipsis, in MAX_NAME_LENGTH UTF-16 units at most. */
function cut(text: string): string {
  let kept = '';
  for (const character of text) {
    if (kept.length + character.length > MAX_NAME_LENGTH - 1) break;
    kept += character;
  }
  return `${kept}…`;
}

/** Records the reviews; returns those the store refused (the rest of the page is kept). */
async function record(deps: PipelineDeps, branch: Branch, reviews: readonly ListedReview[], counts: IntakeCounts): Promise<UnreadableItem[]> {
  const entries = reviews.map((review): ReviewRecord => {
    const decision = decideIntake(review, deps.settings);
    const subject = { id: review.id, branchId: review.branchId };
    const events = [
      makeEvent(deps.clock, 'review.new', subject, {
        rating: review.rating,
        author: review.authorName,
        text: review.text,
        branch: review.branchName,
      }),
    ];
    if (decision.state === 'skipped') events.push(makeEvent(deps.clock, 'review.skipped', subject, { reason: decision.reason, code: decision.code }));
    if (decision.state === 'needs_approval') {
      events.push(makeEvent(deps.clock, 'review.needs_approval', subject, { reason: decision.reason, code: decision.code }));
    }
    return { review, state: decision.state, reason: decision.reason, code: decision.state === 'new' ? null : decision.code, events };
  });
  const refused: UnreadableItem[] = [];
  let stored: boolean[];
  try {
    stored = await deps.store.recordReviews(entries);
  } catch (error) {
    if (!isRefusal(error) || entries.length === 0) throw error;
    // One of them, or more, is something the store will not hold: keep the others, one at a time.
    stored = [];
    for (const entry of entries) {
      try {
        stored.push(await deps.store.recordReview(entry.review, entry.state, entry.reason, entry.events, entry.code ?? null));
      } catch (single) {
        if (!isRefusal(single)) throw single;
        stored.push(false);
        const reason = `the database refused it: ${single instanceof Error ? single.message : String(single)}`;
        deps.logger.warn('a listed review cannot be taken in', { branchId: branch.id, reviewId: entry.review.id, reason });
        refused.push({ id: entry.review.id, reason });
      }
    }
    if (entries.length > 1 && refused.length === entries.length) throw error; // not about one review: the store takes none
  }
  // An answer someone gave on 2GIS before gisbot saw the review is the business's own words: kept as an example.
  for (const [index, entry] of entries.entries()) {
    if (stored[index] && entry.state === 'skipped' && entry.code === 'answered_elsewhere') {
      await keepAnswerFound(deps, entry.review, entry.review.ownerAnswerText ? { text: entry.review.ownerAnswerText } : null);
    }
  }
  entries.forEach((entry, index) => {
    if (!stored[index]) return; // another worker recorded it a moment ago, or the store refused it
    counts.new += 1;
    if (entry.state === 'skipped') counts.skipped += 1;
    if (entry.state === 'needs_approval') counts.awaitingApproval += 1;
    published(deps, entry.events);
  });
  return refused;
}

function isRefusal(error: unknown): boolean {
  return isServiceError(error, 'database') && error.kind === 'rejected';
}
