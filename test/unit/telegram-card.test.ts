// Issue 18, item 7: a card always fits Telegram's 4096 characters as Telegram counts them (the text after its HTML is
// parsed, in UTF-16 code units), measured here with the sandbox's parser; what is cut is said; the draft is whole
// whenever it can be sent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CardView } from '../../src/core/ports.ts';
import { CARD_TEXT_LIMIT } from '../../src/core/approval/telegram.ts';
import { parseHtml } from '../../src/sandbox/telegram.ts';
import { fitted, TELEGRAM_TEXT_LIMIT, telegramRenderer } from '../../src/ui/telegram-card.ts';

/** What a chat shows: the parsed text (the sandbox refuses markup Telegram would). */
function shown(view: CardView): { text: string; actions: string[] } {
  const rendered = telegramRenderer.card(view);
  const parsed = parseHtml(rendered.html);
  assert.ok(!('error' in parsed), 'error' in parsed ? parsed.error : '');
  return { text: parsed.text, actions: rendered.buttons.map((button) => button.action) };
}

/** `length` UTF-16 units of text with `<`, `&` (escaped on the card) and emoji (two units each). */
function long(length: number, unit = 'Ждали <час> & 😡 кофе 🥶 '): string {
  let text = '';
  while (text.length < length) text += unit;
  text = text.slice(0, length);
  // Never end on half an emoji.
  return /[\uD800-\uDBFF]$/.test(text) ? `${text.slice(0, -1)}x` : text;
}

function view(overrides: Partial<CardView> = {}, draft: Partial<NonNullable<CardView['draft']>> | null = {}): CardView {
  return {
    cardId: 12,
    revision: 3,
    review: {
      id: '9'.repeat(128),
      branchName: long(255, 'Кофейня «Зерно» 🌿 '),
      rating: 1,
      authorName: long(255, 'Константин'),
      text: long(4000),
      createdAt: '2026-12-01T10:00:00Z',
    },
    reason: long(300, 'rated 1, below policy.approvalBelowRating '),
    draft: draft && { text: 'Спасибо за отзыв!', problems: [], editedBy: null, ...draft },
    draftFailure: null,
    instruction: long(1000, 'упомяните террасу '),
    outcome: null,
    actions: ['send', 'regenerate', 'edit', 'skip'],
    ...overrides,
  };
}

const editor = `${'Александра'.repeat(7).slice(0, 64)} (@${'a'.repeat(32)})`;

describe('the card length budget', () => {
  test('a 4,000-character review, long names and a 4,000-character edit: within 4096, cuts said, the draft never sent unseen', () => {
    const draft = long(4000, 'Простите 🙏🙏 за ожидание & <холод> ');
    const card = shown(view({ actions: ['regenerate', 'edit', 'skip'] }, { text: draft, editedBy: editor, problems: [`${draft.length} characters: longer than a Telegram card shows`] }));
    assert.ok(card.text.length <= TELEGRAM_TEXT_LIMIT, `${card.text.length} UTF-16 units`);
    assert.deepEqual(card.actions, ['regenerate', 'edit', 'skip']);
    assert.match(card.text, /… \(cut: [\d,]+ more characters\)/);
    assert.ok(card.text.includes('Answer written by Александра'));
    assert.ok(card.text.includes('9'.repeat(128)), 'the review line whole');
  });

  test('the longest sendable draft, emoji and all, is shown whole beside every other part at its longest; Send stays', () => {
    for (const unit of ['Спасибо 🙏 за отзыв & <визит>! ', '👨‍👩‍👧‍👦', 'x']) {
      const draft = long(CARD_TEXT_LIMIT, unit);
      const card = shown(view({}, { text: draft, editedBy: editor }));
      assert.ok(card.text.length <= TELEGRAM_TEXT_LIMIT, `${card.text.length} UTF-16 units`);
      assert.ok(card.text.includes(draft.trim()), 'the draft whole');
      assert.deepEqual(card.actions, ['send', 'regenerate', 'edit', 'skip']);
    }
  });

  test('a draft over what the card can show whole loses Send even when the core offered it (a draft stored before the limit counted UTF-16)', () => {
    const draft = long(3600, '🙏');
    const card = shown(view({}, { text: draft }));
    assert.ok(card.text.length <= TELEGRAM_TEXT_LIMIT);
    assert.deepEqual(card.actions, ['regenerate', 'edit', 'skip']);
    assert.match(card.text, /🙏… \(cut: [\d,]+ more characters\)/);
  });

  test('an answered card with a long sender and reason fits too', () => {
    const card = shown(view(
      { actions: [], outcome: { kind: 'sent', by: editor, at: '2026-12-02T10:00:00Z', charged: '5.00' } },
      { text: long(CARD_TEXT_LIMIT) },
    ));
    assert.ok(card.text.length <= TELEGRAM_TEXT_LIMIT);
    assert.match(card.text, /Sent by Александра/);
  });

  test('a short card is shown as written, nothing cut', () => {
    const card = shown(view({ review: { id: '77', branchName: 'Кофейня', rating: 2, authorName: 'Анна К.', text: 'Шумно & <тесно>.', createdAt: '2026-12-01T10:00:00Z' }, reason: 'rated 2', instruction: null }));
    assert.doesNotMatch(card.text, /cut:/);
    assert.ok(card.text.includes('Шумно & <тесно>.') && card.text.includes('Кофейня') && card.text.includes('Анна'));
    assert.deepEqual(card.actions, ['send', 'regenerate', 'edit', 'skip']);
  });

  test('a cut keeps whole characters (an emoji with its joiners is never split) and counts what it left out', () => {
    const family = '👨‍👩‍👧‍👦';
    const cut = fitted(family.repeat(10), 50);
    assert.ok(cut.cut && cut.shown.length <= 50);
    const kept = cut.shown.slice(0, cut.shown.indexOf('…'));
    assert.equal(kept, family.repeat(kept.length / family.length));
    assert.match(cut.shown, new RegExp(`… \\(cut: ${[...family.repeat(10 - kept.length / family.length)].length} more characters\\)$`));
    assert.equal(fitted('x'.repeat(3000), 2000).shown.endsWith('… (cut: 1,030 more characters)'), true);
    assert.deepEqual(fitted('short', 5), { shown: 'short', cut: false });
  });

  test("a review that looks as if no customer wrote it: the card suggests Complain, the person decides", () => {
    const review = { id: '78', branchName: 'Кофейня', rating: 5, authorName: 'Promo', text: 'Пишите в телеграм @nails_promo', createdAt: '2026-12-01T10:00:00Z' };
    const looksLike = { kind: 'ad', evidence: '@nails_promo' };
    const card = shown(view({ review, reason: 'looks like: not our customer (an ad: "@nails_promo")', instruction: null, looksLike, actions: ['send', 'regenerate', 'edit', 'skip', 'complain'] }));
    assert.match(card.text, /💡 Looks like: not our customer \(an ad: "@nails_promo"\)\. If it is, press Complain instead of answering: you decide\./);
    assert.deepEqual(card.actions, ['send', 'regenerate', 'edit', 'skip', 'complain'], 'every choice stays: only a suggestion');
    const noComplain = shown(view({ review, reason: null, instruction: null, looksLike, actions: ['regenerate', 'edit', 'skip'] }));
    assert.match(noComplain.text, /If it is, you may skip it: you decide\./);
    const closed = shown(view({ review, reason: null, instruction: null, looksLike, outcome: { kind: 'elsewhere', state: 'skipped', reason: null }, actions: [] }));
    assert.doesNotMatch(closed.text, /Looks like/, 'a closed card suggests nothing');
    // Every part at its longest still fits.
    const crowded = shown(view({ looksLike: { kind: 'other_business', evidence: long(40) } }));
    assert.ok(crowded.text.length <= TELEGRAM_TEXT_LIMIT);
  });
});

// Issue 19: a staff chat gets every business's cards and alerts; each names its business, as config text (escaped).
describe('a staff chat names the business', () => {
  test('the card starts with the business, its markup shown as text, and still fits with every part at its longest', () => {
    const named = shown(view({ business: 'Кофейня <b>«Зерно»</b> & Co' }));
    assert.ok(named.text.startsWith('🏢 Кофейня <b>«Зерно»</b> & Co\n'), named.text.slice(0, 60));
    assert.ok(named.text.length <= TELEGRAM_TEXT_LIMIT);
    assert.ok(!shown(view()).text.includes('🏢'), "a business's own chat: no name");
  });

  test('alerts, balances and stats name each business', () => {
    const figures = { reviews: 3, answered: 2, byPerson: 1, answeredElsewhere: 0, waiting: 1, skipped: 0, failed: 0, replyRate: 0.667, medianMinutesToAnswer: 4, averageRating: 3.7, charged: '10.00' };
    assert.equal(
      telegramRenderer.notice({ kind: 'alert', alert: { kind: 'balance.low', balance: '3.00', threshold: '10.00' }, business: 'dental-7' }),
      '🏢 dental-7\nLow balance: 3.00 RUB, below 10.00 RUB. Top up with gisbot balance add',
    );
    assert.equal(
      telegramRenderer.notice({ kind: 'balances', businesses: [{ business: 'a', balance: '1.00', held: '0.00' }, { business: 'b', balance: '2.00', held: '5.00' }] }),
      '🏢 a: Balance 1.00 RUB, held for answers in progress 0.00 RUB\n🏢 b: Balance 2.00 RUB, held for answers in progress 5.00 RUB',
    );
    assert.equal(
      telegramRenderer.notice({ kind: 'stats_each', days: 7, businesses: [{ business: 'a', figures }], more: 2 }),
      'The last 7 days\n🏢 a: 3 reviews, 2 answered, 1 waiting, charged 10.00 RUB\n2 more businesses: /stats <business id> shows one',
    );
  });
});
