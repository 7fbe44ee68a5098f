// Shows each event to the person watching, one line on stderr, while the file logger keeps the record.
import type { DomainEvent, Logger } from '../core/ports.ts';
import { gisbotCommand } from './messages.ts';
import type { Redact } from '../redact.ts';
import type { Output } from './output.ts';

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
      const review = event.reviewId ? ` review ${event.reviewId}` : '';
      const data = event.data;
      switch (event.type) {
        case 'reply.posted':
          say(`${c.green('✓ answered')}${review}: charged ${data.charged}, balance ${data.balance}`);
          break;
        case 'review.skipped':
          say(`${c.dim('– skipped')}${review}: ${data.reason}`);
          break;
        case 'review.needs_approval':
          say(`${c.yellow('? waits for you')}${review}: ${data.reason} (${gisbotCommand} reply ${event.reviewId})`);
          break;
        case 'reply.failed':
          error(`${c.red('✗ failed')}${review}: ${data.error}`);
          break;
        case 'balance.low':
          warn(`${c.yellow('! balance low')}: ${data.balance} (below ${data.threshold})`);
          break;
        case 'balance.insufficient':
          error(`${c.red('! balance insufficient')}: ${data.balance} available, ${data.price} needed`);
          break;
        case 'auth.failed':
          error(`${c.red('! 2GIS login failed')}: ${data.error}`);
          break;
        case 'review.new':
          break;
      }
    },
    info() {},
    warn(message, fields) {
      if (output.debug) warn(`${c.yellow('warn')} ${message} ${fields ? JSON.stringify(fields) : ''}`);
    },
    error(message, fields) {
      error(`${c.red('error')} ${message}${fields?.error ? `: ${fields.error}` : ''}`);
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
