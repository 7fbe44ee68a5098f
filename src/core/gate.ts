// The reply gate: nothing reaches 2GIS without passing it (invariant 14). Pure functions, table-tested.

export interface GateSettings {
  maxLength: number;
}

export interface DraftUnderReview {
  text: string;
  finishReason: string;
}

/** Returns the reasons a draft must not be posted; an empty list means it may go out. */
export function checkReply(draft: DraftUnderReview, settings: GateSettings): string[] {
  const reasons: string[] = [];
  const text = draft.text.trim();
  if (text.length === 0) reasons.push('the draft is empty');
  if ([...text].length > settings.maxLength) reasons.push(`the draft is longer than ${settings.maxLength} characters`);
  if (draft.finishReason !== 'stop') reasons.push(`the model did not finish normally (${draft.finishReason})`);
  return reasons;
}

/** Tidies a draft before the gate sees it: models like to wrap answers in quotes. */
export function normaliseDraft(text: string): string {
  const trimmed = text.trim();
  const quoted = /^["«“](.*)["»”]$/s.exec(trimmed);
  return (quoted?.[1] ?? trimmed).trim();
}
