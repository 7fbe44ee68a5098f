// Reviews that look as if no customer wrote them (issue 21, item 3): which texts the check takes for an ad, spam,
// profanity or a review of another business (a table, with the genuine reviews it must leave alone), and what the
// pipeline does with one: the draft is made, nothing is posted, the review waits for a person whatever its rating.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { LOOKS_LIKE_CODE, looksLikeNotACustomer, type LooksLikeKind } from '../../src/core/drafting/looks-like.ts';
import type { StoredReview } from '../../src/core/ports.ts';
import { cardView, emptyBody } from '../../src/core/approval/telegram.ts';
import { listed, pipeline } from '../support/fakes.ts';

const SUSPECT: ReadonlyArray<[text: string, kind: LooksLikeKind]> = [
  ['Лучшие курсы маникюра! Пишите в телеграм @nails_promo', 'ad'],
  ['Заработок от 5000 в день без вложений, подробности на www.easy-money.ru', 'ad'],
  ['Звоните +7 701 555-12-34, ремонт телефонов недорого', 'ad'],
  ['Промокод SALE50 на первый заказ в нашем магазине', 'ad'],
  ['Earn $500 a day, DM me for details', 'ad'],
  ['Да пошли вы на хуй с таким обслуживанием', 'profanity'],
  ['Официант — мудак, еда заебала', 'profanity'],
  ['This place is shit', 'profanity'],
  ['Я никогда не был у вас, но знакомые говорят, что плохо', 'other_business'],
  ['Ошиблась адресом, отзыв вообще про другую пиццерию', 'other_business'],
  ['Не являюсь вашим клиентом, но хочу сказать', 'other_business'],
  ['Wrong place, I meant the cafe across the street', 'other_business'],
  ['ааааааааааааа', 'spam'],
  ['Отличнооооооооооооооооооо', 'spam'],
  ['топ топ топ топ топ топ', 'spam'],
];

const GENUINE: readonly string[] = [
  'Ни разу не был разочарован, кофе всегда отличный',
  'Дали скидку на второй кофе, очень приятно',
  'Работают с 10.00-22.00, были 15.12.2025, всё понравилось',
  'Ребята молодцы, хлебали суп с удовольствием, не хочется колебаться с выбором',
  'Обязательно куплю ещё, небольшое кафе, но уютное',
  'Долго ждали заказ, почти час, кофе холодный',
  'I have never been disappointed here, great coffee',
  'Суп суп суп — это не про них, выбор большой и вкусный',
  'Отлично!!!!!!!!',
  'Супеееееееер кофе, приветливый бариста, приду ещё раз с друзьями',
  '',
  '👍👍👍👍👍👍👍👍👍',
];

test('the table: ads, profanity, another business and spam are named with what gave them away; genuine reviews are not', () => {
  for (const [text, kind] of SUSPECT) {
    const found = looksLikeNotACustomer(text);
    assert.equal(found?.kind, kind, `${text}: ${JSON.stringify(found)}`);
    assert.ok(found.evidence.length > 0 && found.evidence.length <= 40, text);
  }
  for (const text of GENUINE) assert.equal(looksLikeNotACustomer(text), null, text);
});

test('bounded on a huge review: only its first characters are read', () => {
  const huge = `${'Всё хорошо, кофе вкусный, бариста приветливый. '.repeat(300)}@promo_handle`;
  assert.equal(looksLikeNotACustomer(huge), null);
  assert.equal(looksLikeNotACustomer(`@promo_handle ${huge}`)?.kind, 'ad');
});

test('a 5★ ad is drafted but waits for a person, with the suggestion as its reason; a genuine 5★ beside it is posted', async () => {
  const { deps, store, twogis, model } = pipeline();
  await store.topUp(1000n);
  twogis.reviews = [
    listed({ id: '1', rating: 5, text: 'Лучшие курсы маникюра! Пишите в телеграм @nails_promo' }),
    listed({ id: '2', rating: 5, text: 'Отличный кофе и быстрое обслуживание' }),
  ];
  const summary = await runCycle(deps);
  assert.equal(summary.posted, 1);
  assert.equal(summary.awaitingApproval, 1);
  assert.equal(model.calls.length, 2, 'both drafted: drafting is where it shows');
  const held = store.reviews.get('1')!;
  assert.equal(held.state, 'needs_approval');
  assert.match(held.reason!, /^looks like: not our customer \(an ad: "@nails_promo"\)/);
  const event = store.events.find((one) => one.type === 'review.needs_approval' && one.reviewId === '1')!;
  assert.deepEqual([event.data.code, event.data.looksLike], [LOOKS_LIKE_CODE, 'ad']);
  assert.equal(twogis.posts.has('1'), false);
  assert.equal(store.reviews.get('2')!.state, 'posted');
  assert.equal(store.balance, 500n, 'only the genuine one charged');
  assert.deepEqual(store.checkInvariants(1), []);
});

test("the card's view carries the suggestion while the review waits, and not once it is closed", () => {
  const review = { ...listed({ id: '3', rating: 5, text: 'Ошиблась адресом, отзыв про другую пиццерию' }), state: 'needs_approval' } as unknown as StoredReview;
  const card = { id: 1, reviewId: '3', active: true, version: 1, body: emptyBody() };
  assert.deepEqual(cardView(card, review).looksLike, { kind: 'other_business', evidence: 'Ошиблась адресом' });
  const closed = { ...card, body: { ...emptyBody(), outcome: { kind: 'elsewhere' as const, state: 'skipped' as const, reason: null } } };
  assert.equal(cardView(closed, review).looksLike, null);
  assert.equal(cardView(card, { ...review, text: 'Отличный кофе' }).looksLike, null);
});
