#!/usr/bin/env node
// The shim: run the CLI, set the exit code. Everything else lives in src/.
import { main } from '../src/cli.ts';

process.exitCode = await main(process.argv);
