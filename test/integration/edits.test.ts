// A review edited on 2GIS after we answered it, through the real adapters: one event, no second answer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { queryDatabase } from '../support/mysql.ts';
import { World, worldContext } from '../support/world.ts';

let world: World;
before(async () => {
  world = await World.start();
  world.twogis.addBranch({ id: '7600000000000001', name: 'Кофейня', orgId: '100' });
});
after(async () => world.close());

test('an edit after our answer: a review.edited event once, never a second answer', async () => {
  const review = world.twogis.addReview('7600000000000001', { id: '820001', rating: 5, text: 'Всё понравилось' });
  const ctx = await worldContext(world);
  try {
    await ctx.store.migrate();
    await ctx.store.topUp(10_000n, null);
    await runCycle(ctx);
    assert.equal(world.twogis.postsTo('820001'), 1);
    const later = new Date(Date.now() + 60_000).toISOString().replace('Z', '+00:00');
    Object.assign(review, { text: 'Передумал: кофе был холодный', rating: 2, dateEdited: later });
    await runCycle(ctx);
    await runCycle(ctx);
  } finally {
    await ctx.close();
  }
  const rows = await queryDatabase(world.db.url, "SELECT data FROM events WHERE type = 'review.edited' AND review_id = '820001'");
  assert.equal(rows.length, 1);
  const data = typeof rows[0]!.data === 'string' ? JSON.parse(rows[0]!.data) : rows[0]!.data;
  assert.equal(data.text, 'Передумал: кофе был холодный');
  assert.equal(data.rating, 2);
  assert.equal(world.twogis.postsTo('820001'), 1);
  await world.checkInvariants(world.twogis.reviewIds());
});
