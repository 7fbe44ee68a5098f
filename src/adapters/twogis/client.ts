// The 2GIS owner-cabinet client (see shared/spec/2gis-api.md). This layer owns the ONLY retries for 2GIS:
// idempotent calls (GET, the login POST) are retried a bounded number of times with exponential backoff and
// jitter, honouring Retry-After; the answer POST is never retried, and an outcome it did not see is reported as
// ServiceError kind 'outcome_unknown' so that the core reads the review back first.
//
// Secrets: the password and the tokens never appear in an error message, and errors of the HTTP library (which
// carry the request options, headers and body) are never attached as a cause.
import { tokenFingerprint } from '../../core/doctor/token-age.ts';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Got } from 'got';
import { LISTING_PAGE_SIZE, type Branch, type ComplaintOnTwoGis, type ListedReview, type ReviewComment, type ReviewPage, type ReviewStatus, type TwoGis, type UnreadableItem } from '../../core/ports.ts';
import { ServiceError } from '../../errors.ts';

export interface TwoGisClientOptions {
  /** Cabinet base URL, e.g. https://api.account.2gis.com/api/1.0/ */
  apiUrl: string;
  /** Cabinet login and password; unused when `accessToken` is given. */
  login?: string | undefined;
  password?: string | undefined;
  /**
   * A cabinet token copied from the browser (owners who sign in through 2GIS ID have no password). Used as it is;
   * it cannot be renewed, so a 401 with it is reported as expired, never retried with a login.
   */
  accessToken?: string | undefined;
  /** Branch ids to work on; null discovers them from the account's organisations. */
  branches: readonly string[] | null;
  /** Deadline of each single HTTP request, default 15000 ms. */
  timeoutMs?: number;
  /** Extra attempts for idempotent calls, default 3. */
  retries?: number;
  /** Pause before each non-first page of reviews, default 0. */
  pagePauseMs?: number;
  /** First backoff step between retries, default 500 ms (doubled each attempt, with jitter). */
  retryBaseMs?: number;
  /** Upper bound for one wait between retries, Retry-After included, default 60000 ms. */
  maxRetryDelayMs?: number;
  /** The most one response may hold, default MAX_RESPONSE_BYTES; the download stops there. */
  maxResponseBytes?: number;
  /** The cabinet web app's public key, sent as `x-api-key`; default CABINET_WEB_API_KEY. */
  webApiKey?: string;
  /** Sent as `locale`, as the cabinet's page does; default `ru`. */
  locale?: string;
}

/** The key the cabinet's own web page sends; public clients that work against the real cabinet send it too. */
export const CABINET_WEB_API_KEY = 'accweb96f8';
const CABINET_ORIGIN = 'https://account.2gis.com';

/**
 * The most one 2GIS response may hold: 8 MiB. A page of 50 reviews is tens of kilobytes; this leaves room for
 * reviews a hundred times longer than any seen, and it bounds what one response costs in memory (a body is
 * held as text and then parsed: several times its size).
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const AUTH_HINT = 'check twogis.login and twogis.password in the config (or the matching environment variables)';
const TOKEN_HINT =
  'sign in to account.2gis.com in a browser, copy the `authorization: Bearer …` value of any request from the developer tools (Network tab), and put it in twogis.accessToken or GISBOT_2GIS_TOKEN (README: Signing in with a token)';
/** `ServiceError.code` of a token 2GIS no longer takes: `auth.failed` events carry it as `data.code`. */
export const TOKEN_EXPIRED = 'token_expired';
const BLOCKED_HINT =
  '2GIS blocks rather than rate-limits: back off for a while, check the account in the 2GIS cabinet, and run from an allowed IP';
const PAGE_SIZE_REVIEWS = LISTING_PAGE_SIZE;
const PAGE_SIZE_BRANCHES = 60;
const MAX_BRANCH_PAGES = 1000;
/** Connection errors that happen before any byte of the request is sent: a POST that met one did not happen. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

// ---------------------------------------------------------------- response shapes (lenient about extra keys)

const idSchema = z
  .union([z.string().min(1), z.number().int()], {
    error: (issue) => (issue.input === undefined ? 'missing' : `not an id: ${describeValue(issue.input)}`),
  })
  .transform((value) => String(value));
const numberish = z.union(
  [
    z.number(),
    z
      .string()
      .regex(/^\s*-?\d+(\.\d+)?\s*$/)
      .transform((value) => Number(value)),
  ],
  { error: (issue) => (issue.input === undefined ? 'missing' : `not a number: ${describeValue(issue.input)}`) },
);
const dateSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'missing' : `not a date: ${describeValue(issue.input)}`) })
  .refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO 8601 date');

function envelope<T extends z.ZodType>(result: T) {
  return z.object({ meta: z.object({ code: z.number() }), result });
}

const authSchema = envelope(z.object({ access_token: z.string().min(1) }));

const usersSchema = envelope(
  z.object({
    id: idSchema,
    orgs: z.array(z.object({ id: idSchema, name: z.string().nullish(), isActive: z.boolean().nullish() })),
  }),
);

const branchesSchema = envelope(
  z.object({
    items: z.array(z.object({ id: idSchema, name: z.string().nullish(), address: z.string().nullish() })),
  }),
);

const reviewItemSchema = z.object({
  id: idSchema,
  rating: numberish,
  text: z.string().nullish(),
  catalog: z.object({ id: z.string() }).nullish(),
  dateCreated: dateSchema,
  dateEdited: dateSchema.nullish(),
  commentsCount: z.number().nullish(),
  user: z.object({ id: idSchema.nullish(), name: z.string().nullish() }).nullish(),
  attributes: z.object({ isHidden: z.boolean().nullish() }).nullish(),
  allowedActions: z.object({ reply: z.boolean().nullish() }).nullish(),
  hasCompanyComment: z.boolean().nullish(),
  firstAnswer: z.unknown().optional(),
  branch: z.object({ name: z.string().nullish() }).nullish(),
});

// Items are read one by one (readPage): one that breaks the protocol does not take its page with it.
// The branch's own figures ride on every page; an odd value there costs the figure, never the page.
const reviewsSchema = envelope(
  z.object({
    items: z.array(z.unknown()),
    '2gisRating': z.number().min(0).max(5).nullish().catch(null),
    '2gisReviewsCount': z.number().int().min(0).nullish().catch(null),
  }),
);

const reviewSchema = envelope(
  z
    .object({
      id: idSchema,
      rating: numberish,
      hasCompanyComment: z.boolean().nullish(),
      firstAnswer: z.object({ id: idSchema.nullish(), text: z.string().nullish() }).nullish(),
      allowedActions: z.object({ complain: z.boolean().nullish() }).nullish().catch(null),
    })
    .refine(
      (value) => value.hasCompanyComment !== undefined || value.firstAnswer !== undefined,
      'neither hasCompanyComment nor firstAnswer is present: cannot tell whether the review has an answer',
    ),
);

const postSchema = envelope(z.object({ id: idSchema }));

// 2gis-api.md: a complaint's POST answers 200 with the envelope; what its result holds is not relied on.
const complaintPostSchema = envelope(z.unknown());

const complaintsSchema = envelope(
  z.object({
    items: z.array(z.object({ id: idSchema, text: z.string().nullish(), isNoClientComplaint: z.boolean().nullish() })),
  }),
);

const commentsSchema = envelope(
  z.object({
    items: z.array(
      z.object({
        id: idSchema,
        text: z.string().nullish(),
        isOfficialAnswer: z.boolean().nullish(),
        dateCreated: z.string().nullish(),
        user: z.object({ id: idSchema.nullish(), name: z.string().nullish() }).nullish(),
      }),
    ),
  }),
);

/** The assumed error envelope: {"meta":{"code":4xx,"errors":[{"message":"..."}]}}; anything else is tolerated. */
const errorBodySchema = z.object({
  meta: z
    .object({
      message: z.string().nullish(),
      errors: z.array(z.object({ message: z.string().nullish() }).or(z.string())).nullish(),
    })
    .nullish(),
  message: z.string().nullish(),
  error: z.string().nullish(),
});

// ---------------------------------------------------------------- transport types

type Method = 'GET' | 'POST';

interface Call {
  method: Method;
  /** Relative to apiUrl, no leading slash; also used in messages. */
  path: string;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  /** Idempotent calls are retried; the answer POST is not. */
  idempotent: boolean;
}

type Outcome =
  | { kind: 'response'; status: number; retryAfter: string | undefined; body: string }
  | { kind: 'network'; code: string; timeout: boolean }
  /** The body outgrew maxResponseBytes: the download was stopped there. */
  | { kind: 'too_large'; status: number };

interface GotModule {
  got: Got;
  RequestError: abstract new (...args: never[]) => Error;
}

export function createTwoGisClient(options: TwoGisClientOptions): TwoGis {
  const baseUrl = options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`;
  const host = safeHost(baseUrl);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = Math.max(0, Math.floor(options.retries ?? 3));
  const pagePauseMs = options.pagePauseMs ?? 0;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
  const maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;

  let gotModule: Promise<GotModule> | null = null;
  // A fresh connection for every answer POST: a keep-alive socket the server has just closed would turn a
  // perfectly good POST into an 'outcome_unknown'.
  let postAgents: { http: HttpAgent; https: HttpsAgent } | null = null;
  const signedInByToken = options.accessToken !== undefined && options.accessToken !== '';
  let token: string | null = signedInByToken ? (options.accessToken as string) : null;
  let loginInFlight: Promise<string> | null = null;

  function loadGot(): Promise<GotModule> {
    gotModule ??= import('got').then((mod) => ({
      // What every call shares, merged into an instance once: got merges each call's options into its defaults,
      // and a call that passes only its own costs ~50 µs of CPU less (BENCHMARKS.md).
      got: mod.default.extend({
        responseType: 'text',
        throwHttpErrors: false,
        followRedirect: false,
        retry: { limit: 0 },
        timeout: { request: timeoutMs },
      }),
      RequestError: mod.RequestError,
    }));
    gotModule.catch(() => {
      gotModule = null;
    });
    return gotModule;
  }

  /** Server-provided text goes into messages; make sure none of our secrets ride along. */
  function redact(text: string): string {
    let out = text;
    for (const secret of [options.password, token, options.accessToken]) {
      if (secret && secret.length >= 4) out = out.split(secret).join('***');
    }
    return out.length > 300 ? `${out.slice(0, 300)}…` : out;
  }

  // ------------------------------------------------------------ one HTTP exchange

  async function send(call: Call, accessToken: string | null): Promise<Outcome> {
    const { got, RequestError } = await loadGot();
    // What the cabinet's web page sends with every request: the edge may refuse a request without it.
    const headers: Record<string, string> = {
      accept: 'application/json',
      origin: CABINET_ORIGIN,
      referer: `${CABINET_ORIGIN}/`,
      locale: options.locale ?? 'ru',
      'x-api-key': options.webApiKey ?? CABINET_WEB_API_KEY,
    };
    if (accessToken !== null) headers.authorization = `Bearer ${accessToken}`;
    const isAnswerPost = call.method === 'POST' && !call.idempotent;
    if (isAnswerPost) postAgents ??= { http: new HttpAgent({ keepAlive: false }), https: new HttpsAgent({ keepAlive: false }) };
    const request = got(new URL(call.path, baseUrl), {
      method: call.method,
      headers,
      ...(call.query ? { searchParams: call.query } : {}),
      ...(call.body ? { json: call.body } : {}),
      ...(isAnswerPost && postAgents ? { agent: postAgents } : {}),
    });
    // Counted as it arrives (decompressed), so a huge or endless body is stopped there, never held first.
    let status = 0;
    let tooLarge = false;
    request.on('response', (response: { statusCode: number }) => {
      status = response.statusCode;
    });
    request.on('downloadProgress', (progress: { transferred: number; total?: number }) => {
      if (tooLarge || Math.max(progress.transferred, progress.total ?? 0) <= maxResponseBytes) return;
      tooLarge = true;
      request.cancel();
    });
    try {
      const response = await request;
      const retryAfter = response.headers['retry-after'];
      return {
        kind: 'response',
        status: response.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        body: typeof response.body === 'string' ? response.body : '',
      };
    } catch (error) {
      if (tooLarge) return { kind: 'too_large', status };
      if (error instanceof RequestError) {
        const code = (error as Error & { code?: unknown }).code;
        return {
          kind: 'network',
          code: typeof code === 'string' && code !== '' ? code : error.name,
          timeout: error.name === 'TimeoutError',
        };
      }
      throw error;
    }
  }

  function isRetryable(outcome: Outcome): boolean {
    if (outcome.kind === 'network') return true;
    if (outcome.kind === 'too_large') return false; // the same body would come again
    return outcome.status === 429 || outcome.status >= 500;
  }

  function retryDelay(outcome: Outcome, attempt: number): number {
    if (outcome.kind === 'response' && (outcome.status === 429 || outcome.status === 503) && outcome.retryAfter) {
      const seconds = parseRetryAfter(outcome.retryAfter);
      if (seconds !== null) return Math.min(seconds * 1000, maxRetryDelayMs);
    }
    const step = Math.min(retryBaseMs * 2 ** (attempt - 1), maxRetryDelayMs);
    return step / 2 + Math.random() * (step / 2);
  }

  async function sendWithRetries(call: Call, accessToken: string | null): Promise<{ outcome: Outcome; attempts: number }> {
    const maxAttempts = call.idempotent ? retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const outcome = await send(call, accessToken);
      if (!isRetryable(outcome) || attempt >= maxAttempts) return { outcome, attempts: attempt };
      await sleep(retryDelay(outcome, attempt));
    }
  }

  // ------------------------------------------------------------ auth

  async function login(): Promise<string> {
    if (signedInByToken) throw tokenRefused();
    const call: Call = {
      method: 'POST',
      path: 'users/auth',
      body: { login: options.login, password: options.password },
      idempotent: true,
    };
    const { outcome, attempts } = await sendWithRetries(call, null);
    if (outcome.kind === 'response' && (outcome.status === 401 || outcome.status === 400)) {
      throw new ServiceError('2gis', 'auth', `2GIS refused the login for ${options.login ?? ''}`, {
        status: outcome.status,
        hint: AUTH_HINT,
      });
    }
    const parsed = interpret(call, outcome, attempts, authSchema);
    return parsed.result.access_token;
  }

  /** One login at a time; callers that saw a 401 with an older token reuse the login already done. */
  function relogin(staleToken: string | null): Promise<string> {
    if (token !== null && token !== staleToken) return Promise.resolve(token);
    loginInFlight ??= login()
      .then((fresh) => {
        token = fresh;
        return fresh;
      })
      .finally(() => {
        loginInFlight = null;
      });
    return loginInFlight;
  }

  /** A token copied from the browser cannot be renewed: a 401 means it expired or was revoked. */
  function tokenRefused(): ServiceError {
    return new ServiceError('2gis', 'auth', '2GIS no longer takes the access token (twogis.accessToken): it has expired or was revoked', {
      status: 401,
      hint: TOKEN_HINT,
      code: TOKEN_EXPIRED,
    });
  }

  async function authorised(call: Call): Promise<{ outcome: Outcome; attempts: number }> {
    const first = token ?? (await relogin(null));
    const result = await sendWithRetries(call, first);
    if (result.outcome.kind !== 'response' || result.outcome.status !== 401) return result;
    if (signedInByToken) throw tokenRefused();
    // A 401 means the call was refused before anything happened: safe to repeat once, even for the answer POST.
    const fresh = await relogin(first);
    const again = await sendWithRetries(call, fresh);
    if (again.outcome.kind === 'response' && again.outcome.status === 401) {
      throw new ServiceError(
        '2gis',
        'auth',
        `2GIS refused the access for ${call.method} ${call.path} even right after a new login as ${options.login ?? ''}`,
        { status: 401, hint: AUTH_HINT },
      );
    }
    return again;
  }

  // ------------------------------------------------------------ outcome → value or ServiceError

  /** What an unseen POST may have done, in its own terms. */
  function posted(call: Call): string {
    return call.path.endsWith('/complaints') ? 'the complaint may or may not have been filed' : 'the answer may or may not have been posted';
  }

  function describe(call: Call): string {
    return `${call.method} ${call.path}`;
  }

  function serverMessage(body: string): string {
    if (body.trim() === '') return '';
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return '';
    }
    const parsed = errorBodySchema.safeParse(json);
    if (!parsed.success) return '';
    const parts: string[] = [];
    for (const item of parsed.data.meta?.errors ?? []) {
      const text = typeof item === 'string' ? item : item.message;
      if (text) parts.push(text);
    }
    if (parts.length === 0) {
      const single = parsed.data.meta?.message ?? parsed.data.message ?? parsed.data.error;
      if (single) parts.push(single);
    }
    return redact(parts.join('; '));
  }

  function interpret<T extends z.ZodType>(call: Call, outcome: Outcome, attempts: number, schema: T): z.output<T> {
    const what = describe(call);
    const tries = attempts > 1 ? `, ${attempts} attempts` : '';
    const isAnswerPost = call.method === 'POST' && !call.idempotent;

    if (outcome.kind === 'too_large') {
      throw malformed(call, `2GIS sent more than ${mebibytes(maxResponseBytes)} in answer to ${what} (the limit for one response); the rest was not read`, outcome.status, true);
    }
    if (outcome.kind === 'network') {
      if (isAnswerPost && !NOT_SENT_CODES.has(outcome.code)) {
        throw new ServiceError(
          '2gis',
          'outcome_unknown',
          `no answer from 2GIS to ${what} (${outcome.code}${outcome.timeout ? ` after ${timeoutMs} ms` : ''}): ${posted(call)}`,
          { hint: 'read the review back before posting again' },
        );
      }
      const detail = outcome.timeout ? ` (no complete answer within ${timeoutMs} ms to ${what}${tries})` : ` (${what}${tries})`;
      throw new ServiceError('2gis', 'unavailable', `cannot reach 2GIS at ${host}: ${outcome.code}${detail}`);
    }

    const { status, body } = outcome;
    if (status === 403) {
      throw new ServiceError('2gis', 'blocked', '2GIS answered 403 Forbidden: the account or IP is blocked', {
        status,
        hint: BLOCKED_HINT,
      });
    }
    if (status === 401) {
      throw new ServiceError('2gis', 'auth', `2GIS refused the access for ${what}`, { status, hint: AUTH_HINT });
    }
    if (status >= 500) {
      if (isAnswerPost) {
        throw new ServiceError(
          '2gis',
          'outcome_unknown',
          `2GIS answered ${status} to ${what}: ${posted(call)}`,
          { status, hint: 'read the review back before posting again' },
        );
      }
      const message = serverMessage(body);
      throw new ServiceError(
        '2gis',
        'unavailable',
        `2GIS answered ${status} to ${what}${tries}${message ? `: ${message}` : ''}`,
        { status },
      );
    }
    if (status === 429) {
      throw new ServiceError('2gis', 'unavailable', `2GIS answered 429 Too Many Requests to ${what}${tries}`, {
        status,
        hint: 'slow down: lower the concurrency or raise the pause between pages',
      });
    }
    if (status >= 400) {
      const message = serverMessage(body);
      throw new ServiceError('2gis', 'rejected', `2GIS rejected ${what} with ${status}${message ? `: ${message}` : ''}`, {
        status,
      });
    }
    if (status < 200 || status >= 300) {
      throw malformed(call, `unexpected HTTP status ${status}`, status);
    }

    let json: unknown;
    if (body.trim() === '') throw malformed(call, 'empty body', status);
    try {
      json = JSON.parse(body);
    } catch {
      // JSON.parse's own message quotes the body, which may hold a token: describe it instead.
      throw malformed(call, `body is not valid JSON (${Buffer.byteLength(body)} bytes)`, status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw malformed(call, describeIssues(parsed.error), status);
    const meta = (parsed.data as { meta: { code: number } }).meta;
    if (meta.code < 200 || meta.code >= 300) {
      throw malformed(call, `HTTP ${status} but meta.code ${meta.code}${serverMessage(body) ? `: ${serverMessage(body)}` : ''}`, status);
    }
    return parsed.data;
  }

  /** `whole`: `detail` is the whole message, not what was wrong with a malformed body. */
  function malformed(call: Call, detail: string, status: number, whole = false): ServiceError {
    const message = whole ? detail : `2GIS sent a malformed/truncated response to ${describe(call)}: ${detail}`;
    if (call.method === 'POST' && !call.idempotent) {
      // 2GIS took the POST but we could not read what it made of it: the answer may well be there.
      return new ServiceError('2gis', 'outcome_unknown', `${message}; ${posted(call)}`, {
        status,
        hint: 'read the review back before posting again',
      });
    }
    return new ServiceError('2gis', 'bad_response', message, { status });
  }

  async function get<T extends z.ZodType>(path: string, query: Record<string, string>, schema: T): Promise<z.output<T>> {
    const call: Call = { method: 'GET', path, query, idempotent: true };
    const { outcome, attempts } = await authorised(call);
    return interpret(call, outcome, attempts, schema);
  }

  // ------------------------------------------------------------ the port

  async function discoverBranches(): Promise<Branch[]> {
    const users = await get('users', {}, usersSchema);
    const branches: Branch[] = [];
    const seen = new Set<string>();
    for (const org of users.result.orgs) {
      for (let page = 1; page <= MAX_BRANCH_PAGES; page++) {
        const data = await get(
          'branches',
          { orgId: org.id, page: String(page), pageSize: String(PAGE_SIZE_BRANCHES) },
          branchesSchema,
        );
        let added = 0;
        for (const item of data.result.items) {
          if (seen.has(item.id)) continue;
          seen.add(item.id);
          branches.push({ id: item.id, name: item.name ?? item.id, address: item.address ?? null });
          added++;
        }
        // The last page is short; a page with nothing new means the server ignores paging: stop either way.
        if (data.result.items.length < PAGE_SIZE_BRANCHES || added === 0) break;
      }
    }
    return branches;
  }

  async function listPage(branchId: string, offsetDate: string | null, withoutAnswer: boolean): Promise<ReviewPage> {
    if (offsetDate !== null && pagePauseMs > 0) await sleep(pagePauseMs);
    const query: Record<string, string> = { limit: String(PAGE_SIZE_REVIEWS), pinRequestedFirst: 'false' };
    if (withoutAnswer) query.withoutAnswer = 'true';
    if (offsetDate !== null) query.offsetDate = offsetDate;
    const data = await get(`presence/branch/${encodeURIComponent(branchId)}/reviews`, query, reviewsSchema);
    // The figures of a filtered listing would be the filter's: only the whole listing's are the branch's.
    if (withoutAnswer) return readPage(branchId, data.result.items);
    const { '2gisRating': rating, '2gisReviewsCount': reviewsCount } = data.result;
    const summary = rating == null && reviewsCount == null ? null : { rating: rating === 0 || rating == null ? null : rating, reviewsCount: reviewsCount ?? null };
    return { ...readPage(branchId, data.result.items), summary };
  }

  return {
    tokenFingerprint: signedInByToken ? tokenFingerprint(options.accessToken as string) : null,

    async checkLogin(): Promise<void> {
      // A token is not logged in with: one authorised read proves it.
      if (signedInByToken) await get('users', {}, usersSchema);
      else await relogin(token);
    },

    async account() {
      const users = await get('users', {}, usersSchema);
      return { userId: users.result.id, login: options.login ?? null };
    },

    async listBranches(): Promise<Branch[]> {
      if (options.branches !== null) return options.branches.map((id) => ({ id, name: id }));
      return discoverBranches();
    },

    accountBranches: discoverBranches,

    listReviews: (branchId: string, offsetDate: string | null) => listPage(branchId, offsetDate, false),

    listUnanswered: (branchId: string, offsetDate: string | null) => listPage(branchId, offsetDate, true),

    async readReview(reviewId: string): Promise<ReviewStatus | null> {
      const call: Call = {
        method: 'GET',
        path: `presence/reviews/${encodeURIComponent(reviewId)}`,
        query: { catalog: '2gis' },
        idempotent: true,
      };
      const { outcome, attempts } = await authorised(call);
      if (outcome.kind === 'response' && outcome.status === 404) return null;
      const data = interpret(call, outcome, attempts, reviewSchema);
      const answer = data.result.firstAnswer ?? null;
      return {
        id: data.result.id,
        rating: data.result.rating,
        hasOwnerAnswer: data.result.hasCompanyComment === true || answer !== null,
        ownerAnswer: answer === null ? null : { id: answer.id ?? '', text: answer.text ?? '' },
        canComplain: data.result.allowedActions?.complain ?? null,
      };
    },

    async postAnswer(reviewId: string, text: string): Promise<{ answerId: string }> {
      const call: Call = {
        method: 'POST',
        path: `presence/reviews/${encodeURIComponent(reviewId)}/comments`,
        body: { text, catalog: '2gis', isOfficialAnswer: true },
        idempotent: false,
      };
      const { outcome, attempts } = await authorised(call);
      const data = interpret(call, outcome, attempts, postSchema);
      return { answerId: data.result.id };
    },

    async listComments(reviewId: string): Promise<ReviewComment[]> {
      const call: Call = {
        method: 'GET',
        path: `presence/reviews/${encodeURIComponent(reviewId)}/comments`,
        query: { catalog: '2gis', limit: '200' },
        idempotent: true,
      };
      const { outcome, attempts } = await authorised(call);
      const data = interpret(call, outcome, attempts, commentsSchema);
      return data.result.items.map((item) => ({
        id: item.id,
        text: item.text ?? '',
        isOfficialAnswer: item.isOfficialAnswer === true,
        // 2gis-api.md (assumed): the reviewer's follow-ups carry user{id,name}; the business's comments carry none.
        author: item.isOfficialAnswer === true || !item.user ? null : { id: item.user.id ?? null, name: item.user.name ?? '' },
        createdAt: item.dateCreated ?? '',
      }));
    },

    async postComment(reviewId: string, text: string): Promise<{ commentId: string }> {
      const call: Call = {
        method: 'POST',
        path: `presence/reviews/${encodeURIComponent(reviewId)}/comments`,
        body: { text, catalog: '2gis', isOfficialAnswer: false },
        idempotent: false,
      };
      const { outcome, attempts } = await authorised(call);
      const data = interpret(call, outcome, attempts, postSchema);
      return { commentId: data.result.id };
    },

    async postComplaint(reviewId: string, complaint: { text: string; isNoClientComplaint: boolean }): Promise<'sent' | 'already'> {
      const call: Call = {
        method: 'POST',
        path: `presence/reviews/${encodeURIComponent(reviewId)}/complaints`,
        body: { catalog: '2gis', isNoClientComplaint: complaint.isNoClientComplaint, text: complaint.text },
        idempotent: false,
      };
      const { outcome, attempts } = await authorised(call);
      if (outcome.kind === 'response' && outcome.status === 409) return 'already';
      // A 403 here is 2GIS refusing this complaint (allowedActions.complain), not the account being blocked: the
      // headers were right, or the reads before it would have been refused too.
      if (outcome.kind === 'response' && outcome.status === 403) {
        const message = serverMessage(outcome.body);
        throw new ServiceError('2gis', 'rejected', `2GIS does not let the owner complain about review ${reviewId}${message ? `: ${message}` : ''}`, {
          status: 403,
        });
      }
      interpret(call, outcome, attempts, complaintPostSchema);
      return 'sent';
    },

    async listComplaints(reviewId: string): Promise<ComplaintOnTwoGis[] | null> {
      const call: Call = {
        method: 'GET',
        path: `presence/reviews/${encodeURIComponent(reviewId)}/complaints`,
        query: { catalog: '2gis' },
        idempotent: true,
      };
      const { outcome, attempts } = await authorised(call);
      // The read-back is assumed (2gis-api.md): where 2GIS does not have it, a complaint cannot be read back.
      if (outcome.kind === 'response' && (outcome.status === 404 || outcome.status === 405)) return null;
      const data = interpret(call, outcome, attempts, complaintsSchema);
      return data.result.items.map((item) => ({ id: item.id, text: item.text ?? '', isNoClientComplaint: item.isNoClientComplaint === true }));
    },
  };
}

// ---------------------------------------------------------------- helpers

/** The page's items one by one: each that parses is a review, each that does not is unreadable with why. */
function readPage(branchId: string, items: readonly unknown[]): ReviewPage {
  const reviews: ListedReview[] = [];
  const unreadable: UnreadableItem[] = [];
  let cursor: string | null = null;
  for (const raw of items) {
    const dateCreated = (raw as { dateCreated?: unknown } | null)?.dateCreated;
    if (typeof dateCreated === 'string' && !Number.isNaN(Date.parse(dateCreated))) cursor = dateCreated;
    const parsed = reviewItemSchema.safeParse(raw);
    if (!parsed.success) {
      const id = idSchema.safeParse((raw as { id?: unknown } | null)?.id);
      unreadable.push({ id: id.success ? id.data : null, reason: describeIssues(parsed.error) });
      continue;
    }
    const item = parsed.data;
    const ownerAnswerText = answerText(item.firstAnswer);
    reviews.push({
      id: item.id,
      branchId,
      branchName: item.branch?.name ?? '',
      rating: item.rating,
      text: item.text ?? '',
      authorId: item.user?.id ?? null,
      authorName: item.user?.name ?? '',
      createdAt: item.dateCreated,
      editedAt: item.dateEdited ?? null,
      catalogId: item.catalog?.id ?? '',
      isHidden: item.attributes?.isHidden === true,
      canReply: item.allowedActions?.reply === true,
      hasOwnerAnswer: item.hasCompanyComment === true || item.firstAnswer != null,
      ...(ownerAnswerText === null ? {} : { ownerAnswerText }),
      commentsCount: item.commentsCount ?? 0,
    });
  }
  return { reviews, unreadable, cursor };
}

/** The text of a listed review's `firstAnswer` (read leniently: it only feeds the owner's examples), or null. */
function answerText(firstAnswer: unknown): string | null {
  const text = firstAnswer !== null && typeof firstAnswer === 'object' ? (firstAnswer as { text?: unknown }).text : undefined;
  return typeof text === 'string' && text.trim() !== '' ? text : null;
}

function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value); // JSON.stringify would write Infinity (1e400 read) as null
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function mebibytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Retry-After is either delta-seconds or an HTTP date; returns seconds, or null when unreadable. */
export function parseRetryAfter(value: string, now: number = Date.now()): number | null {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, (at - now) / 1000);
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path === '' ? '(root)' : path}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return issues.join('; ') + more;
}
