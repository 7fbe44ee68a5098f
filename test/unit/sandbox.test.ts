import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TwoGisSandbox } from '../../src/sandbox/twogis.ts';
import { ModelSandbox, REASONING_OPENING, defaultResponder } from '../../src/sandbox/model.ts';
import { FaultScript } from '../../src/sandbox/faults.ts';

interface Json {
  status: number;
  headers: Headers;
  json: any;
}

/** What the cabinet's web page sends; a strict 2GIS sandbox refuses a request without it. */
const CABINET = { origin: 'https://account.2gis.com', referer: 'https://account.2gis.com/', locale: 'ru', 'x-api-key': 'accweb96f8' };

async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; auth?: string } = {},
): Promise<Json> {
  const headers: Record<string, string> = { ...CABINET };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.auth) headers.authorization = opts.auth;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
}

async function login(sb: TwoGisSandbox, l = 'owner', p = 'secret'): Promise<string> {
  const r = await call(sb.url, 'POST', 'users/auth', { body: { login: l, password: p } });
  assert.equal(r.status, 200);
  return r.json.result.access_token as string;
}

function setup(sb: TwoGisSandbox): void {
  sb.addAccount({ login: 'owner', password: 'secret' });
  sb.addOrg({ id: 'org1', name: 'Кофейня ООО', login: 'owner' });
  sb.addBranch({ id: '70000001030466019', name: 'Кофейня', orgId: 'org1' });
}

const BRANCH = '70000001030466019';
const post = (text: string) => ({ text, catalog: '2gis', isOfficialAnswer: true });

describe('TwoGisSandbox', () => {
  let sb: TwoGisSandbox;
  let token: string;
  before(async () => {
    sb = await TwoGisSandbox.start();
    setup(sb);
    token = await login(sb);
  });
  after(() => sb.close());

  it('issues tokens and rejects wrong credentials and missing tokens', async () => {
    const r = await call(sb.url, 'POST', 'users/auth', { body: { login: 'owner', password: 'secret' } });
    assert.match(r.json.result.access_token, /^[0-9a-f]{40}$/);
    assert.match(r.json.result.refresh_token, /^[0-9a-f]{40}$/);
    assert.equal(r.json.result.token_type, 'Bearer');
    assert.equal(r.json.result.expires_in, 3600);
    assert.deepEqual(r.json.meta, { code: 200 });

    const bad = await call(sb.url, 'POST', 'users/auth', { body: { login: 'owner', password: 'nope' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.meta.code, 401);
    assert.equal(typeof bad.json.meta.errors[0].message, 'string');

    assert.equal((await call(sb.url, 'GET', 'users')).status, 401);
    assert.equal((await call(sb.url, 'GET', 'users', { token: 'f'.repeat(40) })).status, 401);

    const refreshed = await call(sb.url, 'POST', 'users/refreshToken', {
      body: { refreshToken: r.json.result.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    const u = await call(sb.url, 'GET', 'users', { token: refreshed.json.result.access_token });
    assert.equal(u.status, 200);
    assert.equal(u.json.result.orgs[0].id, 'org1');
  });

  it('expireTokens and a short TTL invalidate access tokens', async () => {
    const t = await login(sb);
    assert.equal((await call(sb.url, 'GET', 'users', { token: t })).status, 200);
    sb.expireTokens();
    assert.equal((await call(sb.url, 'GET', 'users', { token: t })).status, 401);
    token = await login(sb);

    // Long enough for a loaded machine to use the token once; the wait below is past it.
    const short = await TwoGisSandbox.start({ tokenTtlSeconds: 1 });
    try {
      setup(short);
      const st = await login(short);
      assert.equal((await call(short.url, 'GET', 'users', { token: st })).status, 200);
      await new Promise((r) => setTimeout(r, 1_100));
      assert.equal((await call(short.url, 'GET', 'users', { token: st })).status, 401);
    } finally {
      await short.close();
    }
  });

  it('lists branches page by page', async () => {
    const s = await TwoGisSandbox.start();
    try {
      setup(s);
      for (let i = 2; i <= 5; i++) s.addBranch({ id: `7000000000000000${i}`, name: `B${i}`, orgId: 'org1' });
      const t = await login(s);
      const p1 = await call(s.url, 'GET', 'branches?orgId=org1&page=1&pageSize=3', { token: t });
      assert.equal(p1.json.result.total, 5);
      assert.equal(p1.json.result.items.length, 3);
      assert.deepEqual(Object.keys(p1.json.result.items[0]).sort(), ['address', 'id', 'isActive', 'name']);
      const p2 = await call(s.url, 'GET', 'branches?orgId=org1&page=2&pageSize=3', { token: t });
      assert.equal(p2.json.result.items.length, 2);
      assert.equal((await call(s.url, 'GET', 'branches?orgId=nope', { token: t })).status, 404);
    } finally {
      await s.close();
    }
  });

  it('pages reviews newest first with offsetDate, compares instants, and can repeat the boundary item', async () => {
    const s = await TwoGisSandbox.start();
    try {
      setup(s);
      for (let i = 1; i <= 120; i++) s.addReview(BRANCH, { id: `r${i}`, rating: (i % 5) + 1 });
      // same instant written two ways: ordering must compare instants, not strings
      s.addReview(BRANCH, { id: 'z-old', dateCreated: '2020-01-01T00:00:00.5Z' });
      s.addReview(BRANCH, { id: 'z-older', dateCreated: '2020-01-01T07:00:00.4+07:00' });
      const t = await login(s);
      const walk = async () => {
        const ids: string[] = [];
        let offset: string | null = null;
        let pages = 0;
        for (;;) {
          const q: string = offset === null ? '' : `&offsetDate=${encodeURIComponent(offset)}`;
          const r = await call(s.url, 'GET', `presence/branch/${BRANCH}/reviews?limit=50&pinRequestedFirst=false${q}`, {
            token: t,
          });
          assert.equal(r.status, 200);
          const items = r.json.result.items as { id: string; dateCreated: string }[];
          pages++;
          if (items.length === 0) break;
          ids.push(...items.map((x) => x.id));
          offset = items[items.length - 1]!.dateCreated;
        }
        return { ids, pages };
      };
      const plain = await walk();
      assert.equal(plain.ids.length, 122);
      assert.equal(new Set(plain.ids).size, 122);
      assert.equal(plain.ids[0], 'r120');
      assert.equal(plain.ids[119], 'r1');
      assert.deepEqual(plain.ids.slice(120), ['z-old', 'z-older']);
      assert.equal(plain.pages, 4);

      s.repeatBoundaryItem = true;
      const repeated = await walk();
      assert.ok(repeated.ids.length > 122, 'pages repeat items');
      assert.equal(new Set(repeated.ids).size, 122);
      assert.equal(repeated.ids[50], repeated.ids[49]);

      const first = await call(s.url, 'GET', `presence/branch/${BRANCH}/reviews?limit=50`, { token: t });
      const item = first.json.result.items[0];
      assert.equal(item.rating, 1);
      assert.equal(item.catalog.id, '2gis');
      assert.equal(item.user.name, 'Анна');
      assert.equal(item.attributes.isHidden, false);
      assert.equal(item.allowedActions.reply, true);
      assert.equal(item.hasCompanyComment, false);
      assert.equal(item.firstAnswer, null);
      assert.equal(item.branch.id, BRANCH);
      assert.match(item.dateCreated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+07:00$/);
      assert.equal(first.json.result['2gisReviewsCount'], 122);

      assert.equal((await call(s.url, 'GET', `presence/branch/${BRANCH}/reviews?limit=51`, { token: t })).status, 400);
      assert.equal((await call(s.url, 'GET', 'presence/branch/123/reviews?limit=50', { token: t })).status, 404);
      assert.equal(
        (await call(s.url, 'GET', `presence/branch/${BRANCH}/reviews?offsetDate=yesterday`, { token: t })).status,
        400,
      );
    } finally {
      await s.close();
    }
  });

  it('reads one review with a string rating, posts once, 409s the second, filters withoutAnswer', async () => {
    sb.addReview(BRANCH, { id: 'p1', rating: 4 });
    sb.addReview(BRANCH, { id: 'p2' });
    const one = await call(sb.url, 'GET', 'presence/reviews/p1?catalog=2gis', { token });
    assert.equal(one.status, 200);
    assert.equal(one.json.result.rating, '4');
    assert.equal(one.json.result.firstAnswer, null);
    assert.equal((await call(sb.url, 'GET', 'presence/reviews/nope?catalog=2gis', { token })).status, 404);

    assert.equal((await call(sb.url, 'POST', 'presence/reviews/p1/comments', { token, body: post('') })).status, 400);
    const long = post('я'.repeat(4001));
    assert.equal((await call(sb.url, 'POST', 'presence/reviews/p1/comments', { token, body: long })).status, 400);

    const ok = await call(sb.url, 'POST', 'presence/reviews/p1/comments', { token, body: post('Спасибо!') });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.result.type, 'reply');
    assert.equal(ok.json.result.isOfficialAnswer, true);
    assert.equal(ok.json.result.org.name, 'Кофейня ООО');
    assert.equal(sb.postsTo('p1'), 1);
    assert.deepEqual(sb.answerOf('p1'), { id: ok.json.result.id, text: 'Спасибо!', byUs: true });

    const again = await call(sb.url, 'POST', 'presence/reviews/p1/comments', { token, body: post('Ещё раз') });
    assert.equal(again.status, 409);
    assert.equal(sb.postsTo('p1'), 1);
    const attempts = sb.requests.filter((r) => r.method === 'POST' && r.path === 'presence/reviews/p1/comments');
    assert.deepEqual(
      attempts.map((r) => r.status),
      [400, 400, 200, 409],
    );

    const read = await call(sb.url, 'GET', 'presence/reviews/p1?catalog=2gis', { token });
    assert.equal(read.json.result.hasCompanyComment, true);
    assert.equal(read.json.result.firstAnswer.text, 'Спасибо!');
    assert.equal(read.json.result.firstAnswer.org.name, 'Кофейня ООО');

    const open = await call(sb.url, 'GET', `presence/branch/${BRANCH}/reviews?limit=50&withoutAnswer=true`, { token });
    const openIds = open.json.result.items.map((x: { id: string }) => x.id);
    assert.ok(openIds.includes('p2'));
    assert.ok(!openIds.includes('p1'));

    // comments listing and deleting the answer
    sb.addFollowUp('p1', 'А можно вопрос?');
    const comments = await call(sb.url, 'GET', 'presence/reviews/p1/comments?catalog=2gis&limit=200', { token });
    assert.equal(comments.json.result.items.length, 2);
    assert.equal(comments.json.result.items[0].isOfficialAnswer, true);
    assert.equal(comments.json.result.items[1].user.name, 'Анна');
    const del = await call(
      sb.url,
      'DELETE',
      `presence/reviews/p1/comments/${ok.json.result.id}?catalog=2gis&type=reply`,
      { token },
    );
    assert.equal(del.status, 200);
    assert.equal(sb.answerOf('p1'), null);
  });

  it('answerAsOwner sets hasCompanyComment and is not ours', async () => {
    sb.addReview(BRANCH, { id: 'o1' });
    sb.answerAsOwner('o1', 'Ответ менеджера');
    const r = await call(sb.url, 'GET', 'presence/reviews/o1?catalog=2gis', { token });
    assert.equal(r.json.result.hasCompanyComment, true);
    assert.equal(r.json.result.firstAnswer.text, 'Ответ менеджера');
    assert.equal(sb.answerOf('o1')?.byUs, false);
    assert.equal(sb.postsTo('o1'), 0);
    const p = await call(sb.url, 'POST', 'presence/reviews/o1/comments', { token, body: post('x') });
    assert.equal(p.status, 409);
  });

  it('applies every fault type', async () => {
    sb.addReview(BRANCH, { id: 'f1' });
    const read = 'presence/reviews/f1?catalog=2gis';
    const last = () => sb.requests[sb.requests.length - 1]!;

    sb.faults.add({ path: 'presence/reviews/f1', fault: { type: 'status', status: 429, retryAfterSeconds: 7 } });
    const limited = await call(sb.url, 'GET', read, { token });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.equal(limited.json.meta.code, 429);
    assert.equal(last().status, 429);
    assert.equal((await call(sb.url, 'GET', read, { token })).status, 200, 'times defaults to 1');

    sb.faults.add({ method: 'GET', path: /reviews\/f1$/, fault: { type: 'status', status: 502, body: '<html>502</html>' } });
    const res502 = await fetch(`${sb.url}/${read}`, { headers: { ...CABINET, authorization: `Bearer ${token}` } });
    assert.equal(res502.status, 502);
    assert.equal(await res502.text(), '<html>502</html>');

    sb.faults.add({ path: 'reviews/f1', fault: { type: 'delay', ms: 60 } });
    const t0 = Date.now();
    assert.equal((await call(sb.url, 'GET', read, { token })).status, 200);
    assert.ok(Date.now() - t0 >= 55);

    sb.faults.add({ path: 'reviews/f1', fault: { type: 'reset_before' } });
    await assert.rejects(call(sb.url, 'POST', 'presence/reviews/f1/comments', { token, body: post('a') }));
    assert.equal(sb.postsTo('f1'), 0);
    assert.equal(sb.answerOf('f1'), null);
    assert.equal(last().status, 0);

    sb.faults.add({ path: 'reviews/f1', fault: { type: 'truncated' } });
    const tr = await fetch(`${sb.url}/${read}`, { headers: { ...CABINET, authorization: `Bearer ${token}` } });
    assert.equal(tr.status, 200);
    const trText = await tr.text();
    assert.ok(trText.length > 0);
    assert.throws(() => JSON.parse(trText));

    sb.faults.add({ path: 'reviews/f1', fault: { type: 'empty' } });
    const em = await fetch(`${sb.url}/${read}`, { headers: { ...CABINET, authorization: `Bearer ${token}` } });
    assert.equal(em.status, 200);
    assert.equal(await em.text(), '');

    sb.faults.add({ method: 'POST', path: 'reviews/f1/comments', fault: { type: 'reset_after' } });
    await assert.rejects(call(sb.url, 'POST', 'presence/reviews/f1/comments', { token, body: post('Спасибо') }));
    assert.equal(sb.postsTo('f1'), 1, 'the answer is stored although the client saw a socket error');
    assert.equal(sb.answerOf('f1')?.text, 'Спасибо');
    assert.equal(last().status, 0);

    sb.faults.add({ path: 'reviews/f1', fault: { type: 'hang' } });
    const ac = new AbortController();
    const hung = fetch(`${sb.url}/${read}`, { headers: { ...CABINET, authorization: `Bearer ${token}` }, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(hung);
    assert.equal(last().status, 0);

    sb.faults.add({ path: 'users', fault: { type: 'status', status: 503 }, times: 2 });
    assert.equal((await call(sb.url, 'GET', 'users', { token })).status, 503);
    assert.equal((await call(sb.url, 'GET', 'users', { token })).status, 503);
    assert.equal((await call(sb.url, 'GET', 'users', { token })).status, 200);
    assert.equal(sb.faults.pending, 0);
  });

  it('refuses (403) a cabinet request without the headers the cabinet page sends, each one of them', async () => {
    for (const left of Object.keys(CABINET)) {
      const headers: Record<string, string> = { ...CABINET, 'content-type': 'application/json' };
      delete headers[left];
      const res = await fetch(`${sb.url}/users/auth`, { method: 'POST', headers, body: JSON.stringify({ login: 'owner', password: 'secret' }) });
      assert.equal(res.status, 403, `without ${left}`);
    }
  });

  it('close() ends promptly even with a hung request', async () => {
    const s = await TwoGisSandbox.start();
    setup(s);
    s.faults.add({ path: 'users/auth', fault: { type: 'hang' } });
    const pending = fetch(`${s.url}/users/auth`, { method: 'POST', headers: CABINET, body: '{}' }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    await s.close();
    assert.ok(Date.now() - t0 < 500);
    assert.ok((await pending) instanceof Error);
  });

  it('applies latencyMs to every response', async () => {
    sb.latencyMs = 40;
    try {
      const t0 = Date.now();
      assert.equal((await call(sb.url, 'GET', 'users', { token })).status, 200);
      assert.ok(Date.now() - t0 >= 35);
    } finally {
      sb.latencyMs = 0;
    }
  });
});

describe('FaultScript', () => {
  it('random faults are deterministic for a seed', () => {
    const run = () => {
      const f = new FaultScript();
      f.random({ rate: 0.3, faults: [{ type: 'reset_before' }, { type: 'status', status: 500 }], seed: 42 });
      return Array.from({ length: 200 }, () => f.take('GET', 'x')?.type ?? '-');
    };
    const a = run();
    assert.deepEqual(a, run());
    assert.ok(a.includes('reset_before') && a.includes('status'));
    const hits = a.filter((c) => c !== '-').length;
    assert.ok(hits > 30 && hits < 90, `about 30% of 200, got ${hits}`);
    const f = new FaultScript();
    f.random({ path: 'only', rate: 1, faults: [{ type: 'empty' }] });
    assert.equal(f.take('GET', 'other'), null);
    assert.equal(f.take('GET', 'only/this')?.type, 'empty');
    f.clear();
    assert.equal(f.take('GET', 'only/this'), null);
  });
});

describe('ModelSandbox', () => {
  let m: ModelSandbox;
  before(async () => {
    m = await ModelSandbox.start();
  });
  after(() => m.close());

  const complete = (content: string, extra: Record<string, unknown> = {}, auth?: string) =>
    call(m.url, 'POST', 'chat/completions', {
      body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content }], ...extra },
      ...(auth ? { auth } : {}),
    });

  it('lists models', async () => {
    const r = await call(m.url, 'GET', 'models');
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'list');
    assert.deepEqual(r.json.data.map((model: { id: string }) => model.id), ['gpt-5-mini', 'gpt-4o-mini']);
    assert.equal(r.json.data[0].owned_by, 'sandbox');
  });

  it('answers in the language of the last user message, in the OpenAI shape', async () => {
    const ru = await complete('Отзыв: Всё понравилось, спасибо!');
    assert.equal(ru.status, 200);
    assert.equal(ru.json.object, 'chat.completion');
    assert.match(ru.json.id, /^chatcmpl-/);
    assert.equal(ru.json.model, 'gpt-4o-mini');
    const choice = ru.json.choices[0];
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.finish_reason, 'stop');
    assert.match(choice.message.content, /[а-яё]/i);
    assert.doesNotMatch(choice.message.content, /https?:|@|\+?\d[\d\s()-]{6,}/);
    const u = ru.json.usage;
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    assert.equal(u.completion_tokens, Math.ceil(choice.message.content.length / 4));

    const en = await complete('Review: great coffee, friendly staff');
    assert.doesNotMatch(en.json.choices[0].message.content, /[а-яё]/i);
    assert.match(en.json.choices[0].message.content, /Thank/);

    const again = await complete('Review: great coffee, friendly staff');
    assert.equal(again.json.choices[0].message.content, en.json.choices[0].message.content, 'deterministic');

    const variants = new Set<string>();
    for (let i = 0; i < 40; i++) {
      variants.add(defaultResponder({ messages: [{ role: 'user', content: `отзыв ${i}` }], model: 'x', body: {} }).text);
    }
    assert.ok(variants.size >= 3);
    assert.equal(m.requests.filter((r) => r.path === 'chat/completions').length, 3);
  });

  it('rejects streaming, honours a custom responder, latency and faults', async () => {
    assert.equal((await complete('hi', { stream: true })).status, 400);
    const bad = await call(m.url, 'POST', 'chat/completions', { body: { model: 'x' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.type, 'invalid_request_error');

    m.responder = (req) => ({ text: `echo ${req.messages.length}`, finishReason: 'length' });
    try {
      const r = await complete('hi');
      assert.equal(r.json.choices[0].message.content, 'echo 2');
      assert.equal(r.json.choices[0].finish_reason, 'length');
    } finally {
      m.responder = defaultResponder;
    }

    m.latencyMs = 40;
    const t0 = Date.now();
    await complete('hi');
    assert.ok(Date.now() - t0 >= 35);
    m.latencyMs = 0;

    m.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 429, retryAfterSeconds: 1 } });
    const limited = await complete('hi');
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, 'rate_limit_exceeded');
    assert.equal(limited.headers.get('retry-after'), '1');
  });

  it('requires the api key when one is set', async () => {
    const k = await ModelSandbox.start({ apiKey: 'sk-test' });
    try {
      const none = await call(k.url, 'GET', 'models');
      assert.equal(none.status, 401);
      assert.equal(none.json.error.code, 'invalid_api_key');
      assert.equal((await call(k.url, 'GET', 'models', { auth: 'Bearer wrong' })).status, 401);
      assert.equal((await call(k.url, 'GET', 'models', { auth: 'Bearer sk-test' })).status, 200);
    } finally {
      await k.close();
    }
  });

  describe('dialects', () => {
    const ask = (sandbox: ModelSandbox, extra: Record<string, unknown>) =>
      call(sandbox.url, 'POST', 'chat/completions', {
        body: { model: 'any', messages: [{ role: 'user', content: '<<<REVIEW\nВкусный кофе\nREVIEW>>>' }], ...extra },
      });

    it('openai-reasoning answers max_tokens and a non-default temperature with OpenAI\'s own 400 bodies', async () => {
      const sandbox = await ModelSandbox.start({ dialect: 'openai-reasoning', reasoningTokens: 100 });
      try {
        const tokens = await ask(sandbox, { max_tokens: 600 });
        assert.equal(tokens.status, 400);
        assert.deepEqual(tokens.json, {
          error: {
            message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            type: 'invalid_request_error',
            param: 'max_tokens',
            code: 'unsupported_parameter',
          },
        });
        const temperature = await ask(sandbox, { max_completion_tokens: 600, temperature: 0.7 });
        assert.equal(temperature.status, 400);
        assert.deepEqual(temperature.json, {
          error: {
            message: "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.",
            type: 'invalid_request_error',
            param: 'temperature',
            code: 'unsupported_value',
          },
        });
        const ok = await ask(sandbox, { max_completion_tokens: 600, temperature: 1 });
        assert.equal(ok.status, 200);
        assert.equal(ok.json.choices[0].finish_reason, 'stop');
        assert.doesNotMatch(ok.json.choices[0].message.content, /think/i);
        assert.equal(ok.json.usage.completion_tokens_details.reasoning_tokens, 100);
        assert.ok(ok.json.usage.completion_tokens > 100);
        // A budget the reasoning spends whole: an empty answer that ends with length, as OpenAI's does.
        const spent = await ask(sandbox, { max_completion_tokens: 80 });
        assert.deepEqual([spent.json.choices[0].message.content, spent.json.choices[0].finish_reason], ['', 'length']);
        assert.equal(spent.json.usage.completion_tokens, 80);
      } finally {
        await sandbox.close();
      }
    });

    it('think writes <think>…</think> before the answer, cut off inside it by a short budget', async () => {
      const sandbox = await ModelSandbox.start({ dialect: 'think', reasoningTokens: 200 });
      try {
        const whole = await ask(sandbox, { max_tokens: 600, temperature: 0.7 });
        const content: string = whole.json.choices[0].message.content;
        assert.ok(content.startsWith(`<think>\n${REASONING_OPENING}`), content);
        assert.match(content, /<\/think>\n\n\S/);
        assert.match(content, /Вкусный кофе/, 'it thinks about the review');
        assert.equal(whole.json.choices[0].finish_reason, 'stop');
        const cut = await ask(sandbox, { max_tokens: 100 });
        assert.equal(cut.json.choices[0].finish_reason, 'length');
        assert.ok(cut.json.choices[0].message.content.startsWith('<think>'));
        assert.ok(!cut.json.choices[0].message.content.includes('</think>'));
      } finally {
        await sandbox.close();
      }
    });

    it('reasoning-content puts the reasoning beside the answer, as DeepSeek does', async () => {
      const sandbox = await ModelSandbox.start({ dialect: 'reasoning-content', reasoningTokens: 50 });
      try {
        const r = await ask(sandbox, { max_tokens: 600 });
        const message = r.json.choices[0].message;
        assert.ok(message.reasoning_content.startsWith(REASONING_OPENING));
        assert.ok(!message.content.includes(REASONING_OPENING));
        assert.match(message.content, /[а-яё]/i);
        assert.equal(r.json.usage.completion_tokens_details.reasoning_tokens, 50);
      } finally {
        await sandbox.close();
      }
    });

    it('a server without a model list answers 404 to GET /models and still completes', async () => {
      const sandbox = await ModelSandbox.start({ listsModels: false });
      try {
        assert.equal((await call(sandbox.url, 'GET', 'models')).status, 404);
        assert.equal((await ask(sandbox, {})).status, 200);
      } finally {
        await sandbox.close();
      }
    });
  });
});
