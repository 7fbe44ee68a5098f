// Every sentence gisbot says to a person, in one place.
import path from 'node:path';

export const messages = {
  config: {
    fixHint: (file: string | null) => (file ? `fix ${file} or the environment variable named` : 'see .gisbotrc.example'),
    secretsReadable: (file: string, keys: readonly string[], mode: number) =>
      `${file}: holds secrets (${keys.join(', ')}) but is readable by group or others (mode ${mode.toString(8)})`,
    chmodHint: (file: string) => `run: chmod 600 ${path.basename(file) === file ? file : JSON.stringify(file)}`,
    required: (key: string, variable: string | null) =>
      `${key}: required${variable ? ` (set it in the config file or ${variable})` : ''}`,
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
    cycleFailed: (reason: string) => `cycle failed: ${reason}; trying again next cycle`,
  },
  notify: {
    undelivered: (count: number) =>
      `${count} event${count === 1 ? '' : 's'} not delivered over the WebSocket yet: kept in the outbox and sent again later (gisbot logs --pending)`,
    refused: (reason: string) => `notifications stopped: ${reason}; check websocket.url and websocket.token (gisbot doctor)`,
  },
  cycle: {
    insufficient: 'stopped answering: the balance does not cover another answer',
    insufficientHint: 'top up with: gisbot balance add <amount>',
    failedHint: 'see the lines above, or: gisbot logs',
  },
  balance: {
    badAmount: (text: string) => `not an amount: ${JSON.stringify(text)}`,
    badAmountHint: 'write it like 100 or 100.50 (a dot, at most two decimals, no sign)',
    zeroAmount: 'the amount must be more than 0.00',
    confirmTopUp: (amount: string, after: string) => `Add ${amount} to the balance (it becomes ${after})?`,
    needsYes: 'balance add changes money: confirm with --yes when not on a terminal',
    cancelled: 'cancelled: nothing was added',
    low: (balance: string, threshold: string) => `the balance ${balance} is below ${threshold}`,
    added: (amount: string) => `added ${amount}`,
    held: (amount: string) => `${amount} held for answers in progress`,
  },
  history: {
    empty: 'the ledger is empty: top up with gisbot balance add <amount>',
    emptySince: (time: string) => `no ledger entries since ${time}`,
  },
  input: {
    badSince: (text: string) => `--since: not a time: ${JSON.stringify(text)}`,
    sinceHint: 'write a span like 15m, 2h or 3d, or an ISO time like 2026-01-31 or 2026-01-31T09:00Z',
    badLimit: (text: string, max: number) => `--limit: not a whole number from 1 to ${max}: ${JSON.stringify(text)}`,
  },
  reply: {
    anonymous: '(no name)',
    noText: '(a rating without text)',
    waitsBecause: (reason: string) => `waits for you: ${reason}`,
    draftHeading: 'draft',
    editedHeading: 'your edit',
    gateOk: 'the gate lets it through',
    gateRefuses: (problems: readonly string[]) => `the gate refuses it: ${problems.join('; ')}`,
    sendOrDryRun: '--send and --dry-run contradict each other: choose one',
    jsonNeedsFlag: 'reply --json cannot ask what to do: add --send or --dry-run',
    needsTerminal: 'reply asks what to do with the draft, and this is not a terminal',
    flagHint: (id: string) => `add --dry-run to see a draft, or --send to post it: gisbot reply ${id} --send`,
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
    queueHint: 'answer one with: gisbot reply <review>',
    posted: (id: string, charged: string, balance: string) => `answered review ${id}: charged ${charged}, balance ${balance}`,
    dryRun: 'dry run: nothing was posted, charged or recorded',
    skipped: (id: string) => `skipped: review ${id} still waits for you`,
    refused: (problems: readonly string[]) => `not sent, the gate refuses it: ${problems.join('; ')}`,
    notPosted: (reason: string) => `not posted: ${reason}`,
  },
  prompt: {
    needsTerminal: 'prompt edit opens an editor, and this is not a terminal',
    editHint: (file: string) => `edit ${file} directly: gisbot records the new text as a version before its next answer`,
    editing: (file: string) => `Editing ${file}`,
    badVersion: (text: string) => `not a version number: ${JSON.stringify(text)}`,
    noSuchVersion: (version: number) => `there is no prompt version ${version}`,
    historyHint: 'see the versions with: gisbot prompt history',
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
    badType: (type: string) => `--type: no such event type: ${JSON.stringify(type)}`,
    typeHint: (types: readonly string[]) => `one of: ${types.join(', ')}`,
    following: 'waiting for new events… (Ctrl-C stops)',
    none: 'no events yet',
    noneMatching: 'no events match',
    posted: (charged: string, balance: string, text: string) => `charged ${charged}, balance ${balance}: ${text}`,
    low: (balance: string, threshold: string) => `balance ${balance} is below ${threshold}`,
    insufficient: (balance: string, price: string) => `${balance} available, ${price} needed`,
    pendingAlone: (flags: readonly string[]) => `--pending lists the outbox and takes only --limit, not ${flags.join(', ')}`,
    nonePending: 'every event has been delivered: the outbox is empty',
    dueNow: 'now',
    pendingTotal: (total: number, shown: number) =>
      `${total} event${total === 1 ? '' : 's'} wait${total === 1 ? 's' : ''} in the outbox${shown < total ? ` (the oldest ${shown} shown)` : ''}`,
  },
  checks: {
    notSet: (key: string) => `${key} is not set`,
    databaseOk: (where: string) => `connected to ${where} and migrated`,
    twogisOk: (login: string, host: string) => `logged in as ${login} at ${host}`,
    modelAnswered: (model: string, host: string) => `${model} at ${host} answered`,
    modelSilent: (model: string) => `${model} answered with nothing`,
    wsOk: (host: string) => `connected to ${host}`,
    wsOff: 'notifications off (websocket.url is not set)',
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
  },
  init: {
    needsTerminal: 'init asks questions, and this is not a terminal',
    needsTerminalHint: 'run it on a terminal, or: cp .gisbotrc.example .gisbotrc && chmod 600 .gisbotrc',
    overwrite: (file: string) => `${file} exists. Replace it?`,
    cancelled: 'cancelled: nothing was written',
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
    databaseUrl: 'Database (mysql://user:pass@host:3306/db or sqlite:<path>)',
    databaseFormat: 'write mysql://user:pass@host:3306/db or sqlite:<path>',
    wsUrl: 'WebSocket URL for notifications (empty: none)',
    wsToken: 'WebSocket token (empty: none)',
    approval: 'Reviews rated below this wait for you (0: answer all)',
    approvalFormat: 'a whole number from 0 to 6',
    badUrl: (protocols: readonly string[]) => `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL`,
    header: (date: string) =>
      `gisbot configuration, written by gisbot init on ${date}.\nIt may hold secrets: keep it private (chmod 600). See .gisbotrc.example for every key.`,
    written: (file: string) => `wrote ${file} (readable only by you)`,
    someFailed: 'some checks failed: fix the settings above, then run gisbot doctor',
    next: (command: string) => `Top up with gisbot balance add <amount>, then start answering: ${command}`,
  },
  demo: {
    starting: 'starting a pretend 2GIS, a model and a WebSocket receiver on 127.0.0.1…',
    cycling: 'running one cycle: intake, drafting, the reply gate, posting, settling…',
    badBalance: (text: string) => `--balance: not an amount: ${JSON.stringify(text)}`,
    intro: (reviews: number, branches: number) =>
      `A pretend coffee business on 2GIS: ${branches} branches, ${reviews} reviews, one cycle of gisbot. The demo model obeys\n` +
      'whatever a review tells it to, so you can watch the reply gate hold such answers back for a person.',
    noText: '(a rating without text)',
    answered: (charged: string) => `✓ answered, charged ${charged}:`,
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
      `${before} before − ${answers} answer${answers === 1 ? '' : 's'} × ${price} = ${after} after`,
    ledgerAgrees: '✓ the ledger agrees',
    ledgerDisagrees: '✗ the ledger does not agree',
    ranOut: 'the balance ran out: gisbot stopped answering (a real run exits 3 and sends balance.insufficient)',
    eventsLabel: 'Events ',
    eventsTable: (count: number) => `${count} in the events table`,
    logLines: (count: number, file: string) => `${count} lines in ${file}`,
    removed: '(removed)',
    frames: (count: number, url: string) => `${count} WebSocket frames received at ${url}`,
    summaryLabel: 'Reviews',
    summary: (total: number, counts: { answered: number; skipped: number; waiting: number; failed: number }, seconds: number) =>
      `${total}: ${counts.answered} answered · ${counts.skipped} skipped · ${counts.waiting} wait for you · ${counts.failed} failed (${seconds.toFixed(1)} s)`,
    nothingLeft: 'Nothing was left behind: the temporary database, log and config are gone (--keep keeps them).',
    kept: (folder: string) => `Kept in ${folder}: the SQLite database, the log file and the config.`,
    keptTry: (config: string) => `look around with: gisbot --config ${config} logs   (or balance history, reply)`,
    next: 'Next: answer your own reviews: gisbot init (or a .gisbotrc by hand), then gisbot run. See the README.',
    problemMoney: 'the balance, the charges and the answers do not add up',
    problemUnfinished: (id: string) => `review ${id} was left in work`,
    problemFrames: (frames: number, events: number) => `${frames} WebSocket frames arrived for ${events} events`,
  },
  errors: {
    unexpected: 'unexpected error',
    debugHint: 'run again with --debug for details',
  },
} as const;
