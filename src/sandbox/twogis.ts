// An imitation of the 2GIS owner cabinet API (see shared/spec/2gis-api.md), served over real HTTP on 127.0.0.1.
// An outside party: node built-ins only, nothing from src/core or src/adapters.
import { randomBytes } from 'node:crypto';
import { FaultScript, SandboxHttp } from './faults.ts';
import type { RecordedRequest, SandboxCall, SandboxReply } from './faults.ts';

export type { RecordedRequest } from './faults.ts';

export interface SandboxAnswer {
  id: string;
  text: string;
  dateCreated: string;
  /** True when gisbot posted it through the API; false when a person answered in the cabinet. */
  byUs: boolean;
}

/** A review as the sandbox keeps it. addReview returns the live object: later changes show in responses. */
export interface SandboxReview {
  id: string;
  branchId: string;
  rating: number;
  text: string;
  catalog: { id: string; name: string };
  /** Do not change after addReview: the branch index is sorted by it. */
  dateCreated: string;
  dateEdited: string | null;
  /** `id` may be missing (syndicated reviews). */
  user: { id?: string; name: string };
  isHidden: boolean;
  allowedActions: { reply: boolean; complain?: boolean };
  hasCompanyComment: boolean;
  firstAnswer: SandboxAnswer | null;
  commentsCount: number;
  likesCount: number;
  /**
   * How the review goes out on the wire, for items 2GIS should never send: `omit` leaves keys out, `raw` writes
   * a key's value as this JSON text (e.g. `{ rating: '1e400' }`), both in lists and in the single-review read.
   */
  wire?: { omit?: readonly string[]; raw?: Readonly<Record<string, string>> };
}

/**
 * A listing that never ends: `fresh` makes up 50 new reviews, older than the cursor, for every page past the
 * stored ones; `alternating` makes up 50 new reviews per page whose last date is one of two dates in turn, so
 * the cursor goes back and forth. The made-up reviews are kept (they can be read and answered like any other).
 */
export type EndlessListing = 'fresh' | 'alternating';

export interface SandboxComment {
  id: string;
  text: string;
  isOfficialAnswer: boolean;
  dateCreated: string;
  /** Set on the reviewer's follow-ups. */
  user?: { id?: string; name: string };
}

/** The owner's complaint about a review, as the sandbox keeps it. */
export interface SandboxComplaint {
  id: string;
  text: string;
  isNoClientComplaint: boolean;
  dateCreated: string;
}

export interface TwoGisSandboxOptions {
  /** Lifetime of access tokens; default 3600. Fractions allowed (expires_in is rounded up). */
  tokenTtlSeconds?: number;
  /** Extra delay on every review-list page; default 0. */
  pageDelayMs?: number;
  /** Delay before every response; default 0. */
  latencyMs?: number;
  /** Each non-first page also repeats the previous page's last item; default false. */
  repeatBoundaryItem?: boolean;
  /** Longest accepted answer; default 4000. */
  maxAnswerLength?: number;
  /**
   * An official answer is checked when its POST arrives and applied this much later, just before the response;
   * default 0. Meanwhile the review reads as unanswered and a second POST passes the check too, as it would on a
   * 2GIS that applies writes asynchronously: both answers then land.
   */
  postApplyDelayMs?: number;
  /**
   * Refuse (403) every cabinet request without the headers the cabinet's own web page sends (Origin, Referer,
   * `locale` and the web app's `x-api-key`), as the real edge may (shared/spec/2gis-api.md); default true.
   */
  strictHeaders?: boolean;
  /** The `x-api-key` a strict sandbox expects; default the cabinet web app's public key. */
  webApiKey?: string;
}

/** The cabinet web app's public key, as the spec and public clients give it. */
export const CABINET_WEB_API_KEY = 'accweb96f8';
const CABINET_ORIGIN = 'https://account.2gis.com';

interface Account {
  login: string;
  password: string;
  userId: string;
  email: string;
  orgIds: string[];
}

interface Org {
  id: string;
  name: string;
  login: string;
  branches: BranchRec[];
}

interface BranchRec {
  id: string;
  name: string;
  orgId: string;
  address: string;
  isActive: boolean;
  /** Oldest first (ascending by instant, then by insertion). */
  reviews: ReviewRec[];
  ratingSum: number;
  endless: EndlessListing | null;
  /** Pages made up so far for an endless listing. */
  madeUp: number;
  /** The two dates an `alternating` listing ends its pages on, fixed at its first made-up page. */
  alternation?: { upper: number; lower: number };
}

interface ReviewRec {
  review: SandboxReview;
  /** dateCreated as microseconds since the epoch. */
  key: number;
  seq: number;
  comments: SandboxComment[];
}

const LIST_LIMIT = 50;
const PLUS7_MS = 7 * 3600_000;

/** Parses an ISO 8601 date with an offset into microseconds since the epoch; NaN when it does not parse. */
export function instantMicros(iso: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/.exec(iso.trim());
  if (!m) return Number.NaN;
  let zone = m[3] ?? 'Z';
  if (zone !== 'Z' && !zone.includes(':')) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}${zone}`);
  if (Number.isNaN(ms)) return Number.NaN;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(frac);
}

/** Formats microseconds since the epoch as `2025-01-02T10:11:12.123456+07:00`. */
export function formatPlus7(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const us = micros - ms * 1000;
  return new Date(ms + PLUS7_MS).toISOString().slice(0, 23) + String(us).padStart(3, '0') + '+07:00';
}

function hex40(): string {
  return randomBytes(20).toString('hex');
}

function err(status: number, message: string): SandboxReply {
  return { status, body: errorBody(status, message) };
}

function errorBody(status: number, message: string): unknown {
  return { meta: { code: status, errors: [{ message }] } };
}

function ok(result: unknown): SandboxReply {
  return { status: 200, body: { meta: { code: 200 }, result } };
}

/** An item as JSON text with its `wire` changes: keys left out, and keys whose value is raw JSON text. */
function wireJson(item: Record<string, unknown>, wire: SandboxReview['wire']): string {
  if (!wire) return JSON.stringify(item);
  const plain = { ...item };
  for (const key of [...(wire.omit ?? []), ...Object.keys(wire.raw ?? {})]) delete plain[key];
  const text = JSON.stringify(plain);
  const raw = Object.entries(wire.raw ?? {}).map(([key, value]) => `${JSON.stringify(key)}:${value}`);
  if (raw.length === 0) return text;
  return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${raw.join(',')}}`;
}

function isAnswered(r: SandboxReview): boolean {
  return r.hasCompanyComment || r.firstAnswer !== null;
}

/** First index whose key is >= `key` (lower) or > `key` (upper). */
function bound(arr: ReviewRec[], key: number, upper: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = (arr[mid] as ReviewRec).key;
    if (k < key || (upper && k === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class TwoGisSandbox {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultScript();
  latencyMs: number;
  pageDelayMs: number;
  repeatBoundaryItem: boolean;
  tokenTtlSeconds: number;
  maxAnswerLength: number;
  postApplyDelayMs: number;
  strictHeaders: boolean;
  webApiKey: string;
  /** Called as an official answer's POST arrives, before it is applied (to kill its sender at that moment). */
  onAnswerReceived: ((reviewId: string) => void) | null = null;
  /**
   * Whether `GET presence/reviews/<id>/complaints` exists (2gis-api.md assumes it): false answers 405, as a
   * cabinet without it might; a client then cannot read a complaint back.
   */
  complaintReadBack = true;

  #http!: SandboxHttp;
  #accounts = new Map<string, Account>();
  #orgs = new Map<string, Org>();
  #branches = new Map<string, BranchRec>();
  #reviews = new Map<string, ReviewRec>();
  #access = new Map<string, { login: string; expiresAt: number }>();
  #refresh = new Map<string, string>();
  #posts = new Map<string, number>();
  #postedBy = new Map<string, string>();
  /** Answers sent with a token of an account that does not own the review (refused with 404). */
  readonly foreignPosts: Array<{ reviewId: string; login: string }> = [];
  #complaints = new Map<string, SandboxComplaint[]>();
  #complaintSeq = 9100000;
  #seq = 0;
  #userSeq = 5200000;
  #commentSeq = 43142292;
  #lastDefaultMs = 0;

  private constructor(options: TwoGisSandboxOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.pageDelayMs = options.pageDelayMs ?? 0;
    this.repeatBoundaryItem = options.repeatBoundaryItem ?? false;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
    this.maxAnswerLength = options.maxAnswerLength ?? 4000;
    this.postApplyDelayMs = options.postApplyDelayMs ?? 0;
    this.strictHeaders = options.strictHeaders ?? true;
    this.webApiKey = options.webApiKey ?? CABINET_WEB_API_KEY;
  }

  static async start(options: TwoGisSandboxOptions = {}): Promise<TwoGisSandbox> {
    const sb = new TwoGisSandbox(options);
    sb.#http = await SandboxHttp.start({
      prefix: '/api/1.0',
      faults: sb.faults,
      requests: sb.requests,
      latencyMs: () => sb.latencyMs,
      handle: (call) => sb.#handle(call),
      errorBody,
    });
    return sb;
  }

  /** Base URL including the path prefix, e.g. `http://127.0.0.1:41234/api/1.0` (no trailing slash). */
  get url(): string {
    return this.#http.url;
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  /** Every review id the sandbox holds, for checks over the whole world. */
  reviewIds(): string[] {
    return [...this.#reviews.keys()];
  }

  // ------------------------------------------------------------ fixtures

  addAccount(a: { login: string; password: string; userId?: string; email?: string }): void {
    if (this.#accounts.has(a.login)) throw new Error(`sandbox: account ${a.login} exists`);
    this.#accounts.set(a.login, {
      login: a.login,
      password: a.password,
      userId: a.userId ?? String(this.#userSeq++),
      email: a.email ?? (a.login.includes('@') ? a.login : `${a.login}@example.com`),
      orgIds: [],
    });
  }

  addOrg(o: { id: string; name: string; login: string }): void {
    const account = this.#accounts.get(o.login);
    if (!account) throw new Error(`sandbox: no account ${o.login} for org ${o.id}`);
    if (this.#orgs.has(o.id)) throw new Error(`sandbox: org ${o.id} exists`);
    this.#orgs.set(o.id, { id: o.id, name: o.name, login: o.login, branches: [] });
    account.orgIds.push(o.id);
  }

  addBranch(b: { id: string; name: string; orgId: string; address?: string; isActive?: boolean }): void {
    const org = this.#orgs.get(b.orgId);
    if (!org) throw new Error(`sandbox: no org ${b.orgId} for branch ${b.id}`);
    if (this.#branches.has(b.id)) throw new Error(`sandbox: branch ${b.id} exists`);
    const rec: BranchRec = {
      id: b.id,
      name: b.name,
      orgId: b.orgId,
      address: b.address ?? `ул. Ленина, ${org.branches.length + 1}`,
      isActive: b.isActive ?? true,
      reviews: [],
      ratingSum: 0,
      endless: null,
      madeUp: 0,
    };
    this.#branches.set(b.id, rec);
    org.branches.push(rec);
  }

  addReview(branchId: string, r: Partial<SandboxReview> & { id: string }): SandboxReview {
    const branch = this.#branches.get(branchId);
    if (!branch) throw new Error(`sandbox: no branch ${branchId}`);
    if (this.#reviews.has(r.id)) throw new Error(`sandbox: review ${r.id} exists`);
    const seq = ++this.#seq;
    let dateCreated = r.dateCreated;
    let key: number;
    if (dateCreated === undefined) {
      const ms = Math.max(Date.now(), this.#lastDefaultMs + 1);
      this.#lastDefaultMs = ms;
      key = ms * 1000 + ((seq * 7919) % 1000);
      dateCreated = formatPlus7(key);
    } else {
      key = instantMicros(dateCreated);
      if (Number.isNaN(key)) throw new Error(`sandbox: bad dateCreated ${dateCreated}`);
    }
    const firstAnswer = r.firstAnswer ?? null;
    const review: SandboxReview = {
      id: r.id,
      branchId,
      rating: r.rating ?? 5,
      text: r.text ?? 'Всё понравилось',
      catalog: r.catalog ?? { id: '2gis', name: '2GIS' },
      dateCreated,
      dateEdited: r.dateEdited ?? null,
      user: r.user ?? { id: String(this.#userSeq++), name: 'Анна' },
      isHidden: r.isHidden ?? false,
      allowedActions: r.allowedActions ?? { reply: true, complain: true },
      hasCompanyComment: r.hasCompanyComment ?? firstAnswer !== null,
      firstAnswer,
      commentsCount: r.commentsCount ?? (firstAnswer ? 1 : 0),
      likesCount: r.likesCount ?? 0,
      ...(r.wire ? { wire: r.wire } : {}),
    };
    const rec: ReviewRec = { review, key, seq, comments: [] };
    if (firstAnswer) {
      rec.comments.push({
        id: firstAnswer.id,
        text: firstAnswer.text,
        isOfficialAnswer: true,
        dateCreated: firstAnswer.dateCreated,
      });
    }
    const at = bound(branch.reviews, key, true);
    if (at === branch.reviews.length) branch.reviews.push(rec);
    else branch.reviews.splice(at, 0, rec);
    branch.ratingSum += Number.isFinite(review.rating) ? review.rating : 0;
    this.#reviews.set(review.id, rec);
    return review;
  }

  /**
   * The branch leaves the account's branch list (`GET branches` no longer shows it), while its reviews still
   * answer by id, as they may for a while on the real cabinet: only the listing tells a client it is gone.
   */
  unlistBranch(branchId: string): void {
    const branch = this.#branches.get(branchId);
    const org = branch && this.#orgs.get(branch.orgId);
    if (!org) throw new Error(`sandbox: no branch ${branchId}`);
    org.branches = org.branches.filter((listed) => listed.id !== branchId);
  }

  /** The branch's listing never ends from now on (see EndlessListing). */
  makeEndless(branchId: string, mode: EndlessListing): void {
    const branch = this.#branches.get(branchId);
    if (!branch) throw new Error(`sandbox: no branch ${branchId}`);
    branch.endless = mode;
  }

  /** Pages an endless listing has made up so far. */
  madeUpPages(branchId: string): number {
    return this.#branches.get(branchId)?.madeUp ?? 0;
  }

  /** The live review, or undefined. */
  review(reviewId: string): SandboxReview | undefined {
    return this.#reviews.get(reviewId)?.review;
  }

  /** A person answers in the cabinet (not counted as ours). Replaces an existing answer. */
  answerAsOwner(reviewId: string, text: string): void {
    const rec = this.#mustReview(reviewId);
    this.#setAnswer(rec, text, false);
  }

  /**
   * 2GIS moderation takes the official answer down (2gis-api.md): the review reads back with
   * `hasCompanyComment: false`, `firstAnswer: null`, and the answer is gone from its comments.
   */
  removeAnswer(reviewId: string): void {
    const rec = this.#mustReview(reviewId);
    const answer = rec.review.firstAnswer;
    if (!answer) throw new Error(`sandbox: review ${reviewId} has no answer to remove`);
    const i = rec.comments.findIndex((c) => c.id === answer.id);
    if (i >= 0) {
      rec.comments.splice(i, 1);
      rec.review.commentsCount = Math.max(0, rec.review.commentsCount - 1);
    }
    rec.review.firstAnswer = null;
    rec.review.hasCompanyComment = false;
  }

  /** The reviewer writes a follow-up comment under the review: commentsCount grows. */
  addFollowUp(reviewId: string, text: string, user?: { id?: string; name: string }): SandboxComment {
    const rec = this.#mustReview(reviewId);
    const comment: SandboxComment = {
      id: String(this.#commentSeq++),
      text,
      isOfficialAnswer: false,
      dateCreated: this.#now(),
      user: user ?? { ...rec.review.user },
    };
    rec.comments.push(comment);
    rec.review.commentsCount += 1;
    return comment;
  }

  /** Every issued access token becomes invalid (→ 401). Refresh tokens stay valid. */
  /** Every access token stops working at once (2GIS ended the sessions): only one login's when it is named. */
  expireTokens(login?: string): void {
    for (const [access, holder] of this.#access) if (login === undefined || holder.login === login) this.#access.delete(access);
  }

  /** POST .../comments requests that created an official answer of ours. */
  /** The login whose token posted our answer to the review, or null when none was posted. */
  postedBy(reviewId: string): string | null {
    return this.#postedBy.get(reviewId) ?? null;
  }

  postsTo(reviewId: string): number {
    return this.#posts.get(reviewId) ?? 0;
  }

  /** Sum of postsTo over all reviews. */
  get totalPosts(): number {
    let n = 0;
    for (const v of this.#posts.values()) n += v;
    return n;
  }

  /** The complaints filed about a review (each POST that 2GIS took). */
  complaintsAbout(reviewId: string): SandboxComplaint[] {
    return [...(this.#complaints.get(reviewId) ?? [])];
  }

  /** Every complaint POST that arrived, whatever became of it. */
  complaintPosts(reviewId?: string): number {
    return this.requests.filter(
      (request) =>
        request.method === 'POST' &&
        /^presence\/reviews\/[^/]+\/complaints$/.test(request.path) &&
        (reviewId === undefined || request.path === `presence/reviews/${reviewId}/complaints`),
    ).length;
  }

  answerOf(reviewId: string): { id: string; text: string; byUs: boolean } | null {
    const a = this.#reviews.get(reviewId)?.review.firstAnswer;
    return a ? { id: a.id, text: a.text, byUs: a.byUs } : null;
  }

  // ------------------------------------------------------------ internals

  #mustReview(reviewId: string): ReviewRec {
    const rec = this.#reviews.get(reviewId);
    if (!rec) throw new Error(`sandbox: no review ${reviewId}`);
    return rec;
  }

  #now(): string {
    return formatPlus7(Date.now() * 1000);
  }

  #setAnswer(rec: ReviewRec, text: string, byUs: boolean): SandboxAnswer {
    const old = rec.review.firstAnswer;
    if (old) {
      const i = rec.comments.findIndex((c) => c.id === old.id);
      if (i >= 0) {
        rec.comments.splice(i, 1);
        rec.review.commentsCount = Math.max(0, rec.review.commentsCount - 1);
      }
    }
    const answer: SandboxAnswer = { id: String(this.#commentSeq++), text, dateCreated: this.#now(), byUs };
    rec.review.firstAnswer = answer;
    rec.review.hasCompanyComment = true;
    rec.review.commentsCount += 1;
    rec.comments.push({ id: answer.id, text, isOfficialAnswer: true, dateCreated: answer.dateCreated });
    return answer;
  }

  /**
   * A token as an owner copies it from the browser after signing in through 2GIS ID: no password, no refresh
   * token. Lives `ttlSeconds` (default a day) or until `expireTokens`.
   */
  browserToken(login: string, ttlSeconds = 86_400): string {
    if (!this.#accounts.has(login)) throw new Error(`no account ${login}`);
    const access = hex40();
    this.#access.set(access, { login, expiresAt: Date.now() + ttlSeconds * 1000 });
    return access;
  }

  #issueTokens(login: string): SandboxReply {
    const access = hex40();
    const refresh = hex40();
    this.#access.set(access, { login, expiresAt: Date.now() + this.tokenTtlSeconds * 1000 });
    this.#refresh.set(refresh, login);
    return ok({
      access_token: access,
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: Math.max(1, Math.ceil(this.tokenTtlSeconds)),
    });
  }

  #speaksLikeTheCabinet(call: SandboxCall): boolean {
    const { origin, referer, locale } = call.headers;
    return (
      origin === CABINET_ORIGIN &&
      typeof referer === 'string' &&
      referer.startsWith(`${CABINET_ORIGIN}/`) &&
      typeof locale === 'string' &&
      locale.trim() !== '' &&
      call.headers['x-api-key'] === this.webApiKey
    );
  }

  #account(call: SandboxCall): Account | null {
    const h = call.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (!m) return null;
    const t = this.#access.get(m[1] as string);
    if (!t) return null;
    if (Date.now() >= t.expiresAt) {
      this.#access.delete(m[1] as string);
      return null;
    }
    return this.#accounts.get(t.login) ?? null;
  }

  #orgName(rec: ReviewRec): string {
    const branch = this.#branches.get(rec.review.branchId);
    return (branch && this.#orgs.get(branch.orgId)?.name) ?? '';
  }

  #owns(account: Account, branch: BranchRec): boolean {
    return this.#orgs.get(branch.orgId)?.login === account.login;
  }

  #answerView(rec: ReviewRec): unknown {
    const a = rec.review.firstAnswer;
    return a ? { id: a.id, text: a.text, org: { name: this.#orgName(rec) }, dateCreated: a.dateCreated } : null;
  }

  #listItem(rec: ReviewRec, branch: BranchRec): unknown {
    const r = rec.review;
    return {
      id: r.id,
      rating: r.rating,
      text: r.text,
      catalog: { ...r.catalog },
      dateCreated: r.dateCreated,
      dateEdited: r.dateEdited,
      commentsCount: r.commentsCount,
      likesCount: r.likesCount,
      user: { ...r.user },
      attributes: { isHidden: r.isHidden, isRated: true, hasUnresolvedComplains: false, pinStatus: 'none' },
      allowedActions: { reply: r.allowedActions.reply, complain: r.allowedActions.complain ?? true },
      hasCompanyComment: r.hasCompanyComment,
      firstAnswer: this.#answerView(rec),
      photos: [],
      branch: { id: branch.id, name: branch.name, address: branch.address },
    };
  }

  async #handle(call: SandboxCall): Promise<SandboxReply> {
    const seg = call.path.split('/');
    const { method } = call;
    if (call.bodyInvalid) return err(400, 'request body is not valid JSON');
    if (this.strictHeaders && !this.#speaksLikeTheCabinet(call)) return err(403, 'Forbidden');

    // --- no token needed
    if (call.path === 'users/auth') {
      if (method !== 'POST') return err(405, 'method not allowed');
      const b = call.body as { login?: unknown; password?: unknown } | undefined;
      if (typeof b?.login !== 'string' || typeof b.password !== 'string') {
        return err(400, 'login and password are required');
      }
      const account = this.#accounts.get(b.login);
      if (!account || account.password !== b.password) return err(401, 'Invalid login or password');
      return this.#issueTokens(account.login);
    }
    if (call.path === 'users/refreshToken') {
      if (method !== 'POST') return err(405, 'method not allowed');
      const b = call.body as { refreshToken?: unknown } | undefined;
      if (typeof b?.refreshToken !== 'string') return err(400, 'refreshToken is required');
      const login = this.#refresh.get(b.refreshToken);
      if (login === undefined) return err(401, 'Invalid refresh token');
      return this.#issueTokens(login);
    }

    // --- route first (unknown paths are 404 whatever the token), then the token
    type Route = (account: Account) => SandboxReply | Promise<SandboxReply>;
    let route: Route | null = null;
    let allowed: string[] = [];
    if (seg.length === 1 && seg[0] === 'users') {
      allowed = ['GET'];
      route = (a) => this.#getUser(a);
    } else if (seg.length === 1 && seg[0] === 'branches') {
      allowed = ['GET'];
      route = (a) => this.#getBranches(a, call);
    } else if (seg.length === 4 && seg[0] === 'presence' && seg[1] === 'branch' && seg[3] === 'reviews') {
      allowed = ['GET'];
      route = (a) => this.#listReviews(a, seg[2] as string, call);
    } else if (seg.length === 3 && seg[0] === 'presence' && seg[1] === 'reviews') {
      allowed = ['GET'];
      route = (a) => this.#getReview(a, seg[2] as string, call);
    } else if (seg.length === 4 && seg[0] === 'presence' && seg[1] === 'reviews' && seg[3] === 'comments') {
      allowed = ['GET', 'POST'];
      route =
        method === 'POST'
          ? (a) => this.#postComment(a, seg[2] as string, call)
          : (a) => this.#getComments(a, seg[2] as string, call);
    } else if (seg.length === 4 && seg[0] === 'presence' && seg[1] === 'reviews' && seg[3] === 'complaints') {
      allowed = this.complaintReadBack ? ['GET', 'POST'] : ['POST'];
      route =
        method === 'POST'
          ? (a) => this.#postComplaint(a, seg[2] as string, call)
          : (a) => this.#getComplaints(a, seg[2] as string, call);
    } else if (seg.length === 5 && seg[0] === 'presence' && seg[1] === 'reviews' && seg[3] === 'comments') {
      allowed = ['DELETE'];
      route = (a) => this.#deleteComment(a, seg[2] as string, seg[4] as string, call);
    }
    if (route === null) return err(404, `no such path: ${call.path}`);
    if (!allowed.includes(method)) return err(405, 'method not allowed');
    const account = this.#account(call);
    if (!account) {
      return { ...err(401, 'Unauthorized: invalid or expired token'), headers: { 'www-authenticate': 'Bearer' } };
    }
    return route(account);
  }

  #getUser(a: Account): SandboxReply {
    return ok({
      id: a.userId,
      email: a.email,
      orgs: a.orgIds.map((id) => ({ id, name: this.#orgs.get(id)?.name ?? '', isActive: true })),
    });
  }

  #getBranches(a: Account, call: SandboxCall): SandboxReply {
    const orgId = call.query.orgId;
    if (!orgId) return err(400, 'orgId is required');
    const org = this.#orgs.get(orgId);
    if (!org || org.login !== a.login) return err(404, `org ${orgId} not found`);
    const page = call.query.page === undefined ? 1 : Number(call.query.page);
    const pageSize = call.query.pageSize === undefined ? 60 : Number(call.query.pageSize);
    if (!Number.isInteger(page) || page < 1) return err(400, 'page must be a positive integer');
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) return err(400, 'pageSize must be 1..1000');
    const items = org.branches
      .slice((page - 1) * pageSize, page * pageSize)
      .map((b) => ({ id: b.id, name: b.name, address: b.address, isActive: b.isActive }));
    return ok({ total: org.branches.length, items });
  }

  async #listReviews(a: Account, branchId: string, call: SandboxCall): Promise<SandboxReply> {
    const q = call.query;
    const limit = q.limit === undefined ? LIST_LIMIT : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT) {
      return err(400, `limit must be an integer 1..${LIST_LIMIT}`);
    }
    let offset: number | null = null;
    if (q.offsetDate !== undefined && q.offsetDate !== '') {
      offset = instantMicros(q.offsetDate);
      if (Number.isNaN(offset)) return err(400, `offsetDate does not parse: ${q.offsetDate}`);
    }
    const branch = this.#branches.get(branchId);
    if (!branch || !this.#owns(a, branch)) return err(404, `branch ${branchId} not found`);
    if (this.pageDelayMs > 0 && !(await this.#http.sleep(this.pageDelayMs))) return err(503, 'closing');

    const withoutAnswer = q.withoutAnswer === 'true';
    const arr = branch.reviews;
    const picked: ReviewRec[] = [];
    const start = offset === null ? arr.length - 1 : bound(arr, offset, false) - 1;
    for (let i = start; i >= 0 && picked.length < limit; i--) {
      const rec = arr[i] as ReviewRec;
      if (withoutAnswer && isAnswered(rec.review)) continue;
      picked.push(rec);
    }
    if (offset !== null && (branch.endless === 'alternating' || (branch.endless === 'fresh' && picked.length < limit))) {
      return this.#endlessPage(branch, offset, picked, limit);
    }
    let items = picked;
    if (offset !== null && this.repeatBoundaryItem && picked.length > 0 && limit > 1) {
      // the previous page's last item (and any sharing its instant) comes again; the last page stays empty
      const boundary: ReviewRec[] = [];
      for (let i = bound(arr, offset, true) - 1; i >= 0; i--) {
        const rec = arr[i] as ReviewRec;
        if (rec.key !== offset || boundary.length >= limit - 1) break;
        if (withoutAnswer && isAnswered(rec.review)) continue;
        boundary.push(rec);
      }
      items = boundary.concat(picked).slice(0, limit);
    }
    return this.#page(branch, items);
  }

  #page(branch: BranchRec, items: readonly ReviewRec[]): SandboxReply {
    const count = branch.reviews.length;
    const head = JSON.stringify({
      '2gisReviewsCount': count,
      '2gisRating': count === 0 ? 0 : Math.round((branch.ratingSum / count) * 10) / 10,
    });
    // Written by hand so that an item's `wire` can carry what JSON.stringify cannot (1e400, a key left out).
    const list = items.map((rec) => wireJson(this.#listItem(rec, branch) as Record<string, unknown>, rec.review.wire)).join(',');
    return { status: 200, raw: `{"meta":{"code":200},"result":${head.slice(0, -1)},"items":[${list}]}}` };
  }

  /**
   * `fresh`: the stored reviews below the cursor, topped up to a full page with made-up ones older still.
   * `alternating`: a page of made-up reviews ending on one of two dates a day apart, in turn.
   */
  #endlessPage(branch: BranchRec, offset: number, picked: readonly ReviewRec[], limit: number): SandboxReply {
    branch.madeUp += 1;
    let newest: number;
    let count = limit;
    if (branch.endless === 'fresh') {
      newest = (picked.at(-1)?.key ?? offset) - 1_000_000;
      count = limit - picked.length;
    } else {
      const upper = (branch.reviews[0]?.key ?? Date.now() * 1000) - 86_400_000_000;
      const lower = upper - 86_400_000_000;
      branch.alternation ??= { upper, lower };
      const { upper: a, lower: b } = branch.alternation;
      newest = (offset === a ? b : a) + (limit - 1) * 1_000_000;
      picked = [];
    }
    const made: ReviewRec[] = [];
    for (let i = 0; i < count; i++) {
      const n = branch.madeUp * limit + i;
      const review = this.addReview(branch.id, {
        id: `${branch.id}-${n}`,
        rating: 5,
        text: `Давний отзыв №${n}`,
        dateCreated: formatPlus7(newest - i * 1_000_000),
      });
      made.push(this.#reviews.get(review.id) as ReviewRec);
    }
    return this.#page(branch, [...picked, ...made]);
  }

  #reviewFor(a: Account, reviewId: string): ReviewRec | null {
    const rec = this.#reviews.get(reviewId);
    if (!rec) return null;
    const branch = this.#branches.get(rec.review.branchId);
    return branch && this.#owns(a, branch) ? rec : null;
  }

  #getReview(a: Account, reviewId: string, call: SandboxCall): SandboxReply {
    if (call.query.catalog !== '2gis') return err(400, 'catalog=2gis is required');
    const rec = this.#reviewFor(a, reviewId);
    if (!rec) return err(404, `review ${reviewId} not found`);
    const branch = this.#branches.get(rec.review.branchId) as BranchRec;
    const item = this.#listItem(rec, branch) as Record<string, unknown>;
    return { status: 200, raw: `{"meta":{"code":200},"result":${wireJson({ ...item, rating: String(rec.review.rating) }, rec.review.wire)}}` };
  }

  #postComment(a: Account, reviewId: string, call: SandboxCall): SandboxReply | Promise<SandboxReply> {
    const b = call.body as { text?: unknown; catalog?: unknown; isOfficialAnswer?: unknown } | undefined;
    if (typeof b !== 'object' || b === null) return err(400, 'a JSON body is required');
    if (b.catalog !== '2gis') return err(400, 'catalog must be "2gis"');
    if (typeof b.text !== 'string' || b.text.trim() === '') return err(400, 'text must not be empty');
    if (b.text.length > this.maxAnswerLength) return err(400, `text is longer than ${this.maxAnswerLength} characters`);
    const rec = this.#reviewFor(a, reviewId);
    // Another account's review is not found, as 2GIS does; the attempt is kept for the tests of issue 19.
    if (!rec) {
      if (this.#reviews.has(reviewId)) this.foreignPosts.push({ reviewId, login: a.login });
      return err(404, `review ${reviewId} not found`);
    }
    const orgName = this.#orgName(rec);
    if (b.isOfficialAnswer !== true) {
      const comment: SandboxComment = {
        id: String(this.#commentSeq++),
        text: b.text,
        isOfficialAnswer: false,
        dateCreated: this.#now(),
      };
      rec.comments.push(comment);
      rec.review.commentsCount += 1;
      return ok({ id: comment.id, type: 'reply', text: b.text, org: { name: orgName }, isOfficialAnswer: false });
    }
    if (rec.review.catalog.id !== '2gis') return err(400, 'reviews from other catalogs cannot be answered');
    if (!rec.review.allowedActions.reply) return err(403, 'replying to this review is not allowed');
    if (isAnswered(rec.review)) return err(409, 'the review already has an official answer');
    this.onAnswerReceived?.(reviewId);
    const text = b.text;
    const apply = (): SandboxReply => {
      const answer = this.#setAnswer(rec, text, true);
      this.#posts.set(reviewId, (this.#posts.get(reviewId) ?? 0) + 1);
      this.#postedBy.set(reviewId, a.login);
      return ok({ id: answer.id, type: 'reply', text: answer.text, org: { name: orgName }, isOfficialAnswer: true });
    };
    if (this.postApplyDelayMs <= 0) return apply();
    // Applied whether or not its sender is still there to read the response.
    return new Promise((resolve) => setTimeout(() => resolve(apply()), this.postApplyDelayMs));
  }

  #postComplaint(a: Account, reviewId: string, call: SandboxCall): SandboxReply {
    const b = call.body as { text?: unknown; catalog?: unknown; isNoClientComplaint?: unknown } | undefined;
    if (typeof b !== 'object' || b === null) return err(400, 'a JSON body is required');
    if (b.catalog !== '2gis') return err(400, 'catalog must be "2gis"');
    if (typeof b.isNoClientComplaint !== 'boolean') return err(400, 'isNoClientComplaint must be a boolean');
    if (typeof b.text !== 'string' || b.text.trim() === '') return err(400, 'text must not be empty');
    if (b.text.length > 2000) return err(400, 'text is longer than 2000 characters');
    const rec = this.#reviewFor(a, reviewId);
    if (!rec) return err(404, `review ${reviewId} not found`);
    if (rec.review.allowedActions.complain === false) return err(403, 'complaining about this review is not allowed');
    const filed = this.#complaints.get(reviewId) ?? [];
    if (filed.length > 0) return err(409, 'the review already has a complaint');
    const complaint: SandboxComplaint = { id: String(this.#complaintSeq++), text: b.text, isNoClientComplaint: b.isNoClientComplaint, dateCreated: this.#now() };
    this.#complaints.set(reviewId, [...filed, complaint]);
    return ok({ ...complaint });
  }

  #getComplaints(a: Account, reviewId: string, call: SandboxCall): SandboxReply {
    if (call.query.catalog !== '2gis') return err(400, 'catalog=2gis is required');
    const rec = this.#reviewFor(a, reviewId);
    if (!rec) return err(404, `review ${reviewId} not found`);
    return ok({ items: (this.#complaints.get(reviewId) ?? []).map((complaint) => ({ ...complaint })) });
  }

  #getComments(a: Account, reviewId: string, call: SandboxCall): SandboxReply {
    if (call.query.catalog !== '2gis') return err(400, 'catalog=2gis is required');
    const limit = call.query.limit === undefined ? 200 : Number(call.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) return err(400, 'limit must be an integer 1..200');
    const rec = this.#reviewFor(a, reviewId);
    if (!rec) return err(404, `review ${reviewId} not found`);
    const items = rec.comments.slice(0, limit).map((c) => {
      const item: Record<string, unknown> = { id: c.id, text: c.text, dateCreated: c.dateCreated };
      if (c.isOfficialAnswer) item.isOfficialAnswer = true;
      else if (c.user) item.user = { ...c.user };
      return item;
    });
    return ok({ items });
  }

  #deleteComment(a: Account, reviewId: string, commentId: string, call: SandboxCall): SandboxReply {
    if (call.query.catalog !== '2gis') return err(400, 'catalog=2gis is required');
    const rec = this.#reviewFor(a, reviewId);
    if (!rec) return err(404, `review ${reviewId} not found`);
    const i = rec.comments.findIndex((c) => c.id === commentId);
    if (i < 0) return err(404, `comment ${commentId} not found`);
    rec.comments.splice(i, 1);
    rec.review.commentsCount = Math.max(0, rec.review.commentsCount - 1);
    if (rec.review.firstAnswer?.id === commentId) {
      rec.review.firstAnswer = null;
      rec.review.hasCompanyComment = false;
    }
    return ok({});
  }
}
