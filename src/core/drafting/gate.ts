// The reply gate: nothing reaches 2GIS without passing it (invariant 14). Pure functions, table-tested.
// Every pattern here does bounded work per starting point, so the gate is linear in the draft, and it reads no
// more of a draft than twice its length limit: a longer draft is refused whatever the rest of it holds.
import { detectLanguage, languageName, type Language } from './language.ts';
import { leading, longerThan } from './text.ts';

export interface GateSettings {
  maxLength: number;
  /** Values that must never be published: the config's passwords, keys and tokens. */
  secrets?: readonly ConfiguredSecret[];
}

/** A secret from the config; `key` names it in the gate's reason (`openai.apiKey`), never the value. */
export interface ConfiguredSecret {
  key: string;
  value: string;
}

export interface DraftUnderReview {
  text: string;
  finishReason: string;
}

/** What the draft answers. Without it the language rule cannot be checked, so callers that post must pass it. */
export interface GateContext {
  /** The review's text; empty for a rating without words. */
  reviewText: string;
  /** The language to answer a review in when it has no words to tell it by (ISO 639-3: 'rus'). */
  defaultLanguage: Language;
  /** A tighter limit for this answer, e.g. one short sentence for a rating without text. */
  maxLength?: number;
  /** The system prompt in force: a draft must not repeat it (a review that asks for it is an attack). */
  systemPrompt?: string;
}

export type GateRule =
  | 'empty'
  | 'too_long'
  | 'unfinished'
  | 'link'
  | 'email'
  | 'phone'
  | 'handle'
  | 'ai_or_refusal'
  | 'placeholder'
  | 'promise'
  | 'prompt_leak'
  | 'secret'
  | 'language'
  /** Checked by the drafting step, not by this pure gate: the same words as a recent answer of ours. */
  | 'repeat'
  /** Checked by the drafting step: the provider's moderation endpoint flagged the draft. */
  | 'moderation';

/** The values a problem's wording needs (the limit, what was found): the reader's catalogue words it from these. */
export type ProblemParams = Readonly<Record<string, string | number>>;

export interface GateProblem {
  rule: GateRule;
  /** The English, for logs, --json and stored rows; said to a person in their language from `rule` and `params`. */
  message: string;
  params?: ProblemParams;
}

/** A problem a person is shown about a draft: the gate's, or the Telegram card's own (a draft too long to show). */
export interface FoundProblem {
  rule: GateRule | 'card_too_long';
  message: string;
  params?: ProblemParams;
}

/** Returns the reasons a draft must not be posted; an empty list means it may go out. */
export function checkReply(draft: DraftUnderReview, settings: GateSettings, context?: GateContext): string[] {
  return gateProblems(draft, settings, context).map((problem) => problem.message);
}

/** The gate's verdict rule by rule. */
export function gateProblems(draft: DraftUnderReview, settings: GateSettings, context?: GateContext): GateProblem[] {
  const problems: GateProblem[] = [];
  const add = (rule: GateRule, message: string, params?: ProblemParams) => problems.push(params ? { rule, message, params } : { rule, message });
  const limit = Math.min(settings.maxLength, context?.maxLength ?? Number.POSITIVE_INFINITY);
  const whole = draft.text.trim();

  if (whole.length === 0) add('empty', 'the draft is empty');
  const tooLong = longerThan(whole, limit);
  if (tooLong) add('too_long', `the draft is longer than ${limit} characters`, { limit });
  if (draft.finishReason !== 'stop') add('unfinished', `the model did not finish normally (${draft.finishReason})`, { finishReason: draft.finishReason });
  if (whole.length === 0) return problems;
  const secrets = (settings.secrets ?? []).filter((secret) => secret.value !== '' && whole.includes(secret.value));
  if (secrets.length > 0) {
    const keys = secrets.map((secret) => secret.key).join(', ');
    add('secret', `it contains a configured secret (${keys})`, { keys });
  }
  // A draft within the limit is read whole; of a longer one, enough to tell the model what else to fix. The rules
  // below quote what they find: never a secret.
  const masked = withoutSecrets(whole, secrets);
  const text = tooLong ? leading(masked, limit * 2) : masked;

  const email = first(text, EMAIL);
  if (email) add('email', `it contains an e-mail address (${email})`, { found: email });
  const withoutEmails = text.replace(EMAIL, ' ');
  const link = first(withoutEmails, LINK);
  if (link) add('link', `it contains a link (${link})`, { found: link });
  const phone = findPhone(withoutEmails);
  if (phone) add('phone', `it contains a phone number (${phone})`, { found: phone });
  const handle = first(withoutEmails, HANDLE);
  if (handle) add('handle', `it contains an @handle (${handle.trim()})`, { found: handle.trim() });
  const ai = firstOf(text, AI_OR_REFUSAL);
  if (ai) add('ai_or_refusal', `it speaks as an AI or refuses ("${ai}")`, { found: ai });
  const placeholder = first(text, PLACEHOLDER);
  if (placeholder) add('placeholder', `it has an unfilled placeholder (${placeholder})`, { found: placeholder });
  const promise = firstOf(text, PROMISE);
  if (promise) add('promise', `it promises a refund, discount, compensation or gift ("${promise}")`, { found: promise });

  if (context?.systemPrompt && leaksPrompt(text, context.systemPrompt)) {
    add('prompt_leak', 'it repeats part of the system prompt');
  }
  if (context) {
    const wanted = detectLanguage(context.reviewText) ?? context.defaultLanguage;
    const written = detectLanguage(text);
    if (written !== wanted) {
      add(
        'language',
        `it is written in ${written === null ? 'no language' : languageName(written)}, but the answer must be in ${languageName(wanted)}`,
        // ISO 639-3 codes ('' for no language): the reader's catalogue names them in its own words.
        { written: written ?? '', wanted },
      );
    }
  }
  return problems;
}

/** The language an answer to this review must be written in. */
export function answerLanguage(reviewText: string, defaultLanguage: Language): Language {
  return detectLanguage(reviewText) ?? defaultLanguage;
}

/** Tidies a draft before the gate sees it: models like to wrap answers in quotes. */
export function normaliseDraft(text: string): string {
  const trimmed = text.trim();
  const quoted = /^["«“](.*)["»”]$/s.exec(trimmed);
  return (quoted?.[1] ?? trimmed).trim();
}

/** For comparing answers: case, punctuation and spacing do not make two answers different. */
export function comparableText(text: string): string {
  return text
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Words in a row that the draft must not share with the system prompt. */
const LEAK_WORDS = 8;

/** The shingles of the prompt last checked against: every draft of a cycle is checked against the same prompt. */
let promptShingles: { prompt: string; shingles: Set<string> } | null = null;

function shinglesOf(systemPrompt: string): Set<string> {
  if (promptShingles?.prompt === systemPrompt) return promptShingles.shingles;
  const promptWords = comparableText(systemPrompt).split(' ');
  const shingles = new Set<string>();
  for (let index = 0; index + LEAK_WORDS <= promptWords.length; index += 1) {
    shingles.add(promptWords.slice(index, index + LEAK_WORDS).join(' '));
  }
  promptShingles = { prompt: systemPrompt, shingles };
  return shingles;
}

function leaksPrompt(text: string, systemPrompt: string): boolean {
  const shingles = shinglesOf(systemPrompt);
  if (shingles.size === 0) return false;
  const words = comparableText(text).split(' ');
  for (let index = 0; index + LEAK_WORDS <= words.length; index += 1) {
    if (shingles.has(words.slice(index, index + LEAK_WORDS).join(' '))) return true;
  }
  return false;
}

// ------------------------------------------------------------------ the patterns

/** Starts only where its run of address characters starts: from inside the run it would rescan it (quadratic). */
const EMAIL = /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;

const TLDS = [
  'ru', 'рф', 'kz', 'қаз', 'com', 'net', 'org', 'info', 'biz', 'su', 'by', 'ua', 'uz', 'kg', 'io', 'me', 'co', 'app',
  'site', 'online', 'shop', 'store', 'pro', 'club', 'xyz', 'top', 'link', 'ly', 'gl', 'gg', 'tv', 'cc', 'de', 'eu', 'uk', 'us',
];
const LINK = new RegExp(
  [
    String.raw`(?:https?|ftp):\/\/\S+`,
    String.raw`\bwww\.\S+`,
    String.raw`\bt\.me\/\S*`,
    // A domain as DNS bounds it (at most 127 labels of at most 63 characters): bounded work from each start.
    String.raw`(?<![\p{L}\p{N}@.])[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){0,126}\.(?:${TLDS.join('|')})(?![\p{L}\p{N}])(?:\/\S*)?`,
  ].join('|'),
  'giu',
);

/** `@name`, but not the middle of an e-mail (already removed) or a lone "@". */
const HANDLE = /(?:^|[^\p{L}\p{N}])@[\p{L}\p{N}_.]{2,}/gu;

/** Brackets around a word or two, `{name}`, `<name>`, `{{name}}`, `%s`: text the model meant someone to fill in. */
const PLACEHOLDER = /\[[^\]\n]{1,40}\]|\{\{?[^}\n]{0,40}\}?\}|<[^<>\n]{1,40}>|%[sd](?![\p{L}\p{N}])|%[\p{L}_]+%|(?<![\p{L}\p{N}])(?:XXX|NAME|ИМЯ|NN)(?![\p{L}\p{N}])/gu;

/** Runs of digits with the separators phone numbers are written with; seven digits or more make a phone. */
const PHONE_CANDIDATE = /\+?\(?\d[\d\s().\-‐–—]{4,}\d/g;

/** Dates and opening hours look like digit runs too: 15.12.2025, 2025-12-15, 10.00-22.00. */
const NOT_A_PHONE = [
  /^\d{1,2}([./-])\d{1,2}\1\d{2,4}$/,
  /^\d{4}-\d{2}-\d{2}$/,
  /^\d{1,2}[.:]\d{2}\s*[-‐–—]\s*\d{1,2}[.:]\d{2}$/,
];

/** `text` with the e-mail addresses and phone numbers the gate would find replaced by `{email}` and `{phone}`. */
export function maskContacts(text: string): string {
  return text.replace(EMAIL, '{email}').replace(PHONE_CANDIDATE, (match) => {
    const candidate = match.trim();
    if (NOT_A_PHONE.some((pattern) => pattern.test(candidate))) return match;
    const digits = candidate.replace(/\D/g, '').length;
    if (digits < 7 || digits > 15) return match;
    const start = match.indexOf(candidate);
    return `${match.slice(0, start)}{phone}${match.slice(start + candidate.length)}`;
  });
}

/** The first e-mail address, link, phone number or @handle in `text`, as the gate would name it; null when none. */
export function firstContact(text: string): string | null {
  const withoutEmails = text.replace(EMAIL, ' ');
  return first(text, EMAIL) ?? first(withoutEmails, LINK) ?? findPhone(withoutEmails) ?? first(withoutEmails, HANDLE)?.trim() ?? null;
}

function findPhone(text: string): string | null {
  for (const match of text.matchAll(PHONE_CANDIDATE)) {
    const candidate = match[0].trim();
    if (NOT_A_PHONE.some((pattern) => pattern.test(candidate))) continue;
    const digits = candidate.replace(/\D/g, '');
    if (digits.length >= 7 && digits.length <= 15) return candidate;
  }
  return null;
}

/** AI self-reference, refusals and talk about instructions; Russian, Kazakh and English. Lower case. */
const AI_OR_REFUSAL: readonly RegExp[] = [
  /как (?:ии|ai|искусственный интеллект|языковая модель|нейросеть|виртуальный ассистент|чат-бот)(?![\p{L}\p{N}])/iu,
  /(?<![\p{L}\p{N}])(?:я|будучи) (?:—\s*|-\s*)?(?:ии|искусственный интеллект|языковая модель|нейросеть|чат-бот|бот|виртуальный ассистент)(?![\p{L}\p{N}])/iu,
  /языков(?:ая|ой|ую) модел/iu,
  /искусственн(?:ый|ого|ым) интеллект/iu,
  /нейросет/iu,
  /(?<![\p{L}\p{N}])я не могу|не могу (?:помочь|выполнить|ответить)|к сожалению, я(?![\p{L}\p{N}])|извините, но я(?![\p{L}\p{N}])/iu,
  /системн(?:ый|ого|ом) (?:промпт|промт|запрос|инструкци)/iu,
  /(?:мои|моих|мне даны|мне дали) инструкци/iu,
  /жасанды интеллект|тілдік модель/iu,
  /\bas an? (?:ai|a\.i\.|language model|assistant|chatbot|bot)\b/iu,
  /\b(?:i am|i'm|i’m) (?:an? )?(?:ai|a\.i\.|language model|assistant|chatbot|virtual assistant|bot)\b/iu,
  /\blanguage model\b|\bartificial intelligence\b/iu,
  /\bi (?:cannot|can't|can’t|am unable to|am not able to|won't|will not)\b/iu,
  /\b(?:i'm|i’m|i am) sorry,? but\b/iu,
  /\b(?:system prompt|my instructions|previous instructions)\b/iu,
  /\bchat ?gpt\b|\bopenai\b|\bgpt-?\d|\bllm\b|\bclaude\b|\bgigachat\b|\byandexgpt\b|чат ?gpt/iu,
];

/** Promises of money back, discounts, compensation or gifts; Russian, Kazakh and English. */
const PROMISE: readonly RegExp[] = [
  /верн[её]м\s+(?:вам\s+)?(?:деньги|средства|стоимость|оплату|предоплату)/iu,
  // Word endings are bounded: an unbounded run after each repeated stem would be rescanned from every stem.
  /возврат[\p{L}]{0,10}\s+(?:денег|средств|стоимости|оплаты)/iu,
  /компенс(?:ац|ир)/iu,
  /скидк/iu,
  /промо-?код/iu,
  /(?:в|на) подарок|подарим|подарок|сертификат/iu,
  /за наш сч[её]т|за сч[её]т заведения|угостим|бесплатн[\p{L}]{0,10}\s+(?:кофе|десерт|напит|обед|ужин|блюд|услуг|визит|чашк)/iu,
  /бонус/iu,
  /жеңілдік|өтемақы|сыйлық|ақшаңызды қайтар/iu,
  /\brefund|\breimburs|\bcompensat|\bdiscount|\bpromo ?code|\bvoucher|\bcoupon|\bmoney back|\bfree of charge|\bon the house|\bon us\b|\bcomplimentary|\bgift\b/iu,
];

/** `text` with each of `secrets` replaced by `***`. */
export function withoutSecrets(text: string, secrets: readonly ConfiguredSecret[]): string {
  let masked = text;
  for (const secret of secrets) masked = masked.replaceAll(secret.value, '***');
  return masked;
}

function first(text: string, pattern: RegExp): string | null {
  pattern.lastIndex = 0;
  const match = pattern.exec(text);
  pattern.lastIndex = 0;
  return match ? clip(match[0]) : null;
}

function firstOf(text: string, patterns: readonly RegExp[]): string | null {
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return clip(match[0]);
  }
  return null;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
