// The benchmark's counts in small (bench/, `npm run bench` for the real sizes and BENCHMARKS.md): SQL statements
// per answer and review-list requests per idle branch. Machine speed changes neither, so they can fail `npm test`;
// timings and their ratios (throughput against the ideal, start-up) depend on the machine and are `npm run bench`'s
// alone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerRechecks, countStatements, idlePoll, STATEMENTS_PER_REVIEW, throughput } from '../../bench/scenarios.ts';
import { ANSWER_RECHECKS_PER_CYCLE } from '../../src/core/answering/answer-recheck.ts';

describe('footprint, in counts', () => {
  test('statements per answered review stay bounded: 160 reviews at concurrency 8', async () => {
    const result = await throughput({ reviews: 160, branches: 16, concurrency: 8, latencyMs: 200, sql: true });
    assert.equal(result.posted, 160);
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

  test('posted answers read back once more: one request per answer, a rush capped per cycle', async () => {
    const result = await answerRechecks({ waves: 3, perWave: 4, rush: 26, branches: 3 });
    assert.equal(result.posted, 34);
    const perAnswer = result.rechecks / result.posted;
    assert.ok(perAnswer <= 1.01, `${perAnswer} recheck requests per posted answer (bound 1.01)`);
    assert.equal(result.rechecks, result.posted, 'every answer read back');
    assert.equal(result.readTwice, 0, 'none read back twice');
    assert.ok(result.mostInOneRun <= ANSWER_RECHECKS_PER_CYCLE, `${result.mostInOneRun} rechecks in one run (cap ${ANSWER_RECHECKS_PER_CYCLE})`);
  });
});
