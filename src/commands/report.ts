// `gisbot report`: one self-contained HTML file of the period (default the last 90 days) for the owner to open or
// forward; prints the file's path. Like `stats`, it reads only the store.
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { reportData } from '../core/report.ts';
import { formatTime } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { reportHtml } from '../ui/report-html.ts';
import { readPeriod } from './stats.ts';

export interface ReportOptions {
  since?: string;
  until?: string;
  out?: string;
  /** Where a relative --out (and the default file) is written; default the current folder. */
  cwd?: string;
}

export interface ReportResult {
  file: string;
}

/** The period when none is given: about a quarter, thirteen weeks. */
export const REPORT_SINCE = '91d';

export async function report(ctx: Context, options: ReportOptions): Promise<ReportResult> {
  const now = ctx.clock.now();
  const period = readPeriod({ since: options.since ?? REPORT_SINCE, ...(options.until === undefined ? {} : { until: options.until }) }, now, ctx.config.timeZone);
  const file = path.resolve(options.cwd ?? process.cwd(), options.out ?? `gisbot-report-${formatTime(now).slice(0, 10)}.html`);
  await ctx.store.migrate();
  const html = reportHtml(await reportData(ctx.store, period, now));
  await writeWhole(file, html);
  return { file };
}

/** Written beside and renamed into place: a reader never sees half a report, an old one stays until the new one is whole. */
async function writeWhole(file: string, text: string): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  try {
    await writeFile(partial, text, 'utf8');
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw new UsageError(messages.report.cannotWrite(file, (error as NodeJS.ErrnoException).code ?? 'error'), messages.report.outHint);
  }
}

export function render(result: ReportResult, output: Output): void {
  output.data(output.json ? JSON.stringify(result) : result.file);
}
