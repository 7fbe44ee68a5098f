// The files that ship with gisbot (the default prompt, .gisbotrc.example), found from this module: it runs as
// src/shipped.ts in a clone and as dist/src/shipped.js in the installed package, whose root holds the same files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../' : '../../', import.meta.url));

/** Where a file shipped with gisbot lies, given its path in the repository (`prompts/system.md`). */
export function shippedFile(name: string): string {
  return path.join(PACKAGE_ROOT, name);
}

/** True when this is a clone running its TypeScript as it is, false in the built (installed) package. */
export const fromSource = import.meta.url.endsWith('.ts');
