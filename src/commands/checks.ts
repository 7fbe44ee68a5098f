// Service checks. `run` makes the cheap ones before its first cycle: the database (and its migrations), a 2GIS
// login and the model endpoint's model list, which costs nothing (or, on a server without one, the tiny model call
// below). `init` and `doctor` go further: one tiny model call (it proves the model name too) and a WebSocket connect.
import { businessesOf, type Business } from '../config/businesses.ts';
import type { Config } from '../config/load.ts';
import { isOpenAiEndpoint } from '../config/schema.ts';
import type { Context } from '../context.ts';
import type { BusinessBinding, Model, Store } from '../core/ports.ts';
import { ConfigError, isServiceError, ServiceError } from '../errors.ts';
import type { TokenUse } from '../core/doctor/token-age.ts';
import { messages } from '../ui/messages.ts';

export interface ServiceCheck {
  name: string;
  ok: boolean;
  /** English prose, for people and for `doctor --json` alike (JSON never changes with the language). */
  detail: string;
  /** What happened, for programs to match instead of the prose: `ok`, or why not (`unavailable`, `model_not_listed`, …). */
  code: string;
}

/** A check that failed for a reason of its own (not a service's error): its stable code beside the words. */
class CheckFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The code of a failed check: the check's own, a service's (its code, else its kind), or a configuration's. */
function failureCode(error: unknown): string {
  if (error instanceof CheckFailure) return error.code;
  if (error instanceof ServiceError) return error.code ?? error.kind;
  if (error instanceof ConfigError) return 'config';
  return 'failed';
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
  throw new CheckFailure('model_not_listed', messages.checks.modelNotListed(settings.model, host(settings.baseURL), closest.slice(0, LISTED_SHOWN), listed.length));
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
    return { name, ok: true, detail: typeof found === 'string' ? found : detail, code: 'ok' };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error), code: failureCode(error) };
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

/**
 * Signs in; with `branches`, also proves that the account has each of them (a typo there is never answered). With
 * `onAccount`, also reads which account it is (the cabinet's user id): doctor compares it with the database's binding.
 */
export async function probeTwoGis(
  settings: TwoGisSettings & { accessToken?: string | undefined; branches?: readonly string[] | undefined },
  onAccount?: (account: BusinessBinding) => void,
): Promise<void> {
  const { createTwoGisClient } = await import('../adapters/twogis/client.ts');
  const client = createTwoGisClient({ ...settings, branches: null, timeoutMs: 10_000, retries: 1 });
  await client.checkLogin();
  if (onAccount) onAccount(await client.account());
  if (settings.branches === undefined || settings.branches.length === 0) return;
  const held = new Set((await client.accountBranches()).map((branch) => branch.id));
  const strangers = settings.branches.filter((id) => !held.has(id));
  if (strangers.length > 0) throw new CheckFailure('branches_not_in_account', messages.checks.branchesNotInAccount(strangers));
}

/**
 * The token check's line: signed in, and how long the token has been in use (the database's record of its first
 * sign-in, kept by `run`, `poll-once` and this check; or its own issue time when it is a JWT that says) and when it
 * expires if it says. A database that cannot be reached leaves out what only it knows: its own line says why.
 */
export async function tokenInUse(databaseUrl: string, businessId: string, token: string, where: string, now = new Date()): Promise<string> {
  const { jwtClaims, tokenAge, tokenFingerprint } = await import('../core/doctor/token-age.ts');
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
  if (completion.text.trim() === '') throw new CheckFailure('model_silent', messages.checks.modelSilent(settings.model));
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
    if (status !== undefined) throw new CheckFailure('ws_refused', messages.checks.wsRefused(host(url), status));
    // The transport's words name the host and what happened (refused, no pong, dropped).
    throw isServiceError(error) ? error : new Error(messages.checks.wsFailed(host(url), String(error)));
  }
  if (proof === 'unacknowledged') throw new CheckFailure('ws_unacknowledged', messages.checks.wsUnacknowledged(host(url), Math.round(timeoutMs / 1000)));
  return proof === 'acknowledged' ? messages.checks.wsAcknowledged(host(url)) : messages.checks.wsPonged(host(url));
}

/**
 * The bot token (getMe) and each chat of telegram.chatIds (getChat: the bot can write there only once the person
 * started it, or the group added it), one line each; one line saying it is off when there is no token.
 */
export async function telegramChecks(settings: Readonly<Config['telegram']>): Promise<ServiceCheck[]> {
  if (settings.botToken === undefined) return [{ name: 'telegram', ok: true, detail: messages.checks.telegramOff, code: 'off' }];
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
          if (error instanceof ServiceError && error.movedTo !== undefined) throw new CheckFailure('telegram_chat_moved', messages.telegram.chatMoved(chatId, error.movedTo, error.message));
          if (error instanceof ServiceError && (error.kind === 'rejected' || error.kind === 'blocked')) throw new CheckFailure('telegram_chat_unreachable', messages.checks.telegramChatUnreachable(error.message));
          throw error;
        }
      }),
    ),
  ];
  if (settings.chatIds.length === 0) checks.push(Promise.resolve({ name: 'telegram chats', ok: false, detail: messages.checks.telegramNoChats, code: 'telegram_no_chats' }));
  return Promise.all(checks);
}

/** A check of whose database this is: failed, it is the refusal `run` would meet (exit 2 rather than 1). */
export interface BindingCheck extends ServiceCheck {
  binding: true;
}

/**
 * What `doctor` checks for a loaded config: each service it names, one line each. With several businesses (or one
 * of a `businesses:` config), the shared services once, and each business's 2GIS login, binding and prompt on lines
 * naming it. `database`: the deployment's database, for the bindings (doctor reads them and writes none).
 */
export async function configChecks(
  config: Readonly<Config>,
  businesses: readonly Business[] = businessesOf(config),
  database: Store | null = null,
): Promise<Array<ServiceCheck | BindingCheck>> {
  const { openai, websocket } = config;
  const single = businesses.length === 1 && businesses[0]!.keyPrefix === '';
  // The account each business's sign-in reached, for its binding.
  const accounts = new Map<string, BusinessBinding>();
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
      await probeTwoGis(
        { apiUrl: twogis.apiUrl, login: twogis.login ?? '', password: twogis.password ?? '', accessToken: twogis.accessToken, webApiKey: twogis.webApiKey, locale: twogis.locale, branches: twogis.branches },
        database ? (account) => accounts.set(business.id, account) : undefined,
      );
      if (twogis.accessToken !== undefined) return tokenInUse(config.database.url, business.id, twogis.accessToken, host(twogis.apiUrl));
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
      if ((await readFile(file, 'utf8')).trim() === '') throw new CheckFailure('prompt_empty', messages.checks.promptEmpty(file));
    });
  };
  const [databaseCheck, twogisChecks, modelCheck, websocketCheck, promptChecks] = await Promise.all([
    check(
      'database',
      messages.checks.databaseOk(config.database.url.startsWith('mysql:') ? host(config.database.url) : config.database.url),
      examplePlaceholders(config).includes('database.url') ? () => Promise.reject(new Error(messages.checks.placeholders(['database.url']))) : () => probeDatabase(config.database.url),
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
  // Whose database this is, once the database is known to open: as `run` would find it, from what was read above.
  const bindings = database && databaseCheck.ok ? await bindingChecks(database, businesses, accounts, single) : [];
  return [databaseCheck, ...twogisChecks, ...bindings, modelCheck, websocketCheck, ...promptChecks, ...(await telegram)];
}

/**
 * Each business's binding in the database against its config: the account its sign-in reached (the cabinet's user
 * id) when 2GIS answered, else the configured login against the bound one, as the commands that read the database
 * alone compare them. A failed one names the business, the login bound and the login configured.
 */
async function bindingChecks(
  database: Store,
  businesses: readonly Business[],
  accounts: ReadonlyMap<string, BusinessBinding>,
  single: boolean,
): Promise<BindingCheck[]> {
  await database.migrate(); // migrated by the database check already: this store's own connection sees it so
  const records = await database.businessRecords();
  return Promise.all(
    businesses.map(async (business) => {
      const name = single ? 'binding' : `binding ${business.id}`;
      const configured = business.config.twogis.login ?? null;
      const account = accounts.get(business.id) ?? null;
      const bound = records.find((record) => record.id === business.id)?.binding ?? null;
      const fail = (detail: string): BindingCheck => ({ name, ok: false, detail, binding: true, code: 'binding_mismatch' });
      if (account !== null) {
        if (bound !== null && bound.userId !== account.userId) return fail(messages.binding.otherAccount(business.id, bound.login, configured));
        const holder = records.find((record) => record.id !== business.id && record.binding?.userId === account.userId);
        if (holder) return fail(messages.binding.sameAccount(business.id, holder.id, configured));
      } else if (bound?.login && configured && bound.login !== configured) {
        return fail(messages.binding.otherAccount(business.id, bound.login, configured));
      }
      const detail = bound === null ? messages.checks.notBoundYet(configured) : messages.checks.boundTo(bound.login);
      return { name, ok: true, detail, binding: true, code: bound === null ? 'not_bound_yet' : 'ok' };
    }),
  );
}
