// The hints a service's failure carries (written in English where the failure is met, in the adapters, and kept so
// for programs) are read in Russian by a Russian reader: every hint literal of src/adapters has Russian words.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { messagesFor } from '../../src/ui/messages.ts';

const ADAPTERS = path.join(import.meta.dirname, '../../src/adapters');

/** Every hint an adapter writes: the texts given as `hint:`, assigned to `hint` or to a `…_HINT` constant; `${…}` as a sample value. */
async function hintLiterals(): Promise<string[]> {
  const files = (await readdir(ADAPTERS, { recursive: true })).filter((file) => file.endsWith('.ts'));
  const literal = /'((?:[^'\\]|\\.)*)'|`([^`]*)`/g;
  const hints: string[] = [];
  for (const file of files) {
    const source = await readFile(path.join(ADAPTERS, file), 'utf8');
    // `hint: '…'` (one literal), `hint = … ;` and `X_HINT = … ;` (every literal of the expression).
    const places = [...source.matchAll(/\bhint:\s*((?:'(?:[^'\\]|\\.)*'|`[^`]*`))/g), ...source.matchAll(/\b(?:hint|[A-Z]+_HINT)\s*=\s*((?:'(?:[^'\\]|\\.)*'|`[^`]*`|[^;'`])*);/g)];
    for (const place of places) {
      for (const match of place[1]!.matchAll(literal)) {
        const text = (match[1] ?? match[2]!).replace(/\\'/g, "'").replace(/\$\{[^}]*\}/g, 'sample');
        if (/[a-z] [a-z]/i.test(text)) hints.push(text);
      }
    }
  }
  return [...new Set(hints)];
}

test("every adapter's hint is said in Russian to a Russian reader, and as written to an English one", async () => {
  const hints = await hintLiterals();
  assert.ok(hints.length >= 20, `the scan finds the hints (${hints.length}): ${hints.join(' | ')}`);
  const ru = messagesFor('ru');
  const en = messagesFor('en');
  const untranslated = hints.filter((hint) => !/[а-яё]/i.test(ru.errors.hint(hint)));
  assert.deepEqual(untranslated, []);
  for (const hint of hints) assert.equal(en.errors.hint(hint), hint);
  assert.equal(ru.errors.hint('a hint nobody wrote yet'), 'a hint nobody wrote yet', 'an unknown hint is shown as it is');
});

test("doctor's failed check in Russian: what failed in Russian words, by its code, the service's own detail after it", async () => {
  const { printChecks } = await import('../../src/commands/doctor.ts');
  const { useLanguage } = await import('../../src/ui/messages.ts');
  const { Chalk } = await import('chalk');
  const plain = new Chalk({ level: 0 });
  const checks = [
    { name: 'model', ok: false, detail: 'cannot reach the model at 127.0.0.1:9: ECONNREFUSED', code: 'unavailable' },
    { name: '2GIS', ok: false, detail: '2GIS refused the login', code: 'auth' },
    { name: 'prompt', ok: false, detail: 'файл промпта пуст', code: 'prompt_empty' },
  ];
  const lines = (language: 'ru' | 'en') => {
    useLanguage(language);
    const said: string[] = [];
    printChecks((line) => said.push(line), plain, checks);
    useLanguage('en');
    return said;
  };
  assert.deepEqual(lines('ru'), [
    '✗ model   недоступен (cannot reach the model at 127.0.0.1:9: ECONNREFUSED)',
    '✗ 2GIS    не принял учётные данные (2GIS refused the login)',
    '✗ prompt  файл промпта пуст',
  ]);
  assert.deepEqual(lines('en'), [
    '✗ model   cannot reach the model at 127.0.0.1:9: ECONNREFUSED',
    '✗ 2GIS    2GIS refused the login',
    '✗ prompt  файл промпта пуст',
  ]);
});

test("a cycle's problem: what failed in Russian words by its codes, the service's own English in brackets, its known hint in Russian", () => {
  const ru = messagesFor('ru');
  const en = messagesFor('en');
  const down = { kind: 'service', service: '2gis', failure: 'unavailable', detail: 'cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED' } as const;
  assert.equal(ru.cycle.problem(down), '2ГИС: недоступен сейчас (cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED)');
  assert.equal(en.cycle.problem(down), 'cannot reach 2GIS at 127.0.0.1:9: ECONNREFUSED');
  const login = {
    kind: 'service', service: '2gis', failure: 'auth', detail: '2GIS refused the login',
    hint: 'check twogis.login and twogis.password in the config (or the matching environment variables)',
  } as const;
  assert.equal(
    ru.cycle.problem(login),
    '2ГИС: не принял учётные данные (2GIS refused the login); проверьте twogis.login и twogis.password в настройках (или соответствующие переменные окружения)',
  );
  assert.equal(en.cycle.problem(login), '2GIS refused the login; check twogis.login and twogis.password in the config (or the matching environment variables)');
  const telegram = { kind: 'telegram_down', detail: 'cannot reach Telegram: ETIMEDOUT' } as const;
  assert.match(ru.cycle.problem(telegram), /^Telegram: cannot reach Telegram: ETIMEDOUT; карточки ждут/);
  assert.equal(en.cycle.problem(telegram), 'Telegram: cannot reach Telegram: ETIMEDOUT; the cards wait in the database for the next run');
  const card = { kind: 'card_refused', chatId: '-100', detail: 'Bad Request: message is too long' } as const;
  assert.equal(ru.cycle.problem(card), 'Telegram не принял карточку для чата -100 (Bad Request: message is too long); она уйдёт туда в следующий раз');
  assert.equal(en.cycle.problem(card), 'Telegram chat -100: Bad Request: message is too long');
});

test("a failed preflight check of run: the same Russian words by its code as doctor's", async () => {
  const { preflightLine } = await import('../../src/commands/run.ts');
  const { useLanguage } = await import('../../src/ui/messages.ts');
  useLanguage('ru');
  try {
    assert.equal(preflightLine({ name: 'model', ok: false, detail: 'cannot reach the model', code: 'unavailable' }), '✗ model: недоступен (cannot reach the model)');
  } finally {
    useLanguage('en');
  }
  assert.equal(preflightLine({ name: 'model', ok: false, detail: 'cannot reach the model', code: 'unavailable' }), '✗ model: cannot reach the model');
});

test("every error line gisbot's core logs (shown on stderr to whoever runs it) is said in Russian to a Russian reader", async () => {
  const core = path.join(import.meta.dirname, '../../src/core');
  const said: string[] = [];
  for (const file of (await readdir(core, { recursive: true })).filter((name) => name.endsWith('.ts'))) {
    const source = await readFile(path.join(core, file), 'utf8');
    for (const match of source.matchAll(/logger\.error\(\s*'((?:[^'\\]|\\.)*)'/g)) said.push(match[1]!.replace(/\\'/g, "'"));
  }
  assert.ok(said.length >= 2, said.join(' | '));
  const ru = messagesFor('ru');
  assert.deepEqual(said.filter((message) => !/[а-яё]/i.test(ru.console.logMessage(message))), []);
  for (const message of said) assert.equal(messagesFor('en').console.logMessage(message), message);
});

test("the core's and the store's own error messages (English where they are met) are said in Russian on a terminal", () => {
  const ru = messagesFor('ru');
  const english = [
    'review 141800001 is not known to gisbot',
    'review 141800001 cannot be answered now: it is already answered by gisbot',
    'review 141800001 cannot be answered now: it is skipped (hidden on 2GIS)',
    'review 141800001 cannot be answered now: it is being answered by a worker right now',
    'a top-up of 5.00 would take the balance past 999999999999.99, the most the database holds: nothing was added',
    'database.url must look like mysql://user:password@host:3306/database',
    'database.url must look like sqlite:<path> or mysql://...',
    'database.url: sqlite: needs a file path, e.g. sqlite:./gisbot.db',
  ];
  for (const text of english) {
    assert.match(ru.errors.message(text), /[а-яё]/i, text);
    assert.equal(messagesFor('en').errors.message(text), text);
  }
  assert.equal(ru.errors.message('review 1 cannot be answered now: it is skipped (hidden on 2GIS)'), 'на отзыв 1 сейчас нельзя ответить: он пропущен (hidden on 2GIS)');
  assert.equal(ru.errors.message('something new'), 'something new');
  assert.match(ru.config.promptUnreadable('/x/system.md', 'ENOENT'), /^prompt\.file: не удаётся прочитать \/x\/system\.md \(ENOENT\)$/);
});
