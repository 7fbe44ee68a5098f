// What the answers' charges must add up to, for the money invariants of both databases.
import type { Kopecks } from '../../src/core/money/money.ts';

/**
 * One price for every answer, or (when a test changed the price between claims) the total: each answer is
 * charged the price in force when it was claimed.
 */
export type ExpectedCharges = Kopecks | { total: Kopecks };

export function expectedTotal(answersByUs: number, expected: ExpectedCharges): Kopecks {
  return typeof expected === 'bigint' ? expected * BigInt(answersByUs) : expected.total;
}

/**
 * The ledger checks both databases run, in the SQL both speak, per business (each `?` is the business). An answer 2GIS removed stays charged (its review
 * waits for a person, and counts in `answer_removals`); a person's answer after it is charged once more; a refund
 * (billing.refundRemoved) is an adjustment keyed by the one charge it returns.
 */
export const LEDGER_CHECKS = {
  removedAnswers: 'SELECT COALESCE(SUM(answer_removals), 0) AS n FROM reviews WHERE business_id = ?',
  overcharged: `SELECT l.review_id FROM ledger l JOIN reviews r ON r.business_id = l.business_id AND r.id = l.review_id
    WHERE l.business_id = ? AND l.kind = 'charge' GROUP BY l.review_id, r.answer_removals HAVING COUNT(*) > 1 + r.answer_removals`,
  unposted: `SELECT l.review_id FROM ledger l LEFT JOIN reviews r ON r.business_id = l.business_id AND r.id = l.review_id
    WHERE l.business_id = ? AND l.kind = 'charge' AND (r.id IS NULL OR (r.state <> 'posted' AND r.answer_removals = 0))`,
  mismatched: `SELECT r.id FROM reviews r JOIN ledger l ON l.business_id = r.business_id AND l.review_id = r.id AND l.kind = 'charge'
    WHERE r.business_id = ? GROUP BY r.id, r.charged HAVING SUM(l.amount) <> -r.charged`,
  strayRefunds: `SELECT l.id FROM ledger l WHERE l.business_id = ? AND l.refund_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger c
    JOIN reviews r ON r.business_id = c.business_id AND r.id = c.review_id WHERE c.business_id = l.business_id AND c.kind = 'charge'
    AND c.charge_review_id = l.refund_key AND c.review_id = l.review_id AND c.amount = -l.amount AND r.answer_removals > 0)`,
} as const;
