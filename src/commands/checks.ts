// The service checks `run` makes before its first cycle: the database (and its migrations), a 2GIS login and
// the model endpoint's model list, which costs nothing.
import type { Context } from '../context.ts';

export interface ServiceCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export async function checkServices(ctx: Context): Promise<ServiceCheck[]> {
  const host = (url: string) => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  };
  return Promise.all([
    check('database', 'connected and migrated', () => ctx.store.migrate()),
    check('2GIS', `logged in at ${host(ctx.config.twogis.apiUrl)}`, () => ctx.twogis.checkLogin()),
    check('model', `${ctx.config.openai.model} at ${host(ctx.config.openai.baseURL)}`, () => ctx.model.checkReachable()),
  ]);
}

async function check(name: string, detail: string, probe: () => Promise<void>): Promise<ServiceCheck> {
  try {
    await probe();
    return { name, ok: true, detail };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}
