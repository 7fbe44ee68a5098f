#!/usr/bin/env node
// The shim: run the CLI, set the exit code. Everything else lives in src/.
import { enableCompileCache } from 'node:module';
import { compileCacheDir } from '../src/compile-cache.ts';

// On before the CLI's modules load, hence their import below comes after it.
const cacheDir = compileCacheDir();
if (cacheDir !== null) enableCompileCache(cacheDir);
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
