import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Chalk } from 'chalk';
import { stripVTControlCharacters } from 'node:util';
import { toYaml } from '../../src/commands/init.ts';
import { UsageError } from '../../src/errors.ts';
import { clip, distinctNames, parseLimit, parseSince, table } from '../../src/ui/format.ts';

test('--since takes a span back from now or an ISO time, and nothing else', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  assert.equal(parseSince('15m', now).toISOString(), '2026-03-10T11:45:00.000Z');
  assert.equal(parseSince('2h', now).toISOString(), '2026-03-10T10:00:00.000Z');
  assert.equal(parseSince('3d', now).toISOString(), '2026-03-07T12:00:00.000Z');
  assert.equal(parseSince('30s', now).toISOString(), '2026-03-10T11:59:30.000Z');
  assert.equal(parseSince('2026-03-01T09:00Z', now).toISOString(), '2026-03-01T09:00:00.000Z');
  assert.equal(parseSince('2026-03-01T09:00:00+03:00', now).toISOString(), '2026-03-01T06:00:00.000Z');
  assert.ok(parseSince('2026-03-01', now) instanceof Date);
  for (const bad of ['', 'yesterday', '15', 'm15', '-2h', '1.5h', '2026-13-45', '2026-03-01T25:00Z', '1e3m']) {
    assert.throws(() => parseSince(bad, now), UsageError, bad);
  }
});

test('--limit is a whole number within bounds', () => {
  assert.equal(parseLimit('20'), 20);
  for (const bad of ['0', '-1', '2.5', 'ten', '', '10001']) assert.throws(() => parseLimit(bad), UsageError, bad);
});

test('tables pad coloured cells by what shows and clip the last column', () => {
  const c = new Chalk({ level: 1 });
  const lines = table(['a', 'bb', 'text'], [[c.red('xyz'), 'q', 'a long text that will not fit'], ['1', 'qq', 'short']], 22, c);
  const plain = lines.map((line) => stripVTControlCharacters(line));
  assert.deepEqual(plain, ['a    bb  text', 'xyz  q   a long text…', '1    qq  short']);
  assert.equal(clip('многострочный\nтекст', 8), 'многост…');
  assert.equal(clip('ok', 8), 'ok');
});

test('init writes YAML that keeps any string exact', () => {
  const yaml = toYaml({ twogis: { login: 'a@b.c', password: 'p"a:ss# \\ 🙂' }, policy: { approvalBelowRating: 3 } }, 'one\ntwo');
  assert.equal(yaml, '# one\n# two\n\ntwogis:\n  login: "a@b.c"\n  password: "p\\"a:ss# \\\\ 🙂"\n\npolicy:\n  approvalBelowRating: 3\n');
});

test('branch names of a chain keep what tells them apart when cut; a short name or a lone one is as before', () => {
  const names = ['Кофейня «Зерно» на проспекте Абая 12', 'Кофейня «Зерно» на проспекте Достык 5', 'Кофейня «Зерно» в ТРЦ Mega'];
  const cut = distinctNames(names, 20);
  assert.deepEqual(names.map((name) => cut.get(name)), ['…Абая 12', '…Достык 5', '…в ТРЦ Mega']);
  assert.equal(new Set(names.map((name) => cut.get(name))).size, 3, 'three branches, three different cells');
  assert.equal(distinctNames(['Кофейня «Зерно» на проспекте Абая 12'], 20).get('Кофейня «Зерно» на проспекте Абая 12'), 'Кофейня «Зерно» на…');
  assert.equal(distinctNames(['Зерно', 'Зерно 2'], 20).get('Зерно 2'), 'Зерно 2');
});
