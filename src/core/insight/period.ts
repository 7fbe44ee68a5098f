// Moments people type for a period (`--since`, `--until`): a span back from now (`30d`), a date (local midnight in
// the business's time zone), a local date-time, or an instant with its zone. Written once, read by every command
// that takes a period, so `stats`, `report`, `logs` and `balance history` agree on what a date means.

export type MomentProblem = 'syntax' | 'impossible' | 'range';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** 2GIS began in 1999: nothing gisbot stores is older. A moment outside these years is a typo, not a period. */
export const EARLIEST_YEAR = 2000;
export const LATEST_YEAR = 2100;

const ZONED = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * `text` as an instant: `15m`, `2h`, `3d`, `1w` before `now`; `2026-01-31` = midnight there in `timeZone`;
 * `2026-01-31T09:00` = that wall-clock time in `timeZone`; `2026-01-31T09:00Z` or `+05:00` = that instant.
 * Impossible dates (`2026-02-30`, `25:00`) and moments outside EARLIEST_YEAR–LATEST_YEAR are refused.
 */
export function readMoment(text: string, now: Date, timeZone: string): Date | MomentProblem {
  const trimmed = text.trim();
  const relative = /^(\d{1,7})\s*([smhdw])$/i.exec(trimmed);
  if (relative) return withinRange(new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!.toLowerCase()]!));
  const m = ZONED.exec(trimmed);
  if (!m) return 'syntax';
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  if (year < EARLIEST_YEAR || year > LATEST_YEAR) return 'range';
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return 'impossible';
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const zone = m[8];
  if (zone !== undefined) {
    if (zone.toUpperCase() === 'Z') return new Date(wall);
    const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const minutes = Number(offset[2]) * 60 + Number(offset[3]);
    if (Number(offset[2]) > 14 || Number(offset[3]) > 59) return 'impossible';
    return new Date(wall - (offset[1] === '-' ? -1 : 1) * minutes * 60_000);
  }
  return new Date(zonedWallToInstant(wall, timeZone));
}

/** The machine's zone (it honours `TZ`): the default of the `timeZone` key. */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** True for a zone `Intl` knows (`Asia/Almaty`, `Europe/Moscow`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function withinRange(at: Date): Date | MomentProblem {
  const year = at.getUTCFullYear();
  return year < EARLIEST_YEAR || year > LATEST_YEAR ? 'range' : at;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant`, in milliseconds. */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant whose wall clock in `timeZone` reads `wall` (a UTC-encoded wall time). A wall time skipped by a
 * clock change (spring forward) maps to the instant just after the gap; a repeated one to its first occurrence.
 */
function zonedWallToInstant(wall: number, timeZone: string): number {
  const first = wall - zoneOffsetMs(wall, timeZone);
  const second = wall - zoneOffsetMs(first, timeZone);
  if (first === second) return first;
  // Two offsets meet here: take the earlier instant that reads `wall`, else (a gap) the later one.
  const candidates = [first, second].filter((at) => at + zoneOffsetMs(at, timeZone) === wall).sort((a, b) => a - b);
  return candidates[0] ?? Math.max(first, second);
}
