// What `gisbot report` shows, gathered from the store: the period's stats (stats.ts), the same figures week by
// week for the charts, and the reviews that still wait for a person. Weeks are the period cut into 7-day spans
// from its start (the last one may be shorter): each is one pair of the store's indexed period queries.
import type { Kopecks } from './money.ts';
import type { BranchFacts, Store, StoredReview } from './ports.ts';
import { emptyFacts, median, periodStats, sum, type Period, type Stats } from './stats.ts';

const WEEK_MS = 7 * 86_400_000;
/** At most this many reviews waiting for a person are listed (the oldest first: they have waited longest). */
export const WAITING_LISTED = 500;

export interface WeekFigures {
  from: Date;
  to: Date;
  reviews: number;
  answered: number;
  averageRating: number | null;
  medianMinutesToAnswer: number | null;
  charged: Kopecks;
}

export interface ReportData {
  stats: Stats;
  /** All branches together, week by week. */
  weeks: WeekFigures[];
  /** Each branch's weeks, by branch id (every branch of `stats.branches`, with every week). */
  branchWeeks: Map<string, WeekFigures[]>;
  /** Reviews waiting for a person (`gisbot reply <id>`), oldest first, by branch id. */
  waiting: Map<string, StoredReview[]>;
  generatedAt: Date;
}

export async function reportData(store: Store, period: Period, now: Date): Promise<ReportData> {
  const spans = weeksOf(period);
  const [stats, weekly, waiting] = await Promise.all([
    periodStats(store, period),
    Promise.all(spans.map((span) => store.reviewFacts(span))),
    store.listReviewsInState('needs_approval', WAITING_LISTED),
  ]);
  const branchWeeks = new Map<string, WeekFigures[]>();
  for (const branch of stats.branches) {
    branchWeeks.set(
      branch.id,
      spans.map((span, index) => weekFigures(span, weekly[index]!.find((facts) => facts.branchId === branch.id) ?? emptyFacts(branch))),
    );
  }
  const byBranch = new Map<string, StoredReview[]>();
  for (const review of waiting) byBranch.set(review.branchId, [...(byBranch.get(review.branchId) ?? []), review]);
  return {
    stats,
    weeks: spans.map((span, index) => weekFigures(span, sum(weekly[index]!))),
    branchWeeks,
    waiting: byBranch,
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
    averageRating: facts.reviews > 0 ? Math.round((facts.ratingSum / facts.reviews) * 100) / 100 : null,
    medianMinutesToAnswer: median(facts.answerMinutes),
    charged: facts.charged,
  };
}
