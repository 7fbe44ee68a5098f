// What a person is told after a press, over fakes: the bridge hands the renderer codes and a service's own detail,
// and the renderer words them in the pressing chat's language (a Russian business's chat reads Russian, an English
// one's the same English as ever).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import type { CardView, Telegram, TelegramNotice, TelegramUpdate } from '../../src/core/ports.ts';
import { MAX_UPDATE_ATTEMPTS, TelegramBridge } from '../../src/core/approval/telegram.ts';
import { ServiceError } from '../../src/errors.ts';
import { telegramRendererFor } from '../../src/ui/telegram-card.ts';
import { listed, pipeline } from '../support/fakes.ts';

const CHAT = '100';

/** A Telegram that hands out the updates it is given and records the cards and what each press was answered. */
class ScriptedTelegram implements Telegram {
  queued: TelegramUpdate[] = [];
  cards: Array<{ chatId: string; view: CardView; messageId: number }> = [];
  answers: TelegramNotice[] = [];
  told: TelegramNotice[] = [];
  async me() {
    return { username: 'bot' };
  }
  async chat() {
    return { title: '', type: 'private' };
  }
  async updates() {
    return this.queued.splice(0);
  }
  async sendCard(chatId: string, view: CardView) {
    const messageId = this.cards.length + 1;
    this.cards.push({ chatId, view, messageId });
    return messageId;
  }
  async editCard() {}
  async answerPress(_press: unknown, notice: TelegramNotice) {
    this.answers.push(notice);
  }
  async notify(_chatId: string, notice: TelegramNotice) {
    this.told.push(notice);
  }
}

/** A 1-star review waiting with its card in CHAT; `before` runs before the card is drafted. */
async function cardWorld(before: (world: ReturnType<typeof pipeline>) => void = () => {}) {
  const world = pipeline();
  await world.store.topUp(1000n);
  world.twogis.reviews = [listed({ id: '1', rating: 1, text: 'Холодный кофе' })];
  await runCycle(world.deps);
  before(world);
  const telegram = new ScriptedTelegram();
  const bridge = new TelegramBridge({ ...world.deps, telegram, chatIds: [CHAT] });
  await bridge.turn({ waitSeconds: 0 });
  const card = telegram.cards.find((one) => one.chatId === CHAT)!;
  const pressSend = () =>
    telegram.queued.push({
      updateId: 1, kind: 'press', chatId: CHAT, pressId: 'p1', messageId: card.messageId, messageCardId: card.view.cardId,
      from: { id: '7', name: 'Анна' }, action: 'send', cardId: card.view.cardId, revision: card.view.revision,
    });
  return { ...world, telegram, bridge, pressSend };
}

async function pressSendOn(failure: () => Error | null) {
  const { twogis, telegram, bridge, pressSend } = await cardWorld();
  twogis.postFailure = failure;
  pressSend();
  await bridge.turn({ waitSeconds: 0 });
  return telegram.answers.at(-1)!;
}

const inRussian = telegramRendererFor(() => 'ru');
const inEnglish = telegramRendererFor(() => 'en');

test("a send whose fate is unknown: told in the chat's language, the service's detail as it said it", async () => {
  const notice = await pressSendOn(() => new ServiceError('2gis', 'outcome_unknown', 'the POST went unanswered'));
  assert.equal(inEnglish.notice(notice, CHAT), 'Not posted: its fate is unknown (the POST went unanswered); gisbot reads it back and never posts twice');
  const russian = inRussian.notice(notice, CHAT);
  assert.match(russian, /^Не опубликовано: .*\(the POST went unanswered\)/);
  assert.doesNotMatch(russian.replace('the POST went unanswered', '').replace(/gisbot/g, ''), /[a-z]{3,}/i, russian);
});

test("a send that met a failing service before anything was posted: the chat's words around the service's own", async () => {
  const notice = await pressSendOn(() => new ServiceError('2gis', 'unavailable', 'cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED'));
  assert.equal(inEnglish.notice(notice, CHAT), 'Not posted: cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED');
  const russian = inRussian.notice(notice, CHAT);
  assert.match(russian, /^Не опубликовано: .*\(cannot reach 2GIS at 127\.0\.0\.1:9: ECONNREFUSED\)/);
  assert.doesNotMatch(russian.replace(/\(cannot reach[^)]*\)/, '').replace(/gisbot/g, ''), /[a-z]{3,}/i, russian);
});

test("send on a card without a draft (the model failed): the chat's words, the model's detail as it said it", async () => {
  const { telegram, bridge, pressSend } = await cardWorld(({ model }) => {
    model.reply = () => new ServiceError('model', 'unavailable', 'model endpoint timed out');
  });
  pressSend();
  await bridge.turn({ waitSeconds: 0 });
  const notice = telegram.answers.at(-1)!;
  assert.equal(inEnglish.notice(notice, CHAT), 'Not sent, the gate refuses it: model endpoint timed out');
  const russian = inRussian.notice(notice, CHAT);
  assert.match(russian, /^Не отправлено: .*\(model endpoint timed out\)$/);
  assert.doesNotMatch(russian.replace('model endpoint timed out', ''), /[a-z]{3,}/i, russian);
});

test("a press whose review was in work elsewhere on every try: given up on, and told so in the chat's language", async () => {
  const { store, clock, telegram, bridge, pressSend } = await cardWorld();
  // Another worker holds the review for longer than the press is tried.
  assert.ok(await store.claimReview('1', 'elsewhere', clock.now(), new Date(clock.now().getTime() + 86_400_000)));
  pressSend();
  for (let turn = 0; turn <= MAX_UPDATE_ATTEMPTS && telegram.told.length === 0; turn += 1) await bridge.turn({ waitSeconds: 0 });
  const notice = telegram.told.at(-1)!;
  assert.equal(notice.kind, 'not_acted');
  assert.equal(
    inEnglish.notice(notice, CHAT),
    'Your Send was not acted on: review 1 was being answered by another worker each time the press was tried. Press or write again',
  );
  const russian = inRussian.notice(notice, CHAT);
  assert.match(russian, /^Ваше действие «Отправить» не выполнено: /);
  assert.doesNotMatch(russian, /[a-z]{3,}/i, russian);
});

test("a card whose draft the gate refuses: the problems in the chat's language, the English as it was, the stored English kept", async () => {
  const { telegram, bridge, pressSend, store } = await cardWorld(({ model }) => {
    model.reply = () => ({ text: 'Жаль, что кофе остыл. Пишите нам: https://zerno.kz/<b>x</b>' });
  });
  const card = telegram.cards.find((one) => one.chatId === CHAT)!;
  const english = inEnglish.card(card.view, CHAT).html;
  assert.match(english, /The gate refuses it: it contains a link \(https:\/\/zerno\.kz\/&lt;b&gt;x&lt;\/b&gt;\)/);
  const russian = inRussian.card(card.view, CHAT).html;
  assert.match(russian, /содержит ссылку \(https:\/\/zerno\.kz\/&lt;b&gt;x&lt;\/b&gt;\)/, russian);
  assert.doesNotMatch(russian, /it contains|the gate/i, russian);
  // The database keeps the English beside the rule.
  const stored = [...store.cards.values()][0]!.body.draft!;
  assert.deepEqual(stored.problems, ['it contains a link (https://zerno.kz/<b>x</b>)', 'it has an unfilled placeholder (<b>)']);

  pressSend();
  await bridge.turn({ waitSeconds: 0 });
  const notice = telegram.answers.at(-1)!;
  assert.equal(
    inEnglish.notice(notice, CHAT),
    'Not sent, the gate refuses it: it contains a link (https://zerno.kz/<b>x</b>); it has an unfilled placeholder (<b>)',
  );
  assert.equal(
    inRussian.notice(notice, CHAT),
    'Не отправлено, проверка ответа не пропускает его: содержит ссылку (https://zerno.kz/<b>x</b>); содержит незаполненную заготовку (<b>)',
  );
});

test('a card kept before the rules were kept beside the problems: its stored English still shows', () => {
  const view: CardView = {
    cardId: 1, revision: 1,
    review: { id: '1', branchName: 'Зерно', rating: 1, authorName: 'Анна', text: 'Холодный кофе', createdAt: '2026-12-01T10:00:00Z' },
    reason: null, draft: { text: 'Жаль.', problems: ['it contains a link (zerno.kz)'], editedBy: null },
    draftFailure: null, instruction: null, outcome: null, actions: ['regenerate', 'edit', 'skip', 'complain'],
  };
  assert.match(inRussian.card(view, CHAT).html, /проверка ответа не пропускает его: it contains a link \(zerno\.kz\)/i);
  assert.match(inEnglish.card(view, CHAT).html, /The gate refuses it: it contains a link \(zerno\.kz\)/);
});

test("an answer written in the chat too long for its card: told so in the chat's language, the English kept", async () => {
  const { telegram, bridge } = await cardWorld();
  const card = telegram.cards.find((one) => one.chatId === CHAT)!;
  telegram.queued.push({
    updateId: 1, kind: 'press', chatId: CHAT, pressId: 'p1', messageId: card.messageId, messageCardId: card.view.cardId,
    from: { id: '7', name: 'Анна' }, action: 'edit', cardId: card.view.cardId, revision: card.view.revision,
  });
  await bridge.turn({ waitSeconds: 0 });
  const long = 'Спасибо за отзыв, нам очень жаль. '.repeat(80).trim();
  telegram.queued.push({ updateId: 2, kind: 'message', chatId: CHAT, messageId: 50, replyTo: card.messageId, text: long, from: { id: '7', name: 'Анна' } });
  await bridge.turn({ waitSeconds: 0 });
  const notice = telegram.told.at(-1)!;
  assert.equal(notice.kind, 'edit_taken');
  const english = inEnglish.notice(notice, CHAT);
  assert.match(english, new RegExp(`: ${long.length} characters: longer than a Telegram card shows \\(2300\\); send it with gisbot reply`), english);
  const russian = inRussian.notice(notice, CHAT);
  assert.match(russian, /символ[а-я]*: длиннее, чем показывает карточка Telegram \(2\u00a0300\); отправьте его через gisbot reply/, russian);
  assert.doesNotMatch(russian, /characters|longer than/, russian);
});
