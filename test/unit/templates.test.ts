import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { currentPrompt, draftReply, sendReply } from '../../src/core/approval/manual.ts';
import { parseHtml } from '../../src/sandbox/telegram.ts';
import { telegramRenderer } from '../../src/ui/telegram-card.ts';
import { figureOf } from '../../src/core/insight/figures.ts';
import { fillTemplate, firstName, leastRecentlyUsed, templateSetFor } from '../../src/core/drafting/templates.ts';
import { postDelayMs } from '../../src/core/answering/worker.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

const BRANCH = '70000001017466092';
const templates = { '5': ['Спасибо, {name}!', '{name}, рады, что вам понравилось!', 'Благодарим за пятёрку!'], '4': ['Спасибо за оценку, {name}.'] };
const templateSettings = { ...testSettings, templatePrice: 120n, policy: { templates } };

describe('filling a template', () => {
  test('{name} is the first name; without one the placeholder goes with its comma and space', () => {
    assert.equal(fillTemplate('Спасибо, {name}!', 'Анна'), 'Спасибо, Анна!');
    assert.equal(fillTemplate('Спасибо, {name}!', null), 'Спасибо!');
    assert.equal(fillTemplate('{name}, рады, что вам понравилось!', null), 'Рады, что вам понравилось!');
    assert.equal(fillTemplate('Спасибо {name} за оценку!', null), 'Спасибо за оценку!');
    assert.equal(fillTemplate('Спасибо за оценку, {name}.', null), 'Спасибо за оценку.');
    assert.equal(fillTemplate('Благодарим за пятёрку!', 'Анна'), 'Благодарим за пятёрку!');
  });

  test('a first name is the first word, when it reads as a name', () => {
    assert.equal(firstName('Анна Петрова'), 'Анна');
    assert.equal(firstName('  Olga '), 'Olga');
    assert.equal(firstName('user_12345'), null);
    assert.equal(firstName(''), null);
    assert.equal(firstName(null), null);
  });

  test('least recently used: never used first in list order, then the oldest use', () => {
    assert.equal(leastRecentlyUsed(3, new Map()), 0);
    assert.equal(leastRecentlyUsed(3, new Map([[0, 1]])), 1);
    assert.equal(leastRecentlyUsed(3, new Map([[0, 1], [1, 2], [2, 3]])), 0);
    assert.equal(leastRecentlyUsed(3, new Map([[0, 4], [1, 2], [2, 3]])), 1);
    // A list that shrank: uses of places no longer in it do not count.
    assert.equal(leastRecentlyUsed(2, new Map([[0, 5], [1, 6], [2, 1]])), 0);
  });

  test('the set: only ratings without words; a branch’s own texts for a rating over the global ones', () => {
    const settings = { ...templateSettings, policy: { templates, branches: { '42': { templates: { '5': ['Спасибо от филиала!'] } } } } };
    assert.equal(templateSetFor({ branchId: BRANCH, rating: 5, text: 'Вкусно' }, settings), null);
    assert.equal(templateSetFor({ branchId: BRANCH, rating: 3, text: '' }, settings), null);
    assert.equal(templateSetFor({ branchId: BRANCH, rating: 5, text: '👍' }, settings)!.key, 'default/global:5');
    assert.deepEqual(templateSetFor({ branchId: '42', rating: 5, text: '' }, settings), { key: 'default/branch:42:5', rating: 5, texts: ['Спасибо от филиала!'] });
    assert.equal(templateSetFor({ branchId: '42', rating: 4, text: '' }, settings)!.key, 'default/global:4');
    assert.equal(templateSetFor({ branchId: '42', rating: 4, text: '' }, { ...settings, businessId: 'cafe-2' })!.key, 'cafe-2/global:4', 'each business rotates its own');
  });

  test('a delay within the window', () => {
    assert.equal(postDelayMs([1, 2], () => 0), 60_000);
    assert.equal(postDelayMs([1, 2], () => 0.5), 90_000);
    assert.equal(postDelayMs([1, 2], () => 0.999999), 120_000);
  });

  test('a drafted answer with a post time counts as scheduled', () => {
    assert.equal(figureOf({ state: 'drafted', reason: null, postAfter: new Date() }), 'scheduled');
    assert.equal(figureOf({ state: 'drafted', reason: null, postAfter: null }), 'waitingForMoney');
  });
});

describe('answering from templates', () => {
  test('ratings without words get the templates in rotation, no model call, at the template price', async () => {
    const { deps, store, twogis, model } = pipeline({ settings: templateSettings });
    await store.topUp(10_000n);
    twogis.reviews = ['1', '2', '3', '4'].map((id, i) =>
      listed({ id, text: '', rating: 5, authorName: i === 1 ? 'user_1' : 'Анна Петрова', createdAt: `2026-01-01T00:0${i}:00.000Z` }),
    );
    twogis.reviews.push(listed({ id: 'words', text: 'Очень вкусный кофе', rating: 5 }));
    const summary = await runCycle({ ...deps, settings: { ...templateSettings, concurrency: 1 } });
    assert.equal(summary.posted, 5);
    assert.equal(model.calls.length, 1, 'only the review with words went to the model');
    const texts = ['4', '3', '2', '1'].map((id) => twogis.answers.get(id)!.text);
    // Newest first: 4, 3, 2 (no name), 1; every template before one repeats.
    assert.deepEqual(texts, ['Спасибо, Анна!', 'Анна, рады, что вам понравилось!', 'Благодарим за пятёрку!', 'Спасибо, Анна!']);
    assert.deepEqual(
      ['4', '3', '2', '1'].map((id) => store.reviews.get(id)!.template),
      ['5★ 1/3', '5★ 2/3', '5★ 3/3', '5★ 1/3'],
    );
    assert.equal(summary.charged, 4n * 120n + 500n);
    assert.equal(store.balance, 10_000n - 4n * 120n - 500n);
    assert.equal(store.reserved, 0n);
  });

  test('a rating without words below approvalBelowRating still waits for a person, templates or not', async () => {
    const { deps, store, twogis, model } = pipeline({ settings: { ...templateSettings, policy: { templates: { '1': ['Жаль!'] } } } });
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1', text: '', rating: 1 })];
    await runCycle(deps);
    assert.equal(store.reviews.get('1')!.state, 'needs_approval');
    assert.equal(model.calls.length, 0);
    assert.equal(twogis.posts.size, 0);
  });

  test('the gate checks a template: one it refuses waits for a person, saying which', async () => {
    const settings = { ...templateSettings, policy: { templates: { '5': ['Звоните нам: +7 999 123-45-67, {name}!'] } } };
    const { deps, store, twogis } = pipeline({ settings });
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1', text: '', rating: 5 })];
    await runCycle(deps);
    const review = store.reviews.get('1')!;
    assert.equal(review.state, 'needs_approval');
    assert.match(review.reason!, /template 5★ 1\/1/);
    assert.equal(store.reserved, 0n);
  });
});

describe('a delay before posting', () => {
  const delayed = { ...testSettings, policy: { postDelayMinutes: [1, 2] as const } };

  test('nothing posted before the window, the reserve held meanwhile; posted by its end, once', async () => {
    const { deps, store, twogis, clock } = pipeline({ settings: delayed });
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' }), listed({ id: '2', text: '', rating: 5 })];
    const first = await runCycle(deps);
    assert.equal(first.posted, 0);
    assert.equal(twogis.posts.size, 0);
    assert.equal(store.reserved, 1000n);
    assert.equal(store.reviews.get('1')!.state, 'drafted');
    clock.advance(59_000);
    assert.equal((await runCycle(deps)).posted, 0);
    clock.advance(61_000);
    assert.equal((await runCycle(deps)).posted, 2);
    assert.equal(store.reserved, 0n);
    assert.equal((await runCycle(deps)).posted, 0);
    assert.deepEqual([...twogis.posts.values()], [1, 1]);
    assert.deepEqual(store.checkInvariants(twogis.answeredByUs()), []);
  });

  test('a review a person answered on 2GIS during the wait is skipped and not charged', async () => {
    const { deps, store, twogis, clock } = pipeline({ settings: delayed });
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1' })];
    await runCycle(deps);
    twogis.answers.set('1', { id: 'theirs', text: 'Спасибо! — владелец', byUs: false });
    clock.advance(120_000);
    const later = await runCycle(deps);
    assert.equal(later.charged, 0n);
    assert.equal(store.reviews.get('1')!.state, 'skipped');
    assert.equal(store.balance, 10_000n);
    assert.equal(store.reserved, 0n);
  });
});

describe('a person and the templates', () => {
  test('reply drafts a waiting rating without words from the templates, says which, and charges the template price', async () => {
    const settings = { ...templateSettings, policy: { templates: { '1': ['Жаль, что мы вас огорчили, {name}.', 'Простите нас!'] } } };
    const { deps, store, twogis, model } = pipeline({ settings });
    await store.topUp(10_000n);
    twogis.reviews = [listed({ id: '1', text: '', rating: 1, authorName: 'Олег' })];
    await runCycle(deps);
    const review = store.reviews.get('1')!;
    assert.equal(review.state, 'needs_approval');
    const prompt = await currentPrompt(deps);
    const first = await draftReply(deps, { ...review }, prompt);
    assert.deepEqual([first.text, first.template, first.problems], ['Жаль, что мы вас огорчили, Олег.', '1★ 1/2', []]);
    const second = await draftReply(deps, { ...review }, prompt);
    assert.equal(second.template, '1★ 2/2', 'regenerating goes on with the rotation');
    const steered = await draftReply(deps, { ...review }, prompt, 'упомяните скидку');
    assert.equal(steered.template, null, 'a person’s steer goes to the model');
    assert.equal(model.calls.length, 1);
    const sent = await sendReply(deps, '1', second.text, { model: 'template', promptVersion: prompt.version, completion: second.completion, template: second.template });
    assert.deepEqual([sent.kind, (sent as { charged: bigint }).charged, store.reviews.get('1')!.template], ['posted', 120n, '1★ 2/2']);
  });

  test('a Telegram card names the template of its draft', () => {
    const rendered = telegramRenderer.card({
      cardId: 1,
      revision: 1,
      review: { id: '1', branchName: 'Кофейня', rating: 1, authorName: 'Олег', text: '', createdAt: '2026-12-01T10:00:00Z' },
      reason: 'rated 1, below policy.approvalBelowRating (3)',
      draft: { text: 'Простите нас!', problems: [], editedBy: null, template: '1★ 2/2' },
      draftFailure: null,
      instruction: null,
      outcome: null,
      actions: ['send', 'regenerate', 'edit', 'skip'],
    });
    const parsed = parseHtml(rendered.html);
    assert.ok(!('error' in parsed));
    assert.match(parsed.text, /Draft from your template 1★ 2\/2/);
  });
});
