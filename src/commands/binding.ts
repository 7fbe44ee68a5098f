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
 * Guards a command's store: right after its first `migrate` (every command's first use of the database; the
 * binding lives in the schema), the business is bound or its login compared. A command that refuses its input
 * first never opens the database at all.
 */
export function guardBinding(ctx: Pick<Context, 'store' | 'twogis' | 'config'>, reachesTwoGis: boolean): Store {
  const store = ctx.store;
  let checked: Promise<void> | null = null;
  const check = () => (reachesTwoGis ? bindToAccount(store, ctx.twogis) : checkBoundLogin(store, ctx.config.twogis.login));
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
