// shownText: outside text as a person is shown it (issue 18, item 8). The table of hostile texts, the texts that
// must stay as written, line ends, single-line fields, and the places that show outside text in-process: the
// Telegram card and its notices, the HTML report's escaping, the console lines, the demo's story and an error.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { CardView, DomainEvent } from '../../src/core/ports.ts';
import { ExitCode } from '../../src/errors.ts';
import { main } from '../../src/cli.ts';
import { createConsoleLogger } from '../../src/ui/console-log.ts';
import { renderDemo, type DemoResult } from '../../src/ui/demo-report.ts';
import { Output } from '../../src/ui/output.ts';
import { escape } from '../../src/ui/report-html.ts';
import { shownText } from '../../src/ui/shown-text.ts';
import { telegramRenderer } from '../../src/ui/telegram-card.ts';
import { firstRawControl, HOSTILE_TERMINAL_TEXTS, WRITTEN_AS_IS } from '../fixtures/terminal-texts.ts';

describe('shownText', () => {
  for (const entry of HOSTILE_TERMINAL_TEXTS) {
    test(`${entry.name}: shown as ${JSON.stringify(entry.shown)}`, () => {
      assert.equal(shownText(entry.text), entry.shown);
      assert.equal(firstRawControl(shownText(entry.text, { singleLine: true })), null);
    });
  }

  test('every C0 control and DEL becomes its Control Picture; every C1 control an escape', () => {
    for (let code = 0; code < 0x20; code += 1) {
      const expected = String.fromCodePoint(0x2400 + code);
      assert.equal(shownText(String.fromCharCode(code), { singleLine: true }), expected, `U+${code.toString(16)}`);
      if (code !== 0x0a && code !== 0x09) assert.equal(shownText(String.fromCharCode(code)), expected, `U+${code.toString(16)}`);
    }
    assert.equal(shownText('\u007f'), '␡');
    for (let code = 0x80; code < 0xa0; code += 1) {
      assert.equal(shownText(String.fromCharCode(code)), `\\u{${code.toString(16).toUpperCase()}}`);
    }
    assert.equal(shownText('\u00a0é'), '\u00a0é', 'NBSP and Latin-1 letters are no controls');
  });

  test('emoji with joiners and skin tones, flags, keycaps, Cyrillic, Kazakh, Hebrew and Arabic stay as written', () => {
    for (const [name, text] of Object.entries(WRITTEN_AS_IS)) {
      assert.equal(shownText(text), text, name);
      assert.equal(shownText(text, { singleLine: true }), text, name);
    }
    // The directional marks of real RTL text are kept: they cannot reorder or hide the text around them.
    const marked = 'מחיר\u200f 100 ₸ \u200eok \u061cعربي';
    assert.equal(shownText(marked), marked);
  });

  test('multi-line text keeps its newlines and tabs; CRLF is a newline; a bare CR is not', () => {
    assert.equal(shownText('one\ntwo\tthree'), 'one\ntwo\tthree');
    assert.equal(shownText('one\r\ntwo\r\n'), 'one\ntwo\n');
    assert.equal(shownText('one\rtwo'), 'one␍two');
    assert.equal(shownText('one\r\r\ntwo'), 'one␍\ntwo');
  });

  test('single-line fields show newline, CRLF and tab as their pictures', () => {
    assert.equal(shownText('Анна\nК.', { singleLine: true }), 'Анна␊К.');
    assert.equal(shownText('Анна\r\nК.', { singleLine: true }), 'Анна␊К.');
    assert.equal(shownText('a\tb', { singleLine: true }), 'a␉b');
  });

  test('what it shows is shown again unchanged, and a text without controls is the very same string', () => {
    for (const entry of HOSTILE_TERMINAL_TEXTS) assert.equal(shownText(entry.shown), entry.shown);
    const long = 'Отличный кофе. '.repeat(10_000);
    assert.equal(shownText(long), long);
  });
});

describe('outside text where a person reads it', () => {
  const EXAMPLE = HOSTILE_TERMINAL_TEXTS.at(-1)!;

  test('the Telegram card: controls as marks, and the HTML escaping still right', () => {
    const view: CardView = {
      cardId: 1,
      revision: 1,
      review: { id: '770020', branchName: `<b>${EXAMPLE.text}</b>`, authorName: `\u202eАнна`, rating: 1, text: `${EXAMPLE.text} & <i>`, createdAt: '2026-01-31T09:00:00Z' },
      reason: `below\u0007 3`,
      draft: { text: `Спасибо\u001b[8m ${WRITTEN_AS_IS.family}`, problems: [], editedBy: null },
      draftFailure: null,
      instruction: null,
      outcome: null,
      actions: ['send', 'skip'],
    };
    const { html } = telegramRenderer.card(view);
    assert.equal(firstRawControl(html), null, html);
    assert.ok(html.includes(`&lt;b&gt;${EXAMPLE.shown}&lt;/b&gt;`), html);
    assert.ok(html.includes(`${EXAMPLE.shown} &amp; &lt;i&gt;`), html);
    assert.ok(html.includes('\\u{202E}Анна'), html);
    assert.ok(html.includes(`Спасибо␛[8m ${WRITTEN_AS_IS.family}`), html);
    const notice = telegramRenderer.notice({ kind: 'not_posted', reason: `2GIS said \u001b]0;x\u0007` });
    assert.equal(notice, 'Not posted: 2GIS said ␛]0;x␇');
  });

  test("the HTML report's escape shows controls as marks and keeps a review's newlines", () => {
    assert.equal(escape(`${EXAMPLE.text}\n<script>`), `${EXAMPLE.shown}\n&lt;script&gt;`);
  });

  test('console lines: the reason, the error and the topic of an event', () => {
    const { output, stderr } = capture();
    const logger = createConsoleLogger(output, (text) => text);
    const event = (type: DomainEvent['type'], data: Record<string, unknown>) => ({ type, reviewId: '7\u001b[2K', branchId: '1\u009b', data }) as DomainEvent;
    logger.event(event('review.skipped', { reason: EXAMPLE.text }));
    logger.event(event('review.needs_approval', { reason: EXAMPLE.text }));
    logger.event(event('reply.failed', { error: `model said \u001b]52;c;eA==\u0007` }));
    logger.event(event('complaint.repeated', { topic: '\u202eцены', count: 3, reviewIds: ['1\u0007'] }));
    logger.error('cycle failed', { error: 'bad\rgood' });
    assert.equal(firstRawControl(stderr()), null, stderr());
    assert.ok(stderr().includes(EXAMPLE.shown.replace('\n', ' ')), stderr());
  });

  test("the demo's story: names, reviews, answers and the card as marks", () => {
    const { output, stdout } = capture();
    const review = { id: '1\u001b', branch: `Кофейня\u0007`, kind: 'x', rating: 1, author: '\u202eАнна', text: EXAMPLE.text, state: 'posted', outcome: 'answered' as const, reason: null, rules: [], answer: `ok\u009b31m`, charged: '5.00' };
    const result = {
      reviews: [review, { ...review, outcome: 'waiting', reason: `why\r` }, { ...review, outcome: 'skipped', reason: 'x\u0008' }, { ...review, outcome: 'failed', reason: 'y\u007f' }],
      balance: { before: '10.00', price: '5.00', answered: 1, charged: '5.00', after: '5.00', arithmeticOk: true },
      summary: {},
      stoppedForBalance: false,
      businesses: [
        { id: 'a', name: 'Кофейня\u001b[2J', balance: { before: '10.00', price: '5.00', answered: 1, charged: '5.00', after: '5.00', arithmeticOk: true }, outcomes: { answered: 1 }, reviews: 1, stoppedForBalance: false },
        { id: 'b', name: '\u202eКлиника', balance: { before: '5.00', price: '5.00', answered: 1, charged: '5.00', after: '0.00', arithmeticOk: true }, outcomes: { answered: 1, queued: 1 }, reviews: 2, stoppedForBalance: true },
      ],
      events: { stored: 1, byType: {}, logFile: '/tmp/x', logLines: 1, websocket: { url: 'ws://127.0.0.1:1', frames: 1 } },
      telegram: { chat: '1', cards: [{ reviewId: '1', text: `card\u001b]0;x\u0007\nline`, buttons: ['Send\u0007'] }] },
      stats: { period: { from: new Date(0), to: new Date(1) }, total: { reviews: 0 }, branches: [], topics: [] },
      report: '/tmp/report.html',
      folder: null,
      configFile: null,
      seconds: 1,
      problems: [],
      exitCode: 0,
    } as unknown as DemoResult;
    renderDemo(result, output);
    assert.equal(firstRawControl(stdout()), null, stdout());
    assert.ok(stdout().includes('\\u{202E}Анна'), stdout());
    assert.ok(stdout().includes('\\u{202E}Клиника'), "a business's name as marks too");
  });

  test('an error message, as the CLI prints it: a path with controls in it', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      assert.equal(await main(['node', 'gisbot', 'prompt', 'show', '--config', `/nonexistent/\u001b]0;x\u0007.json`]), ExitCode.usage);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(firstRawControl(written.join('')), null, written.join(''));
    assert.match(written.join(''), /␛\]0;x␇/);
  });
});

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (chunk) => (stdout += chunk));
  err.on('data', (chunk) => (stderr += chunk));
  const output = new Output({ json: false, quiet: false, debug: false, stdout: out, stderr: err, stdinIsTTY: false, env: { NO_COLOR: '1' } });
  return { output, stdout: () => stdout, stderr: () => stderr };
}
