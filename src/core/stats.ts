// What the balance bought, per branch and in total, for the reviews created on 2GIS in a period: the store sums
// the facts (Store.reviewFacts, Store.topicCounts), this derives the rates, the median, the averages and the
// change against the period before. Pure arithmetic: money stays bigint kopecks until it is printed.
import { COMPLAINT_MAX_RATING } from './insight.ts';
import { formatMoney } from './money.ts';
import type { Branch, BranchFacts, Store, TopicCount } from './ports.ts';

export interface Period {
  from: Date;
  to: Date;
}

export interface TopicStat {
  topic: string;
  reviews: number;
}

/** The figures of one branch, or of all of them; the names are the contract's (`stats --json`). */
export interface Figures {
  reviews: number;
  answered: number;
  byPerson: number;
  answeredElsewhere: number;
  waiting: number;
  waitingForPerson: number;
  skipped: number;
  failed: number;
  /** Answers of ours 2GIS removed after posting (their reviews are counted where they are now). */
  removed: number;
  /** answered ÷ (reviews − skipped − answeredElsewhere), three decimals; null when none could be answered. */
  replyRate: number | null;
  medianMinutesToAnswer: number | null;
  averageRating: number | null;
  /** averageRating minus the previous period's, two decimals; null when either has no rating. */
  averageRatingChange: number | null;
  charged: string;
  promptTokens: number;
  completionTokens: number;
  /** What the model provider reported the drafts cost, in its currency; null when it reported nothing. */
  modelCost: string | null;
}

export interface BranchStats extends Figures {
  id: string;
  name: string;
  /** The most frequent topics of the branch's reviews rated 1–3, most frequent first. */
  topics: TopicStat[];
}

export interface Stats {
  period: Period;
  total: Figures;
  branches: BranchStats[];
  topics: TopicStat[];
}

/** How many topics are shown per branch and in total. */
export const TOP_TOPICS = 5;

export interface StatsQuery extends Period {
  branchId?: string;
}

/** The stats of a period, with the period of the same length just before it for the rating's change. */
export async function periodStats(store: Store, query: StatsQuery): Promise<Stats> {
  const length = query.to.getTime() - query.from.getTime();
  const scope = query.branchId === undefined ? {} : { branchId: query.branchId };
  const [current, previous, topics, known] = await Promise.all([
    store.reviewFacts({ from: query.from, to: query.to, ...scope }),
    store.reviewFacts({ from: new Date(query.from.getTime() - length), to: query.from, ...scope }),
    store.topicCounts({ from: query.from, to: query.to, maxRating: COMPLAINT_MAX_RATING, ...scope }),
    store.reviewBranches(),
  ]);
  const branches = (query.branchId === undefined ? known : [known.find((b) => b.id === query.branchId) ?? { id: query.branchId, name: '' }])
    .map((branch) => branchStats(branch, current, previous, topics))
    .sort((a, b) => b.reviews - a.reviews || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return {
    period: { from: query.from, to: query.to },
    total: figures(sum(current), sum(previous)),
    branches,
    topics: topTopics(topics),
  };
}

function branchStats(branch: Branch, current: readonly BranchFacts[], previous: readonly BranchFacts[], topics: readonly TopicCount[]): BranchStats {
  const now = current.find((facts) => facts.branchId === branch.id);
  const before = previous.find((facts) => facts.branchId === branch.id);
  return {
    id: branch.id,
    name: now?.branchName || branch.name,
    ...figures(now ?? emptyFacts(branch), before ?? emptyFacts(branch)),
    topics: topTopics(topics.filter((count) => count.branchId === branch.id)),
  };
}

function figures(facts: BranchFacts, previous: BranchFacts): Figures {
  const answerable = facts.reviews - facts.skipped - facts.answeredElsewhere;
  const rating = facts.reviews > 0 ? facts.ratingSum / facts.reviews : null;
  const before = previous.reviews > 0 ? previous.ratingSum / previous.reviews : null;
  return {
    reviews: facts.reviews,
    answered: facts.answered,
    byPerson: facts.byPerson,
    answeredElsewhere: facts.answeredElsewhere,
    waiting: facts.waiting,
    waitingForPerson: facts.waitingForPerson,
    skipped: facts.skipped,
    failed: facts.failed,
    removed: facts.removed,
    replyRate: answerable > 0 ? round(facts.answered / answerable, 3) : null,
    medianMinutesToAnswer: median(facts.answerMinutes),
    averageRating: rating === null ? null : round(rating, 2),
    averageRatingChange: rating === null || before === null ? null : round(rating - before, 2),
    charged: formatMoney(facts.charged),
    promptTokens: facts.promptTokens,
    completionTokens: facts.completionTokens,
    modelCost: facts.costed > 0 ? formatCost(facts.costUnits) : null,
  };
}

/** The median of a histogram of whole minutes: the middle one, or the mean of the two middle ones. */
export function median(histogram: ReadonlyArray<readonly [number, number]>): number | null {
  const sorted = [...histogram].filter(([, count]) => count > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((n, [, count]) => n + count, 0);
  if (total === 0) return null;
  const at = (index: number): number => {
    let seen = 0;
    for (const [minutes, count] of sorted) {
      seen += count;
      if (index < seen) return minutes;
    }
    return sorted.at(-1)![0];
  };
  return total % 2 === 1 ? at((total - 1) / 2) : (at(total / 2 - 1) + at(total / 2)) / 2;
}

/** Facts summed over branches; the histograms merged. */
export function sum(all: readonly BranchFacts[]): BranchFacts {
  const total = emptyFacts({ id: '', name: '' });
  const minutes = new Map<number, number>();
  for (const facts of all) {
    for (const key of COUNTED) total[key] += facts[key];
    total.charged += facts.charged;
    total.costUnits += facts.costUnits;
    for (const [value, count] of facts.answerMinutes) minutes.set(value, (minutes.get(value) ?? 0) + count);
  }
  total.answerMinutes = [...minutes];
  return total;
}

const COUNTED = [
  'reviews', 'answered', 'byPerson', 'answeredElsewhere', 'skipped', 'waiting', 'waitingForPerson', 'failed', 'removed',
  'ratingSum', 'promptTokens', 'completionTokens', 'costed',
] as const satisfies ReadonlyArray<keyof BranchFacts>;

export function emptyFacts(branch: Branch): BranchFacts {
  return {
    branchId: branch.id,
    branchName: branch.name,
    reviews: 0,
    answered: 0,
    byPerson: 0,
    answeredElsewhere: 0,
    skipped: 0,
    waiting: 0,
    waitingForPerson: 0,
    failed: 0,
    removed: 0,
    ratingSum: 0,
    charged: 0n,
    promptTokens: 0,
    completionTokens: 0,
    costUnits: 0n,
    costed: 0,
    answerMinutes: [],
  };
}

/** The most frequent topics (by key; the label shown is the store's pick of those seen), then by label. */
function topTopics(counts: readonly TopicCount[], limit = TOP_TOPICS): TopicStat[] {
  const byKey = new Map<string, TopicStat>();
  for (const count of counts) {
    const seen = byKey.get(count.topic);
    if (seen) seen.reviews += count.reviews;
    else byKey.set(count.topic, { topic: count.label, reviews: count.reviews });
  }
  return [...byKey.values()].sort((a, b) => b.reviews - a.reviews || a.topic.localeCompare(b.topic)).slice(0, limit);
}

function round(value: number, places: number): number {
  const factor = 10 ** places;
  return Math.round(value * factor) / factor;
}

/** 10⁻¹⁰ units as a plain decimal string with what places it needs (at least two): "0.0123". */
export function formatCost(units: bigint): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(11, '0');
  const whole = digits.slice(0, -10);
  const fraction = digits.slice(-10).replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
