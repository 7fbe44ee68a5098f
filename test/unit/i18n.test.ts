// The owner's language (issue 23): every message in both catalogues, Russian that is Russian, plural forms by
// Intl.PluralRules, money in the deployment's currency, the language chosen by --lang > ui.language > the locale,
// and every command's --help in Russian.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpProgram } from '../../src/cli.ts';
import { allCommands, commandPath, HELP_RU } from '../../src/ui/help.ru.ts';
import { formatDate, formatMoneyFor, languageOfLocale, terminalLanguage } from '../../src/ui/language.ts';
import { en, messagesFor } from '../../src/ui/messages.ts';
import { ru, ruCount, ruForm, RU_NOUNS, type RuNoun } from '../../src/ui/messages.ru.ts';

/** Texts that are the same in every language: ids, keys, numbers, a brand. Keyed by the message's path. */
const SAME_IN_EVERY_LANGUAGE = new Set([
  'money', // a function of Intl, no words of its own
  'report.editedShare', // a percentage
  'demo.sideBySide', // arithmetic
  'telegram.panel.ofBusiness', // 🏢 and the business's own name
  'telegram.panel.businessLine',
  'branches.columns.0', // id
  'branches.defaults', // policy.*
  'branches.policy', // key=value
  'stats.answered',
  'stats.waiting',
  'stats.rating',
  'report.change',
  'demo.telegramLabel', // Telegram
  'language',
]);

const CYRILLIC = /[\u0400-\u04FF]/;
const LATIN = /[A-Za-z]/;

/** Every leaf of a catalogue: its path and its value (a text, or a function whose source holds its words). */
function leaves(node: unknown, at: string[] = []): Array<{ path: string; value: unknown }> {
  if (typeof node === 'string' || typeof node === 'function') return [{ path: at.join('.'), value: node }];
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([key, value]) => leaves(value, [...at, key]));
  return [{ path: at.join('.'), value: node }];
}

test('every message of the English catalogue has a Russian one, and the Russian has none the English lacks', () => {
  const english = new Map(leaves(en).map((leaf) => [leaf.path, leaf.value]));
  const russian = new Map(leaves(ru).map((leaf) => [leaf.path, leaf.value]));
  const missing = [...english.keys()].filter((key) => !russian.has(key));
  const extra = [...russian.keys()].filter((key) => !english.has(key));
  assert.deepEqual(missing, [], 'messages with no Russian text');
  assert.deepEqual(extra, [], 'Russian messages with no English one');
  for (const [key, value] of english) assert.equal(typeof russian.get(key), typeof value, key);
  assert.ok(english.size > 400, `the walk sees the whole catalogue (${english.size} messages)`);
});

test('no Russian text is English: each has Cyrillic, except the few that are ids or numbers in every language', () => {
  const english: string[] = [];
  for (const { path, value } of leaves(ru)) {
    if (SAME_IN_EVERY_LANGUAGE.has(path)) continue;
    // A function's words are in its source; a text with no letters at all (—, ★) is no language.
    const text = typeof value === 'function' ? value.toString() : String(value);
    // Its words are the counted nouns of RU_NOUNS, or Intl's for the Russian locale (a date, a percentage).
    const counts = /ruCount\(|'ru(-RU)?'/.test(text);
    if (!CYRILLIC.test(text) && !counts && LATIN.test(text)) english.push(`${path}: ${text.slice(0, 80)}`);
  }
  assert.deepEqual(english, []);
});

test('the Russian texts read as Russian when called, with counts, money and dates of the language', () => {
  assert.equal(ru.demo.arithmetic('100.00', 6, '5.00', '70.00'), '100,00\u00a0₽ до − 6 ответов × 5,00\u00a0₽ = 70,00\u00a0₽ после');
  assert.equal(ru.preflight.failed(1), 'gisbot не запустится: не ответили сервисы (1 сервис)');
  assert.equal(ru.doctor.failed(3), 'не пройдено: 3 проверки');
  assert.equal(ru.telegram.cut(1234), '… (обрезано: ещё 1\u00a0234 символа)');
  assert.equal(ru.telegram.panel.alerts.complaint('долго ждали', 21), 'Повторяющаяся жалоба: «долго ждали», 21 отзыв');
  assert.equal(ru.report.twogisRating(4.46, 1250), '4,5 в 2ГИС (1\u00a0250 отзывов)');
  assert.equal(messagesFor('ru'), ru);
  assert.equal(messagesFor('en'), en);
});

/** The Russian rule as grammars state it, to check Intl.PluralRules's answers against. */
function grammarForm(n: number): 0 | 1 | 2 {
  const last = n % 10;
  const lastTwo = n % 100;
  if (last === 1 && lastTwo !== 11) return 0;
  if (last >= 2 && last <= 4 && (lastTwo < 12 || lastTwo > 14)) return 1;
  return 2;
}

test('plurals: 0, 1, 2, 5, 11, 21, 22, 25, 101, 111 of every counted noun take the form Russian grammar gives', () => {
  for (const noun of Object.keys(RU_NOUNS) as RuNoun[]) {
    for (const n of [0, 1, 2, 5, 11, 21, 22, 25, 101, 111]) {
      assert.equal(ruForm(n, noun), RU_NOUNS[noun][grammarForm(n)], `${n} ${noun}`);
    }
  }
  assert.deepEqual(
    [1, 2, 5, 21].map((n) => ruCount(n, 'review')),
    ['1 отзыв', '2 отзыва', '5 отзывов', '21 отзыв'],
  );
  assert.deepEqual([1, 3, 11].map((n) => ruCount(n, 'answer')), ['1 ответ', '3 ответа', '11 ответов']);
});

test('money in the deployment currency, formatted by Intl for the language; the amount exact from its string', () => {
  assert.equal(formatMoneyFor('ru', '5.00', 'RUB'), '5,00\u00a0₽');
  assert.equal(formatMoneyFor('ru', '1250.00', 'KZT'), '1\u00a0250,00\u00a0₸');
  assert.equal(formatMoneyFor('en', '5.00', 'USD'), '5.00 USD');
  assert.equal(formatMoneyFor('en', '1250.00', 'KZT'), '1,250.00 KZT');
  assert.equal(formatMoneyFor('ru', '-12.50', 'RUB'), '-12,50\u00a0₽');
  assert.equal(formatMoneyFor('en', '+5.00', 'RUB'), '+5.00 RUB');
  assert.equal(formatMoneyFor('ru', '999999999999.99', 'RUB'), '999\u00a0999\u00a0999\u00a0999,99\u00a0₽');
  assert.equal(formatMoneyFor('en', 'n/a', 'RUB'), 'n/a');
  assert.equal(formatDate('ru', new Date('2026-12-07T12:00:00Z'), 'UTC'), '7 декабря 2026 г.');
});

test('the language: --lang, else ui.language, else the locale (ru, kk, ky, uz, be → Russian; anything else English)', () => {
  for (const locale of ['ru_RU.UTF-8', 'kk_KZ.UTF-8', 'ky_KG', 'uz_UZ.UTF-8', 'be_BY.UTF-8', 'ru']) {
    assert.equal(languageOfLocale({ LANG: locale }), 'ru', locale);
  }
  for (const locale of ['C', 'C.UTF-8', 'POSIX', 'en_US.UTF-8', 'de_DE.UTF-8', 'rue_UA', '']) {
    assert.equal(languageOfLocale({ LANG: locale }), 'en', locale);
  }
  assert.equal(languageOfLocale({}), 'en', 'cron: no locale at all');
  assert.equal(languageOfLocale({ LC_ALL: 'C', LANG: 'ru_RU.UTF-8' }), 'en', 'LC_ALL first');
  assert.equal(languageOfLocale({ LC_ALL: '', LC_MESSAGES: 'ru_RU.UTF-8', LANG: 'C' }), 'ru', 'an empty LC_ALL is unset');
  assert.equal(terminalLanguage('en', 'ru', { LANG: 'ru_RU.UTF-8' }), 'en');
  assert.equal(terminalLanguage(undefined, 'en', { LANG: 'ru_RU.UTF-8' }), 'en');
  assert.equal(terminalLanguage(undefined, undefined, { LANG: 'ru_RU.UTF-8' }), 'ru');
});

test('--help: every command and every flag it shows has its Russian words', () => {
  const program = helpProgram('en');
  const problems: string[] = [];
  for (const command of allCommands(program)) {
    const key = commandPath(command);
    const text = HELP_RU[key];
    if (!text) {
      problems.push(`command "${key}" has no Russian help`);
      continue;
    }
    for (const option of command.options) {
      if (option.hidden || !option.long || option.long === '--help') continue;
      if (!text.options?.[option.long]) problems.push(`"${key}" ${option.long} has no Russian description`);
    }
  }
  assert.deepEqual(problems, []);
  // Laid over: no command's own help says an English word of its description any more.
  const russian = helpProgram('ru');
  for (const command of allCommands(russian)) {
    const help = command.helpInformation();
    assert.match(help, /Использование:/, commandPath(command));
    assert.doesNotMatch(help, /\bOptions:|display help|Usage:/, commandPath(command));
    assert.match(command.description(), CYRILLIC, commandPath(command));
  }
});

test("--help in Russian: commander's own words beside a flag (default, choices, env, preset) and an argument's are Russian", async () => {
  const { Command, Option } = await import('commander');
  const { localizeHelp } = await import('../../src/ui/help.ru.ts');
  const program = new Command('gisbot');
  program
    .command('stats')
    .argument('[branch]', 'the branch', 'all')
    .option('--limit <n>', 'at most this many', '20')
    .addOption(new Option('--csv-locale <form>', 'the form').choices(['en', 'ru']).env('GISBOT_CSV'))
    .addOption(new Option('--fresh [days]', 'fresh ones').preset('7'));
  localizeHelp(program);
  const help = program.commands[0]!.helpInformation();
  assert.doesNotMatch(help, /\((default|choices|env|preset):|\bdefault\b/, help);
  assert.match(help, /\(по умолчанию: "20"\)/, help);
  assert.match(help, /\(варианты: "en", "ru"/, help);
  assert.match(help, /переменная окружения:\s+GISBOT_CSV/, help);
  assert.match(help, /без значения: "7"/, help);
  assert.match(help, /\(по умолчанию: "all"\)/, help);
});

test('--help in Russian: no English word in any command\'s help, apart from names (flags, keys, commands, examples)', () => {
  const program = helpProgram('ru');
  const commandNames = new Set(allCommands(program).map((command) => command.name()));
  const names = new Set(['id', 'gisbot', 'gisbotrc', 'businesses', 'ru', 'en', 'LANG', 'JSON', 'stdout', 'timeZone', 'SIGTERM', 'Ctrl', 'UTF', 'HTML', 'CSV', 'VISUAL', 'EDITOR', 'cron', 'crontab', 'WebSocket', 'ISO', 'SQLite', 'OpenAI', 'help', 'poll', 'once']);
  const problems: string[] = [];
  for (const command of allCommands(program)) {
    const help = command.helpInformation();
    const prose = help
      .split('\n')
      .filter((line) => !/^\s*(\$ |\*\/)/.test(line)) // examples
      .join('\n')
      .replace(/--?[a-z][a-z-]*/g, '') // flags
      .replace(/<[^>]*>|\[[^\]]*\]/g, '') // their values, the usage line's arguments
      .replace(/[\w]+\.[\w.<>*-]+/g, '') // keys such as policy.templates, file names
      .replace(/"[^"]*"/g, '');
    for (const word of prose.match(/\b[A-Za-z]{2,}\b/g) ?? []) {
      if (!names.has(word) && !commandNames.has(word)) problems.push(`${commandPath(command) || 'gisbot'}: ${word}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("the reply gate's problems: English word for word as the gate said them, Russian from each rule and its values", async () => {
  const { gateProblems } = await import('../../src/core/drafting/gate.ts');
  const found = [
    ...gateProblems({ text: '', finishReason: 'length' }, { maxLength: 500 }),
    ...gateProblems(
      { text: 'Ждём вас: zerno.kz, a@zerno.kz, +7 777 123 45 67, @zerno, [ИМЯ], как ИИ, дарим скидку, ключ sk-123', finishReason: 'stop' },
      { maxLength: 60, secrets: [{ key: 'openai.apiKey', value: 'sk-123' }] },
      { reviewText: 'The coffee was cold and the staff were rude to us all evening', defaultLanguage: 'rus' },
    ),
    { rule: 'prompt_leak' as const, message: 'it repeats part of the system prompt' },
    { rule: 'repeat' as const, message: 'it repeats word for word an answer we already gave: word it differently' },
    { rule: 'moderation' as const, message: 'the moderation endpoint flagged it (harassment)', params: { categories: 'harassment' } },
    { rule: 'card_too_long' as const, message: '2400 characters: longer than a Telegram card shows (2300); send it with gisbot reply', params: { length: 2400, limit: 2300 } },
  ];
  const rules = new Set(found.map((problem) => problem.rule));
  for (const rule of ['empty', 'too_long', 'unfinished', 'link', 'email', 'phone', 'handle', 'ai_or_refusal', 'placeholder', 'promise', 'secret', 'language']) {
    assert.ok(rules.has(rule as never), `the drafts above break ${rule}`);
  }
  for (const problem of found) {
    assert.equal(en.gate.problem(problem), problem.message, problem.rule);
    const russian = ru.gate.problem(problem);
    assert.match(russian, CYRILLIC, `${problem.rule}: ${russian}`);
    // What the gate found is quoted as it was; the words around it are Russian.
    const words = russian.replace(/\([^)]*\)|«[^»]*»|gisbot reply|e-mail|Telegram/g, '');
    assert.doesNotMatch(words, /[a-z]{3,}/i, `${problem.rule}: ${russian}`);
  }
  const said = (rule: string) => ru.gate.problem(found.find((problem) => problem.rule === rule)!);
  assert.equal(said('too_long'), 'черновик длиннее 60 символов');
  assert.equal(said('link'), 'содержит ссылку (zerno.kz)');
  assert.equal(said('language'), 'написан на русском, а ответ должен быть на английском');
  assert.equal(said('card_too_long'), '2\u00a0400 символов: длиннее, чем показывает карточка Telegram (2\u00a0300); отправьте его через gisbot reply');
  // A problem kept without the values its wording needs (an older gisbot): its English, as it was.
  assert.equal(ru.gate.problem({ rule: 'link', message: 'it contains a link (zerno.kz)' }), 'it contains a link (zerno.kz)');
});
