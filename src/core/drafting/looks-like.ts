// Reviews that look as if no customer wrote them (issue 21): an ad (a link, a phone, an @handle, a promotion),
// spam (a letter or a word over and over), profanity, or a review meant for another business. Such a review is
// not answered by itself whatever its rating: it waits for a person, and `reply` and its Telegram card suggest a
// complaint to 2GIS instead of an answer. Only a suggestion: the person decides, and it is never complained about
// automatically. A few plain patterns, no model call: a wrong guess costs a person one look, never an answer.
import { firstContact } from './gate.ts';

export type LooksLikeKind = 'ad' | 'spam' | 'profanity' | 'other_business';

export interface LooksLike {
  kind: LooksLikeKind;
  /** What gave it away, quoted from the review (at most a few dozen characters). */
  evidence: string;
}

/** `StoredReview.reason`'s and events' `data.code` for a review held by this check. */
export const LOOKS_LIKE_CODE = 'looks_like_not_a_customer';

/** The review's words read for the check: enough for any of these signs, bounded work on a huge review. */
const READ = 4_000;

/**
 * Obscene roots (Russian mat with its usual prefixes, and English), from a word's start so that "колебаться" or
 * "хлебал" never match. Bounded alternatives only.
 */
const PROFANITY: readonly RegExp[] = [
  /(?<!\p{L})(?:на|за|вы|у|от|до|про|раз|по|с|при|под)?(?:[её]б(?:ал|ан|ат|ля|уч|ну|ош)|х[уy](?:й|е[влн]|ё|я(?!\p{L})|ям|ню)|пизд|бля(?:д|ть|(?!\p{L}))|мудак|мудил|пид[оа]р|гандон|залуп|шлюх)/iu,
  /(?<!\p{L})сук[аи](?!\p{L})/iu,
  /\b(?:fuck|shit|cunt|bitch|asshole|motherfuck)/iu,
];

/** What an ad says besides a contact. Words a real review rarely uses ("скидка" is not one: guests write it). */
const PROMOTION: readonly RegExp[] = [
  /промо-?код|переходи(?:те)? по ссылке|подписывай(?:тесь|ся)|подпишись|ставки на спорт|букмекер|казино|заработ(?:ок|ай|ать|аете) (?:от|в|на|без|до)/iu,
  /пиши(?:те)? (?:мне )?в (?:телеграм|телеграмм|лс|личку|директ|whatsapp|ватсап|вотсап)|накрутк[аиу] (?:отзыв|подписчик|лайк)/iu,
  /\b(?:promo code|subscribe to|sign up at|casino|betting|dm me|earn \$?\d)/iu,
];

/** The reviewer says they were never a customer here, or wrote about another place. */
const OTHER_BUSINESS: readonly RegExp[] = [
  /ошибл(?:ся|ась|ись) (?:адресом|филиалом|заведением|компанией|местом|карточкой)/iu,
  /не (?:тот|та|то|туда) (?:адрес|филиал|заведение|компани|карточк)|отзыв (?:о|об|про|для) друго/iu,
  /(?:никогда|ни разу) не (?:был|была|были|бывал[аи]?|заходил[аи]?|посещал[аи]?|обращал(?:ся|ась|ись))\s+(?:у вас|к вам|здесь|тут|в (?:этом|этой|эту|ваш|вашем|вашей|данн))/iu,
  /не (?:являюсь|являлся|являлась|был|была) (?:вашим |вашей )?клиент/iu,
  /\b(?:wrong (?:place|address|branch|business|listing)|never (?:been|visited|went) (?:here|there|to (?:this|your))|not (?:a|your) customer)\b/iu,
];

/**
 * Spam: one letter eight times or more ("ааааааааа") in a text with hardly any other words, or one word making most
 * of a text of five or more. A stretched word among real ones ("Супеееееер кофе, приду ещё") is a customer's joy.
 */
const REPEATED_LETTER = /(\p{L})\1{7,}/u;
const OTHER_WORDS_OF_A_CUSTOMER = 3;

export function looksLikeNotACustomer(text: string): LooksLike | null {
  const read = text.length > READ ? text.slice(0, READ) : text;
  if (!/[\p{L}\p{N}]/u.test(read)) return null;
  const profanity = firstMatch(read, PROFANITY);
  if (profanity !== null) return { kind: 'profanity', evidence: profanity };
  const contact = firstContact(read);
  if (contact !== null) return { kind: 'ad', evidence: contact };
  const promotion = firstMatch(read, PROMOTION);
  if (promotion !== null) return { kind: 'ad', evidence: promotion };
  const other = firstMatch(read, OTHER_BUSINESS);
  if (other !== null) return { kind: 'other_business', evidence: other };
  const letter = REPEATED_LETTER.exec(read);
  if (letter !== null && otherWords(read, letter[0]) < OTHER_WORDS_OF_A_CUSTOMER) return { kind: 'spam', evidence: clip(letter[0]) };
  const repeated = repeatedWord(read);
  if (repeated !== null) return { kind: 'spam', evidence: repeated };
  return null;
}

/** Why such a review waits, as its stored reason says it (English, like every reason; `code` in the event). */
export function looksLikeReason(found: LooksLike): string {
  const what = { ad: 'an ad', spam: 'spam', profanity: 'profanity', other_business: 'a review of another business' }[found.kind];
  return `looks like: not our customer (${what}: "${found.evidence}")`;
}

function firstMatch(text: string, patterns: readonly RegExp[]): string | null {
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return clip(match[0].trim());
  }
  return null;
}

/** The words of three letters or more in `text` other than the one holding `run`. */
function otherWords(text: string, run: string): number {
  return (text.match(/\p{L}{3,}/gu) ?? []).filter((word) => !word.includes(run)).length;
}

/** A word of three letters or more that is at least half of the words of a text of five or more words. */
function repeatedWord(text: string): string | null {
  const words = text.toLowerCase().match(/\p{L}{3,}/gu) ?? [];
  if (words.length < 5) return null;
  const counts = new Map<string, number>();
  for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  const [word, count] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  return count >= 5 && count * 2 >= words.length ? clip(word) : null;
}

function clip(value: string): string {
  const chars = [...value];
  return chars.length > 40 ? `${chars.slice(0, 39).join('')}…` : value;
}
