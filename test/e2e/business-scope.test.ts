// Many businesses, one database (issue 19), through the real binary: whose database it is. Two installations
// set up in two folders with `init`'s defaults share the default database file; the second, signed in to another
// 2GIS account, is refused in one line before it shows or writes anything of the first's.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess } from '../support/run-process.ts';
import { BIN, SECRETS, World } from '../support/world.ts';

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
    assert.deepEqual(JSON.parse(again.stdout), { balance: '353.50', held: '0.00' });
  });
});

function withoutKeys(env: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !keys.includes(key)));
}
