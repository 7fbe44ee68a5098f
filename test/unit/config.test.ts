import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/load.ts';
import { createContext } from '../../src/context.ts';
import { Output } from '../../src/ui/output.ts';
import { ConfigError } from '../../src/errors.ts';

async function configFile(content: string, name = '.gisbotrc', mode = 0o600) {
  const dir = await mkdtemp(path.join(tmpdir(), 'gisbot-config-'));
  const file = path.join(dir, name);
  await writeFile(file, content);
  await chmod(file, mode);
  return { dir, file };
}

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.exitCode, 2);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  test('defaults from contract.md when nothing is set', async () => {
    const { dir } = await configFile('{}', 'unrelated.json');
    const config = await loadConfig({ cwd: dir, env: {}, dataDir: '/data/gisbot' });
    assert.equal(config.twogis.apiUrl, 'https://api.account.2gis.com/api/1.0');
    assert.equal(config.openai.baseURL, 'https://api.openai.com/v1');
    assert.equal(config.openai.model, 'gpt-4o-mini');
    assert.equal(config.openai.timeoutSeconds, 60);
    assert.equal(config.openai.temperature, undefined, 'no temperature is sent unless set');
    assert.equal(config.openai.maxTokens, undefined, "gisbot's budget");
    assert.equal(config.database.url, 'sqlite:/data/gisbot/gisbot.db');
    assert.equal(config.billing.pricePerReply, 500n);
    assert.equal(config.billing.lowBalance, 5000n);
    assert.equal(config.websocket.ack, false);
    assert.equal(config.logs.file, '/data/gisbot/gisbot.log');
    assert.equal(config.policy.approvalBelowRating, 3);
    assert.equal(config.reply.maxLength, 4000);
    assert.equal(config.polling.intervalSeconds, 60);
    assert.equal(config.polling.concurrency, 4);
    assert.equal(config.pipeline.leaseSeconds, 300);
    assert.ok(config.prompt.file.endsWith(path.join('prompts', 'system.md')));
    assert.ok(Object.isFrozen(config.twogis));
  });

  test('environment beats the file, the file beats defaults', async () => {
    const { dir } = await configFile('openai:\n  model: from-file\n  baseURL: http://file.example/v1\npolling:\n  concurrency: 8\n');
    const config = await loadConfig({ cwd: dir, env: { GISBOT_MODEL: 'from-env' } });
    assert.equal(config.openai.model, 'from-env');
    assert.equal(config.openai.baseURL, 'http://file.example/v1');
    assert.equal(config.polling.concurrency, 8);
  });

  test('a wrong type and an unknown key are both reported as path: message', async () => {
    const { dir } = await configFile(JSON.stringify({ polling: { intervalSeconds: 'soon' }, twogis: { branch: ['1'] } }));
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('polling.intervalSeconds: ')));
    assert.ok(problems.includes('twogis.branch: unknown key'));
  });

  test('the model keys: timeout, temperature and budget, checked strictly (openai.timeoutMs is no key)', async () => {
    const { dir } = await configFile('openai:\n  timeoutSeconds: 300\n  temperature: 0.2\n  maxTokens: 2000\n', 'model.yaml');
    const config = await loadConfig({ cwd: dir, file: 'model.yaml', env: {} });
    assert.deepEqual([config.openai.timeoutSeconds, config.openai.temperature, config.openai.maxTokens], [300, 0.2, 2000]);
    const bad = await configFile('openai:\n  timeoutMs: 60000\n  timeoutSeconds: 0\n  temperature: 3\n  maxTokens: 1.5\n', 'bad.yaml');
    const problems = await problemsOf(loadConfig({ cwd: bad.dir, file: 'bad.yaml', env: {} }));
    assert.ok(problems.includes('openai.timeoutMs: unknown key'), problems.join('\n'));
    for (const key of ['timeoutSeconds', 'temperature', 'maxTokens']) {
      assert.ok(problems.some((problem) => problem.startsWith(`openai.${key}: `)), `${key}: ${problems.join('\n')}`);
    }
  });

  test("openai.apiKey is required by OpenAI's own endpoint, before anything is opened", async () => {
    const { dir } = await configFile('{}', 'unrelated.json');
    const config = await loadConfig({ cwd: dir, env: {}, dataDir: path.join(dir, 'data') });
    const output = new Output({ json: true, quiet: true, debug: false, stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTTY: false });
    await assert.rejects(createContext(config, output, { model: true }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.problems.join('\n'), /^openai\.apiKey: required/);
      return true;
    });
  });

  test('.gisbotrc.example is a valid config, with the model keys as documented', async () => {
    const example = await readFile(new URL('../../.gisbotrc.example', import.meta.url), 'utf8');
    const { dir } = await configFile(example, '.gisbotrc.yaml');
    const config = await loadConfig({ cwd: dir, env: {} });
    assert.equal(config.openai.model, 'gpt-4o-mini');
    assert.equal(config.openai.timeoutSeconds, 60);
    assert.equal(config.openai.temperature, undefined);
  });

  test('bad environment values name their variable', async () => {
    const { dir } = await configFile('{}');
    const problems = await problemsOf(loadConfig({ cwd: dir, env: { GISBOT_WS_URL: 'http://not-ws' } }));
    assert.deepEqual(problems, ['websocket.url (from GISBOT_WS_URL): must be a ws:// or wss:// URL']);
  });

  test('branch ids must be strings and money must be exact', async () => {
    const { dir } = await configFile('twogis:\n  branches: [70000001017466092]\nbilling:\n  pricePerReply: 5.001\n');
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    assert.ok(problems.some((problem) => problem.startsWith('twogis.branches.0: branch ids must be quoted strings')), problems.join('\n'));
    assert.ok(problems.some((problem) => problem.startsWith('billing.pricePerReply: ')));
  });

  test('a file holding a secret must not be readable by group or others', async () => {
    const { dir, file } = await configFile('openai:\n  apiKey: sk-secret-value\n', '.gisbotrc', 0o644);
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /holds secrets \(openai\.apiKey\) but is readable by group or others/);
    assert.doesNotMatch(problems[0]!, /sk-secret-value/);
    await chmod(file, 0o600);
    const config = await loadConfig({ cwd: dir, env: {} });
    assert.equal(config.openai.apiKey, 'sk-secret-value');
  });

  test('--config names a file explicitly; a broken file is one clear problem', async () => {
    const { dir } = await configFile('twogis: [unclosed', 'custom.yaml');
    const problems = await problemsOf(loadConfig({ cwd: dir, file: 'custom.yaml', env: {} }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /custom\.yaml: /);
  });
});
