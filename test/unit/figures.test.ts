// The one mapping of a review's state to the owner's figures (src/core/insight/figures.ts): every state has exactly one
// figure, and every path that finds a review answered on 2GIS writes a reason the mapping counts as such.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIGURE_OF_STATE, figureOf, REVIEW_FIGURES, waitingOf } from '../../src/core/insight/figures.ts';
import { ANSWERED_ELSEWHERE, type ReviewState } from '../../src/core/ports.ts';

test('every state is in one of the contract\'s figures', () => {
  for (const [state, figure] of Object.entries(FIGURE_OF_STATE)) {
    assert.ok(REVIEW_FIGURES.includes(figure), `${state} → ${figure}`);
    assert.equal(figureOf({ state: state as ReviewState, reason: null }), figure);
  }
  assert.equal(figureOf({ state: 'needs_approval', reason: 'rated 1' }), 'waitingForPerson');
  assert.equal(figureOf({ state: 'new', reason: null }), 'waitingForMoney');
  assert.equal(waitingOf({ waitingForPerson: 3, waitingForMoney: 2 }), 5);
});

test('a review answered on 2GIS is answered elsewhere, whichever path found it; other skips stay skipped', () => {
  for (const reason of Object.values(ANSWERED_ELSEWHERE)) assert.equal(figureOf({ state: 'skipped', reason }), 'answeredElsewhere', reason);
  // What the Telegram bridge writes when a review waiting for a person turns out answered by a manager.
  assert.equal(figureOf({ state: 'skipped', reason: 'answered on 2GIS by someone else' }), 'answeredElsewhere');
  assert.equal(figureOf({ state: 'skipped', reason: 'hidden on 2GIS' }), 'skipped');
  assert.equal(figureOf({ state: 'skipped', reason: 'deleted on 2GIS' }), 'skipped');
});
