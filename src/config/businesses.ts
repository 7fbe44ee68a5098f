// The businesses one deployment serves (contract.md, "Businesses"). A config without `businesses:` is one
// business with id `default`. Each business is handed to the rest of gisbot as its effective config: the
// top-level defaults with the business's own keys laid over them, so code that takes a `Config` serves one
// business without knowing there are others.
// NOTE: this is the seam between the config layer (issue 19, config part) and the store/core (issue 19, scope
// part); its first version serves only the single-business shape.
import type { Config } from './load.ts';

export const DEFAULT_BUSINESS_ID = 'default';

export interface Business {
  /** `[a-z0-9-]{1,32}`; `default` for a config without `businesses:`. */
  id: string;
  /** The business's `name`, or null when the config gives none (the single-business shape). */
  name: string | null;
  /** `enabled: false` pauses a business: not served by run/poll-once, its data kept, its commands still work. */
  enabled: boolean;
  /** The effective config for this business: top-level defaults with the business's own keys over them. */
  config: Readonly<Config>;
}

/** Every business of the config, in the order the file lists them. */
export function businessesOf(config: Readonly<Config>): Business[] {
  return [{ id: DEFAULT_BUSINESS_ID, name: null, enabled: true, config }];
}
