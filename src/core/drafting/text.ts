// Bounds on how much of a text is looked at. Review texts come from strangers and drafts from a model: either can
// be millions of characters long, and nothing that reads them may cost more than a bounded prefix does.

/** The first `units` UTF-16 code units of `text`, never ending in half of a surrogate pair. */
export function leading(text: string, units: number): string {
  if (text.length <= units) return text;
  const cut = text.slice(0, units);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** Whether `text` has more than `limit` characters (code points), looking at no more than 2 × `limit` code units. */
export function longerThan(text: string, limit: number): boolean {
  if (text.length <= limit) return false;
  // A code point takes one or two code units.
  if (text.length > limit * 2) return true;
  return [...text].length > limit;
}
