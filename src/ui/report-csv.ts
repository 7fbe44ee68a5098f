// `gisbot report --csv <file>`: one row per review of the period, for a spreadsheet. UTF-8 with a BOM (Excel
// reads it as UTF-8 only then); English puts `,` between cells and `.` in numbers, Russian (the spreadsheet's own
// convention there) `;` and `,`. Review text is a stranger's: a cell that begins with `=`, `+`, `-`, `@` (or a
// tab or a carriage return, which some spreadsheets skip before reading a formula) gets a leading `'`, so that
// it stays text and never runs as a formula; its controls are made visible as everywhere a person reads it.
import { figureOf } from '../core/insight/figures.ts';
import { formatMoney } from '../core/money/money.ts';
import type { PeriodReview } from '../core/ports.ts';
import { formatTime } from './format.ts';
import { messages } from './messages.ts';
import { shownLine, shownText } from './shown-text.ts';

/** How the spreadsheet reading the file writes numbers and separates cells. */
export type CsvLocale = 'en' | 'ru';
export const CSV_LOCALES: readonly CsvLocale[] = ['en', 'ru'];

const FORMATS: Record<CsvLocale, { separator: string; decimal: string }> = {
  en: { separator: ',', decimal: '.' },
  ru: { separator: ';', decimal: ',' },
};

const COLUMNS = ['review', 'branch id', 'branch', 'created', 'rating', 'author', 'review text', 'outcome', 'answered by', 'answer', 'answered at', 'charged'];

export function reportCsv(rows: readonly PeriodReview[], locale: CsvLocale = 'en'): string {
  const { separator, decimal } = FORMATS[locale];
  const lines = [COLUMNS.join(separator)];
  for (const { review, answerText, sentBy, postedAt, charged } of rows) {
    const figure = figureOf(review);
    const posted = review.state === 'posted';
    lines.push(
      [
        text(shownLine(review.id)),
        text(shownLine(review.branchId)),
        text(shownLine(review.branchName)),
        formatTime(review.createdAt),
        String(review.rating),
        text(shownLine(review.authorName)),
        text(shownText(review.text)),
        text(messages.report.outcomes[figure]),
        posted ? text(sentBy === 'person' ? 'person' : 'gisbot') : '',
        posted && answerText !== null ? text(shownText(answerText)) : '',
        posted && postedAt !== null ? formatTime(postedAt) : '',
        formatMoney(charged).replace('.', decimal),
      ].join(separator),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** A text cell: neutralised if a spreadsheet would read it as a formula, quoted, its quotes doubled. */
function text(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}
