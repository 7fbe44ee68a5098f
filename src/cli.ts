// The commander table: every command, flag and example lives here. Command modules are imported only when
// their command runs, so `gisbot --help` and cron start-ups stay cheap.
import { Command, CommanderError, Help, Option } from 'commander';
import { StopSignals } from './adapters/process/signals.ts';
import type { Business, BusinessScope } from './config/businesses.ts';
import type { Config } from './config/load.ts';
import type { Context, ContextNeeds } from './context.ts';
import { ExitCode, GisbotError, InterruptedError, UsageError } from './errors.ts';
import { errorLines } from './ui/error-text.ts';
import type { Redact } from './redact.ts';
import { commanderErrorRu, localizeHelp } from './ui/help.ru.ts';
import { isLanguage, langFlag, setCurrency, terminalLanguage } from './ui/language.ts';
import { currentLanguage, messages, useLanguage } from './ui/messages.ts';
import { Output } from './ui/output.ts';
import { shownText } from './ui/shown-text.ts';
import type { Prompter } from './ui/prompter.ts';

interface GlobalOptions {
  config?: string;
  business?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  lang?: string;
}

/** Runs the CLI and returns the exit code; bin/gisbot.ts sets it. Nothing here exits the process. */

/**
 * Global flags a command has no use for, left out of its --help: the demo reads no config and serves its own
 * pretend business; init asks its questions on a terminal and adds a business by asking for it.
 */
const GLOBAL_OPTIONS_IGNORED: Readonly<Record<string, readonly string[]>> = {
  demo: ['--config', '--business'],
  init: ['--json', '--business'],
};
export async function main(argv: readonly string[]): Promise<number> {
  // The language is known before anything is said: --lang, else the locale; a command that reads the config may
  // still switch to its ui.language (Session.execute). --help and commander's errors go by the first two.
  useLanguage(terminalLanguage(langFlag(argv), undefined, process.env));
  const session = new Session(argv);
  const program = buildProgram(session);
  if (currentLanguage() === 'ru') localizeHelp(program);
  try {
    const flag = langFlag(argv);
    if (flag !== undefined && !isLanguage(flag)) throw new UsageError(messages.input.badLang(flag));
    await program.parseAsync(promptVersionFlag(argv));
    return session.exitCode;
  } catch (error) {
    return session.fail(error);
  }
}

/** The command table as `--help` shows it in `language` (for the test that every command and flag has its Russian words). */
export function helpProgram(language: 'ru' | 'en'): Command {
  const program = buildProgram(new Session([]));
  if (language === 'ru') localizeHelp(program);
  return program;
}

/**
 * `prompt show --version N` names a prompt version, but commander reads `--version` anywhere on the line as the
 * program's own flag: after `prompt show` it is passed on as `--prompt-version`.
 */
function promptVersionFlag(argv: readonly string[]): string[] {
  const at = argv.findIndex((arg, index) => arg === 'prompt' && argv[index + 1] === 'show');
  if (at < 0) return [...argv];
  return argv.map((arg, index) => (index <= at + 1 ? arg : arg.replace(/^--version(?==|$)/, '--prompt-version')));
}

class Session {
  exitCode: number = ExitCode.ok;
  output: Output;
  #redact: Redact = (text) => text;

  constructor(argv: readonly string[]) {
    this.output = new Output({ json: argv.includes('--json'), quiet: argv.includes('--quiet'), debug: argv.includes('--debug') });
  }

  /**
   * Loads the config, picks the businesses the command works on (`--business`, by its scope), builds the context,
   * runs one command function, renders its result. With one business picked, the context's config is that
   * business's effective config: the command serves it as it would a single-business config.
   */
  async execute<M extends { render: (result: never, output: Output) => void }, R>(
    command: Command,
    scope: BusinessScope,
    needs: ContextNeeds,
    load: () => Promise<M>,
    work: (ctx: Context, module: M, businesses: readonly Business[]) => Promise<R>,
  ): Promise<void> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    this.output = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), debug: Boolean(globals.debug) });
    const [{ loadConfig }, { businessesOf, selectBusinesses }, { createContext }, module] = await Promise.all([
      import('./config/load.ts'),
      import('./config/businesses.ts'),
      import('./context.ts'),
      load(),
    ]);
    const config: Readonly<Config> = await loadConfig(globals.config ? { file: globals.config } : {});
    setCurrency(config.billing.currency);
    // --lang > ui.language > the locale: the key of the business the command is about, else the top level's.
    const named = globals.business === undefined ? undefined : businessesOf(config).find((one) => one.id === globals.business);
    useLanguage(terminalLanguage(globals.lang, (named?.config ?? config).ui.language, process.env));
    // doctor --json carries each check's detail as prose: JSON never changes with the language, so it stays English.
    if (globals.json && command.name() === 'doctor') useLanguage('en');
    const businesses = selectBusinesses(businessesOf(config), globals.business, scope);
    // Several businesses served at once: the context is the deployment's, and each business gets its own 2GIS client
    // from its own config (context.ts, businessDeps); one Telegram bot serves them all.
    const together = businesses.length > 1;
    if (together && scope === 'serve' && !needs.servesMany) throw new UsageError(messages.businesses.notYetTogether(businesses.map((one) => one.id)));
    const ctx = await createContext(together ? config : businesses[0]!.config, this.output, together ? { ...needs, twogis: false } : needs);
    this.#redact = ctx.redact;
    try {
      const binding = await import('./commands/binding.ts');
      if (!needs.bindsItself) ctx.store = binding.guardBinding(ctx, Boolean(needs.twogis));
      ctx.store = binding.guardCurrency(ctx.store, config.billing.currency);
      const result = await work(ctx, module, businesses);
      (module.render as (result: R, output: Output) => void)(result, this.output);
      this.exitCode = (result as { exitCode?: number }).exitCode ?? ExitCode.ok;
    } finally {
      await ctx.close();
    }
  }

  /** A command that needs no config and no context (`init` writes the config): the output and a prompter only. */
  async standalone<M extends { render: (result: never, output: Output) => void }, R>(
    command: Command,
    load: () => Promise<M>,
    work: (tools: { output: Output; prompter: Prompter; configFile: string | undefined }, module: M) => Promise<R>,
  ): Promise<void> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    this.output = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), debug: Boolean(globals.debug) });
    const [{ createPrompter }, module] = await Promise.all([import('./ui/prompter.ts'), load()]);
    const result = await work({ output: this.output, prompter: createPrompter(this.output), configFile: globals.config }, module);
    (module.render as (result: R, output: Output) => void)(result, this.output);
    this.exitCode = (result as { exitCode?: number }).exitCode ?? ExitCode.ok;
  }

  /** The one top-level handler: one line (and a hint) on stderr; the stack only with --debug. */
  fail(error: unknown): number {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const c = this.output.colors;
    if (error instanceof GisbotError) {
      if (!(error instanceof InterruptedError)) {
        // A message may quote what a service, a file or the database held.
        for (const line of errorLines(error)) this.output.error(this.#redact(`${c.red(messages.errors.label)} ${shownText(line)}`));
        if (error.hint) this.output.error(this.#redact(`${c.dim(messages.errors.hintLabel)} ${shownText(messages.errors.hint(error.hint))}`));
      }
      if (this.output.debug && error.stack) this.output.error(this.#redact(shownText(error.stack)));
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.output.error(this.#redact(`${c.red(messages.errors.label)} ${messages.errors.unexpected}: ${shownText(message)}`));
    if (this.output.debug && error instanceof Error && error.stack) this.output.error(this.#redact(shownText(error.stack)));
    else this.output.error(`${c.dim(messages.errors.hintLabel)} ${messages.errors.debugHint}`);
    return ExitCode.failed;
  }
}

function buildProgram(session: Session): Command {
  const program = new Command('gisbot')
    .description('Answers 2GIS reviews for your business with an OpenAI-compatible model, billed from a prepaid balance.')
    .version('0.1.0')
    .option('--config <file>', 'use this config file instead of searching for .gisbotrc')
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .option('--quiet', 'print only errors')
    .option('--debug', 'show stack traces')
    .option('--business <id>', 'the business to work on, when the config lists several (businesses:)')
    .option('--lang <ru|en>', 'the language of what people read: ru or en (default ui.language, else the locale of LANG)')
    // Subcommands inherit this: each one's --help lists the flags every command takes (--version is the program's
    // own, and after `prompt show` names a prompt version).
    .configureHelp({
      showGlobalOptions: true,
      visibleGlobalOptions(this: Help, command: Command) {
        const ignored = GLOBAL_OPTIONS_IGNORED[command.name()] ?? [];
        return Help.prototype.visibleGlobalOptions
          .call(this, command)
          .filter((option) => option.long !== '--version' && !ignored.includes(option.long ?? ''));
      },
    })
    .addHelpText(
      'after',
      '\nExamples:\n  $ gisbot demo                       # see it work on a pretend business, nothing to set up\n  $ gisbot init                       # set up your own account\n  $ gisbot poll-once --json           # one cycle, for cron\n  $ gisbot help balance               # more on one command',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(currentLanguage() === 'ru' ? commanderErrorRu(text) : text),
    });

  program
    .command('run')
    .description('poll and answer in a loop until Ctrl-C or SIGTERM')
    .addHelpText('after', '\nExample:\n  $ gisbot run --config /etc/gisbot/.gisbotrc')
    .action(async (_options, command: Command) => {
      // Listened for from the start: a signal that arrives while the config loads is not lost.
      const stop = new StopSignals();
      // SIGHUP, as logrotate's postrotate sends it: the log file is opened again at its path; the work goes on.
      let reopenLog = () => {};
      const hangup = () => reopenLog();
      process.on('SIGHUP', hangup);
      try {
        await session.execute(command, 'serve', { twogis: true, model: true, telegram: true, bindsItself: true, servesMany: true }, () => import('./commands/run.ts'), (ctx, { run }, businesses) => {
          reopenLog = () => ctx.reopenLog();
          return run(ctx, { signal: stop.signal, hurry: stop.hurry }, businesses);
        });
      } finally {
        stop.dispose();
        process.off('SIGHUP', hangup);
      }
    });

  program
    .command('poll-once')
    .description('run one polling cycle and exit (for cron)')
    .addHelpText('after', '\nExample (crontab, every 5 minutes):\n  */5 * * * * gisbot poll-once --json >> /var/log/gisbot.jsonl')
    .action(async (_options, command: Command) => {
      const stop = new StopSignals();
      try {
        await session.execute(command, 'serve', { twogis: true, model: true, telegram: true, bindsItself: true, servesMany: true }, () => import('./commands/poll-once.ts'), (ctx, { pollOnce }, businesses) =>
          pollOnce(ctx, stop, businesses),
        );
      } finally {
        stop.dispose();
      }
    });

  const balance = program
    .command('balance')
    .description('show the prepaid balance and the part held for answers in progress')
    .addHelpText('after', '\nExamples:\n  $ gisbot balance\n  $ gisbot balance add 500 --yes')
    // `balance help [add|history]`, as `prompt help` gives: a command with its own action has no help command otherwise.
    .helpCommand(true)
    .action(async (_options, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/balance.ts'), (ctx, { showBalance }) =>
        showBalance(ctx),
      );
    });

  balance
    .command('add <amount>')
    .description('top up the balance (asks to confirm on a terminal)')
    .option('-y, --yes', 'do not ask for confirmation')
    .allowUnknownOption() // `balance add -3` reaches the amount check and its message, not "unknown option '-3'"
    .addHelpText('after', '\nExample:\n  $ gisbot balance add 100.50 --yes')
    .action(async (amount: string, options: { yes?: boolean }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/balance.ts'), (ctx, { addBalance }) =>
        addBalance(ctx, { amount, yes: Boolean(options.yes) }),
      );
    });

  balance
    .command('adjust <amount>')
    .description('correct the balance by a signed amount, as a ledger entry with its reason (never below zero)')
    .option('--note <text>', 'why: kept in the ledger (required)')
    .option('-y, --yes', 'do not ask for confirmation')
    .allowUnknownOption() // `balance adjust -12.50`: a negative amount, not an unknown option
    .addHelpText('after', '\nExamples:\n  $ gisbot balance adjust -12.50 --note "refund of a wrong top-up" --yes\n  $ gisbot balance adjust +5 --note "goodwill"')
    .action(async (amount: string, options: { note?: string; yes?: boolean }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/balance.ts'), (ctx, { adjustBalance }) =>
        adjustBalance(ctx, { amount, note: options.note, yes: Boolean(options.yes) }),
      );
    });

  balance
    .command('history')
    .description('the ledger: top-ups and charges, newest first')
    .option('--since <when>', 'only entries since 15m, 2h, 3d or an ISO time')
    .option('--limit <n>', 'at most this many entries (default 20)')
    .addHelpText('after', '\nExamples:\n  $ gisbot balance history --since 7d\n  $ gisbot balance history --limit 100 --json > ledger.json')
    .action(async (options: { since?: string; limit?: string }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/balance-history.ts'), (ctx, { balanceHistory }) =>
        balanceHistory(ctx, options),
      );
    });

  program
    .command('reply [reviewId]')
    .description('answer a review yourself: without an id, list the reviews waiting for you')
    .option('--send', 'post the draft without asking (still through the gate, the re-read and the balance)')
    .option('--dry-run', 'only show the draft: post nothing, change nothing')
    .option('--limit <n>', 'with no id: list at most this many reviews (default 50)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ gisbot reply                       # the reviews waiting for you\n  $ gisbot reply 141264987             # draft, then send / edit / regenerate / skip\n  $ gisbot reply 141264987 --dry-run --json',
    )
    .action(async (reviewId: string | undefined, options: { send?: boolean; dryRun?: boolean; limit?: string }, command: Command) => {
      const needs = reviewId === undefined ? {} : { model: true, twogis: !options.dryRun, reviewLines: false };
      await session.execute(command, 'one', needs, () => import('./commands/reply.ts'), (ctx, { reply }) =>
        reply(ctx, { reviewId, send: Boolean(options.send), dryRun: Boolean(options.dryRun), limit: options.limit }),
      );
    });

  program
    .command('complain <reviewId>')
    .description('complain to 2GIS about a review (fake, a competitor, not a customer): sent once, never charged')
    .option('--reason <text>', 'why the review should go: what 2GIS moderators read (required, at most 2,000 characters)')
    .option('--not-a-client', 'the author was never a customer')
    .addHelpText(
      'after',
      '\nExamples:\n  $ gisbot complain 141264987 --reason "we have no terrace; the author was never our guest" --not-a-client\n  $ gisbot complain 141264987 --reason "an ad for another café" --json',
    )
    .action(async (reviewId: string, options: { reason?: string; notAClient?: boolean }, command: Command) => {
      await session.execute(command, 'one', { twogis: true }, () => import('./commands/complain.ts'), (ctx, { complain }) =>
        complain(ctx, { reviewId, reason: options.reason, notAClient: Boolean(options.notAClient) }),
      );
    });

  const prompt = program
    .command('prompt')
    .description('the system prompt: show, edit, history, rollback (every saved version is kept)')
    .addHelpText('after', '\nExamples:\n  $ gisbot prompt edit\n  $ gisbot prompt history\n  $ gisbot prompt rollback 3');
  prompt
    .command('show')
    .description('print the prompt in force, or a saved version')
    .addOption(new Option('--version <n>', 'print this saved version instead').hideHelp(false))
    .addOption(new Option('--prompt-version <n>').hideHelp())
    .addHelpText('after', '\nExamples:\n  $ gisbot prompt show > backup.md\n  $ gisbot prompt show --version 2')
    .action(async (options: { promptVersion?: string }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/prompt.ts'), (ctx, { showPrompt }) =>
        showPrompt(ctx, { version: options.promptVersion }),
      );
    });
  prompt
    .command('history')
    .description('the saved versions, newest first')
    .option('--limit <n>', 'at most this many versions (default 20)')
    .addHelpText('after', '\nExample:\n  $ gisbot prompt history --json')
    .action(async (options: { limit?: string }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/prompt.ts'), (ctx, { promptHistory }) => promptHistory(ctx, options));
    });
  prompt
    .command('edit')
    .description('edit the prompt in $VISUAL or $EDITOR; a changed text is saved as a new version')
    .addHelpText('after', '\nExample:\n  $ EDITOR=nano gisbot prompt edit')
    .action(async (_options, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/prompt.ts'), (ctx, { editPrompt }) => editPrompt(ctx));
    });
  prompt
    .command('rollback <version>')
    .description("put a saved version's text back in force (recorded as the newest version)")
    .addHelpText('after', '\nExample:\n  $ gisbot prompt rollback 3')
    .action(async (version: string, _options, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/prompt.ts'), (ctx, { rollbackPrompt }) =>
        rollbackPrompt(ctx, { version }),
      );
    });

  program
    .command('logs')
    .description('what gisbot did: recent events, or new ones as they come with --follow')
    .option('--since <when>', 'only events since 15m, 2h, 3d or an ISO time')
    .option('--type <type>', 'only this event type, e.g. reply.posted')
    .option('--review <id>', "only this review's events")
    .option('--branch <id>', "only this branch's events")
    .option('--limit <n>', 'at most this many events (default 50)')
    .option('-f, --follow', 'keep printing new events until Ctrl-C')
    .option('--pending', 'the events not delivered over the WebSocket yet, with their attempts')
    .addHelpText('after', '\nExamples:\n  $ gisbot logs --since 2h --type reply.failed\n  $ gisbot logs --follow --json | jq .type\n  $ gisbot logs --pending')
    .action(async (options: { since?: string; type?: string; review?: string; branch?: string; limit?: string; follow?: boolean; pending?: boolean }, command: Command) => {
      const controller = new AbortController();
      const stop = () => controller.abort(new Error('signal'));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await session.execute(command, 'all', {}, () => import('./commands/logs.ts'), (ctx, { logs }) =>
          logs(ctx, { ...options, signal: controller.signal }),
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  program
    .command('branches')
    .description("the account's branches: ids, names, addresses, watched or not, policy overrides, reviews seen")
    .addHelpText('after', '\nExamples:\n  $ gisbot branches\n  $ gisbot branches --json | jq -r ".[].id"')
    .action(async (_options, command: Command) => {
      await session.execute(command, 'one', { twogis: true }, () => import('./commands/branches.ts'), (ctx, { branches }) => branches(ctx));
    });

  program
    .command('businesses')
    .description('every business: status, balance, held, branches, reviews waiting for you, answers in 30 days, last cycle')
    .addHelpText('after', '\nExamples:\n  $ gisbot businesses\n  $ gisbot businesses --json | jq -r \'.[] | select(.status != "ok") | .id\'')
    .action(async (_options, command: Command) => {
      await session.execute(command, 'all', {}, () => import('./commands/businesses.ts'), (ctx, { listBusinesses }, businesses) => listBusinesses(ctx, businesses));
    });

  program
    .command('stats')
    .description('what the balance bought: reviews, answers, reply rate, time to answer, rating, money, complaint topics')
    .option('--since <when>', 'reviews created at or after this: 30d (the default), 2w, a date (midnight in timeZone) or a time')
    .option('--until <when>', 'and before this, not including it (default now); a date means its midnight in timeZone')
    .option('--branch <id>', 'only this branch')
    .addHelpText('after', '\nExamples:\n  $ gisbot stats\n  $ gisbot stats --since 2026-01-01 --until 2026-02-01 --json\n  $ gisbot stats --branch 70000001080000001')
    .action(async (options: { since?: string; until?: string; branch?: string }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/stats.ts'), (ctx, { stats }) => stats(ctx, options));
    });

  program
    .command('report')
    .description('write one self-contained HTML report (charts, complaints, what waits for you) and print its path')
    .option('--since <when>', 'reviews created at or after this: 91d (the default), 4w, a date (midnight in timeZone) or a time')
    .option('--until <when>', 'and before this, not including it (default now); a date means its midnight in timeZone')
    .option('--out <file>', 'the file to write (default gisbot-report-<date>.html here)')
    .option('--csv <file>', "also write the period's reviews, one per row, for a spreadsheet (UTF-8)")
    .option('--csv-locale <en|ru>', "the CSV's form: en separates cells with commas and writes 1234.50 (the default); ru, semicolons and 1234,50")
    .addHelpText(
      'after',
      '\nBoth files are readable by you alone (0600): they hold customers\' names and words.\n\nExamples:\n  $ gisbot report\n  $ gisbot report --since 30d --out /var/www/owner/report.html\n  $ gisbot report --csv reviews.csv --csv-locale ru',
    )
    .action(async (options: { since?: string; until?: string; out?: string; csv?: string; csvLocale?: string }, command: Command) => {
      await session.execute(command, 'one', {}, () => import('./commands/report.ts'), (ctx, { report }) => report(ctx, options));
    });

  program
    .command('init')
    .description('set gisbot up: asks for each service, checks it, writes .gisbotrc (mode 0600)')
    .addHelpText('after', '\nExamples:\n  $ gisbot init\n  $ gisbot init --config /etc/gisbot/.gisbotrc')
    .action(async (_options, command: Command) => {
      await session.standalone(command, () => import('./commands/init.ts'), ({ output, prompter, configFile }, { init }) =>
        init({ output, prompter, env: process.env, cwd: process.cwd() }, { file: configFile }),
      );
    });

  program
    .command('demo')
    .description('see gisbot work on a pretend business: loopback sandboxes, a temporary SQLite database, one cycle')
    .option('--keep', 'keep the temporary folder (database, log, config) and print where it is')
    .option('--balance <amount>', 'the demo balance before the cycle (default 100.00)')
    .addHelpText('after', '\nExamples:\n  $ gisbot demo\n  $ gisbot demo --keep\n  $ gisbot demo --balance 12 --json')
    .action(async (options: { keep?: boolean; balance?: string }, command: Command) => {
      const stop = new StopSignals();
      try {
        // Standalone: the demo builds its own config and never reads .gisbotrc or the environment's credentials.
        await session.standalone(command, () => import('./commands/demo.ts'), ({ output }, { demo, demoBalance }) =>
          demo({ output }, { keep: Boolean(options.keep), balance: demoBalance(options.balance), stop }),
        );
      } finally {
        stop.dispose();
      }
    });

  program
    .command('doctor')
    .description('check every service of the config in force, one line each (exit 1 if any fails)')
    .addHelpText('after', '\nExamples:\n  $ gisbot doctor\n  $ gisbot doctor --json --config /etc/gisbot/.gisbotrc')
    .action(async (_options, command: Command) => {
      await session.execute(command, 'all', { bindsItself: true }, () => import('./commands/doctor.ts'), (ctx, { doctor }, businesses) => doctor(ctx, businesses));
    });

  program.addOption(new Option('--no-color', 'turn colours off').hideHelp());
  return program;
}
