// What is wrong with a configuration, as `path: message` lines in the words of the person who wrote it. zod's own
// wording is for programmers ("Invalid input: expected string, received number"); the schema's own messages
// (src/config/schema.ts) come from the catalogue too, everything else is said again here.
import type { z } from 'zod';
import { messages } from '../ui/messages.ts';



/** zod's error map for the config: it sees only the issues whose schema gave no message of its own. */
export const plainWords: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return mustBe([issue.expected], issue.input);
    case 'invalid_union': {
      // Every alternative refused the kind of value (`5` where text or a list is wanted): name them all.
      const expected = issue.errors.flat().flatMap((inner) => (inner.code === 'invalid_type' ? [inner.expected] : []));
      return expected.length > 0 && expected.length === issue.errors.length ? mustBe(expected, issue.input) : messages.config.plain.notValid;
    }
    case 'too_small':
      return size(issue.origin, String(issue.minimum), issue.inclusive !== false, 'small');
    case 'too_big':
      return size(issue.origin, String(issue.maximum), issue.inclusive !== false, 'big');
    case 'invalid_value':
      return messages.config.plain.oneOf(issue.values.map(String));
    case 'invalid_key':
      return issue.issues.map((inner) => inner.message).join('; ');
    case 'not_multiple_of':
      return messages.config.plain.multipleOf(issue.divisor);
    case 'invalid_format':
      return messages.config.plain.wrongForm;
    default:
      return messages.config.plain.notValid;
  }
};

/**
 * Each issue as `path: message`; an unknown key is named in full (with the known key it most looks like, from
 * `keysAt`), a value from the environment names its variable.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  origins: ReadonlyMap<string, string>,
  keysAt: (path: readonly PropertyKey[]) => readonly string[] = () => [],
): string[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const near = closestKey(key, keysAt(issue.path));
        return `${base ? `${base}.` : ''}${key}: ${messages.config.unknownKey}${near === null ? '' : messages.config.didYouMean(base ? `${base}.${near}` : near)}`;
      });
    }
    const origin = origins.get(base);
    return [`${base || messages.config.root}${origin ? messages.config.fromVariable(origin) : ''}: ${issue.message}`];
  });
}

/** The known key a mistyped one most likely meant: at most a third of its letters off (and 3), case ignored. */
export function closestKey(typed: string, known: readonly string[]): string | null {
  let best: { key: string; distance: number } | null = null;
  for (const key of known) {
    const distance = editDistance(typed.toLowerCase(), key.toLowerCase());
    if (distance <= Math.min(3, Math.ceil(key.length / 3)) && (best === null || distance < best.distance)) best = { key, distance };
  }
  return best?.key ?? null;
}

/** Optimal string alignment distance: a swap of two neighbours counts once (`tokne` → `token`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

function mustBe(expected: readonly string[], input: unknown): string {
  const wanted = [...new Set(expected.map((kind) => messages.config.plain.kinds[kind] ?? kind))].join(messages.config.plain.or);
  // A fraction where a whole number is wanted is still "a number": saying only what is wanted is clearer.
  const found = input === undefined || (expected.includes('int') && typeof input === 'number') ? null : kindOf(input);
  const quote = expected.includes('string') && (typeof input === 'number' || typeof input === 'boolean');
  return messages.config.plain.mustBe(wanted, found) + (quote ? messages.config.plain.quoteIt : '');
}

/** What a value is, never the value itself: a misplaced secret must not end up on a terminal or in a log. */
function kindOf(input: unknown): string {
  if (input === null) return messages.config.plain.kinds.null!;
  if (Array.isArray(input)) return messages.config.plain.kinds.array!;
  if (typeof input === 'boolean') return String(input);
  return messages.config.plain.kinds[typeof input] ?? typeof input;
}

function size(origin: string, bound: string, inclusive: boolean, side: 'small' | 'big'): string {
  if (origin === 'string') {
    if (side === 'small') return bound === '1' ? messages.config.plain.notEmpty : messages.config.plain.charactersAtLeast(bound);
    return messages.config.plain.charactersAtMost(bound);
  }
  if (origin === 'array' || origin === 'set') return side === 'small' ? messages.config.plain.listAtLeast(bound) : messages.config.plain.listAtMost(bound);
  return side === 'small' ? messages.config.plain.atLeast(bound, inclusive) : messages.config.plain.atMost(bound, inclusive);
}
