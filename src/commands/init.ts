// `gisbot init`: a wizard that asks for each service's settings, checks each one as it goes (2GIS login, one tiny
// model call, database connect and migrate, WebSocket connect) and writes `.gisbotrc` with mode 0600.
import { randomBytes } from 'node:crypto';
import { access, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type Config } from '../config/load.ts';
import { DEFAULT_OPENAI_BASE_URL as DEFAULT_BASE_URL, DEFAULT_OPENAI_MODEL, isOpenAiEndpoint } from '../config/schema.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { gisbotCommand, messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import type { InputOptions, Prompter } from '../ui/prompter.ts';
import { check, host, probeDatabase, probeModel, probeTwoGis, probeWebSocket, type ServiceCheck } from './checks.ts';
import { printChecks } from './doctor.ts';

export interface InitTools {
  output: Output;
  prompter: Prompter;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface InitResult {
  file: string;
  checks: ServiceCheck[];
  command: string;
  /** The person chose not to replace the existing file: nothing changed. */
  cancelled?: boolean;
  exitCode: ExitCode;
}

const DEFAULT_API_URL = 'https://api.account.2gis.com/api/1.0';

export async function init(tools: InitTools, options: { file?: string }): Promise<InitResult> {
  const { output, prompter, env } = tools;
  const m = messages.init;
  if (!output.interactive) throw new UsageError(m.needsTerminal, m.needsTerminalHint());
  const file = path.resolve(tools.cwd, options.file ?? '.gisbotrc');
  if (await exists(file)) {
    if (!(await prompter.confirm(m.overwrite(file), m.needsTerminal))) {
      return { file, checks: [], command: '', cancelled: true, exitCode: ExitCode.ok };
    }
  }
  const base: Readonly<Config> | null = await loadConfig({ cwd: tools.cwd, env }).catch(() => null);
  output.say(output.colors.bold(m.intro(file)));

  const ask = (message: string, fallback: string | undefined, validate?: InputOptions['validate']) =>
    prompter.input(message, { default: fallback, validate: validate ?? required }, m.needsTerminal).then((value) => value.trim());
  /** A secret: typed (written to the file), or left empty to keep using the environment's (not written). */
  const secret = async (message: string, variable: string, optional = false): Promise<{ value: string | null; written: boolean }> => {
    const fromEnv = env[variable] || null;
    const typed = await prompter.password(fromEnv ? m.secretFromEnv(message, variable) : message, {
      validate: (value) => (value.trim() !== '' || fromEnv || optional ? true : m.required),
    }, m.needsTerminal);
    return typed.trim() !== '' ? { value: typed.trim(), written: true } : { value: fromEnv, written: false };
  };
  const checks: ServiceCheck[] = [];
  /** Runs one check with a spinner, prints its line; on failure asks whether to enter the answers again. */
  const step = async (name: string, detail: string, probe: () => Promise<void | string>): Promise<boolean> => {
    const spinner = await output.spinner(m.checking(name));
    const result = await check(name, detail, probe);
    spinner.stop();
    printChecks((line) => output.say(line), output.colors, [result]);
    if (result.ok) {
      checks.push(result);
      return true;
    }
    if (await prompter.confirm(m.again, m.needsTerminal, true)) return false;
    checks.push(result);
    return true;
  };

  const apiUrl = base?.twogis.apiUrl ?? DEFAULT_API_URL;
  let login = '';
  let password: { value: string | null; written: boolean } = { value: null, written: false };
  do {
    login = await ask(m.twogisLogin, login || base?.twogis.login);
    password = await secret(m.twogisPassword, 'GISBOT_2GIS_PASSWORD');
  } while (!(await step('2GIS', messages.checks.twogisOk(login, host(apiUrl)), () => probeTwoGis({ apiUrl, login, password: password.value ?? '' }))));

  let baseURL = '';
  let model = '';
  let apiKey: { value: string | null; written: boolean } = { value: null, written: false };
  do {
    baseURL = await ask(m.modelUrl, baseURL || (base?.openai.baseURL ?? DEFAULT_BASE_URL), url(['http:', 'https:']));
    apiKey = await secret(m.modelKey, 'OPENAI_API_KEY', !isOpenAiEndpoint(baseURL));
    model = await ask(m.modelName, model || (base?.openai.model ?? DEFAULT_OPENAI_MODEL));
  } while (!(await step('model', '', () => probeModel({ baseURL, apiKey: apiKey.value ?? undefined, model }))));

  let databaseUrl = base?.database.url ?? '';
  do {
    // The password never shows: the URL is offered without it, and asked for on its own, masked.
    const typed = await ask(m.databaseUrl, withoutPassword(databaseUrl) || undefined, (value) =>
      /^mysql:\/\/.+/.test(value.trim()) || /^sqlite:.+/.test(value.trim()) ? true : m.databaseFormat,
    );
    databaseUrl = await withPassword(prompter, typed, databaseUrl);
  } while (!(await step('database', messages.checks.databaseOk(databaseUrl.startsWith('mysql:') ? host(databaseUrl) : databaseUrl), () => probeDatabase(databaseUrl))));

  let wsUrl = '';
  let wsToken: { value: string | null; written: boolean } = { value: null, written: false };
  for (;;) {
    wsUrl = await ask(m.wsUrl, wsUrl || (base?.websocket.url ?? ''), (value) => (value.trim() === '' ? true : url(['ws:', 'wss:'])(value)));
    if (wsUrl === '') break;
    wsToken = await secret(m.wsToken, 'GISBOT_WS_TOKEN', true);
    if (await step('websocket', messages.checks.wsOk(host(wsUrl)), () => probeWebSocket(wsUrl, wsToken.value))) break;
  }

  const approval = await ask(m.approval, String(base?.policy.approvalBelowRating ?? 3), (value) =>
    /^[0-6]$/.test(value.trim()) ? true : m.approvalFormat,
  );

  const settings = {
    twogis: { ...(apiUrl !== DEFAULT_API_URL ? { apiUrl } : {}), login, ...(password.written ? { password: password.value } : {}) },
    openai: { ...(baseURL !== DEFAULT_BASE_URL ? { baseURL } : {}), ...(apiKey.written ? { apiKey: apiKey.value } : {}), model },
    database: { url: databaseUrl },
    ...(wsUrl ? { websocket: { url: wsUrl, ...(wsToken.written ? { token: wsToken.value } : {}) } } : {}),
    policy: { approvalBelowRating: Number(approval) },
  };
  await writePrivate(file, toYaml(settings, m.header(new Date().toISOString().slice(0, 10))));
  const isDefault = path.dirname(file) === path.resolve(tools.cwd) && path.basename(file) === '.gisbotrc';
  const command = `${gisbotCommand} run${isDefault ? '' : ` --config ${JSON.stringify(file)}`}`;
  return { file, checks, command, exitCode: checks.every((one) => one.ok) ? ExitCode.ok : ExitCode.failed };
}

/** A mysql:// URL without its password (shown and offered as the default); other URLs as they are. */
function withoutPassword(url: string): string {
  const parsed = mysqlUrl(url);
  if (parsed === null || parsed.password === '') return url;
  parsed.password = '';
  return parsed.toString();
}

/**
 * The typed URL with its password: typed inline, or asked for masked. Empty keeps the one `previous` held for the
 * same user and server (the config in force, or the answer before a failed check), else means no password.
 */
async function withPassword(prompter: Prompter, typed: string, previous: string): Promise<string> {
  const url = mysqlUrl(typed);
  if (url === null || url.username === '' || url.password !== '') return typed;
  const known = mysqlUrl(previous);
  const kept = known !== null && known.username === url.username && known.host === url.host ? known.password : '';
  const question = messages.init.databasePassword(decoded(url.username));
  const password = await prompter.password(kept ? messages.init.keepCurrent(question) : messages.init.noneIfEmpty(question), {}, messages.init.needsTerminal);
  url.password = password.trim() === '' ? kept : encodeURIComponent(password.trim());
  return url.toString();
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function mysqlUrl(text: string): URL | null {
  try {
    const url = new URL(text.trim());
    return url.protocol === 'mysql:' ? url : null;
  } catch {
    return null;
  }
}

const required = (value: string): true | string => (value.trim() !== '' ? true : messages.init.required);

function url(protocols: readonly string[]) {
  return (value: string): true | string => {
    try {
      if (protocols.includes(new URL(value.trim()).protocol)) return true;
    } catch {}
    return messages.init.badUrl(protocols);
  };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/** Written to a fresh 0600 file and renamed over the target: the secrets are never readable by others, not even briefly. */
async function writePrivate(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  await rename(temporary, file);
}

/** Two levels of keys, values as JSON scalars (valid YAML): all the wizard writes. */
export function toYaml(settings: Record<string, Record<string, unknown>>, header: string): string {
  const lines = header.split('\n').map((line) => `# ${line}`);
  for (const [section, values] of Object.entries(settings)) {
    lines.push('', `${section}:`);
    for (const [key, value] of Object.entries(values)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function render(result: InitResult, output: Output): void {
  const c = output.colors;
  if (output.json) {
    output.data(JSON.stringify({ file: result.file, checks: result.checks, command: result.command, ...(result.cancelled ? { cancelled: true } : {}) }));
    return;
  }
  if (result.cancelled) return output.say(messages.init.cancelled);
  output.say(c.green(`✓ ${messages.init.written(result.file)}`));
  if (result.exitCode !== ExitCode.ok) output.error(c.yellow(messages.init.someFailed));
  output.say(messages.init.next(c.bold(result.command)));
}
