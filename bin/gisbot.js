#!/usr/bin/env node
// The installed `gisbot` command (package.json `bin`). Plain JavaScript that an old Node can still read: it checks
// the version before anything of gisbot's loads, because the built CLI imports what older Nodes lack (its first
// import already fails to link on Node 20), and a person should get one line, not a stack trace. Then it runs
// the built CLI (dist/, made by `npm run build`; `npm pack` builds it first). A clone runs bin/gisbot.ts instead.
const MINIMUM = [22, 22, 2]; // package.json `engines`; test/e2e/package.test.ts keeps the two in step

const running = process.versions.node.split('.').map(Number);
const missing = MINIMUM.findIndex((part, index) => running[index] !== part);
if (missing >= 0 && running[missing] < MINIMUM[missing]) {
  process.stderr.write(`gisbot needs Node.js ${MINIMUM.join('.')} or newer; this is ${process.versions.node}\n`);
  process.exitCode = 2; // a usage error: the same Node will fail the same way, so nothing should retry it
} else {
  await import('../dist/bin/gisbot.js');
}
