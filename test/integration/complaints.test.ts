// Recurring complaints through the real pipeline: the sandbox model labels each drafted review (in the JSON schema
// gisbot asks for, or, on a server that refuses or ignores the schema, on a last `Topics:` line), gisbot keeps the
// labels and sends one complaint.repeated event when one topic reaches insight.repeatThreshold (3) reviews rated
// 1–3 at one branch within insight.repeatWindowDays (7): once per window, never once per review. The topics never
// reach a posted answer. On MariaDB and on SQLite; every test ends with the posting and money invariants.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Context } from '../../src/context.ts';
import { runCycle } from '../../src/core/answering/cycle.ts';
import type { StructuredOutput } from '../../src/sandbox/model.ts';
import { eventually, SECRETS, World, worldContext, type Backend } from '../support/world.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The sandbox model labels this "долгое ожидание" (a long wait). */
const WAITED = ['Ждали заказ сорок минут', 'Очень долго ждали кофе', 'Ожидание заняло полчаса', 'Снова долго ждали'];

const runs: Array<[Backend, StructuredOutput]> = [
  ['mysql', 'json_schema'],
  ['sqlite', 'json_schema'],
  ['sqlite', 'refuse'],
  ['mysql', 'ignore'],
];

for (const [backend, structuredOutput] of runs) {
  describe(`complaint.repeated on ${backend}, a model server whose JSON schema support is "${structuredOutput}"`, () => {
    let world: World;
    let ctx: Context;
    const ids: string[] = [];
    let seq = 0;
    const branch = (name: string) => {
      seq += 1;
      const id = `77000000000000${String(seq).padStart(2, '0')}`;
      world.twogis.addBranch({ id, name, orgId: '100' });
      return id;
    };
    const review = (branchId: string, text: string, msAgo: number, rating = 3) => {
      const id = `${branchId.slice(-2)}${String(ids.length + 1).padStart(4, '0')}`;
      ids.push(id);
      world.twogis.addReview(branchId, { id, rating, text, dateCreated: new Date(Date.now() - msAgo).toISOString() });
      return id;
    };
    const complaints = async () => (await ctx.store.listEvents({ type: 'complaint.repeated', limit: 100 })).reverse();

    before(async () => {
      world = await World.start({ database: backend, model: { apiKey: SECRETS.apiKey, structuredOutput } });
      ctx = await worldContext(world);
      await ctx.store.migrate();
      await ctx.store.topUp(100_000n, 'test');
      ctx.notifier.start();
    });
    after(async () => {
      await ctx.close();
      await world.checkInvariants(ids);
      await world.close();
    });

    test('three at one branch within a week: one event; a fourth in that week: none; two at each of two other branches: none', async () => {
      const at = branch('Кофейня на Абая');
      const first = [review(at, WAITED[0]!, 6 * DAY), review(at, WAITED[1]!, 4 * DAY), review(at, WAITED[2]!, 2 * DAY)];
      const [left, right] = [branch('Кофейня на Достык'), branch('Кофейня в ТРЦ')];
      for (const other of [left, right]) {
        review(other, WAITED[0]!, 3 * DAY);
        review(other, WAITED[1]!, 1 * DAY);
      }
      await runCycle(ctx);

      const events = await complaints();
      assert.equal(events.length, 1, 'one event for the three, none for the pairs');
      const [event] = events;
      assert.equal(event!.branchId, at);
      assert.deepEqual(event!.data, { topic: 'долгое ожидание', count: 3, reviewIds: first });
      await eventually(() => world.receiver.frames.some((frame) => frame.event.id === event!.id), 'the event reached the WebSocket');

      review(at, WAITED[3]!, 1 * DAY);
      await runCycle(ctx);
      assert.equal((await complaints()).length, 1, 'the fourth complaint of the same week adds no event');

      // The topics stayed the business's: every answer posted is the answer alone.
      for (const id of ids) {
        const answer = world.twogis.answerOf(id);
        assert.ok(answer?.byUs, `review ${id} was answered`);
        assert.doesNotMatch(answer.text, /topics|долгое ожидание|[{}]/i, `review ${id}: ${answer.text}`);
      }
    });

    test('a new run of complaints after the window: a new event for it alone', async () => {
      const at = branch('Кофейня у парка');
      const early = [review(at, WAITED[0]!, 20 * DAY), review(at, WAITED[1]!, 19 * DAY), review(at, WAITED[2]!, 18 * DAY)];
      const late = [review(at, WAITED[3]!, 3 * DAY), review(at, WAITED[0]!, 2 * DAY), review(at, WAITED[1]!, 1 * DAY)];
      // A 5★ review on the same theme is praise of patience, not a complaint: it counts toward nothing.
      review(at, 'Ждали недолго, всё отлично', 2 * DAY, 5);
      await runCycle(ctx);
      const events = (await complaints()).filter((event) => event.branchId === at);
      const byFirst = (runs: string[][]) => [...runs].sort((a, b) => a[0]!.localeCompare(b[0]!));
      assert.deepEqual(byFirst(events.map((event) => event.data.reviewIds as string[])), byFirst([early, late]), 'one event per window');
      assert.ok(events.every((event) => event.data.count === 3));
    });
  });
}
