// Where gisbot keeps V8's compiled code: the user's own cache folder, made with care, or none at all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileCacheDir } from '../../src/compile-cache.ts';

const MODULE = fileURLToPath(new URL('../../src/compile-cache.ts', import.meta.url));

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
