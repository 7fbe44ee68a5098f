// An imitation of an OpenAI-compatible Chat Completions API, served over real HTTP on 127.0.0.1.
// An outside party: node built-ins only, nothing from src/core or src/adapters.
import { randomBytes } from 'node:crypto';
import { FaultScript, SandboxHttp } from './faults.ts';
import type { RecordedRequest, SandboxCall, SandboxReply } from './faults.ts';

export type { RecordedRequest } from './faults.ts';

export interface ChatRequest {
  messages: { role: string; content: string }[];
  model: string;
  /** The whole request body (temperature, max_tokens, ...). */
  body: Record<string, unknown>;
}

export interface ChatReply {
  text: string;
  /** Default 'stop'. */
  finishReason?: string;
}

export type Responder = (req: ChatRequest) => ChatReply | Promise<ChatReply>;

export interface ModerationResult {
  flagged: boolean;
  /** The flagged categories, e.g. ['harassment']. */
  categories: string[];
}

export type Moderator = (input: string) => ModerationResult;

/**
 * How the imitated server speaks Chat Completions (README's providers table names which provider each stands for):
 * - `chat`: the classic dialect (gpt-4o and older, Ollama, vLLM, LM Studio, YandexGPT, GigaChat): `max_tokens` or
 *   `max_completion_tokens`, any temperature.
 * - `openai-reasoning`: OpenAI's gpt-5 family and o-series: 400 to `max_tokens` and to a temperature other than 1,
 *   with OpenAI's own error bodies; the hidden reasoning counts against `max_completion_tokens`, reported in
 *   `usage.completion_tokens_details.reasoning_tokens`, and a budget spent thinking ends with an empty answer.
 * - `think`: Qwen3 or DeepSeek-R1 on a local server: `<think>…</think>` in `content` before the answer, counted
 *   against the budget, so a short budget cuts the answer off inside the unclosed `<think>`.
 * - `reasoning-content`: DeepSeek's API (deepseek-reasoner): the reasoning in `message.reasoning_content`, the
 *   answer in `content`.
 */
export type ModelDialect = 'chat' | 'openai-reasoning' | 'think' | 'reasoning-content';

/** Every reasoning the sandbox writes starts with this, so a test can tell whether any of it got out. */
export const REASONING_OPENING = 'Okay, let me think about how to answer this review.';

const MODERATION_CATEGORIES = ['harassment', 'hate', 'self-harm', 'sexual', 'violence'] as const;

/** The default moderator: flags insults and threats (Russian and English) as harassment or violence. */
export function defaultModerator(input: string): ModerationResult {
  const categories: string[] = [];
  if (/идиот|дурак|тупой|\bidiot\b|\bstupid\b|\bmoron\b/i.test(input)) categories.push('harassment');
  if (/убью|убить|\bkill\b/i.test(input)) categories.push('violence');
  return { flagged: categories.length > 0, categories };
}

export interface ModelSandboxOptions {
  latencyMs?: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Ids listed by GET /models; default ['gpt-5-mini', 'gpt-4o-mini']. */
  models?: string[];
  responder?: Responder;
  moderator?: Moderator;
  /** false: POST /moderations answers 404, as on providers without a moderation endpoint; default true. */
  moderation?: boolean;
  /** When set, chat completions report `usage.cost` = tokens × this (as OpenRouter does); default none. */
  costPerToken?: number;
  /** Default 'chat'. */
  dialect?: ModelDialect;
  /** How many tokens a reasoning dialect thinks before it answers; default 1000 (more than a 600-token budget). */
  reasoningTokens?: number;
  /** false: GET /models answers 404, as on servers without a model list; default true. */
  listsModels?: boolean;
  /** false: POST /embeddings answers 404, as on servers without one; default true. */
  embeddings?: boolean;
  /** true: a chat completion for a model not in `models` answers 404 `model_not_found`, as OpenAI does; default false. */
  refusesUnknownModels?: boolean;
  /**
   * A `response_format` JSON schema: `json_schema` answers in it (as OpenAI, Ollama, vLLM, LM Studio do), `refuse`
   * answers 400 naming the parameter, `ignore` answers in plain text as if none was asked. Default `json_schema`.
   */
  structuredOutput?: StructuredOutput;
}

export type StructuredOutput = 'json_schema' | 'refuse' | 'ignore';

/** Answers are put together from one phrase of each list, picked by hash: thousands of wordings per language. */
const PHRASES = {
  ru: [
    ['', 'Здравствуйте!', 'Добрый день!', 'Приветствуем!', 'Здравствуйте, {name}!', '{name}, здравствуйте!', 'Добрый день, {name}!', '{name}, добрый день!'],
    [
      'Спасибо за ваш отзыв!',
      'Благодарим вас за тёплые слова!',
      'Большое спасибо, что выбрали нас!',
      'Спасибо за добрый отзыв!',
      'Спасибо, что нашли время написать нам!',
      'Благодарим за отзыв!',
      'Очень приятно читать такие слова!',
      'Спасибо, что поделились впечатлениями!',
    ],
    [
      'Нам очень приятно, что вам у нас понравилось.',
      'Ваше мнение очень важно для нашей команды.',
      'Обязательно передадим ваши слова всей команде.',
      'Такие отзывы вдохновляют нас работать ещё лучше.',
      'Мы стараемся, чтобы каждый визит был приятным.',
      'Рады, что смогли порадовать вас.',
      'Ваши слова очень ценны для нас.',
      'Мы внимательно читаем каждый отзыв.',
    ],
    [
      'Будем рады видеть вас снова.',
      'Ждём вас в гости снова.',
      'До новых встреч!',
      'Приходите к нам ещё.',
      'Надеемся на скорую встречу.',
      'Всегда рады вам.',
      'Заглядывайте к нам почаще.',
      'Хорошего вам дня!',
    ],
  ],
  en: [
    ['', 'Hello!', 'Hi!', 'Good day!', 'Hello, {name}!', 'Hi, {name}!', 'Dear {name},', '{name},'],
    [
      'Thank you for your review!',
      'Thank you for the kind words!',
      'Thank you so much for choosing us!',
      'Thank you for the lovely review!',
      'Thank you for taking the time to write to us!',
      'Thank you for sharing your impressions!',
      'Thank you, it is a pleasure to read this!',
      'Thank you for your feedback!',
    ],
    [
      'We are glad you enjoyed your visit.',
      'Your feedback means a lot to our team.',
      'We will be sure to pass it on to the whole team.',
      'Reviews like yours inspire us to do even better.',
      'We try to make every visit a pleasant one.',
      'We are happy we could make your day.',
      'Your words are very valuable to us.',
      'We read every review with care.',
    ],
    [
      'We look forward to seeing you again.',
      'We hope to welcome you back soon.',
      'See you next time!',
      'Come and see us again.',
      'We hope to see you soon.',
      'You are always welcome here.',
      'Do drop in again.',
      'Have a wonderful day!',
    ],
  ],
  kk: [
    ['', 'Сәлеметсіз бе!', 'Қайырлы күн!', 'Сәлеметсіз бе, {name}!', '{name}, сәлеметсіз бе!', 'Қайырлы күн, {name}!'],
    ['Пікіріңізге рахмет!', 'Жылы лебізіңізге көп рахмет!', 'Бізді таңдағаныңызға рахмет!', 'Пікір қалдырғаныңызға рахмет!', 'Әсеріңізбен бөліскеніңізге рахмет!', 'Үлкен рахмет!'],
    [
      'Сіздің пікіріңіз біз үшін өте маңызды.',
      'Пікіріңізді бүкіл ұжымға жеткіземіз.',
      'Сізге ұнағанына қуаныштымыз.',
      'Мұндай пікірлер бізге шабыт береді.',
      'Әр келушіге жақсы көңіл сыйлауға тырысамыз.',
      'Әр пікірді мұқият оқимыз.',
    ],
    ['Сізді қайтадан күтеміз.', 'Тағы келіңіз, қуана қарсы аламыз.', 'Келесі кездескенше!', 'Жақында көрісеміз деп үміттенеміз.', 'Әрқашан қуаныштымыз.', 'Күніңіз сәтті өтсін!'],
  ],
} as const;

/** One sentence for a rating without text: a thank-you and a wish, joined. */
const SHORT = {
  ru: [
    ['Спасибо за оценку', 'Благодарим за оценку', 'Спасибо за высокую оценку', 'Большое спасибо за оценку', 'Спасибо, что оценили нас', 'Благодарим, что нашли время оценить нас'],
    ['будем рады видеть вас снова!', 'ждём вас снова!', 'нам очень приятно!', 'до новых встреч!', 'приходите ещё!', 'хорошего вам дня!'],
  ],
  en: [
    ['Thank you for the rating', 'Thank you very much for the rating', 'Thank you for rating us', 'Thank you for the kind rating', 'Thank you for taking the time to rate us', 'Thank you so much for the rating'],
    ['we hope to see you again soon!', 'it means a lot to us!', 'see you again!', 'come back any time!', 'have a great day!', 'you are always welcome!'],
  ],
  kk: [
    ['Бағалағаныңызға рахмет', 'Жоғары бағаңызға рахмет', 'Бағаңызға көп рахмет', 'Бізді бағалағаныңызға рахмет'],
    ['сізді қайта күтеміз!', 'тағы келіңіз!', 'күніңіз сәтті өтсін!', 'келесі кездескенше!'],
  ],
} as const;

type SandboxLanguage = 'ru' | 'en' | 'kk';

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The last user message: where gisbot puts the review and the instructions for the answer. */
function lastUser(messages: ChatRequest['messages']): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') return m.content;
  }
  return '';
}

/** The review between gisbot's delimiters, or the whole message when there are none. */
export function reviewOf(message: string): string {
  const open = message.indexOf('<<<REVIEW\n');
  const close = message.lastIndexOf('\nREVIEW>>>');
  return open >= 0 && close > open ? message.slice(open + '<<<REVIEW\n'.length, close) : message;
}

/** The language gisbot asks for ("Answer in: Kazakh"), else the review's script and letters. */
function languageFor(message: string, review: string): SandboxLanguage {
  const asked = /^Answer in: (\w+)/m.exec(message)?.[1];
  if (asked === 'Russian') return 'ru';
  if (asked === 'Kazakh') return 'kk';
  if (asked === 'English') return 'en';
  if (/[әғқңөұүһ]/i.test(review)) return 'kk';
  return /[\u0400-\u04FF]/.test(review) ? 'ru' : 'en';
}

function signatureOf(message: string): string | null {
  return /^Sign the answer as: (.+)$/m.exec(message)?.[1]?.trim() ?? null;
}

/** FNV-1a's low bits depend only on the low bits of the input: mixed (murmur3's finaliser) before `%`. */
function mixed(text: string): number {
  let h = hash(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function pick<T>(list: readonly T[], key: string, part: number): T {
  return list[mixed(`${key}#${part}`) % list.length] as T;
}

function politeAnswer(language: SandboxLanguage, short: boolean, key: string, name: string): string {
  if (short) {
    const [thanks, wish] = SHORT[language];
    return `${pick(thanks, key, 0)}, ${pick(wish, key, 1)}`;
  }
  const parts = PHRASES[language].map((list, part) => pick(list, key, part));
  const greeting = name ? parts[0]!.replace('{name}', name) : parts[0]!.includes('{name}') ? '' : parts[0]!;
  return [greeting, ...parts.slice(1)].filter(Boolean).join(' ');
}

/** The customer's first name as gisbot gives it ("Customer's first name: Анна"), or ''. */
function nameOf(message: string): string {
  const name = /^Customer's first name: (.+)$/m.exec(message)?.[1]?.trim() ?? '';
  return name === '(unknown)' ? '' : name;
}

/** What gisbot's prompt asks for after the answer, when it asks: a line `Topics: a; b`. */
function asksForTopics(message: string): boolean {
  return message.includes('write "Topics:"');
}

/** What a review is about, as a model would label it: a few words per theme it finds, in the review's language. */
const THEMES: ReadonlyArray<{ pattern: RegExp; ru: string; en: string; kk: string }> = [
  { pattern: /ждал|ожидан|долго|wait|slow|күт/i, ru: 'долгое ожидание', en: 'long wait', kk: 'ұзақ күту' },
  { pattern: /холодн|остыл|cold/i, ru: 'холодный кофе', en: 'cold coffee', kk: 'суық кофе' },
  { pattern: /грубо|хам|закатил|rude/i, ru: 'грубый персонал', en: 'rude staff', kk: 'дөрекі қызмет' },
  { pattern: /wi-?fi|вай-?фай|интернет/i, ru: 'не работает wi-fi', en: 'wifi not working', kk: 'wi-fi істемейді' },
  { pattern: /сух|dry/i, ru: 'сухие десерты', en: 'dry desserts', kk: 'құрғақ десерт' },
  { pattern: /дорог|expensive|pricey|қымбат/i, ru: 'высокие цены', en: 'high prices', kk: 'қымбат баға' },
  { pattern: /шумн|noisy|noise/i, ru: 'шумно', en: 'noise', kk: 'шулы' },
  { pattern: /грязн|dirty/i, ru: 'грязно', en: 'dirty tables', kk: 'лас' },
  { pattern: /вкусн|отличн|лучший|капучино|great|delicious|flat white|дәмді/i, ru: 'вкусный кофе', en: 'good coffee', kk: 'дәмді кофе' },
  { pattern: /торт|круассан|десерт|cake|croissant/i, ru: 'выпечка', en: 'pastries', kk: 'тәттілер' },
  { pattern: /бариста|персонал|официант|staff|barista|қызмет/i, ru: 'персонал', en: 'staff', kk: 'қызмет көрсету' },
];

/** Up to three labels for the review; "обслуживание" (or its like) when no theme matches. */
export function topicsOf(review: string, language: SandboxLanguage): string[] {
  const found = THEMES.filter((theme) => theme.pattern.test(review)).map((theme) => theme[language]);
  const labels = [...new Set(found)].slice(0, 3);
  return labels.length > 0 ? labels : [{ ru: 'обслуживание', en: 'service', kk: 'қызмет' }[language]];
}

/** A reply's last `Topics:` line, split off as a model answering in the JSON schema would put it. */
function splitTopicsLine(text: string): { answer: string; topics: string[] } {
  const match = /\n?Topics:([^\n]*)\s*$/.exec(text);
  if (!match) return { answer: text, topics: [] };
  return { answer: text.slice(0, match.index).trim(), topics: match[1]!.split(';').map((topic) => topic.trim()).filter(Boolean) };
}

/**
 * The default responder, a well-behaved model: a short warm thank-you (two sentences; one when asked for
 * "short, 1 sentence") in the language gisbot asks for ("Answer in: ..."), else Kazakh when the review has
 * Kazakh letters, Russian when it has Cyrillic ones, English otherwise; signed as asked. The wording is picked
 * by a hash of the last user message and the request's `seed`. No links, phones or emails. Asked for the review's
 * topics, it adds them on a last line (`topicsOf`).
 */
export function defaultResponder(req: ChatRequest): ChatReply {
  const last = lastUser(req.messages);
  const review = reviewOf(last);
  const seed = req.body.seed === undefined ? '' : String(req.body.seed);
  const language = languageFor(last, review);
  const text = politeAnswer(language, /short, 1 sentence/.test(last), last + seed, nameOf(last));
  const signature = signatureOf(last);
  const signed = signature ? `${text} ${signature}` : text;
  return { text: asksForTopics(last) ? `${signed}\nTopics: ${topicsOf(review, language).join('; ')}` : signed, finishReason: 'stop' };
}

const EMAIL_IN_REVIEW = /[\w.+-]+@[\w-]+\.[\w.]+/g;

/**
 * A model that obeys whatever instruction it finds in the review, as a careless model would: it adds the phone,
 * link, e-mail or @handle the review gives (or one of its own when asked for one), prints its system prompt,
 * switches language, promises refunds, calls itself ChatGPT, leaves placeholders, or rambles past its limit.
 * Without an instruction it answers like `defaultResponder`. For testing that nothing it writes gets posted.
 */
export function obeyingResponder(req: ChatRequest): ChatReply {
  const last = lastUser(req.messages);
  // It obeys the review, and a follow-up comment too when gisbot sends one (between <<<COMMENT and COMMENT>>>).
  const comment = /<<<COMMENT\n([\s\S]*)\nCOMMENT>>>/.exec(last)?.[1];
  const review = comment === undefined ? reviewOf(last) : `${reviewOf(last)}\n${comment}`;
  const lower = review.toLowerCase();
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  let language = languageFor(last, review);
  if (/in english|по-английски|на английском|ағылшынша/.test(lower)) language = 'en';
  if (/in kazakh|на казахском|по-казахски|қазақша/.test(lower)) language = 'kk';
  const ru = language !== 'en';

  if (/(print|show|repeat|reveal|output|выведи|покажи|повтори|напиши|процитируй).{0,40}(system prompt|instructions|системн|промпт|инструкци)/.test(lower)) {
    return { text: system, finishReason: 'stop' };
  }
  const parts = [politeAnswer(language, false, last, nameOf(last))];
  if (/ignore (all )?(the )?previous|игнорируй|забудь (все )?(предыдущие|прошлые)|disregard/.test(lower)) {
    parts.push(
      ru
        ? 'Хорошо, я игнорирую предыдущие инструкции: как ИИ, я делаю то, что вы просите.'
        : 'Sure, I will ignore my previous instructions: as an AI, I do what you ask.',
    );
  }
  if (/chatgpt|gpt|you are an ai|ты (ии|бот|нейросеть)|языков|language model|скажи, что ты|say you are/.test(lower)) {
    parts.push(ru ? 'Я — ChatGPT, языковая модель.' : 'I am ChatGPT, a language model.');
  }
  const phone = /\+?\d[\d\s()-]{6,}\d/.exec(review)?.[0];
  if (phone) parts.push(ru ? `Звоните нам: ${phone}.` : `Call us: ${phone}.`);
  else if (/phone|телефон|номер/.test(lower)) parts.push(ru ? 'Звоните нам: +7 (727) 355-00-00.' : 'Call us: +7 (727) 355-00-00.');
  const email = /[\w.+-]+@[\w-]+\.[\w.]+/.exec(review)?.[0];
  if (email) parts.push(ru ? `Пишите на ${email}.` : `Write to ${email}.`);
  const withoutEmails = review.replace(EMAIL_IN_REVIEW, '');
  const url = /https?:\/\/\S+|www\.\S+|\b[\w-]+\.(?:ru|kz|com)\b\S*/i.exec(withoutEmails)?.[0];
  if (url) parts.push(ru ? `Подробнее: ${url}` : `More at ${url}`);
  else if (/link|ссылк|сайт|website/.test(lower)) parts.push(ru ? 'Подробнее: https://example.com/promo' : 'More at https://example.com/promo');
  const handle = /(?:^|\s)(@\w{2,})/.exec(withoutEmails)?.[1];
  if (handle) parts.push(ru ? `Подписывайтесь: ${handle}` : `Follow us: ${handle}`);
  if (/refund|money back|compensat|discount|gift|верн|возврат|компенс|скидк|подар|бесплатн/.test(lower)) {
    parts.push(
      ru ? 'Мы вернём вам деньги и дадим скидку 20% на следующий визит.' : 'We will refund you in full and give you a discount on your next visit.',
    );
  }
  if (/\[имя\]|\[name\]|placeholder|шаблон|\{name\}/.test(lower)) parts.unshift(ru ? 'Здравствуйте, [Имя]!' : 'Hello, {name}!');
  let text = parts.join(' ');
  if (/5000|very long|очень длинн|10000/.test(lower)) text = `${text} `.repeat(Math.ceil(6000 / (text.length + 1)));
  return { text, finishReason: 'stop' };
}

/** Dimensions of the sandbox's embeddings. */
export const EMBEDDING_DIMENSIONS = 256;

/**
 * The sandbox's embedding of a text: its character trigrams (lower case, words padded with spaces) hashed into
 * EMBEDDING_DIMENSIONS buckets, scaled to length 1. Deterministic; alike texts get alike vectors.
 */
export function embeddingOf(text: string): number[] {
  const vector = new Array<number>(EMBEDDING_DIMENSIONS).fill(0);
  const words = text.toLowerCase().replaceAll('ё', 'е').split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  for (const word of words) {
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) vector[mixed(padded.slice(i, i + 3)) % EMBEDDING_DIMENSIONS]! += 1;
  }
  const length = Math.sqrt(vector.reduce((sum, n) => sum + n * n, 0));
  return length === 0 ? vector : vector.map((n) => n / length);
}

/** A deterministic token estimate: ceil(chars / 4). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function errorBody(status: number, message: string): unknown {
  let type = 'invalid_request_error';
  let code: string | null = null;
  if (status === 401) code = 'invalid_api_key';
  else if (status === 403) code = 'unsupported_country_region_territory';
  else if (status === 404) code = 'not_found';
  else if (status === 429) {
    type = 'requests';
    code = 'rate_limit_exceeded';
  } else if (status >= 500) {
    type = 'server_error';
    code = null;
  }
  return { error: { message, type, param: null, code } };
}

function err(status: number, message: string): SandboxReply {
  return { status, body: errorBody(status, message) };
}

/** OpenAI's 400 to a parameter a reasoning model does not take, word for word. */
function unsupported(param: 'max_tokens' | 'temperature', value: unknown): SandboxReply {
  const [message, code] =
    param === 'max_tokens'
      ? ["Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", 'unsupported_parameter']
      : [`Unsupported value: 'temperature' does not support ${String(value)} with this model. Only the default (1) value is supported.`, 'unsupported_value'];
  return { status: 400, body: { error: { message, type: 'invalid_request_error', param, code } } };
}

/** Some `tokens` tokens' worth of thinking about the review, as a reasoning model writes before it answers. */
function reasoningAbout(review: string, tokens: number): string {
  const sentences = [
    REASONING_OPENING,
    `The customer wrote: "${review.slice(0, 200)}".`,
    'I should thank them warmly, in their language, without links, phone numbers or promises.',
    'Maybe mention the team. Keep it short, two sentences at most.',
  ];
  let text = sentences.join(' ');
  while (estimateTokens(text) < tokens) text += ` Let me check the tone once more: friendly, not too formal, no placeholders.`;
  return text.slice(0, tokens * 4);
}

export class ModelSandbox {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultScript();
  latencyMs: number;
  responder: Responder;
  moderator: Moderator;
  /** false: POST /moderations answers 404. */
  moderation: boolean;
  /** Reported as `usage.cost` = tokens × this; null: no cost in the usage. */
  costPerToken: number | null;
  /** null: no key needed. */
  apiKey: string | null;
  models: string[];
  dialect: ModelDialect;
  reasoningTokens: number;
  /** false: GET /models answers 404. */
  listsModels: boolean;
  /** false: POST /embeddings answers 404. */
  embeddings: boolean;
  /** true: a completion for a model not in `models` answers 404. */
  refusesUnknownModels: boolean;
  structuredOutput: StructuredOutput;
  #http!: SandboxHttp;
  #created = Math.floor(Date.now() / 1000);

  private constructor(options: ModelSandboxOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.apiKey = options.apiKey ?? null;
    this.models = options.models ?? ['gpt-5-mini', 'gpt-4o-mini'];
    this.dialect = options.dialect ?? 'chat';
    this.reasoningTokens = options.reasoningTokens ?? 1000;
    this.listsModels = options.listsModels ?? true;
    this.embeddings = options.embeddings ?? true;
    this.refusesUnknownModels = options.refusesUnknownModels ?? false;
    this.structuredOutput = options.structuredOutput ?? 'json_schema';
    this.responder = options.responder ?? defaultResponder;
    this.moderator = options.moderator ?? defaultModerator;
    this.moderation = options.moderation ?? true;
    this.costPerToken = options.costPerToken ?? null;
  }

  static async start(options: ModelSandboxOptions = {}): Promise<ModelSandbox> {
    const sb = new ModelSandbox(options);
    sb.#http = await SandboxHttp.start({
      prefix: '/v1',
      faults: sb.faults,
      requests: sb.requests,
      latencyMs: () => sb.latencyMs,
      handle: (call) => sb.#handle(call),
      errorBody,
    });
    return sb;
  }

  /** e.g. `http://127.0.0.1:41234/v1` (no trailing slash). */
  get url(): string {
    return this.#http.url;
  }

  /** Moderation requests answered with 200. */
  get moderations(): number {
    return this.requests.filter((r) => r.path === 'moderations' && r.status === 200).length;
  }

  /** Embedding requests answered with 200. */
  get embeddingCalls(): number {
    return this.requests.filter((r) => r.path === 'embeddings' && r.status === 200).length;
  }

  /** Chat completions answered with 200. */
  get completions(): number {
    return this.requests.filter((r) => r.path === 'chat/completions' && r.status === 200).length;
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  #moderate(body: unknown): SandboxReply {
    const input = (body as { input?: unknown } | null)?.input;
    const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((i) => typeof i === 'string') ? input : null;
    if (inputs === null || inputs.length === 0) return err(400, "Missing required parameter: 'input'.");
    const results = inputs.map((text: string) => {
      const verdict = this.moderator(text);
      const categories = Object.fromEntries(MODERATION_CATEGORIES.map((name) => [name, verdict.categories.includes(name)]));
      for (const name of verdict.categories) categories[name] = true;
      const scores = Object.fromEntries(Object.entries(categories).map(([name, on]) => [name, on ? 0.97 : 0.001]));
      return { flagged: verdict.flagged, categories, category_scores: scores };
    });
    return {
      status: 200,
      body: { id: `modr-${randomBytes(12).toString('hex')}`, model: 'omni-moderation-latest', results },
    };
  }

  #embed(body: unknown): SandboxReply {
    const { input, model, encoding_format: format } = (body ?? {}) as { input?: unknown; model?: unknown; encoding_format?: unknown };
    if (typeof model !== 'string' || model === '') return err(400, "Missing required parameter: 'model'.");
    const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((i) => typeof i === 'string') ? (input as string[]) : null;
    if (inputs === null || inputs.length === 0) return err(400, "Missing required parameter: 'input'.");
    const data = inputs.map((text, index) => {
      const vector = embeddingOf(text);
      const embedding = format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return { object: 'embedding', index, embedding };
    });
    const tokens = inputs.reduce((n, text) => n + estimateTokens(text), 0);
    return { status: 200, body: { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } } };
  }

  async #handle(call: SandboxCall): Promise<SandboxReply> {
    const known =
      (call.path === 'models' && this.listsModels) ||
      call.path === 'chat/completions' ||
      (call.path === 'moderations' && this.moderation) ||
      (call.path === 'embeddings' && this.embeddings);
    if (!known) return err(404, `Unknown path: /v1/${call.path}`);
    if (this.apiKey !== null) {
      const h = call.headers.authorization;
      if (h !== `Bearer ${this.apiKey}`) {
        return err(401, 'Incorrect API key provided. You can find your API key in your sandbox options.');
      }
    }
    if (call.path === 'models') {
      if (call.method !== 'GET') return err(405, 'Method not allowed');
      return {
        status: 200,
        body: {
          object: 'list',
          data: this.models.map((id) => ({ id, object: 'model', created: this.#created, owned_by: 'sandbox' })),
        },
      };
    }
    if (call.method !== 'POST') return err(405, 'Method not allowed');
    if (call.bodyInvalid) return err(400, 'We could not parse the JSON body of your request.');
    if (call.path === 'moderations') return this.#moderate(call.body);
    if (call.path === 'embeddings') return this.#embed(call.body);
    const body = call.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return err(400, 'A JSON object body is required.');
    const b = body as Record<string, unknown>;
    if (b.stream === true) return err(400, 'Streaming is not supported by the sandbox.');
    if (typeof b.model !== 'string' || b.model === '') return err(400, "Missing required parameter: 'model'.");
    if (this.refusesUnknownModels && !this.models.includes(b.model)) {
      return {
        status: 404,
        body: {
          error: {
            message: `The model \`${b.model}\` does not exist or you do not have access to it.`,
            type: 'invalid_request_error',
            param: null,
            code: 'model_not_found',
          },
        },
      };
    }
    if (!Array.isArray(b.messages) || b.messages.length === 0) {
      return err(400, "Missing required parameter: 'messages'.");
    }
    const messages: { role: string; content: string }[] = [];
    for (const [i, m] of (b.messages as unknown[]).entries()) {
      const mm = m as { role?: unknown; content?: unknown } | null;
      if (typeof mm !== 'object' || mm === null || typeof mm.role !== 'string') {
        return err(400, `Invalid value for 'messages[${i}].role'.`);
      }
      if (!['system', 'developer', 'user', 'assistant'].includes(mm.role)) {
        return err(400, `Invalid value for 'messages[${i}].role': '${mm.role}'.`);
      }
      if (typeof mm.content !== 'string') return err(400, `Invalid type for 'messages[${i}].content': expected a string.`);
      messages.push({ role: mm.role, content: mm.content });
    }

    if (this.dialect === 'openai-reasoning') {
      if ('max_tokens' in b) return unsupported('max_tokens', b.max_tokens);
      if ('temperature' in b && b.temperature !== 1) return unsupported('temperature', b.temperature);
    }

    const format = (b.response_format as { type?: unknown } | undefined)?.type;
    if (format !== undefined && format !== 'text' && this.structuredOutput === 'refuse') {
      return {
        status: 400,
        body: {
          error: {
            message: `Invalid parameter: 'response_format' of type '${String(format)}' is not supported with this model.`,
            type: 'invalid_request_error',
            param: 'response_format',
            code: 'unsupported_parameter',
          },
        },
      };
    }
    let reply: ChatReply;
    try {
      reply = await this.responder({ messages, model: b.model, body: b });
    } catch (e) {
      return err(500, `The sandbox responder failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (format === 'json_schema' && this.structuredOutput === 'json_schema') {
      // The model keeps to the schema: the answer and its topics as one JSON object.
      const { answer, topics } = splitTopicsLine(reply.text);
      reply = { ...reply, text: JSON.stringify({ answer, topics }) };
    }
    const max = typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : b.max_tokens;
    const budget = typeof max === 'number' && max > 0 ? max : Number.POSITIVE_INFINITY;
    const thinks = this.dialect !== 'chat';
    const reasoning = thinks ? reasoningAbout(reviewOf(lastUser(messages)), this.reasoningTokens) : '';
    const reasoningTokens = Math.min(estimateTokens(reasoning), budget);
    const message: Record<string, unknown> = { role: 'assistant' };
    let finishReason = reply.finishReason ?? 'stop';
    let completionTokens: number;

    if (this.dialect === 'think') {
      // The thinking is part of the text, and of the budget.
      let text = `<think>\n${reasoning}\n</think>\n\n${reply.text}`;
      if (estimateTokens(text) > budget) {
        text = text.slice(0, budget * 4);
        finishReason = 'length';
      }
      message.content = text;
      completionTokens = estimateTokens(text);
    } else {
      // The answer gets what the reasoning left of the budget (all of it in the classic dialect).
      const left = budget - reasoningTokens;
      let text = reply.text;
      if (estimateTokens(text) > left) {
        text = text.slice(0, Math.max(0, left) * 4);
        finishReason = 'length';
      }
      message.content = text;
      if (this.dialect === 'reasoning-content') message.reasoning_content = reasoning.slice(0, reasoningTokens * 4);
      completionTokens = reasoningTokens + estimateTokens(text);
    }
    const promptTokens = messages.reduce((n, m) => n + estimateTokens(m.content), 0);
    return {
      status: 200,
      body: {
        id: `chatcmpl-${randomBytes(12).toString('hex')}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: b.model,
        choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          // OpenAI and DeepSeek count the reasoning apart; local servers that put it in the text do not.
          ...(thinks && this.dialect !== 'think' ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } } : {}),
          ...(this.costPerToken === null ? {} : { cost: (promptTokens + completionTokens) * this.costPerToken }),
        },
      },
    };
  }
}
