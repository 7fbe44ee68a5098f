// The adapter asks for {answer, topics} as a JSON schema when told to (CompletionOptions.topics), against the model
// sandbox over real HTTP: a server that takes the schema gives the answer alone and the topics apart; one that
// refuses it (400 naming response_format) is asked again in plain text, once, and never again; one that ignores it
// answers in plain text, which the core reads the Topics line of. No extra call in any case but the one refusal.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { createOpenAiModel } from '../../src/adapters/openai/model.ts';
import type { ChatMessage } from '../../src/core/ports.ts';
import { TOPICS_INSTRUCTION } from '../../src/core/insight/topics.ts';
import { ModelSandbox, type StructuredOutput } from '../../src/sandbox/model.ts';

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You answer reviews.' },
  { role: 'user', content: `Answer in: Russian\n<<<REVIEW\nЖдали заказ сорок минут, кофе холодный\nREVIEW>>>\n${TOPICS_INSTRUCTION}` },
];

let sandbox: ModelSandbox | null = null;
afterEach(async () => {
  await sandbox?.close();
  sandbox = null;
});

async function modelOn(structuredOutput: StructuredOutput) {
  sandbox = await ModelSandbox.start({ structuredOutput });
  const adjustments: string[] = [];
  const model = createOpenAiModel({ baseURL: sandbox.url, model: 'gpt-4o-mini', maxRetries: 0, onAdjust: (message) => adjustments.push(message) });
  return { model, adjustments, sandbox };
}

const bodies = (sb: ModelSandbox) => sb.requests.filter((r) => r.path === 'chat/completions').map((r) => r.body as Record<string, unknown>);

test('a server that takes the schema: the answer alone, the topics apart, one call', async () => {
  const { model, sandbox: sb } = await modelOn('json_schema');
  const completion = await model.complete(MESSAGES, undefined, { topics: true });
  assert.doesNotMatch(completion.text, /Topics|[{}]/);
  assert.deepEqual(completion.topics, ['долгое ожидание', 'холодный кофе']);
  assert.equal((bodies(sb)[0]!.response_format as { type: string }).type, 'json_schema');
  assert.equal(sb.completions, 1);

  const plain = await model.complete(MESSAGES);
  assert.equal(plain.topics, undefined, 'not asked, not sent');
  assert.equal(bodies(sb)[1]!.response_format, undefined);
});

test('a server that refuses the schema: asked again in plain text once, then never sent the schema again', async () => {
  const { model, adjustments, sandbox: sb } = await modelOn('refuse');
  const first = await model.complete(MESSAGES, undefined, { topics: true });
  assert.match(first.text, /\nTopics: долгое ожидание; холодный кофе$/, 'the plain-text way: the core cuts the line');
  assert.equal(first.topics, undefined);
  await model.complete(MESSAGES, undefined, { topics: true });
  assert.deepEqual(
    bodies(sb).map((body) => 'response_format' in body),
    [true, false, false],
  );
  assert.equal(adjustments.length, 1);
  assert.match(adjustments[0]!, /JSON schema/);
});

test('a server that ignores the schema: its plain text is kept as it is, for the core to read', async () => {
  const { model, sandbox: sb } = await modelOn('ignore');
  const completion = await model.complete(MESSAGES, undefined, { topics: true });
  assert.match(completion.text, /\nTopics: долгое ожидание; холодный кофе$/);
  assert.equal(sb.completions, 1);
});
