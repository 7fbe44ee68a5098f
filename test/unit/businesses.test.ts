// Many businesses in one config (contract.md, "Businesses"): what a business inherits, what it must set itself,
// what stays deployment-wide, its secrets from the environment, and which businesses a command works on.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { businessesOf, businessOf, selectBusinesses, type Business } from '../../src/config/businesses.ts';
import { loadConfig } from '../../src/config/load.ts';
import { configuredSecrets, createContext } from '../../src/context.ts';
import { ConfigError, UsageError } from '../../src/errors.ts';
import { shippedFile } from '../../src/shipped.ts';
import { Output } from '../../src/ui/output.ts';

const root = await mkdtemp(path.join(tmpdir(), 'gisbot-businesses-'));
after(() => rm(root, { recursive: true, force: true }));

async function folderWith(content: string, mode = 0o600): Promise<string> {
  const dir = await mkdtemp(path.join(root, 'case-'));
  await writeFile(path.join(dir, '.gisbotrc'), content);
  await chmod(path.join(dir, '.gisbotrc'), mode);
  return dir;
}

const load = (dir: string, env: Record<string, string> = {}) => loadConfig({ cwd: dir, env, dataDir: path.join(dir, 'data') });

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

const TWO = [
  'twogis: { apiUrl: "http://127.0.0.1:9/api/1.0" }',
  'openai: { model: shared-model }',
  'policy: { approvalBelowRating: 2, tone: тёплый }',
  'billing: { pricePerReply: "5.00", lowBalance: "40.00" }',
  'telegram: { chatIds: ["-100777"] }',
  'businesses:',
  '  coffee-ok:',
  '    name: "Кофейня «Зерно»"',
  '    twogis: { login: owner@zerno.kz, password: zerno-secret-pass, branches: ["70000001017466092"] }',
  '    billing: { pricePerReply: "7.50" }',
  '    policy: { tone: строгий }',
  '    timeZone: Asia/Almaty',
  '    telegram: { chatIds: ["123456789"] }',
  '  dental-7:',
  '    name: "Стоматология №7"',
  '    enabled: false',
  '    twogis: { login: admin@dent7.ru, apiUrl: "http://127.0.0.1:10/api/1.0" }',
  '',
].join('\n');

describe('businesses in the config', () => {
  test('a config without businesses: is one business, default, whose config is the config itself', async () => {
    const dir = await folderWith('twogis: { login: owner }\ntelegram: { chatIds: ["42"] }\n');
    const config = await load(dir);
    const [only, ...rest] = businessesOf(config);
    assert.equal(rest.length, 0);
    assert.deepEqual([only!.id, only!.name, only!.enabled, only!.keyPrefix], ['default', null, true, '']);
    assert.equal(only!.config, config);
    assert.equal(config.businessId, 'default');
    assert.deepEqual(only!.staffChatIds, [], 'its chats are its own, in config.telegram.chatIds');
    assert.deepEqual(config.telegram.chatIds, ['42']);
    assert.equal(businessOf(config), only);
  });

  test('each business inherits the top level and lays its own keys over it; never-inherited keys stay its own', async () => {
    const config = await load(await folderWith(TWO));
    assert.equal(config.businessId, null);
    assert.deepEqual(config.telegram.chatIds, ['-100777'], 'the staff chats');
    const [coffee, dental] = businessesOf(config);
    assert.deepEqual([coffee!.id, coffee!.name, coffee!.enabled], ['coffee-ok', 'Кофейня «Зерно»', true]);
    assert.deepEqual([dental!.id, dental!.name, dental!.enabled], ['dental-7', 'Стоматология №7', false]);

    assert.equal(coffee!.config.billing.pricePerReply, 750n, 'its own price');
    assert.equal(dental!.config.billing.pricePerReply, 500n, 'the top-level price');
    assert.equal(coffee!.config.billing.lowBalance, 4000n);
    assert.equal(coffee!.config.policy.tone, 'строгий');
    assert.equal(coffee!.config.timeZone, 'Asia/Almaty', 'a top-level key of its own');
    assert.equal(dental!.config.timeZone, config.timeZone);
    assert.equal(coffee!.config.policy.approvalBelowRating, 2, 'a section merges key by key');
    assert.equal(dental!.config.policy.tone, 'тёплый');
    assert.equal(coffee!.config.twogis.apiUrl, 'http://127.0.0.1:9/api/1.0');
    assert.equal(dental!.config.twogis.apiUrl, 'http://127.0.0.1:10/api/1.0');
    assert.equal(dental!.config.openai.model, 'shared-model', 'deployment-wide');
    assert.equal(coffee!.config.database.url, config.database.url);

    assert.deepEqual(coffee!.config.telegram.chatIds, ['123456789']);
    assert.deepEqual(dental!.config.telegram.chatIds, [], 'the staff chats are not a business chat');
    assert.deepEqual(coffee!.staffChatIds, ['-100777']);
    assert.deepEqual(coffee!.config.twogis.branches, ['70000001017466092']);
    assert.equal(dental!.config.twogis.branches, undefined);
    assert.equal(dental!.config.twogis.password, undefined);
    assert.equal(coffee!.config.businessId, 'coffee-ok');
    assert.equal(businessOf(dental!.config), dental);
    assert.equal(businessesOf(dental!.config).length, 2);
    assert.ok(Object.isFrozen(coffee!.config.billing));
  });

  test('a business without prompt.file reads prompts/<id>.md beside the config, else the shipped prompt; default keeps system.md', async () => {
    const dir = await folderWith('businesses:\n  a: { twogis: { login: a } }\n  b: { twogis: { login: b } }\n  default: { twogis: { login: d } }\n  c: { prompt: { file: mine.md } }\n');
    await mkdir(path.join(dir, 'prompts'));
    await writeFile(path.join(dir, 'prompts', 'a.md'), 'A');
    await writeFile(path.join(dir, 'prompts', 'system.md'), 'S');
    const [a, b, d, c] = businessesOf(await load(dir));
    assert.equal(a!.config.prompt.file, path.join(dir, 'prompts', 'a.md'));
    assert.equal(b!.config.prompt.file, shippedFile('prompts/system.md'), 'never another business\'s prompt');
    assert.equal(d!.config.prompt.file, path.join(dir, 'prompts', 'system.md'));
    assert.equal(c!.config.prompt.file, path.join(dir, 'mine.md'));
  });

  test("a business's own keys at the top level are errors naming the key; deployment-wide keys in a business too", async () => {
    const dir = await folderWith(
      [
        'twogis: { login: owner, password: top-secret-pass, branches: ["1"] }',
        'prompt: { file: p.md }',
        'name: Агентство',
        'businesses:',
        '  a:',
        '    database: { url: "sqlite:/tmp/a.db" }',
        '    polling: { concurrency: 2 }',
        '    openai: { model: x }',
        '    telegram: { botToken: "1:x", chatIds: ["5"] }',
        '    twogis: { timeoutSeconds: 3, login: a }',
        '    colour: red',
        '    policy: { tonee: x }',
        '',
      ].join('\n'),
    );
    const problems = await problemsOf(load(dir));
    const own = (key: string) => `${key}: with businesses: listed, ${key} belongs to each business (businesses.<id>.${key}): one business's account, chats and prompt are never shared`;
    const wide = (key: string) => `businesses.a.${key}: is deployment-wide: set it at the top level, for every business`;
    assert.deepEqual([...problems].sort(), [
      'businesses.a.colour: unknown key',
      wide('database'),
      wide('openai'),
      'businesses.a.policy.tonee: unknown key (did you mean businesses.a.policy.tone?)',
      wide('polling'),
      wide('telegram.botToken'),
      wide('twogis.timeoutSeconds'),
      own('name'),
      own('prompt.file'),
      own('twogis.branches'),
      own('twogis.login'),
      own('twogis.password'),
    ].sort());
    assert.ok(problems.every((problem) => !problem.includes('top-secret-pass')));
  });

  test('bad ids, bad values of a business and empty lists, each one line at its path; an inherited bad value is reported once', async () => {
    const dir = await folderWith(
      [
        'billing: { lowBalance: "1.234" }',
        'businesses:',
        '  Coffee_OK: { name: x }',
        '  "": {}',
        '  a:',
        '    name: 5',
        '    enabled: "yes"',
        '    billing: { pricePerReply: "x" }',
        '    twogis: { branches: [70000001017466092] }',
        '  b: 7',
        '',
      ].join('\n'),
    );
    const problems = await problemsOf(load(dir));
    assert.deepEqual([...problems].sort(), [
      'billing.lowBalance: must be an amount like 5.00 (two decimal places at most)',
      'businesses.: a business id is 1 to 32 characters of a-z, 0-9 and - (it names the business for good: never reuse it for another account)',
      'businesses.Coffee_OK: a business id is 1 to 32 characters of a-z, 0-9 and - (it names the business for good: never reuse it for another account)',
      'businesses.a.billing.pricePerReply: must be an amount like 5.00 (two decimal places at most)',
      'businesses.a.enabled: must be true or false',
      'businesses.a.name: must be text',
      'businesses.a.twogis.branches.0: branch ids must be quoted strings: they exceed the precision of a number',
      'businesses.b: must be a section of settings (key: value lines)',
    ]);
    assert.deepEqual(await problemsOf(load(await folderWith('businesses: {}\n'))), [
      'businesses: must list at least one business (id: settings), or be left out for a single business',
    ]);
  });

  test('a chat, a branch or a 2GIS login listed for two businesses is an error, and so is a business chat that is a staff chat', async () => {
    const dir = await folderWith(
      [
        'telegram: { chatIds: ["-100"] }',
        'businesses:',
        '  a: { twogis: { branches: ["1", "2"] }, telegram: { chatIds: ["42", 43] } }',
        '  b: { twogis: { branches: ["2"] }, telegram: { chatIds: ["42"] } }',
        '  c: { telegram: { chatIds: ["-100"] }, twogis: { login: Owner@Zerno.kz } }',
        '  d: { twogis: { login: owner@zerno.kz } }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await problemsOf(load(dir)), [
      "businesses.b.telegram.chatIds: chat 42 is listed for business a too: a chat belongs to one business (the top-level telegram.chatIds get every business's cards)",
      'businesses.b.twogis.branches: branch 2 is listed for business a too: a branch belongs to one business',
      "businesses.c.telegram.chatIds: chat -100 is a staff chat (top-level telegram.chatIds), which gets every business's cards already",
      'businesses.d.twogis.login: the same 2GIS login as business c: a business is its own 2GIS account (one account\'s branches belong to one business)',
    ]);
  });

  test("each business's secrets from GISBOT_<ID>_2GIS_*, over the file; the unprefixed ones only without businesses:", async () => {
    const env = {
      GISBOT_DENTAL_7_2GIS_PASSWORD: 'dental-env-password',
      GISBOT_COFFEE_OK_2GIS_LOGIN: 'env-login@zerno.kz',
      GISBOT_2GIS_PASSWORD: 'unprefixed-password',
      GISBOT_2GIS_LOGIN: 'unprefixed-login',
      GISBOT_2GIS_API_URL: 'http://127.0.0.1:11/api/1.0',
    };
    const [coffee, dental] = businessesOf(await load(await folderWith(TWO), env));
    assert.equal(coffee!.config.twogis.login, 'env-login@zerno.kz');
    assert.equal(coffee!.config.twogis.password, 'zerno-secret-pass');
    assert.equal(dental!.config.twogis.login, 'admin@dent7.ru');
    assert.equal(dental!.config.twogis.password, 'dental-env-password');
    assert.equal(coffee!.config.twogis.apiUrl, 'http://127.0.0.1:11/api/1.0', 'the variable sets the top-level default it inherits');
    assert.equal(dental!.config.twogis.apiUrl, 'http://127.0.0.1:10/api/1.0', 'a business\'s own value beats the default');
    assert.deepEqual(dental!.variables, {
      'twogis.login': 'GISBOT_DENTAL_7_2GIS_LOGIN',
      'twogis.password': 'GISBOT_DENTAL_7_2GIS_PASSWORD',
      'twogis.accessToken': 'GISBOT_DENTAL_7_2GIS_TOKEN',
    });

    const single = await load(await folderWith('twogis: { login: file-login }\n'), env);
    assert.equal(single.twogis.password, 'unprefixed-password');
    assert.equal(single.twogis.login, 'unprefixed-login');

    const [empty] = businessesOf(await load(await folderWith('businesses:\n  a: { twogis: { login: file-login } }\n'), { GISBOT_A_2GIS_LOGIN: '' }));
    assert.equal(empty!.config.twogis.login, 'file-login', 'an empty variable is no value');
  });

  test("a business's 2GIS token from GISBOT_<ID>_2GIS_TOKEN, masked like a password; at the top level beside businesses: an error", async () => {
    const token = 'sentinel-token-of-business-t-0123456789';
    const config = await load(await folderWith('businesses:\n  t: { name: T }\n  u: { twogis: { login: u } }\n'), { GISBOT_T_2GIS_TOKEN: token, GISBOT_2GIS_TOKEN: 'unprefixed-token-ignored' });
    const [t, u] = businessesOf(config);
    assert.equal(t!.config.twogis.accessToken, token);
    assert.equal(u!.config.twogis.accessToken, undefined, 'never inherited, the unprefixed variable applies to none');
    assert.ok(configuredSecrets(u!.config).some((secret) => secret.key === 'businesses.t.twogis.accessToken' && secret.value === token));
    const problems = await problemsOf(load(await folderWith(`twogis: { accessToken: "${token}" }\nbusinesses:\n  a: {}\n`)));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^twogis\.accessToken: with businesses: listed, twogis\.accessToken belongs to each business/);
  });

  test("a business's missing login names its key and its variable", async () => {
    const config = await load(await folderWith('businesses:\n  dental-7: { name: Зубы }\n  b: {}\n'));
    const output = new Output({ json: true, quiet: true, debug: false, stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTTY: false });
    await assert.rejects(createContext(businessesOf(config)[0]!.config, output, { twogis: true }, { store: {} as never }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [
        'businesses.dental-7.twogis.login: required (set it in the config file or GISBOT_DENTAL_7_2GIS_LOGIN)',
        'businesses.dental-7.twogis.password: required (set it in the config file or GISBOT_DENTAL_7_2GIS_PASSWORD)',
      ]);
      return true;
    });
  });

  test("a file holding a business's password must be 0600; every business's secret is masked, whichever business is served", async () => {
    const readable = await folderWith(TWO, 0o644);
    const problems = await problemsOf(load(readable));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /holds secrets \(businesses\.coffee-ok\.twogis\.password\) but is readable by group or others/);

    const config = await load(await folderWith(TWO), { GISBOT_DENTAL_7_2GIS_PASSWORD: 'dental-env-password' });
    const [coffee, dental] = businessesOf(config);
    for (const served of [config, coffee!.config, dental!.config]) {
      const values = configuredSecrets(served).map((secret) => secret.value);
      assert.ok(values.includes('zerno-secret-pass') && values.includes('dental-env-password'), served.businessId ?? 'top');
    }
    assert.deepEqual(
      configuredSecrets(dental!.config).map((secret) => secret.key),
      ['twogis.password', 'businesses.coffee-ok.twogis.password'],
    );
    const output = new Output({ json: true, quiet: true, debug: false, stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTTY: false });
    const logger = { event() {}, info() {}, warn() {}, error() {}, flush: async () => {} };
    const ctx = await createContext(dental!.config, output, {}, { store: {} as never, logger });
    assert.equal(ctx.redact('zerno-secret-pass and dental-env-password'), '*** and ***');
  });
});

describe('--business: which businesses a command works on', () => {
  const business = (id: string, enabled = true) => ({ id, enabled }) as Business;
  const three = [business('a'), business('b', false), business('c')];
  const single = [business('default')];
  const ids = (list: readonly Business[]) => list.map((one) => one.id);
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.exitCode, 2);
      assert.equal(error.hint, undefined, 'one line');
      return error.message;
    }
    assert.fail('expected a UsageError');
  };

  test('a command about one business needs --business when the config has several; with one it needs none', () => {
    assert.equal(refusal(() => selectBusinesses(three, undefined, 'one')), 'this command is about one business: add --business <id>, one of a, b, c');
    assert.deepEqual(ids(selectBusinesses(single, undefined, 'one')), ['default']);
    assert.deepEqual(ids(selectBusinesses(single, 'default', 'one')), ['default']);
    assert.deepEqual(ids(selectBusinesses(three, 'b', 'one')), ['b'], 'a paused business keeps its commands');
  });

  test('run and poll-once serve every enabled business or the one named; doctor and logs every business', () => {
    assert.deepEqual(ids(selectBusinesses(three, undefined, 'serve')), ['a', 'c']);
    assert.deepEqual(ids(selectBusinesses(three, 'c', 'serve')), ['c']);
    assert.equal(refusal(() => selectBusinesses(three, 'b', 'serve')), 'business b is paused (enabled: false): set enabled: true in its section to serve it');
    assert.equal(refusal(() => selectBusinesses([business('b', false)], undefined, 'serve')), 'every business is paused (enabled: false): b');
    assert.deepEqual(ids(selectBusinesses(three, undefined, 'all')), ['a', 'b', 'c']);
    assert.deepEqual(ids(selectBusinesses(three, 'b', 'all')), ['b']);
  });

  test('an unknown id is one line listing the ids, whatever the command', () => {
    for (const scope of ['one', 'serve', 'all'] as const) {
      assert.equal(refusal(() => selectBusinesses(three, 'zerno', scope)), 'there is no business "zerno" in the config: --business takes one of a, b, c');
    }
  });
});

describe('init adding a business to the file', () => {
  test('to a single-business config: its own keys and words move under businesses.default, the shared rules stay', async () => {
    const { withBusiness, configText } = await import('../../src/config/add-business.ts');
    const raw = {
      twogis: { apiUrl: 'http://127.0.0.1:9/api/1.0', login: 'a', password: 'pass-a', branches: ['70000001017466095'] },
      prompt: { file: 'prompts/coffee.md' },
      policy: { approvalBelowRating: 2, signature: '— Кофейня', branches: { '70000001017466095': { tone: 'x' } } },
      telegram: { chatIds: ['42'], botToken: '1:abc' },
    };
    const { raw: next, moved } = withBusiness(raw, { id: 'dental-7', name: 'Зубы', twogis: { login: 'b' } });
    assert.equal(moved, true);
    assert.deepEqual(next, {
      twogis: { apiUrl: 'http://127.0.0.1:9/api/1.0' },
      policy: { approvalBelowRating: 2 },
      telegram: { botToken: '1:abc' },
      businesses: {
        default: {
          twogis: { login: 'a', password: 'pass-a', branches: ['70000001017466095'] },
          prompt: { file: 'prompts/coffee.md' },
          telegram: { chatIds: ['42'] },
          policy: { signature: '— Кофейня', branches: { '70000001017466095': { tone: 'x' } } },
        },
        'dental-7': { name: 'Зубы', twogis: { login: 'b' } },
      },
    });
    assert.equal(raw.twogis.login, 'a', 'the input is left as it was');
    const again = withBusiness(next, { id: 'c', name: 'C', twogis: { login: 'c', password: 'pass-c' } });
    assert.equal(again.moved, false);
    assert.deepEqual(Object.keys(again.raw.businesses as object), ['default', 'dental-7', 'c']);

    // Written back and read as gisbot reads it: the branch ids stay quoted strings, the config loads.
    const text = configText(next, '.gisbotrc', 'written by a test');
    assert.match(text, /^# written by a test\n/);
    assert.match(text, /"70000001017466095":/);
    const dir = await folderWith(text);
    const config = await load(dir);
    assert.deepEqual(businessesOf(config).map((business) => business.id), ['default', 'dental-7']);
    assert.equal(businessesOf(config)[0]!.config.policy.branches['70000001017466095']?.tone, 'x');
  });
});
