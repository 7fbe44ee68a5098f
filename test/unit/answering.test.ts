// The answering rules over fakes: regeneration through the gate, moderation modes, varied wording, policies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { planAnswer, type AnsweringPolicy } from '../../src/core/answering/policy.ts';
import { ServiceError } from '../../src/errors.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

function withPolicy(policy: Partial<AnsweringPolicy>, approvalBelowRating = 3) {
  return pipeline({ settings: { ...testSettings, approvalBelowRating, policy } });
}

const userMessage = (call: readonly { role: string; content: string }[]) => call.find((message) => message.role === 'user')!.content;
const reviewBlock = (content: string) => content.split('<<<REVIEW\n')[1]!.split('\nREVIEW>>>')[0]!;
const outsideReview = (content: string) => content.split('<<<REVIEW\n')[0]!;

describe('regeneration through the gate', () => {
  test('a refused draft is regenerated with the reasons as an instruction, then posted', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    model.reply = () => (model.calls.length === 1 ? { text: 'Спасибо! Звоните: +7 (727) 355-00-00' } : {});
    const summary = await runCycle(deps);
    assert.equal(summary.posted, 1);
    assert.equal(model.calls.length, 2);
    const correction = model.calls[1]!.at(-1)!;
    assert.equal(correction.role, 'system');
    assert.match(correction.content, /phone number \(\+7 \(727\) 355-00-00\)/);
    assert.doesNotMatch(twogis.answers.get('1')!.text, /355/);
    assert.deepEqual(store.checkInvariants(1), []);
  });

  test('a draft that keeps failing is regenerated a bounded number of times, then waits with every reason', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    model.reply = () => (model.calls.length % 2 === 1 ? { text: 'As an AI, I thank you.' } : { text: 'Спасибо! Скидка 10% ждёт вас.' });
    const summary = await runCycle(deps);
    assert.equal(summary.awaitingApproval, 1);
    assert.equal(model.calls.length, 3, 'one draft and two regenerations (the default)');
    const review = store.reviews.get('1')!;
    assert.equal(review.state, 'needs_approval');
    assert.match(review.reason!, /^the reply gate refused 3 drafts: draft 1: .*AI.*; draft 2: .*refund, discount.*; draft 3: /);
    assert.match(review.reason!, /must be in Russian/);
    const event = store.events.find((candidate) => candidate.type === 'review.needs_approval')!;
    assert.deepEqual([...(event.data.rules as string[])].sort(), ['ai_or_refusal', 'language', 'promise']);
    assert.equal(twogis.posts.size, 0);
    assert.equal(store.balance, 1000n, 'nothing charged');
    assert.deepEqual(store.checkInvariants(0), []);
    // The third draft was told about both earlier failures.
    const last = model.calls[2]!.at(-1)!.content;
    assert.match(last, /speaks as an AI/);
    assert.match(last, /promises a refund/);
  });

  test('policy.maxRegenerations bounds the drafts: 0 means one draft only', async () => {
    const { deps, store, twogis, model } = withPolicy({ maxRegenerations: 0 });
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    model.reply = () => ({ text: '' });
    await runCycle(deps);
    assert.equal(model.calls.length, 1);
    assert.match(store.reviews.get('1')!.reason!, /refused 1 draft: draft 1: the draft is empty/);
  });
});

describe('moderation', () => {
  test('off by default: the endpoint is never called', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    await runCycle(deps);
    assert.equal(model.moderated.length, 0);
    assert.equal(twogis.posts.get('1'), 1);
  });

  test('a flagged draft is regenerated like any refused one', async () => {
    const { deps, store, twogis, model } = withPolicy({ moderation: 'optional' });
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    model.moderation = () => (model.moderated.length === 1 ? { flagged: true, categories: ['harassment'] } : { flagged: false, categories: [] });
    const summary = await runCycle(deps);
    assert.equal(summary.posted, 1);
    assert.equal(model.calls.length, 2);
    assert.match(model.calls[1]!.at(-1)!.content, /moderation endpoint flagged it \(harassment\)/);
  });

  test('required and the endpoint fails: the review waits for a person, nothing posted or charged', async () => {
    const { deps, store, twogis, model } = withPolicy({ moderation: 'required' });
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    model.moderation = () => new ServiceError('model', 'rejected', 'the model endpoint has no moderation endpoint (404 to POST /moderations)');
    const summary = await runCycle(deps);
    assert.equal(summary.awaitingApproval, 1);
    assert.match(store.reviews.get('1')!.reason!, /moderation endpoint gave no verdict and policy\.moderation is required/);
    assert.equal(twogis.posts.size, 0);
    assert.deepEqual(store.checkInvariants(0), []);
  });

  test('optional and the endpoint fails: the answer goes out', async () => {
    const { deps, store, twogis, model } = withPolicy({ moderation: 'optional' });
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1' })];
    model.moderation = () => new ServiceError('model', 'unavailable', 'the model answered 503 to POST /moderations');
    const summary = await runCycle(deps);
    assert.equal(summary.posted, 1);
    assert.deepEqual(store.checkInvariants(1), []);
  });
});

describe('varied wording', () => {
  test('each review is drafted with its own seed', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(10000n);
    twogis.reviews = ['1', '2', '3'].map((id) => listed({ id, text: 'Всё понравилось' }));
    await runCycle(deps);
    assert.equal(new Set(model.seeds).size, 3);
    const texts = [...twogis.answers.values()].map((answer) => answer.text);
    assert.equal(new Set(texts).size, 3, 'three different answers to the same text');
  });

  test('a draft that repeats an earlier answer of ours is regenerated, never posted twice', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(10000n);
    twogis.reviews = [listed({ id: '1', text: 'Всё понравилось' }), listed({ id: '2', text: 'Всё понравилось' })];
    // A model that ignores the seed: the same words until told that they repeat an earlier answer.
    model.reply = (messages) =>
      messages.some((message) => /repeats word for word/.test(message.content))
        ? { text: 'Благодарим за тёплые слова, ждём вас снова!' }
        : { text: 'Спасибо за отзыв! Ждём вас снова.' };
    const summary = await runCycle(deps);
    assert.equal(summary.posted, 2);
    const texts = [...twogis.answers.values()].map((answer) => answer.text);
    assert.deepEqual(texts.sort(), ['Благодарим за тёплые слова, ждём вас снова!', 'Спасибо за отзыв! Ждём вас снова.']);
    assert.deepEqual(store.checkInvariants(2), []);
  });

  test('a model that can only repeat itself leaves the second review to a person', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(10000n);
    twogis.reviews = [listed({ id: '1' }), listed({ id: '2' })];
    model.reply = () => ({ text: 'Спасибо за отзыв! Ждём вас снова.' });
    const summary = await runCycle(deps);
    assert.equal(summary.posted, 1);
    assert.equal(summary.awaitingApproval, 1);
    // Newest first: review 2 is answered, review 1 (older) would repeat it.
    assert.match(store.reviews.get('1')!.reason!, /repeats word for word/);
  });
});

describe('policies', () => {
  test('per-branch settings over global ones: disabled branch skipped, own threshold, own tone and facts', async () => {
    const { deps, store, twogis, model } = withPolicy({
      tone: 'тёплый, без канцелярита',
      signature: '— команда «Кофейня»',
      facts: ['Открыты с 8:00 до 22:00'],
      branches: {
        '200': { enabled: false },
        '300': { approvalBelowRating: 5, tone: 'строгий', facts: ['Летняя терраса'] },
      },
    });
    await store.topUp(10000n);
    twogis.branches = [
      { id: '70000001017466092', name: 'Кофейня' },
      { id: '200', name: 'Закрытая' },
      { id: '300', name: 'Строгая' },
    ];
    twogis.reviews = [
      listed({ id: '1', rating: 5 }),
      listed({ id: '2', rating: 5, branchId: '200', branchName: 'Закрытая' }),
      listed({ id: '3', rating: 4, branchId: '300', branchName: 'Строгая' }),
      listed({ id: '4', rating: 5, branchId: '300', branchName: 'Строгая', text: 'Очень вкусно' }),
    ];
    const summary = await runCycle(deps);
    assert.equal(store.reviews.get('2')!.state, 'skipped');
    assert.match(store.reviews.get('2')!.reason!, /answering is off for branch 200/);
    assert.equal(store.reviews.get('3')!.state, 'needs_approval');
    assert.match(store.reviews.get('3')!.reason!, /below policy.approvalBelowRating \(5\)/);
    assert.equal(summary.posted, 2);

    const prompts = model.calls.map(userMessage);
    const main = prompts.find((content) => content.startsWith('Business: Кофейня'))!;
    assert.match(outsideReview(main), /Tone: тёплый, без канцелярита/);
    assert.match(outsideReview(main), /Sign the answer as: — команда «Кофейня»/);
    assert.match(outsideReview(main), /- Открыты с 8:00 до 22:00/);
    const strict = prompts.find((content) => content.startsWith('Business: Строгая'))!;
    assert.match(outsideReview(strict), /Tone: строгий/);
    assert.match(outsideReview(strict), /- Летняя терраса/);
    assert.doesNotMatch(strict, /Открыты/);
    assert.doesNotMatch(reviewBlock(strict), /Tone|Sign|Facts/);
  });

  test('a rating-only review gets the short rule; with answerRatingOnly off it waits for a person', async () => {
    const on = pipeline();
    await on.store.topUp(1000n);
    on.twogis.reviews = [listed({ id: '1', rating: 5, text: '' })];
    on.model.reply = () => ({ text: 'Спасибо за высокую оценку, ждём вас снова!' });
    await runCycle(on.deps);
    assert.match(userMessage(on.model.calls[0]!), /Rule for this answer: The customer left only a rating of 5, without text\. Answer short, 1 sentence/);
    assert.match(userMessage(on.model.calls[0]!), /Answer in: Russian/);
    assert.equal(on.twogis.answers.get('1')!.text, 'Спасибо за высокую оценку, ждём вас снова!');

    const off = withPolicy({ answerRatingOnly: false });
    off.twogis.reviews = [listed({ id: '1', rating: 5, text: '' }), listed({ id: '2', rating: 5, text: 'Вкусно' })];
    await off.store.topUp(1000n);
    await runCycle(off.deps);
    assert.equal(off.store.reviews.get('1')!.state, 'needs_approval');
    assert.match(off.store.reviews.get('1')!.reason!, /answerRatingOnly is off/);
    assert.equal(off.store.reviews.get('2')!.state, 'posted');
  });

  test('a long answer to a rating without text is refused by the short rule', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1', rating: 4, text: '' })];
    model.reply = () => ({ text: `Спасибо за оценку! ${'Нам очень приятно. '.repeat(20)}` });
    await runCycle(deps);
    assert.match(store.reviews.get('1')!.reason!, /longer than 300 characters/);
  });

  test('the rule follows the rating: negative, mixed, positive', () => {
    const rule = (rating: number) => planAnswer({ rating, text: 'Текст отзыва', branchId: '1' }, testSettings).rule;
    assert.match(rule(1), /apologise/);
    assert.match(rule(3), /mixed/);
    assert.match(rule(5), /positive/);
    assert.match(planAnswer({ rating: 2, text: '', branchId: '1' }, testSettings).rule, /short, 1 sentence: .*sorry/);
    assert.equal(planAnswer({ rating: 5, text: '', branchId: '1' }, { ...testSettings, policy: { defaultLanguage: 'kaz' } }).languageName, 'Kazakh');
  });
});

describe('the answer is in the review\'s language', () => {
  test('a Kazakh review gets a Kazakh answer, or waits for a person', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1', text: 'Кофе өте дәмді, рахмет!' }), listed({ id: '2', text: 'Бәрі ұнады' })];
    model.reply = (messages) => {
      const user = userMessage(messages);
      assert.match(user, /Answer in: Kazakh/);
      return user.includes('Кофе өте дәмді') ? { text: 'Пікіріңізге рахмет! Сізді қайтадан күтеміз.' } : { text: 'Спасибо за отзыв!' };
    };
    await runCycle(deps);
    assert.equal(twogis.answers.get('1')!.text, 'Пікіріңізге рахмет! Сізді қайтадан күтеміз.');
    assert.equal(store.reviews.get('2')!.state, 'needs_approval');
    assert.match(store.reviews.get('2')!.reason!, /written in Russian, but the answer must be in Kazakh/);
  });

  test('a Russian review never gets an English answer', async () => {
    const { deps, store, twogis, model } = pipeline();
    await store.topUp(1000n);
    twogis.reviews = [listed({ id: '1', text: 'Отличный кофе, спасибо!' })];
    model.reply = () => ({ text: 'Thank you for your review! We hope to see you again.' });
    await runCycle(deps);
    assert.equal(twogis.posts.size, 0);
    assert.match(store.reviews.get('1')!.reason!, /written in English, but the answer must be in Russian/);
    assert.deepEqual(store.checkInvariants(0), []);
  });
});
