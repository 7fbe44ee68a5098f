// A review's stored reason as people read it (issue 23): by its code (reviews.reason_code) in the reader's
// language: the terminal's, a Telegram chat's business's, the report's; the English words where no code is known
// (a row kept before gisbot kept codes), and always in English (the words as stored).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReasonCode } from '../../src/core/ports.ts';
import type { CardView, StoredReview } from '../../src/core/ports.ts';
import type { ReportData } from '../../src/core/insight/report.ts';
import { messagesFor } from '../../src/ui/messages.ts';
import { reasonText } from '../../src/ui/reason.ts';
import { reportHtml } from '../../src/ui/report-html.ts';
import { telegramRendererFor } from '../../src/ui/telegram-card.ts';

const en = messagesFor('en');
const ru = messagesFor('ru');

const CASES: Array<[code: ReasonCode, prose: string, russian: string]> = [
  ['below_threshold', 'rated 1, below policy.approvalBelowRating (3)', 'оценка 1 — ниже порога policy.approvalBelowRating (3)'],
  ['hidden', 'hidden on 2GIS', 'скрыт в 2ГИС'],
  ['other_catalog', 'from another catalog (flamp)', 'отзыв из другого каталога (flamp)'],
  ['answered_elsewhere', 'answered on 2GIS by someone else', 'уже отвечен'],
  ['complained', 'complained to 2GIS', 'вы пожаловались на него в 2ГИС'],
  ['looks_like_not_a_customer', 'looks like: not our customer (an ad: "скидки на www.shop")', 'похоже, писал не клиент (реклама: "скидки на www.shop")'],
  ['gate_refused', 'the reply gate refused 2 drafts: draft 1: it contains a link', 'проверка ответа не пропустила 2 черновика'],
  ['model_failed', 'the model failed: 503 Service Unavailable', 'модель не справилась: 503 Service Unavailable'],
  ['post_refused', '2GIS refused the answer: 400 too long', '2ГИС не принял ответ: 400 too long'],
  ['deleted', 'deleted on 2GIS', 'отзыв удалён в 2ГИС'],
  ['answer_removed', 'answer removed by 2GIS', '2ГИС удалил наш ответ'],
];

test('a reason is said by its code in Russian, and as its own words in English', () => {
  for (const [code, prose, russian] of CASES) {
    assert.equal(reasonText({ reason: prose, reasonCode: code }, ru), russian, code);
    assert.equal(reasonText({ reason: prose, reasonCode: code }, en), prose, code);
  }
});

test('a reason with no code (kept before codes) or one of unexpected words reads as its words; none reads as nothing', () => {
  assert.equal(reasonText({ reason: 'rated 1, below policy.approvalBelowRating (3)', reasonCode: null }, ru), 'rated 1, below policy.approvalBelowRating (3)');
  assert.equal(reasonText({ reason: 'something else', reasonCode: 'below_threshold' }, ru), 'оценка ниже порога policy.approvalBelowRating');
  assert.equal(reasonText({ reason: null, reasonCode: null }, ru), '');
});

const BRANCH = '7000000000000001';
const waiting: StoredReview = {
  id: '141800003', branchId: BRANCH, branchName: 'Кофейня', rating: 1, text: 'Холодный кофе', authorId: null, authorName: 'Сергей',
  createdAt: '2026-11-20T10:00:00.000Z', state: 'needs_approval', reason: 'rated 1, below policy.approvalBelowRating (3)',
  reasonCode: 'below_threshold', claimToken: null, leaseUntil: null, reserved: 0n, draftText: null, postAttempts: 0, answerId: null,
};

test("a Telegram card says why its review waits in its chat's language", () => {
  const view: CardView = {
    cardId: 1, revision: 1,
    review: { id: waiting.id, branchName: waiting.branchName, rating: 1, authorName: 'Сергей', text: waiting.text, createdAt: waiting.createdAt },
    reason: waiting.reason, reasonCode: 'below_threshold', draft: null, draftFailure: null, instruction: null, outcome: null, actions: ['regenerate'],
  };
  const renderer = telegramRendererFor((chatId) => (chatId === 'ru-chat' ? 'ru' : 'en'));
  assert.match(renderer.card(view, 'ru-chat').html, /оценка 1 — ниже порога policy\.approvalBelowRating \(3\)/);
  assert.doesNotMatch(renderer.card(view, 'ru-chat').html, /rated 1/);
  assert.match(renderer.card(view, 'en-chat').html, /rated 1, below policy\.approvalBelowRating \(3\)/);
  const closed = { ...view, outcome: { kind: 'elsewhere' as const, state: 'skipped' as const, reason: 'answered on 2GIS by someone else', reasonCode: 'answered_elsewhere' as const } };
  assert.match(renderer.card(closed, 'ru-chat').html, /уже отвечен/);
  assert.match(renderer.notice({ kind: 'answered_elsewhere', reason: 'answered by someone else before we posted', code: 'answered_elsewhere' }, 'ru-chat'), /уже отвечен/);
});

test("the report's waiting list says why in the report's language", () => {
  const figures = {
    reviews: 1, answered: 0, byPerson: 0, answeredElsewhere: 0, waiting: 1, waitingForPerson: 1, waitingForMoney: 0, skipped: 0, failed: 0,
    scheduled: 0, complained: 0, removed: 0, decisions: { untouched: 0, edited: 0, rewritten: 0, regenerated: 0, editedShare: null },
    replyRate: 0, medianMinutesToAnswer: null, averageRating: 1, averageRatingChange: null, charged: '0.00', promptTokens: 0, completionTokens: 0, modelCost: null,
  };
  const from = new Date('2026-11-01T00:00:00Z');
  const to = new Date('2026-12-01T00:00:00Z');
  const data = {
    stats: { period: { from, to }, total: figures, branches: [{ id: BRANCH, name: 'Кофейня', ...figures, topics: [] }], topics: [] },
    weeks: [], branchWeeks: new Map(), waiting: new Map([[BRANCH, [waiting]]]), waitingCount: new Map([[BRANCH, 1]]),
    answers: [], worst: [], reviews: [], stars: new Map(), listings: new Map(), generatedAt: to,
  } as unknown as ReportData;
  assert.match(reportHtml(data, 'ru'), /<p class="how">оценка 1 — ниже порога policy\.approvalBelowRating \(3\) ·/);
  assert.match(reportHtml(data, 'en'), /<p class="how">rated 1, below policy\.approvalBelowRating \(3\) ·/);
});
