// The operator's interactive flows on a real pseudo-terminal: balance add's confirmation, reply's send / edit /
// regenerate / skip, prompt edit in $VISUAL, the init wizard; Ctrl-C at a prompt exits 130 and changes nothing.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { parseMysqlUrl } from '../../src/adapters/store/mysql.ts';
import { KEYS, Pty } from '../support/pty.ts';
import { SECRETS, World } from '../support/world.ts';

async function query<T extends RowDataPacket>(url: string, sql: string): Promise<T[]> {
  const connection = await createConnection({ ...parseMysqlUrl(url), timezone: 'Z' });
  try {
    return (await connection.query<T[]>(sql))[0];
  } finally {
    await connection.end();
  }
}

describe('interactive commands on a terminal', () => {
  let world: World;
  let editor: string;
  const BRANCH = '70000001017466095';
  const pty = (args: string[], env: Record<string, string> = {}) => new Pty(args, { cwd: world.dir, env: world.env({ VISUAL: editor, ...env }) });
  /** The editor writes this file's text over the one it is given. */
  const editWith = async (text: string) => {
    const file = path.join(world.dir, `edit-${Math.random().toString(36).slice(2)}.txt`);
    await writeFile(file, text);
    return { EDIT_SOURCE: file };
  };
  const ledgerCount = async () => Number((await query(world.db.url, 'SELECT COUNT(*) AS n FROM ledger'))[0]!.n);

  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня на Тверской', orgId: '100' });
    await mkdir(path.join(world.dir, 'prompts'));
    await writeFile(path.join(world.dir, 'prompts', 'system.md'), 'Ты отвечаешь на отзывы о кофейне. Коротко и тепло.\n');
    editor = path.join(world.dir, 'edit.sh');
    await writeFile(editor, '#!/bin/sh\ncp "$EDIT_SOURCE" "$1"\n');
    await chmod(editor, 0o755);
  });
  after(async () => {
    await world.close();
  });

  test('balance add asks first: yes tops up, no and Ctrl-C write nothing', async () => {
    const yes = pty(['balance', 'add', '100']);
    await yes.expect('Add 100.00 RUB to the balance (it becomes 100.00 RUB)?');
    await yes.type('y', KEYS.enter);
    const added = await yes.done;
    assert.equal(added.code, 0, added.text);
    assert.match(added.text, /balance 100\.00/);
    assert.match(added.raw, /\x1b\[/, 'colours on a terminal');
    assert.equal(await ledgerCount(), 1);

    const no = pty(['balance', 'add', '50']);
    await no.expect('Add 50.00');
    await no.type('n', KEYS.enter);
    const declined = await no.done;
    assert.equal(declined.code, 0, 'declining is no usage error');
    assert.match(declined.text, /cancelled: nothing changed/);

    const interrupted = pty(['balance', 'add', '50']);
    await interrupted.expect('Add 50.00');
    await interrupted.type(KEYS.ctrlC);
    const stopped = await interrupted.done;
    assert.equal(stopped.code, 130, stopped.text);
    assert.doesNotMatch(stopped.text, /error:|\n\s+at /, 'Ctrl-C is quiet');
    assert.equal(await ledgerCount(), 1);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('reply: Ctrl-C and skip leave the review waiting; regenerate, edit, then send posts the edit once', async () => {
    world.twogis.addReview(BRANCH, { id: '880001', rating: 2, text: 'Кофе остыл, пока несли' });
    const polled = await world.run(['poll-once', '--json']);
    assert.equal(JSON.parse(polled.stdout).awaitingApproval, 1, polled.stderr);
    const prompts: string[] = [];
    const respond = world.model.responder;
    world.model.responder = (request) => {
      prompts.push(request.messages.map((message) => message.content).join('\n'));
      return respond(request);
    };
    const state = async () => (await query(world.db.url, "SELECT state FROM reviews WHERE id = '880001'"))[0]!.state;

    const interrupted = pty(['reply', '880001']);
    await interrupted.expect('What now?');
    assert.match(interrupted.text, /review 880001[\s\S]*Кофе остыл[\s\S]*draft[\s\S]*the gate lets it through/);
    await interrupted.type(KEYS.ctrlC);
    assert.equal((await interrupted.done).code, 130);

    const skipping = pty(['reply', '880001']);
    await skipping.expect('What now?');
    await skipping.type('4', KEYS.enter);
    const skipped = await skipping.done;
    assert.equal(skipped.code, 0, skipped.text);
    assert.match(skipped.text, /still waits for you/);
    assert.equal(await state(), 'needs_approval');
    assert.equal(world.twogis.postsTo('880001'), 0);

    const answer = 'Анна, простите за остывший кофе! Мы поговорили с бариста. — команда «Кофейня»';
    const session = pty(['reply', '880001'], await editWith(answer));
    await session.expect('What now?');
    await session.type('3', KEYS.enter);
    await session.expect('What should change?');
    await session.type('короче', KEYS.enter);
    await session.expect('What now?');
    assert.match(prompts.at(-1)!, /короче/, 'the instruction reached the model');
    await session.type('2', KEYS.enter);
    await session.expect('your edit');
    await session.expect('What now?');
    await session.type('1', KEYS.enter);
    const sent = await session.done;
    assert.equal(sent.code, 0, sent.text);
    assert.match(sent.text, /answered review 880001: charged 5\.00 RUB, balance 95\.00 RUB/);
    assert.equal(world.twogis.postsTo('880001'), 1);
    assert.equal(world.twogis.answerOf('880001')?.text, answer);
    assert.equal(await state(), 'posted');
    world.model.responder = respond;
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('prompt edit saves a changed prompt as a version; unchanged saves nothing', async () => {
    const file = path.join(world.dir, 'prompts', 'system.md');
    const before = await readFile(file, 'utf8');
    const text = `${before}Подписывайся «команда кофейни».\n`;
    const editing = pty(['prompt', 'edit'], await editWith(text));
    const saved = await editing.done;
    assert.equal(saved.code, 0, saved.text);
    assert.match(saved.text, /saved .*system\.md as version \d+ \(\+1 −0 lines\)/);
    assert.equal(await readFile(file, 'utf8'), text);
    const history = JSON.parse((await world.run(['prompt', 'history', '--json'])).stdout);
    assert.equal(history[0].current, true);
    assert.equal((await world.run(['prompt', 'show', '--version', String(history[0].version), '--json'])).stdout.includes('Подписывайся'), true);
    assert.ok(history.some((version: { firstLine: string; current: boolean }) => !version.current && version.firstLine === before.trim()));

    const unchanged = await pty(['prompt', 'edit'], await editWith(text)).done;
    assert.equal(unchanged.code, 0, unchanged.text);
    assert.match(unchanged.text, /no changes: nothing saved/);
    const empty = await pty(['prompt', 'edit'], await editWith('')).done;
    assert.match(empty.text, /the prompt is empty: nothing saved/);
    assert.equal(JSON.parse((await world.run(['prompt', 'history', '--json'])).stdout).length, history.length);
    assert.equal(await readFile(file, 'utf8'), text);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('an editor that exits non-zero (vim :cq) saves nothing: prompt edit and reply exit 1', async () => {
    const failing = path.join(world.dir, 'edit-then-fail.sh');
    await writeFile(failing, '#!/bin/sh\ncp "$EDIT_SOURCE" "$1"\nexit 3\n');
    await chmod(failing, 0o755);
    const file = path.join(world.dir, 'prompts', 'system.md');
    const before = await readFile(file, 'utf8');
    const versions = async () => JSON.parse((await world.run(['prompt', 'history', '--json'])).stdout).length;
    const saved = await versions();
    const prompt = await new Pty(['prompt', 'edit'], { cwd: world.dir, env: world.env({ VISUAL: failing, ...(await editWith(`${before}Отвечай грубо.\n`)) }), timeoutMs: 15_000 }).done;
    assert.equal(prompt.code, 1, prompt.text);
    assert.match(prompt.text, /error: editor exited with status 3, nothing saved/);
    assert.equal(await readFile(file, 'utf8'), before);
    assert.equal(await versions(), saved);

    world.twogis.addReview(BRANCH, { id: '880002', rating: 2, text: 'Долго ждали заказ' });
    assert.equal(JSON.parse((await world.run(['poll-once', '--json'])).stdout).awaitingApproval, 1);
    const charges = await ledgerCount();
    const session = new Pty(['reply', '880002'], { cwd: world.dir, env: world.env({ VISUAL: failing, ...(await editWith('Отредактировано и брошено')) }), timeoutMs: 15_000 });
    await session.expect('What now?');
    await session.type('2', KEYS.enter);
    const abandoned = await session.done;
    assert.equal(abandoned.code, 1, abandoned.text);
    assert.match(abandoned.text, /error: editor exited with status 3, nothing saved/);
    assert.doesNotMatch(abandoned.text, /Отредактировано и брошено/);
    assert.equal((await query(world.db.url, "SELECT state FROM reviews WHERE id = '880002'"))[0]!.state, 'needs_approval');
    assert.equal(world.twogis.postsTo('880002'), 0);
    assert.equal(await ledgerCount(), charges);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('init never shows the database password nor offers it pre-filled; an empty answer keeps it', async () => {
    const password = 'sentinel-db-pass-5e1f';
    const user = `gisbot_init_${Math.random().toString(36).slice(2, 8)}`;
    const database = new URL(world.db.url).pathname.slice(1);
    await query(world.db.url, `CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await query(world.db.url, `CREATE USER '${user}'@'localhost' IDENTIFIED BY '${password}'`);
    await query(world.db.url, `GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${user}'@'%', '${user}'@'localhost'`);
    const url = `mysql://${user}:${password}@127.0.0.1:3306/${database}`;
    const dir = path.join(world.dir, 'masked');
    await mkdir(dir);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: world.dir,
      XDG_DATA_HOME: path.join(world.dir, 'data'),
      GISBOT_2GIS_API_URL: world.twogis.url,
      GISBOT_2GIS_PASSWORD: SECRETS.password,
      OPENAI_API_KEY: SECRETS.apiKey,
      GISBOT_DATABASE_URL: url,
    };
    try {
      const wizard = new Pty(['init'], { cwd: dir, env });
      await wizard.expect('2GIS cabinet login');
      await wizard.type(world.login, KEYS.enter);
      await wizard.expect('2GIS cabinet password');
      await wizard.type(KEYS.enter);
      await wizard.expect('✓ 2GIS');
      await wizard.expect('Model endpoint');
      await wizard.type(world.model.url, KEYS.enter);
      await wizard.expect('Model API key');
      await wizard.type(KEYS.enter);
      await wizard.expect('Model (gpt-4o-mini)');
      await wizard.type(KEYS.enter);
      await wizard.expect('✓ model');
      await wizard.expect('Database');
      await wizard.expect(`(mysql://${user}@127.0.0.1:`); // offered without the password
      await wizard.type(KEYS.enter);
      await wizard.expect(`Database password for ${user} (empty: keep the current one)`);
      await wizard.type(KEYS.enter);
      await wizard.expect('✓ database');
      await wizard.expect('WebSocket URL');
      await wizard.type(KEYS.enter);
      await wizard.expect('wait for you');
      await wizard.type(KEYS.enter);
      await wizard.expect('Language gisbot writes to you in');
      await wizard.type(KEYS.enter);
      const done = await wizard.done;
      assert.equal(done.code, 0, done.text);
      assert.ok(!done.raw.includes(password), 'the password never reached the terminal');
      assert.match(await readFile(path.join(dir, '.gisbotrc'), 'utf8'), new RegExp(`url: "${url}"`));
    } finally {
      await query(world.db.url, `DROP USER '${user}'@'%', '${user}'@'localhost'`);
    }
  });

  test('a terminal that reports 0 columns gets no spinner, and init goes on', async () => {
    const dir = path.join(world.dir, 'narrow');
    await mkdir(dir);
    const env = { PATH: process.env.PATH ?? '', HOME: world.dir, XDG_DATA_HOME: path.join(world.dir, 'data'), GISBOT_2GIS_API_URL: world.twogis.url };
    world.twogis.latencyMs = 1_000; // the check takes long enough for a spinner to spin
    try {
      const wizard = new Pty(['init'], { cwd: dir, env, columns: 0, timeoutMs: 20_000 });
      await wizard.expect('2GIS cabinet login');
      await wizard.type(world.login, KEYS.enter);
      await wizard.expect('2GIS cabinet password');
      await wizard.type(SECRETS.password, KEYS.enter);
      await wizard.expect('✓ 2GIS');
      await wizard.expect('Model endpoint');
      assert.ok(wizard.raw.length < 20_000, `${wizard.raw.length} bytes on the terminal`);
      await wizard.type(KEYS.ctrlC);
      assert.equal((await wizard.done).code, 130);
    } finally {
      world.twogis.latencyMs = 0;
    }
  });

  test('init asks, checks each service, writes a private .gisbotrc that doctor accepts; Ctrl-C writes nothing', async () => {
    const dir = path.join(world.dir, 'fresh');
    await mkdir(dir);
    const env = { PATH: process.env.PATH ?? '', HOME: world.dir, XDG_DATA_HOME: path.join(world.dir, 'data'), GISBOT_2GIS_API_URL: world.twogis.url };
    const wizard = new Pty(['init'], { cwd: dir, env });
    await wizard.expect('2GIS cabinet login');
    await wizard.type(world.login, KEYS.enter);
    await wizard.expect('2GIS cabinet password');
    await wizard.type('wrong', KEYS.enter);
    await wizard.expect('Enter these settings again?');
    await wizard.type('y', KEYS.enter);
    await wizard.expect('2GIS cabinet login');
    await wizard.type(KEYS.enter);
    await wizard.expect('2GIS cabinet password');
    await wizard.type(SECRETS.password, KEYS.enter);
    await wizard.expect(`✓ 2GIS`);
    await wizard.expect('Model endpoint');
    await wizard.type(world.model.url, KEYS.enter);
    await wizard.expect('Model API key');
    await wizard.type(SECRETS.apiKey, KEYS.enter);
    await wizard.expect('Model');
    await wizard.type(KEYS.enter);
    await wizard.expect('✓ model');
    await wizard.expect('Database');
    await wizard.type(world.db.url, KEYS.enter);
    await wizard.expect('Database password for root (empty: none)');
    await wizard.type(KEYS.enter);
    await wizard.expect('✓ database');
    await wizard.expect('WebSocket URL');
    await wizard.type(world.receiver.url, KEYS.enter);
    await wizard.expect('WebSocket token');
    await wizard.type(SECRETS.wsToken, KEYS.enter);
    await wizard.expect('✓ websocket');
    await wizard.expect('wait for you');
    await wizard.type(KEYS.enter);
    // Asked, and written into the file: cron has no locale (issue 23).
    await wizard.expect('Language gisbot writes to you in');
    await wizard.expect('(en)');
    await wizard.type('ru', KEYS.enter);
    const done = await wizard.done;
    assert.equal(done.code, 0, done.text);
    assert.match(done.text, /npm run gisbot -- run/); // a clone: the hint names the command that works here
    const file = path.join(dir, '.gisbotrc');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(await readFile(file, 'utf8'), new RegExp(`password: "${SECRETS.password}"`));
    assert.match(await readFile(file, 'utf8'), /ui:\n\s+language: "ru"/);

    const doctor = await world.run(['doctor', '--json', '--config', file], { env: { GISBOT_2GIS_API_URL: world.twogis.url, GISBOT_2GIS_PASSWORD: '', OPENAI_API_KEY: '', GISBOT_WS_TOKEN: '' } });
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    const report = JSON.parse(doctor.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(report.checks.map((check: { name: string }) => check.name), ['database', '2GIS', 'binding', 'model', 'websocket', 'prompt', 'telegram']);

    const written = await readFile(file, 'utf8');
    const again = new Pty(['init'], { cwd: dir, env });
    await again.expect('What now?');
    await again.type('3', KEYS.enter); // leave it as it is
    const kept = await again.done;
    assert.equal(kept.code, 0, 'declining is no usage error');
    assert.match(kept.text, /cancelled: nothing changed/);
    assert.equal(await readFile(file, 'utf8'), written);

    const other = path.join(world.dir, 'other');
    await mkdir(other);
    const interrupted = new Pty(['init'], { cwd: other, env });
    await interrupted.expect('2GIS cabinet login');
    await interrupted.type(KEYS.ctrlC);
    assert.equal((await interrupted.done).code, 130);
    await assert.rejects(stat(path.join(other, '.gisbotrc')));
    await world.checkInvariants(world.twogis.reviewIds());
  });
});
