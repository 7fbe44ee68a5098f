// Every sentence gisbot says to a person, in one place per language: this is the English catalogue, and
// messages.ru.ts the Russian one, typed against it (a message missing there is a type error; a test walks both).
// `messages` is the terminal's language, chosen once at start (cli.ts); whatever speaks for a business (Telegram,
// the report, the digest) takes `messagesFor(language)` of that business instead.
import path from 'node:path';
import { shippedFile } from '../shipped.ts';
import { gisbotCommand, localTime, shellWord, shipped, shortTime } from './catalogue-tools.ts';
import type { CycleProblem, CycleWarning, ErrorSaid } from '../errors.ts';
import type { FoundProblem } from '../core/drafting/gate.ts';
import { formatMoneyFor, type UiLanguage } from './language.ts';
import { ru } from './messages.ru.ts';

export { gisbotCommand } from './catalogue-tools.ts';

/** An amount of money as an English reader sees it: `1,250.00 KZT`. */
const money = (amount: string) => formatMoneyFor('en', amount);

/** What a review that looks as if no customer wrote it looks like (core/drafting/looks-like.ts), for the suggestion. */
const LOOKS_LIKE: Record<string, string> = { ad: 'an ad', spam: 'spam', profanity: 'profanity', other_business: 'a review of another business' };

export const en = {
  language: 'en',
  /** An amount of money (a decimal string as gisbot keeps it) in the deployment's currency. */
  money,
  config: {
    fixHint: (file: string | null, fromEnvironment: boolean) => {
      const where = [file ? `fix ${file}` : null, fromEnvironment ? 'the environment variable named above' : null];
      const example = `every key is described in ${shipped('.gisbotrc.example')}`;
      return where.some(Boolean) ? `${where.filter(Boolean).join(', or ')}; ${example}` : example;
    },
    noConfigFound: `no .gisbotrc found here or in the folders above — run \`${gisbotCommand} init\``,
    noConfigHint: `or give one with --config <file>, or set the settings in the environment; see ${shipped('.gisbotrc.example')}`,
    missingFile: (file: string) => `there is no config file at ${file} (given with --config)`,
    folderNotFile: (file: string) => `${file} is a folder, not a config file`,
    unreadable: (file: string) => `cannot read the config file ${file}: permission denied`,
    syntax: (file: string, line: number, column: number, reason: string) => `${file}: line ${line}, column ${column}: ${reason}`,
    notSettings: (file: string) => `${file}: must hold settings (key: value lines), not a single value or a list`,
    unknownKey: 'unknown key',
    promptUnreadable: (file: string, code: string) => `prompt.file: cannot read ${file} (${code})`,
    currencyChanged: (recorded: string, configured: string) =>
      `billing.currency: the ledger of this database is kept in ${recorded}, and its amounts would silently become ${configured}: set billing.currency back to ${recorded} (one currency per database)`,
    didYouMean: (key: string) => ` (did you mean ${key}?)`,
    /** Where a value at fault came from, after its key: `openai.baseURL (from OPENAI_BASE_URL): …`. */
    fromVariable: (variable: string) => ` (from ${variable})`,
    /** The key of a problem of the whole document. */
    root: '(root)',
    /** A YAML parser's reason (js-yaml's English), said in the reader's words where it is a known one. */
    yamlReason: (reason: string) => reason,
    /** The schema's own messages (config/schema.ts), for the values a key's kind alone does not explain. */
    schema: {
      money: 'must be an amount like 5.00 (two decimal places at most)',
      url: (schemes: readonly string[]) => `must be a ${schemes.join(' or ')} URL`,
      databaseUrl: 'must be mysql://user:pass@host:3306/db or sqlite:<path>',
      branchDigits: 'branch ids must be digits, as quoted strings',
      branchQuoted: 'branch ids must be quoted strings: they exceed the precision of a number',
      templateRating: 'template ratings are "1" to "5", as quoted strings',
      timeZone: 'must be a time zone such as Europe/Moscow or Asia/Almaty',
      locale: 'must be a locale like ru or ru_KZ',
      tokenOrLogin: 'give either twogis.accessToken or twogis.login and twogis.password, not both',
      currency: 'must be an ISO 4217 currency code such as RUB, KZT or USD',
      minMax: 'must be [min, max] with min ≤ max',
      botToken: 'must be the token BotFather gave, like 123456789:AAH…',
      chatIds: 'chat ids are digits, with a minus for groups',
      digest: 'must be a weekday and a time, like "mon 09:00"',
    },
    quoteKey: (key: string, readAs: unknown) =>
      `write the key in quotes ("${key}"): without them YAML reads it as ${typeof readAs === 'number' ? `the number ${readAs}` : JSON.stringify(String(readAs))}`,
    /** zod's findings, said the way the person who wrote the file thinks of it; values are never repeated (secrets). */
    plain: {
      mustBe: (expected: string, found: string | null) => `must be ${expected}${found === null ? '' : `, not ${found}`}`,
      quoteIt: ' (put it in quotes)',
      or: ' or ',
      kinds: {
        string: 'text',
        number: 'a number',
        int: 'a whole number',
        boolean: 'true or false',
        array: 'a list',
        object: 'a section of settings (key: value lines)',
        null: 'empty',
      } as Record<string, string>,
      atLeast: (minimum: string, inclusive: boolean) => (inclusive ? `must be ${minimum} or more` : `must be more than ${minimum}`),
      atMost: (maximum: string, inclusive: boolean) => (inclusive ? `must be ${maximum} or less` : `must be less than ${maximum}`),
      notEmpty: 'must not be empty',
      charactersAtLeast: (count: string) => `must be at least ${count} characters long`,
      charactersAtMost: (count: string) => `must be at most ${count} characters long`,
      listAtLeast: (count: string) => (count === '1' ? 'must list at least one' : `must list at least ${count}`),
      listAtMost: (count: string) => `must list at most ${count}`,
      oneOf: (values: readonly string[]) => `must be one of: ${values.join(', ')}`,
      multipleOf: (divisor: number) => `must be a multiple of ${divisor}`,
      wrongForm: 'is not written the way this key needs',
      notValid: 'is not a valid value here',
    },
    secretsReadable: (file: string, keys: readonly string[], mode: number) =>
      `${file}: holds secrets (${keys.join(', ')}) but is readable by group or others (mode ${mode.toString(8)})`,
    chmodHint: (file: string) => `run: chmod 600 ${path.basename(file) === file ? file : JSON.stringify(file)}`,
    required: (key: string, variable: string | null) =>
      `${key}: required${variable ? ` (set it in the config file or ${variable})` : ''}`,
  },
  businesses: {
    columns: ['business', 'name', 'status', 'balance', 'held', 'branches', 'waiting', 'answered 30d', 'last cycle'],
    status: { ok: 'ok', no_balance: 'out of money', sign_in_failed: 'sign-in failed', paused: 'paused', never_run: 'never run' },
    badId: 'a business id is 1 to 32 characters of a-z, 0-9 and - (it names the business for good: never reuse it for another account)',
    none: 'must list at least one business (id: settings), or be left out for a single business',
    topLevelOwn: (key: string) => `with businesses: listed, ${key} belongs to each business (businesses.<id>.${key}): one business's account, chats and prompt are never shared`,
    deploymentWide: 'is deployment-wide: set it at the top level, for every business',
    sharedChat: (chat: string, owner: string) => `chat ${chat} is listed for business ${owner} too: a chat belongs to one business (the top-level telegram.chatIds get every business's cards)`,
    staffChat: (chat: string) => `chat ${chat} is a staff chat (top-level telegram.chatIds), which gets every business's cards already`,
    sharedLogin: (owner: string) => `the same 2GIS login as business ${owner}: a business is its own 2GIS account (one account's branches belong to one business)`,
    sharedBranch: (branch: string, owner: string) => `branch ${branch} is listed for business ${owner} too: a branch belongs to one business`,
    unknown: (id: string, ids: readonly string[]) => `there is no business ${JSON.stringify(id)} in the config: --business takes one of ${ids.join(', ')}`,
    needsOne: (ids: readonly string[]) => `this command is about one business: add --business <id>, one of ${ids.join(', ')}`,
    paused: (id: string) => `business ${id} is paused (enabled: false): set enabled: true in its section to serve it`,
    allPaused: (ids: readonly string[]) => `every business is paused (enabled: false): ${ids.join(', ')}`,
    notYetTogether: (ids: readonly string[]) => `serving several businesses in one run is not built yet: add --business <id>, one of ${ids.join(', ')}`,
    cycleLine: (id: string, posted: number, waiting: number, failed: number, charged: string, balance: string, status: string) =>
      `${id}: ${posted} answered · ${waiting} waiting for you · ${failed} failed · charged ${money(charged)}, balance ${money(balance)}${status === 'ok' ? '' : ` (${status})`}`,
  },
  preflight: {
    failed: (count: number) => `gisbot will not start: ${count} service${count === 1 ? '' : 's'} did not answer`,
    hint: 'fix the services above, then start again',
    ok: (name: string) => `${name}: ok`,
  },
  run: {
    started: (interval: number, concurrency: number) =>
      `gisbot is running: a cycle every ${interval}s, ${concurrency} review${concurrency === 1 ? '' : 's'} at a time. Ctrl-C stops it.`,
    stopping: 'stopping: finishing the reviews in hand…',
    stopped: 'stopped',
    cycleFailed: (reason: string) => `cycle failed: ${reason}; trying again next cycle (the same failure again is not repeated here)`,
    cycleRecovered: (failed: number) => `cycles work again, after ${failed} failed cycle${failed === 1 ? '' : 's'}`,
    /** `readOnly`: the errno code when the log's folder takes no writes (a read-only data folder). */
    logUnwritable: (file: string, error: string, readOnly: string | null) =>
      readOnly === null
        ? `log file ${file} cannot be written (${error}); logging to it is off`
        : `log file ${file} cannot be written: its folder ${path.dirname(file)} is read-only (${readOnly}); logging to it is off — make the folder writable, or set logs.file to a writable place`,
    telegram: (chats: number) =>
      chats === 0
        ? 'Telegram: no chat in telegram.chatIds, so no cards are sent (/start sent to the bot answers with its chat id)'
        : `Telegram: cards of the reviews that wait for you go to ${chats} chat${chats === 1 ? '' : 's'}`,
  },
  stop: {
    stopping: (signal: string) =>
      `${signal}: stopping. An answer already on its way to 2GIS is finished; a review being drafted goes back to the queue. A second signal (Ctrl-C again) stops waiting for the rest.`,
    hurrying: 'stopping now: only an answer on its way to 2GIS is still awaited, and it is never abandoned (one left unseen would wait for the next run to read it back)',
    stopped: (signal: string, answered: number, released: number) =>
      `stopped by ${signal}: ${answered} answered, ${released} put back in the queue for the next run`,
  },
  notify: {
    undelivered: (count: number) =>
      `${count} event${count === 1 ? '' : 's'} not delivered over the WebSocket yet: kept in the outbox and sent again later (gisbot logs --pending)`,
    refused: (reason: string) => `notifications stopped: ${reason}; check websocket.url and websocket.token (gisbot doctor)`,
  },
  cycle: {
    /** The one line poll-once prints after its cycle. */
    fetched: (fetched: number, fresh: number) => `${fetched} fetched, ${fresh} new`,
    answered: (count: number) => `${count} answered`,
    skipped: (count: number) => `${count} skipped`,
    waiting: (count: number) => `${count} waiting for you`,
    failed: (count: number) => `${count} failed`,
    money: (charged: string, balance: string) => `charged ${money(charged)}, balance ${money(balance)}`,
    insufficient: 'stopped answering: the balance does not cover another answer',
    insufficientHint: `top up with: ${gisbotCommand} balance add <amount>`,
    /**
     * A problem of the cycle as a person reads it: a service's own words (English as it said them), framed in the
     * reader's; English says them as they are (and a refused sign-in's hint after them).
     */
    problem: (problem: CycleProblem): string =>
      problem.kind === 'service'
        ? problem.hint ? `${problem.detail}; ${problem.hint}` : problem.detail
        : problem.kind === 'telegram_down'
          ? `Telegram: ${problem.detail}; the cards wait in the database for the next run`
          : `Telegram chat ${problem.chatId}: ${problem.detail}`,
    /** A branch whose intake was cut short or had items it could not take in; 2GIS's and the checks' own words kept. */
    warning: (warning: CycleWarning): string => {
      if (warning.kind === 'said') return warning.text;
      const branch = `branch ${warning.branchId}: `;
      switch (warning.kind) {
        case 'intake_cut':
          return `${branch}intake stopped after ${warning.limit === 'pages' ? `${warning.reached} pages (polling.maxPagesPerBranch)` : `${warning.reached} s (polling.maxSecondsPerBranch)`}; the rest is read in the next cycles`;
        case 'no_page_date':
          return `${branch}2GIS listed a page with no usable dateCreated to page on from; the listing was cut there`;
        case 'dates_turned_back':
          return `${branch}2GIS listed a page newer than the one before (offsetDate ${warning.offsetDate}, then ${warning.cursor}); the listing was cut there`;
        case 'unreadable': {
          const shown = warning.items.map((item) => `${item.id ?? '(no id)'}: ${item.reason}`).join('; ');
          const more = warning.count > warning.items.length ? `; and ${warning.count - warning.items.length} more` : '';
          return `${branch}${warning.count} listed review${warning.count === 1 ? '' : 's'} cannot be taken in (see the log): ${shown}${more}`;
        }
      }
    },
    failedHint: `see the lines above, or: ${gisbotCommand} logs`,
  },
  balance: {
    line: (balance: string) => `balance ${money(balance)}`,
    chargesColumns: ['last charges', 'amount', 'review'],
    badAmount: (text: string) => `not an amount: ${JSON.stringify(text)}`,
    badAmountHint: 'write it like 100 or 100.50 (a dot, at most two decimals, no sign)',
    zeroAmount: 'the amount must be more than 0.00',
    confirmTopUp: (amount: string, after: string) => `Add ${money(amount)} to the balance (it becomes ${money(after)})?`,
    needsYes: 'balance add changes money: confirm with --yes when not on a terminal',
    cancelled: 'cancelled: nothing changed',
    low: (balance: string, threshold: string) => `the balance ${money(balance)} is below ${money(threshold)}`,
    added: (amount: string) => `added ${money(amount)}`,
    held: (amount: string) => `${money(amount)} held for answers in progress`,
    badAdjustment: (text: string) => `not an amount with a sign: ${JSON.stringify(text)}`,
    badAdjustmentHint: 'write it like +100, -12.50 or 5 (a dot, at most two decimals)',
    needsNote: 'balance adjust needs --note "<why>": a correction says why in the ledger',
    belowZero: (amount: string, available: string) =>
      `an adjustment of ${money(amount)} would take the balance below zero or below what answers in progress hold (${money(available)} free): nothing changed`,
    adjusted: (amount: string) => `adjusted by ${money(amount)}`,
    confirmAdjust: (amount: string, after: string, note: string) => `Adjust the balance by ${money(amount)} (it becomes ${money(after)}), noted "${note}"?`,
    needsYesAdjust: 'balance adjust changes money: confirm with --yes when not on a terminal',
  },
  history: {
    columns: ['time', 'kind', 'amount', 'balance', 'for'],
    kinds: { topup: 'topup', charge: 'charge', adjustment: 'adjustment' },
    forReview: (id: string) => `review ${id}`,
    /** A ledger entry's note: gisbot's own (core/money/ledger-notes.ts, stored in English) in the reader's words; a person's as written. */
    note: (stored: string) => stored,
    empty: `the ledger is empty: top up with ${gisbotCommand} balance add <amount>`,
    emptySince: (time: string) => `no ledger entries since ${time}`,
  },
  input: {
    badSince: (text: string, flag = '--since') => `${flag}: not a time: ${JSON.stringify(text)}`,
    impossibleDate: (text: string, flag = '--since') => `${flag}: no such date or time: ${JSON.stringify(text)}`,
    outOfRange: (text: string, flag = '--since') => `${flag}: ${JSON.stringify(text)} is outside the years 2000–2100`,
    sinceHint:
      'write a span like 15m, 2h or 3d, a date like 2026-01-31 (midnight in timeZone), a local time like 2026-01-31T09:00, or an instant like 2026-01-31T09:00Z',
    badLang: (text: string) => `--lang: ${JSON.stringify(text)} is not a language gisbot speaks: ru or en`,
    badLimit: (text: string, max: number) => `--limit: not a whole number from 1 to ${max}: ${JSON.stringify(text)}`,
  },
  reply: {
    reviewHeading: (id: string) => `review ${id}`,
    queueColumns: ['review', 'rating', 'branch', 'author', 'written', 'why it waits', 'text'],
    anonymous: '(no name)',
    noText: '(a rating without text)',
    waitsBecause: (reason: string) => `waits for you: ${reason}`,
    /** `next`: when it is tried again by itself, 'never' after its last try, null when it never is (2GIS refused it). */
    failedReason: (reason: string, next: string | null) =>
      `failed${next === null ? '' : next === 'never' ? ', no retries left' : `, retry at ${next}`}: ${reason}`,
    draftHeading: 'draft',
    /** `note`: which of the owner's texts (policy.templates) the draft is, e.g. "5★ 2/3". */
    templateHeading: (note: string) => `draft from your template ${note} (policy.templates)`,
    editedHeading: 'your edit',
    gateOk: 'the gate lets it through',
    gateRefuses: (problems: readonly string[]) => `the gate refuses it: ${problems.join('; ')}`,
    sendOrDryRun: '--send and --dry-run contradict each other: choose one',
    jsonNeedsFlag: 'reply --json cannot ask what to do: add --send or --dry-run',
    needsTerminal: 'reply asks what to do with the draft, and this is not a terminal',
    flagHint: (id: string) => `add --dry-run to see a draft, or --send to post it: ${gisbotCommand} reply ${id} --send`,
    unknownReview: (id: string) => `review ${id} is not known to gisbot`,
    unknownReviewHint: `take in new reviews with: ${gisbotCommand} poll-once`,
    notAnswerable: (id: string, state: string, reason: string | null) =>
      state === 'posted'
        ? `review ${id} is already answered by gisbot`
        : state === 'skipped'
          ? `review ${id} was skipped (${reason ?? 'no reason recorded'}); it cannot be answered from here`
          : `review ${id} is being answered by a worker right now`,
    drafting: 'drafting an answer…',
    redrafting: 'drafting again with your instruction…',
    sending: 'checking the review on 2GIS and posting…',
    choose: 'What now?',
    choices: {
      send: 'send: post it as the official answer',
      fixFirst: 'edit or regenerate first',
      edit: 'edit it in your editor',
      regenerate: 'regenerate with an instruction',
      skip: 'skip: leave the review waiting',
    },
    editing: 'Edit the answer',
    instruction: 'What should change? (e.g. shorter, mention the terrace)',
    lost: 'another worker took the review meanwhile',
    released: 'a service failed before anything was posted; try again later',
    unsure: (error: string) => `the answer's fate is unknown (${error}); gisbot reads it back on its next run and never posts twice`,
    queueEmpty: 'no reviews wait for you',
    queueHint: `answer one with: ${gisbotCommand} reply <review>`,
    posted: (id: string, charged: string, balance: string) => `answered review ${id}: charged ${money(charged)}, balance ${money(balance)}`,
    dryRun: 'dry run: nothing was posted, charged or recorded',
    skipped: (id: string) => `skipped: review ${id} still waits for you`,
    refused: (problems: readonly string[]) => `not sent, the gate refuses it: ${problems.join('; ')}`,
    notPosted: (reason: string) => `not posted: ${reason}`,
    looksLike: (kind: string, evidence: string, id: string) =>
      `suggestion — looks like: not our customer (${LOOKS_LIKE[kind] ?? kind}: "${evidence}"). If it is, complain to 2GIS instead of answering: ${gisbotCommand} complain ${id} --reason "<why>"${kind === 'other_business' || kind === 'ad' ? ' --not-a-client' : ''}. You decide.`,
  },
  complain: {
    emptyReason: 'a complaint needs its reason: add --reason "<why the review is fake>"',
    reasonHint: `e.g. ${gisbotCommand} complain 141264987 --reason "we have no such dish; the author was never our guest" --not-a-client`,
    tooLong: (length: number, most: number) => `the reason is ${length} characters long; 2GIS takes at most ${most}`,
    notOnTwoGis: (id: string) => `review ${id} is no longer on 2GIS: there is nothing to complain about`,
    notAllowed: (id: string, detail: string | null) =>
      `2GIS does not let the owner complain about review ${id}${detail ? ` (${detail})` : ''}`,
    sent: (id: string) => `complaint about review ${id} sent to 2GIS; it leaves the waiting list (answer it still with: ${gisbotCommand} reply ${id})`,
    alreadySent: (id: string) => `review ${id} has a complaint already: nothing sent again`,
    outcomeUnknown: (id: string, detail: string | null) =>
      `the complaint about review ${id} was sent but its outcome was not seen${detail ? ` (${detail})` : ''}; it is not sent again by itself`,
    outcomeUnknownHint: (retryAfter: string | null) =>
      retryAfter
        ? `run the same command again after ${retryAfter} to check, or look at the review in the 2GIS cabinet`
        : 'look at the review in the 2GIS cabinet (account.2gis.com) to see whether the complaint is there',
  },
  prompt: {
    columns: ['version', 'saved', 'chars', 'begins'],
    needsTerminal: 'prompt edit opens an editor, and this is not a terminal',
    editHint: (file: string, copyOf: string | null) =>
      `${copyOf ? `copy the shipped prompt and edit the copy: mkdir -p ${shellWord(path.dirname(file))} && cp ${shellWord(copyOf)} ${shellWord(file)}` : `edit ${file} directly`}; gisbot records the new text as a version before its next answer`,
    editing: (file: string) => `Editing ${file}`,
    badVersion: (text: string) => `not a version number: ${JSON.stringify(text)}`,
    noSuchVersion: (version: number) => `there is no prompt version ${version}`,
    historyHint: `see the versions with: ${gisbotCommand} prompt history`,
    showing: (version: number | null, time: string | null, current: boolean) =>
      version === null
        ? 'the prompt file (its text is not recorded as a version yet)'
        : `version ${version}, saved ${time}${current ? ' (in force)' : ' (not in force)'}`,
    noHistory: 'no prompt versions yet: one is recorded with the first answer or edit',
    unrecorded: 'the prompt file has changes not recorded yet: they become a version with the next answer or edit',
    notSaved: (reason: 'empty' | 'unchanged') =>
      reason === 'empty' ? 'the prompt is empty: nothing saved' : 'no changes: nothing saved',
    saved: (version: number, file: string, added: number, removed: number) =>
      `saved ${file} as version ${version} (+${added} −${removed} lines)`,
    rolledBack: (from: number, to: number, changed: boolean) =>
      changed ? `the prompt is version ${from}'s text again, recorded as version ${to}` : `version ${from}'s text is already in force (version ${to})`,
  },
  logs: {
    columns: ['time', 'type', 'branch', 'review', 'what'],
    businessColumn: 'business',
    pendingColumns: ['time', 'type', 'review', 'attempts', 'next try'],
    badType: (type: string) => `--type: no such event type: ${JSON.stringify(type)}`,
    typeHint: (types: readonly string[]) => `one of: ${types.join(', ')}`,
    following: 'waiting for new events… (Ctrl-C stops)',
    none: 'no events yet',
    noneMatching: 'no events match',
    posted: (charged: string, balance: string, text: string) => `charged ${money(charged)}, balance ${money(balance)}: ${text}`,
    low: (balance: string, threshold: string) => `balance ${money(balance)} is below ${money(threshold)}`,
    insufficient: (balance: string, price: string) => `${money(balance)} available, ${money(price)} needed`,
    telegramRefused: (chatId: string, kind: string) => `a ${kind || 'press'} from Telegram chat ${chatId}, which is not in telegram.chatIds: nothing done`,
    pendingAlone: (flags: readonly string[]) => `--pending lists the outbox and takes only --limit, not ${flags.join(', ')}`,
    nonePending: 'every event has been delivered: the outbox is empty',
    dueNow: 'now',
    pendingTotal: (total: number, shown: number) =>
      `${total} event${total === 1 ? '' : 's'} wait${total === 1 ? 's' : ''} in the outbox${shown < total ? ` (the oldest ${shown} shown)` : ''}`,
    repeated: (topic: string, count: number, reviewIds: readonly string[]) =>
      `“${topic}” in ${count} reviews: ${reviewIds.join(', ')}`,
    answerRemoved: '! 2GIS removed our answer; it waits for you',
    refunded: (amount: string) => `${money(amount)} refunded`,
    removed: (text: string, refunded: string) => `${refunded ? `refunded ${money(refunded)}: ` : ''}${text}`,
  },
  branches: {
    none: 'the account has no branches',
    columns: ['id', 'watched', 'reviews', 'answered', 'waiting', 'name', 'address', 'policy'],
    yes: 'yes',
    no: 'no',
    defaults: 'policy.*',
    policy: (own: Record<string, unknown>) =>
      Object.entries(own)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' '),
    notInAccount: 'not a branch of this account (in twogis.branches)',
  },
  report: {
    /** A date and a date with its time as the report prints them. */
    date: (at: Date) => localTime(at).slice(0, 10),
    dateTime: (at: Date) => localTime(at),
    percent: (share: number) => `${Math.round(share * 1000) / 10}%`,
    decimal: (value: number, digits: number) => value.toFixed(digits),
    /** The charts' words: axes, empty charts, the bars' tooltips, a week by the day it starts ("03-02", March 2nd). */
    axis: {
      reviews: 'reviews',
      rating: 'rating',
      hours: 'hours to answer (median)',
      charged: 'charged',
      noRatings: 'no ratings in this period',
      noAnswers: 'no answers in this period',
      drafts: 'drafts',
      noDecisions: 'no drafts decided by a person',
      reviewsTitle: (count: number) => `${count} reviews`,
      byGisbotTitle: (count: number) => `${count} answered by gisbot`,
      byPersonTitle: (count: number) => `${count} answered by a person`,
      week: (at: Date) => `${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`,
    },
    title: (period: string) => `gisbot report, ${period}`,
    heading: 'What gisbot did for your reviews',
    period: (period: string) => `Reviews created on 2GIS ${period}`,
    generated: (at: string) => `made ${at}`,
    allBranches: (count: number) => `All branches (${count})`,
    countsChart: 'Reviews and answers per week',
    ratingChart: 'Average rating per week',
    minutesChart: 'Time to answer per week (hours)',
    spendChart: 'Charged per week',
    legendReviews: 'reviews',
    legendAnswered: 'answered by gisbot',
    legendByPerson: 'answered by a person',
    reviews: 'reviews',
    answered: 'answered',
    answeredBy: (answered: number, byPerson: number) => `${answered} (${byPerson} by you)`,
    replyRate: 'reply rate',
    toAnswer: 'time to answer (median)',
    hours: (minutes: number) => `${(Math.round((minutes / 60) * 10) / 10).toFixed(1)} h`,
    rating: 'average rating',
    ratingChange: 'rating change',
    change: (change: number) => (change === 0 ? '±0.00' : `${change > 0 ? '+' : '−'}${Math.abs(change).toFixed(2)}`),
    noRatingNow: 'no reviews in this period',
    noRatingBefore: 'no reviews in the period before',
    waitingForPerson: 'Waiting for a person',
    waitingForMoney: 'Waiting for money',
    elsewhere: 'answered elsewhere',
    skipped: 'skipped',
    failed: 'failed',
    removed: 'answers removed by 2GIS',
    charged: 'charged',
    tokens: 'model tokens',
    modelCost: 'model cost',
    topics: 'What customers complain about (1–3★)',
    noTopics: 'No complaint topics in this period.',
    branchesHeading: 'Branches: rating, stars and money',
    branchColumns: ['branch', 'rating on 2GIS', 'stars of this period (1★ … 5★)', 'answered', 'charged'],
    twogisRating: (rating: number | null, reviews: number | null) =>
      rating === null ? 'no rating on 2GIS yet' : `${rating.toFixed(1)} on 2GIS${reviews === null ? '' : ` (${reviews.toLocaleString('en-US')} reviews)`}`,
    notListed: 'not read yet',
    starsNote: 'Stars are counted from the reviews gisbot took in; the rating on 2GIS is as its listing showed it last.',
    worstHeading: 'The worst reviews of the period',
    noWorst: 'No review of this period is rated 1–3★.',
    answersHeading: (shown: number, total: number) =>
      shown === total ? `What was said in your name (${total.toLocaleString('en-US')})` : `What was said in your name: newest ${shown.toLocaleString('en-US')} shown of ${total.toLocaleString('en-US')}`,
    answersNote: 'Every answer to a review of this period, 1–2★ first, newest first.',
    noAnswers: 'No review of this period was answered.',
    search: 'Search the answers',
    searchShown: 'shown',
    answerBy: (who: 'gisbot' | 'person' | null) => (who === 'person' ? 'answered by you' : 'answered by gisbot'),
    notAnswered: (outcome: string) => `not answered: ${outcome}`,
    outcomes: {
      answered: 'answered',
      answeredElsewhere: 'answered on 2GIS by someone else',
      skipped: 'skipped',
      waitingForPerson: 'waiting for a person',
      waitingForMoney: 'waiting for money',
      scheduled: 'scheduled',
      failed: 'failed',
      complained: 'complained about to 2GIS',
    },
    waitingHeading: (shown: number, total: number) =>
      shown === total ? `Waiting for you (${total.toLocaleString('en-US')})` : `Waiting for you: oldest ${shown.toLocaleString('en-US')} shown of ${total.toLocaleString('en-US')}`,
    noText: '(a rating without text)',
    footer: 'Made by gisbot from its own database. Nothing in this file is fetched from the network.',
    cannotWrite: (file: string, code: string) => `cannot write the report to ${file} (${code})`,
    outHint: 'name a file in a folder you can write to with --out',
    badCsvLocale: (value: string, known: readonly string[]) => `--csv-locale: ${JSON.stringify(value)} is not one of ${known.join(', ')}`,
    decisionsHeading: 'How much you still correct the drafts',
    decisionsChart: 'Drafts you decided on, per week',
    decisionNames: { untouched: 'sent as drafted', edited: 'edited', rewritten: 'rewritten', regenerated: 'regenerated' },
    allWeeks: 'the whole period',
    decisionsColumns: ['week', 'sent as drafted', 'edited', 'rewritten', 'regenerated', 'changed (mean)'],
    editedShare: (share: number | null) => (share === null ? '—' : `${Math.round(share * 100)}%`),
    decisionsNote:
      'Each draft a person sent or asked again for, counted in the week its review was written. Edited: at most half of its characters changed; rewritten: more. Fewer edits, rewrites and regenerations week after week mean gisbot has learned your voice (README: Teaching gisbot your voice).',
    noDecisions: 'No draft was decided on by a person in this period: every answer went out by itself, or none waited for you.',
  },
  stats: {
    badBranch: (id: string) => `--branch: ${JSON.stringify(id)} is not a branch id (digits, as \`gisbot branches\` lists them)`,
    emptyPeriod: (from: string, to: string) => `the period is empty: --since (${from}) must come before --until (${to})`,
    heading: (from: Date, to: Date) => `Reviews created on 2GIS from ${shortTime(from)} to ${shortTime(to)}`,
    noReviews: 'no reviews were created in this period',
    /** A share (0 to 1) as a percentage to a tenth: `66.7%`. */
    share: (rate: number) => `${Math.round(rate * 1000) / 10}%`,
    columns: ['branch', 'reviews', 'answered (by you)', 'elsewhere', 'waiting (for you)', 'skipped', 'failed', 'reply rate', 'to answer', 'rating', 'charged'],
    total: 'total',
    answered: (answered: number, byPerson: number) => (byPerson > 0 ? `${answered} (${byPerson})` : String(answered)),
    waiting: (waiting: number, forPerson: number) => (forPerson > 0 ? `${waiting} (${forPerson})` : String(waiting)),
    minutes: (minutes: number) => (minutes < 120 ? `${minutes} min` : `${Math.round((minutes / 60) * 10) / 10} h`),
    rating: (average: number | null, change: number | null) =>
      average === null ? '—' : change === null || change === 0 ? average.toFixed(2) : `${average.toFixed(2)} (${change > 0 ? '+' : ''}${change.toFixed(2)})`,
    topicsHeading: 'What customers complain about (reviews rated 1–3, most frequent first)',
    noTopics: 'no complaint topics in this period',
    money: (charged: string, promptTokens: number, completionTokens: number, cost: string | null) =>
      `Charged ${money(charged)} · the model used ${promptTokens + completionTokens} tokens (${promptTokens} in, ${completionTokens} out)` +
      (cost === null ? '' : ` and reported a cost of ${cost}`),
    removed: (count: number) =>
      `2GIS removed ${count} answer${count === 1 ? '' : 's'} of ours after posting; such a review waits for a person again (gisbot reply)`,
  },
  checks: {
    notSet: (key: string) => `${key} is not set`,
    databaseOk: (where: string) => `connected to ${where} and migrated`,
    twogisOk: (login: string, host: string) => `logged in as ${login} at ${host}`,
    twogisTokenOk: (host: string) => `signed in with the access token at ${host}`,
    boundTo: (login: string | null) => `the database serves it as the 2GIS account ${login ?? '(signed in with a token)'}`,
    notBoundYet: (login: string | null) => `not bound yet: its first run binds it in the database to ${login ?? 'the account of its token'}`,
    /** How long the token has worked (`since`: an ISO time), and when it expires if it says (a JWT): 2GIS publishes no lifetime. */
    tokenAge: (minutes: number, since: string, expiresInMinutes: number | null) => {
      const span = (m: number) => (m < 60 ? `${m} min` : m < 48 * 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${Math.floor(m / 1440)} d ${Math.floor((m % 1440) / 60)} h`);
      const expiry = expiresInMinutes === null ? '' : expiresInMinutes > 0 ? `; it expires in ${span(expiresInMinutes)}` : `; it expired ${span(-expiresInMinutes)} ago`;
      return `the token has been in use for ${span(minutes)} (since ${since.slice(0, 16).replace('T', ' ')} UTC)${expiry}; when 2GIS stops taking it, copy a fresh one (README: Signing in with a token)`;
    },
    branchesNotInAccount: (ids: readonly string[]) =>
      `the account has no branch ${ids.join(', ')} (twogis.branches): gisbot branches lists the ones it has`,
    placeholders: (keys: readonly string[]) => `${keys.join(', ')}: still the example file's placeholder; put in your own`,
    modelAnswered: (model: string, host: string) => `${model} at ${host} answered`,
    modelSilent: (model: string) => `${model} answered with nothing`,
    modelNotListed: (model: string, host: string, closest: readonly string[], listed: number) =>
      `openai.model "${model}" is not among the models ${host} lists: ${closest.join(', ')}` +
      `${listed > closest.length ? ` and ${listed - closest.length} more` : ''}; fix openai.model (or GISBOT_MODEL)`,
    wsOk: (host: string) => `connected to ${host}`,
    wsOff: 'notifications off (websocket.url is not set)',
    telegramOff: 'Telegram cards off (telegram.botToken is not set)',
    telegramOk: (username: string, host: string) => `the token works: @${username} at ${host}`,
    telegramChat: (title: string, type: string) => `reachable: ${title || '(no title)'} (${type})`,
    telegramChatUnreachable: (error: string) =>
      `${error}: the person must send /start to the bot, or the group must add it (README, Approving from Telegram)`,
    telegramNoChats: 'telegram.chatIds is empty: no card is sent anywhere (README, Approving from Telegram, tells how to find a chat id)',
    wsFailed: (host: string, error: string) => `cannot connect to ${host}: ${error}`,
    wsRefused: (host: string, status: number) =>
      `${host} refused the connection with HTTP ${status}${status === 401 || status === 403 ? ' (check websocket.token)' : ''}`,
    wsAcknowledged: (host: string) => `${host} acknowledged a probe event`,
    wsUnacknowledged: (host: string, seconds: number) =>
      `${host} did not acknowledge a probe event within ${seconds} s: with websocket.ack every event would wait and be sent again`,
    wsPonged: (host: string) => `connected to ${host}; it answers pings (the proof of delivery without websocket.ack)`,
    promptOk: (file: string) => `${file} is readable`,
    promptEmpty: (file: string) => `${file} is empty`,
  },
  doctor: {
    checking: 'checking the services…',
    config: (source: string | null) => (source ? `config: ${source}` : 'config: defaults and the environment (no config file found)'),
    allGood: (count: number) => `all ${count} checks passed`,
    failed: (count: number) => `${count} check${count === 1 ? '' : 's'} failed`,
    /** A failed check's line: its detail (the service's own words, English, as --json keeps them), said first in the reader's words by its code. */
    failure: (_code: string, detail: string) => detail,
  },
  init: {
    needsTerminal: 'init asks questions, and this is not a terminal',
    needsTerminalHint: () => `run it on a terminal, or: cp ${shipped('.gisbotrc.example')} .gisbotrc && chmod 600 .gisbotrc`,
    existing: (file: string) => `${file} exists. What now?`,
    addBusiness: 'Add a business to it (an agency serves several)',
    notEditable: 'init writes only .gisbotrc, YAML or JSON files',
    replace: 'Replace it',
    keep: 'Leave it as it is',
    addIntro: (file: string, moving: string | null) =>
      `Adding a business to ${file}: its 2GIS login is checked, then the file is written.` +
      (moving ? ` The business set up there now becomes businesses.${moving}.` : ''),
    businessId: 'Business id (a-z, 0-9 and -, e.g. dental-7; it names the business for good)',
    idTaken: (id: string) => `business ${id} is in the config already`,
    businessName: 'Business name (as its cards and reports show it)',
    loginTaken: (owner: string) => `business ${owner} uses this 2GIS login already: a business is its own 2GIS account`,
    businessAdded: (id: string, file: string) => `added business ${id} to ${file} (readable only by you)`,
    moved: 'the business set up before is now businesses.default: its login, branches, prompt and chats went with it',
    renameVariable: (old: string, now: string) => `${old} no longer applies now that the config lists businesses: set ${now} instead`,
    backup: (file: string) => `the previous file is kept as ${file}`,
    businessNext: (command: string) => `Top up its balance, then it is served like the others: ${command}`,
    cancelled: 'cancelled: nothing changed',
    intro: (file: string) => `Setting up gisbot: each service is checked as you go, then ${file} is written.`,
    required: 'an answer is needed',
    secretFromEnv: (message: string, variable: string) => `${message} (empty: keep using ${variable}, not written to the file)`,
    checking: (name: string) => `checking ${name}…`,
    again: 'Enter these settings again?',
    twogisLogin: '2GIS cabinet login',
    twogisPassword: '2GIS cabinet password',
    modelUrl: 'Model endpoint (OpenAI or any compatible server)',
    modelKey: 'Model API key',
    modelName: 'Model',
    databaseUrl: 'Database (mysql://user@host:3306/db, the password comes next; or sqlite:<path>)',
    databaseFormat: 'write mysql://user@host:3306/db or sqlite:<path>',
    databasePassword: (user: string) => `Database password for ${user}`,
    keepCurrent: (message: string) => `${message} (empty: keep the current one)`,
    noneIfEmpty: (message: string) => `${message} (empty: none)`,
    wsUrl: 'WebSocket URL for notifications (empty: none)',
    wsToken: 'WebSocket token (empty: none)',
    approval: 'Reviews rated below this wait for you (0: answer all)',
    approvalFormat: 'a whole number from 0 to 6',
    language: 'Language gisbot writes to you in: the terminal, Telegram cards, reports (ru or en; cron has no locale, so it goes into the file)',
    languageFormat: 'ru or en',
    /** Adding a business: its own language, for its owner (the terminal keeps its own). */
    businessLanguage: "Language gisbot writes to this business's owner in: its Telegram cards, digest and report (ru or en; written into the file, as cron has no locale)",
    badUrl: (protocols: readonly string[]) => `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL`,
    header: (date: string) =>
      `gisbot configuration, written by gisbot init on ${date}.\nIt may hold secrets: keep it private (chmod 600). See ${shippedFile('.gisbotrc.example')} for every key.`,
    written: (file: string) => `wrote ${file} (readable only by you)`,
    someFailed: `some checks failed: fix the settings above, then run ${gisbotCommand} doctor`,
    next: (command: string) => `Top up with ${gisbotCommand} balance add <amount>, then start answering: ${command}`,
  },
  demo: {
    /** What each seeded review shows (sandbox/demo-world.ts's `kind`, the same in --json), and its id. */
    kind: (kind: string) => kind,
    review: (id: string) => `review ${id}`,
    starting: 'starting a pretend 2GIS, a model and a WebSocket receiver on 127.0.0.1…',
    cycling: 'running one cycle: intake, drafting, the reply gate, posting, settling…',
    badBalance: (text: string) => `--balance: not an amount: ${JSON.stringify(text)}`,
    intro: (reviews: number, branches: number) =>
      `A pretend coffee business on 2GIS: ${branches} branches, ${reviews} reviews, one cycle of gisbot. The demo model obeys\n` +
      'whatever a review tells it to, so you can watch the reply gate hold such answers back for a person.',
    noText: '(a rating without text)',
    answered: (charged: string) => `✓ answered, charged ${money(charged)}:`,
    skipped: (reason: string) => `– skipped: ${reason}`,
    waiting: (reason: string) => `? waits for you: ${reason}`,
    rules: (rules: readonly string[]) => `(gate rules: ${rules.join(', ')})`,
    othersAlike: 'the next drafts, regenerated with these reasons, were refused too',
    failed: (reason: string) => `✗ failed: ${reason}`,
    queuedReason: 'the balance ran out before its turn',
    queued: '… not answered yet: the balance ran out before its turn',
    unfinished: (state: string) => `✗ left unfinished (${state})`,
    balanceLabel: 'Balance',
    arithmetic: (before: string, answers: number, price: string, after: string) =>
      `${money(before)} before − ${answers} answer${answers === 1 ? '' : 's'} × ${money(price)} = ${money(after)} after`,
    ledgerAgrees: '✓ the ledger agrees',
    ledgerDisagrees: '✗ the ledger does not agree',
    ranOut: 'the balance ran out: gisbot stopped answering (a real run exits 3 and sends balance.insufficient)',
    businessesLabel: 'Businesses',
    businessesIntro: (count: number) =>
      `${count} in one database and one worker pool, each its own 2GIS account and balance (gisbot businesses lists them):`,
    sideBySide: (before: string, answers: number, price: string, after: string) => `${before} − ${answers} × ${price} = ${after}`,
    businessOutcomes: (outcomes: Record<string, number>) =>
      [
        `${outcomes.answered ?? 0} answered`,
        ...((outcomes.waiting ?? 0) > 0 ? [`${outcomes.waiting} wait for you`] : []),
        ...((outcomes.skipped ?? 0) > 0 ? [`${outcomes.skipped} skipped`] : []),
        ...((outcomes.queued ?? 0) > 0 ? [`${outcomes.queued} not reached`] : []),
      ].join(' · '),
    businessRanOut: 'its balance ran out; the other answered on',
    eventsLabel: 'Events ',
    eventsTable: (count: number) => `${count} in the events table`,
    logLines: (count: number, file: string) => `${count} lines in ${file}`,
    removed: '(removed)',
    frames: (count: number, url: string) => `${count} WebSocket frames received at ${url}`,
    telegramLabel: 'Telegram',
    telegramCards: (count: number) =>
      `${count} card${count === 1 ? '' : 's'} went to the owner's chat of a pretend Telegram, one per review that waits; the first, as the chat shows it:`,
    summaryLabel: 'Reviews',
    summary: (
      total: number,
      counts: { answered: number; skipped: number; waiting: number; failed: number; queued: number; unfinished: number },
      seconds: number,
    ) =>
      [
        `${total}: ${counts.answered} answered`,
        `${counts.skipped} skipped`,
        `${counts.waiting} wait for you`,
        `${counts.failed} failed`,
        ...(counts.queued > 0 ? [`${counts.queued} not reached (the balance ran out)`] : []),
        ...(counts.unfinished > 0 ? [`${counts.unfinished} left unfinished`] : []),
      ].join(' · ') + ` (${seconds.toFixed(1)} s)`,
    nothingLeft: 'Nothing is left behind: the temporary database, log, config and HTML report are gone (--keep keeps them, and prints where).',
    reportLabel: 'Report',
    kept: (folder: string) => `Kept in ${folder}: the SQLite database, the log file and the config.`,
    keptTry: (config: string, businessId: string) =>
      `look around with: ${gisbotCommand} --config ${shellWord(config)} businesses   (or logs; balance history --business ${businessId}; reply --business ${businessId})`,
    next: `Next: answer your own reviews: ${gisbotCommand} init (or a .gisbotrc by hand), then ${gisbotCommand} run. See the README.`,
    problemMoney: 'the balance, the charges and the answers do not add up',
    problemUnfinished: (id: string) => `review ${id} was left in work`,
    problemFrames: (frames: number, events: number) => `${frames} WebSocket frames arrived for ${events} events`,
  },
  editor: {
    fallback: (editor: string) =>
      `opening ${editor}, as neither $VISUAL nor $EDITOR is set${editor === 'vi' ? ' (save and quit with Esc :wq, leave without saving with :cq)' : ''}; to choose another: export EDITOR=nano (or code --wait, …)`,
    abandoned: (ended: number | string) =>
      typeof ended === 'number' ? `editor exited with status ${ended}, nothing saved` : `editor was stopped by ${ended}, nothing saved`,
  },
  telegram: {
    failed: (error: string) => `Telegram: ${error}; the cards wait in the database for the next run`,
    /** `run`'s line, once, when Telegram fails; answering goes on. */
    down: (error: string, hint: string | undefined) => `Telegram: ${error}${hint ? ` (${hint})` : ''}; answering goes on, the cards wait in the database`,
    chatRefuses: (chatId: string, error: string) =>
      `Telegram chat ${chatId} takes no messages from the bot (${error}): skipped; start the bot there again (/start, or add it to the group), or take the chat out of telegram.chatIds`,
    chatMoved: (chatId: string, movedTo: string, error: string) =>
      `Telegram chat ${chatId} became a supergroup with id ${movedTo} (${error}): put ${movedTo} in telegram.chatIds in place of ${chatId}`,
    onlyOne: (id: string, others: readonly string[]) =>
      `Telegram: this process serves business ${id} only, and the bot is also ${others.join(', ')}'s: a press from their chats is refused here; serve every business of the bot from one run (no --business)`,
    // The card, as the owner reads it in Telegram.
    waits: (reason: string) => `Waits for you: ${reason}`,
    draft: 'Draft',
    draftFromTemplate: (note: string) => `Draft from your template ${note}`,
    editedBy: (name: string) => `Answer written by ${name}`,
    noDraft: (why: string) => `No draft: ${why}`,
    gateOk: '✅ The gate lets it through',
    gateRefuses: (problems: readonly string[]) => `⛔ The gate refuses it: ${problems.join('; ')}`,
    instruction: (text: string) => `✏️ For the next draft: ${text}`,
    sent: (by: string, at: string, charged: string) => `✅ Sent by ${by} at ${at}, charged ${money(charged)}`,
    elsewhere: (state: string, reason: string | null) =>
      state === 'posted' ? '☑️ Answered elsewhere (in the terminal or by gisbot)' : `☑️ No longer waits: ${state}${reason ? ` (${reason})` : ''}`,
    reviewLine: (id: string) => `review ${id}`,
    /** Ends a text cut to fit the card; `more` counts the characters left out. */
    cut: (more: number) => `… (cut: ${String(more).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} more characters)`,
    anonymous: '(no name)',
    noText: '(a rating without text)',
    buttons: { send: 'Send', regenerate: 'Regenerate', edit: 'Edit', skip: 'Skip', complain: 'Complain' },
    looksLike: (kind: string, evidence: string, canComplain: boolean) =>
      `💡 Looks like: not our customer (${LOOKS_LIKE[kind] ?? kind}: "${evidence}"). ${canComplain ? 'If it is, press Complain instead of answering' : 'If it is, you may skip it'}: you decide.`,
    // What a press or a message is told.
    notices: {
      sent: (charged: string, balance: string) => `Sent: charged ${money(charged)}, balance ${money(balance)}`,
      alreadyAnswered: 'Already answered',
      inWork: 'Already being answered right now',
      answeredElsewhere: (reason: string | null) => `Already answered elsewhere${reason ? `: ${reason}` : ''}`,
      changed: 'The card changed meanwhile: look at it again',
      refused: (problems: readonly string[]) => `Not sent, the gate refuses it: ${problems.join('; ')}`,
      insufficient: 'Not sent: the balance is too low (top up with gisbot balance add)',
      notPosted: (reason: string) => `Not posted: ${reason}`,
      /** The post went out unseen: the service's own detail (English as it said it) in brackets. */
      fateUnknown: (detail: string) => `Not posted: its fate is unknown (${detail}); gisbot reads it back and never posts twice`,
      /** A service failed before anything was posted: its own detail, when it said one. */
      serviceFailed: (detail: string | null) => `Not posted: ${detail ?? 'a service failed before anything was posted; try again later'}`,
      /** No draft on the card to send: why the model made none (its own detail), when known. */
      noDraft: (detail: string | null) => `Not sent, the gate refuses it: ${detail ?? 'there is no draft'}`,
      redrafted: 'A new draft is on the card',
      draftFailed: (reason: string) => `No new draft: ${reason}`,
      editAsked: 'Reply to the card with your answer: it is shown there, with the gate\'s verdict, before you send it',
      editTaken: (problems: readonly string[]) =>
        problems.length === 0 ? 'Your answer is on the card: press Send to post it' : `Your answer is on the card, but the gate refuses it: ${problems.join('; ')}`,
      instructionTaken: 'Noted: press Regenerate to draft again with it',
      skipped: (id: string) => `Skipped: the review keeps waiting (gisbot reply ${id})`,
      unknownCard: 'gisbot does not know this card',
      notAllowed: 'This chat may not act on gisbot\'s cards',
      wrongMessage: 'Not done: this button is not on the card it belongs to',
      complaintAsked: 'Reply to the card with why the review is fake (a competitor, never a customer…): that reply is sent to 2GIS as the complaint',
      complaint: (status: 'sent' | 'already_sent' | 'outcome_unknown') =>
        status === 'sent'
          ? 'Complaint sent to 2GIS; the review left the waiting list (it can still be answered with gisbot reply)'
          : status === 'already_sent'
            ? 'This review has a complaint already: nothing sent again'
            : 'The complaint was sent but its outcome was not seen: look at the review in the 2GIS cabinet; it is not sent again by itself',
      complaintRefused: (why: 'empty' | 'too_long' | 'gone' | 'not_allowed', length: number, detail: string | null) =>
        `No complaint sent: ${
          why === 'empty'
            ? 'the reason is empty'
            : why === 'too_long'
              ? `the reason is ${length} characters, at most 2,000`
              : why === 'gone'
                ? 'the review is no longer on 2GIS'
                : `2GIS does not let the owner complain about this review${detail ? ` (${detail})` : ''}`
        }`,
      yourMessage: 'message',
      notActed: (what: string, reason: string) => `Your ${what} was not acted on: ${reason}. Press or write again`,
      /** Why an update was given up on, by its code (ports.ts, NotActedWhy): English says the update's `reason`. */
      notActedReason: (_why: string | null, reason: string) => reason,
    },
    superseded: 'Sent again below (/waiting): act on that copy',
    // The owner's panel: answers to commands typed in a chat, alerts and the weekly digest (plain text, no links).
    panel: {
      chatId: (chatId: string, allowed: boolean, business: string | null) =>
        allowed
          ? `This chat's id is ${chatId}. It is allowed${business ? ` for ${business}` : ''}: cards come here; /balance, /stats [7d|30d], /waiting`
          : `This chat's id is ${chatId}. It is not allowed: to get cards and alerts here, add "${chatId}" to telegram.chatIds`,
      // The agency's staff chats (top-level telegram.chatIds beside businesses:): every business's, each named.
      chatIdStaff: (chatId: string) =>
        `This chat's id is ${chatId}. It is the agency's staff chat: every business's cards and alerts come here, each naming its business; /balance, /stats [7d|30d] [business id], /waiting [business id]`,
      ofBusiness: (business: string) => `🏢 ${business}`,
      businessLine: (business: string, text: string) => `🏢 ${business}: ${text}`,
      statsLine: (reviews: number, answered: number, waiting: number, charged: string) =>
        `${reviews} review${reviews === 1 ? '' : 's'}, ${answered} answered, ${waiting} waiting, charged ${money(charged)}`,
      moreBusinesses: (more: number) => `${more} more businesses: /stats <business id> shows one`,
      balance: (balance: string, held: string) => `Balance ${money(balance)}, held for answers in progress ${money(held)}`,
      statsTitle: (days: number) => `The last ${days} days`,
      digestTitle: (from: string, to: string) => `The week ${from} – ${to}`,
      figures: {
        reviews: 'Reviews',
        answered: 'Answered',
        byPerson: 'by a person',
        answeredElsewhere: 'Answered elsewhere',
        waiting: 'Waiting',
        skipped: 'Skipped',
        failed: 'Failed',
        replyRate: 'Reply rate',
        medianMinutesToAnswer: 'Median minutes to answer',
        averageRating: 'Average rating',
        charged: 'Charged',
      },
      none: '—',
      topics: (topics: readonly string[]) => `Recurring complaints: ${topics.join(', ')}`,
      digestBalance: (balance: string) => `Balance ${money(balance)}`,
      waiting: (shown: number, more: number) =>
        shown === 0 ? 'Nothing waits for you' : `The ${shown} oldest reviews waiting for you, below${more > 0 ? `; ${more} more wait` : ''}`,
      unknownCommand: (command: string) => `Not a command here: ${command}. Try /balance, /stats 7d, /stats 30d, /waiting`,
      alerts: {
        balanceLow: (balance: string, threshold: string) => `Low balance: ${money(balance)}, below ${money(threshold)}. Top up with gisbot balance add`,
        insufficient: (balance: string, price: string) => `Answering stopped: ${money(balance)} left, an answer costs ${money(price)}. Top up with gisbot balance add`,
        complaint: (topic: string, count: number) => `Recurring complaint: "${topic}" in ${count} reviews`,
        authFailed: (error: string, tokenExpired: boolean) =>
          tokenExpired
            ? `2GIS no longer takes the sign-in token: answering stopped. Take a fresh one from the cabinet (README) and set twogis.accessToken`
            : `2GIS refused the sign-in: answering stopped (${error})`,
        reminder: (reviewId: string, branch: string, rating: number, hours: number) =>
          `A ${rating}★ review at ${branch} has waited for you over ${hours} h (gisbot reply ${reviewId}, or /waiting)`,
      },
    },
  },
  binding: {
    /** One line: whose database this business is, what the config says, and the way out. */
    otherAccount: (businessId: string, boundLogin: string | null, configuredLogin: string | null) =>
      `business ${businessId} is bound in this database to the 2GIS account ${boundLogin ?? '(signed in with a token)'}, ` +
      `but the config signs in as ${configuredLogin ?? '(a token)'}: nothing was done; give this account its own database ` +
      `(a separate database.url) or a businesses: entry of its own`,
    sameAccount: (businessId: string, otherBusiness: string, login: string | null) =>
      `business ${businessId} signs in to the 2GIS account ${login ?? '(a token)'}, which business ${otherBusiness} of this database ` +
      `already serves: nothing was done; one 2GIS account is one business (remove one of them from businesses:)`,
  },
  /** The line each event gets on stderr while a command runs (console-log.ts). */
  gate: {
    /**
     * One of the reply gate's problems with a draft (core/drafting/gate.ts), as a person reads it: the gate's own
     * English is this catalogue's wording (the Russian one words it again from the rule and its params).
     */
    problem: (problem: FoundProblem): string => problem.message,
  },
  console: {
    /**
     * Why a review was skipped or waits, by the event's `data.code` (core/answering/policy.ts, ReasonCode): English shows the
     * event's own words (`prose`); another language says it in its words, and the prose where it knows no code.
     */
    reason: (_code: string | undefined, prose: string, _followUpCode?: string) => prose,
    review: (id: string) => ` review ${id}`,
    answered: '✓ answered',
    posted: (charged: string, balance: string) => `charged ${money(charged)}, balance ${money(balance)}`,
    skipped: '– skipped',
    waits: '? waits for you',
    failed: '✗ failed',
    balanceLow: '! balance low',
    lowDetail: (balance: string, threshold: string) => `${money(balance)} (below ${money(threshold)})`,
    insufficient: '! balance insufficient',
    insufficientDetail: (balance: string, price: string) => `${money(balance)} available, ${money(price)} needed`,
    authFailed: '! 2GIS login failed',
    recurring: (branch: string) => `! recurring complaint at branch ${branch}`,
    warn: 'warn',
    error: 'error',
    /** A log line's message (the core writes it in English, as the log file keeps it), as the terminal shows it. */
    logMessage: (message: string) => message,
  },
  errors: {
    /** What starts an error line and its hint on stderr. */
    label: 'error:',
    hintLabel: 'hint:',
    /** A service failure's hint, as the adapter wrote it (English, kept so for programs), in the reader's words. */
    hint: (hint: string) => hint,
    /** An error's message written in English where it is met (the core, the store), in the reader's words. */
    message: (text: string) => text,
    /** An error that says what it is by a code (errors.ts, ErrorSaid): English is the error's own message. */
    said: (_said: ErrorSaid, english: string) => english,
    /**
     * What a service's failure is, before its own (English) detail: English says it in the detail already (''),
     * another language says it in its words first.
     */
    service: (_service: string, _kind: string) => '',
    unexpected: 'unexpected error',
    debugHint: 'run again with --debug for details',
  },
} as const;

/**
 * A catalogue's shape: the English one's keys and functions, with its texts widened to `string` (the Russian
 * catalogue says other words, in the same places, with the same arguments).
 */
type Widened<T> = T extends string
  ? string
  : T extends (...args: infer A) => infer R
    ? (...args: A) => Widened<R>
    : T extends readonly (infer U)[]
      ? readonly Widened<U>[]
      : T extends object
        ? { readonly [K in keyof T]: Widened<T[K]> }
        : T;
export type Catalogue = Widened<typeof en> & { readonly language: UiLanguage };

const catalogues: Readonly<Record<UiLanguage, Catalogue>> = { en, ru };

/** The catalogue of `language`: for what a business reads (its cards, digest and report) in its own language. */
export function messagesFor(language: UiLanguage): Catalogue {
  return catalogues[language];
}

/**
 * The terminal's catalogue. A live binding: `useLanguage` (cli.ts, once the language is known) switches what every
 * module that imported it reads from then on.
 */
export let messages: Catalogue = en;

export function useLanguage(language: UiLanguage): void {
  messages = catalogues[language];
}

/** The terminal's language. */
export function currentLanguage(): UiLanguage {
  return messages.language;
}
