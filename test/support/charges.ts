// What the answers' charges must add up to, for the money invariants of both databases.
import type { Kopecks } from '../../src/core/money.ts';

/**
 * One price for every answer, or (when a test changed the price between claims) the total: each answer is
 * charged the price in force when it was claimed.
 */
export type ExpectedCharges = Kopecks | { total: Kopecks };

export function expectedTotal(answersByUs: number, expected: ExpectedCharges): Kopecks {
  return typeof expected === 'bigint' ? expected * BigInt(answersByUs) : expected.total;
}
