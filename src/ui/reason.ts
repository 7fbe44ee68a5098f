// A review's stored reason as a person reads it: by its code (reviews.reason_code) in the reader's language, the
// English words (reviews.reason, kept for programs and --json) where no code is known.
import type { ReasonCode } from '../core/ports.ts';
import { messages, type Catalogue } from './messages.ts';

export function reasonText(review: { reason: string | null; reasonCode?: ReasonCode | null }, catalogue: Catalogue = messages): string {
  if (review.reason === null) return '';
  return catalogue.console.reason(review.reasonCode ?? undefined, review.reason);
}
