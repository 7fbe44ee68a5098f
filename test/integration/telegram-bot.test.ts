// The Telegram adapter (grammY) against the loopback Bot API sandbox: cards in HTML parse mode that no review text
// can break or forge, buttons whose callback data starts with the action, presses and replies read back with
// long polling, answers that fall back to a chat message when a press is too old, and failures said in words that
// never carry the token (grammY's network errors quote the request URL, and the URL holds the token).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callbackData, createTelegramBot } from '../../src/adapters/telegram/bot.ts';
import type { CardView, Telegram } from '../../src/core/ports.ts';
import { ServiceError } from '../../src/errors.ts';
import { createRedactor } from '../../src/redact.ts';
import { parseHtml, TelegramSandbox } from '../../src/sandbox/telegram.ts';
import { escapeHtml, telegramRenderer } from '../../src/ui/telegram-card.ts';

const CHAT = '1000001';
const GROUP = '-1001234567890';

const HOSTILE = 'Ужасно! <b>жирный</b> </blockquote><a href="https://evil.example">Send</a> *звёзды* _курсив_ [ссылка](https://evil.example) &amp; 1 < 2 > 0 `код` 🙂';

function view(overrides: Partial<CardView> = {}): CardView {
  return {
    cardId: 12,
    revision: 3,
    review: { id: '141800003', branchName: 'Кофейня «Зерно» <на Абая>', rating: 1, authorName: 'Сергей Петров', text: HOSTILE, createdAt: '2025-05-01T10:00:00+05:00' },
    reason: 'rated 1, below policy.approvalBelowRating 3',
    draft: { text: 'Сергей, простите нас за <холодный> кофе & ожидание.', problems: [], editedBy: null },
    draftFailure: null,
    instruction: null,
    outcome: null,
    actions: ['send', 'regenerate', 'edit', 'skip'],
    ...overrides,
  };
}

describe('the Telegram adapter against the Bot API sandbox', () => {
  let sandbox: TelegramSandbox;
  let bot: Telegram;
  before(async () => {
    sandbox = await TelegramSandbox.start();
    sandbox.addChat({ id: CHAT, type: 'private', title: 'Анна' });
    sandbox.addChat({ id: GROUP, type: 'supergroup', title: 'Кофейня: отзывы' });
    bot = createTelegramBot({ token: sandbox.token, apiUrl: sandbox.url, render: telegramRenderer, redact: createRedactor([sandbox.token]), timeoutMs: 2_000 });
  });
  after(async () => sandbox.close());

  test('getMe and getChat', async () => {
    assert.deepEqual(await bot.me(), { username: sandbox.username });
    assert.deepEqual(await bot.chat(GROUP), { title: 'Кофейня: отзывы', type: 'supergroup' });
    // A chat that takes no messages from the bot is 'blocked': the bridge skips it and goes on with the others.
    await assert.rejects(bot.chat('42'), (error: ServiceError) => error.kind === 'blocked' && /chat not found/.test(error.message));
  });

  test('a card renders review markup as plain text: nothing in it is a tag, a link or an entity', async () => {
    const messageId = await bot.sendCard(GROUP, view());
    const message = sandbox.message(GROUP, messageId)!;
    assert.ok(message.text.includes(HOSTILE), 'the review shows exactly as written');
    assert.ok(message.text.includes('Кофейня «Зерно» <на Абая>'));
    assert.ok(message.text.includes('Сергей, простите нас за <холодный> кофе & ожидание.'));
    assert.ok(!message.text.includes('Петров'), 'only the first name');
    const reviewAt = message.text.indexOf(HOSTILE);
    const inside = message.entities.filter((entity) => entity.offset < reviewAt + HOSTILE.length && entity.offset + entity.length > reviewAt);
    assert.deepEqual(inside.map((entity) => [entity.type, entity.offset, entity.length]), [['blockquote', reviewAt, HOSTILE.length]], 'only our quote covers the review');
    assert.ok(message.entities.every((entity) => entity.type !== 'text_link'), 'no link was forged');
    assert.deepEqual(message.buttons.flat().map((button) => button.data), ['send:12:3', 'regenerate:12:3', 'edit:12:3', 'skip:12:3']);
    const sent = sandbox.callsOf('sendMessage').at(-1)!;
    assert.equal(sent.params.parse_mode, 'HTML');
    assert.deepEqual(sent.params.link_preview_options, { is_disabled: true });
  });

  test('no send button while the gate refuses; a closed card has no buttons at all; edits that change nothing are fine', async () => {
    const refused = view({ draft: { text: 'Звоните +7 701 555 12 34', problems: ['a phone number'] }, actions: ['regenerate', 'edit', 'skip'] } as Partial<CardView>);
    const messageId = await bot.sendCard(CHAT, refused);
    assert.deepEqual(sandbox.message(CHAT, messageId)!.buttons.flat().map((button) => button.data.split(':')[0]), ['regenerate', 'edit', 'skip']);
    assert.match(sandbox.message(CHAT, messageId)!.text, /The gate refuses it: a phone number/);
    await bot.editCard(CHAT, messageId, refused);
    const closed = view({ revision: 4, actions: [], outcome: { kind: 'sent', by: 'Анна (@anna)', at: '2025-05-01T05:07:00.000Z', charged: '5.00' } });
    await bot.editCard(CHAT, messageId, closed);
    const message = sandbox.message(CHAT, messageId)!;
    assert.deepEqual(message.buttons, []);
    assert.match(message.text, /Sent by Анна \(@anna\) at 2025-05-01 05:07 UTC, charged 5\.00/);
    await bot.editCard(CHAT, 999_999, closed); // deleted meanwhile: nothing left to show
  });

  test('presses and replies come back through long polling, with the chat, the person and the callback data read', async () => {
    const messageId = await bot.sendCard(CHAT, view({ cardId: 77, revision: 1 }));
    const pending = bot.updates(0, 5);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pressed = sandbox.press(CHAT, messageId, 'send', { id: 5, firstName: 'Анна', username: 'anna' });
    const updates = await pending;
    assert.deepEqual(updates.at(-1), {
      updateId: pressed, kind: 'press', chatId: CHAT, pressId: (updates.at(-1) as { pressId: string }).pressId, messageId, messageCardId: 77,
      from: { id: '5', name: 'Анна (@anna)' }, action: 'send', cardId: 77, revision: 1,
    });
    const replied = sandbox.write(CHAT, 'короче и теплее', { replyTo: messageId });
    const next = await bot.updates(pressed + 1, 0);
    assert.deepEqual(next.map((update) => [update.updateId, update.kind, (update as { replyTo?: number }).replyTo]), [[replied, 'message', messageId]]);
    assert.equal(sandbox.pendingUpdates, 1, 'the offset confirmed the press');
    const forged = sandbox.forgePress(CHAT, 'send:not-a-card');
    const odd = (await bot.updates(replied + 1, 0)).find((update) => update.updateId === forged)!;
    assert.deepEqual([odd.kind, (odd as { action: unknown }).action, (odd as { cardId: unknown }).cardId], ['press', null, null]);
  });

  test('a press answered at once pops up; one too old to answer gets its notice as a reply in the chat', async () => {
    const old = await TelegramSandbox.start({ pressAnswerTtlMs: 0 });
    try {
      old.addChat({ id: CHAT, type: 'private', title: 'Анна' });
      const oldBot = createTelegramBot({ token: old.token, apiUrl: old.url, render: telegramRenderer, redact: createRedactor([old.token]) });
      const messageId = await oldBot.sendCard(CHAT, view());
      old.press(CHAT, messageId, 'send');
      const [press] = await oldBot.updates(0, 0);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await oldBot.answerPress(press as { pressId: string; chatId: string; messageId: number }, { kind: 'already_answered' });
      const notice = old.messagesIn(CHAT).at(-1)!;
      assert.deepEqual([notice.text, notice.replyTo], ['Already answered', messageId]);
    } finally {
      await old.close();
    }
    const messageId = await bot.sendCard(CHAT, view());
    const updateId = sandbox.press(CHAT, messageId, 'skip');
    const press = (await bot.updates(updateId, 0)).find((update) => update.updateId === updateId)!;
    await bot.answerPress(press as { pressId: string; chatId: string; messageId: number }, { kind: 'skipped', reviewId: '141800003' });
    assert.equal(sandbox.answerTo(updateId)?.text, 'Skipped: the review keeps waiting (gisbot reply 141800003)');
  });

  test('failures in words, never with the token: unreachable, refused token, rate limit', async () => {
    const noToken = (error: unknown) => {
      assert.ok(error instanceof ServiceError);
      for (const text of [error.message, error.hint ?? '', String(error.stack)]) assert.ok(!text.includes(sandbox.token), text);
      return true;
    };
    sandbox.unreachable = true;
    try {
      await assert.rejects(bot.me(), (error: ServiceError) => noToken(error) && error.kind === 'unavailable' && /unreachable at 127\.0\.0\.1:\d+ \(getMe\): ECONNRESET/.test(error.message));
    } finally {
      sandbox.unreachable = false;
    }
    const closedPort = createTelegramBot({ token: sandbox.token, apiUrl: 'http://127.0.0.1:9', render: telegramRenderer, redact: createRedactor([sandbox.token]) });
    await assert.rejects(closedPort.sendCard(CHAT, view()), (error: ServiceError) => noToken(error) && /ECONNREFUSED/.test(error.message));
    const wrong = createTelegramBot({ token: `${sandbox.token}x`, apiUrl: sandbox.url, render: telegramRenderer, redact: createRedactor([sandbox.token]) });
    await assert.rejects(wrong.me(), (error: ServiceError) => noToken(error) && error.kind === 'auth' && /401 Unauthorized/.test(error.message));
    sandbox.fail('sendMessage', 429, 'Too Many Requests: retry after 7', { retryAfter: 7 });
    await assert.rejects(bot.sendCard(CHAT, view()), (error: ServiceError) => noToken(error) && error.kind === 'unavailable' && error.retryAfterMs === 7000);
    for (const call of sandbox.calls) assert.ok(!JSON.stringify(call).includes(sandbox.token), 'the token travels in the path only');
  });

  test('callback data fits Telegram\'s 64 bytes and starts with the action', () => {
    assert.equal(callbackData('regenerate', Number.MAX_SAFE_INTEGER, 999_999_999), `regenerate:${Number.MAX_SAFE_INTEGER}:999999999`);
    assert.ok(Buffer.byteLength(callbackData('regenerate', Number.MAX_SAFE_INTEGER, 999_999_999)) <= 64);
  });

  test('the sandbox parses HTML as Telegram does: an unescaped review would break the card', () => {
    assert.ok('error' in parseHtml(`<blockquote>${HOSTILE}</blockquote>`), 'raw review text is refused');
    assert.deepEqual(parseHtml(`<blockquote>${escapeHtml(HOSTILE)}</blockquote>`), { text: HOSTILE, entities: [{ type: 'blockquote', offset: 0, length: HOSTILE.length }] });
  });
});
