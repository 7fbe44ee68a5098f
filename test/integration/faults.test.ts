// Failing services, in process with the real adapters, real MariaDB and the sandboxes (invariants 3, 11, 17).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTwoGisClient } from '../../src/adapters/twogis/client.ts';
import { createOpenAiModel } from '../../src/adapters/openai/model.ts';
import type { Context } from '../../src/context.ts';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { messagesFor } from '../../src/ui/messages.ts';
import { queryDatabase } from '../support/mysql.ts';
import { SECRETS, World, worldContext } from '../support/world.ts';

// The client's deadline is 1 s here, so an unseen POST is read back 1.1 s after it was given up on.
const READ_BACK_DELAY_MS = 1_100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fastTwoGis(world: World, timeoutMs = 1_000) {
  return createTwoGisClient({
    apiUrl: world.twogis.url,
    login: world.login,
    password: SECRETS.password,
    branches: null,
    timeoutMs,
    retries: 3,
    retryBaseMs: 10,
    maxRetryDelayMs: 1_000,
  });
}

async function withContext(world: World, parts: Parameters<typeof worldContext>[2], work: (ctx: Context) => Promise<void>) {
  const ctx = await worldContext(world, {}, { twogis: fastTwoGis(world), settings: { readBackDelayMs: READ_BACK_DELAY_MS }, ...parts });
  try {
    await ctx.store.migrate();
    await work(ctx);
  } finally {
    await ctx.close();
  }
}

describe('an answer POST whose response is lost', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: '7200000000000001', name: 'Кофейня', orgId: '100' });
  });
  after(async () => world.close());

  for (const [index, fault] of [
    { type: 'reset_after' },
    { type: 'truncated' },
    { type: 'status', status: 502 },
    { type: 'delay', ms: 1_500 },
  ].entries()) {
    test(`${fault.type}${'status' in fault ? ` ${fault.status}` : ''}: exactly one answer, posted and charged once after read-back`, async () => {
      const id = `8800${index}`;
      world.twogis.addReview('7200000000000001', { id, rating: 5 });
      if (fault.type === 'status') {
        // A 502 from a proxy after 2GIS stored the answer: store it, then answer 502.
        world.twogis.faults.add({ method: 'POST', path: `presence/reviews/${id}/comments`, fault: { type: 'reset_after' } });
      } else {
        world.twogis.faults.add({ method: 'POST', path: `presence/reviews/${id}/comments`, fault: fault as never });
      }
      await withContext(world, {}, async (ctx) => {
        await ctx.store.topUp(1000n, null);
        const first = await runCycle(ctx);
        assert.equal(first.posted, 0, 'the unseen POST is not settled before it is read back');
        await sleep(READ_BACK_DELAY_MS + 100);
        const summary = await runCycle(ctx);
        assert.equal(world.twogis.postsTo(id), 1);
        assert.equal(summary.posted, 1, JSON.stringify(summary, (_key, value) => (typeof value === "bigint" ? String(value) : value)));
        const [row] = await queryDatabase(world.db.url, 'SELECT state FROM reviews WHERE id = ?', [id]);
        assert.equal(row!.state, 'posted');
      });
      await world.checkInvariants(world.twogis.reviewIds());
    });
  }
});

describe('2GIS failing 30% of requests at random', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => world.close());

  test('100 reviews: all answered in the end, none twice, requests within the bound', async () => {
    for (let branch = 0; branch < 5; branch += 1) {
      world.twogis.addBranch({ id: `730000000000000${branch}`, name: `Филиал ${branch}`, orgId: '100' });
      for (let n = 0; n < 20; n += 1) world.twogis.addReview(`730000000000000${branch}`, { id: `73${branch}${String(n).padStart(3, '0')}`, rating: 5 });
    }
    world.twogis.faults.random({
      rate: 0.3,
      seed: 42,
      faults: [
        { type: 'status', status: 500 },
        { type: 'status', status: 502 },
        { type: 'status', status: 503, retryAfterSeconds: 0 },
        { type: 'status', status: 429, retryAfterSeconds: 0 },
        { type: 'reset_before' },
        { type: 'reset_after' },
        { type: 'truncated' },
        { type: 'delay', ms: 1_200 },
      ],
    });
    const cycles: number[] = [];
    await withContext(world, {}, async (ctx) => {
      await ctx.store.topUp(100000n, null);
      for (let cycle = 0; cycle < 15; cycle += 1) {
        const summary = await runCycle(ctx);
        cycles.push(summary.posted);
        const open = (await queryDatabase(world.db.url, "SELECT COUNT(*) AS open FROM reviews WHERE state <> 'posted'"))[0]!.open;
        if (Number(open) === 0 && world.answersByUs(world.twogis.reviewIds()) === 100) break;
        await sleep(READ_BACK_DELAY_MS + 100);
      }
    });
    const ids = world.twogis.reviewIds();
    assert.equal(world.answersByUs(ids), 100, `posted per cycle: ${cycles.join(',')}`);
    for (const id of ids) assert.ok(world.twogis.postsTo(id) <= 1);
    // Without faults an answer costs 2 requests (read-back, post) plus a share of the listings; the bound allows
    // the bounded retries of safe calls and one read-back per unseen POST, and no storm.
    const requests = world.twogis.requests.length;
    assert.ok(requests <= 100 * 6, `${requests} requests for 100 reviews`);
    console.log(`# 30% faults: ${requests} requests to 2GIS for 100 answers in ${cycles.length} cycles`);
    await world.checkInvariants(ids);
  });
});

describe('a dead model', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: '7400000000000001', name: 'Кофейня', orgId: '100' });
    for (let n = 0; n < 20; n += 1) world.twogis.addReview('7400000000000001', { id: `740${String(n).padStart(2, '0')}`, rating: 5 });
  });
  after(async () => world.close());

  test('stops claiming after K failures, releases every reserve, reports one clear problem', async () => {
    world.model.faults.add({ path: /chat\/completions/, fault: { type: 'status', status: 503 }, times: Infinity });
    const model = createOpenAiModel({ baseURL: world.model.url, apiKey: SECRETS.apiKey, model: 'gpt-4o-mini', maxRetries: 1, timeoutMs: 2_000 });
    await withContext(world, { model }, async (ctx) => {
      await ctx.store.topUp(10000n, null);
      const summary = await runCycle(ctx);
      assert.equal(summary.posted, 0);
      const said = summary.problems.map((problem) => messagesFor('en').cycle.problem(problem));
      assert.equal(said.length, 1, said.join('\n'));
      assert.match(said[0]!, /model/i);
      const attempted = new Set(world.model.requests.filter((request) => request.path === 'chat/completions').map((request) => JSON.stringify(request.body)));
      assert.ok(attempted.size <= ctx.settings.breakerThreshold + ctx.settings.concurrency, `${attempted.size} reviews sent to the model`);
    });
    const [account] = await queryDatabase(world.db.url, 'SELECT reserved FROM business_accounts');
    assert.equal(account!.reserved, '0.00');
    await world.checkInvariants(world.twogis.reviewIds());
  });
});

describe('malformed 2GIS responses', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: '7500000000000001', name: 'Кофейня', orgId: '100' });
    world.twogis.addReview('7500000000000001', { id: '75001', rating: 5 });
  });
  after(async () => world.close());

  test('a truncated listing fails that call with a clear logged reason; nothing is lost', async () => {
    world.twogis.faults.add({ method: 'GET', path: /branch\/7500000000000001\/reviews/, fault: { type: 'truncated' }, times: 1 });
    await withContext(world, {}, async (ctx) => {
      await ctx.store.topUp(1000n, null);
      const first = await runCycle(ctx);
      assert.equal(first.new, 0);
      const said = first.problems.map((problem) => messagesFor('en').cycle.problem(problem));
      assert.ok(said.some((problem) => /malformed|truncated/i.test(problem)), said.join('\n'));
      const second = await runCycle(ctx);
      assert.equal(second.posted, 1);
    });
    const lines = (await world.logLines()).filter((line) => line.level === 'error');
    assert.ok(lines.some((line) => /reviews/.test(String(line.error))), JSON.stringify(lines));
    await world.checkInvariants(world.twogis.reviewIds());
  });
});
