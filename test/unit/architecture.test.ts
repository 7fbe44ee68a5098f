// The shape of src/core (issue 19): its capability folders form no import cycle, type-only imports included (a
// cycle of types still ties the files' meanings together, and one of values breaks module loading order), and the
// core depends only on its ports: no adapter, no sandbox, no client library. A small walker over the import
// specifiers of src/**/*.ts, no parser: every `from '…'` (import, import type, export … from), `import('…')`
// (dynamic, and `typeof import('…')`), side-effect `import '…'` and `require('…')`.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';

const SRC = path.join(import.meta.dirname, '../../src');
const CORE = path.join(SRC, 'core');

/** Packages only an adapter (or the CLI's own terminal output) may use. */
const FORBIDDEN_PACKAGES = ['mysql2', 'got', 'openai', 'grammy', 'ws', 'node:sqlite', 'chalk', 'ora'];
/** Folders of src/ that the core never reaches into. */
const FORBIDDEN_FOLDERS = ['adapters', 'sandbox'];

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;

function specifiersOf(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((match) => match[2]!);
}

/** Every file's imports, as absolute paths for relative specifiers and as written for packages. */
async function importsUnder(folder: string): Promise<Map<string, string[]>> {
  const files = (await readdir(folder, { recursive: true })).filter((name) => name.endsWith('.ts')).map((name) => path.join(folder, name));
  const graph = new Map<string, string[]>();
  for (const file of files.sort()) {
    const source = await readFile(file, 'utf8');
    graph.set(
      file,
      specifiersOf(source).map((specifier) => (specifier.startsWith('.') ? path.resolve(path.dirname(file), specifier) : specifier)),
    );
  }
  return graph;
}

/** The cycles of a directed graph: one path (first node repeated at its end) per edge that closes a cycle. */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      const seen = state.get(next);
      if (seen === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

const relative = (file: string) => path.relative(SRC, file).split(path.sep).join('/');

describe('the walker itself', () => {
  test('reads every form of import specifier', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      'import {\n  c,\n  type D,\n} from "./c.ts";',
      "export { e } from './e.ts';",
      "export type { F } from './f.ts';",
      "const g = await import('./g.ts');",
      "let h: typeof import('./h.ts') | null;",
      "import './i.ts';",
      "const j = require('mysql2');",
    ].join('\n');
    assert.deepEqual(specifiersOf(source), ['./a.ts', '../b.ts', './c.ts', './e.ts', './f.ts', './g.ts', './h.ts', './i.ts', 'mysql2']);
  });

  test('finds a cycle and shows its path; a graph without one passes', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c', 'x']],
      ['c', ['a']],
    ]);
    assert.deepEqual(findCycles(cyclic), [['a', 'b', 'c', 'a']]);
    assert.deepEqual(findCycles(new Map([['a', ['a']]])), [['a', 'a']]);
    const acyclic = new Map([
      ['a', ['b', 'c']],
      ['b', ['c']],
      ['c', []],
    ]);
    assert.deepEqual(findCycles(acyclic), []);
  });
});

describe('src/core', () => {
  test('has no import cycle, type-only imports included', async () => {
    const graph = await importsUnder(CORE);
    const edges = new Map([...graph].map(([file, targets]) => [file, targets.filter((target) => target.startsWith(CORE + path.sep))]));
    // The walker sees the core as it is: many files, most of them importing the ports.
    assert.ok(edges.size >= 30, `only ${edges.size} files found under src/core`);
    const ports = path.join(CORE, 'ports.ts');
    assert.ok([...edges.values()].filter((targets) => targets.includes(ports)).length >= 20, 'imports of ports.ts not recognised');
    for (const [file, targets] of edges) {
      for (const target of targets) assert.ok(graph.has(target), `${relative(file)} imports ${relative(target)}, which is not there`);
    }
    const cycles = findCycles(edges).map((cycle) => cycle.map(relative).join(' → '));
    assert.deepEqual(cycles, [], `import cycles in src/core:\n${cycles.join('\n')}`);
  });

  test('imports no adapter, no sandbox and no client library: only its ports', async () => {
    const graph = await importsUnder(CORE);
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const folder = path.isAbsolute(target) ? relative(target).split('/')[0]! : null;
        const isForbiddenFolder = folder !== null && FORBIDDEN_FOLDERS.includes(folder);
        const isForbiddenPackage = FORBIDDEN_PACKAGES.some((name) => target === name || target.startsWith(`${name}/`));
        if (isForbiddenFolder || isForbiddenPackage) wrong.push(`${relative(file)} imports ${path.isAbsolute(target) ? relative(target) : target}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok([...graph.values()].flat().includes('node:crypto'), 'package imports not recognised');
  });
});
