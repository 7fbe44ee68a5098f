// The folders each platform gives a user for an application's files. Only builtins: the start-up shim uses it.
import { homedir } from 'node:os';
import path from 'node:path';

/** gisbot's folder for this user's data (the embedded database, the log) or cache (compiled code). */
export function userFolder(kind: 'data' | 'cache', env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = env.HOME || homedir();
  if (platform === 'darwin') return path.join(home, 'Library', kind === 'data' ? 'Application Support' : 'Caches', 'gisbot');
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? home, 'gisbot', kind === 'data' ? '' : 'cache');
  // XDG: a relative path in the variable is to be ignored.
  const xdg = kind === 'data' ? env.XDG_DATA_HOME : env.XDG_CACHE_HOME;
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, ...(kind === 'data' ? ['.local', 'share'] : ['.cache']));
  return path.join(base, 'gisbot');
}
