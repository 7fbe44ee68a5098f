// A sign-in token that 2GIS stops taking in the middle of a cycle (issue 21, item 2), with a second business beside
// it that signs in with a password, through the real binary over three cron runs: one auth.failed event, one stderr
// line about the token each run, exit 1 each run, the other business answered every run, and the token in no output,
// log line, event or WebSocket frame. (The Telegram alert, once across three runs, is test/e2e/telegram-panel.test.ts.)
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess } from '../support/run-process.ts';
import { BIN, World } from '../support/world.ts';

describe('a token that expires mid-cycle, beside a business that signs in with a password', () => {
  let world: World;
  let token: string;
  let configFile: string;
  let env: Record<string, string>;
  const COFFEE = { login: 'coffee@example.kz', password: 'coffee-unused-password-71', org: '401', branch: '70000001017466401' };
  const DENTAL = { login: 'dental@example.kz', password: 'sentinel-dental-password-72', org: '402', branch: '70000001017466402' };

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    for (const account of [COFFEE, DENTAL]) {
      world.twogis.addAccount({ login: account.login, password: account.password });
      world.twogis.addOrg({ id: account.org, name: account.login, login: account.login });
      world.twogis.addBranch({ id: account.branch, name: `Филиал ${account.org}`, orgId: account.org });
    }
    token = world.twogis.browserToken(COFFEE.login);
    configFile = path.join(world.dir, 'agency.yaml');
    const lines = ['businesses:', '  coffee:', '    name: "Кофейня"', '  dental:', '    name: "Стоматология"', `    twogis: { login: "${DENTAL.login}" }`];
    await writeFile(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    env = Object.fromEntries(Object.entries(world.env()).filter(([key]) => key !== 'GISBOT_2GIS_LOGIN' && key !== 'GISBOT_2GIS_PASSWORD'));
    env.GISBOT_COFFEE_2GIS_TOKEN = token;
    env.GISBOT_DENTAL_2GIS_PASSWORD = DENTAL.password;
    for (const id of ['coffee', 'dental']) assert.equal((await gisbot(['balance', 'add', '100', '--yes', '--business', id])).code, 0);
  });
  after(() => world.close());

  const gisbot = (args: string[]) => runProcess(process.execPath, [BIN, '--config', configFile, ...args], { cwd: world.dir, env });

  test('three cron runs: one event, one line a run, exit 1, the other business answered, the token nowhere', async () => {
    // Run 1: the listing signs in; 2GIS stops taking the token before the answer goes out.
    world.twogis.addReview(COFFEE.branch, { id: '401001', rating: 5, text: 'Отличный кофе' });
    world.twogis.addReview(DENTAL.branch, { id: '402001', rating: 5, text: 'Спасибо доктору' });
    world.twogis.faults.add({ method: 'POST', path: 'presence/reviews/401001/comments', fault: { type: 'status', status: 401 }, times: Infinity });
    const outputs: string[] = [];
    for (let run = 1; run <= 3; run += 1) {
      if (run === 2) world.twogis.expireTokens(COFFEE.login);
      if (run > 1) world.twogis.addReview(DENTAL.branch, { id: `40200${run}`, rating: 5, text: `Спасибо, визит ${run}` });
      const result = await gisbot(['poll-once', '--json']);
      outputs.push(result.stdout, result.stderr);
      assert.equal(result.code, 1, `run ${run}: ${result.stderr}`);
      const tokenLines = result.stderr.split('\n').filter((line) => /twogis\.accessToken|GISBOT_COFFEE_2GIS_TOKEN/.test(line));
      assert.equal(tokenLines.length, 1, `run ${run}: one line says how to take a fresh token:\n${result.stderr}`);
      const summary = JSON.parse(result.stdout) as { businesses: Array<{ id: string; posted: number; status: string }> };
      const dental = summary.businesses.find((one) => one.id === 'dental')!;
      assert.equal(dental.posted, 1, `run ${run}: the other business is answered`);
      assert.equal(summary.businesses.find((one) => one.id === 'coffee')!.status, 'sign_in_failed', `run ${run}`);
      assert.equal(world.twogis.postsTo(`40200${run}`), 1);
    }
    const tried = world.twogis.requests.filter((request) => request.method === 'POST' && request.path.endsWith('presence/reviews/401001/comments'));
    assert.equal(tried.length, 1, 'mid-cycle: the listing signed in, the POST met the expired token, and was not tried again');
    assert.equal(world.twogis.postsTo('401001'), 0);
    assert.equal(world.twogis.answerOf('401001'), null);
    const failed = (await world.query("SELECT business_id, data FROM events WHERE type = 'auth.failed'")).map((row) => [row.business_id, JSON.parse(String(row.data)).code]);
    assert.deepEqual(failed, [['coffee', 'token_expired']], 'one event across three runs');
    assert.equal(Number((await world.query("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'charge' AND business_id = 'coffee'"))[0]!.n), 0, 'nothing charged');
    const everything = [...outputs, JSON.stringify(await world.logLines()), JSON.stringify(world.receiver.frames.map((frame) => frame.raw)), JSON.stringify(await world.query('SELECT * FROM events'))].join('\n');
    assert.ok(!everything.includes(token), 'the token is never printed, logged, stored in an event or sent');
    assert.ok(!everything.includes(DENTAL.password));
  });
});
