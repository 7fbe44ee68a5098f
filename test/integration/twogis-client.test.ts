import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { TwoGisSandbox } from '../../src/sandbox/twogis.ts';
import { createTwoGisClient, parseRetryAfter } from '../../src/adapters/twogis/client.ts';
import type { TwoGisClientOptions } from '../../src/adapters/twogis/client.ts';
import { ServiceError } from '../../src/errors.ts';
import type { ServiceErrorKind } from '../../src/errors.ts';
import type { TwoGis } from '../../src/core/ports.ts';

const LOGIN = 'owner@example.com';
const PASSWORD = 'SENTINEL-PASSWORD-7f3a9c';
const BRANCH = '70000001030466019';
const OTHER_BRANCH = '70000001017466092';

let sb: TwoGisSandbox;

function client(overrides: Partial<TwoGisClientOptions> = {}): TwoGis {
  return createTwoGisClient({
    apiUrl: sb.url,
    login: LOGIN,
    password: PASSWORD,
    branches: [BRANCH],
    timeoutMs: 1000,
    retries: 2,
    retryBaseMs: 10,
    ...overrides,
  });
}

/** Every access token the sandbox saw: none may show up in an error. */
function tokensSeen(): string[] {
  const out = new Set<string>();
  for (const r of sb.requests) {
    const m = /^Bearer (\S+)$/.exec(r.headers.authorization ?? '');
    if (m?.[1]) out.add(m[1]);
  }
  return [...out];
}

function assertNoSecrets(error: ServiceError): void {
  const text = `${error.message} ${error.hint ?? ''} ${String(error.cause ?? '')}`;
  assert.ok(!text.includes(PASSWORD), `password leaked: ${text}`);
  for (const token of tokensSeen()) assert.ok(!text.includes(token), `token leaked: ${text}`);
}

/** Asserts the promise rejects with ServiceError('2gis', kind); returns the error for more checks. */
async function rejectsWith(promise: Promise<unknown>, kind: ServiceErrorKind): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ServiceError, `expected a ServiceError, got ${String(error)}`);
    assert.equal(error.service, '2gis');
    assert.equal(error.kind, kind, `expected kind ${kind}, got ${error.kind}: ${error.message}`);
    assertNoSecrets(error);
    return error;
  }
  assert.fail(`expected a ServiceError of kind ${kind}, but the call succeeded`);
}

const count = (method: string, path: string | RegExp) =>
  sb.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))).length;
const reviewsPath = `presence/branch/${BRANCH}/reviews`;

function seed(): void {
  sb.addAccount({ login: LOGIN, password: PASSWORD });
  sb.addOrg({ id: 'org1', name: 'Кофейня ООО', login: LOGIN });
  sb.addBranch({ id: BRANCH, name: 'Кофейня', orgId: 'org1' });
}

describe('2GIS client against the sandbox', () => {
  beforeEach(async () => {
    sb = await TwoGisSandbox.start();
    seed();
  });
  afterEach(() => sb.close());

  it('lists what is still unanswered (withoutAnswer=true), paged the same way', async () => {
    for (let n = 0; n < 60; n += 1) sb.addReview(BRANCH, { id: `88${String(n).padStart(3, '0')}`, rating: 1 });
    sb.answerAsOwner('88059', 'Спасибо!');
    const c = client();
    const first = await c.listUnanswered(BRANCH, null);
    assert.equal(first.reviews.length, 50);
    assert.equal(first.reviews[0]?.id, '88058', 'the answered newest is left out');
    assert.ok(first.reviews.every((review) => !review.hasOwnerAnswer));
    const second = await c.listUnanswered(BRANCH, first.cursor);
    assert.deepEqual(second.reviews.map((review) => review.id).slice(0, 2), ['88008', '88007']);
    assert.equal(second.reviews.length, 9);
    const listings = sb.requests.filter((request) => request.path === reviewsPath);
    assert.deepEqual(listings.map((request) => [request.query.withoutAnswer, request.query.offsetDate ?? null]), [['true', null], ['true', first.cursor]]);
  });

  it('logs in, lists a page, normalises every field, and pages with the cursor passed back unchanged', async () => {
    // 55 reviews with generated dates (microsecond fractions) plus a few special ones that are older
    sb.addReview(BRANCH, {
      id: '9000000000000000001',
      dateCreated: '2021-01-25T14:26:44.918796+07:00',
      rating: 2,
      text: '',
      user: { name: 'Syndicated' },
      catalog: { id: 'flamp', name: 'Flamp' },
      allowedActions: { reply: false },
    });
    sb.addReview(BRANCH, { id: '124479533', dateCreated: '2021-01-27T22:03:14.0+07:00', isHidden: true });
    sb.addReview(BRANCH, { id: '124479534', dateCreated: '2026-04-30T23:50:40.0Z', user: { id: '5200001', name: 'Анна' } });
    sb.answerAsOwner('124479534', 'Спасибо!');
    for (let i = 0; i < 55; i++) sb.addReview(BRANCH, { id: String(300000 + i), dateCreated: `2026-05-01T10:00:${String(i).padStart(2, '0')}.123456+07:00` });

    const gis = client();
    const page1 = (await gis.listReviews(BRANCH, null)).reviews;
    assert.equal(page1.length, 50);
    assert.equal(page1[0]?.id, '300054');
    const first = page1[0];
    assert.ok(first);
    assert.equal(first.branchId, BRANCH);
    assert.equal(first.branchName, 'Кофейня');
    assert.equal(first.createdAt, '2026-05-01T10:00:54.123456+07:00');
    assert.equal(first.catalogId, '2gis');
    assert.equal(first.canReply, true);
    assert.equal(first.hasOwnerAnswer, false);
    assert.equal(first.isHidden, false);
    assert.equal(typeof first.rating, 'number');

    const last = page1.at(-1);
    assert.ok(last);
    const page2 = (await gis.listReviews(BRANCH, last.createdAt)).reviews;
    assert.deepEqual(
      page2.map((r) => r.id),
      ['300004', '300003', '300002', '300001', '300000', '124479534', '124479533', '9000000000000000001'],
    );
    const answered = page2.find((r) => r.id === '124479534');
    assert.equal(answered?.hasOwnerAnswer, true);
    assert.equal(answered?.authorId, '5200001');
    assert.equal(answered?.authorName, 'Анна');
    assert.equal(answered?.commentsCount, 1);
    assert.equal(answered?.createdAt, '2026-04-30T23:50:40.0Z');
    assert.equal(page2.find((r) => r.id === '124479533')?.isHidden, true);
    const syndicated = page2.find((r) => r.id === '9000000000000000001');
    assert.deepEqual(
      { ...syndicated },
      {
        id: '9000000000000000001',
        branchId: BRANCH,
        branchName: 'Кофейня',
        rating: 2,
        text: '',
        authorId: null,
        authorName: 'Syndicated',
        createdAt: '2021-01-25T14:26:44.918796+07:00',
        editedAt: null,
        catalogId: 'flamp',
        isHidden: false,
        canReply: false,
        hasOwnerAnswer: false,
        commentsCount: 0,
      },
    );

    const { summary, ...page3 } = await gis.listReviews(BRANCH, page2.at(-1)?.createdAt ?? null);
    assert.deepEqual(page3, { reviews: [], unreadable: [], cursor: null });
    // The branch's own figures ride on every page (2gisRating, 2gisReviewsCount).
    assert.ok(summary && summary.reviewsCount !== null && summary.reviewsCount > 50, JSON.stringify(summary));
    assert.ok(summary.rating !== null && summary.rating >= 1 && summary.rating <= 5, JSON.stringify(summary));

    assert.equal(count('POST', 'users/auth'), 1, 'one login for the whole session');
    const lists = sb.requests.filter((r) => r.path === reviewsPath);
    assert.equal(lists.length, 3);
    assert.deepEqual(lists[0]?.query, { limit: '50', pinRequestedFirst: 'false' });
    assert.deepEqual(lists[1]?.query, { limit: '50', pinRequestedFirst: 'false', offsetDate: last.createdAt });
    assert.equal(lists[2]?.query.offsetDate, '2021-01-25T14:26:44.918796+07:00');
  });

  it('speaks like the cabinet: every request carries Origin, Referer, locale and x-api-key; a bare request is refused', async () => {
    const bare = await fetch(`${sb.url}/users/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: LOGIN, password: PASSWORD }),
    });
    assert.equal(bare.status, 403, 'the strict sandbox refuses what the real edge may refuse');
    sb.webApiKey = 'accweb-rotated';
    const twogis = client({ webApiKey: 'accweb-rotated', locale: 'ru_KZ' });
    await twogis.listReviews(BRANCH, null);
    assert.ok(sb.requests.length >= 2);
    for (const request of sb.requests.filter((r) => r.status !== 403)) {
      assert.equal(request.headers.origin, 'https://account.2gis.com');
      assert.equal(request.headers.referer, 'https://account.2gis.com/');
      assert.equal(request.headers.locale, 'ru_KZ');
      assert.equal(request.headers['x-api-key'], 'accweb-rotated');
    }
    sb.webApiKey = 'accweb96f8';
  });

  it('signs in with a token copied from the browser: no login call; a refused token is "token_expired", never a login loop, never echoed', async () => {
    const copied = sb.browserToken(LOGIN);
    const twogis = client({ login: undefined, password: undefined, accessToken: copied });
    await twogis.checkLogin();
    await twogis.listReviews(BRANCH, null);
    assert.equal(sb.requests.filter((r) => r.path.endsWith('users/auth')).length, 0, 'a token is never traded for a login');
    assert.ok(sb.requests.every((r) => r.headers.authorization === `Bearer ${copied}`));
    sb.expireTokens(LOGIN);
    const before = sb.requests.length;
    const error = await rejectsWith(twogis.listReviews(BRANCH, null), 'auth');
    assert.equal(error.code, 'token_expired');
    assert.ok(!`${error.message} ${error.hint}`.includes(copied), 'the token is never in a message');
    assert.match(error.hint ?? '', /twogis\.accessToken/);
    assert.equal(sb.requests.length - before, 1, 'one refused request, no retry and no login');
  });

  it('pauses before each non-first page when pagePauseMs is set', async () => {
    for (let i = 0; i < 3; i++) sb.addReview(BRANCH, { id: String(400 + i) });
    // A pause long beside a loopback request, so that a busy machine cannot make the first page look paused.
    const gis = client({ pagePauseMs: 1000 });
    const started = Date.now();
    await gis.listReviews(BRANCH, null);
    assert.ok(Date.now() - started < 1000, 'the first page is not delayed');
    const before = Date.now();
    await gis.listReviews(BRANCH, '2030-01-01T00:00:00.0+07:00');
    assert.ok(Date.now() - before >= 995, 'a later page waits pagePauseMs');
  });

  it('checkLogin logs in; wrong credentials give auth naming the login but never the password', async () => {
    await client().checkLogin();
    assert.equal(count('POST', 'users/auth'), 1);
    const auth = sb.requests.find((r) => r.path === 'users/auth');
    assert.deepEqual(auth?.body, { login: LOGIN, password: PASSWORD });

    const error = await rejectsWith(client({ password: 'wrong-password-123' }).checkLogin(), 'auth');
    assert.match(error.message, /2GIS refused the login for owner@example\.com/);
    assert.ok(!error.message.includes('wrong-password-123'));
    assert.match(error.hint ?? '', /twogis\.login/);
    assert.equal(count('POST', 'users/auth'), 2, 'a refused login is not retried');
  });

  it('on a 401 logs in again once and repeats the call once', async () => {
    sb.addReview(BRANCH, { id: '1' });
    const gis = client();
    assert.equal((await gis.listReviews(BRANCH, null)).reviews.length, 1);
    sb.expireTokens();
    assert.equal((await gis.listReviews(BRANCH, null)).reviews.length, 1);
    assert.equal(count('POST', 'users/auth'), 2);
    assert.deepEqual(
      sb.requests.filter((r) => r.path === reviewsPath).map((r) => r.status),
      [200, 401, 200],
    );
  });

  it('a second 401 right after a new login is an auth failure, not a loop', async () => {
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 401 }, times: Infinity });
    const error = await rejectsWith(client().listReviews(BRANCH, null), 'auth');
    assert.equal(error.status, 401);
    assert.equal(count('POST', 'users/auth'), 2);
    assert.equal(count('GET', reviewsPath), 2);
  });

  it('403 is "blocked" at once, with no retry', async () => {
    const gis = client();
    await gis.checkLogin();
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 403 }, times: Infinity });
    const error = await rejectsWith(gis.listReviews(BRANCH, null), 'blocked');
    assert.equal(error.message, '2GIS answered 403 Forbidden: the account or IP is blocked');
    assert.match(error.hint ?? '', /back off/);
    assert.equal(count('GET', reviewsPath), 1);
  });

  it('429 with Retry-After: 1 is retried no sooner than a second later', async () => {
    sb.addReview(BRANCH, { id: '1' });
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 429, retryAfterSeconds: 1 } });
    const { reviews } = await client().listReviews(BRANCH, null);
    assert.equal(reviews.length, 1);
    const lists = sb.requests.filter((r) => r.path === reviewsPath);
    assert.deepEqual(
      lists.map((r) => r.status),
      [429, 200],
    );
    assert.ok((lists[1]?.at ?? 0) - (lists[0]?.at ?? 0) >= 990, 'waited for Retry-After');
  });

  it('503 on a GET is retried with backoff; when it persists the call is "unavailable" after retries+1 tries', async () => {
    sb.addReview(BRANCH, { id: '1' });
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 503 }, times: 2 });
    assert.equal((await client().listReviews(BRANCH, null)).reviews.length, 1);
    assert.equal(count('GET', reviewsPath), 3);

    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 500 }, times: Infinity });
    const error = await rejectsWith(client({ retries: 3 }).listReviews(BRANCH, null), 'unavailable');
    assert.equal(error.status, 500);
    assert.match(error.message, /500/);
    assert.equal(count('GET', reviewsPath), 3 + 4);
  });

  it('a network error on a GET is retried (reset_before), then succeeds', async () => {
    sb.addReview(BRANCH, { id: '1' });
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'reset_before' } });
    assert.equal((await client().listReviews(BRANCH, null)).reviews.length, 1);
    assert.equal(count('GET', reviewsPath), 2);
  });

  it('an item that breaks the protocol is unreadable with its reason; the rest of its page is read, the cursor from its last dated item', async () => {
    sb.addReview(BRANCH, { id: '501', dateCreated: '2026-05-01T10:00:05.0+07:00' });
    sb.addReview(BRANCH, { id: '502', dateCreated: '2026-05-01T10:00:04.0+07:00', wire: { raw: { rating: 'null' } } });
    sb.addReview(BRANCH, { id: '503', dateCreated: '2026-05-01T10:00:03.0+07:00', wire: { raw: { rating: '1e400' } } });
    sb.addReview(BRANCH, { id: '504', dateCreated: '2026-05-01T10:00:02.0+07:00', wire: { omit: ['rating'], raw: { id: '{"no":1}' } } });
    sb.addReview(BRANCH, { id: '505', dateCreated: '2026-05-01T10:00:01.5+07:00', rating: 6 });
    sb.addReview(BRANCH, { id: '506', dateCreated: '2026-05-01T10:00:01.0+07:00', wire: { omit: ['dateCreated'] } });
    const page = await client().listReviews(BRANCH, null);
    assert.deepEqual(page.reviews.map((review) => [review.id, review.rating]), [['501', 5], ['505', 6]]);
    assert.deepEqual(page.unreadable, [
      { id: '502', reason: 'rating: not a number: null' },
      { id: '503', reason: 'rating: not a number: Infinity' },
      { id: null, reason: 'id: not an id: {"no":1}; rating: missing' },
      { id: '506', reason: 'dateCreated: missing' },
    ]);
    assert.equal(page.cursor, '2026-05-01T10:00:01.5+07:00');
  });

  it('a body over the limit is stopped there, endless or declared, and named in the error; on the answer POST its outcome is unknown', async () => {
    sb.addReview(BRANCH, { id: '1' });
    const gis = client({ maxResponseBytes: 1024 * 1024 });
    // 64 GiB, written as the client reads: a client that held the body first would never come back.
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'huge', bytes: 64 * 1024 ** 3 } });
    const endless = await rejectsWith(gis.listReviews(BRANCH, null), 'bad_response');
    assert.equal(endless.message, `2GIS sent more than 1 MiB in answer to GET ${reviewsPath} (the limit for one response); the rest was not read`);
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'huge', bytes: 2 * 1024 * 1024, declareLength: true } });
    await rejectsWith(gis.listReviews(BRANCH, null), 'bad_response');
    assert.equal(count('GET', reviewsPath), 2, 'not retried: the same body would come again');
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'huge', bytes: 512 * 1024 } });
    assert.equal((await gis.listReviews(BRANCH, null)).reviews.length, 1, 'under the limit a padded body is read');

    sb.faults.add({ method: 'POST', path: 'presence/reviews/1/comments', fault: { type: 'huge', bytes: 64 * 1024 ** 3 } });
    const post = await rejectsWith(gis.postAnswer('1', 'Спасибо!'), 'outcome_unknown');
    assert.match(post.message, /more than 1 MiB .*may or may not have been posted/);
    assert.equal(sb.postsTo('1'), 1);
  });

  it('a truncated or empty body is "bad_response", never an empty page', async () => {
    sb.addReview(BRANCH, { id: '1' });
    const gis = client();
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'truncated' } });
    const error = await rejectsWith(gis.listReviews(BRANCH, null), 'bad_response');
    assert.match(error.message, new RegExp(`^2GIS sent a malformed/truncated response to GET ${reviewsPath}: `));

    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'empty' } });
    await rejectsWith(gis.listReviews(BRANCH, null), 'bad_response');

    // valid JSON without the list
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 200, body: '{"meta":{"code":200},"result":{}}' } });
    const shape = await rejectsWith(gis.listReviews(BRANCH, null), 'bad_response');
    assert.match(shape.message, /result\.items/);

    // an HTML error page with a 200
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'status', status: 200, body: '<html>oops</html>' } });
    await rejectsWith(gis.listReviews(BRANCH, null), 'bad_response');

    // a truncated login answer must not quote the token
    sb.faults.add({ method: 'POST', path: 'users/auth', fault: { type: 'truncated' } });
    const login = await rejectsWith(client().checkLogin(), 'bad_response');
    assert.match(login.message, /POST users\/auth/);
  });

  it('a hang on a GET ends as "unavailable" within the deadline', async () => {
    sb.faults.add({ method: 'GET', path: reviewsPath, fault: { type: 'hang' }, times: Infinity });
    const gis = client({ timeoutMs: 200, retries: 1 });
    await gis.checkLogin();
    const started = Date.now();
    const error = await rejectsWith(gis.listReviews(BRANCH, null), 'unavailable');
    const took = Date.now() - started;
    assert.ok(took >= 380 && took < 1500, `took ${took} ms`);
    assert.match(error.message, /^cannot reach 2GIS at 127\.0\.0\.1:\d+: ETIMEDOUT/);
    assert.equal(count('GET', reviewsPath), 2);
  });

  it('an unreachable host is "unavailable" naming the host and the code', async () => {
    const port = await freePort();
    const gis = createTwoGisClient({
      apiUrl: `http://127.0.0.1:${port}/api/1.0`,
      login: LOGIN,
      password: PASSWORD,
      branches: null,
      retries: 1,
      retryBaseMs: 5,
      timeoutMs: 500,
    });
    const error = await rejectsWith(gis.checkLogin(), 'unavailable');
    assert.match(error.message, new RegExp(`^cannot reach 2GIS at 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });

  describe('readReview', () => {
    it('reads a string rating and the owner answer; 404 is null', async () => {
      sb.addReview(BRANCH, { id: '124479532', rating: 4 });
      const gis = client();
      assert.deepEqual(await gis.readReview('124479532'), {
        id: '124479532',
        rating: 4,
        hasOwnerAnswer: false,
        ownerAnswer: null,
        canComplain: true,
      });
      const raw = sb.requests.find((r) => r.path === 'presence/reviews/124479532');
      assert.deepEqual(raw?.query, { catalog: '2gis' });

      sb.answerAsOwner('124479532', 'Спасибо, ждём снова');
      const status = await gis.readReview('124479532');
      assert.equal(status?.hasOwnerAnswer, true);
      assert.equal(status?.ownerAnswer?.text, 'Спасибо, ждём снова');
      assert.equal(typeof status?.ownerAnswer?.id, 'string');

      assert.equal(await gis.readReview('404404404'), null);
    });

    it('refuses a body that does not say whether the review is answered', async () => {
      sb.faults.add({
        method: 'GET',
        path: 'presence/reviews/1',
        fault: { type: 'status', status: 200, body: '{"meta":{"code":200},"result":{"id":"1","rating":"5"}}' },
      });
      await rejectsWith(client().readReview('1'), 'bad_response');
    });
  });

  describe('complaints', () => {
    const REVIEW = '124479540';
    const complaintsPath = `presence/reviews/${REVIEW}/complaints`;
    beforeEach(() => {
      sb.addReview(BRANCH, { id: REVIEW, rating: 1 });
    });

    it('files one with the cabinet headers, reads it back, and a second is "already" (409), never retried', async () => {
      const gis = client();
      assert.equal((await gis.readReview(REVIEW))?.canComplain, true);
      assert.deepEqual(await gis.listComplaints(REVIEW), []);
      assert.equal(await gis.postComplaint(REVIEW, { text: 'Автор не был нашим гостем', isNoClientComplaint: true }), 'sent');
      const post = sb.requests.find((r) => r.method === 'POST' && r.path === complaintsPath)!;
      assert.deepEqual(post.body, { catalog: '2gis', isNoClientComplaint: true, text: 'Автор не был нашим гостем' });
      assert.equal(post.headers['x-api-key'], 'accweb96f8');
      assert.deepEqual(
        (await gis.listComplaints(REVIEW))!.map(({ text, isNoClientComplaint }) => ({ text, isNoClientComplaint })),
        [{ text: 'Автор не был нашим гостем', isNoClientComplaint: true }],
      );
      assert.equal(await gis.postComplaint(REVIEW, { text: 'ещё раз', isNoClientComplaint: false }), 'already');
      assert.equal(count('POST', complaintsPath), 2);
      assert.equal(sb.complaintsAbout(REVIEW).length, 1);
    });

    it('an unseen outcome is "outcome_unknown" with one POST, in the complaint\'s own words', async () => {
      sb.faults.add({ method: 'POST', path: complaintsPath, fault: { type: 'reset_after' } });
      const error = await rejectsWith(client().postComplaint(REVIEW, { text: 'фейк', isNoClientComplaint: false }), 'outcome_unknown');
      assert.match(error.message, /the complaint may or may not have been filed/);
      assert.equal(count('POST', complaintsPath), 1);
      assert.equal(sb.complaintsAbout(REVIEW).length, 1, 'it is there even though we did not see it');
      sb.faults.add({ method: 'POST', path: complaintsPath, fault: { type: 'status', status: 502 } });
      await rejectsWith(client().postComplaint(REVIEW, { text: 'фейк', isNoClientComplaint: false }), 'outcome_unknown');
      assert.equal(count('POST', complaintsPath), 2, 'a 5xx is not retried either');
    });

    it('allowedActions.complain false: readReview says so, and the POST is "rejected" (403), not "blocked"', async () => {
      sb.review(REVIEW)!.allowedActions.complain = false;
      const gis = client();
      assert.equal((await gis.readReview(REVIEW))?.canComplain, false);
      const error = await rejectsWith(gis.postComplaint(REVIEW, { text: 'фейк', isNoClientComplaint: false }), 'rejected');
      assert.equal(error.status, 403);
      assert.match(error.message, /does not let the owner complain about review 124479540: complaining about this review is not allowed/);
    });

    it('a cabinet without the read-back (405, or 404): null, "cannot read back"', async () => {
      sb.complaintReadBack = false;
      assert.equal(await client().listComplaints(REVIEW), null);
      sb.complaintReadBack = true;
      sb.faults.add({ method: 'GET', path: complaintsPath, fault: { type: 'status', status: 404 } });
      assert.equal(await client().listComplaints(REVIEW), null);
    });
  });

  describe('postAnswer', () => {
    const REVIEW = '124479532';
    const commentsPath = `presence/reviews/${REVIEW}/comments`;
    beforeEach(() => {
      sb.addReview(BRANCH, { id: REVIEW });
    });

    it('posts the official answer and returns its id', async () => {
      const { answerId } = await client().postAnswer(REVIEW, 'Спасибо за отзыв!');
      assert.equal(typeof answerId, 'string');
      assert.deepEqual(sb.answerOf(REVIEW), { id: answerId, text: 'Спасибо за отзыв!', byUs: true });
      const post = sb.requests.find((r) => r.method === 'POST' && r.path === commentsPath);
      assert.deepEqual(post?.body, { text: 'Спасибо за отзыв!', catalog: '2gis', isOfficialAnswer: true });
    });

    it('reset after 2GIS stored it: "outcome_unknown" with exactly one POST', async () => {
      sb.faults.add({ method: 'POST', path: commentsPath, fault: { type: 'reset_after' } });
      const error = await rejectsWith(client().postAnswer(REVIEW, 'Спасибо!'), 'outcome_unknown');
      assert.match(error.hint ?? '', /read the review back/);
      assert.equal(count('POST', commentsPath), 1);
      assert.equal(sb.postsTo(REVIEW), 1, 'the answer is there even though we did not see it');
    });

    it('reset before, 5xx, a hang, a truncated 200: all "outcome_unknown", never retried', async () => {
      const gis = client({ timeoutMs: 300 });
      await gis.checkLogin();
      const faults = [
        { type: 'reset_before' },
        { type: 'status', status: 500 },
        { type: 'status', status: 503, retryAfterSeconds: 1 },
        { type: 'hang' },
        { type: 'truncated' },
      ] as const;
      let expectedPosts = 0;
      for (const fault of faults) {
        sb.faults.add({ method: 'POST', path: commentsPath, fault });
        const started = Date.now();
        await rejectsWith(gis.postAnswer(REVIEW, 'Спасибо!'), 'outcome_unknown');
        assert.ok(Date.now() - started < 1000, `${fault.type} resolved quickly`);
        expectedPosts += 1;
        assert.equal(count('POST', commentsPath), expectedPosts, `${fault.type}: one POST`);
      }
      assert.equal(sb.postsTo(REVIEW), 1, 'only the truncated one was stored');
    });

    it('a 409 (already answered) is "rejected" with the status and 2GIS message', async () => {
      const gis = client();
      await gis.postAnswer(REVIEW, 'Первый ответ');
      const error = await rejectsWith(gis.postAnswer(REVIEW, 'Второй ответ'), 'rejected');
      assert.equal(error.status, 409);
      assert.match(error.message, /409/);
      assert.match(error.message, /already has an official answer/);
      assert.equal(count('POST', commentsPath), 2);
      assert.equal(sb.postsTo(REVIEW), 1);
    });

    it('an empty text is "rejected" (400)', async () => {
      const error = await rejectsWith(client().postAnswer(REVIEW, ''), 'rejected');
      assert.equal(error.status, 400);
    });

    it('a 401 on the POST is redone once after a new login (nothing happened the first time)', async () => {
      const gis = client();
      await gis.checkLogin();
      sb.expireTokens();
      await gis.postAnswer(REVIEW, 'Спасибо!');
      assert.deepEqual(
        sb.requests.filter((r) => r.path === commentsPath).map((r) => r.status),
        [401, 200],
      );
      assert.equal(sb.postsTo(REVIEW), 1);
      assert.equal(count('POST', 'users/auth'), 2);
    });

    it('a 429 on the POST is not retried and reports "unavailable"', async () => {
      sb.faults.add({ method: 'POST', path: commentsPath, fault: { type: 'status', status: 429, retryAfterSeconds: 1 } });
      await rejectsWith(client().postAnswer(REVIEW, 'Спасибо!'), 'unavailable');
      assert.equal(count('POST', commentsPath), 1);
      assert.equal(sb.postsTo(REVIEW), 0);
    });
  });

  describe('listBranches', () => {
    it('returns the configured branches without a request', async () => {
      const gis = client({ branches: [BRANCH, OTHER_BRANCH] });
      assert.deepEqual(await gis.listBranches(), [
        { id: BRANCH, name: BRANCH },
        { id: OTHER_BRANCH, name: OTHER_BRANCH },
      ]);
      assert.equal(sb.requests.length, 0);
    });

    it('accountBranches lists the account whatever twogis.branches says, with the addresses', async () => {
      const branches = await client({ branches: [OTHER_BRANCH] }).accountBranches();
      assert.deepEqual(branches, [{ id: BRANCH, name: 'Кофейня', address: 'ул. Ленина, 1' }]);
    });

    it('discovers every branch of every org, paging by 60', async () => {
      sb.addOrg({ id: 'org2', name: 'Second', login: LOGIN });
      for (let i = 0; i < 120; i++) sb.addBranch({ id: String(70000001000000000n + BigInt(i)), name: `Branch ${i}`, orgId: 'org1' });
      sb.addBranch({ id: OTHER_BRANCH, name: 'Other', orgId: 'org2' });
      const branches = await client({ branches: null }).listBranches();
      assert.equal(branches.length, 122);
      assert.deepEqual(branches[0], { id: BRANCH, name: 'Кофейня', address: 'ул. Ленина, 1' });
      assert.deepEqual(branches.at(-1), { id: OTHER_BRANCH, name: 'Other', address: 'ул. Ленина, 1' });
      assert.equal(new Set(branches.map((b) => b.id)).size, 122);
      const pages = sb.requests.filter((r) => r.path === 'branches').map((r) => `${r.query.orgId}:${r.query.page}:${r.query.pageSize}`);
      // org1 has 121 branches: 60 + 60 + 1
      assert.deepEqual(pages, ['org1:1:60', 'org1:2:60', 'org1:3:60', 'org2:1:60']);
      assert.equal(count('GET', 'users'), 1);
    });

    it('an exactly full last page costs one more (empty) page, and an empty org is fine', async () => {
      for (let i = 1; i < 60; i++) sb.addBranch({ id: `b${i}`, name: `B${i}`, orgId: 'org1' });
      sb.addOrg({ id: 'org-empty', name: 'Empty', login: LOGIN });
      const branches = await client({ branches: null }).listBranches();
      assert.equal(branches.length, 60);
      assert.equal(count('GET', 'branches'), 3);
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('1'), 1);
    assert.equal(parseRetryAfter(' 120 '), 120);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), null);
  });
});

describe('start-up cost', () => {
  let server: TwoGisSandbox;
  before(async () => {
    server = await TwoGisSandbox.start();
  });
  after(() => server.close());

  it('constructing the client sends nothing', async () => {
    createTwoGisClient({ apiUrl: server.url, login: LOGIN, password: PASSWORD, branches: null });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(server.requests.length, 0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
