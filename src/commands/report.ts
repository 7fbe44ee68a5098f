// `gisbot report`: one self-contained HTML file of the period (default the last 90 days) for the owner to open or
// forward, and with --csv the period's reviews one per row for a spreadsheet; prints the files' paths. Like
// `stats`, it reads only the store. Both files hold customers' names and words: they are written for the owner
// alone (0600).
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { reportData } from '../core/insight/report.ts';
import { formatTime } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { CSV_LOCALES, reportCsv, type CsvLocale } from '../ui/report-csv.ts';
import { reportHtml } from '../ui/report-html.ts';
import { readPeriod } from './stats.ts';

export interface ReportOptions {
  since?: string;
  until?: string;
  out?: string;
  /** Also write the period's reviews, one per row, to this CSV file. */
  csv?: string;
  /** How the CSV writes numbers and separates cells: 'en' (the default) or 'ru' (`;` and decimal commas). */
  csvLocale?: string;
  /** Where a relative --out (and the default file) is written; default the current folder. */
  cwd?: string;
}

export interface ReportResult {
  file: string;
  /** The CSV file, when --csv asked for one. */
  csv?: string;
}

/** The report's files are the owner's alone: they hold customers' names and words. */
const FILE_MODE = 0o600;

/** The period when none is given: about a quarter, thirteen weeks. */
export const REPORT_SINCE = '91d';

export async function report(ctx: Context, options: ReportOptions): Promise<ReportResult> {
  const now = ctx.clock.now();
  const period = readPeriod({ since: options.since ?? REPORT_SINCE, ...(options.until === undefined ? {} : { until: options.until }) }, now, ctx.config.timeZone);
  const locale = csvLocale(options.csvLocale);
  const cwd = options.cwd ?? process.cwd();
  const file = path.resolve(cwd, options.out ?? `gisbot-report-${formatTime(now).slice(0, 10)}.html`);
  const csv = options.csv === undefined ? undefined : path.resolve(cwd, options.csv);
  await ctx.store.migrate();
  const data = await reportData(ctx.store, period, now);
  await writeWhole(file, reportHtml(data));
  if (csv === undefined) return { file };
  await writeWhole(csv, reportCsv(data.reviews, locale));
  return { file, csv };
}

function csvLocale(value: string | undefined): CsvLocale {
  if (value === undefined) return 'en';
  const locale = CSV_LOCALES.find((each) => each === value.toLowerCase());
  if (locale === undefined) throw new UsageError(messages.report.badCsvLocale(value, CSV_LOCALES));
  return locale;
}

/** Written beside and renamed into place: a reader never sees half a report, an old one stays until the new one is whole. */
async function writeWhole(file: string, text: string): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  try {
    await writeFile(partial, text, { encoding: 'utf8', mode: FILE_MODE });
    await chmod(partial, FILE_MODE); // whatever the umask, and whoever made a file of that name before
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw new UsageError(messages.report.cannotWrite(file, (error as NodeJS.ErrnoException).code ?? 'error'), messages.report.outHint);
  }
}

export function render(result: ReportResult, output: Output): void {
  if (output.json) output.data(JSON.stringify(result));
  else for (const file of [result.file, ...(result.csv === undefined ? [] : [result.csv])]) output.data(file);
}
