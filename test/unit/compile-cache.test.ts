// Where gisbot keeps its files: the platform's folders for a user's data and cache; V8's compiled code in the
// cache folder, made with care, or none at all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileCacheDir } from '../../src/compile-cache.ts';
import { userFolder } from '../../src/user-folders.ts';

const MODULE = fileURLToPath(new URL('../../src/compile-cache.ts', import.meta.url));

test("userFolder: each platform's place for a user's data and cache", () => {
  const env = { HOME: '/home/anna', LOCALAPPDATA: 'C:\\Users\\anna\\AppData\\Local' };
  assert.equal(userFolder('data', env, 'linux'), '/home/anna/.local/share/gisbot');
  assert.equal(userFolder('cache', env, 'linux'), '/home/anna/.cache/gisbot');
  assert.equal(userFolder('data', { ...env, XDG_DATA_HOME: '/srv/data' }, 'linux'), '/srv/data/gisbot');
  assert.equal(userFolder('cache', { ...env, XDG_CACHE_HOME: 'relative' }, 'linux'), '/home/anna/.cache/gisbot', 'XDG: relative is ignored');
  assert.equal(userFolder('data', env, 'darwin'), '/home/anna/Library/Application Support/gisbot');
  assert.equal(userFolder('cache', env, 'darwin'), '/home/anna/Library/Caches/gisbot');
  assert.equal(path.win32.normalize(userFolder('cache', env, 'win32')), path.win32.normalize(path.join(env.LOCALAPPDATA, 'gisbot', 'cache')));
});

describe('compileCacheDir', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'gisbot-cache-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('makes a folder only its user can enter, under XDG_CACHE_HOME or ~/.cache', async () => {
    const xdg = path.join(home, 'xdg');
    assert.equal(compileCacheDir({ HOME: home, XDG_CACHE_HOME: xdg }, 'linux'), path.join(xdg, 'gisbot', 'compile-cache'));
    assert.equal((await stat(path.join(xdg, 'gisbot', 'compile-cache'))).mode & 0o777, 0o700);
    // A relative XDG_CACHE_HOME is ignored, as the XDG spec says; a second start finds the folder made.
    for (let start = 0; start < 2; start += 1) {
      assert.equal(compileCacheDir({ HOME: home, XDG_CACHE_HOME: 'relative' }, 'linux'), path.join(home, '.cache', 'gisbot', 'compile-cache'));
    }
    await mkdir(path.join(home, 'Library')); // as on every Mac
    assert.equal(compileCacheDir({ HOME: home }, 'darwin'), path.join(home, 'Library', 'Caches', 'gisbot', 'compile-cache'));
  });

  test("leaves the cache to Node when the user set Node's own variables", () => {
    assert.equal(compileCacheDir({ HOME: home, NODE_COMPILE_CACHE: path.join(home, 'mine') }, 'linux'), null);
    assert.equal(compileCacheDir({ HOME: home, NODE_DISABLE_COMPILE_CACHE: '1' }, 'linux'), null);
  });

  test('goes without when there is no usable place, and makes nothing where it does not belong', async () => {
    const missing = path.join(home, 'no-such-home');
    assert.equal(compileCacheDir({ HOME: missing }, 'linux'), null);
    await assert.rejects(stat(missing), { code: 'ENOENT' }, 'no folders made in place of a missing home');

    const blocked = path.join(home, 'blocked');
    await mkdir(blocked);
    await writeFile(path.join(blocked, 'gisbot'), 'a file where the folder would go');
    assert.equal(compileCacheDir({ HOME: home, XDG_CACHE_HOME: blocked }, 'linux'), null);
  });

  test('returns at once where a recursive mkdir would spin: a folder under /proc', () => {
    // In a child: a spinning mkdir never yields, so only a kill from outside can end it.
    const script = `import { compileCacheDir } from ${JSON.stringify(pathToFileURL(MODULE).href)};
      console.log(JSON.stringify(compileCacheDir({ HOME: ${JSON.stringify(home)}, XDG_CACHE_HOME: '/proc/gisbot-no-such-folder' }, 'linux')));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(child.signal, null, 'it spun until killed');
    assert.equal(child.stdout.trim(), 'null', child.stderr);
  });
});
