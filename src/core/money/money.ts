// Money is held as integer kopecks in a bigint: exact, and no floating point anywhere (invariant 6).
export type Kopecks = bigint;

const MONEY_PATTERN = /^(\d{1,12})(?:\.(\d{1,2}))?$/;

/** Parses "5", "5.5" or "5.50" into kopecks; returns null for anything else (signs, commas, exponents). */
export function parseMoney(text: string): Kopecks | null {
  const match = MONEY_PATTERN.exec(text.trim());
  if (!match) return null;
  const [, whole = '0', fraction = ''] = match;
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
}

/** Accepts a signed decimal string as databases return it ("-5.00", "12.3"). */
export function parseStoredMoney(text: string | number | bigint): Kopecks {
  const value = String(text).trim();
  const negative = value.startsWith('-');
  const parsed = parseMoney(negative ? value.slice(1) : value);
  if (parsed === null) throw new Error(`not a money amount: ${value}`);
  return negative ? -parsed : parsed;
}

/** Always two decimal places, as the contract prints money. */
export function formatMoney(amount: Kopecks): string {
  const negative = amount < 0n;
  const absolute = negative ? -amount : amount;
  const text = `${absolute / 100n}.${String(absolute % 100n).padStart(2, '0')}`;
  return negative ? `-${text}` : text;
}
