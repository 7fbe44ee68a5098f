// A review whose draft failed is never stuck out of sight (issue 18, items 2 and 9), with the real binary on both
// databases, the 2GIS and model sandboxes and the Telegram sandbox: a mistyped model name fails it; `reply` lists it
// with its reason and it gets a card; it is tried again after a backoff, a bounded number of times, and at once when
// the model settings change; `run` refuses to start with the typo; and a draft that 2GIS could not take (429) is
// posted word for word on the retry, since nothing was posted.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultResponder, type ChatRequest } from '../../src/sandbox/model.ts';
import { TelegramSandbox } from '../../src/sandbox/telegram.ts';
import { queryDatabase } from '../support/mysql.ts';
import { World, type Backend, type RunResult } from '../support/world.ts';

const BRANCH = '70000001018000001';
const OWNER = '1000001';
const TYPO = { GISBOT_MODEL: 'gpt-5-mnii' };
const FAILED = '880001';
const THROTTLED = '880002';
/** The one wording the model gives the throttled review, unless the gate asked it for another. */
const WORDING = 'Спасибо за тёплый отзыв! Будем рады видеть вас снова в нашей кофейне.';
const MINUTE = 60_000;

function scenarios(backend: Backend): void {
  describe(`a failed review (${backend})`, () => {
    let world: World;
    let tg: TelegramSandbox;

    const poll = (env: Record<string, string> = {}): Promise<RunResult> =>
      world.run(['poll-once', '--json'], { env: { GISBOT_TELEGRAM_TOKEN: tg.token, ...env } });
    const row = async (id: string) => {
      const [found] = await world.query('SELECT state, reason, failed_tries, retry_at FROM reviews WHERE id = ?', [id]);
      assert.ok(found, `review ${id} is stored`);
      const retryAt = found.retry_at === null ? null : new Date(found.retry_at as string | number);
      return { state: String(found.state), reason: found.reason as string | null, failed_tries: found.failed_tries, retryAt };
    };
    /** Sets the review's next try (a time both databases take: DATETIME text, or epoch milliseconds). */
    const retryAt = async (id: string, at: Date, tries?: number) => {
      const update = `UPDATE reviews SET retry_at = ?${tries === undefined ? '' : `, failed_tries = ${tries}`} WHERE id = ?`;
      if (backend === 'mysql') await queryDatabase(world.db.url, update, [at.toISOString().slice(0, 23).replace('T', ' '), id]);
      else await world.query(update, [at.getTime(), id]);
    };
    const draftsAsked = () => world.model.requests.filter((request) => request.path === 'chat/completions').length;
    const queue = async (): Promise<Array<Record<string, unknown>>> => {
      const listed = await world.run(['reply', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      return JSON.parse(listed.stdout);
    };

    before(async () => {
      world = await World.start({ database: backend, model: { apiKey: 'sk-sentinel-openai-key-91bc', refusesUnknownModels: true } });
      tg = await TelegramSandbox.start();
      tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
      await writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ telegram: { chatIds: [OWNER], apiUrl: tg.url } }));
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно»', orgId: '100' });
      world.model.responder = (request: ChatRequest) => {
        const review = request.messages.some((message) => message.content.includes('Кофе как дома'));
        const corrected = request.messages.some((message) => message.content.includes('word it differently'));
        return review && !corrected ? { text: WORDING, finishReason: 'stop' } : defaultResponder(request);
      };
      assert.equal((await world.run(['balance', 'add', '20', '--yes'])).code, 0);
    });
    after(async () => {
      await tg.close();
      await world.close();
    });

    test('a mistyped model name fails the review; `reply` lists it with its reason, and it gets a card', async () => {
      world.twogis.addReview(BRANCH, { id: FAILED, rating: 5, text: 'Отличные десерты' });
      const started = Date.now();
      const result = await poll(TYPO);
      assert.equal(JSON.parse(result.stdout).failed, 1, result.stderr);
      const failed = await row(FAILED);
      assert.equal(failed.state, 'failed');
      assert.match(String(failed.reason), /404.*gpt-5-mnii/);
      assert.equal(Number(failed.failed_tries), 1);
      const wait = failed.retryAt!.getTime() - started;
      assert.ok(wait > 9 * MINUTE && wait < 11 * MINUTE, `the next try comes 10 minutes later, not ${wait} ms`);

      const [listed, ...rest] = await queue();
      assert.deepEqual(rest, []);
      assert.equal(listed!.id, FAILED);
      assert.equal(listed!.state, 'failed');
      assert.match(String(listed!.reason), /404.*gpt-5-mnii/);
      const shown = await world.run(['reply']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`${FAILED}.*failed, retry at \\d\\d:\\d\\d`));

      const card = tg.messagesIn(OWNER).find((message) => message.text.includes(`review ${FAILED}`));
      assert.ok(card, 'the failed review has a card');
      assert.ok(card.buttons.flat().some((button) => button.data.startsWith('edit:')), 'a person can answer it from the card');
      const stats = JSON.parse((await world.run(['stats', '--json'])).stdout);
      assert.equal(stats.total.failed, 1, 'it stays failed in the statistics');
    });

    test('it is not tried again before its backoff ends; once due it is, and the pause doubles', async () => {
      const asked = draftsAsked();
      await poll(TYPO);
      assert.equal(draftsAsked(), asked, 'not due yet: the model is not asked');

      await retryAt(FAILED, new Date(Date.now() - MINUTE));
      const started = Date.now();
      await poll(TYPO);
      assert.equal(draftsAsked(), asked + 1, 'due: tried once');
      const failed = await row(FAILED);
      assert.equal(failed.state, 'failed');
      assert.equal(Number(failed.failed_tries), 2);
      const wait = failed.retryAt!.getTime() - started;
      assert.ok(wait > 19 * MINUTE && wait < 21 * MINUTE, `the next try comes 20 minutes later, not ${wait} ms`);
    });

    test('after the last try it is not tried again and stays listed', async () => {
      await retryAt(FAILED, new Date(Date.now() - MINUTE), 4);
      const asked = draftsAsked();
      await poll(TYPO);
      assert.equal(draftsAsked(), asked + 1);
      const failed = await row(FAILED);
      assert.deepEqual([failed.state, Number(failed.failed_tries), failed.retryAt], ['failed', 5, null]);
      await poll(TYPO);
      assert.equal(draftsAsked(), asked + 1, 'no more automatic tries');
      const [listed] = await queue();
      assert.equal(listed!.id, FAILED);
      assert.equal(listed!.retryAt, null);
      assert.match((await world.run(['reply'])).stdout, /failed, no retries left/);
    });

    test('the model name fixed: the next poll-once answers it, once, charged once, and its card closes', async () => {
      const result = await poll();
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.deepEqual([summary.posted, summary.failed, summary.charged], [1, 0, '5.00']);
      assert.equal(world.twogis.postsTo(FAILED), 1);
      assert.equal((await row(FAILED)).state, 'posted');
      const charges = await world.query("SELECT review_id FROM ledger WHERE kind = 'charge'");
      assert.deepEqual(charges.map((charge) => String(charge.review_id)), [FAILED]);
      assert.deepEqual(await queue(), []);
      const card = tg.messagesIn(OWNER).find((message) => message.text.includes(`review ${FAILED}`));
      assert.deepEqual(card?.buttons.flat(), [], 'the card has no buttons left');
      await world.checkInvariants(world.twogis.reviewIds());
    });

    // The start-up check does not depend on the database: once is enough.
    test('`run` with a mistyped model exits at start-up, naming openai.model and the models the server lists', { skip: backend === 'mysql' }, async () => {
      const result = await world.run(['run'], { env: TYPO, timeoutMs: 30_000 });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /openai\.model "gpt-5-mnii".*gpt-5-mini, gpt-4o-mini/);
    });

    test('a 429 on posting: the retry posts the identical draft, since nothing was posted', async () => {
      world.twogis.addReview(BRANCH, { id: THROTTLED, rating: 5, text: 'Кофе как дома' });
      world.twogis.faults.add({ method: 'POST', path: `presence/reviews/${THROTTLED}/comments`, fault: { type: 'status', status: 429 } });
      const result = await poll();
      assert.equal(world.twogis.postsTo(THROTTLED), 1, result.stderr);
      assert.equal(world.twogis.answerOf(THROTTLED)?.text, WORDING);
      const refusals = (await world.logLines()).filter((line) => line.msg === 'the reply gate refused a draft' && line.reviewId === THROTTLED);
      assert.deepEqual(refusals, []);
      await world.checkInvariants(world.twogis.reviewIds());
    });
  });
}

scenarios('mysql');
scenarios('sqlite');
