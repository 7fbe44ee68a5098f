// What a moment typed for a period means: spans, dates at local midnight in the business's zone, local times,
// instants with a zone; impossible dates and out-of-range moments refused. A table, zone by zone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readMoment } from '../../src/core/insight/period.ts';
import { UsageError } from '../../src/errors.ts';
import { parseSince } from '../../src/ui/format.ts';

const NOW = new Date('2026-12-07T10:00:00.000Z');

const CASES: Array<[text: string, zone: string, expected: string]> = [
  ['30d', 'Asia/Almaty', '2026-11-07T10:00:00.000Z'],
  ['15m', 'UTC', '2026-12-07T09:45:00.000Z'],
  ['1w', 'Europe/Moscow', '2026-11-30T10:00:00.000Z'],
  // A date is midnight where the business is.
  ['2026-12-01', 'UTC', '2026-12-01T00:00:00.000Z'],
  ['2026-12-01', 'Europe/Moscow', '2026-11-30T21:00:00.000Z'],
  ['2026-12-01', 'Asia/Almaty', '2026-11-30T19:00:00.000Z'],
  ['2026-12-01', 'Asia/Kamchatka', '2026-11-30T12:00:00.000Z'],
  ['2026-12-01', 'America/New_York', '2026-12-01T05:00:00.000Z'],
  // A local time without a zone is the business's wall clock, like a date.
  ['2026-12-01T09:30', 'Europe/Moscow', '2026-12-01T06:30:00.000Z'],
  ['2026-12-01 09:30:15', 'Asia/Almaty', '2026-12-01T04:30:15.000Z'],
  // An instant with a zone is that instant, whatever the business's zone.
  ['2026-12-01T09:30Z', 'Asia/Almaty', '2026-12-01T09:30:00.000Z'],
  ['2026-12-01T09:30:00+05:00', 'Europe/Moscow', '2026-12-01T04:30:00.000Z'],
  ['2026-12-01T09:30:00-0300', 'UTC', '2026-12-01T12:30:00.000Z'],
  // Leap day, last days of months, a year's edges.
  ['2024-02-29', 'UTC', '2024-02-29T00:00:00.000Z'],
  ['2026-04-30', 'UTC', '2026-04-30T00:00:00.000Z'],
  ['2026-01-01', 'Europe/Moscow', '2025-12-31T21:00:00.000Z'],
  // Clock changes: New York springs forward at 02:00 on 2026-03-08 and falls back at 02:00 on 2026-11-01.
  ['2026-03-08', 'America/New_York', '2026-03-08T05:00:00.000Z'],
  ['2026-03-09', 'America/New_York', '2026-03-09T04:00:00.000Z'],
  ['2026-03-08T02:30', 'America/New_York', '2026-03-08T07:30:00.000Z'],
  ['2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00.000Z'],
];

const REFUSED: Array<[text: string, problem: 'syntax' | 'impossible' | 'range']> = [
  ['', 'syntax'],
  ['yesterday', 'syntax'],
  ['15', 'syntax'],
  ['-2h', 'syntax'],
  ['1.5h', 'syntax'],
  ['1e3m', 'syntax'],
  ['2026-12-1', 'syntax'],
  ['2026-02-30', 'impossible'],
  ['2025-02-29', 'impossible'],
  ['2026-04-31', 'impossible'],
  ['2026-13-01', 'impossible'],
  ['2026-00-10', 'impossible'],
  ['2026-12-01T24:00', 'impossible'],
  ['2026-12-01T23:60', 'impossible'],
  ['2026-12-01T10:00+15:00', 'impossible'],
  ['999999d', 'range'],
  ['1999-12-31', 'range'],
  ['2101-01-01', 'range'],
];

test('a moment means the same in every zone it is read in: dates and local times at the business, instants as written', () => {
  for (const [text, zone, expected] of CASES) {
    const moment = readMoment(text, NOW, zone);
    assert.ok(moment instanceof Date, `${text} in ${zone}: ${String(moment)}`);
    assert.equal(moment.toISOString(), expected, `${text} in ${zone}`);
  }
});

test('impossible dates and out-of-range moments are refused with their reason, never rolled over', () => {
  for (const [text, problem] of REFUSED) assert.equal(readMoment(text, NOW, 'Europe/Moscow'), problem, text);
});

test('--since and --until refuse in one line naming the flag', () => {
  assert.throws(() => parseSince('2026-02-30', NOW, 'UTC', '--until'), (error: unknown) => error instanceof UsageError && /^--until: no such date/.test(error.message));
  assert.throws(() => parseSince('999999d', NOW, 'UTC'), (error: unknown) => error instanceof UsageError && /^--since: .* outside the years/.test(error.message));
  assert.throws(() => parseSince('soon', NOW, 'UTC'), (error: unknown) => error instanceof UsageError && /^--since: not a time/.test(error.message));
});
