// Каталог сообщений на русском: те же ключи и те же аргументы, что у английского (messages.ts), проверено типом
// `Catalogue`; тест test/unit/messages-parity.test.ts обходит оба и падает, если текст есть в одном и нет в другом
// или если русский текст оказался английским. Формы слов после чисел: Intl.PluralRules, деньги и числа: Intl.
import path from 'node:path';
import { shippedFile } from '../shipped.ts';
import { gisbotCommand, shellWord, shipped, shortTime } from './catalogue-tools.ts';
import { formatCount, formatDate, formatDateTime, formatDecimal, formatMoneyFor, pluralCategory } from './language.ts';
import { CLI_TOP_UP_NOTE, DEMO_TOP_UP_NOTE, REFUND_NOTE } from '../core/money/ledger-notes.ts';
import type { Catalogue } from './messages.ts';
import type { FoundProblem } from '../core/drafting/gate.ts';

/**
 * Every counted noun the Russian texts use, as [one, few, many]: 1 отзыв, 2 отзыва, 5 отзывов (and 21 отзыв,
 * 11 отзывов: Intl.PluralRules knows the rule). The plural test walks this table.
 */
export const RU_NOUNS = {
  review: ['отзыв', 'отзыва', 'отзывов'],
  answer: ['ответ', 'ответа', 'ответов'],
  branch: ['филиал', 'филиала', 'филиалов'],
  event: ['событие', 'события', 'событий'],
  service: ['сервис', 'сервиса', 'сервисов'],
  chat: ['чат', 'чата', 'чатов'],
  check: ['проверка', 'проверки', 'проверок'],
  card: ['карточка', 'карточки', 'карточек'],
  line: ['строка', 'строки', 'строк'],
  frame: ['кадр', 'кадра', 'кадров'],
  character: ['символ', 'символа', 'символов'],
  token: ['токен', 'токена', 'токенов'],
  draft: ['черновик', 'черновика', 'черновиков'],
  version: ['версия', 'версии', 'версий'],
  day: ['день', 'дня', 'дней'],
  business: ['бизнес', 'бизнеса', 'бизнесов'],
} as const satisfies Record<string, readonly [string, string, string]>;
export type RuNoun = keyof typeof RU_NOUNS;

/** The form of `noun` after `n`: `one` → 1 отзыв, `few` → 2 отзыва, `many` → 5 отзывов; a fraction (`other`) → 1,5 отзыва. */
export function ruForm(n: number, noun: RuNoun): string {
  const [one, few, many] = RU_NOUNS[noun];
  const category = pluralCategory('ru', n);
  return category === 'one' ? one : category === 'few' || category === 'other' ? few : many;
}

/** `21 отзыв`, `1 234 ответа`. */
export function ruCount(n: number, noun: RuNoun): string {
  return `${formatCount('ru', n)} ${ruForm(n, noun)}`;
}

const money = (amount: string) => formatMoneyFor('ru', amount);
/** «после 1 страницы», «после 2 страниц»: страница в родительном падеже после числа. */
const ruPages = (n: number) => (pluralCategory('ru', n) === 'one' ? 'страницы' : 'страниц');
const num = (n: number) => formatCount('ru', n);
const q = (text: string) => `«${text}»`;
/** Как выглядит отзыв, который будто написал не клиент (core/drafting/looks-like.ts), для подсказки. */
const LOOKS_LIKE: Record<string, string> = { ad: 'реклама', spam: 'спам', profanity: 'брань', other_business: 'отзыв о другом бизнесе' };
/** A calendar day given as YYYY-MM-DD, as Russian writes it: `7 декабря 2026 г.` (the day itself, whatever the zone). */
const day = (date: string) => (/^\d{4}-\d\d-\d\d$/.test(date) ? formatDate('ru', new Date(`${date}T12:00:00Z`), 'UTC') : date);

/**
 * Why a review was skipped or waits, said by its code (core/answering/policy.ts, ReasonCode); the English `prose` gives the
 * case's own details (a rating, a catalogue, a service's error) where the code has them. A code this does not
 * know, or none (a row kept before gisbot kept codes): the prose as it is.
 */
function ruReason(code: string | undefined, prose: string, followUpCode?: string): string {
  /** The prose after its English start, when it starts so: the case's own part (a service's error is its own). */
  const after = (start: string) => (prose.startsWith(start) ? prose.slice(start.length) : prose);
  switch (code) {
    case 'other_catalog': {
      const catalog = /^from another catalog \((.*)\)$/.exec(prose)?.[1];
      return catalog ? `отзыв из другого каталога (${catalog})` : 'отзыв из другого каталога';
    }
    case 'hidden': return 'скрыт в 2ГИС';
    case 'answered_elsewhere': return 'уже отвечен';
    case 'no_reply_allowed': return '2ГИС не даёт на него ответить';
    case 'branch_unwatched': return 'за филиалом больше не следим (его нет в twogis.branches или в аккаунте)';
    case 'branch_off': return 'ответы для филиала выключены (policy.branches)';
    case 'below_threshold': {
      const [, rating, threshold] = /^rated (\d+), below policy\.approvalBelowRating \((\d+)\)$/.exec(prose) ?? [];
      return rating && threshold ? `оценка ${rating} — ниже порога policy.approvalBelowRating (${threshold})` : 'оценка ниже порога policy.approvalBelowRating';
    }
    case 'rating_only': return 'оценка без текста, а policy.answerRatingOnly выключен';
    case 'gate_refused': {
      // What each draft broke is the gate's English; the rules and the draft's problems are shown beside it.
      const drafts = /^the reply gate refused (\d+) drafts?:/.exec(prose)?.[1];
      const template = /^the reply gate refused template (.+?): /.exec(prose)?.[1];
      if (drafts) return `проверка ответа не пропустила ${ruCount(Number(drafts), 'draft')}`;
      if (template) return `проверка ответа не пропустила шаблон ${template}`;
      return `проверка ответа не пропустила черновики (${prose})`;
    }
    case 'moderation_unavailable': return `модерация не дала ответа, а policy.moderation требует его (${prose})`;
    case 'deleted': return 'отзыв удалён в 2ГИС';
    case 'answer_removed': return '2ГИС удалил наш ответ';
    case 'follow_up': return `дополнение к отзыву: ${ruFollowUpReason(followUpCode, prose)}`;
    case 'complained': return 'вы пожаловались на него в 2ГИС';
    case 'looks_like_not_a_customer': {
      const [, kind, evidence] = /^looks like: not our customer \((an ad|spam|profanity|a review of another business): (.*)\)$/s.exec(prose) ?? [];
      const what = { 'an ad': LOOKS_LIKE.ad, spam: LOOKS_LIKE.spam, profanity: LOOKS_LIKE.profanity, 'a review of another business': LOOKS_LIKE.other_business }[kind ?? ''];
      return what ? `похоже, писал не клиент (${what}: ${evidence})` : 'похоже, писал не клиент';
    }
    case 'model_failed': return `модель не справилась: ${after('the model failed: ')}`;
    case 'post_refused': return `2ГИС не принял ответ: ${after('2GIS refused the answer: ')}`;
    case 'post_unconfirmed': return '2ГИС так и не принял ответ после нескольких попыток';
    case 'service_failed': return `сервис не ответил: ${prose}`;
    case 'recovered': return 'возвращён в очередь после прерванного запуска';
    default: return prose;
  }
}

/** Languages the gate names, as Russian says "written in …" (на русском): the gate's ISO 639-3 codes. */
const RU_LANGUAGES_IN: Record<string, string> = {
  rus: 'русском', kaz: 'казахском', eng: 'английском', ukr: 'украинском', bel: 'белорусском', bul: 'болгарском',
  srp: 'сербском', uzn: 'узбекском', deu: 'немецком', fra: 'французском', spa: 'испанском', ita: 'итальянском',
  por: 'португальском', tur: 'турецком', pol: 'польском', nld: 'нидерландском',
};
const ruLanguageIn = (code: string) => RU_LANGUAGES_IN[code] ?? `языке ${code}`;

/**
 * One of the reply gate's problems with a draft, worded from its rule and params (core/drafting/gate.ts). A problem
 * without the params its wording needs (kept by an older gisbot) is said as the gate said it, in English. What the
 * gate found is quoted as it was: the caller shows it escaped, as it showed the English.
 */
function ruGateProblem(problem: FoundProblem): string {
  const params = problem.params ?? {};
  const text = (key: string) => (typeof params[key] === 'string' ? (params[key] as string) : null);
  const number = (key: string) => (typeof params[key] === 'number' ? (params[key] as number) : null);
  const found = text('found');
  switch (problem.rule) {
    case 'empty': return 'черновик пуст';
    case 'too_long': {
      const limit = number('limit');
      return limit === null ? problem.message : `черновик длиннее ${formatCount('ru', limit)} ${pluralCategory('ru', limit) === 'one' ? 'символа' : 'символов'}`;
    }
    case 'unfinished': {
      const reason = text('finishReason');
      return reason === null ? problem.message : `модель не закончила ответ как обычно (${reason})`;
    }
    case 'secret': {
      const keys = text('keys');
      return keys === null ? problem.message : `содержит секрет из настроек (${keys})`;
    }
    case 'email': return found === null ? problem.message : `содержит адрес e-mail (${found})`;
    case 'link': return found === null ? problem.message : `содержит ссылку (${found})`;
    case 'phone': return found === null ? problem.message : `содержит номер телефона (${found})`;
    case 'handle': return found === null ? problem.message : `содержит @имя (${found})`;
    case 'ai_or_refusal': return found === null ? problem.message : `говорит как ИИ или отказывается отвечать («${found}»)`;
    case 'placeholder': return found === null ? problem.message : `содержит незаполненную заготовку (${found})`;
    case 'promise': return found === null ? problem.message : `обещает возврат денег, скидку, компенсацию или подарок («${found}»)`;
    case 'prompt_leak': return 'повторяет часть системного промпта';
    case 'language': {
      const written = text('written');
      const wanted = text('wanted');
      if (written === null || wanted === null) return problem.message;
      return `написан ${written === '' ? 'без слов, по которым виден язык' : `на ${ruLanguageIn(written)}`}, а ответ должен быть на ${ruLanguageIn(wanted)}`;
    }
    case 'repeat': return 'дословно повторяет ответ, который мы уже дали: скажите иначе';
    case 'moderation': {
      const categories = text('categories');
      if (categories === null) return problem.message;
      return `модерация отметила его (${categories === 'no category given' ? 'без категории' : categories})`;
    }
    case 'card_too_long': {
      const length = number('length');
      const limit = number('limit');
      if (length === null || limit === null) return problem.message;
      return `${ruCount(length, 'character')}: длиннее, чем показывает карточка Telegram (${formatCount('ru', limit)}); отправьте его через gisbot reply`;
    }
    default: {
      const unknown: never = problem.rule;
      return unknown;
    }
  }
}

/**
 * Why a follow-up was not posted, by its code (core/ports.ts, FollowUpReasonCode; the events' `data.followUpCode`);
 * a service's or the gate's own detail stays as it was said. No code (an event sent before): the prose as it is.
 */
function ruFollowUpReason(code: string | undefined, prose: string): string {
  const after = (start: string) => (prose.startsWith(start) ? prose.slice(start.length) : prose);
  switch (code) {
    case 'review_unknown': return 'отзыв gisbot не знаком';
    case 'posting_interrupted': return 'его, возможно, успел опубликовать обработчик, который остановился: проверьте 2ГИС, прежде чем отвечать';
    case 'model_failed': return `модель не справилась: ${after('the model failed: ')}`;
    case 'gate_refused': return ruReason('gate_refused', prose);
    case 'moderation_unavailable':
      return `модерация не дала ответа, а policy.moderation требует его (${after('the moderation endpoint gave no verdict and policy.moderation is required: ')})`;
    case 'comment_deleted': return 'комментарий удалён в 2ГИС';
    case 'answered_elsewhere': return 'в 2ГИС на комментарий ответили раньше нас';
    case 'post_unconfirmed': {
      const detail = /^posting the follow-up went unanswered \((.*)\): check 2GIS before answering$/s.exec(prose)?.[1];
      return `2ГИС не подтвердил, что принял его${detail ? ` (${detail})` : ''}: проверьте 2ГИС, прежде чем отвечать`;
    }
    case 'post_refused': return `2ГИС не принял его: ${after('2GIS refused the follow-up: ')}`;
    case 'service_failed': return `сервис не ответил: ${prose}`;
    case 'stopped': return 'gisbot остановили раньше, чем оно было опубликовано';
    default: return prose;
  }
}

/**
 * Подсказки при сбоях сервисов: адаптеры пишут их по-английски (src/adapters, так они остаются для программ), здесь
 * они по-русски; тест test/unit/hints-ru.test.ts находит каждую подсказку адаптеров и падает, если её здесь нет.
 */
const RU_HINTS: ReadonlyArray<readonly [RegExp, (...groups: string[]) => string]> = [
  [/^read the review back before posting again$/, () => 'перечитайте отзыв, прежде чем отправлять ответ снова'],
  [/^slow down: lower the concurrency/, () => 'помедленнее: уменьшите polling.concurrency или увеличьте паузу между страницами'],
  [/^check twogis\.login and twogis\.password/, () => 'проверьте twogis.login и twogis.password в настройках (или соответствующие переменные окружения)'],
  [/^sign in to account\.2gis\.com in a browser/, () => 'войдите в account.2gis.com в браузере, скопируйте значение `authorization: Bearer …` любого запроса из инструментов разработчика (вкладка Network) и укажите его в twogis.accessToken или GISBOT_2GIS_TOKEN (README.ru.md: вход по токену)'],
  [/^2GIS blocks rather than rate-limits/, () => '2ГИС не замедляет, а блокирует: сделайте перерыв, проверьте аккаунт в кабинете 2ГИС и запускайте с разрешённого IP'],
  [/^check telegram\.botToken/, () => 'проверьте telegram.botToken (или GISBOT_TELEGRAM_TOKEN): BotFather показывает токен по команде /token'],
  [/^another program reads this bot's updates/, () => 'обновления этого бота читает другая программа (webhook или другой бот с тем же токеном)'],
  [/^check that the database server runs/, () => 'проверьте, что сервер базы данных запущен и что database.url указывает верные хост и порт'],
  [/^check the user and password in database\.url$/, () => 'проверьте пользователя и пароль в database.url'],
  [/^create the database \(/, () => 'создайте базу данных (CREATE DATABASE ... CHARACTER SET utf8mb4) или исправьте database.url'],
  [/^the schema is missing: run the migrations$/, () => 'схемы нет: выполните миграции'],
  [/^use Node\.js ([\d.]+) or newer, or a mysql:\/\/ database\.url$/, (version) => `нужен Node.js ${version} или новее, или database.url вида mysql://`],
  [/^gisbot keeps its database \(and by default its log\) in (.*): make it writable/, (folder) => `gisbot хранит базу данных (и по умолчанию журнал) в ${folder}: дайте этому пользователю право записи туда или укажите в database.url файл в папке, куда можно писать`],
  [/^check the path in database\.url and the permissions of its folder$/, () => 'проверьте путь в database.url и права на его папку'],
  [/^another gisbot process is writing to the same file/, () => 'в тот же файл пишет другой процесс gisbot; попробуйте ещё раз или возьмите MySQL для нескольких нагруженных обработчиков'],
  [/^check the path in database\.url and that the file and its folder are writable$/, () => 'проверьте путь в database.url и что в файл и его папку можно писать'],
  [/^point database\.url at a gisbot database file/, () => 'укажите в database.url файл базы данных gisbot или уберите этот файл'],
  [/^upgrade gisbot$/, () => 'обновите gisbot'],
  [/^the model endpoint is slow or down/, () => 'сервер модели медленный или не работает (локальная модель может загружаться минутами); увеличьте openai.timeoutSeconds или попробуйте позже'],
  [/^check openai\.baseURL and that the model server is running$/, () => 'проверьте openai.baseURL и что сервер модели запущен'],
  [/^check openai\.model \((.*)\) and openai\.baseURL/, (model) => `проверьте openai.model (${model}) и openai.baseURL (обычно он кончается на /v1)`],
  [/^check voice\.embeddingModel/, () => 'проверьте voice.embeddingModel или уберите его, чтобы примеры выбирались по словам'],
  [/^set policy\.moderation to optional or off/, () => 'для этого сервера поставьте policy.moderation: optional или off'],
  [/^check openai\.apiKey in the config/, () => 'проверьте openai.apiKey в настройках или переменную окружения OPENAI_API_KEY'],
];

/** Сообщения об ошибках, которые ядро и база пишут по-английски (src/core, src/adapters/store), по-русски. */
const RU_ERRORS: ReadonlyArray<readonly [RegExp, (...groups: string[]) => string]> = [
  [/^review (\S+) is not known to gisbot$/, (id) => `отзыв ${id} gisbot не знаком`],
  [/^review (\S+) cannot be answered now: it is already answered by gisbot$/, (id) => `на отзыв ${id} сейчас нельзя ответить: gisbot уже ответил на него`],
  [/^review (\S+) cannot be answered now: it is skipped \((.*)\)$/, (id, reason) => `на отзыв ${id} сейчас нельзя ответить: он пропущен (${reason})`],
  [/^review (\S+) cannot be answered now: it is being answered by a worker right now$/, (id) => `на отзыв ${id} сейчас нельзя ответить: прямо сейчас на него отвечает обработчик`],
  [/^a top-up of (\S+) would take the balance past (\S+), the most the database holds: nothing was added$/, (added, most) => `пополнение на ${formatMoneyFor('ru', added)} подняло бы баланс выше ${formatMoneyFor('ru', most)}, больше база не хранит: ничего не зачислено`],
  [/^database\.url must look like (.*)$/, (form) => `database.url должен выглядеть так: ${form}`],
  [/^database\.url: sqlite: needs a file path, e\.g\. (.*)$/, (example) => `database.url: после sqlite: нужен путь к файлу, например ${example}`],
];

/** The reasons js-yaml gives most often (by how they start), as a Russian reader is told them; others keep js-yaml's words. */
const YAML_REASONS: ReadonlyArray<readonly [string, string]> = [
  ['bad indentation of a mapping entry', 'неверный отступ у ключа'],
  ['bad indentation of a sequence entry', 'неверный отступ у элемента списка'],
  ['duplicated mapping key', 'ключ повторяется'],
  ['end of the stream or a document separator is expected', 'лишний текст: ожидался конец файла или строка ---'],
  ['can not read an implicit mapping pair; a colon is missed', 'не хватает двоеточия после ключа'],
  ['can not read a block mapping entry; a multiline key may not be an implicit key', 'ключ не может занимать несколько строк (не хватает двоеточия?)'],
  ['incomplete explicit mapping pair', 'неполная пара «ключ: значение»'],
  ['missed comma between flow collection entries', 'не хватает запятой между элементами'],
  ['unexpected end of the stream within a double quoted scalar', 'файл кончился внутри текста в двойных кавычках (нет закрывающей ")'],
  ['unexpected end of the stream within a single quoted scalar', "файл кончился внутри текста в одинарных кавычках (нет закрывающей ')"],
  ['unexpected end of the stream within a flow collection', 'файл кончился внутри списка или раздела в скобках (нет закрывающей ] или })'],
  ['unexpected end of the document within a double quoted scalar', 'текст в двойных кавычках не закрыт'],
  ['unexpected end of the document within a single quoted scalar', 'текст в одинарных кавычках не закрыт'],
  ['tab characters must not be used in indentation', 'в отступах нельзя использовать табуляцию, только пробелы'],
  ['unknown escape sequence', 'неизвестная последовательность после \\ в кавычках'],
  ['unidentified alias', 'ссылка (*имя) на несуществующую метку (&имя)'],
  ['the stream contains non-printable characters', 'в файле есть непечатаемые символы'],
];

export const ru: Catalogue = {
  language: 'ru',
  money,
  config: {
    fixHint: (file: string | null, fromEnvironment: boolean) => {
      const where = [file ? `исправьте ${file}` : null, fromEnvironment ? 'переменную окружения, названную выше' : null];
      const example = `все ключи описаны в ${shipped('.gisbotrc.example')}`;
      return where.some(Boolean) ? `${where.filter(Boolean).join(' или ')}; ${example}` : example;
    },
    noConfigFound: `файл .gisbotrc не найден ни здесь, ни в папках выше — запустите \`${gisbotCommand} init\``,
    noConfigHint: `или укажите файл через --config <file>, или задайте настройки в окружении; см. ${shipped('.gisbotrc.example')}`,
    missingFile: (file) => `файла настроек ${file} нет (указан через --config)`,
    folderNotFile: (file) => `${file} — это папка, а не файл настроек`,
    unreadable: (file) => `не удаётся прочитать файл настроек ${file}: нет доступа`,
    syntax: (file, line, column, reason) => `${file}: строка ${line}, столбец ${column}: ${reason}`,
    notSettings: (file) => `${file}: должен содержать настройки (строки «ключ: значение»), а не одно значение или список`,
    unknownKey: 'неизвестный ключ',
    promptUnreadable: (file, code) => `prompt.file: не удаётся прочитать ${file} (${code})`,
    currencyChanged: (recorded, configured) =>
      `billing.currency: журнал этой базы данных ведётся в ${recorded}, и его суммы молча стали бы ${configured}: верните billing.currency: ${recorded} (одна валюта на базу данных)`,
    didYouMean: (key) => ` (может быть, ${key}?)`,
    fromVariable: (variable) => ` (из ${variable})`,
    root: '(весь файл)',
    yamlReason: (reason) => {
      const known = YAML_REASONS.find(([english]) => reason.startsWith(english));
      return known ? known[1] : `неверная разметка YAML (${reason})`;
    },
    schema: {
      money: 'должна быть сумма вроде 5.00 (не больше двух знаков после точки)',
      url: (schemes) => `должен быть адрес ${schemes.join(' или ')}`,
      databaseUrl: 'должен быть mysql://user:pass@host:3306/db или sqlite:<path>',
      branchDigits: 'номера филиалов — только цифры, в кавычках',
      branchQuoted: 'номера филиалов пишите в кавычках: числом они теряют точность',
      templateRating: 'оценки в шаблонах — от "1" до "5", в кавычках',
      timeZone: 'должен быть часовой пояс, например Europe/Moscow или Asia/Almaty',
      locale: 'должна быть локаль вроде ru или ru_KZ',
      tokenOrLogin: 'укажите либо twogis.accessToken, либо twogis.login и twogis.password, но не всё сразу',
      currency: 'должен быть код валюты по ISO 4217, например RUB, KZT или USD',
      minMax: 'должно быть [min, max], где min ≤ max',
      botToken: 'должен быть токен, который выдал BotFather, вроде 123456789:AAH…',
      chatIds: 'номера чатов — это цифры, у групп с минусом',
      digest: 'должны быть день недели и время, например "mon 09:00"',
    },
    quoteKey: (key, readAs) =>
      `возьмите ключ в кавычки ("${key}"): без них YAML читает его как ${typeof readAs === 'number' ? `число ${readAs}` : JSON.stringify(String(readAs))}`,
    plain: {
      mustBe: (expected, found) => `должно быть: ${expected}${found === null ? '' : `, а не ${found}`}`,
      quoteIt: ' (возьмите в кавычки)',
      or: ' или ',
      kinds: {
        string: 'текст',
        number: 'число',
        int: 'целое число',
        boolean: 'true или false',
        array: 'список',
        object: 'раздел настроек (строки «ключ: значение»)',
        null: 'пусто',
      },
      atLeast: (minimum, inclusive) => (inclusive ? `должно быть не меньше ${minimum}` : `должно быть больше ${minimum}`),
      atMost: (maximum, inclusive) => (inclusive ? `должно быть не больше ${maximum}` : `должно быть меньше ${maximum}`),
      notEmpty: 'не должно быть пустым',
      charactersAtLeast: (count) => `должно быть не короче ${count} символов`,
      charactersAtMost: (count) => `должно быть не длиннее ${count} символов`,
      listAtLeast: (count) => (count === '1' ? 'в списке должен быть хотя бы один элемент' : `в списке должно быть не меньше ${count} элементов`),
      listAtMost: (count) => `в списке должно быть не больше ${count} элементов`,
      oneOf: (values) => `должно быть одним из: ${values.join(', ')}`,
      multipleOf: (divisor) => `должно быть кратно ${divisor}`,
      wrongForm: 'записано не так, как нужно этому ключу',
      notValid: 'недопустимое значение',
    },
    secretsReadable: (file, keys, mode) =>
      `${file}: содержит секреты (${keys.join(', ')}), но доступен для чтения группе или другим (права ${mode.toString(8)})`,
    chmodHint: (file) => `выполните: chmod 600 ${path.basename(file) === file ? file : JSON.stringify(file)}`,
    required: (key, variable) => `${key}: обязательный ключ${variable ? ` (задайте его в файле настроек или в ${variable})` : ''}`,
  },
  businesses: {
    columns: ['бизнес', 'название', 'состояние', 'баланс', 'в резерве', 'филиалы', 'ждут', 'ответов за 30 дн.', 'последний цикл'],
    status: { ok: 'в порядке', no_balance: 'нет денег', sign_in_failed: 'вход не удался', paused: 'на паузе', never_run: 'ещё не запускался' },
    badId: 'id бизнеса — от 1 до 32 символов из a-z, 0-9 и - (он навсегда называет бизнес: не используйте его для другого аккаунта)',
    none: 'перечислите хотя бы один бизнес (id: настройки) или уберите раздел, если бизнес один',
    topLevelOwn: (key) =>
      `раз перечислены businesses:, ключ ${key} задаётся у каждого бизнеса (businesses.<id>.${key}): аккаунт, чаты и промпт одного бизнеса никогда не общие`,
    deploymentWide: 'задаётся для всей установки: укажите его на верхнем уровне, для всех бизнесов',
    sharedChat: (chat, owner) =>
      `чат ${chat} указан и у бизнеса ${owner}: чат принадлежит одному бизнесу (чаты из telegram.chatIds верхнего уровня получают карточки всех бизнесов)`,
    staffChat: (chat) => `чат ${chat} — чат сотрудников (telegram.chatIds верхнего уровня), он и так получает карточки всех бизнесов`,
    sharedLogin: (owner) => `тот же логин 2ГИС, что у бизнеса ${owner}: каждый бизнес — свой аккаунт 2ГИС (филиалы аккаунта принадлежат одному бизнесу)`,
    sharedBranch: (branch, owner) => `филиал ${branch} указан и у бизнеса ${owner}: филиал принадлежит одному бизнесу`,
    unknown: (id, ids) => `в настройках нет бизнеса ${JSON.stringify(id)}: --business принимает один из ${ids.join(', ')}`,
    needsOne: (ids) => `эта команда — про один бизнес: добавьте --business <id>, один из ${ids.join(', ')}`,
    paused: (id) => `бизнес ${id} на паузе (enabled: false): чтобы его обслуживать, укажите enabled: true в его разделе`,
    allPaused: (ids) => `все бизнесы на паузе (enabled: false): ${ids.join(', ')}`,
    notYetTogether: (ids) => `обслуживать несколько бизнесов за один запуск пока нельзя: добавьте --business <id>, один из ${ids.join(', ')}`,
    cycleLine: (id, posted, waiting, failed, charged, balance, status) =>
      `${id}: отвечено ${num(posted)} · ждут вас ${num(waiting)} · не удалось ${num(failed)} · списано ${money(charged)}, баланс ${money(balance)}${status === 'ok' ? '' : ` (${status})`}`,
  },
  preflight: {
    failed: (count) => `gisbot не запустится: не ответили сервисы (${ruCount(count, 'service')})`,
    hint: 'исправьте сервисы выше и запустите снова',
    ok: (name) => `${name}: в порядке`,
  },
  run: {
    started: (interval, concurrency) =>
      `gisbot работает: цикл каждые ${interval} с, одновременно до ${ruCount(concurrency, 'review')}. Остановить: Ctrl-C.`,
    stopping: 'останавливаюсь: заканчиваю отзывы в работе…',
    stopped: 'остановлен',
    cycleFailed: (reason) => `цикл не удался: ${reason}; попробую в следующем цикле (та же ошибка здесь больше не повторяется)`,
    cycleRecovered: (failed) => `циклы снова работают, после ${num(failed)} неудачных`,
    logUnwritable: (file, error, readOnly) =>
      readOnly === null
        ? `в журнал ${file} нельзя писать (${error}); запись в него выключена`
        : `в журнал ${file} нельзя писать: его папка ${path.dirname(file)} только для чтения (${readOnly}); запись в него выключена — разрешите запись в папку или укажите в logs.file место, куда можно писать`,
    telegram: (chats) =>
      chats === 0
        ? 'Telegram: в telegram.chatIds нет ни одного чата, карточки не отправляются (на /start бот отвечает id чата)'
        : `Telegram: карточки отзывов, которые ждут вас, уходят в ${ruCount(chats, 'chat')}`,
  },
  stop: {
    stopping: (signal) =>
      `${signal}: останавливаюсь. Ответ, который уже отправляется в 2ГИС, будет доведён до конца; отзыв, для которого пишется черновик, вернётся в очередь. Второй сигнал (ещё раз Ctrl-C) — не ждать остального.`,
    hurrying: 'останавливаюсь сейчас: жду только ответ, который уже отправляется в 2ГИС, — его никогда не бросаю (иначе он ждал бы следующего запуска, чтобы его перечитать)',
    stopped: (signal, answered, released) => `остановлен сигналом ${signal}: отвечено ${num(answered)}, возвращено в очередь до следующего запуска ${num(released)}`,
  },
  notify: {
    undelivered: (count) =>
      `по WebSocket ещё не доставлено: ${ruCount(count, 'event')}; они хранятся в очереди и будут отправлены позже (gisbot logs --pending)`,
    refused: (reason) => `уведомления остановлены: ${reason}; проверьте websocket.url и websocket.token (gisbot doctor)`,
  },
  cycle: {
    fetched: (fetched, fresh) => `получено ${num(fetched)}, новых ${num(fresh)}`,
    answered: (count) => `отвечено ${num(count)}`,
    skipped: (count) => `пропущено ${num(count)}`,
    waiting: (count) => `ждут вас ${num(count)}`,
    failed: (count) => `не удалось ${num(count)}`,
    money: (charged, balance) => `списано ${money(charged)}, баланс ${money(balance)}`,
    insufficient: 'ответы остановлены: баланса не хватает на следующий ответ',
    insufficientHint: `пополните баланс: ${gisbotCommand} balance add <сумма>`,
    problem: (problem) => {
      // Что случилось — по-русски (сервис и вид сбоя), слова самого сервиса (по-английски) — в скобках после;
      // известная подсказка — по-русски.
      if (problem.kind === 'telegram_down') return ru.telegram.failed(problem.detail);
      if (problem.kind === 'card_refused') return `Telegram не принял карточку для чата ${problem.chatId} (${problem.detail}); она уйдёт туда в следующий раз`;
      const said = `${ru.errors.service(problem.service, problem.failure)} (${problem.detail})`;
      return problem.hint ? `${said}; ${ru.errors.hint(problem.hint)}` : said;
    },
    warning: (warning) => {
      if (warning.kind === 'said') return warning.text;
      const branch = `филиал ${warning.branchId}: `;
      switch (warning.kind) {
        case 'intake_cut': {
          const after =
            warning.limit === 'pages'
              ? `${num(warning.reached)} ${ruPages(warning.reached)} (polling.maxPagesPerBranch)`
              : `${num(warning.reached)} с (polling.maxSecondsPerBranch)`;
          return `${branch}приём отзывов остановлен после ${after}; остальное прочитается в следующих циклах`;
        }
        case 'no_page_date':
          return `${branch}на странице 2ГИС нет даты dateCreated, с которой читать дальше; список прерван на ней`;
        case 'dates_turned_back':
          return `${branch}2ГИС выдал страницу новее предыдущей (offsetDate ${warning.offsetDate}, затем ${warning.cursor}); список прерван на ней`;
        case 'unreadable': {
          // Почему каждый не принят — слова проверки или базы данных (по-английски), как в журнале.
          const shown = warning.items.map((item) => `${item.id ?? '(без id)'}: ${item.reason}`).join('; ');
          const more = warning.count > warning.items.length ? `; и ещё ${num(warning.count - warning.items.length)}` : '';
          return `${branch}${ruCount(warning.count, 'review')} из списка не удаётся принять (подробности в журнале): ${shown}${more}`;
        }
      }
    },
    failedHint: `см. строки выше или: ${gisbotCommand} logs`,
  },
  balance: {
    line: (balance) => `баланс ${money(balance)}`,
    chargesColumns: ['последние списания', 'сумма', 'отзыв'],
    badAmount: (text) => `это не сумма: ${JSON.stringify(text)}`,
    badAmountHint: 'пишите так: 100 или 100.50 (через точку, не больше двух знаков после неё, без знака)',
    zeroAmount: 'сумма должна быть больше нуля',
    confirmTopUp: (amount, after) => `Пополнить баланс на ${money(amount)} (станет ${money(after)})?`,
    needsYes: 'balance add меняет деньги: вне терминала подтвердите флагом --yes',
    cancelled: 'отменено: ничего не изменилось',
    low: (balance, threshold) => `баланс ${money(balance)} ниже порога ${money(threshold)}`,
    added: (amount) => `зачислено ${money(amount)}`,
    held: (amount) => `${money(amount)} в резерве за ответы в работе`,
    badAdjustment: (text) => `это не сумма со знаком: ${JSON.stringify(text)}`,
    badAdjustmentHint: 'пишите так: +100, -12.50 или 5 (через точку, не больше двух знаков после неё)',
    needsNote: 'balance adjust требует --note "<почему>": у исправления в журнале должна быть причина',
    belowZero: (amount, available) =>
      `исправление на ${money(amount)} опустило бы баланс ниже нуля или ниже резерва за ответы в работе (свободно ${money(available)}): ничего не изменилось`,
    adjusted: (amount) => `баланс исправлен на ${money(amount)}`,
    confirmAdjust: (amount, after, note) => `Исправить баланс на ${money(amount)} (станет ${money(after)}) с пометкой «${note}»?`,
    needsYesAdjust: 'balance adjust меняет деньги: вне терминала подтвердите флагом --yes',
  },
  history: {
    columns: ['время', 'вид', 'сумма', 'баланс', 'за что'],
    kinds: { topup: 'пополнение', charge: 'списание', adjustment: 'исправление' },
    forReview: (id) => `отзыв ${id}`,
    // Заметки, которые gisbot сам пишет в журнал (core/money/ledger-notes.ts, хранятся по-английски); свою человек читает как написал.
    note: (stored) =>
      ({ [CLI_TOP_UP_NOTE]: 'пополнение из командной строки', [DEMO_TOP_UP_NOTE]: 'баланс демо', [REFUND_NOTE]: 'возврат: 2ГИС удалил ответ' } as Record<string, string>)[stored] ?? stored,
    empty: `журнал пуст: пополните баланс командой ${gisbotCommand} balance add <сумма>`,
    emptySince: (time) => `с ${time} записей в журнале нет`,
  },
  input: {
    badSince: (text, flag = '--since') => `${flag}: это не время: ${JSON.stringify(text)}`,
    impossibleDate: (text, flag = '--since') => `${flag}: такой даты или времени нет: ${JSON.stringify(text)}`,
    outOfRange: (text, flag = '--since') => `${flag}: ${JSON.stringify(text)} — вне 2000–2100 годов`,
    sinceHint:
      'пишите промежуток: 15m, 2h или 3d; дату: 2026-01-31 (полночь в timeZone); местное время: 2026-01-31T09:00; или момент: 2026-01-31T09:00Z',
    badLang: (text) => `--lang: ${JSON.stringify(text)} — gisbot говорит только на ru и en`,
    badLimit: (text, max) => `--limit: нужно целое число от 1 до ${max}: ${JSON.stringify(text)}`,
  },
  reply: {
    reviewHeading: (id) => `отзыв ${id}`,
    queueColumns: ['отзыв', 'оценка', 'филиал', 'автор', 'написан', 'почему ждёт', 'текст'],
    anonymous: '(без имени)',
    noText: '(оценка без текста)',
    waitsBecause: (reason) => `ждёт вас: ${reason}`,
    failedReason: (reason, next) =>
      `не удалось${next === null ? '' : next === 'never' ? ', попыток больше не будет' : `, новая попытка в ${next}`}: ${reason}`,
    draftHeading: 'черновик',
    templateHeading: (note) => `черновик из вашего шаблона ${note} (policy.templates)`,
    editedHeading: 'ваша правка',
    gateOk: 'проверка ответа пропускает его',
    gateRefuses: (problems) => `проверка ответа не пропускает его: ${problems.join('; ')}`,
    sendOrDryRun: '--send и --dry-run противоречат друг другу: выберите одно',
    jsonNeedsFlag: 'reply --json не может спросить, что делать: добавьте --send или --dry-run',
    needsTerminal: 'reply спрашивает, что делать с черновиком, а это не терминал',
    flagHint: (id) => `добавьте --dry-run, чтобы увидеть черновик, или --send, чтобы опубликовать его: ${gisbotCommand} reply ${id} --send`,
    unknownReview: (id) => `отзыв ${id} gisbot не знаком`,
    unknownReviewHint: `заберите новые отзывы командой ${gisbotCommand} poll-once`,
    notAnswerable: (id, state, reason) =>
      state === 'posted'
        ? `на отзыв ${id} gisbot уже ответил`
        : state === 'skipped'
          ? `отзыв ${id} пропущен (${reason ?? 'причина не записана'}); отсюда на него ответить нельзя`
          : `на отзыв ${id} прямо сейчас отвечает другой процесс`,
    drafting: 'пишу черновик ответа…',
    redrafting: 'пишу черновик заново по вашему указанию…',
    sending: 'проверяю отзыв в 2ГИС и публикую…',
    choose: 'Что дальше?',
    choices: {
      send: 'отправить: опубликовать как официальный ответ',
      fixFirst: 'сначала исправьте или перепишите',
      edit: 'исправить в редакторе',
      regenerate: 'переписать по указанию',
      skip: 'пропустить: отзыв продолжит ждать',
    },
    editing: 'Исправьте ответ',
    instruction: 'Что изменить? (например: короче, упомяни террасу)',
    lost: 'тем временем отзыв забрал другой процесс',
    released: 'сервис отказал раньше, чем что-то было опубликовано; попробуйте позже',
    unsure: (error) => `судьба ответа неизвестна (${error}); gisbot перечитает его при следующем запуске и никогда не опубликует дважды`,
    queueEmpty: 'вас не ждёт ни один отзыв',
    queueHint: `ответить на отзыв: ${gisbotCommand} reply <отзыв>`,
    posted: (id, charged, balance) => `ответ на отзыв ${id} опубликован: списано ${money(charged)}, баланс ${money(balance)}`,
    dryRun: 'пробный запуск: ничего не опубликовано, не списано и не записано',
    skipped: (id) => `пропущено: отзыв ${id} по-прежнему ждёт вас`,
    refused: (problems) => `не отправлено, проверка ответа не пропускает его: ${problems.join('; ')}`,
    notPosted: (reason) => `не опубликовано: ${reason}`,
    looksLike: (kind, evidence, id) =>
      `подсказка — похоже, писал не клиент (${LOOKS_LIKE[kind] ?? kind}: «${evidence}»). Если так, пожалуйтесь в 2ГИС вместо ответа: ${gisbotCommand} complain ${id} --reason "<почему>"${kind === 'other_business' || kind === 'ad' ? ' --not-a-client' : ''}. Решаете вы.`,
  },
  complain: {
    emptyReason: 'у жалобы должна быть причина: добавьте --reason "<почему отзыв фальшивый>"',
    reasonHint: `например: ${gisbotCommand} complain 141264987 --reason "такого блюда у нас нет; автор никогда не был нашим гостем" --not-a-client`,
    tooLong: (length, most) => `причина длиной ${ruCount(length, 'character')}; 2ГИС принимает не больше ${num(most)}`,
    notOnTwoGis: (id) => `отзыва ${id} больше нет в 2ГИС: жаловаться не на что`,
    notAllowed: (id, detail) => `2ГИС не даёт владельцу пожаловаться на отзыв ${id}${detail ? ` (${detail})` : ''}`,
    sent: (id) => `жалоба на отзыв ${id} отправлена в 2ГИС; отзыв ушёл из списка ожидающих (ответить на него всё ещё можно: ${gisbotCommand} reply ${id})`,
    alreadySent: (id) => `на отзыв ${id} жалоба уже есть: повторно ничего не отправлено`,
    outcomeUnknown: (id, detail) =>
      `жалоба на отзыв ${id} отправлена, но её результат не виден${detail ? ` (${detail})` : ''}; сама она повторно не отправляется`,
    outcomeUnknownHint: (retryAfter) =>
      retryAfter
        ? `запустите ту же команду снова после ${retryAfter}, чтобы проверить, или посмотрите отзыв в кабинете 2ГИС`
        : 'посмотрите отзыв в кабинете 2ГИС (account.2gis.com): есть ли там жалоба',
  },
  prompt: {
    columns: ['версия', 'сохранена', 'символов', 'начало'],
    needsTerminal: 'prompt edit открывает редактор, а это не терминал',
    editHint: (file, copyOf) =>
      `${copyOf ? `скопируйте поставляемый промпт и правьте копию: mkdir -p ${shellWord(path.dirname(file))} && cp ${shellWord(copyOf)} ${shellWord(file)}` : `правьте ${file} напрямую`}; gisbot запишет новый текст как версию перед следующим ответом`,
    editing: (file) => `Правка ${file}`,
    badVersion: (text) => `это не номер версии: ${JSON.stringify(text)}`,
    noSuchVersion: (version) => `версии промпта ${version} нет`,
    historyHint: `версии: ${gisbotCommand} prompt history`,
    showing: (version, time, current) =>
      version === null
        ? 'файл промпта (его текст ещё не записан как версия)'
        : `версия ${version}, сохранена ${time}${current ? ' (действует)' : ' (не действует)'}`,
    noHistory: 'версий промпта ещё нет: первая запишется с первым ответом или правкой',
    unrecorded: 'в файле промпта есть ещё не записанные изменения: они станут версией со следующим ответом или правкой',
    notSaved: (reason) => (reason === 'empty' ? 'промпт пуст: ничего не сохранено' : 'изменений нет: ничего не сохранено'),
    saved: (version, file, added, removed) => `${file} сохранён как версия ${version} (+${added} −${removed} строк)`,
    rolledBack: (from, to, changed) =>
      changed ? `промпт снова в тексте версии ${from}, записан как версия ${to}` : `текст версии ${from} уже действует (версия ${to})`,
  },
  logs: {
    columns: ['время', 'тип', 'филиал', 'отзыв', 'что'],
    businessColumn: 'бизнес',
    pendingColumns: ['время', 'тип', 'отзыв', 'попытки', 'следующая'],
    badType: (type) => `--type: такого типа событий нет: ${JSON.stringify(type)}`,
    typeHint: (types) => `один из: ${types.join(', ')}`,
    following: 'жду новых событий… (Ctrl-C — выход)',
    none: 'событий пока нет',
    noneMatching: 'подходящих событий нет',
    posted: (charged, balance, text) => `списано ${money(charged)}, баланс ${money(balance)}: ${text}`,
    low: (balance, threshold) => `баланс ${money(balance)} ниже порога ${money(threshold)}`,
    insufficient: (balance, price) => `доступно ${money(balance)}, нужно ${money(price)}`,
    telegramRefused: (chatId, kind) =>
      `${kind ? `«${kind}»` : 'нажатие'} из чата Telegram ${chatId}, которого нет в telegram.chatIds: ничего не сделано`,
    pendingAlone: (flags) => `--pending показывает очередь отправки и принимает только --limit, а не ${flags.join(', ')}`,
    nonePending: 'все события доставлены: очередь отправки пуста',
    dueNow: 'сейчас',
    pendingTotal: (total, shown) =>
      `в очереди отправки ${total === 1 ? 'ждёт' : 'ждут'} ${ruCount(total, 'event')}${shown < total ? ` (показаны старейшие ${num(shown)})` : ''}`,
    repeated: (topic, count, reviewIds) => `${q(topic)}: ${ruCount(count, 'review')}: ${reviewIds.join(', ')}`,
    answerRemoved: '! 2ГИС удалил наш ответ; отзыв снова ждёт вас',
    refunded: (amount) => `возвращено ${money(amount)}`,
    removed: (text, refunded) => `${refunded ? `возвращено ${money(refunded)}: ` : ''}${text}`,
  },
  branches: {
    none: 'в аккаунте нет филиалов',
    columns: ['id', 'следим', 'отзывы', 'отвечено', 'ждут', 'название', 'адрес', 'правила'],
    yes: 'да',
    no: 'нет',
    defaults: 'policy.*',
    policy: (own) =>
      Object.entries(own)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' '),
    notInAccount: 'не филиал этого аккаунта (в twogis.branches)',
  },
  report: {
    date: (at) => formatDate('ru', at),
    dateTime: (at) => formatDateTime('ru', at),
    percent: (share) => new Intl.NumberFormat('ru-RU', { style: 'percent', maximumFractionDigits: 1 }).format(share),
    decimal: (value, digits) => formatDecimal('ru', value, digits),
    axis: {
      reviews: 'отзывы',
      rating: 'оценка',
      hours: 'часы до ответа (медиана)',
      charged: 'списано',
      noRatings: 'в этом периоде оценок нет',
      noAnswers: 'в этом периоде ответов нет',
      drafts: 'черновики',
      noDecisions: 'ни одного черновика не решал человек',
      reviewsTitle: (count) => ruCount(count, 'review'),
      byGisbotTitle: (count) => `ответил gisbot: ${num(count)}`,
      byPersonTitle: (count) => `ответил человек: ${num(count)}`,
      week: (at) => new Intl.DateTimeFormat('ru-RU', { day: '2-digit', month: '2-digit' }).format(at),
    },
    title: (period) => `Отчёт gisbot, ${period}`,
    heading: 'Что gisbot сделал с вашими отзывами',
    period: (period) => `Отзывы, оставленные в 2ГИС ${period}`,
    generated: (at) => `составлен ${at}`,
    allBranches: (count) => `Все филиалы (${num(count)})`,
    countsChart: 'Отзывы и ответы по неделям',
    ratingChart: 'Средняя оценка по неделям',
    minutesChart: 'Время до ответа по неделям (часы)',
    spendChart: 'Списано по неделям',
    legendReviews: 'отзывы',
    legendAnswered: 'ответил gisbot',
    legendByPerson: 'ответил человек',
    reviews: 'отзывы',
    answered: 'отвечено',
    answeredBy: (answered, byPerson) => `${num(answered)} (вами — ${num(byPerson)})`,
    replyRate: 'доля ответов',
    toAnswer: 'время до ответа (медиана)',
    hours: (minutes) => `${formatDecimal('ru', Math.round((minutes / 60) * 10) / 10, 1)} ч`,
    rating: 'средняя оценка',
    ratingChange: 'изменение оценки',
    change: (change) => (change === 0 ? '±0,00' : `${change > 0 ? '+' : '−'}${formatDecimal('ru', Math.abs(change), 2)}`),
    noRatingNow: 'в этом периоде отзывов нет',
    noRatingBefore: 'в предыдущем периоде отзывов нет',
    waitingForPerson: 'Ждут человека',
    waitingForMoney: 'Ждут денег',
    elsewhere: 'отвечено в другом месте',
    skipped: 'пропущено',
    failed: 'не удалось',
    removed: 'ответы, удалённые 2ГИС',
    charged: 'списано',
    tokens: 'токены модели',
    modelCost: 'стоимость модели',
    topics: 'На что жалуются клиенты (1–3★)',
    noTopics: 'В этом периоде тем жалоб нет.',
    branchesHeading: 'Филиалы: оценка, звёзды и деньги',
    branchColumns: ['филиал', 'оценка в 2ГИС', 'звёзды периода (1★ … 5★)', 'отвечено', 'списано'],
    twogisRating: (rating, reviews) =>
      rating === null ? 'в 2ГИС оценки ещё нет' : `${formatDecimal('ru', rating, 1)} в 2ГИС${reviews === null ? '' : ` (${ruCount(reviews, 'review')})`}`,
    notListed: 'ещё не прочитано',
    starsNote: 'Звёзды посчитаны по отзывам, которые забрал gisbot; оценка в 2ГИС — как её показывала карточка в последний раз.',
    worstHeading: 'Худшие отзывы периода',
    noWorst: 'Ни один отзыв этого периода не оценён на 1–3★.',
    answersHeading: (shown, total) =>
      shown === total ? `Что сказано от вашего имени (${num(total)})` : `Что сказано от вашего имени: показаны новейшие ${num(shown)} из ${num(total)}`,
    answersNote: 'Все ответы на отзывы этого периода: сначала 1–2★, сначала новые.',
    noAnswers: 'Ни на один отзыв этого периода не ответили.',
    search: 'Поиск по ответам',
    searchShown: 'показано',
    answerBy: (who) => (who === 'person' ? 'ответили вы' : 'ответил gisbot'),
    notAnswered: (outcome) => `без ответа: ${outcome}`,
    outcomes: {
      answered: 'отвечено',
      answeredElsewhere: 'в 2ГИС ответил кто-то другой',
      skipped: 'пропущено',
      waitingForPerson: 'ждёт человека',
      waitingForMoney: 'ждёт денег',
      scheduled: 'запланировано',
      failed: 'не удалось',
      complained: 'отправлена жалоба в 2ГИС',
    },
    waitingHeading: (shown, total) =>
      shown === total ? `Ждут вас (${num(total)})` : `Ждут вас: показаны старейшие ${num(shown)} из ${num(total)}`,
    noText: '(оценка без текста)',
    footer: 'Составлен gisbot по его собственной базе данных. Ничего в этом файле не загружается из сети.',
    cannotWrite: (file, code) => `не удаётся записать отчёт в ${file} (${code})`,
    outHint: 'укажите через --out файл в папке, куда у вас есть право записи',
    badCsvLocale: (value, known) => `--csv-locale: ${JSON.stringify(value)} — не один из ${known.join(', ')}`,
    decisionsHeading: 'Насколько вы ещё правите черновики',
    decisionsChart: 'Черновики, по которым вы решали, по неделям',
    decisionNames: { untouched: 'отправлен как есть', edited: 'исправлен', rewritten: 'переписан', regenerated: 'составлен заново' },
    allWeeks: 'весь период',
    decisionsColumns: ['неделя', 'как есть', 'исправлен', 'переписан', 'заново', 'изменено (в среднем)'],
    editedShare: (share) => (share === null ? '—' : `${Math.round(share * 100)} %`),
    decisionsNote:
      'Каждый черновик, который человек отправил или попросил составить заново, учтён в неделе, когда написан его отзыв. Исправлен: изменено не больше половины символов; переписан: больше. Чем меньше правок, переписываний и повторов от недели к неделе, тем лучше gisbot усвоил ваш голос (README: Teaching gisbot your voice).',
    noDecisions: 'В этом периоде человек не решал ни по одному черновику: все ответы ушли сами, или никто не ждал вас.',
  },
  stats: {
    badBranch: (id) => `--branch: ${JSON.stringify(id)} — не id филиала (цифры, как их показывает \`gisbot branches\`)`,
    emptyPeriod: (from, to) => `период пуст: --since (${from}) должно быть раньше --until (${to})`,
    heading: (from, to) => `Отзывы, оставленные в 2ГИС с ${shortTime(from)} по ${shortTime(to)}`,
    noReviews: 'в этом периоде отзывов не оставляли',
    share: (rate) => new Intl.NumberFormat('ru-RU', { style: 'percent', maximumFractionDigits: 1 }).format(Math.round(rate * 1000) / 1000),
    columns: ['филиал', 'отзывы', 'отвечено (вами)', 'в другом месте', 'ждут (вас)', 'пропущено', 'не удалось', 'доля ответов', 'до ответа', 'оценка', 'списано'],
    total: 'итого',
    answered: (answered, byPerson) => (byPerson > 0 ? `${answered} (${byPerson})` : String(answered)),
    waiting: (waiting, forPerson) => (forPerson > 0 ? `${waiting} (${forPerson})` : String(waiting)),
    minutes: (minutes) => (minutes < 120 ? `${minutes} мин` : `${formatDecimal('ru', Math.round((minutes / 60) * 10) / 10, 1)} ч`),
    rating: (average, change) =>
      average === null
        ? '—'
        : change === null || change === 0
          ? formatDecimal('ru', average, 2)
          : `${formatDecimal('ru', average, 2)} (${change > 0 ? '+' : '−'}${formatDecimal('ru', Math.abs(change), 2)})`,
    topicsHeading: 'На что жалуются клиенты (отзывы с оценкой 1–3, сначала частые)',
    noTopics: 'в этом периоде тем жалоб нет',
    money: (charged, promptTokens, completionTokens, cost) =>
      `Списано ${money(charged)} · модель израсходовала ${ruCount(promptTokens + completionTokens, 'token')} (на входе ${num(promptTokens)}, на выходе ${num(completionTokens)})` +
      (cost === null ? '' : ` и сообщила о стоимости ${cost}`),
    removed: (count) =>
      `после публикации 2ГИС удалил наших ответов: ${num(count)}; такой отзыв снова ждёт человека (gisbot reply)`,
  },
  checks: {
    notSet: (key) => `${key} не задан`,
    databaseOk: (where) => `подключено к ${where}, схема обновлена`,
    twogisOk: (login, host) => `вход выполнен как ${login} на ${host}`,
    twogisTokenOk: (host) => `вход по токену доступа на ${host} выполнен`,
    tokenAge: (minutes, since, expiresInMinutes) => {
      const span = (m: number) => (m < 60 ? `${m} мин` : m < 48 * 60 ? `${Math.floor(m / 60)} ч ${m % 60} мин` : `${Math.floor(m / 1440)} дн ${Math.floor((m % 1440) / 60)} ч`);
      const expiry = expiresInMinutes === null ? '' : expiresInMinutes > 0 ? `; истекает через ${span(expiresInMinutes)}` : `; истёк ${span(-expiresInMinutes)} назад`;
      return `токен в работе уже ${span(minutes)} (с ${since.slice(0, 16).replace('T', ' ')} UTC)${expiry}; когда 2ГИС перестанет его принимать, скопируйте свежий (README: Signing in with a token)`;
    },
    boundTo: (login) => `база данных обслуживает его как аккаунт 2ГИС ${login ?? '(вход по токену)'}`,
    notBoundYet: (login) => `ещё не привязан: первый запуск привяжет его в базе к ${login ?? 'аккаунту своего токена'}`,
    branchesNotInAccount: (ids) => `в аккаунте нет филиала ${ids.join(', ')} (twogis.branches): gisbot branches покажет, какие есть`,
    placeholders: (keys) => `${keys.join(', ')}: всё ещё заглушка из файла-примера; впишите свои значения`,
    modelAnswered: (model, host) => `${model} на ${host} ответила`,
    modelSilent: (model) => `${model} ответила пустотой`,
    modelNotListed: (model, host, closest, listed) =>
      `openai.model "${model}" нет среди моделей, которые перечисляет ${host}: ${closest.join(', ')}` +
      `${listed > closest.length ? ` и ещё ${num(listed - closest.length)}` : ''}; исправьте openai.model (или GISBOT_MODEL)`,
    wsOk: (host) => `подключено к ${host}`,
    wsOff: 'уведомления выключены (websocket.url не задан)',
    telegramOff: 'карточки в Telegram выключены (telegram.botToken не задан)',
    telegramOk: (username, host) => `токен работает: @${username} на ${host}`,
    telegramChat: (title, type) => `доступен: ${title || '(без названия)'} (${type})`,
    telegramChatUnreachable: (error) =>
      `${error}: человек должен отправить боту /start, или группа должна добавить бота (README, «Одобрение из Telegram»)`,
    telegramNoChats: 'telegram.chatIds пуст: карточки никуда не отправляются (в README, «Одобрение из Telegram», сказано, как узнать id чата)',
    wsFailed: (host, error) => `не удаётся подключиться к ${host}: ${error}`,
    wsRefused: (host, status) => `${host} отказал в подключении с HTTP ${status}${status === 401 || status === 403 ? ' (проверьте websocket.token)' : ''}`,
    wsAcknowledged: (host) => `${host} подтвердил пробное событие`,
    wsUnacknowledged: (host, seconds) =>
      `${host} не подтвердил пробное событие за ${seconds} с: с websocket.ack каждое событие ждало бы и отправлялось снова`,
    wsPonged: (host) => `подключено к ${host}; он отвечает на ping (подтверждение доставки без websocket.ack)`,
    promptOk: (file) => `${file} читается`,
    promptEmpty: (file) => `${file} пуст`,
  },
  doctor: {
    checking: 'проверяю сервисы…',
    config: (source) => (source ? `настройки: ${source}` : 'настройки: умолчания и окружение (файл настроек не найден)'),
    allGood: (count) => `все проверки пройдены (${ruCount(count, 'check')})`,
    failed: (count) => `не пройдено: ${ruCount(count, 'check')}`,
    failure: (code, detail) => {
      const said = (
        {
          unavailable: 'недоступен',
          auth: 'не принял учётные данные',
          token_expired: 'токен больше не действует',
          blocked: 'заблокировал доступ',
          rejected: 'ответил ошибкой',
          outcome_unknown: 'не показал результат',
          config: 'ошибка в настройках',
          failed: 'не работает',
        } as Record<string, string>
      )[code];
      // Подробности сервиса остаются его словами (по-английски), в скобках после русских; русские — как есть.
      return said && !/[а-яё]/i.test(detail) ? `${said} (${detail})` : detail;
    },
  },
  init: {
    needsTerminal: 'init задаёт вопросы, а это не терминал',
    needsTerminalHint: () => `запустите в терминале или: cp ${shipped('.gisbotrc.example')} .gisbotrc && chmod 600 .gisbotrc`,
    existing: (file) => `${file} уже есть. Что сделать?`,
    addBusiness: 'Добавить в него бизнес (агентство обслуживает несколько)',
    notEditable: 'init записывает только .gisbotrc, файлы YAML или JSON',
    replace: 'Заменить его',
    keep: 'Оставить как есть',
    addIntro: (file, moving) =>
      `Добавляю бизнес в ${file}: логин 2ГИС проверяется, затем файл записывается.` +
      (moving ? ` Бизнес, который там уже настроен, станет businesses.${moving}.` : ''),
    businessId: 'Id бизнеса (a-z, 0-9 и -, например dental-7; он навсегда называет бизнес)',
    idTaken: (id) => `бизнес ${id} в настройках уже есть`,
    businessName: 'Название бизнеса (как его покажут карточки и отчёты)',
    loginTaken: (owner) => `этот логин 2ГИС уже использует бизнес ${owner}: каждый бизнес — свой аккаунт 2ГИС`,
    businessAdded: (id, file) => `бизнес ${id} добавлен в ${file} (читать его можете только вы)`,
    moved: 'бизнес, настроенный раньше, теперь businesses.default: его логин, филиалы, промпт и чаты перенесены вместе с ним',
    renameVariable: (old, now) => `${old} больше не действует, раз в настройках перечислены бизнесы: задайте вместо неё ${now}`,
    backup: (file) => `предыдущий файл сохранён как ${file}`,
    businessNext: (command) => `Пополните его баланс, и он будет обслуживаться, как остальные: ${command}`,
    cancelled: 'отменено: ничего не изменилось',
    intro: (file) => `Настройка gisbot: каждый сервис проверяется по ходу, затем записывается ${file}.`,
    required: 'нужен ответ',
    secretFromEnv: (message, variable) => `${message} (пусто: и дальше брать из ${variable}, в файл не записывается)`,
    checking: (name) => `проверяю ${name}…`,
    again: 'Ввести эти настройки заново?',
    twogisLogin: 'Логин кабинета 2ГИС',
    twogisPassword: 'Пароль кабинета 2ГИС',
    modelUrl: 'Адрес модели (OpenAI или любой совместимый сервер)',
    modelKey: 'API-ключ модели',
    modelName: 'Модель',
    databaseUrl: 'База данных (mysql://user@host:3306/db, пароль спрошу следующим; или sqlite:<путь>)',
    databaseFormat: 'пишите mysql://user@host:3306/db или sqlite:<путь>',
    databasePassword: (user) => `Пароль базы данных для ${user}`,
    keepCurrent: (message) => `${message} (пусто: оставить текущее)`,
    noneIfEmpty: (message) => `${message} (пусто: нет)`,
    wsUrl: 'Адрес WebSocket для уведомлений (пусто: без уведомлений)',
    wsToken: 'Токен WebSocket (пусто: нет)',
    approval: 'Отзывы с оценкой ниже этой ждут вас (0: отвечать на все)',
    approvalFormat: 'целое число от 0 до 6',
    language: 'Язык, на котором gisbot пишет вам: терминал, карточки в Telegram, отчёты (ru или en; у cron нет локали, поэтому язык записывается в файл)',
    languageFormat: 'ru или en',
    businessLanguage: 'Язык, на котором gisbot пишет владельцу этого бизнеса: карточки в Telegram, сводка, отчёт (ru или en; записывается в файл, у cron нет локали)',
    badUrl: (protocols) => `нужен адрес ${protocols.map((p) => `${p}//`).join(' или ')}`,
    header: (date) =>
      `Настройки gisbot, записаны командой gisbot init ${date}.\nМогут содержать секреты: держите файл закрытым (chmod 600). Все ключи описаны в ${shippedFile('.gisbotrc.example')}.`,
    written: (file) => `записан ${file} (читать его можете только вы)`,
    someFailed: `часть проверок не прошла: исправьте настройки выше, затем запустите ${gisbotCommand} doctor`,
    next: (command) => `Пополните баланс: ${gisbotCommand} balance add <сумма>, затем начните отвечать: ${command}`,
  },
  demo: {
    kind: (kind) =>
      ({
        'warm, in Russian': 'тёплый, по-русски',
        'in English': 'по-английски',
        'a complaint': 'жалоба',
        'a prompt injection': 'попытка подменить инструкции',
        'already answered in the cabinet': 'уже отвечен в кабинете',
        'in Kazakh': 'по-казахски',
        'a rating without text': 'оценка без текста',
        'mixed feelings': 'смешанные чувства',
        'hidden by 2GIS': 'скрыт 2ГИС',
        'from another catalog (Flamp)': 'из другого каталога (Flamp)',
        'unhappy, in English': 'недоволен, по-английски',
        '2GIS allows no reply': '2ГИС не даёт ответить',
      })[kind] ?? kind,
    review: (id) => `отзыв ${id}`,
    starting: 'запускаю на 127.0.0.1 учебные 2ГИС, модель и приёмник WebSocket…',
    cycling: 'один цикл: приём отзывов, черновики, проверка ответа, публикация, расчёт…',
    badBalance: (text) => `--balance: это не сумма: ${JSON.stringify(text)}`,
    intro: (reviews, branches) =>
      `Учебная кофейня в 2ГИС: ${ruCount(branches, 'branch')}, ${ruCount(reviews, 'review')}, один цикл gisbot. Учебная модель слушается\n` +
      'всего, что велит ей отзыв, — и видно, как проверка ответа придерживает такие ответы для человека.',
    noText: '(оценка без текста)',
    answered: (charged) => `✓ отвечено, списано ${money(charged)}:`,
    skipped: (reason) => `– пропущено: ${reason}`,
    waiting: (reason) => `? ждёт вас: ${reason}`,
    rules: (rules) => `(правила проверки: ${rules.join(', ')})`,
    othersAlike: 'следующие черновики, переписанные с этими причинами, тоже не прошли',
    failed: (reason) => `✗ не удалось: ${reason}`,
    queuedReason: 'баланс кончился раньше, чем дошла очередь',
    queued: '… пока без ответа: баланс кончился раньше, чем дошла очередь',
    unfinished: (state) => `✗ не доведено до конца (${state})`,
    balanceLabel: 'Баланс',
    arithmetic: (before, answers, price, after) => `${money(before)} до − ${ruCount(answers, 'answer')} × ${money(price)} = ${money(after)} после`,
    ledgerAgrees: '✓ журнал сходится',
    ledgerDisagrees: '✗ журнал не сходится',
    ranOut: 'баланс кончился: gisbot перестал отвечать (настоящий запуск завершился бы с кодом 3 и отправил balance.insufficient)',
    eventsLabel: 'События',
    eventsTable: (count) => `${ruCount(count, 'event')} в таблице событий`,
    logLines: (count, file) => `${ruCount(count, 'line')} в ${file}`,
    removed: '(удалён)',
    frames: (count, url) => `${ruCount(count, 'frame')} WebSocket получено на ${url}`,
    telegramLabel: 'Telegram',
    businessesLabel: 'Бизнесы',
    businessesIntro: (count) =>
      `${ruCount(count, 'business')} в одной базе и одном пуле обработчиков, у каждого свой аккаунт 2ГИС и свой баланс (список: gisbot businesses):`,
    sideBySide: (before, answers, price, after) => `${before} − ${num(answers)} × ${price} = ${after}`,
    businessOutcomes: (outcomes) =>
      [
        `ответов: ${num(outcomes.answered ?? 0)}`,
        ...((outcomes.waiting ?? 0) > 0 ? [`ждут вас: ${num(outcomes.waiting ?? 0)}`] : []),
        ...((outcomes.skipped ?? 0) > 0 ? [`пропущено: ${num(outcomes.skipped ?? 0)}`] : []),
        ...((outcomes.queued ?? 0) > 0 ? [`не дошла очередь: ${num(outcomes.queued ?? 0)}`] : []),
      ].join(' · '),
    businessRanOut: 'его баланс кончился; другой продолжил отвечать',
    telegramCards: (count) =>
      `${ruCount(count, 'card')} отправлено в чат владельца в учебном Telegram, по одной на каждый ожидающий отзыв; первая — так, как её показывает чат:`,
    summaryLabel: 'Отзывы',
    summary: (total, counts, seconds) =>
      [
        `${num(total)}: отвечено ${num(counts.answered)}`,
        `пропущено ${num(counts.skipped)}`,
        `ждут вас ${num(counts.waiting)}`,
        `не удалось ${num(counts.failed)}`,
        ...(counts.queued > 0 ? [`не дошла очередь ${num(counts.queued)} (кончился баланс)`] : []),
        ...(counts.unfinished > 0 ? [`не доведено до конца ${num(counts.unfinished)}`] : []),
      ].join(' · ') + ` (${formatDecimal('ru', seconds, 1)} с)`,
    nothingLeft: 'Ничего не осталось: временные база данных, журнал, настройки и HTML-отчёт удалены (--keep их сохранит и скажет где).',
    reportLabel: 'Отчёт',
    kept: (folder) => `Сохранено в ${folder}: база SQLite, файл журнала и настройки.`,
    keptTry: (config) => `осмотритесь: ${gisbotCommand} --config ${shellWord(config)} logs   (или balance history, reply)`,
    next: `Дальше — ваши собственные отзывы: ${gisbotCommand} init (или .gisbotrc вручную), затем ${gisbotCommand} run. Подробнее в README.ru.md.`,
    problemMoney: 'баланс, списания и ответы не сходятся',
    problemUnfinished: (id) => `отзыв ${id} остался в работе`,
    problemFrames: (frames, events) => `пришло ${ruCount(frames, 'frame')} WebSocket на ${ruCount(events, 'event')}`,
  },
  editor: {
    fallback: (editor) =>
      `открываю ${editor}, потому что не заданы ни $VISUAL, ни $EDITOR${editor === 'vi' ? ' (сохранить и выйти: Esc :wq, выйти без сохранения: :cq)' : ''}; выбрать другой: export EDITOR=nano (или code --wait, …)`,
    abandoned: (ended) =>
      typeof ended === 'number' ? `редактор завершился с кодом ${ended}, ничего не сохранено` : `редактор остановлен сигналом ${ended}, ничего не сохранено`,
  },
  telegram: {
    failed: (error) => `Telegram: ${error}; карточки ждут в базе данных следующего запуска`,
    down: (error, hint) => `Telegram: ${error}${hint ? ` (${ru.errors.hint(hint)})` : ''}; ответы продолжаются, карточки ждут в базе данных`,
    chatRefuses: (chatId, error) =>
      `чат Telegram ${chatId} не принимает сообщения бота (${error}): пропущен; снова запустите бота там (/start или добавьте в группу) или уберите чат из telegram.chatIds`,
    chatMoved: (chatId, movedTo, error) =>
      `чат Telegram ${chatId} стал супергруппой с id ${movedTo} (${error}): впишите ${movedTo} в telegram.chatIds вместо ${chatId}`,
    onlyOne: (id, others) =>
      `Telegram: этот процесс обслуживает только бизнес ${id}, а бот работает и для ${others.join(', ')}: нажатия из их чатов здесь отклоняются; обслуживайте все бизнесы бота одним запуском (без --business)`,
    waits: (reason) => `Ждёт вас: ${reason}`,
    draft: 'Черновик',
    draftFromTemplate: (note) => `Черновик из вашего шаблона ${note}`,
    editedBy: (name) => `Ответ написал(а) ${name}`,
    noDraft: (why) => `Черновика нет: ${why}`,
    gateOk: '✅ Проверка ответа пропускает его',
    gateRefuses: (problems) => `⛔ Проверка ответа не пропускает его: ${problems.join('; ')}`,
    instruction: (text) => `✏️ Для следующего черновика: ${text}`,
    sent: (by, at, charged) => `✅ Отправил(а) ${by} в ${at}, списано ${money(charged)}`,
    elsewhere: (state, reason) =>
      state === 'posted'
        ? '☑️ Отвечено в другом месте (в терминале или самим gisbot)'
        : `☑️ Больше не ждёт: ${({ skipped: 'пропущен', failed: 'не удалось', new: 'в очереди', in_progress: 'в работе', needs_approval: 'ждёт человека' } as Record<string, string>)[state] ?? state}${reason ? ` (${reason})` : ''}`,
    reviewLine: (id) => `отзыв ${id}`,
    cut: (more) => `… (обрезано: ещё ${ruCount(more, 'character')})`,
    anonymous: '(без имени)',
    noText: '(оценка без текста)',
    buttons: { send: 'Отправить', regenerate: 'Переписать', edit: 'Исправить', skip: 'Пропустить', complain: 'Пожаловаться' },
    looksLike: (kind, evidence, canComplain) =>
      `💡 Похоже, писал не клиент (${LOOKS_LIKE[kind] ?? kind}: «${evidence}»). ${canComplain ? 'Если так, нажмите «Пожаловаться» вместо ответа' : 'Если так, его можно пропустить'}: решаете вы.`,
    notices: {
      sent: (charged, balance) => `Отправлено: списано ${money(charged)}, баланс ${money(balance)}`,
      alreadyAnswered: 'Уже отвечено',
      inWork: 'На него уже отвечают прямо сейчас',
      answeredElsewhere: (reason) => `Уже отвечено в другом месте${reason ? `: ${reason}` : ''}`,
      changed: 'Карточка тем временем изменилась: посмотрите на неё ещё раз',
      refused: (problems) => `Не отправлено, проверка ответа не пропускает его: ${problems.join('; ')}`,
      insufficient: 'Не отправлено: на балансе не хватает денег (пополните: gisbot balance add)',
      notPosted: (reason) => `Не опубликовано: ${reason}`,
      fateUnknown: (detail) => `Не опубликовано: неизвестно, дошёл ли ответ до 2ГИС (${detail}); gisbot перечитает отзыв и дважды не опубликует`,
      serviceFailed: (detail) =>
        detail === null
          ? 'Не опубликовано: сервис не ответил раньше, чем что-либо было отправлено; попробуйте позже'
          : `Не опубликовано: сервис не ответил раньше, чем что-либо было отправлено (${detail}); попробуйте позже`,
      noDraft: (detail) => (detail === null ? 'Не отправлено: черновика нет' : `Не отправлено: черновика нет (${detail})`),
      redrafted: 'Новый черновик — на карточке',
      draftFailed: (reason) => `Нового черновика нет: ${reason}`,
      editAsked: 'Ответьте на карточку своим текстом ответа: он появится на ней вместе с решением проверки, до отправки',
      editTaken: (problems) =>
        problems.length === 0
          ? 'Ваш ответ — на карточке: нажмите «Отправить», чтобы опубликовать'
          : `Ваш ответ — на карточке, но проверка ответа его не пропускает: ${problems.join('; ')}`,
      instructionTaken: 'Принято: нажмите «Переписать», чтобы получить черновик с этим указанием',
      skipped: (id) => `Пропущено: отзыв продолжает ждать (gisbot reply ${id})`,
      unknownCard: 'gisbot не знает эту карточку',
      notAllowed: 'Этому чату нельзя действовать с карточками gisbot',
      wrongMessage: 'Не сделано: эта кнопка не на той карточке, к которой относится',
      complaintAsked: 'Ответьте на карточку, почему отзыв фальшивый (конкурент, никогда не был клиентом…): этот ответ уйдёт в 2ГИС как жалоба',
      complaint: (status) =>
        status === 'sent'
          ? 'Жалоба отправлена в 2ГИС; отзыв ушёл из списка ожидающих (ответить на него всё ещё можно: gisbot reply)'
          : status === 'already_sent'
            ? 'На этот отзыв жалоба уже есть: повторно ничего не отправлено'
            : 'Жалоба отправлена, но её результат не виден: посмотрите отзыв в кабинете 2ГИС; сама она повторно не отправится',
      complaintRefused: (why, length, detail) =>
        `Жалоба не отправлена: ${
          why === 'empty'
            ? 'причина пуста'
            : why === 'too_long'
              ? `в причине ${ruCount(length, 'character')}, а можно не больше 2 000`
              : why === 'gone'
                ? 'отзыва больше нет в 2ГИС'
                : `2ГИС не даёт владельцу пожаловаться на этот отзыв${detail ? ` (${detail})` : ''}`
        }`,
      yourMessage: 'сообщение',
      notActed: (what, reason) => `Ваше действие «${what}» не выполнено: ${reason}. Нажмите или напишите ещё раз`,
      notActedReason: (why, reason) =>
        why === 'review_in_work'
          ? 'на этот отзыв при каждой попытке отвечал другой обработчик'
          : why === 'card_kept_changing'
            ? 'карточка менялась при каждой попытке её записать'
            : why === 'tried_out'
              ? 'не получилось ни с одной попытки'
              : `сбой (${reason})`,
    },
    superseded: 'Отправлена ещё раз ниже (/waiting): действуйте с той копией',
    panel: {
      chatId: (chatId, allowed, business) =>
        allowed
          ? `Id этого чата: ${chatId}. Ему можно действовать${business ? ` за ${business}` : ''}: сюда приходят карточки; /balance, /stats [7d|30d], /waiting`
          : `Id этого чата: ${chatId}. Ему нельзя действовать: чтобы получать сюда карточки и оповещения, добавьте "${chatId}" в telegram.chatIds`,
      chatIdStaff: (chatId) =>
        `Id этого чата: ${chatId}. Это чат сотрудников агентства: сюда приходят карточки и оповещения всех бизнесов, в каждой назван бизнес; /balance, /stats [7d|30d] [id бизнеса], /waiting [id бизнеса]`,
      ofBusiness: (business) => `🏢 ${business}`,
      businessLine: (business, text) => `🏢 ${business}: ${text}`,
      statsLine: (reviews, answered, waiting, charged) =>
        `${ruCount(reviews, 'review')}, с ответом ${num(answered)}, ждут ${num(waiting)}, списано ${money(charged)}`,
      moreBusinesses: (more) => `ещё ${ruCount(more, 'business')}: /stats <id бизнеса> покажет один`,
      balance: (balance, held) => `Баланс ${money(balance)}, в резерве за ответы в работе ${money(held)}`,
      statsTitle: (days) => `Последние ${ruCount(days, 'day')}`,
      digestTitle: (from, to) => `Неделя ${day(from)} – ${day(to)}`,
      figures: {
        reviews: 'Отзывы',
        answered: 'Отвечено',
        byPerson: 'человеком',
        answeredElsewhere: 'Отвечено в другом месте',
        waiting: 'Ждут',
        skipped: 'Пропущено',
        failed: 'Не удалось',
        replyRate: 'Доля ответов',
        medianMinutesToAnswer: 'Медиана минут до ответа',
        averageRating: 'Средняя оценка',
        charged: 'Списано',
      },
      none: '—',
      topics: (topics) => `Повторяющиеся жалобы: ${topics.join(', ')}`,
      digestBalance: (balance) => `Баланс ${money(balance)}`,
      waiting: (shown, more) =>
        shown === 0
          ? 'Вас не ждёт ни один отзыв'
          : `Ниже — старейшие отзывы, которые ждут вас: ${ruCount(shown, 'review')}${more > 0 ? `; ждут ещё: ${num(more)}` : ''}`,
      unknownCommand: (command) => `Здесь нет такой команды: ${command}. Попробуйте /balance, /stats 7d, /stats 30d, /waiting`,
      alerts: {
        balanceLow: (balance, threshold) => `Баланс на исходе: ${money(balance)}, ниже порога ${money(threshold)}. Пополните: gisbot balance add`,
        insufficient: (balance, price) => `Ответы остановлены: осталось ${money(balance)}, ответ стоит ${money(price)}. Пополните: gisbot balance add`,
        complaint: (topic, count) => `Повторяющаяся жалоба: ${q(topic)}, ${ruCount(count, 'review')}`,
        authFailed: (error, tokenExpired) =>
          tokenExpired
            ? '2ГИС больше не принимает токен входа: ответы остановлены. Возьмите свежий в кабинете (README) и задайте twogis.accessToken'
            : `2ГИС отказал во входе: ответы остановлены (${error})`,
        reminder: (reviewId, branch, rating, hours) =>
          `Отзыв на ${rating}★ в филиале ${branch} ждёт вас уже больше ${hours} ч (gisbot reply ${reviewId} или /waiting)`,
      },
    },
  },
  binding: {
    otherAccount: (businessId, boundLogin, configuredLogin) =>
      `бизнес ${businessId} в этой базе данных привязан к аккаунту 2ГИС ${boundLogin ?? '(вход по токену)'}, ` +
      `а настройки входят как ${configuredLogin ?? '(токен)'}: ничего не сделано; дайте этому аккаунту свою базу данных ` +
      '(отдельный database.url) или свою запись в businesses:',
    sameAccount: (businessId, otherBusiness, login) =>
      `бизнес ${businessId} входит в аккаунт 2ГИС ${login ?? '(токен)'}, который в этой базе данных уже обслуживает бизнес ${otherBusiness}: ` +
      'ничего не сделано; один аккаунт 2ГИС — один бизнес (уберите один из них из businesses:)',
  },
  gate: {
    problem: ruGateProblem,
  },
  console: {
    reason: ruReason,
    review: (id) => ` отзыв ${id}`,
    answered: '✓ отвечено',
    posted: (charged, balance) => `списано ${money(charged)}, баланс ${money(balance)}`,
    skipped: '– пропущено',
    waits: '? ждёт вас',
    failed: '✗ не удалось',
    balanceLow: '! баланс на исходе',
    lowDetail: (balance, threshold) => `${money(balance)} (ниже порога ${money(threshold)})`,
    insufficient: '! не хватает баланса',
    insufficientDetail: (balance, price) => `доступно ${money(balance)}, нужно ${money(price)}`,
    authFailed: '! вход в 2ГИС не удался',
    recurring: (branch) => `! повторяющаяся жалоба в филиале ${branch}`,
    warn: 'предупреждение',
    error: 'ошибка',
    logMessage: (message) =>
      ({
        'could not list reviews': 'не удалось получить список отзывов',
        'telegram: an update could not be acted on': 'Telegram: не удалось выполнить действие из обновления',
      } as Record<string, string>)[message] ?? message,
  },
  errors: {
    label: 'ошибка:',
    hintLabel: 'подсказка:',
    message: (text) => {
      // Известное сообщение ядра или базы — по-русски (RU_ERRORS); новое — как его написали.
      for (const [english, russian] of RU_ERRORS) {
        const match = english.exec(text);
        if (match) return russian(...match.slice(1));
      }
      return text;
    },
    said: (said) => {
      switch (said.code) {
        case 'review_unknown':
          return `отзыв ${said.reviewId} gisbot не знаком`;
        case 'review_not_free': {
          const why =
            said.state === 'posted'
              ? 'gisbot уже ответил на него'
              : said.state === 'skipped'
                ? `он пропущен (${said.reason === null ? 'причина не записана' : ruReason(said.reasonCode ?? undefined, said.reason)})`
                : 'прямо сейчас на него отвечает обработчик';
          return `на отзыв ${said.reviewId} сейчас нельзя ответить: ${why}`;
        }
      }
    },
    hint: (hint) => {
      // Известная подсказка — по-русски (RU_HINTS); новая, которой там ещё нет, — как её написал адаптер.
      for (const [english, russian] of RU_HINTS) {
        const match = english.exec(hint);
        if (match) return russian(...match.slice(1));
      }
      return hint;
    },
    service: (service, kind) => {
      const name = ({ '2gis': '2ГИС', model: 'модель', database: 'база данных', websocket: 'WebSocket', telegram: 'Telegram' } as Record<string, string>)[service] ?? service;
      // Модель и база данных — женского рода: «недоступна», «не приняла».
      const feminine = service === 'model' || service === 'database';
      const ending = (masculine: string, female: string) => (feminine ? female : masculine);
      const what =
        kind === 'unavailable'
          ? ending('недоступен сейчас', 'недоступна сейчас')
          : kind === 'auth'
            ? ending('не принял учётные данные', 'не приняла учётные данные')
            : kind === 'blocked'
              ? ending('заблокировал доступ', 'заблокировала доступ')
              : kind === 'outcome_unknown'
                ? ending('не показал результат', 'не показала результат')
                : kind === 'bad_response'
                  ? ending('ответил непонятно', 'ответила непонятно')
                  : ending('ответил ошибкой', 'ответила ошибкой');
      return `${name}: ${what}`;
    },
    unexpected: 'непредвиденная ошибка',
    debugHint: 'запустите ещё раз с --debug, чтобы увидеть подробности',
  },
};
