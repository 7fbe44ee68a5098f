// The configuration keys of contract.md, as one strict zod schema. Defaults live here and nowhere else. Its own
// messages are functions of the catalogue, read when a value is checked: the terminal's language is known by then.
import { isCurrency, LANGUAGES } from '../ui/language.ts';
import { z } from 'zod';
import { messages } from '../ui/messages.ts';
import { parseMoney, type Kopecks } from '../core/money/money.ts';
import { isTimeZone, machineTimeZone } from '../core/insight/period.ts';

const money = z
  .union([z.number(), z.string()])
  .transform((value, context): Kopecks => {
    const parsed = parseMoney(String(value));
    if (parsed === null) {
      context.addIssue({ code: 'custom', message: messages.config.schema.money });
      return z.NEVER;
    }
    return parsed;
  });

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: () => messages.config.schema.url(protocols.map((p) => `${p}//`)) },
  );

const databaseUrl = z
  .string()
  .refine((value) => /^mysql:\/\/.+/.test(value) || /^sqlite:.+/.test(value), { error: () => messages.config.schema.databaseUrl });

const positiveInt = z.number().int().positive();

export const DEFAULT_TELEGRAM_API_URL = 'https://api.telegram.org';
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** contract.md's default; OpenAI's current models work too (README, Models). */
export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';

/** OpenAI's own API needs a key; a local or other compatible server may take none. */
export function isOpenAiEndpoint(baseURL: string): boolean {
  try {
    return new URL(baseURL).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

const branchId = z.union([z.string().regex(/^\d+$/, { error: () => messages.config.schema.branchDigits }), z.number()]).refine((value) => typeof value === 'string', {
  error: () => messages.config.schema.branchQuoted,
});

const rating = z.number().int().min(0).max(6);
const language = z.enum(['ru', 'kk', 'en']);
/** `policy.templates`: per rating ("5", "4", …), the owner's own texts for reviews with a rating and no words. */
const templates = z.partialRecord(
  z.enum(['1', '2', '3', '4', '5'], { error: () => messages.config.schema.templateRating }),
  z.array(z.string().trim().min(1).max(4000)).min(1),
);
const facts = z.union([z.string().min(1), z.array(z.string().min(1))]).transform((value) => (typeof value === 'string' ? [value] : value));

/** One branch's answering rules; each key left out takes the global `policy.*` value. */
const branchPolicy = z.strictObject({
  enabled: z.boolean().optional(),
  tone: z.string().min(1).optional(),
  signature: z.string().min(1).optional(),
  facts: facts.optional(),
  approvalBelowRating: rating.optional(),
  answerRatingOnly: z.boolean().optional(),
  defaultLanguage: language.optional(),
  templates: templates.optional(),
});

/** `telegram.digest`: `mon 09:00` (weekday, 24-hour time). */
export const DIGEST_SCHEDULE = /^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)$/i;

export const configSchema = z.strictObject({
  /** The business's time zone: what a date in `--since` means, the days of `stats`. Default: the machine's. */
  timeZone: z
    .string()
    .refine(isTimeZone, { error: () => messages.config.schema.timeZone })
    .default(() => machineTimeZone()),
  twogis: z
    .strictObject({
      apiUrl: url(['https:', 'http:']).default('https://api.account.2gis.com/api/1.0'),
      login: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      /** A cabinet token copied from the browser, for owners who sign in through 2GIS ID (no password). */
      accessToken: z.string().min(1).optional(),
      branches: z.array(branchId).min(1).transform((ids) => ids.map(String)).optional(),
      /** Each request's deadline; an unseen answer's POST is read back only after twice this. */
      timeoutSeconds: z.number().min(1).max(600).default(15),
      /** The cabinet web app's public key (`x-api-key`); 2GIS may change it, so it is a setting. */
      webApiKey: z.string().min(1).default('accweb96f8'),
      /** Sent as `locale` with every cabinet request, as the cabinet's page does (`ru`, `ru_KZ`, …). */
      locale: z.string().regex(/^[a-z]{2}(_[A-Z]{2})?$/, { error: () => messages.config.schema.locale }).default('ru'),
      /** How long after posting an answer is read back once more, to see whether 2GIS removed it; fractions allowed. */
      recheckAfterHours: z.number().positive().max(24 * 365).default(24),
    })
    .refine((twogis) => twogis.accessToken === undefined || (twogis.login === undefined && twogis.password === undefined), {
      error: () => messages.config.schema.tokenOrLogin,
      path: ['accessToken'],
    })
    .prefault({}),
  openai: z
    .strictObject({
      baseURL: url(['https:', 'http:']).default(DEFAULT_OPENAI_BASE_URL),
      apiKey: z.string().min(1).optional(),
      model: z.string().min(1).default(DEFAULT_OPENAI_MODEL),
      timeoutSeconds: z.number().positive().max(3600).default(60),
      temperature: z.number().min(0).max(2).optional(),
      maxTokens: positiveInt.max(1_000_000).optional(),
    })
    .prefault({}),
  database: z.strictObject({ url: databaseUrl.optional() }).prefault({}),
  billing: z
    .strictObject({
      pricePerReply: money.default(500n),
      // Default: pricePerReply (settingsFrom).
      pricePerTemplateReply: money.optional(),
      lowBalance: money.default(5000n),
      /** Refund an answer that 2GIS removed afterwards; by default it was delivered, and stays charged. */
      refundRemoved: z.boolean().default(false),
      /** ISO 4217, one for the deployment: how people see money (JSON keeps decimal strings and adds "currency"). */
      currency: z
        .string()
        .refine(isCurrency, { error: () => messages.config.schema.currency })
        .default('RUB'),
    })
    .prefault({}),
  /** What people read: `ru` or `en`; unset, the locale (LC_ALL / LC_MESSAGES / LANG) decides (ui/language.ts). */
  ui: z.strictObject({ language: z.enum(LANGUAGES).optional() }).prefault({}),
  websocket: z
    .strictObject({
      url: url(['ws:', 'wss:']).optional(),
      token: z.string().min(1).optional(),
      ack: z.boolean().default(false),
    })
    .prefault({}),
  logs: z.strictObject({ file: z.string().min(1).optional() }).prefault({}),
  prompt: z.strictObject({ file: z.string().min(1).default('prompts/system.md') }).prefault({}),
  policy: z
    .strictObject({
      approvalBelowRating: rating.default(3),
      answerRatingOnly: z.boolean().default(true),
      defaultLanguage: language.default('ru'),
      tone: z.string().min(1).optional(),
      signature: z.string().min(1).optional(),
      facts: facts.default([]),
      maxRegenerations: z.number().int().min(0).max(5).default(2),
      moderation: z.enum(['required', 'optional', 'off']).default('off'),
      answerFollowUps: z.boolean().default(false),
      templates: templates.optional(),
      postDelayMinutes: z
        .tuple([z.number().min(0), z.number().min(0)])
        .refine(([min, max]) => min <= max, { error: () => messages.config.schema.minMax })
        .optional(),
      branches: z
        .record(z.string().regex(/^\d+$/, { error: () => messages.config.schema.branchDigits }), branchPolicy)
        .default({}),
    })
    .prefault({}),
  reply: z.strictObject({ maxLength: positiveInt.max(4000).default(4000) }).prefault({}),
  polling: z
    .strictObject({
      intervalSeconds: z.number().positive().default(60),
      concurrency: positiveInt.max(64).default(4),
      // Serving several businesses: the most answers one business may have in work at once (default: all).
      concurrencyPerBusiness: positiveInt.max(64).optional(),
      // What one branch may cost a cycle: a listing that never ends is cut there (README, RELIABILITY.md).
      maxPagesPerBranch: positiveInt.max(10_000).default(20),
      maxSecondsPerBranch: z.number().positive().default(60),
      // The sweep for reviews 2GIS publishes late: how far back, and how often (0: every cycle).
      sweepDays: z.number().min(0).max(365).default(7),
      sweepIntervalMinutes: z.number().min(0).default(180),
    })
    .prefault({}),
  pipeline: z.strictObject({ leaseSeconds: positiveInt.min(10).default(300) }).prefault({}),
  telegram: z
    .strictObject({
      // Never echoed: a message about it names only its form (BotFather's `<digits>:<letters>`).
      botToken: z.string().regex(/^\d+:[\w-]+$/, { error: () => messages.config.schema.botToken }).optional(),
      // Group and channel ids are negative; a number is taken as written (Telegram's ids fit a double).
      chatIds: z
        .array(z.union([z.string().regex(/^-?\d+$/, { error: () => messages.config.schema.chatIds }), z.number().int()]))
        .transform((ids) => [...new Set(ids.map(String))])
        .default([]),
      apiUrl: url(['https:', 'http:']).transform((value) => value.replace(/\/+$/, '')).default(DEFAULT_TELEGRAM_API_URL),
      // The weekly digest to the business's chats: a weekday and a time in the business's timeZone.
      digest: z
        .string()
        .regex(DIGEST_SCHEDULE, { error: () => messages.config.schema.digest })
        .optional(),
    })
    .prefault({}),
  approval: z
    .strictObject({
      // Every review waiting for a person is read again on 2GIS at least this often (core/answering/recheck.ts, README).
      recheckMinutes: z.number().min(1).max(1440).default(10),
      // A review waiting for a person this long gets one reminder in the business's chats.
      remindAfterHours: z.number().positive().max(24 * 366).optional(),
    })
    .prefault({}),
  insight: z
    .strictObject({
      repeatThreshold: z.number().int().min(2).max(1000).default(3),
      repeatWindowDays: z.number().positive().max(365).default(7),
    })
    .prefault({}),
  // The owner's voice (issue 22): how many of the business's own answers to similar reviews go into a prompt, and
  // the server's embedding model to choose them by (none: a lexical measure that needs nothing).
  voice: z
    .strictObject({
      examples: z.number().int().min(0).max(10).default(3),
      embeddingModel: z.string().min(1).optional(),
    })
    .prefault({}),
});

export type ParsedConfig = z.output<typeof configSchema>;

/** The keys the schema knows at a path of the file (`['twogis']` → apiUrl, login, …), for "did you mean". */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const step of path) {
    const def = unwrapped(schema)?._zod.def;
    if (def?.type === 'object') schema = def.shape?.[String(step)];
    else if (def?.type === 'record') schema = def.valueType;
    else return [];
  }
  const def = unwrapped(schema)?._zod.def;
  return def?.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

/** The object or record under defaults, prefaults and pipes. */
interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  valueType?: unknown;
  innerType?: unknown;
  in?: unknown;
}

function unwrapped(schema: unknown): { _zod: { def: SchemaDef } } | undefined {
  let current = schema as { _zod?: { def: SchemaDef } } | undefined;
  for (let depth = 0; depth < 10 && current?._zod; depth++) {
    const def = current._zod.def;
    if (def.type === 'object' || def.type === 'record') return current as { _zod: { def: SchemaDef } };
    current = (def.innerType ?? def.in) as typeof current;
  }
  return undefined;
}

/** Which environment variable feeds which key (contract.md). Secrets are never taken from flags. */
export const ENVIRONMENT_KEYS = {
  GISBOT_2GIS_API_URL: 'twogis.apiUrl',
  GISBOT_2GIS_LOGIN: 'twogis.login',
  GISBOT_2GIS_PASSWORD: 'twogis.password',
  GISBOT_2GIS_TOKEN: 'twogis.accessToken',
  OPENAI_BASE_URL: 'openai.baseURL',
  OPENAI_API_KEY: 'openai.apiKey',
  GISBOT_MODEL: 'openai.model',
  GISBOT_DATABASE_URL: 'database.url',
  GISBOT_WS_URL: 'websocket.url',
  GISBOT_WS_TOKEN: 'websocket.token',
  GISBOT_LOG_FILE: 'logs.file',
  GISBOT_TELEGRAM_TOKEN: 'telegram.botToken',
} as const;

export const SECRET_KEYS = ['twogis.password', 'twogis.accessToken', 'openai.apiKey', 'websocket.token', 'telegram.botToken'] as const;
