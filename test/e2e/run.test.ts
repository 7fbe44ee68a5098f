// `gisbot run` as a process: its checks before the first cycle, SIGTERM mid-answer, the database going away.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { queryDatabase } from '../support/mysql.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { BIN, eventually, World } from '../support/world.ts';

/** Every `run` a test started: killed at the end, so one left running by a failed test cannot hold the file open. */
const started: ChildProcess[] = [];

function startRun(world: World, env: Record<string, string> = {}, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: world.dir, env: { ...world.env(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  started.push(child);
  return { child, output, exited };
}

async function fastConfig(world: World, extra = ''): Promise<string> {
  const file = path.join(world.dir, 'run.yaml');
  await writeFile(file, `polling:\n  intervalSeconds: 0.3\n  concurrency: 2\n${extra}`);
  await chmod(file, 0o600);
  return file;
}

const rows = (world: World, sql: string) => queryDatabase(world.db.url, sql);

describe('gisbot run', () => {
  let world: World;
  let run: { child: ChildProcess; exited: Promise<number | null>; output: { stdout: string; stderr: string } } | null = null;
  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: '7800000000000001', name: 'Кофейня', orgId: '100' });
    await world.run(['balance', 'add', '1000', '--yes']);
  });
  after(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await world.close();
  });

  test('refuses to start with one line per failing service', async () => {
    const result = await world.run(['run'], {
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', GISBOT_2GIS_PASSWORD: 'wrong-password' },
    });
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.ok(lines.some((line) => /^✗ 2GIS: .*refused the login/.test(line)), result.stderr);
    assert.ok(lines.some((line) => /^✗ model: .*127\.0\.0\.1:9/.test(line)), result.stderr);
    assert.ok(!lines.some((line) => /^✗ database/.test(line)));
    assert.match(result.stderr, /error: gisbot will not start: 2 services did not answer/);
  });

  test('SIGTERM during a slow model call: exits 0, nothing claimed, no reserve left', async () => {
    world.twogis.addReview('7800000000000001', { id: '78001', rating: 5 });
    world.model.latencyMs = 10_000;
    run = startRun(world, {}, ['--config', await fastConfig(world)]);
    await eventually(() => world.model.requests.some((request) => request.path === 'chat/completions'), 'the model was asked', 60_000);
    run.child.kill('SIGTERM');
    const code = await run.exited;
    assert.equal(code, 0, run.output.stderr);
    assert.deepEqual(await rows(world, "SELECT id FROM reviews WHERE state IN ('claimed', 'drafted', 'posting')"), []);
    assert.equal((await rows(world, 'SELECT reserved FROM business_accounts'))[0]!.reserved, '0.00');
    assert.equal(world.twogis.postsTo('78001'), 0);
    world.model.latencyMs = 0;
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('the database goes away in the middle and comes back: everything answered exactly once', async (t) => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    // Closed on failure too: an open proxy keeps the test process alive.
    t.after(() => proxy.close().catch(() => {}));
    const url = new URL(world.db.url);
    url.port = String(proxy.port);
    for (let n = 0; n < 10; n += 1) world.twogis.addReview('7800000000000001', { id: `7810${n}`, rating: 5 });
    world.model.latencyMs = 30;
    run = startRun(world, { GISBOT_DATABASE_URL: url.toString() }, ['--config', await fastConfig(world)]);
    const answered = () => world.answersByUs(world.twogis.reviewIds());
    await eventually(() => answered() >= 3, 'answering started', 20_000);
    await proxy.cut();
    for (let n = 10; n < 20; n += 1) world.twogis.addReview('7800000000000001', { id: `781${n}`, rating: 5 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await proxy.restore();
    const all = world.twogis.reviewIds().length;
    await eventually(async () => answered() === all && (await rows(world, "SELECT id FROM reviews WHERE state <> 'posted'")).length === 0, 'everything answered', 30_000);
    assert.match(run.output.stderr, /cycle failed: cannot reach MySQL at 127\.0\.0\.1:\d+/, 'the outage was seen and survived');
    // A failed cycle's error is said once: on its "cycle failed" line, not again by the log's echo on stderr, and
    // not again by the next cycles that fail the same way; the cycle that works again says so.
    const outage = run.output.stderr.split('\n').filter((line) => line.includes('cannot reach MySQL'));
    assert.ok(outage.length > 0);
    assert.deepEqual(outage.filter((line) => !line.startsWith('cycle failed: ')), [], run.output.stderr);
    assert.equal(new Set(outage).size, outage.length, `each failure said once:\n${outage.join('\n')}`);
    assert.match(run.output.stderr, /cycles work again, after \d+ failed cycles?/);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.output.stderr);
    await proxy.close();
    await world.checkInvariants(world.twogis.reviewIds());
  });
});
