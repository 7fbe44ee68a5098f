// `gisbot complain <reviewId> --reason <text> [--not-a-client]`: the owner's complaint about a review, filed with
// 2GIS once (core/approval/complaint.ts). Never charged; the review leaves the waiting list and can still be answered.
import type { Context } from '../context.ts';
import { checkComplaintReason, fileComplaint, MAX_COMPLAINT_LENGTH, type ComplaintOutcome } from '../core/approval/complaint.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { formatTime } from '../ui/format.ts';
import { messages } from '../ui/messages.ts';
import type { Output } from '../ui/output.ts';
import { shownLine, shownText } from '../ui/shown-text.ts';

export interface ComplainOptions {
  reviewId: string;
  reason: string | undefined;
  notAClient: boolean;
}

export type ComplaintStatus = 'sent' | 'already_sent' | 'outcome_unknown';

export interface ComplainResult {
  reviewId: string;
  status: ComplaintStatus;
  /** Why the outcome is not known, when it is not. */
  detail: string | null;
  /** When running the command again can tell more, when it can. */
  retryAfter: Date | null;
  exitCode: ExitCode;
}

/** How long a complaint waits for the WebSocket to take its event before leaving it in the outbox for the next run. */
const DELIVERY_GRACE_MS = 5_000;

export async function complain(ctx: Context, options: ComplainOptions): Promise<ComplainResult> {
  const { reviewId } = options;
  // Before the database is opened: bad input changes nothing.
  const problem = checkComplaintReason(options.reason);
  if (problem !== null) refuse(reviewId, problem);
  await ctx.store.migrate();
  const outcome = await fileComplaint(ctx, reviewId, options.reason ?? '', options.notAClient);
  if (outcome.kind === 'sent' || outcome.kind === 'already_sent') await ctx.notifier.drain(DELIVERY_GRACE_MS);
  switch (outcome.kind) {
    case 'sent':
    case 'already_sent':
      return { reviewId, status: outcome.kind, detail: null, retryAfter: null, exitCode: ExitCode.ok };
    case 'outcome_unknown':
      return { reviewId, status: 'outcome_unknown', detail: outcome.detail, retryAfter: outcome.retryAfter, exitCode: ExitCode.ok };
    default:
      return refuse(reviewId, outcome);
  }
}

function refuse(reviewId: string, outcome: Exclude<ComplaintOutcome, { kind: 'sent' | 'already_sent' | 'outcome_unknown' }>): never {
  const id = shownLine(reviewId);
  switch (outcome.kind) {
    case 'empty_reason':
      throw new UsageError(messages.complain.emptyReason, messages.complain.reasonHint);
    case 'reason_too_long':
      throw new UsageError(messages.complain.tooLong(outcome.length, MAX_COMPLAINT_LENGTH));
    case 'unknown_review':
      throw new UsageError(messages.reply.unknownReview(id), messages.reply.unknownReviewHint);
    case 'not_on_2gis':
      throw new UsageError(messages.complain.notOnTwoGis(id));
    case 'not_allowed':
      throw new UsageError(shownText(messages.complain.notAllowed(id, outcome.detail)));
  }
}

export function render(result: ComplainResult, output: Output): void {
  if (output.json) output.data(JSON.stringify({ reviewId: result.reviewId, status: result.status }));
  const c = output.colors;
  const id = shownLine(result.reviewId);
  if (result.status === 'sent') output.say(c.green(`✓ ${messages.complain.sent(id)}`));
  else if (result.status === 'already_sent') output.say(c.dim(messages.complain.alreadySent(id)));
  else {
    output.error(c.yellow(`! ${shownText(messages.complain.outcomeUnknown(id, result.detail))}`));
    output.error(c.dim(messages.complain.outcomeUnknownHint(result.retryAfter ? formatTime(result.retryAfter) : null)));
  }
}
