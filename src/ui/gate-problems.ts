// The reply gate's problems with a draft as a reader sees them: worded in their language from each problem's rule,
// where the problems were kept rule by rule; otherwise (a card stored by an older gisbot) the English as it was kept.
import type { FoundProblem } from '../core/drafting/gate.ts';
import type { Catalogue } from './messages.ts';

export function saidProblems(problems: readonly string[], findings: readonly FoundProblem[] | undefined, catalogue: Catalogue): string[] {
  if (!findings || findings.length !== problems.length) return [...problems];
  return findings.map((problem) => catalogue.gate.problem(problem));
}
