// Many businesses, one database (issue 19), through the real binary: whose database it is. Two installations
// set up in two folders with `init`'s defaults share the default database file; the second, signed in to another
// 2GIS account, is refused in one line before it shows or writes anything of the first's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess } from '../support/run-process.ts';
import { checkMoneyInvariants } from '../support/mysql.ts';
import { checkSqliteInvariants } from '../support/sqlite.ts';
import { BIN, eventually, SECRETS, World } from '../support/world.ts';

describe('a database knows whose it is (issue 19)', () => {
  let world: World;
  const other = { login: 'dental@example.kz', password: 'sentinel-other-password-5e1d' };
  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: '70000001017466091', name: 'Кофейня', orgId: '100' });
    world.twogis.addAccount(other);
    world.twogis.addOrg({ id: '200', name: 'Стоматология', login: other.login });
    world.twogis.addBranch({ id: '70000001017466099', name: 'Стоматология №7', orgId: '200' });
  });
  after(async () => {
    await world.close();
  });

  test('two folders on the default database: B, another 2GIS account, is refused in one line and A keeps everything', async () => {
    // Folder A and folder B: each its own config (as `init` writes it: no database.url, the default path), one user.
    const folderA = path.join(world.dir, 'coffee');
    const folderB = path.join(world.dir, 'dental');
    const config = (login: string, password: string) => `twogis:\n  login: ${JSON.stringify(login)}\n  password: ${JSON.stringify(password)}\n`;
    for (const [folder, login, password] of [[folderA, world.login, SECRETS.password], [folderB, other.login, other.password]] as const) {
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, '.gisbotrc'), config(login, password), { mode: 0o600 });
    }
    // The default database path: no GISBOT_DATABASE_URL; each folder's own login from its file.
    const env = withoutKeys(world.env(), ['GISBOT_DATABASE_URL', 'GISBOT_2GIS_LOGIN', 'GISBOT_2GIS_PASSWORD']);
    const inFolder = (folder: string, args: string[]) => runProcess(process.execPath, [BIN, ...args], { cwd: folder, env });
    world.twogis.addReview('70000001017466091', { id: 'a-1', rating: 5, text: 'Отличный кофе' });
    world.twogis.addReview('70000001017466091', { id: 'a-2', rating: 1, text: 'Холодный кофе, Иван Петров, +7 701 000 00 00' });
    world.twogis.addReview('70000001017466099', { id: 'b-1', rating: 5, text: 'Спасибо доктору' });

    const topUp = await inFolder(folderA, ['balance', 'add', '358.50', '--yes', '--json']);
    assert.equal(topUp.code, 0, topUp.stderr);
    const first = await inFolder(folderA, ['poll-once', '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).posted, 1);
    const database = path.join(world.dir, 'data', 'gisbot', 'gisbot.db');
    const { querySqlite } = await import('../support/sqlite.ts');
    const dump = async () => {
      const tables = ['reviews', 'ledger', 'business_accounts', 'events', 'businesses'];
      return Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await querySqlite(database, `SELECT * FROM ${table} ORDER BY 1, 2`)])));
    };
    const before = await dump();
    assert.equal(before.businesses.length, 1, 'business default is bound to the coffee account');

    for (const args of [['balance'], ['reply'], ['stats'], ['poll-once', '--json'], ['balance', 'add', '10', '--yes']]) {
      const refused = await inFolder(folderB, args);
      assert.equal(refused.code, 2, `${args.join(' ')}: ${refused.stderr}`);
      const lines = refused.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: one line, not ${refused.stderr}`);
      for (const part of ['default', world.login, other.login, 'database.url', 'businesses:']) assert.ok(lines[0]!.includes(part), `${args.join(' ')}: ${lines[0]} names ${part}`);
      assert.equal(refused.stdout, '', `${args.join(' ')}: nothing of A's shown`);
      assert.ok(!refused.stderr.includes('358'), "A's balance is not shown");
    }
    assert.deepEqual(await dump(), before, "A's rows, balance, ledger and events are untouched");
    assert.equal(world.twogis.postsTo('b-1'), 0, "B's review was not answered, from A's money or at all");

    const again = await inFolder(folderA, ['balance', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { balance: '353.50', held: '0.00', currency: 'RUB' });
  });
});

function withoutKeys(env: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !keys.includes(key)));
}

// Three businesses on one database, each its own 2GIS account and balance (100.00, 12.00, 0), two poll-once
// workers racing over all of them: each charged 5.00 for each of its own answers only, the one at 12.00 answers
// two and waits, the one at 0 answers none and says so with its businessId, and no review is answered with
// another's account.
for (const backend of ['sqlite', 'mysql'] as const) {
  describe(`three businesses, one database, racing workers (${backend})`, () => {
    let world: World;
    const accounts = {
      rich: { login: 'rich@example.kz', password: 'sentinel-rich-password-1a2b', balance: '100', org: '301' },
      poor: { login: 'poor@example.kz', password: 'sentinel-poor-password-3c4d', balance: '12', org: '302' },
      empty: { login: 'empty@example.kz', password: 'sentinel-empty-password-5e6f', balance: null, org: '303' },
    } as const;
    const ids = Object.keys(accounts) as Array<keyof typeof accounts>;
    const reviewsOf: Record<string, string[]> = {};
    let env: Record<string, string>;
    let configFile: string;
    before(async () => {
      world = await World.start({ database: backend });
      for (const [index, id] of ids.entries()) {
        const account = accounts[id];
        world.twogis.addAccount({ login: account.login, password: account.password });
        world.twogis.addOrg({ id: account.org, name: id, login: account.login });
        const branch = `7000000101746610${index}`;
        world.twogis.addBranch({ id: branch, name: `Филиал ${id}`, orgId: account.org });
        reviewsOf[id] = [1, 2, 3, 4].map((n) => world.twogis.addReview(branch, { id: `${id}-${n}`, rating: 5, text: `Спасибо, ${id} ${n}` }).id);
      }
      configFile = path.join(world.dir, 'agency.yaml');
      const lines = ['billing: { pricePerReply: "5.00" }', 'polling: { concurrency: 3 }', 'businesses:'];
      for (const id of ids) lines.push(`  ${id}:`, `    name: "${id}"`, `    twogis: { login: "${accounts[id].login}" }`);
      await writeFile(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
      env = withoutKeys(world.env(), ['GISBOT_2GIS_LOGIN', 'GISBOT_2GIS_PASSWORD']);
      for (const id of ids) env[`GISBOT_${id.toUpperCase()}_2GIS_PASSWORD`] = accounts[id].password;
    });
    after(async () => {
      await world.close();
    });

    test('each is charged 5.00 per answer of its own; 12.00 answers two and waits; 0 answers none, with its businessId', async () => {
      const gisbot = (args: string[]) => runProcess(process.execPath, [BIN, '--config', configFile, ...args], { cwd: world.dir, env });
      for (const id of ids) {
        const amount = accounts[id].balance;
        if (amount === null) continue;
        const topUp = await gisbot(['balance', 'add', amount, '--yes', '--business', id]);
        assert.equal(topUp.code, 0, topUp.stderr);
      }
      const runs = await Promise.all([gisbot(['poll-once', '--json']), gisbot(['poll-once', '--json'])]);
      const posted: Record<string, number> = { rich: 0, poor: 0, empty: 0 };
      for (const run of runs) {
        assert.equal(run.code, 3, `a business stopped for lack of balance and none failed: ${run.stderr}`);
        const summary = JSON.parse(run.stdout);
        assert.equal(summary.balance, undefined, 'with several businesses the balance is given per business');
        assert.deepEqual(summary.businesses.map((one: { id: string }) => one.id), ids);
        for (const one of summary.businesses) posted[one.id] += one.posted;
        assert.equal(summary.businesses.find((one: { id: string }) => one.id === 'empty').status, 'no_balance');
      }
      assert.deepEqual(posted, { rich: 4, poor: 2, empty: 0 });
      for (const id of ids) {
        for (const review of reviewsOf[id]!) {
          const by = world.twogis.postedBy(review);
          assert.ok(by === null || by === accounts[id].login, `${review} was answered by ${by}`);
        }
      }
      assert.deepEqual(world.twogis.foreignPosts, [], "no answer was sent with another business's token");
      const answered = (id: string) => reviewsOf[id]!.filter((review) => world.twogis.answerOf(review)?.byUs).length;
      assert.deepEqual(ids.map(answered), [4, 2, 0]);
      for (const id of ids) {
        if (backend === 'sqlite') await checkSqliteInvariants(world.sqliteFile, answered(id), 500n, id);
        else await checkMoneyInvariants(world.db.url, answered(id), 500n, id);
      }
      const balances = await world.query('SELECT business_id, balance FROM business_accounts WHERE business_id <> ? ORDER BY business_id', ['default']);
      assert.deepEqual(balances.map((row) => [row.business_id, String(row.balance)]), backend === 'sqlite' ? [['poor', '200'], ['rich', '8000']] : [['poor', '2.00'], ['rich', '80.00']]);
      const insufficient = await world.query("SELECT DISTINCT business_id FROM events WHERE type = 'balance.insufficient' ORDER BY business_id");
      assert.deepEqual(insufficient.map((row) => row.business_id), ['empty', 'poor']);
      const frames = world.receiver.frames.filter((frame) => frame.event.type === 'balance.insufficient').map((frame) => frame.event.businessId);
      assert.ok(frames.includes('empty'), `the WebSocket frame names the business: ${JSON.stringify(frames)}`);
      const logged = (await world.logLines()).filter((line) => line.type === 'reply.posted').map((line) => line.businessId);
      assert.deepEqual(new Set(logged), new Set(['rich', 'poor']), 'every log line of an answer names its business');

      // Isolation through the commands: one business's review, money and counts are not another's.
      const before = await world.query('SELECT business_id, id, state FROM reviews ORDER BY business_id, id');
      const waitingOfPoor = reviewsOf.poor!.find((review) => world.twogis.answerOf(review) === null)!;
      const foreign = await gisbot(['reply', waitingOfPoor, '--business', 'rich', '--send']);
      assert.equal(foreign.code, 2, foreign.stderr);
      assert.match(foreign.stderr, new RegExp(`review ${waitingOfPoor} is not known`));
      assert.deepEqual(await world.query('SELECT business_id, id, state FROM reviews ORDER BY business_id, id'), before, 'nothing changed');
      assert.equal(world.twogis.postsTo(waitingOfPoor), 0);
      const balance = await gisbot(['balance', '--json', '--business', 'poor']);
      assert.deepEqual(JSON.parse(balance.stdout), { balance: '2.00', held: '0.00', currency: 'RUB' });
      const refusedWithoutOne = await gisbot(['balance']);
      assert.equal(refusedWithoutOne.code, 2, 'a command about one business needs --business when there are several');
      const stats = await gisbot(['stats', '--json', '--business', 'rich']);
      assert.equal(stats.code, 0, stats.stderr);
      assert.deepEqual([JSON.parse(stats.stdout).total.reviews, JSON.parse(stats.stdout).total.answered], [4, 4], "rich's stats count rich's reviews only");

      const listed = await gisbot(['businesses', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      assert.deepEqual(
        rows.map(({ lastCycleAt, ...row }) => ({ ...row, ran: typeof lastCycleAt === 'string' })),
        [
          { id: 'rich', name: 'rich', enabled: true, status: 'ok', balance: '80.00', held: '0.00', currency: 'RUB', branches: 1, waiting: 0, answered30d: 4, ran: true },
          { id: 'poor', name: 'poor', enabled: true, status: 'no_balance', balance: '2.00', held: '0.00', currency: 'RUB', branches: 1, waiting: 0, answered30d: 2, ran: true },
          { id: 'empty', name: 'empty', enabled: true, status: 'no_balance', balance: '0.00', held: '0.00', currency: 'RUB', branches: 1, waiting: 0, answered30d: 0, ran: true },
        ],
      );

      // `run` serves them all too: topped up, the one that waited is answered by the next cycle; SIGTERM exits 0.
      if (backend === 'sqlite') {
        const topUp = await gisbot(['balance', 'add', '10', '--yes', '--business', 'poor']);
        assert.equal(topUp.code, 0, topUp.stderr);
        const running = spawn(process.execPath, [BIN, '--config', configFile, 'run'], { cwd: world.dir, env });
        let stderr = '';
        running.stderr.on('data', (chunk) => (stderr += chunk));
        const exited = new Promise<number | null>((resolve) => running.on('close', resolve));
        await eventually(() => reviewsOf.poor!.every((review) => world.twogis.answerOf(review)?.byUs), 'run answers the waiting reviews', 60_000);
        running.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
        assert.match(stderr, /poor: 2 answered/);
        assert.deepEqual(world.twogis.foreignPosts, []);
        await checkSqliteInvariants(world.sqliteFile, 4, 500n, 'poor');
      }
    });
  });
}
