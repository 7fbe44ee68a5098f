// 2GIS's dates as instants to the microsecond: intake pages a listing newest first by them and recheck reads a page
// of them back, and both must agree on which of two dates is the later.

/**
 * Microseconds since the epoch of an ISO 8601 date such as `2021-01-25T14:26:44.918796+07:00` (2GIS sends
 * fractions of any length, which Date.parse cuts to milliseconds: two pages a few µs apart would look alike);
 * NaN when it does not parse.
 */
export function micros(iso: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?(Z|[+-]\d{2}(?::?\d{2})?)$/i.exec(iso.trim());
  if (!match) return Date.parse(iso) * 1000; // another form JavaScript reads (NaN when it reads none)
  let zone = match[3]!.toUpperCase();
  if (/^[+-]\d{2}$/.test(zone)) zone = `${zone}:00`;
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${match[1]}${zone}`);
  if (Number.isNaN(ms)) return Number.NaN;
  return ms * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
}
