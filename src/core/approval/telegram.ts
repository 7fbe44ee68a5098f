// The Telegram bridge (issue 15): a review that waits for a person gets a card in each allowed chat, with its
// draft and the gate's verdict, and the buttons send / regenerate / edit / skip. Presses and replies act through
// the very path `gisbot reply` takes (manual.ts: the gate, the reserve, the re-read on 2GIS, the post, one
// settlement), so a card sent twice, or from two chats at once, posts once and charges once.
//
// One worker at a time holds the turn to read the bot's updates (Telegram serves one reader; Store.takeTelegramTurn).
// The updates read are stored before the offset confirms them to Telegram (it forgets them then), and acted on from
// the database: each claimed by one worker, done once acted on. A try that meets a failing database (a lock held
// too long, a dropped connection) gives its claim back and the next turn tries again, up to MAX_UPDATE_ATTEMPTS
// times; then the person who pressed or wrote is told, in reply to the card, that it was not acted on. A card takes
// an update's effect at most once (TelegramCardBody.actedOn), so no press is lost or acted on twice across failures,
// restarts and workers. A press acts only on the card of the message it came from. A card lives in the database
// from the moment its review waits: when Telegram is unreachable, answering goes on and the card goes out later.
//
// One bot serves every business of the deployment (issue 19): one turn, one offset, one stream of updates. Each
// business has its desk (its pipeline: the database seen from it, its 2GIS account, prompt and policy; its own
// chats; its panel). A business's own chats reach its desk alone: a card of another business is not found from
// there, and a press carrying one is refused and recorded. The agency's staff chats reach every desk: they get
// every business's cards, each naming its business, and may act on any.
import { isServiceError, UsageError, type CycleProblem } from '../../errors.ts';
import { makeEvent } from '../events/events.ts';
import { fileComplaint } from './complaint.ts';
import { looksLikeNotACustomer } from '../drafting/looks-like.ts';
import { withoutSecrets, normaliseDraft, type FoundProblem } from '../drafting/gate.ts';
import { noteTopics } from '../insight/insight.ts';
import { noteRegeneration } from '../voice/voice.ts';
import { checkPersonAnswer, draftReply, messagesOf, sendReply, type ManualDraft } from './manual.ts';
import { formatMoney } from '../money/money.ts';
import { published, type PipelineDeps } from '../pipeline.ts';
import type {
  CardAction,
  CardDraft,
  CardMessage,
  CardView,
  DomainEvent,
  NotActedWhy,
  StoredReview,
  Telegram,
  TelegramCard,
  TelegramCardBody,
  TelegramNotice,
  TelegramUpdate,
} from '../ports.ts';
import { Panel, StaffPanel, type PanelDeps, type PanelSettings } from './telegram-panel.ts';
import { currentPrompt, type CurrentPrompt } from '../answering/worker.ts';

export interface TelegramDeps extends PipelineDeps {
  telegram: Telegram;
  /**
   * `telegram.chatIds`: the only chats that get cards and may act on them. With `businesses`, the agency's staff
   * chats: they get every business's cards and may act on any.
   */
  chatIds: readonly string[];
  /** `run`'s loop tells a person here, once each, what keeps Telegram from working (the file log gets it too). */
  onTrouble?: (trouble: TelegramTrouble) => void;
  /** The owner's panel: the business, its time zone, the digest and reminders (telegram-panel.ts). */
  panel?: PanelSettings;
  /**
   * The businesses the bot serves, each with its own chats (issue 19). The deps around them are then the
   * deployment's: the turn to read the bot, the updates, the panel's queue, the events of no business. Absent: the
   * deps are the one business's, `chatIds` its chats.
   */
  businesses?: readonly BridgedBusiness[];
}

/** One business the bridge serves. */
export interface BridgedBusiness {
  /** Its pipeline: the database seen from the business, its 2GIS account, prompt, price and policy. */
  deps: PipelineDeps;
  /** The business's own `telegram.chatIds`: they get its cards, and only its. */
  chatIds: readonly string[];
  panel?: PanelSettings;
}

/** One business's side of the bridge: its pipeline and chats (its own and the staff's), its panel, its name. */
interface Desk {
  deps: PanelDeps;
  /** What a staff chat calls it: its name, else its id. */
  label: string;
  panel: Panel;
}

/** A chat of telegram.chatIds that takes no messages from the bot; skipped, the other chats go on. */
export interface ChatRefusal {
  chatId: string;
  error: string;
  /** The supergroup a group became (Telegram's migrate_to_chat_id): the id to put in telegram.chatIds. */
  movedTo: string | null;
}

export type TelegramTrouble =
  | { kind: 'down'; error: string; hint: string | undefined }
  | { kind: 'chat'; refusal: ChatRefusal }
  | { kind: 'card'; problem: CardRefused };

/** A card Telegram refused for one chat (the service's own detail); it goes out there on a later turn. */
export type CardRefused = Extract<CycleProblem, { kind: 'card_refused' }>;

export interface TurnReport {
  /** Updates acted on in this turn. */
  updates: number;
  cardsSent: number;
  cardsEdited: number;
  /** A card Telegram refused for a chat, and why; the card goes out there on a later turn. */
  problems: CardRefused[];
  /** Chats that take no messages from the bot (blocked, gone, migrated); tried again on a later turn. */
  refusingChats: ChatRefusal[];
}

/**
 * The longest draft a card shows in full, in UTF-16 code units as Telegram counts a message; a longer one is sent
 * with `gisbot reply`, not from the phone. The card's renderer cuts everything else around such a draft to fit.
 */
export const CARD_TEXT_LIMIT = 2300;
/** How long a turn is held without being renewed; renewed after every update and every card. */
const TURN_MS = 90_000;
/** How long one update is held by the worker acting on it before another may take it over (it died meanwhile). */
const UPDATE_CLAIM_MS = 60_000;
/** Tries of one stored update; past them the person is told it was not acted on. */
export const MAX_UPDATE_ATTEMPTS = 8;
/** Stored updates acted on per turn; the rest on the next turns. */
const UPDATES_PER_TURN = 100;
/** Update ids a card remembers having taken the effect of. */
const ACTED_ON_KEPT = 20;
/** The long poll's wait in `run`. */
const LONG_POLL_SECONDS = 25;
/** New cards drafted per turn (each a model call); the rest come on the next turns. */
const NEW_CARDS_PER_TURN = 10;
const ACTIVE_CARDS_PER_TURN = 200;
/** Pauses of `run`'s loop: another worker holds the turn; Telegram failed (doubling up to the cap, with jitter). */
const BUSY_PAUSE_MS = 10_000;
const FAILURE_PAUSE_MS = 1_000;
const FAILURE_PAUSE_CAP_MS = 60_000;
const INSTRUCTION_LIMIT = 1000;
/** Events after which a waiting card may change: `run`'s long poll is cut short to show it. */
const CARD_EVENTS = new Set(['review.needs_approval', 'reply.failed', 'reply.posted', 'review.skipped']);
/** Review states in which no answer is coming any more: a card of such a review is closed. */
const AT_REST = new Set(['posted', 'skipped']);
/** Review states in which a person's answer may be sent; the reason of one of them is shown on its card. */
const WAITING = new Set(['needs_approval', 'failed']);

export class TelegramBridge {
  readonly #deps: TelegramDeps;
  readonly #token: string;
  /** Every chat that may act: each business's own and the staff's. */
  readonly #allowed: ReadonlySet<string>;
  readonly #staff: ReadonlySet<string>;
  readonly #desks: readonly Desk[];
  /** Each business's desk by its own chats. */
  readonly #deskOfChat = new Map<string, Desk>();
  readonly #staffPanel: StaffPanel;
  #waiting: AbortController | null = null;
  #kicked = false;
  /** When this worker last took or renewed the turn (ms since the epoch). */
  #renewed = Number.NEGATIVE_INFINITY;
  /** Problems already logged, so that a chat that stays unreachable is not reported on every turn. */
  readonly #reported = new Set<string>();

  constructor(deps: TelegramDeps) {
    this.#deps = deps;
    this.#token = deps.ownership.newToken();
    const served = deps.businesses ?? [{ deps, chatIds: deps.chatIds, ...(deps.panel ? { panel: deps.panel } : {}) }];
    const staff = deps.businesses ? deps.chatIds : [];
    this.#staff = new Set(staff);
    this.#desks = served.map((business) => {
      const chatIds = [...new Set([...business.chatIds, ...staff])];
      const panelDeps: PanelDeps = { ...business.deps, telegram: deps.telegram, chatIds, staffChatIds: staff, ...(business.panel ? { panel: business.panel } : {}) };
      const named = business.panel?.business;
      const label = named?.name ?? (named?.id || business.deps.store.businessId);
      const desk: Desk = { deps: panelDeps, label, panel: new Panel(panelDeps, (chatId, reviewIds) => this.#resend(desk, chatId, reviewIds), label) };
      for (const chatId of business.chatIds) this.#deskOfChat.set(chatId, desk);
      return desk;
    });
    this.#allowed = new Set([...staff, ...this.#deskOfChat.keys()]);
    this.#staffPanel = new StaffPanel(deps.telegram, this.#desks.map((desk) => ({ id: desk.deps.store.businessId, label: desk.label, panel: desk.panel })));
  }

  /** Committed events: a review that came to wait, or stopped waiting, ends `run`'s long poll at once. */
  kick(events: readonly DomainEvent[]): void {
    if (!events.some((event) => CARD_EVENTS.has(event.type))) return;
    this.#kicked = true;
    this.#waiting?.abort();
  }

  /**
   * One turn: the presses and messages waiting since the last one (waiting up to `waitSeconds` for one), then the
   * cards: new ones for reviews that came to wait, edits for those that changed. 'busy' while another worker
   * holds the turn (it does all of this). Telegram failures are thrown, after what was done is kept.
   */
  async turn(options: { waitSeconds: number; signal?: AbortSignal }): Promise<TurnReport | 'busy'> {
    const offset = await this.#take();
    if (offset === null) return 'busy';
    const report: TurnReport = { updates: 0, cardsSent: 0, cardsEdited: 0, problems: [], refusingChats: [] };
    const waitSeconds = this.#kicked ? 0 : options.waitSeconds;
    this.#kicked = false;
    const waiting = new AbortController();
    this.#waiting = waiting;
    let updates: TelegramUpdate[];
    try {
      updates = await this.#deps.telegram.updates(offset, waitSeconds, options.signal ? AbortSignal.any([options.signal, waiting.signal]) : waiting.signal);
    } catch (error) {
      // The cards were not brought up to date either: the next turn does that before it waits.
      this.#kicked = true;
      throw error;
    } finally {
      this.#waiting = null;
    }
    // Kept before the next getUpdates confirms them; when this fails Telegram keeps them and they are read again.
    await this.#deps.store.storeTelegramUpdates(updates);
    for (const update of await this.#deps.store.pendingTelegramUpdates(this.#deps.clock.now(), UPDATES_PER_TURN)) {
      if (options.signal?.aborted) return report; // stopping: the press in hand was finished; the rest are acted on next time
      if (!(await this.#keep())) return report; // another worker took the turn over: it acts on them
      if (await this.#handle(update)) report.updates += 1;
    }
    for (const desk of this.#desks) {
      if (options.signal?.aborted) return report;
      await this.#syncCards(desk, report, options.signal);
    }
    for (const desk of this.#desks) {
      if (options.signal?.aborted || !(await this.#keep())) return report;
      await desk.panel.draw();
    }
    // The queue of panel messages is the deployment's: every business's go out within the one bot's limits.
    await this.#desks[0]?.panel.sendQueued(options.signal);
    return report;
  }

  /** The desks a chat reaches: its business's, every one for a staff chat, none for any other chat. */
  #desksOf(chatId: string): readonly Desk[] {
    if (this.#staff.has(chatId)) return this.#desks;
    const desk = this.#deskOfChat.get(chatId);
    return desk ? [desk] : [];
  }

  /** What a card says of its business in `chatId`: its name in a staff chat, nothing in the business's own. */
  #named(desk: Desk, chatId: string): string | null {
    return this.#staff.has(chatId) ? desk.label : null;
  }

  /** Gives the turn up (at the end of `poll-once`, or when `run` stops). */
  async end(): Promise<void> {
    await this.#deps.store.endTelegramTurn(this.#token);
  }

  /** `run`'s loop beside the answering cycle, until `signal` (SIGTERM): the press in hand is finished first. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          const result = await this.turn({ waitSeconds: LONG_POLL_SECONDS, signal });
          failures = 0;
          if (result === 'busy') await this.#deps.clock.sleep(BUSY_PAUSE_MS, signal).catch(() => {});
          else {
            for (const problem of result.problems) this.#reportOnce({ kind: 'card', problem });
            for (const refusal of result.refusingChats) this.#reportOnce({ kind: 'chat', refusal });
          }
        } catch (error) {
          if (signal.aborted) break;
          failures += 1;
          const message = error instanceof Error ? error.message : String(error);
          this.#reportOnce({ kind: 'down', error: message, hint: isServiceError(error) ? error.hint : undefined });
          const retryAfter = isServiceError(error) ? error.retryAfterMs : undefined;
          const pause = retryAfter ?? Math.min(FAILURE_PAUSE_CAP_MS, FAILURE_PAUSE_MS * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
          await this.#deps.clock.sleep(pause, signal).catch(() => {});
        }
      }
    } finally {
      await this.end().catch(() => {});
    }
  }

  // ------------------------------------------------------------ updates

  /** Claims, acts on and finishes one stored update; false when another worker holds it or it was done. */
  async #handle(update: TelegramUpdate): Promise<boolean> {
    const { store, clock } = this.#deps;
    const now = clock.now();
    const claim = await store.claimTelegramUpdate(update.updateId, this.#token, now, new Date(now.getTime() + UPDATE_CLAIM_MS));
    if (claim === null) return false;
    if (claim.attempts > MAX_UPDATE_ATTEMPTS) {
      const why = claim.lastError === null ? 'tried_out' : ReviewInWork.wrote(claim.lastError) ? 'review_in_work' : null;
      await this.#giveUp(update, claim.lastError ?? 'it failed every time it was tried', why);
      await store.finishTelegramUpdate(update.updateId, this.#token, 'given_up');
      return true;
    }
    try {
      await this.#actOn(update);
    } catch (error) {
      // The review a press sends is in work elsewhere right now: acted on again on a later turn, once it is over
      // (the person is told after MAX_UPDATE_ATTEMPTS tries).
      if (error instanceof ReviewInWork) {
        await store.releaseTelegramUpdate(update.updateId, this.#token, error.message);
        return false;
      }
      // The database failing, while acting or while noting it done: the claim is given back (when the database lets
      // it; else it runs out) and the update is acted on again on a later turn. Its effect on the card is not taken
      // twice (actedOn), and sending is safe to repeat (the review's state says it was answered).
      if (isServiceError(error, 'database')) {
        const message = error instanceof Error ? error.message : String(error);
        await store.releaseTelegramUpdate(update.updateId, this.#token, message).catch(() => {});
      }
      throw error;
    }
    return true;
  }

  /** Acts on a claimed update and notes it done (or given up on, the person told). */
  async #actOn(update: TelegramUpdate): Promise<void> {
    const { store } = this.#deps;
    try {
      await this.#act(update);
    } catch (error) {
      if (isServiceError(error, 'database') || error instanceof ReviewInWork) throw error;
      // One press that cannot be handled must not hold up every press after it: the person is told (unless it is
      // Telegram that failed; the press was acted on then, only its answer is missing) and the update is done with.
      const message = error instanceof Error ? error.message : String(error);
      this.#deps.logger.error('telegram: an update could not be acted on', { updateId: update.updateId, error: message });
      if (!isServiceError(error, 'telegram')) {
        await this.#giveUp(update, message, error instanceof CardKeptChanging ? 'card_kept_changing' : null);
        return store.finishTelegramUpdate(update.updateId, this.#token, 'given_up');
      }
    }
    await store.finishTelegramUpdate(update.updateId, this.#token);
  }

  /** Tells the person an update will not be acted on, in reply to the message it came from. */
  async #giveUp(update: TelegramUpdate, reason: string, why: NotActedWhy | null): Promise<void> {
    this.#deps.logger.warn('telegram: an update was given up on', { updateId: update.updateId, reason });
    if (update.kind === 'other' || !this.#allowed.has(update.chatId)) return;
    const notice: TelegramNotice = { kind: 'not_acted', action: update.kind === 'press' ? update.action : null, reason, why };
    try {
      await this.#deps.telegram.notify(update.chatId, notice, update.messageId);
    } catch (error) {
      // A chat that refuses the bot cannot be told; anything else is tried again on the next turn.
      if (!isServiceError(error, 'telegram') || (error.kind !== 'rejected' && error.kind !== 'blocked')) throw error;
    }
  }

  async #act(update: TelegramUpdate): Promise<void> {
    if (update.chatId === null) return;
    const desks = this.#desksOf(update.chatId);
    // The one point where the owner's panel meets the updates: a command typed in a chat.
    if (update.kind === 'message' && (await this.#command(update, desks))) return;
    if (desks.length === 0) return this.#refuse(update, update.chatId);
    if (update.kind === 'press') return this.#press(update, desks);
    if (update.kind === 'message') return this.#message(update, desks);
  }

  /** A command typed in a chat: a staff chat's are about every business, a business's chat's about its own. */
  async #command(message: Extract<TelegramUpdate, { kind: 'message' }>, desks: readonly Desk[]): Promise<boolean> {
    if (this.#staff.has(message.chatId)) return this.#staffPanel.command(message);
    const panel = desks[0]?.panel ?? this.#desks[0]?.panel;
    return panel ? panel.command(message, desks.length > 0) : false;
  }

  /** A chat not in telegram.chatIds: nothing changes; one event says who tried, the deployment's own (no business's). */
  async #refuse(update: TelegramUpdate, chatId: string): Promise<void> {
    const event = { ...makeEvent(this.#deps.clock, 'telegram.refused', null, { chatId, kind: update.kind === 'press' ? 'press' : 'message' }), businessId: null };
    await this.#deps.store.appendEvents([event]);
    published(this.#deps, [event]);
    if (update.kind === 'press') await this.#deps.telegram.answerPress(update, { kind: 'not_allowed' });
  }

  async #press(press: Extract<TelegramUpdate, { kind: 'press' }>, desks: readonly Desk[]): Promise<void> {
    const answer = (notice: TelegramNotice) => this.#deps.telegram.answerPress(press, notice);
    let named: TelegramCard | null = null;
    let desk: Desk | null = null;
    for (const one of press.cardId === null ? [] : desks) {
      named = await one.deps.store.telegramCard(press.cardId!);
      if (named !== null) {
        desk = one;
        break;
      }
    }
    if (named === null && press.cardId !== null) {
      // Not a card of a business this chat serves (another's, or gone): nothing changes, and the press is on record
      // (issue 19) as the event of the business whose chat it came from; a staff chat's, of no business.
      const chatsBusiness = this.#deskOfChat.get(press.chatId);
      const event = makeEvent(this.#deps.clock, 'telegram.refused', null, { chatId: press.chatId, kind: 'press', cardId: press.cardId });
      const recorder = chatsBusiness?.deps ?? this.#deps;
      const recorded = chatsBusiness ? event : { ...event, businessId: null };
      await recorder.store.appendEvents([recorded]);
      published(recorder, [recorded]);
    }
    if (named === null || desk === null || press.action === null) return answer({ kind: 'unknown_card' });
    const card = await this.#bind(desk, press, named);
    if (card === null) return answer({ kind: 'wrong_message' });
    if (card.body.actedOn?.includes(press.updateId)) return; // acted on by an earlier try, which failed after it
    const current = await this.#follow(desk, card);
    if (current === null) return answer({ kind: 'in_work' });
    const { review } = current;
    const closed = closedNotice(current.card);
    if (closed) return answer(closed);
    switch (press.action) {
      case 'skip':
        return answer({ kind: 'skipped', reviewId: review.id });
      case 'edit':
        // The chat's next reply to its copy of the card is the answer.
        await this.#effect(desk, press.updateId, current.card, (body) => ({
          ...body,
          messages: body.messages.map((copy) => (copy.chatId === press.chatId ? { ...copy, awaitingEdit: true } : copy)),
        }));
        return answer({ kind: 'edit_asked' });
      case 'complain':
        // Never automatic: the chat's next reply to its copy of the card is the reason, and only then is it filed.
        await this.#effect(desk, press.updateId, current.card, (body) => ({
          ...body,
          messages: body.messages.map((copy) => (copy.chatId === press.chatId ? { ...copy, awaitingComplaint: true, awaitingEdit: false } : copy)),
        }));
        return answer({ kind: 'complaint_asked' });
      case 'regenerate': {
        const prompt = await currentPrompt(desk.deps);
        let drafted: ManualDraft;
        try {
          drafted = await draftReply(desk.deps, review, prompt, current.card.body.instruction ?? undefined);
        } catch (error) {
          if (!isServiceError(error, 'model')) throw error;
          return answer({ kind: 'draft_failed', reason: error.message });
        }
        const draft = modelDraft(drafted, prompt);
        await this.#effect(desk, press.updateId, current.card, (body) => ({ ...body, revision: body.revision + 1, draft, draftFailure: null, instruction: null }));
        await noteRegeneration(desk.deps, review);
        return answer({ kind: 'redrafted' });
      }
      case 'send':
        return this.#send(desk, press, current.card, review, answer);
    }
  }

  async #send(
    desk: Desk,
    press: Extract<TelegramUpdate, { kind: 'press' }>,
    card: TelegramCard,
    review: StoredReview,
    answer: (notice: TelegramNotice) => Promise<void>,
  ): Promise<void> {
    const body = card.body;
    if (press.revision !== body.revision) return answer({ kind: 'changed' });
    const draft = body.draft;
    if (draft === null) return answer({ kind: 'no_draft', detail: body.draftFailure });
    if (draft.problems.length > 0) return answer({ kind: 'refused', problems: draft.problems, ...(draft.findings ? { findings: draft.findings } : {}) });
    const usage = draft.usage;
    let outcome;
    try {
      outcome = await sendReply(desk.deps, review.id, draft.text, {
        model: draft.model,
        promptVersion: draft.promptVersion,
        completion: usage && { text: draft.text, model: draft.model, ...usage },
        shown: draft.editedBy === null ? draft.text : (draft.shown ?? null),
        template: draft.editedBy ? null : (draft.template ?? null),
      });
    } catch (error) {
      // Not claimable: answered (by this card a moment ago, the terminal or a worker), or in work right now.
      if (!(error instanceof UsageError)) throw error;
      return this.#notFree(desk, card, review.id, answer);
    }
    switch (outcome.kind) {
      case 'posted': {
        const sent = { kind: 'sent' as const, by: press.from.name, at: this.#deps.clock.now().toISOString(), charged: formatMoney(outcome.charged) };
        await this.#effect(desk, press.updateId, card, (latest) => ({ ...latest, revision: latest.revision + 1, outcome: sent }));
        return answer({ kind: 'sent', charged: formatMoney(outcome.charged), balance: formatMoney(outcome.balance) });
      }
      case 'refused': {
        const { problems, findings } = outcome;
        await this.#effect(desk, press.updateId, card, (latest) => ({ ...latest, revision: latest.revision + 1, draft: latest.draft && { ...latest.draft, problems, findings } }));
        return answer({ kind: 'refused', problems, findings });
      }
      case 'insufficient':
        return answer({ kind: 'insufficient' });
      case 'skipped':
        await this.#follow(desk, await this.#reread(desk, card));
        return answer({ kind: 'answered_elsewhere', reason: outcome.reason, code: outcome.code ?? null });
      case 'needs_approval':
      case 'failed':
        await this.#follow(desk, await this.#reread(desk, card));
        return answer({ kind: 'not_posted', reason: outcome.reason, code: outcome.code ?? null });
      case 'lost':
        return this.#notFree(desk, card, review.id, answer);
      case 'released':
        return answer({ kind: 'service_failed', detail: outcome.error?.message ?? null });
      case 'unsure':
        return answer({ kind: 'fate_unknown', detail: outcome.error.message });
    }
  }

  /**
   * A send that found its review not free: answered meanwhile (the person is told so), or in work elsewhere right
   * now (a recheck, a terminal, a lane trying a failed review again): then the press waits for that work to end.
   */
  async #notFree(desk: Desk, card: TelegramCard, reviewId: string, answer: (notice: TelegramNotice) => Promise<void>): Promise<void> {
    const now = await this.#follow(desk, await this.#reread(desk, card));
    const closed = now && closedNotice(now.card);
    if (closed) return answer(closed);
    throw new ReviewInWork(reviewId);
  }

  /** A chat's message: a reply to a card is the answer (after `edit`) or the steer for the next draft. */
  async #message(message: Extract<TelegramUpdate, { kind: 'message' }>, desks: readonly Desk[]): Promise<void> {
    if (message.replyTo === null) return;
    const tell = (notice: TelegramNotice) => this.#deps.telegram.notify(message.chatId, notice, message.messageId);
    let card: TelegramCard | undefined;
    let desk: Desk | undefined;
    for (desk of desks) {
      card = (await desk.deps.store.activeTelegramCards(ACTIVE_CARDS_PER_TURN)).find((one) =>
        one.body.messages.some((copy) => copy.chatId === message.chatId && copy.messageId === message.replyTo && !copy.superseded),
      );
      if (card) break;
    }
    if (!card || !desk) return;
    if (card.body.actedOn?.includes(message.updateId)) return; // acted on by an earlier try, which failed after it
    const current = await this.#follow(desk, card);
    if (current === null) return tell({ kind: 'in_work' });
    const closed = closedNotice(current.card);
    if (closed) return tell(closed);
    const complaining = current.card.body.messages.some((one) => one.chatId === message.chatId && one.awaitingComplaint);
    if (complaining) return this.#complain(desk, message, current.card, current.review, tell);
    const editing = current.card.body.messages.some((one) => one.chatId === message.chatId && one.awaitingEdit);
    if (!editing) {
      const instruction = cut(message.text.trim(), INSTRUCTION_LIMIT);
      await this.#effect(desk, message.updateId, current.card, (body) => ({ ...body, revision: body.revision + 1, instruction }));
      return tell({ kind: 'instruction_taken' });
    }
    const text = normaliseDraft(message.text);
    const findings = withinCard(text, checkPersonAnswer(desk.deps, current.review, text));
    const problems = messagesOf(findings);
    const previous = current.card.body.draft;
    const draft: CardDraft = {
      // Shown masked like a model's draft; the gate refused it anyway if it holds a secret.
      text: withoutSecrets(text, desk.deps.settings.secrets ?? []),
      problems,
      findings,
      editedBy: message.from.name,
      shown: previous && (previous.editedBy === null ? previous.text : (previous.shown ?? null)),
      model: previous?.model ?? 'person',
      promptVersion: previous?.promptVersion ?? (await currentPrompt(desk.deps)).version,
      usage: null,
    };
    await this.#effect(desk, message.updateId, current.card, (body) => ({
      ...body,
      revision: body.revision + 1,
      draft,
      messages: body.messages.map((one) => (one.chatId === message.chatId ? { ...one, awaitingEdit: false } : one)),
    }));
    return tell({ kind: 'edit_taken', problems, findings });
  }

  /** The reply after `complain`: the reason; filed once with 2GIS (the path `gisbot complain` takes), never charged. */
  async #complain(
    desk: Desk,
    message: Extract<TelegramUpdate, { kind: 'message' }>,
    card: TelegramCard,
    review: StoredReview,
    tell: (notice: TelegramNotice) => Promise<void>,
  ): Promise<void> {
    const outcome = await fileComplaint(desk.deps, review.id, message.text, false);
    const done = await this.#effect(desk, message.updateId, card, (body) => ({
      ...body,
      messages: body.messages.map((one) => (one.chatId === message.chatId ? { ...one, awaitingComplaint: false } : one)),
    }));
    await this.#follow(desk, done);
    switch (outcome.kind) {
      case 'sent':
      case 'already_sent':
        return tell({ kind: 'complaint', status: outcome.kind });
      case 'outcome_unknown':
        return tell({ kind: 'complaint', status: 'outcome_unknown' });
      case 'empty_reason':
        return tell({ kind: 'complaint_refused', why: 'empty' });
      case 'reason_too_long':
        return tell({ kind: 'complaint_refused', why: 'too_long', length: outcome.length });
      case 'unknown_review':
      case 'not_on_2gis':
        return tell({ kind: 'complaint_refused', why: 'gone' });
      case 'not_allowed':
        return tell({ kind: 'complaint_refused', why: 'not_allowed', detail: outcome.detail });
    }
  }

  // ------------------------------------------------------------ cards

  /** One business's cards: new ones for its reviews that came to wait, and each active one brought to its chats. */
  async #syncCards(desk: Desk, report: TurnReport, signal?: AbortSignal): Promise<void> {
    const deps = desk.deps;
    if (deps.chatIds.length === 0) return;
    const waiting = await deps.store.reviewsWithoutCard(NEW_CARDS_PER_TURN);
    let prompt: CurrentPrompt | null = null;
    let modelDown: string | null = null;
    for (const review of waiting) {
      if (signal?.aborted || !(await this.#keep())) return;
      prompt ??= await currentPrompt(deps);
      const body = emptyBody();
      if (modelDown !== null) body.draftFailure = modelDown;
      else {
        try {
          const drafted = await draftReply(deps, review, prompt, undefined, signal);
          // The card's draft is made unasked for every review that waits: its topics count toward recurring complaints.
          await noteTopics(deps, review, drafted.completion.topics ?? []);
          body.draft = modelDraft(drafted, prompt);
        } catch (error) {
          if (signal?.aborted) return; // stopping: the card is made on the next start
          if (!isServiceError(error)) throw error;
          // The card goes out all the same (the person sees the review and may regenerate later); the model is
          // not asked again in this turn.
          modelDown = error.message;
          body.draftFailure = error.message;
        }
      }
      body.reason = review.reason;
      body.reasonCode = review.reasonCode ?? null;
      await deps.store.createTelegramCard(review.id, body);
    }

    // Whether a waiting review was answered on 2GIS meanwhile is the cycle's to find out (recheck.ts), for every
    // waiting review, Telegram or not: a card follows its review's state.
    for (const card of await deps.store.activeTelegramCards(ACTIVE_CARDS_PER_TURN)) {
      if (signal?.aborted || !(await this.#keep())) return;
      const current = await this.#follow(desk, card);
      if (current) await this.#deliver(desk, current.card, current.review, report);
    }
  }

  /**
   * The card brought up to date with its review: closed when the review stopped waiting (answered in the terminal,
   * by gisbot or on 2GIS, skipped). Null while the review is being answered right now.
   */
  async #follow(desk: Desk, card: TelegramCard): Promise<{ card: TelegramCard; review: StoredReview } | null> {
    const review = await desk.deps.store.getReview(card.reviewId);
    if (review === null) return null;
    const { state, reason } = review;
    const reasonCode = review.reasonCode ?? null;
    if (card.body.outcome === null && AT_REST.has(state)) {
      card = await this.#update(desk, card, (body) => ({ ...body, revision: body.revision + 1, outcome: { kind: 'elsewhere', state, reason, reasonCode } }));
    } else if (card.body.outcome === null && WAITING.has(state) && reason !== card.body.reason) {
      card = await this.#update(desk, card, (body) => ({ ...body, revision: body.revision + 1, reason, reasonCode }));
    }
    return { card, review };
  }

  /** Sends the card to each of its business's chats that has no copy, and shows its revision in each copy that shows an older one. */
  async #deliver(desk: Desk, card: TelegramCard, review: StoredReview, report: TurnReport): Promise<void> {
    const telegram = this.#deps.telegram;
    for (const chatId of desk.deps.chatIds) {
      const view = cardView(card, review, this.#named(desk, chatId));
      const copies = card.body.messages.filter((one) => one.chatId === chatId && !one.superseded);
      if (copies.length === 0 && card.body.outcome !== null) continue; // a chat that never had it does not need to hear it ended
      try {
        if (copies.length === 0) {
          const messageId = await telegram.sendCard(chatId, view);
          report.cardsSent += 1;
          card = await this.#recordCopy(desk, card, { chatId, messageId, shows: view.revision, awaitingEdit: false });
          continue;
        }
        for (const copy of copies) {
          if (copy.shows >= card.body.revision) continue;
          await telegram.editCard(chatId, copy.messageId, view);
          report.cardsEdited += 1;
          card = await this.#recordCopy(desk, card, { ...copy, shows: view.revision });
        }
      } catch (error) {
        // One chat refusing the bot (blocked, gone, migrated) or one card does not hold up the others; Telegram
        // being down does.
        if (!isServiceError(error, 'telegram') || (error.kind !== 'rejected' && error.kind !== 'blocked')) throw error;
        if (error.kind === 'blocked') report.refusingChats.push({ chatId, error: error.message, movedTo: error.movedTo ?? null });
        else report.problems.push({ kind: 'card_refused', chatId, detail: error.message });
      }
    }
    const stale = card.body.messages.some((copy) => desk.deps.chatIds.includes(copy.chatId) && !copy.superseded && copy.shows < card.body.revision);
    const active = card.body.outcome === null || stale;
    if (active !== card.active) await this.#save(desk, card, card.body, active);
  }

  /**
   * `/waiting`: each review's card sent to the chat again as a fresh copy (at the bottom of the chat, where the
   * person reads), and the chat's earlier copies of it edited to say so, without buttons: a press there is refused.
   * Reviews that have no card yet get theirs from the bridge's next turn.
   */
  async #resend(desk: Desk, chatId: string, reviewIds: readonly string[]): Promise<void> {
    const telegram = this.#deps.telegram;
    for (const reviewId of reviewIds) {
      const stored = await desk.deps.store.telegramCardOfReview(reviewId);
      if (stored === null) continue;
      const current = await this.#follow(desk, stored);
      if (current === null || current.card.body.outcome !== null) continue;
      let card = current.card;
      const earlier = card.body.messages.filter((copy) => copy.chatId === chatId && !copy.superseded);
      card = await this.#update(desk, card, (body) => ({
        ...body,
        messages: body.messages.map((copy) => (copy.chatId === chatId ? { ...copy, superseded: true, awaitingEdit: false } : copy)),
      }));
      const view = cardView(card, current.review, this.#named(desk, chatId));
      for (const copy of earlier) await telegram.editCard(chatId, copy.messageId, { ...view, superseded: true, actions: [] });
      const messageId = await telegram.sendCard(chatId, view);
      card = await this.#recordCopy(desk, card, { chatId, messageId, shows: view.revision, awaitingEdit: false });
    }
  }

  /** Keeps which message in which chat shows the card (at once: a crash must not send a second copy). */
  async #recordCopy(desk: Desk, card: TelegramCard, copy: CardMessage): Promise<TelegramCard> {
    const same = (one: CardMessage) => one.chatId === copy.chatId && one.messageId === copy.messageId;
    return this.#update(desk, card, (body) => ({
      ...body,
      messages: [...body.messages.filter((one) => !same(one)), { ...copy, awaitingEdit: body.messages.find(same)?.awaitingEdit ?? copy.awaitingEdit }],
    }));
  }

  /**
   * The card a press may act on: the one its button names, when the press came from that card's recorded copy. A
   * copy gisbot sent without hearing back (a cut sendMessage that Telegram delivered) is adopted: its own buttons
   * name the card and no card records it; from then on it is edited like the recorded one. Null for any other
   * message (the press is refused).
   */
  async #bind(desk: Desk, press: Extract<TelegramUpdate, { kind: 'press' }>, card: TelegramCard): Promise<TelegramCard | null> {
    const { chatId, messageId } = press;
    if (messageId === null) return null;
    const isThis = (copy: CardMessage) => copy.chatId === chatId && copy.messageId === messageId;
    const recorded = card.body.messages.find(isThis);
    if (recorded) return recorded.superseded ? null : card; // `/waiting` sent it again below: that copy acts
    if (press.messageCardId !== card.id) return null;
    const others = await desk.deps.store.activeTelegramCards(ACTIVE_CARDS_PER_TURN);
    if (others.some((other) => other.id !== card.id && other.body.messages.some(isThis))) return null;
    const adopted: CardMessage = { chatId, messageId, shows: press.revision ?? 0, awaitingEdit: false };
    this.#deps.logger.info('telegram: a copy of a card that was sent without an answer is adopted', { cardId: card.id, chatId, messageId });
    // Active: the bridge brings the adopted copy up to date (or takes its buttons away) on this turn.
    return this.#update(desk, card, (body) => (body.messages.some(isThis) ? body : { ...body, messages: [...body.messages, adopted] }), true);
  }

  /** An update's effect on the card, written with the update's id so that a later try does not take it twice. */
  async #effect(desk: Desk, updateId: number, card: TelegramCard, change: (body: TelegramCardBody) => TelegramCardBody): Promise<TelegramCard> {
    return this.#update(desk, card, (body) => ({ ...change(body), actedOn: [...(body.actedOn ?? []), updateId].slice(-ACTED_ON_KEPT) }));
  }

  /**
   * Applies `change` to the card as stored and writes it (compare-and-set), reading it again when somebody wrote
   * it meanwhile; the card as written.
   */
  async #update(desk: Desk, card: TelegramCard, change: (body: TelegramCardBody) => TelegramCardBody, active = card.active): Promise<TelegramCard> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const saved = await this.#save(desk, card, change(card.body), active);
      if (saved) return saved;
      card = await this.#reread(desk, card);
    }
    throw new CardKeptChanging(card.id);
  }

  /** Writes the card if nobody wrote it since it was read; the card as written, or null when somebody had. */
  async #save(desk: Desk, card: TelegramCard, body: TelegramCardBody, active = card.active): Promise<TelegramCard | null> {
    if (!(await desk.deps.store.saveTelegramCard(card, body, active))) return null;
    return { ...card, body, active, version: card.version + 1 };
  }

  async #reread(desk: Desk, card: TelegramCard): Promise<TelegramCard> {
    return (await desk.deps.store.telegramCard(card.id)) ?? card;
  }

  /** Takes or renews the turn; the offset, or null when another worker holds it. */
  async #take(): Promise<number | null> {
    const now = this.#deps.clock.now();
    const offset = await this.#deps.store.takeTelegramTurn(this.#token, now, new Date(now.getTime() + TURN_MS));
    this.#renewed = offset === null ? Number.NEGATIVE_INFINITY : now.getTime();
    return offset;
  }

  /** Whether the turn is still this worker's, renewing it once a third of it has passed (not on every card). */
  async #keep(): Promise<boolean> {
    if (this.#deps.clock.now().getTime() - this.#renewed < TURN_MS / 3) return true;
    return (await this.#take()) !== null;
  }

  #reportOnce(trouble: TelegramTrouble): void {
    const key = JSON.stringify(trouble);
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    const line =
      trouble.kind === 'down'
        ? `Telegram: ${trouble.error}`
        : trouble.kind === 'card'
          ? `Telegram chat ${trouble.problem.chatId}: ${trouble.problem.detail}`
          : `Telegram chat ${trouble.refusal.chatId}: ${trouble.refusal.error}`;
    this.#deps.logger.warn(line, trouble.kind === 'chat' && trouble.refusal.movedTo ? { movedTo: trouble.refusal.movedTo } : undefined);
    this.#deps.onTrouble?.(trouble);
  }
}

/** A press that cannot be acted on now because its review is in work elsewhere; tried again on a later turn. */
class ReviewInWork extends Error {
  constructor(reviewId: string) {
    super(`review ${reviewId} was being answered by another worker each time the press was tried`);
  }

  /** Whether an update's recorded error (telegram_updates.last_error, this class's message) is this one. */
  static wrote(message: string): boolean {
    return /^review \S+ was being answered by another worker each time the press was tried$/.test(message);
  }
}

/** Somebody wrote the card on every one of the tries to write it. */
class CardKeptChanging extends Error {
  constructor(cardId: number) {
    super(`telegram card ${cardId} kept changing while it was written`);
  }
}

/** What a card shows, for the renderer: the buttons follow from the draft and the gate's verdict. */
export function cardView(card: TelegramCard, review: StoredReview, business: string | null = null): CardView {
  const { body } = card;
  const sendable = body.draft !== null && body.draft.problems.length === 0;
  const actions: CardAction[] = body.outcome !== null ? [] : [...(sendable ? (['send'] as const) : []), 'regenerate', 'edit', 'skip', 'complain'];
  return {
    cardId: card.id,
    revision: body.revision,
    review: { id: review.id, branchName: review.branchName, rating: review.rating, authorName: review.authorName, text: review.text, createdAt: review.createdAt },
    reason: body.reason,
    // A card made before cards kept the code: its review's, when the review still waits for the same reason.
    reasonCode: body.reasonCode !== undefined ? body.reasonCode : body.reason === review.reason ? (review.reasonCode ?? null) : null,
    draft: body.draft && {
      text: body.draft.text,
      problems: body.draft.problems,
      ...(body.draft.findings ? { findings: body.draft.findings } : {}),
      editedBy: body.draft.editedBy,
      template: body.draft.template ?? null,
    },
    draftFailure: body.draftFailure,
    instruction: body.instruction,
    outcome: body.outcome,
    actions,
    ...(business === null ? {} : { business }),
    looksLike: body.outcome === null ? looksLikeNotACustomer(review.text) : null,
  };
}

export function emptyBody(): TelegramCardBody {
  return { revision: 1, reason: null, draft: null, draftFailure: null, instruction: null, outcome: null, messages: [] };
}

function modelDraft(drafted: ManualDraft, prompt: CurrentPrompt): CardDraft {
  const { completion } = drafted;
  const findings = withinCard(drafted.text, drafted.findings);
  return {
    text: drafted.text,
    problems: messagesOf(findings),
    findings,
    editedBy: null,
    model: completion.model,
    promptVersion: prompt.version,
    usage: { promptTokens: completion.promptTokens, completionTokens: completion.completionTokens, finishReason: completion.finishReason, cost: completion.cost ?? null },
    ...(drafted.template ? { template: drafted.template } : {}),
  };
}

/** A draft longer than a card shows cannot be sent from it: the person would send what they did not see. */
function withinCard(text: string, problems: readonly FoundProblem[]): FoundProblem[] {
  const length = text.length;
  if (length <= CARD_TEXT_LIMIT) return [...problems];
  const message = `${length} characters: longer than a Telegram card shows (${CARD_TEXT_LIMIT}); send it with gisbot reply`;
  return [...problems, { rule: 'card_too_long', message, params: { length, limit: CARD_TEXT_LIMIT } }];
}

function closedNotice(card: TelegramCard): TelegramNotice | null {
  const outcome = card.body.outcome;
  if (outcome === null) return null;
  if (outcome.kind === 'sent' || outcome.state === 'posted') return { kind: 'already_answered' };
  return { kind: 'answered_elsewhere', reason: outcome.reason, code: outcome.reasonCode ?? null };
}

function cut(text: string, limit: number): string {
  const chars = [...text];
  return chars.length > limit ? chars.slice(0, limit).join('') : text;
}
