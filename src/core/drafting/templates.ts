// The owner's own texts for reviews with a rating and no words (`policy.templates`): no model call, the texts taken
// in rotation, least recently used first, so that no two reviewers in a row get the same words (the rotation's
// state is in the store: it survives restarts and is shared by racing workers).
import type { Kopecks } from '../money/money.ts';
import { answeringPolicy, hasText, type PolicySettings } from '../answering/policy.ts';
import type { StoredReview } from '../ports.ts';

/** The texts one review may be answered with, and the key their rotation is kept under. */
export interface TemplateSet {
  /**
   * `<business>/global:5` or `<business>/branch:<id>:5`: each business (they share one database) and a branch's
   * own texts for a rating rotate apart from the others.
   */
  key: string;
  rating: number;
  texts: readonly string[];
}

/** The template the rotation gave a review, filled in. */
export interface ChosenTemplate {
  text: string;
  /** Which one it was, for the person looking at the answer: "5★ 2/3" (the rating, its place in the list, of how many). */
  note: string;
}

/**
 * The set for a review with a rating and no words, when the owner wrote texts for its rating (the branch's own
 * for that rating, else the global ones); null otherwise: such a review is drafted by the model as before.
 */
export function templateSetFor(
  review: Pick<StoredReview, 'branchId' | 'rating' | 'text'>,
  settings: PolicySettings & { businessId?: string },
): TemplateSet | null {
  if (hasText(review.text)) return null;
  const business = settings.businessId ?? 'default';
  const policy = answeringPolicy(settings);
  const rating = String(review.rating);
  const own = policy.branches[review.branchId]?.templates?.[rating];
  if (own !== undefined && own.length > 0) return { key: `${business}/branch:${review.branchId}:${rating}`, rating: review.rating, texts: own };
  const global = policy.templates[rating];
  if (global !== undefined && global.length > 0) return { key: `${business}/global:${rating}`, rating: review.rating, texts: global };
  return null;
}

/** What a review is charged when answered: a template's price for one the templates answer. */
export function priceOf(
  review: Pick<StoredReview, 'branchId' | 'rating' | 'text'>,
  settings: PolicySettings & { price: Kopecks; templatePrice?: Kopecks },
): Kopecks {
  return templateSetFor(review, settings) === null ? settings.price : (settings.templatePrice ?? settings.price);
}

/** The template at `index` of `set`, with `{name}` filled in. */
export function chosenTemplate(set: TemplateSet, index: number, authorName: string | null | undefined): ChosenTemplate {
  return { text: fillTemplate(set.texts[index]!, firstName(authorName)), note: `${set.rating}★ ${index + 1}/${set.texts.length}` };
}

/**
 * `{name}` replaced by the reviewer's first name; without one, the placeholder goes with the comma or space that
 * joined it to the text: "Спасибо, {name}!" → "Спасибо!", "{name}, спасибо!" → "Спасибо!".
 */
export function fillTemplate(template: string, name: string | null): string {
  if (name !== null) return template.replaceAll('{name}', name);
  let text = template
    .replace(/[ \t]*,[ \t]*\{name\}/g, '')
    .replace(/\{name\}[ \t]*,[ \t]*/g, '')
    .replaceAll('{name}', '')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/[ \t]+([!?.,;:)])/g, '$1')
    .replace(/(^|\n)[ \t]+/g, '$1')
    .trim();
  // The placeholder opened the text: the word now first takes the capital.
  if (/^\{name\}/.test(template.trimStart())) text = text.charAt(0).toLocaleUpperCase('ru') + text.slice(1);
  return text;
}

/** The first word of a reviewer's name, if it reads as a name: a nickname of digits or symbols is no way to greet anyone. */
export function firstName(authorName: string | null | undefined): string | null {
  const first = (authorName ?? '').trim().split(/\s+/)[0] ?? '';
  return /^\p{L}[\p{L}'’-]*$/u.test(first) ? first : null;
}

/** The least recently used of `count` templates: never used first (in list order), then the oldest use. */
export function leastRecentlyUsed(count: number, lastUses: ReadonlyMap<number, number>): number {
  let best = 0;
  for (let index = 0; index < count; index += 1) {
    const use = lastUses.get(index) ?? -1;
    const bestUse = lastUses.get(best) ?? -1;
    if (use < bestUse) best = index;
  }
  return best;
}
