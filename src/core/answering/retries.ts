// When a review whose draft failed is tried again (issue 18). A model that refuses the request (a mistyped
// openai.model answers 404, a setting it does not take 400) or sends what cannot be read fails the review; such a
// failure can pass (the operator fixes the config, the provider recovers), so the review is tried again: after a
// backoff of 10 minutes doubling, at most MAX_TRIES times under the same model settings, and at once whenever those
// settings change (Store.requeueFailed). Meanwhile, and after the last try, it waits in `gisbot reply` and on its card.
// A model that cannot be reached or refuses the key does not fail a review at all: it goes back to the queue.
// A failure after something may have been posted is never retried here: the review was read back first (invariant 3).
import { createHash } from 'node:crypto';
import { isServiceError, type ServiceError } from '../../errors.ts';
import type { FailureRetry } from '../ports.ts';

/** Tries of one review under the same model settings: the first one and the retries after 10, 20, 40, 80 minutes. */
export const MAX_TRIES = 5;
export const FIRST_PAUSE_MS = 10 * 60_000;

/** Whether a failure can pass without a person: a model that refused the request or answered what cannot be read. */
export function canPass(error: unknown): error is ServiceError {
  return isServiceError(error, 'model') && (error.kind === 'rejected' || error.kind === 'bad_response');
}

/**
 * What is kept with a review that failed for a reason that can pass: the model settings it failed under, its tries
 * under them (counting this one), and when it is tried next (null after the last try: only a change of the model
 * settings, or a person, answers it then).
 */
export function retryAfterFailure(previousTries: number, settings: string, now: Date): FailureRetry {
  const tries = Math.max(0, previousTries) + 1;
  const at = tries >= MAX_TRIES ? null : new Date(now.getTime() + FIRST_PAUSE_MS * 2 ** (tries - 1));
  return { settings, tries, at };
}

/**
 * The model settings a failure is kept with, as a digest: the endpoint, the model and whatever else goes into the
 * request. The API key counts through its own digest, never itself.
 */
export function modelSettingsFingerprint(settings: {
  baseURL: string;
  model: string;
  apiKey?: string | undefined;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
}): string {
  const key = settings.apiKey === undefined ? null : createHash('sha256').update(settings.apiKey).digest('hex');
  const parts = [settings.baseURL, settings.model, key, settings.temperature ?? null, settings.maxTokens ?? null];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
