import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ModelSandbox, REASONING_OPENING } from '../../src/sandbox/model.ts';
import { ANSWER_TOKENS, REASONING_ROOM, createOpenAiModel, isReasoningFamily, withoutReasoning } from '../../src/adapters/openai/model.ts';
import type { OpenAiModelOptions } from '../../src/adapters/openai/model.ts';
import { ServiceError } from '../../src/errors.ts';
import type { ServiceErrorKind } from '../../src/errors.ts';
import type { ChatMessage, Model } from '../../src/core/ports.ts';

const API_KEY = 'sk-SENTINEL-KEY-5d1e0b7a';
const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You answer reviews.' },
  { role: 'user', content: '<review>Всё понравилось</review>' },
];

let sb: ModelSandbox;

function model(overrides: Partial<OpenAiModelOptions> = {}): Model {
  return createOpenAiModel({
    baseURL: sb.url,
    apiKey: API_KEY,
    model: 'gpt-4o-mini',
    timeoutMs: 2000,
    maxRetries: 0,
    ...overrides,
  });
}

async function rejectsWith(promise: Promise<unknown>, kind: ServiceErrorKind, key = API_KEY): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ServiceError, `expected a ServiceError, got ${String(error)}`);
    assert.equal(error.service, 'model');
    assert.equal(error.kind, kind, `expected kind ${kind}, got ${error.kind}: ${error.message}`);
    const text = `${error.message} ${error.hint ?? ''} ${String(error.cause ?? '')}`;
    assert.ok(!text.includes(key), `the API key leaked: ${text}`);
    return error;
  }
  assert.fail(`expected a ServiceError of kind ${kind}, but the call succeeded`);
}

const completions = () => sb.requests.filter((r) => r.path === 'chat/completions').length;

describe('OpenAI-compatible model against the sandbox', () => {
  beforeEach(async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY });
  });
  afterEach(() => sb.close());

  it('completes with text, finish reason, model and usage, sending the configured parameters', async () => {
    sb.responder = () => ({ text: 'Спасибо за отзыв! Ждём вас снова.' });
    const result = await model({ temperature: 0.3, maxTokens: 200 }).complete(MESSAGES);
    assert.deepEqual(result, {
      text: 'Спасибо за отзыв! Ждём вас снова.',
      finishReason: 'stop',
      model: 'gpt-4o-mini',
      promptTokens: Math.ceil(MESSAGES[0]!.content.length / 4) + Math.ceil(MESSAGES[1]!.content.length / 4),
      completionTokens: Math.ceil('Спасибо за отзыв! Ждём вас снова.'.length / 4),
    });
    const request = sb.requests.find((r) => r.path === 'chat/completions');
    assert.equal(request?.headers.authorization, `Bearer ${API_KEY}`);
    assert.deepEqual(request?.body, { model: 'gpt-4o-mini', messages: MESSAGES, temperature: 0.3, max_tokens: 200 });
  });

  it('sends no temperature unless one is configured, max_tokens 600 to a classic model, and reports a length finish', async () => {
    sb.responder = () => ({ text: 'x'.repeat(4000) });
    const result = await model().complete(MESSAGES);
    assert.equal(result.finishReason, 'length');
    const body = sb.requests.find((r) => r.path === 'chat/completions')?.body as Record<string, unknown>;
    assert.ok(!('temperature' in body), 'no temperature');
    assert.equal(body.max_tokens, 600);
    assert.ok(!('max_completion_tokens' in body));
  });

  it('checkReachable lists models', async () => {
    await model().checkReachable();
    assert.deepEqual(
      sb.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      ['GET models 200'],
    );
  });

  it('a wrong key is "auth" and the key appears nowhere in the error', async () => {
    const wrong = 'sk-WRONG-KEY-0000-1111';
    const error = await rejectsWith(model({ apiKey: wrong }).complete(MESSAGES), 'auth', wrong);
    assert.equal(error.message, 'the model endpoint refused the API key');
    assert.equal(error.status, 401);
    assert.match(error.hint ?? '', /OPENAI_API_KEY/);
    assert.ok(!JSON.stringify({ ...error, message: error.message, stack: error.stack }).includes(wrong));
    await rejectsWith(model({ apiKey: wrong }).checkReachable(), 'auth', wrong);
    sb.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 403 } });
    await rejectsWith(model().complete(MESSAGES), 'auth');
  });

  it('an unknown path (wrong baseURL) is "rejected" with a hint', async () => {
    const error = await rejectsWith(model({ baseURL: `${sb.url}/nope` }).checkReachable(), 'rejected');
    assert.equal(error.status, 404);
    assert.match(error.message, /404/);
    assert.match(error.hint ?? '', /openai\.baseURL/);
  });

  it('400 is "rejected" with the server message', async () => {
    sb.faults.add({
      path: 'chat/completions',
      fault: { type: 'status', status: 400, body: `{"error":{"message":"bad model for key ${API_KEY}","type":"invalid_request_error"}}` },
    });
    const error = await rejectsWith(model().complete(MESSAGES), 'rejected');
    assert.match(error.message, /bad model for key \*\*\*/);
  });

  it('500 and 429 are "unavailable"; the SDK retries them maxRetries times', async () => {
    sb.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 500 }, times: Infinity });
    const error = await rejectsWith(model({ maxRetries: 1 }).complete(MESSAGES), 'unavailable');
    assert.equal(error.status, 500);
    assert.equal(completions(), 2);

    sb.faults.clear();
    sb.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 429 } });
    await rejectsWith(model().complete(MESSAGES), 'unavailable');

    // a transient 503 is absorbed by the SDK's retry
    sb.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 503, retryAfterSeconds: 0 } });
    const ok = await model({ maxRetries: 1 }).complete(MESSAGES);
    assert.ok(ok.text.length > 0);
  });

  it('a slow server is "unavailable" within the deadline, and the hint names the key that raises it', async () => {
    sb.faults.add({ path: 'chat/completions', fault: { type: 'hang' } });
    const started = Date.now();
    const error = await rejectsWith(model({ timeoutMs: 200 }).complete(MESSAGES), 'unavailable');
    const took = Date.now() - started;
    assert.ok(took >= 190 && took < 1500, `took ${took} ms`);
    assert.match(error.message, /^cannot reach the model at 127\.0\.0\.1:\d+: no answer within 0\.2 s/);
    assert.match(error.hint ?? '', /openai\.timeoutSeconds/);
    assert.doesNotMatch(error.hint ?? '', /timeoutMs/);
  });

  it('a refused connection is "unavailable" naming the host', async () => {
    const port = await freePort();
    const error = await rejectsWith(
      createOpenAiModel({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: API_KEY, model: 'm', maxRetries: 0 }).complete(MESSAGES),
      'unavailable',
    );
    assert.match(error.message, new RegExp(`^cannot reach the model at 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });

  it('malformed answers are "bad_response": no choices, plain text, truncated JSON', async () => {
    sb.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 200, body: '{"id":"x","model":"m","choices":[]}' } });
    await rejectsWith(model().complete(MESSAGES), 'bad_response');
    sb.faults.add({ path: 'chat/completions', fault: { type: 'status', status: 200, body: 'Hello there' } });
    await rejectsWith(model().complete(MESSAGES), 'bad_response');
    sb.faults.add({ path: 'chat/completions', fault: { type: 'truncated' } });
    await rejectsWith(model().complete(MESSAGES), 'bad_response');
  });

  it('a body over the limit is stopped there and named, once: 1 MiB for an answer, 8 MiB for the model list', async () => {
    sb.responder = () => ({ text: 'Спасибо за отзыв!' });
    // 64 GiB, written as the client reads: a client that held the body first would never come back.
    sb.faults.add({ method: 'POST', path: 'chat/completions', fault: { type: 'huge', bytes: 64 * 1024 ** 3 } });
    const answer = await rejectsWith(model({ maxRetries: 2 }).complete(MESSAGES), 'bad_response');
    assert.match(answer.message, /^the model at 127\.0\.0\.1:\d+ sent more than 1 MiB in answer to POST \/chat\/completions \(the limit for one response\)/);
    assert.equal(completions(), 1, 'not retried: the same body would come again');
    sb.faults.add({ method: 'POST', path: 'chat/completions', fault: { type: 'huge', bytes: 2 * 1024 * 1024, declareLength: true } });
    await rejectsWith(model().complete(MESSAGES), 'bad_response');
    sb.faults.add({ method: 'POST', path: 'chat/completions', fault: { type: 'huge', bytes: 512 * 1024 } });
    assert.equal((await model().complete(MESSAGES)).text, 'Спасибо за отзыв!', 'under the limit a padded answer is read');

    sb.faults.add({ method: 'GET', path: 'models', fault: { type: 'huge', bytes: 4 * 1024 * 1024 } });
    await model().checkReachable();
    sb.faults.add({ method: 'GET', path: 'models', fault: { type: 'huge', bytes: 64 * 1024 ** 3 } });
    const list = await rejectsWith(model().checkReachable(), 'bad_response');
    assert.match(list.message, /more than 8 MiB in answer to GET \/models/);
  });

  it('a null content is an empty text (the reply gate rejects it later), missing fields get defaults', async () => {
    sb.faults.add({
      path: 'chat/completions',
      fault: {
        type: 'status',
        status: 200,
        body: '{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null}}]}',
      },
    });
    assert.deepEqual(await model().complete(MESSAGES), {
      text: '',
      finishReason: 'unknown',
      model: 'gpt-4o-mini',
      promptTokens: null,
      completionTokens: null,
    });
  });

  it('an abort from the caller is rethrown as the abort, not mapped', async () => {
    sb.latencyMs = 1000;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    await assert.rejects(model().complete(MESSAGES, controller.signal), (error: unknown) => {
      assert.ok(!(error instanceof ServiceError));
      assert.equal((error as Error).name, 'AbortError');
      return true;
    });
    assert.ok(Date.now() - started < 800);
  });
});

/** The chat completion requests the sandbox saw: their status and body. */
const chats = () => sb.requests.filter((r) => r.path === 'chat/completions').map((r) => ({ status: r.status, body: r.body as Record<string, unknown> }));

describe('model dialects', () => {
  afterEach(() => sb.close());

  it("OpenAI's reasoning families get max_completion_tokens with room for reasoning from the first request", async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY, dialect: 'openai-reasoning', reasoningTokens: 300 });
    for (const name of ['gpt-5-mini', 'gpt-5', 'gpt-5.1', 'o1', 'o3-mini', 'o4-mini', 'openai/gpt-5-nano']) {
      assert.ok(isReasoningFamily(name), name);
      const result = await model({ model: name }).complete(MESSAGES, undefined, { seed: 7 });
      assert.equal(result.finishReason, 'stop', name);
      assert.ok(result.text.length > 0);
    }
    for (const name of ['gpt-4o-mini', 'gpt-4.1', 'qwen3:8b', 'deepseek-reasoner', 'omni-moderation-latest', 'yandexgpt/latest', 'GigaChat-2']) {
      assert.ok(!isReasoningFamily(name), name);
    }
    assert.ok(chats().every((chat) => chat.status === 200), 'no refusal');
    for (const { body } of chats()) {
      assert.equal(body.max_completion_tokens, ANSWER_TOKENS + REASONING_ROOM);
      assert.ok(!('max_tokens' in body) && !('temperature' in body));
      assert.equal(body.seed, 7);
    }
  });

  it('another name learns max_completion_tokens and drops a refused temperature from one 400 each, for the life of the adapter', async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY, dialect: 'openai-reasoning', reasoningTokens: 100 });
    const notes: string[] = [];
    const deployment = model({ model: 'reviews-deployment', temperature: 0.7, onAdjust: (note) => notes.push(note) });
    const first = await deployment.complete(MESSAGES);
    assert.equal(first.finishReason, 'stop');
    assert.deepEqual(
      chats().map((chat) => [chat.status, Object.keys(chat.body).filter((key) => key !== 'model' && key !== 'messages').sort().join(',')]),
      [
        [400, 'max_tokens,temperature'],
        [400, 'max_completion_tokens,temperature'],
        [200, 'max_completion_tokens'],
      ],
    );
    assert.equal(notes.length, 3, notes.join('\n'));
    assert.match(notes[0]!, /does not take max_tokens: sending max_completion_tokens/);
    assert.match(notes[1]!, /refused openai\.temperature \(0\.7\)/);
    assert.match(notes[2]!, /reasons before it answers/);

    // Four workers at once: the first three sent what the server takes; nothing refused again.
    await Promise.all([1, 2, 3, 4].map(() => deployment.complete(MESSAGES)));
    assert.deepEqual(chats().slice(3).map((chat) => chat.status), [200, 200, 200, 200]);
    assert.ok(chats().slice(3).every((chat) => chat.body.max_completion_tokens === ANSWER_TOKENS + REASONING_ROOM));
    assert.equal(notes.length, 3);
  });

  it('workers that start together wait for the first call, so the dialect is learnt from one refusal', async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY, dialect: 'openai-reasoning', reasoningTokens: 100 });
    const deployment = model({ model: 'reviews-deployment' });
    const results = await Promise.all([1, 2, 3, 4].map(() => deployment.complete(MESSAGES)));
    assert.ok(results.every((result) => result.finishReason === 'stop'));
    assert.equal(chats().filter((chat) => chat.status === 400).length, 1);
  });

  it('a server that does not take max_completion_tokens gets max_tokens, and a refused seed is dropped', async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY });
    sb.faults.add({
      path: 'chat/completions',
      fault: {
        type: 'status',
        status: 400,
        body: '{"error":{"message":"Unrecognized request argument supplied: max_completion_tokens","type":"invalid_request_error","param":null,"code":null}}',
      },
    });
    sb.faults.add({
      path: 'chat/completions',
      fault: { type: 'status', status: 422, body: '{"error":"Extra inputs are not permitted: seed"}' },
    });
    const gateway = model({ model: 'gpt-5-mini' });
    const result = await gateway.complete(MESSAGES, undefined, { seed: 1 });
    assert.ok(result.text.length > 0);
    assert.deepEqual(
      chats().map((chat) => chat.status),
      [400, 422, 200],
    );
    const last = chats().at(-1)!.body;
    assert.ok('max_tokens' in last && !('max_completion_tokens' in last) && !('seed' in last));
    await gateway.complete(MESSAGES, undefined, { seed: 2 });
    assert.equal(chats().at(-1)!.status, 200);
    assert.ok(!('seed' in chats().at(-1)!.body));
  });

  it('a 400 about something else is not adjusted, and a server that refuses both budget fields ends it', async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY });
    sb.faults.add({
      path: 'chat/completions',
      fault: {
        type: 'status',
        status: 400,
        body: `{"error":{"message":"'max_tokens' is too large: ${ANSWER_TOKENS}. This model's maximum context length is 512 tokens.","type":"BadRequestError","param":null,"code":400}}`,
      },
    });
    await rejectsWith(model().complete(MESSAGES), 'rejected');
    assert.equal(chats().length, 1);

    const refuse = (field: string) => ({
      path: 'chat/completions',
      fault: {
        type: 'status' as const,
        status: 400,
        body: `{"error":{"message":"Unsupported parameter: '${field}'","type":"invalid_request_error","param":"${field}","code":"unsupported_parameter"}}`,
      },
    });
    sb.faults.add(refuse('max_tokens'));
    sb.faults.add(refuse('max_completion_tokens'));
    sb.faults.add(refuse('max_tokens'));
    await rejectsWith(model().complete(MESSAGES), 'rejected');
    assert.equal(chats().length, 1 + 3, 'each field tried once, then the refusal is the answer');
  });

  it('a <think> model: the thinking is cut out, and a budget spent thinking is raised once, for good', async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY, dialect: 'think', reasoningTokens: 1000 });
    const qwen = model({ model: 'qwen3:8b' });
    const first = await qwen.complete(MESSAGES);
    assert.equal(first.finishReason, 'stop');
    assert.ok(!first.text.includes(REASONING_OPENING) && !/think>/.test(first.text), first.text);
    assert.match(first.text, /^\S/);
    assert.deepEqual(
      chats().map((chat) => [chat.body.max_tokens, chat.status]),
      [
        [ANSWER_TOKENS, 200],
        [ANSWER_TOKENS + REASONING_ROOM, 200],
      ],
    );
    assert.ok(first.completionTokens! > ANSWER_TOKENS + 1000, 'the tokens of both calls are counted');
    await qwen.complete(MESSAGES);
    assert.deepEqual(chats().map((chat) => chat.body.max_tokens), [ANSWER_TOKENS, ANSWER_TOKENS + REASONING_ROOM, ANSWER_TOKENS + REASONING_ROOM]);
  });

  it('openai.maxTokens is sent as is and never raised: a budget spent thinking is an empty, unfinished answer', async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY, dialect: 'think', reasoningTokens: 1000 });
    const result = await model({ model: 'qwen3:8b', maxTokens: 300 }).complete(MESSAGES);
    assert.deepEqual([result.text, result.finishReason], ['', 'length']);
    assert.deepEqual(chats().map((chat) => chat.body.max_tokens), [300]);
  });

  it("DeepSeek's reasoning_content is never read as the answer", async () => {
    sb = await ModelSandbox.start({ apiKey: API_KEY, dialect: 'reasoning-content', reasoningTokens: 200 });
    const result = await model({ model: 'deepseek-reasoner' }).complete(MESSAGES);
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.text.length > 0 && !result.text.includes(REASONING_OPENING));
  });

  it('a keyless server gets no Authorization header', async () => {
    sb = await ModelSandbox.start({ listsModels: false });
    const local = createOpenAiModel({ baseURL: sb.url, model: 'llama3.2', maxRetries: 0 });
    assert.ok((await local.complete(MESSAGES)).text.length > 0);
    const error = await rejectsWith(local.checkReachable(), 'rejected');
    assert.equal(error.status, 404);
    assert.ok(sb.requests.every((request) => request.headers.authorization === undefined));
  });
});

describe('withoutReasoning', () => {
  const cases: Array<[string, string, string, boolean]> = [
    ['no reasoning', 'Спасибо за отзыв!', 'Спасибо за отзыв!', false],
    ['a closed block', '<think>\nThe user is happy.\n</think>\n\nСпасибо за отзыв!', 'Спасибо за отзыв!', true],
    ['two blocks', '<think>a</think>Спасибо! <think>b</think>Ждём вас.', 'Спасибо! Ждём вас.', true],
    ['an unclosed block at the start (the budget ran out)', '<think>\nThe user wrote about coffee, so I', '', true],
    ['a lone closing tag (the template opened the block)', 'The user is happy, answer warmly.\n</think>\nСпасибо!', 'Спасибо!', true],
    ['an unclosed block after the answer', 'Спасибо! <think>hmm, maybe add', 'Спасибо!', true],
    ['<thinking> tags', '<thinking>plan</thinking>Thank you!', 'Thank you!', true],
    ['upper case', '<THINK>plan</THINK>Thank you!', 'Thank you!', true],
  ];
  for (const [name, content, text, reasoned] of cases) {
    it(name, () => assert.deepEqual(withoutReasoning(content), { text, reasoned }));
  }
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
