// Where V8 keeps gisbot's compiled code between starts (module.enableCompileCache): cron starts gisbot anew every
// time, and a warm cache takes ~15 % off `balance --json` (BENCHMARKS.md). Loaded before the CLI, so only builtins.
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * The user's own cache folder for it, created if need be; null: leave the compile cache to Node (the user set
 * NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE) or go without (no usable home).
 *
 * Not Node's default, os.tmpdir(): a folder other users can write to could hand this process compiled code, and
 * Node's own folder creation spins forever when TMPDIR lies under /proc. Creating the folder here
 * first means Node only ever finds it made.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | null {
  if (env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return null;
  const home = env.HOME || homedir();
  try {
    // A service account's home may not exist: gisbot makes no folders in its place.
    if (!statSync(home).isDirectory()) return null;
    const cacheHome =
      platform === 'darwin'
        ? path.join(home, 'Library', 'Caches')
        : platform === 'win32'
          ? (env.LOCALAPPDATA ?? home)
          : env.XDG_CACHE_HOME !== undefined && path.isAbsolute(env.XDG_CACHE_HOME)
            ? env.XDG_CACHE_HOME
            : path.join(home, '.cache');
    // A level at a time: a recursive mkdir spins as Node's does when a folder in the way lives on /proc.
    let dir = path.dirname(cacheHome);
    for (const level of [path.basename(cacheHome), 'gisbot', 'compile-cache']) {
      dir = path.join(dir, level);
      makeFolder(dir);
    }
    return dir;
  } catch {
    return null; // no cache is slower, never wrong
  }
}

function makeFolder(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw error;
  }
}
