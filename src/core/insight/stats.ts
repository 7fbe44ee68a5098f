// What the balance bought, per branch and in total, for the reviews created on 2GIS in a period: the store sums
// the facts (Store.reviewFacts, Store.topicCounts), this derives the rates, the median, the averages and the
// change against the period before. Pure arithmetic: money stays bigint kopecks until it is printed.
import { waitingOf } from './figures.ts';
import { COMPLAINT_MAX_RATING } from './insight.ts';
import { formatMoney } from '../money/money.ts';
import type { Branch, BranchFacts, Store, TopicCount } from '../ports.ts';

export interface Period {
  from: Date;
  to: Date;
}

export interface TopicStat {
  topic: string;
  reviews: number;
}

export interface Decisions {
  untouched: number;
  edited: number;
  rewritten: number;
  regenerated: number;
  /** The mean share of characters a person changed in the drafts they sent, three decimals; null when they sent none. */
  editedShare: number | null;
}

/** The figures of one branch, or of all of them; the names are the contract's (`stats --json`). */
export interface Figures {
  reviews: number;
  answered: number;
  byPerson: number;
  answeredElsewhere: number;
  /** waitingForPerson + waitingForMoney. */
  waiting: number;
  waitingForPerson: number;
  waitingForMoney: number;
  skipped: number;
  failed: number;
  /** Waiting for a posting delay: 0 until the issue that brings the delay. */
  scheduled: number;
  /** Complained about to 2GIS instead of answered: 0 until the issue that brings complaints. */
  complained: number;
  /** Answers of the period 2GIS took down: 0 until the issue that reads them back. */
  removed: number;
  /** What a person did with the drafts shown to them: zeros until the issue that records it. */
  decisions: Decisions;
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
    waiting: waitingOf(facts),
    waitingForPerson: facts.waitingForPerson,
    waitingForMoney: facts.waitingForMoney,
    skipped: facts.skipped,
    failed: facts.failed,
    scheduled: facts.scheduled,
    complained: facts.complained,
    removed: facts.removed,
    decisions: decisionsOf(facts),
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

/** What a person did with the drafts shown to them (contract.md: edited = at most half the characters changed). */
export function decisionsOf(facts: Pick<BranchFacts, 'untouched' | 'edited' | 'rewritten' | 'regenerated' | 'changedPermille'>): Decisions {
  const sent = facts.untouched + facts.edited + facts.rewritten;
  return {
    untouched: facts.untouched,
    edited: facts.edited,
    rewritten: facts.rewritten,
    regenerated: facts.regenerated,
    editedShare: sent > 0 ? round(facts.changedPermille / 1000 / sent, 3) : null,
  };
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
  'reviews', 'answered', 'byPerson', 'answeredElsewhere', 'skipped', 'waitingForPerson', 'waitingForMoney', 'scheduled', 'failed', 'complained', 'removed',
  'ratingSum', 'promptTokens', 'completionTokens', 'costed', 'untouched', 'edited', 'rewritten', 'regenerated', 'changedPermille',
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
    waitingForPerson: 0,
    waitingForMoney: 0,
    scheduled: 0,
    failed: 0,
    complained: 0,
    removed: 0,
    ratingSum: 0,
    charged: 0n,
    promptTokens: 0,
    completionTokens: 0,
    costUnits: 0n,
    costed: 0,
    untouched: 0,
    edited: 0,
    rewritten: 0,
    regenerated: 0,
    changedPermille: 0,
    answerMinutes: [],
  };
}

/**
 * The most frequent topics (by key), each named by its most frequent label (labels of one key are forms of one
 * phrase: "долгое ожидание", "долгого ожидания"); on a tie the shorter, which in Russian is most often the
 * nominative, then the first in order.
 */
export function topTopics(counts: readonly TopicCount[], limit = TOP_TOPICS): TopicStat[] {
  const byKey = new Map<string, { reviews: number; labels: Map<string, number> }>();
  for (const count of counts) {
    const seen = byKey.get(count.topic) ?? { reviews: 0, labels: new Map<string, number>() };
    seen.reviews += count.reviews;
    seen.labels.set(count.label, (seen.labels.get(count.label) ?? 0) + count.reviews);
    byKey.set(count.topic, seen);
  }
  return [...byKey.values()]
    .map(({ reviews, labels }) => ({ topic: nameOf(labels), reviews }))
    .sort((a, b) => b.reviews - a.reviews || a.topic.localeCompare(b.topic))
    .slice(0, limit);
}

function nameOf(labels: ReadonlyMap<string, number>): string {
  return [...labels].sort(([a, x], [b, y]) => y - x || [...a].length - [...b].length || (a < b ? -1 : a > b ? 1 : 0))[0]![0];
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
