// The owner's examples chosen through a server's `/embeddings` (voice.embeddingModel): the real OpenAI adapter
// against the model sandbox, whose vectors are hashed character trigrams. Each example's vector is computed once
// and kept; a server without embeddings leaves the choice to the words, and the draft goes on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAiModel } from '../../src/adapters/openai/model.ts';
import type { Logger, VoiceExample } from '../../src/core/ports.ts';
import type { PromptExample } from '../../src/core/drafting/prompt.ts';
import { chooseExamples, exampleOf } from '../../src/core/voice/voice.ts';
import { ModelSandbox } from '../../src/sandbox/model.ts';
import { HELD_OUT, VOICE_BRANCH, VOICE_PAIRS } from '../fixtures/voice-pairs.ts';
import { pipeline, silentLogger, testSettings } from '../support/fakes.ts';

const EMBEDDING_MODEL = 'text-embedding-3-small';
const pairOf = (example: PromptExample) => VOICE_PAIRS.find((pair) => pair.answer === example.answerText)!.id;

describe('examples chosen by embeddings', () => {
  let sandbox: ModelSandbox;
  before(async () => {
    sandbox = await ModelSandbox.start({ apiKey: 'sk-voice' });
  });
  after(async () => {
    await sandbox.close();
  });

  async function world(logger: Logger = silentLogger) {
    const model = createOpenAiModel({ baseURL: sandbox.url, apiKey: 'sk-voice', model: 'gpt-4o-mini', maxRetries: 0 });
    const made = pipeline({ model, logger, settings: { ...testSettings, voice: { examples: 3, embeddingModel: EMBEDDING_MODEL } } });
    const examples = VOICE_PAIRS.map((pair, index) =>
      exampleOf({ id: pair.id, branchId: VOICE_BRANCH, rating: pair.rating, text: pair.review, authorName: 'Светлана' }, pair.answer, 'corrected', new Date(Date.UTC(2026, 0, 1, 0, 0, index))),
    );
    await made.store.keepVoiceExamples(examples as VoiceExample[]);
    return made;
  }

  test('for each of ten held-out reviews, the three chosen are the three marked closest; each vector computed once', async (t) => {
    sandbox.embeddings = true;
    const { deps, store } = await world();
    const calls = sandbox.embeddingCalls;
    const table: string[] = [];
    for (const [index, held] of HELD_OUT.entries()) {
      const chosen = await chooseExamples(deps, { id: `h${index}`, branchId: VOICE_BRANCH, rating: held.rating, text: held.review });
      const ids = chosen.map(pairOf);
      table.push(`${held.review.padEnd(52)} → ${ids.join(', ')}`);
      assert.deepEqual([...ids].sort(), [...held.closest].sort(), `${held.review}: chose ${ids.join(', ')}`);
    }
    t.diagnostic(`embedding choice:\n${table.join('\n')}`);
    const requests = sandbox.requests.filter((request) => request.path === 'embeddings').slice(-HELD_OUT.length);
    assert.equal(sandbox.embeddingCalls - calls, HELD_OUT.length, 'one call per draft');
    const inputs = requests.map((request) => (request.body as { input: string[]; model: string; encoding_format: string }).input.length);
    assert.deepEqual(inputs, [31, ...Array(HELD_OUT.length - 1).fill(1)], 'the examples once, then only the new review');
    assert.equal((requests[0]!.body as { model: string }).model, EMBEDDING_MODEL);
    assert.ok([...store.voice.values()].every((example) => example.vector?.length === 256), 'every vector kept');
  });

  test('a server without /embeddings: the examples are chosen by their words, with a warning, and the draft goes on', async () => {
    sandbox.embeddings = false;
    const warnings: string[] = [];
    const { deps } = await world({ ...silentLogger, warn: (message) => warnings.push(message) });
    const held = HELD_OUT[0]!;
    const chosen = await chooseExamples(deps, { id: 'h', branchId: VOICE_BRANCH, rating: held.rating, text: held.review });
    assert.deepEqual(chosen.map(pairOf).sort(), [...held.closest].sort());
    assert.match(warnings.join('\n'), /embeddings endpoint failed/);
    sandbox.embeddings = true;
  });
});
