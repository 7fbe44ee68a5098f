// How `gisbot demo` tells what happened: each review and its fate, the money, where the events went. On stdout,
// with colours only when stdout is a terminal.
import type { ExitCode } from '../errors.ts';
import type { Stats } from '../core/insight/stats.ts';
import { pad, stars } from './format.ts';
import { printStats } from './stats-table.ts';
import { messages } from './messages.ts';
import type { Output } from './output.ts';
import { shownLine, shownText } from './shown-text.ts';
import { reasonText } from './reason.ts';
import type { ReasonCode } from '../core/ports.ts';

export interface DemoReviewResult {
  id: string;
  branch: string;
  /** What the seeded review is there to show, e.g. "English, 4★". */
  kind: string;
  rating: number;
  author: string;
  text: string;
  /** The state the store holds. */
  state: string;
  /** `queued`: still new, the balance ran out first; `unfinished`: left in work (never expected). */
  outcome: 'answered' | 'skipped' | 'waiting' | 'failed' | 'queued' | 'unfinished';
  reason: string | null;
  /** What `reason` says (ReasonCode), for programs; people read it in their language by it. */
  reasonCode: ReasonCode | null;
  /** The reply gate's rules that refused the drafts, when it did. */
  rules: string[];
  /** The answer posted on 2GIS. */
  answer: string | null;
  charged: string;
}

/** One business of the demo, as the demo works it out: its reviews' fates and its own money. */
export interface DemoBusinessResult {
  id: string;
  name: string;
  reviews: DemoReviewResult[];
  balance: DemoResult['balance'];
  stoppedForBalance: boolean;
}

/** One business of the demo side by side with the other: its balance and how its reviews ended. */
export interface DemoBusinessSummary {
  id: string;
  name: string;
  balance: DemoResult['balance'];
  /** How many of its reviews came to each outcome (answered, skipped, waiting, queued, …). */
  outcomes: Record<string, number>;
  reviews: number;
  stoppedForBalance: boolean;
}

export interface DemoResult {
  /** The coffee chain's reviews, one by one (the other business's are counted in `businesses`). */
  reviews: DemoReviewResult[];
  balance: { before: string; price: string; answered: number; charged: string; after: string; arithmeticOk: boolean };
  /** poll-once's --json summary of the cycle. */
  summary: Record<string, string | number>;
  stoppedForBalance: boolean;
  /** Both businesses of the demo, side by side: one database, one worker pool, each its own account and balance. */
  businesses: DemoBusinessSummary[];
  /** The coffee chain's events. */
  events: {
    stored: number;
    byType: Record<string, number>;
    logFile: string;
    /** Event lines in the log file. */
    logLines: number;
    websocket: { url: string; frames: number };
  };
  /** The cards sent to the owner's chat of the pretend Telegram, as the chat shows them. */
  telegram: { chat: string; cards: Array<{ reviewId: string | null; text: string; buttons: string[] }> };
  /** `gisbot stats` of the demo's week: what the owner would see of this cycle. */
  stats: Stats;
  /** The HTML report written into the kept folder (--keep), else null: it went with the folder. */
  report: string | null;
  /** The kept folder (--keep), else null: everything was removed. */
  folder: string | null;
  configFile: string | null;
  seconds: number;
  /** What did not add up (never expected): each makes the exit code 1. */
  problems: string[];
  exitCode: ExitCode;
}

export function renderDemo(result: DemoResult, output: Output): void {
  const d = output.dataColors;
  const m = messages.demo;
  const width = Math.max(40, Math.min(output.width, 110) - 7);
  output.data('');
  output.data(m.intro(result.reviews.length, new Set(result.reviews.map((review) => review.branch)).size));
  let branch = '';
  for (const review of result.reviews) {
    if (review.branch !== branch) {
      branch = review.branch;
      output.data('');
      output.data(d.bold(shownLine(branch)));
    }
    output.data(`  ${stars(review.rating, d)}  ${shownLine(review.author)} · ${d.dim(`${messages.demo.kind(review.kind)} · ${messages.demo.review(shownLine(review.id))}`)}`);
    output.data(wrap(review.text.trim() === '' ? d.dim(m.noText) : `“${shownText(review.text)}”`, width, '       '));
    output.data(wrap(fate(review, output), width, '     '));
  }

  const { balance, events } = result;
  const cards = result.telegram.cards;
  if (cards.length > 0) {
    output.data('');
    output.data(`${d.bold(m.telegramLabel)}  ${m.telegramCards(cards.length)}`);
    for (const line of cards[0]!.text.split('\n')) output.data(`  ${d.dim('│')} ${shownLine(line)}`);
    output.data(`  ${d.dim('│')} ${cards[0]!.buttons.map((button) => d.cyan(`[ ${shownLine(button)} ]`)).join(' ')}`);
  }
  output.data('');
  const sum = m.arithmetic(balance.before, balance.answered, balance.price, balance.after);
  output.data(`${d.bold(m.balanceLabel)}  ${sum}  ${balance.arithmeticOk ? d.green(m.ledgerAgrees) : d.red(m.ledgerDisagrees)}`);
  if (result.stoppedForBalance) output.data(`${' '.repeat(m.balanceLabel.length)}  ${d.yellow(m.ranOut)}`);
  const logPlace = result.folder === null ? `${events.logFile} ${d.dim(m.removed)}` : events.logFile;
  if (result.businesses.length > 1) printBusinesses(result.businesses, output);
  output.data(`${d.bold(m.eventsLabel)}  ${m.eventsTable(events.stored)} · ${m.logLines(events.logLines, logPlace)}`);
  output.data(`${' '.repeat(m.eventsLabel.length)}  ${m.frames(events.websocket.frames, events.websocket.url)}`);
  output.data(`${' '.repeat(m.eventsLabel.length)}  ${d.dim(byType(events.byType))}`);
  const counts = count(result.reviews);
  output.data(`${d.bold(m.summaryLabel)}  ${m.summary(result.reviews.length, counts, result.seconds)}`);
  output.data('');
  printStats(result.stats, output);
  output.data('');
  if (result.report !== null) {
    output.data(`${d.bold(m.reportLabel)}  ${result.report}`);
    output.data('');
  }
  if (result.folder === null) output.data(m.nothingLeft);
  else {
    output.data(m.kept(result.folder));
    output.data(`  ${m.keptTry(result.configFile ?? result.folder, result.businesses[0]?.id ?? 'default')}`);
  }
  output.data(m.next);
}

/** The businesses side by side: each its own balance, the same price, what its money bought. */
function printBusinesses(businesses: readonly DemoBusinessSummary[], output: Output): void {
  const d = output.dataColors;
  const m = messages.demo;
  output.data(`${d.bold(m.businessesLabel)}  ${m.businessesIntro(businesses.length)}`);
  const idWidth = Math.max(...businesses.map((one) => one.id.length));
  const nameWidth = Math.max(...businesses.map((one) => [...shownLine(one.name)].length));
  // Money as the reader's language writes it, in the deployment's currency; the columns of sums still line up.
  const moneyWidth = Math.max(...businesses.flatMap((one) => [messages.money(one.balance.before).length, messages.money(one.balance.after).length]));
  for (const one of businesses) {
    const { before, answered, price, after, arithmeticOk } = one.balance;
    const sum = m.sideBySide(messages.money(before).padStart(moneyWidth), answered, messages.money(price), messages.money(after).padStart(moneyWidth));
    const counts = m.businessOutcomes(one.outcomes);
    const ledger = arithmeticOk ? d.green('✓') : d.red('✗');
    const ranOut = one.stoppedForBalance ? ` · ${d.yellow(m.businessRanOut)}` : '';
    output.data(`  ${one.id.padEnd(idWidth)}  ${pad(shownLine(one.name), nameWidth)}  ${sum} ${ledger}  ${d.dim(counts)}${ranOut}`);
  }
}

function fate(review: DemoReviewResult, output: Output): string {
  const d = output.dataColors;
  const m = messages.demo;
  switch (review.outcome) {
    case 'answered':
      return `${d.green(m.answered(review.charged))} ${d.cyan(`“${shownText(review.answer ?? '')}”`)}`;
    case 'skipped':
      return d.dim(m.skipped(shownText(reasonText(review))));
    case 'waiting':
      return `${d.yellow(m.waiting(shownText(reasonText({ reason: firstDraft(review.reason ?? ''), reasonCode: review.reasonCode }))))}${review.rules.length > 0 ? d.dim(` ${shownText(m.rules(review.rules))}`) : ''}`;
    case 'failed':
      return d.red(m.failed(shownText(reasonText(review))));
    case 'queued':
      return d.yellow(m.queued);
    default:
      return d.red(m.unfinished(review.state));
  }
}

/** The gate's reason names every refused draft; the first one tells the story (--json keeps them all). */
function firstDraft(reason: string): string {
  const cut = reason.indexOf('; draft 2:');
  return cut < 0 ? reason : `${reason.slice(0, cut)}; ${messages.demo.othersAlike}`;
}

/** A stored state as the demo tells it. */
export function outcomeOf(state: string): DemoReviewResult['outcome'] {
  if (state === 'posted') return 'answered';
  if (state === 'skipped') return 'skipped';
  if (state === 'needs_approval') return 'waiting';
  if (state === 'failed') return 'failed';
  return state === 'new' ? 'queued' : 'unfinished';
}

export function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function count(reviews: readonly DemoReviewResult[]): Record<DemoReviewResult['outcome'], number> {
  const counts = { answered: 0, skipped: 0, waiting: 0, failed: 0, queued: 0, unfinished: 0 };
  for (const review of reviews) counts[review.outcome] += 1;
  return counts;
}

function byType(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([type, n]) => `${type} ×${n}`)
    .join(', ');
}

/** Word-wraps `text` to `width` columns, every line after `indent`. Colour codes stay inside words. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  let visible = 0;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const length = [...word.replace(/\u001b\[[0-9;]*m/g, '')].length;
    if (visible > 0 && visible + 1 + length > width) {
      lines.push(line);
      line = '';
      visible = 0;
    }
    line += visible > 0 ? ` ${word}` : word;
    visible += (visible > 0 ? 1 : 0) + length;
  }
  if (line) lines.push(line);
  return lines.map((each) => `${indent}${each}`).join('\n');
}
