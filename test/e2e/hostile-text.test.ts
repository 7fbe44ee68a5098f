// Issue 18, item 8, through the real binary: reviews, reviewer names, branch names and addresses carrying terminal
// controls (CSI, OSC 0/8/52, BEL, CR, backspace, DEL, C1, the bidi embeddings, overrides and isolates) and a
// model whose drafts repeat them are taken in once; then every human-readable command runs once. None lets a raw
// control reach stdout or stderr (or the HTML report), emoji with joiners, Cyrillic, Kazakh and RTL text show as
// written, and --json keeps every text byte for byte.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultResponder, reviewOf } from '../../src/sandbox/model.ts';
import { firstRawControl, HOSTILE_TERMINAL_TEXTS, WRITTEN_AS_IS } from '../fixtures/terminal-texts.ts';
import { World, worldContext, type RunResult } from '../support/world.ts';

const hostile = HOSTILE_TERMINAL_TEXTS.map((entry, index) => ({
  ...entry,
  branchId: `79000000000${String(index + 1).padStart(5, '0')}`,
  reviewId: String(770_001 + index),
}));
const written = WRITTEN_AS_IS;
const plain = {
  branchId: '7900000000099999',
  branchName: `Кофейня ${written.family}`,
  address: `${written.kazakh} ${written.hebrew}`,
  reviewId: '779999',
  author: `Әлия ${written.thumb}`,
  text: `${written.cyrillic}! ${written.kazakh}\n${written.hebrew}\n${written.arabic}\n${written.family}\t${written.thumb} ${written.flag} ${written.keycap}`,
};
const EXAMPLE = hostile.at(-1)!;
/** Every draft repeats all the hostile texts and the plain one: the model's words are outside text too. */
const DRAFT_TAIL = `${hostile.map((entry) => entry.text).join('\n')}\n${plain.text}`;

function assertNoRawControl(output: string, what: string): void {
  const leak = firstRawControl(output);
  assert.equal(leak, null, `${what}: a raw control reached the person: ${leak}`);
}

function assertShown(result: RunResult, what: string): void {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  assertNoRawControl(result.stdout, `${what} (stdout)`);
  assertNoRawControl(result.stderr, `${what} (stderr)`);
}

describe('hostile outside text through every human-readable command', () => {
  let world: World;
  let polled: RunResult;
  const runs = new Map<string, RunResult>();
  let report = '';

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    for (const entry of hostile) {
      world.twogis.addBranch({ id: entry.branchId, name: entry.text, address: entry.text, orgId: '100' });
      world.twogis.addReview(entry.branchId, { id: entry.reviewId, rating: 1, text: entry.text, user: { name: entry.text } });
    }
    world.twogis.addBranch({ id: plain.branchId, name: plain.branchName, address: plain.address, orgId: '100' });
    world.twogis.addReview(plain.branchId, { id: plain.reviewId, rating: 2, text: plain.text, user: { name: plain.author } });
    world.model.responder = (req) => {
      const answer = defaultResponder(req);
      const review = reviewOf(req.messages.filter((message) => message.role === 'user').at(-1)?.content ?? '');
      return { ...answer, text: `${review}\n${DRAFT_TAIL}\n${answer.text}` };
    };
    const ctx = await worldContext(world);
    try {
      await ctx.store.migrate();
      await ctx.store.topUp(10_000n, 'test');
    } finally {
      await ctx.close();
    }
    // The intake itself, as a person watching it sees it.
    polled = await world.run(['poll-once']);
    const out = path.join(world.dir, 'report.html');
    const commands: Record<string, string[]> = {
      reply: ['reply'],
      'reply <id> --dry-run': ['reply', EXAMPLE.reviewId, '--dry-run'],
      logs: ['logs'],
      branches: ['branches'],
      stats: ['stats'],
      report: ['report', '--out', out],
      'reply --json': ['reply', '--json'],
      'reply <id> --dry-run --json': ['reply', EXAMPLE.reviewId, '--dry-run', '--json'],
      'logs --json': ['logs', '--json', '--limit', '500'],
      'branches --json': ['branches', '--json'],
      'stats --json': ['stats', '--json'],
    };
    const results = await Promise.all([
      ...Object.values(commands).map((args) => world.run(args)),
      // With colours forced, as on a terminal: gisbot's own colour codes are the only escapes.
      world.run(['reply', EXAMPLE.reviewId, '--dry-run'], { env: { FORCE_COLOR: '1' } }),
    ]);
    [...Object.keys(commands), 'reply <id> --dry-run in colour'].forEach((name, index) => runs.set(name, results[index]!));
    report = await readFile(out, 'utf8').catch(() => '');
  });
  after(async () => {
    await world.checkInvariants([...hostile.map((entry) => entry.reviewId), plain.reviewId], 0n);
    await world.close();
  });

  test('poll-once: the lines on the terminal hold no raw control', () => {
    assert.equal(polled.code, 0, polled.stderr);
    assertNoRawControl(polled.stdout + polled.stderr, 'poll-once');
  });

  test('reply: the queue shows every waiting review, controls as visible marks, plain names as written', () => {
    const result = runs.get('reply')!;
    assertShown(result, 'reply');
    assert.equal(result.stdout.trim().split('\n').length, 1 + hostile.length + 1, result.stdout);
    assert.match(result.stdout, /␛\[2K/, 'the CSI shows as ␛[2K');
    assert.ok(result.stdout.includes(plain.author), 'the name with its emoji and Kazakh letter');
    assert.ok(result.stdout.includes(plain.branchName), 'the branch name with its ZWJ family');
  });

  test("reply <id> --dry-run: the review and the model's draft in full, controls visible, the rest as written", () => {
    const result = runs.get('reply <id> --dry-run')!;
    assertShown(result, 'reply <id> --dry-run');
    assert.ok(result.stdout.includes(`  ${EXAMPLE.shown}`), 'the complaint stays a complaint: its CR and CSI are visible');
    for (const entry of hostile) assert.ok(result.stdout.includes(entry.shown), `${entry.name} shows as ${JSON.stringify(entry.shown)}`);
    for (const line of plain.text.split('\n')) assert.ok(result.stdout.includes(`  ${line}\n`), `${JSON.stringify(line)} shows as written, on its own line`);
  });

  test('reply <id> --dry-run in colour: only our colour codes, the outside text still visible', () => {
    const result = runs.get('reply <id> --dry-run in colour')!;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\u001b\[36m/, 'the draft is coloured');
    const ours = /\u001b\[\d+(;\d+)*m/g;
    assertNoRawControl(result.stdout.replace(ours, ''), 'reply <id> --dry-run in colour (stdout)');
    assertNoRawControl(result.stderr.replace(ours, ''), 'reply <id> --dry-run in colour (stderr)');
    assert.ok(result.stdout.includes(EXAMPLE.shown));
  });

  test('logs: no raw control; the plain name as written', () => {
    const result = runs.get('logs')!;
    assertShown(result, 'logs');
    assert.ok(result.stdout.includes(plain.author), result.stdout);
  });

  test('branches: every branch name and address with controls as marks; the plain ones as written', () => {
    const result = runs.get('branches')!;
    assertShown(result, 'branches');
    assert.ok(result.stdout.includes(plain.branchName));
    assert.ok(result.stdout.includes(plain.address));
    assert.ok(result.stdout.includes('␛]52;c;'), 'the clipboard write shows as text');
  });

  test('stats: the branch names as marks or as written', () => {
    const result = runs.get('stats')!;
    assertShown(result, 'stats');
    assert.ok(result.stdout.includes(plain.branchName));
    assert.ok(result.stdout.includes('\\u{202E}'), 'the right-to-left override shows as an escape');
  });

  test('report: the HTML holds no raw control; RTL, Kazakh and emoji as written', () => {
    assertShown(runs.get('report')!, 'report');
    assertNoRawControl(report, 'report.html');
    assert.ok(report.includes(written.hebrew) && report.includes(written.arabic) && report.includes(written.kazakh) && report.includes(written.family));
    assert.ok(report.includes('␍␛[2K␛[32mОтличное место'), 'the complaint stays a complaint in the report');
  });

  test('--json keeps every outside text exactly as stored', () => {
    for (const name of ['reply --json', 'reply <id> --dry-run --json', 'logs --json', 'branches --json', 'stats --json']) {
      assert.equal(runs.get(name)!.code, 0, `${name}: ${runs.get(name)!.stderr}`);
    }
    const expected = new Map([...hostile.map((entry) => [entry.reviewId, entry] as const)]);
    const queue = JSON.parse(runs.get('reply --json')!.stdout) as Array<{ id: string; text: string; authorName: string; branchName: string }>;
    assert.equal(queue.length, hostile.length + 1);
    for (const item of queue) {
      const entry = expected.get(item.id);
      if (!entry) {
        assert.deepEqual([item.text, item.authorName, item.branchName], [plain.text, plain.author, plain.branchName]);
        continue;
      }
      assert.deepEqual([item.text, item.authorName, item.branchName], [entry.text, entry.text, entry.text], entry.name);
    }

    const draft = JSON.parse(runs.get('reply <id> --dry-run --json')!.stdout) as { text: string };
    assert.ok(draft.text.startsWith(`${EXAMPLE.text}\n${DRAFT_TAIL}\n`), 'the draft as the model wrote it');

    const events = runs.get('logs --json')!.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; reviewId: string; data: { text?: string; author?: string } });
    const intake = events.filter((event) => event.type === 'review.new');
    assert.equal(intake.length, hostile.length + 1);
    for (const event of intake) {
      const entry = expected.get(event.reviewId);
      assert.deepEqual([event.data.text, event.data.author], entry ? [entry.text, entry.text] : [plain.text, plain.author]);
    }

    const branches = JSON.parse(runs.get('branches --json')!.stdout) as Array<{ id: string; name: string; address: string }>;
    for (const entry of hostile) {
      const branch = branches.find((each) => each.id === entry.branchId);
      assert.deepEqual([branch?.name, branch?.address], [entry.text, entry.text], entry.name);
    }
    const stats = JSON.parse(runs.get('stats --json')!.stdout) as { branches: Array<{ id: string; name: string }> };
    for (const entry of hostile) assert.equal(stats.branches.find((each) => each.id === entry.branchId)?.name, entry.text, entry.name);
  });
});
