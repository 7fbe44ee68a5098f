// Typed errors carry the exit code and a hint; bin/gisbot.ts prints one line and sets the code.

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  insufficientBalance: 3,
  /** Ctrl-C at a prompt, or SIGINT: 128 + the signal's number, as shells report it. */
  interrupted: 130,
  /** SIGTERM (128 + 15). */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What an error made in the core says, as a code and its parameters: the reader's catalogue words it
 * (ui/error-text.ts), while `message` keeps the English for the log and for programs.
 */
export type ErrorSaid =
  | { code: 'review_unknown'; reviewId: string }
  /** `state` is the review's; a skipped one's reason is said by its code (reviews.reason_code) where it has one. */
  | { code: 'review_not_free'; reviewId: string; state: string; reason: string | null; reasonCode: string | null };

export class GisbotError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly said: ErrorSaid | undefined;
  constructor(message: string, exitCode: ExitCode, hint?: string, options?: ErrorOptions & { said?: ErrorSaid }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
    this.said = options?.said;
  }
}

export class UsageError extends GisbotError {
  constructor(message: string, hint?: string, said?: ErrorSaid) {
    super(message, ExitCode.usage, hint, said ? { said } : undefined);
  }
}

export class ConfigError extends GisbotError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], hint?: string) {
    super(problems.join('; '), ExitCode.usage, hint);
    this.problems = problems;
  }
}

export class InterruptedError extends GisbotError {
  constructor(exitCode: ExitCode = ExitCode.interrupted) {
    super('interrupted', exitCode);
  }
}

/** The exit code of a command that a signal stopped: 130 for SIGINT, 143 for SIGTERM. */
export function exitCodeOfSignal(signal: 'SIGINT' | 'SIGTERM'): ExitCode {
  return signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
}

export type ServiceName = '2gis' | 'model' | 'database' | 'websocket' | 'telegram';

/**
 * What went wrong with an outside service, in the terms the core decides on:
 * - auth: credentials refused (after one re-login)
 * - blocked: 403, an alert state; back off, never hot-loop
 * - unavailable: timeout, refused connection, 5xx, 429 after retries; safe to try again later
 * - bad_response: a body that does not parse or lacks what it must hold
 * - rejected: a 4xx that will not change on retry (400, 409, 422)
 * - outcome_unknown: a non-idempotent call whose result was not seen; must be read back, never retried blindly
 */
export type ServiceErrorKind = 'auth' | 'blocked' | 'unavailable' | 'bad_response' | 'rejected' | 'outcome_unknown';

export class ServiceError extends GisbotError {
  readonly service: ServiceName;
  readonly kind: ServiceErrorKind;
  readonly status: number | undefined;
  /** How long the service asked to be left alone (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  /** Where the service says the addressed thing now lives (Telegram's migrate_to_chat_id), when it said. */
  readonly movedTo: string | undefined;
  /** A stable name for what happened, for programs (events' `data.code`), where the kind is not enough. */
  readonly code: string | undefined;
  constructor(
    service: ServiceName,
    kind: ServiceErrorKind,
    message: string,
    options: { status?: number; hint?: string; cause?: unknown; retryAfterMs?: number; movedTo?: string; code?: string } = {},
  ) {
    super(message, ExitCode.failed, options.hint, { cause: options.cause });
    this.service = service;
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.movedTo = options.movedTo;
    this.code = options.code;
  }
}

/**
 * A problem of a cycle or a Telegram turn, as codes and the service's own detail (English, as it said it): the
 * reader's catalogue says what failed in their words around it (messages.cycle.problem).
 * - service: a service failed during the cycle; `hint` says what to do, where the reader needs it (a refused sign-in)
 * - telegram_down: Telegram failed in the turn; the cards wait in the database
 * - card_refused: Telegram refused a card for one chat; the card goes out there on a later turn
 */
export type CycleProblem =
  | { kind: 'service'; service: ServiceName; failure: ServiceErrorKind; detail: string; hint?: string }
  | { kind: 'telegram_down'; detail: string }
  | { kind: 'card_refused'; chatId: string; detail: string };

/**
 * A branch whose intake was cut short or had items it could not take in (not a failure), as codes and 2GIS's own
 * detail: the reader's catalogue says it (messages.cycle.warning). `said`: a line already in the reader's words.
 */
export type CycleWarning =
  | { kind: 'intake_cut'; branchId: string; limit: 'pages' | 'seconds'; reached: number }
  | { kind: 'no_page_date'; branchId: string }
  | { kind: 'dates_turned_back'; branchId: string; offsetDate: string; cursor: string }
  /** `items`: the first few, each with why (the store's or the checks' English detail); `count`: all of them. */
  | { kind: 'unreadable'; branchId: string; count: number; items: Array<{ id: string | null; reason: string }> }
  | { kind: 'said'; text: string };

/** Each problem once (a cycle meets the same failure on many reviews). */
export function distinctProblems(problems: readonly CycleProblem[]): CycleProblem[] {
  const seen = new Map(problems.map((problem) => [JSON.stringify(problem), problem]));
  return [...seen.values()];
}

export function isServiceError(error: unknown, service?: ServiceName): error is ServiceError {
  return error instanceof ServiceError && (service === undefined || error.service === service);
}
