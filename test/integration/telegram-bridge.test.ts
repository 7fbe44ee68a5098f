// The Telegram bridge in this process, on the real adapters (MariaDB, the 2GIS, model and Telegram sandboxes), with
// a clock the test moves on: a review answered on 2GIS meanwhile closes its card; a send that finds an answer there
// posts nothing; a chat that blocked the bot holds up no other; a model that fails still gets the card out, without
// a send button; a draft too long to show cannot be sent from the phone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTelegramBot } from '../../src/adapters/telegram/bot.ts';
import type { Context } from '../../src/context.ts';
import { systemClock } from '../../src/context.ts';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { formatMoney } from '../../src/core/money/money.ts';
import { MAX_UPDATE_ATTEMPTS, TelegramBridge, type TurnReport } from '../../src/core/approval/telegram.ts';
import { ServiceError } from '../../src/errors.ts';
import { defaultResponder } from '../../src/sandbox/model.ts';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { telegramRenderer } from '../../src/ui/telegram-card.ts';
import { queryDatabase } from '../support/mysql.ts';
import { World, worldContext } from '../support/world.ts';

const BRANCH = '70000001017466401';
const OWNER = '1000001';
const GROUP = '-1009876543211';

describe('the Telegram bridge on the real adapters', () => {
  let world: World;
  let tg: TelegramSandbox;
  let ctx: Context;
  let bridge: TelegramBridge;
  let shift = 0;

  const turn = async (): Promise<TurnReport> => {
    const report = await bridge.turn({ waitSeconds: 0 });
    assert.notEqual(report, 'busy');
    return report as TurnReport;
  };
  const card = (chatId: string, reviewId: string): SandboxMessage | undefined =>
    tg.messagesIn(chatId).find((message) => message.text.includes(`review ${reviewId}`));
  const actions = (message: SandboxMessage | undefined) => (message?.buttons.flat() ?? []).map((button) => button.data.split(':')[0]);
  const state = async (id: string) => (await queryDatabase(world.db.url, 'SELECT state, reason FROM reviews WHERE id = ?', [id]))[0];

  before(async () => {
    world = await World.start();
    tg = await TelegramSandbox.start();
    tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
    tg.addChat({ id: GROUP, type: 'supergroup', title: 'Отзывы' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня', orgId: '100' });
    const clock = { now: () => new Date(Date.now() + shift), sleep: systemClock.sleep };
    ctx = await worldContext(world, {}, { clock });
    await ctx.store.migrate();
    await ctx.store.topUp(5000n, null);
    const telegram = createTelegramBot({ token: tg.token, apiUrl: tg.url, render: telegramRenderer, redact: ctx.redact });
    bridge = new TelegramBridge({ ...ctx, telegram, chatIds: [OWNER, GROUP] });
  });
  after(async () => {
    await bridge.end();
    await ctx.close();
    await tg.close();
    await world.close();
  });

  test('answered on 2GIS meanwhile: the next cycle sees it, skips the review, and the next turn closes its cards', async () => {
    world.twogis.addReview(BRANCH, { id: '991001', rating: 1, text: 'Плохо.' });
    await runCycle(ctx);
    await turn();
    assert.deepEqual(actions(card(OWNER, '991001')), ['send', 'regenerate', 'edit', 'skip', 'complain']);
    world.twogis.answerAsOwner('991001', 'Разберёмся, простите.');
    await turn();
    assert.equal((await state('991001'))?.state, 'needs_approval', 'the bridge itself does not read 2GIS');
    shift += 5 * 60_000;
    await runCycle(ctx);
    await turn();
    assert.deepEqual({ ...(await state('991001')) }, { state: 'skipped', reason: 'answered on 2GIS by someone else' });
    for (const chat of [OWNER, GROUP]) {
      assert.deepEqual(actions(card(chat, '991001')), []);
      assert.match(card(chat, '991001')!.text, /No longer waits: skipped \(answered on 2GIS by someone else\)/);
    }
    const skipped = await ctx.store.listEvents({ reviewId: '991001', type: 'review.skipped', limit: 10 });
    assert.equal(skipped.length, 1);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('send finds an answer on 2GIS in the re-read: nothing posted or charged, told so, the card closed', async () => {
    world.twogis.addReview(BRANCH, { id: '991002', rating: 1, text: 'Долго.' });
    await runCycle(ctx);
    await turn();
    world.twogis.answerAsOwner('991002', 'Простите нас.');
    const press = tg.press(OWNER, card(OWNER, '991002')!.messageId, 'send');
    await turn();
    assert.equal(world.twogis.postsTo('991002'), 0);
    assert.equal(tg.answerTo(press)?.text, 'Already answered elsewhere: answered by someone else before we posted');
    assert.deepEqual(actions(card(GROUP, '991002')), []);
    assert.deepEqual(await ctx.store.getBalance(), { balance: 5000n, reserved: 0n });
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('Complain asks for the reason as a reply; the reply files one complaint, never charged, and closes the card', async () => {
    world.twogis.addReview(BRANCH, { id: '991009', rating: 1, text: 'Конкурент пишет гадости.' });
    await runCycle(ctx);
    await turn();
    const before = await ctx.store.getBalance();
    const press = tg.press(OWNER, card(OWNER, '991009')!.messageId, 'complain');
    await turn();
    assert.match(tg.answerTo(press)?.text ?? '', /^Reply to the card with why the review is fake/);
    assert.equal(world.twogis.complaintPosts('991009'), 0, 'nothing is filed on the press alone');
    tg.write(OWNER, 'Автор никогда не был нашим гостем', { replyTo: card(OWNER, '991009')!.messageId });
    await turn();
    assert.equal(world.twogis.complaintPosts('991009'), 1);
    assert.deepEqual(world.twogis.complaintsAbout('991009').map((one) => one.text), ['Автор никогда не был нашим гостем']);
    const told = tg.messagesIn(OWNER).filter((one) => one.replyTo !== undefined && /^Complaint sent to 2GIS/.test(one.text));
    assert.equal(told.length, 1);
    assert.deepEqual(actions(card(OWNER, '991009')), [], 'the review left the waiting list: no buttons');
    assert.deepEqual(await ctx.store.getBalance(), before, 'never charged');
  });

  test('Complain pressed in two chats, both answered with a reason, read by two bridges at once: one complaint request', async () => {
    world.twogis.addReview(BRANCH, { id: '991010', rating: 1, text: 'Реклама соседнего кафе, пишите @promo_cafe' });
    await runCycle(ctx);
    await turn();
    const repliesIn = (chat: string) => tg.messagesIn(chat).filter((one) => one.replyTo !== undefined).map((one) => one.text);
    const earlier = new Map([OWNER, GROUP].map((chat) => [chat, repliesIn(chat).length]));
    const replies = () => [OWNER, GROUP].flatMap((chat) => repliesIn(chat).slice(earlier.get(chat)));
    const pressed = [OWNER, GROUP].map((chat) => tg.press(chat, card(chat, '991010')!.messageId, 'complain'));
    await turn();
    for (const press of pressed) assert.match(tg.answerTo(press)?.text ?? '', /^Reply to the card with why the review is fake/);
    tg.write(OWNER, 'Реклама: автор не был нашим гостем', { replyTo: card(OWNER, '991010')!.messageId });
    tg.write(GROUP, 'Это спам конкурента', { replyTo: card(GROUP, '991010')!.messageId });
    const second = new TelegramBridge({ ...ctx, telegram: createTelegramBot({ token: tg.token, apiUrl: tg.url, render: telegramRenderer, redact: ctx.redact }), chatIds: [OWNER, GROUP] });
    try {
      await Promise.all([bridge.turn({ waitSeconds: 0 }), second.turn({ waitSeconds: 0 })]);
      await turn();
    } finally {
      await second.end();
    }
    assert.equal(world.twogis.complaintPosts('991010'), 1, 'one request across two presses, two replies and two bridges');
    // Notices go out through the panel's queue (Telegram's limits): a few more turns let them all out.
    for (let more = 0; more < 5 && !replies().some((text) => /^Complaint sent to 2GIS/.test(text)); more += 1) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await turn();
    }
    const told = replies();
    assert.equal(told.filter((text) => /^Complaint sent to 2GIS/.test(text)).length, 1, told.join('\n'));
    // The other reason is not filed: its chat is told the complaint is there already, or that the review no longer waits.
    assert.equal(told.filter((text) => /^(?:This review has a complaint already: nothing sent again|Already answered elsewhere: complained to 2GIS)/.test(text)).length, 1, told.join('\n'));
    assert.deepEqual(world.twogis.complaintsAbout('991010').length, 1);
  });

  test('a chat that blocked the bot holds up no other; its card goes out once it is unblocked', async () => {
    const blocked = tg.addChat({ id: GROUP, type: 'supergroup', title: 'Отзывы', blocked: true });
    world.twogis.addReview(BRANCH, { id: '991003', rating: 2, text: 'Так себе.' });
    await runCycle(ctx);
    const report = await turn();
    assert.ok(card(OWNER, '991003'));
    assert.equal(card(GROUP, '991003'), undefined);
    assert.deepEqual(report.problems, []);
    assert.equal(report.refusingChats.length, 1);
    assert.equal(report.refusingChats[0]!.chatId, GROUP);
    assert.match(report.refusingChats[0]!.error, /403 Forbidden: bot was blocked by the user/);
    blocked.blocked = false;
    await turn();
    assert.deepEqual(actions(card(GROUP, '991003')), ['send', 'regenerate', 'edit', 'skip', 'complain']);
    assert.equal(tg.messagesIn(OWNER).filter((message) => message.text.includes('review 991003')).length, 1, 'no second copy where it was');
  });

  test('the model down: the card goes out without a draft and without send; regenerate once it is back', async () => {
    world.model.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 503 }, times: Infinity });
    world.twogis.addReview(BRANCH, { id: '991004', rating: 1, text: 'Невкусно.' });
    await runCycle(ctx);
    try {
      await turn();
    } finally {
      world.model.faults.clear();
    }
    const message = card(OWNER, '991004')!;
    assert.match(message.text, /No draft: /);
    assert.deepEqual(actions(message), ['regenerate', 'edit', 'skip', 'complain']);
    const press = tg.press(OWNER, message.messageId, 'regenerate');
    await turn();
    assert.equal(tg.answerTo(press)?.text, 'A new draft is on the card');
    assert.deepEqual(actions(card(OWNER, '991004')), ['send', 'regenerate', 'edit', 'skip', 'complain']);
  });

  test("a press in this business's chat on another business's card changes nothing and is recorded as telegram.refused", async () => {
    // Business B on the same database: a review waiting for a person, with its card.
    const other = ctx.store.forBusiness('biz-b');
    const review = { id: '991099', branchId: BRANCH, branchName: 'Кофейня', rating: 1, text: 'Б: плохо.', authorId: null, authorName: 'Борис',
      createdAt: new Date().toISOString(), editedAt: null, catalogId: '2gis', isHidden: false, canReply: true, hasOwnerAnswer: false, commentsCount: 0 };
    assert.equal(await other.recordReview(review, 'needs_approval', 'rated 1', []), true);
    const body = { revision: 1, reason: 'rated 1', draft: { text: 'Простите!', problems: [], editedBy: null, model: 'm', promptVersion: 1, usage: null },
      draftFailure: null, instruction: null, outcome: null, checkedAt: null, messages: [] };
    const foreign = (await other.createTelegramCard(review.id, body))!;
    const before = await queryDatabase(world.db.url, 'SELECT business_id, id, state FROM reviews ORDER BY business_id, id');
    const press = tg.forgePress(OWNER, `send:${foreign.id}:1`);
    await turn();
    assert.deepEqual(await queryDatabase(world.db.url, 'SELECT business_id, id, state FROM reviews ORDER BY business_id, id'), before, 'nothing changed');
    assert.equal((await other.telegramCard(foreign.id))?.version, foreign.version, "B's card is untouched");
    assert.equal(world.twogis.postsTo(review.id), 0);
    assert.equal(tg.answerTo(press)?.text !== undefined, true, 'the press is answered');
    const refused = await ctx.store.listEvents({ type: 'telegram.refused', limit: 10 });
    assert.deepEqual(refused.map((event) => [event.businessId, event.data.chatId, event.data.cardId]), [[ctx.store.businessId, OWNER, foreign.id]]);
    assert.deepEqual(await other.listEvents({ type: 'telegram.refused', limit: 10 }), [], "nothing of it is B's");
  });

  test('a draft longer than a card shows cannot be sent from the phone', async () => {
    // The long text goes into the answer, before the line of topics the default answer ends with.
    world.model.responder = (request) => ({
      text: defaultResponder(request).text.replace(/(\nTopics:|$)/, ` ${'Очень ждём вас снова. '.repeat(120)}$1`),
      finishReason: 'stop',
    });
    world.twogis.addReview(BRANCH, { id: '991005', rating: 1, text: 'Ничего особенного.' });
    try {
      await runCycle(ctx);
      await turn();
    } finally {
      world.model.responder = defaultResponder;
    }
    const message = card(OWNER, '991005')!;
    assert.match(message.text, /longer than a Telegram card shows \(2300\); send it with gisbot reply/);
    assert.deepEqual(actions(message), ['regenerate', 'edit', 'skip', 'complain']);
    assert.ok(message.text.length <= 4096);
  });

  test('a press that meets a failing database every time is tried a bounded number of times, then the person is told why, in reply to the card', async () => {
    world.twogis.addReview(BRANCH, { id: '991006', rating: 1, text: 'Всё плохо.' });
    await runCycle(ctx);
    await turn();
    const message = card(OWNER, '991006')!;
    const cardId = Number(message.buttons.flat()[0]!.data.split(':')[1]);
    // The card's writes fail as a database that stays locked does; everything else works.
    const locked = new ServiceError('database', 'unavailable', 'SQLite database stayed locked by another process for 5000 ms: database is locked');
    const store = new Proxy(ctx.store, {
      get: (target, name) => {
        if (name === 'saveTelegramCard') {
          return (one: { id: number }, ...rest: unknown[]) => (one.id === cardId ? Promise.reject(locked) : target.saveTelegramCard(one as never, ...(rest as [never, never])));
        }
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await bridge.end();
    const failing = new TelegramBridge({ ...ctx, store, telegram: createTelegramBot({ token: tg.token, apiUrl: tg.url, render: telegramRenderer, redact: ctx.redact }), chatIds: [OWNER, GROUP] });
    const press = tg.press(OWNER, message.messageId, 'regenerate');
    try {
      for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt += 1) {
        await assert.rejects(failing.turn({ waitSeconds: 0 }), /database is locked/, `try ${attempt}`);
      }
      assert.equal(tg.pendingUpdates, 0, 'stored after the first read: confirmed to Telegram by the next');
      assert.ok(tg.answerTo(press) === undefined, 'not answered while it is tried');
      await failing.turn({ waitSeconds: 0 });
    } finally {
      await failing.end();
    }
    const told = tg.messagesIn(OWNER).filter((one) => one.replyTo === message.messageId);
    assert.deepEqual(told.map((one) => one.text), ['Your Regenerate was not acted on: SQLite database stayed locked by another process for 5000 ms: database is locked. Press or write again']);
    const rows = await queryDatabase(world.db.url, 'SELECT done, attempts FROM telegram_updates WHERE update_id = ?', [press]);
    assert.deepEqual(rows.map((row) => [row.done, row.attempts]), [[2, MAX_UPDATE_ATTEMPTS + 1]]);
    await turn();
    assert.equal(tg.messagesIn(OWNER).filter((one) => one.replyTo === message.messageId).length, 1, 'told once; nothing left to act on');
  });
  test('a press acted on while a cycle of the same process starts (gisbot run): its claim is not taken for one left by a crash', async () => {
    world.twogis.addReview(BRANCH, { id: '991007', rating: 1, text: 'Опоздали.' });
    await runCycle(ctx);
    await turn();
    // `run` starts its cycles beside the bridge: one starts while the press's answer is read back on 2GIS.
    const twogis = new Proxy(ctx.twogis, {
      get: (target, name) => {
        if (name === 'readReview') return async (id: string) => (id === '991007' && (await runCycle(ctx)), target.readReview(id));
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await bridge.end();
    const beside = new TelegramBridge({ ...ctx, twogis, telegram: createTelegramBot({ token: tg.token, apiUrl: tg.url, render: telegramRenderer, redact: ctx.redact }), chatIds: [OWNER, GROUP] });
    const { balance } = await ctx.store.getBalance();
    const press = tg.press(OWNER, card(OWNER, '991007')!.messageId, 'send');
    try {
      await beside.turn({ waitSeconds: 0 });
    } finally {
      await beside.end();
    }
    assert.equal(tg.answerTo(press)?.text, `Sent: charged 5.00 RUB, balance ${formatMoney(balance - 500n)} RUB`);
    assert.equal(world.twogis.postsTo('991007'), 1);
    assert.equal((await state('991007'))?.state, 'posted');
    await world.checkInvariants(world.twogis.reviewIds());
  });
  test('send while another worker holds the review: the press waits, and is sent once that work is over', async () => {
    world.twogis.addReview(BRANCH, { id: '991008', rating: 1, text: 'Холодно в зале.' });
    await runCycle(ctx);
    await turn();
    // A worker elsewhere has it in hand (a recheck, a `gisbot reply` in a terminal), then gives it back.
    const { reason } = (await ctx.store.getReview('991008'))!;
    const elsewhere = ctx.ownership.newToken();
    const now = new Date();
    assert.ok(await ctx.store.claimReview('991008', elsewhere, now, new Date(now.getTime() + 60_000)));
    const { balance } = await ctx.store.getBalance();
    const press = tg.press(OWNER, card(OWNER, '991008')!.messageId, 'send');
    await turn();
    assert.equal(tg.answerTo(press), undefined, 'not told it is in work: it waits for that work');
    assert.equal(world.twogis.postsTo('991008'), 0);
    await ctx.store.release('991008', elsewhere, { state: 'needs_approval', reason: reason! }, []);
    await turn();
    assert.equal(tg.answerTo(press)?.text, `Sent: charged 5.00 RUB, balance ${formatMoney(balance - 500n)} RUB`);
    assert.equal(world.twogis.postsTo('991008'), 1);
    await world.checkInvariants(world.twogis.reviewIds());
  });
});
