// `gisbot reply <id> --send`'s outcome: the JSON `reason` is the same English in every language (programs match
// it, and its code where there is one); the person on the terminal reads it in their language.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replyOutcome } from '../../src/commands/reply.ts';
import { ServiceError } from '../../src/errors.ts';
import { messagesFor } from '../../src/ui/messages.ts';

const en = messagesFor('en');
const ru = messagesFor('ru');

test('each way an answer was not posted: English reason for --json whatever the language, the reader\'s words for the terminal', () => {
  const cases = [
    { kind: 'insufficient' } as const,
    { kind: 'lost' } as const,
    { kind: 'released' } as const,
    { kind: 'released', error: new ServiceError('2gis', 'unavailable', 'cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED') } as const,
    { kind: 'unsure', error: new ServiceError('2gis', 'outcome_unknown', 'the POST went unanswered') } as const,
    { kind: 'skipped', reason: 'answered by someone else before we posted', code: 'answered_elsewhere' } as const,
    { kind: 'failed', reason: '2GIS refused the answer: 400 text too long', code: 'post_refused' } as const,
  ];
  const expected = [
    'stopped answering: the balance does not cover another answer',
    'another worker took the review meanwhile',
    'a service failed before anything was posted; try again later',
    'cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED',
    "the answer's fate is unknown (the POST went unanswered); gisbot reads it back on its next run and never posts twice",
    'answered by someone else before we posted',
    '2GIS refused the answer: 400 text too long',
  ];
  for (const [index, outcome] of cases.entries()) {
    const inEnglish = replyOutcome(outcome, en);
    const inRussian = replyOutcome(outcome, ru);
    assert.equal(inEnglish.reason, expected[index], outcome.kind);
    assert.equal(inRussian.reason, expected[index], `${outcome.kind}: --json says the same in Russian`);
    assert.equal(inEnglish.shown, expected[index], outcome.kind);
    // The terminal's Russian: Russian words; a service's own detail may stay as it said it, in brackets or after a colon.
    const russianWords = (inRussian.shown ?? '').replace(/\([^)]*\)|: [^;]*[a-z][^;]*$/gi, '').replace(/gisbot/g, '');
    assert.match(inRussian.shown ?? '', /[а-яё]/i, `${outcome.kind}: ${inRussian.shown}`);
    assert.doesNotMatch(russianWords, /[a-z]{3,}/i, `${outcome.kind}: ${inRussian.shown}`);
  }
});

test("`gisbot reply`'s gate verdict: the reader's words on the terminal, the English and each rule in --json", async () => {
  const { PassThrough } = await import('node:stream');
  const { render } = await import('../../src/commands/reply.ts');
  const { printDraft } = await import('../../src/ui/reply-card.ts');
  const { gateProblems } = await import('../../src/core/drafting/gate.ts');
  const { Output } = await import('../../src/ui/output.ts');
  const { useLanguage } = await import('../../src/ui/messages.ts');
  const text = 'Позвоните нам: +7 777 123 45 67';
  const findings = gateProblems({ text, finishReason: 'stop' }, { maxLength: 20 });
  const problems = findings.map((problem) => problem.message);
  assert.deepEqual(problems, ['the draft is longer than 20 characters', 'it contains a phone number (+7 777 123 45 67)']);
  const review = { id: '880001', text: 'Холодный кофе' } as never;
  const result = { kind: 'answer', review, action: 'refused', text, problems, findings, reason: null, charged: null, balance: null, exitCode: 1 } as const;
  const shown = (json: boolean) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const output = new Output({ json, quiet: false, debug: false, stdout, stderr, stdinIsTTY: false, env: { NO_COLOR: '1' } });
    render(result as never, output);
    if (!json) printDraft(output, text, findings as never, false);
    return { out: String(stdout.read() ?? ''), err: String(stderr.read() ?? '') };
  };
  try {
    useLanguage('en');
    const english = shown(false);
    assert.match(english.err, /✗ not sent, the gate refuses it: the draft is longer than 20 characters; it contains a phone number \(\+7 777 123 45 67\)/);
    assert.match(english.out, /✗ the gate refuses it: the draft is longer than 20 characters; it contains a phone number/);
    const englishJson = JSON.parse(shown(true).out);
    useLanguage('ru');
    const russian = shown(false);
    assert.match(russian.err, /✗ не отправлено, проверка ответа не пропускает его: черновик длиннее 20 символов; содержит номер телефона \(\+7 777 123 45 67\)/);
    assert.match(russian.out, /✗ проверка ответа не пропускает его: черновик длиннее 20 символов; содержит номер телефона/);
    const russianJson = JSON.parse(shown(true).out);
    assert.deepEqual(russianJson, englishJson);
    assert.deepEqual(englishJson.problems, problems);
    assert.deepEqual(englishJson.problemRules, ['too_long', 'phone']);
  } finally {
    useLanguage('en');
  }
});
