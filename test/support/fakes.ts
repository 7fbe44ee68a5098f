// Hand-written fakes of the core's ports, for fast unit tests of the pipeline.
import { randomUUID } from 'node:crypto';
import { COMPLAINED, isComplained } from '../../src/core/ports.ts';
import type { PipelineDeps, PipelineSettings } from '../../src/core/pipeline.ts';
import { leastRecentlyUsed } from '../../src/core/drafting/templates.ts';
import type {
  ClaimPrice,
  BalanceSnapshot,
  Branch,
  BranchListing,
  PeriodReview,
  RatingCount,
  WaitingBranch,
  BranchFacts,
  BranchIntake,
  ChatMessage,
  ComplaintWindow,
  Clock,
  Completion,
  CompletionOptions,
  DialogueEntry,
  DomainEvent,
  DraftRecord,
  EventQuery,
  FollowUp,
  FollowUpOutcome,
  LedgerEntry,
  ListedReview,
  Logger,
  Model,
  ModerationVerdict,
  PromptVersion,
  ReleaseOutcome,
  ReserveResult,
  ReviewRecord,
  ReviewComment,
  ReviewPage,
  ReviewStatus,
  Store,
  BindResult,
  BusinessBinding,
  BusinessRecord,
  CycleStatus,
  StoredEvent,
  StoredFollowUp,
  StoredReview,
  TelegramCard,
  TelegramNotice,
  TelegramCardBody,
  TelegramUpdate,
  Topic,
  TopicCount,
  TopicHistory,
  StoredVoiceExample,
  DraftDecision,
  VoiceExample,
  TwoGis,
  ComplaintOnTwoGis,
  ReviewComplaint,
  WaitingReview,
} from '../../src/core/ports.ts';
import { WAITING_FOR_PERSON } from '../../src/core/ports.ts';
import type { Kopecks } from '../../src/core/money/money.ts';
import { ANSWER_REMOVED } from '../../src/core/ports.ts';
import type { ReasonCode } from '../../src/core/ports.ts';

export class MemoryStore implements Store {
  reviews = new Map<string, StoredReview>();
  balance: Kopecks = 0n;
  reserved: Kopecks = 0n;
  ledgerEntries: LedgerEntry[] = [];
  events: StoredEvent[] = [];
  outbox: string[] = [];
  /** Unacknowledged sends and hold-backs of outbox events, by id. */
  deferred = new Map<string, { attempts: number; retryAt: Date }>();
  prompts: PromptVersion[] = [];
  followUps = new Map<string, StoredFollowUp>();
  history: Array<DialogueEntry & { authorId: string; reviewId: string }> = [];
  /** When a sent answer or comment may be read back, by review or comment id (Store.beginPosting). */
  readBackAfter = new Map<string, Date>();
  branches = new Map<string, BranchIntake>();
  /** When each posted answer is due for its recheck (Store.settlePosted's recheckAt); claimed ones are gone. */
  rechecks = new Map<string, Date>();
  /** What the current answer of each review was charged, until it is removed. */
  answerCharges = new Map<string, Kopecks>();
  /** Answers of ours 2GIS removed, per review. */
  removals = new Map<string, number>();

  readonly businessId: string;
  /** The deployment's: every business's store of one MemoryStore family shares them. */
  readonly #family: { stores: Map<string, MemoryStore>; records: Map<string, BusinessRecord> };

  constructor(businessId = 'default', family?: MemoryStore['familyOf']) {
    this.businessId = businessId;
    this.#family = family ?? { stores: new Map(), records: new Map() };
    this.#family.stores.set(businessId, this);
  }

  get familyOf() {
    return this.#family;
  }

  forBusiness(businessId: string): MemoryStore {
    return this.#family.stores.get(businessId) ?? new MemoryStore(businessId, this.#family);
  }

  async bindAccount(account: BusinessBinding): Promise<BindResult> {
    const mine = this.#family.records.get(this.businessId);
    if (mine?.binding) return mine.binding.userId === account.userId ? { kind: 'bound' } : { kind: 'other', bound: mine.binding };
    const holder = [...this.#family.records.values()].find((record) => record.binding?.userId === account.userId);
    if (holder) return { kind: 'taken', businessId: holder.id };
    this.#family.records.set(this.businessId, { id: this.businessId, lastCycleAt: null, lastStatus: null, ...mine, binding: { ...account } });
    return { kind: 'bound' };
  }

  async businessRecord() {
    return this.#family.records.get(this.businessId) ?? null;
  }

  async businessRecords() {
    return [...this.#family.records.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  async recordCycle(at: Date, status: CycleStatus) {
    const mine = this.#family.records.get(this.businessId);
    this.#family.records.set(this.businessId, { id: this.businessId, binding: null, ...mine, lastCycleAt: at, lastStatus: status });
  }

  /** The fake keeps no deployment settings: every currency is kept (the SQL stores are tested for the refusal). */
  async keepCurrency(_code: string): Promise<{ kind: 'kept' }> {
    return { kind: 'kept' };
  }

  /** Each token's record, by business and fingerprint. */
  readonly tokens = new Map<string, { firstUsedAt: Date; lastUsedAt: Date }>();
  async noteAccessToken(fingerprint: string, at: Date) {
    const key = `${this.businessId} ${fingerprint}`;
    const was = this.tokens.get(key);
    const now = was === undefined ? { firstUsedAt: at, lastUsedAt: at } : { firstUsedAt: was.firstUsedAt, lastUsedAt: at > was.lastUsedAt ? at : was.lastUsedAt };
    this.tokens.set(key, now);
    return { ...now };
  }
  async accessTokenUse(fingerprint: string) {
    const found = this.tokens.get(`${this.businessId} ${fingerprint}`);
    return found === undefined ? null : { ...found };
  }

  async migrate() {}
  async ping() {}
  async close() {}

  async findKnownReviewIds(ids: readonly string[]) {
    return new Set(ids.filter((id) => this.reviews.has(id)));
  }
  async recordReview(review: ListedReview, state: StoredReview['state'], reason: string | null, events: readonly DomainEvent[], code: ReasonCode | null = null) {
    if (this.reviews.has(review.id)) return false;
    this.reviews.set(review.id, {
      id: review.id,
      branchId: review.branchId,
      branchName: review.branchName,
      rating: review.rating,
      text: review.text,
      authorId: review.authorId,
      authorName: review.authorName,
      createdAt: review.createdAt,
      state,
      reason,
      reasonCode: code,
      claimToken: null,
      leaseUntil: null,
      reserved: 0n,
      draftText: null,
      postAttempts: 0,
      answerId: null,
      failedTries: 0,
      retryAt: null,
    });
    this.history.push({ authorId: review.authorId ?? '', reviewId: review.id, role: 'reviewer', text: review.text, at: new Date(review.createdAt) });
    await this.appendEvents(events);
    return true;
  }
  async recordReviews(entries: readonly ReviewRecord[]) {
    const results: boolean[] = [];
    for (const entry of entries) results.push(await this.recordReview(entry.review, entry.state, entry.reason, entry.events, entry.code ?? null));
    return results;
  }
  async getReview(id: string) {
    const review = this.reviews.get(id);
    return review ? { ...review } : null;
  }
  async branchIntakes(branchIds: readonly string[]) {
    return new Map(branchIds.filter((id) => this.branches.has(id)).map((id) => [id, { ...this.branches.get(id)! }]));
  }
  async saveBranchIntake(branchId: string, change: Partial<BranchIntake>) {
    this.branches.set(branchId, { sweptAt: null, backlog: null, ...this.branches.get(branchId), ...change });
  }
  /** When each review waiting for a person was last seen unanswered on 2GIS (Store.markReviewsChecked). */
  checked = new Map<string, Date>();
  async waitingReviews(query: { ids?: readonly string[]; limit: number }): Promise<WaitingReview[]> {
    const wanted = query.ids === undefined ? null : new Set(query.ids);
    return [...this.reviews.values()]
      .filter((review) => (WAITING_FOR_PERSON as readonly string[]).includes(review.state) && (wanted === null || wanted.has(review.id)))
      .map((review) => ({ id: review.id, branchId: review.branchId, createdAt: review.createdAt, state: review.state, checkedAt: this.checked.get(review.id) ?? null }))
      .sort((a, b) => (a.checkedAt?.getTime() ?? -1) - (b.checkedAt?.getTime() ?? -1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, query.limit);
  }
  async markReviewsChecked(ids: readonly string[], at: Date) {
    for (const id of ids) {
      const review = this.reviews.get(id);
      if (review && (WAITING_FOR_PERSON as readonly string[]).includes(review.state)) this.checked.set(id, new Date(at));
    }
  }
  async claimNext(token: string, _now: Date, leaseUntil: Date, priceOf: ClaimPrice) {
    const next = [...this.reviews.values()]
      .filter((review) => review.state === 'new')
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    if (!next) return null;
    const price = typeof priceOf === 'function' ? priceOf({ ...next }) : priceOf;
    if (next.reserved === 0n && price > 0n) {
      if (this.balance - this.reserved < price) return 'insufficient' as const;
      this.reserved += price;
      next.reserved = price;
    }
    Object.assign(next, { state: 'claimed', claimToken: token, leaseUntil });
    return { ...next };
  }
  async claimReview(reviewId: string, token: string, _now: Date, leaseUntil: Date) {
    const review = this.reviews.get(reviewId);
    if (!review || !(['new', 'needs_approval', 'failed'].includes(review.state) || isComplained(review))) return null;
    Object.assign(review, { state: 'claimed', claimToken: token, leaseUntil });
    return { ...review };
  }
  async claimStale(token: string, now: Date, leaseUntil: Date) {
    const stale = [...this.reviews.values()].find(
      (review) => ['claimed', 'drafted', 'posting'].includes(review.state) && review.leaseUntil! <= now && this.#readBackDue(review.id, review.state, now),
    );
    if (!stale) return null;
    Object.assign(stale, { claimToken: token, leaseUntil });
    return { ...stale };
  }
  #readBackDue(id: string, state: string, now: Date): boolean {
    const after = this.readBackAfter.get(id);
    return state !== 'posting' || after === undefined || after <= now;
  }
  async listInFlight() {
    return [...this.reviews.values()]
      .filter((review) => ['claimed', 'drafted', 'posting'].includes(review.state) && review.claimToken !== null)
      .map((review) => ({ id: review.id, claimToken: review.claimToken! }));
  }
  async reserve(reviewId: string, token: string, price: Kopecks): Promise<ReserveResult> {
    const review = this.reviews.get(reviewId);
    if (review?.claimToken !== token) return 'lost';
    if (review.reserved > 0n || price === 0n) return 'reserved';
    if (this.balance - this.reserved < price) return 'insufficient';
    this.reserved += price;
    review.reserved = price;
    return 'reserved';
  }
  async saveDraft(reviewId: string, token: string, draft: DraftRecord) {
    const review = this.reviews.get(reviewId);
    if (review?.claimToken !== token) return false;
    Object.assign(review, { state: 'drafted', draftText: draft.text, template: draft.template ?? null, postAfter: null });
    return true;
  }
  async scheduleDraft(reviewId: string, token: string, postAfter: Date) {
    const review = this.reviews.get(reviewId);
    if (review?.claimToken !== token || review.state !== 'drafted') return false;
    Object.assign(review, { postAfter, claimToken: null, leaseUntil: postAfter });
    return true;
  }
  /** Per template set, each place's last use (a sequence number). */
  templateUses = new Map<string, Map<number, number>>();
  #templateSeq = 0;
  async takeTemplate(templateSet: string, count: number) {
    const uses = this.templateUses.get(templateSet) ?? new Map<number, number>();
    this.templateUses.set(templateSet, uses);
    const position = leastRecentlyUsed(count, uses);
    uses.set(position, ++this.#templateSeq);
    return position;
  }
  async beginPosting(reviewId: string, token: string, now: Date, holdUntil: Date) {
    const review = this.reviews.get(reviewId);
    if (review?.claimToken !== token || !(review.leaseUntil! > now)) return false;
    review.state = 'posting';
    this.readBackAfter.set(reviewId, holdUntil);
    review.postAttempts += 1;
    return true;
  }
  async relinquish(reviewId: string, token: string, at: Date) {
    const review = this.reviews.get(reviewId);
    if (review?.claimToken === token) Object.assign(review, { claimToken: null, leaseUntil: at });
  }
  async settlePosted(
    reviewId: string,
    answer: { answerId: string | null; text: string },
    events: (balanceAfter: Kopecks, charged: Kopecks, balanceBefore: Kopecks) => readonly DomainEvent[],
    recheckAt: Date | null = null,
  ) {
    const review = this.reviews.get(reviewId);
    if (review?.state !== 'posting') return null;
    if (recheckAt === null) this.rechecks.delete(reviewId);
    else this.rechecks.set(reviewId, recheckAt);
    this.answerCharges.set(reviewId, review.reserved);
    const charged = review.reserved;
    this.reserved -= charged;
    const before = this.balance;
    this.balance -= charged;
    this.ledgerEntries.push({ id: this.ledgerEntries.length + 1, at: new Date(), kind: 'charge', amount: -charged, balanceAfter: this.balance, reviewId, note: null });
    Object.assign(review, { state: 'posted', reserved: 0n, claimToken: null, leaseUntil: null, answerId: answer.answerId, draftText: answer.text });
    this.history.push({ authorId: review.authorId ?? '', reviewId, role: 'owner', text: answer.text, at: new Date() });
    await this.appendEvents(events(this.balance, charged, before));
    return { balance: this.balance, charged };
  }
  async claimAnswerRecheck(now: Date) {
    const due = [...this.rechecks].filter(([id, at]) => at <= now && this.reviews.get(id)?.state === 'posted').sort((a, b) => a[1].getTime() - b[1].getTime());
    const first = due[0];
    if (first === undefined) return null;
    this.rechecks.delete(first[0]);
    const review = this.reviews.get(first[0])!;
    return { reviewId: review.id, branchId: review.branchId, answerId: review.answerId, text: review.draftText ?? '' };
  }
  async recordAnswerRemoved(
    reviewId: string,
    answerId: string | null,
    refund: boolean,
    events: (refunded: Kopecks, balanceAfter: Kopecks) => readonly DomainEvent[],
  ) {
    const review = this.reviews.get(reviewId);
    if (review?.state !== 'posted' || review.answerId !== answerId) return null;
    Object.assign(review, { state: 'needs_approval', reason: ANSWER_REMOVED, reasonCode: 'answer_removed' });
    this.removals.set(reviewId, (this.removals.get(reviewId) ?? 0) + 1);
    const refunded = refund ? (this.answerCharges.get(reviewId) ?? 0n) : 0n;
    this.answerCharges.delete(reviewId);
    if (refunded > 0n) {
      this.balance += refunded;
      this.ledgerEntries.push({ id: this.ledgerEntries.length + 1, at: new Date(), kind: 'adjustment', amount: refunded, balanceAfter: this.balance, reviewId, note: 'refund' });
    }
    await this.appendEvents(events(refunded, this.balance));
    return { refunded };
  }
  async release(reviewId: string, token: string, outcome: ReleaseOutcome, events: readonly DomainEvent[]) {
    const review = this.reviews.get(reviewId);
    if (review?.claimToken !== token) return false;
    this.reserved -= review.reserved;
    Object.assign(review, { state: outcome.state, reason: outcome.reason, reasonCode: outcome.code ?? null, reserved: 0n, claimToken: null, leaseUntil: null, postAfter: null });
    if (outcome.state === 'failed' && outcome.retry === null) {
      this.failureSettings.delete(reviewId);
      review.retryAt = null;
    } else if (outcome.state === 'failed' && outcome.retry) {
      this.failureSettings.set(reviewId, outcome.retry.settings);
      Object.assign(review, { failedTries: outcome.retry.tries, retryAt: outcome.retry.at });
    }
    await this.appendEvents(events);
    return true;
  }
  /** The model settings each failed review that may be tried again failed under (Store.requeueFailed). */
  readonly failureSettings = new Map<string, string>();
  async requeueFailed(now: Date, settings: string) {
    let requeued = 0;
    for (const review of this.reviews.values()) {
      const failedUnder = this.failureSettings.get(review.id);
      if (review.state !== 'failed' || failedUnder === undefined) continue;
      if (!((review.retryAt != null && review.retryAt <= now) || failedUnder !== settings)) continue;
      Object.assign(review, { state: 'new', failedTries: failedUnder === settings ? review.failedTries : 0, retryAt: null });
      requeued += 1;
    }
    return requeued;
  }
  async appendEvents(events: readonly DomainEvent[]) {
    for (const event of events) {
      this.events.push({ ...event, seq: this.events.length + 1 });
      this.outbox.push(event.id);
    }
  }
  async listEvents(query: EventQuery) {
    return this.events
      .filter((event) => (!query.type || event.type === query.type) && (!query.reviewId || event.reviewId === query.reviewId))
      .filter((event) => query.afterSeq === undefined || event.seq > query.afterSeq)
      .slice(...(query.afterSeq === undefined ? [-query.limit] : [0, query.limit]));
  }
  async pendingOutbox(limit: number, dueAt?: Date) {
    return this.outbox
      .filter((id) => dueAt === undefined || (this.deferred.get(id)?.retryAt ?? dueAt) <= dueAt)
      .slice(0, limit)
      .map((id) => ({ ...this.events.find((event) => event.id === id)!, attempts: this.deferred.get(id)?.attempts ?? 0, retryAt: this.deferred.get(id)?.retryAt ?? null }));
  }
  async markDelivered(ids: readonly string[]) {
    this.outbox = this.outbox.filter((id) => !ids.includes(id));
    for (const id of ids) this.deferred.delete(id);
  }
  async deferDelivery(entries: readonly { id: string; retryAt: Date }[]) {
    for (const { id, retryAt } of entries) {
      if (this.outbox.includes(id)) this.deferred.set(id, { attempts: (this.deferred.get(id)?.attempts ?? 0) + 1, retryAt });
    }
  }
  async outboxStatus() {
    const due = this.outbox.map((id) => this.deferred.get(id)?.retryAt.getTime() ?? 0);
    return { pending: this.outbox.length, nextDueAt: due.length === 0 ? null : new Date(Math.min(...due)) };
  }
  async getBalance(): Promise<BalanceSnapshot> {
    return { balance: this.balance, reserved: this.reserved };
  }
  async topUp(amount: Kopecks) {
    this.balance += amount;
    this.ledgerEntries.push({ id: this.ledgerEntries.length + 1, at: new Date(), kind: 'topup', amount, balanceAfter: this.balance, reviewId: null, note: null });
    return this.getBalance();
  }
  async adjust(amount: Kopecks, note: string) {
    if (this.balance + amount < this.reserved || this.balance + amount < 0n) return null;
    this.balance += amount;
    this.ledgerEntries.push({ id: this.ledgerEntries.length + 1, at: new Date(), kind: 'adjustment', amount, balanceAfter: this.balance, reviewId: null, note });
    return this.getBalance();
  }
  async ledger() {
    return [...this.ledgerEntries].reverse();
  }
  async listReviewsInState(state: StoredReview['state'], limit: number) {
    return [...this.reviews.values()]
      .filter((review) => review.state === state)
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
      .slice(0, limit)
      .map((review) => ({ ...review }));
  }
  async listPromptVersions(limit: number) {
    return [...this.prompts].reverse().slice(0, limit);
  }
  async getPromptVersion(version: number) {
    return this.prompts.find((prompt) => prompt.version === version) ?? null;
  }
  async savePromptVersion(text: string) {
    const latest = this.prompts.at(-1);
    if (latest?.text === text) return latest;
    const version = { version: this.prompts.length + 1, text, createdAt: new Date() };
    this.prompts.push(version);
    return version;
  }
  async latestPrompt() {
    return this.prompts.at(-1) ?? null;
  }
  async dialogue(authorId: string | null, reviewId: string): Promise<DialogueEntry[]> {
    return this.history
      .filter((entry) => entry.authorId === (authorId ?? '') && entry.reviewId === reviewId)
      .map(({ role, text, at }) => ({ role, text, at }));
  }
  async recordFollowUp(followUp: FollowUp, events: readonly DomainEvent[]) {
    if (this.followUps.has(followUp.commentId)) return false;
    this.followUps.set(followUp.commentId, { ...followUp, state: 'new', reason: null, reasonCode: null, claimToken: null, leaseUntil: null, answerId: null, answerText: null });
    this.history.push({ authorId: followUp.authorId ?? '', reviewId: followUp.reviewId, role: 'reviewer', text: followUp.text, at: new Date(followUp.createdAt) });
    await this.appendEvents(events);
    return true;
  }
  async getFollowUp(commentId: string) {
    const followUp = this.followUps.get(commentId);
    return followUp ? { ...followUp } : null;
  }
  async claimFollowUp(token: string, now: Date, leaseUntil: Date) {
    const all = [...this.followUps.values()];
    const next =
      all.find(
        (followUp) => ['claimed', 'posting'].includes(followUp.state) && followUp.leaseUntil! <= now && this.#readBackDue(followUp.commentId, followUp.state, now),
      ) ??
      all.filter((followUp) => followUp.state === 'new').sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))[0];
    if (!next) return null;
    Object.assign(next, { state: next.state === 'new' ? 'claimed' : next.state, claimToken: token, leaseUntil });
    return { ...next };
  }
  async beginFollowUpPosting(commentId: string, token: string, now: Date, holdUntil: Date) {
    const followUp = this.followUps.get(commentId);
    if (followUp?.claimToken !== token || followUp.state !== 'claimed' || !(followUp.leaseUntil! > now)) return false;
    followUp.state = 'posting';
    this.readBackAfter.set(commentId, holdUntil);
    return true;
  }
  async finishFollowUp(commentId: string, token: string, outcome: FollowUpOutcome, events: readonly DomainEvent[]) {
    const followUp = this.followUps.get(commentId);
    if (followUp?.claimToken !== token || !['claimed', 'posting'].includes(followUp.state)) return false;
    if (outcome.state === 'posted') {
      Object.assign(followUp, { state: 'posted', reason: null, reasonCode: null, answerId: outcome.answerId, answerText: outcome.text });
      this.history.push({ authorId: followUp.authorId ?? '', reviewId: followUp.reviewId, role: 'owner', text: outcome.text, at: new Date() });
    } else {
      Object.assign(followUp, { state: outcome.state, reason: outcome.reason, reasonCode: outcome.code });
    }
    Object.assign(followUp, { claimToken: null, leaseUntil: null });
    await this.appendEvents(events);
    return true;
  }
  voice = new Map<string, StoredVoiceExample & { model: string | null }>();
  async keepVoiceExamples(examples: readonly VoiceExample[]) {
    let kept = 0;
    for (const example of examples) {
      if (this.voice.has(example.reviewId)) continue;
      this.voice.set(example.reviewId, { ...example, vector: null, model: null });
      kept += 1;
    }
    return kept;
  }
  async voiceExamples(query: { branchId: string; limit: number; excludeReviewId?: string; embeddingModel?: string }) {
    const removed = new Set(this.events.filter((event) => event.type === ('reply.removed' as string)).map((event) => event.reviewId));
    return [...this.voice.values()]
      .filter((example) => example.reviewId !== query.excludeReviewId && !removed.has(example.reviewId))
      .sort((a, b) => Number(b.branchId === query.branchId) - Number(a.branchId === query.branchId) || b.at.getTime() - a.at.getTime())
      .slice(0, query.limit)
      .map(({ model, ...example }) => ({ ...example, vector: model !== null && model === query.embeddingModel ? example.vector : null }));
  }
  decisions: DraftDecision[] = [];
  async recordDecision(decision: DraftDecision) {
    this.decisions.push(decision);
  }
  async saveVoiceVectors(model: string, vectors: ReadonlyArray<{ reviewId: string; vector: readonly number[] }>) {
    for (const { reviewId, vector } of vectors) {
      const example = this.voice.get(reviewId);
      if (example) Object.assign(example, { model, vector: [...vector] });
    }
  }
  async recentAnswers(branchId: string, limit: number) {
    return [...this.reviews.values()]
      .filter((review) => review.branchId === branchId && ['posting', 'posted'].includes(review.state) && review.draftText !== null)
      .map((review) => review.draftText!)
      .reverse()
      .slice(0, limit);
  }

  // insight: topics and complaint windows are kept; the period sums are the SQL stores' (test them there).
  topics = new Map<string, Topic[]>();
  complaints: Array<ComplaintWindow & { branchId: string; topic: string }> = [];
  async reviewBranches(): Promise<Branch[]> {
    throw new Error('the memory store sums no facts: use a SQLite store');
  }
  async periodReviews(): Promise<PeriodReview[]> {
    throw new Error('the memory store sums no facts: use a SQLite store');
  }
  async ratingCounts(): Promise<RatingCount[]> {
    throw new Error('the memory store sums no facts: use a SQLite store');
  }
  async waitingForPerson(): Promise<WaitingBranch[]> {
    throw new Error('the memory store sums no facts: use a SQLite store');
  }
  readonly listings = new Map<string, BranchListing>();
  async saveBranchListing(listing: BranchListing) {
    this.listings.set(listing.branchId, { ...listing });
  }
  async branchListings() {
    return [...this.listings.values()];
  }
  async reviewFacts(): Promise<BranchFacts[]> {
    throw new Error('the memory store sums no facts: use a SQLite store');
  }
  async topicCounts(): Promise<TopicCount[]> {
    throw new Error('the memory store sums no facts: use a SQLite store');
  }
  async saveTopics(reviewId: string, topics: readonly Topic[]) {
    if (topics.length === 0 || !this.reviews.has(reviewId) || this.topics.has(reviewId)) return false;
    this.topics.set(reviewId, [...topics]);
    return true;
  }
  async topicHistory(query: { branchId: string; topic: string; from: Date; to: Date; maxRating: number }): Promise<TopicHistory> {
    const reviews = [...this.topics]
      .map(([reviewId, topics]) => ({ review: this.reviews.get(reviewId)!, topics }))
      .filter(({ review, topics }) => review.branchId === query.branchId && review.rating <= query.maxRating && topics.some((t) => t.key === query.topic))
      .map(({ review }) => ({ reviewId: review.id, createdAt: new Date(review.createdAt) }))
      .filter(({ createdAt }) => createdAt >= query.from && createdAt <= query.to)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.reviewId.localeCompare(b.reviewId));
    const complaints = this.complaints.filter(
      (c) => c.branchId === query.branchId && c.topic === query.topic && c.from <= query.to && c.to >= query.from,
    );
    return { reviews, complaints: complaints.map(({ from, to }) => ({ from, to })) };
  }
  async recordComplaint(complaint: ComplaintWindow & { branchId: string; topic: string }, events: readonly DomainEvent[]) {
    const same = (c: typeof complaint) => c.branchId === complaint.branchId && c.topic === complaint.topic && c.from.getTime() === complaint.from.getTime();
    if (this.complaints.some(same)) return false;
    this.complaints.push(complaint);
    await this.appendEvents(events);
    return true;
  }

  /** The money invariants of invariants.md, against this fake. */
  checkInvariants(answersByUs: number, price: Kopecks = 500n) {
    const charges = this.ledgerEntries.filter((entry) => entry.kind === 'charge');
    const problems: string[] = [];
    if (this.balance < 0n) problems.push('negative balance');
    if (this.reserved !== 0n) problems.push(`reserve left: ${this.reserved}`);
    if (charges.reduce((sum, entry) => sum - entry.amount, 0n) !== price * BigInt(answersByUs)) problems.push('charges ≠ price × answers');
    if (new Set(charges.map((entry) => entry.reviewId)).size !== charges.length) problems.push('a review charged twice');
    const inFlight = [...this.reviews.values()].filter((review) => ['claimed', 'drafted', 'posting'].includes(review.state));
    if (inFlight.length > 0) problems.push(`in flight: ${inFlight.map((review) => review.id).join(',')}`);
    return problems;
  }

  // telegram (issue 15)
  cards = new Map<number, TelegramCard>();
  turn = { offset: 0, holder: null as string | null, until: 0 };
  telegramUpdates = new Map<number, { token: string; until: number; done: boolean; payload: TelegramUpdate; attempts: number; lastError: string | null }>();

  async reviewsWithoutCard(limit: number) {
    const carded = new Set([...this.cards.values()].map((card) => card.reviewId));
    return [...this.reviews.values()]
      .filter((review) => (review.state === 'needs_approval' || review.state === 'failed') && !carded.has(review.id))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
      .slice(0, limit)
      .map((review) => ({ ...review }));
  }
  async createTelegramCard(reviewId: string, body: TelegramCardBody) {
    if ([...this.cards.values()].some((card) => card.reviewId === reviewId)) return null;
    const card: TelegramCard = { id: this.cards.size + 1, reviewId, active: true, version: 1, body: structuredClone(body) };
    this.cards.set(card.id, card);
    return structuredClone(card);
  }
  async telegramCard(id: number) {
    const card = this.cards.get(id);
    return card ? structuredClone(card) : null;
  }
  async activeTelegramCards(limit: number) {
    return [...this.cards.values()].filter((card) => card.active).slice(0, limit).map((card) => structuredClone(card));
  }
  async saveTelegramCard(card: TelegramCard, body: TelegramCardBody, active: boolean) {
    const stored = this.cards.get(card.id);
    if (!stored || stored.version !== card.version) return false;
    this.cards.set(card.id, { ...stored, body: structuredClone(body), active, version: stored.version + 1 });
    return true;
  }
  async takeTelegramTurn(token: string, now: Date, until: Date) {
    if (this.turn.holder !== null && this.turn.holder !== token && this.turn.until > now.getTime()) return null;
    this.turn = { ...this.turn, holder: token, until: until.getTime() };
    return this.turn.offset;
  }
  async endTelegramTurn(token: string) {
    if (this.turn.holder === token) this.turn = { ...this.turn, holder: null, until: 0 };
  }
  async storeTelegramUpdates(updates: readonly TelegramUpdate[]) {
    for (const update of updates) {
      if (!this.telegramUpdates.has(update.updateId)) {
        this.telegramUpdates.set(update.updateId, { token: '', until: 0, done: false, payload: structuredClone(update), attempts: 0, lastError: null });
      }
      this.turn.offset = Math.max(this.turn.offset, update.updateId + 1);
    }
  }
  async pendingTelegramUpdates(now: Date, limit: number) {
    return [...this.telegramUpdates.entries()]
      .filter(([, known]) => !known.done && known.until <= now.getTime())
      .sort(([a], [b]) => a - b)
      .slice(0, limit)
      .map(([, known]) => structuredClone(known.payload));
  }
  async claimTelegramUpdate(updateId: number, token: string, now: Date, until: Date) {
    const known = this.telegramUpdates.get(updateId);
    if (!known || known.done || known.until > now.getTime()) return null;
    Object.assign(known, { token, until: until.getTime(), attempts: known.attempts + 1 });
    return { attempts: known.attempts, lastError: known.lastError };
  }
  async releaseTelegramUpdate(updateId: number, token: string, error: string) {
    const known = this.telegramUpdates.get(updateId);
    if (known?.token === token && !known.done) Object.assign(known, { token: '', until: 0, lastError: error });
  }
  async finishTelegramUpdate(updateId: number, token: string) {
    const known = this.telegramUpdates.get(updateId);
    if (known?.token === token) known.done = true;
  }
  async telegramCardOfReview(reviewId: string) {
    const card = [...this.cards.values()].find((one) => one.reviewId === reviewId);
    return card ? structuredClone(card) : null;
  }

  // the owner's panel
  episodes = new Set<string>();
  alertSeq: number | null = null;
  telegramMessages: Array<{ id: number; chatId: string; notice: TelegramNotice; sentAt: Date | null; outcome: string | null }> = [];
  async openAlertEpisode(
    episode: { kind: string; subject: string },
    now: Date,
    effects: { events?: readonly DomainEvent[]; messages?: ReadonlyArray<{ chatId: string; notice: TelegramNotice }> },
  ) {
    const key = `${episode.kind}\u0000${episode.subject}`;
    if (this.episodes.has(key)) return false;
    this.episodes.add(key);
    await this.appendEvents(effects.events ?? []);
    for (const message of effects.messages ?? []) {
      this.telegramMessages.push({ id: this.telegramMessages.length + 1, chatId: message.chatId, notice: structuredClone(message.notice), sentAt: null, outcome: null });
    }
    return true;
  }
  async alertEpisodeOpen(episode: { kind: string; subject: string }) {
    return this.episodes.has(`${episode.kind}\u0000${episode.subject}`);
  }
  async closeAlertEpisode(episode: { kind: string; subject: string }) {
    return this.episodes.delete(`${episode.kind}\u0000${episode.subject}`);
  }
  async alertCursor() {
    this.alertSeq ??= this.events.length;
    return this.alertSeq;
  }
  async moveAlertCursor(from: number, to: number) {
    if (this.alertSeq !== from) return false;
    this.alertSeq = to;
    return true;
  }
  async lastTopUpId() {
    return this.ledgerEntries.filter((entry) => entry.kind === 'topup').at(-1)?.id ?? 0;
  }
  async waitingForPersonSince(before: Date, limit: number) {
    const since = (id: string) => this.events.filter((event) => event.reviewId === id && event.type === 'review.needs_approval').at(-1)?.at;
    return [...this.reviews.values()]
      .filter((review) => review.state === 'needs_approval' && (since(review.id) ?? '9999') <= before.toISOString())
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .slice(0, limit)
      .map((review) => ({ ...review }));
  }
  async queuedTelegramMessages(now: Date, limit: number) {
    return this.telegramMessages
      .filter((message) => message.sentAt === null || (message.outcome === 'sending' && message.sentAt <= now))
      .slice(0, limit)
      .map(({ id, chatId, notice }) => ({ id, chatId, notice: structuredClone(notice) }));
  }
  async claimTelegramMessage(id: number, now: Date, until: Date) {
    const message = this.telegramMessages.find((one) => one.id === id);
    if (!message || !(message.sentAt === null || (message.outcome === 'sending' && message.sentAt <= now))) return false;
    Object.assign(message, { sentAt: until, outcome: 'sending' });
    return true;
  }
  async sentTelegramMessages(chatId: string, since: Date) {
    const sent = this.telegramMessages.filter((message) => message.chatId === chatId && message.outcome === 'sent' && message.sentAt! >= since);
    const last = sent.reduce<Date | null>((latest, message) => (latest === null || message.sentAt! > latest ? message.sentAt : latest), null);
    return { count: sent.length, last };
  }
  async finishTelegramMessage(id: number, now: Date, outcome: 'sent' | 'refused' | 'retry') {
    const message = this.telegramMessages.find((one) => one.id === id);
    if (message?.outcome !== 'sending') return;
    Object.assign(message, outcome === 'retry' ? { sentAt: null, outcome: null } : { sentAt: now, outcome });
  }
  // the owner's complaints about reviews
  ownerComplaints = new Map<string, ReviewComplaint & { prior: { state: StoredReview['state']; reason: string | null; reasonCode: ReasonCode | null } | null }>();
  async reviewComplaint(reviewId: string) {
    const complaint = this.ownerComplaints.get(reviewId);
    if (!complaint) return null;
    const { prior: _prior, ...rest } = complaint;
    return { ...rest };
  }
  async beginComplaint(complaint: { reviewId: string; reason: string; notAClient: boolean }, token: string, _now: Date, leaseUntil: Date, holdUntil: Date) {
    const review = this.reviews.get(complaint.reviewId);
    if (!review || this.ownerComplaints.has(complaint.reviewId)) return false;
    const waits = ['new', 'needs_approval', 'failed'].includes(review.state);
    this.ownerComplaints.set(complaint.reviewId, {
      ...complaint, state: 'sending', claimToken: token, leaseUntil, readBackAfter: holdUntil, attempts: 1,
      prior: waits ? { state: review.state, reason: review.reason, reasonCode: review.reasonCode ?? null } : null,
    });
    if (waits) {
      this.reserved -= review.reserved;
      Object.assign(review, { state: 'skipped', reason: COMPLAINED, reasonCode: 'complained', reserved: 0n, claimToken: null, leaseUntil: null });
    }
    return true;
  }
  async takeOverComplaint(reviewId: string, staleToken: string | null, token: string, _now: Date, leaseUntil: Date) {
    const complaint = this.ownerComplaints.get(reviewId);
    if (!complaint || complaint.state === 'sent' || complaint.claimToken !== staleToken) return false;
    Object.assign(complaint, { claimToken: token, leaseUntil });
    return true;
  }
  async resendComplaint(reviewId: string, token: string, now: Date, holdUntil: Date) {
    const complaint = this.ownerComplaints.get(reviewId);
    if (!complaint || complaint.state === 'sent' || complaint.claimToken !== token || complaint.leaseUntil! <= now) return false;
    Object.assign(complaint, { state: 'sending', attempts: complaint.attempts + 1, readBackAfter: holdUntil });
    return true;
  }
  async finishComplaint(reviewId: string, token: string, state: 'sent' | 'outcome_unknown', events: readonly DomainEvent[]) {
    const complaint = this.ownerComplaints.get(reviewId);
    if (!complaint) return false;
    if (state === 'sent' ? complaint.state === 'sent' : complaint.claimToken !== token) return false;
    Object.assign(complaint, { state, claimToken: null, leaseUntil: null });
    await this.appendEvents(events);
    return true;
  }
  async dropComplaint(reviewId: string, token: string) {
    const complaint = this.ownerComplaints.get(reviewId);
    if (!complaint || complaint.state === 'sent' || complaint.claimToken !== token) return false;
    this.ownerComplaints.delete(reviewId);
    const review = this.reviews.get(reviewId);
    if (review && complaint.prior && isComplained(review)) Object.assign(review, complaint.prior);
    return true;
  }
}

export function listed(overrides: Partial<ListedReview> & { id: string }): ListedReview {
  return {
    branchId: '70000001017466092',
    branchName: 'Кофейня',
    rating: 5,
    text: 'Всё понравилось',
    authorId: `user-${overrides.id}`,
    authorName: 'Анна',
    createdAt: new Date(Date.UTC(2025, 0, 1) + Number(overrides.id.replace(/\D/g, '') || 0) * 1000).toISOString(),
    editedAt: null,
    catalogId: '2gis',
    isHidden: false,
    canReply: true,
    hasOwnerAnswer: false,
    commentsCount: 0,
    ...overrides,
  };
}

/** A 2GIS of reviews in memory, newest first, paged by 50; answers can be scripted to fail. */
export class FakeTwoGis implements TwoGis {
  reviews: ListedReview[] = [];
  answers = new Map<string, { id: string; text: string; byUs: boolean }>();
  posts = new Map<string, number>();
  /** Comments under each review other than the official answer: the reviewer's follow-ups and ours. */
  comments = new Map<string, ReviewComment[]>();
  commentPosts = new Map<string, number>();
  commentFailure: ((reviewId: string) => Error | null) | null = null;
  postFailure: ((reviewId: string) => Error | null) | null = null;
  readFailure: Error | null = null;
  listFailure: Error | null = null;
  branches: Branch[] = [{ id: '70000001017466092', name: 'Кофейня' }];
  /** The complaints filed about each review, and every complaint POST made (whatever became of it). */
  complaints = new Map<string, ComplaintOnTwoGis[]>();
  complaintPosts = new Map<string, number>();
  /** Reviews 2GIS does not let the owner complain about (allowedActions.complain false). */
  noComplaints = new Set<string>();
  /** false: the complaints of a review cannot be read back (404/405). */
  complaintReadBack = true;
  /** An error thrown by a complaint POST; `stored` on it: the complaint landed before the error. */
  complaintFailure: ((reviewId: string) => Error | null) | null = null;

  async checkLogin() {}
  /** The cabinet account these credentials reach. */
  signedIn = { userId: 'user-1', login: 'owner@example.com' as string | null };
  async account() {
    return { ...this.signedIn };
  }
  async listBranches() {
    return this.branches;
  }
  async accountBranches() {
    return this.branches;
  }
  /** Each listing page asked for, in order: which branch, from where, and whether only the unanswered. */
  listings: Array<{ branchId: string; offsetDate: string | null; unanswered: boolean }> = [];
  /** Each review read alone, in order. */
  reads: string[] = [];
  async listReviews(branchId: string, offsetDate: string | null): Promise<ReviewPage> {
    return this.#page(branchId, offsetDate, false);
  }
  async listUnanswered(branchId: string, offsetDate: string | null): Promise<ReviewPage> {
    return this.#page(branchId, offsetDate, true);
  }
  #page(branchId: string, offsetDate: string | null, unanswered: boolean): ReviewPage {
    this.listings.push({ branchId, offsetDate, unanswered });
    if (this.listFailure) throw this.listFailure;
    const reviews = this.reviews
      .filter((review) => review.branchId === branchId)
      .map((review) => ({ ...review, hasOwnerAnswer: review.hasOwnerAnswer || this.answers.has(review.id) }))
      .filter((review) => !unanswered || !review.hasOwnerAnswer)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
      .filter((review) => offsetDate === null || Date.parse(review.createdAt) < Date.parse(offsetDate))
      .slice(0, 50);
    return { reviews, unreadable: [], cursor: reviews.at(-1)?.createdAt ?? null };
  }
  async readReview(reviewId: string): Promise<ReviewStatus | null> {
    this.reads.push(reviewId);
    if (this.readFailure) throw this.readFailure;
    const review = this.reviews.find((candidate) => candidate.id === reviewId);
    if (!review) return null;
    const answer = this.answers.get(reviewId) ?? null;
    return {
      id: reviewId, rating: review.rating, hasOwnerAnswer: answer !== null || review.hasOwnerAnswer, ownerAnswer: answer,
      canComplain: !this.noComplaints.has(reviewId),
    };
  }
  async postComplaint(reviewId: string, complaint: { text: string; isNoClientComplaint: boolean }): Promise<'sent' | 'already'> {
    this.complaintPosts.set(reviewId, (this.complaintPosts.get(reviewId) ?? 0) + 1);
    const failure = this.complaintFailure?.(reviewId) ?? null;
    if (failure && !(failure as Error & { stored?: boolean }).stored) throw failure;
    const filed = this.complaints.get(reviewId) ?? [];
    if (filed.length > 0 && !failure) return 'already';
    this.complaints.set(reviewId, [...filed, { id: `complaint-${reviewId}`, ...complaint }]);
    if (failure) throw failure;
    return 'sent';
  }
  async listComplaints(reviewId: string) {
    return this.complaintReadBack ? [...(this.complaints.get(reviewId) ?? [])] : null;
  }
  async postAnswer(reviewId: string, text: string) {
    this.posts.set(reviewId, (this.posts.get(reviewId) ?? 0) + 1);
    const failure = this.postFailure?.(reviewId) ?? null;
    if (failure && !(failure as Error & { stored?: boolean }).stored) throw failure;
    const answer = { id: `answer-${reviewId}`, text, byUs: true };
    this.answers.set(reviewId, answer);
    const listedReview = this.reviews.find((candidate) => candidate.id === reviewId);
    if (listedReview) listedReview.commentsCount += 1;
    if (failure) throw failure;
    return { answerId: answer.id };
  }
  async listComments(reviewId: string): Promise<ReviewComment[]> {
    const answer = this.answers.get(reviewId);
    const official: ReviewComment[] = answer
      ? [{ id: answer.id, text: answer.text, isOfficialAnswer: true, author: null, createdAt: '2026-01-01T00:00:00.000Z' }]
      : [];
    return [...official, ...(this.comments.get(reviewId) ?? [])];
  }
  async postComment(reviewId: string, text: string) {
    this.commentPosts.set(reviewId, (this.commentPosts.get(reviewId) ?? 0) + 1);
    const failure = this.commentFailure?.(reviewId) ?? null;
    if (failure) throw failure;
    const comment: ReviewComment = { id: `ours-${reviewId}-${this.commentPosts.get(reviewId)}`, text, isOfficialAnswer: false, author: null, createdAt: new Date().toISOString() };
    this.comments.set(reviewId, [...(this.comments.get(reviewId) ?? []), comment]);
    const listedReview = this.reviews.find((candidate) => candidate.id === reviewId);
    if (listedReview) listedReview.commentsCount += 1;
    return { commentId: comment.id };
  }
  /** The reviewer writes under the review: the listing's commentsCount grows. */
  addFollowUp(reviewId: string, id: string, text: string) {
    const review = this.reviews.find((candidate) => candidate.id === reviewId)!;
    const comment: ReviewComment = { id, text, isOfficialAnswer: false, author: { id: review.authorId, name: review.authorName }, createdAt: new Date().toISOString() };
    this.comments.set(reviewId, [...(this.comments.get(reviewId) ?? []), comment]);
    review.commentsCount += 1;
  }
  answeredByUs() {
    return [...this.answers.values()].filter((answer) => answer.byUs).length;
  }
}

export class FakeModel implements Model {
  calls: ChatMessage[][] = [];
  /** The seed of each call, in order. */
  seeds: Array<number | undefined> = [];
  reply: (messages: readonly ChatMessage[]) => Partial<Completion> | Error = () => ({});
  moderated: string[] = [];
  moderation: (text: string) => ModerationVerdict | Error = () => ({ flagged: false, categories: [] });
  /** What GET /models lists. */
  listed: string[] = [];
  async checkReachable() {
    return this.listed;
  }
  async moderate(text: string): Promise<ModerationVerdict> {
    this.moderated.push(text);
    const verdict = this.moderation(text);
    if (verdict instanceof Error) throw verdict;
    return verdict;
  }
  async complete(messages: readonly ChatMessage[], _signal?: AbortSignal, options?: CompletionOptions): Promise<Completion> {
    this.calls.push([...messages]);
    this.seeds.push(options?.seed);
    const reply = this.reply(messages);
    if (reply instanceof Error) throw reply;
    // Worded by the seed, as a sampling model would: two reviews do not get the same answer.
    const text = `Спасибо за отзыв! Ваш визит №${(options?.seed ?? 0) % 100_000} нам очень важен. — команда «Кофейня»`;
    return { text, finishReason: 'stop', model: 'fake', promptTokens: 10, completionTokens: 5, ...reply };
  }
}

export class ManualClock implements Clock {
  current = new Date('2026-01-01T00:00:00.000Z');
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
  async sleep() {}
}

export const silentLogger: Logger = { event() {}, info() {}, warn() {}, error() {}, flush: async () => {} };

export const testSettings: PipelineSettings = {
  price: 500n,
  lowBalance: 5000n,
  approvalBelowRating: 3,
  maxLength: 4000,
  leaseMs: 300_000,
  concurrency: 2,
  maxPostAttempts: 3,
  readBackDelayMs: 0,
  breakerThreshold: 3,
};

export function pipeline(overrides: Partial<PipelineDeps> = {}) {
  const store = new MemoryStore();
  const twogis = new FakeTwoGis();
  const model = new FakeModel();
  const clock = new ManualClock();
  const deps: PipelineDeps = {
    store,
    twogis,
    model,
    clock,
    logger: silentLogger,
    failpoint: () => {},
    ownership: { newToken: () => randomUUID(), isAbandoned: () => false, hold: () => () => {} },
    prompts: { read: async () => 'You answer reviews.' },
    settings: testSettings,
    ...overrides,
  };
  return { deps, store, twogis, model, clock };
}
