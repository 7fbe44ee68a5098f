// The benchmark in small (bench/, `npm run bench` for the real sizes and BENCHMARKS.md). It fails only on a large
// regression of a ratio: never on an absolute time, which depends on the machine.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../../bench/harness.ts';
import { countStatements, idlePoll, startup, STATEMENTS_PER_REVIEW, throughput } from '../../bench/scenarios.ts';

describe('speed and footprint, as ratios', () => {
  test('throughput: 160 reviews at concurrency 8 take at most 2 × reviews × latency ÷ concurrency; statements per review stay bounded', async () => {
    const result = await throughput({ reviews: 160, branches: 16, concurrency: 8, latencyMs: 200, sql: true });
    assert.equal(result.posted, 160);
    const ratio = result.wallMs / result.idealMs;
    assert.ok(ratio <= 2, `wall time is ${ratio.toFixed(2)} × the ideal ${result.idealMs} ms (bound 2; npm run bench measures ~1.1)`);
    // A cycle's fixed statements (session set-up, migration check, reconcile, the lanes' last empty claims) weigh
    // more over 160 reviews than over 2,000: the bound leaves room for them and fails on a new statement per review.
    const perReview = countStatements(result.run.probe.sql ?? []).total / result.posted;
    assert.ok(perReview <= STATEMENTS_PER_REVIEW + 4, `${perReview.toFixed(2)} statements per answered review (bound ${STATEMENTS_PER_REVIEW + 4})`);
  });

  test('idle poll: one review-list request per branch with nothing new', async () => {
    const result = await idlePoll({ branches: 100, concurrency: 8, latencyMs: 0 });
    const perBranch = result.listRequests / result.branches;
    assert.ok(perBranch <= 1.5, `${perBranch} review-list requests per branch (bound 1.5)`);
  });

  test('start-up: gisbot --help stays within a few node start-ups (nothing heavy imported up front)', async () => {
    const result = await startup({ runs: 7, entry: path.join(ROOT, 'bin', 'gisbot.ts') });
    const help = result.helpMs / result.nodeMs;
    const balance = result.balanceMs / result.nodeMs;
    // bin/gisbot.ts pays for type stripping on every start (npm run bench: ~3.5 × and ~10 ×).
    assert.ok(help <= 7, `gisbot --help takes ${help.toFixed(2)} × node -e 0 (bound 7)`);
    assert.ok(balance <= 20, `gisbot balance --json takes ${balance.toFixed(2)} × node -e 0 (bound 20)`);
  });
});
