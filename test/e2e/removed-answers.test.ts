// Answers 2GIS removes after posting (issue 21, item 4), through the real binary on both databases: each posted
// answer is read back once more after twogis.recheckAfterHours (here 0.0005 h, 1.8 s); one that is gone is
// announced, waits for a person, counts in `stats`, and with billing.refundRemoved is refunded once, however
// many workers race for it.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { World, type Backend } from '../support/world.ts';

const BRANCH = '7900000000000001';
const IDS = ['7901', '7902', '7903'];
const REMOVED = IDS[1]!;
/** twogis.recheckAfterHours 0.0005 h, plus its largest spread (a tenth), plus room for the runs. */
const RECHECK_WAIT_MS = 2_600;

for (const backend of ['sqlite', 'mysql'] satisfies Backend[]) {
  describe(`answers 2GIS removed (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня', orgId: '100' });
      for (const id of IDS) world.twogis.addReview(BRANCH, { id, rating: 5 });
      await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ twogis: { recheckAfterHours: 0.0005 }, billing: { refundRemoved: true } }));
      assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);
    });
    after(async () => world.close());

    /** GETs of each review made after our answer to it was posted: the rechecks. */
    const rechecks = (): Map<string, number> => {
      const counts = new Map<string, number>();
      const postedAt = new Map<string, number>();
      for (const request of world.twogis.requests) {
        const posted = /^presence\/reviews\/(\d+)\/comments$/.exec(request.path);
        if (request.method === 'POST' && posted) postedAt.set(posted[1]!, request.at);
        const read = /^presence\/reviews\/(\d+)$/.exec(request.path);
        if (request.method === 'GET' && read && postedAt.has(read[1]!)) counts.set(read[1]!, (counts.get(read[1]!) ?? 0) + 1);
      }
      return counts;
    };

    test('found by the recheck of two racing workers: one request per answer, reply.removed, waiting for a person, one refund, stats count', async () => {
      const first = await world.run(['poll-once', '--json']);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(JSON.parse(first.stdout).posted, 3);
      const answer = world.twogis.answerOf(REMOVED)!;
      world.twogis.removeAnswer(REMOVED); // 2GIS moderation takes it down
      await sleep(RECHECK_WAIT_MS);

      const racing = await Promise.all([world.run(['poll-once', '--json']), world.run(['poll-once', '--json'])]);
      for (const result of racing) assert.equal(result.code, 0, result.stderr);
      assert.deepEqual([...rechecks()].sort(), IDS.map((id) => [id, 1]), 'each answer read back once, across both workers');

      const [review] = await world.query('SELECT state, reason, answer_removals FROM reviews WHERE id = ?', [REMOVED]);
      assert.deepEqual({ ...review }, { state: 'needs_approval', reason: 'answer removed by 2GIS', answer_removals: 1 });
      const removedEvents = await world.query("SELECT review_id, data FROM events WHERE type = 'reply.removed'");
      assert.equal(removedEvents.length, 1, 'announced once');
      assert.equal(removedEvents[0]!.review_id, REMOVED);
      assert.equal(JSON.parse(String(removedEvents[0]!.data)).text, answer.text, 'the event carries the removed text');
      const refunds = await world.query("SELECT amount, review_id FROM ledger WHERE kind = 'adjustment'");
      assert.deepEqual(refunds.map((row) => [String(row.amount), row.review_id]), [[backend === 'mysql' ? '5.00' : '500', REMOVED]], 'refunded once');
      const [account] = await world.query("SELECT balance FROM business_accounts WHERE business_id = 'default'");
      assert.equal(String(account!.balance), backend === 'mysql' ? '90.00' : '9000', '100.00 − 3 × 5.00 + 5.00');

      const stats = JSON.parse((await world.run(['stats', '--json'])).stdout);
      assert.deepEqual([stats.total.removed, stats.total.waitingForPerson, stats.total.answered], [1, 1, 2]);

      const again = await world.run(['poll-once', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual([...rechecks()].sort(), IDS.map((id) => [id, 1]), 'never read back again');
      assert.equal(world.twogis.postsTo(REMOVED), 1, 'never posted again by itself');
      await world.checkInvariants(IDS);
    });
  });
}
