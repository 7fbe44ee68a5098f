// The notes gisbot itself writes beside a ledger entry. Stored as these English words (they are what `balance
// history --json` shows, and rows written before carry them already): they work as codes, and people read them in
// their own language through the catalogue (messages.*.history.note). A person's own note (balance adjust --note)
// is stored and shown as written.

/** `balance add`. */
export const CLI_TOP_UP_NOTE = 'top-up from the command line';
/** The demo's pretend businesses' starting balance. */
export const DEMO_TOP_UP_NOTE = 'demo balance';
/** A refund of an answer 2GIS removed (billing.refundRemoved): an `adjustment` with this note. */
export const REFUND_NOTE = 'refund: answer removed by 2GIS';
