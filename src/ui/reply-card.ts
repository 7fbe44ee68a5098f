// How `gisbot reply` shows a review, its draft and the gate's verdict, and the approval queue. On stdout, with
// colours only when stdout is a terminal.
import { looksLikeNotACustomer } from '../core/drafting/looks-like.ts';
import type { FoundProblem } from '../core/drafting/gate.ts';
import type { StoredReview } from '../core/ports.ts';
import { clip, distinctNames, formatTime, stars, table, visibleLength } from './format.ts';
import { messages } from './messages.ts';
import type { Output } from './output.ts';
import { shownLine, shownText } from './shown-text.ts';
import { reasonText } from './reason.ts';

export function printReview(output: Output, review: StoredReview): void {
  const d = output.dataColors;
  output.data('');
  output.data(`${d.bold(messages.reply.reviewHeading(shownLine(review.id)))}  ${stars(review.rating, d)}`);
  output.data(
    `${shownLine(review.authorName) || messages.reply.anonymous} · ${shownLine(formatTime(review.createdAt))} · ${shownLine(review.branchName)} ${d.dim(`(${shownLine(review.branchId)})`)}`,
  );
  output.data(indent(review.text.trim() === '' ? d.dim(messages.reply.noText) : shownText(review.text)));
  if (review.reason) output.data(d.yellow(`${messages.reply.waitsBecause(shownText(reasonText(review)))}`));
  const looks = looksLikeNotACustomer(review.text);
  if (looks) output.data(d.yellow(shownText(messages.reply.looksLike(looks.kind, looks.evidence, review.id))));
}

/** `problems`: the gate's, rule by rule, said in the terminal's language. */
export function printDraft(output: Output, text: string, problems: readonly FoundProblem[], edited: boolean, template: string | null = null): void {
  const d = output.dataColors;
  output.data('');
  output.data(d.bold(edited ? messages.reply.editedHeading : template ? messages.reply.templateHeading(template) : messages.reply.draftHeading));
  output.data(indent(d.cyan(shownText(text))));
  if (problems.length === 0) output.data(d.green(`✓ ${messages.reply.gateOk}`));
  else output.data(d.red(`✗ ${shownText(messages.reply.gateRefuses(problems.map((problem) => messages.gate.problem(problem))))}`));
  output.data('');
}

export function queueJson(review: StoredReview) {
  return {
    id: review.id,
    branchId: review.branchId,
    branchName: review.branchName,
    rating: review.rating,
    authorName: review.authorName,
    createdAt: review.createdAt,
    /** `needs_approval`, or `failed`: what went wrong is the reason; `retryAt` says when it is tried again by itself. */
    state: review.state,
    reason: review.reason,
    /** What `reason` says, for programs (ReasonCode); null for a row kept before gisbot kept codes. */
    reasonCode: review.reasonCode ?? null,
    retryAt: review.state === 'failed' ? (review.retryAt?.toISOString() ?? null) : null,
    text: review.text,
    /** `{kind, evidence}` when the review looks as if no customer wrote it (a suggestion to complain instead), else null. */
    looksLike: looksLikeNotACustomer(review.text),
  };
}

/** Why a review of the queue waits, as the table shows it: a failure says so, and when it is tried again. */
export function queueReason(review: StoredReview): string {
  if (review.state !== 'failed') return reasonText(review);
  // The clock time alone: the longest pause is 80 minutes (core/answering/retries.ts), and the column is narrow.
  const next = review.retryAt ? formatTime(review.retryAt).slice(11, 16) : (review.failedTries ?? 0) > 0 ? 'never' : null;
  return messages.reply.failedReason(reasonText(review), next);
}


export function printQueue(output: Output, reviews: readonly StoredReview[]): void {
  const d = output.dataColors;
  const QUEUE_HEADER = messages.reply.queueColumns;
  const branches = distinctNames(reviews.map((review) => shownLine(review.branchName)), 24);
  const fixed = reviews.map((review) => [
    shownLine(review.id),
    stars(review.rating, d),
    branches.get(shownLine(review.branchName)) ?? '',
    clip(shownLine(review.authorName), 16),
    shownLine(formatTime(review.createdAt).slice(0, 16)),
  ]);
  // The reason and the text share what the other columns leave of the line; the reason takes at most half.
  const used = QUEUE_HEADER.slice(0, 5)
    .map((title, index) => Math.max(visibleLength(title), ...fixed.map((row) => visibleLength(row[index]!))))
    .reduce((sum, width) => sum + width + 2, 0);
  const reasonWidth = Math.max(QUEUE_HEADER[5]!.length, Math.floor((output.width - used) / 2) - 1);
  const rows = reviews.map((review, index) => [...fixed[index]!, d.yellow(clip(shownText(queueReason(review)), reasonWidth)), clip(shownText(review.text), 200)]);
  for (const line of table(QUEUE_HEADER, rows, output.width, d)) output.data(line);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
