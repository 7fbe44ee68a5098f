// Approve from the phone (issue 15), end to end with the real binary, MariaDB, the 2GIS and model sandboxes and the
// Telegram Bot API sandbox: cards for the reviews that wait for a person, and every button through the path
// `gisbot reply` takes. Presses are made while no gisbot process runs and acted on by the next `poll-once`, as
// from cron; a long-running `run` acts on them as they come. The bot token is searched in every sink at the end.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChatRequest } from '../../src/sandbox/model.ts';
import { defaultResponder } from '../../src/sandbox/model.ts';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { queryDatabase } from '../support/mysql.ts';
import { eventually, World, type RunResult } from '../support/world.ts';

const BRANCH = '70000001017466301';
const OWNER = '1000001';
const GROUP = '-1009876543210';
const STRANGER = '5550001';
const ANNA = { id: 1000001, firstName: 'Анна', username: 'anna' };
const BORIS = { id: 2000002, firstName: 'Борис' };
const MARKUP = 'Ужас. <b>Жирный</b> *звёзды* _курсив_ [жми](https://evil.example) <a href="https://evil.example">Send</a> & </blockquote>';

describe('Telegram cards with the real binary', () => {
  let world: World;
  let tg: TelegramSandbox;
  const results: RunResult[] = [];
  const sinks: string[] = [];

  const poll = async (): Promise<RunResult> => {
    const result = await world.run(['poll-once', '--json'], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
    results.push(result);
    return result;
  };
  const rows = (sql: string, params: Array<string | number> = []) => queryDatabase(world.db.url, sql, params);
  const state = async (id: string) => (await rows('SELECT state FROM reviews WHERE id = ?', [id]))[0]?.state;
  /** The chat's copy of a review's card (edited in place, so always the same message). */
  const card = (chatId: string, reviewId: string): SandboxMessage => {
    const found = tg.messagesIn(chatId).find((message) => message.text.includes(`review ${reviewId}`));
    assert.ok(found, `no card of review ${reviewId} in chat ${chatId}`);
    return found;
  };
  const actions = (message: SandboxMessage) => message.buttons.flat().map((button) => button.data.split(':')[0]);

  before(async () => {
    world = await World.start();
    tg = await TelegramSandbox.start();
    tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
    tg.addChat({ id: GROUP, type: 'supergroup', title: 'Кофейня: отзывы' });
    tg.addChat({ id: STRANGER, type: 'private', title: 'Чужой' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно»', orgId: '100' });
    // No secret in the file: the token comes from the environment, as the other secrets do.
    await writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ telegram: { chatIds: [OWNER, GROUP], apiUrl: tg.url } }));
    // A model that writes the owner's steer into its next draft, as a real one would.
    world.model.responder = (request: ChatRequest) => {
      const steer = request.messages.find((message) => message.content.startsWith('The business owner asks for this change'));
      if (steer && /террас/.test(steer.content)) return { text: 'Спасибо, что написали! Ждём вас снова на нашей летней террасе.', finishReason: 'stop' };
      return defaultResponder(request);
    };
    assert.equal((await world.run(['balance', 'add', '20', '--yes'])).code, 0);
  });
  after(async () => {
    await tg.close();
    await world.close();
  });

  test('a 1-star review waits; its card reaches each allowed chat with four buttons, its markup shown as text', async () => {
    world.twogis.addReview(BRANCH, { id: '990001', rating: 1, text: MARKUP, user: { id: '31', name: 'Сергей Петров' } });
    const result = await poll();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).awaitingApproval, 1);
    assert.equal(await state('990001'), 'needs_approval');
    for (const chat of [OWNER, GROUP]) {
      const message = card(chat, '990001');
      assert.deepEqual(actions(message), ['send', 'regenerate', 'edit', 'skip', 'complain']);
      assert.ok(message.text.includes(MARKUP), 'the review as written, markup and all');
      assert.ok(message.text.includes('★☆☆☆☆ 1/5') && message.text.includes('Кофейня «Зерно»') && message.text.includes('Сергей'));
      assert.ok(!message.entities.some((entity) => entity.type === 'text_link'), 'no link forged from the review');
      assert.match(message.text, /Waits for you: .*below policy\.approvalBelowRating/);
      assert.match(message.text, /The gate lets it through/);
    }
    assert.deepEqual(tg.messagesIn(STRANGER), [], 'nothing goes to a chat that is not allowed');
    assert.equal(world.twogis.totalPosts, 0);
  });

  test('send, pressed twice and from a second chat at once: posted once, 5.00 charged once, every card edited', async () => {
    const owners = card(OWNER, '990001');
    const first = tg.press(OWNER, owners.messageId, 'send', ANNA);
    const again = tg.press(OWNER, owners.messageId, 'send', ANNA);
    const group = tg.press(GROUP, card(GROUP, '990001').messageId, 'send', BORIS);
    const result = await poll();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.twogis.postsTo('990001'), 1, 'one answer on 2GIS');
    const charges = await rows("SELECT review_id, amount FROM ledger WHERE kind = 'charge'");
    assert.deepEqual(charges.map((row) => [row.review_id, row.amount]), [['990001', '-5.00']], 'charged once');
    assert.equal(tg.answerTo(first)?.text, 'Sent: charged 5.00 RUB, balance 15.00 RUB');
    assert.equal(tg.answerTo(again)?.text, 'Already answered');
    assert.equal(tg.answerTo(group)?.text, 'Already answered');
    for (const chat of [OWNER, GROUP]) {
      const message = card(chat, '990001');
      assert.deepEqual(message.buttons, [], 'no buttons once answered');
      assert.match(message.text, /Sent by Анна \(@anna\) at \d{4}-\d\d-\d\d \d\d:\d\d UTC, charged 5\.00/);
    }
    assert.equal(world.twogis.answerOf('990001')?.text, (await rows("SELECT answer_text FROM reviews WHERE id = '990001'"))[0]?.answer_text);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('regenerate with an instruction; edit and a reply, gated, then sent; skip leaves it waiting', async () => {
    world.twogis.addReview(BRANCH, { id: '990002', rating: 2, text: 'Шумно и тесно.', user: { id: '32', name: 'Ольга' } });
    world.twogis.addReview(BRANCH, { id: '990003', rating: 1, text: 'Долго ждали заказ.', user: { id: '33', name: 'Ирина' } });
    world.twogis.addReview(BRANCH, { id: '990004', rating: 1, text: 'Не понравилось.', user: { id: '34', name: 'Пётр' } });
    assert.equal((await poll()).code, 0);

    // Regenerate: a reply to the card is the steer, then the button.
    const toRedraft = card(OWNER, '990002');
    tg.write(OWNER, 'упомяните летнюю террасу', { replyTo: toRedraft.messageId, person: ANNA });
    const redraft = tg.press(OWNER, toRedraft.messageId, 'regenerate', ANNA);
    // Edit: the button, then the chat's next reply to the card is the answer; one with a phone number first.
    const toEdit = card(GROUP, '990003');
    const edit = tg.press(GROUP, toEdit.messageId, 'edit', BORIS);
    tg.write(GROUP, 'Звоните нам: +7 701 555 12 34', { replyTo: toEdit.messageId, person: BORIS });
    // Skip.
    const skip = tg.press(OWNER, card(OWNER, '990004').messageId, 'skip', ANNA);
    assert.equal((await poll()).code, 0);

    const noted = tg.messagesIn(OWNER).find((message) => message.text.startsWith('Noted'));
    assert.match(noted?.text ?? '', /press Regenerate/);
    assert.equal(tg.message(OWNER, noted!.replyTo!)?.text, 'упомяните летнюю террасу', 'said in reply to the steer');
    assert.equal(tg.answerTo(redraft)?.text, 'A new draft is on the card');
    for (const chat of [OWNER, GROUP]) assert.match(card(chat, '990002').text, /летней террасе/, 'the new draft, in every copy');
    const asked = world.model.requests.filter((request) => request.path === 'chat/completions' && JSON.stringify(request.body).includes('летнюю террасу'));
    assert.equal(asked.length, 1, 'the instruction reached the model once');

    assert.match(tg.answerTo(edit)?.text ?? '', /Reply to the card with your answer/);
    let edited = card(GROUP, '990003');
    assert.match(edited.text, /Answer written by Борис/);
    assert.match(edited.text, /The gate refuses it: .*phone/);
    assert.deepEqual(actions(edited), ['regenerate', 'edit', 'skip', 'complain'], 'no send while the gate refuses');
    assert.equal(tg.answerTo(skip)?.text, 'Skipped: the review keeps waiting (gisbot reply 990004)');
    assert.equal(await state('990004'), 'needs_approval');

    // A better answer, and send.
    const again = tg.press(GROUP, edited.messageId, 'edit', BORIS);
    const answer = 'Ирина, простите за долгое ожидание: мы уже разбираемся, почему так вышло.';
    tg.write(GROUP, answer, { replyTo: edited.messageId, person: BORIS });
    assert.equal((await poll()).code, 0);
    assert.match(tg.answerTo(again)?.text ?? '', /Reply to the card/);
    edited = card(GROUP, '990003');
    assert.ok(edited.text.includes(answer) && /The gate lets it through/.test(edited.text), edited.text);
    assert.deepEqual(actions(edited), ['send', 'regenerate', 'edit', 'skip', 'complain']);
    assert.equal(world.twogis.postsTo('990003'), 0, 'shown back before it can be sent');
    const send = tg.press(GROUP, edited.messageId, 'send', BORIS);
    assert.equal((await poll()).code, 0);
    assert.equal(tg.answerTo(send)?.text, 'Sent: charged 5.00 RUB, balance 10.00 RUB');
    assert.equal(world.twogis.answerOf('990003')?.text, answer, 'exactly the person\'s text');
    assert.equal(await state('990003'), 'posted');
    assert.equal(await state('990004'), 'needs_approval');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('a press and a message from a chat that is not allowed change nothing; one telegram.refused event each (/start is answered: telegram-panel.test.ts)', async () => {
    const owners = card(OWNER, '990004');
    const [, cardId, revision] = owners.buttons.flat()[0]!.data.split(':');
    const press = tg.forgePress(STRANGER, `send:${cardId}:${revision}`, { id: 5550001, firstName: 'Чужой' });
    const posts = world.twogis.totalPosts;
    assert.equal((await poll()).code, 0);
    assert.equal(world.twogis.totalPosts, posts);
    assert.equal(await state('990004'), 'needs_approval');
    assert.equal(tg.answerTo(press)?.text, "This chat may not act on gisbot's cards");
    const refused = await rows("SELECT data FROM events WHERE type = 'telegram.refused'");
    assert.deepEqual(refused.map((row) => JSON.parse(String(row.data))), [{ chatId: STRANGER, kind: 'press' }]);
    tg.write(STRANGER, 'hello');
    assert.equal((await poll()).code, 0);
    assert.equal((await rows("SELECT id FROM events WHERE type = 'telegram.refused'")).length, 2);
    const logs = await world.run(['logs', '--type', 'telegram.refused', '--json']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.deepEqual(logs.stdout.trim().split('\n').map((line) => JSON.parse(line).data.chatId), [STRANGER, STRANGER]);
  });

  test('a review answered in the terminal meanwhile: its cards say so', async () => {
    const sent = await world.run(['reply', '990004', '--send', '--json']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal((await poll()).code, 0);
    for (const chat of [OWNER, GROUP]) {
      const message = card(chat, '990004');
      assert.deepEqual(message.buttons, []);
      assert.match(message.text, /Answered elsewhere/);
    }
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('presses waiting while no gisbot ran: two racing workers act on each once, and the next run on none again', async () => {
    world.twogis.addReview(BRANCH, { id: '990005', rating: 1, text: 'Холодный кофе.', user: { id: '35', name: 'Дина' } });
    world.twogis.addReview(BRANCH, { id: '990006', rating: 1, text: 'Грязные столы.', user: { id: '36', name: 'Марат' } });
    assert.equal((await poll()).code, 0);
    const presses = [
      tg.press(OWNER, card(OWNER, '990005').messageId, 'send', ANNA),
      tg.press(GROUP, card(GROUP, '990005').messageId, 'send', BORIS),
      tg.press(OWNER, card(OWNER, '990006').messageId, 'skip', ANNA),
    ];
    const answersBefore = tg.answers.length;
    const racing = await Promise.all([poll(), poll()]);
    for (const result of racing) assert.equal(result.code, 0, result.stderr);
    const next = await poll();
    assert.equal(next.code, 0, next.stderr);
    assert.equal(world.twogis.postsTo('990005'), 1);
    for (const press of presses) assert.equal(tg.answers.filter((answer) => answer.updateId === press).length, 1, `press ${press} answered once`);
    assert.equal(tg.answers.length - answersBefore, 3);
    assert.deepEqual([await state('990005'), await state('990006')], ['posted', 'needs_approval']);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('gisbot run: a card as the review comes to wait, a press acted on as it comes, SIGTERM stops it cleanly', async () => {
    assert.equal((await world.run(['balance', 'add', '5', '--yes'])).code, 0);
    const config = path.join(world.dir, 'run.json');
    await writeFile(config, JSON.stringify({ polling: { intervalSeconds: 0.3 }, telegram: { chatIds: [OWNER, GROUP], apiUrl: tg.url } }));
    const { child, done } = world.spawn(['run', '--config', config], { env: { GISBOT_TELEGRAM_TOKEN: tg.token }, timeoutMs: 90_000 });
    try {
      world.twogis.addReview(BRANCH, { id: '990007', rating: 1, text: 'Опоздали с заказом.', user: { id: '37', name: 'Лев' } });
      await eventually(() => tg.messagesIn(OWNER).some((message) => message.text.includes('review 990007')), 'the card arrived', 20_000);
      const press = tg.press(OWNER, card(OWNER, '990007').messageId, 'send', ANNA);
      await eventually(() => tg.answerTo(press) !== undefined, 'the press was answered', 20_000);
      assert.equal(tg.answerTo(press)?.text, 'Sent: charged 5.00 RUB, balance 0.00 RUB');
      assert.equal(world.twogis.postsTo('990007'), 1);
    } finally {
      // Stopped as an operator stops it, even after a failed check: a killed `run` would hold the Telegram turn for
      // a while, and the next test's poll-once would find Telegram busy instead of unreachable (and exit 0).
      child.kill('SIGTERM');
    }
    const stopped = await done;
    results.push(stopped);
    assert.equal(stopped.code, 0, stopped.stderr);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('Telegram unreachable: answering goes on, the card goes out on a later run', async () => {
    assert.equal((await world.run(['balance', 'add', '5', '--yes'])).code, 0);
    world.twogis.addReview(BRANCH, { id: '990008', rating: 5, text: 'Прекрасно!', user: { id: '38', name: 'Вера' } });
    world.twogis.addReview(BRANCH, { id: '990009', rating: 1, text: 'Кофе остыл.', user: { id: '39', name: 'Глеб' } });
    tg.unreachable = true;
    let result: RunResult;
    try {
      result = await poll();
    } finally {
      tg.unreachable = false;
    }
    assert.equal(result.code, 1, 'a service was unreachable');
    assert.deepEqual([JSON.parse(result.stdout).posted, JSON.parse(result.stdout).awaitingApproval], [1, 1]);
    assert.equal(world.twogis.postsTo('990008'), 1, 'answered all the same');
    assert.match(result.stderr, /Telegram: Telegram is unreachable at 127\.0\.0\.1:\d+ \(getUpdates\): ECONNRESET; the cards wait in the database/);
    assert.ok(!tg.messagesIn(OWNER).some((message) => message.text.includes('review 990009')));
    const later = await poll();
    assert.equal(later.code, 0, later.stderr);
    for (const chat of [OWNER, GROUP]) assert.deepEqual(actions(card(chat, '990009')), ['send', 'regenerate', 'edit', 'skip', 'complain']);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('doctor checks the token with getMe and each chat with getChat', async () => {
    const good = await world.run(['doctor', '--json'], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
    results.push(good);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const checks = JSON.parse(good.stdout).checks as Array<{ name: string; ok: boolean; detail: string; code: string }>;
    assert.deepEqual(checks.filter((one) => one.name.startsWith('telegram')), [
      { name: 'telegram', ok: true, detail: `the token works: @${tg.username} at ${new URL(tg.url).host}`, code: 'ok' },
      { name: `telegram chat ${OWNER}`, ok: true, detail: 'reachable: Анна (private)', code: 'ok' },
      { name: `telegram chat ${GROUP}`, ok: true, detail: 'reachable: Кофейня: отзывы (supergroup)', code: 'ok' },
    ]);
    const config = path.join(world.dir, 'doctor.json');
    await writeFile(config, JSON.stringify({ telegram: { chatIds: [OWNER, '424242'], apiUrl: tg.url } }));
    const wrong = await world.run(['doctor', '--config', config], { env: { GISBOT_TELEGRAM_TOKEN: `${tg.token.split(':')[0]}:${'x'.repeat(35)}` } });
    results.push(wrong);
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout, /✗ telegram +Telegram getMe failed at 127\.0\.0\.1:\d+: 401 Unauthorized/);
    const missing = await world.run(['doctor', '--config', config], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
    results.push(missing);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /✗ telegram chat 424242 +Telegram getChat failed .*chat not found: the person must send \/start to the bot/);
  });

  test('the token is in no log line, event, WebSocket frame, stdout or stderr', async () => {
    sinks.push(...results.flatMap((result) => [result.stdout, result.stderr]));
    sinks.push(...(await world.logLines()).map((line) => JSON.stringify(line)));
    sinks.push(...(await rows('SELECT data FROM events')).map((row) => String(row.data)));
    sinks.push(...world.receiver.frames.map((frame) => frame.raw));
    sinks.push(...(await rows('SELECT body FROM telegram_cards')).map((row) => String(row.body)));
    assert.ok(sinks.length > 50, 'the sinks were read');
    for (const sink of sinks) assert.ok(!sink.includes(tg.token), `the token leaked: ${sink.slice(0, 200)}`);
    const secret = tg.token.split(':')[1]!;
    for (const sink of sinks) assert.ok(!sink.includes(secret), 'not even its secret half');
  });
});
