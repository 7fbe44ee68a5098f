// A configuration's problems in the reader's language (issue 23): the schema's own messages ("must be a time zone
// such as …"), where a value came from, a YAML file's syntax, all said in Russian to a Russian reader; the keys
// stay as they are written.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { useLanguage } from '../../src/ui/messages.ts';

const root = await mkdtemp(path.join(tmpdir(), 'gisbot-config-ru-'));
after(() => rm(root, { recursive: true, force: true }));
afterEach(() => useLanguage('en'));

async function problemsOf(content: string, name: string, env: NodeJS.ProcessEnv = {}): Promise<{ problems: readonly string[]; hint: string | undefined }> {
  const dir = await mkdtemp(path.join(root, 'case-'));
  const file = path.join(dir, name);
  await writeFile(file, content);
  await chmod(file, 0o600);
  try {
    await loadConfig({ file, cwd: dir, env, dataDir: dir });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return { problems: error.problems, hint: error.hint };
  }
  assert.fail('expected a ConfigError');
}

/** Latin words a Russian line may hold: names of things, not English prose. */
const NAMES = new Set(['URL', 'ISO', 'RUB', 'KZT', 'USD', 'YAML', 'JSON', 'BotFather', 'mon', 'ru', 'ru_KZ', 'or', 'http', 'https', 'ws', 'wss', 'mysql', 'sqlite', 'user', 'pass', 'host', 'db', 'path', 'min', 'max']);

/** The English words left in a line once its keys, values, examples and names are taken out. */
function englishIn(line: string): string[] {
  const text = line
    .replace(/^[\w.]+(?= |:)/, '') // the key at fault
    .replace(/\([A-Z0-9_]+\)/g, '') // an environment variable
    .replace(/[\w.-]*[./:_][\w./:@<>…-]*/g, '') // keys, URLs, time zones, examples
    .replace(/"[^"]*"|«[^»]*»|`[^`]*`/g, '');
  const words = text.match(/[A-Za-z]{2,}/g) ?? [];
  return words.filter((word) => !NAMES.has(word) || word === 'or');
}

describe('configuration problems in Russian', () => {
  test("the schema's own messages and where a value came from", async () => {
    useLanguage('ru');
    const config = {
      timeZone: 'Mars/Olympus',
      twogis: { apiUrl: 'ftp://example.com', locale: 'russian', branches: ['abc', 70000001], accessToken: 't', login: 'l', password: 'p' },
      database: { url: 'postgres://example' },
      billing: { pricePerReply: '5.123', currency: 'XXXX' },
      websocket: { url: 'http://example.com' },
      telegram: { botToken: 'nope', chatIds: ['chat'], digest: 'someday' },
      policy: { postDelayMinutes: [5, 1], templates: { '7': ['x'] }, branches: { abc: {} } },
    };
    const { problems, hint } = await problemsOf(JSON.stringify(config), 'bad.json', { OPENAI_BASE_URL: 'nope' });
    assert.ok(problems.length >= 14, problems.join('\n'));
    for (const line of problems) {
      assert.match(line, /[а-яё]/i, line);
      assert.deepEqual(englishIn(line), [], line);
    }
    assert.ok(problems.some((line) => /^timeZone: .*Europe\/Moscow/.test(line)), problems.join('\n'));
    assert.ok(problems.some((line) => /^openai\.baseURL \(из OPENAI_BASE_URL\): /.test(line)), problems.join('\n'));
    assert.match(hint ?? '', /исправьте/);
  });

  test('a YAML syntax error', async () => {
    useLanguage('ru');
    const { problems } = await problemsOf('twogis:\n  login: a\n   password: b\n', '.gisbotrc');
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /строка \d+, столбец \d+: [а-яё]/i, problems[0]);
    assert.deepEqual(englishIn(problems[0]!.replace(/^.*?\.gisbotrc: /, '')), [], problems[0]);
  });

  test('English stays English', async () => {
    const { problems } = await problemsOf(JSON.stringify({ timeZone: 'Mars/Olympus' }), 'bad.json');
    assert.deepEqual(problems, ['timeZone: must be a time zone such as Europe/Moscow or Asia/Almaty']);
  });
});
