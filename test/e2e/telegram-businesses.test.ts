// One Telegram bot for many businesses (issue 19), with the real binary, the 2GIS, model and Telegram sandboxes, on
// SQLite and MariaDB: two businesses, each its own 2GIS account and chat, and the agency's staff chat. A business's
// chat gets its cards only; the staff chat gets both, each naming its business, and may act on either; a press
// carrying the other business's card from a business's chat changes nothing and is on record; a Send posts with the
// business's own 2GIS account and charges it alone; the panel shows a business's chat its own figures, the staff
// chat every business's; `run` serves them all with the one bot.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { runProcess, startProcess } from '../support/run-process.ts';
import { BIN, eventually, World, type RunResult } from '../support/world.ts';

const COFFEE_CHAT = '1000301';
const DENTAL_CHAT = '1000302';
const STAFF = '-1009876500301';
const ANNA = { id: 1000301, firstName: 'Анна' };
const STAFFER = { id: 3000303, firstName: 'Олег' };
const COFFEE_NAME = 'Кофейня «Зерно»';

for (const backend of ['sqlite', 'mysql'] as const) {
  describe(`one Telegram bot, two businesses and a staff chat (${backend})`, () => {
    let world: World;
    let tg: TelegramSandbox;
    let env: Record<string, string>;
    let configFile: string;
    const accounts = {
      coffee: { login: 'coffee@example.kz', password: 'sentinel-coffee-password-7a1b', org: '401', branch: '70000001017466501' },
      'dental-7': { login: 'dental@example.kz', password: 'sentinel-dental-password-8c2d', org: '402', branch: '70000001017466502' },
    } as const;

    const gisbot = (args: string[]): Promise<RunResult> => runProcess(process.execPath, [BIN, '--config', configFile, ...args], { cwd: world.dir, env });
    const poll = () => gisbot(['poll-once', '--json']);
    const cardOf = (chatId: string, reviewId: string): SandboxMessage | undefined => tg.messagesIn(chatId).find((message) => message.text.includes(`review ${reviewId}`));
    const card = (chatId: string, reviewId: string): SandboxMessage => {
      const found = cardOf(chatId, reviewId);
      assert.ok(found, `no card of review ${reviewId} in chat ${chatId}`);
      return found;
    };
    const cardId = (message: SandboxMessage) => message.buttons.flat()[0]!.data.split(':').slice(1);
    const state = async (id: string) => (await world.query('SELECT state FROM reviews WHERE id = ?', [id]))[0]?.state;
    const charges = async () =>
      (await world.query("SELECT business_id, review_id FROM ledger WHERE kind = 'charge' ORDER BY id")).map((row) => `${row.business_id}:${row.review_id}`);
    const balance = async (business: string) => JSON.parse((await gisbot(['balance', '--json', '--business', business])).stdout).balance;

    before(async () => {
      world = await World.start({ database: backend });
      tg = await TelegramSandbox.start();
      for (const [id, title] of [[COFFEE_CHAT, 'Анна'], [DENTAL_CHAT, 'Доктор']] as const) tg.addChat({ id, type: 'private', title });
      tg.addChat({ id: STAFF, type: 'supergroup', title: 'Агентство' });
      for (const [id, account] of Object.entries(accounts)) {
        world.twogis.addAccount({ login: account.login, password: account.password });
        world.twogis.addOrg({ id: account.org, name: id, login: account.login });
        world.twogis.addBranch({ id: account.branch, name: `Филиал ${id}`, orgId: account.org });
      }
      configFile = path.join(world.dir, 'agency.json');
      await writeFile(
        configFile,
        JSON.stringify({
          billing: { pricePerReply: '5.00' },
          polling: { intervalSeconds: 0.3 },
          telegram: { chatIds: [STAFF], apiUrl: tg.url },
          businesses: {
            coffee: { name: COFFEE_NAME, twogis: { login: accounts.coffee.login }, telegram: { chatIds: [COFFEE_CHAT] } },
            // No name: a staff chat names it by its id.
            'dental-7': { twogis: { login: accounts['dental-7'].login }, telegram: { chatIds: [DENTAL_CHAT] } },
          },
        }),
        { mode: 0o600 },
      );
      env = Object.fromEntries(Object.entries(world.env()).filter(([key]) => !key.startsWith('GISBOT_2GIS_') || key === 'GISBOT_2GIS_API_URL'));
      env.GISBOT_COFFEE_2GIS_PASSWORD = accounts.coffee.password;
      env.GISBOT_DENTAL_7_2GIS_PASSWORD = accounts['dental-7'].password;
      env.GISBOT_TELEGRAM_TOKEN = tg.token;
      const topUp = await gisbot(['balance', 'add', '20', '--yes', '--business', 'coffee']);
      assert.equal(topUp.code, 0, topUp.stderr);
    });
    after(async () => {
      await tg.close();
      await world.close();
    });

    test("each business's chat gets its own cards only; the staff chat gets both, each naming its business; alerts too", async () => {
      world.twogis.addReview(accounts.coffee.branch, { id: 'c-1', rating: 1, text: 'Кофе остыл.', user: { id: '51', name: 'Сергей' } });
      world.twogis.addReview(accounts['dental-7'].branch, { id: 'd-1', rating: 1, text: 'Больно и долго.', user: { id: '52', name: 'Ольга' } });
      // dental-7 has no money: its 5★ review waits for it, and its chats are told.
      world.twogis.addReview(accounts['dental-7'].branch, { id: 'd-2', rating: 5, text: 'Спасибо доктору!', user: { id: '53', name: 'Ирина' } });
      const result = await poll();
      assert.equal(result.code, 3, `dental-7 stopped for lack of balance: ${result.stderr}`);
      assert.deepEqual([await state('c-1'), await state('d-1')], ['needs_approval', 'needs_approval']);

      assert.ok(card(COFFEE_CHAT, 'c-1'));
      assert.equal(cardOf(COFFEE_CHAT, 'd-1'), undefined, "the coffee chat never gets dental-7's card");
      assert.ok(card(DENTAL_CHAT, 'd-1'));
      assert.equal(cardOf(DENTAL_CHAT, 'c-1'), undefined, "dental-7's chat never gets the coffee card");
      assert.ok(!card(COFFEE_CHAT, 'c-1').text.includes('🏢'), "a business's own chat needs no name on its cards");
      assert.match(card(STAFF, 'c-1').text, new RegExp(`^🏢 ${COFFEE_NAME}\n`), 'the staff copy names its business');
      assert.match(card(STAFF, 'd-1').text, /^🏢 dental-7\n/, 'by its id when it has no name');

      const stopped = (chatId: string) => tg.messagesIn(chatId).filter((message) => /Answering stopped/.test(message.text));
      assert.equal(stopped(DENTAL_CHAT).length, 1, "dental-7's chat is told its answering stopped");
      assert.ok(!stopped(DENTAL_CHAT)[0]!.text.includes('🏢'));
      assert.equal(stopped(STAFF).length, 1);
      assert.match(stopped(STAFF)[0]!.text, /^🏢 dental-7\nAnswering stopped/, 'the staff alert names the business');
      assert.deepEqual(stopped(COFFEE_CHAT), [], "not the coffee chat: it is not the coffee's money");
    });

    test("a press carrying dental-7's card from the coffee chat changes nothing and is recorded telegram.refused", async () => {
      const dental = card(DENTAL_CHAT, 'd-1');
      const [dentalCardId, revision] = cardId(dental);
      const before = { charges: await charges(), reviews: await world.query('SELECT business_id, id, state FROM reviews ORDER BY business_id, id') };
      // A forged button on the coffee chat's own card: the callback data names dental-7's card.
      const forged = tg.forgePress(COFFEE_CHAT, `send:${dentalCardId}:${revision}`, ANNA, card(COFFEE_CHAT, 'c-1').messageId);
      const result = await poll();
      assert.equal(result.code, 3, result.stderr);
      assert.equal(tg.answerTo(forged)?.text, 'gisbot does not know this card');
      assert.equal(world.twogis.postsTo('d-1'), 0);
      assert.equal(world.twogis.postsTo('c-1'), 0);
      assert.deepEqual(await charges(), before.charges, 'nobody charged');
      assert.deepEqual(await world.query('SELECT business_id, id, state FROM reviews ORDER BY business_id, id'), before.reviews, 'no review changed');
      const refused = await world.query("SELECT business_id, data FROM events WHERE type = 'telegram.refused'");
      assert.deepEqual(
        refused.map((row) => [row.business_id, JSON.parse(String(row.data))]),
        [['coffee', { chatId: COFFEE_CHAT, kind: 'press', cardId: Number(dentalCardId) }]],
        'on record as the event of the business whose chat pressed',
      );
      const frame = world.receiver.frames.find((one) => one.event.type === 'telegram.refused');
      assert.equal(frame?.event.businessId, 'coffee', 'the WebSocket frame names the business');
    });

    test("Send from the coffee chat posts with the coffee's 2GIS account and charges the coffee alone", async () => {
      const press = tg.press(COFFEE_CHAT, card(COFFEE_CHAT, 'c-1').messageId, 'send', ANNA);
      const result = await poll();
      assert.equal(result.code, 3, result.stderr);
      assert.equal(tg.answerTo(press)?.text, 'Sent: charged 5.00 RUB, balance 15.00 RUB');
      assert.equal(world.twogis.postsTo('c-1'), 1);
      assert.equal(world.twogis.postedBy('c-1'), accounts.coffee.login);
      assert.deepEqual(world.twogis.foreignPosts, []);
      assert.deepEqual(await charges(), ['coffee:c-1']);
      assert.deepEqual([await balance('coffee'), await balance('dental-7')], ['15.00', '0.00']);
      const summary = JSON.parse(result.stdout);
      assert.deepEqual(
        summary.businesses.map((one: { id: string; posted: number; charged: string }) => [one.id, one.posted, one.charged]),
        [['coffee', 1, '5.00'], ['dental-7', 0, '0.00']],
        "the press's answer counted as the coffee's",
      );
      assert.deepEqual(card(STAFF, 'c-1').buttons, [], 'the staff copy shows it answered');
      assert.match(card(STAFF, 'c-1').text, /Sent by Анна/);
    });

    test("the staff chat acts on dental-7's card: posted with dental-7's account, dental-7 charged", async () => {
      const topUp = await gisbot(['balance', 'add', '10', '--yes', '--business', 'dental-7']);
      assert.equal(topUp.code, 0, topUp.stderr);
      const press = tg.press(STAFF, card(STAFF, 'd-1').messageId, 'send', STAFFER);
      const result = await poll();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(tg.answerTo(press)?.text, 'Sent: charged 5.00 RUB, balance 5.00 RUB');
      assert.equal(world.twogis.postedBy('d-1'), accounts['dental-7'].login);
      assert.equal(world.twogis.postedBy('d-2'), accounts['dental-7'].login, 'the review that waited for money is answered too');
      assert.deepEqual(world.twogis.foreignPosts, []);
      assert.deepEqual((await charges()).sort(), ['coffee:c-1', 'dental-7:d-1', 'dental-7:d-2']);
      assert.deepEqual([await balance('coffee'), await balance('dental-7')], ['15.00', '0.00']);
      assert.match(card(DENTAL_CHAT, 'd-1').text, /Sent by Олег/, "dental-7's own copy says who sent it");
      assert.equal(cardOf(COFFEE_CHAT, 'd-1'), undefined);
    });

    test('the panel: a business chat sees its own balance; the staff chat every business, each named', async () => {
      tg.write(COFFEE_CHAT, '/balance');
      tg.write(STAFF, '/start');
      tg.write(STAFF, '/balance');
      tg.write(STAFF, '/stats 30d');
      tg.write(STAFF, '/stats dental-7');
      assert.equal((await poll()).code, 0);
      const last = (chatId: string, count: number) => tg.messagesIn(chatId).slice(-count).map((message) => message.text);
      assert.deepEqual(last(COFFEE_CHAT, 1), ['Balance 15.00 RUB, held for answers in progress 0.00 RUB']);
      const [start, balances, stats, one] = last(STAFF, 4);
      assert.match(start!, new RegExp(`id is ${STAFF}\\. It is the agency's staff chat`));
      assert.equal(balances, `🏢 ${COFFEE_NAME}: Balance 15.00 RUB, held for answers in progress 0.00 RUB\n🏢 dental-7: Balance 0.00 RUB, held for answers in progress 0.00 RUB`);
      assert.equal(stats, `The last 30 days\n🏢 ${COFFEE_NAME}: 1 review, 1 answered, 0 waiting, charged 5.00 RUB\n🏢 dental-7: 2 reviews, 2 answered, 0 waiting, charged 10.00 RUB`);
      assert.match(one!, /^🏢 dental-7\nThe last 7 days\nReviews: 2\n/);
    });

    test('poll-once --business coffee: its cards reach its chat and the staff chat, named; it says the bot serves others too', async () => {
      world.twogis.addReview(accounts.coffee.branch, { id: 'c-2', rating: 2, text: 'Шумно.', user: { id: '55', name: 'Пётр' } });
      const result = await gisbot(['poll-once', '--json', '--business', 'coffee']);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(card(COFFEE_CHAT, 'c-2'));
      assert.match(card(STAFF, 'c-2').text, new RegExp(`^🏢 ${COFFEE_NAME}\n`));
      assert.equal(cardOf(DENTAL_CHAT, 'c-2'), undefined);
      assert.match(result.stderr, /this process serves business coffee only, and the bot is also dental-7's/);
    });

    test("the staff chat writes the coffee's answer in reply to its card; /waiting there sends the oldest waiting of every business", async () => {
      const staffCopy = card(STAFF, 'c-2');
      const edit = tg.press(STAFF, staffCopy.messageId, 'edit', STAFFER);
      const answer = 'Пётр, спасибо! Поставим звукопоглощающие панели.';
      tg.write(STAFF, answer, { replyTo: staffCopy.messageId, person: STAFFER });
      assert.equal((await poll()).code, 0);
      assert.match(tg.answerTo(edit)?.text ?? '', /Reply to the card/);
      for (const chat of [COFFEE_CHAT, STAFF]) {
        assert.ok(card(chat, 'c-2').text.includes(answer), `chat ${chat} shows the staff's answer`);
        assert.match(card(chat, 'c-2').text, /Answer written by Олег/);
      }
      assert.equal(world.twogis.postsTo('c-2'), 0, 'shown, not sent');
      tg.write(STAFF, '/waiting');
      assert.equal((await poll()).code, 0);
      const [said, resent] = tg.messagesIn(STAFF).slice(-2).map((message) => message.text);
      assert.equal(said, 'The 1 oldest reviews waiting for you, below');
      assert.ok(resent!.startsWith(`🏢 ${COFFEE_NAME}\n`) && resent!.endsWith('review c-2'), resent);
    });

    test('gisbot run serves every business with the one bot: a card as the review comes to wait, a press acted on', async () => {
      assert.equal((await gisbot(['balance', 'add', '5', '--yes', '--business', 'dental-7'])).code, 0);
      const { child, done } = startProcess(process.execPath, [BIN, '--config', configFile, 'run'], { cwd: world.dir, env, timeoutMs: 90_000 });
      try {
        world.twogis.addReview(accounts['dental-7'].branch, { id: 'd-3', rating: 2, text: 'Очередь.', user: { id: '54', name: 'Лев' } });
        await eventually(() => cardOf(DENTAL_CHAT, 'd-3') !== undefined && cardOf(STAFF, 'd-3') !== undefined, 'the card arrived', 30_000);
        assert.equal(cardOf(COFFEE_CHAT, 'd-3'), undefined);
        const press = tg.press(DENTAL_CHAT, card(DENTAL_CHAT, 'd-3').messageId, 'send');
        await eventually(() => tg.answerTo(press) !== undefined, 'the press was answered', 30_000);
        assert.equal(tg.answerTo(press)?.text, 'Sent: charged 5.00 RUB, balance 0.00 RUB');
        assert.equal(world.twogis.postedBy('d-3'), accounts['dental-7'].login);
      } finally {
        child.kill('SIGTERM');
      }
      const stopped = await done;
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stderr, /Telegram: cards of the reviews that wait for you go to 3 chats/);
      assert.deepEqual(world.twogis.foreignPosts, []);
    });
  });
}
