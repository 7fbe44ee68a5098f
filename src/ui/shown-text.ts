// Text that came from outside (2GIS, the model, Telegram, the database) as a person is shown it. A review can
// hold terminal controls: `\r\e[2K\e[32m` turns a complaint into green praise on the approval screen, `\e]0;…\a`
// sets the window title, `\e]52;c;…\a` writes the clipboard, an RLO reverses what follows it. Every such
// character is made visible instead, so that what a person reads, and approves, is what the text says.
//
// - C0 controls and DEL become their Control Pictures (ESC → ␛, BEL → ␇, CR → ␍, DEL → ␡): one column each, and
//   recognisable. Multi-line text keeps its newlines and tabs (a review's paragraphs); CRLF counts as a newline
//   (the line end of text typed on Windows, not an attack); a bare CR, which returns to the line's start and lets
//   what follows overwrite it, does not stay.
// - Single-line fields (names, branch names, table cells) show newline and tab as their pictures too (␊, ␉), so
//   a name cannot push a line of its own into the output. CRLF there is one ␊.
// - C1 controls (U+0080–U+009F: U+009B is an 8-bit CSI) and the bidi embeddings, overrides and isolates
//   (U+202A–U+202E, U+2066–U+2069) become `\u{202E}`-style escapes: they have no pictures, and an escape names
//   exactly which one was there.
// - The directional marks U+200E, U+200F and U+061C stay: real Hebrew and Arabic text uses them around numbers
//   and Latin words, and a mark only acts as one strong letter would; it cannot reverse, hide or reorder the
//   letters around it as an override or an embedding can. Joiners (U+200D) and variation selectors stay too:
//   emoji are built of them.
// `--json` never goes through here: it prints the stored text byte for byte.

const SHOWN_AS_IS_IN_LINES = new Set(['\n', '\t']);
const UNSAFE = /\r\n|[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export interface ShownTextOptions {
  /** A name or a table cell: newline and tab are shown as ␊ and ␉ too. Default false (a review, a draft). */
  singleLine?: boolean;
}

/** `text` with every control that could steer a terminal, a page or a chat made visible; the rest as written. */
export function shownText(text: string, options: ShownTextOptions = {}): string {
  const singleLine = options.singleLine === true;
  return text.replace(UNSAFE, (found) => {
    if (found === '\r\n') return singleLine ? '␊' : '\n';
    if (!singleLine && SHOWN_AS_IS_IN_LINES.has(found)) return found;
    const code = found.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return `\\u{${code.toString(16).toUpperCase()}}`;
  });
}

/** A name, an id or a table cell from outside: `shownText` on one line. */
export function shownLine(text: string): string {
  return shownText(text, { singleLine: true });
}
