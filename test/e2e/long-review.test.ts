// Issue 11, defect 4, through the real binary: a review of "Отлично" and 100 000 more letters among ordinary ones
// used to burn minutes of CPU in the language and gate patterns, block the process past every lease and answer
// nothing while exiting 0. Now every review of the cycle is answered, the long one with a cut prompt.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROMPT_TEXT_LIMIT } from '../../src/core/drafting/prompt.ts';
import { World, type Backend } from '../support/world.ts';

/** Far longer than a cycle of four reviews takes; without bounded analysis the cycle took minutes. */
const KILL_AFTER_MS = 180_000;

function scenario(backend: Backend): void {
  describe(`a review of 100 000 letters (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => {
      await world.close();
    });

    test('poll-once answers it and the reviews beside it, and exits 0', async () => {
      const branch = '70000001017466091';
      world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
      // A real customer's words, at length (a single stretched word would look like spam: it waits for a person).
      const long = 'Отличный кофе и тёплый зал, спасибо бариста Диме. '.repeat(2_000);
      const reviews = [
        world.twogis.addReview(branch, { id: '5001', rating: 5, text: long }),
        world.twogis.addReview(branch, { id: '5002', rating: 5, text: 'Отличный кофе и быстрое обслуживание' }),
        world.twogis.addReview(branch, { id: '5003', rating: 4, text: 'Great coffee, friendly staff' }),
        world.twogis.addReview(branch, { id: '5004', rating: 5, text: '' }),
      ];
      const ids = reviews.map((review) => review.id);
      const topUp = await world.run(['balance', 'add', '100', '--yes']);
      assert.equal(topUp.code, 0, topUp.stderr);

      const result = await world.run(['poll-once', '--json'], { timeoutMs: KILL_AFTER_MS });
      assert.equal(result.signal, null, `poll-once was killed after ${KILL_AFTER_MS} ms: the cycle stalled`);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        fetched: 4, new: 4, posted: 4, skipped: 0, awaitingApproval: 0, failed: 0, charged: '20.00', balance: '80.00', currency: 'RUB',
      });
      for (const id of ids) assert.equal(world.twogis.postsTo(id), 1, `one answer to ${id}`);
      const stored = await world.query("SELECT text FROM reviews WHERE id = '5001'");
      assert.equal(stored[0]!.text, long, 'the review itself is stored whole');

      const prompts = world.model.requests
        .filter((request) => request.path === 'chat/completions')
        .map((request) => JSON.stringify((request.body as { messages: unknown[] }).messages));
      const longPrompt = prompts.find((prompt) => prompt.includes('бариста Диме'));
      assert.ok(longPrompt, 'the long review was drafted');
      assert.ok(longPrompt.length < PROMPT_TEXT_LIMIT * 3, `the model was sent ${longPrompt.length} characters`);
      assert.match(longPrompt, /review is longer than/);
      await world.checkInvariants(ids);
    });
  });
}

scenario('sqlite');
scenario('mysql');
