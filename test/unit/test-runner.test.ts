// `npm test` must count every test it ran: a suite whose count drops at exit 0 can hide a file that stopped
// half-way. Runs the runner exactly as package.json's `test` script does, over generated files.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../support/run-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FILES = 20;
const TESTS = 60;

/** The flags `npm test` gives the runner, the glob of test files replaced by `glob`. */
async function npmTestArgs(glob: string): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { test: string } };
  const words = scripts.test.split(/\s+/);
  assert.equal(words[0], 'node');
  return words.slice(1).map((word) => (word.startsWith('"') ? glob : word.startsWith('./') ? path.join(ROOT, word) : word));
}

/** This process's environment without the runner's own mark: the runner started here is a parent, as npm test's is. */
function runnerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

async function generated(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gisbot-runner-'));
  for (let file = 0; file < FILES; file += 1) {
    const lines = ["import { test } from 'node:test';"];
    for (let n = 0; n < TESTS; n += 1) lines.push(`test('file ${file}, test ${n}, with a name as long as a real one', () => {});`);
    await writeFile(path.join(dir, `f${file}.test.mjs`), `${lines.join('\n')}\n${extra[`f${file}`] ?? ''}`);
  }
  return dir;
}

test("npm test's runner counts every test of every file", async () => {
  const dir = await generated();
  try {
    const run = await runProcess(process.execPath, await npmTestArgs(path.join(dir, '*.test.mjs')), { cwd: dir, env: runnerEnv(), timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^# tests ${FILES * TESTS}$`, 'm'), run.stdout.split('\n').filter((line) => line.startsWith('# ')).join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file that stays alive after its last test is ended, named, and its tests still counted', async () => {
  const dir = await generated({ f3: 'setInterval(() => {}, 1000);\n' });
  try {
    const run = await runProcess(process.execPath, await npmTestArgs(path.join(dir, '*.test.mjs')), {
      cwd: dir,
      timeoutMs: 120_000,
      env: runnerEnv({ GISBOT_TEST_EXIT_GRACE_MS: '500' }),
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^# tests ${FILES * TESTS}$`, 'm'));
    assert.match(run.stdout + run.stderr, /exit guard: .*f3\.test\.mjs kept running 500 ms after its last test \(left open: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
