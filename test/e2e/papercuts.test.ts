// The small things an operator meets in a pipe, through the real binary on the embedded SQLite file: usage errors
// that touch nothing, private files, readers that stop early, --quiet, every event type, the top-up ceiling, the
// approval queue's width, `reply --send`'s one line and delivered event, balance.low once, the helps.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadSqlite } from '../../src/adapters/store/sqlite.ts';
import { checkSqliteInvariants, querySqlite } from '../support/sqlite.ts';
import { BIN, eventually, World, type RunResult } from '../support/world.ts';

describe('operator papercuts in a pipe', () => {
  let world: World;
  const BRANCH = '70000001017466071';
  const run = (...args: string[]) => world.run(args);

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня у фонтана', orgId: '100' });
    await mkdir(path.join(world.dir, 'prompts'));
    await writeFile(path.join(world.dir, 'prompts', 'system.md'), 'Ты отвечаешь на отзывы о кофейне.\n'.repeat(2000));
  });
  after(async () => {
    await world.close();
  });

  test('a usage error is refused before the database is opened: no file, no folder', async () => {
    const folder = path.join(world.dir, 'never');
    const env = { GISBOT_DATABASE_URL: `sqlite:${path.join(folder, 'gisbot.db')}`, GISBOT_LOG_FILE: path.join(folder, 'gisbot.log') };
    const mistakes = [
      ['prompt', 'rollback', 'abc'],
      ['prompt', 'show', '--version', 'x'],
      ['balance', 'add', '5'], // no terminal to confirm on and no --yes
      ['balance', 'add', 'abc', '--yes'],
      ['balance', 'history', '--since', 'yesterday'],
      ['logs', '--type', 'review.eaten'],
      ['reply', '--limit', 'many'],
    ];
    for (const args of mistakes) {
      const result = await world.run(args, { env });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^error: /m);
      await assert.rejects(stat(folder), `${args.join(' ')} created ${folder}`);
    }
  });

  test('gisbot creates its data folder 0700 and the database and log 0600', async () => {
    const env = { GISBOT_DATABASE_URL: '', GISBOT_LOG_FILE: '' };
    const added = await world.run(['balance', 'add', '10', '--yes'], { env });
    assert.equal(added.code, 0, added.stderr);
    const folder = path.join(world.dir, 'data', 'gisbot');
    const mode = async (file: string) => (await stat(file)).mode & 0o777;
    assert.equal(await mode(folder), 0o700, 'the data folder');
    assert.equal(await mode(path.join(folder, 'gisbot.db')), 0o600, 'the database');
    for (const file of await readdir(folder)) assert.equal(await mode(path.join(folder, file)), 0o600, file);
    await checkSqliteInvariants(path.join(folder, 'gisbot.db'), 0, 500n);
  });

  test('a reader that stops early (| head -1) ends the command quietly with exit 0', async () => {
    world.twogis.addReview(BRANCH, { id: '710001', rating: 5, text: 'Отличный кофе' });
    assert.equal((await run('balance', 'add', '50', '--yes')).code, 0);
    assert.equal(JSON.parse((await run('poll-once', '--json')).stdout).balance, '45.00');
    for (const args of [['logs', '--json'], ['balance', 'history'], ['prompt', 'show']]) {
      const result = await runIntoClosedPipe(world, args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /EPIPE|\n\s+at /, `${args.join(' ')}: no stack trace`);
    }
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('--quiet prints only errors: no warning, but the error and its hint', async () => {
    const low = await run('balance', '--quiet');
    assert.equal(low.code, 0);
    assert.match(low.stdout, /balance 45\.00/);
    const loud = await run('balance');
    assert.match(loud.stderr, /below 50\.00/, 'without --quiet the warning shows');
    assert.equal(low.stderr, '', 'with --quiet it does not');
    const wrong = await run('balance', 'add', 'abc', '--yes', '--quiet');
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^error: not an amount/m);
    assert.match(wrong.stderr, /^hint: write it like 100/m);
  });

  test('logs --type takes every documented event type', async () => {
    for (const type of ['review.edited', 'followup.new', 'followup.posted', 'reply.posted', 'balance.low']) {
      const result = await run('logs', '--type', type, '--json');
      assert.equal(result.code, 0, `${type}: ${result.stderr}`);
      for (const line of result.stdout.split('\n').filter(Boolean)) assert.equal(JSON.parse(line).type, type);
    }
  });

  test('a top-up past what the database holds is refused in one clear line, and adds nothing', async () => {
    const before = JSON.parse((await run('balance', '--json')).stdout).balance;
    const result = await run('balance', 'add', '999999999999.99', '--yes');
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: a top-up of 999999999999\.99 would take the balance past 999999999999\.99, the most the database holds/m);
    assert.doesNotMatch(result.stderr, /CHECK|constraint|SQLite|unexpected/i);
    assert.equal(JSON.parse((await run('balance', '--json')).stdout).balance, before);
  });

  test('reply: the waiting table fits the width however long the reason', async () => {
    world.twogis.addReview(BRANCH, { id: '710002', rating: 2, text: 'Кофе остыл' });
    assert.equal((await run('poll-once')).code, 0);
    await world.query("UPDATE reviews SET reason = ? WHERE id = '710002'", [`the reply gate refused it: ${'очень длинная причина '.repeat(25)}`]);
    const result = await run('reply');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /710002/);
    for (const line of result.stdout.split('\n')) assert.ok([...stripVTControlCharacters(line)].length <= 120, `too wide: ${line}`);
  });

  test('reply --send: its success line once, and its event delivered before it exits', async () => {
    const result = await run('reply', '710002', '--send');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.split('\n').filter((line) => line.includes('answered review 710002')).length, 1, result.stderr);
    const frames = world.receiver.frames.filter((frame) => frame.event.reviewId === '710002' && frame.event.type === 'reply.posted');
    assert.equal(frames.length, 1, 'the receiver had the event when reply exited');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('balance.low is sent once per downward crossing of billing.lowBalance, not after every charge', async () => {
    // 45.00 since the first answer (which crossed 50.00) and 40.00 since reply --send; three answers go lower still,
    // a top-up lifts the balance over the line again and two answers cross it a second time.
    for (const id of ['710010', '710011', '710012']) world.twogis.addReview(BRANCH, { id, rating: 5, text: 'Очень вкусно' });
    assert.equal(JSON.parse((await run('poll-once', '--json')).stdout).balance, '25.00');
    assert.equal((await run('balance', 'add', '30', '--yes')).code, 0);
    for (const id of ['710013', '710014']) world.twogis.addReview(BRANCH, { id, rating: 5, text: 'Очень вкусно' });
    assert.equal(JSON.parse((await run('poll-once', '--json')).stdout).balance, '45.00');
    const lows = (await run('logs', '--type', 'balance.low', '--json')).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(lows.map((event) => event.data.balance), ['45.00', '45.00'], 'one event per crossing');
    await eventually(() => world.receiver.frames.filter((frame) => frame.event.type === 'balance.low').length === 2, 'two frames');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('an SQLite file of another application is refused, and gets none of gisbot\'s tables', async () => {
    const file = path.join(world.dir, 'shop.db');
    const { DatabaseSync } = await loadSqlite();
    const shop = new DatabaseSync(file);
    shop.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE orders (id INTEGER PRIMARY KEY)');
    shop.close();
    const result = await world.run(['balance', '--json'], { env: { GISBOT_DATABASE_URL: `sqlite:${file}` } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: database\.url: .*shop\.db holds other tables \(customers, orders\) and no gisbot schema/m);
    assert.equal(result.stdout, '');
    const tables = await querySqlite(file, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    assert.deepEqual(tables.map((row) => row.name), ['customers', 'orders']);
  });

  test('helps: the global flags under every command, an example at the top, balance help', async () => {
    const top = await run('--help');
    assert.match(top.stdout, /Examples?:\n\s+\$ gisbot /);
    const commands = [['run'], ['poll-once'], ['balance'], ['balance', 'add'], ['balance', 'history'], ['reply'], ['prompt', 'show'], ['prompt', 'edit'], ['logs'], ['init'], ['demo'], ['doctor']];
    for (const command of commands) {
      const help = await run(...command, '--help');
      assert.equal(help.code, 0, command.join(' '));
      // Each lists the global flags it takes: the demo reads no config, init answers no --json.
      const flags = command[0] === 'demo' ? ['--json', '--quiet', '--debug'] : command[0] === 'init' ? ['--config <file>', '--quiet', '--debug'] : ['--config <file>', '--json', '--quiet', '--debug'];
      for (const flag of flags) assert.ok(help.stdout.includes(flag), `${command.join(' ')} --help lists ${flag}`);
    }
    for (const [args, usage] of [[['balance', 'help'], 'gisbot balance'], [['balance', 'help', 'add'], 'gisbot balance add']] as const) {
      const help = await run(...args);
      assert.equal(help.code, 0, `${args.join(' ')}: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: ${usage} `, 'm'));
    }
  });
});

/** Runs the binary with its stdout already closed by the reader, as `| head -1` does once it has its line. */
function runIntoClosedPipe(world: World, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: world.dir, env: world.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: '', stderr });
    });
  });
}
