// The Store port, written once: which rows, which conditions, which order of writes and which events, for both
// databases. What differs between MySQL and SQLite (binding and reading values, locking rows, opening and retrying
// a transaction, the connection) is the Dialect's (dialect.ts; mysql.ts, sqlite.ts).
// Locking: a SELECT followed by a write to its row carries lockRows (FOR UPDATE in MySQL; SQLite's BEGIN IMMEDIATE
// already holds the file's one write lock), and claims carry skipLocked, so racing MySQL workers each take another
// row. Lock order everywhere: the review row, then the account row, which every answer's money goes through and is
// therefore locked last and held shortest. The reserve is one conditional UPDATE of the account, checked by the
// rows it changed (invariant 5).
import { createHash } from 'node:crypto';
import { ServiceError, UsageError } from '../../errors.ts';
import { redactStrings, type Redact } from '../../redact.ts';
import { formatMoney, type Kopecks } from '../../core/money/money.ts';
import { ANSWER_REMOVED, COMPLAINED } from '../../core/ports.ts';
import { ANSWERED_ELSEWHERE_REASONS, FIGURE_OF_STATE, SCHEDULED, REVIEW_FIGURES, type ReviewFigure } from '../../core/insight/figures.ts';
import { WAITING_FOR_PERSON } from '../../core/ports.ts';
import { leastRecentlyUsed } from '../../core/drafting/templates.ts';
import type {
  AnswerToRecheck, ClaimPrice,
  Branch, BranchFacts, BranchListing, ComplaintWindow, PeriodReview, RatingCount, WaitingBranch, FactQuery, Topic, TopicCount, TopicHistory,
  BalanceSnapshot, BindResult, BranchIntake, BusinessBinding, BusinessRecord, CycleStatus, DialogueEntry, DomainEvent, DraftRecord, EventQuery, EventType, FollowUp, FollowUpOutcome,
  FollowUpReasonCode, FollowUpState, LedgerEntry, LedgerKind, ListedReview, OutboxStatus, PendingEvent, PromptVersion, ReleaseOutcome, ReserveResult,
  ComplaintState, ReviewComplaint, ReviewRecord, ReviewState, Store, StoredEvent, StoredFollowUp, StoredReview, StoredVoiceExample, TelegramCard, TelegramCardBody,
  TelegramUpdate, WaitingReview, DraftDecision, VoiceExample, VoiceWeight, QueuedTelegramMessage, TelegramNotice,
} from '../../core/ports.ts';
import type { TokenUse } from '../../core/doctor/token-age.ts';
import type { ReasonCode } from '../../core/ports.ts';
import { columns, empty, join, MAX_MONEY, raw, Rollback, sql } from './dialect.ts';
import type { ColumnSet, Dialect, Executor, RowOf, Spec, Sql, Value } from './dialect.ts';
import { DEFAULT_BUSINESS, LATEST_VERSION, migrations, migrationsTable } from './migrations.ts';

// ---------------------------------------------------------------- rows

const REVIEW_SPEC = {
  id: 'text', branchId: 'text', branchName: 'text', rating: 'int', text: 'text', authorId: 'text?', authorName: 'text',
  createdAt: ['text', 'created_at_text'], state: 'text', reason: 'text?', reasonCode: 'text?', claimToken: 'text?', leaseUntil: 'time?',
  reserved: 'money', draftText: 'text?', postAttempts: 'int', answerId: 'text?', failedTries: 'int', retryAt: 'time?',
  postAfter: 'time?', template: 'text?',
} as const;
const REVIEW = columns('r', REVIEW_SPEC);
const toReview = (row: RowOf<typeof REVIEW>): StoredReview => ({ ...row, state: row.state as ReviewState, reasonCode: row.reasonCode as ReasonCode | null });
const FOLLOW_UP = columns('f', {
  commentId: 'text', reviewId: 'text', branchId: 'text', authorId: 'text?', text: 'text', createdAt: ['text', 'created_at_text'],
  state: 'text', reason: 'text?', reasonCode: 'text?', claimToken: 'text?', leaseUntil: 'time?', answerId: 'text?', answerText: 'text?',
});
const EVENT_COLUMNS = { seq: 'int', id: 'text', type: 'text', at: 'time', businessId: 'text?', reviewId: 'text?', branchId: 'text?', data: 'json' } as const;
const EVENT = columns('e', EVENT_COLUMNS);
const toEvent = <R extends RowOf<typeof EVENT>>(row: R) => ({ ...row, type: row.type as EventType, at: row.at.toISOString() });
const PENDING = columns('e', { ...EVENT_COLUMNS, attempts: ['int', 'o.attempts'], retryAt: ['time?', 'o.retry_at'] });
const OUTBOX = columns('o', {
  pending: ['int', 'COUNT(*)'], dueNow: ['int', 'COALESCE(SUM(CASE WHEN o.retry_at IS NULL THEN 1 ELSE 0 END), 0)'], nextRetry: ['time?', 'MIN(o.retry_at)'],
});
const LEDGER_AMOUNT = columns('l', { amount: 'money' });
const LEDGER = columns('l', { id: 'int', at: 'time', kind: 'text', amount: 'money', balanceAfter: 'money', reviewId: 'text?', note: 'text?' });
const PROMPT = columns('p', { version: 'int', text: 'text', createdAt: 'time' });
const PROMPT_SHA = columns('p', { version: 'int', text: 'text', sha256: 'text', createdAt: 'time' });
const ACCOUNT = columns('a', { balance: 'money', reserved: 'money' });
const BINDING = columns('b', { id: 'text', userId: ['text?', 'b.twogis_user_id'], login: ['text?', 'b.twogis_login'], lastCycleAt: 'time?', lastStatus: 'text?' });
const VERSION = columns('m', { version: 'int' });
const SETTING = columns('d', { value: 'text' });
const ENTRIES = columns('l', { entries: ['int', 'COUNT(*)'] });
const TOKEN_USE = columns('t', { firstUsedAt: 'time', lastUsedAt: 'time' });
const ID = columns('r', { id: 'text' });
const HELD = columns('r', { reserved: 'money', state: 'text', authorId: 'text?', createdAt: 'time', answerRemovals: 'int' });
const RECHECK = columns('r', { reviewId: ['text', 'r.id'], branchId: 'text', answerId: 'text?', text: ['text', "COALESCE(r.answer_text, '')"] });
const REMOVED_ANSWER = columns('r', { state: 'text', answerId: 'text?', charged: 'money', answerRemovals: 'int', branchId: 'text' });
/** The note of the adjustment that refunds an answer 2GIS removed (billing.refundRemoved). */
import { REFUND_NOTE } from '../../core/money/ledger-notes.ts';
export { REFUND_NOTE };

/**
 * The ledger key of an answer's charge: the review's id for its first answer, and for an answer a person sent
 * after 2GIS removed the ones before, the id and how many were removed (each answer is charged once, and refunded
 * at most once, by this key).
 */
function chargeKey(reviewId: string, answerRemovals: number): string {
  return answerRemovals === 0 ? reviewId : `${reviewId}#${answerRemovals}`;
}
const IN_FLIGHT_CLAIM = columns('r', { id: 'text', claimToken: 'text' });
const FOLLOW_UP_ID = columns('f', { commentId: 'text', reviewId: 'text', authorId: 'text?' });
const DIALOGUE = columns('d', { role: 'text', text: 'text', at: 'time' });
const ANSWER = columns('r', { text: ['text', 'COALESCE(r.answer_text, r.draft_text)'] });
const CARD = columns('c', { id: 'int', reviewId: 'text', active: 'int', version: 'int', body: 'json' });
const toCard = (row: RowOf<typeof CARD>): TelegramCard => ({ ...row, active: row.active === 1, body: row.body as unknown as TelegramCardBody });
const TURN = columns('t', { nextOffset: 'int' });
/** The lease of an update nobody holds: over whatever a worker's clock says. */
const FREE = new Date(0);
const UPDATE_PAYLOAD = columns('u', { payload: 'json' });
const EPISODE = columns('a', { kind: 'text' });
const ALERT_SEQ = columns('a', { alertSeq: 'int' });
const LAST_TOP_UP = columns('l', { id: ['int', 'COALESCE(MAX(l.id), 0)'] });
const QUEUED = columns('m', { id: 'int', chatId: 'text', notice: 'text' });
const SENT = columns('m', { count: ['int', 'COUNT(*)'], last: ['time?', 'MAX(m.sent_at)'] });
const UPDATE_CLAIM = columns('u', { attempts: 'int', lastError: 'text?' });
/** How long an acted-on Telegram update's row is kept: Telegram forgets an update once the offset passed it. */
const TELEGRAM_UPDATE_KEPT_MS = 86_400_000;
const WAITING = columns('r', { id: 'text', branchId: 'text', createdAt: ['text', 'created_at_text'], state: 'text', checkedAt: 'time?' });
const BRANCH_INTAKE = columns('b', { branchId: 'text', sweptAt: 'time?', backlogCursor: 'text?', backlogUntil: 'time?' });

// insight: a period's sums per branch (stats, report, branches), and the topics of complaints
const count = (condition: string) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
/** A quoted constant of the core for a statement: plain words only, never anything a value could smuggle in. */
const literal = (word: string): string => {
  if (!/^[A-Za-z0-9_ ]+$/.test(word)) throw new Error(`not a plain word: ${word}`);
  return `'${word}'`;
};
/** A review row resting as complained about (ports.ts, isComplained), as SQL. */
const complainedRow = (table: string) =>
  `(${table}reason_code = 'complained' OR (${table}reason_code IS NULL AND ${table}reason = ${literal(COMPLAINED)}))`;
/** figures.ts's mapping as SQL: the one figure each review row counts in. */
// By the reason's code; a row with none (kept before v22, and not one the upgrade knew) by its words.
const FIGURE = `CASE WHEN r.state = 'skipped' AND (r.reason_code = 'answered_elsewhere'
      OR (r.reason_code IS NULL AND r.reason IN (${ANSWERED_ELSEWHERE_REASONS.map(literal).join(', ')}))) THEN 'answeredElsewhere'
  WHEN r.state = 'skipped' AND ${complainedRow('r.')} THEN 'complained'
  WHEN r.state = ${literal(SCHEDULED.state)} AND r.post_after IS NOT NULL THEN ${literal(SCHEDULED.figure)} ${Object.entries(
  FIGURE_OF_STATE,
)
  .map(([state, figure]) => `WHEN r.state = ${literal(state)} THEN ${literal(figure)}`)
  .join(' ')} END`;
const FIGURE_COUNTS = Object.fromEntries(REVIEW_FIGURES.map((figure) => [figure, ['int', count(`${FIGURE} = ${literal(figure)}`)]])) as {
  [F in ReviewFigure]: ['int', string];
};
const FACTS = columns('r', {
  branchId: 'text', branchName: ['text', 'MAX(r.branch_name)'], reviews: ['int', 'COUNT(*)'], ...FIGURE_COUNTS,
  byPerson: ['int', count("r.state = 'posted' AND r.sent_by = 'person'")],
  // Answers of ours 2GIS removed after posting, whatever their review's figure is now.
  removed: ['int', 'SUM(r.answer_removals)'],
  ratingSum: ['int', 'SUM(r.rating)'], charged: ['money', 'SUM(r.charged)'],
  promptTokens: ['int', 'SUM(COALESCE(r.prompt_tokens, 0))'], completionTokens: ['int', 'SUM(COALESCE(r.completion_tokens, 0))'],
  // The provider's cost in 10⁻¹⁰ units: ROUND of the decimal times 10¹⁰ is exact in both databases below 10⁵ of it.
  costUnits: ['text?', 'SUM(ROUND(r.model_cost * 10000000000))'], costed: ['int', 'COUNT(r.model_cost)'],
});
const ANSWER_MINUTES = columns('r', { branchId: 'text', minutes: ['int', 'r.answer_minutes'], answers: ['int', 'COUNT(*)'] });
const BRANCH = columns('r', { id: ['text', 'branch_id'], name: ['text', 'MAX(r.branch_name)'] });
const PERIOD_REVIEW = columns('r', { ...REVIEW_SPEC, answerText: 'text?', sentBy: 'text?', postedAt: 'time?', charged: 'money' });
const RATING_COUNT = columns('r', { branchId: 'text', rating: 'int', reviews: ['int', 'COUNT(*)'] });
const WAITING_COUNT = columns('r', { branchId: 'text', reviews: ['int', 'COUNT(*)'] });
const LISTING = columns('b', { branchId: 'text', name: 'text', rating: 'text?', reviewsCount: 'int?', readAt: 'time' });
const TOPIC_COUNT = columns('t', { branchId: 'text', topic: 'text', label: 'text', reviews: ['int', 'COUNT(*)'] });
const TOPIC_REVIEW = columns('t', { reviewId: 'text', createdAt: 'time' });
const TEMPLATE_USE = columns('u', { position: 'int', usedSeq: 'int' });
const COMPLAINT = columns('c', { windowFrom: 'time', windowTo: 'time' });
const REVIEW_COMPLAINT = columns('q', {
  reviewId: 'text', state: 'text', reason: 'text', notAClient: 'int', claimToken: 'text?', leaseUntil: 'time?', readBackAfter: 'time?', attempts: 'int',
});
const COMPLAINT_PRIOR = columns('q', { priorState: 'text?', priorReason: 'text?', priorReasonCode: 'text?' });
const toReviewComplaint = (row: RowOf<typeof REVIEW_COMPLAINT>): ReviewComplaint => ({
  ...row, state: row.state as ComplaintState, notAClient: row.notAClient === 1,
});
/** The review states a complaint takes out of the waiting list (COMPLAINED); a review in work or answered keeps its own. */
const COMPLAINABLE_WAITING = raw(`('new', 'needs_approval', 'failed')`);
const DECISION_COUNTS = columns('d', {
  branchId: ['text', 'r.branch_id'],
  untouched: ['int', count("d.kind = 'untouched'")], edited: ['int', count("d.kind = 'edited'")],
  rewritten: ['int', count("d.kind = 'rewritten'")], regenerated: ['int', count("d.kind = 'regenerated'")],
  changedPermille: ['int', 'COALESCE(SUM(d.changed_permille), 0)'],
});
const VOICE_EXAMPLE = columns('v', {
  reviewId: 'text', branchId: 'text', rating: 'int', reviewText: 'text', answerText: 'text', weight: 'text', at: 'time',
  embeddingModel: 'text?', vector: 'text?',
});

/** `WHERE …` over the period and the branch of `query` (callers go on with `AND`). */
function period(alias: 'r' | 't', business: string, query: FactQuery): Sql {
  requireTimes(query.from, query.to);
  const at = raw(alias);
  const from = query.from === undefined ? empty : sql` AND ${at}.created_at >= ${query.from}`;
  const to = query.to === undefined ? empty : sql` AND ${at}.created_at < ${query.to}`;
  const branch = query.branchId === undefined ? empty : sql` AND ${at}.branch_id = ${query.branchId}`;
  return sql`WHERE ${at}.business_id = ${business}${from}${to}${branch}`;
}

/** The longest unchecked first (never checked before any), then by id: the order of Store.waitingReviews. */
function byCheck(a: WaitingReview, b: WaitingReview): number {
  const unchecked = (a.checkedAt?.getTime() ?? Number.NEGATIVE_INFINITY) - (b.checkedAt?.getTime() ?? Number.NEGATIVE_INFINITY);
  return unchecked !== 0 && !Number.isNaN(unchecked) ? unchecked : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whole minutes from a review's creation on 2GIS to our post; never negative (2GIS's clock may run ahead). */
function answerMinutes(createdAt: Date, postedAt: Date): number {
  return Math.max(0, Math.floor((postedAt.getTime() - createdAt.getTime()) / 60_000));
}

/** A vector as kept: its numbers as JSON (exact for any float, readable in both databases). */
function decodeVector(text: string | null): number[] | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((n) => typeof n === 'number') ? (parsed as number[]) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- values

function nonNegative(amount: Kopecks, what: string): void {
  if (amount < 0n) throw new RangeError(`${what} must not be negative`);
}

function requireTimes(...times: Array<Date | undefined>): void {
  if (times.some((time) => time !== undefined && !(time instanceof Date && !Number.isNaN(time.getTime())))) throw new RangeError('a time is not valid');
}

/** A Date that both schemas can hold (years 1000..9999), or null. */
function storableDate(value: string): Date | null {
  const date = new Date(value);
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= 1000 && year <= 9999 ? date : null;
}

/** Events as stored, every string of their data masked by `redact`. */
function insertEvents(events: readonly DomainEvent[], redact: Redact, business: string): Sql {
  const rows = events.map((event) => {
    const at = storableDate(event.at);
    if (at === null) throw new RangeError(`event ${event.id} has an invalid time: ${event.at}`);
    const data = JSON.stringify(redactStrings(event.data ?? {}, redact), (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    // An event names its business only when it is the deployment's own (null); else it is the store's business.
    const businessId = event.businessId === undefined ? business : event.businessId;
    return sql`(${[event.id, event.type, at, businessId, event.reviewId, event.branchId, data]})`;
  });
  return sql`INSERT INTO events (id, type, at, business_id, review_id, branch_id, data) VALUES ${join(rows)}`;
}

/** What a release to `failed` writes of its retry (Store.release): nothing when the outcome leaves it as it was. */
function failureRetry(outcome: ReleaseOutcome): Sql {
  if (outcome.state !== 'failed' || outcome.retry === undefined) return empty;
  if (outcome.retry === null) return sql`, failure_settings = NULL, retry_at = NULL`;
  const { settings, tries, at } = outcome.retry;
  requireTimes(at ?? undefined);
  return sql`, failure_settings = ${settings}, failed_tries = ${tries}, retry_at = ${at}`;
}

const limitOf = (limit: number): number => (Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0);

/** A review as intake records it: seen unanswered on 2GIS now (`checked_at`, should it come to wait for a person). */
function insertReviews(entries: ReadonlyArray<Omit<ReviewRecord, 'events'>>, now: Date, business: string): Sql {
  const rows = entries.map(({ review: r, state, reason, code }) => {
    const values: Value[] = [business, r.id, r.branchId, r.branchName, r.rating, r.text, r.authorId, r.authorName, r.createdAt];
    return sql`(${[...values, storableDate(r.createdAt) ?? now, state, reason, code ?? null, now, now, now]})`;
  });
  return sql`INSERT INTO reviews (business_id, id, branch_id, branch_name, rating, text, author_id, author_name, created_at_text, created_at, state, reason,
    reason_code, recorded_at, updated_at, checked_at) VALUES ${join(rows)}`;
}

/** Lines of the dialogue history, keyed by (author, review); '' stands for an author 2GIS did not name. */
type DialogueLine = readonly [authorId: string | null, reviewId: string, role: DialogueEntry['role'], text: string, at: Date];
function insertDialogue(business: string, ...lines: readonly DialogueLine[]): Sql {
  const rows = lines.map(([authorId, ...rest]) => sql`(${[business, authorId ?? '', ...rest]})`);
  return sql`INSERT INTO dialogue (business_id, author_id, review_id, role, text, at) VALUES ${join(rows)}`;
}

/** A sent answer may still land until `read_back_after` (beginPosting): nobody takes its row over before then. */
const readBackDue = (now: Date) => sql`(state <> 'posting' OR read_back_after IS NULL OR read_back_after <= ${now})`;
const IN_FLIGHT = raw(`('claimed', 'drafted', 'posting')`);

function eventQuery(query: EventQuery, limit: number, business: string): { rest: Sql; newestFirst: boolean } {
  const conditions: Sql[] = [];
  if (query.businessId !== undefined) conditions.push(query.businessId === null ? sql`e.business_id IS NULL` : sql`e.business_id = ${query.businessId}`);
  else if (!query.everyBusiness) conditions.push(sql`e.business_id = ${business}`);
  if (query.afterSeq !== undefined) conditions.push(sql`e.seq > ${query.afterSeq}`);
  if (query.since !== undefined) conditions.push(sql`e.at >= ${query.since}`);
  if (query.type !== undefined) conditions.push(sql`e.type = ${query.type}`);
  if (query.reviewId !== undefined) conditions.push(sql`e.review_id = ${query.reviewId}`);
  if (query.branchId !== undefined) conditions.push(sql`e.branch_id = ${query.branchId}`);
  // "The next N after a cursor" reads oldest first; "the last N" reads newest first and is handed back reversed.
  const newestFirst = query.afterSeq === undefined;
  const where = conditions.length > 0 ? sql`WHERE ${join(conditions, ' AND ')} ` : empty;
  return { rest: sql`FROM events e ${where}ORDER BY e.seq ${raw(newestFirst ? 'DESC' : 'ASC')} LIMIT ${limit}`, newestFirst };
}

function isCurrent(applied: ReadonlySet<number>): boolean {
  return migrations.every((migration) => applied.has(migration.version)) && Math.max(0, ...applied) <= LATEST_VERSION;
}

// ---------------------------------------------------------------- the store

export interface SqlStoreOptions {
  /** false: events are stored but not queued in the outbox (nothing would ever drain it). */
  notifications: boolean;
  /** Masks the configured secrets in every string of an event's data before it is stored (and sent from the outbox). */
  redact?: Redact;
}

/**
 * The store of one business (`default` unless `forBusiness` names another): every row it reads or writes is that
 * business's, so the core, which holds one, never sees another's. The outbox, the Telegram updates, the queue of
 * panel messages and the binding of businesses to accounts are the deployment's, the same through every business's store.
 */
export class SqlStore implements Store {
  readonly #db: Dialect;
  readonly #options: SqlStoreOptions;
  readonly #notifications: boolean;
  readonly #redact: Redact;
  readonly businessId: string;
  /** The store made by createMysqlStore/createSqliteStore owns the connection; the ones forBusiness made share it. */
  readonly #owner: boolean;

  constructor(dialect: Dialect, options: SqlStoreOptions, businessId: string = DEFAULT_BUSINESS, owner = true) {
    this.#db = dialect;
    this.#options = options;
    this.#notifications = options.notifications;
    this.#redact = options.redact ?? ((text) => text);
    this.businessId = businessId;
    this.#owner = owner;
  }

  forBusiness(businessId: string): Store {
    return businessId === this.businessId ? this : new SqlStore(this.#db, this.#options, businessId, false);
  }

  /** This store's business, as a value in a statement. */
  get #b(): string {
    return this.businessId;
  }

  /** Rows of a SELECT outside a transaction. */
  #select<C extends Record<string, Spec>>(set: ColumnSet<C>, rest: Sql): Promise<Array<RowOf<ColumnSet<C>>>> {
    return this.#db.autocommit((x) => x.all(set, rest));
  }

  /** One UPDATE on its own; true when it changed exactly one row. */
  async #changedOne(statement: Sql): Promise<boolean> {
    return (await this.#db.autocommit((x) => x.run(statement))) === 1;
  }

  /** An INSERT that a unique key may refuse: false, and nothing written, when the row was there already. */
  async #insertOnce(x: Executor, statement: Sql): Promise<boolean> {
    try {
      await x.run(statement);
      return true;
    } catch (error) {
      if (this.#db.isDuplicate(error)) return false;
      throw error;
    }
  }

  async #insertEvents(x: Executor, events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) {
      // At least once: an event already stored is not stored (or queued) again.
      if ((await this.#insertOnce(x, insertEvents([event], this.#redact, this.#b))) && this.#notifications) {
        await x.run(sql`INSERT INTO outbox (event_id) VALUES (${event.id})`);
      }
    }
  }

  /** A business that was never topped up has no row yet: nothing on it. */
  async #readAccount(x: Executor): Promise<BalanceSnapshot> {
    return (await x.first(ACCOUNT, sql`FROM business_accounts a WHERE a.business_id = ${this.#b}`)) ?? { balance: 0n, reserved: 0n };
  }

  /** The one conditional UPDATE: it reserves only what is free, and the rows it changed say whether it did. */
  async #reserveFunds(x: Executor, amount: Kopecks): Promise<boolean> {
    return (await x.run(sql`UPDATE business_accounts SET reserved = reserved + ${amount} WHERE business_id = ${this.#b} AND balance - reserved >= ${amount}`)) === 1;
  }

  async #readReview(x: Executor, id: string): Promise<StoredReview | null> {
    const row = await x.first(REVIEW, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${id}`);
    return row === undefined ? null : toReview(row);
  }

  // ------------------------------------------------------------ businesses (the deployment's)

  async bindAccount(account: BusinessBinding): Promise<BindResult> {
    return this.#db.transaction<BindResult>(async (x) => {
      const mine = await x.first(BINDING, sql`FROM businesses b WHERE b.id = ${this.#b}${this.#db.lockRows}`);
      if (mine?.userId !== undefined && mine.userId !== null) {
        return mine.userId === account.userId ? { kind: 'bound' } : { kind: 'other', bound: { userId: mine.userId, login: mine.login } };
      }
      const holder = await x.first(BINDING, sql`FROM businesses b WHERE b.twogis_user_id = ${account.userId}`);
      if (holder !== undefined) return { kind: 'taken', businessId: holder.id };
      const now = new Date();
      const bound = mine === undefined
        ? sql`INSERT INTO businesses (id, twogis_user_id, twogis_login, bound_at) VALUES (${[this.#b, account.userId, account.login, now]})`
        : sql`UPDATE businesses SET twogis_user_id = ${account.userId}, twogis_login = ${account.login}, bound_at = ${now} WHERE id = ${this.#b}`;
      // Another process bound this account (to this business or another) a moment ago: ask again.
      if (!(await this.#insertOnce(x, bound))) throw new Rollback(null);
      return { kind: 'bound' };
    }).then((result) => result ?? this.bindAccount(account));
  }

  async businessRecord(): Promise<BusinessRecord | null> {
    return (await this.businessRecords()).find((record) => record.id === this.#b) ?? null;
  }

  async businessRecords(): Promise<BusinessRecord[]> {
    return (await this.#select(BINDING, sql`FROM businesses b ORDER BY b.id`)).map((row) => ({
      id: row.id,
      binding: row.userId === null ? null : { userId: row.userId, login: row.login },
      lastCycleAt: row.lastCycleAt,
      lastStatus: row.lastStatus as CycleStatus | null,
    }));
  }

  async recordCycle(at: Date, status: CycleStatus): Promise<void> {
    requireTimes(at);
    await this.#db.autocommit((x) =>
      x.run(sql`INSERT INTO businesses (id, last_cycle_at, last_status) VALUES (${[this.#b, at, status]})
            ${this.#db.upsert('id', ['last_cycle_at', 'last_status'])}`),
    );
  }

  // ------------------------------------------------------------ the deployment's settings

  async keepCurrency(code: string): Promise<{ kind: 'kept' } | { kind: 'refused'; recorded: string }> {
    const result = await this.#db.transaction<{ kind: 'kept' } | { kind: 'refused'; recorded: string }>(async (x) => {
      const recorded = (await x.first(SETTING, sql`FROM deployment d WHERE d.name = 'currency'${this.#db.lockRows}`))?.value;
      if (recorded === code) return { kind: 'kept' };
      if (recorded === undefined) {
        // Another process recorded one a moment ago: ask again.
        if (!(await this.#insertOnce(x, sql`INSERT INTO deployment (name, value) VALUES (${['currency', code]})`))) throw new Rollback(null);
        return { kind: 'kept' };
      }
      const entries = (await x.first(ENTRIES, sql`FROM ledger l`))?.entries ?? 0;
      if (entries > 0) return { kind: 'refused', recorded };
      await x.run(sql`UPDATE deployment SET value = ${code} WHERE name = 'currency'`);
      return { kind: 'kept' };
    });
    return result ?? this.keepCurrency(code);
  }

  async noteAccessToken(fingerprint: string, at: Date): Promise<TokenUse> {
    requireTimes(at);
    const key = sql`FROM access_tokens t WHERE t.business_id = ${this.#b} AND t.fingerprint = ${fingerprint}`;
    return this.#db.autocommit(async (x) => {
      // The first use stays as it was written; the last moves on (never back: workers' clocks differ a little).
      await x.run(sql`INSERT ${raw(this.#db.schema.insertOrIgnore)} INTO access_tokens (business_id, fingerprint, first_used_at, last_used_at)
            VALUES (${[this.#b, fingerprint, at, at]})`);
      await x.run(sql`UPDATE access_tokens SET last_used_at = ${at} WHERE business_id = ${this.#b} AND fingerprint = ${fingerprint} AND last_used_at < ${at}`);
      return (await x.first(TOKEN_USE, key))!;
    });
  }

  async accessTokenUse(fingerprint: string): Promise<TokenUse | null> {
    return (await this.#select(TOKEN_USE, sql`FROM access_tokens t WHERE t.business_id = ${this.#b} AND t.fingerprint = ${fingerprint}`))[0] ?? null;
  }

  // ------------------------------------------------------------ lifecycle

  async migrate(): Promise<void> {
    const { schema, where } = this.#db;
    // Every command migrates first; nearly always the schema is current, which one read can tell without the lock.
    if (await this.#db.autocommit(async (x) => isCurrent(await this.#appliedVersions(x)))) return;
    await this.#db.migrating(async (x) => {
      await x.ddl(migrationsTable(schema));
      const applied = await this.#appliedVersions(x);
      const newest = Math.max(0, ...applied);
      if (newest > LATEST_VERSION) {
        const message = `${where}: the schema is at version ${newest}, newer than this gisbot knows (${LATEST_VERSION})`;
        throw new ServiceError('database', 'rejected', message, { hint: 'upgrade gisbot' });
      }
      for (const migration of migrations.filter((m) => !applied.has(m.version))) {
        for (const statement of migration.statements(schema)) await x.ddl(statement);
        await x.run(sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${[migration.version, migration.name, new Date()]})`);
      }
    });
  }

  /** The versions applied; none when the table is missing (a new database). */
  async #appliedVersions(x: Executor): Promise<Set<number>> {
    try {
      return new Set((await x.all(VERSION, sql`FROM schema_migrations m`)).map((row) => row.version));
    } catch (error) {
      if (this.#db.isMissingTable(error)) return new Set();
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.#select(VERSION, sql`FROM (SELECT 1 AS version) m`);
  }

  async close(): Promise<void> {
    if (this.#owner) await this.#db.close();
  }

  // ------------------------------------------------------------ intake

  async findKnownReviewIds(ids: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(ids)];
    const known = new Set<string>();
    for (let i = 0; i < unique.length; i += 500) {
      for (const row of await this.#select(ID, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id IN (${unique.slice(i, i + 500)})`)) known.add(row.id);
    }
    return known;
  }

  async recordReview(
    review: ListedReview, state: ReviewRecord['state'], reason: string | null, events: readonly DomainEvent[], code: ReasonCode | null = null,
  ): Promise<boolean> {
    const now = new Date();
    return this.#db.transaction(async (x) => {
      if (!(await this.#insertOnce(x, insertReviews([{ review, state, reason, code }], now, this.#b)))) throw new Rollback(false);
      await this.#insertEvents(x, events);
      await x.run(insertDialogue(this.#b, [review.authorId, review.id, 'reviewer', review.text, storableDate(review.createdAt) ?? now]));
      return true;
    });
  }

  async recordReviews(entries: readonly ReviewRecord[]): Promise<boolean[]> {
    const one = (entry: ReviewRecord) => this.recordReview(entry.review, entry.state, entry.reason, entry.events, entry.code ?? null);
    if (entries.length < 2) return Promise.all(entries.map(one));
    const now = new Date();
    const events = entries.flatMap((entry) => entry.events);
    // One statement per table for the whole page; a review or event already stored (another worker took the
    // page in a moment ago) undoes it all, and the page is recorded one by one, each as recordReview would.
    const together = await this.#db.transaction(async (x) => {
      if (!(await this.#insertOnce(x, insertReviews(entries, now, this.#b)))) throw new Rollback(false);
      if (events.length > 0) {
        if (!(await this.#insertOnce(x, insertEvents(events, this.#redact, this.#b)))) throw new Rollback(false);
        if (this.#notifications) await x.run(sql`INSERT INTO outbox (event_id) VALUES ${join(events.map((e) => sql`(${e.id})`))}`);
      }
      await x.run(insertDialogue(this.#b, ...entries.map(({ review: r }) => [r.authorId, r.id, 'reviewer', r.text, storableDate(r.createdAt) ?? now] as const)));
      return true;
    });
    if (together) return entries.map(() => true);
    const results: boolean[] = [];
    for (const entry of entries) results.push(await one(entry));
    return results;
  }

  async getReview(id: string): Promise<StoredReview | null> {
    return this.#db.autocommit((x) => this.#readReview(x, id));
  }

  async branchIntakes(branchIds: readonly string[]): Promise<Map<string, BranchIntake>> {
    const unique = [...new Set(branchIds)];
    const kept = new Map<string, BranchIntake>();
    for (let i = 0; i < unique.length; i += 500) {
      for (const row of await this.#select(BRANCH_INTAKE, sql`FROM branch_intake b WHERE b.business_id = ${this.#b} AND b.branch_id IN (${unique.slice(i, i + 500)})`)) {
        const backlog = row.backlogCursor === null ? null : { cursor: row.backlogCursor, until: row.backlogUntil };
        kept.set(row.branchId, { sweptAt: row.sweptAt, backlog });
      }
    }
    return kept;
  }

  async saveBranchIntake(branchId: string, change: Partial<BranchIntake>): Promise<void> {
    const changed = [...(change.sweptAt !== undefined ? ['swept_at'] : []), ...(change.backlog !== undefined ? ['backlog_cursor', 'backlog_until'] : [])];
    if (changed.length === 0) return;
    requireTimes(change.sweptAt ?? undefined, change.backlog?.until ?? undefined);
    const values: Value[] = [this.#b, branchId, change.sweptAt ?? null, change.backlog?.cursor ?? null, change.backlog?.until ?? null, new Date()];
    await this.#db.autocommit((x) =>
      x.run(sql`INSERT INTO branch_intake (business_id, branch_id, swept_at, backlog_cursor, backlog_until, updated_at) VALUES (${values})
            ${this.#db.upsert('business_id, branch_id', [...changed, 'updated_at'])}`),
    );
  }

  async waitingReviews(query: { ids?: readonly string[]; limit: number }): Promise<WaitingReview[]> {
    const count = limitOf(query.limit);
    if (count === 0 || query.ids?.length === 0) return [];
    const states = [...WAITING_FOR_PERSON];
    // Never checked first: NULL sorts first in both databases' ascending order.
    const select = (ids: Sql) =>
      this.#select(WAITING, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state IN (${states})${ids} ORDER BY r.checked_at, r.id LIMIT ${count}`);
    if (query.ids === undefined) return (await select(empty)).map((row) => ({ ...row, state: row.state as ReviewState }));
    const unique = [...new Set(query.ids)];
    const found: WaitingReview[] = [];
    for (let i = 0; i < unique.length; i += 500) {
      for (const row of await select(sql` AND r.id IN (${unique.slice(i, i + 500)})`)) found.push({ ...row, state: row.state as ReviewState });
    }
    return found.sort(byCheck).slice(0, count);
  }

  async markReviewsChecked(ids: readonly string[], at: Date): Promise<void> {
    requireTimes(at);
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 500) {
      await this.#db.autocommit((x) =>
        x.run(sql`UPDATE reviews SET checked_at = ${at} WHERE business_id = ${this.#b} AND id IN (${unique.slice(i, i + 500)})
              AND state IN (${[...WAITING_FOR_PERSON]})`),
      );
    }
  }

  // ------------------------------------------------------------ work

  async claimNext(token: string, now: Date, leaseUntil: Date, priceOf: ClaimPrice): Promise<StoredReview | 'insufficient' | null> {
    requireTimes(now, leaseUntil);
    return this.#db.transaction<StoredReview | 'insufficient' | null>(async (x) => {
      // Newest first: a backlog or a runaway listing of old reviews cannot hold back the other branches' new ones.
      // The whole row at once: it is locked, so after the UPDATE it is this row with the claim written in.
      const newest = sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state = 'new' ORDER BY r.created_at DESC, r.id DESC LIMIT 1${this.#db.skipLocked}`;
      const row = await x.first(REVIEW, newest);
      if (row === undefined) return null;
      const price = typeof priceOf === 'function' ? priceOf(toReview(row)) : priceOf;
      nonNegative(price, 'price');
      // A queued review holds nothing (a release back to `new` frees its reserve); should one hold something, it keeps it.
      const funded = price > 0n && row.reserved === 0n;
      const claimed = await x.run(sql`UPDATE reviews SET state = 'claimed', claim_token = ${token}, lease_until = ${leaseUntil}, updated_at = ${now}
            ${funded ? sql`, reserved = ${price}` : empty} WHERE business_id = ${this.#b} AND id = ${row.id} AND state = 'new'`);
      if (claimed !== 1) throw new Rollback(null);
      if (funded && !(await this.#reserveFunds(x, price))) throw new Rollback('insufficient');
      return { ...toReview(row), state: 'claimed', claimToken: token, leaseUntil, reserved: funded ? price : row.reserved };
    });
  }

  async claimReview(reviewId: string, token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
    requireTimes(now, leaseUntil);
    return this.#db.transaction(async (x) => {
      const claimed = await x.run(sql`UPDATE reviews SET state = 'claimed', claim_token = ${token}, lease_until = ${leaseUntil}, updated_at = ${now}
            WHERE business_id = ${this.#b} AND id = ${reviewId} AND (state IN ('new', 'needs_approval', 'failed') OR (state = 'skipped' AND ${raw(complainedRow(''))}))`);
      return claimed === 1 ? this.#readReview(x, reviewId) : null;
    });
  }

  async claimStale(token: string, now: Date, leaseUntil: Date): Promise<StoredReview | null> {
    requireTimes(now, leaseUntil);
    // A lease is live while lease_until > now (the beginPosting fence), so it is stale once lease_until <= now.
    const stale = sql`business_id = ${this.#b} AND state IN ${IN_FLIGHT} AND lease_until <= ${now} AND ${readBackDue(now)}`;
    return this.#db.transaction(async (x) => {
      const row = await x.first(ID, sql`FROM reviews r WHERE ${stale} ORDER BY r.lease_until, r.id LIMIT 1${this.#db.skipLocked}`);
      if (row === undefined) return null;
      const taken = await x.run(sql`UPDATE reviews SET claim_token = ${token}, lease_until = ${leaseUntil}, updated_at = ${now}
            WHERE id = ${row.id} AND ${stale}`);
      if (taken !== 1) throw new Rollback(null);
      return this.#readReview(x, row.id);
    });
  }

  async requeueFailed(now: Date, settings: string): Promise<number> {
    requireTimes(now);
    // A change of the model settings starts the count of tries anew; the reason stays until the next outcome.
    return this.#db.autocommit((x) =>
      x.run(sql`UPDATE reviews SET state = 'new', failed_tries = CASE WHEN failure_settings = ${settings} THEN failed_tries ELSE 0 END,
              retry_at = NULL, updated_at = ${now}
            WHERE business_id = ${this.#b} AND state = 'failed' AND failure_settings IS NOT NULL
              AND (retry_at <= ${now} OR failure_settings <> ${settings})`),
    );
  }

  async listInFlight(): Promise<Array<{ id: string; claimToken: string }>> {
    return this.#select(IN_FLIGHT_CLAIM, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state IN ${IN_FLIGHT} AND r.claim_token IS NOT NULL`);
  }

  async reserve(reviewId: string, token: string, price: Kopecks): Promise<ReserveResult> {
    nonNegative(price, 'price');
    return this.#db.transaction<ReserveResult>(async (x) => {
      // A claim holding nothing takes the price in one conditional UPDATE of the review (which locks it), then the funds.
      if (price > 0n && (await x.run(sql`UPDATE reviews SET reserved = ${price} WHERE business_id = ${this.#b} AND id = ${reviewId} AND claim_token = ${token} AND reserved = 0`)) === 1) {
        if (!(await this.#reserveFunds(x, price))) throw new Rollback('insufficient');
        return 'reserved';
      }
      // One reserve per claim, at the price of its moment: a price changed since applies to later claims.
      return (await x.first(ID, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${reviewId} AND r.claim_token = ${token}`)) === undefined ? 'lost' : 'reserved';
    });
  }

  async saveDraft(reviewId: string, token: string, draft: DraftRecord): Promise<boolean> {
    return this.#changedOne(sql`UPDATE reviews SET state = 'drafted', draft_text = ${draft.text}, model = ${draft.model},
            prompt_version = ${draft.promptVersion}, prompt_tokens = ${draft.promptTokens}, completion_tokens = ${draft.completionTokens},
            finish_reason = ${draft.finishReason}, model_cost = ${draft.cost ?? null}, sent_by = ${draft.sentBy ?? 'gisbot'},
            template = ${draft.template ?? null}, post_after = NULL, updated_at = ${new Date()}
          WHERE business_id = ${this.#b} AND id = ${reviewId} AND claim_token = ${token}`);
  }

  async scheduleDraft(reviewId: string, token: string, postAfter: Date): Promise<boolean> {
    requireTimes(postAfter);
    // No claim while it waits, its reserve held: the lease ends when the wait does, and claimStale hands the
    // review to whichever cycle comes next after that (reconcile.ts posts it after the re-read).
    return this.#changedOne(sql`UPDATE reviews SET post_after = ${postAfter}, claim_token = NULL, lease_until = ${postAfter}, updated_at = ${new Date()}
          WHERE business_id = ${this.#b} AND id = ${reviewId} AND claim_token = ${token} AND state = 'drafted'`);
  }

  async takeTemplate(templateSet: string, count: number): Promise<number> {
    if (!Number.isInteger(count) || count < 1) throw new Error(`a template set of ${count} templates`);
    // The set's counter row (place -1), made once on its own: two transactions inserting it at once deadlock on
    // MariaDB's gap locks. Its UPDATE then locks it, so racing workers take their turns one at a time.
    await this.#db.autocommit((x) => this.#insertOnce(x, sql`INSERT INTO template_uses (business_id, template_set, position, used_seq) VALUES (${this.#b}, ${templateSet}, -1, 0)`));
    return this.#db.transaction(async (x) => {
      await x.run(sql`UPDATE template_uses SET used_seq = used_seq + 1 WHERE business_id = ${this.#b} AND template_set = ${templateSet} AND position = -1`);
      const rows = await x.all(TEMPLATE_USE, sql`FROM template_uses u WHERE u.business_id = ${this.#b} AND u.template_set = ${templateSet}${this.#db.lockRows}`);
      const seq = rows.find((row) => row.position === -1)!.usedSeq;
      const lastUses = new Map(rows.filter((row) => row.position >= 0).map((row) => [row.position, row.usedSeq]));
      const position = leastRecentlyUsed(count, lastUses);
      if (lastUses.has(position)) {
        await x.run(sql`UPDATE template_uses SET used_seq = ${seq} WHERE business_id = ${this.#b} AND template_set = ${templateSet} AND position = ${position}`);
      } else {
        await x.run(sql`INSERT INTO template_uses (business_id, template_set, position, used_seq) VALUES (${this.#b}, ${templateSet}, ${position}, ${seq})`);
      }
      return position;
    });
  }

  async beginPosting(reviewId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    requireTimes(now, holdUntil);
    return this.#changedOne(sql`UPDATE reviews SET state = 'posting', post_attempts = post_attempts + 1, read_back_after = ${holdUntil}, updated_at = ${now}
          WHERE business_id = ${this.#b} AND id = ${reviewId} AND claim_token = ${token} AND lease_until > ${now}`);
  }

  async relinquish(reviewId: string, token: string, at: Date): Promise<void> {
    requireTimes(at);
    await this.#changedOne(sql`UPDATE reviews SET claim_token = NULL, lease_until = ${at}, updated_at = ${new Date()}
          WHERE business_id = ${this.#b} AND id = ${reviewId} AND claim_token = ${token}`);
  }

  async settlePosted(
    reviewId: string, answer: { answerId: string | null; text: string },
    events: (balanceAfter: Kopecks, charged: Kopecks, balanceBefore: Kopecks) => readonly DomainEvent[],
    recheckAt: Date | null = null,
  ): Promise<{ balance: Kopecks; charged: Kopecks } | null> {
    requireTimes(recheckAt ?? undefined);
    return this.#db.transaction(async (x) => {
      const now = new Date();
      const row = await x.first(HELD, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${reviewId}${this.#db.lockRows}`);
      if (row === undefined || row.state !== 'posting') throw new Rollback(null);
      // The price agreed when it was claimed, held since: always within the balance (the account's CHECK).
      const charged = row.reserved;
      const posted = await x.run(sql`UPDATE reviews SET state = 'posted', answer_id = ${answer.answerId}, answer_text = ${answer.text},
              charged = charged + ${charged}, reserved = 0, claim_token = NULL, lease_until = NULL, posted_at = ${now},
              answer_minutes = ${answerMinutes(row.createdAt, now)}, recheck_at = ${recheckAt}, rechecked_at = NULL, updated_at = ${now}
            WHERE business_id = ${this.#b} AND id = ${reviewId} AND state = 'posting'`);
      if (posted !== 1) throw new Rollback(null);
      await x.run(insertDialogue(this.#b, [row.authorId, reviewId, 'owner', answer.text, now]));
      await x.run(sql`UPDATE business_accounts SET balance = balance - ${charged}, reserved = reserved - ${charged} WHERE business_id = ${this.#b}`);
      const { balance } = await this.#readAccount(x);
      const charge = sql`INSERT INTO ledger (business_id, at, kind, amount, balance_after, review_id, charge_review_id, note)
        VALUES (${this.#b}, ${now}, 'charge', ${-charged}, ${balance}, ${reviewId}, ${chargeKey(reviewId, row.answerRemovals)}, NULL)`;
      // The unique charge key: this review was charged already.
      if (!(await this.#insertOnce(x, charge))) throw new Rollback(null);
      await this.#insertEvents(x, events(balance, charged, balance + charged));
      return { balance, charged };
    });
  }

  async claimAnswerRecheck(now: Date): Promise<AnswerToRecheck | null> {
    requireTimes(now);
    const due = sql`business_id = ${this.#b} AND state = 'posted' AND recheck_at IS NOT NULL AND recheck_at <= ${now}`;
    return this.#db.transaction(async (x) => {
      const row = await x.first(RECHECK, sql`FROM reviews r WHERE ${due} ORDER BY r.recheck_at, r.id LIMIT 1${this.#db.skipLocked}`);
      if (row === undefined) return null;
      // The claim is the cleared due time: exactly one racing worker changes the row.
      if ((await x.run(sql`UPDATE reviews SET recheck_at = NULL, rechecked_at = ${now} WHERE id = ${row.reviewId} AND ${due}`)) !== 1) throw new Rollback(null);
      return row;
    });
  }

  async recordAnswerRemoved(
    reviewId: string, answerId: string | null, refund: boolean, events: (refunded: Kopecks, balanceAfter: Kopecks) => readonly DomainEvent[],
  ): Promise<{ refunded: Kopecks } | null> {
    return this.#db.transaction(async (x) => {
      const now = new Date();
      const row = await x.first(REMOVED_ANSWER, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${reviewId}${this.#db.lockRows}`);
      if (row === undefined || row.state !== 'posted' || row.answerId !== answerId) throw new Rollback(null);
      const removed = await x.run(sql`UPDATE reviews SET state = 'needs_approval', reason = ${ANSWER_REMOVED}, reason_code = 'answer_removed', answer_removals = answer_removals + 1,
              answer_removed_at = ${now}, recheck_at = NULL, updated_at = ${now}
            WHERE business_id = ${this.#b} AND id = ${reviewId} AND state = 'posted' AND answer_removals = ${row.answerRemovals}`);
      if (removed !== 1) throw new Rollback(null);
      // What this answer was charged: its own ledger entry (the review's `charged` sums every answer of it).
      const key = chargeKey(reviewId, row.answerRemovals);
      const charge = (await x.first(LEDGER_AMOUNT, sql`FROM ledger l WHERE l.business_id = ${this.#b} AND l.charge_review_id = ${key}`))?.amount ?? 0n;
      let refunded = 0n;
      if (refund && charge < 0n) {
        const amount = -charge;
        const most = MAX_MONEY - 1n;
        if ((await x.run(sql`UPDATE business_accounts SET balance = balance + ${amount} WHERE business_id = ${this.#b} AND balance <= ${most - amount}`)) === 1) {
          const { balance } = await this.#readAccount(x);
          const entry = sql`INSERT INTO ledger (business_id, at, kind, amount, balance_after, review_id, charge_review_id, refund_key, note)
            VALUES (${this.#b}, ${now}, 'adjustment', ${amount}, ${balance}, ${reviewId}, NULL, ${key}, ${REFUND_NOTE})`;
          // The unique refund key: this answer was refunded already.
          if (!(await this.#insertOnce(x, entry))) throw new Rollback(null);
          refunded = amount;
        }
      }
      const { balance } = await this.#readAccount(x);
      await this.#insertEvents(x, events(refunded, balance));
      return { refunded };
    });
  }

  async release(reviewId: string, token: string, outcome: ReleaseOutcome, events: readonly DomainEvent[]): Promise<boolean> {
    // Back in the queue, the review is drafted afresh.
    const clearDraft =
      outcome.state === 'new'
        ? raw(`, draft_text = NULL, model = NULL, prompt_version = NULL, prompt_tokens = NULL, completion_tokens = NULL, finish_reason = NULL,
            model_cost = NULL, sent_by = NULL, template = NULL`)
        : empty;
    return this.#db.transaction(async (x) => {
      const row = await x.first(HELD, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${reviewId} AND r.claim_token = ${token}${this.#db.lockRows}`);
      if (row === undefined) throw new Rollback(false);
      await x.run(sql`UPDATE reviews SET state = ${outcome.state}, reason = ${outcome.reason}, reason_code = ${outcome.code ?? null}, reserved = 0, claim_token = NULL, lease_until = NULL,
              post_after = NULL, updated_at = ${new Date()}${clearDraft}${failureRetry(outcome)}
            WHERE business_id = ${this.#b} AND id = ${reviewId}`);
      if (row.reserved !== 0n) await x.run(sql`UPDATE business_accounts SET reserved = reserved - ${row.reserved} WHERE business_id = ${this.#b}`);
      await this.#insertEvents(x, events);
      return true;
    });
  }

  // ------------------------------------------------------------ events and outbox

  async appendEvents(events: readonly DomainEvent[]): Promise<void> {
    if (events.length > 0) await this.#db.transaction((x) => this.#insertEvents(x, events));
  }

  async listEvents(query: EventQuery): Promise<StoredEvent[]> {
    const limit = limitOf(query.limit);
    if (limit === 0) return [];
    requireTimes(query.since);
    const { rest, newestFirst } = eventQuery(query, limit, this.#b);
    const events = (await this.#select(EVENT, rest)).map(toEvent);
    return newestFirst ? events.reverse() : events;
  }

  async pendingOutbox(limit: number, dueAt?: Date): Promise<PendingEvent[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    requireTimes(dueAt);
    const due = dueAt === undefined ? empty : sql`WHERE o.retry_at IS NULL OR o.retry_at <= ${dueAt} `;
    return (await this.#select(PENDING, sql`FROM outbox o JOIN events e ON e.id = o.event_id ${due}ORDER BY o.seq LIMIT ${count}`)).map(toEvent);
  }

  async markDelivered(eventIds: readonly string[]): Promise<void> {
    const unique = [...new Set(eventIds)];
    for (let i = 0; i < unique.length; i += 500) {
      await this.#db.autocommit((x) => x.run(sql`DELETE FROM outbox WHERE event_id IN (${unique.slice(i, i + 500)})`));
    }
  }

  async deferDelivery(entries: readonly { id: string; retryAt: Date }[]): Promise<void> {
    if (entries.length === 0) return;
    requireTimes(...entries.map((entry) => entry.retryAt));
    await this.#db.transaction(async (x) => {
      for (const { id, retryAt } of entries) await x.run(sql`UPDATE outbox SET attempts = attempts + 1, retry_at = ${retryAt} WHERE event_id = ${id}`);
    });
  }

  async outboxStatus(): Promise<OutboxStatus> {
    const [status] = await this.#select(OUTBOX, sql`FROM outbox o`);
    // The epoch stands for "due now", when an event waits for no retry time.
    const nextDueAt = status!.dueNow > 0 ? new Date(0) : status!.nextRetry;
    return { pending: status!.pending, nextDueAt };
  }

  // ------------------------------------------------------------ money

  async getBalance(): Promise<BalanceSnapshot> {
    return this.#db.autocommit((x) => this.#readAccount(x));
  }

  async topUp(amount: Kopecks, note: string | null): Promise<BalanceSnapshot> {
    if (amount <= 0n) throw new RangeError('a top-up must be a positive amount');
    return this.#db.transaction(async (x) => {
      const most = MAX_MONEY - 1n;
      await x.run(sql`INSERT ${raw(this.#db.schema.insertOrIgnore)} INTO business_accounts (business_id, balance, reserved) VALUES (${this.#b}, 0, 0)`);
      const added = sql`UPDATE business_accounts SET balance = balance + ${amount} WHERE business_id = ${this.#b} AND balance <= ${most - amount}`;
      if ((await x.run(added)) !== 1) {
        const [added, held] = [formatMoney(amount), formatMoney(most)];
        throw new UsageError(`a top-up of ${added} would take the balance past ${held}, the most the database holds: nothing was added`);
      }
      const snapshot = await this.#readAccount(x);
      await x.run(sql`INSERT INTO ledger (business_id, at, kind, amount, balance_after, review_id, charge_review_id, note)
            VALUES (${this.#b}, ${new Date()}, 'topup', ${amount}, ${snapshot.balance}, NULL, NULL, ${note})`);
      return snapshot;
    });
  }

  async adjust(amount: Kopecks, note: string): Promise<BalanceSnapshot | null> {
    if (amount === 0n) throw new RangeError('an adjustment must change the balance');
    return this.#db.transaction(async (x) => {
      const most = MAX_MONEY - 1n;
      // One conditional UPDATE, like a reserve: never below what answers in progress hold, never past the column.
      await x.run(sql`INSERT ${raw(this.#db.schema.insertOrIgnore)} INTO business_accounts (business_id, balance, reserved) VALUES (${this.#b}, 0, 0)`);
      const changed = await x.run(
        sql`UPDATE business_accounts SET balance = balance + ${amount} WHERE business_id = ${this.#b} AND balance + ${amount} >= reserved
              AND balance + ${amount} >= 0 AND balance + ${amount} <= ${most}`,
      );
      if (changed !== 1) throw new Rollback(null);
      const snapshot = await this.#readAccount(x);
      await x.run(sql`INSERT INTO ledger (business_id, at, kind, amount, balance_after, review_id, charge_review_id, note)
            VALUES (${this.#b}, ${new Date()}, 'adjustment', ${amount}, ${snapshot.balance}, NULL, NULL, ${note})`);
      return snapshot;
    });
  }

  async ledger(query: { since?: Date; limit: number }): Promise<LedgerEntry[]> {
    const limit = limitOf(query.limit);
    if (limit === 0) return [];
    requireTimes(query.since);
    const since = query.since === undefined ? empty : sql`AND l.at >= ${query.since} `;
    return (await this.#select(LEDGER, sql`FROM ledger l WHERE l.business_id = ${this.#b} ${since}ORDER BY l.id DESC LIMIT ${limit}`)).map((row) => ({ ...row, kind: row.kind as LedgerKind }));
  }

  // ------------------------------------------------------------ reading, for the operator's commands

  async listReviewsInState(state: ReviewState, limit: number): Promise<StoredReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return (await this.#select(REVIEW, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state = ${state} ORDER BY r.created_at, r.id LIMIT ${count}`)).map(toReview);
  }

  async listPromptVersions(limit: number): Promise<PromptVersion[]> {
    const count = limitOf(limit);
    return count === 0 ? [] : this.#select(PROMPT, sql`FROM prompt_versions p WHERE p.business_id = ${this.#b} ORDER BY p.version DESC LIMIT ${count}`);
  }

  async getPromptVersion(version: number): Promise<PromptVersion | null> {
    if (!Number.isSafeInteger(version) || version < 1) return null;
    return (await this.#select(PROMPT, sql`FROM prompt_versions p WHERE p.business_id = ${this.#b} AND p.version = ${version}`))[0] ?? null;
  }

  // ------------------------------------------------------------ prompts and dialogue

  async savePromptVersion(text: string): Promise<PromptVersion> {
    const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    return this.#db.transaction(async (x) => {
      const latest = await x.first(PROMPT_SHA, sql`FROM prompt_versions p WHERE p.business_id = ${this.#b} ORDER BY p.version DESC LIMIT 1${this.#db.lockRows}`);
      if (latest !== undefined && latest.sha256 === sha256 && latest.text === text) return { version: latest.version, text, createdAt: latest.createdAt };
      const createdAt = new Date();
      const version = await x.insert(sql`INSERT INTO prompt_versions (business_id, text, sha256, created_at) VALUES (${[this.#b, text, sha256, createdAt]})`);
      return { version, text, createdAt };
    });
  }

  async latestPrompt(): Promise<PromptVersion | null> {
    return (await this.listPromptVersions(1))[0] ?? null;
  }

  /** Answers of ours to a branch, posted or sent with an outcome not seen yet, newest first: drafts must not repeat them. */
  async recentAnswers(branchId: string, limit: number): Promise<string[]> {
    const rows = await this.#select(ANSWER, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.branch_id = ${branchId} AND r.state IN ('posting', 'posted')
          AND COALESCE(r.answer_text, r.draft_text) IS NOT NULL ORDER BY r.updated_at DESC, r.id DESC LIMIT ${limitOf(limit)}`);
    return rows.map((row) => row.text);
  }

  /** The history kept under the key (author, review), oldest first; an unknown author is ''. */
  async dialogue(authorId: string | null, reviewId: string): Promise<DialogueEntry[]> {
    const rows = await this.#select(DIALOGUE, sql`FROM dialogue d WHERE d.business_id = ${this.#b} AND d.author_id = ${authorId ?? ''} AND d.review_id = ${reviewId} ORDER BY d.at, d.id`);
    return rows.map((row) => ({ ...row, role: row.role as DialogueEntry['role'] }));
  }

  // ------------------------------------------------------------ follow-ups

  async #readFollowUp(x: Executor, commentId: string): Promise<StoredFollowUp | null> {
    const row = await x.first(FOLLOW_UP, sql`FROM follow_ups f WHERE f.business_id = ${this.#b} AND f.comment_id = ${commentId}`);
    return row === undefined ? null : { ...row, state: row.state as FollowUpState, reasonCode: row.reasonCode as FollowUpReasonCode | null };
  }

  async recordFollowUp(followUp: FollowUp, events: readonly DomainEvent[]): Promise<boolean> {
    const now = new Date();
    const createdAt = storableDate(followUp.createdAt) ?? now;
    const { commentId, reviewId, branchId, authorId, text } = followUp;
    const values: Value[] = [this.#b, commentId, reviewId, branchId, authorId, text, followUp.createdAt, createdAt, 'new', now, now];
    return this.#db.transaction(async (x) => {
      const insert = sql`INSERT INTO follow_ups (business_id, comment_id, review_id, branch_id, author_id, text, created_at_text, created_at, state, recorded_at,
        updated_at) VALUES (${values})`;
      if (!(await this.#insertOnce(x, insert))) throw new Rollback(false);
      await this.#insertEvents(x, events);
      await x.run(insertDialogue(this.#b, [authorId, reviewId, 'reviewer', text, createdAt]));
      return true;
    });
  }

  async getFollowUp(commentId: string): Promise<StoredFollowUp | null> {
    return this.#db.autocommit((x) => this.#readFollowUp(x, commentId));
  }

  async claimFollowUp(token: string, now: Date, leaseUntil: Date): Promise<StoredFollowUp | null> {
    requireTimes(now, leaseUntil);
    const stale = sql`business_id = ${this.#b} AND state IN ('claimed', 'posting') AND lease_until <= ${now} AND ${readBackDue(now)}`;
    return this.#db.transaction(async (x) => {
      // A follow-up whose worker died comes first (it may have a comment out there to read back), then the oldest new one.
      const row =
        (await x.first(FOLLOW_UP_ID, sql`FROM follow_ups f WHERE ${stale} ORDER BY f.lease_until, f.comment_id LIMIT 1${this.#db.skipLocked}`)) ??
        (await x.first(FOLLOW_UP_ID, sql`FROM follow_ups f WHERE f.business_id = ${this.#b} AND f.state = 'new' ORDER BY f.created_at, f.comment_id LIMIT 1${this.#db.skipLocked}`));
      if (row === undefined) return null;
      const taken = await x.run(sql`UPDATE follow_ups SET state = CASE WHEN state = 'new' THEN 'claimed' ELSE state END, claim_token = ${token},
              lease_until = ${leaseUntil}, updated_at = ${now}
            WHERE business_id = ${this.#b} AND comment_id = ${row.commentId} AND (state = 'new' OR (${stale}))`);
      if (taken !== 1) throw new Rollback(null);
      return this.#readFollowUp(x, row.commentId);
    });
  }

  async beginFollowUpPosting(commentId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    requireTimes(now, holdUntil);
    return this.#changedOne(sql`UPDATE follow_ups SET state = 'posting', read_back_after = ${holdUntil}, updated_at = ${now}
          WHERE business_id = ${this.#b} AND comment_id = ${commentId} AND claim_token = ${token} AND state = 'claimed' AND lease_until > ${now}`);
  }

  async finishFollowUp(commentId: string, token: string, outcome: FollowUpOutcome, events: readonly DomainEvent[]): Promise<boolean> {
    const now = new Date();
    return this.#db.transaction(async (x) => {
      const mine = sql`f.business_id = ${this.#b} AND f.comment_id = ${commentId} AND f.claim_token = ${token} AND f.state IN ('claimed', 'posting')`;
      const row = await x.first(FOLLOW_UP_ID, sql`FROM follow_ups f WHERE ${mine}${this.#db.lockRows}`);
      if (row === undefined) return false;
      if (outcome.state === 'posted') {
        const { draft } = outcome;
        await x.run(sql`UPDATE follow_ups SET state = 'posted', reason = NULL, reason_code = NULL, claim_token = NULL, lease_until = NULL, answer_id = ${outcome.answerId},
                answer_text = ${outcome.text}, model = ${draft?.model ?? null}, prompt_version = ${draft?.promptVersion ?? null},
                prompt_tokens = ${draft?.promptTokens ?? null}, completion_tokens = ${draft?.completionTokens ?? null},
                model_cost = ${draft?.cost ?? null}, updated_at = ${now}
              WHERE business_id = ${this.#b} AND comment_id = ${commentId}`);
        await x.run(insertDialogue(this.#b, [row.authorId, row.reviewId, 'owner', outcome.text, now]));
      } else {
        const { state, reason, code } = outcome;
        await x.run(sql`UPDATE follow_ups SET state = ${state}, reason = ${reason}, reason_code = ${code}, claim_token = NULL, lease_until = NULL, updated_at = ${now}
              WHERE business_id = ${this.#b} AND comment_id = ${commentId}`);
      }
      await this.#insertEvents(x, events);
      return true;
    });
  }

  // ------------------------------------------------------------ telegram (issue 15)

  async reviewsWithoutCard(limit: number): Promise<StoredReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    const rows = await this.#select(
      REVIEW,
      sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state IN ('needs_approval', 'failed')
          AND NOT EXISTS (SELECT 1 FROM telegram_cards c WHERE c.business_id = r.business_id AND c.review_id = r.id)
          ORDER BY r.created_at DESC, r.id DESC LIMIT ${count}`,
    );
    return rows.map(toReview);
  }

  async createTelegramCard(reviewId: string, body: TelegramCardBody): Promise<TelegramCard | null> {
    const now = new Date();
    const json = JSON.stringify(body);
    return this.#db.autocommit(async (x) => {
      try {
        const id = await x.insert(
          sql`INSERT INTO telegram_cards (business_id, review_id, active, version, body, created_at, updated_at) VALUES (${[this.#b, reviewId, 1, 1, json, now, now]})`,
        );
        return { id, reviewId, active: true, version: 1, body: JSON.parse(json) as TelegramCardBody };
      } catch (error) {
        if (this.#db.isDuplicate(error)) return null;
        throw error;
      }
    });
  }

  async telegramCard(id: number): Promise<TelegramCard | null> {
    if (!Number.isSafeInteger(id)) return null;
    const row = (await this.#select(CARD, sql`FROM telegram_cards c WHERE c.business_id = ${this.#b} AND c.id = ${id}`))[0];
    return row === undefined ? null : toCard(row);
  }

  async activeTelegramCards(limit: number): Promise<TelegramCard[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    return (await this.#select(CARD, sql`FROM telegram_cards c WHERE c.business_id = ${this.#b} AND c.active = 1 ORDER BY c.id LIMIT ${count}`)).map(toCard);
  }

  async saveTelegramCard(card: TelegramCard, body: TelegramCardBody, active: boolean): Promise<boolean> {
    return this.#changedOne(
      sql`UPDATE telegram_cards SET body = ${JSON.stringify(body)}, active = ${active ? 1 : 0}, version = version + 1, updated_at = ${new Date()}
          WHERE business_id = ${this.#b} AND id = ${card.id} AND version = ${card.version}`,
    );
  }

  async takeTelegramTurn(token: string, now: Date, until: Date): Promise<number | null> {
    requireTimes(now, until);
    return this.#db.transaction(async (x) => {
      const taken = await x.run(
        sql`UPDATE telegram_turn SET holder = ${token}, holder_until = ${until}
            WHERE id = 1 AND (holder IS NULL OR holder = ${token} OR holder_until <= ${now})`,
      );
      if (taken !== 1) return null;
      return (await x.first(TURN, sql`FROM telegram_turn t WHERE t.id = 1`))?.nextOffset ?? 0;
    });
  }

  async endTelegramTurn(token: string): Promise<void> {
    await this.#db.autocommit((x) => x.run(sql`UPDATE telegram_turn SET holder = NULL, holder_until = NULL WHERE id = 1 AND holder = ${token}`));
  }

  async storeTelegramUpdates(updates: readonly TelegramUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const now = new Date();
    const newest = Math.max(...updates.map((update) => update.updateId));
    await this.#db.transaction(async (x) => {
      for (const update of updates) {
        const payload = JSON.stringify(update);
        // Free to claim at once: nobody holds it, and its lease ran out long ago.
        const values: Value[] = [update.updateId, '', FREE, 0, now, payload, 0];
        if (await this.#insertOnce(x, sql`INSERT INTO telegram_updates (update_id, claim_token, lease_until, done, updated_at, payload, attempts) VALUES (${values})`)) continue;
        // Known: read again before the offset moved past it; a row from before schema v12 gains what it lacked.
        await x.run(sql`UPDATE telegram_updates SET payload = ${payload} WHERE update_id = ${update.updateId} AND payload IS NULL AND done = 0`);
      }
      await x.run(sql`UPDATE telegram_turn SET next_offset = ${newest + 1} WHERE id = 1 AND next_offset < ${newest + 1}`);
    });
  }

  async pendingTelegramUpdates(now: Date, limit: number): Promise<TelegramUpdate[]> {
    requireTimes(now, now);
    const count = limitOf(limit);
    if (count === 0) return [];
    const rows = await this.#select(
      UPDATE_PAYLOAD,
      sql`FROM telegram_updates u WHERE u.done = 0 AND u.payload IS NOT NULL AND u.lease_until <= ${now} ORDER BY u.update_id LIMIT ${count}`,
    );
    return rows.map((row) => row.payload as unknown as TelegramUpdate);
  }

  async claimTelegramUpdate(updateId: number, token: string, now: Date, until: Date): Promise<{ attempts: number; lastError: string | null } | null> {
    requireTimes(now, until);
    return this.#db.transaction(async (x) => {
      // Free, or taken over from a claimer whose claim ran out before it was done (it died acting on it).
      const taken = await x.run(
        sql`UPDATE telegram_updates SET claim_token = ${token}, lease_until = ${until}, attempts = attempts + 1, updated_at = ${now}
            WHERE update_id = ${updateId} AND done = 0 AND payload IS NOT NULL AND lease_until <= ${now}`,
      );
      if (taken !== 1) return null;
      const row = await x.first(UPDATE_CLAIM, sql`FROM telegram_updates u WHERE u.update_id = ${updateId}`);
      return row === undefined ? null : { attempts: row.attempts, lastError: row.lastError };
    });
  }

  async releaseTelegramUpdate(updateId: number, token: string, error: string): Promise<void> {
    const now = new Date();
    await this.#db.autocommit((x) =>
      x.run(sql`UPDATE telegram_updates SET claim_token = '', lease_until = ${FREE}, last_error = ${error}, updated_at = ${now}
          WHERE update_id = ${updateId} AND claim_token = ${token} AND done = 0`),
    );
  }

  async finishTelegramUpdate(updateId: number, token: string, outcome: 'acted' | 'given_up' = 'acted'): Promise<void> {
    const now = new Date();
    await this.#db.transaction(async (x) => {
      await x.run(sql`UPDATE telegram_updates SET done = ${outcome === 'acted' ? 1 : 2}, updated_at = ${now}
          WHERE update_id = ${updateId} AND claim_token = ${token} AND done = 0`);
      await x.run(sql`DELETE FROM telegram_updates WHERE done <> 0 AND updated_at < ${new Date(now.getTime() - TELEGRAM_UPDATE_KEPT_MS)}`);
    });
  }

  async telegramCardOfReview(reviewId: string): Promise<TelegramCard | null> {
    const row = (await this.#select(CARD, sql`FROM telegram_cards c WHERE c.business_id = ${this.#b} AND c.review_id = ${reviewId}`))[0];
    return row === undefined ? null : toCard(row);
  }

  // ------------------------------------------------------------ the owner's panel (issue 20)
  // Episodes and the alert cursor are the business's; the queue of messages is the deployment's (Telegram's limits
  // are per chat and per bot, whichever business a message is about), each message naming its business.

  async openAlertEpisode(
    episode: { kind: string; subject: string },
    now: Date,
    effects: { events?: readonly DomainEvent[]; messages?: ReadonlyArray<{ chatId: string; notice: TelegramNotice }> },
  ): Promise<boolean> {
    requireTimes(now);
    return this.#db.transaction(async (x) => {
      const insert = sql`INSERT INTO alert_episodes (business_id, kind, subject, opened_at) VALUES (${[this.#b, episode.kind, episode.subject.slice(0, 191), now]})`;
      if (!(await this.#insertOnce(x, insert))) throw new Rollback(false);
      await this.#insertEvents(x, effects.events ?? []);
      for (const message of effects.messages ?? []) {
        await x.run(sql`INSERT INTO telegram_messages (business_id, chat_id, notice, queued_at) VALUES (${[this.#b, message.chatId, JSON.stringify(message.notice), now]})`);
      }
      return true;
    });
  }

  async alertEpisodeOpen(episode: { kind: string; subject: string }): Promise<boolean> {
    const rows = await this.#select(EPISODE, sql`FROM alert_episodes a WHERE a.business_id = ${this.#b} AND a.kind = ${episode.kind} AND a.subject = ${episode.subject.slice(0, 191)}`);
    return rows.length > 0;
  }

  async closeAlertEpisode(episode: { kind: string; subject: string }): Promise<boolean> {
    return this.#changedOne(sql`DELETE FROM alert_episodes WHERE business_id = ${this.#b} AND kind = ${episode.kind} AND subject = ${episode.subject.slice(0, 191)}`);
  }

  async alertCursor(): Promise<number> {
    return this.#db.transaction(async (x) => {
      // The first time: from the business's newest event on, so that its history is not alerted all at once.
      await x.run(sql`INSERT ${raw(this.#db.schema.insertOrIgnore)} INTO alert_cursors (business_id, alert_seq)
            SELECT ${this.#b}, COALESCE(MAX(e.seq), 0) FROM events e WHERE e.business_id = ${this.#b}`);
      return (await x.first(ALERT_SEQ, sql`FROM alert_cursors a WHERE a.business_id = ${this.#b}`))?.alertSeq ?? 0;
    });
  }

  async moveAlertCursor(from: number, to: number): Promise<boolean> {
    return this.#changedOne(sql`UPDATE alert_cursors SET alert_seq = ${to} WHERE business_id = ${this.#b} AND alert_seq = ${from}`);
  }

  async lastTopUpId(): Promise<number> {
    return (await this.#select(LAST_TOP_UP, sql`FROM ledger l WHERE l.business_id = ${this.#b} AND l.kind = 'topup'`))[0]?.id ?? 0;
  }

  async waitingForPersonSince(before: Date, limit: number): Promise<StoredReview[]> {
    requireTimes(before);
    const count = limitOf(limit);
    if (count === 0) return [];
    // Since it came to wait: its latest review.needs_approval event (a review answered and waiting again counts anew).
    const rows = await this.#select(
      REVIEW,
      sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state = 'needs_approval'
          AND (SELECT MAX(e.at) FROM events e WHERE e.business_id = r.business_id AND e.review_id = r.id AND e.type = 'review.needs_approval') <= ${before}
          ORDER BY r.created_at, r.id LIMIT ${count}`,
    );
    return rows.map(toReview);
  }

  // A message being sent has outcome 'sending' and, in sent_at, the end of its sender's claim.
  async queuedTelegramMessages(now: Date, limit: number): Promise<QueuedTelegramMessage[]> {
    requireTimes(now);
    const count = limitOf(limit);
    if (count === 0) return [];
    const rows = await this.#select(
      QUEUED,
      sql`FROM telegram_messages m WHERE m.sent_at IS NULL OR (m.outcome = 'sending' AND m.sent_at <= ${now}) ORDER BY m.id LIMIT ${count}`,
    );
    return rows.map((row) => ({ id: row.id, chatId: row.chatId, notice: JSON.parse(row.notice) as TelegramNotice }));
  }

  async claimTelegramMessage(id: number, now: Date, until: Date): Promise<boolean> {
    requireTimes(now, until);
    return this.#changedOne(
      sql`UPDATE telegram_messages SET outcome = 'sending', sent_at = ${until}
          WHERE id = ${id} AND (sent_at IS NULL OR (outcome = 'sending' AND sent_at <= ${now}))`,
    );
  }

  async sentTelegramMessages(chatId: string, since: Date): Promise<{ count: number; last: Date | null }> {
    requireTimes(since);
    const [row] = await this.#select(SENT, sql`FROM telegram_messages m WHERE m.chat_id = ${chatId} AND m.outcome = 'sent' AND m.sent_at >= ${since}`);
    return { count: row?.count ?? 0, last: row?.last ?? null };
  }

  async finishTelegramMessage(id: number, now: Date, outcome: 'sent' | 'refused' | 'retry'): Promise<void> {
    requireTimes(now);
    const change = outcome === 'retry' ? sql`sent_at = NULL, outcome = NULL` : sql`sent_at = ${now}, outcome = ${outcome}`;
    await this.#db.autocommit((x) => x.run(sql`UPDATE telegram_messages SET ${change} WHERE id = ${id} AND outcome = 'sending'`));
  }

  // ------------------------------------------------------------ insight (stats, report, branches, complaints)
  // Read through schema v9's indexes: reviews_created_branch for a period's reviews, review_topics_created and
  // review_topics_branch_topic for topics, the complaints primary key for a topic's windows.

  async reviewBranches(): Promise<Branch[]> {
    const [reviewed, listed] = await Promise.all([this.#select(BRANCH, sql`FROM reviews r WHERE r.business_id = ${this.#b} GROUP BY r.branch_id`), this.branchListings()]);
    const known = new Map(reviewed.map((branch) => [branch.id, branch]));
    // The name 2GIS lists the branch under now, before the one its reviews were taken in with.
    for (const listing of listed) known.set(listing.branchId, { id: listing.branchId, name: listing.name || known.get(listing.branchId)?.name || '' });
    return [...known.values()];
  }

  async periodReviews(query: FactQuery, limit: number): Promise<PeriodReview[]> {
    const count = limitOf(limit);
    if (count === 0) return [];
    const rows = await this.#select(PERIOD_REVIEW, sql`FROM reviews r ${period('r', this.#b, query)} ORDER BY r.created_at DESC, r.id DESC LIMIT ${count}`);
    return rows.map(({ answerText, sentBy, postedAt, charged, ...row }) => ({
      review: toReview(row),
      answerText,
      sentBy: sentBy === 'person' ? 'person' : sentBy === 'gisbot' ? 'gisbot' : null,
      postedAt,
      charged,
    }));
  }

  async ratingCounts(query: FactQuery): Promise<RatingCount[]> {
    return this.#select(RATING_COUNT, sql`FROM reviews r ${period('r', this.#b, query)} GROUP BY r.branch_id, r.rating`);
  }

  async waitingForPerson(limitPerBranch: number): Promise<WaitingBranch[]> {
    const count = limitOf(limitPerBranch);
    return this.#db.autocommit(async (x) => {
      const counts = await x.all(WAITING_COUNT, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state = 'needs_approval' GROUP BY r.branch_id`);
      const waiting: WaitingBranch[] = [];
      for (const { branchId, reviews } of counts) {
        const oldest = count === 0 ? [] : await x.all(REVIEW, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.state = 'needs_approval' AND r.branch_id = ${branchId}
              ORDER BY r.created_at, r.id LIMIT ${count}`);
        waiting.push({ branchId, count: reviews, oldest: oldest.map(toReview) });
      }
      return waiting;
    });
  }

  async saveBranchListing(listing: BranchListing): Promise<void> {
    const { branchId, name, rating, reviewsCount, readAt } = listing;
    requireTimes(readAt);
    const values: Value[] = [this.#b, branchId, name, rating === null ? null : rating.toFixed(2), reviewsCount, readAt];
    await this.#db.autocommit((x) =>
      x.run(sql`INSERT INTO branch_listings (business_id, branch_id, name, rating, reviews_count, read_at) VALUES (${values})
            ${this.#db.upsert('business_id, branch_id', ['name', 'rating', 'reviews_count', 'read_at'])}`),
    );
  }

  async branchListings(): Promise<BranchListing[]> {
    const rows = await this.#select(LISTING, sql`FROM branch_listings b WHERE b.business_id = ${this.#b} ORDER BY b.branch_id`);
    return rows.map((row) => ({ ...row, rating: row.rating === null ? null : Number(row.rating) }));
  }

  async reviewFacts(query: FactQuery): Promise<BranchFacts[]> {
    const where = period('r', this.#b, query);
    const [rows, minutes, decisions] = await this.#db.autocommit(async (x) => [
      await x.all(FACTS, sql`FROM reviews r ${where} GROUP BY r.branch_id`),
      await x.all(ANSWER_MINUTES, sql`FROM reviews r ${where} AND r.state = 'posted' AND r.answer_minutes IS NOT NULL GROUP BY r.branch_id, r.answer_minutes`),
      await x.all(DECISION_COUNTS, sql`FROM draft_decisions d JOIN reviews r ON r.business_id = d.business_id AND r.id = d.review_id ${where}
            GROUP BY r.branch_id`),
    ] as const);
    const decided = new Map(decisions.map(({ branchId, ...counts }) => [branchId, counts]));
    const none = { untouched: 0, edited: 0, rewritten: 0, regenerated: 0, changedPermille: 0 };
    const byBranch = new Map<string, Array<[number, number]>>();
    for (const { branchId, minutes: value, answers } of minutes) byBranch.set(branchId, [...(byBranch.get(branchId) ?? []), [value, answers]]);
    return rows.map(({ costUnits, ...row }) => ({
      ...row,
      costUnits: BigInt(Math.round(Number(costUnits ?? 0))),
      answerMinutes: byBranch.get(row.branchId) ?? [],
      ...(decided.get(row.branchId) ?? none),
    }));
  }

  async topicCounts(query: FactQuery & { maxRating: number }): Promise<TopicCount[]> {
    return this.#select(TOPIC_COUNT, sql`FROM review_topics t ${period('t', this.#b, query)} AND t.rating <= ${query.maxRating} GROUP BY t.branch_id, t.topic, t.label`);
  }

  async saveTopics(reviewId: string, topics: readonly Topic[]): Promise<boolean> {
    if (topics.length === 0) return false;
    // One statement, on the answering path of every review: nothing when the review is unknown or has topics already.
    const labels = join(
      topics.map((topic, i) => (i === 0 ? sql`SELECT ${topic.key} AS topic, ${topic.label} AS label` : sql`SELECT ${topic.key}, ${topic.label}`)),
      ' UNION ALL ',
    );
    const insert = sql`INSERT INTO review_topics (business_id, review_id, topic, label, branch_id, rating, created_at)
      SELECT r.business_id, r.id, k.topic, k.label, r.branch_id, r.rating, r.created_at FROM reviews r JOIN (${labels}) k ON 1 = 1
      WHERE r.business_id = ${this.#b} AND r.id = ${reviewId}
        AND NOT EXISTS (SELECT 1 FROM review_topics t WHERE t.business_id = ${this.#b} AND t.review_id = ${reviewId})`;
    return this.#db.autocommit(async (x) => {
      try {
        return (await x.run(insert)) > 0;
      } catch (error) {
        // Another draft of the same review kept its topics a moment ago.
        if (this.#db.isDuplicate(error)) return false;
        throw error;
      }
    });
  }

  async topicHistory(query: { branchId: string; topic: string; from: Date; to: Date; maxRating: number }): Promise<TopicHistory> {
    const { branchId, topic, from, to, maxRating } = query;
    requireTimes(from, to);
    return this.#db.autocommit(async (x) => ({
      reviews: await x.all(TOPIC_REVIEW, sql`FROM review_topics t WHERE t.business_id = ${this.#b} AND t.branch_id = ${branchId} AND t.topic = ${topic} AND t.rating <= ${maxRating}
          AND t.created_at >= ${from} AND t.created_at <= ${to} ORDER BY t.created_at, t.review_id`),
      complaints: (
        await x.all(COMPLAINT, sql`FROM complaints c WHERE c.business_id = ${this.#b} AND c.branch_id = ${branchId} AND c.topic = ${topic} AND c.window_from <= ${to} AND c.window_to >= ${from}`)
      ).map((row): ComplaintWindow => ({ from: row.windowFrom, to: row.windowTo })),
    }));
  }

  async recordComplaint(complaint: ComplaintWindow & { branchId: string; topic: string }, events: readonly DomainEvent[]): Promise<boolean> {
    const { branchId, topic, from, to } = complaint;
    requireTimes(from, to);
    return this.#db.transaction(async (x) => {
      const values: Value[] = [this.#b, branchId, topic, from, to, new Date()];
      const insert = sql`INSERT INTO complaints (business_id, branch_id, topic, window_from, window_to, recorded_at) VALUES (${values})`;
      // The window is recorded already: another worker counted the same reviews a moment ago.
      if (!(await this.#insertOnce(x, insert))) throw new Rollback(false);
      await this.#insertEvents(x, events);
      return true;
    });
  }

  // ------------------------------------------------------------ the owner's voice

  async keepVoiceExamples(examples: readonly VoiceExample[]): Promise<number> {
    let kept = 0;
    for (const example of examples) {
      requireTimes(example.at);
      const values: Value[] = [
        this.#b, example.reviewId, example.branchId, example.rating, example.reviewText, example.answerText, example.weight, example.at,
      ];
      const statement = sql`INSERT ${raw(this.#db.schema.insertOrIgnore)} INTO voice_examples
            (business_id, review_id, branch_id, rating, review_text, answer_text, weight, at) VALUES (${values})`;
      kept += await this.#db.autocommit((x) => x.run(statement));
    }
    return kept;
  }

  async voiceExamples(query: { branchId: string; limit: number; excludeReviewId?: string; embeddingModel?: string }): Promise<StoredVoiceExample[]> {
    const exclude = query.excludeReviewId === undefined ? empty : sql` AND v.review_id <> ${query.excludeReviewId}`;
    const rows = await this.#select(
      VOICE_EXAMPLE,
      sql`FROM voice_examples v WHERE v.business_id = ${this.#b}${exclude}
            AND NOT EXISTS (SELECT 1 FROM events e WHERE e.business_id = v.business_id AND e.review_id = v.review_id AND e.type = 'reply.removed')
          ORDER BY CASE WHEN v.branch_id = ${query.branchId} THEN 0 ELSE 1 END, v.at DESC, v.review_id DESC LIMIT ${limitOf(query.limit)}`,
    );
    return rows.map(({ embeddingModel, vector, ...row }) => ({
      ...row,
      weight: row.weight as VoiceWeight,
      vector: query.embeddingModel !== undefined && embeddingModel === query.embeddingModel ? decodeVector(vector) : null,
    }));
  }

  async recordDecision(decision: DraftDecision): Promise<void> {
    requireTimes(decision.at);
    const permille = decision.share === null ? null : Math.round(Math.min(1, Math.max(0, decision.share)) * 1000);
    const values: Value[] = [this.#b, decision.reviewId, decision.branchId, decision.kind, permille, decision.at];
    await this.#db.autocommit((x) =>
      x.run(sql`INSERT INTO draft_decisions (business_id, review_id, branch_id, kind, changed_permille, decided_at) VALUES (${values})`),
    );
  }

  async saveVoiceVectors(model: string, vectors: ReadonlyArray<{ reviewId: string; vector: readonly number[] }>): Promise<void> {
    for (const { reviewId, vector } of vectors) {
      await this.#db.autocommit((x) =>
        x.run(sql`UPDATE voice_examples SET embedding_model = ${model}, vector = ${JSON.stringify(vector)}
              WHERE business_id = ${this.#b} AND review_id = ${reviewId}`),
      );
    }
  }

  // ------------------------------------------------------------ the owner's complaints about reviews

  async reviewComplaint(reviewId: string): Promise<ReviewComplaint | null> {
    const row = (await this.#select(REVIEW_COMPLAINT, sql`FROM review_complaints q WHERE q.business_id = ${this.#b} AND q.review_id = ${reviewId}`))[0];
    return row === undefined ? null : toReviewComplaint(row);
  }

  async beginComplaint(
    complaint: { reviewId: string; reason: string; notAClient: boolean }, token: string, now: Date, leaseUntil: Date, holdUntil: Date,
  ): Promise<boolean> {
    requireTimes(now, leaseUntil, holdUntil);
    const { reviewId, reason, notAClient } = complaint;
    return this.#db.transaction(async (x) => {
      // The review row first (the lock order): a worker claiming it now either sees it complained about or has it.
      const review = await x.first(REVIEW, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${reviewId}${this.#db.lockRows}`);
      if (review === undefined) throw new Rollback(false);
      const waits = ['new', 'needs_approval', 'failed'].includes(review.state);
      const values: Value[] = [
        this.#b, reviewId, 'sending', reason, notAClient ? 1 : 0, token, leaseUntil, holdUntil, 1,
        waits ? review.state : null, waits ? review.reason : null, waits ? review.reasonCode : null, now, now,
      ];
      const insert = sql`INSERT INTO review_complaints (business_id, review_id, state, reason, not_a_client, claim_token, lease_until, read_back_after, attempts,
        prior_state, prior_reason, prior_reason_code, created_at, updated_at) VALUES (${values})`;
      if (!(await this.#insertOnce(x, insert))) throw new Rollback(false);
      if (waits) {
        await x.run(sql`UPDATE reviews SET state = 'skipped', reason = ${COMPLAINED}, reason_code = 'complained', reserved = 0, claim_token = NULL, lease_until = NULL,
              updated_at = ${now} WHERE business_id = ${this.#b} AND id = ${reviewId} AND state IN ${COMPLAINABLE_WAITING}`);
        if (review.reserved !== 0n) await x.run(sql`UPDATE business_accounts SET reserved = reserved - ${review.reserved} WHERE business_id = ${this.#b}`);
      }
      return true;
    });
  }

  async takeOverComplaint(reviewId: string, staleToken: string | null, token: string, now: Date, leaseUntil: Date): Promise<boolean> {
    requireTimes(now, leaseUntil);
    const held = staleToken === null ? sql`claim_token IS NULL` : sql`claim_token = ${staleToken}`;
    return this.#changedOne(sql`UPDATE review_complaints SET claim_token = ${token}, lease_until = ${leaseUntil}, updated_at = ${now}
          WHERE business_id = ${this.#b} AND review_id = ${reviewId} AND state IN ('sending', 'outcome_unknown') AND ${held}`);
  }

  async resendComplaint(reviewId: string, token: string, now: Date, holdUntil: Date): Promise<boolean> {
    requireTimes(now, holdUntil);
    return this.#changedOne(sql`UPDATE review_complaints SET state = 'sending', attempts = attempts + 1, read_back_after = ${holdUntil}, updated_at = ${now}
          WHERE business_id = ${this.#b} AND review_id = ${reviewId} AND claim_token = ${token} AND lease_until > ${now} AND state IN ('sending', 'outcome_unknown')`);
  }

  async finishComplaint(reviewId: string, token: string, state: 'sent' | 'outcome_unknown', events: readonly DomainEvent[]): Promise<boolean> {
    const now = new Date();
    return this.#db.transaction(async (x) => {
      // A complaint that is out there is recorded whoever sees it first, and announced once.
      const which = state === 'sent' ? sql`state <> 'sent'` : sql`claim_token = ${token} AND state IN ('sending', 'outcome_unknown')`;
      const changed = await x.run(sql`UPDATE review_complaints SET state = ${state}, claim_token = NULL, lease_until = NULL, updated_at = ${now}
            ${state === 'sent' ? sql`, sent_at = ${now}` : empty} WHERE business_id = ${this.#b} AND review_id = ${reviewId} AND ${which}`);
      if (changed !== 1) throw new Rollback(false);
      await this.#insertEvents(x, events);
      return true;
    });
  }

  async dropComplaint(reviewId: string, token: string): Promise<boolean> {
    return this.#db.transaction(async (x) => {
      const mine = sql`q.business_id = ${this.#b} AND q.review_id = ${reviewId} AND q.claim_token = ${token} AND q.state IN ('sending', 'outcome_unknown')`;
      // The review row first (the lock order), then the complaint's.
      await x.first(ID, sql`FROM reviews r WHERE r.business_id = ${this.#b} AND r.id = ${reviewId}${this.#db.lockRows}`);
      const prior = await x.first(COMPLAINT_PRIOR, sql`FROM review_complaints q WHERE ${mine}${this.#db.lockRows}`);
      if (prior === undefined) throw new Rollback(false);
      await x.run(sql`DELETE FROM review_complaints WHERE business_id = ${this.#b} AND review_id = ${reviewId} AND claim_token = ${token}`);
      if (prior.priorState !== null) {
        await x.run(sql`UPDATE reviews SET state = ${prior.priorState}, reason = ${prior.priorReason}, reason_code = ${prior.priorReasonCode},
              updated_at = ${new Date()} WHERE business_id = ${this.#b} AND id = ${reviewId} AND state = 'skipped' AND ${raw(complainedRow(''))}`);
      }
      return true;
    });
  }
}
