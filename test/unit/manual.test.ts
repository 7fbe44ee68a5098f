import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { currentPrompt, draftReply, findReview, sendReply } from '../../src/core/approval/manual.ts';
import { UsageError } from '../../src/errors.ts';
import { errorLines } from '../../src/ui/error-text.ts';
import { messagesFor } from '../../src/ui/messages.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

test('a 1-star review waits for a person; drafting changes nothing; sending posts once and charges once', async () => {
  const { deps, store, twogis, model } = pipeline();
  await store.topUp(1000n);
  twogis.reviews = [listed({ id: '1', rating: 1, text: 'Холодный кофе' })];
  const summary = await runCycle(deps);
  assert.equal(summary.awaitingApproval, 1);
  assert.equal(twogis.posts.size, 0);
  assert.equal(store.balance, 1000n);

  const review = await findReview(deps, '1');
  const prompt = await currentPrompt(deps);
  const eventsBefore = store.events.length;
  const draft = await draftReply(deps, review, prompt, 'короче');
  assert.deepEqual(draft.problems, []);
  assert.match(model.calls.at(-1)!.at(-1)!.content, /короче/);
  assert.equal(store.events.length, eventsBefore, 'a draft records nothing');
  assert.equal((await store.getReview('1'))!.state, 'needs_approval');

  const sent = await sendReply(deps, '1', draft.text, { model: 'fake', promptVersion: prompt.version, completion: draft.completion });
  assert.equal(sent.kind, 'posted');
  assert.equal(twogis.posts.get('1'), 1);
  assert.equal(store.balance, 500n);
  await assert.rejects(sendReply(deps, '1', draft.text, { model: 'fake', promptVersion: 1, completion: null }), UsageError);
  assert.equal(twogis.posts.get('1'), 1);
  assert.deepEqual(store.checkInvariants(1), []);
});

test('a person cannot send what the gate refuses, and a lack of funds puts the review back in the queue', async () => {
  const { deps, store, twogis } = pipeline();
  twogis.reviews = [listed({ id: '1', rating: 2 })];
  await runCycle(deps);
  const refused = await sendReply(deps, '1', '   ', { model: 'person', promptVersion: 1, completion: null });
  assert.equal(refused.kind, 'refused');
  const poor = await sendReply(deps, '1', 'Спасибо, разберёмся.', { model: 'person', promptVersion: 1, completion: null });
  assert.equal(poor.kind, 'insufficient');
  assert.equal((await store.getReview('1'))!.state, 'needs_approval');
  assert.equal(twogis.posts.size, 0);
  assert.deepEqual(store.checkInvariants(0), []);
});

test('a draft that echoes a configured secret is refused, and the person is shown it masked', async () => {
  const secret = 'sk-sentinel-manual-77aa';
  const { deps, store, twogis, model } = pipeline({ settings: { ...testSettings, secrets: [{ key: 'openai.apiKey', value: secret }] } });
  twogis.reviews = [listed({ id: '1', rating: 1, text: 'Холодный кофе' })];
  await runCycle(deps);
  model.reply = () => ({ text: `Спасибо за отзыв, нам очень жаль! Служебный код: ${secret}` });
  const draft = await draftReply(deps, await findReview(deps, '1'), await currentPrompt(deps));
  assert.deepEqual(draft.problems, ['it contains a configured secret (openai.apiKey)']);
  assert.equal(draft.text, 'Спасибо за отзыв, нам очень жаль! Служебный код: ***');
  const refused = await sendReply(deps, '1', `Спасибо за отзыв, нам очень жаль! Код: ${secret}`, { model: 'person', promptVersion: 1, completion: null });
  assert.deepEqual(refused, {
    kind: 'refused',
    problems: ['it contains a configured secret (openai.apiKey)'],
    findings: [{ rule: 'secret', message: 'it contains a configured secret (openai.apiKey)', params: { keys: 'openai.apiKey' } }],
  });
  assert.equal(twogis.posts.size, 0);
  assert.deepEqual(store.checkInvariants(0), []);
});

test("a review that cannot be answered now is said in the reader's language, the reason it was skipped too", async () => {
  const { deps, store, twogis } = pipeline();
  await store.topUp(1000n);
  twogis.reviews = [listed({ id: '1', rating: 5, isHidden: true }), listed({ id: '2', rating: 5 })];
  await runCycle(deps);
  const hidden = await sendReply(deps, '1', 'Спасибо!', { model: 'person', promptVersion: 1, completion: null }).then(() => null, (error: unknown) => error);
  assert.ok(hidden instanceof UsageError);
  // The message stays the English it always was (the log, programs); the reader is told in their words.
  assert.equal(hidden.message, 'review 1 cannot be answered now: it is skipped (hidden on 2GIS)');
  assert.deepEqual(errorLines(hidden, messagesFor('en')), ['review 1 cannot be answered now: it is skipped (hidden on 2GIS)']);
  assert.deepEqual(errorLines(hidden, messagesFor('ru')), ['на отзыв 1 сейчас нельзя ответить: он пропущен (скрыт в 2ГИС)']);

  const posted = await sendReply(deps, '2', 'Спасибо!', { model: 'person', promptVersion: 1, completion: null }).then(() => null, (error: unknown) => error);
  assert.ok(posted instanceof UsageError);
  assert.deepEqual(errorLines(posted, messagesFor('en')), ['review 2 cannot be answered now: it is already answered by gisbot']);
  assert.deepEqual(errorLines(posted, messagesFor('ru')), ['на отзыв 2 сейчас нельзя ответить: gisbot уже ответил на него']);

  const unknown = await findReview(deps, '9').then(() => null, (error: unknown) => error);
  assert.ok(unknown instanceof UsageError);
  assert.deepEqual(errorLines(unknown, messagesFor('en')), ['review 9 is not known to gisbot']);
  assert.deepEqual(errorLines(unknown, messagesFor('ru')), ['отзыв 9 gisbot не знаком']);
});
