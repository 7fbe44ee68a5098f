// What `gisbot report` shows, gathered from the store: the period's stats (stats.ts), the same figures week by
// week for the charts, what was answered in the owner's name, the worst reviews, each branch's stars and its
// rating as 2GIS shows it, and the reviews that still wait for a person. Weeks are the period cut into 7-day
// spans from its start (the last one may be shorter): each is one pair of the store's indexed period queries.
import type { Kopecks } from '../money/money.ts';
import type { BranchFacts, BranchListing, PeriodReview, Store, StoredReview } from '../ports.ts';
import { decisionsOf, emptyFacts, median, periodStats, sum, type Decisions, type Period, type Stats } from './stats.ts';

const WEEK_MS = 7 * 86_400_000;
/** At most this many reviews waiting for a person are listed per branch (the oldest: they have waited longest). */
export const WAITING_LISTED = 50;
/** At most this many of the period's reviews are read (newest first) for the answers, the worst and the CSV. */
export const REVIEWS_READ = 20_000;
/** How many of the period's worst reviews are shown. */
export const WORST_LISTED = 10;
/** Reviews rated up to this come first among the answers, and are the worst ones. */
export const LOW_RATING = 2;

/** How many reviews got each rating, 1 to 5. */
export type Stars = Record<1 | 2 | 3 | 4 | 5, number>;

export interface WeekFigures {
  from: Date;
  to: Date;
  reviews: number;
  answered: number;
  /** Of `answered`, the answers a person sent. */
  byPerson: number;
  averageRating: number | null;
  medianMinutesToAnswer: number | null;
  charged: Kopecks;
  /**
   * What a person did with the drafts of the week's reviews (each decision counts in its review's week, as in
   * `stats`): the trend that says whether gisbot has learned the owner's voice.
   */
  decisions: Decisions;
}

export interface ReportData {
  stats: Stats;
  /** All branches together, week by week. */
  weeks: WeekFigures[];
  /** Each branch's weeks, by branch id (every branch of `stats.branches`, with every week). */
  branchWeeks: Map<string, WeekFigures[]>;
  /** The oldest reviews waiting for a person now (`gisbot reply <id>`), oldest first, by branch id. */
  waiting: Map<string, StoredReview[]>;
  /** How many wait for a person now, by branch id: the lists above show at most WAITING_LISTED of them. */
  waitingCount: Map<string, number>;
  /** The period's answered reviews with what was said: rated 1–2 first, then the rest, newest first in each. */
  answers: PeriodReview[];
  /** The period's reviews rated 1–3, lowest first, then newest: at most WORST_LISTED. */
  worst: PeriodReview[];
  /** Every review of the period read (newest first, at most REVIEWS_READ), for the CSV. */
  reviews: PeriodReview[];
  /** Each branch's reviews of the period by rating, counted from the stored reviews. */
  stars: Map<string, Stars>;
  /** Each branch's rating as 2GIS shows it, as intake last read it. */
  listings: Map<string, BranchListing>;
  generatedAt: Date;
}

export async function reportData(store: Store, period: Period, now: Date): Promise<ReportData> {
  const spans = weeksOf(period);
  const [stats, weekly, waiting, reviews, ratings, listings] = await Promise.all([
    periodStats(store, period),
    Promise.all(spans.map((span) => store.reviewFacts(span))),
    store.waitingForPerson(WAITING_LISTED),
    store.periodReviews(period, REVIEWS_READ),
    store.ratingCounts(period),
    store.branchListings(),
  ]);
  const branchWeeks = new Map<string, WeekFigures[]>();
  for (const branch of stats.branches) {
    branchWeeks.set(
      branch.id,
      spans.map((span, index) => weekFigures(span, weekly[index]!.find((facts) => facts.branchId === branch.id) ?? emptyFacts(branch))),
    );
  }
  const stars = new Map<string, Stars>(stats.branches.map((branch) => [branch.id, { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }]));
  for (const { branchId, rating, reviews: count } of ratings) {
    const counted = stars.get(branchId) ?? { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
    if (rating >= 1 && rating <= 5) counted[rating as keyof Stars] += count;
    stars.set(branchId, counted);
  }
  const low = (each: PeriodReview) => (each.review.rating <= LOW_RATING ? 0 : 1);
  return {
    stats,
    weeks: spans.map((span, index) => weekFigures(span, sum(weekly[index]!))),
    branchWeeks,
    waiting: new Map(waiting.map((branch) => [branch.branchId, branch.oldest])),
    waitingCount: new Map(waiting.map((branch) => [branch.branchId, branch.count])),
    // `reviews` is newest first already; the sorts are stable.
    answers: reviews.filter((each) => each.review.state === 'posted').sort((a, b) => low(a) - low(b)),
    worst: reviews.filter((each) => each.review.rating <= 3).sort((a, b) => a.review.rating - b.review.rating).slice(0, WORST_LISTED),
    reviews,
    stars,
    listings: new Map(listings.map((listing) => [listing.branchId, listing])),
    generatedAt: now,
  };
}

/** The period in 7-day spans from its start; the last ends with the period. */
export function weeksOf(period: Period): Period[] {
  const spans: Period[] = [];
  for (let start = period.from.getTime(); start < period.to.getTime(); start += WEEK_MS) {
    spans.push({ from: new Date(start), to: new Date(Math.min(start + WEEK_MS, period.to.getTime())) });
  }
  return spans;
}

function weekFigures(span: Period, facts: BranchFacts): WeekFigures {
  return {
    ...span,
    reviews: facts.reviews,
    answered: facts.answered,
    byPerson: facts.byPerson,
    averageRating: facts.reviews > 0 ? Math.round((facts.ratingSum / facts.reviews) * 100) / 100 : null,
    medianMinutesToAnswer: median(facts.answerMinutes),
    charged: facts.charged,
    decisions: decisionsOf(facts),
  };
}
