// `poll-once` stopped by SIGINT or SIGTERM (issue 18): a review being drafted goes back to the queue with its
// reserve, an answer on its way to 2GIS is finished and charged once, the exit code says which signal; Ctrl-C on
// a terminal while the spinner shows; and the summary counts an answer sent from a Telegram press.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TelegramSandbox } from '../../src/sandbox/telegram.ts';
import { KEYS, Pty } from '../support/pty.ts';
import { eventually, World } from '../support/world.ts';

const BRANCH = '7800000000000001';
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

for (const backend of ['sqlite', 'mysql'] as const) {
  // Each backend gets each signal once in each place: SQLite SIGINT at the model and SIGTERM at the POST, MariaDB
  // the other way round.
  const atModel = backend === 'sqlite' ? 'SIGINT' : 'SIGTERM';
  const atPost = backend === 'sqlite' ? 'SIGTERM' : 'SIGINT';

  describe(`poll-once stopped by a signal (${backend})`, () => {
    let world: World;
    const state = async (id: string) => (await world.query('SELECT state FROM reviews WHERE id = ?', [id]))[0]?.state;
    const charges = async (id: string) => (await world.query("SELECT id FROM ledger WHERE kind = 'charge' AND review_id = ?", [id])).length;
    const asked = () => world.model.requests.filter((request) => request.path === 'chat/completions').length;

    before(async () => {
      world = await World.start({ database: backend });
      world.receiver.ack = true;
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня', orgId: '100' });
      assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);
    });
    after(() => world.close());

    test(`${atModel} during a slow model call: exit ${EXIT[atModel]}, the review back in the queue with its reserve; the next run answers it once`, async () => {
      world.twogis.addReview(BRANCH, { id: '78001', rating: 5 });
      world.model.latencyMs = 30_000;
      const before = asked();
      const run = world.spawn(['poll-once', '--json']);
      await eventually(() => asked() > before, 'the model was asked', 20_000);
      run.child.kill(atModel);
      const stopped = await run.done;
      assert.equal(stopped.code, EXIT[atModel], stopped.stderr);
      assert.match(stopped.stderr, new RegExp(`stopped by ${atModel}: 0 answered, 1 put back in the queue`));
      assert.equal(JSON.parse(stopped.stdout).posted, 0);
      assert.equal(await state('78001'), 'new');
      assert.equal(world.twogis.postsTo('78001'), 0);
      assert.equal(await charges('78001'), 0);
      await world.checkInvariants(world.twogis.reviewIds()); // no reserve left, nothing charged

      world.model.latencyMs = 0;
      const next = await world.run(['poll-once', '--json']);
      assert.equal(next.code, 0, next.stderr);
      assert.equal(JSON.parse(next.stdout).posted, 1);
      assert.equal(world.twogis.postsTo('78001'), 1);
      assert.equal(await charges('78001'), 1);
      await world.checkInvariants(world.twogis.reviewIds());
    });

    test(`${atPost} twice while the answer is on its way to 2GIS: it is finished and charged once, exit ${EXIT[atPost]}`, async () => {
      world.twogis.addReview(BRANCH, { id: '78002', rating: 5 });
      world.twogis.postApplyDelayMs = 1_500;
      const run = world.spawn(['poll-once', '--json']);
      world.twogis.onAnswerReceived = () => {
        run.child.kill(atPost);
        setTimeout(() => run.child.kill(atPost), 300);
      };
      const stopped = await run.done;
      world.twogis.onAnswerReceived = null;
      world.twogis.postApplyDelayMs = 0;
      assert.equal(stopped.code, EXIT[atPost], stopped.stderr);
      assert.match(stopped.stderr, /never abandoned/, 'the second signal is answered, not obeyed');
      assert.deepEqual(
        { posted: JSON.parse(stopped.stdout).posted, charged: JSON.parse(stopped.stdout).charged },
        { posted: 1, charged: '5.00' },
      );
      assert.equal(await state('78002'), 'posted');
      assert.equal(world.twogis.postsTo('78002'), 1);
      assert.equal(await charges('78002'), 1);
      await world.checkInvariants(world.twogis.reviewIds());
    });

    if (backend !== 'sqlite') return;

    test('Ctrl-C on a terminal while the spinner shows: exit 130, the review back in the queue', async () => {
      world.twogis.addReview(BRANCH, { id: '78003', rating: 5 });
      world.model.latencyMs = 30_000;
      const before = asked();
      const pty = new Pty(['poll-once'], { cwd: world.dir, env: world.env() });
      await pty.expect('polling 2GIS');
      await eventually(() => asked() > before, 'the model was asked', 20_000);
      await pty.type(KEYS.ctrlC);
      const stopped = await pty.done;
      world.model.latencyMs = 0;
      assert.equal(stopped.code, 130, stopped.text.slice(-3000));
      assert.match(stopped.text, /stopped by SIGINT: 0 answered, 1 put back in the queue/);
      assert.equal(await state('78003'), 'new');
      assert.equal(world.twogis.postsTo('78003'), 0);
      await world.checkInvariants(world.twogis.reviewIds());
    });

    test('an answer sent from a Telegram press is in the summary: posted 1, charged 5.00', async () => {
      const tg = await TelegramSandbox.start();
      try {
        const owner = '1000001';
        tg.addChat({ id: owner, type: 'private', title: 'Анна' });
        const config = path.join(world.dir, 'telegram.json');
        await writeFile(config, JSON.stringify({ telegram: { chatIds: [owner], apiUrl: tg.url } }), { mode: 0o600 });
        const poll = () => world.run(['poll-once', '--json', '--config', config], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });

        world.twogis.addReview(BRANCH, { id: '78004', rating: 1, text: 'Долго ждали заказ.' });
        const waited = await poll();
        assert.equal(waited.code, 0, waited.stderr);
        assert.equal(JSON.parse(waited.stdout).awaitingApproval, 1);
        const card = tg.messagesIn(owner).find((message) => message.text.includes('review 78004'));
        assert.ok(card, 'the card went out');
        const balance = (await world.run(['balance', '--json'])).stdout;

        tg.press(owner, card.messageId, 'send');
        const sent = await poll();
        assert.equal(sent.code, 0, sent.stderr);
        assert.equal(world.twogis.postsTo('78004'), 1);
        const summary = JSON.parse(sent.stdout);
        assert.deepEqual({ posted: summary.posted, charged: summary.charged }, { posted: 1, charged: '5.00' });
        assert.equal(Number(summary.balance), Number(JSON.parse(balance).balance) - 5, 'the balance after the press');
        await world.checkInvariants(world.twogis.reviewIds());
      } finally {
        await tg.close();
      }
    });
  });
}
