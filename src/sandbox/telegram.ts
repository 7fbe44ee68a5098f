// An imitation of the Telegram Bot API (https://core.telegram.org/bots/api), served over real HTTP on 127.0.0.1:
// getMe, getChat, getUpdates (offset, long polling with `timeout`, one reader at a time), sendMessage and
// editMessageText (HTML parse mode checked as Telegram checks it, inline keyboards), answerCallbackQuery.
// It records every call, and lets a test press a button or reply to a card as a given chat.
// An outside party: node built-ins only, nothing from src/core or src/adapters.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface TelegramSandboxOptions {
  /** The bot's token; made up when absent. */
  token?: string;
  username?: string;
  /**
   * How long a press can still be answered with answerCallbackQuery (Telegram's "query is too old"); never too old
   * when absent.
   */
  pressAnswerTtlMs?: number;
}

export interface SandboxChat {
  id: string;
  type: 'private' | 'group' | 'supergroup';
  /** A group's title, or a private chat's first name. */
  title: string;
  /** The bot cannot write there (a person who blocked it). */
  blocked?: boolean;
  /** A group upgraded to a supergroup: the old id is refused with the new one in `parameters.migrate_to_chat_id`. */
  migratedTo?: string;
}

export interface SandboxPerson {
  id: number;
  firstName: string;
  username?: string;
}

export interface SandboxEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
}

export interface SandboxButton {
  text: string;
  data: string;
}

/** A message as a chat sees it: the text after Telegram parsed its markup, and its entities. */
export interface SandboxMessage {
  chatId: string;
  messageId: number;
  fromBot: boolean;
  text: string;
  entities: SandboxEntity[];
  /** What the bot sent, before parsing. */
  sent: string;
  buttons: SandboxButton[][];
  replyTo: number | null;
  date: number;
  edits: number;
}

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  status: number;
  description?: string;
}

export interface PressAnswer {
  pressId: string;
  updateId: number;
  text: string;
  showAlert: boolean;
}

interface Update {
  update_id: number;
  [kind: string]: unknown;
}

interface Waiter {
  offset: number;
  respond: (status: number, body: unknown) => void;
  timer: NodeJS.Timeout;
}

interface ScriptedFailure {
  method: string;
  status: number;
  description: string;
  retryAfter?: number;
  migrateToChatId?: number;
  left: number;
}

const BOT_ID = 7_000_000_001;
const MAX_TEXT = 4096;
const SUPPORTED_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const ENTITY_OF: Record<string, string> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  span: 'spoiler',
  'tg-spoiler': 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};

export class TelegramSandbox {
  readonly token: string;
  readonly username: string;
  /** The API root, as `telegram.apiUrl` takes it. */
  readonly url: string;
  readonly calls: RecordedCall[] = [];
  readonly answers: PressAnswer[] = [];
  /** Connections are reset as they arrive: Telegram is unreachable. */
  unreachable = false;
  /** A test's hook, awaited as each call arrives, before it is served (to make something happen at that moment). */
  beforeServe: ((method: string) => void | Promise<void>) | null = null;
  #server: Server;
  #sockets = new Set<Socket>();
  #options: TelegramSandboxOptions;
  #chats = new Map<string, SandboxChat>();
  #messages = new Map<string, SandboxMessage[]>();
  #updates: Update[] = [];
  #nextUpdateId = 100_000_000 + Math.floor(Math.random() * 1_000_000);
  #nextPressId = 1;
  #presses = new Map<string, { updateId: number; at: number; answered: boolean }>();
  #waiter: Waiter | null = null;
  #failures: ScriptedFailure[] = [];
  /** Calls of a method whose connection is cut before they are acted on, and how many more. */
  #cuts = new Map<string, number>();
  /** Calls of a method that are acted on and whose answer is then cut, and how many more. */
  #cutsAfterDelivery: Array<{ method: string; left: number }> = [];

  private constructor(server: Server, port: number, options: TelegramSandboxOptions) {
    this.#server = server;
    this.#options = options;
    this.token = options.token ?? `${BOT_ID}:AA${randomBytes(24).toString('base64url')}`;
    this.username = options.username ?? 'gisbot_sandbox_bot';
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(options: TelegramSandboxOptions = {}): Promise<TelegramSandbox> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('telegram sandbox: no TCP address');
    const sandbox = new TelegramSandbox(server, address.port, options);
    server.on('connection', (socket: Socket) => {
      sandbox.#sockets.add(socket);
      socket.on('close', () => sandbox.#sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      sandbox.#serve(req, res).catch((error: unknown) => reply(res, 500, { ok: false, error_code: 500, description: `sandbox error: ${String(error)}` }));
    });
    return sandbox;
  }

  // ------------------------------------------------------------ the world

  addChat(chat: SandboxChat): SandboxChat {
    this.#chats.set(chat.id, chat);
    this.#messages.set(chat.id, this.#messages.get(chat.id) ?? []);
    return chat;
  }

  /** The bot's messages in a chat, oldest first. */
  messagesIn(chatId: string): SandboxMessage[] {
    return (this.#messages.get(chatId) ?? []).filter((message) => message.fromBot);
  }

  message(chatId: string, messageId: number): SandboxMessage | undefined {
    return this.#messages.get(chatId)?.find((message) => message.messageId === messageId);
  }

  /** Calls of one method, in order. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** The next `times` calls of `method` fail with `status` and `description` (and Retry-After for a 429). */
  fail(method: string, status: number, description: string, options: { times?: number; retryAfter?: number; migrateToChatId?: number } = {}): void {
    this.#failures.push({ method, status, description, retryAfter: options.retryAfter, migrateToChatId: options.migrateToChatId, left: options.times ?? 1 });
  }

  /** The next `times` calls of `method` have their connection cut before Telegram acts on them (no answer at all). */
  cut(method: string, times = 1): void {
    this.#cuts.set(method, (this.#cuts.get(method) ?? 0) + times);
  }

  /**
   * The next `times` calls of `method` are carried out (a sendMessage is delivered), and then the connection is reset
   * instead of the response: the bot never hears that Telegram did it, as after a reset or a deadline on the way back.
   */
  cutAfterDelivery(method: string, options: { times?: number } = {}): void {
    this.#cutsAfterDelivery.push({ method, left: options.times ?? 1 });
  }

  /**
   * `person` presses the button of a bot message in `chatId` whose callback data starts with `action` (or is
   * `data`). The button must be on that message, as in Telegram. Returns the update's id.
   */
  press(chatId: string, messageId: number, action: string, person: SandboxPerson = defaultPerson(chatId)): number {
    const message = this.message(chatId, messageId);
    if (!message?.fromBot) throw new Error(`telegram sandbox: no bot message ${messageId} in chat ${chatId}`);
    const button = message.buttons.flat().find((each) => each.data === action || each.data.startsWith(`${action}:`));
    if (!button) throw new Error(`telegram sandbox: message ${messageId} has no ${action} button (${message.buttons.flat().map((b) => b.data).join(', ')})`);
    return this.#pressWith(chatId, message, button.data, person);
  }

  /**
   * A press with any callback data from any chat: on a message of that chat that the bot never sent there, or on the
   * bot's message `onMessage` whatever buttons it has (a client that forges its callback data).
   */
  forgePress(chatId: string, data: string, person: SandboxPerson = defaultPerson(chatId), onMessage?: number): number {
    const chat = this.#chats.get(chatId) ?? this.addChat({ id: chatId, type: 'private', title: person.firstName });
    const existing = onMessage === undefined ? undefined : this.message(chatId, onMessage);
    if (onMessage !== undefined && !existing?.fromBot) throw new Error(`telegram sandbox: no bot message ${onMessage} in chat ${chatId}`);
    const message: SandboxMessage = existing ?? { chatId: chat.id, messageId: 1_000_000 + this.#nextPressId, fromBot: true, text: 'forwarded', entities: [], sent: 'forwarded', buttons: [[{ text: 'send', data }]], replyTo: null, date: now(), edits: 0 };
    return this.#pressWith(chatId, message, data, person);
  }

  /** `person` writes `text` in `chatId`, as a reply to message `replyTo` when given. Returns the update's id. */
  write(chatId: string, text: string, options: { replyTo?: number; person?: SandboxPerson } = {}): number {
    const person = options.person ?? defaultPerson(chatId);
    const chat = this.#chats.get(chatId) ?? this.addChat({ id: chatId, type: 'private', title: person.firstName });
    const list = this.#messages.get(chat.id)!;
    const repliedTo = options.replyTo === undefined ? undefined : list.find((message) => message.messageId === options.replyTo);
    if (options.replyTo !== undefined && !repliedTo) throw new Error(`telegram sandbox: no message ${options.replyTo} in chat ${chatId}`);
    const message: SandboxMessage = { chatId: chat.id, messageId: this.#nextMessageId(chat.id), fromBot: false, text, entities: [], sent: text, buttons: [], replyTo: options.replyTo ?? null, date: now(), edits: 0 };
    list.push(message);
    return this.#push({
      message: {
        ...this.#messageJson(message, person),
        ...(repliedTo ? { reply_to_message: this.#messageJson(repliedTo) } : {}),
      },
    });
  }

  /** The answer given to the press of update `updateId`, if any. */
  answerTo(updateId: number): PressAnswer | undefined {
    return this.answers.find((answer) => answer.updateId === updateId);
  }

  /** Updates not yet confirmed by a getUpdates offset past them. */
  get pendingUpdates(): number {
    return this.#updates.length;
  }

  async close(): Promise<void> {
    if (this.#waiter) this.#finishWait(this.#waiter, 200, { ok: true, result: [] });
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#server.closeAllConnections();
    });
  }

  // ------------------------------------------------------------ the wire

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.unreachable) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', this.url);
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req)) };
    const method = match?.[2] ?? url.pathname;
    await this.beforeServe?.(method);
    const cuts = this.#cuts.get(method) ?? 0;
    if (cuts > 0) {
      this.#cuts.set(method, cuts - 1);
      this.calls.push({ method, params, at: Date.now(), status: 0, description: 'connection cut' });
      req.socket.destroy();
      return;
    }
    const cutAfter = match && match[1] === this.token ? this.#cutsAfterDelivery.find((each) => each.method === method && each.left > 0) : undefined;
    if (cutAfter) cutAfter.left -= 1;
    const respond = (status: number, body: ResponseBody) => {
      this.calls.push({ method, params, at: Date.now(), status: cutAfter ? 0 : status, ...(cutAfter ? { description: 'connection cut after delivery' } : body.description ? { description: body.description } : {}) });
      if (cutAfter) req.socket.destroy();
      else reply(res, status, body);
    };
    if (!match) return respond(404, { ok: false, error_code: 404, description: 'Not Found' });
    if (match[1] !== this.token) return respond(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const failure = this.#failures.find((each) => each.method === method && each.left > 0);
    if (failure) {
      failure.left -= 1;
      return respond(failure.status, {
        ok: false,
        error_code: failure.status,
        description: failure.description,
        ...(failure.retryAfter === undefined && failure.migrateToChatId === undefined
          ? {}
          : { parameters: { ...(failure.retryAfter === undefined ? {} : { retry_after: failure.retryAfter }), ...(failure.migrateToChatId === undefined ? {} : { migrate_to_chat_id: failure.migrateToChatId }) } }),
      });
    }
    const fail: Fail = (status, description, parameters) => respond(status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });
    const ok = (result: unknown) => respond(200, { ok: true, result });
    switch (method) {
      case 'getMe':
        return ok({ id: BOT_ID, is_bot: true, first_name: 'gisbot', username: this.username, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
      case 'getChat': {
        const chat = this.#chats.get(String(params.chat_id));
        if (chat?.migratedTo !== undefined) return migrated(chat, fail);
        return chat ? ok(this.#chatJson(chat)) : fail(400, 'Bad Request: chat not found');
      }
      case 'getUpdates':
        return this.#getUpdates(params, respond, res);
      case 'sendMessage':
        return this.#sendMessage(params, ok, fail);
      case 'editMessageText':
        return this.#editMessageText(params, ok, fail);
      case 'answerCallbackQuery': {
        const id = String(params.callback_query_id ?? '');
        const press = this.#presses.get(id);
        const ttl = this.#options.pressAnswerTtlMs;
        if (!press || press.answered || (ttl !== undefined && Date.now() - press.at > ttl)) {
          return fail(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
        }
        press.answered = true;
        this.answers.push({ pressId: id, updateId: press.updateId, text: String(params.text ?? ''), showAlert: params.show_alert === true });
        return ok(true);
      }
      default:
        return fail(404, 'Not Found');
    }
  }

  #getUpdates(params: Record<string, unknown>, respond: (status: number, body: { ok: boolean; result?: unknown }) => void, res: ServerResponse): void {
    const offset = Number(params.offset ?? 0);
    // An offset confirms every update before it: Telegram forgets them.
    if (offset > 0) this.#updates = this.#updates.filter((update) => update.update_id >= offset);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const allowed = Array.isArray(params.allowed_updates) && params.allowed_updates.length > 0 ? new Set(params.allowed_updates.map(String)) : null;
    const ready = () => this.#updates.filter((update) => allowed === null || Object.keys(update).some((key) => allowed.has(key))).slice(0, limit);
    // One reader at a time: a second getUpdates ends the first with a conflict, as Telegram does.
    if (this.#waiter) {
      this.#finishWait(this.#waiter, 409, { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
    }
    const found = ready();
    const timeout = Math.min(50, Math.max(0, Number(params.timeout ?? 0)));
    if (found.length > 0 || timeout === 0) return respond(200, { ok: true, result: found });
    const waiter: Waiter = {
      offset,
      respond: (status, body) => respond(status, body as { ok: boolean }),
      timer: setTimeout(() => this.#finishWait(waiter, 200, { ok: true, result: ready() }), timeout * 1000),
    };
    this.#waiter = waiter;
    // A reader that gave up (its request aborted) reads nothing: what was ready stays for the next getUpdates.
    res.once('close', () => {
      if (this.#waiter === waiter && !res.writableEnded) this.#finishWait(waiter, 0, null);
    });
    this.#wake = () => {
      const now = ready();
      if (now.length > 0) this.#finishWait(waiter, 200, { ok: true, result: now });
    };
  }

  #wake: () => void = () => {};

  #finishWait(waiter: Waiter, status: number, body: unknown): void {
    if (this.#waiter !== waiter) return;
    clearTimeout(waiter.timer);
    this.#waiter = null;
    this.#wake = () => {};
    if (status !== 0) waiter.respond(status, body);
  }

  #sendMessage(params: Record<string, unknown>, ok: (result: unknown) => void, fail: Fail): void {
    const chat = this.#chats.get(String(params.chat_id));
    if (!chat) return fail(400, 'Bad Request: chat not found');
    if (chat.migratedTo !== undefined) return migrated(chat, fail);
    if (chat.blocked) return fail(403, 'Forbidden: bot was blocked by the user');
    const content = this.#content(params);
    if ('error' in content) return fail(400, content.error);
    const replyTo = replyTarget(params);
    const list = this.#messages.get(chat.id)!;
    if (replyTo !== null && !list.some((message) => message.messageId === replyTo)) return fail(400, 'Bad Request: message to be replied not found');
    const message: SandboxMessage = { chatId: chat.id, messageId: this.#nextMessageId(chat.id), fromBot: true, ...content, replyTo, date: now(), edits: 0 };
    list.push(message);
    ok(this.#messageJson(message));
  }

  #editMessageText(params: Record<string, unknown>, ok: (result: unknown) => void, fail: Fail): void {
    const chat = this.#chats.get(String(params.chat_id));
    if (chat?.migratedTo !== undefined) return migrated(chat, fail);
    if (chat?.blocked) return fail(403, 'Forbidden: bot was blocked by the user');
    const message = this.message(String(params.chat_id), Number(params.message_id));
    if (!message?.fromBot) return fail(400, 'Bad Request: message to edit not found');
    const content = this.#content(params);
    if ('error' in content) return fail(400, content.error);
    if (content.text === message.text && JSON.stringify(content.entities) === JSON.stringify(message.entities) && JSON.stringify(content.buttons) === JSON.stringify(message.buttons)) {
      return fail(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
    }
    Object.assign(message, content, { edits: message.edits + 1 });
    ok(this.#messageJson(message));
  }

  /** The text and keyboard of a sendMessage or editMessageText, checked as Telegram checks them. */
  #content(params: Record<string, unknown>): Pick<SandboxMessage, 'text' | 'entities' | 'sent' | 'buttons'> | { error: string } {
    const sent = typeof params.text === 'string' ? params.text : '';
    const mode = params.parse_mode;
    let parsed: { text: string; entities: SandboxEntity[] } | { error: string };
    if (mode === undefined) parsed = { text: sent, entities: [] };
    else if (mode === 'HTML') parsed = parseHtml(sent);
    else return { error: `Bad Request: unsupported parse_mode ${String(mode)}` };
    if ('error' in parsed) return { error: `Bad Request: can't parse entities: ${parsed.error}` };
    if (parsed.text.trim() === '') return { error: 'Bad Request: message text is empty' };
    if (parsed.text.length > MAX_TEXT) return { error: 'Bad Request: message is too long' };
    const buttons = keyboard(params.reply_markup);
    if ('error' in buttons) return buttons;
    return { ...parsed, sent, buttons: buttons.rows };
  }

  // ------------------------------------------------------------ updates

  #pressWith(chatId: string, message: SandboxMessage, data: string, person: SandboxPerson): number {
    const pressId = `${Date.now()}${this.#nextPressId++}`;
    const updateId = this.#push({
      callback_query: { id: pressId, from: personJson(person), message: this.#messageJson(message), chat_instance: `ci${chatId}`, data },
    });
    this.#presses.set(pressId, { updateId, at: Date.now(), answered: false });
    return updateId;
  }

  #push(content: Record<string, unknown>): number {
    const update: Update = { update_id: this.#nextUpdateId++, ...content };
    this.#updates.push(update);
    this.#wake();
    return update.update_id;
  }

  #nextMessageId(chatId: string): number {
    return (this.#messages.get(chatId)?.at(-1)?.messageId ?? 0) + 1;
  }

  #chatJson(chat: SandboxChat): Record<string, unknown> {
    const id = Number(chat.id);
    return chat.type === 'private' ? { id, type: 'private', first_name: chat.title } : { id, type: chat.type, title: chat.title };
  }

  #messageJson(message: SandboxMessage, person?: SandboxPerson): Record<string, unknown> {
    const chat = this.#chats.get(message.chatId)!;
    return {
      message_id: message.messageId,
      from: message.fromBot ? { id: BOT_ID, is_bot: true, first_name: 'gisbot', username: this.username } : personJson(person ?? defaultPerson(chat.id)),
      chat: this.#chatJson(chat),
      date: message.date,
      text: message.text,
      ...(message.entities.length > 0 ? { entities: message.entities } : {}),
      ...(message.buttons.length > 0 ? { reply_markup: { inline_keyboard: message.buttons.map((row) => row.map((b) => ({ text: b.text, callback_data: b.data }))) } } : {}),
    };
  }
}

type ResponseBody = { ok: boolean; result?: unknown; error_code?: number; description?: string; parameters?: Record<string, unknown> };
type Fail = (status: number, description: string, parameters?: Record<string, unknown>) => void;

/** What Telegram answers for the old id of a group upgraded to a supergroup. */
function migrated(chat: SandboxChat, fail: Fail): void {
  fail(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: Number(chat.migratedTo) });
}

function defaultPerson(chatId: string): SandboxPerson {
  return { id: Math.abs(Number(chatId)) || 1, firstName: 'Owner' };
}

function personJson(person: SandboxPerson): Record<string, unknown> {
  return { id: person.id, is_bot: false, first_name: person.firstName, ...(person.username ? { username: person.username } : {}) };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function replyTarget(params: Record<string, unknown>): number | null {
  const parameters = params.reply_parameters as { message_id?: unknown } | undefined;
  if (parameters?.message_id !== undefined) return Number(parameters.message_id);
  return params.reply_to_message_id === undefined ? null : Number(params.reply_to_message_id);
}

function keyboard(markup: unknown): { rows: SandboxButton[][] } | { error: string } {
  if (markup === undefined) return { rows: [] };
  const value = typeof markup === 'string' ? (JSON.parse(markup) as unknown) : markup;
  const rows = (value as { inline_keyboard?: unknown }).inline_keyboard;
  if (!Array.isArray(rows)) return { error: 'Bad Request: can\'t parse reply keyboard markup JSON object' };
  const result: SandboxButton[][] = [];
  for (const row of rows) {
    if (!Array.isArray(row)) return { error: 'Bad Request: can\'t parse reply keyboard markup JSON object' };
    const buttons: SandboxButton[] = [];
    for (const button of row as Array<{ text?: unknown; callback_data?: unknown }>) {
      const data = typeof button.callback_data === 'string' ? button.callback_data : '';
      if (typeof button.text !== 'string' || button.text === '') return { error: 'Bad Request: button text is empty' };
      const bytes = Buffer.byteLength(data, 'utf8');
      if (bytes < 1 || bytes > 64) return { error: 'Bad Request: BUTTON_DATA_INVALID' };
      buttons.push({ text: button.text, data });
    }
    result.push(buttons);
  }
  return { rows: result };
}

/**
 * Telegram's HTML parse mode: the supported tags, only the named entities &lt; &gt; &amp; &quot; and numeric ones;
 * anything else is an error naming the byte offset, as Telegram's are. Entity offsets are in UTF-16 code units.
 */
export function parseHtml(html: string): { text: string; entities: SandboxEntity[] } | { error: string } {
  let text = '';
  const entities: SandboxEntity[] = [];
  const open: Array<{ tag: string; offset: number; url?: string }> = [];
  const byteOffset = (index: number) => Buffer.byteLength(html.slice(0, index), 'utf8');
  let i = 0;
  while (i < html.length) {
    const char = html[i]!;
    if (char === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) return { error: `Unclosed start tag at byte offset ${byteOffset(i)}` };
      const inner = html.slice(i + 1, end);
      if (inner.startsWith('/')) {
        const name = inner.slice(1).trim().toLowerCase();
        const top = open.pop();
        if (!top || top.tag !== name) return { error: `Unexpected end tag at byte offset ${byteOffset(i)}` };
        entities.push({ type: ENTITY_OF[name]!, offset: top.offset, length: text.length - top.offset, ...(top.url ? { url: top.url } : {}) });
      } else {
        const tagMatch = /^([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*"[^"]*")?)*)\s*$/.exec(inner);
        const name = tagMatch?.[1]?.toLowerCase() ?? '';
        if (!tagMatch || !SUPPORTED_TAGS.has(name)) return { error: `Unsupported start tag "${inner.split(/\s/)[0]}" at byte offset ${byteOffset(i)}` };
        const href = /href\s*=\s*"([^"]*)"/.exec(tagMatch[2] ?? '')?.[1];
        open.push({ tag: name, offset: text.length, ...(href === undefined ? {} : { url: href }) });
      }
      i = end + 1;
    } else if (char === '&') {
      const entity = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);/.exec(html.slice(i, i + 12));
      if (!entity) return { error: `Character entity expected at byte offset ${byteOffset(i)}` };
      const name = entity[1]!;
      text += name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'amp' ? '&' : name === 'quot' ? '"'
        : String.fromCodePoint(name.startsWith('#x') ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
      i += entity[0].length;
    } else if (char === '>') {
      return { error: `Unexpected > at byte offset ${byteOffset(i)}` };
    } else {
      text += char;
      i += 1;
    }
  }
  if (open.length > 0) return { error: `Can't find end tag corresponding to start tag "${open.at(-1)!.tag}"` };
  return { text, entities: entities.sort((a, b) => a.offset - b.offset || b.length - a.length) };
}

async function readParams(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  if (body === '') return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return JSON.parse(body) as Record<string, unknown>;
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body));
  return {};
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
