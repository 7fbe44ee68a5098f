// One more business in a config file's plain data, as `init` adds it. A config without `businesses:` is one
// business, `default`: adding a second first moves what is that business's own under `businesses.default`
// (contract.md, "Businesses"), so that nothing of its account, chats, prompt or words reaches the new one.
import yaml from 'js-yaml';
import type { UiLanguage } from '../ui/language.ts';
import { DEFAULT_BUSINESS_ID, deletePath, getPath, isMap, NEVER_INHERITED_KEYS, setPath } from './businesses.ts';

type Raw = Record<string, unknown>;

export interface NewBusiness {
  id: string;
  name: string;
  /** The password only when it is to be written to the file (not when it comes from the environment). */
  twogis: { login: string; password?: string };
  /** What its owner reads (`ui.language`): written for the business, as cron, with no locale, cannot tell. */
  language?: UiLanguage;
}

/**
 * Keys a business inherits that still describe the first business alone: its voice and its branches' rules. Moved
 * with it, so the new business does not sign its answers with the first one's name.
 */
const DESCRIBES_ITS_BUSINESS = ['policy.tone', 'policy.signature', 'policy.facts', 'policy.branches'] as const;

/** The config with `business` added; `moved`: the single business was moved under `businesses.default` first. */
export function withBusiness(raw: Readonly<Raw>, business: NewBusiness): { raw: Raw; moved: boolean } {
  const next = structuredClone(raw) as Raw;
  const entry: Raw = { name: business.name, twogis: { ...business.twogis }, ...(business.language ? { ui: { language: business.language } } : {}) };
  if (isMap(next.businesses)) {
    next.businesses = { ...next.businesses, [business.id]: entry };
    return { raw: next, moved: false };
  }
  const first: Raw = {};
  for (const key of [...NEVER_INHERITED_KEYS, ...DESCRIBES_ITS_BUSINESS]) {
    const value = getPath(next, key);
    if (value === undefined) continue;
    setPath(first, key, value);
    deletePath(next, key);
    const section = key.split('.')[0]!;
    if (isMap(next[section]) && Object.keys(next[section]).length === 0) delete next[section];
  }
  next.businesses = { [DEFAULT_BUSINESS_ID]: first, [business.id]: entry };
  return { raw: next, moved: true };
}

/** The file's text again: JSON for a .json file, YAML (under the header's comment lines) for any other. */
export function configText(raw: Readonly<Raw>, file: string, header: string): string {
  if (file.endsWith('.json')) return `${JSON.stringify(raw, null, 2)}\n`;
  const comments = header.split('\n').map((line) => `# ${line}`).join('\n');
  return `${comments}\n\n${yaml.dump(raw, { lineWidth: -1, noRefs: true, quotingType: '"' })}`;
}

/** Files init can write back: `.gisbotrc` and its YAML and JSON kin; not package.json nor a .js config. */
export function isEditableConfig(file: string): boolean {
  const name = file.split(/[\\/]/).at(-1) ?? '';
  return name !== 'package.json' && !/\.(c|m)?js$/.test(name);
}
