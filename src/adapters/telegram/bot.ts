// The Telegram port on grammY's Api (the Bot API client; no hand-written HTTP). Long polling only: gisbot runs
// behind NAT and from cron. Every call has a deadline; nothing is retried here (the bridge backs off and tries
// again on its next turn) but a press's answer, which has no next turn: it is tried once more, then said in the chat. The token is part of every request URL, and a network error from the HTTP layer
// quotes that URL: no message from below is passed on, each failure is said again in words, and masked anyway.
import { Api, GrammyError, HttpError } from 'grammy';
import type { InlineKeyboardMarkup, Update } from 'grammy/types';
import type { CardAction, CardView, Telegram, TelegramNotice, TelegramPerson, TelegramUpdate } from '../../core/ports.ts';
import { ServiceError, type ServiceErrorKind } from '../../errors.ts';
import type { Redact } from '../../redact.ts';

export interface TelegramRenderer {
  /** `chatId`: where it goes; the renderer writes in that chat's language. */
  card(view: CardView, chatId?: string): { html: string; buttons: Array<{ action: CardAction; label: string }> };
  notice(notice: TelegramNotice, chatId?: string): string;
}

export interface TelegramBotOptions {
  token: string;
  /** `telegram.apiUrl`: Telegram's, or the sandbox. */
  apiUrl: string;
  render: TelegramRenderer;
  /** Masks the configured secrets (the token among them) in every message this adapter makes. */
  redact: Redact;
  /** Deadline of each call but the long poll, which gets its wait and this on top; default 15 s. */
  timeoutMs?: number;
}

type GrammySignal = NonNullable<Parameters<Api['getMe']>[0]>;

const ACTIONS: readonly CardAction[] = ['send', 'regenerate', 'edit', 'skip', 'complain'];
const CALLBACK = new RegExp(`^(${ACTIONS.join('|')}):(\\d{1,15}):(\\d{1,9})$`);
/** Telegram lets a press's answer be at most 200 characters. */
const PRESS_ANSWER_LIMIT = 200;
/**
 * A press's answer is tried again once: after a cut connection at once (after this pause), after a 429 when its
 * retry_after is within this wait; Telegram refuses an answer given long after the press ("query is too old").
 */
const PRESS_RETRY_PAUSE_MS = 300;
const PRESS_RETRY_WAIT_MS = 5_000;
/** Longest wait a long poll may ask for; Telegram's own ceiling is 50 s. */
const MAX_WAIT_SECONDS = 50;

/** `send:12:3`: the action first (contract.md), then the card and the revision the press was made on. */
export function callbackData(action: CardAction, cardId: number, revision: number): string {
  return `${action}:${cardId}:${revision}`;
}

export function createTelegramBot(options: TelegramBotOptions): Telegram {
  const timeoutMs = options.timeoutMs ?? 15_000;
  // grammY's own per-call timeout is set past the longest call (a long poll); each call gets its deadline below.
  const api = new Api(options.token, { apiRoot: options.apiUrl, timeoutSeconds: MAX_WAIT_SECONDS + timeoutMs / 1000 + 5 });
  const host = hostOf(options.apiUrl);

  /** Runs one call with its deadline; failures become one-line ServiceErrors without the URL. */
  async function call<T>(method: string, run: (signal: GrammySignal) => Promise<T>, deadlineMs = timeoutMs, outer?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(deadlineMs);
    const signal = outer ? AbortSignal.any([deadline, outer]) : deadline;
    try {
      // grammY types its signal after the abort-controller shim it ships; Node's own is what it listens to.
      return await run(signal as unknown as GrammySignal);
    } catch (error) {
      throw translate(error, method, deadline.aborted ? deadlineMs : null, host, options.redact);
    }
  }

  const keyboard = (view: CardView, chatId: string) => {
    const { buttons } = options.render.card(view, chatId);
    return buttons.length === 0
      ? undefined
      : { inline_keyboard: [buttons.map((button) => ({ text: button.label, callback_data: callbackData(button.action, view.cardId, view.revision) }))] };
  };

  return {
    async me() {
      const me = await call('getMe', (signal) => api.getMe(signal));
      return { username: me.username };
    },

    async chat(chatId) {
      const chat = await call('getChat', (signal) => api.getChat(chatId, signal));
      const title = 'title' in chat && chat.title ? chat.title : [('first_name' in chat ? chat.first_name : ''), ('last_name' in chat ? chat.last_name : '')].filter(Boolean).join(' ');
      return { title, type: chat.type };
    },

    async updates(offset, waitSeconds, signal) {
      const wait = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(waitSeconds)));
      try {
        const updates = await call(
          'getUpdates',
          (inner) => api.getUpdates({ offset, timeout: wait, limit: 100, allowed_updates: ['message', 'callback_query'] }, inner),
          wait * 1000 + timeoutMs,
          signal,
        );
        return updates.map(toUpdate);
      } catch (error) {
        if (signal?.aborted) return []; // the wait was ended on purpose: whatever came stays for the next read
        throw error;
      }
    },

    async sendCard(chatId, view) {
      const { html } = options.render.card(view, chatId);
      const markup = keyboard(view, chatId);
      const sent = await call('sendMessage', (signal) =>
        api.sendMessage(chatId, html, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...(markup ? { reply_markup: markup } : {}) }, signal),
      );
      return sent.message_id;
    },

    async editCard(chatId, messageId, view) {
      const { html } = options.render.card(view, chatId);
      const markup = keyboard(view, chatId);
      try {
        await call('editMessageText', (signal) =>
          api.editMessageText(chatId, messageId, html, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...(markup ? { reply_markup: markup } : {}) }, signal),
        );
      } catch (error) {
        // Shown already, or deleted by the person: either way nothing is left to show.
        if (error instanceof ServiceError && /message is not modified|message to edit not found/i.test(error.message)) return;
        throw error;
      }
    },

    async answerPress(press, notice) {
      const text = clipped(options.render.notice(notice, press.chatId), PRESS_ANSWER_LIMIT);
      const answer = () => call('answerCallbackQuery', (signal) => api.answerCallbackQuery(press.pressId, { text }, signal));
      try {
        await answer();
        return;
      } catch (error) {
        if (!(error instanceof ServiceError) || (error.kind !== 'rejected' && error.kind !== 'unavailable')) throw error;
        const wait = error.retryAfterMs ?? PRESS_RETRY_PAUSE_MS;
        if (error.kind === 'unavailable' && wait <= PRESS_RETRY_WAIT_MS) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          try {
            await answer();
            return;
          } catch (again) {
            if (!(again instanceof ServiceError)) throw again;
          }
        }
      }
      // Read long after it was made (poll-once from cron), or Telegram would not take the answer in time: the
      // person hears it in the chat, under the card.
      await this.notify(press.chatId, notice, press.messageId);
    },

    async notify(chatId, notice, replyTo) {
      const text = options.render.notice(notice, chatId);
      await call('sendMessage', (signal) =>
        api.sendMessage(
          chatId,
          text,
          replyTo === null ? {} : { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } },
          signal,
        ),
      );
    },
  };
}

function toUpdate(update: Update): TelegramUpdate {
  const press = update.callback_query;
  if (press) {
    const parsed = CALLBACK.exec(press.data ?? '');
    const chatId = press.message ? String(press.message.chat.id) : null;
    if (chatId === null) return { updateId: update.update_id, kind: 'other', chatId: null };
    return {
      updateId: update.update_id,
      kind: 'press',
      chatId,
      pressId: press.id,
      messageId: press.message?.message_id ?? null,
      messageCardId: press.message && 'reply_markup' in press.message ? cardOfButtons(press.message.reply_markup) : null,
      from: person(press.from),
      action: parsed && ACTIONS.includes(parsed[1] as CardAction) ? (parsed[1] as CardAction) : null,
      cardId: parsed ? Number(parsed[2]) : null,
      revision: parsed ? Number(parsed[3]) : null,
    };
  }
  const message = update.message;
  if (message && typeof message.text === 'string') {
    return {
      updateId: update.update_id,
      kind: 'message',
      chatId: String(message.chat.id),
      messageId: message.message_id,
      replyTo: message.reply_to_message?.message_id ?? null,
      text: message.text,
      from: person(message.from),
    };
  }
  return { updateId: update.update_id, kind: 'other', chatId: message ? String(message.chat.id) : null };
}

/** The card a message's buttons name, when every button names the same one (a card's copy, as gisbot sent it). */
function cardOfButtons(markup: InlineKeyboardMarkup | undefined): number | null {
  const data = (markup?.inline_keyboard ?? []).flat().map((button) => ('callback_data' in button ? button.callback_data : ''));
  const ids = new Set(data.map((each) => CALLBACK.exec(each)?.[2] ?? ''));
  const [only] = ids;
  return ids.size === 1 && only !== undefined && only !== '' ? Number(only) : null;
}

function person(from: { id: number; first_name: string; username?: string } | undefined): TelegramPerson {
  if (!from) return { id: '', name: '?' };
  return { id: String(from.id), name: from.username ? `${from.first_name} (@${from.username})` : from.first_name };
}

function clipped(text: string, limit: number): string {
  const chars = [...text];
  return chars.length > limit ? `${chars.slice(0, limit - 1).join('')}…` : text;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'Telegram';
  }
}

/** What failed, in words of our own: grammY's network errors carry the request URL, and the URL the token. */
function translate(error: unknown, method: string, timedOutAfterMs: number | null, host: string, redact: Redact): unknown {
  if (error instanceof GrammyError) {
    const status = error.error_code;
    const movedTo = error.parameters.migrate_to_chat_id;
    // A chat that will not take the bot's messages (blocked, deleted, never started, upgraded to a supergroup):
    // 'blocked', so that the bridge skips that chat and goes on with the others.
    const chatRefuses = status === 403 || movedTo !== undefined || (status === 400 && /chat not found/i.test(error.description));
    const kind: ServiceErrorKind = status === 401 ? 'auth' : status === 429 || status >= 500 ? 'unavailable' : chatRefuses ? 'blocked' : 'rejected';
    const retryAfter = error.parameters.retry_after;
    const hint =
      status === 401 ? 'check telegram.botToken (or GISBOT_TELEGRAM_TOKEN): BotFather shows the token with /token'
        : status === 409 ? 'another program reads this bot\'s updates (a webhook, or another bot on the same token)'
          : undefined;
    return new ServiceError('telegram', kind, redact(`Telegram ${method} failed at ${host}: ${status} ${oneLine(error.description)}`), {
      status,
      hint,
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter * 1000 }),
      ...(movedTo === undefined ? {} : { movedTo: String(movedTo) }),
    });
  }
  if (error instanceof HttpError) {
    const inner = error.error as { code?: unknown; name?: unknown } | undefined;
    const cause = timedOutAfterMs !== null ? `timed out after ${timedOutAfterMs / 1000} s`
      : typeof inner?.code === 'string' ? inner.code
        : typeof inner?.name === 'string' ? inner.name : 'the request failed';
    return new ServiceError('telegram', 'unavailable', redact(`Telegram is unreachable at ${host} (${method}): ${cause}`));
  }
  return error;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
