// stdout carries data, stderr carries people. Colours only where a person looks at a terminal.
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { ChalkInstance } from 'chalk';

// Chalk is loaded on the first colour asked for, not at start-up: --help, --json and cron runs never colour anything.
const require = createRequire(import.meta.url);

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  debug: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
  stdinIsTTY?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  #colorLevel: ColorLevel;
  #dataColorLevel: ColorLevel;
  #colors: ChalkInstance | null = null;
  #dataColors: ChalkInstance | null = null;
  /** A person is at the keyboard: prompts may be shown. */
  readonly interactive: boolean;
  #stdout: Writable & { isTTY?: boolean };
  #stderr: Writable & { isTTY?: boolean };

  constructor(options: OutputOptions) {
    const env = options.env ?? process.env;
    this.json = options.json;
    this.quiet = options.quiet;
    this.debug = options.debug;
    this.#stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
    this.interactive = (options.stdinIsTTY ?? Boolean(process.stdin.isTTY)) && Boolean(this.#stderr.isTTY);
    this.#colorLevel = colorLevel(env, Boolean(this.#stderr.isTTY));
    this.#dataColorLevel = colorLevel(env, Boolean(this.#stdout.isTTY));
  }

  /** Colours for stderr: off in a pipe, with NO_COLOR, or when FORCE_COLOR=0. */
  get colors(): ChalkInstance {
    return (this.#colors ??= chalk(this.#colorLevel));
  }

  /** Colours for stdout (tables, the reply card): off when stdout is a pipe or a file, whatever stderr is. */
  get dataColors(): ChalkInstance {
    return (this.#dataColors ??= chalk(this.#dataColorLevel));
  }

  /** How wide stdout is, for tables: the terminal's width, or 120 in a pipe (lines are then cut only there). */
  get width(): number {
    const columns = (this.#stdout as { columns?: number }).columns;
    return this.#stdout.isTTY && columns ? columns : 120;
  }

  /** One piece of data on stdout (the JSON document, a table meant for pipes). */
  data(text: string): void {
    this.#stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** People-facing progress; silent with --quiet. */
  say(text: string): void {
    if (!this.quiet) this.#stderr.write(`${text}\n`);
  }

  /** Something to look into while the work goes on (a low balance); silent with --quiet, which prints only errors. */
  warn(text: string): void {
    if (!this.quiet) this.#stderr.write(`${text}\n`);
  }

  /** What failed, and its hint: always shown. */
  error(text: string): void {
    this.#stderr.write(`${text}\n`);
  }

  /**
   * An ora spinner on a terminal; a silent stand-in in a pipe, with --json or with --quiet, and on a terminal
   * that reports 0 columns (ora redraws every frame there without end).
   */
  async spinner(text: string): Promise<Spinner> {
    const columns = (this.#stderr as { columns?: number }).columns;
    if (this.json || this.quiet || !this.#stderr.isTTY || !columns) return silentSpinner;
    const { default: ora } = await import('ora');
    // discardStdin off: ora would put the terminal in raw mode, where Ctrl-C is a byte that nobody reads (its
    // discarder reads only a stdin already flowing) instead of SIGINT, and the command could not be stopped.
    const spinner = ora({ text, stream: this.#stderr, discardStdin: false }).start();
    return {
      update: (next) => {
        spinner.text = next;
      },
      succeed: (done) => void spinner.succeed(done),
      fail: (done) => void spinner.fail(done),
      stop: () => void spinner.stop(),
    };
  }
}

const silentSpinner: Spinner = { update() {}, succeed() {}, fail() {}, stop() {} };

type ColorLevel = 0 | 1 | 2 | 3;

function chalk(level: ColorLevel): ChalkInstance {
  const { Chalk } = require('chalk') as typeof import('chalk');
  return new Chalk({ level });
}

function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): ColorLevel {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.FORCE_COLOR !== undefined) {
    const forced = Number.parseInt(env.FORCE_COLOR, 10);
    if (env.FORCE_COLOR === '' || env.FORCE_COLOR === 'true') return 1;
    return Number.isNaN(forced) ? 0 : (Math.min(3, Math.max(0, forced)) as 0 | 1 | 2 | 3);
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  return env.COLORTERM === 'truecolor' ? 3 : 2;
}
