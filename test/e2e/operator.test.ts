// The operator's commands as scripts see them: the real binary in a pipe, its --json output and exit codes, against
// the sandboxes and real MariaDB. In a pipe there are no colours, no spinner frames and never a question.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { createMysqlStore, parseMysqlUrl } from '../../src/adapters/store/mysql.ts';
import { BIN, World, type RunResult } from '../support/world.ts';

async function query<T extends RowDataPacket>(url: string, sql: string): Promise<T[]> {
  const connection = await createConnection({ ...parseMysqlUrl(url), timezone: 'Z' });
  try {
    return (await connection.query<T[]>(sql))[0];
  } finally {
    await connection.end();
  }
}

/** Every row that matters, to prove a command changed nothing. */
async function snapshot(url: string): Promise<string> {
  const tables = ['reviews', 'events', 'outbox', 'ledger', 'business_accounts', 'prompt_versions', 'dialogue'];
  const rows = await Promise.all(tables.map((table) => query(url, `SELECT * FROM ${table}`)));
  return JSON.stringify(rows);
}

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
function assertPlain(result: RunResult, what: string): void {
  assert.doesNotMatch(result.stdout + result.stderr, /\x1b\[/, `${what}: no colour codes in a pipe`);
  assert.doesNotMatch(result.stdout + result.stderr, SPINNER, `${what}: no spinner frames in a pipe`);
}

describe('operator commands in a pipe', () => {
  let world: World;
  const BRANCH = '70000001017466097';
  const run = (...args: string[]) => world.run(args);

  before(async () => {
    world = await World.start();
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня у парка', orgId: '100' });
    await mkdir(path.join(world.dir, 'prompts'));
    await writeFile(path.join(world.dir, 'prompts', 'system.md'), 'Ты отвечаешь на отзывы о кофейне.\n');
  });
  after(async () => {
    await world.close();
  });

  test('balance: bad amounts exit 2 and write nothing; history and --since; --json shapes', async () => {
    const amounts = ['5,50', '-3', 'abc', '1e3', '0', '1.005', ''];
    const rejected = await Promise.all(amounts.map((amount) => run('balance', 'add', amount, '--yes')));
    rejected.forEach((result, index) => {
      assert.equal(result.code, 2, `${amounts[index]}: ${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr.split('\n').filter((line) => line.startsWith('error:')).length, 1, result.stderr);
    });
    const unconfirmed = await run('balance', 'add', '5');
    assert.equal(unconfirmed.code, 2, 'no terminal and no --yes');
    assert.match(unconfirmed.stderr, /--yes/);
    assert.deepEqual(await query(world.db.url, 'SHOW TABLES'), [], 'usage errors are refused before the database is touched');

    assert.equal((await run('balance', 'add', '40', '--yes')).code, 0);
    const shown = await run('balance', '--json');
    assert.deepEqual(JSON.parse(shown.stdout), { balance: '40.00', held: '0.00', currency: 'RUB' });
    const human = await run('balance');
    assert.match(human.stdout, /balance 40\.00/);
    assert.match(human.stderr, /below 50\.00/, 'the low-balance warning');
    assertPlain(human, 'balance');

    const history = await run('balance', 'history', '--json');
    assert.equal(history.code, 0);
    const [entry] = JSON.parse(history.stdout);
    assert.deepEqual(Object.keys(entry), ['id', 'at', 'kind', 'amount', 'balanceAfter', 'reviewId', 'note']);
    assert.deepEqual([entry.kind, entry.amount, entry.balanceAfter], ['topup', '40.00', '40.00']);
    assert.deepEqual(JSON.parse((await run('balance', 'history', '--since', '2h', '--json')).stdout).length, 1);
    assert.deepEqual(JSON.parse((await run('balance', 'history', '--since', '2099-01-01', '--json')).stdout), []);
    assert.equal((await run('balance', 'history', '--since', 'yesterday')).code, 2);
    assert.equal((await run('balance', 'history', '--limit', '0')).code, 2);
    const table = await run('balance', 'history');
    assert.match(table.stdout, /topup\s+\+40\.00 RUB\s+40\.00 RUB/);
    assertPlain(table, 'balance history');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('reply: the queue, --dry-run changes nothing, --send posts once, refusals exit 1, no money exits 3', async () => {
    world.twogis.addReview(BRANCH, { id: '990001', rating: 1, text: 'Долго ждали заказ' });
    world.twogis.addReview(BRANCH, { id: '990002', rating: 2, text: 'Шумно и тесно' });
    world.twogis.addReview(BRANCH, { id: '990003', rating: 2, text: 'Дорого' });
    assert.equal(JSON.parse((await run('poll-once', '--json')).stdout).awaitingApproval, 3);

    const queue = await run('reply', '--json');
    assert.equal(queue.code, 0, queue.stderr);
    const waiting = JSON.parse(queue.stdout);
    assert.deepEqual(waiting.map((review: { id: string }) => review.id).sort(), ['990001', '990002', '990003']);
    assert.deepEqual(Object.keys(waiting[0]), ['id', 'branchId', 'branchName', 'rating', 'authorName', 'createdAt', 'state', 'reason', 'reasonCode', 'retryAt', 'text', 'looksLike']);
    assert.ok(waiting.every((review: { reason: string | null }) => review.reason));
    assertPlain(await run('reply'), 'reply queue');

    const asks = await run('reply', '990001');
    assert.equal(asks.code, 2, 'off a terminal without --send or --dry-run: a usage error, not a hang');
    assert.match(asks.stderr, /not a terminal/);

    const before = await snapshot(world.db.url);
    const postsBefore = world.twogis.requests.filter((request) => request.method === 'POST').length;
    const dry = await run('reply', '990001', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const drafted = JSON.parse(dry.stdout);
    assert.equal(drafted.action, 'dry-run');
    assert.ok(drafted.text.length > 0);
    assert.deepEqual(drafted.problems, []);
    const human = await run('reply', '990001', '--dry-run');
    assert.match(human.stdout, /review 990001[\s\S]*Долго ждали заказ[\s\S]*draft[\s\S]*the gate lets it through/);
    assertPlain(human, 'reply --dry-run');
    assert.equal(await snapshot(world.db.url), before, 'a dry run changes no row');
    assert.equal(world.twogis.requests.filter((request) => request.method === 'POST').length, postsBefore, 'nor 2GIS');
    assert.equal(world.twogis.postsTo('990001'), 0);

    const sent = await run('reply', '990001', '--send', '--json');
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(JSON.parse(sent.stdout), { ...JSON.parse(sent.stdout), reviewId: '990001', action: 'posted', charged: '5.00', balance: '35.00' });
    assert.equal(world.twogis.postsTo('990001'), 1);
    const again = await run('reply', '990001', '--send');
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /already answered/);
    assert.equal(world.twogis.postsTo('990001'), 1, 'posted once');

    const respond = world.model.responder;
    world.model.responder = () => ({ text: 'Спасибо', finishReason: 'length' });
    const refused = await run('reply', '990002', '--send', '--json');
    world.model.responder = respond;
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(JSON.parse(refused.stdout).action, 'refused');
    assert.match(refused.stderr, /the gate refuses it: .*did not finish/);
    assert.equal(world.twogis.postsTo('990002'), 0);

    // Down to 3.00 by an adjustment, as an operator's correction would be recorded.
    const connection = await createConnection({ ...parseMysqlUrl(world.db.url) });
    await connection.query("UPDATE business_accounts SET balance = '3.00'");
    await connection.query("INSERT INTO ledger (business_id, at, kind, amount, balance_after, note) VALUES ('default', NOW(3), 'adjustment', '-32.00', '3.00', 'test: drain')");
    await connection.end();
    const poor = await run('reply', '990003', '--send', '--json');
    assert.equal(poor.code, 3, poor.stderr);
    assert.equal(JSON.parse(poor.stdout).action, 'insufficient');
    assert.equal(world.twogis.postsTo('990003'), 0);
    assert.equal((await query(world.db.url, "SELECT state FROM reviews WHERE id = '990003'"))[0]!.state, 'needs_approval');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('logs: --json lines in the contract shape, filters, and --follow sees another process', async () => {
    const all = await run('logs', '--json', '--limit', '500');
    assert.equal(all.code, 0, all.stderr);
    const events = all.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(events.length >= 4);
    for (const event of events) assert.deepEqual(Object.keys(event), ['id', 'type', 'at', 'businessId', 'reviewId', 'branchId', 'data']);
    const posted = (await run('logs', '--type', 'reply.posted', '--json')).stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(posted.map((event) => [event.type, event.reviewId]), [['reply.posted', '990001']]);
    const one = (await run('logs', '--review', '990002', '--json')).stdout.trim().split('\n').map((line) => JSON.parse(line).reviewId);
    assert.ok(one.length > 0 && one.every((id) => id === '990002'));
    assert.equal((await run('logs', '--since', '2099-01-01T00:00Z', '--json')).stdout, '');
    assert.equal((await run('logs', '--branch', BRANCH, '--limit', '2', '--json')).stdout.trim().split('\n').length, 2);
    // The table names the branch as 2GIS lists it; the JSON keeps the id.
    const byName = (await run('logs', '--branch', BRANCH, '--limit', '2')).stdout;
    assert.match(byName, /Кофейня у парка/);
    assert.doesNotMatch(byName, new RegExp(BRANCH));
    assert.equal((await run('logs', '--type', 'reply.sent')).code, 2);
    const table = await run('logs', '--since', '1h');
    assert.match(table.stdout, /^time\s+type\s+branch\s+review\s+what/);
    assert.match(table.stdout, /reply\.posted\s+Кофейня у парка\s+990001\s+charged 5\.00 RUB, balance 35\.00 RUB/);
    assertPlain(table, 'logs');

    const follower = spawn(process.execPath, [BIN, 'logs', '--follow', '--json', '--type', 'balance.low'], { cwd: world.dir, env: world.env() });
    let output = '';
    follower.stdout.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => follower.on('close', (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const store = createMysqlStore({ url: world.db.url, notifications: false });
    const id = `follow-${Date.now()}`;
    await store.appendEvents([{ id, type: 'balance.low', at: new Date().toISOString(), reviewId: null, branchId: null, data: { balance: '3.00', threshold: '50.00' } }]);
    const written = Date.now();
    await store.close();
    // A bound on liveness, not a speed test: a loaded machine may take a while to schedule both processes.
    while (!output.includes(id) && Date.now() - written < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(output.includes(id), `the event shows up (output: ${output})`);
    const line = output.split('\n').find((text) => text.includes(id))!;
    assert.deepEqual(JSON.parse(line).data, { balance: '3.00', threshold: '50.00' });
    follower.kill('SIGINT');
    assert.equal(await exited, 0, 'Ctrl-C ends --follow with 0');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('prompt show, history and rollback keep every version; doctor reports each service', async () => {
    const file = path.join(world.dir, 'prompts', 'system.md');
    const first = await readFile(file, 'utf8');
    const shown = JSON.parse((await run('prompt', 'show', '--json')).stdout);
    assert.deepEqual(Object.keys(shown), ['version', 'createdAt', 'current', 'text']);
    assert.equal(shown.text, first);
    assert.equal(shown.version, 1, 'the pipeline recorded the prompt it used');

    await writeFile(file, 'Отвечай очень коротко.\n');
    const history = JSON.parse((await run('prompt', 'history', '--json')).stdout);
    assert.deepEqual(history.map((v: { version: number; current: boolean }) => [v.version, v.current]), [[1, false]]);
    const rolled = await run('prompt', 'rollback', '1', '--json');
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.deepEqual(JSON.parse(rolled.stdout), { ...JSON.parse(rolled.stdout), version: 3, from: 1, changed: true });
    assert.equal(await readFile(file, 'utf8'), first);
    const after = JSON.parse((await run('prompt', 'history', '--json')).stdout);
    assert.deepEqual(after.map((v: { version: number; current: boolean }) => [v.version, v.current]), [[3, true], [2, false], [1, false]]);
    assert.equal(JSON.parse((await run('prompt', 'show', '--version', '2', '--json')).stdout).text, 'Отвечай очень коротко.\n');
    assert.equal((await run('prompt', 'show', '--version', '2')).stdout, 'Отвечай очень коротко.\n', 'the text exactly, for a redirect');
    assert.equal((await run('prompt', 'show', '--version', '9')).code, 2);
    assert.equal((await run('prompt', 'rollback', 'two')).code, 2);
    assert.equal((await run('prompt', 'edit')).code, 2, 'prompt edit needs a terminal');

    const doctor = await run('doctor', '--json');
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.ok(JSON.parse(doctor.stdout).checks.every((check: { ok: boolean }) => check.ok));
    const broken = await world.run(['doctor'], { env: { GISBOT_2GIS_PASSWORD: 'wrong-password', GISBOT_WS_URL: 'ws://127.0.0.1:9' } });
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /✓ database/);
    assert.match(broken.stdout, /✗ 2GIS/);
    assert.match(broken.stdout, /✗ websocket/);
    assert.doesNotMatch(broken.stdout + broken.stderr, /wrong-password/);
    assertPlain(broken, 'doctor');
    // A watched branch the account lacks, and the example file's placeholders: each a failing line naming the key.
    const strays = await world.run(['doctor', '--json'], { env: { GISBOT_2GIS_PASSWORD: 'change-me' } });
    assert.equal(strays.code, 1);
    const twogisCheck = JSON.parse(strays.stdout).checks.find((one: { name: string }) => one.name === '2GIS');
    assert.match(twogisCheck.detail, /twogis\.password: still the example file's placeholder/);
    const config = path.join(world.dir, 'stray-branch.yaml');
    await writeFile(config, `twogis:\n  branches: ["${BRANCH}", "70000000000000999"]\n`);
    const stray = await world.run(['doctor', '--json', '--config', config]);
    assert.equal(stray.code, 1, stray.stdout + stray.stderr);
    assert.match(JSON.parse(stray.stdout).checks.find((one: { name: string }) => one.name === '2GIS').detail, /no branch 70000000000000999 \(twogis\.branches\)/);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('every command has --help with an example', async () => {
    const commands = [[], ['balance'], ['balance', 'add'], ['balance', 'history'], ['reply'], ['prompt'], ['prompt', 'show'],
      ['prompt', 'history'], ['prompt', 'edit'], ['prompt', 'rollback'], ['logs'], ['init'], ['doctor'], ['run'], ['poll-once']];
    const results = await Promise.all(commands.map((command) => run(...command, '--help')));
    results.forEach((result, index) => {
      assert.equal(result.code, 0);
      if (index > 0) assert.match(result.stdout, /Example/, commands[index]!.join(' '));
    });
  });

  test("V8's compiled code is kept in the user's own cache folder between starts", async () => {
    const cache = path.join(world.dir, '.cache', 'gisbot', 'compile-cache'); // world's HOME, no XDG_CACHE_HOME
    assert.equal((await run('balance', '--json')).code, 0);
    const [version, ...others] = await readdir(cache);
    assert.equal(others.length, 0, 'one folder per Node version');
    assert.ok((await readdir(path.join(cache, version!))).length > 10, 'the modules of a start are cached');
    assert.equal((await stat(cache)).mode & 0o077, 0, 'nobody else can put code there');
  });
});
