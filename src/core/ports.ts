// The interfaces the core depends on. Adapters implement them; the core never imports an adapter.
import type { Kopecks } from './money/money.ts';
import type { TokenUse } from './doctor/token-age.ts';
import type { FoundProblem } from './drafting/gate.ts';

/**
 * Why a review was skipped or waits for a person, for programs: events carry it as `data.code` beside the English
 * `data.reason` (contract.md), and gisbot's own code (the terminal, the cards) matches it, never the prose.
 */
export type ReasonCode =
  | 'other_catalog'
  | 'hidden'
  | 'answered_elsewhere'
  | 'no_reply_allowed'
  | 'branch_unwatched'
  | 'branch_off'
  | 'below_threshold'
  | 'rating_only'
  | 'gate_refused'
  | 'moderation_unavailable'
  | 'deleted'
  | 'answer_removed'
  | 'follow_up'
  // Kept on a review's row (reviews.reason_code) beside its English reason; events carry these too.
  | 'complained'
  | 'looks_like_not_a_customer'
  | 'model_failed'
  | 'post_refused'
  | 'post_unconfirmed'
  | 'service_failed'
  | 'recovered';

// ---------------------------------------------------------------- reviews

export type ReviewState =
  | 'new'
  | 'claimed'
  | 'drafted'
  | 'posting'
  | 'posted'
  | 'skipped'
  | 'needs_approval'
  | 'failed';

/** A review as 2GIS lists it, normalised. Ids stay strings: branch ids exceed 2^53. */
export interface ListedReview {
  id: string;
  branchId: string;
  branchName: string;
  rating: number;
  text: string;
  authorId: string | null;
  authorName: string;
  /** ISO 8601 exactly as 2GIS sent it: the paging cursor must be passed back unchanged. */
  createdAt: string;
  editedAt: string | null;
  catalogId: string;
  isHidden: boolean;
  canReply: boolean;
  hasOwnerAnswer: boolean;
  /** The owner's answer 2GIS lists with the review (`firstAnswer`), when it lists one with text. */
  ownerAnswerText?: string | null;
  commentsCount: number;
}

/** An item of a review page that could not be read as a review; the rest of its page stands. */
export interface UnreadableItem {
  /** The item's id when it had a usable one. */
  id: string | null;
  reason: string;
}

/** One page of a branch's reviews, newest first. */
export interface ReviewPage {
  reviews: ListedReview[];
  unreadable: UnreadableItem[];
  /**
   * `dateCreated` of the page's last item that had a readable one, exactly as 2GIS sent it: the next page's
   * `offsetDate`. Null when the page is empty or none of its items had a date.
   */
  cursor: string | null;
  /** The branch's rating and review count as 2GIS shows them (`2gisRating`, `2gisReviewsCount`), when the page gave them. */
  summary?: TwoGisRating | null;
}

export interface TwoGisRating {
  /** Null when 2GIS has no rating for the branch (no reviews). */
  rating: number | null;
  reviewsCount: number | null;
}

/** A branch as intake last listed it: its name and its rating as 2GIS shows it. */
export interface BranchListing extends TwoGisRating {
  branchId: string;
  name: string;
  readAt: Date;
}

/** What intake keeps about a branch between cycles. */
export interface BranchIntake {
  /** When a sweep (polling.sweepDays) last read the branch, or null when none has. */
  sweptAt: Date | null;
  /** Where a walk cut short (by the cycle's limits, a failure, a signal) goes on, or null when none was. */
  backlog: Backlog | null;
}

export interface Backlog {
  /** The `offsetDate` of the page to read next. */
  cursor: string;
  /** Past pages with nothing new the walk goes on only while they are newer than this; null: it stops at the first. */
  until: Date | null;
}

/** One review read back right before posting (or by the reconciler). */
export interface ReviewStatus {
  id: string;
  rating: number;
  hasOwnerAnswer: boolean;
  ownerAnswer: { id: string; text: string } | null;
  /** `allowedActions.complain`: whether 2GIS lets the owner complain about it; null when 2GIS did not say. */
  canComplain?: boolean | null;
}

/** A complaint about a review as 2GIS lists it (GET presence/reviews/<id>/complaints, assumed). */
export interface ComplaintOnTwoGis {
  id: string;
  text: string;
  isNoClientComplaint: boolean;
}

/** Where the owner's complaint about a review stands: `sending` before its POST, until its outcome is seen. */
export type ComplaintState = 'sending' | 'sent' | 'outcome_unknown';

/** The owner's complaint about a review (`gisbot complain`), one per review. */
export interface ReviewComplaint {
  reviewId: string;
  state: ComplaintState;
  reason: string;
  notAClient: boolean;
  /** The worker sending it, while one is. */
  claimToken: string | null;
  leaseUntil: Date | null;
  /** A POST sent may still land at 2GIS until then: a read-back before it that finds nothing proves nothing. */
  readBackAfter: Date | null;
  /** POSTs sent so far. */
  attempts: number;
}

export interface Branch {
  id: string;
  name: string;
  /** As 2GIS lists the account's branches; absent where only the id is known (twogis.branches). */
  address?: string | null;
}

/** A review row as the store keeps it. */
export interface StoredReview {
  id: string;
  branchId: string;
  branchName: string;
  rating: number;
  text: string;
  authorId: string | null;
  authorName: string;
  createdAt: string;
  state: ReviewState;
  reason: string | null;
  /** What `reason` says, for gisbot's code and the person's language; null for a row kept before it was (v22) and unknown. */
  reasonCode?: ReasonCode | null;
  claimToken: string | null;
  leaseUntil: Date | null;
  reserved: Kopecks;
  draftText: string | null;
  postAttempts: number;
  answerId: string | null;
  /** A `failed` review's tries under the model settings it last failed under (core/answering/retries.ts); 0 when none. */
  failedTries?: number;
  /** When a `failed` review is tried again by itself; null: only a change of the model settings, or a person, answers it. */
  retryAt?: Date | null;
  /** A drafted answer waiting out policy.postDelayMinutes is posted from then on; null otherwise. */
  postAfter?: Date | null;
  /** The template the answer came from ("5★ 2/3", core/drafting/templates.ts); null when the model or a person wrote it. */
  template?: string | null;
}

/** What a review that failed for a reason that can pass keeps, so that it is tried again (core/answering/retries.ts). */
export interface FailureRetry {
  /** The digest of the model settings it failed under: a change of them brings it back at once. */
  settings: string;
  /** Its tries under those settings, this one included. */
  tries: number;
  /** When it is tried again; null after the last try. */
  at: Date | null;
}

export interface DraftRecord {
  text: string;
  model: string;
  promptVersion: number;
  promptTokens: number | null;
  completionTokens: number | null;
  finishReason: string;
  /** What the provider says the draft cost, as a decimal string in its currency (usually USD), if it says. */
  cost?: string | null;
  /** Who sends this text: a person through `gisbot reply`, or gisbot by itself (the default). */
  sentBy?: 'gisbot' | 'person';
  /** The template the text came from ("5★ 2/3"); absent when it did not come from one. */
  template?: string | null;
}

/** What a claim reserves: one price, or each review's own (a template's answer costs pricePerTemplateReply). */
export type ClaimPrice = Kopecks | ((review: StoredReview) => Kopecks);

/** Terminal or re-queue outcome for a claimed review; any reserve it holds is released with it. */
export type ReleaseOutcome = (
  | { state: 'skipped'; reason: string }
  | { state: 'needs_approval'; reason: string }
  /** `retry`: tried again as it says; null: never by itself; absent: as the review's failure said before (a person's try). */
  | { state: 'failed'; reason: string; retry?: FailureRetry | null }
  | { state: 'new'; reason: string | null }
) & {
  /** What the reason says (reviews.reason_code); absent or null: no code known. */
  code?: ReasonCode | null;
};

/**
 * The reasons a review is skipped because it was answered on 2GIS by someone else (at intake, on the re-read
 * before posting, or by the reconciler): `stats` counts these apart from the other skipped reviews.
 */
export const ANSWERED_ELSEWHERE = {
  atIntake: 'already answered',
  beforePosting: 'answered by someone else before we posted',
  onReadBack: 'answered by someone else',
  /** A review waiting for a person, found answered on 2GIS (a listing shows its answer, or a re-read: recheck.ts). */
  whileWaiting: 'answered on 2GIS by someone else',
} as const;

/**
 * The reason, and its stable code, of a review back in the person's queue because 2GIS removed our posted answer
 * (found by its recheck, twogis.recheckAfterHours): never answered again by itself, only by a person.
 */
export const ANSWER_REMOVED = 'answer removed by 2GIS';

/** A posted answer whose recheck is due, as the store hands it to the one worker that claimed it. */
export interface AnswerToRecheck {
  reviewId: string;
  branchId: string;
  answerId: string | null;
  text: string;
}

/**
 * The skip reason of a review the owner complained about to 2GIS (`gisbot complain`): it leaves the waiting list,
 * is never answered automatically, and can still be answered by a person (`gisbot reply <id>`). `stats` counts it
 * as `complained`, apart from the other skipped reviews.
 */
export const COMPLAINED = 'complained to 2GIS';

/** True for a review resting as complained about: by its code; a row with no code (kept before v22) by its words. */
export function isComplained(review: { state: ReviewState; reason: string | null; reasonCode?: ReasonCode | null; code?: ReasonCode | null }): boolean {
  const code = review.reasonCode ?? review.code ?? null;
  return review.state === 'skipped' && (code === 'complained' || (code === null && review.reason === COMPLAINED));
}

/** Review states that wait for a person: re-read on 2GIS every approval.recheckMinutes (recheck.ts). */
export const WAITING_FOR_PERSON = ['needs_approval', 'failed'] as const satisfies readonly ReviewState[];

/** A review waiting for a person, and when it was last seen unanswered on 2GIS. */
export interface WaitingReview {
  id: string;
  branchId: string;
  /** As 2GIS sent it (the listing's order). */
  createdAt: string;
  state: ReviewState;
  /** Null: never (a review taken in before gisbot kept this); intake records a review as checked then. */
  checkedAt: Date | null;
}

// ---------------------------------------------------------------- events

export type EventType =
  | 'review.new'
  | 'reply.posted'
  | 'review.skipped'
  | 'review.needs_approval'
  | 'reply.failed'
  | 'balance.low'
  | 'balance.insufficient'
  | 'auth.failed'
  /** A review we answered was edited on 2GIS afterwards (never answered again automatically). */
  | 'review.edited'
  /** A reviewer wrote under our answer (policy.answerFollowUps). */
  | 'followup.new'
  /** gisbot posted a follow-up comment (not charged: the review's answer was). */
  | 'followup.posted'
  /**
   * A press or message from a Telegram chat that is not in telegram.chatIds, or a press carrying a card that is not
   * of a business the chat serves (data.cardId): nothing was done.
   */
  | 'telegram.refused'
  /** One complaint topic reached insight.repeatThreshold reviews at one branch within insight.repeatWindowDays. */
  | 'complaint.repeated'
  /** 2GIS removed an answer of ours after it was posted (found by its recheck); the review waits for a person. */
  | 'reply.removed'
  /** The owner's complaint about a review reached 2GIS (`gisbot complain`): data reason, notAClient. */
  | 'review.complained';

/** The contract's event, stored with the state change it reports and relayed over the WebSocket. */
export interface DomainEvent {
  id: string;
  type: EventType;
  at: string;
  /**
   * The business it is about, or null for the deployment's own events (a message from an unknown chat). Left out
   * when it is made: the store that keeps it (one business's) and the business's logger name it.
   */
  businessId?: string | null;
  reviewId: string | null;
  branchId: string | null;
  data: Record<string, unknown>;
}

export interface StoredEvent extends DomainEvent {
  seq: number;
}

/** An event waiting in the outbox, with how its delivery went so far. */
export interface PendingEvent extends StoredEvent {
  /** Times it was sent and not acknowledged (`websocket.ack`). */
  attempts: number;
  /** It is not sent again before this time; null: due now. */
  retryAt: Date | null;
}

export interface OutboxStatus {
  /** Events not delivered yet. */
  pending: number;
  /** The earliest time one of them is due (the epoch when one is due now); null when none waits. */
  nextDueAt: Date | null;
}

export interface EventQuery {
  /** Only this business's events (null: the deployment's own); by default the store's business's. */
  businessId?: string | null;
  /** Every business's events and the deployment's own (`logs` without --business). */
  everyBusiness?: boolean;
  afterSeq?: number;
  since?: Date;
  type?: string;
  reviewId?: string;
  branchId?: string;
  limit: number;
}

// ---------------------------------------------------------------- money

export interface BalanceSnapshot {
  /** Funds on the account: top-ups minus charges. */
  balance: Kopecks;
  /** The part of `balance` held for answers in progress. */
  reserved: Kopecks;
}

/** A refund of an answer 2GIS removed (billing.refundRemoved) is an `adjustment` with the note REFUND_NOTE. */
export type LedgerKind = 'topup' | 'charge' | 'adjustment';

export interface LedgerEntry {
  id: number;
  at: Date;
  kind: LedgerKind;
  amount: Kopecks;
  balanceAfter: Kopecks;
  reviewId: string | null;
  note: string | null;
}

export interface ReviewRecord {
  review: ListedReview;
  state: 'new' | 'skipped' | 'needs_approval';
  reason: string | null;
  code?: ReasonCode | null;
  events: readonly DomainEvent[];
}

export type ReserveResult = 'reserved' | 'insufficient' | 'lost';

export interface PromptVersion {
  version: number;
  text: string;
  createdAt: Date;
}

/** A comment under a review, as 2GIS lists them. */
export interface ReviewComment {
  id: string;
  text: string;
  /** The business's official answer. */
  isOfficialAnswer: boolean;
  /** The reviewer's follow-ups carry their author; the business's own comments carry none. */
  author: { id: string | null; name: string } | null;
  createdAt: string;
}

export type FollowUpState = 'new' | 'claimed' | 'posting' | 'posted' | 'skipped' | 'needs_approval' | 'failed';

/** A reviewer's comment under our answer, and the follow-up gisbot writes to it (`policy.answerFollowUps`). */
export interface FollowUp {
  /** The reviewer's comment on 2GIS. */
  commentId: string;
  reviewId: string;
  branchId: string;
  /** The review's author: the dialogue history is kept under (author, review). */
  authorId: string | null;
  text: string;
  createdAt: string;
}

export interface StoredFollowUp extends FollowUp {
  state: FollowUpState;
  reason: string | null;
  /** What `reason` says (follow_ups.reason_code); null for a row kept before gisbot kept codes. */
  reasonCode: FollowUpReasonCode | null;
  claimToken: string | null;
  leaseUntil: Date | null;
  answerId: string | null;
  answerText: string | null;
}

export type FollowUpOutcome =
  | { state: 'posted'; answerId: string | null; text: string; draft: Omit<DraftRecord, 'text'> | null }
  /** `new`: back in the queue (a service failed before anything was posted). */
  | { state: 'new' | 'skipped' | 'needs_approval' | 'failed'; reason: string; code: FollowUpReasonCode };

/**
 * Why a follow-up was not posted, for programs and for the reader's words: kept beside the English reason
 * (follow_ups.reason_code) and sent as the events' `data.followUpCode` (their `data.code` is `follow_up`).
 */
export type FollowUpReasonCode =
  | 'review_unknown'
  | 'posting_interrupted'
  | 'model_failed'
  | 'gate_refused'
  | 'moderation_unavailable'
  | 'comment_deleted'
  | 'answered_elsewhere'
  | 'post_unconfirmed'
  | 'post_refused'
  /** Back in the queue: a service failed before anything was posted, or the process stopped. */
  | 'service_failed'
  | 'stopped';

export interface DialogueEntry {
  role: 'reviewer' | 'owner';
  text: string;
  at: Date;
}


// ---------------------------------------------------------------- telegram (issue 15)

/** A card's buttons; each button's callback data starts with its action (contract.md). */
export type CardAction = 'send' | 'regenerate' | 'edit' | 'skip' | 'complain';

/** The draft a card offers: what its `send` posts. */
export interface CardDraft {
  text: string;
  /** The gate's verdict, in English; empty: it may be sent. */
  problems: string[];
  /**
   * The same verdict rule by rule, so the card says it in its chat's language; absent on cards made before (their
   * English shows as it is).
   */
  findings?: FoundProblem[];
  /** The person who wrote it (`edit`), or null for the model's draft. */
  editedBy: string | null;
  /** A person's text (`edit`): the model's draft it replaced, or null when there was none (the owner's voice). */
  shown?: string | null;
  model: string;
  promptVersion: number;
  /** The model call's figures, recorded with the answer; null for a person's text. */
  usage: { promptTokens: number | null; completionTokens: number | null; finishReason: string; cost: string | null } | null;
  /** The template the draft is ("5★ 2/3", policy.templates); absent or null when the model or a person wrote it. */
  template?: string | null;
}

/** One chat's copy of a card. */
export interface CardMessage {
  chatId: string;
  messageId: number;
  /** The card's revision this copy shows. A chat may hold two copies: one adopted after a cut sendMessage. */
  shows: number;
  /** The chat pressed `edit`: its next reply to this copy is the answer. */
  awaitingEdit: boolean;
  /** The chat pressed `complain`: its next reply to this copy is the complaint's reason. */
  awaitingComplaint?: boolean;
  /** `/waiting` sent the card again in this chat: this copy shows so, has no buttons and takes no press. */
  superseded?: boolean;
}

/** How a card's review stopped waiting. */
export type CardOutcome =
  | { kind: 'sent'; by: string; at: string; charged: string }
  | { kind: 'elsewhere'; state: ReviewState; reason: string | null; reasonCode?: ReasonCode | null };

/** What the bridge keeps about a card; the store keeps it whole, beside the card's id and its review. */
export interface TelegramCardBody {
  /** Bumped whenever what the card shows changes; a press names the revision it was made on. */
  revision: number;
  /** Why the review waits, as the card shows it. */
  reason: string | null;
  /** What `reason` says (ReasonCode): the card says it in its chat's language; absent on cards made before. */
  reasonCode?: ReasonCode | null;
  draft: CardDraft | null;
  /** Why there is no draft (the model failed): shown in its place. */
  draftFailure: string | null;
  /** A reply to the card: the steer for the next `regenerate`. */
  instruction: string | null;
  outcome: CardOutcome | null;
  messages: CardMessage[];
  /**
   * The last updates whose effect this card took (written with the effect): an update acted on again after a
   * failure does not take it twice.
   */
  actedOn?: number[];
}

export interface TelegramCard {
  /** Short and numeric: it goes into every button's callback data (64 bytes at most). */
  id: number;
  reviewId: string;
  /** True while the card needs the bridge: its review waits, or a copy still shows an old revision. */
  active: boolean;
  /** The store's counter for compare-and-set (saveTelegramCard); not what the card shows. */
  version: number;
  body: TelegramCardBody;
}

/** Who pressed or wrote, as Telegram names them. */
export interface TelegramPerson {
  id: string;
  /** First name, and @username when there is one. */
  name: string;
}

export type TelegramUpdate =
  | {
      updateId: number;
      kind: 'press';
      chatId: string;
      pressId: string;
      /** The card's copy the button is on. */
      messageId: number | null;
      /** The card that the buttons of that message name (as Telegram sent them), or null when they name none. */
      messageCardId: number | null;
      from: TelegramPerson;
      /** What the button's callback data says; null parts when it could not be read. */
      action: CardAction | null;
      cardId: number | null;
      revision: number | null;
    }
  | { updateId: number; kind: 'message'; chatId: string; messageId: number; replyTo: number | null; text: string; from: TelegramPerson }
  /** Anything else the bot was sent: consumed, never acted on. */
  | { updateId: number; kind: 'other'; chatId: string | null };

/** What a person is told after a press or a message; the wording is the renderer's. */
export type TelegramNotice =
  | { kind: 'sent'; charged: string; balance: string }
  | { kind: 'already_answered' }
  | { kind: 'in_work' }
  | { kind: 'answered_elsewhere'; reason: string | null; code?: ReasonCode | null }
  | { kind: 'changed' }
  /** `problems`: the English; `findings`: the same rule by rule, said in the chat's language. */
  | { kind: 'refused'; problems: string[]; findings?: FoundProblem[] }
  | { kind: 'insufficient' }
  | { kind: 'not_posted'; reason: string; code?: ReasonCode | null }
  /** The post went out but its outcome was not seen (the service's own detail): read back, never posted twice. */
  | { kind: 'fate_unknown'; detail: string }
  /** A service failed before anything was posted (its own detail, when it said): the review waits as it did. */
  | { kind: 'service_failed'; detail: string | null }
  /** The card has no draft to send: the model failed (its detail), or none was made. */
  | { kind: 'no_draft'; detail: string | null }
  | { kind: 'redrafted' }
  | { kind: 'draft_failed'; reason: string }
  | { kind: 'edit_asked' }
  | { kind: 'complaint_asked' }
  /** The complaint's outcome, as `gisbot complain` reports it. */
  | { kind: 'complaint'; status: 'sent' | 'already_sent' | 'outcome_unknown' }
  /** Why no complaint was filed: an empty or too long reason, a review 2GIS no longer has, or does not allow. */
  | { kind: 'complaint_refused'; why: 'empty' | 'too_long' | 'gone' | 'not_allowed'; length?: number; detail?: string | null }
  | { kind: 'edit_taken'; problems: string[]; findings?: FoundProblem[] }
  | { kind: 'instruction_taken' }
  | { kind: 'skipped'; reviewId: string }
  | { kind: 'unknown_card' }
  | { kind: 'not_allowed' }
  /** The press came from a message that is not a copy of the card its button names. */
  | { kind: 'wrong_message' }
  /**
   * An update that could not be acted on, after tries: the press's action (null for a message) and why: `why` says
   * it as a code where it is one of gisbot's own cases; `reason` is the English (a failure's own detail otherwise).
   */
  | { kind: 'not_acted'; action: CardAction | null; reason: string; why?: NotActedWhy | null }
  // The owner's panel (telegram-panel.ts): answers to the commands typed in a chat, and what it pushes there.
  /**
   * `/start`: the chat's id, and whether (and for which business) it may act on cards; `staff`: one of the agency's
   * staff chats (top-level telegram.chatIds), which get every business's cards.
   */
  | { kind: 'chat_id'; chatId: string; allowed: boolean; business: string | null; staff?: boolean }
  /** `/balance`: the figures of `balance --json`. */
  | { kind: 'balance'; balance: string; held: string }
  /** `/balance` in a staff chat: each business's, named (its name, else its id). */
  | { kind: 'balances'; businesses: Array<{ business: string; balance: string; held: string }> }
  /** `/stats`: the figures of `stats --json` (`total`) over the last `days` days; `business` names it in a staff chat. */
  | { kind: 'stats'; days: number; figures: PanelFigures; business?: string }
  /** `/stats` in a staff chat: a few figures of each business, named; `more` businesses were left out. */
  | { kind: 'stats_each'; days: number; businesses: Array<{ business: string; figures: PanelFigures }>; more: number }
  /** `/waiting`: the oldest cards sent again below this, and how many more wait. */
  | { kind: 'waiting'; shown: number; more: number }
  | { kind: 'unknown_command'; command: string }
  /** `business` names the business the alert or digest is about, in a staff chat (which gets every business's). */
  | { kind: 'alert'; alert: PanelAlert; business?: string }
  | { kind: 'digest'; from: string; to: string; figures: PanelFigures; topics: string[]; balance: string; business?: string };

/**
 * Why an update was given up on, where it is gisbot's own case: its review was in work elsewhere on every try; its
 * card kept changing while it was written; it failed every time without a recorded error.
 */
export type NotActedWhy = 'review_in_work' | 'card_kept_changing' | 'tried_out';

/** The figures of `stats --json` a panel message shows (the same names). */
export interface PanelFigures {
  reviews: number;
  answered: number;
  byPerson: number;
  answeredElsewhere: number;
  waiting: number;
  skipped: number;
  failed: number;
  replyRate: number | null;
  medianMinutesToAnswer: number | null;
  averageRating: number | null;
  charged: string;
}

/** What an alert pushed to a business's chats says; one per episode (Store.openAlertEpisode). */
export type PanelAlert =
  | { kind: 'balance.low'; balance: string; threshold: string }
  | { kind: 'balance.insufficient'; balance: string; price: string }
  | { kind: 'complaint.repeated'; topic: string; count: number; branchId: string | null }
  | { kind: 'auth.failed'; error: string; code: string | null }
  | { kind: 'reminder'; reviewId: string; branchName: string; rating: number; hours: number };

/** A panel message waiting in the database until Telegram's limits let it out. */
export interface QueuedTelegramMessage {
  id: number;
  chatId: string;
  notice: TelegramNotice;
}

/** The card as a person sees it, for the renderer. */
export interface CardView {
  cardId: number;
  revision: number;
  review: { id: string; branchName: string; rating: number; authorName: string; text: string; createdAt: string };
  /** Why the review waits for a person; said by `reasonCode` where there is one. */
  reason: string | null;
  reasonCode?: ReasonCode | null;
  /** `findings`: `problems` rule by rule, when the card kept them (CardDraft.findings). */
  draft: { text: string; problems: string[]; findings?: FoundProblem[]; editedBy: string | null; template?: string | null } | null;
  draftFailure: string | null;
  instruction: string | null;
  outcome: CardOutcome | null;
  /** A copy that `/waiting` sent again further down the chat: it says so and has no buttons. */
  superseded?: boolean;
  /** The business the card is of (its name, else its id), shown in a staff chat, which gets every business's cards. */
  business?: string | null;
  /** The review looks as if no customer wrote it (core/drafting/looks-like.ts): the card suggests a complaint. */
  looksLike?: { kind: string; evidence: string } | null;
  /** The buttons, in order; none once the review stopped waiting. */
  actions: CardAction[];
}

/** The Telegram Bot API as the bridge needs it. Every call has a deadline; failures are ServiceError('telegram'). */
export interface Telegram {
  me(): Promise<{ username: string }>;
  chat(chatId: string): Promise<{ title: string; type: string }>;
  /** Updates from `offset` on (confirming those before it), waiting up to `waitSeconds` for one; [] when `signal` ends the wait. */
  updates(offset: number, waitSeconds: number, signal?: AbortSignal): Promise<TelegramUpdate[]>;
  /** Sends a card; its message id. */
  sendCard(chatId: string, card: CardView): Promise<number>;
  /** Shows `card` in place of what a copy showed; a copy that is gone, or already shows it, counts as done. */
  editCard(chatId: string, messageId: number, card: CardView): Promise<void>;
  /** Answers a press (the notice pops up); a press too old to answer gets the notice as a reply in its chat. */
  answerPress(press: { pressId: string; chatId: string; messageId: number | null }, notice: TelegramNotice): Promise<void>;
  /** A message in a chat, as a reply to `replyTo` when given. */
  notify(chatId: string, notice: TelegramNotice, replyTo: number | null): Promise<void>;
}

// ---------------------------------------------------------------- ports

/**
 * The review queue of one business: what intake takes in, what workers claim, draft, post and settle, and what
 * the operator's `reply` reads; with the dialogue history a draft is written from.
 */
export interface ReviewQueue {
  findKnownReviewIds(ids: readonly string[]): Promise<Set<string>>;
  /**
   * Stores a review once (idempotent by id) in `state`, with its events, in one transaction.
   * Returns false and writes nothing when the review was already known.
   */
  recordReview(
    review: ListedReview,
    state: 'new' | 'skipped' | 'needs_approval',
    reason: string | null,
    events: readonly DomainEvent[],
    /** What `reason` says (reviews.reason_code). */
    code?: ReasonCode | null,
  ): Promise<boolean>;
  /**
   * recordReview for a page of reviews at once, each result in its place: one transaction for the page when
   * none of them was known (the usual case), else one by one.
   */
  recordReviews(entries: readonly ReviewRecord[]): Promise<boolean[]>;
  getReview(id: string): Promise<StoredReview | null>;
  /** What intake kept about each of these branches; a branch it never saw reads as `{ sweptAt: null, backlog: null }`. */
  branchIntakes(branchIds: readonly string[]): Promise<Map<string, BranchIntake>>;
  /** Keeps what changed about one branch: a key left out keeps its value. */
  saveBranchIntake(branchId: string, change: Partial<BranchIntake>): Promise<void>;
  /**
   * Reviews in a WAITING_FOR_PERSON state (of `ids` when given), the longest unchecked first (never checked before
   * any), then by id; at most `limit`.
   */
  waitingReviews(query: { ids?: readonly string[]; limit: number }): Promise<WaitingReview[]>;
  /** Records that these reviews were seen unanswered on 2GIS at `at`; a review not waiting for a person is left alone. */
  markReviewsChecked(ids: readonly string[], at: Date): Promise<void>;

  /**
   * Claims the newest `new` review (by `createdAt`: fresh reviews first, so that a backlog or a runaway listing
   * of old ones cannot hold back the other branches) with a fresh token and lease, and reserves `price` for it
   * in the same transaction; 'insufficient' (and nothing claimed) when the free balance is short; null when no
   * `new` review is free to take: none is left, or every one left is held that instant by a racing claimer.
   */
  claimNext(token: string, now: Date, leaseUntil: Date, price: ClaimPrice): Promise<StoredReview | 'insufficient' | null>;
  /**
   * Claims one named review for a person's answer (`gisbot reply`): only from `new`, `needs_approval` or
   * `failed`; null when it is in work or already at rest elsewhere.
   */
  claimReview(reviewId: string, token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null>;
  /** Takes over one in-flight review (claimed, drafted, posting) whose lease ended at or before `now`. */
  claimStale(token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null>;
  /**
   * Puts back in the queue (`new`) each `failed` review that may be tried again by itself and is due: its retry time
   * came, or the model settings changed since it failed (`settings`, their digest: its tries count anew). A failure
   * kept without retry (2GIS refused the answer, a POST that did not take) stays. Returns how many went back.
   */
  requeueFailed(now: Date, settings: string): Promise<number>;
  /** Every review in work now (claimed, drafted, posting) with its claim token: to spot crashed owners. */
  listInFlight(): Promise<Array<{ id: string; claimToken: string }>>;
  /**
   * Reserves `price` for the review with one conditional UPDATE on the account, once per claim: a review that
   * holds a reserve already (its claim's, taken at the price of that moment) keeps it, whatever `price` says now.
   */
  reserve(reviewId: string, token: string, price: Kopecks): Promise<ReserveResult>;
  /**
   * A drafted review waits until `postAfter` to be posted (policy.postDelayMinutes): its claim ends, its reserve
   * stays held, and claimStale hands it out again from `postAfter` on. False when the claim was lost.
   */
  scheduleDraft(reviewId: string, token: string, postAfter: Date): Promise<boolean>;
  /**
   * The place (0 … count-1) of the template to use next in `templateSet`, taken for this use: the least recently
   * used, one never used first. Atomic across workers and kept across restarts.
   */
  takeTemplate(templateSet: string, count: number): Promise<number>;
  saveDraft(reviewId: string, token: string, draft: DraftRecord): Promise<boolean>;
  /**
   * The fence before the POST: true only for the live holder of an unexpired lease. The lease is then held at
   * least until `holdUntil`, when the POST about to leave can no longer land at 2GIS: nobody reads the review back
   * before then, whether its owner lives or not (a read-back that comes too early sees no answer and posts again).
   */
  beginPosting(reviewId: string, token: string, now: Date, holdUntil: Date): Promise<boolean>;
  /**
   * Gives up a claim: the review keeps its state and reserve but has no owner, and waits until `at`, when the
   * reconciler takes it over (a POST to read back, or a crashed owner's work). A review in `posting` waits at
   * least until the hold its POST set (beginPosting), even when `at` is earlier.
   */
  relinquish(reviewId: string, token: string, at: Date): Promise<void>;
  /**
   * Records the posted answer and charges what the review holds in reserve (the price when it was claimed: a
   * price changed since applies to later claims) in one transaction with its events. Keyed on the review being
   * in `posting`, not on the token: an answer that is out there is recorded whoever sees it first, and charged once.
   * `events` is given the balance after the charge, the amount charged (what the review held in reserve) and the
   * balance just before it (in the same transaction, so a crossing of a threshold is seen by exactly one
   * settlement). Returns the balance after the charge and the amount charged, or null if another worker had
   * already settled it.
   */
  settlePosted(
    reviewId: string,
    answer: { answerId: string | null; text: string },
    events: (balanceAfter: Kopecks, charged: Kopecks, balanceBefore: Kopecks) => readonly DomainEvent[],
    /** When the answer is read back once more to see whether 2GIS removed it; null or absent: never. */
    recheckAt?: Date | null,
  ): Promise<{ balance: Kopecks; charged: Kopecks } | null>;
  /**
   * Claims the posted answer whose recheck is due soonest (due at or before `now`) for one worker, once: the claim
   * clears its due time in one conditional UPDATE, so racing workers never read the same answer back twice, and a
   * worker that dies holding it leaves it unread (at most one request per answer). Null when none is due.
   */
  claimAnswerRecheck(now: Date): Promise<AnswerToRecheck | null>;
  /**
   * The answer read back for its recheck is gone from 2GIS: the review leaves `posted` for the person's queue
   * (`needs_approval`, ANSWER_REMOVED) and counts one more removal, with its events, in one transaction; with
   * `refund`, what the answer was charged comes back as one adjustment keyed by that charge (never twice). Null,
   * and nothing written, when the review is no longer posted with that answer (another worker recorded it).
   */
  recordAnswerRemoved(
    reviewId: string,
    answerId: string | null,
    refund: boolean,
    events: (refunded: Kopecks, balanceAfter: Kopecks) => readonly DomainEvent[],
  ): Promise<{ refunded: Kopecks } | null>;
  /** Moves a claimed review out of work, releasing its reserve, with its events, if the token still holds. */
  release(reviewId: string, token: string, outcome: ReleaseOutcome, events: readonly DomainEvent[]): Promise<boolean>;

  /** Reviews resting in `state`, oldest first: `needs_approval` is the queue `gisbot reply` shows. */
  listReviewsInState(state: ReviewState, limit: number): Promise<StoredReview[]>;
  dialogue(authorId: string | null, reviewId: string): Promise<DialogueEntry[]>;
  /**
   * The newest answers of ours to a branch's reviews, newest first: those posted, and those sent whose outcome was not
   * seen yet (they may be out there); a new draft must not repeat one of them word for word. A draft that was not
   * posted (refused, failed, given back to the queue) is no answer.
   */
  recentAnswers(branchId: string, limit: number): Promise<string[]>;

}

/** A business's money: its balance and its append-only ledger (reserves and charges go through the queue's settle). */
export interface Money {
  getBalance(): Promise<BalanceSnapshot>;
  topUp(amount: Kopecks, note: string | null): Promise<BalanceSnapshot>;
  /**
   * A correction of either sign, as an `adjustment` ledger entry (the ledger is never edited). Returns null, and
   * changes nothing, when it would take the balance below what is held for answers in progress or below zero.
   */
  adjust(amount: Kopecks, note: string): Promise<BalanceSnapshot | null>;
  ledger(query: { since?: Date; limit: number }): Promise<LedgerEntry[]>;

}

/** The events of one business, stored with the state changes they report. */
export interface EventLog {
  appendEvents(events: readonly DomainEvent[]): Promise<void>;
  listEvents(query: EventQuery): Promise<StoredEvent[]>;
}

/** The deployment's one outbox: every business's events, relayed over the one WebSocket in the order stored. */
export interface Outbox {
  /** The oldest undelivered events, in order; with `dueAt`, only those not held back past it by deferDelivery. */
  pendingOutbox(limit: number, dueAt?: Date): Promise<PendingEvent[]>;
  markDelivered(eventIds: readonly string[]): Promise<void>;
  /** Counts one unacknowledged send of each event and holds it back until its `retryAt`; it stays pending. */
  deferDelivery(entries: readonly { id: string; retryAt: Date }[]): Promise<void>;
  outboxStatus(): Promise<OutboxStatus>;

}

/** The versions of a business's system prompt. */
export interface PromptHistory {
  /** Saved versions of the system prompt, newest first. */
  listPromptVersions(limit: number): Promise<PromptVersion[]>;
  getPromptVersion(version: number): Promise<PromptVersion | null>;

  /** Returns the latest version if its text is identical, otherwise stores a new version. */
  savePromptVersion(text: string): Promise<PromptVersion>;
  latestPrompt(): Promise<PromptVersion | null>;
}

/** The reviewers' comments under a business's answers and its follow-ups to them (policy.answerFollowUps). */
export interface FollowUps {
  /** Records a reviewer's comment once (idempotent by comment id) as `new`, with its dialogue row and events. */
  recordFollowUp(followUp: FollowUp, events: readonly DomainEvent[]): Promise<boolean>;
  getFollowUp(commentId: string): Promise<StoredFollowUp | null>;
  /**
   * Claims the oldest `new` follow-up, or one whose lease ended at or before `now` (its state, `claimed` or
   * `posting`, tells the caller whether a comment may already have been posted); null when none is left.
   */
  claimFollowUp(token: string, now: Date, leaseUntil: Date): Promise<StoredFollowUp | null>;
  /**
   * The fence before the comment's POST: `claimed` → `posting`, only for the live holder of an unexpired lease,
   * which is then held at least until `holdUntil` (as beginPosting's).
   */
  beginFollowUpPosting(commentId: string, token: string, now: Date, holdUntil: Date): Promise<boolean>;
  /** Ends a claimed follow-up; `posted` also adds our comment to the dialogue history. False if the token is stale. */
  finishFollowUp(commentId: string, token: string, outcome: FollowUpOutcome, events: readonly DomainEvent[]): Promise<boolean>;

}

/** The Telegram cards of a business's reviews waiting for a person (issue 15). */
export interface Cards {
  /** Reviews waiting for a person (`needs_approval`, or `failed`: a person may answer it) that have no card yet, newest first. */
  reviewsWithoutCard(limit: number): Promise<StoredReview[]>;
  /** Makes the review's card; null when it has one already. */
  createTelegramCard(reviewId: string, body: TelegramCardBody): Promise<TelegramCard | null>;
  telegramCard(id: number): Promise<TelegramCard | null>;
  /** The cards that need the bridge, oldest first. */
  activeTelegramCards(limit: number): Promise<TelegramCard[]>;
  /** Writes a card read at `card.version`, if nobody wrote it since (compare-and-set); false when somebody did. */
  saveTelegramCard(card: TelegramCard, body: TelegramCardBody, active: boolean): Promise<boolean>;
  /** The card of a review, if it has one. */
  telegramCardOfReview(reviewId: string): Promise<TelegramCard | null>;
}

/** The one bot's updates, read by one worker at a time for the whole deployment. */
export interface TelegramUpdates {
  /**
   * Takes the turn to read the bot's updates, or renews it, until `until`: the getUpdates offset to read from, or
   * null while another worker holds an unexpired turn (Telegram serves one reader at a time).
   */
  takeTelegramTurn(token: string, now: Date, until: Date): Promise<number | null>;
  /** Gives the turn up, if `token` holds it. */
  endTelegramTurn(token: string): Promise<void>;
  /**
   * Keeps updates read from Telegram (a known one is kept once) and moves the stored offset past the newest of them
   * (never back), in one transaction: Telegram forgets an update only once it is here to be acted on.
   */
  storeTelegramUpdates(updates: readonly TelegramUpdate[]): Promise<void>;
  /** Stored updates not acted on yet and not held by an unexpired claim, oldest first. */
  pendingTelegramUpdates(now: Date, limit: number): Promise<TelegramUpdate[]>;
  /**
   * Claims one stored update for one worker: how many times it was claimed (this one included) and why the last
   * try failed; null when it is done, unknown, or held by another whose claim has not expired.
   */
  claimTelegramUpdate(updateId: number, token: string, now: Date, until: Date): Promise<{ attempts: number; lastError: string | null } | null>;
  /** A try that failed: the claim is given back at once, with why, so that the next turn acts on it again. */
  releaseTelegramUpdate(updateId: number, token: string, error: string): Promise<void>;
  /** The claimed update is done with: acted on, or given up on after its tries (the person was told). */
  finishTelegramUpdate(updateId: number, token: string, outcome?: 'acted' | 'given_up'): Promise<void>;
}

/** What the owner's Telegram panel (issue 20) remembers: a business's alert episodes and cursor; the deployment's queue of messages. */
export interface Panel {
  /**
   * Opens an alert's episode (kind and subject: `auth.failed`/'', `digest`/'2026-12-07', `reminder`/<review id>)
   * with its events and queued messages, in one transaction; false, and nothing written, when it is open already:
   * the compare-and-set that makes an alert once per episode across workers and restarts.
   */
  openAlertEpisode(
    episode: { kind: string; subject: string },
    now: Date,
    effects: { events?: readonly DomainEvent[]; messages?: ReadonlyArray<{ chatId: string; notice: TelegramNotice }> },
  ): Promise<boolean>;
  alertEpisodeOpen(episode: { kind: string; subject: string }): Promise<boolean>;
  /** Ends an episode (a sign-in worked again): the next one alerts again. True when one was open. */
  closeAlertEpisode(episode: { kind: string; subject: string }): Promise<boolean>;
  /** The last event the alerts were drawn from; the newest event's seq the first time it is asked. */
  alertCursor(): Promise<number>;
  /** Moves the cursor from `from` to `to`; false when another worker moved it meanwhile. */
  moveAlertCursor(from: number, to: number): Promise<boolean>;
  /** The id of the newest top-up in the ledger (0 when none): a balance.insufficient episode lasts until the next. */
  lastTopUpId(): Promise<number>;
  /** Reviews waiting for a person (needs_approval) since before `before`, oldest first. */
  waitingForPersonSince(before: Date, limit: number): Promise<StoredReview[]>;
  /** Panel messages not sent yet (nor being sent by a worker whose claim still runs), oldest first. */
  queuedTelegramMessages(now: Date, limit: number): Promise<QueuedTelegramMessage[]>;
  /** Takes a queued message to send it until `until` (a worker that dies meanwhile leaves it to the next); false when taken. */
  claimTelegramMessage(id: number, now: Date, until: Date): Promise<boolean>;
  /** Panel messages sent to a chat since `since`, and when the last one was. */
  sentTelegramMessages(chatId: string, since: Date): Promise<{ count: number; last: Date | null }>;
  /** A claimed message sent, given up on (the chat refuses the bot), or queued again (Telegram failed: `retry`). */
  finishTelegramMessage(id: number, now: Date, outcome: 'sent' | 'refused' | 'retry'): Promise<void>;
}

/** What the owner gets for the money, per business: stats, report, branches, recurring complaints. */
export interface Facts {
  /**
   * Every branch the store knows, with a name: each that has reviews, and each intake listed (a watched branch
   * with no review yet).
   */
  reviewBranches(): Promise<Branch[]>;
  /** The reviews created in the period, newest first, at most `limit`, each with its answer if it has one. */
  periodReviews(query: FactQuery, limit: number): Promise<PeriodReview[]>;
  /** Per branch and rating (1–5), the reviews created in the period. */
  ratingCounts(query: FactQuery): Promise<RatingCount[]>;
  /** Per branch with any, how many reviews wait for a person now, and the oldest `limitPerBranch` of them. */
  waitingForPerson(limitPerBranch: number): Promise<WaitingBranch[]>;
  /** Keeps the branch's name and its rating as 2GIS shows it, as intake read them from its first page. */
  saveBranchListing(listing: BranchListing): Promise<void>;
  /** What intake last read of each branch it listed. */
  branchListings(): Promise<BranchListing[]>;
  /** Per branch, the facts of the reviews created on 2GIS in the period (all of them without one). */
  reviewFacts(query: FactQuery): Promise<BranchFacts[]>;
  /** Per branch, topic key and label, the reviews rated at most `maxRating` created in the period that carry it. */
  topicCounts(query: FactQuery & { maxRating: number }): Promise<TopicCount[]>;
  /** Keeps a review's topics, once: false, and nothing written, when it has some already or is not known. */
  saveTopics(reviewId: string, topics: readonly Topic[]): Promise<boolean>;
  /**
   * One topic at one branch: its reviews rated at most `maxRating` created between `from` and `to` (inclusive),
   * oldest first, and the windows of the complaints already recorded for it that overlap them.
   */
  topicHistory(query: { branchId: string; topic: string; from: Date; to: Date; maxRating: number }): Promise<TopicHistory>;
  /** Records one complaint window and its events in one transaction; false when that window is recorded already. */
  recordComplaint(complaint: ComplaintWindow & { branchId: string; topic: string }, events: readonly DomainEvent[]): Promise<boolean>;

  // the owner's complaints about reviews (`gisbot complain`): recorded as being sent before the POST, like an answer
  reviewComplaint(reviewId: string): Promise<ReviewComplaint | null>;
  /**
   * Records the complaint as `sending`, held by `token` until `leaseUntil`, its POST able to land until `holdUntil`,
   * and moves a review waiting (new, for a person, failed) to skipped with reason COMPLAINED, releasing any reserve,
   * in one transaction. False, and nothing written, when the review has a complaint already (or is not known).
   */
  beginComplaint(
    complaint: { reviewId: string; reason: string; notAClient: boolean },
    token: string,
    now: Date,
    leaseUntil: Date,
    holdUntil: Date,
  ): Promise<boolean>;
  /**
   * Takes over a complaint not sent for sure (`sending` or `outcome_unknown`) from `staleToken` (null: nobody holds
   * it), if it still holds it (compare-and-set): true when taken.
   */
  takeOverComplaint(reviewId: string, staleToken: string | null, token: string, now: Date, leaseUntil: Date): Promise<boolean>;
  /** The fence before a POST sent again: only for the live holder; counts the attempt and sets its hold. */
  resendComplaint(reviewId: string, token: string, now: Date, holdUntil: Date): Promise<boolean>;
  /**
   * `sent` (with its events, once: keyed on it not being sent yet, whoever sees it first) or `outcome_unknown`
   * (only by the holder, which lets go of it). False when nothing changed.
   */
  finishComplaint(reviewId: string, token: string, state: 'sent' | 'outcome_unknown', events: readonly DomainEvent[]): Promise<boolean>;
  /**
   * 2GIS refused the complaint, or it never left: the holder forgets it, and the review goes back to the state it
   * was in when the complaint began, if it is still resting as complained about.
   */
  dropComplaint(reviewId: string, token: string): Promise<boolean>;
}

/** The owner's voice (issue 22): a business's answers a person produced, kept as examples for later drafts. */
export interface Voice {
  /** Keeps each example once per review (a later one for the same review is ignored); how many were new. */
  keepVoiceExamples(examples: readonly VoiceExample[]): Promise<number>;
  /**
   * The business's examples a draft for a review of `branchId` may use, the branch's first, newest first, at most
   * `limit`; never one whose answer 2GIS removed (a `reply.removed` event), never `excludeReviewId`'s. Each with its
   * vector for `embeddingModel` when one was kept.
   */
  voiceExamples(query: { branchId: string; limit: number; excludeReviewId?: string; embeddingModel?: string }): Promise<StoredVoiceExample[]>;
  /** Keeps vectors computed for examples under `model`, once each. */
  saveVoiceVectors(model: string, vectors: ReadonlyArray<{ reviewId: string; vector: readonly number[] }>): Promise<void>;
  /** Records what a person did with a draft shown to them; counted in reviewFacts by the review's period. */
  recordDecision(decision: DraftDecision): Promise<void>;
}

// ---------------------------------------------------------------- the owner's voice

/**
 * How a person produced an example's answer: sent a draft untouched (`approved`), changed at most half of it
 * (`corrected`), wrote more than half of it themselves (`written`), or answered on 2GIS without gisbot (`elsewhere`).
 */
export type VoiceWeight = 'approved' | 'corrected' | 'written' | 'elsewhere';

/** One of the business's own answers with its review, names, phones and e-mails already replaced by placeholders. */
export interface VoiceExample {
  reviewId: string;
  branchId: string;
  rating: number;
  reviewText: string;
  answerText: string;
  weight: VoiceWeight;
  at: Date;
}

/** A person's decision on a draft: sent it (with the share of its characters they changed, 0 to 1) or regenerated it. */
export interface DraftDecision {
  reviewId: string;
  branchId: string;
  kind: 'untouched' | 'edited' | 'rewritten' | 'regenerated';
  /** Of a sent draft, the share changed; null for a regeneration. */
  share: number | null;
  at: Date;
}

export interface StoredVoiceExample extends VoiceExample {
  /** The review text's vector under the asked-for embedding model, or null when none was computed yet. */
  vector: number[] | null;
}

/** Which 2GIS account a business is bound to in the database (the account it first served). */
export interface BusinessBinding {
  /** The cabinet's user id (`GET users`). */
  userId: string;
  /** The login it was reached with; null when it was reached with a token alone. */
  login: string | null;
}

/** How a business's last cycle ended, for `gisbot businesses` (a service that failed otherwise is the cycle's `failed`). */
export type CycleStatus = 'ok' | 'no_balance' | 'sign_in_failed';

export interface BusinessRecord {
  id: string;
  binding: BusinessBinding | null;
  lastCycleAt: Date | null;
  lastStatus: CycleStatus | null;
}

/**
 * Bind: `bound` when the business is bound to this account now (or was already); `other` when it is bound to
 * another account; `taken` when another business of the database is bound to this account.
 */
export type BindResult = { kind: 'bound' } | { kind: 'other'; bound: BusinessBinding } | { kind: 'taken'; businessId: string };

/** The deployment's record of its businesses: which account each is bound to, and its last cycle. */
export interface Businesses {
  /** Binds this store's business to `account` unless it is bound already (one transaction; nothing else written). */
  bindAccount(account: BusinessBinding): Promise<BindResult>;
  /** This store's business as recorded, or null when it never was. */
  businessRecord(): Promise<BusinessRecord | null>;
  /** Every business the database has a record of. */
  businessRecords(): Promise<BusinessRecord[]>;
  recordCycle(at: Date, status: CycleStatus): Promise<void>;
  /**
   * A 2GIS token (by its fingerprint, core/doctor/token-age.ts) signed in at `at`: its first use is kept, its last moved on.
   * Returns the record as it stands now.
   */
  noteAccessToken(fingerprint: string, at: Date): Promise<TokenUse>;
  /** The record of a token of this business; null when it never signed in here. */
  accessTokenUse(fingerprint: string): Promise<TokenUse | null>;
}

/**
 * The database, seen from one business (`businessId`): every role port reads and writes only that business's rows;
 * the outbox, the Telegram updates, the panel's message queue and the record of businesses are the deployment's.
 * `forBusiness` gives the same database seen from another business.
 */
/** The deployment's own settings, kept in the database. */
export interface Deployment {
  /**
   * Records `code` (billing.currency) as the currency of the ledger: kept when it is the recorded one or nothing is
   * recorded; changed when the ledger has no entry yet; refused, with the recorded one, when it has.
   */
  keepCurrency(code: string): Promise<{ kind: 'kept' } | { kind: 'refused'; recorded: string }>;
}

export interface Store extends ReviewQueue, Money, EventLog, Outbox, PromptHistory, FollowUps, Cards, TelegramUpdates, Panel, Facts, Voice, Businesses, Deployment {
  readonly businessId: string;
  forBusiness(businessId: string): Store;
  /** Applies pending versioned migrations; safe when several processes start at once. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;

}

// ---------------------------------------------------------------- insight

export interface Topic {
  /** What labels that count together share: words lowercased and stemmed (core/insight/topics.ts). */
  key: string;
  /** The label as the owner reads it. */
  label: string;
}

/** The reviews created in [from, to) (either end open when absent), of one branch or of all. */
export interface FactQuery {
  from?: Date;
  to?: Date;
  branchId?: string;
}

/** What the store knows of one branch's reviews of a period, summed; stats.ts derives the rates from it. */
export interface BranchFacts {
  branchId: string;
  branchName: string;
  reviews: number;
  /** Posted by gisbot, automatically or through `gisbot reply`. */
  answered: number;
  /** Of `answered`, the ones a person sent through `gisbot reply`. */
  byPerson: number;
  /** Skipped because someone answered on 2GIS (ANSWERED_ELSEWHERE). */
  answeredElsewhere: number;
  /** Skipped for any other reason (hidden, another catalog, no reply allowed, a branch not answered). */
  skipped: number;
  /** Waiting for a person (`needs_approval`). */
  waitingForPerson: number;
  /** Not answered yet because the balance ran out: in the queue or in work (figures.ts). */
  waitingForMoney: number;
  /** Waiting for a posting delay; none until a later issue brings the delay. */
  scheduled: number;
  failed: number;
  /** Complained about to 2GIS instead of answered; none until a later issue brings complaints. */
  complained: number;
  /** Answers of ours 2GIS removed after they were posted (found by their recheck). */
  removed: number;
  ratingSum: number;
  charged: Kopecks;
  promptTokens: number;
  completionTokens: number;
  /** The provider's reported cost, summed, in units of 10⁻¹⁰ of its currency; `costed` answers reported one. */
  costUnits: bigint;
  costed: number;
  /** What a person did with the drafts shown to them (issue 22): sent as shown, changed at most half, more than half. */
  untouched: number;
  edited: number;
  rewritten: number;
  /** Drafts a person threw away for a new one. */
  regenerated: number;
  /** The share of characters changed over the sent drafts (untouched + edited + rewritten), summed, in thousandths. */
  changedPermille: number;
  /** Minutes from a review's creation on 2GIS to our post, each with how many answers took that long. */
  answerMinutes: Array<[minutes: number, count: number]>;
}

/** A review of a period with what was answered to it. */
export interface PeriodReview {
  review: StoredReview;
  /** The answer posted on 2GIS in the owner's name; null when none was. */
  answerText: string | null;
  sentBy: 'gisbot' | 'person' | null;
  postedAt: Date | null;
  charged: Kopecks;
}

export interface RatingCount {
  branchId: string;
  rating: number;
  reviews: number;
}

export interface WaitingBranch {
  branchId: string;
  /** Every review of the branch waiting for a person now. */
  count: number;
  /** The oldest of them, oldest first. */
  oldest: StoredReview[];
}

/** How many reviews carry one label of a topic at one branch: a key comes in one row per label it was seen as. */
export interface TopicCount {
  branchId: string;
  /** Topic key. */
  topic: string;
  /** A label seen for the key. */
  label: string;
  reviews: number;
}

export interface ComplaintWindow {
  from: Date;
  to: Date;
}

export interface TopicHistory {
  reviews: Array<{ reviewId: string; createdAt: Date }>;
  complaints: ComplaintWindow[];
}

/** The most reviews one listing page holds (2gis-api.md: `limit` is at most 50). */
export const LISTING_PAGE_SIZE = 50;

export interface TwoGis {
  /** Logs in; throws ServiceError(kind 'auth') on wrong credentials. */
  checkLogin(): Promise<void>;
  /** The cabinet account signed in (`GET users`): what the database binds a business to. */
  account(): Promise<BusinessBinding>;
  listBranches(): Promise<Branch[]>;
  /** Every branch of the account with its name and address, whatever twogis.branches watches (`gisbot branches`). */
  accountBranches(): Promise<Branch[]>;
  /** One page, newest first; `offsetDate` is the previous page's `cursor`. An item that cannot be read does not fail its page. */
  listReviews(branchId: string, offsetDate: string | null): Promise<ReviewPage>;
  /**
   * One page (at most LISTING_PAGE_SIZE) of the branch's reviews that have no owner answer (`withoutAnswer=true`),
   * newest first; paged as listReviews.
   */
  listUnanswered(branchId: string, offsetDate: string | null): Promise<ReviewPage>;
  /** null when 2GIS answers 404 (the review was deleted). */
  readReview(reviewId: string): Promise<ReviewStatus | null>;
  /** Never retried by the adapter: an unseen outcome throws ServiceError(kind 'outcome_unknown'). */
  postAnswer(reviewId: string, text: string): Promise<{ answerId: string }>;
  /** The comments under a review, oldest first: our answer, the reviewer's follow-ups, our own comments. */
  listComments(reviewId: string): Promise<ReviewComment[]>;
  /** An ordinary (not official) comment of the business; never retried, like postAnswer. */
  postComment(reviewId: string, text: string): Promise<{ commentId: string }>;
  /**
   * The owner's complaint about a review; never retried, like postAnswer. 'already' when 2GIS answers that the
   * review has a complaint already (409).
   */
  postComplaint(reviewId: string, complaint: { text: string; isNoClientComplaint: boolean }): Promise<'sent' | 'already'>;
  /** The complaints 2GIS holds about a review; null when 2GIS does not let us read them (404, 405). */
  listComplaints(reviewId: string): Promise<ComplaintOnTwoGis[] | null>;
  /** With token sign-in (twogis.accessToken): the token's fingerprint (core/doctor/token-age.ts); absent or null with a password. */
  readonly tokenFingerprint?: string | null;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Completion {
  text: string;
  finishReason: string;
  model: string;
  promptTokens: number | null;
  completionTokens: number | null;
  /** The provider's own figure for the call's cost (OpenRouter-style `usage.cost`), as a decimal string; null if none. */
  cost?: string | null;
  /** The review's topic labels, when the server answered in the structured form asked for (CompletionOptions.topics). */
  topics?: readonly unknown[];
}

export interface CompletionOptions {
  /** Asks the provider for a different sample per review (OpenAI's `seed`); servers that ignore it still vary. */
  seed?: number;
  /**
   * Asks for `{"answer","topics"}` as a JSON schema where the server takes one; `text` is then the answer alone.
   * A server that does not is asked in plain text: the prompt says how (core/insight/topics.ts).
   */
  topics?: boolean;
}

/** The provider's moderation verdict on a text. */
export interface ModerationVerdict {
  flagged: boolean;
  /** The categories that were flagged, e.g. 'harassment'. */
  categories: string[];
}

export interface Model {
  /**
   * One vector per text from the server's `/embeddings` under `model`, in order; throws ServiceError('model', ...)
   * when it has none or it fails. Absent on a model that cannot (the examples are then chosen lexically).
   */
  embed?(texts: readonly string[], model: string, signal?: AbortSignal): Promise<number[][]>;
  /** Lists models: costs nothing and proves the endpoint and key work. The ids listed ([] when the list is empty). */
  checkReachable(): Promise<string[]>;
  complete(messages: readonly ChatMessage[], signal?: AbortSignal, options?: CompletionOptions): Promise<Completion>;
  /** The provider's moderation endpoint; throws ServiceError('model', ...) when it has none or it fails. */
  moderate(text: string, signal?: AbortSignal): Promise<ModerationVerdict>;
}

/**
 * 'delivered': the receiver proved it read the event (its acknowledgement with `websocket.ack`, else the pong to
 * a ping sent behind it). 'unacknowledged': the connection carried it but no acknowledgement came in time.
 */
export type DeliveryOutcome = 'delivered' | 'unacknowledged';

/** Carries events to the outside world. */
export interface EventTransport {
  /** How one event's delivery ended; rejects (a ServiceError) when the connection failed before that was known. */
  send(event: DomainEvent): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

export interface Logger {
  event(event: DomainEvent): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Waits until everything logged so far is written. */
  flush(): Promise<void>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type FailpointName = 'after_claim' | 'after_generate' | 'before_post' | 'after_post' | 'after_record' | 'after_complaint_sent';
export type Failpoint = (name: FailpointName) => void;

/** Who holds a claim: tokens name their owner, so that a crashed local owner is recognised at once. */
export interface Ownership {
  newToken(): string;
  /**
   * True only when the token's owner certainly works on it no more: a dead process of this machine, or this process
   * (asked between cycles) for a claim it does not hold beside its cycles.
   */
  isAbandoned(token: string): boolean;
  /**
   * Marks a claim of this process as worked on beside the cycles (a Telegram press in `run`), until the function
   * returned is called: a cycle starting meanwhile must not take it for one a failed cycle left behind.
   */
  hold(token: string): () => void;
}

export interface PromptSource {
  /** The current system prompt text. */
  read(): Promise<string>;
}
