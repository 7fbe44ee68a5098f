import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../src/config/load.ts';
import { createContext } from '../../src/context.ts';
import { Output } from '../../src/ui/output.ts';
import { ConfigError } from '../../src/errors.ts';

// Every file of these tests lives below one folder, removed at the end.
const root = await mkdtemp(path.join(tmpdir(), 'gisbot-config-'));
after(() => rm(root, { recursive: true, force: true }));

async function configFile(content: string, name = '.gisbotrc', mode = 0o600) {
  const dir = await mkdtemp(path.join(root, 'case-'));
  const file = path.join(dir, name);
  await writeFile(file, content);
  await chmod(file, mode);
  return { dir, file };
}

async function configErrorOf(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail('expected a ConfigError');
}

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  return (await configErrorOf(promise)).problems;
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
    assert.ok(problems.includes('twogis.branch: unknown key (did you mean twogis.branches?)'), problems.join('\n'));
  });

  test('a mistyped key gets "did you mean" with the known key it most looks like, at any depth; a far one gets none', async () => {
    const { dir } = await configFile(
      JSON.stringify({ telgram: {}, twogis: { pasword: 'x', Login: 'y' }, polling: { intervalSecond: 5 }, policy: { branches: { '1': { tnoe: 'warm' } } }, zzz: 1 }),
    );
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    for (const expected of [
      'telgram: unknown key (did you mean telegram?)',
      'twogis.pasword: unknown key (did you mean twogis.password?)',
      'twogis.Login: unknown key (did you mean twogis.login?)',
      'polling.intervalSecond: unknown key (did you mean polling.intervalSeconds?)',
      'policy.branches.1.tnoe: unknown key (did you mean policy.branches.1.tone?)',
      'zzz: unknown key',
    ]) {
      assert.ok(problems.includes(expected), `${expected}\n${problems.join('\n')}`);
    }
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
    const { dir } = await configFile('twogis:\n  branches: [70000001017466092, "70000001017466093", "branch 4"]\nbilling:\n  pricePerReply: 5.001\n');
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    assert.ok(problems.some((problem) => problem.startsWith('twogis.branches.0: branch ids must be quoted strings')), problems.join('\n'));
    assert.ok(problems.includes('twogis.branches.2: branch ids must be digits, as quoted strings'), problems.join('\n'));
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

describe('configuration errors a person can act on', () => {
  test('a YAML syntax error names the line, the column and the reason', async () => {
    const { dir, file } = await configFile('twogis:\n  login: owner\n  branches: ["1"\npolicy: {}\n', 'broken.yaml');
    const problems = await problemsOf(loadConfig({ cwd: dir, file: 'broken.yaml', env: {} }));
    assert.deepEqual(problems, [`${file}: line 4, column 1: missed comma between flow collection entries`]);
  });

  test('a JSON syntax error, found by the search, names the line, the column and the reason', async () => {
    const { dir, file } = await configFile('{\n  "twogis": {\n    "login": "owner"\n  }\n  "polling": {}\n}\n', '.gisbotrc.json');
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    assert.deepEqual(problems, [`${file}: line 5, column 3: missed comma between flow collection entries`]);
  });

  test('a --config file that does not exist is one sentence', async () => {
    const { dir } = await configFile('{}', 'unrelated.json');
    const problems = await problemsOf(loadConfig({ cwd: dir, file: 'gisbot.yaml', env: {} }));
    assert.deepEqual(problems, [`there is no config file at ${path.join(dir, 'gisbot.yaml')} (given with --config)`]);
  });

  test('a branch id left unquoted as a key of policy.branches is refused, block or flow, YAML or JSON', async () => {
    const quote = 'write the key in quotes ("70000001017466092"): without them YAML reads it as the number 70000001017466100';
    for (const [name, content] of [
      ['.gisbotrc', 'policy:\n  branches:\n    70000001017466092:\n      enabled: false\n    "70000001017466093":\n      tone: строгий\n'],
      ['.gisbotrc.yaml', 'policy: {branches: {70000001017466092: {enabled: false}}}\n'],
      ['.gisbotrc.json', '{"policy": {"branches": {70000001017466092: {"enabled": false}}}}\n'],
    ] as const) {
      const { dir } = await configFile(content, name);
      const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
      assert.deepEqual(problems, [`policy.branches.70000001017466092: ${quote}`], name);
    }
  });

  test('a key YAML reads as a number that keeps its digits is refused as well (0123 would be 123)', async () => {
    const { dir } = await configFile('policy:\n  branches:\n    0123:\n      enabled: false\n');
    const problems = await problemsOf(loadConfig({ cwd: dir, env: {} }));
    assert.deepEqual(problems, ['policy.branches.0123: write the key in quotes ("0123"): without them YAML reads it as the number 123']);
  });

  test('quoted ids, a bare key that YAML reads as its own text and a merge key are all accepted', async () => {
    const { dir } = await configFile(
      [
        'policy:',
        '  branches:',
        '    "70000001017466092": &quiet',
        '      enabled: false',
        "    '70000001017466093':",
        '      <<: *quiet',
        '      tone: строгий',
        '    12:',
        '      enabled: true',
        '',
      ].join('\n'),
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    assert.deepEqual(Object.keys(config.policy.branches).sort(), ['12', '70000001017466092', '70000001017466093']);
    assert.equal(config.policy.branches['70000001017466093']?.enabled, false);
  });

  test('every problem in plain words, one per line, values never repeated', async () => {
    const { dir, file } = await configFile(
      [
        'twogis:',
        '  login: owner',
        '  password: 918273645',
        'polling:',
        '  intervalSeconds: soon',
        '  concurrency: 0',
        'policy:',
        '  moderation: sometimes',
        '  approvalBelowRating: 2.5',
        '  facts: 7',
        '  branches:',
        '    "1":',
        'reply:',
        '  maxLength: 5000',
        'openai:',
        '  model: ""',
        'websocket: on',
        '',
      ].join('\n'),
    );
    const error = await configErrorOf(loadConfig({ cwd: dir, env: {} }));
    assert.deepEqual([...error.problems].sort(), [
      'openai.model: must not be empty',
      'policy.approvalBelowRating: must be a whole number',
      'policy.branches.1: must be a section of settings (key: value lines), not empty',
      'policy.facts: must be text or a list, not a number (put it in quotes)',
      'policy.moderation: must be one of: required, optional, off',
      'polling.concurrency: must be more than 0',
      'polling.intervalSeconds: must be a number, not text',
      'reply.maxLength: must be 4000 or less',
      'twogis.password: must be text, not a number (put it in quotes)',
      'websocket: must be a section of settings (key: value lines), not text',
    ]);
    assert.doesNotMatch(error.message, /918273645|Invalid|expected|received/);
    assert.equal(error.hint, `fix ${file}; every key is described in .gisbotrc.example`);
  });

  test('the hint is whole: the file, the environment variable when one is at fault, and the example that exists', async () => {
    const { dir, file } = await configFile('polling:\n  concurrency: 100\n');
    const error = await configErrorOf(loadConfig({ cwd: dir, env: { GISBOT_WS_URL: 'http://not-ws' } }));
    assert.deepEqual(error.problems, ['websocket.url (from GISBOT_WS_URL): must be a ws:// or wss:// URL', 'polling.concurrency: must be 64 or less']);
    assert.equal(error.hint, `fix ${file}, or the environment variable named above; every key is described in .gisbotrc.example`);
    // The example the hint names is there (tests run from the repository root, so the path is relative).
    assert.ok(existsSync('.gisbotrc.example'));
  });
  test('telegram: off by default; the token from the environment, a secret the redactor and the file check know', async () => {
    const { dir } = await configFile('{}', 'unrelated.json');
    const off = await loadConfig({ cwd: dir, env: {}, dataDir: '/data/gisbot' });
    assert.deepEqual(off.telegram, { chatIds: [], apiUrl: 'https://api.telegram.org' });

    const token = '123456789:AAHsentinel-telegram-token_0123456789ab';
    const { dir: withChats } = await configFile('telegram:\n  chatIds: ["-1001234567890", 42, "42"]\n  apiUrl: http://127.0.0.1:8081/\n');
    const config = await loadConfig({ cwd: withChats, env: { GISBOT_TELEGRAM_TOKEN: token }, dataDir: '/data/gisbot' });
    assert.deepEqual(config.telegram, { botToken: token, chatIds: ['-1001234567890', '42'], apiUrl: 'http://127.0.0.1:8081' });
    const output = new Output({ json: true, quiet: true, debug: false, stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTTY: false });
    const ctx = await createContext(config, output, {}, { store: {} as never, logger: { event() {}, info() {}, warn() {}, error() {}, flush: async () => {} } });
    assert.equal(ctx.redact(`https://api.telegram.org/bot${token}/getMe`), 'https://api.telegram.org/bot***/getMe');
    assert.ok(ctx.settings.secrets?.some((secret) => secret.key === 'telegram.botToken' && secret.value === token));
    assert.equal(ctx.telegram, null, 'built only for the commands that bridge to it');

    const { dir: readable, file } = await configFile(`telegram:\n  botToken: "${token}"\n`, '.gisbotrc', 0o644);
    const problems = await problemsOf(loadConfig({ cwd: readable, env: {}, dataDir: '/data/gisbot' }));
    assert.match(problems[0]!, /holds secrets \(telegram\.botToken\) but is readable by group or others/);
    assert.ok(file);
  });

  test('telegram: a malformed token or chat id is named, the token never repeated', async () => {
    const wrong = 'not-a-token sentinel-f00d';
    const { dir } = await configFile('telegram:\n  chatIds: ["@mychannel", 1.5]\n  apiUrl: ftp://x\n');
    const problems = await problemsOf(loadConfig({ cwd: dir, env: { GISBOT_TELEGRAM_TOKEN: wrong }, dataDir: '/data/gisbot' }));
    assert.deepEqual(problems, [
      'telegram.botToken (from GISBOT_TELEGRAM_TOKEN): must be the token BotFather gave, like 123456789:AAH…',
      'telegram.chatIds.0: chat ids are digits, with a minus for groups',
      'telegram.chatIds.1: must be text or a whole number (put it in quotes)',
      'telegram.apiUrl: must be a https:// or http:// URL',
    ]);
    assert.ok(problems.every((problem) => !problem.includes('sentinel-f00d')));
  });
});
