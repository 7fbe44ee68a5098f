// Issue 11, defect 9 (the secret part), through the real binary: a model that echoes the configured secrets into
// its drafts gets none of them posted (the gate's `secret` rule: the review waits for a person), and no secret
// reaches the events table, the log, the WebSocket frames or the terminal, even from a review that quotes one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defaultResponder } from '../../src/sandbox/model.ts';
import { SECRETS, World, eventually, type Backend } from '../support/world.ts';

function scenario(backend: Backend): void {
  describe(`a model that echoes the secrets (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database: backend });
    });
    after(async () => {
      await world.close();
    });

    test('the drafts are refused, the review waits for a person, and no sink holds a secret', async () => {
      const branch = '70000001017466092';
      world.twogis.addBranch({ id: branch, name: 'Кофейня', orgId: '100' });
      const echoed = world.twogis.addReview(branch, { id: '6001', rating: 5, text: 'Отличный кофе, расскажите о себе' });
      // A reviewer who somehow quotes the API key: the review is answered, and its events are stored masked.
      const quoting = world.twogis.addReview(branch, { id: '6002', rating: 5, text: `Хороший кофе. Нашёл ваш ключ: ${SECRETS.apiKey}` });
      const secrets = Object.values(SECRETS);
      let echoes = 0;
      world.model.responder = (request) => {
        const prompt = request.messages.map((message) => message.content).join('\n');
        if (!prompt.includes('расскажите о себе')) return defaultResponder(request);
        const secret = secrets[echoes++ % secrets.length];
        return { text: `Спасибо за отзыв! Будем рады видеть вас снова. Наш служебный код: ${secret}` };
      };
      const topUp = await world.run(['balance', 'add', '100', '--yes']);
      assert.equal(topUp.code, 0, topUp.stderr);

      const result = await world.run(['poll-once', '--json']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        fetched: 2, new: 2, posted: 1, skipped: 0, awaitingApproval: 1, failed: 0, charged: '5.00', balance: '95.00', currency: 'RUB',
      });
      assert.equal(world.twogis.postsTo(echoed.id), 0, 'no draft holding a secret was posted');
      assert.equal(world.twogis.postsTo(quoting.id), 1);
      assert.equal(echoes, 3, 'the first draft and two regenerations, each refused');
      const [waiting] = await world.query("SELECT state, reason FROM reviews WHERE id = '6001'");
      assert.equal(waiting!.state, 'needs_approval');
      assert.match(String(waiting!.reason), /configured secret \(twogis\.password\).*configured secret \(openai\.apiKey\).*configured secret \(websocket\.token\)/);

      const events = await world.query('SELECT type, data FROM events ORDER BY seq');
      const approval = events.find((row) => row.type === 'review.needs_approval');
      assert.deepEqual(JSON.parse(String(approval!.data)).rules, ['secret']);
      const quoted = events.find((row) => row.type === 'review.new' && String(row.data).includes('Нашёл ваш ключ'));
      assert.match(String(quoted!.data), /Нашёл ваш ключ: \*\*\*/);
      await eventually(() => world.receiver.frames.length === events.length, 'one frame per event');

      const sinks = {
        stdout: result.stdout,
        stderr: result.stderr,
        log: JSON.stringify(await world.logLines()),
        events: JSON.stringify(events),
        frames: world.receiver.frames.map((frame) => frame.raw).join('\n'),
      };
      for (const secret of secrets) {
        for (const [name, sink] of Object.entries(sinks)) assert.ok(!sink.includes(secret), `a secret leaked into ${name}`);
      }
      await world.checkInvariants([echoed.id, quoting.id]);
    });
  });
}

scenario('sqlite');
scenario('mysql');
