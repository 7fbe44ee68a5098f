// `gisbot init`: a wizard that asks for each service's settings, checks each one as it goes (2GIS login, one tiny
// model call, database connect and migrate, WebSocket connect) and writes `.gisbotrc` with mode 0600.
import { randomBytes } from 'node:crypto';
import { access, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { configText, isEditableConfig, withBusiness } from '../config/add-business.ts';
import { BUSINESS_ENVIRONMENT_KEYS, BUSINESS_ID, businessesOf, businessVariable, DEFAULT_BUSINESS_ID } from '../config/businesses.ts';
import { loadConfig, type Config } from '../config/load.ts';
import { DEFAULT_OPENAI_BASE_URL as DEFAULT_BASE_URL, DEFAULT_OPENAI_MODEL, isOpenAiEndpoint } from '../config/schema.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { isLanguage, languageOfLocale } from '../ui/language.ts';
import { gisbotCommand, messages, useLanguage } from '../ui/messages.ts';
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
  /** The business added to an existing config, and whether the one before was moved under businesses.default. */
  added?: { id: string; moved: boolean; backup: string; notes: string[] };
  exitCode: ExitCode;
}

const DEFAULT_API_URL = 'https://api.account.2gis.com/api/1.0';

export async function init(tools: InitTools, options: { file?: string }): Promise<InitResult> {
  const { output, prompter, env } = tools;
  const m = messages.init;
  if (!output.interactive) throw new UsageError(m.needsTerminal, m.needsTerminalHint());
  const file = path.resolve(tools.cwd, options.file ?? '.gisbotrc');
  if (await exists(file)) {
    const choice = await prompter.select(
      m.existing(file),
      [
        { value: 'add', name: m.addBusiness, disabled: isEditableConfig(file) ? false : m.notEditable },
        { value: 'replace', name: m.replace },
        { value: 'keep', name: m.keep },
      ],
      m.needsTerminal,
    );
    if (choice === 'keep') return { file, checks: [], command: '', cancelled: true, exitCode: ExitCode.ok };
    if (choice === 'add') return addBusiness(tools, file);
  }
  const base: Readonly<Config> | null = await loadConfig({ cwd: tools.cwd, env }).catch(() => null);
  output.say(output.colors.bold(m.intro(file)));

  const { ask, secret, step, checks } = wizard(tools);

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

  // Cron runs with no locale at all: the language goes into the file (contract.md, ui.language).
  const language = await ask(m.language, base?.ui.language ?? languageOfLocale(env), (value) => (isLanguage(value.trim()) ? true : m.languageFormat));
  if (isLanguage(language)) useLanguage(language);

  const settings = {
    twogis: { ...(apiUrl !== DEFAULT_API_URL ? { apiUrl } : {}), login, ...(password.written ? { password: password.value } : {}) },
    openai: { ...(baseURL !== DEFAULT_BASE_URL ? { baseURL } : {}), ...(apiKey.written ? { apiKey: apiKey.value } : {}), model },
    database: { url: databaseUrl },
    ...(wsUrl ? { websocket: { url: wsUrl, ...(wsToken.written ? { token: wsToken.value } : {}) } } : {}),
    policy: { approvalBelowRating: Number(approval) },
    ui: { language },
  };
  await writePrivate(file, toYaml(settings, m.header(new Date().toISOString().slice(0, 10))));
  const command = `${gisbotCommand} run${configFlag(tools, file)}`;
  return { file, checks, command, exitCode: checks.every((one) => one.ok) ? ExitCode.ok : ExitCode.failed };
}

/** The wizard's ways of asking: a plain answer, a secret, and a service check that offers to ask again. */
function wizard(tools: InitTools) {
  const { output, prompter, env } = tools;
  const m = messages.init;
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

  return { ask, secret, step, checks };
}

/**
 * Adds a business to the existing config: its id, name and 2GIS login (checked), its password written to the
 * file or left to GISBOT_<ID>_2GIS_PASSWORD. A config without `businesses:` first moves its own business under
 * `businesses.default`. The file is checked as gisbot will load it before it replaces the old one (kept as .bak).
 */
async function addBusiness(tools: InitTools, file: string): Promise<InitResult> {
  const { output, env } = tools;
  const m = messages.init;
  const config = await loadConfig({ file, cwd: tools.cwd, env });
  const existing = businessesOf(config);
  const listed = config.businessId === null;
  const taken = new Set(existing.map((business) => business.id));
  const logins = new Map(existing.flatMap((business) => (business.config.twogis.login ? [[business.config.twogis.login, business.id] as const] : [])));
  const { ask, secret, step, checks } = wizard(tools);
  output.say(output.colors.bold(m.addIntro(file, listed ? null : DEFAULT_BUSINESS_ID)));

  const id = await ask(m.businessId, undefined, (value) => {
    const typed = value.trim();
    if (!BUSINESS_ID.test(typed)) return messages.businesses.badId;
    return taken.has(typed) ? m.idTaken(typed) : true;
  });
  const name = await ask(m.businessName, undefined);
  const apiUrl = config.twogis.apiUrl;
  let login = '';
  let password: { value: string | null; written: boolean } = { value: null, written: false };
  do {
    login = await ask(m.twogisLogin, login || undefined, (value) => {
      const owner = logins.get(value.trim());
      return owner !== undefined ? m.loginTaken(owner) : required(value);
    });
    password = await secret(m.twogisPassword, businessVariable(id, '2GIS_PASSWORD'));
  } while (!(await step('2GIS', messages.checks.twogisOk(login, host(apiUrl)), () => probeTwoGis({ apiUrl, login, password: password.value ?? '' }))));
  // The business's own language (its cards, digest, report), offered as what it would inherit; the terminal keeps its own.
  const typedLanguage = await ask(m.businessLanguage, config.ui.language ?? languageOfLocale(env), (value) => (isLanguage(value.trim()) ? true : m.languageFormat));
  const language = typedLanguage.trim();

  const before = await readFile(file, 'utf8');
  const raw = (yaml.load(before) ?? {}) as Record<string, unknown>;
  const twogis = { login, ...(password.written && password.value ? { password: password.value } : {}) };
  const { raw: next, moved } = withBusiness(raw, { id, name, twogis, ...(isLanguage(language) ? { language } : {}) });
  const text = configText(next, file, m.header(new Date().toISOString().slice(0, 10)));
  const backup = `${file}.bak`;
  await writePrivate(backup, before);
  // Checked as gisbot will read it, under a name its loader knows, before it takes the config's place.
  const temporary = path.join(path.dirname(file), `.gisbotrc-${randomBytes(4).toString('hex')}.tmp${file.endsWith('.json') ? '.json' : '.yaml'}`);
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  try {
    await loadConfig({ file: temporary, cwd: tools.cwd, env });
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await rename(temporary, file);

  // The unprefixed variables apply only to a config without businesses: the moved business takes its own.
  const notes = moved
    ? Object.entries(existing[0]!.variables).flatMap(([key, variable]) => {
        const suffix = Object.entries(BUSINESS_ENVIRONMENT_KEYS).find(([, own]) => own === key)?.[0];
        return env[variable] && suffix ? [m.renameVariable(variable, businessVariable(DEFAULT_BUSINESS_ID, suffix))] : [];
      })
    : [];
  const command = `${gisbotCommand} balance add <amount> --business ${id}${configFlag(tools, file)}`;
  return { file, checks, command, added: { id, moved, backup, notes }, exitCode: checks.every((one) => one.ok) ? ExitCode.ok : ExitCode.failed };
}

/** ` --config <file>` unless the file is the one gisbot finds from here. */
function configFlag(tools: InitTools, file: string): string {
  const isDefault = path.dirname(file) === path.resolve(tools.cwd) && path.basename(file) === '.gisbotrc';
  return isDefault ? '' : ` --config ${JSON.stringify(file)}`;
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
    const added = result.added ? { business: result.added.id, moved: result.added.moved } : {};
    output.data(JSON.stringify({ file: result.file, checks: result.checks, command: result.command, ...added, ...(result.cancelled ? { cancelled: true } : {}) }));
    return;
  }
  if (result.cancelled) return output.say(messages.init.cancelled);
  if (result.added) {
    output.say(c.green(`✓ ${messages.init.businessAdded(result.added.id, result.file)}`));
    if (result.added.moved) output.say(messages.init.moved);
    for (const note of result.added.notes) output.error(c.yellow(note));
    output.say(c.dim(messages.init.backup(result.added.backup)));
    if (result.exitCode !== ExitCode.ok) output.error(c.yellow(messages.init.someFailed));
    return output.say(messages.init.businessNext(c.bold(result.command)));
  }
  output.say(c.green(`✓ ${messages.init.written(result.file)}`));
  if (result.exitCode !== ExitCode.ok) output.error(c.yellow(messages.init.someFailed));
  output.say(messages.init.next(c.bold(result.command)));
}
