// The commander table: every command, flag and example lives here. Command modules are imported only when
// their command runs, so `gisbot --help` and cron start-ups stay cheap.
import { Command, CommanderError, Option } from 'commander';
import type { Config } from './config/load.ts';
import type { Context, ContextNeeds } from './context.ts';
import { ExitCode, GisbotError } from './errors.ts';
import type { Redact } from './redact.ts';
import { messages } from './ui/messages.ts';
import { Output } from './ui/output.ts';

interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

/** Runs the CLI and returns the exit code; bin/gisbot.ts sets it. Nothing here exits the process. */
export async function main(argv: readonly string[]): Promise<number> {
  const session = new Session(argv);
  const program = buildProgram(session);
  try {
    await program.parseAsync(argv as string[]);
    return session.exitCode;
  } catch (error) {
    return session.fail(error);
  }
}

class Session {
  exitCode: number = ExitCode.ok;
  output: Output;
  #redact: Redact = (text) => text;

  constructor(argv: readonly string[]) {
    this.output = new Output({ json: argv.includes('--json'), quiet: argv.includes('--quiet'), debug: argv.includes('--debug') });
  }

  /** Loads the config, builds the context, runs one command function, renders its result. */
  async execute<M extends { render: (result: never, output: Output) => void }, R>(
    command: Command,
    needs: ContextNeeds,
    load: () => Promise<M>,
    work: (ctx: Context, module: M) => Promise<R>,
  ): Promise<void> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    this.output = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), debug: Boolean(globals.debug) });
    const [{ loadConfig }, { createContext }, module] = await Promise.all([
      import('./config/load.ts'),
      import('./context.ts'),
      load(),
    ]);
    const config: Readonly<Config> = await loadConfig(globals.config ? { file: globals.config } : {});
    const ctx = await createContext(config, this.output, needs);
    this.#redact = ctx.redact;
    try {
      const result = await work(ctx, module);
      (module.render as (result: R, output: Output) => void)(result, this.output);
      this.exitCode = (result as { exitCode?: number }).exitCode ?? ExitCode.ok;
    } finally {
      await ctx.close();
    }
  }

  /** The one top-level handler: one line (and a hint) on stderr; the stack only with --debug. */
  fail(error: unknown): number {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const c = this.output.colors;
    if (error instanceof GisbotError) {
      if (error.exitCode !== ExitCode.interrupted) {
        this.output.warn(this.#redact(`${c.red('error:')} ${error.message}`));
        if (error.hint) this.output.warn(this.#redact(`${c.dim('hint:')} ${error.hint}`));
      }
      if (this.output.debug && error.stack) this.output.warn(this.#redact(error.stack));
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.output.warn(this.#redact(`${c.red('error:')} ${messages.errors.unexpected}: ${message}`));
    if (this.output.debug && error instanceof Error && error.stack) this.output.warn(this.#redact(error.stack));
    else this.output.warn(`${c.dim('hint:')} ${messages.errors.debugHint}`);
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
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (text) => process.stdout.write(text), writeErr: (text) => process.stderr.write(text) });

  program
    .command('run')
    .description('poll and answer in a loop until Ctrl-C or SIGTERM')
    .addHelpText('after', '\nExample:\n  $ gisbot run --config /etc/gisbot/.gisbotrc')
    .action(async (_options, command: Command) => {
      const controller = new AbortController();
      const stop = () => controller.abort(new Error('signal'));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await session.execute(command, { twogis: true, model: true }, () => import('./commands/run.ts'), (ctx, { run }) =>
          run(ctx, { signal: controller.signal }),
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  program
    .command('poll-once')
    .description('run one polling cycle and exit (for cron)')
    .addHelpText('after', '\nExample (crontab, every 5 minutes):\n  */5 * * * * gisbot poll-once --json >> /var/log/gisbot.jsonl')
    .action(async (_options, command: Command) => {
      await session.execute(command, { twogis: true, model: true }, () => import('./commands/poll-once.ts'), (ctx, { pollOnce }) =>
        pollOnce(ctx),
      );
    });

  const balance = program
    .command('balance')
    .description('show the prepaid balance and the part held for answers in progress')
    .addHelpText('after', '\nExamples:\n  $ gisbot balance\n  $ gisbot balance add 500 --yes')
    .action(async (_options, command: Command) => {
      await session.execute(command, {}, () => import('./commands/balance.ts'), (ctx, { showBalance }) =>
        showBalance(ctx),
      );
    });

  balance
    .command('add <amount>')
    .description('top up the balance (asks to confirm on a terminal)')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', '\nExample:\n  $ gisbot balance add 100.50 --yes')
    .action(async (amount: string, options: { yes?: boolean }, command: Command) => {
      await session.execute(command, {}, () => import('./commands/balance.ts'), (ctx, { addBalance }) =>
        addBalance(ctx, { amount, yes: Boolean(options.yes) }),
      );
    });

  program.addOption(new Option('--no-color', 'turn colours off').hideHelp());
  return program;
}
