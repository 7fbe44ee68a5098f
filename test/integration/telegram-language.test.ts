// One bot, two businesses (issue 23): the Russian business's chat reads its cards, buttons, notices and alerts in
// Russian, the English business's in English; the callback data stays the contract's whatever the language.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTelegramBot } from '../../src/adapters/telegram/bot.ts';
import { loadConfig } from '../../src/config/load.ts';
import { chatLanguages } from '../../src/context.ts';
import type { CardView, Telegram } from '../../src/core/ports.ts';
import { createRedactor } from '../../src/redact.ts';
import { TelegramSandbox } from '../../src/sandbox/telegram.ts';
import { setCurrency } from '../../src/ui/language.ts';
import { telegramRendererFor } from '../../src/ui/telegram-card.ts';

const RU_CHAT = '111';
const EN_CHAT = '222';
const STAFF_CHAT = '333';

function view(): CardView {
  return {
    cardId: 7,
    revision: 1,
    review: { id: '141800007', branchName: 'Кофейня «Зерно»', rating: 2, authorName: 'Анна К.', text: 'Долго ждали', createdAt: '2026-12-01T10:00:00Z' },
    reason: 'rated 2, below policy.approvalBelowRating 3',
    draft: { text: 'Анна, простите за ожидание.', problems: [], editedBy: null },
    draftFailure: null,
    instruction: null,
    outcome: null,
    actions: ['send', 'regenerate', 'edit', 'skip', 'complain'],
  };
}

describe('Telegram in the language of each business', () => {
  let sandbox: TelegramSandbox;
  let bot: Telegram;
  let folder: string;
  before(async () => {
    sandbox = await TelegramSandbox.start();
    for (const id of [RU_CHAT, EN_CHAT, STAFF_CHAT]) sandbox.addChat({ id, type: 'private', title: `chat ${id}` });
    folder = await mkdtemp(path.join(tmpdir(), 'gisbot-lang-'));
    const file = path.join(folder, '.gisbotrc.json');
    await writeFile(
      file,
      JSON.stringify({
        billing: { currency: 'KZT' },
        telegram: { chatIds: [STAFF_CHAT] },
        businesses: {
          zerno: { name: 'Кофейня «Зерно»', ui: { language: 'ru' }, twogis: { login: 'zerno@example.kz' }, telegram: { chatIds: [RU_CHAT] } },
          diner: { name: 'Diner', ui: { language: 'en' }, twogis: { login: 'diner@example.com' }, telegram: { chatIds: [EN_CHAT] } },
        },
      }),
      { mode: 0o600 },
    );
    const config = await loadConfig({ file, env: { GISBOT_DATABASE_URL: `sqlite:${path.join(folder, 'db.sqlite')}` } });
    setCurrency(config.billing.currency);
    // The staff's chat has no business: the top level has no key, and the locale (C) says English.
    const render = telegramRendererFor(chatLanguages(config, 'en'));
    bot = createTelegramBot({ token: sandbox.token, apiUrl: sandbox.url, render, redact: createRedactor([sandbox.token]), timeoutMs: 2_000 });
  });
  after(async () => {
    setCurrency('RUB');
    await sandbox.close();
    await rm(folder, { recursive: true, force: true });
  });

  test("a card: the Russian business's chat reads Russian words and buttons, the English one's English", async () => {
    const ru = sandbox.message(RU_CHAT, await bot.sendCard(RU_CHAT, view()))!;
    const en = sandbox.message(EN_CHAT, await bot.sendCard(EN_CHAT, view()))!;
    const staff = sandbox.message(STAFF_CHAT, await bot.sendCard(STAFF_CHAT, view()))!;
    assert.match(ru.text, /Ждёт вас: /);
    assert.match(ru.text, /Черновик/);
    assert.match(ru.text, /Проверка ответа пропускает его/);
    assert.match(ru.text, /отзыв 141800007/);
    assert.deepEqual(ru.buttons.flat().map((button) => button.text), ['Отправить', 'Переписать', 'Исправить', 'Пропустить', 'Пожаловаться']);
    assert.match(en.text, /Waits for you: /);
    assert.deepEqual(en.buttons.flat().map((button) => button.text), ['Send', 'Regenerate', 'Edit', 'Skip', 'Complain']);
    assert.match(staff.text, /Waits for you: /);
    // The callback data is the contract's, the same in every language.
    assert.deepEqual(
      ru.buttons.flat().map((button) => button.data.split(':')[0]),
      en.buttons.flat().map((button) => button.data.split(':')[0]),
    );
    assert.ok(ru.buttons.flat()[0]!.data.startsWith('send'));
  });

  test('notices, the panel and alerts: in the chat\'s language, money in the deployment currency', async () => {
    await bot.notify(RU_CHAT, { kind: 'sent', charged: '5.00', balance: '1250.00' }, null);
    await bot.notify(EN_CHAT, { kind: 'sent', charged: '5.00', balance: '1250.00' }, null);
    await bot.notify(RU_CHAT, { kind: 'alert', alert: { kind: 'complaint.repeated', topic: 'долго ждали', count: 21, branchId: null } }, null);
    await bot.notify(RU_CHAT, { kind: 'waiting', shown: 3, more: 0 }, null);
    const last = (chat: string, count: number) => sandbox.messagesIn(chat).slice(-count).map((message) => message.text);
    assert.deepEqual(last(RU_CHAT, 3), [
      'Отправлено: списано 5,00\u00a0₸, баланс 1\u00a0250,00\u00a0₸',
      'Повторяющаяся жалоба: «долго ждали», 21 отзыв',
      'Ниже — старейшие отзывы, которые ждут вас: 3 отзыва',
    ]);
    assert.deepEqual(last(EN_CHAT, 1), ['Sent: charged 5.00 KZT, balance 1,250.00 KZT']);
  });

  test("why a press did nothing, said by its codes in the chat's language; a service's own words kept in brackets", async () => {
    const notices = [
      { kind: 'fate_unknown', detail: 'the POST went unanswered' },
      { kind: 'service_failed', detail: 'cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED' },
      { kind: 'not_acted', action: 'send', reason: 'review 1 was being answered by another worker each time the press was tried', why: 'review_in_work' },
    ] as const;
    for (const notice of notices) {
      await bot.notify(RU_CHAT, notice, null);
      await bot.notify(EN_CHAT, notice, null);
    }
    const last = (chat: string) => sandbox.messagesIn(chat).slice(-notices.length).map((message) => message.text);
    assert.deepEqual(last(RU_CHAT), [
      'Не опубликовано: неизвестно, дошёл ли ответ до 2ГИС (the POST went unanswered); gisbot перечитает отзыв и дважды не опубликует',
      'Не опубликовано: сервис не ответил раньше, чем что-либо было отправлено (cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED); попробуйте позже',
      'Ваше действие «Отправить» не выполнено: на этот отзыв при каждой попытке отвечал другой обработчик. Нажмите или напишите ещё раз',
    ]);
    assert.deepEqual(last(EN_CHAT), [
      'Not posted: its fate is unknown (the POST went unanswered); gisbot reads it back and never posts twice',
      'Not posted: cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED',
      'Your Send was not acted on: review 1 was being answered by another worker each time the press was tried. Press or write again',
    ]);
  });
});
