// `gisbot doctor`: the checks `init` makes, for the config in force: database, 2GIS login, one tiny model call,
// the WebSocket and the prompt file. One line each; exit 1 if any fails.
import type { ChalkInstance } from 'chalk';
import type { Business } from '../config/businesses.ts';
import type { Context } from '../context.ts';
import { ExitCode } from '../errors.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownText } from '../ui/shown-text.ts';
import { configChecks, type ServiceCheck } from './checks.ts';

export interface DoctorResult {
  source: string | null;
  checks: ServiceCheck[];
  exitCode: ExitCode;
}

/**
 * `businesses`: the ones picked by `--business` (default: every one of the config). Exit 2 when a business is bound
 * in the database to another 2GIS account (the refusal `run` would meet: a configuration error), else 1 when any
 * check failed.
 */
export async function doctor(ctx: Context, businesses?: readonly Business[]): Promise<DoctorResult> {
  const spinner = await ctx.output.spinner(messages.doctor.checking);
  let found: Awaited<ReturnType<typeof configChecks>>;
  try {
    found = await configChecks(ctx.config, businesses, ctx.store);
  } finally {
    spinner.stop();
  }
  const refused = found.some((one) => 'binding' in one && !one.ok);
  const checks = found.map(({ name, ok, detail, code }) => ({ name, ok, detail, code }));
  const exitCode = refused ? ExitCode.usage : checks.every((one) => one.ok) ? ExitCode.ok : ExitCode.failed;
  return { source: ctx.config.source, checks, exitCode };
}

export function render(result: DoctorResult, output: Output): void {
  const ok = result.exitCode === ExitCode.ok;
  if (output.json) {
    output.data(JSON.stringify({ ok, config: result.source, checks: result.checks }));
    return;
  }
  printChecks((line) => output.data(line), output.dataColors, result.checks);
  const c = output.colors;
  output.say(c.dim(messages.doctor.config(result.source)));
  if (ok) output.say(c.green(messages.doctor.allGood(result.checks.length)));
  else output.error(c.red(messages.doctor.failed(result.checks.filter((one) => !one.ok).length)));
}

/** `✓ database   connected …` / `✗ 2GIS   …`, one line each. */
export function printChecks(write: (line: string) => void, d: ChalkInstance, checks: readonly ServiceCheck[]): void {
  const width = Math.max(...checks.map((one) => one.name.length));
  for (const one of checks) {
    write(`${one.ok ? d.green('✓') : d.red('✗')} ${one.name.padEnd(width)}  ${one.ok ? shownText(one.detail) : d.red(shownText(messages.doctor.failure(one.code, one.detail)))}`);
  }
}
