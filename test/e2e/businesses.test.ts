// Many businesses in one config, through the real binary: `init` adds a business to a single-business config
// (moving the first under businesses.default), and a command about one business refuses in one line without
// --business once there are several.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { businessesOf } from '../../src/config/businesses.ts';
import { loadConfig } from '../../src/config/load.ts';
import { KEYS, Pty } from '../support/pty.ts';
import { SECRETS, World } from '../support/world.ts';

describe('businesses: init adds one, commands about one need --business', () => {
  let world: World;
  const DENTAL = { login: 'admin@dent7.ru', password: 'dent7-sandbox-password' };
  const file = () => path.join(world.dir, '.gisbotrc');
  const single = () =>
    [
      'twogis:',
      `  login: "${world.login}"`,
      `  password: "${SECRETS.password}"`,
      '  branches: ["70000001017466095"]',
      `database: { url: "${world.db.url}" }`,
      'policy: { approvalBelowRating: 2, signature: "— команда Кофейни" }',
      'telegram: { chatIds: ["42"] }',
      '',
    ].join('\n');

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addAccount(DENTAL);
    // doctor proves each watched branch is the account's: the one the config names exists.
    world.twogis.addBranch({ id: '70000001017466095', name: 'Кофейня', orgId: '100' });
    await writeFile(file(), single(), { mode: 0o600 });
  });
  after(async () => {
    await world.close();
  });

  test('init adds a business: id, name, a login checked against 2GIS, the first business moved under businesses.default', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: world.dir, XDG_DATA_HOME: path.join(world.dir, 'data'), GISBOT_2GIS_API_URL: world.twogis.url, GISBOT_2GIS_PASSWORD: SECRETS.password };
    const wizard = new Pty(['init'], { cwd: world.dir, env });
    await wizard.expect('What now?');
    await wizard.type('1', KEYS.enter);
    await wizard.expect('becomes businesses.default');
    await wizard.expect('Business id');
    await wizard.type('dental-7', KEYS.enter);
    await wizard.expect('Business name');
    await wizard.type('Стоматология №7', KEYS.enter);
    await wizard.expect('2GIS cabinet login');
    await wizard.type(world.login, KEYS.enter);
    await wizard.expect('business default uses this 2GIS login already');
    await wizard.type('\x7f'.repeat(world.login.length), DENTAL.login, KEYS.enter);
    await wizard.expect('2GIS cabinet password');
    await wizard.type(DENTAL.password, KEYS.enter);
    await wizard.expect('✓ 2GIS');
    // Its own language: what its owner reads (cards, digest, report), set in the file for cron, which has no locale.
    await wizard.expect('Language gisbot writes to');
    await wizard.type('ru', KEYS.enter);
    const done = await wizard.done;
    assert.equal(done.code, 0, done.text);
    assert.match(done.text, /added business dental-7/);
    assert.match(done.text, /GISBOT_2GIS_PASSWORD no longer applies now that the config lists businesses: set GISBOT_DEFAULT_2GIS_PASSWORD instead/);
    assert.match(done.text, /balance add <amount> --business dental-7/);
    assert.ok(!done.raw.includes(DENTAL.password), 'the password never reached the terminal');

    assert.equal((await stat(file())).mode & 0o777, 0o600);
    assert.equal(await readFile(`${file()}.bak`, 'utf8'), single(), 'the previous file is kept');
    const config = await loadConfig({ cwd: world.dir, env: {}, dataDir: path.join(world.dir, 'data') });
    const [first, dental] = businessesOf(config);
    assert.deepEqual([first!.id, dental!.id, dental!.name], ['default', 'dental-7', 'Стоматология №7']);
    assert.deepEqual([first!.config.twogis.login, first!.config.twogis.password, first!.config.twogis.branches], [world.login, SECRETS.password, ['70000001017466095']]);
    assert.deepEqual(first!.config.telegram.chatIds, ['42']);
    assert.equal(first!.config.policy.signature, '— команда Кофейни');
    assert.deepEqual([dental!.config.twogis.login, dental!.config.twogis.password, dental!.config.twogis.branches], [DENTAL.login, DENTAL.password, undefined]);
    assert.equal(dental!.config.policy.signature, undefined, "the first business's signature stays its own");
    assert.equal(dental!.config.policy.approvalBelowRating, 2, 'the rules stay shared defaults');
    assert.deepEqual(dental!.config.telegram.chatIds, []);
    assert.equal(config.database.url, world.db.url);
    assert.deepEqual([first!.config.ui.language, dental!.config.ui.language], [undefined, 'ru'], 'the language is the new business\'s own');
  });

  test('a command about one business refuses in one line listing the ids; --business picks one; every help names it', async () => {
    const refused = await world.run(['balance']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stdout, '');
    assert.equal(refused.stderr, 'error: this command is about one business: add --business <id>, one of default, dental-7\n');

    const unknown = await world.run(['stats', '--business', 'zerno']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'error: there is no business "zerno" in the config: --business takes one of default, dental-7\n');

    const picked = await world.run(['balance', '--business', 'dental-7', '--json']);
    assert.equal(picked.code, 0, picked.stderr);
    assert.equal(JSON.parse(picked.stdout).balance, '0.00');

    const help = await world.run(['reply', '--help']);
    assert.match(help.stdout, /--business <id>/);
    // Help lists only the flags a command takes: the demo reads no config and serves no business of yours; init asks.
    const [demoHelp, initHelp] = await Promise.all([world.run(['demo', '--help']), world.run(['init', '--help'])]);
    assert.doesNotMatch(demoHelp.stdout, /--config|--business/);
    assert.match(demoHelp.stdout, /--json/);
    assert.doesNotMatch(initHelp.stdout, /--json|--business/);
    assert.match(initHelp.stdout, /--config <file>/);

    // doctor serves every business: each one's own 2GIS account is signed in to, on a line naming it.
    const doctor = await world.run(['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout).checks as Array<{ name: string; ok: boolean; detail: string }>;
    const signIns = checks.filter((check) => check.name.startsWith('2GIS'));
    assert.deepEqual(signIns.map((check) => [check.name, check.ok]), [['2GIS default', true], ['2GIS dental-7', true]], doctor.stderr);
    assert.match(signIns[1]!.detail, /admin@dent7\.ru/);
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
  });
});
