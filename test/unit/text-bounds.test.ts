// Issue 11, defect 4: one review's text must not stall or crash a cycle. Every analysis of a review's or a draft's
// text (language, gate, policy, prompt) runs in a child process on hostile texts of 100 000 and 25 000 000
// characters; the child is killed if it has not finished long after linear work would have, and the test names the
// text it was stuck on. Nothing here measures speed: the kill timeout only turns a hang into a failure. And the
// model is shown a bounded part of such a text, with a note that it was cut.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { buildMessages, PROMPT_TEXT_LIMIT } from '../../src/core/drafting/prompt.ts';
import { HOSTILE_TEXTS } from '../fixtures/hostile-texts.ts';

const CHILD = fileURLToPath(new URL('../support/analyse-text.ts', import.meta.url));
/** Linear work on these texts takes well under a second; quadratic work takes hours. */
const KILL_AFTER_MS = 120_000;

function analyseInChild(size: number, shapes: readonly string[] = []): Promise<{ code: number | null; signal: string | null; done: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=2048', CHILD, String(size), ...shapes], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const done = stdout.split('\n').filter((line) => line.startsWith('done ')).map((line) => line.slice('done '.length));
      resolve({ code, signal, done, stderr: stderr.slice(-2000) });
    });
  });
}

function assertFinished(result: Awaited<ReturnType<typeof analyseInChild>>, expected: readonly string[]): void {
  const stuck = expected.find((name) => !result.done.includes(name));
  assert.equal(stuck, undefined, `the analysis did not finish on ${stuck} (${result.signal ? `killed after ${KILL_AFTER_MS} ms` : `exit ${result.code}`}) ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
}

describe('text analysis is bounded by the text, whatever its shape', () => {
  test('every hostile shape of 100 000 characters is analysed', async () => {
    assertFinished(await analyseInChild(100_000), Object.keys(HOSTILE_TEXTS));
  });

  test('a review of 25 000 000 characters is analysed without running out of stack', async () => {
    const shapes = ['cyrillicRun', 'latinRun', 'quoted'];
    assertFinished(await analyseInChild(25_000_000, shapes), shapes);
  });
});

describe('the model sees at most PROMPT_TEXT_LIMIT of a customer text, and is told when it was cut', () => {
  const review = (text: string) => ({ rating: 5, text, authorName: 'Анна', branchName: 'Кофейня' });
  const userMessage = (messages: ReturnType<typeof buildMessages>) => messages.find((message) => message.role === 'user')!.content;
  const between = (content: string, open: string, close: string) => content.slice(content.indexOf(`${open}\n`) + open.length + 1, content.indexOf(`\n${close}`));

  test('a review of 100 000 characters is cut to its beginning, with a note outside the delimiters', () => {
    const text = `Отлично${'о'.repeat(100_000)}`;
    const content = userMessage(buildMessages('system', review(text)));
    const shown = between(content, '<<<REVIEW', 'REVIEW>>>');
    assert.equal(shown, `${text.slice(0, PROMPT_TEXT_LIMIT)}…`);
    const note = content.slice(0, content.indexOf('\n<<<REVIEW\n'));
    assert.match(note, new RegExp(`review is longer than ${PROMPT_TEXT_LIMIT} characters: only its beginning is shown`));
  });

  test('a review within the limit goes whole and without a note', () => {
    const text = 'Ж'.repeat(PROMPT_TEXT_LIMIT);
    const content = userMessage(buildMessages('system', review(text)));
    assert.equal(between(content, '<<<REVIEW', 'REVIEW>>>'), text);
    assert.doesNotMatch(content, /longer than/);
  });

  test('a cut never splits a character outside the Basic Multilingual Plane', () => {
    const text = `${'a'.repeat(PROMPT_TEXT_LIMIT - 1)}😀${'b'.repeat(10)}`;
    const shown = between(userMessage(buildMessages('system', review(text))), '<<<REVIEW', 'REVIEW>>>');
    assert.equal(shown, `${'a'.repeat(PROMPT_TEXT_LIMIT - 1)}…`);
  });

  test('a follow-up comment and the exchange are cut the same way', () => {
    const long = `Снова${'о'.repeat(50_000)}`;
    const content = userMessage(buildMessages('system', review('Спасибо'), undefined, [], { history: [{ role: 'reviewer', text: long }], comment: long }));
    assert.equal(between(content, '<<<COMMENT', 'COMMENT>>>'), `${long.slice(0, PROMPT_TEXT_LIMIT)}…`);
    assert.match(content, /comment is longer than/);
    assert.ok(content.length < 4 * PROMPT_TEXT_LIMIT, `the prompt has ${content.length} characters`);
  });
});
