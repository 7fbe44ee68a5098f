// Belt and braces for invariant 15: whatever reaches a sink passes through here, so a secret that slipped into
// an error message from a library is masked before it is written.

export type Redact = (text: string) => string;

export function createRedactor(secrets: readonly (string | null | undefined)[]): Redact {
  const values = [...new Set(secrets.filter((value): value is string => typeof value === 'string' && value.length >= 4))]
    .sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const value of values) result = result.replaceAll(value, '***');
    return result;
  };
}
