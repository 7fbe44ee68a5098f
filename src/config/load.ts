// Config once at startup: cosmiconfig finds the file, environment overrides it, zod checks the whole, and the
// result is frozen. Every problem is reported as `path: message`, all at once.
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { shippedFile } from '../shipped.ts';
import { userFolder } from '../user-folders.ts';
import { messages } from '../ui/messages.ts';
import { describeIssues, plainWords } from './problems.ts';
import { readConfigFile } from './read-file.ts';
import { configSchema, ENVIRONMENT_KEYS, knownKeysAt, SECRET_KEYS, type ParsedConfig } from './schema.ts';

export interface Config extends Omit<ParsedConfig, 'database' | 'logs' | 'prompt'> {
  database: { url: string };
  logs: { file: string };
  prompt: { file: string };
  /** The file the settings came from, if any. */
  source: string | null;
}

export interface LoadOptions {
  /** `--config <file>`; otherwise cosmiconfig searches from `cwd`. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags that map to keys; they win over everything. Never secrets. */
  overrides?: Record<string, unknown>;
  dataDir?: string;
}

export async function loadConfig(options: LoadOptions = {}): Promise<Readonly<Config>> {
  const env = options.env ?? process.env;
  const { raw, file, problems: fileProblems } = await readConfigFile(options.file, options.cwd ?? process.cwd());
  if (file && raw !== null) refuseReadableSecrets(file, raw);

  const merged = structuredClone(raw ?? {}) as Record<string, unknown>;
  const origins = new Map<string, string>();
  for (const [variable, key] of Object.entries(ENVIRONMENT_KEYS)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    setPath(merged, key, value);
    origins.set(key, variable);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(merged, key, value);
  }

  const result = configSchema.safeParse(merged, { error: plainWords });
  const issues = result.success ? [] : result.error.issues;
  const problems = [...fileProblems, ...describeIssues(issues, origins, knownKeysAt)];
  if (!result.success || problems.length > 0) {
    const fromEnvironment = issues.some((issue) => origins.has(issue.path.join('.')));
    throw new ConfigError(problems, messages.config.fixHint(file, fromEnvironment));
  }
  return deepFreeze(resolvePaths(result.data, file, options.dataDir ?? userFolder('data', env)));
}

/** A file that holds a secret must not be readable by group or other (contract.md). */
function refuseReadableSecrets(file: string, raw: Record<string, unknown>): void {
  const secrets: string[] = SECRET_KEYS.filter((key) => getPath(raw, key) !== undefined);
  const databaseUrl = getPath(raw, 'database.url');
  if (typeof databaseUrl === 'string' && /^mysql:\/\/[^/]*:[^/@]+@/.test(databaseUrl)) secrets.push('database.url');
  if (secrets.length === 0 || process.platform === 'win32') return;
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError([messages.config.secretsReadable(file, secrets, mode & 0o777)], messages.config.chmodHint(file));
  }
}

function resolvePaths(parsed: ParsedConfig, file: string | null, dataDir: string): Config {
  const configDir = file ? path.dirname(file) : process.cwd();
  const promptFile = parsed.prompt.file;
  // The default prompt ships with gisbot; a path the user gives is relative to their config file.
  const prompt = file && promptFile !== 'prompts/system.md' ? path.resolve(configDir, promptFile) : resolveDefaultPrompt(promptFile, configDir);
  return {
    ...parsed,
    database: { url: parsed.database.url ?? `sqlite:${path.join(dataDir, 'gisbot.db')}` },
    logs: { file: path.resolve(configDir, parsed.logs.file ?? path.join(dataDir, 'gisbot.log')) },
    prompt: { file: prompt },
    source: file,
  };
}

/** A `prompts/system.md` beside the config wins; otherwise the one shipped with gisbot. */
function resolveDefaultPrompt(promptFile: string, configDir: string): string {
  const beside = path.resolve(configDir, promptFile);
  return exists(beside) ? beside : shippedFile(promptFile);
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function getPath(object: Record<string, unknown>, key: string): unknown {
  let current: unknown = object;
  for (const part of key.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function setPath(object: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let current = object;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) current[part] = {};
    current = current[part] as Record<string, unknown>;
  }
  current[parts.at(-1)!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
