// Which of the owner's figures a review counts in, written once: `stats`, `branches`, the report, its CSV rows and
// the Telegram panel all read this mapping (the store turns it into its SQL, figureOf reads one review). Every
// review is in exactly one figure, so the figures add up to the reviews of a period (contract.md, `gisbot stats`).
import { ANSWERED_ELSEWHERE, isComplained, type ReasonCode, type ReviewState } from '../ports.ts';

/** The figures a review can be counted in; `byPerson` is a part of `answered`, not a figure of its own. */
export const REVIEW_FIGURES = [
  'answered',
  'answeredElsewhere',
  'skipped',
  'waitingForPerson',
  'waitingForMoney',
  'scheduled',
  'failed',
  'complained',
] as const;

export type ReviewFigure = (typeof REVIEW_FIGURES)[number];

/**
 * The figure of each state. A review in the queue or in work has not been answered because the balance ran out
 * before it (a cycle that has money drains the queue); it is answered once the balance is topped up. A skipped
 * review whose reason is one of ANSWERED_ELSEWHERE_REASONS is `answeredElsewhere` instead (figureOf).
 */
export const FIGURE_OF_STATE = {
  new: 'waitingForMoney',
  claimed: 'waitingForMoney',
  drafted: 'waitingForMoney',
  posting: 'waitingForMoney',
  posted: 'answered',
  skipped: 'skipped',
  needs_approval: 'waitingForPerson',
  failed: 'failed',
} as const satisfies Record<ReviewState, ReviewFigure>;

/** A drafted answer waiting out policy.postDelayMinutes (it has a post_after) counts as scheduled, not as in work. */
export const SCHEDULED = { state: 'drafted', figure: 'scheduled' } as const satisfies { state: ReviewState; figure: ReviewFigure };

/** The skip reasons of a review someone answered on 2GIS: the codes every path that finds one writes. */
export const ANSWERED_ELSEWHERE_REASONS: readonly string[] = Object.values(ANSWERED_ELSEWHERE);

export function figureOf(review: { state: ReviewState; reason: string | null; reasonCode?: ReasonCode | null; postAfter?: Date | null }): ReviewFigure {
  if (review.state === SCHEDULED.state && review.postAfter != null) return SCHEDULED.figure;
  // By the reason's code; a row with none (kept before v22 and not known to its upgrade) by its words.
  const code = review.reasonCode ?? null;
  const elsewhere = code === null ? review.reason !== null && ANSWERED_ELSEWHERE_REASONS.includes(review.reason) : code === 'answered_elsewhere';
  if (review.state === 'skipped' && elsewhere) return 'answeredElsewhere';
  // Complained about to 2GIS (`gisbot complain`) instead of answered: it rests as skipped with that reason.
  if (isComplained(review)) return 'complained';
  return FIGURE_OF_STATE[review.state];
}

/** The figures made of others: waiting is what waits for a person and what waits for money. */
export function waitingOf(counts: { waitingForPerson: number; waitingForMoney: number }): number {
  return counts.waitingForPerson + counts.waitingForMoney;
}
