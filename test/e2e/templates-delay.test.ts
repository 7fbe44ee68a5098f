// Templates for ratings without words and a delay before posting (issue 22, items 2 and 4), through the real binary
// on MariaDB and SQLite: a 5★ review with no text is answered from the owner's texts with no model request, the
// rotation goes through every template before one repeats (across runs), charged exactly pricePerTemplateReply;
// with policy.postDelayMinutes [1, 2] and the clock the test sets (GISBOT_TEST_NOW), nothing is posted before a
// minute, everything by two; a review a person answers on 2GIS meanwhile is skipped and not charged; a process
// SIGKILLed during the wait leaves the answers to be posted once by a later run.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, World, type Backend } from '../support/world.ts';

const TEMPLATES = ['Спасибо, {name}!', '{name}, рады, что вам понравилось!', 'Благодарим за пятёрку!'];
const MINUTE = 60_000;

for (const backend of ['mysql', 'sqlite'] as Backend[]) {
  describe(`templates and a delay before posting (${backend})`, () => {
    let world: World;
    const config = (policy: Record<string, unknown>) =>
      writeFile(
        path.join(world.dir, '.gisbotrc.json'),
        JSON.stringify({ billing: { pricePerReply: '5.00', pricePerTemplateReply: '1.20' }, policy }),
      );
    const poll = async (env: Record<string, string> = {}) => {
      const result = await world.run(['poll-once', '--json'], { env });
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as { posted: number; charged: string; balance: string };
    };
    const answerOf = (id: string) => world.twogis.postsTo(id);

    before(async () => {
      world = await World.start({ database: backend });
      world.twogis.addBranch({ id: '70000001017466601', name: 'Кофейня', orgId: '100' });
      const topUp = await world.run(['balance', 'add', '100', '--yes']);
      assert.equal(topUp.code, 0, topUp.stderr);
    });
    after(async () => {
      await world.close();
    });

    test('5★ without words: the templates in rotation, no model request, charged pricePerTemplateReply', async () => {
      await config({ templates: { '5': TEMPLATES } });
      const branch = '70000001017466601';
      world.twogis.addReview(branch, { id: '6001', rating: 5, text: '' });
      world.twogis.addReview(branch, { id: '6002', rating: 5, text: '', user: { name: 'user_77' } });
      world.twogis.addReview(branch, { id: '6003', rating: 5, text: '' });
      const first = await poll();
      assert.deepEqual([first.posted, first.charged, first.balance], [3, '3.60', '96.40']);
      world.twogis.addReview(branch, { id: '6004', rating: 5, text: '' });
      world.twogis.addReview(branch, { id: '6005', rating: 5, text: '' });
      const second = await poll();
      assert.deepEqual([second.posted, second.charged, second.balance], [2, '2.40', '94.00']);
      assert.equal(world.model.completions, 0, 'no model request for a template');

      const rows = await world.query("SELECT id, answer_text, template, charged FROM reviews WHERE id LIKE '600%' ORDER BY id");
      const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
      const place = (id: string) => Number(String(byId[id]!.template).match(/^5★ (\d)\/3$/)![1]);
      assert.deepEqual(['6001', '6002', '6003'].map(place).sort(), [1, 2, 3], 'every template before one repeats');
      assert.equal(new Set(['6004', '6005'].map(place)).size, 2, 'the second run goes on with the rotation');
      for (const row of rows) assert.equal(String(row.charged).replace(/\.00$/, ''), backend === 'mysql' ? '1.20' : '120');
      const without = String(byId['6002']!.answer_text);
      assert.ok(!without.includes('{name}') && !without.includes('user_77') && !/^,|\s[,!]/.test(without), without);
      for (const id of ['6001', '6003', '6004', '6005']) {
        const text = String(byId[id]!.answer_text);
        assert.ok(TEMPLATES.some((template) => template.replace('{name}', 'Анна') === text), text);
      }
    });

    test('a delay of [1, 2] minutes: nothing before 1, everything by 2; answered meanwhile → skipped, 0 charged; SIGKILL in the wait', async () => {
      await config({ postDelayMinutes: [1, 2] });
      const branch = '70000001017466601';
      for (const id of ['7001', '7002', '7003']) world.twogis.addReview(branch, { id, rating: 5, text: `Отличный кофе, отзыв ${id}` });
      const start = Date.now() + MINUTE;
      const at = (ms: number) => ({ GISBOT_TEST_NOW: new Date(start + ms).toISOString() });
      const drafting = Date.now();
      const first = await poll(at(0));
      const took = Date.now() - drafting;
      assert.equal(first.posted, 0);
      const scheduled = await world.query("SELECT id, state, post_after FROM reviews WHERE id LIKE '700%' ORDER BY id");
      for (const row of scheduled) {
        const postAfter = typeof row.post_after === 'number' ? row.post_after : new Date(String(row.post_after) + (backend === 'mysql' ? 'Z' : '')).getTime();
        assert.equal(row.state, 'drafted');
        assert.ok(postAfter >= start + MINUTE && postAfter <= start + 2 * MINUTE + took, `post_after ${postAfter - start} ms`);
      }
      const balance = await world.run(['balance', '--json']);
      assert.equal(JSON.parse(balance.stdout).held, '15.00', 'the reserve is held while the answers wait');
      const stats = await world.run(['stats', '--json']);
      assert.equal(JSON.parse(stats.stdout).total.scheduled, 3);

      // A run SIGKILLed during the wait: the answers stay drafted, their reserve held.
      const seen = world.twogis.requests.length;
      const daemon = world.spawn(['run'], { env: at(50_000) });
      await eventually(() => world.twogis.requests.slice(seen).some((request) => /\/reviews$/.test(request.path)), 'a cycle of run lists the reviews', 30_000);
      daemon.child.kill('SIGKILL');
      await daemon.done;
      assert.equal(['7001', '7002', '7003'].map(answerOf).join(), '0,0,0', 'nothing posted before a minute');

      world.twogis.answerAsOwner('7002', 'Спасибо! — управляющий');
      const later = await poll(at(2 * MINUTE + took + 1000));
      assert.deepEqual([later.posted, later.charged], [2, '10.00']);
      const again = await poll(at(3 * MINUTE));
      assert.equal(again.posted, 0);
      assert.equal(['7001', '7002', '7003'].map(answerOf).join(), '1,0,1', 'each posted once, the one answered by a person not at all');
      const rows = await world.query("SELECT id, state, charged FROM reviews WHERE id LIKE '700%' ORDER BY id");
      assert.deepEqual(rows.map((row) => row.state), ['posted', 'skipped', 'posted']);
      assert.equal(Number(rows[1]!.charged), 0);
      assert.equal(JSON.parse((await world.run(['balance', '--json'])).stdout).held, '0.00');
    });
  });
}
