import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMoney, parseMoney, parseStoredMoney } from '../../src/core/money/money.ts';

test('money parses exactly and prints with two places', () => {
  const cases: Array<[string, bigint | null]> = [
    ['5', 500n], ['5.5', 550n], ['5.50', 550n], ['0.01', 1n], ['1000000', 100000000n],
    ['5,50', null], ['-3', null], ['abc', null], ['1e3', null], ['5.001', null], ['', null], ['.5', null],
  ];
  for (const [text, expected] of cases) assert.equal(parseMoney(text), expected, text);
  assert.equal(formatMoney(500n), '5.00');
  assert.equal(formatMoney(1n), '0.01');
  assert.equal(formatMoney(-1205n), '-12.05');
  assert.equal(parseStoredMoney('-5.00'), -500n);
  assert.equal(parseStoredMoney('12.3'), 1230n);
});
