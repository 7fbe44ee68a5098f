// Which reviews gisbot answers by itself, which wait for a person, and which it must leave alone.
import type { ListedReview } from './ports.ts';

export interface PolicySettings {
  /** Reviews rated below this wait for a person; 0 answers every rating automatically. */
  approvalBelowRating: number;
}

export type IntakeDecision =
  | { state: 'new'; reason: null }
  | { state: 'skipped'; reason: string }
  | { state: 'needs_approval'; reason: string };

/** 2gis-api.md: only own-catalog, visible, unanswered reviews that 2GIS lets the owner reply to. */
export function decideIntake(review: ListedReview, policy: PolicySettings): IntakeDecision {
  if (review.catalogId !== '2gis') return { state: 'skipped', reason: `from another catalog (${review.catalogId})` };
  if (review.isHidden) return { state: 'skipped', reason: 'hidden on 2GIS' };
  if (review.hasOwnerAnswer) return { state: 'skipped', reason: 'already answered' };
  if (!review.canReply) return { state: 'skipped', reason: '2GIS does not allow a reply' };
  if (review.rating < policy.approvalBelowRating) {
    return {
      state: 'needs_approval',
      reason: `rated ${review.rating}, below policy.approvalBelowRating (${policy.approvalBelowRating})`,
    };
  }
  return { state: 'new', reason: null };
}
