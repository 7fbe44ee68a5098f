// Waiting reviews re-read on 2GIS (issue 18, item 5), end to end with the real binary run from a simulated cron
// (poll-once every 5 minutes of GISBOT_TEST_NOW time), on MariaDB and SQLite, the 2GIS and Telegram sandboxes:
// 45 reviews wait for a person with a card each; a manager answers two of them on 2GIS (the newest, listed on the
// branch's first page, and an old one behind 50 answered reviews); each is closed within approval.recheckMinutes
// and its card loses its buttons; without Telegram the same happens to two more. The 2GIS requests the re-reads
// cost each cycle stay within the stated budget.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RECHECK_REQUESTS_PER_CYCLE } from '../../src/core/answering/recheck.ts';
import type { RecordedRequest } from '../../src/sandbox/twogis.ts';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { World, type Backend, type RunResult } from '../support/world.ts';

const A = '70000001017466501';
const B = '70000001017466502';
const C = '70000001017466503';
const OWNER = '1000001';
const CRON_MS = 5 * 60_000;
const RECHECK_MINUTES = 10;
const ELSEWHERE = 'answered on 2GIS by someone else';

/** A re-read of a waiting review: the listing of what is still unanswered, or one review read alone. */
function isReread(request: RecordedRequest): boolean {
  if (request.method !== 'GET') return false;
  if (/^presence\/branch\/[^/]+\/reviews$/.test(request.path)) return request.query.withoutAnswer === 'true';
  return /^presence\/reviews\/[^/]+$/.test(request.path);
}

for (const backend of ['mysql', 'sqlite'] as Backend[]) {
  describe(`waiting reviews re-read on 2GIS, from cron (${backend})`, () => {
    let world: World;
    let tg: TelegramSandbox;
    let started = 0;
    let cycle = 0;
    /** Re-read requests of each poll-once. */
    const costs: number[] = [];
    const waitingOnA: string[] = [];
    const waitingOnB: string[] = [];

    /** The next cron run, 5 simulated minutes after the last. */
    const poll = async (options: { telegram?: boolean } = {}): Promise<RunResult> => {
      const at = new Date(started + cycle * CRON_MS).toISOString();
      cycle += 1;
      const before = world.twogis.requests.length;
      const env: Record<string, string> = { GISBOT_TEST_NOW: at };
      if (options.telegram !== false) env.GISBOT_TELEGRAM_TOKEN = tg.token;
      const result = await world.run(['poll-once', '--json'], { env });
      assert.equal(result.code, 0, result.stderr);
      costs.push(world.twogis.requests.slice(before).filter(isReread).length);
      return result;
    };
    const review = async (id: string) => (await world.query('SELECT state, reason FROM reviews WHERE id = ?', [id]))[0];
    const card = (reviewId: string): SandboxMessage => {
      const found = tg.messagesIn(OWNER).find((message) => message.text.includes(`review ${reviewId}`));
      assert.ok(found, `no card of review ${reviewId}`);
      return found;
    };
    const buttons = (reviewId: string) => card(reviewId).buttons.flat().length;

    before(async () => {
      world = await World.start({ database: backend });
      tg = await TelegramSandbox.start();
      tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
      for (const [id, name] of [[A, 'Кофейня на Ленина'], [B, 'Кофейня на Абая'], [C, 'Кофейня на Достык']] as const) {
        world.twogis.addBranch({ id, name, orgId: '100' });
      }
      // Branch A: 14 reviews wait, behind 50 newer ones answered in the cabinet (off the listing's first page).
      for (let n = 0; n < 14; n += 1) waitingOnA.push(world.twogis.addReview(A, { id: `501${String(n).padStart(3, '0')}`, rating: 1, text: `Плохо №${n}` }).id);
      for (let n = 0; n < 50; n += 1) {
        const answered = world.twogis.addReview(A, { id: `509${String(n).padStart(3, '0')}`, rating: 5 });
        world.twogis.answerAsOwner(answered.id, 'Спасибо!');
      }
      // Branches B and C: 15 each, all on the first page.
      for (let n = 0; n < 15; n += 1) waitingOnB.push(world.twogis.addReview(B, { id: `502${String(n).padStart(3, '0')}`, rating: 2, text: `Так себе №${n}` }).id);
      for (let n = 0; n < 15; n += 1) world.twogis.addReview(C, { id: `503${String(n).padStart(3, '0')}`, rating: 1, text: `Ужасно №${n}` });
      await writeFile(
        path.join(world.dir, '.gisbotrc.json'),
        JSON.stringify({ telegram: { chatIds: [OWNER], apiUrl: tg.url }, approval: { recheckMinutes: RECHECK_MINUTES } }),
      );
      started = Date.now();
    });
    after(async () => {
      await tg.close();
      await world.close();
    });

    test('45 reviews wait, each with its card; the newest among the last', async () => {
      // Ten cards a turn, two turns a run; the newest review arrives once most have theirs, and gets one of the last.
      for (let run = 0; run < 2; run += 1) await poll();
      world.twogis.addReview(A, { id: '501999', rating: 2, text: 'Очень долго ждали.' });
      await poll();
      const waiting = await world.query("SELECT COUNT(*) AS n FROM reviews WHERE state = 'needs_approval'");
      assert.equal(Number(waiting[0]?.n), 45);
      assert.equal((await world.query('SELECT id FROM telegram_cards')).length, 45);
      assert.equal(buttons('501999'), 5, 'send, regenerate, edit, skip, complain');
    });

    test('a manager answers the newest and an old one on 2GIS: both closed within recheckMinutes, their cards without buttons', async () => {
      const oldest = waitingOnA[0]!;
      world.twogis.answerAsOwner('501999', 'Простите, разберёмся.');
      world.twogis.answerAsOwner(oldest, 'Мы исправились.');
      for (let minutes = 0; minutes < RECHECK_MINUTES; minutes += CRON_MS / 60_000) await poll();
      for (const id of ['501999', oldest]) {
        assert.deepEqual({ ...(await review(id)) }, { state: 'skipped', reason: ELSEWHERE }, `review ${id}`);
        assert.equal(buttons(id), 0, `the card of ${id} has no live buttons`);
        assert.match(card(id).text, new RegExp(`skipped \\(${ELSEWHERE}\\)`));
      }
      const still = await world.query("SELECT COUNT(*) AS n FROM reviews WHERE state = 'needs_approval'");
      assert.equal(Number(still[0]?.n), 43, 'the others keep waiting');
    });

    test('without Telegram the same: two more closed within recheckMinutes; the next Telegram turn edits their cards', async () => {
      const newestOnB = waitingOnB.at(-1)!;
      const oldOnA = waitingOnA[1]!;
      world.twogis.answerAsOwner(newestOnB, 'Спасибо, исправим.');
      world.twogis.answerAsOwner(oldOnA, 'Извините нас.');
      for (let minutes = 0; minutes < RECHECK_MINUTES; minutes += CRON_MS / 60_000) await poll({ telegram: false });
      for (const id of [newestOnB, oldOnA]) assert.deepEqual({ ...(await review(id)) }, { state: 'skipped', reason: ELSEWHERE }, `review ${id}`);
      await poll();
      for (const id of [newestOnB, oldOnA]) assert.equal(buttons(id), 0, `the card of ${id} has no live buttons`);
    });

    test('the re-reads cost each cycle at most the stated budget', () => {
      assert.ok(Math.max(...costs) <= RECHECK_REQUESTS_PER_CYCLE, `re-read requests per cycle: ${costs.join(', ')}`);
      // 45 waiting on 3 branches: B's and C's show on the first page intake reads anyway; A's take one listing
      // every 10 minutes, and each review found answered one read to confirm it.
      const total = costs.reduce((sum, cost) => sum + cost, 0);
      console.log(`re-read requests per cycle (${backend}): ${costs.join(', ')}`);
      assert.ok(total <= 12, `re-read requests over ${costs.length} cycles: ${total} (${costs.join(', ')})`);
    });
  });
}
