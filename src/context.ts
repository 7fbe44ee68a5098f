// The one context object, built once per command from the config. Every part can be handed in instead, so
// tests swap a port rather than mock a module. Adapter modules are imported lazily: start-up stays cheap.
import { readFile } from 'node:fs/promises';
import { businessOf, DEFAULT_BUSINESS_ID, type Business } from './config/businesses.ts';
import type { Config } from './config/load.ts';
import { ENVIRONMENT_KEYS, isOpenAiEndpoint } from './config/schema.ts';
import { OutboxRelay, silentNotifier, type Notifier } from './core/events/outbox.ts';
import { CONFIG_LANGUAGES } from './core/drafting/language.ts';
import type { PipelineDeps, PipelineSettings } from './core/pipeline.ts';
import { DEFAULT_POLICY, type AnsweringPolicy, type BranchPolicy } from './core/answering/policy.ts';
import { modelSettingsFingerprint } from './core/answering/retries.ts';
import type { Clock, Failpoint, FailpointName, Logger, Model, PromptSource, Store, Telegram, TwoGis } from './core/ports.ts';
import { ConfigError, ServiceError } from './errors.ts';
import { createProcessOwnership } from './adapters/process/ownership.ts';
import type { ConfiguredSecret } from './core/drafting/gate.ts';
import { createRedactor, MIN_SECRET_LENGTH, type Redact } from './redact.ts';
import { createConsoleLogger, teeLogger } from './ui/console-log.ts';
import { messages } from './ui/messages.ts';
import type { Output } from './ui/output.ts';
import { createPrompter, type Prompter } from './ui/prompter.ts';

export interface Context extends PipelineDeps {
  config: Readonly<Config>;
  output: Output;
  notifier: Notifier;
  prompter: Prompter;
  redact: Redact;
  /** The Telegram bot (telegram.botToken), for the commands that bridge to it; null when Telegram is off. */
  telegram: Telegram | null;
  /** Lets go of the log file, so that the next line opens it again at its path (SIGHUP, after logrotate). */
  reopenLog(): void;
  /** Closes what the context opened: database pool, notifier, log file. */
  close(): Promise<void>;
}

/** What a command needs beyond the database; the settings it requires are checked up front. */
export interface ContextNeeds {
  twogis?: boolean;
  model?: boolean;
  /** false: no stderr line on each review's outcome as it happens: the command tells the outcome itself (reply). */
  reviewLines?: boolean;
  /** The Telegram bridge's bot, when telegram.botToken is set (run, poll-once). */
  telegram?: boolean;
  /**
   * The command checks whose database it is itself, after its own checks of the services (run, poll-once,
   * doctor); any other is checked before it runs (commands/binding.ts).
   */
  bindsItself?: boolean;
  /** The command serves several businesses at once (poll-once), each from its own config. */
  servesMany?: boolean;
}

export type ContextParts = Partial<Omit<Context, 'close' | 'reopenLog' | 'config' | 'output' | 'settings' | 'redact'>> & {
  /** Tests shorten waits such as the read-back delay. */
  settings?: Partial<PipelineSettings>;
};

export async function createContext(
  config: Readonly<Config>,
  output: Output,
  needs: ContextNeeds = {},
  parts: ContextParts = {},
): Promise<Context> {
  requireSettings(config, needs);
  const redact = createRedactor(configuredSecrets(config).map((secret) => secret.value));
  const closers: Array<() => Promise<void>> = [];
  const reopeners: Array<() => void> = [];

  const logger = parts.logger ?? (await createLogger(config, output, redact, { closers, reopeners }, needs.reviewLines ?? true));
  const clock = parts.clock ?? clockFromEnvironment(process.env.GISBOT_TEST_NOW);
  // The database seen from this config's business: every row the command reads or writes is that business's. A
  // store handed in is used as it is (a test's, bound already).
  const database = parts.store ?? (await createStore(config, redact));
  closers.push(() => database.close());
  const store = parts.store ?? database.forBusiness(config.businessId ?? DEFAULT_BUSINESS_ID);

  const notifier = parts.notifier ?? (await createNotifier(config, store, clock, logger));
  closers.unshift(() => notifier.stop());

  const context: Context = {
    config,
    output,
    redact,
    logger,
    clock,
    store,
    twogis: parts.twogis ?? (needs.twogis ? await createTwoGis(config) : unconfigured<TwoGis>('2gis')),
    model: parts.model ?? (needs.model ? await createModel(config, logger) : unconfigured<Model>('model')),
    prompts: parts.prompts ?? promptFile(config.prompt.file),
    prompter: parts.prompter ?? createPrompter(output),
    failpoint: parts.failpoint ?? failpointFromEnvironment(process.env.GISBOT_FAILPOINT),
    ownership: parts.ownership ?? createProcessOwnership(),
    settings: { ...settingsFrom(config), ...parts.settings },
    telegram: parts.telegram !== undefined ? parts.telegram : needs.telegram && config.telegram.botToken ? await createTelegram(config, redact) : null,
    notifier,
    onEvents: () => notifier.kick(),
    reopenLog() {
      for (const reopen of reopeners) reopen();
    },
    async close() {
      for (const close of closers) await close().catch(() => {});
    },
  };
  return context;
}

/**
 * What a deployment's context needs to serve one of several businesses: the database seen from the business, its
 * own 2GIS account, prompt, price and policy (its effective config); the model, clock, log and outbox are shared.
 */
export async function businessDeps(ctx: Context, business: Business): Promise<PipelineDeps & { business: Business }> {
  requireSettings(business.config, { twogis: true });
  return {
    ...ctx,
    business,
    store: ctx.store.forBusiness(business.id),
    twogis: await createTwoGis(business.config),
    prompts: promptFile(business.config.prompt.file),
    settings: { ...settingsFrom(business.config), ...pick(ctx.settings, ['readBackDelayMs', 'leaseMs']) },
  };
}

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, from[key]])) as Pick<T, K>;
}

export function settingsFrom(config: Readonly<Config>): PipelineSettings {
  return {
    price: config.billing.pricePerReply,
    templatePrice: config.billing.pricePerTemplateReply ?? config.billing.pricePerReply,
    businessId: config.businessId ?? undefined,
    lowBalance: config.billing.lowBalance,
    approvalBelowRating: config.policy.approvalBelowRating,
    maxLength: config.reply.maxLength,
    leaseMs: config.pipeline.leaseSeconds * 1000,
    concurrency: config.polling.concurrency,
    maxPostAttempts: 10,
    // A POST can land as late as its deadline; twice that leaves room for 2GIS applying it after it arrived.
    readBackDelayMs: 2 * config.twogis.timeoutSeconds * 1000,
    breakerThreshold: 3,
    policy: answeringPolicyFrom(config),
    secrets: configuredSecrets(config),
    intake: {
      maxPagesPerBranch: config.polling.maxPagesPerBranch,
      maxMsPerBranch: config.polling.maxSecondsPerBranch * 1000,
      sweepMs: config.polling.sweepDays * 86_400_000,
      sweepIntervalMs: config.polling.sweepIntervalMinutes * 60_000,
    },
    recheckMs: config.approval.recheckMinutes * 60_000,
    insight: {
      repeatThreshold: config.insight.repeatThreshold,
      repeatWindowMs: config.insight.repeatWindowDays * 86_400_000,
    },
    voice: { examples: config.voice.examples, embeddingModel: config.voice.embeddingModel ?? null },
    modelSettings: modelSettingsFingerprint(config.openai),
    recheckAfterMs: Math.round(config.twogis.recheckAfterHours * 3_600_000),
    refundRemoved: config.billing.refundRemoved,
  };
}

/**
 * The config's secrets by key: the reply gate refuses a draft holding one, and every sink masks them. Every
 * business's own secrets count, whichever business this config serves: one business's password must not reach
 * another's answers or anyone's log.
 */
export function configuredSecrets(config: Readonly<Config>): ConfiguredSecret[] {
  const secrets: Array<[string, string | null | undefined]> = [
    ['twogis.password', config.twogis.password],
    ['twogis.accessToken', config.twogis.accessToken],
    ['openai.apiKey', config.openai.apiKey],
    ['websocket.token', config.websocket.token],
    ['telegram.botToken', config.telegram.botToken],
    ['database.url', databasePassword(config)],
  ];
  for (const business of config.businesses) {
    if (business.config === config) continue;
    secrets.push([`${business.keyPrefix}twogis.password`, business.config.twogis.password]);
    secrets.push([`${business.keyPrefix}twogis.accessToken`, business.config.twogis.accessToken]);
  }
  return secrets
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].length >= MIN_SECRET_LENGTH)
    .map(([key, value]) => ({ key, value }));
}

/** `policy.*` of the config in the core's terms: languages as ISO 639-3, absent strings as null. */
function answeringPolicyFrom(config: Readonly<Config>): AnsweringPolicy {
  const policy = config.policy;
  const branches: Record<string, Partial<BranchPolicy>> = {};
  for (const [branchId, own] of Object.entries(policy.branches)) {
    const { defaultLanguage, ...rest } = own;
    branches[branchId] = { ...rest, ...(defaultLanguage ? { defaultLanguage: CONFIG_LANGUAGES[defaultLanguage] } : {}) };
  }
  return {
    ...DEFAULT_POLICY,
    tone: policy.tone ?? null,
    signature: policy.signature ?? null,
    facts: policy.facts,
    answerRatingOnly: policy.answerRatingOnly,
    defaultLanguage: CONFIG_LANGUAGES[policy.defaultLanguage],
    branches,
    maxRegenerations: policy.maxRegenerations,
    moderation: policy.moderation,
    answerFollowUps: policy.answerFollowUps,
    templates: policy.templates ?? {},
    postDelayMinutes: policy.postDelayMinutes ?? null,
  };
}

function requireSettings(config: Readonly<Config>, needs: ContextNeeds): void {
  const required: Array<[string, unknown]> = [];
  // A token copied from the browser stands in for the login and password (owners who sign in through 2GIS ID).
  if (needs.twogis && config.twogis.accessToken === undefined) required.push(['twogis.login', config.twogis.login], ['twogis.password', config.twogis.password]);
  if (needs.model && isOpenAiEndpoint(config.openai.baseURL)) required.push(['openai.apiKey', config.openai.apiKey]);
  const business = businessOf(config);
  const variables: Record<string, string> = Object.fromEntries(Object.entries(ENVIRONMENT_KEYS).map(([variable, key]) => [key, variable]));
  Object.assign(variables, business?.variables);
  // A business's own keys are named where they are written: businesses.<id>.twogis.login.
  const where = (key: string) => (business && Object.hasOwn(business.variables, key) ? `${business.keyPrefix}${key}` : key);
  const missing = required.filter(([, value]) => value === undefined).map(([key]) => messages.config.required(where(key), variables[key] ?? null));
  // Nothing set anywhere: a newcomer without a config, not a config with holes in it.
  const noAccount = config.twogis.login === undefined && config.twogis.password === undefined && config.twogis.accessToken === undefined;
  if (needs.twogis && noAccount && config.source === null) {
    throw new ConfigError([messages.config.noConfigFound], messages.config.noConfigHint);
  }
  if (missing.length > 0) throw new ConfigError(missing, messages.config.fixHint(config.source, false));
}

async function createLogger(
  config: Readonly<Config>,
  output: Output,
  redact: Redact,
  hooks: { closers: Array<() => Promise<void>>; reopeners: Array<() => void> },
  reviewLines: boolean,
) {
  const { createFileLogger } = await import('./adapters/logfile/logger.ts');
  const file = createFileLogger({
    file: config.logs.file,
    redact,
    onFailure: (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      output.error(messages.run.logUnwritable(config.logs.file, error.message, code === 'EROFS' || code === 'EACCES' || code === 'EPERM' ? code : null));
    },
  });
  hooks.closers.push(() => file.close());
  hooks.reopeners.push(() => file.reopen());
  return teeLogger(file, createConsoleLogger(output, redact, { reviews: reviewLines }));
}

async function createStore(config: Readonly<Config>, redact: Redact): Promise<Store> {
  const url = config.database.url;
  if (url.startsWith('mysql:')) {
    const { createMysqlStore } = await import('./adapters/store/mysql.ts');
    return createMysqlStore({ url, notifications: Boolean(config.websocket.url), redact });
  }
  const { createSqliteStore, sqlitePathFromUrl } = await import('./adapters/store/sqlite.ts');
  return createSqliteStore({ path: sqlitePathFromUrl(url), notifications: Boolean(config.websocket.url), redact });
}

async function createNotifier(config: Readonly<Config>, store: Store, clock: Clock, logger: Logger): Promise<Notifier> {
  if (!config.websocket.url) return silentNotifier;
  const { createWsTransport } = await import('./adapters/ws/transport.ts');
  const transport = createWsTransport({ url: config.websocket.url, token: config.websocket.token ?? null, ack: config.websocket.ack });
  return new OutboxRelay(store, transport, clock, logger);
}

async function createTelegram(config: Readonly<Config>, redact: Redact): Promise<Telegram> {
  const [{ createTelegramBot }, { telegramRendererFor }, { languageOfLocale }] = await Promise.all([
    import('./adapters/telegram/bot.ts'),
    import('./ui/telegram-card.ts'),
    import('./ui/language.ts'),
  ]);
  return createTelegramBot({ token: config.telegram.botToken!, apiUrl: config.telegram.apiUrl, render: telegramRendererFor(chatLanguages(config, languageOfLocale(process.env))), redact });
}

/**
 * The language each chat reads (contract.md, `ui.language`): a business's chats its business's key; the agency's
 * staff chats the top level's; where no key is set, the locale (cron has none: README says to set the key).
 */
export function chatLanguages(config: Readonly<Config>, locale: 'ru' | 'en'): (chatId: string) => 'ru' | 'en' {
  const byChat = new Map<string, 'ru' | 'en'>();
  for (const business of config.businesses) {
    for (const chat of business.config.telegram.chatIds) byChat.set(chat, business.config.ui.language ?? locale);
  }
  // The top level's chats (the staff's, or a single business's own): the key of the config in force.
  for (const chat of config.telegram.chatIds) if (!byChat.has(chat)) byChat.set(chat, config.ui.language ?? locale);
  return (chatId) => byChat.get(chatId) ?? config.ui.language ?? locale;
}

async function createTwoGis(config: Readonly<Config>): Promise<TwoGis> {
  const { createTwoGisClient } = await import('./adapters/twogis/client.ts');
  return createTwoGisClient({
    apiUrl: config.twogis.apiUrl,
    login: config.twogis.login,
    password: config.twogis.password,
    accessToken: config.twogis.accessToken,
    branches: config.twogis.branches ?? null,
    timeoutMs: config.twogis.timeoutSeconds * 1000,
    webApiKey: config.twogis.webApiKey,
    locale: config.twogis.locale,
  });
}

async function createModel(config: Readonly<Config>, logger: Logger): Promise<Model> {
  const { createOpenAiModel } = await import('./adapters/openai/model.ts');
  const { baseURL, apiKey, model, timeoutSeconds, temperature, maxTokens } = config.openai;
  return createOpenAiModel({
    baseURL,
    apiKey,
    model,
    timeoutMs: timeoutSeconds * 1000,
    temperature,
    maxTokens,
    onAdjust: (message) => logger.warn(message),
  });
}

function unconfigured<T extends object>(service: '2gis' | 'model'): T {
  return new Proxy({} as T, {
    get() {
      throw new ServiceError(service, 'unavailable', `${service} is not set up for this command`);
    },
  });
}

function promptFile(file: string): PromptSource {
  return {
    async read() {
      try {
        return await readFile(file, 'utf8');
      } catch (error) {
        throw new ConfigError([messages.config.promptUnreadable(file, (error as NodeJS.ErrnoException).code ?? 'error')]);
      }
    },
  };
}

function databasePassword(config: Readonly<Config>): string | null {
  try {
    const url = new URL(config.database.url);
    return url.password ? decodeURIComponent(url.password) : null;
  } catch {
    return null;
  }
}

const FAILPOINTS = new Set<FailpointName>(['after_claim', 'after_generate', 'before_post', 'after_post', 'after_record', 'after_complaint_sent']);

/** GISBOT_FAILPOINT=<name>: the crash tests' hook (contract.md). The process dies as if the power went. */
function failpointFromEnvironment(name: string | undefined): Failpoint {
  if (!name || !FAILPOINTS.has(name as FailpointName)) return () => {};
  return (point) => {
    if (point === name) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * GISBOT_TEST_NOW=<ISO time>: the tests' hook to run the binary at a simulated time (cron over hours in seconds):
 * the clock starts there and runs on at the real pace. Unset or unreadable: the system's clock.
 */
function clockFromEnvironment(start: string | undefined): Clock {
  const at = start ? Date.parse(start) : Number.NaN;
  if (Number.isNaN(at)) return systemClock;
  const shift = at - Date.now();
  return { now: () => new Date(Date.now() + shift), sleep: systemClock.sleep };
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
