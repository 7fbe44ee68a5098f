// Shows each event to the person watching, one line on stderr, while the file logger keeps the record.
import type { DomainEvent, Logger } from '../core/ports.ts';
import { gisbotCommand, messages } from './messages.ts';
import type { Redact } from '../redact.ts';
import type { Output } from './output.ts';
import { shownLine, shownText } from './shown-text.ts';

const REVIEW_OUTCOMES = new Set<DomainEvent['type']>(['reply.posted', 'review.skipped', 'review.needs_approval', 'reply.failed']);

/**
 * `redact` masks the configured secrets in each line (a reason or an error may quote one); `reviews: false` leaves
 * out the line on each review's outcome, for a command that prints the outcome itself.
 */
export function createConsoleLogger(output: Output, redact: Redact, options: { reviews: boolean } = { reviews: true }): Logger {
  const say = (line: string) => output.say(redact(line));
  const warn = (line: string) => output.warn(redact(line));
  const error = (line: string) => output.error(redact(line));
  // Looked up when a line is shown: the colours (chalk) load only if one ever is.
  const c = {
    get green() {
      return output.colors.green;
    },
    get dim() {
      return output.colors.dim;
    },
    get yellow() {
      return output.colors.yellow;
    },
    get red() {
      return output.colors.red;
    },
  };
  return {
    event(event: DomainEvent) {
      if (!options.reviews && REVIEW_OUTCOMES.has(event.type)) return;
      const w = messages.console;
      const review = event.reviewId ? w.review(shownLine(event.reviewId)) : '';
      const data = event.data;
      // Reasons, errors and topics may quote 2GIS, the model or a service: shown on one line, controls visible.
      const outside = (value: unknown) => shownLine(String(value));
      // A follow-up's reason (data.code `follow_up`) is said by its own code beside it.
      const why = (prose: unknown) => w.reason(data.code as string | undefined, String(prose), data.followUpCode as string | undefined);
      switch (event.type) {
        case 'reply.posted':
          say(`${c.green(w.answered)}${review}: ${w.posted(String(data.charged), String(data.balance))}`);
          break;
        case 'review.skipped':
          say(`${c.dim(w.skipped)}${review}: ${outside(why(data.reason))}`);
          break;
        case 'review.needs_approval':
          say(`${c.yellow(w.waits)}${review}: ${outside(why(data.reason))} (${gisbotCommand} reply ${shownLine(event.reviewId ?? '')})`);
          break;
        case 'reply.failed':
          error(`${c.red(w.failed)}${review}: ${outside(why(data.error))}`);
          break;
        case 'balance.low':
          warn(`${c.yellow(w.balanceLow)}: ${w.lowDetail(String(data.balance), String(data.threshold))}`);
          break;
        case 'balance.insufficient':
          error(`${c.red(w.insufficient)}: ${w.insufficientDetail(String(data.balance), String(data.price))}`);
          break;
        case 'auth.failed':
          // Not echoed: the cycle that sends it ends by saying the same failure, with what to do, on one line.
          break;
        case 'complaint.repeated':
          warn(`${c.yellow(w.recurring(shownLine(event.branchId ?? '')))}: ${outside(messages.logs.repeated(String(data.topic), Number(data.count), (data.reviewIds as string[]) ?? []))}`);
          break;
        case 'reply.removed':
          warn(`${c.yellow(messages.logs.answerRemoved)}${review}${data.refunded ? `: ${messages.logs.refunded(String(data.refunded))}` : ''}`);
          break;
        case 'review.new':
          break;
      }
    },
    info() {},
    warn(message, fields) {
      if (output.debug) warn(`${c.yellow(messages.console.warn)} ${shownText(message)} ${fields ? shownText(JSON.stringify(fields)) : ''}`);
    },
    error(message, fields) {
      error(`${c.red(messages.console.error)} ${shownText(messages.console.logMessage(message))}${fields?.error ? `: ${shownText(String(fields.error))}` : ''}`);
    },
    flush: async () => {},
  };
}

/** Sends every line to each logger. */
export function teeLogger(...loggers: Logger[]): Logger {
  return {
    event: (event) => loggers.forEach((logger) => logger.event(event)),
    info: (message, fields) => loggers.forEach((logger) => logger.info(message, fields)),
    warn: (message, fields) => loggers.forEach((logger) => logger.warn(message, fields)),
    error: (message, fields) => loggers.forEach((logger) => logger.error(message, fields)),
    flush: async () => {
      await Promise.all(loggers.map((logger) => logger.flush()));
    },
  };
}
