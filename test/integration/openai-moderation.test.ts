// The Model port's moderation and seed through the OpenAI SDK against the sandbox's /v1/moderations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAiModel } from '../../src/adapters/openai/model.ts';
import { isServiceError } from '../../src/errors.ts';
import { ModelSandbox } from '../../src/sandbox/model.ts';

describe('moderation through the OpenAI adapter', () => {
  let sandbox: ModelSandbox;
  before(async () => {
    sandbox = await ModelSandbox.start({ apiKey: 'sk-moderation-test' });
  });
  after(async () => sandbox.close());

  const model = () => createOpenAiModel({ baseURL: sandbox.url, apiKey: 'sk-moderation-test', model: 'gpt-4o-mini', maxRetries: 0 });

  test('a clean text passes, an insult is flagged with its category', async () => {
    assert.deepEqual(await model().moderate('Спасибо за отзыв, ждём вас снова!'), { flagged: false, categories: [] });
    assert.deepEqual(await model().moderate('Спасибо, дурак.'), { flagged: true, categories: ['harassment'] });
    assert.equal(sandbox.moderations, 2);
  });

  test('a provider without the endpoint: a clear error naming it', async () => {
    sandbox.moderation = false;
    try {
      await assert.rejects(model().moderate('Спасибо!'), (error: unknown) => {
        assert.ok(isServiceError(error, 'model'));
        assert.equal(error.kind, 'rejected');
        assert.match(error.message, /has no moderation endpoint \(404 to POST \/moderations\)/);
        assert.doesNotMatch(error.message, /sk-moderation-test/);
        return true;
      });
    } finally {
      sandbox.moderation = true;
    }
  });

  test('a 503 is "unavailable"; the seed reaches the server', async () => {
    sandbox.faults.add({ path: 'moderations', fault: { type: 'status', status: 503 } });
    await assert.rejects(model().moderate('Спасибо!'), (error: unknown) => isServiceError(error, 'model') && error.kind === 'unavailable');
    await model().complete([{ role: 'user', content: 'Отзыв' }], undefined, { seed: 12345 });
    const chat = sandbox.requests.filter((request) => request.path === 'chat/completions').at(-1)!;
    assert.equal((chat.body as { seed?: number }).seed, 12345);
  });
});
