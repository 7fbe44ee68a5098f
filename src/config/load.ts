// Config once at startup: cosmiconfig finds the file, environment overrides it, zod checks the whole, and the
// result is frozen. Every problem is reported as `path: message`, all at once. With `businesses:`, each business's
// effective config is the top level's inheritable values with the business's own laid over them, checked by the
// same schema (src/config/businesses.ts says which key goes where).
import { statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { shippedFile } from '../shipped.ts';
import { userFolder } from '../user-folders.ts';
import { messages } from '../ui/messages.ts';
import {
  BUSINESS_ENVIRONMENT_KEYS,
  BUSINESS_ID,
  businessVariable,
  DEFAULT_BUSINESS_ID,
  defaultPromptName,
  deletePath,
  getPath,
  inheritable,
  isMap,
  layered,
  misplacedKeys,
  NEVER_INHERITED_KEYS,
  setPath,
  sharedIds,
  type Business,
  type KeyPlacement,
} from './businesses.ts';
import { describeIssues, plainWords } from './problems.ts';
import { readConfigFile } from './read-file.ts';
import { configSchema, ENVIRONMENT_KEYS, knownKeysAt, SECRET_KEYS, type ParsedConfig } from './schema.ts';

export interface Config extends Omit<ParsedConfig, 'database' | 'logs' | 'prompt'> {
  database: { url: string };
  logs: { file: string };
  prompt: { file: string };
  /** The file the settings came from, if any. */
  source: string | null;
  /** Every business of the deployment, in the file's order: one, `default`, for a config without `businesses:`. */
  businesses: readonly Business[];
  /** The business this is the effective config of; null for the top level of a config with `businesses:`. */
  businessId: string | null;
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

type Raw = Record<string, unknown>;
type Issue = z.core.$ZodIssue;

/** A business read from `businesses:`, before its effective config is made. */
interface Listed {
  id: string;
  name: string | null;
  enabled: boolean | undefined;
  own: Raw;
  parsed: ParsedConfig | null;
}

export async function loadConfig(options: LoadOptions = {}): Promise<Readonly<Config>> {
  const env = options.env ?? process.env;
  const { raw, file, problems: fileProblems } = await readConfigFile(options.file, options.cwd ?? process.cwd());
  if (file && raw !== null) refuseReadableSecrets(file, raw);

  const merged = structuredClone(raw ?? {}) as Raw;
  const listed = merged.businesses !== undefined;
  const listing = merged.businesses;
  delete merged.businesses;
  // With businesses listed, the unprefixed variables of a business's own keys (GISBOT_2GIS_LOGIN, …) apply to none.
  const ownKeys = new Set<string>(NEVER_INHERITED_KEYS);
  const origins = new Map<string, string>();
  for (const [variable, key] of Object.entries(ENVIRONMENT_KEYS)) {
    const value = env[variable];
    if (value === undefined || value === '' || (listed && ownKeys.has(key))) continue;
    setPath(merged, key, value);
    origins.set(key, variable);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(merged, key, value);
  }

  const problems = [...fileProblems];
  const topEnabled = takeFlag(merged, 'enabled', '', problems);
  if (listed) {
    for (const key of NEVER_INHERITED_KEYS) {
      if (key === 'telegram.chatIds' || getPath(merged, key) === undefined) continue;
      problems.push(`${key}: ${messages.businesses.topLevelOwn(key)}`);
      deletePath(merged, key);
    }
  }
  const result = configSchema.safeParse(merged, { error: plainWords });
  const issues = result.success ? [] : result.error.issues;
  problems.push(...describeIssues(issues, origins, knownKeysAt));
  let fromEnvironment = issues.some((issue) => origins.has(issue.path.join('.')));

  const businesses: Listed[] = [];
  if (listed) {
    const read = readBusinesses(listing, merged, env, problems);
    businesses.push(...read.businesses);
    fromEnvironment ||= read.fromEnvironment;
    if (result.success) {
      const entries = businesses.flatMap((business) =>
        business.parsed ? [{ id: business.id, prefix: `businesses.${business.id}.`, chatIds: business.parsed.telegram.chatIds, branches: business.parsed.twogis.branches ?? [], login: business.parsed.twogis.login }] : [],
      );
      problems.push(...sharedIds(entries, result.data.telegram.chatIds));
    }
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems, messages.config.fixHint(file, fromEnvironment));

  const dataDir = options.dataDir ?? userFolder('data', env);
  const all: Business[] = [];
  if (!listed) {
    const config = resolvePaths(result.data, file, dataDir, DEFAULT_BUSINESS_ID, null, all);
    const variables = Object.fromEntries(Object.entries(ENVIRONMENT_KEYS).filter(([, key]) => ownKeys.has(key)).map(([variable, key]) => [key, variable]));
    all.push({ id: DEFAULT_BUSINESS_ID, name: null, enabled: topEnabled ?? true, config, staffChatIds: [], keyPrefix: '', variables });
    return deepFreeze(config);
  }
  const top = resolvePaths(result.data, file, dataDir, null, null, all);
  for (const business of businesses) {
    const config = resolvePaths(business.parsed!, file, dataDir, business.id, getPath(business.own, 'prompt.file') !== undefined, all);
    const variables = Object.fromEntries(
      Object.entries(BUSINESS_ENVIRONMENT_KEYS).filter(([, key]) => schemaKeys.known(key)).map(([suffix, key]) => [key, businessVariable(business.id, suffix)]),
    );
    all.push({
      id: business.id,
      name: business.name,
      enabled: business.enabled ?? topEnabled ?? true,
      config,
      staffChatIds: top.telegram.chatIds,
      keyPrefix: `businesses.${business.id}.`,
      variables,
    });
  }
  return deepFreeze(top);
}

/** Each business of `businesses:`: its own keys checked for place, its secrets from the environment, its effective settings parsed. */
function readBusinesses(listing: unknown, top: Raw, env: NodeJS.ProcessEnv, problems: string[]): { businesses: Listed[]; fromEnvironment: boolean } {
  const businesses: Listed[] = [];
  let fromEnvironment = false;
  if (!isMap(listing)) {
    problems.push(`businesses: ${messages.businesses.none}`);
    return { businesses, fromEnvironment };
  }
  if (Object.keys(listing).length === 0) problems.push(`businesses: ${messages.businesses.none}`);
  const inherited = inheritable(top);
  for (const [id, value] of Object.entries(listing)) {
    const prefix = `businesses.${id}.`;
    if (!BUSINESS_ID.test(id)) {
      problems.push(`businesses.${id}: ${messages.businesses.badId}`);
      continue;
    }
    if (!isMap(value)) {
      problems.push(`businesses.${id}: ${messages.config.plain.mustBe(messages.config.plain.kinds.object!, null)}`);
      continue;
    }
    const own = structuredClone(value);
    const name = takeText(own, 'name', prefix, problems);
    const enabled = takeFlag(own, 'enabled', prefix, problems);
    for (const { key, message } of misplacedKeys(own, schemaKeys)) {
      problems.push(`${prefix}${key}: ${message}`);
      deletePath(own, key);
    }
    const origins = new Map<string, string>();
    for (const [suffix, key] of Object.entries(BUSINESS_ENVIRONMENT_KEYS)) {
      const variable = businessVariable(id, suffix);
      const secret = env[variable];
      if (secret === undefined || secret === '' || !schemaKeys.known(key)) continue;
      setPath(own, key, secret);
      origins.set(`${prefix}${key}`, variable);
    }
    const result = configSchema.safeParse(layered(inherited, own), { error: plainWords });
    // A problem of an inherited value is the top level's, reported there once; this business answers for its own.
    const issues = result.success ? [] : result.error.issues.flatMap((issue) => ownIssue(issue, own, id));
    problems.push(...describeIssues(issues, origins, (path) => knownKeysAt(path.slice(2))));
    fromEnvironment ||= issues.some((issue) => origins.has(issue.path.join('.')));
    businesses.push({ id, name, enabled, own, parsed: result.success ? result.data : null });
  }
  return { businesses, fromEnvironment };
}

/** The issue as this business's, at its full path, when the value at fault is the business's own; else none. */
function ownIssue(issue: Issue, own: Raw, id: string): Issue[] {
  const at = issue.path.map(String).join('.');
  const where = ['businesses', id, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.filter((key) => getPath(own, at ? `${at}.${key}` : key) !== undefined);
    return keys.length > 0 ? [{ ...issue, keys, path: where }] : [];
  }
  return getPath(own, at) !== undefined ? [{ ...issue, path: where }] : [];
}

/** `enabled` of a business or the top level: true or false. */
function takeFlag(raw: Raw, key: string, prefix: string, problems: string[]): boolean | undefined {
  const value = raw[key];
  delete raw[key];
  if (value === undefined || typeof value === 'boolean') return value;
  problems.push(`${prefix}${key}: ${messages.config.plain.mustBe(messages.config.plain.kinds.boolean!, null)}`);
  return undefined;
}

/** A business's `name`: text, not empty. */
function takeText(raw: Raw, key: string, prefix: string, problems: string[]): string | null {
  const value = raw[key];
  delete raw[key];
  if (value === undefined) return null;
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  problems.push(`${prefix}${key}: ${typeof value === 'string' ? messages.config.plain.notEmpty : messages.config.plain.mustBe(messages.config.plain.kinds.string!, null)}`);
  return null;
}

/** The schema's own keys: a top-level section, or `section.key` of one. */
const schemaKeys: KeyPlacement = {
  known(key) {
    const [section, inner, ...rest] = key.split('.');
    const sectionSchema = unwrap(configSchema.shape[section as keyof typeof configSchema.shape]);
    if (!sectionSchema) return false;
    if (inner === undefined) return true;
    const shape = (sectionSchema as { shape?: Record<string, unknown> }).shape;
    return rest.length === 0 && shape !== undefined && Object.hasOwn(shape, inner);
  },
};

/** A schema without its `.default()`, `.prefault()` and `.optional()` wrappers. */
function unwrap(schema: unknown): unknown {
  let current = schema as { _zod?: { def: { innerType?: unknown } } } | undefined;
  while (current?._zod?.def.innerType) current = current._zod.def.innerType as typeof current;
  return current;
}

/** A file that holds a secret must not be readable by group or other (contract.md). */
function refuseReadableSecrets(file: string, raw: Record<string, unknown>): void {
  const secrets: string[] = SECRET_KEYS.filter((key) => getPath(raw, key) !== undefined);
  // A business's password is as secret as the single business's.
  if (isMap(raw.businesses)) {
    for (const [id, business] of Object.entries(raw.businesses)) {
      secrets.push(...SECRET_KEYS.filter((key) => getPath(business, key) !== undefined).map((key) => `businesses.${id}.${key}`));
    }
  }
  const databaseUrl = getPath(raw, 'database.url');
  if (typeof databaseUrl === 'string' && /^mysql:\/\/[^/]*:[^/@]+@/.test(databaseUrl)) secrets.push('database.url');
  if (secrets.length === 0 || process.platform === 'win32') return;
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError([messages.config.secretsReadable(file, secrets, mode & 0o777)], messages.config.chmodHint(file));
  }
}

/**
 * Paths made absolute, and the config joined to its deployment's businesses. `promptGiven`: the business set
 * `prompt.file` itself (null: the single-business shape, where the schema's default counts as not given).
 */
function resolvePaths(
  parsed: ParsedConfig,
  file: string | null,
  dataDir: string,
  businessId: string | null,
  promptGiven: boolean | null,
  businesses: readonly Business[],
): Config {
  const configDir = file ? path.dirname(file) : process.cwd();
  const promptFile = parsed.prompt.file;
  const given = promptGiven ?? (file !== null && promptFile !== 'prompts/system.md');
  // The default prompt ships with gisbot; a path the user gives is relative to their config file.
  const prompt = given ? path.resolve(configDir, promptFile) : resolveDefaultPrompt(defaultPromptName(businessId), configDir);
  return {
    ...parsed,
    database: { url: parsed.database.url ?? `sqlite:${path.join(dataDir, 'gisbot.db')}` },
    logs: { file: path.resolve(configDir, parsed.logs.file ?? path.join(dataDir, 'gisbot.log')) },
    prompt: { file: prompt },
    source: file,
    businesses,
    businessId,
  };
}

/** A `prompts/system.md` (for a business: `prompts/<id>.md`) beside the config wins; otherwise the one shipped with gisbot. */
function resolveDefaultPrompt(promptFile: string, configDir: string): string {
  const beside = path.resolve(configDir, promptFile);
  return exists(beside) ? beside : shippedFile('prompts/system.md');
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
