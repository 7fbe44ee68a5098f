// The businesses one deployment serves (contract.md, "Businesses"). A config without `businesses:` is one
// business with id `default`. Each business is handed to the rest of gisbot as its effective config: the
// top-level defaults with the business's own keys laid over them, so code that takes a `Config` serves one
// business without knowing there are others.
// Which key goes where is said once, in the three tables below: adding a per-business key is one line.
import { UsageError } from '../errors.ts';
import { messages } from '../ui/messages.ts';
import type { Config } from './load.ts';

export const DEFAULT_BUSINESS_ID = 'default';
export const BUSINESS_ID = /^[a-z0-9-]{1,32}$/;

/**
 * Per business, inherited: a top-level value is the default of every business, a business's own value wins.
 * A section name (`policy`) takes the whole section; `section.key` takes that key alone. Keys the schema does not
 * know yet are left out: the schema stays the judge of what a key may hold.
 */
export const INHERITED_KEYS = [
  'policy',
  'billing.pricePerReply',
  'billing.pricePerTemplateReply',
  'billing.lowBalance',
  'billing.refundRemoved',
  'reply',
  'insight',
  'voice',
  'twogis.apiUrl',
  'twogis.webApiKey',
  'twogis.locale',
  'twogis.recheckAfterHours',
  'timeZone',
  'telegram.digest',
  'approval',
  'ui',
] as const;

/**
 * Per business and never inherited: one business's account, chats and prompt must never reach another. With
 * `businesses:` present these at the top level are a configuration error, except `telegram.chatIds`, which there
 * names the agency's own staff chats (they get every business's cards).
 */
export const NEVER_INHERITED_KEYS = [
  'name',
  'twogis.login',
  'twogis.password',
  'twogis.accessToken',
  'twogis.branches',
  'prompt.file',
  'telegram.chatIds',
] as const;

/** Keys only a business has (not in the top-level schema): `enabled` is also a top-level default. */
const BUSINESS_ONLY_KEYS = ['name', 'enabled'] as const;

/** `GISBOT_<ID>_<suffix>`: a business's secrets from the environment, over the file. */
export const BUSINESS_ENVIRONMENT_KEYS = {
  '2GIS_LOGIN': 'twogis.login',
  '2GIS_PASSWORD': 'twogis.password',
  '2GIS_TOKEN': 'twogis.accessToken',
} as const;

export interface Business {
  /** `[a-z0-9-]{1,32}`; `default` for a config without `businesses:`. */
  id: string;
  /** The business's `name`, or null when the config gives none (the single-business shape). */
  name: string | null;
  /** `enabled: false` pauses a business: not served by run/poll-once, its data kept, its commands still work. */
  enabled: boolean;
  /** The effective config for this business: top-level defaults with the business's own keys over them. */
  config: Readonly<Config>;
  /** The agency's staff chats (top-level `telegram.chatIds` beside `businesses:`): they get every business's cards. */
  staffChatIds: readonly string[];
  /** Where a key of this business is written in the file: `businesses.<id>.` or, for the single-business shape, ''. */
  keyPrefix: string;
  /** The environment variable that sets each secret of this business (`twogis.password` → `GISBOT_<ID>_2GIS_PASSWORD`). */
  variables: Readonly<Record<string, string>>;
}

/** Every business of the config, in the order the file lists them. */
export function businessesOf(config: Readonly<Config>): readonly Business[] {
  return config.businesses;
}

/** The business whose effective config this is; for the top level of a `businesses:` config, null. */
export function businessOf(config: Readonly<Config>): Business | null {
  return config.businesses.find((business) => business.id === config.businessId) ?? null;
}

/** The chats that get this config's business's cards: its own chats and the agency's staff chats. */
export function cardChatIds(config: Readonly<Config>): string[] {
  return [...new Set([...(businessOf(config)?.staffChatIds ?? []), ...config.telegram.chatIds])];
}

/** `GISBOT_COFFEE_OK_2GIS_PASSWORD` for business `coffee-ok`. */
export function businessVariable(id: string, suffix: string): string {
  return `GISBOT_${id.toUpperCase().replaceAll('-', '_')}_${suffix}`;
}

/** The prompt a business without `prompt.file` reads, beside the config: `default` keeps the single shape's file. */
export function defaultPromptName(businessId: string | null): string {
  return businessId === null || businessId === DEFAULT_BUSINESS_ID ? 'prompts/system.md' : `prompts/${businessId}.md`;
}

/**
 * What a command is about:
 * - `one`: one business's data (balance, reply, prompt, branches, stats, report, complain): with several in the
 *   config it must be named;
 * - `serve`: what run and poll-once serve: every enabled business, or the one named;
 * - `all`: every business, paused ones too (doctor, logs), or the one named.
 */
export type BusinessScope = 'one' | 'serve' | 'all';

/** The businesses a command works on, by `--business` and its scope; a refusal is one line listing the ids (exit 2). */
export function selectBusinesses(businesses: readonly Business[], requested: string | undefined, scope: BusinessScope): Business[] {
  const ids = businesses.map((business) => business.id);
  const words = messages.businesses;
  if (requested !== undefined) {
    const named = businesses.find((business) => business.id === requested);
    if (!named) throw new UsageError(words.unknown(requested, ids));
    if (scope === 'serve' && !named.enabled) throw new UsageError(words.paused(named.id));
    return [named];
  }
  if (scope === 'one') {
    if (businesses.length > 1) throw new UsageError(words.needsOne(ids));
    return [...businesses];
  }
  if (scope === 'serve') {
    const enabled = businesses.filter((business) => business.enabled);
    if (enabled.length === 0) throw new UsageError(words.allPaused(ids));
    return enabled;
  }
  return [...businesses];
}

// ---- Loading: from the file's plain data to every business's settings (used by load.ts) ----

type Raw = Record<string, unknown>;

export interface KeyPlacement {
  /** Is the key a top-level section or `section.key` of the configuration schema? */
  known(key: string): boolean;
}

/**
 * The keys inside a business that may not stand there: deployment-wide keys and unknown ones, each with why. The
 * schema judges the values of the keys that may.
 */
export function misplacedKeys(business: Raw, schema: KeyPlacement): Array<{ key: string; message: string }> {
  const perBusiness = new Set<string>([...INHERITED_KEYS, ...NEVER_INHERITED_KEYS, ...BUSINESS_ONLY_KEYS]);
  const why = (key: string) => (schema.known(key) ? messages.businesses.deploymentWide : messages.config.unknownKey);
  const misplaced: Array<{ key: string; message: string }> = [];
  for (const [section, value] of Object.entries(business)) {
    if (perBusiness.has(section)) continue;
    if (![...perBusiness].some((key) => key.startsWith(`${section}.`))) {
      misplaced.push({ key: section, message: why(section) });
      continue;
    }
    if (!isMap(value)) continue; // the schema says what the section must be
    for (const key of Object.keys(value)) {
      const full = `${section}.${key}`;
      if (!perBusiness.has(full)) misplaced.push({ key: full, message: why(full) });
    }
  }
  return misplaced;
}

/** The top level's values a business inherits: everything but the never-inherited keys (the schema's defaults fill the rest). */
export function inheritable(top: Raw): Raw {
  const copy = structuredClone(top);
  for (const key of NEVER_INHERITED_KEYS) deletePath(copy, key);
  return copy;
}

/** `over` laid on `under`: sections merge key by key; any other value (a list too) replaces. */
export function layered(under: Raw, over: Raw): Raw {
  const result: Raw = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const below = result[key];
    result[key] = isMap(value) && isMap(below) ? layered(below, value) : value;
  }
  return result;
}

/**
 * Chats, branches and 2GIS logins listed for two businesses (or a business's chat that is also a staff chat), one
 * line each: a login is one 2GIS account, and two businesses on one account would answer and charge twice.
 */
export function sharedIds(
  businesses: ReadonlyArray<{ id: string; prefix: string; chatIds: readonly string[]; branches: readonly string[]; login: string | undefined }>,
  staffChatIds: readonly string[],
): string[] {
  const problems: string[] = [];
  const chats = new Map<string, string>();
  const branches = new Map<string, string>();
  const logins = new Map<string, string>();
  const staff = new Set(staffChatIds);
  for (const business of businesses) {
    for (const chat of business.chatIds) {
      if (staff.has(chat)) problems.push(`${business.prefix}telegram.chatIds: ${messages.businesses.staffChat(chat)}`);
      const owner = chats.get(chat);
      if (owner !== undefined) problems.push(`${business.prefix}telegram.chatIds: ${messages.businesses.sharedChat(chat, owner)}`);
      else chats.set(chat, business.id);
    }
    if (business.login !== undefined) {
      const owner = logins.get(business.login.toLowerCase());
      if (owner !== undefined) problems.push(`${business.prefix}twogis.login: ${messages.businesses.sharedLogin(owner)}`);
      else logins.set(business.login.toLowerCase(), business.id);
    }
    for (const branch of business.branches) {
      const owner = branches.get(branch);
      if (owner !== undefined) problems.push(`${business.prefix}twogis.branches: ${messages.businesses.sharedBranch(branch, owner)}`);
      else branches.set(branch, business.id);
    }
  }
  return problems;
}

export function isMap(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function getPath(object: unknown, key: string): unknown {
  let current: unknown = object;
  for (const part of key.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined; // a list's items by their index
    current = (current as Raw)[part];
  }
  return current;
}

export function setPath(object: Raw, key: string, value: unknown): void {
  const parts = key.split('.');
  let current = object;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    if (!isMap(next)) current[part] = {};
    current = current[part] as Raw;
  }
  current[parts.at(-1)!] = value;
}

export function deletePath(object: Raw, key: string): void {
  const parts = key.split('.');
  const parent = getPath(object, parts.slice(0, -1).join('.') || '');
  const holder = parts.length === 1 ? object : parent;
  if (isMap(holder)) delete holder[parts.at(-1)!];
}
