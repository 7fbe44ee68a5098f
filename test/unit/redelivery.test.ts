// The wait before an unacknowledged event is sent again: doubling per attempt, capped, jittered within the step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_REDELIVERY, redeliveryDelayMs } from '../../src/core/events/outbox.ts';

test('redelivery waits double per attempt up to the cap, between half and all of the step', () => {
  const top = { firstMs: 1_000, maxMs: 8_000, random: () => 1 };
  assert.deepEqual([1, 2, 3, 4, 5, 50].map((attempts) => redeliveryDelayMs(attempts, top)), [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  const bottom = { ...top, random: () => 0 };
  assert.deepEqual([1, 2, 3, 4, 5].map((attempts) => redeliveryDelayMs(attempts, bottom)), [500, 1_000, 2_000, 4_000, 4_000]);
  assert.equal(redeliveryDelayMs(0, top), 1_000, 'a first attempt however it is counted');
  assert.ok(Number.isFinite(redeliveryDelayMs(10_000, top)), 'no overflow after very many attempts');
});

test('the defaults: a first retry within 5 s, never more than 10 minutes apart', () => {
  const fixed = (random: number) => ({ ...DEFAULT_REDELIVERY, random: () => random });
  assert.equal(redeliveryDelayMs(1, fixed(1)), 5_000);
  assert.equal(redeliveryDelayMs(99, fixed(1)), 600_000);
  assert.equal(redeliveryDelayMs(99, fixed(0)), 300_000);
});
