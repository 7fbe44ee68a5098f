// Config once at startup: cosmiconfig finds the file, environment overrides it, zod checks the whole, and the
// result is frozen. Every problem is reported as `path: message`, all at once.
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { userFolder } from '../user-folders.ts';
import { messages } from '../ui/messages.ts';
import { configSchema, ENVIRONMENT_KEYS, SECRET_KEYS, type ParsedConfig } from './schema.ts';

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

const SEARCH_PLACES = [
  'package.json',
  '.gisbotrc',
  '.gisbotrc.json',
  '.gisbotrc.yaml',
  '.gisbotrc.yml',
  'gisbot.config.js',
  'gisbot.config.mjs',
];

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function loadConfig(options: LoadOptions = {}): Promise<Readonly<Config>> {
  const env = options.env ?? process.env;
  const { raw, file } = await readConfigFile(options.file, options.cwd ?? process.cwd());
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

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error.issues, origins), messages.config.fixHint(file));
  }
  return deepFreeze(resolvePaths(result.data, file, options.dataDir ?? userFolder('data', env)));
}

async function readConfigFile(
  explicitFile: string | undefined,
  cwd: string,
): Promise<{ raw: Record<string, unknown> | null; file: string | null }> {
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig('gisbot', { searchPlaces: SEARCH_PLACES, searchStrategy: 'global' });
  try {
    const found = explicitFile ? await explorer.load(path.resolve(cwd, explicitFile)) : await explorer.search(cwd);
    if (!found || found.isEmpty) return { raw: null, file: found?.filepath ?? null };
    if (typeof found.config !== 'object' || found.config === null || Array.isArray(found.config)) {
      throw new ConfigError([`${found.filepath}: must hold an object of settings`]);
    }
    return { raw: found.config as Record<string, unknown>, file: found.filepath };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const where = explicitFile ? path.resolve(cwd, explicitFile) : 'configuration file';
    throw new ConfigError([`${where}: ${reason}`]);
  }
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

function formatIssues(issues: readonly z.core.$ZodIssue[], origins: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(`${base ? `${base}.` : ''}${key}: unknown key`);
      continue;
    }
    const origin = origins.get(base);
    problems.push(`${base || '(root)'}${origin ? ` (from ${origin})` : ''}: ${issue.message}`);
  }
  return problems;
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

/** A `prompts/system.md` beside the config wins; otherwise the one shipped with gisbot (from src/ or dist/src/). */
function resolveDefaultPrompt(promptFile: string, configDir: string): string {
  const candidates = [configDir, PACKAGE_ROOT, path.join(PACKAGE_ROOT, '..')].map((dir) => path.resolve(dir, promptFile));
  return candidates.find((candidate) => exists(candidate)) ?? candidates[0]!;
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
