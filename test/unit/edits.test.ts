// A review edited after we answered: one `review.edited` event per edit, never a second answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { listed, pipeline } from '../support/fakes.ts';

test('an edit after our answer is reported once per edit and never answered again', async () => {
  const { deps, store, twogis } = pipeline();
  await store.topUp(1000n);
  twogis.reviews = [listed({ id: '1', text: 'Всё понравилось' }), listed({ id: '2', rating: 1, text: 'Плохо' })];
  await runCycle(deps);
  assert.equal(twogis.posts.get('1'), 1);

  // The reviewer rewrites the review and 2GIS drops our answer; the 1-star one (never answered) is edited too.
  Object.assign(twogis.reviews[0]!, { text: 'Стало хуже: кофе холодный', rating: 2, editedAt: '2026-01-02T10:00:00.123456+07:00' });
  Object.assign(twogis.reviews[1]!, { text: 'Плохо, но уже лучше', editedAt: '2026-01-02T10:00:00.0+07:00' });
  twogis.answers.delete('1');
  await runCycle(deps);
  await runCycle(deps);
  const edited = store.events.filter((event) => event.type === 'review.edited');
  assert.equal(edited.length, 1);
  assert.equal(edited[0]!.reviewId, '1');
  assert.deepEqual(edited[0]!.data, {
    editedAt: '2026-01-02T10:00:00.123456+07:00',
    rating: 2,
    text: 'Стало хуже: кофе холодный',
    previousText: 'Всё понравилось',
  });
  assert.equal(twogis.posts.get('1'), 1, 'never answered again automatically');
  assert.equal(store.reviews.get('1')!.state, 'posted');

  twogis.reviews[0]!.editedAt = '2026-01-03T09:00:00Z';
  await runCycle(deps);
  assert.equal(store.events.filter((event) => event.type === 'review.edited').length, 2, 'a second edit is a second event');
  assert.equal(twogis.posts.get('1'), 1);
  assert.deepEqual(store.checkInvariants(1), []);
});
