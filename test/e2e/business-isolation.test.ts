// Many businesses, one database (issue 19): no command run for business A shows, counts, charges or changes anything
// of business B, through the real binary on both databases. Businesses a and b each have their own 2GIS account,
// branch, prompt and balance; c is paused (enabled: false). Also: `logs` over every business, each line naming its
// business; `doctor` checking each business's binding; events naming their business in every sink.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess, type RunResult } from '../support/run-process.ts';
import { BIN, World } from '../support/world.ts';

function withoutKeys(env: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !keys.includes(key)));
}

const ACCOUNTS = {
  a: { login: 'cafe-a@example.kz', password: 'sentinel-a-password-0a1b', org: '401', branch: '70000001017466201', name: 'Кафе Альфа' },
  b: { login: 'clinic-b@example.kz', password: 'sentinel-b-password-2c3d', org: '402', branch: '70000001017466202', name: 'Клиника Бета' },
  c: { login: 'shop-c@example.kz', password: 'sentinel-c-password-4e5f', org: '403', branch: '70000001017466203', name: 'Магазин Гамма' },
} as const;
type Id = keyof typeof ACCOUNTS;
const IDS = Object.keys(ACCOUNTS) as Id[];
/** Words only b's customers wrote: none of them may appear in anything shown for a. */
const B_WORDS = 'Бетадоктор грубил на приёме';

for (const backend of ['sqlite', 'mysql'] as const) {
  describe(`business isolation through the CLI (${backend})`, () => {
    let world: World;
    let env: Record<string, string>;
    let configFile: string;
    const gisbot = (args: string[], config = configFile): Promise<RunResult> =>
      runProcess(process.execPath, [BIN, '--config', config, ...args], { cwd: world.dir, env });
    const ok = async (args: string[]): Promise<RunResult> => {
      const result = await gisbot(args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      return result;
    };
    const dump = async () => {
      const tables = ['reviews', 'ledger', 'business_accounts', 'events', 'businesses', 'prompt_versions'];
      return Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await world.query(`SELECT * FROM ${table} ORDER BY 1, 2`)])));
    };

    before(async () => {
      world = await World.start({ database: backend });
      const prompts = path.join(world.dir, 'prompts');
      await mkdir(prompts, { recursive: true });
      const lines = ['billing: { pricePerReply: "5.00" }', 'policy: { approvalBelowRating: 3 }', 'businesses:'];
      for (const id of IDS) {
        const account = ACCOUNTS[id];
        world.twogis.addAccount({ login: account.login, password: account.password });
        world.twogis.addOrg({ id: account.org, name: account.name, login: account.login });
        world.twogis.addBranch({ id: account.branch, name: account.name, orgId: account.org });
        await writeFile(path.join(prompts, `${id}.md`), `PROMPT-OF-${id.toUpperCase()}: answer warmly.\n`);
        lines.push(`  ${id}:`, `    name: "${account.name}"`, `    twogis: { login: "${account.login}" }`, `    prompt: { file: "${path.join(prompts, `${id}.md`)}" }`);
        if (id === 'c') lines.push('    enabled: false');
      }
      world.twogis.addReview(ACCOUNTS.a.branch, { id: 'a-5', rating: 5, text: 'Альфа: отличный завтрак' });
      world.twogis.addReview(ACCOUNTS.a.branch, { id: 'a-1', rating: 1, text: 'Альфа: холодный суп' });
      world.twogis.addReview(ACCOUNTS.b.branch, { id: 'b-5', rating: 5, text: 'Бета: спасибо за лечение' });
      world.twogis.addReview(ACCOUNTS.b.branch, { id: 'b-1', rating: 1, text: B_WORDS });
      world.twogis.addReview(ACCOUNTS.c.branch, { id: 'c-5', rating: 5, text: 'Гамма: хороший магазин' });
      configFile = path.join(world.dir, 'agency.yaml');
      await writeFile(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
      env = withoutKeys(world.env(), ['GISBOT_2GIS_LOGIN', 'GISBOT_2GIS_PASSWORD']);
      for (const id of IDS) env[`GISBOT_${id.toUpperCase()}_2GIS_PASSWORD`] = ACCOUNTS[id].password;

      await ok(['balance', 'add', '50', '--yes', '--business', 'a']);
      await ok(['balance', 'add', '20', '--yes', '--business', 'b']);
      await ok(['balance', 'add', '30', '--yes', '--business', 'c']);
      const cycle = await ok(['poll-once', '--json']);
      assert.deepEqual(JSON.parse(cycle.stdout).businesses.map((one: { id: string }) => one.id), ['a', 'b'], 'the paused business is not served');
    });
    after(async () => {
      await world?.close();
    });

    test("reply <B's review> --business a: no such review, exit 2, nothing changed", async () => {
      const before = await dump();
      for (const flags of [['--send'], ['--dry-run'], ['--send', '--json']]) {
        const foreign = await gisbot(['reply', 'b-1', '--business', 'a', ...flags]);
        assert.equal(foreign.code, 2, `${flags.join(' ')}: ${foreign.stderr}`);
        assert.match(foreign.stderr, /review b-1 is not known/);
        assert.ok(!foreign.stdout.includes(B_WORDS) && !foreign.stderr.includes(B_WORDS), "b's customer's words are not shown");
      }
      // Nor may a complain about b's review: 2GIS is never asked.
      const complaint = await gisbot(['complain', 'b-1', '--business', 'a', '--reason', 'not a patient of ours']);
      assert.equal(complaint.code, 2, complaint.stderr);
      assert.match(complaint.stderr, /review b-1 is not known/);
      assert.deepEqual(world.twogis.complaintsAbout('b-1'), [], 'no complaint reached 2GIS');
      assert.deepEqual(await dump(), before, 'nothing in the database changed');
      assert.equal(world.twogis.postsTo('b-1'), 0);
      // b itself still has it waiting.
      const own = await ok(['reply', '--json', '--business', 'b']);
      assert.deepEqual(JSON.parse(own.stdout).map((review: { id: string }) => review.id), ['b-1']);
    });

    test("a's balance, history, stats, waiting list, branches, report and prompt show nothing of b's", async () => {
      const balance = await ok(['balance', '--json', '--business', 'a']);
      assert.deepEqual(JSON.parse(balance.stdout), { balance: '45.00', held: '0.00', currency: 'RUB' });
      const history = await ok(['balance', 'history', '--json', '--business', 'a']);
      const entries = JSON.parse(history.stdout) as Array<{ kind: string; amount: string; reviewId: string | null }>;
      assert.deepEqual(entries.map((entry) => [entry.kind, entry.amount, entry.reviewId]).sort(), [['charge', '-5.00', 'a-5'], ['topup', '50.00', null]].sort());

      const stats = JSON.parse((await ok(['stats', '--json', '--business', 'a'])).stdout);
      assert.equal(stats.total.reviews, 2, "a's two reviews, not b's");
      assert.equal(stats.total.answered, 1);
      assert.equal(stats.total.charged, '5.00');
      assert.deepEqual(stats.branches.map((branch: { id: string }) => branch.id), [ACCOUNTS.a.branch]);

      const waiting = JSON.parse((await ok(['reply', '--json', '--business', 'a'])).stdout);
      assert.deepEqual(waiting.map((review: { id: string }) => review.id), ['a-1']);

      const branches = JSON.parse((await ok(['branches', '--json', '--business', 'a'])).stdout);
      assert.deepEqual(branches.map((branch: { id: string }) => branch.id), [ACCOUNTS.a.branch]);

      const out = path.join(world.dir, `report-a-${backend}.html`);
      await ok(['report', '--business', 'a', '--since', '30d', '--out', out]);
      const html = await readFile(out, 'utf8');
      assert.ok(html.includes('холодный суп'), "a's own complaint is in a's report");
      for (const foreign of [B_WORDS, ACCOUNTS.b.name, 'b-1', 'b-5', ACCOUNTS.b.branch]) assert.ok(!html.includes(foreign), `a's report shows ${foreign}`);

      const prompt = await ok(['prompt', 'show', '--business', 'a']);
      assert.match(prompt.stdout, /PROMPT-OF-A/);
      assert.doesNotMatch(prompt.stdout, /PROMPT-OF-B/);

      for (const result of [balance, history, prompt]) assert.ok(!result.stdout.includes(B_WORDS));
    });

    test('a command about one business, without --business: exit 2, one line listing the ids', async () => {
      const before = await dump();
      const commands = [['balance'], ['balance', 'add', '5', '--yes'], ['balance', 'history'], ['reply'], ['reply', 'a-1', '--dry-run'], ['stats'], ['branches'], ['report'], ['prompt', 'show'], ['complain', 'a-1', '--reason', 'fake']];
      for (const args of commands) {
        const refused = await gisbot(args);
        assert.equal(refused.code, 2, `${args.join(' ')}: ${refused.stderr}`);
        const lines = refused.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `${args.join(' ')}: one line, not ${refused.stderr}`);
        assert.match(lines[0]!, /--business/);
        assert.match(lines[0]!, /a, b, c/, `${args.join(' ')}: the ids are listed`);
        assert.equal(refused.stdout, '');
      }
      assert.deepEqual(await dump(), before, 'nothing changed');
    });

    test('enabled: false pauses c: poll-once skips it, its commands still work', async () => {
      const again = await gisbot(['poll-once', '--json']);
      assert.ok(again.code === 0, again.stderr);
      assert.ok(!JSON.parse(again.stdout).businesses.some((one: { id: string }) => one.id === 'c'));
      assert.equal(world.twogis.postsTo('c-5'), 0, "a paused business's review is not answered");
      assert.deepEqual(await world.query("SELECT id FROM reviews WHERE business_id = 'c'"), [], 'nor even read');
      const named = await gisbot(['poll-once', '--business', 'c']);
      assert.equal(named.code, 2, 'serving a paused business by name is refused');
      assert.match(named.stderr, /paused/);
      assert.deepEqual(JSON.parse((await ok(['balance', '--json', '--business', 'c'])).stdout), { balance: '30.00', held: '0.00', currency: 'RUB' });
      await ok(['balance', 'add', '1.50', '--yes', '--business', 'c']);
      assert.deepEqual(JSON.parse((await ok(['balance', '--json', '--business', 'c'])).stdout), { balance: '31.50', held: '0.00', currency: 'RUB' });
      const stats = JSON.parse((await ok(['stats', '--json', '--business', 'c'])).stdout);
      assert.equal(stats.total.reviews, 0);
      await ok(['prompt', 'show', '--business', 'c']);
      const listed = JSON.parse((await ok(['businesses', '--json'])).stdout) as Array<{ id: string; status: string; enabled: boolean }>;
      assert.deepEqual(listed.find((one) => one.id === 'c'), { ...listed.find((one) => one.id === 'c'), status: 'paused', enabled: false });
    });

    test('every event names its business: the events table, the log file line and the WebSocket frame', async () => {
      const rows = await world.query("SELECT review_id, business_id FROM events WHERE type IN ('review.new', 'reply.posted', 'review.needs_approval') ORDER BY review_id");
      assert.ok(rows.length >= 6, `${rows.length} events`);
      for (const row of rows) assert.equal(row.business_id, String(row.review_id).slice(0, 1), `event of ${row.review_id}`);
      const lines = (await world.logLines()).filter((line) => typeof line.reviewId === 'string');
      assert.ok(lines.length >= 6);
      for (const line of lines) assert.equal(line.businessId, String(line.reviewId).slice(0, 1), `log line of ${line.reviewId}`);
      const frames = world.receiver.frames.filter((frame) => typeof frame.event.reviewId === 'string');
      assert.ok(frames.length >= 6, `${frames.length} frames`);
      for (const frame of frames) assert.equal(frame.event.businessId, String(frame.event.reviewId).slice(0, 1), `frame of ${frame.event.reviewId}`);
    });

    test('logs: every business, each line naming it; --business a: only a', async () => {
      const all = (await ok(['logs', '--json', '--limit', '500'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(new Set(all.map((event) => event.businessId)), new Set(['a', 'b']));
      for (const event of all) assert.ok('businessId' in event, 'the contract shape has businessId');
      const onlyA = (await ok(['logs', '--json', '--limit', '500', '--business', 'a'])).stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.ok(onlyA.length > 0);
      assert.deepEqual(new Set(onlyA.map((event) => event.businessId)), new Set(['a']));
      assert.equal(onlyA.length, all.filter((event) => event.businessId === 'a').length);

      const table = (await ok(['logs', '--limit', '500'])).stdout.trim().split('\n');
      assert.match(table[0]!, /^business\s+time\s+type/, 'the header names the business column');
      for (const line of table.slice(1)) assert.match(line, /^[ab]\s+\d{4}-/, `each line names its business: ${line}`);
      for (const line of table.slice(1).filter((each) => each.includes('b-1'))) assert.match(line, /^b\s/);
      const tableA = (await ok(['logs', '--limit', '500', '--business', 'a'])).stdout.trim().split('\n');
      assert.ok(tableA.every((line) => !line.includes('b-1') && !line.includes('b-5')), "a's table shows none of b's events");
    });

    test("doctor: each business's 2GIS sign-in and binding; one bound to another account is a failed check naming it, exit 2", async () => {
      const doctor = await gisbot(['doctor', '--json']);
      const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
      const named = (name: string) => report.checks.find((one) => one.name === name);
      for (const id of IDS) {
        assert.equal(named(`2GIS ${id}`)?.ok, true, JSON.stringify(named(`2GIS ${id}`)));
        assert.equal(named(`binding ${id}`)?.ok, true, JSON.stringify(named(`binding ${id}`)));
      }
      assert.match(named('binding a')!.detail, new RegExp(ACCOUNTS.a.login));
      assert.match(named('binding c')!.detail, /not bound yet/, 'the paused business never ran');
      assert.equal(doctor.code, 0, doctor.stderr);

      const onlyB = JSON.parse((await gisbot(['doctor', '--json', '--business', 'b'])).stdout) as typeof report;
      assert.deepEqual(onlyB.checks.filter((one) => /^(2GIS|binding|prompt)/.test(one.name)).map((one) => one.name), ['2GIS b', 'binding b', 'prompt b']);

      // Business a configured with another 2GIS account: the database has it bound to cafe-a.
      world.twogis.addAccount({ login: 'intruder@example.kz', password: 'sentinel-intruder-password-6a7b' });
      world.twogis.addOrg({ id: '499', name: 'Чужой', login: 'intruder@example.kz' });
      const swapped = path.join(world.dir, 'swapped.yaml');
      await writeFile(swapped, (await readFile(configFile, 'utf8')).replace(ACCOUNTS.a.login, 'intruder@example.kz'), { mode: 0o600 });
      const before = await dump();
      const refused = await runProcess(process.execPath, [BIN, '--config', swapped, 'doctor'], {
        cwd: world.dir,
        env: { ...env, GISBOT_A_2GIS_PASSWORD: 'sentinel-intruder-password-6a7b' },
      });
      assert.equal(refused.code, 2, refused.stderr);
      const line = refused.stdout.split('\n').find((each) => each.includes('binding a'));
      assert.ok(line?.startsWith('✗'), `a failed check: ${refused.stdout}`);
      for (const part of ['business a', ACCOUNTS.a.login, 'intruder@example.kz']) assert.ok(line!.includes(part), `${line} names ${part}`);
      assert.ok(refused.stdout.split('\n').find((each) => each.includes('binding b'))?.startsWith('✓'), 'b is fine');
      assert.deepEqual(await dump(), before, 'doctor writes nothing');
      // Without the password 2GIS cannot be asked: the configured login against the bound one says the same.
      const offline = await runProcess(process.execPath, [BIN, '--config', swapped, 'doctor', '--json', '--business', 'a'], { cwd: world.dir, env });
      assert.equal(offline.code, 2, offline.stderr);
      const binding = (JSON.parse(offline.stdout) as typeof report).checks.find((one) => one.name === 'binding a');
      assert.equal(binding?.ok, false);
      assert.match(binding!.detail, /intruder@example\.kz/);

      // poll-once over every business meets the same refusal, in one line, before anything of any business is done.
      world.twogis.addReview(ACCOUNTS.b.branch, { id: 'b-9', rating: 5, text: 'Бета: всё хорошо' });
      const served = await runProcess(process.execPath, [BIN, '--config', swapped, 'poll-once', '--json'], {
        cwd: world.dir,
        env: { ...env, GISBOT_A_2GIS_PASSWORD: 'sentinel-intruder-password-6a7b' },
      });
      assert.equal(served.code, 2, served.stderr);
      const lines = served.stderr.trim().split('\n');
      assert.equal(lines.length, 1, served.stderr);
      for (const part of ['business a', ACCOUNTS.a.login, 'intruder@example.kz']) assert.ok(lines[0]!.includes(part), `${lines[0]} names ${part}`);
      assert.equal(served.stdout, '');
      assert.deepEqual(await dump(), before, 'nothing written for any business');
      assert.equal(world.twogis.postsTo('b-9'), 0, "b's review waits for a run that is not refused");
    });
  });
}
