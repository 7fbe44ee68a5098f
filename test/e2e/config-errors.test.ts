// Configuration mistakes as a person meets them: the real binary from a clone, a config with several problems, a
// syntax error, an unquoted branch id, a --config that is not there. Each problem is one `error:` line in plain
// words, the hint is whole, the exit code is 2, and nothing was created (no database, no log) before the refusal.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess, type RunResult } from '../support/run-process.ts';
import { BIN } from '../support/world.ts';

describe('config errors through the real binary', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'gisbot-config-e2e-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  function gisbot(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
    return runProcess(process.execPath, [BIN, ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home, XDG_DATA_HOME: path.join(home, 'data'), NO_COLOR: '1', ...env },
    });
  }

  async function config(name: string, content: string): Promise<string> {
    const file = path.join(home, name);
    await writeFile(file, content);
    await chmod(file, 0o600);
    return file;
  }

  /** Nothing was made before the refusal: no data folder (database, log) in the home folder. */
  async function assertNothingCreated(): Promise<void> {
    assert.ok(!(await readdir(home)).includes('data'), 'the data folder was created');
  }

  test('no config anywhere: one line saying so and naming init, not a list of required keys', async () => {
    const result = await gisbot(['poll-once']);
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.match(lines[0]!, /^error: no \.gisbotrc found .* run `(npm run gisbot --|gisbot) init`$/);
    assert.ok(!/required/.test(result.stderr), result.stderr);
    await assertNothingCreated();
  });

  test('several problems: one error line each, in plain words, and a hint that ends where it should', async () => {
    const file = await config(
      'several.yaml',
      'twogis:\n  login: 5\npolling:\n  intervalSeconds: soon\npolicy:\n  moderation: sometimes\n  branches:\n    70000001017466092:\n      enabled: false\n',
    );
    const result = await gisbot(['balance', '--config', file], { GISBOT_WS_URL: 'http://not-ws' });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      'error: policy.branches.70000001017466092: write the key in quotes ("70000001017466092"): without them YAML reads it as the number 70000001017466100',
      'error: twogis.login: must be text, not a number (put it in quotes)',
      'error: websocket.url (from GISBOT_WS_URL): must be a ws:// or wss:// URL',
      'error: policy.moderation: must be one of: required, optional, off',
      'error: polling.intervalSeconds: must be a number, not text',
      `hint: fix ${file}, or the environment variable named above; every key is described in ${path.join(path.dirname(BIN), '..', '.gisbotrc.example')}`,
    ]);
    await assertNothingCreated();
  });

  test('a YAML syntax error: the file, the line, the column and the reason on one line', async () => {
    const file = await config('broken.yaml', 'twogis:\n  login: owner\n  branches: ["1"\npolicy: {}\n');
    const result = await gisbot(['poll-once', '--config', file]);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [`error: ${file}: line 4, column 1: missed comma between flow collection entries`]);
    await assertNothingCreated();
  });

  test('a --config file that is not there: one sentence', async () => {
    const result = await gisbot(['balance', '--config', 'missing.yaml']);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [`error: there is no config file at ${path.join(home, 'missing.yaml')} (given with --config)`]);
    await assertNothingCreated();
  });
});
