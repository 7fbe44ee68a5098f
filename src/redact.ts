// Belt and braces for invariant 15: whatever reaches a sink passes through here, so a secret that slipped into
// an error message from a library, a draft or a review is masked before it is written.

export type Redact = (text: string) => string;

/** Shorter values are not masked (nor refused by the reply gate): a 3-character password would mask every price. */
export const MIN_SECRET_LENGTH = 4;

export function createRedactor(secrets: readonly (string | null | undefined)[]): Redact {
  const given = secrets.filter((value): value is string => typeof value === 'string' && value.length >= MIN_SECRET_LENGTH);
  // A secret with a quote or a backslash is written escaped inside a JSON line.
  const values = [...new Set(given.flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const value of values) result = result.replaceAll(value, '***');
    return result;
  };
}

/** `value` with every string in it (however deep in arrays and plain objects) masked: for data stored as JSON. */
export function redactStrings<T>(value: T, redact: Redact): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactStrings(item, redact)) as T;
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactStrings(item, redact)])) as T;
  }
  return value;
}
