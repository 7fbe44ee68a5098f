// Service checks. `run` makes the cheap ones before its first cycle: the database (and its migrations), a 2GIS
// login and the model endpoint's model list, which costs nothing (or, on a server without one, the tiny model call
// below). `init` and `doctor` go further: one tiny model call (it proves the model name too) and a WebSocket connect.
import { businessesOf, type Business } from '../config/businesses.ts';
import type { Config } from '../config/load.ts';
import { isOpenAiEndpoint } from '../config/schema.ts';
import type { Context } from '../context.ts';
import type { Model, Store } from '../core/ports.ts';
import type { TokenUse } from '../core/token-age.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import { messages } from '../ui/messages.ts';

export interface ServiceCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export async function checkServices(ctx: Context): Promise<ServiceCheck[]> {
  return Promise.all([
    check('database', 'connected and migrated', () => ctx.store.migrate()),
    check('2GIS', `logged in at ${host(ctx.config.twogis.apiUrl)}`, () => ctx.twogis.checkLogin()),
    check('model', `${ctx.config.openai.model} at ${host(ctx.config.openai.baseURL)}`, () => modelReachable(ctx.model, ctx.config.openai)),
  ]);
}

/**
 * The model list, and openai.model in it when it lists any; a server without one (404 or 405: Ollama's and others'
 * do not always have it) gets the tiny call.
 */
async function modelReachable(model: Model, settings: Pick<ModelSettings, 'model' | 'baseURL'>): Promise<void | string> {
  const listed = await modelList(model);
  if (listed === null) return tinyCompletion(model, settings);
  requireListed(listed, settings);
}

/** What GET /models lists; null when the server has no list (404, 405). */
async function modelList(model: Model): Promise<string[] | null> {
  try {
    return await model.checkReachable();
  } catch (error) {
    if (!(error instanceof ServiceError) || (error.status !== 404 && error.status !== 405)) throw error;
    return null;
  }
}

/**
 * A server that lists its models must list openai.model: a typo is named here, before any review fails on it. The
 * models named in the message are those closest to the configured name. An Ollama name without its tag is listed
 * with `:latest`; case does not count.
 */
export function requireListed(listed: readonly string[] | null, settings: Pick<ModelSettings, 'model' | 'baseURL'>): void {
  if (listed === null || listed.length === 0) return;
  const wanted = settings.model.toLowerCase();
  if (listed.some((id) => id.toLowerCase() === wanted || id.toLowerCase() === `${wanted}:latest`)) return;
  const closest = [...listed].sort((a, b) => distance(a.toLowerCase(), wanted) - distance(b.toLowerCase(), wanted) || a.localeCompare(b));
  throw new Error(messages.checks.modelNotListed(settings.model, host(settings.baseURL), closest.slice(0, LISTED_SHOWN), listed.length));
}

const LISTED_SHOWN = 5;

/** Edit distance (Levenshtein), to name the listed models most like a mistyped one first. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export async function check(name: string, detail: string, probe: () => Promise<void | string>): Promise<ServiceCheck> {
  try {
    const found = await probe();
    return { name, ok: true, detail: typeof found === 'string' ? found : detail };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

export function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The settings one service needs: each probe below takes only these, so `init` can check before a config exists. */
export interface TwoGisSettings {
  apiUrl: string;
  login: string;
  password: string;
  /** Defaults as the config's when absent (init checks before a config exists). */
  webApiKey?: string;
  locale?: string;
}
export interface ModelSettings {
  baseURL: string;
  /** Absent: the server takes none. */
  apiKey?: string | undefined;
  model: string;
  timeoutSeconds?: number;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
}

/** Signs in; with `branches`, also proves that the account has each of them (a typo there is never answered). */
export async function probeTwoGis(settings: TwoGisSettings & { accessToken?: string | undefined; branches?: readonly string[] | undefined }): Promise<void> {
  const { createTwoGisClient } = await import('../adapters/twogis/client.ts');
  const client = createTwoGisClient({ ...settings, branches: null, timeoutMs: 10_000, retries: 1 });
  await client.checkLogin();
  if (settings.branches === undefined || settings.branches.length === 0) return;
  const held = new Set((await client.accountBranches()).map((branch) => branch.id));
  const strangers = settings.branches.filter((id) => !held.has(id));
  if (strangers.length > 0) throw new Error(messages.checks.branchesNotInAccount(strangers));
}

/**
 * The token check's line: signed in, and how long the token has been in use (the database's record of its first
 * sign-in, kept by `run`, `poll-once` and this check; or its own issue time when it is a JWT that says) and when it
 * expires if it says. A database that cannot be reached leaves out what only it knows: its own line says why.
 */
export async function tokenInUse(databaseUrl: string, businessId: string, token: string, where: string, now = new Date()): Promise<string> {
  const { jwtClaims, tokenAge, tokenFingerprint } = await import('../core/token-age.ts');
  const signedIn = messages.checks.twogisTokenOk(where);
  const claims = jwtClaims(token);
  let use: TokenUse | null = null;
  try {
    const store = await openStore(databaseUrl);
    try {
      await store.migrate();
      use = await store.forBusiness(businessId).noteAccessToken(tokenFingerprint(token), now);
    } finally {
      await store.close();
    }
  } catch {
    // the database's own check says what is wrong with it
  }
  const known = use ?? (claims?.issuedAt ? { firstUsedAt: claims.issuedAt, lastUsedAt: now } : null);
  if (known === null) return signedIn;
  const age = tokenAge(known, claims, now);
  const expiresIn = age.expiresAt === null ? null : Math.round((age.expiresAt.getTime() - now.getTime()) / 60_000);
  return `${signedIn}; ${messages.checks.tokenAge(age.minutes, age.since.toISOString(), expiresIn)}`;
}

/** The values `.gisbotrc.example` ships with: a config still holding one was copied and not filled in. */
const EXAMPLE_PLACEHOLDERS: ReadonlyArray<[key: string, pick: (config: Readonly<Config>) => string | undefined, placeholder: RegExp]> = [
  ['twogis.password', (config) => config.twogis.password, /^change-me$/],
  ['openai.apiKey', (config) => config.openai.apiKey, /^sk-change-me$/],
  ['database.url', (config) => config.database.url, /change-me/],
];

/** The keys of `config` that still hold the example file's placeholders. */
export function examplePlaceholders(config: Readonly<Config>): string[] {
  return EXAMPLE_PLACEHOLDERS.filter(([, pick, placeholder]) => placeholder.test(pick(config) ?? '')).map(([key]) => key);
}

/**
 * openai.model among the models the server lists (as `run` checks it), then one tiny completion with the settings in
 * force: proves the endpoint, the key, the model name and its dialect.
 */
export async function probeModel(settings: ModelSettings): Promise<string> {
  const { createOpenAiModel } = await import('../adapters/openai/model.ts');
  const { timeoutSeconds, ...rest } = settings;
  const model: Model = createOpenAiModel({ ...rest, maxRetries: 0, ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }) });
  // The check `run` makes at start-up; a list that cannot be read leaves the proof to the tiny call.
  requireListed(await modelList(model).catch(() => null), settings);
  return tinyCompletion(model, settings);
}

/**
 * "Answer with one word": with the budget of real answers, since a reasoning model thinks even about one word and
 * a probe's tiny budget would end in its thinking.
 */
async function tinyCompletion(model: Model, settings: Pick<ModelSettings, 'model' | 'baseURL'>): Promise<string> {
  const completion = await model.complete([{ role: 'user', content: 'Answer with one word: OK' }]);
  if (completion.text.trim() === '') throw new Error(messages.checks.modelSilent(settings.model));
  return messages.checks.modelAnswered(settings.model, host(settings.baseURL));
}

export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('mysql:')) {
    const { createMysqlStore } = await import('../adapters/store/mysql.ts');
    return createMysqlStore({ url, notifications: false });
  }
  const { createSqliteStore, sqlitePathFromUrl } = await import('../adapters/store/sqlite.ts');
  return createSqliteStore({ path: sqlitePathFromUrl(url), notifications: false });
}

export async function probeDatabase(url: string): Promise<void> {
  const store = await openStore(url);
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
}

/**
 * Connects as the notifier does (with the token) and asks the receiver for the proof delivery relies on: with
 * `ack`, the acknowledgement of a probe event; without, the pong to a ping.
 */
export async function probeWebSocket(url: string, token: string | null, ack = false, timeoutMs = 5_000): Promise<string> {
  const { probeReceiver } = await import('../adapters/ws/transport.ts');
  let proof: Awaited<ReturnType<typeof probeReceiver>>;
  try {
    proof = await probeReceiver({ url, token, ack, connectTimeoutMs: timeoutMs, ackTimeoutMs: timeoutMs });
  } catch (error) {
    const status = isServiceError(error, 'websocket') ? error.status : undefined;
    if (status !== undefined) throw new Error(messages.checks.wsRefused(host(url), status));
    // The transport's words name the host and what happened (refused, no pong, dropped).
    throw isServiceError(error) ? error : new Error(messages.checks.wsFailed(host(url), String(error)));
  }
  if (proof === 'unacknowledged') throw new Error(messages.checks.wsUnacknowledged(host(url), Math.round(timeoutMs / 1000)));
  return proof === 'acknowledged' ? messages.checks.wsAcknowledged(host(url)) : messages.checks.wsPonged(host(url));
}

/**
 * The bot token (getMe) and each chat of telegram.chatIds (getChat: the bot can write there only once the person
 * started it, or the group added it), one line each; one line saying it is off when there is no token.
 */
export async function telegramChecks(settings: Readonly<Config['telegram']>): Promise<ServiceCheck[]> {
  if (settings.botToken === undefined) return [{ name: 'telegram', ok: true, detail: messages.checks.telegramOff }];
  const [{ createTelegramBot }, { telegramRenderer }, { createRedactor }] = await Promise.all([
    import('../adapters/telegram/bot.ts'),
    import('../ui/telegram-card.ts'),
    import('../redact.ts'),
  ]);
  const bot = createTelegramBot({ token: settings.botToken, apiUrl: settings.apiUrl, render: telegramRenderer, redact: createRedactor([settings.botToken]), timeoutMs: 10_000 });
  const where = host(settings.apiUrl);
  const checks = [
    check('telegram', '', async () => messages.checks.telegramOk((await bot.me()).username, where)),
    ...settings.chatIds.map((chatId) =>
      check(`telegram chat ${chatId}`, '', async () => {
        try {
          const chat = await bot.chat(chatId);
          return messages.checks.telegramChat(chat.title, chat.type);
        } catch (error) {
          if (error instanceof ServiceError && error.movedTo !== undefined) throw new Error(messages.telegram.chatMoved(chatId, error.movedTo, error.message));
          if (error instanceof ServiceError && (error.kind === 'rejected' || error.kind === 'blocked')) throw new Error(messages.checks.telegramChatUnreachable(error.message));
          throw error;
        }
      }),
    ),
  ];
  if (settings.chatIds.length === 0) checks.push(Promise.resolve({ name: 'telegram chats', ok: false, detail: messages.checks.telegramNoChats }));
  return Promise.all(checks);
}

/**
 * What `doctor` checks for a loaded config: each service it names, one line each. With several businesses (or one
 * of a `businesses:` config), the shared services once, and each business's 2GIS login and prompt on lines naming it.
 */
export async function configChecks(config: Readonly<Config>, businesses: readonly Business[] = businessesOf(config)): Promise<ServiceCheck[]> {
  const { openai, database, websocket } = config;
  const single = businesses.length === 1 && businesses[0]!.keyPrefix === '';
  const missing = (key: string) => () => Promise.reject(new Error(messages.checks.notSet(key)));
  // One bot for all businesses: the staff chats and each business's own chats.
  const chatIds = [...new Set([...(businesses[0]?.staffChatIds ?? []), ...businesses.flatMap((business) => business.config.telegram.chatIds)])];
  const telegram = telegramChecks({ ...config.telegram, chatIds });
  const twogisCheck = (business: Business) => {
    const { twogis } = business.config;
    const name = single ? '2GIS' : `2GIS ${business.id}`;
    const key = (inner: string) => `${business.keyPrefix}${inner}`;
    const placeholders = examplePlaceholders(business.config).filter((one) => one.startsWith('twogis.'));
    const probe = async () => {
      await probeTwoGis({ apiUrl: twogis.apiUrl, login: twogis.login ?? '', password: twogis.password ?? '', accessToken: twogis.accessToken, webApiKey: twogis.webApiKey, locale: twogis.locale, branches: twogis.branches });
      if (twogis.accessToken !== undefined) return tokenInUse(database.url, business.id, twogis.accessToken, host(twogis.apiUrl));
    };
    return check(
      name,
      twogis.accessToken === undefined ? messages.checks.twogisOk(twogis.login ?? '', host(twogis.apiUrl)) : messages.checks.twogisTokenOk(host(twogis.apiUrl)),
      placeholders.length > 0 ? () => Promise.reject(new Error(messages.checks.placeholders(placeholders.map(key))))
        : twogis.accessToken !== undefined ? probe
        : twogis.login === undefined ? missing(key('twogis.login')) : twogis.password === undefined ? missing(key('twogis.password'))
        : probe,
    );
  };
  const promptCheck = (business: Business) => {
    const file = business.config.prompt.file;
    return check(single ? 'prompt' : `prompt ${business.id}`, messages.checks.promptOk(file), async () => {
      const { readFile } = await import('node:fs/promises');
      if ((await readFile(file, 'utf8')).trim() === '') throw new Error(messages.checks.promptEmpty(file));
    });
  };
  const [databaseCheck, twogisChecks, modelCheck, websocketCheck, promptChecks] = await Promise.all([
    check(
      'database',
      messages.checks.databaseOk(database.url.startsWith('mysql:') ? host(database.url) : database.url),
      examplePlaceholders(config).includes('database.url') ? () => Promise.reject(new Error(messages.checks.placeholders(['database.url']))) : () => probeDatabase(database.url),
    ),
    Promise.all(businesses.map(twogisCheck)),
    check(
      'model',
      '',
      examplePlaceholders(config).includes('openai.apiKey') ? () => Promise.reject(new Error(messages.checks.placeholders(['openai.apiKey'])))
        : openai.apiKey === undefined && isOpenAiEndpoint(openai.baseURL) ? missing('openai.apiKey') : () => probeModel(openai),
    ),
    check(
      'websocket',
      websocket.url ? messages.checks.wsOk(host(websocket.url)) : messages.checks.wsOff,
      websocket.url ? () => probeWebSocket(websocket.url!, websocket.token ?? null, websocket.ack) : async () => {},
    ),
    Promise.all(businesses.map(promptCheck)),
  ]);
  return [databaseCheck, ...twogisChecks, modelCheck, websocketCheck, ...promptChecks, ...(await telegram)];
}
