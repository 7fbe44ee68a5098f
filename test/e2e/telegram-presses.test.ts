// Presses that survive a database hiccup and act only on their own card (issue 18, items 1 and 6), with the real
// binary on MariaDB and SQLite and the Telegram Bot API sandbox. An update is confirmed to Telegram only once it
// is stored; one whose handling met a locked or dropped database is acted on again from the database. A press
// acts only on the card of the message it came from; a copy gisbot sent but never heard back about is adopted.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultResponder, type ChatRequest } from '../../src/sandbox/model.ts';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { DatabaseFaults } from '../support/db-faults.ts';
import { World, type Backend, type RunResult } from '../support/world.ts';

const BRANCH = '70000001017466302';
const OWNER = '1000001';
const ANNA = { id: 1000001, firstName: 'Анна', username: 'anna' };
const REDRAFT = 'Простите нас, пожалуйста: мы уже говорим с поварами.';

for (const backend of ['mysql', 'sqlite'] as const satisfies readonly Backend[]) {
  describe(`Telegram presses on ${backend}`, () => {
    let world: World;
    let tg: TelegramSandbox;
    let faults: DatabaseFaults;
    /** Set by a test: what the model does first when asked to draft again for review 991001; every such draft is REDRAFT. */
    let onDraft: ((request: ChatRequest) => Promise<void>) | null = null;
    let redrafting = false;

    const poll = (): Promise<RunResult> => world.run(['poll-once', '--json'], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
    const state = async (id: string) => (await world.query('SELECT state FROM reviews WHERE id = ?', [id]))[0]?.state;
    const copies = (reviewId: string): SandboxMessage[] => tg.messagesIn(OWNER).filter((message) => message.text.includes(`review ${reviewId}`));
    const card = (reviewId: string): SandboxMessage => {
      const found = copies(reviewId);
      assert.equal(found.length, 1, `one card of review ${reviewId}`);
      return found[0]!;
    };
    const actions = (message: SandboxMessage) => message.buttons.flat().map((button) => button.data.split(':')[0]);

    before(async () => {
      world = await World.start({ database: backend });
      faults = new DatabaseFaults(world);
      tg = await TelegramSandbox.start();
      tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно»', orgId: '100' });
      await writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ telegram: { chatIds: [OWNER], apiUrl: tg.url } }));
      world.model.responder = async (request: ChatRequest) => {
        if (redrafting && JSON.stringify(request.messages).includes('Холодно и шумно')) {
          const hook = onDraft;
          onDraft = null;
          await hook?.(request);
          return { text: REDRAFT, finishReason: 'stop' };
        }
        return defaultResponder(request);
      };
      assert.equal((await world.run(['balance', 'add', '20', '--yes'])).code, 0);
    });
    after(async () => {
      await faults.settle();
      await tg.close();
      await world.close();
    });

    test('a press whose handling meets a locked database is acted on by a later run; the press after it does not move the offset past it', async () => {
      world.twogis.addReview(BRANCH, { id: '991001', rating: 1, text: 'Холодно и шумно.', user: { id: '41', name: 'Алла' } });
      world.twogis.addReview(BRANCH, { id: '991002', rating: 1, text: 'Долго несли.', user: { id: '42', name: 'Борис' } });
      assert.equal((await poll()).code, 0);
      const regenerate = tg.press(OWNER, card('991001').messageId, 'regenerate', ANNA);
      const skip = tg.press(OWNER, card('991002').messageId, 'skip', ANNA);
      // While the new draft is in the model, the database's write lock is taken past what a worker waits for.
      redrafting = true;
      onDraft = async () => {
        if (backend === 'sqlite') return faults.holdWriteLock(7_000);
        await faults.holdRows("SELECT id FROM telegram_cards WHERE review_id = '991001' FOR UPDATE", 4_000);
        faults.killWaiterSoon(/UPDATE telegram_cards/, 4_000);
      };
      const hit = await poll();
      assert.equal(hit.code, 1, hit.stderr);
      assert.match(hit.stderr, /locked|Lock wait|connection|closed|interrupted/i);
      await faults.settle();
      for (let run = 0; run < 2; run += 1) assert.equal((await poll()).code, 0);
      assert.equal(tg.answerTo(skip)?.text, 'Skipped: the review keeps waiting (gisbot reply 991002)');
      assert.equal(tg.answerTo(regenerate)?.text, 'A new draft is on the card', 'the press was acted on after the hiccup');
      assert.ok(card('991001').text.includes(REDRAFT), card('991001').text);
      assert.equal(tg.pendingUpdates, 0, 'both confirmed to Telegram');
      assert.deepEqual(await world.query('SELECT update_id FROM telegram_updates WHERE done = 0'), [], 'nothing left unfinished');
    });

    test('a press acts only on the card of its own message: send of one card pressed on another card is refused', async () => {
      world.twogis.addReview(BRANCH, { id: '991003', rating: 1, text: 'Грязно.', user: { id: '43', name: 'Вера' } });
      world.twogis.addReview(BRANCH, { id: '991004', rating: 1, text: 'Невкусно.', user: { id: '44', name: 'Глеб' } });
      assert.equal((await poll()).code, 0);
      const other = card('991004').buttons.flat().find((button) => button.data.startsWith('send:'))!.data;
      const forged = tg.forgePress(OWNER, other, ANNA, card('991003').messageId);
      const posts = world.twogis.totalPosts;
      assert.equal((await poll()).code, 0);
      assert.equal(world.twogis.totalPosts, posts, 'nothing posted');
      assert.deepEqual([await state('991003'), await state('991004')], ['needs_approval', 'needs_approval']);
      assert.match(tg.answerTo(forged)?.text ?? '', /not on the card it belongs to/);
      assert.deepEqual(actions(card('991004')), ['send', 'regenerate', 'edit', 'skip', 'complain']);
    });

    test('a card Telegram delivered while gisbot heard nothing back: a press on that copy adopts it, and every copy is edited', async () => {
      tg.cutAfterDelivery('sendMessage');
      world.twogis.addReview(BRANCH, { id: '991005', rating: 1, text: 'Очередь на полчаса.', user: { id: '45', name: 'Дина' } });
      const cut = await poll();
      assert.equal(cut.code, 1, 'Telegram did not answer');
      assert.equal(copies('991005').length, 1, 'delivered all the same');
      assert.equal((await poll()).code, 0);
      const [orphan, recorded] = copies('991005');
      assert.ok(orphan && recorded, 'sent again: gisbot could not know the first one arrived');
      const send = tg.press(OWNER, orphan.messageId, 'send', ANNA);
      assert.equal((await poll()).code, 0);
      assert.match(tg.answerTo(send)?.text ?? '', /^Sent: charged 5\.00/);
      assert.equal(world.twogis.postsTo('991005'), 1);
      for (const copy of copies('991005')) {
        assert.deepEqual(copy.buttons, [], `no live buttons on message ${copy.messageId}`);
        assert.match(copy.text, /Sent by Анна/);
      }
      await world.checkInvariants(world.twogis.reviewIds());
    });
  });
}
