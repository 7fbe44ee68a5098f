// When a failed review is tried again (core/answering/retries.ts), and the repeat rule that compares only with answers that
// were posted (issue 18, items 2 and 9): the decision alone, then through cycles over fakes with a manual clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { canPass, MAX_TRIES, modelSettingsFingerprint, retryAfterFailure } from '../../src/core/answering/retries.ts';
import { requireListed } from '../../src/commands/checks.ts';
import { ServiceError } from '../../src/errors.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

const MINUTE = 60_000;
const NOW = new Date('2026-01-01T00:00:00.000Z');
const modelTypo = () => new ServiceError('model', 'rejected', 'the model at api.example answered 404 to POST /chat/completions', { status: 404 });

describe('the retry decision', () => {
  test('10 minutes, doubling, for five tries under the same settings; then none', () => {
    const pauses = [0, 1, 2, 3, 4].map((before) => retryAfterFailure(before, 'A', NOW));
    assert.deepEqual(
      pauses.map((retry) => [retry.tries, retry.at && (retry.at.getTime() - NOW.getTime()) / MINUTE]),
      [[1, 10], [2, 20], [3, 40], [4, 80], [5, null]],
    );
    assert.equal(MAX_TRIES, 5);
    assert.equal(retryAfterFailure(9, 'A', NOW).at, null);
    assert.equal(retryAfterFailure(0, 'B', NOW).settings, 'B');
  });

  test('a model that refused the request or answered what cannot be read can pass; nothing else fails a review for retry', () => {
    assert.equal(canPass(modelTypo()), true);
    assert.equal(canPass(new ServiceError('model', 'bad_response', 'not JSON')), true);
    for (const kind of ['unavailable', 'auth', 'blocked', 'outcome_unknown'] as const) assert.equal(canPass(new ServiceError('model', kind, kind)), false, kind);
    assert.equal(canPass(new ServiceError('2gis', 'rejected', '2GIS rejected the answer with 400')), false);
    assert.equal(canPass(new Error('a bug')), false);
  });

  test('the settings digest changes with the endpoint, the model, the key and the request settings, and holds no key', () => {
    const base = { baseURL: 'https://api.openai.com/v1', model: 'gpt-5-mini', apiKey: 'sk-secret-key-1234' };
    const digest = modelSettingsFingerprint(base);
    assert.equal(modelSettingsFingerprint({ ...base }), digest);
    for (const changed of [{ model: 'gpt-5-mnii' }, { baseURL: 'http://localhost:11434/v1' }, { apiKey: 'sk-secret-key-1235' }, { apiKey: undefined }, { temperature: 0.2 }, { maxTokens: 300 }]) {
      assert.notEqual(modelSettingsFingerprint({ ...base, ...changed }), digest, JSON.stringify(changed));
    }
    assert.match(digest, /^[0-9a-f]{32}$/);
    assert.ok(!digest.includes('secret'));
  });
});

describe('a failed review through cycles', () => {
  test('a mistyped model: failed, tried again when due and not before, five times; then only when the settings change', async () => {
    const { deps, store, twogis, model, clock } = pipeline();
    deps.settings = { ...testSettings, modelSettings: 'typo' };
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' })];
    model.reply = () => modelTypo();

    const first = await runCycle(deps);
    assert.equal(first.failed, 1);
    const failed = store.reviews.get('1')!;
    assert.equal(failed.state, 'failed');
    assert.match(failed.reason!, /the model failed: .*404/);
    assert.equal(failed.retryAt?.getTime(), clock.now().getTime() + 10 * MINUTE);
    const event = store.events.find((one) => one.type === 'reply.failed')!;
    assert.equal(event.data.retryAt, failed.retryAt!.toISOString());
    // What the failure is, by its code beside the English words: on the row and in the event.
    assert.equal(failed.reasonCode, 'model_failed');
    assert.equal(event.data.code, 'model_failed');
    assert.equal(store.reserved, 0n, 'its reserve is released');

    clock.advance(9 * MINUTE);
    await runCycle(deps);
    assert.equal(model.calls.length, 1, 'not due: not tried');
    const pauses: number[] = [];
    for (let attempt = 2; attempt <= MAX_TRIES; attempt += 1) {
      clock.current = store.reviews.get('1')!.retryAt!;
      const started = clock.now().getTime();
      await runCycle(deps);
      assert.equal(model.calls.length, attempt);
      const retryAt = store.reviews.get('1')!.retryAt;
      if (retryAt) pauses.push((retryAt.getTime() - started) / MINUTE);
    }
    assert.deepEqual(pauses, [20, 40, 80]);
    assert.deepEqual([store.reviews.get('1')!.state, store.reviews.get('1')!.failedTries, store.reviews.get('1')!.retryAt], ['failed', 5, null]);
    clock.advance(30 * 24 * 60 * MINUTE);
    await runCycle(deps);
    assert.equal(model.calls.length, MAX_TRIES, 'after the last try it waits for a person or new settings');

    // The operator fixes openai.model: at once, and answered once, charged once.
    deps.settings = { ...testSettings, modelSettings: 'fixed' };
    model.reply = () => ({});
    const fixed = await runCycle(deps);
    assert.deepEqual([fixed.posted, fixed.charged], [1, 500n]);
    assert.equal(store.reviews.get('1')!.state, 'posted');
    await runCycle(deps);
    assert.equal(twogis.posts.get('1'), 1);
    assert.deepEqual(store.checkInvariants(twogis.answeredByUs()), []);
  });

  test('new settings that fail too start their own count', async () => {
    const { deps, store, twogis, model, clock } = pipeline();
    deps.settings = { ...testSettings, modelSettings: 'A' };
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' })];
    model.reply = () => modelTypo();
    await runCycle(deps);
    clock.current = store.reviews.get('1')!.retryAt!;
    await runCycle(deps);
    assert.equal(store.reviews.get('1')!.failedTries, 2);
    deps.settings = { ...testSettings, modelSettings: 'B' };
    await runCycle(deps);
    assert.equal(model.calls.length, 3, 'tried at once under the new settings');
    assert.equal(store.reviews.get('1')!.failedTries, 1);
    assert.equal(store.reviews.get('1')!.retryAt?.getTime(), clock.now().getTime() + 10 * MINUTE);
  });

  test('2GIS refusing the answer fails the review for a person: never tried again by itself', async () => {
    const { deps, store, twogis, model, clock } = pipeline();
    deps.settings = { ...testSettings, modelSettings: 'A' };
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' })];
    twogis.postFailure = () => new ServiceError('2gis', 'rejected', '2GIS rejected the answer with 400', { status: 400 });
    await runCycle(deps);
    assert.equal(store.reviews.get('1')!.state, 'failed');
    assert.equal(store.reviews.get('1')!.retryAt, null);
    deps.settings = { ...testSettings, modelSettings: 'B' };
    clock.advance(24 * 60 * MINUTE);
    await runCycle(deps);
    assert.equal(model.calls.length, 1);
    assert.equal(twogis.posts.get('1'), 1);
  });
});

describe('an answer whose POST went unseen never takes the retry path', () => {
  test('read back each time, failed after its last attempt, and not tried again when the settings change', async () => {
    const { deps, store, twogis, model, clock } = pipeline();
    deps.settings = { ...testSettings, modelSettings: 'A' };
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' })];
    twogis.postFailure = () => new ServiceError('2gis', 'outcome_unknown', 'no answer from 2GIS: the answer may or may not have been posted');
    for (let cycle = 0; cycle < 5 && store.reviews.get('1')?.state !== 'failed'; cycle += 1) await runCycle(deps);
    const failed = store.reviews.get('1')!;
    assert.equal(failed.state, 'failed');
    assert.match(failed.reason!, /did not take the answer after 3 attempts/);
    assert.equal(failed.retryAt ?? null, null);
    const posts = twogis.posts.get('1');
    deps.settings = { ...testSettings, modelSettings: 'B' };
    clock.advance(24 * 60 * MINUTE);
    await runCycle(deps);
    assert.equal(store.reviews.get('1')!.state, 'failed');
    assert.equal(twogis.posts.get('1'), posts, 'not posted again by itself');
    assert.equal(model.calls.length, 1);
  });
});

describe('the repeat rule compares with answers that were posted', () => {
  test('a 429 on posting: the review drafted again gets the very same words through, and they are posted', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' })];
    let refused = 0;
    twogis.postFailure = () => (refused++ === 0 ? new ServiceError('2gis', 'unavailable', '2GIS answered 429 Too Many Requests', { status: 429 }) : null);
    const summary = await runCycle(deps);
    assert.equal(summary.posted, 1);
    assert.equal(model.calls.length, 2, 'drafted twice (once per claim), never refused as a repeat');
    const [first, second] = model.calls;
    assert.deepEqual(second, first, 'the second draft was asked for without a correction');
    assert.equal(twogis.answers.get('1')?.byUs, true);
    assert.deepEqual(store.checkInvariants(twogis.answeredByUs()), []);
  });

  test('words handed to a review whose answer 2GIS refused may be another review’s answer', async () => {
    const { deps, store, twogis, model } = pipeline();
    deps.settings = { ...testSettings, concurrency: 1 };
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1', createdAt: '2026-01-01T10:00:00Z' }), listed({ id: '2', createdAt: '2026-01-01T09:00:00Z' })];
    model.reply = () => ({ text: 'Спасибо за отзыв! Ждём вас снова в нашей кофейне.' });
    twogis.postFailure = (id) => (id === '1' ? new ServiceError('2gis', 'rejected', '2GIS rejected the answer with 400', { status: 400 }) : null);
    await runCycle(deps);
    assert.equal(store.reviews.get('1')!.state, 'failed');
    assert.equal(store.reviews.get('2')!.state, 'posted');
    assert.equal(twogis.answers.get('2')?.text, 'Спасибо за отзыв! Ждём вас снова в нашей кофейне.');
    assert.equal(model.calls.length, 2, 'no draft refused as a repeat');
  });
});

describe("run's start-up check of openai.model", () => {
  const settings = { model: 'gpt-5-mnii', baseURL: 'https://api.openai.com/v1' };
  test('a name the server does not list is named, with the listed models most like it first', () => {
    const listed = ['o3', 'gpt-4o-mini', 'whisper-1', 'gpt-5-mini', 'gpt-5', 'dall-e-3', 'tts-1'];
    assert.throws(
      () => requireListed(listed, settings),
      new Error('openai.model "gpt-5-mnii" is not among the models api.openai.com lists: gpt-5-mini, gpt-4o-mini, gpt-5, tts-1, dall-e-3 and 2 more; fix openai.model (or GISBOT_MODEL)'),
    );
  });
  test('a listed name passes, whatever its case, an Ollama name without its tag too; a server that lists none is not judged', () => {
    requireListed(['GPT-5-MNII'], settings);
    requireListed(['llama3.2:latest'], { ...settings, model: 'llama3.2' });
    requireListed([], settings);
    requireListed(null, settings);
    assert.throws(() => requireListed(['llama3.2:1b'], { ...settings, model: 'llama3.2' }), /llama3\.2:1b/);
  });
});
