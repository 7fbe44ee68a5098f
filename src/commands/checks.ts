// Service checks. `run` makes the cheap ones before its first cycle: the database (and its migrations), a 2GIS
// login and the model endpoint's model list, which costs nothing. `init` and `doctor` go further: one tiny model
// call (it proves the model name too) and a WebSocket connect.
import type { Config } from '../config/load.ts';
import type { Context } from '../context.ts';
import type { Model, Store } from '../core/ports.ts';
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
    check('model', `${ctx.config.openai.model} at ${host(ctx.config.openai.baseURL)}`, () => ctx.model.checkReachable()),
  ]);
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
}
export interface ModelSettings {
  baseURL: string;
  apiKey: string;
  model: string;
}

export async function probeTwoGis(settings: TwoGisSettings): Promise<void> {
  const { createTwoGisClient } = await import('../adapters/twogis/client.ts');
  await createTwoGisClient({ ...settings, branches: null, timeoutMs: 10_000, retries: 1 }).checkLogin();
}

/** One tiny completion: proves the endpoint, the key and the model name. */
export async function probeModel(settings: ModelSettings): Promise<string> {
  const { createOpenAiModel } = await import('../adapters/openai/model.ts');
  const model: Model = createOpenAiModel({ ...settings, timeoutMs: 20_000, maxRetries: 0, maxTokens: 5, temperature: 0 });
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

/** Connects (with the token, as the notifier does) and closes again. */
export async function probeWebSocket(url: string, token: string | null, timeoutMs = 5_000): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const socket = new WebSocket(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, handshakeTimeout: timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', (error) => reject(new Error(messages.checks.wsFailed(host(url), error.message))));
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(messages.checks.wsRefused(host(url), response.statusCode ?? 0))),
      );
    });
  } finally {
    socket.terminate();
  }
}

/** What `doctor` checks for a loaded config: each service it names, one line each. */
export async function configChecks(config: Readonly<Config>): Promise<ServiceCheck[]> {
  const { twogis, openai, database, websocket } = config;
  const missing = (key: string) => () => Promise.reject(new Error(messages.checks.notSet(key)));
  return Promise.all([
    check('database', messages.checks.databaseOk(database.url.startsWith('mysql:') ? host(database.url) : database.url), () => probeDatabase(database.url)),
    check(
      '2GIS',
      messages.checks.twogisOk(twogis.login ?? '', host(twogis.apiUrl)),
      twogis.login === undefined ? missing('twogis.login') : twogis.password === undefined ? missing('twogis.password')
        : () => probeTwoGis({ apiUrl: twogis.apiUrl, login: twogis.login!, password: twogis.password! }),
    ),
    check('model', '', openai.apiKey === undefined ? missing('openai.apiKey') : () => probeModel({ ...openai, apiKey: openai.apiKey! })),
    check(
      'websocket',
      websocket.url ? messages.checks.wsOk(host(websocket.url)) : messages.checks.wsOff,
      websocket.url ? () => probeWebSocket(websocket.url!, websocket.token ?? null) : async () => {},
    ),
    check('prompt', messages.checks.promptOk(config.prompt.file), async () => {
      const { readFile } = await import('node:fs/promises');
      if ((await readFile(config.prompt.file, 'utf8')).trim() === '') throw new Error(messages.checks.promptEmpty(config.prompt.file));
    }),
  ]);
}
