// What an error says to the person on the terminal, in their language: an error that carries what it says as a code
// (`said`, errors.ts) is worded by the catalogue; the English a message was written in where it was met (the core,
// the store) is said in the reader's words where it is a known one; a service's own detail stays its own words,
// after what the service's failure is.
import { ConfigError, ServiceError, type GisbotError } from '../errors.ts';
import { messages, type Catalogue } from './messages.ts';

/** The error's lines (a config can be wrong in several places at once: each problem on its own line). */
export function errorLines(error: GisbotError, catalogue: Catalogue = messages): string[] {
  if (error instanceof ConfigError) return error.problems.map((line) => catalogue.errors.message(line));
  const line = error.said ? catalogue.errors.said(error.said, error.message) : catalogue.errors.message(error.message);
  // A service's own detail is English (its words come from the service); another language says first what it is.
  const what = error instanceof ServiceError ? catalogue.errors.service(error.service, error.kind) : '';
  return [what ? `${what} (${line})` : line];
}
