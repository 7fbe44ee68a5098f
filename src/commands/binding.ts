// Whose database this is (issue 19): each business is bound to the 2GIS account it first served. A command refuses,
// before it writes anything, to serve a business from a database where that business is another account's: two
// installations set up with `init`'s defaults share one database file, and without this one business's balance,
// answers and customers' words would be another's.
import type { Context } from '../context.ts';
import type { BindResult, BusinessBinding, Store, TwoGis } from '../core/ports.ts';
import { ConfigError, isServiceError } from '../errors.ts';
import { messages } from '../ui/messages.ts';

/**
 * A command that reaches 2GIS: binds the business to the account signed in, or refuses when the database has it
 * bound to another, or another business bound to this one. When 2GIS cannot be reached the command goes on: its
 * own first call to 2GIS meets the same failure and reports it as it always did, and nothing is answered.
 */
export async function bindToAccount(store: Store, twogis: TwoGis): Promise<void> {
  let account: BusinessBinding;
  try {
    account = await twogis.account();
  } catch (error) {
    if (isServiceError(error)) return;
    throw error;
  }
  refuseUnlessBound(store.businessId, await store.bindAccount(account), account.login);
  // A token copied from the browser signed in: kept (by its fingerprint) so that `doctor` can say how long it has worked.
  if (twogis.tokenFingerprint) await store.noteAccessToken(twogis.tokenFingerprint, new Date());
}

/** Sign-ins at once when a run binds its businesses: a deployment of fifty starts in a few round trips, not fifty. */
const BINDINGS_AT_ONCE = 8;

/**
 * Every business a run serves, bound to the account it signs in to, a few at a time; the first refusal in the
 * config's order stops the run (exit 2) before anything is answered. Binding one after another put a sign-in and
 * a read per business in front of the first answer.
 */
export async function bindEvery(served: ReadonlyArray<{ store: Store; twogis: TwoGis }>): Promise<void> {
  const refusals: unknown[] = new Array(served.length);
  let next = 0;
  const lane = async () => {
    while (next < served.length) {
      const index = next++;
      await bindToAccount(served[index]!.store, served[index]!.twogis).catch((error: unknown) => (refusals[index] = error ?? new Error('refused')));
    }
  };
  await Promise.all(Array.from({ length: Math.min(BINDINGS_AT_ONCE, served.length) }, lane));
  const refused = refusals.find((error) => error !== undefined);
  if (refused !== undefined) throw refused;
}

/**
 * A command that works from the database alone: the login of the config must be the one the business is bound
 * to. A business never bound, or bound without a login (a token), or a config without a login, is not refused.
 */
export async function checkBoundLogin(store: Store, configuredLogin: string | null | undefined): Promise<void> {
  const bound = (await store.businessRecord())?.binding;
  if (!bound?.login || !configuredLogin || bound.login === configuredLogin) return;
  throw new ConfigError([messages.binding.otherAccount(store.businessId, bound.login, configuredLogin)]);
}

function refuseUnlessBound(businessId: string, result: BindResult, login: string | null): void {
  if (result.kind === 'other') throw new ConfigError([messages.binding.otherAccount(businessId, result.bound.login, login)]);
  if (result.kind === 'taken') throw new ConfigError([messages.binding.sameAccount(businessId, result.businessId, login)]);
}

/**
 * Guards a command's store: right after its first `migrate`, the deployment's `billing.currency` is recorded, or
 * refused when the ledger already has entries in another currency (contract.md: one currency per deployment, so
 * sums stay one sum; changing it afterwards would silently make them another money).
 */
export function guardCurrency(store: Store, currency: string): Store {
  return afterFirstMigrate(store, async () => {
    const kept = await store.keepCurrency(currency);
    if (kept.kind === 'refused') throw new ConfigError([messages.config.currencyChanged(kept.recorded, currency)]);
  });
}

/** `store`, whose first `migrate` runs `check` once after migrating (every later call waits for the same check). */
function afterFirstMigrate(store: Store, check: () => Promise<void>): Store {
  let checked: Promise<void> | null = null;
  const migrate = async () => {
    await store.migrate();
    checked ??= check();
    await checked;
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === 'migrate') return migrate;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Guards a command's store: right after its first `migrate` (every command's first use of the database; the
 * binding lives in the schema), the business is bound or its login compared. A command that refuses its input
 * first never opens the database at all.
 */
export function guardBinding(ctx: Pick<Context, 'store' | 'twogis' | 'config'>, reachesTwoGis: boolean): Store {
  const store = ctx.store;
  return afterFirstMigrate(store, () => (reachesTwoGis ? bindToAccount(store, ctx.twogis) : checkBoundLogin(store, ctx.config.twogis.login)));
}
