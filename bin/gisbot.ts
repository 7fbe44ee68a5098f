#!/usr/bin/env node
// The shim: run the CLI, set the exit code. Everything else lives in src/.
import { enableCompileCache } from 'node:module';
import { compileCacheDir } from '../src/compile-cache.ts';

// On before the CLI's modules load, hence their import below comes after it.
const cacheDir = compileCacheDir();
if (cacheDir !== null) enableCompileCache(cacheDir);

// A reader that stops early (`gisbot logs --json | head -1`) closes the pipe: it has what it wanted, so stdout's
// EPIPE ends the run quietly with 0; on stderr the people-facing lines are dropped and the work goes on.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
