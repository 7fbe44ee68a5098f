// What the benchmark and its CI version share: a world on loopback (the 2GIS and model sandboxes, a WebSocket
// receiver, a fresh MariaDB database: test/support/world.ts), seeding it, and running the real binary under the
// probe (bench/probe.ts), which reports the child's own CPU time, peak RSS and, if asked, its SQL statements.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, World } from '../test/support/world.ts';
import type { ProbeReport } from './probe.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const PROBE = path.join(ROOT, 'bench', 'probe.ts');

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  os: string;
  date: string;
}

export function machine(): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().slice(0, 10),
  };
}

/** A world whose `.gisbotrc` sets the answering concurrency (nothing secret in it: secrets come from the env). */
export async function openWorld(concurrency: number): Promise<World> {
  const world = await World.start();
  await writeFile(path.join(world.dir, '.gisbotrc'), JSON.stringify({ polling: { concurrency } }));
  return world;
}

export interface Seeded {
  branchIds: string[];
  reviewIds: string[];
}

let seedSerial = 0;

/**
 * `branches` new branches with `perBranch` reviews each (rating 5, with text: each is answered by the model).
 * `answered`: the reviews carry an owner's answer already (taken in as skipped, no model call).
 */
export function seed(world: World, branches: number, perBranch: number, options: { answered?: boolean } = {}): Seeded {
  const serial = ++seedSerial;
  const branchIds: string[] = [];
  const reviewIds: string[] = [];
  for (let b = 0; b < branches; b += 1) {
    const branchId = `9${String(serial).padStart(3, '0')}${String(b).padStart(6, '0')}`;
    world.twogis.addBranch({ id: branchId, name: `Кофейня №${b + 1}`, orgId: '100' });
    branchIds.push(branchId);
    for (let r = 0; r < perBranch; r += 1) {
      const id = `${branchId}${String(r).padStart(5, '0')}`;
      world.twogis.addReview(branchId, { id, rating: 5, text: `Всё понравилось, кофе отличный (${r + 1})` });
      if (options.answered) world.twogis.answerAsOwner(id, 'Спасибо!');
      reviewIds.push(id);
    }
  }
  return { branchIds, reviewIds };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Spawn to exit, seen from the parent. */
  wallMs: number;
  probe: ProbeReport;
}

/** Runs `bin/gisbot.ts <args>` in the world under the probe; `sql` counts its statements too. */
export async function runGisbot(
  world: World,
  args: readonly string[],
  options: {
    sql?: boolean;
    timeoutMs?: number;
    nodeArgs?: readonly string[];
    entry?: string;
    env?: Record<string, string>;
    /** A control group's `cgroup.procs` to start gisbot in (see memoryLimitedGroup). */
    cgroupProcs?: string;
  } = {},
): Promise<Run> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gisbot-probe-'));
  const file = path.join(dir, 'probe.json');
  try {
    const started = performance.now();
    const result = await new Promise<Omit<Run, 'probe' | 'wallMs'>>((resolve, reject) => {
      const command = [process.execPath, ...(options.nodeArgs ?? []), '--import', PROBE, options.entry ?? BIN, ...args];
      // Through a shell that moves itself into the group, then execs node (same process: the probe measures node).
      const [file0, ...argv] = options.cgroupProcs
        ? ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', options.cgroupProcs, ...command]
        : command;
      const child = spawn(file0!, argv, {
        cwd: world.dir,
        env: { ...world.env(), ...options.env, BENCH_PROBE_FILE: file, ...(options.sql ? { BENCH_PROBE_SQL: '1' } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    const wallMs = performance.now() - started;
    const probe = JSON.parse(await readFile(file, 'utf8')) as ProbeReport;
    return { ...result, wallMs, probe };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs gisbot and insists on the exit code; the stderr goes into the error. */
export async function mustRun(
  world: World,
  args: readonly string[],
  options: Parameters<typeof runGisbot>[2] & { codes?: number[] } = {},
): Promise<Run> {
  const run = await runGisbot(world, args, options);
  if (!(options.codes ?? [0]).includes(run.code ?? -1)) {
    throw new Error(`gisbot ${args.join(' ')} exited ${run.code}:\n${run.stderr.slice(-2000)}`);
  }
  return run;
}

/**
 * A memory control group limited to `megabytes`, as a container or a small host has: Node sizes its heap from
 * the limit. Linux, as root, with the cgroup v1 memory controller or cgroup v2; null where that cannot be made.
 */
export async function memoryLimitedGroup(megabytes: number): Promise<{ procs: string; remove: () => Promise<void> } | null> {
  const name = `gisbot-bench-${process.pid}-${megabytes}`;
  const layouts = [
    { dir: path.join('/sys/fs/cgroup/memory', name), limit: 'memory.limit_in_bytes' },
    { dir: path.join('/sys/fs/cgroup', name), limit: 'memory.max' },
  ];
  for (const layout of layouts) {
    try {
      await mkdir(layout.dir);
    } catch {
      continue;
    }
    try {
      await writeFile(path.join(layout.dir, layout.limit), String(megabytes * 2 ** 20));
      return { procs: path.join(layout.dir, 'cgroup.procs'), remove: () => rmdir(layout.dir).catch(() => {}) };
    } catch {
      await rmdir(layout.dir).catch(() => {});
    }
  }
  return null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function cpuMs(probe: ProbeReport): number {
  return probe.userMs + probe.systemMs;
}

export { World };

/**
 * Builds the package as `npm run build` would (tsc -p tsconfig.build.json) into a temporary folder that sees
 * this checkout's node_modules and prompts; returns the built `gisbot` script and a way to remove it all.
 */
export async function buildPackage(): Promise<{ entry: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gisbot-build-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited ${code}: ${output.slice(-2000)}`))));
    });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    await symlink(path.join(ROOT, 'prompts'), path.join(dir, 'prompts'));
    return { entry: path.join(dir, 'dist', 'bin', 'gisbot.js'), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
