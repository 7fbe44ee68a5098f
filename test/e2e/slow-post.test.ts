// A 2GIS that applies an answer seconds after its POST arrives, and a gisbot killed the moment it arrives: the
// POST is out and will land, so nobody may read the review back and post again before it can no longer land.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, World, type Backend } from '../support/world.ts';

/** 2GIS applies each answer this long after its POST arrives; gisbot's deadline is shorter, so it reads back. */
const APPLY_DELAY_MS = 4_000;
const TIMEOUT_SECONDS = 3;

/** Runs `poll-once` and kills it with SIGKILL the moment 2GIS receives its first answer. */
function pollKilledAtThePost(world: World): Promise<{ killed: boolean; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [BIN, 'poll-once', '--quiet'], { cwd: world.dir, env: world.env(), stdio: 'ignore' });
  let killed = false;
  world.twogis.onAnswerReceived = () => {
    world.twogis.onAnswerReceived = null;
    killed = child.kill('SIGKILL');
  };
  return new Promise((resolve) => child.on('close', (_code, signal) => resolve({ killed, signal })));
}

for (const backend of ['sqlite', 'mysql'] satisfies Backend[]) {
  describe(`a POST that 2GIS applies late, its sender killed as it arrives (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
      world.twogis.postApplyDelayMs = APPLY_DELAY_MS;
      await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ twogis: { timeoutSeconds: TIMEOUT_SECONDS } }));
      await world.run(['balance', 'add', '100', '--yes']);
    });
    after(async () => world.close());

    for (const restarted of [1, 2]) {
      test(`${restarted} poll-once started at once after the kill: one answer, charged once`, async () => {
        const branch = `720000000000000${restarted}`;
        world.twogis.addBranch({ id: branch, name: `Филиал ${restarted}`, orgId: '100' });
        const { id } = world.twogis.addReview(branch, { id: `72${restarted}01`, rating: 5 });

        const crashed = await pollKilledAtThePost(world);
        assert.equal(crashed.killed, true, 'the POST arrived and its sender was killed');
        assert.equal(crashed.signal, 'SIGKILL');

        const racing = await Promise.all(Array.from({ length: restarted }, () => world.run(['poll-once', '--json'])));
        for (const result of racing) assert.equal(result.code, 0, result.stderr);
        const answerPosts = () => world.twogis.requests.filter((request) => request.method === 'POST' && request.path === `presence/reviews/${id}/comments`).length;
        assert.equal(answerPosts(), 1, 'nobody posted again while the first POST could still land');

        const settled = await world.pollUntilAtRest();
        assert.equal(settled.code, 0, settled.stderr);
        assert.equal(world.twogis.postsTo(id), 1, 'answered once');
        assert.equal(answerPosts(), 1, 'read back, not posted again');
        const [review] = await world.query('SELECT state, charged FROM reviews WHERE id = ?', [id]);
        assert.equal(review?.state, 'posted');
        const charges = await world.query("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'charge' AND review_id = ?", [id]);
        assert.equal(Number(charges[0]?.n), 1, 'charged once');
        await world.checkInvariants(world.twogis.reviewIds());
      });
    }
  });
}
