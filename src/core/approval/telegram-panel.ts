// The owner's panel in Telegram (issue 20): the commands typed in a chat (`/start`, `/balance`, `/stats [7d|30d]`,
// `/waiting`), and what gisbot pushes to the business's chats and the agency's staff chats: alerts, each once per
// episode (Store.openAlertEpisode, a row inserted once across workers and restarts, with its messages in the same
// transaction), reminders of reviews waiting for a person, and the weekly digest.
//
// The bridge calls it at one point for each stored update (TelegramBridge.#act), and once per turn for the alerts
// and the queue, so it runs on the bridge's durable update path and only in the worker holding the turn.
// Pushed messages wait in the database (telegram_messages) and go out within Telegram's limits: at least a second
// apart per chat, at most 20 a minute to a group. What a turn cannot send stays queued for the next: never dropped.
//
// Many businesses, one bot (issue 19): a business's chats see its own figures, alerts and digest. The agency's staff
// chats get every business's alerts and digests, each naming its business, and their commands are about every
// business (StaffPanel): `/balance` lists each; `/stats` a few figures of each, `/stats <id>` one business's all;
// `/waiting` the oldest cards over every business, `/waiting <id>` one business's.
import { isServiceError } from '../../errors.ts';
import { formatMoney } from '../money/money.ts';
import type { PipelineDeps } from '../pipeline.ts';
import type { PanelAlert, PanelFigures, StoredEvent, StoredReview, Telegram, TelegramNotice, TelegramUpdate } from '../ports.ts';
import { periodStats, type Figures } from '../insight/stats.ts';

export interface PanelSettings {
  business: { id: string; name: string | null };
  /** The business's `timeZone`: the digest's weekday and hour are its. */
  timeZone: string;
  /** `telegram.digest`, e.g. `mon 09:00`; none: no digest. */
  digest?: string | undefined;
  /** `approval.remindAfterHours`; none: no reminders. */
  remindAfterHours?: number | undefined;
}

export interface PanelDeps extends PipelineDeps {
  telegram: Telegram;
  /** The chats that get the business's cards and alerts: its own and the agency's staff chats. */
  chatIds: readonly string[];
  /** The agency's staff chats among them: what is pushed there names the business. */
  staffChatIds?: readonly string[];
  panel?: PanelSettings;
}

/** What the bridge does for `/waiting`: the given reviews' cards sent again to the chat, the earlier copies superseded. */
export type ResendCards = (chatId: string, reviewIds: readonly string[]) => Promise<void>;

/** `/waiting` shows this many of the oldest reviews waiting for a person. */
export const WAITING_SHOWN = 10;
/** Telegram's limits for a bot: about one message a second per chat, 20 a minute per group. */
export const CHAT_GAP_MS = 1_000;
export const GROUP_PER_MINUTE = 20;
/** Queued messages tried per turn; the rest on the next turns. */
const MESSAGES_PER_TURN = 30;
/** How long a worker holds a message it is sending before another may send it (it died meanwhile). */
const SEND_CLAIM_MS = 60_000;
const EVENTS_PER_TURN = 200;
const REMINDERS_PER_TURN = 20;
/** A digest that could not go out at its hour (nothing ran) still goes out within this; later it waits for next week. */
const DIGEST_LATE_MS = 24 * 3_600_000;
const WEEK_MS = 7 * 86_400_000;
const ALERTED = new Set(['balance.low', 'balance.insufficient', 'complaint.repeated', 'auth.failed']);
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

type Message = Extract<TelegramUpdate, { kind: 'message' }>;

export class Panel {
  readonly #deps: PanelDeps;
  readonly #resend: ResendCards;
  /** How a staff chat names the business: its name, else its id. */
  readonly #label: string;

  constructor(deps: PanelDeps, resend: ResendCards, label?: string) {
    this.#deps = deps;
    this.#resend = resend;
    this.#label = label ?? deps.panel?.business.name ?? deps.store.businessId;
  }

  /**
   * A command typed in a chat: true when it was one and was answered. `/start` is answered in any chat (its id,
   * so the owner can allow it) and changes nothing; the others only in an allowed chat.
   */
  async command(message: Message, allowed: boolean): Promise<boolean> {
    const parsed = /^\/([a-z_]+)(?:@\w+)?(?:\s+(.*))?$/is.exec(message.text.trim());
    if (!parsed) return false;
    const name = parsed[1]!.toLowerCase();
    const argument = (parsed[2] ?? '').trim().toLowerCase();
    const tell = (notice: TelegramNotice) => this.#deps.telegram.notify(message.chatId, notice, message.messageId);
    if (name === 'start') {
      const business = this.#deps.panel?.business;
      return tell({ kind: 'chat_id', chatId: message.chatId, allowed, business: allowed ? (business?.name ?? business?.id ?? null) : null }).then(() => true);
    }
    if (!allowed) return false;
    switch (name) {
      case 'balance': {
        const { balance, held } = await this.balance();
        await tell({ kind: 'balance', balance, held });
        return true;
      }
      case 'stats': {
        const days = periodDays(argument);
        if (days === null) {
          await tell({ kind: 'unknown_command', command: message.text.trim() });
          return true;
        }
        await tell({ kind: 'stats', days, figures: await this.figures(days) });
        return true;
      }
      case 'waiting': {
        const { oldest, total } = await this.waiting();
        await tell({ kind: 'waiting', shown: oldest.length, more: Math.max(0, total - oldest.length) });
        await this.resend(message.chatId, oldest.map((review) => review.id));
        return true;
      }
      default:
        await tell({ kind: 'unknown_command', command: `/${name}` });
        return true;
    }
  }

  /** The business's balance and what is held, as `balance --json` shows them. */
  async balance(): Promise<{ balance: string; held: string }> {
    const { balance, reserved } = await this.#deps.store.getBalance();
    return { balance: formatMoney(balance), held: formatMoney(reserved) };
  }

  /** The business's figures of the last `days` days, as `stats --json` (`total`) shows them. */
  async figures(days: number): Promise<PanelFigures> {
    const to = this.#deps.clock.now();
    return panelFigures((await periodStats(this.#deps.store, { from: new Date(to.getTime() - days * 86_400_000), to })).total);
  }

  /** The business's oldest reviews waiting for a person (at most WAITING_SHOWN), and how many wait in all. */
  async waiting(): Promise<{ oldest: StoredReview[]; total: number }> {
    const { store } = this.#deps;
    const oldest = await store.listReviewsInState('needs_approval', WAITING_SHOWN);
    const total = (await store.waitingForPerson(0)).reduce((sum, branch) => sum + branch.count, 0);
    return { oldest, total };
  }

  /** The given reviews' cards sent to the chat again (`/waiting`). */
  resend(chatId: string, reviewIds: readonly string[]): Promise<void> {
    return this.#resend(chatId, reviewIds);
  }

  /** The turn's alerts: new ones drawn from the events, reminders, the digest when its hour came; then the queue. */
  async pushes(signal?: AbortSignal): Promise<void> {
    if (this.#deps.chatIds.length === 0) return;
    await this.draw();
    await this.sendQueued(signal);
  }

  /** The business's new alerts, reminders and digest, queued for its chats (and the staff's). */
  async draw(): Promise<void> {
    if (this.#deps.chatIds.length === 0) return;
    await this.#fromEvents();
    await this.#reminders();
    await this.#digest();
  }

  async #fromEvents(): Promise<void> {
    const { store, clock } = this.#deps;
    const cursor = await store.alertCursor();
    const events = await store.listEvents({ afterSeq: cursor, limit: EVENTS_PER_TURN });
    if (events.length === 0) return;
    for (const event of events) {
      if (!ALERTED.has(event.type)) continue;
      const alert = alertOf(event);
      // balance.insufficient comes each cycle while money lacks: one alert until the next top-up. The others are
      // once per episode by their event already (a crossing, a window, a sign-in refused until one works).
      const subject = event.type === 'balance.insufficient' ? `top-up ${await store.lastTopUpId()}` : event.id;
      await store.openAlertEpisode({ kind: event.type, subject }, clock.now(), { messages: this.#toChats({ kind: 'alert', alert }) });
    }
    await store.moveAlertCursor(cursor, events.at(-1)!.seq);
  }

  async #reminders(): Promise<void> {
    const hours = this.#deps.panel?.remindAfterHours;
    if (hours === undefined) return;
    const { store, clock } = this.#deps;
    const now = clock.now();
    for (const review of await store.waitingForPersonSince(new Date(now.getTime() - hours * 3_600_000), REMINDERS_PER_TURN)) {
      const alert: PanelAlert = { kind: 'reminder', reviewId: review.id, branchName: review.branchName, rating: review.rating, hours };
      await store.openAlertEpisode({ kind: 'reminder', subject: review.id }, now, { messages: this.#toChats({ kind: 'alert', alert }) });
    }
  }

  async #digest(): Promise<void> {
    const panel = this.#deps.panel;
    if (panel?.digest === undefined) return;
    const { store, clock } = this.#deps;
    const now = clock.now();
    const slot = digestSlot(panel.digest, panel.timeZone, now);
    if (slot === null || now.getTime() - slot.getTime() >= DIGEST_LATE_MS) return;
    const episode = { kind: 'digest', subject: slot.toISOString() };
    if (await store.alertEpisodeOpen(episode)) return; // sent already (the check saves the week's figures)
    const from = new Date(slot.getTime() - WEEK_MS);
    const [stats, account] = await Promise.all([periodStats(store, { from, to: slot }), store.getBalance()]);
    const notice: Extract<TelegramNotice, { kind: 'digest' }> = {
      kind: 'digest',
      from: from.toISOString(),
      to: slot.toISOString(),
      figures: panelFigures(stats.total),
      topics: stats.topics.map((topic) => topic.topic),
      balance: formatMoney(account.balance),
    };
    await store.openAlertEpisode(episode, now, { messages: this.#toChats(notice) });
  }

  /**
   * Sends what is queued, within Telegram's limits; a chat that refuses the bot has its message given up on. The
   * queue is the deployment's: every business's messages.
   */
  async sendQueued(signal?: AbortSignal): Promise<void> {
    const { store, clock, telegram } = this.#deps;
    const held = new Set<string>();
    for (const message of await store.queuedTelegramMessages(clock.now(), MESSAGES_PER_TURN)) {
      if (signal?.aborted) return;
      if (held.has(message.chatId)) continue; // in order per chat: nothing overtakes a message held back
      let now = clock.now();
      const sent = await store.sentTelegramMessages(message.chatId, new Date(now.getTime() - 60_000));
      if (isGroup(message.chatId) && sent.count >= GROUP_PER_MINUTE) {
        held.add(message.chatId);
        continue;
      }
      const gap = sent.last === null ? CHAT_GAP_MS : now.getTime() - sent.last.getTime();
      if (gap < CHAT_GAP_MS) await clock.sleep(CHAT_GAP_MS - gap, signal).catch(() => {});
      now = clock.now();
      // Claimed before it is sent: two workers never send one message; one that dies sending leaves it to the next.
      if (!(await store.claimTelegramMessage(message.id, now, new Date(now.getTime() + SEND_CLAIM_MS)))) continue;
      try {
        await telegram.notify(message.chatId, message.notice, null);
        await store.finishTelegramMessage(message.id, clock.now(), 'sent');
      } catch (error) {
        if (!isServiceError(error, 'telegram')) throw error;
        if (error.kind === 'rejected' || error.kind === 'blocked') {
          this.#deps.logger.warn('telegram: a chat does not take the panel message', { chatId: message.chatId, error: error.message });
          await store.finishTelegramMessage(message.id, clock.now(), 'refused');
          continue;
        }
        // Telegram down or asking to slow down: the message waits in the queue for the next turn.
        await store.finishTelegramMessage(message.id, clock.now(), 'retry');
        throw error;
      }
    }
  }

  /** The notice for each of the business's chats; a staff chat's names the business (it gets every business's). */
  #toChats(notice: Extract<TelegramNotice, { kind: 'alert' | 'digest' }>): Array<{ chatId: string; notice: TelegramNotice }> {
    const staff = new Set(this.#deps.staffChatIds ?? []);
    return this.#deps.chatIds.map((chatId) => ({ chatId, notice: staff.has(chatId) ? { ...notice, business: this.#label } : notice }));
  }
}

/** One business as the staff panel knows it. */
export interface StaffDesk {
  id: string;
  /** Its name, else its id. */
  label: string;
  panel: Panel;
}

/** A staff chat's `/stats` lists at most this many businesses (a Telegram message holds 4096 characters). */
export const STAFF_STATS_SHOWN = 30;

/**
 * The commands typed in one of the agency's staff chats (top-level telegram.chatIds beside `businesses:`): about
 * every business, each named, or about the one whose id follows the command.
 */
export class StaffPanel {
  readonly #telegram: Telegram;
  readonly #desks: readonly StaffDesk[];

  constructor(telegram: Telegram, desks: readonly StaffDesk[]) {
    this.#telegram = telegram;
    this.#desks = desks;
  }

  /** A command typed in a staff chat: true when it was one and was answered. */
  async command(message: Message): Promise<boolean> {
    const parsed = /^\/([a-z_]+)(?:@\w+)?(?:\s+(.*))?$/is.exec(message.text.trim());
    if (!parsed) return false;
    const name = parsed[1]!.toLowerCase();
    const words = (parsed[2] ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean);
    const tell = (notice: TelegramNotice) => this.#telegram.notify(message.chatId, notice, message.messageId);
    const unknown = () => tell({ kind: 'unknown_command', command: message.text.trim() }).then(() => true);
    // The business the command names, if it names one (`/stats dental-7 30d`), and what else it says.
    const named = this.#desks.find((desk) => words.includes(desk.id)) ?? null;
    const rest = words.filter((word) => word !== named?.id);
    const desks = named ? [named] : this.#desks;
    switch (name) {
      case 'start':
        await tell({ kind: 'chat_id', chatId: message.chatId, allowed: true, business: null, staff: true });
        return true;
      case 'balance': {
        if (rest.length > 0) return unknown();
        const businesses = [];
        for (const desk of desks) businesses.push({ business: desk.label, ...(await desk.panel.balance()) });
        await tell({ kind: 'balances', businesses });
        return true;
      }
      case 'stats': {
        const days = rest.length > 1 ? null : periodDays(rest[0] ?? '');
        if (days === null) return unknown();
        if (named) {
          await tell({ kind: 'stats', days, figures: await named.panel.figures(days), business: named.label });
          return true;
        }
        const businesses = [];
        for (const desk of desks.slice(0, STAFF_STATS_SHOWN)) businesses.push({ business: desk.label, figures: await desk.panel.figures(days) });
        await tell({ kind: 'stats_each', days, businesses, more: Math.max(0, desks.length - STAFF_STATS_SHOWN) });
        return true;
      }
      case 'waiting': {
        if (rest.length > 0) return unknown();
        // The oldest over every business named: each business's oldest, merged by when they were written.
        const each = [];
        for (const desk of desks) each.push({ desk, ...(await desk.panel.waiting()) });
        const oldest = each
          .flatMap(({ desk, oldest: reviews }) => reviews.map((review) => ({ desk, review })))
          .sort((a, b) => Date.parse(a.review.createdAt) - Date.parse(b.review.createdAt))
          .slice(0, WAITING_SHOWN);
        const total = each.reduce((sum, one) => sum + one.total, 0);
        await tell({ kind: 'waiting', shown: oldest.length, more: Math.max(0, total - oldest.length) });
        for (const { desk, review } of oldest) await desk.panel.resend(message.chatId, [review.id]);
        return true;
      }
      default:
        return unknown();
    }
  }
}

/** `/stats`'s period: none or `7d` is 7 days, `30d` is 30; null for anything else. */
function periodDays(argument: string): number | null {
  return argument === '' || argument === '7d' ? 7 : argument === '30d' ? 30 : null;
}

/** The figures a panel message shows: those of `stats --json`, by the same names, read from periodStats. */
export function panelFigures(total: Figures): PanelFigures {
  const { reviews, answered, byPerson, answeredElsewhere, waiting, skipped, failed, replyRate, medianMinutesToAnswer, averageRating, charged } = total;
  return { reviews, answered, byPerson, answeredElsewhere, waiting, skipped, failed, replyRate, medianMinutesToAnswer, averageRating, charged };
}

/**
 * The latest moment at or before `now` that `schedule` (`mon 09:00`) names in `timeZone`; null for a schedule that
 * cannot be read. A week's digest is keyed by it, so it is sent once per week whoever sends it.
 */
export function digestSlot(schedule: string, timeZone: string, now: Date): Date | null {
  const parsed = /^(mon|tue|wed|thu|fri|sat|sun) (\d{2}):(\d{2})$/i.exec(schedule.trim());
  if (!parsed) return null;
  const weekday = WEEKDAYS.indexOf(parsed[1]!.toLowerCase());
  const [hour, minute] = [Number(parsed[2]), Number(parsed[3])];
  // The wall clock there, as if it were UTC; the slot found on it is moved back by the zone's offset at that time.
  const local = wallClock(now, timeZone);
  const today = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), hour, minute));
  let back = (local.getUTCDay() - weekday + 7) % 7;
  if (back === 0 && today.getTime() > local.getTime()) back = 7;
  const wall = today.getTime() - back * 86_400_000;
  const offset = wallClock(new Date(wall), timeZone).getTime() - wall;
  return new Date(wall - offset);
}

function wallClock(at: Date, timeZone: string): Date {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(at);
  const part = (type: string) => Number(parts.find((one) => one.type === type)?.value ?? 0);
  return new Date(Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second')));
}

function alertOf(event: StoredEvent): PanelAlert {
  const data = event.data;
  const text = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : '');
  switch (event.type) {
    case 'balance.low':
      return { kind: 'balance.low', balance: text('balance'), threshold: text('threshold') };
    case 'balance.insufficient':
      return { kind: 'balance.insufficient', balance: text('balance'), price: text('price') };
    case 'complaint.repeated':
      return { kind: 'complaint.repeated', topic: text('topic'), count: Number(data.count ?? 0), branchId: event.branchId };
    default:
      return { kind: 'auth.failed', error: text('error'), code: text('code') || null };
  }
}

function isGroup(chatId: string): boolean {
  return chatId.startsWith('-');
}
