// The log file as an operator's tools meet it: logrotate moves it away and sends SIGHUP to `run`; a full disk
// cuts a line short. Through the real binary, on the embedded SQLite file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess, type RunResult } from '../support/run-process.ts';
import { BIN, eventually, World } from '../support/world.ts';

/** Every line of `file` is a whole JSON object, and the file ends with a newline. */
async function wholeLines(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends in the middle of a line: …${JSON.stringify(text.slice(-80))}`);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        assert.fail(`${file} holds a broken line: ${line.slice(0, 200)}`);
      }
    });
}

describe('the log file', () => {
  let world: World;
  const BRANCH = '70000001017466081';

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня на мосту', orgId: '100' });
    await world.run(['balance', 'add', '100', '--yes']);
  });
  after(async () => {
    await world.close();
  });

  test('SIGHUP makes run open the log file again at its path, as logrotate expects', async () => {
    const config = path.join(world.dir, 'run.yaml');
    await writeFile(config, 'polling:\n  intervalSeconds: 0.3\n');
    await chmod(config, 0o600);
    world.twogis.addReview(BRANCH, { id: '720001', rating: 5, text: 'Чудесный раф' });
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd: world.dir, env: world.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const posted = async (file: string, id: string) =>
      (await readFile(file, 'utf8').catch(() => '')).split('\n').some((line) => line.includes('"type":"reply.posted"') && line.includes(`"reviewId":"${id}"`));
    try {
      await eventually(() => posted(world.logFile, '720001'), 'the first answer is logged', 20_000);
      const rotated = `${world.logFile}.1`;
      await rename(world.logFile, rotated);
      child.kill('SIGHUP');
      await eventually(async () => (await readFile(world.logFile, 'utf8').catch(() => '')).includes('log file reopened'), 'a new file at the path', 10_000);
      world.twogis.addReview(BRANCH, { id: '720002', rating: 5, text: 'И круассаны свежие' });
      await eventually(() => posted(world.logFile, '720002'), 'the next answer goes to the new file', 20_000);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.ok(!(await posted(rotated, '720002')), 'nothing new in the moved file');
      assert.equal((await stat(world.logFile)).mode & 0o777, 0o600);
      await wholeLines(rotated);
      await wholeLines(world.logFile);
    } finally {
      child.kill('SIGKILL');
    }
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('a full disk never leaves half a line: the cut line is removed, then and at the next open', async () => {
    // RLIMIT_FSIZE stands in for the full disk: a write that crosses it is cut short, the next one fails (EFBIG),
    // as with ENOSPC. The log is filled to a little under the limit, so the first line of the cycle is cut.
    const limitKiB = 8 * 1024;
    const filler = `${JSON.stringify({ at: new Date().toISOString(), level: 'info', msg: 'filler' })}\n`;
    const room = limitKiB * 1024 - 120;
    const fillers = Math.floor(room / filler.length) - 1;
    const padding = `${JSON.stringify({ pad: 'x'.repeat(room - fillers * filler.length - 11) })}\n`;
    await writeFile(world.logFile, filler.repeat(fillers) + padding);
    assert.equal((await stat(world.logFile)).size, room);
    world.twogis.addReview(BRANCH, { id: '720003', rating: 5, text: 'Вкусный капучино' });
    const full = await runLimited(world, ['poll-once', '--json'], limitKiB);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(JSON.parse(full.stdout).posted, 1);
    assert.match(full.stderr, /log file .* cannot be written/);
    await wholeLines(world.logFile);

    // A line left cut by a process that could not repair it (killed right after) is removed when the file is opened.
    await appendFile(world.logFile, '{"at":"2026-01-01T00:00:00.000Z","level":"event","type":"revi');
    world.twogis.addReview(BRANCH, { id: '720004', rating: 5, text: 'Очень уютно' });
    const next = await world.run(['poll-once', '--json']);
    assert.equal(next.code, 0, next.stderr);
    const lines = await wholeLines(world.logFile);
    assert.ok(lines.some((line) => line.type === 'reply.posted' && line.reviewId === '720004'), 'the new lines follow whole');
    await world.checkInvariants(world.twogis.reviewIds());
  });
});

/** The binary under `ulimit -f` (KiB): files it writes cannot grow past the limit. */
function runLimited(world: World, args: readonly string[], limitKiB: number): Promise<RunResult> {
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  return runProcess('/bin/bash', ['-c', `ulimit -f ${limitKiB} && exec ${quoted}`], { cwd: world.dir, env: world.env() });
}
