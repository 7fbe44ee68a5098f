import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ModelSandbox } from '../../src/sandbox/model.ts';
import { createOpenAiModel } from '../../src/adapters/openai/model.ts';
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

  it('uses the defaults temperature 0.7 and max_tokens 600, and reports a length finish', async () => {
    sb.responder = () => ({ text: 'x'.repeat(4000) });
    const result = await model().complete(MESSAGES);
    assert.equal(result.finishReason, 'length');
    const body = sb.requests.find((r) => r.path === 'chat/completions')?.body as Record<string, unknown>;
    assert.equal(body.temperature, 0.7);
    assert.equal(body.max_tokens, 600);
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

  it('a slow server is "unavailable" within the deadline', async () => {
    sb.faults.add({ path: 'chat/completions', fault: { type: 'hang' } });
    const started = Date.now();
    const error = await rejectsWith(model({ timeoutMs: 200 }).complete(MESSAGES), 'unavailable');
    const took = Date.now() - started;
    assert.ok(took >= 190 && took < 1500, `took ${took} ms`);
    assert.match(error.message, /^cannot reach the model at 127\.0\.0\.1:\d+: /);
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
