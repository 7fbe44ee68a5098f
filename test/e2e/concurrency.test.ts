// Several gisbot processes on one database: racing for the last funds, and killed at random moments.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { queryDatabase } from '../support/mysql.ts';
import { BIN, World, type Backend } from '../support/world.ts';

describe('eight poll-once processes at once', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => world.close());

  test('40 eligible reviews and 50.00: exactly 10 answers, balance 0.00, no duplicates', async () => {
    for (let branch = 0; branch < 4; branch += 1) {
      world.twogis.addBranch({ id: `760000000000000${branch}`, name: `Филиал ${branch}`, orgId: '100' });
      for (let n = 0; n < 10; n += 1) world.twogis.addReview(`760000000000000${branch}`, { id: `76${branch}${n}`, rating: 5 });
    }
    world.model.latencyMs = 50;
    await world.run(['balance', 'add', '50', '--yes']);
    const results = await Promise.all(Array.from({ length: 8 }, () => world.run(['poll-once', '--json'])));
    for (const result of results) assert.ok([0, 3].includes(result.code ?? -1), result.stderr);
    const posted = results.reduce((sum, result) => sum + JSON.parse(result.stdout).posted, 0);
    assert.equal(posted, 10);
    const ids = world.twogis.reviewIds();
    assert.equal(world.answersByUs(ids), 10);
    const [account] = await queryDatabase(world.db.url, 'SELECT balance, reserved FROM business_accounts');
    assert.deepEqual({ ...account }, { balance: '0.00', reserved: '0.00' });
    assert.ok(results.some((result) => result.code === 3), 'someone reported the lack of funds');
    await world.checkInvariants(ids);
  });
});

describe('random SIGKILLs with two workers', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: '7700000000000001', name: 'Кофейня', orgId: '100' });
    world.twogis.addBranch({ id: '7700000000000002', name: 'Пекарня', orgId: '100' });
    world.model.latencyMs = 20;
  });
  after(async () => world.close());

  test('30 iterations, then a clean run: every review rests, answered at most once, charged exactly', async () => {
    await world.run(['balance', 'add', '10000', '--yes']);
    let killed = 0;
    for (let iteration = 0; iteration < 30; iteration += 1) {
      for (let n = 0; n < 3; n += 1) {
        world.twogis.addReview(`770000000000000${1 + (n % 2)}`, { id: `77${String(iteration).padStart(2, '0')}${n}`, rating: 5 });
      }
      const workers = [0, 1].map(() => spawn(process.execPath, [BIN, 'poll-once', '--quiet'], { cwd: world.dir, env: world.env(), stdio: 'ignore' }));
      const victim = workers[iteration % 2]!;
      const delay = Math.floor(Math.random() * 400);
      const timer = setTimeout(() => {
        if (victim.exitCode === null && victim.kill('SIGKILL')) killed += 1;
      }, delay);
      await Promise.all(workers.map((worker) => new Promise((resolve) => worker.on('close', resolve))));
      clearTimeout(timer);
    }
    assert.ok(killed >= 10, `only ${killed} workers were killed while working`);

    const final = await world.run(['poll-once', '--json']);
    assert.equal(final.code, 0, final.stderr);
    const rows = await queryDatabase(world.db.url, "SELECT id, state FROM reviews WHERE state NOT IN ('posted', 'skipped', 'needs_approval', 'failed')");
    assert.deepEqual(rows, []);
    const ids = world.twogis.reviewIds();
    assert.equal(world.answersByUs(ids), 90, 'every review answered in the end');
    await world.checkInvariants(ids);
  });
});

// The same soak against a 2GIS that applies each answer 1.5 s after its POST arrives, with half the kills landing
// the moment a POST arrives and a fresh worker started as each victim dies (cron's next run, a systemd restart):
// a dead worker's answer lands after its death, and everyone must wait for it instead of answering again.
for (const backend of ['sqlite', 'mysql'] satisfies Backend[]) {
  describe(`random SIGKILLs with two workers and answers applied late (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
      world.twogis.addBranch({ id: '7800000000000001', name: 'Кофейня', orgId: '100' });
      world.twogis.addBranch({ id: '7800000000000002', name: 'Пекарня', orgId: '100' });
      world.twogis.postApplyDelayMs = 1_500;
      world.model.latencyMs = 20;
      await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ twogis: { timeoutSeconds: 3 } }));
    });
    after(async () => world.close());

    test('30 kills, then clean runs: every review rests, answered at most once, charged exactly', async () => {
      await world.run(['balance', 'add', '10000', '--yes']);
      const worker = () => spawn(process.execPath, [BIN, 'poll-once', '--quiet'], { cwd: world.dir, env: world.env(), stdio: 'ignore' });
      const closed = (child: ReturnType<typeof worker>) => new Promise((resolve) => child.on('close', resolve));
      let killed = 0;
      let killedAtPost = 0;
      for (let iteration = 0; killed < 30; iteration += 1) {
        assert.ok(iteration < 90, `only ${killed} kills in ${iteration} iterations`);
        for (let n = 0; n < 3; n += 1) {
          world.twogis.addReview(`780000000000000${1 + (n % 2)}`, { id: `78${String(iteration).padStart(2, '0')}${n}`, rating: 5 });
        }
        const workers = [worker(), worker()];
        const running = workers.map(closed);
        const victim = workers[iteration % 2]!;
        const kill = (atPost: boolean): void => {
          if (victim.exitCode !== null || victim.signalCode !== null || !victim.kill('SIGKILL')) return;
          killed += 1;
          if (atPost) killedAtPost += 1;
          running.push(closed(worker()));
        };
        let timer: NodeJS.Timeout | undefined;
        if (iteration % 2 === 0) {
          world.twogis.onAnswerReceived = () => {
            world.twogis.onAnswerReceived = null;
            kill(true);
          };
        } else timer = setTimeout(() => kill(false), Math.floor(Math.random() * 2_000));
        while (running.length > 0) await running.shift();
        clearTimeout(timer);
        world.twogis.onAnswerReceived = null;
      }
      assert.ok(killedAtPost >= 10, `only ${killedAtPost} kills landed as a POST arrived`);

      const final = await world.pollUntilAtRest();
      assert.equal(final.code, 0, final.stderr);
      const rows = await world.query("SELECT id, state FROM reviews WHERE state NOT IN ('posted', 'skipped', 'needs_approval', 'failed')");
      assert.deepEqual(rows, []);
      const ids = world.twogis.reviewIds();
      for (const id of ids) assert.equal(world.twogis.postsTo(id), 1, `review ${id} answered once`);
      await world.checkInvariants(ids);
    });
  });
}
