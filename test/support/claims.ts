// A claim that reserves nothing, for tests about claiming itself (the lanes claim with the price: Store.claimNext).
import assert from 'node:assert/strict';
import type { Store, StoredReview } from '../../src/core/ports.ts';

export async function claimFree(store: Pick<Store, 'claimNext'>, token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
  const claimed = await store.claimNext(token, now, leaseUntil, 0n);
  assert.notEqual(claimed, 'insufficient', 'a claim that reserves nothing is never short of funds');
  return claimed === 'insufficient' ? null : claimed;
}
