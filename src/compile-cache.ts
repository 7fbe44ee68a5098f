// Where V8 keeps gisbot's compiled code between starts (module.enableCompileCache): cron starts gisbot anew every
// time, and a warm cache takes ~10 % off `balance --json` (BENCHMARKS.md). Loaded before the CLI, so only builtins.
import path from 'node:path';
import { userFolder } from './user-folders.ts';

// Not `import … from 'node:fs'`: building its ES-module face loads fs's streams, 5 ms of a 40 ms `--help`.
const { existsSync, mkdirSync, statSync } = process.getBuiltinModule('node:fs');

/** The cache folder itself, gisbot's folder and the user's cache folder: never a missing home. */
const MAX_NEW_FOLDERS = 3;

/**
 * The user's own cache folder for it, made if need be; null: leave the compile cache to Node (the user set
 * NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE) or go without (no usable home).
 *
 * Not Node's default, os.tmpdir(): a folder other users can write to could hand this process compiled code, and
 * Node's own folder creation spins forever when TMPDIR lies under /proc. Made here first, Node only finds it made.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | null {
  if (env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return null;
  const dir = path.join(userFolder('cache', env, platform), 'compile-cache');
  const missing: string[] = [];
  for (let folder = dir; !existsSync(folder); folder = path.dirname(folder)) {
    if (missing.length === MAX_NEW_FOLDERS) return null;
    missing.unshift(folder);
  }
  try {
    // A level at a time: a recursive mkdir spins, as Node's does, where a folder in the way lives on /proc.
    for (const folder of missing) makeFolder(folder);
    return dir;
  } catch {
    return null; // no cache is slower, never wrong
  }
}

function makeFolder(folder: string): void {
  try {
    mkdirSync(folder, { mode: 0o700 });
  } catch (error) {
    // Another gisbot starting at the same moment made it first.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(folder).isDirectory()) throw error;
  }
}
