// Each posted answer records the model, the prompt version, the token counts and the provider's cost when it
// reports one: on MariaDB and on the embedded SQLite store, through the real adapters.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { costOf } from '../../src/adapters/openai/model.ts';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { queryDatabase } from '../support/mysql.ts';
import { createTestSqliteFile, querySqlite } from '../support/sqlite.ts';
import { World, worldContext } from '../support/world.ts';

describe('traceability of posted answers', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    world.model.costPerToken = 0.000002;
  });
  after(async () => world.close());

  test('the provider\'s cost figure becomes an exact decimal string', () => {
    assert.equal(costOf(0.000052), '0.000052');
    assert.equal(costOf('0.0150'), '0.015');
    assert.equal(costOf(0), '0');
    assert.equal(costOf(undefined), null);
    assert.equal(costOf(-1), null);
    assert.equal(costOf('1e3'), null);
    assert.equal(costOf(Number.NaN), null);
  });

  test('MariaDB: model, prompt version, tokens and cost per answer; no cost when the provider gives none', async () => {
    world.twogis.addBranch({ id: '7700000000000001', name: 'Кофейня', orgId: '100' });
    world.twogis.addReview('7700000000000001', { id: '830001', rating: 5, text: 'Очень вкусно' });
    const ctx = await worldContext(world);
    try {
      await ctx.store.migrate();
      await ctx.store.topUp(10_000n, null);
      await runCycle(ctx);
      world.model.costPerToken = null;
      world.twogis.addReview('7700000000000001', { id: '830002', rating: 5, text: 'Уютно' });
      await runCycle(ctx);
    } finally {
      world.model.costPerToken = 0.000002;
      await ctx.close();
    }
    const rows = await queryDatabase(
      world.db.url,
      "SELECT id, state, model, prompt_version, prompt_tokens, completion_tokens, CAST(model_cost AS CHAR) AS cost FROM reviews WHERE id IN ('830001', '830002') ORDER BY id",
    );
    const [paid, free] = rows;
    assert.equal(paid!.state, 'posted');
    assert.equal(paid!.model, 'gpt-4o-mini');
    assert.equal(Number(paid!.prompt_version), 1);
    const tokens = Number(paid!.prompt_tokens) + Number(paid!.completion_tokens);
    assert.ok(tokens > 0);
    assert.equal(Number(paid!.cost), Number((tokens * 0.000002).toFixed(10)));
    assert.match(String(paid!.cost), /^0\.\d+$/);
    assert.equal(free!.state, 'posted');
    assert.equal(free!.cost, null);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('SQLite: the same record', async () => {
    const sqlite = await createTestSqliteFile();
    world.twogis.addBranch({ id: '7700000000000002', name: 'Вторая', orgId: '100' });
    world.twogis.addReview('7700000000000002', { id: '830003', rating: 5, text: 'Хорошо' });
    const ctx = await worldContext(world, { GISBOT_DATABASE_URL: `sqlite:${sqlite.path}` });
    try {
      await ctx.store.migrate();
      await ctx.store.topUp(10_000n, null);
      await runCycle(ctx);
    } finally {
      await ctx.close();
    }
    const [row] = await querySqlite(sqlite.path, "SELECT state, model, prompt_version, prompt_tokens, completion_tokens, model_cost FROM reviews WHERE id = '830003'");
    assert.equal(row!.state, 'posted');
    assert.equal(row!.model, 'gpt-4o-mini');
    const tokens = Number(row!.prompt_tokens) + Number(row!.completion_tokens);
    assert.equal(row!.model_cost, (tokens * 0.000002).toFixed(10).replace(/\.?0+$/, ''));
    await sqlite.cleanup();
  });
});
