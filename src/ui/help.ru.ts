// `--help` по-русски. Английский текст справки живёт рядом с командами (cli.ts, таблица commander); здесь его
// русский вариант, по пути команды ('' — сама программа, 'balance add' — подкоманда). `localizeHelp` кладёт его
// поверх готовой таблицы; тест test/unit/help-ru.test.ts обходит все команды и все флаги и падает, если где-то
// русского текста нет.
import type { Argument, Command, Option } from 'commander';

export interface HelpText {
  description: string;
  /** Флаг (`--yes`) → его описание. */
  options?: Readonly<Record<string, string>>;
  /** Текст после справки: примеры. */
  after?: string;
}

export const HELP_RU: Readonly<Record<string, HelpText>> = {
  '': {
    description: 'Отвечает на отзывы о вашем бизнесе в 2ГИС с помощью модели, совместимой с OpenAI; оплата — с предоплаченного баланса.',
    options: {
      '--config': 'взять этот файл настроек вместо поиска .gisbotrc',
      '--json': 'напечатать в stdout один документ JSON и больше ничего',
      '--quiet': 'печатать только ошибки',
      '--debug': 'показывать трассировку стека',
      '--business': 'бизнес, с которым работать, если в настройках их несколько (businesses:)',
      '--lang': 'язык сообщений: ru или en (по умолчанию ui.language, иначе язык из LANG)',
      '--version': 'показать номер версии',
    },
    after:
      '\nПримеры:\n  $ gisbot demo                       # посмотреть работу на учебном бизнесе, ничего не настраивая\n  $ gisbot init                       # настроить свой аккаунт\n  $ gisbot poll-once --json           # один цикл, для cron\n  $ gisbot help balance               # подробнее об одной команде',
  },
  run: {
    description: 'забирать отзывы и отвечать на них в цикле, пока не нажат Ctrl-C или не пришёл SIGTERM',
    after: '\nПример:\n  $ gisbot run --config /etc/gisbot/.gisbotrc',
  },
  'poll-once': {
    description: 'один цикл опроса и выход (для cron)',
    after: '\nПример (crontab, каждые 5 минут):\n  */5 * * * * gisbot poll-once --json >> /var/log/gisbot.jsonl',
  },
  balance: {
    description: 'показать предоплаченный баланс и часть, зарезервированную за ответы в работе',
    after: '\nПримеры:\n  $ gisbot balance\n  $ gisbot balance add 500 --yes',
  },
  'balance add': {
    description: 'пополнить баланс (в терминале спрашивает подтверждение)',
    options: { '--yes': 'не спрашивать подтверждение' },
    after: '\nПример:\n  $ gisbot balance add 100.50 --yes',
  },
  'balance adjust': {
    description: 'исправить баланс на сумму со знаком — записью в журнале с причиной (никогда не ниже нуля)',
    options: { '--note': 'почему: сохраняется в журнале (обязательно)', '--yes': 'не спрашивать подтверждение' },
    after: '\nПримеры:\n  $ gisbot balance adjust -12.50 --note "возврат ошибочного пополнения" --yes\n  $ gisbot balance adjust +5 --note "компенсация"',
  },
  'balance history': {
    description: 'журнал: пополнения и списания, сначала новые',
    options: { '--since': 'только записи начиная с 15m, 2h, 3d или времени ISO', '--limit': 'не больше стольких записей (по умолчанию 20)' },
    after: '\nПримеры:\n  $ gisbot balance history --since 7d\n  $ gisbot balance history --limit 100 --json > ledger.json',
  },
  reply: {
    description: 'ответить на отзыв самому: без id — список отзывов, которые ждут вас',
    options: {
      '--send': 'опубликовать черновик, не спрашивая (всё равно через проверку ответа, перечитывание отзыва и баланс)',
      '--dry-run': 'только показать черновик: ничего не публиковать и не менять',
      '--limit': 'без id: показать не больше стольких отзывов (по умолчанию 50)',
    },
    after:
      '\nПримеры:\n  $ gisbot reply                       # отзывы, которые ждут вас\n  $ gisbot reply 141264987             # черновик, затем отправить / исправить / переписать / пропустить\n  $ gisbot reply 141264987 --dry-run --json',
  },
  complain: {
    description: 'пожаловаться в 2ГИС на отзыв (фальшивый, от конкурента, не от клиента): отправляется один раз, не списывается',
    options: {
      '--reason': 'почему отзыв должен быть удалён: это читают модераторы 2ГИС (обязательно, не больше 2 000 символов)',
      '--not-a-client': 'автор никогда не был клиентом',
    },
    after:
      '\nПримеры:\n  $ gisbot complain 141264987 --reason "у нас нет террасы; автор никогда не был нашим гостем" --not-a-client\n  $ gisbot complain 141264987 --reason "реклама другого кафе" --json',
  },
  prompt: {
    description: 'системный промпт: показать, править, история, откат (каждая сохранённая версия хранится)',
    after: '\nПримеры:\n  $ gisbot prompt edit\n  $ gisbot prompt history\n  $ gisbot prompt rollback 3',
  },
  'prompt show': {
    description: 'напечатать действующий промпт или сохранённую версию',
    options: { '--version': 'напечатать эту сохранённую версию', '--prompt-version': 'напечатать эту сохранённую версию' },
    after: '\nПримеры:\n  $ gisbot prompt show > backup.md\n  $ gisbot prompt show --version 2',
  },
  'prompt history': {
    description: 'сохранённые версии, сначала новые',
    options: { '--limit': 'не больше стольких версий (по умолчанию 20)' },
    after: '\nПример:\n  $ gisbot prompt history --json',
  },
  'prompt edit': {
    description: 'править промпт в $VISUAL или $EDITOR; изменённый текст сохраняется новой версией',
    after: '\nПример:\n  $ EDITOR=nano gisbot prompt edit',
  },
  'prompt rollback': {
    description: 'вернуть в силу текст сохранённой версии (записывается как новейшая версия)',
    after: '\nПример:\n  $ gisbot prompt rollback 3',
  },
  logs: {
    description: 'что делал gisbot: недавние события или, с --follow, новые по мере появления',
    options: {
      '--since': 'только события начиная с 15m, 2h, 3d или времени ISO',
      '--type': 'только события этого типа, например reply.posted',
      '--review': 'только события этого отзыва',
      '--branch': 'только события этого филиала',
      '--limit': 'не больше стольких событий (по умолчанию 50)',
      '--follow': 'печатать новые события, пока не нажат Ctrl-C',
      '--pending': 'события, ещё не доставленные по WebSocket, с числом попыток',
    },
    after: '\nПримеры:\n  $ gisbot logs --since 2h --type reply.failed\n  $ gisbot logs --follow --json | jq .type\n  $ gisbot logs --pending',
  },
  branches: {
    description: 'филиалы аккаунта: id, названия, адреса, следим ли, свои правила, сколько отзывов',
    after: '\nПримеры:\n  $ gisbot branches\n  $ gisbot branches --json | jq -r ".[].id"',
  },
  businesses: {
    description: 'все бизнесы: состояние, баланс, резерв, филиалы, ждущие вас отзывы, ответы за 30 дней, последний цикл',
    after: '\nПримеры:\n  $ gisbot businesses\n  $ gisbot businesses --json | jq -r \'.[] | select(.status != "ok") | .id\'',
  },
  stats: {
    description: 'что купил баланс: отзывы, ответы, доля ответов, время до ответа, оценка, деньги, темы жалоб',
    options: {
      '--since': 'отзывы, оставленные начиная с: 30d (по умолчанию), 2w, дата (полночь в timeZone) или время',
      '--until': 'и до этого момента, не включая его (по умолчанию сейчас); дата — её полночь в timeZone',
      '--branch': 'только этот филиал',
    },
    after: '\nПримеры:\n  $ gisbot stats\n  $ gisbot stats --since 2026-01-01 --until 2026-02-01 --json\n  $ gisbot stats --branch 70000001080000001',
  },
  report: {
    description: 'записать один самодостаточный HTML-отчёт (графики, жалобы, что ждёт вас) и напечатать его путь',
    options: {
      '--since': 'отзывы, оставленные начиная с: 91d (по умолчанию), 4w, дата (полночь в timeZone) или время',
      '--until': 'и до этого момента, не включая его (по умолчанию сейчас); дата — её полночь в timeZone',
      '--out': 'файл для записи (по умолчанию gisbot-report-<дата>.html здесь)',
      '--csv': 'ещё и записать отзывы периода, по одному в строке, для таблиц (UTF-8)',
      '--csv-locale': 'вид CSV: en — ячейки через запятую и 1234.50 (по умолчанию); ru — точка с запятой и 1234,50',
    },
    after:
      '\nОба файла доступны только вам (0600): в них имена и слова клиентов.\n\nПримеры:\n  $ gisbot report\n  $ gisbot report --since 30d --out /var/www/owner/report.html\n  $ gisbot report --csv reviews.csv --csv-locale ru',
  },
  init: {
    description: 'настроить gisbot: спрашивает про каждый сервис, проверяет его, записывает .gisbotrc (права 0600)',
    after: '\nПримеры:\n  $ gisbot init\n  $ gisbot init --config /etc/gisbot/.gisbotrc',
  },
  demo: {
    description: 'посмотреть работу gisbot на учебном бизнесе: локальные песочницы, временная база SQLite, один цикл',
    options: {
      '--keep': 'сохранить временную папку (база, журнал, настройки) и напечатать, где она',
      '--balance': 'учебный баланс перед циклом (по умолчанию 100.00)',
    },
    after: '\nПримеры:\n  $ gisbot demo\n  $ gisbot demo --keep\n  $ gisbot demo --balance 12 --json',
  },
  doctor: {
    description: 'проверить каждый сервис из действующих настроек, по строке на сервис (код 1, если что-то не так)',
    after: '\nПримеры:\n  $ gisbot doctor\n  $ gisbot doctor --json --config /etc/gisbot/.gisbotrc',
  },
  help: { description: 'показать справку по команде' },
};

/** commander's own words: section titles, the help flag and command, its errors. */
const TITLES: Readonly<Record<string, string>> = {
  'Usage:': 'Использование:',
  'Options:': 'Параметры:',
  'Global Options:': 'Общие параметры:',
  'Commands:': 'Команды:',
  'Arguments:': 'Аргументы:',
};
const HELP_FLAG = 'показать справку по команде';

/**
 * What commander adds after a flag's or an argument's description (its default, its choices, the variable it is
 * read from, its value when given bare), said in Russian: commander writes these itself, in English.
 */
function extrasRu(item: { argChoices?: string[]; defaultValue?: unknown; defaultValueDescription?: string; presetArg?: unknown; envVar?: string }, showDefault: boolean, showPreset: boolean): string[] {
  const extras: string[] = [];
  if (item.argChoices) extras.push(`варианты: ${item.argChoices.map((choice) => JSON.stringify(choice)).join(', ')}`);
  if (item.defaultValue !== undefined && showDefault) extras.push(`по умолчанию: ${item.defaultValueDescription || JSON.stringify(item.defaultValue)}`);
  if (item.presetArg !== undefined && showPreset) extras.push(`без значения: ${JSON.stringify(item.presetArg)}`);
  if (item.envVar !== undefined) extras.push(`переменная окружения: ${item.envVar}`);
  return extras;
}

const withExtras = (description: string, extras: readonly string[]) =>
  extras.length === 0 ? description : `${description ? `${description} ` : ''}(${extras.join(', ')})`;

function optionDescriptionRu(option: Option): string {
  // As commander decides: a default shown for a flag that takes a value (or a boolean one's true/false).
  const showDefault = option.required || option.optional || (option.isBoolean() && typeof option.defaultValue === 'boolean');
  return withExtras(option.description, extrasRu(option, showDefault, option.optional));
}

function argumentDescriptionRu(argument: Argument): string {
  return withExtras(argument.description, extrasRu(argument, true, false));
}

/** `[options]`, `[command]` of a usage line, in Russian. */
const usageWords = (text: string) => text.replace(/\[options\]/g, '[параметры]').replace(/\[command\]/g, '[команда]');

/** commander's error lines, said again in Russian (the names it quotes stay as they are). */
const ERRORS: ReadonlyArray<[RegExp, (...groups: string[]) => string]> = [
  [/^error: unknown option '(.*?)'(?:\n\(Did you mean (.*)\?\))?/, (flag, guess) => `ошибка: неизвестный параметр '${flag}'${guess ? `\n(может быть, ${guess}?)` : ''}`],
  [/^error: unknown command '(.*?)'(?:\n\(Did you mean (.*)\?\))?/, (name, guess) => `ошибка: неизвестная команда '${name}'${guess ? `\n(может быть, ${guess}?)` : ''}`],
  [/^error: missing required argument '(.*?)'/, (name) => `ошибка: не хватает обязательного аргумента '${name}'`],
  [/^error: option '(.*?)' argument missing/, (flag) => `ошибка: у параметра '${flag}' нет значения`],
  [/^error: option '(.*?)' argument '(.*?)' is invalid\. Allowed choices are (.*)\./, (flag, value, allowed) => `ошибка: у параметра '${flag}' недопустимое значение '${value}'. Можно: ${allowed}.`],
  [/^error: too many arguments(?: for '(.*?)')?\. Expected (\d+) arguments? but got (\d+)\./, (command, expected, got) => `ошибка: слишком много аргументов${command ? ` у '${command}'` : ''}: ожидалось ${expected}, получено ${got}.`],
  [/^\(add --help for usage\)/, () => '(добавьте --help, чтобы увидеть, как пользоваться)'],
];

/** A line commander wrote to stderr, in Russian when it is one of its errors. */
export function commanderErrorRu(text: string): string {
  for (const [pattern, say] of ERRORS) {
    const match = pattern.exec(text);
    if (match) return text.replace(match[0], say(...match.slice(1).map((group) => group ?? '')));
  }
  return text;
}

/** The path of a command in HELP_RU: '' for the program, 'balance add' for a subcommand. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** Every command of the tree, the program first. */
export function allCommands(program: Command): Command[] {
  return [program, ...program.commands.flatMap((command) => allCommands(command))];
}

/** Lays the Russian help over the program built in English: descriptions, flags, examples, commander's own words. */
export function localizeHelp(program: Command): void {
  for (const command of allCommands(program)) {
    const text = HELP_RU[commandPath(command)];
    if (text) {
      command.description(text.description);
      for (const option of command.options) {
        const said = option.long ? text.options?.[option.long] : undefined;
        if (said) option.description = said;
      }
      if (text.after !== undefined) {
        (command as unknown as NodeJS.EventEmitter).removeAllListeners('afterHelp');
        command.addHelpText('after', text.after);
      }
    }
    command.helpOption('-h, --help', HELP_FLAG);
    const internal = command as unknown as { _addImplicitHelpCommand?: boolean };
    if (command.commands.length > 0 || internal._addImplicitHelpCommand === true) command.helpCommand('help [command]', HELP_RU.help!.description);
    // Each command holds its own copy of the help configuration (taken from its parent when it was made).
    command.configureHelp({
      ...command.configureHelp(),
      styleTitle: (title: string) => TITLES[title] ?? title,
      // Commander styles nothing here (no colours in help): the words of its usage line said again is all there is.
      optionDescription: optionDescriptionRu,
      argumentDescription: argumentDescriptionRu,
      styleUsage: usageWords,
      styleSubcommandTerm: usageWords,
    });
  }
}

