// The real binary against each dialect of the model sandbox: OpenAI's reasoning models (by family and under a
// name gisbot does not know), a <think> model on a local server, DeepSeek's reasoning_content, and a keyless
// server without GET /models. Every eligible review is answered, and nothing of the reasoning reaches 2GIS, the
// database, the events or the WebSocket.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REASONING_OPENING, type ModelSandboxOptions } from '../../src/sandbox/model.ts';
import { BIN, eventually, SECRETS, World } from '../support/world.ts';

interface DialectCase {
  name: string;
  sandbox: ModelSandboxOptions;
  env: Record<string, string>;
  /** YAML appended to the config file. */
  config?: string;
  /** The 400s the server may answer in one process: each refused parameter once, then never again. */
  refusals: number;
}

const CASES: DialectCase[] = [
  {
    name: 'OpenAI reasoning model, chosen by family (gpt-5-mini)',
    sandbox: { apiKey: SECRETS.apiKey, dialect: 'openai-reasoning' },
    env: { GISBOT_MODEL: 'gpt-5-mini' },
    refusals: 0,
  },
  {
    name: 'OpenAI reasoning model under a name gisbot does not know, temperature set: learnt from the 400s',
    sandbox: { apiKey: SECRETS.apiKey, dialect: 'openai-reasoning', models: ['reviews-deployment'] },
    env: { GISBOT_MODEL: 'reviews-deployment' },
    config: 'openai:\n  temperature: 0.7\n',
    refusals: 2,
  },
  {
    name: 'Qwen3 with <think> on a local server, thinking past the answer budget',
    sandbox: { apiKey: SECRETS.apiKey, dialect: 'think', reasoningTokens: 1000, models: ['qwen3:8b'] },
    env: { GISBOT_MODEL: 'qwen3:8b' },
    refusals: 0,
  },
  {
    name: "DeepSeek's reasoning_content",
    sandbox: { apiKey: SECRETS.apiKey, dialect: 'reasoning-content', models: ['deepseek-chat', 'deepseek-reasoner'] },
    env: { GISBOT_MODEL: 'deepseek-reasoner' },
    refusals: 0,
  },
  {
    name: 'a keyless server without GET /models (Ollama-like), <think> model',
    sandbox: { dialect: 'think', listsModels: false },
    env: { GISBOT_MODEL: 'qwen3:8b', OPENAI_API_KEY: '' },
    refusals: 0,
  },
];

/** Everything of a reasoning model's thinking that could leak, in any form. */
function assertNoReasoning(where: string, text: string): void {
  assert.ok(!text.includes(REASONING_OPENING), `the reasoning reached ${where}`);
  assert.doesNotMatch(text, /<\/?think>/, `a think tag reached ${where}`);
}

for (const dialect of CASES) {
  describe(`poll-once with ${dialect.name}`, () => {
    let world: World;
    let config: string;
    before(async () => {
      world = await World.start({ database: 'sqlite', model: dialect.sandbox });
      config = path.join(world.dir, 'gisbot.yaml');
      await writeFile(config, `polling:\n  intervalSeconds: 0.3\n${dialect.config ?? ''}`);
    });
    after(async () => {
      await world.close();
    });

    test('answers every eligible review, with nothing of the reasoning posted or stored', async () => {
      const branch = '7900000000000001';
      world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
      const eligible = [
        world.twogis.addReview(branch, { id: '79001', rating: 5, text: 'Отличный кофе и очень приветливый бариста' }),
        world.twogis.addReview(branch, { id: '79002', rating: 4, text: 'Great coffee, friendly staff' }),
        world.twogis.addReview(branch, { id: '79003', rating: 5, text: '' }),
      ].map((review) => review.id);
      world.twogis.addReview(branch, { id: '79004', rating: 1, text: 'Долго ждали заказ' });
      const env = { ...dialect.env };
      assert.equal((await world.run(['balance', 'add', '100', '--yes', '--config', config], { env })).code, 0);

      const result = await world.run(['poll-once', '--json', '--config', config], { env });
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.deepEqual(
        { posted: summary.posted, awaitingApproval: summary.awaitingApproval, failed: summary.failed },
        { posted: 3, awaitingApproval: 1, failed: 0 },
        result.stderr,
      );
      for (const id of eligible) {
        const answer = world.twogis.answerOf(id);
        assert.ok(answer?.byUs, `review ${id} answered`);
        assertNoReasoning(`2GIS (review ${id})`, answer.text);
        assert.ok(answer.text.trim().length > 0);
      }
      const refused = world.model.requests.filter((request) => request.path === 'chat/completions' && request.status === 400);
      assert.equal(refused.length, dialect.refusals, JSON.stringify(refused.map((request) => request.body)));

      const stored = await world.query('SELECT draft_text, answer_text FROM reviews');
      assertNoReasoning('the reviews table', JSON.stringify(stored));
      assertNoReasoning('the events table', JSON.stringify(await world.query('SELECT * FROM events')));
      assertNoReasoning('the log file', JSON.stringify(await world.logLines()));
      await eventually(() => world.receiver.frames.some((frame) => frame.event.type === 'reply.posted'), 'events delivered');
      assertNoReasoning('the WebSocket', world.receiver.frames.map((frame) => frame.raw).join('\n'));
      if (dialect.sandbox.apiKey === undefined) {
        assert.ok(world.model.requests.every((request) => request.headers.authorization === undefined), 'no key is sent to a keyless server');
      }
      await world.checkInvariants(world.twogis.reviewIds());
    });

    test("doctor's tiny completion gets an answer", async () => {
      const doctor = await world.run(['doctor', '--json', '--config', config], { env: dialect.env });
      const model = JSON.parse(doctor.stdout).checks.find((check: { name: string }) => check.name === 'model');
      assert.equal(model.ok, true, model.detail);
      assert.match(model.detail, / answered$/);
    });

    if (dialect.sandbox.listsModels === false) {
      test('run starts (its check falls back to the tiny completion) and answers', async () => {
        const env = { ...dialect.env };
        world.twogis.addReview('7900000000000001', { id: '79005', rating: 5, text: 'Вкусные круассаны' });
        const child = spawn(process.execPath, [BIN, 'run', '--config', config], {
          cwd: world.dir,
          env: { ...world.env(), ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        try {
          await eventually(() => world.twogis.answerOf('79005')?.byUs === true || child.exitCode !== null, 'run answered', 30_000);
          assert.equal(child.exitCode, null, `run refused to start: ${stderr}`);
        } finally {
          child.kill('SIGTERM');
        }
        assert.equal(await exited, 0, stderr);
        assertNoReasoning('2GIS', world.twogis.answerOf('79005')!.text);
        await world.checkInvariants(world.twogis.reviewIds());
      });
    }
  });
}
