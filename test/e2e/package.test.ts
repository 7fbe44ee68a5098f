// The package as a user gets it. `npm pack` in a fresh clone (the repository's files, no dist/: the pack must build
// what it packs), the tarball installed into a temporary prefix, and the `gisbot` command run from there: --help
// and demo under the pinned Node 22, one line and exit 2 under an older Node, and every file its messages name
// present in the installed layout. Offline: the dependencies come from the npm cache at the versions of this
// repository's lock file (npm ci), the ones the rest of the suite tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { runProcess, type RunResult } from '../support/run-process.ts';
import { BIN } from '../support/world.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PINNED_NODE_DIR = path.dirname(process.execPath);

interface Folders {
  root: string;
  home: string;
  prefix: string;
  /** The installed package: prefix/node_modules/gisbot. */
  installed: string;
  /** The `gisbot` command npm linked: prefix/node_modules/.bin/gisbot. */
  command: string;
}

async function mustRun(file: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  // npm pack builds with tsc: minutes, not seconds, on a loaded 2-core machine. The bound only stops a hang.
  const result = await runProcess(file, args, { timeoutMs: 600_000, ...options });
  assert.equal(result.code, 0, `${path.basename(file)} ${args.join(' ')}: ${result.stderr}`);
  return result;
}

/** The repository as a fresh clone has it: its files (tracked, or new and not ignored), without dist/. */
async function freshClone(into: string): Promise<void> {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  for (const file of files.split('\0').filter(Boolean)) {
    // node_modules is left out even where it is a symbolic link, which .gitignore's `node_modules/` does not match.
    if (file.split('/')[0] === 'node_modules' || !existsSync(path.join(ROOT, file))) continue;
    await cp(path.join(ROOT, file), path.join(into, file), { recursive: true });
  }
  // `npm ci` would fill node_modules from the same lock file; the build needs only its typescript.
  await symlink(path.join(ROOT, 'node_modules'), path.join(into, 'node_modules'));
}

/**
 * A project that depends on the tarball, with a lock file of the repository's locked dependencies (not the dev
 * ones), so that `npm ci --offline` installs from the npm cache alone: a plain `npm install` of a tarball asks the
 * registry for each dependency's versions first, which the cache does not hold.
 */
async function projectFor(tarball: string, dir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const name = path.basename(tarball);
  await cp(tarball, path.join(dir, name));
  const dependencies = { gisbot: `file:${name}` };
  const packages: Record<string, unknown> = {
    '': { name: 'gisbot-install-test', dependencies },
    'node_modules/gisbot': {
      version: manifest.version,
      resolved: `file:${name}`,
      integrity: `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [where, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (where !== '' && !entry.dev) packages[where] = entry;
  }
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'gisbot-install-test', private: true, dependencies }));
  await writeFile(path.join(dir, 'package-lock.json'), JSON.stringify({ name: 'gisbot-install-test', lockfileVersion: 3, requires: true, packages }));
}

/** A Node older than 22 on this machine's PATH (the one `gisbot` would meet outside the project), if any. */
function olderNode(): { file: string; version: string } | null {
  const found = execFileSync('sh', ['-c', 'which -a node || true'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of found) {
    const version = execFileSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (Number(version.split('.')[0]) < 22) return { file, version };
  }
  return null;
}

describe('the installed package', () => {
  let at: Folders;
  let files: string[];

  before(async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'gisbot-package-'));
    at = { root, home: path.join(root, 'home'), prefix: path.join(root, 'prefix'), installed: '', command: '' };
    at.installed = path.join(at.prefix, 'node_modules', 'gisbot');
    at.command = path.join(at.prefix, 'node_modules', '.bin', 'gisbot');
    const clone = path.join(root, 'clone');
    await Promise.all([mkdir(clone), mkdir(at.home), mkdir(at.prefix)]);
    await freshClone(clone);
    // npm runs the prepack script with node_modules/.bin first on PATH: the build runs under the pinned Node.
    // npm turns Node's compile cache on, in a folder of TMPDIR that nobody removes: not for these runs.
    const npmEnv = { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' };
    const packed = await mustRun('npm', ['pack', '--json', '--pack-destination', root], { cwd: clone, env: npmEnv });
    const [report] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = report!.files.map((file) => file.path);
    await projectFor(path.join(root, report!.filename), at.prefix);
    await mustRun('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: at.prefix, env: npmEnv });
  });
  after(async () => {
    await rm(at.root, { recursive: true, force: true });
  });

  /** The `gisbot` command as a user starts it: its shebang finds `node` on PATH, here the pinned Node 22. */
  function gisbot(args: readonly string[], options: { nodeDir?: string; home?: string } = {}): Promise<RunResult> {
    const home = options.home ?? at.home;
    return runProcess(at.command, args, {
      cwd: home,
      env: {
        PATH: [options.nodeDir ?? PINNED_NODE_DIR, '/usr/bin', '/bin'].join(path.delimiter),
        HOME: home,
        TMPDIR: at.root,
        XDG_DATA_HOME: path.join(home, 'data'),
        NO_COLOR: '1',
      },
    });
  }

  test('npm pack built what it packs: the entry, the built CLI, the example config and the prompt, no sources', () => {
    for (const file of ['bin/gisbot.js', 'dist/bin/gisbot.js', 'dist/src/cli.js', '.gisbotrc.example', 'prompts/system.md', 'README.md']) {
      assert.ok(files.includes(file), `${file} is in the tarball`);
    }
    assert.deepEqual(files.filter((file) => file.endsWith('.ts') || file.startsWith('test/') || file.startsWith('src/')), []);
  });

  test('gisbot --help and gisbot demo work under Node 22', async () => {
    const help = await gisbot(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: gisbot /);
    assert.equal(help.stderr, '');

    const demo = await gisbot(['demo', '--json', '--keep']);
    assert.equal(demo.code, 0, demo.stderr);
    const report = JSON.parse(demo.stdout);
    assert.equal(report.reviews.length, 13);
    assert.equal(report.balance.arithmeticOk, true, 'the demo balance adds up');
    assert.ok(report.balance.answered > 0, 'the demo answered reviews');
    assert.ok(report.folder !== null, '--keep keeps the folder');
    assert.ok((await readdir(report.folder)).includes('report.html'));
    assert.match(await readFile(report.report, 'utf8'), /<svg /, 'the installed package draws the report');
    await rm(report.folder, { recursive: true });
  });

  test('every file a message names is there, and hints name the `gisbot` command', async () => {
    // init off a terminal: `cp <.gisbotrc.example> .gisbotrc`.
    const init = await gisbot(['init']);
    assert.equal(init.code, 2, init.stderr);
    const example = /cp (\S+) \.gisbotrc/.exec(init.stderr)?.[1];
    assert.equal(example, path.join(at.installed, '.gisbotrc.example'), init.stderr);
    assert.ok(existsSync(example!));

    // A config error: every key is described in that same example.
    const bad = path.join(at.home, 'bad.yaml');
    await writeFile(bad, 'polling:\n  intervalSeconds: soon\n');
    await chmod(bad, 0o600);
    const refused = await gisbot(['balance', '--config', bad]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.ok(refused.stderr.includes(`every key is described in ${example}\n`), refused.stderr);

    // prompt edit off a terminal: copy the shipped prompt, which is there, to a file of one's own.
    const edit = await gisbot(['prompt', 'edit']);
    assert.equal(edit.code, 2, edit.stderr);
    const [, copyFrom, copyTo] = /cp (\S+) (\S+);/.exec(edit.stderr) ?? [];
    assert.equal(copyFrom, path.join(at.installed, 'prompts', 'system.md'), edit.stderr);
    assert.ok(existsSync(copyFrom!));
    assert.equal(copyTo, path.join(at.home, 'prompts', 'system.md'));

    // Hints name the command that starts gisbot: `gisbot` installed, `npm run gisbot --` in a clone.
    const installed = await gisbot(['prompt', 'rollback', '7']);
    assert.equal(installed.code, 2, installed.stderr);
    assert.match(installed.stderr, /^hint: see the versions with: gisbot prompt history$/m);
    const clone = await runProcess(process.execPath, [BIN, 'prompt', 'rollback', '7'], {
      cwd: at.home,
      env: { PATH: process.env.PATH ?? '', HOME: at.home, XDG_DATA_HOME: path.join(at.home, 'data'), NO_COLOR: '1' },
    });
    assert.equal(clone.code, 2, clone.stderr);
    assert.match(clone.stderr, /^hint: see the versions with: npm run gisbot -- prompt history$/m);
  });

  test('under an older Node: one line naming the versions, exit 2, before anything else loads', async (t) => {
    const older = olderNode();
    if (older === null) return t.skip('no Node.js older than 22 on this machine');
    const home = path.join(at.root, 'home-on-an-older-node');
    await mkdir(home);
    const line = `gisbot needs Node.js 22.22.2 or newer; this is ${older.version}\n`;
    for (const result of [
      await runProcess(older.file, [path.join(at.installed, 'bin', 'gisbot.js'), '--version'], { cwd: home, env: { PATH: process.env.PATH ?? '', HOME: home } }),
      await gisbot(['demo'], { nodeDir: path.dirname(older.file), home }), // the command itself: its shebang finds the older node
    ]) {
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr, line);
      assert.equal(result.stdout, '');
    }
    assert.deepEqual(await readdir(home), [], 'nothing of gisbot ran: no compile cache, no data folder');
  });

  test("the entry's minimum is package.json's engines", async () => {
    const entry = await readFile(path.join(ROOT, 'bin', 'gisbot.js'), 'utf8');
    const minimum = /const MINIMUM = \[(\d+), (\d+), (\d+)\]/.exec(entry)?.slice(1).join('.');
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(`>=${minimum}`, manifest.engines.node);
  });
});
