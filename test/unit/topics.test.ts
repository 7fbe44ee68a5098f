// Topic labels: the plain-text line cut from a draft before the gate, the structured ones preferred, and the
// normalisation that makes near-identical labels count together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstWindow } from '../../src/core/insight/insight.ts';
import { formatCost, median } from '../../src/core/insight/stats.ts';
import { normaliseTopic, normaliseTopics, splitTopics, topicsOf } from '../../src/core/insight/topics.ts';
import { unpackStructured } from '../../src/adapters/openai/model.ts';

test('the Topics: line is cut from the draft, wherever it stands and however the model dressed it', () => {
  assert.deepEqual(splitTopics('Спасибо за отзыв!\nTopics: долгое ожидание; холодный кофе'), {
    text: 'Спасибо за отзыв!',
    labels: ['долгое ожидание', ' холодный кофе'],
  });
  assert.deepEqual(splitTopics('Спасибо!\n\n**Темы:** шум, цены\n\n— Команда «Зерно»'), {
    text: 'Спасибо!\n\n— Команда «Зерно»',
    labels: ['шум', ' цены'],
  });
  assert.deepEqual(splitTopics('Рахмет!\ntopics : ұзақ күту'), { text: 'Рахмет!', labels: ['ұзақ күту'] });
  const plain = 'Спасибо! Темы для разговора всегда найдутся: приходите.';
  assert.deepEqual(splitTopics(plain), { text: plain, labels: [] }, 'a sentence that merely says "темы" mid-line stays');
});

test('structured topics win over a line; a line is still cut from a structured answer', () => {
  assert.deepEqual(topicsOf({ text: 'Спасибо!\nTopics: шум', topics: ['цены'] }), { text: 'Спасибо!', labels: ['цены'] });
  assert.deepEqual(topicsOf({ text: 'Спасибо!\nTopics: шум', topics: [] }), { text: 'Спасибо!', labels: ['шум'] });
  assert.deepEqual(topicsOf({ text: 'Спасибо!' }), { text: 'Спасибо!', labels: [] });
});

test('near-identical labels share a key: case, spacing, quotes, ё, punctuation and word endings', () => {
  const key = (label: string) => normaliseTopic(label)?.key;
  assert.equal(key('Долгое ожидание'), key('долгого  ожидания.'));
  assert.equal(key('«Холодный кофе»'), key('холодного кофе'));
  assert.equal(key('Ёлка'), key('елки'));
  assert.equal(key('slow service'), key('Slow services!'));
  assert.equal(key('long queues'), key('long queue'));
  assert.equal(key('Ұзақ күту'), key('ұзақ күту'));
  assert.equal(key('кафе\u0301'.normalize('NFD')), key('кафе\u0301'.normalize('NFC')), 'NFC first');
  assert.notEqual(key('холодный кофе'), key('горячий кофе'));
  assert.equal(normaliseTopic('  «Долгое ожидание»! ')?.label, 'долгое ожидание');
});

test('what is no label is dropped; a review keeps at most three, without duplicates', () => {
  assert.equal(normaliseTopic(''), null);
  assert.equal(normaliseTopic('123'), null);
  assert.equal(normaliseTopic('!!!'), null);
  assert.equal(normaliseTopic('a'.repeat(61)), null);
  assert.deepEqual(
    normaliseTopics(['шум', 'Шум', 42, null, 'цены', 'очередь', 'грязь']).map((topic) => topic.label),
    ['шум', 'цены', 'очередь'],
  );
  assert.equal(normaliseTopic('😡 долгое ожидание 😡')?.label, 'долгое ожидание', 'emoji at the ends go');
});

test('a structured reply: the answer and its topics; a plain one stays; one cut short, the answer so far; an answerless JSON, none', () => {
  assert.deepEqual(unpackStructured('{"answer":"Спасибо!","topics":["шум"]}'), { text: 'Спасибо!', topics: ['шум'] });
  assert.deepEqual(unpackStructured('```json\n{"answer":"Спасибо!","topics":[]}\n```'), { text: 'Спасибо!', topics: [] });
  assert.deepEqual(unpackStructured('Спасибо!\nTopics: шум'), { text: 'Спасибо!\nTopics: шум' });
  assert.deepEqual(unpackStructured('{"answer":"Спасибо за \\"кофе'), { text: 'Спасибо за "кофе' }, 'cut short: the answer so far');
  assert.deepEqual(unpackStructured('{"answer":"Спасибо\\u04'), { text: 'Спасибо' }, 'an escape cut in half is dropped');
  assert.deepEqual(unpackStructured('{"answer":"Спасибо!","topics":["шу'), { text: 'Спасибо!' });
  assert.deepEqual(unpackStructured('{"reply":"Спасибо"}'), { text: '' });
});

test('the complaint window: the earliest of `length` holding the review and `threshold` others', () => {
  const at = (day: number) => new Date(Date.UTC(2026, 0, 1 + day));
  const reviews = [0, 1, 2, 9].map((day, i) => ({ reviewId: `r${i}`, createdAt: at(day) }));
  const week = 7 * 86_400_000;
  assert.deepEqual(firstWindow(reviews, at(2).getTime(), week, 3), { window: { from: at(0), to: at(7) }, reviewIds: ['r0', 'r1', 'r2'] });
  assert.equal(firstWindow(reviews, at(9).getTime(), week, 3), null, 'day 9 is with day 2 only');
  assert.equal(firstWindow(reviews.slice(0, 2), at(1).getTime(), week, 3), null);
});

test('the median of a minutes histogram, and a provider cost in 10⁻¹⁰ units', () => {
  assert.equal(median([]), null);
  assert.equal(median([[10, 1]]), 10);
  assert.equal(median([[60, 1], [10, 1]]), 35);
  assert.equal(median([[10, 2], [30, 1], [60, 5]]), 60);
  assert.equal(median([[10, 2], [30, 2]]), 20);
  assert.equal(formatCost(3_000_000n), '0.0003');
  assert.equal(formatCost(0n), '0.00');
  assert.equal(formatCost(12_345_000_000_000n), '1234.50');
});
