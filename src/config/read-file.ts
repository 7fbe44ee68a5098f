// A config file into plain data. cosmiconfig finds it; js-yaml reads YAML and JSON alike (YAML 1.2 contains JSON),
// so a syntax error in either names its line and column. Each file is read twice over, typed and as plain text,
// which catches a key YAML reads as something other than its text: a branch id left unquoted is a number to YAML,
// rounded past 2^53 (`70000001017466092:` becomes "70000001017466100"), and its settings would go to no branch.
import path from 'node:path';
import yaml from 'js-yaml';
import { ConfigError } from '../errors.ts';
import { messages } from '../ui/messages.ts';

export interface ConfigFile {
  raw: Record<string, unknown> | null;
  file: string | null;
  /** Keys the file spells one way and YAML reads another, as `path: message`. */
  problems: string[];
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

/** `explicitFile` is `--config`; without it cosmiconfig searches from `cwd` up to the home folder. */
export async function readConfigFile(explicitFile: string | undefined, cwd: string): Promise<ConfigFile> {
  const { cosmiconfig } = await import('cosmiconfig');
  const problems: string[] = [];
  const load = (filepath: string, content: string): unknown => {
    const typed = yaml.load(content);
    // package.json holds gisbot's settings under its `gisbot` key; cosmiconfig picks them out after this.
    const own = path.basename(filepath, path.extname(filepath)) === 'package' ? (document: unknown) => field(document, 'gisbot') : (document: unknown) => document;
    problems.push(...retypedKeys(own(typed), own(asText(content)), []));
    return typed;
  };
  const explorer = cosmiconfig('gisbot', {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'global',
    loaders: { '.json': load, '.yaml': load, '.yml': load, noExt: load },
  });
  const target = explicitFile === undefined ? undefined : path.resolve(cwd, explicitFile);
  let found: Awaited<ReturnType<typeof explorer.search>>;
  try {
    found = target ? await explorer.load(target) : await explorer.search(cwd);
  } catch (error) {
    throw new ConfigError([cannotRead(error, target)]);
  }
  if (!found || found.isEmpty) return { raw: null, file: found?.filepath ?? null, problems };
  if (typeof found.config !== 'object' || found.config === null || Array.isArray(found.config)) {
    throw new ConfigError([messages.config.notSettings(found.filepath)]);
  }
  return { raw: found.config as Record<string, unknown>, file: found.filepath, problems };
}

function cannotRead(error: unknown, target: string | undefined): string {
  const file = (error as { filepath?: string }).filepath ?? target ?? 'configuration file';
  if (error instanceof yaml.YAMLException && error.mark) {
    return messages.config.syntax(file, error.mark.line + 1, error.mark.column + 1, messages.config.yamlReason(error.reason));
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' && target) return messages.config.missingFile(target);
  if (code === 'EISDIR') return messages.config.folderNotFile(file);
  if (code === 'EACCES' || code === 'EPERM') return messages.config.unreadable(file);
  // A gisbot.config.js that throws, for one: its own first line says best what went wrong.
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return `${file}: ${reason}`;
}

/** The document with every scalar left as the text it is written as; undefined where that cannot be read. */
function asText(content: string): unknown {
  try {
    return yaml.load(content, { schema: yaml.FAILSAFE_SCHEMA });
  } catch {
    return undefined; // an explicit tag such as `!!int` has no plain-text reading: such a file goes unchecked
  }
}

/** Keys of `text` that `typed` does not hold: YAML read them as a number (or another type) and wrote that back. */
function retypedKeys(typed: unknown, text: unknown, at: readonly string[]): string[] {
  if (Array.isArray(text)) return Array.isArray(typed) ? text.flatMap((item, index) => retypedKeys(typed[index], item, [...at, String(index)])) : [];
  if (!isMap(text) || !isMap(typed)) return [];
  return Object.entries(text).flatMap(([key, value]) => {
    if (key === '<<') return []; // a merge key: what it names was merged into this map
    if (Object.hasOwn(typed, key)) return retypedKeys(typed[key], value, [...at, key]);
    return [`${[...at, key].join('.')}: ${messages.config.quoteKey(key, yaml.load(key))}`];
  });
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(document: unknown, key: string): unknown {
  return isMap(document) ? document[key] : undefined;
}
