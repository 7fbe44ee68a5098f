// What a review is about, in a few short labels ("долгое ожидание", "холодный кофе"), for the owner's view of
// recurring complaints. The labels come from the very call that drafts the answer: as the `topics` of a structured
// reply where the server takes a JSON schema, else from a last line `Topics: a; b` that the model is asked to add.
// That line is cut from the draft here, before the reply gate sees it: topics never reach a posted answer.
// Labels are normalised so that near-identical ones count together: case, spacing, punctuation, ё/е and the
// common endings of Russian, Kazakh and English words make no difference to a label's key.

import type { Completion, Topic } from '../ports.ts';

/** At most this many labels are kept per review; more say less about what it is about. */
export const MAX_TOPICS = 3;
/** A longer label is not a label but a sentence: it is dropped. */
const MAX_LABEL_LENGTH = 60;

/**
 * What the model is told to add after its answer (the plain-text way; a structured reply carries the same in
 * `topics`). Only for a review with words: a rating alone is about nothing in particular.
 */
export const TOPICS_INSTRUCTION =
  'Then, on a last line of its own, write "Topics:" and one to three short labels for what the customer writes about ' +
  '(one to three words each, lowercase, in the language of the review), separated by semicolons, for example ' +
  '"Topics: долгое ожидание; холодный кофе". That line is for the business only and is never published. ' +
  'When asked for JSON, put the answer in "answer" and the labels in "topics" instead.';

/** The draft's text without its topics line, and the labels: the structured ones where the server gave them. */
export function topicsOf(completion: Pick<Completion, 'text' | 'topics'>): { text: string; labels: readonly unknown[] } {
  const split = splitTopics(completion.text);
  return { text: split.text, labels: completion.topics && completion.topics.length > 0 ? completion.topics : split.labels };
}

/** The line the model is asked to end its answer with; the words it may start with in the review's languages too. */
const TOPICS_LINE = /^[ \t*_>#-]*(?:topics|темы|тема|теги|тақырыптар|тақырып)[ \t*_]*[:：][ \t*_]*(.*)$/gimu;

/** The draft without its `Topics:` line(s), and the labels they gave. */
export function splitTopics(text: string): { text: string; labels: string[] } {
  const labels: string[] = [];
  const cut = text.replace(TOPICS_LINE, (_line, list: string) => {
    labels.push(...list.split(/[;,|]/));
    return '';
  });
  if (labels.length === 0) return { text, labels };
  return { text: cut.replace(/\n{3,}/g, '\n\n').trim(), labels };
}

/** The labels of one review, normalised, without duplicates (by key), at most MAX_TOPICS. */
export function normaliseTopics(labels: readonly unknown[]): Topic[] {
  const topics: Topic[] = [];
  for (const raw of labels) {
    if (typeof raw !== 'string') continue;
    const topic = normaliseTopic(raw);
    if (topic === null || topics.some((each) => each.key === topic.key)) continue;
    topics.push(topic);
    if (topics.length === MAX_TOPICS) break;
  }
  return topics;
}

/** One label, or null when nothing label-like is left of it (empty, too long, no letters). */
export function normaliseTopic(raw: string): Topic | null {
  const label = raw
    .normalize('NFC')
    .toLowerCase()
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/["«»“”„'`]/g, '')
    .replace(/[\s\u00a0]+/gu, ' ')
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, '');
  if (label === '' || label.length > MAX_LABEL_LENGTH || !/\p{L}/u.test(label)) return null;
  const key = label
    .replace(/ё/g, 'е')
    .split(/[\s\p{P}]+/u)
    .filter(Boolean)
    .map(stem)
    .join(' ');
  return key === '' ? null : { key, label };
}

// Endings that inflect a word without changing what it names, longest first. A word keeps at least three
// letters before its ending: "долгое ожидание" and "долгого ожидания" both become "долг ожидан".
const ENDINGS = [
  // Russian adjectives, nouns and participles
  'иями', 'ями', 'ами', 'ого', 'его', 'ому', 'ему', 'ыми', 'ими', 'ией', 'иям', 'иях',
  'ая', 'яя', 'ое', 'ее', 'ые', 'ие', 'ый', 'ий', 'ой', 'ей', 'ом', 'ем', 'ам', 'ям', 'ах', 'ях', 'ую', 'юю',
  'ия', 'ии', 'ью', 'ов', 'ев',
  'а', 'я', 'о', 'е', 'ы', 'и', 'у', 'ю', 'ь', 'й',
  // Kazakh plural and genitive endings
  'лар', 'лер', 'дар', 'дер', 'тар', 'тер', 'ның', 'нің', 'дың', 'дің', 'тың', 'тің',
];

function stem(word: string): string {
  // English: the plural only ("waits", "queues", "prices"; "flies" → "fly"), never "ss" ("glass").
  if (/^[a-z]+$/.test(word)) {
    if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
    return word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
  }
  for (const ending of ENDINGS) {
    if (word.endsWith(ending) && [...word].length - [...ending].length >= 3) return word.slice(0, -ending.length);
  }
  return word;
}
