// Scaling out: three `gisbot run` workers (as on three hosts) share one MariaDB. They list the same branches,
// record each review once, and claim with FOR UPDATE SKIP LOCKED: every review is answered once, by one of
// them, and charged once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, eventually, World } from '../support/world.ts';

const WORKERS = 3;
const BRANCHES = 30;
const PER_BRANCH = 10;

interface Worker {
  child: ChildProcess;
  stderr: string;
  exited: Promise<number | null>;
}

function startWorker(world: World, config: string): Worker {
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd: world.dir, env: world.env(), stdio: ['ignore', 'ignore', 'pipe'] });
  const worker: Worker = { child, stderr: '', exited: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  child.stderr!.on('data', (chunk) => (worker.stderr += chunk));
  return worker;
}

/** The reviews a worker says it answered ("✓ answered review <id>: charged …", one line per reply.posted). */
function answeredBy(worker: Worker): string[] {
  return [...worker.stderr.matchAll(/^✓ answered review (\d+):/gm)].map((match) => match[1]!);
}

describe(`${WORKERS} gisbot run workers on one MariaDB`, () => {
  let world: World;
  let workers: Worker[] = [];
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await world.close();
  });

  test(`${BRANCHES * PER_BRANCH} reviews in ${BRANCHES} branches: each answered once, by one worker, charged once`, async (t) => {
    const config = path.join(world.dir, 'worker.yaml');
    await writeFile(config, 'polling:\n  intervalSeconds: 0.2\n  concurrency: 4\n');
    await chmod(config, 0o600);
    world.model.latencyMs = 10;
    const topUp = await world.run(['balance', 'add', '2000', '--yes']);
    assert.equal(topUp.code, 0, topUp.stderr);

    workers = Array.from({ length: WORKERS }, () => startWorker(world, config));
    await eventually(() => workers.every((worker) => worker.stderr.includes('gisbot is running')), 'every worker started', 20_000);

    // The reviews arrive once all three poll: none has a head start.
    const ids: string[] = [];
    for (let branch = 0; branch < BRANCHES; branch += 1) {
      const branchId = `79${String(branch).padStart(15, '0')}`;
      world.twogis.addBranch({ id: branchId, name: `Филиал ${branch + 1}`, orgId: '100' });
      for (let n = 0; n < PER_BRANCH; n += 1) {
        const id = `79${String(branch).padStart(2, '0')}${String(n).padStart(2, '0')}`;
        world.twogis.addReview(branchId, { id, rating: 4 + (n % 2), text: n % 3 === 0 ? '' : `Отзыв ${n} о филиале ${branch + 1}` });
        ids.push(id);
      }
    }
    await eventually(() => world.answersByUs(ids) === ids.length, 'every review answered', 40_000);
    await eventually(
      async () => Number((await world.query("SELECT COUNT(*) AS n FROM reviews WHERE state IN ('new', 'claimed', 'drafted', 'posting')"))[0]!.n) === 0,
      'nothing left in work',
      10_000,
    );

    for (const worker of workers) worker.child.kill('SIGTERM');
    const codes = await Promise.all(workers.map((worker) => worker.exited));
    assert.deepEqual(codes, workers.map(() => 0), workers.map((worker) => worker.stderr).join('\n---\n'));

    for (const id of ids) assert.equal(world.twogis.postsTo(id), 1, `review ${id} was answered ${world.twogis.postsTo(id)} times`);
    const shares = workers.map(answeredBy);
    const all = shares.flat();
    assert.equal(all.length, ids.length, 'one reply.posted per review, over all workers');
    assert.equal(new Set(all).size, ids.length, 'no review answered by two workers');
    t.diagnostic(`answers per worker: ${shares.map((share) => share.length).join(' / ')}`);
    for (const [index, share] of shares.entries()) assert.ok(share.length > 0, `worker ${index + 1} answered nothing`);

    const [account] = await world.query('SELECT balance, reserved FROM business_accounts');
    assert.deepEqual({ ...account }, { balance: (2000 - ids.length * 5).toFixed(2), reserved: '0.00' });
    const [posted] = await world.query("SELECT COUNT(*) AS n FROM events WHERE type = 'reply.posted'");
    assert.equal(Number(posted!.n), ids.length);
    await world.checkInvariants(world.twogis.reviewIds());
  });
});
