// `gisbot demo` as a newcomer runs it: the real binary from the repository, in a folder holding a broken
// .gisbotrc and an environment full of someone's real settings, none of which it may read; TCP beyond loopback
// is refused (test/support/loopback-only.ts). It must account for every seeded review, get the money right, keep
// the injected text out of every answer, and leave nothing behind unless --keep.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DEMO_REVIEWS } from '../../src/sandbox/demo-world.ts';
import { NON_LOOPBACK_MARKER } from '../support/loopback-only.ts';
import { runProcess, type RunResult } from '../support/run-process.ts';
import { BIN } from '../support/world.ts';

const GUARD = fileURLToPath(new URL('../support/loopback-only.ts', import.meta.url));
const SENTINELS = { password: 'sentinel-demo-2gis-pass', apiKey: 'sk-sentinel-demo-key', wsToken: 'sentinel-demo-ws', org: 'org-sentinel-demo' };

/** What each seeded review must come to with the demo's policy (approval below 3, answer ratings without text). */
const EXPECTED: Record<string, 'answered' | 'skipped' | 'waiting'> = {
  '141800001': 'answered', // warm, in Russian
  '141800002': 'answered', // in English
  '141800003': 'waiting', // a 1★ complaint
  '141800004': 'waiting', // the prompt injection: the gate holds it
  '141800005': 'skipped', // already answered in the cabinet
  '141800006': 'answered', // in Kazakh
  '141800007': 'answered', // a rating without text
  '141800008': 'answered', // mixed feelings, 3★
  '141800009': 'skipped', // hidden
  '141800010': 'skipped', // another catalog
  '141800011': 'answered', // warm, in Russian
  '141800012': 'waiting', // 2★ in English
  '141800013': 'skipped', // 2GIS allows no reply
};

interface Sandbox {
  home: string;
  cwd: string;
  tmp: string;
  data: string;
}

function runDemo(where: Sandbox, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', GUARD, BIN, 'demo', ...args], {
      cwd: where.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: where.home,
        TMPDIR: where.tmp,
        XDG_DATA_HOME: where.data,
        // Someone's real set-up: the demo must not touch any of it.
        GISBOT_DATABASE_URL: 'mysql://gisbot:sentinel-db-pass@db.example.com:3306/gisbot',
        GISBOT_2GIS_API_URL: 'https://api.account.2gis.com/api/1.0',
        GISBOT_2GIS_LOGIN: 'real-owner@example.com',
        GISBOT_2GIS_PASSWORD: SENTINELS.password,
        OPENAI_BASE_URL: 'https://api.openai.com/v1',
        OPENAI_API_KEY: SENTINELS.apiKey,
        OPENAI_ORG_ID: SENTINELS.org,
        GISBOT_WS_URL: 'wss://notify.example.com/gisbot',
        GISBOT_WS_TOKEN: SENTINELS.wsToken,
        GISBOT_LOG_FILE: path.join(where.home, 'real.log'),
        GISBOT_FAILPOINT: 'after_post',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function assertClean(result: RunResult): void {
  assert.ok(!result.stderr.includes(NON_LOOPBACK_MARKER), result.stderr);
  for (const secret of Object.values(SENTINELS)) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), `${secret} leaked into the output`);
  }
}

describe('gisbot demo', () => {
  let where: Sandbox;
  before(async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'gisbot-demo-test-'));
    where = { home, cwd: path.join(home, 'project'), tmp: path.join(home, 'tmp'), data: path.join(home, 'data') };
    await mkdir(where.cwd);
    await mkdir(where.tmp);
    // Read, this would stop any command with exit 2 (an unknown key).
    await writeFile(path.join(where.cwd, '.gisbotrc'), 'notAKey: true\ndatabase:\n  url: mysql://nobody@db.example.com/x\n');
  });
  after(async () => {
    await rm(where.home, { recursive: true, force: true });
  });

  test('--json: every seeded review accounted for, the money right, the injection held back, nothing left', async () => {
    const result = await runDemo(where, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    assertClean(result);
    const report = JSON.parse(result.stdout);

    assert.deepEqual(report.reviews.map((review: { id: string }) => review.id).sort(), DEMO_REVIEWS.map((review) => review.id).sort());
    const outcomes = Object.fromEntries(report.reviews.map((review: { id: string; outcome: string }) => [review.id, review.outcome]));
    assert.deepEqual(outcomes, EXPECTED);
    for (const review of report.reviews) {
      if (review.outcome === 'answered') {
        assert.ok(typeof review.answer === 'string' && review.answer.length > 0, `review ${review.id} has its answer`);
        assert.equal(review.charged, '5.00');
      } else {
        assert.equal(review.answer, null);
        assert.equal(review.charged, '0.00');
        assert.ok(review.reason, `review ${review.id} says why`);
      }
    }

    const answered = Object.values(EXPECTED).filter((outcome) => outcome === 'answered').length;
    assert.deepEqual(report.balance, {
      before: '100.00',
      price: '5.00',
      answered,
      charged: (answered * 5).toFixed(2),
      after: (100 - answered * 5).toFixed(2),
      arithmeticOk: true,
    });
    assert.equal(report.summary.balance, report.balance.after);
    // Two businesses side by side, each its own balance: the clinic runs out, the coffee chain answers on.
    assert.deepEqual(
      report.businesses.map((one: { id: string; balance: { before: string; answered: number; after: string; arithmeticOk: boolean }; stoppedForBalance: boolean }) => [one.id, one.balance.before, one.balance.answered, one.balance.after, one.balance.arithmeticOk, one.stoppedForBalance]),
      [['zerno', '100.00', answered, report.balance.after, true, false], ['ulybka', '10.00', 2, '0.00', true, true]],
    );
    assert.deepEqual(report.businesses[1].outcomes, { answered: 2, queued: 1 });
    assert.equal(report.summary.posted, answered);
    assert.equal(report.summary.fetched, DEMO_REVIEWS.length);

    const hostile = DEMO_REVIEWS.find((review) => review.injected)!;
    const held = report.reviews.find((review: { id: string }) => review.id === hostile.id);
    assert.equal(held.state, 'needs_approval');
    assert.match(held.reason, /reply gate refused/);
    assert.ok(held.rules.length > 0);
    const answers = report.reviews.map((review: { answer: string | null }) => review.answer ?? '').join('\n');
    for (const payload of hostile.injected!) assert.ok(!answers.toLowerCase().includes(payload.toLowerCase()), `"${payload}" was posted`);

    const { events } = report;
    assert.ok(events.stored > DEMO_REVIEWS.length);
    assert.equal(events.byType['review.new'], DEMO_REVIEWS.length);
    assert.equal(events.byType['reply.posted'], answered);
    assert.equal(events.logLines, events.stored, 'every event is in the log file');
    assert.equal(events.websocket.frames, events.stored, 'every event reached the WebSocket receiver');
    assert.match(events.websocket.url, /^ws:\/\/127\.0\.0\.1:\d+$/);

    // The card of each review that waits, as the owner's chat shows it: no send button while the gate refuses.
    const waiting = Object.keys(EXPECTED).filter((id) => EXPECTED[id] === 'waiting').sort();
    const cards = report.telegram.cards as Array<{ reviewId: string; text: string; buttons: string[] }>;
    assert.deepEqual(cards.map((card) => card.reviewId).sort(), waiting);
    assert.deepEqual(cards.find((card) => card.reviewId === hostile.id)!.buttons, ['Regenerate', 'Edit', 'Skip', 'Complain']);
    assert.deepEqual(cards.find((card) => card.reviewId === '141800003')!.buttons, ['Send', 'Regenerate', 'Edit', 'Skip', 'Complain']);
    assert.ok(cards.find((card) => card.reviewId === '141800003')!.text.includes(DEMO_REVIEWS.find((review) => review.id === '141800003')!.text));
    // The stats of its own cycle, as `gisbot stats --json` would print them, and the report it wrote.
    const counted = (outcome: string) => Object.values(EXPECTED).filter((each) => each === outcome).length;
    assert.equal(report.stats.total.reviews, DEMO_REVIEWS.length);
    assert.equal(report.stats.total.answered, answered);
    assert.equal(report.stats.total.waitingForPerson, counted('waiting'));
    assert.equal(report.stats.total.skipped + report.stats.total.answeredElsewhere, counted('skipped'));
    assert.equal(report.stats.total.charged, report.balance.charged);
    assert.deepEqual(report.stats.branches.map((branch: { reviews: number }) => branch.reviews).reduce((a: number, b: number) => a + b), DEMO_REVIEWS.length);
    assert.ok(report.stats.topics.length > 0, 'the mixed review gave complaint topics');
    // The 1★ review is drafted only for its Telegram card: that draft's topics count too.
    const abaya = report.stats.branches.find((branch: { id: string }) => branch.id === DEMO_REVIEWS.find((review) => review.id === '141800003')!.branchId);
    assert.deepEqual(abaya.topics.map((topic: { topic: string }) => topic.topic).sort(), ['грубый персонал', 'долгое ожидание', 'холодный кофе']);

    assert.equal(report.folder, null);
    assert.equal(report.report, null);
    assert.deepEqual(await readdir(where.tmp), [], 'the demo cleans up after itself: nothing left without --keep');
    assert.deepEqual(await readdir(where.cwd), ['.gisbotrc']);
    await assert.rejects(stat(where.data), 'nothing in the data folder');
    await assert.rejects(stat(path.join(where.home, 'real.log')), 'the configured log file is untouched');
  });

  test('--keep: the report for a person, and a folder the other commands can open', async () => {
    const result = await runDemo(where, ['--keep']);
    assert.equal(result.code, 0, result.stderr);
    assertClean(result);
    assert.doesNotMatch(result.stdout, /\u001b\[/, 'no colours in a pipe');
    assert.match(result.stdout, /100\.00 RUB before − 6 answers × 5\.00 RUB = 70\.00 RUB after/);
    assert.match(result.stdout, /zerno\s+Кофейня «Зерно»\s+100\.00 RUB − 6 × 5\.00 RUB =\s+70\.00 RUB ✓/, 'the businesses side by side');
    assert.match(result.stdout, /ulybka\s+Стоматология «Улыбка»\s+10\.00 RUB − 2 × 5\.00 RUB =\s+0\.00 RUB ✓.*its balance ran out/);
    assert.match(result.stdout, /waits for you: the reply gate refused/);
    assert.match(result.stdout, /– skipped: hidden on 2GIS/);
    assert.match(result.stdout, /\d+ WebSocket frames received at ws:\/\/127\.0\.0\.1:\d+/);
    assert.match(result.stdout, /Telegram  3 cards went to the owner's chat/);
    assert.match(result.stdout, /│ \[ Send \] \[ Regenerate \] \[ Edit \] \[ Skip \]/);

    const kept = await readdir(where.tmp);
    assert.equal(kept.length, 1);
    const folder = path.join(where.tmp, kept[0]!);
    assert.ok(result.stdout.includes(folder), 'the folder is printed');
    assert.deepEqual((await readdir(folder)).sort(), ['gisbot.db', 'gisbot.demo.json', 'gisbot.log', 'report.html']);
    assert.match(result.stdout, /Reviews created on 2GIS from/, 'the stats of the cycle');
    assert.ok(result.stdout.includes(`Report  ${path.join(folder, 'report.html')}`), 'the report path');

    const balance = await runProcess(process.execPath, [BIN, '--config', path.join(folder, 'gisbot.demo.json'), 'balance', '--json', '--business', 'zerno'], {
      cwd: where.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: where.home },
    });
    assert.equal(balance.code, 0, balance.stderr);
    assert.deepEqual(JSON.parse(balance.stdout), { balance: '70.00', held: '0.00', currency: 'RUB' });
    const clinic = await runProcess(process.execPath, [BIN, '--config', path.join(folder, 'gisbot.demo.json'), 'balance', '--json', '--business', 'ulybka'], {
      cwd: where.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: where.home },
    });
    assert.deepEqual(JSON.parse(clinic.stdout), { balance: '0.00', held: '0.00', currency: 'RUB' }, "the clinic's balance is its own");
  });

  test('--balance 12: the summary counts the reviews the money did not reach', async () => {
    const result = await runDemo(where, ['--balance', '12']);
    assert.equal(result.code, 0, result.stderr);
    const line = result.stdout.split('\n').find((each) => each.startsWith('Reviews'));
    assert.ok(line, result.stdout);
    const [total, ...parts] = [...line.matchAll(/(\d+)(?::| answered| skipped| wait| failed| not reached)/g)].map((match) => Number(match[1]));
    assert.equal(total, DEMO_REVIEWS.length);
    assert.equal(parts.reduce((sum, n) => sum + n, 0), total, `every review is counted: ${line}`);
    assert.match(line, /· \d+ not reached \(the balance ran out\)/);
  });

  test('the demo world is an outside party: src/sandbox imports nothing from src/core or src/adapters', async () => {
    const folder = fileURLToPath(new URL('../../src/sandbox/', import.meta.url));
    for (const file of await readdir(folder)) {
      const text = await readFile(path.join(folder, file), 'utf8');
      const imports = [...text.matchAll(/^import[^;]*?from '([^']+)'/gms)].map((match) => match[1]!);
      for (const source of imports) assert.doesNotMatch(source, /\/(core|adapters)\//, `${file} imports ${source}`);
      assert.ok(imports.length > 0 || !text.includes('import '), `${file}: imports not recognised`);
    }
  });
});
