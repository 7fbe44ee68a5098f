// How a card and a notice read in Telegram: HTML parse mode, every text that is not ours escaped, so that a review
// holding `<b>`, `*`, `_` or a link shows those characters as they are and cannot break or forge the card.
import type { CardAction, CardView, PanelAlert, PanelFigures, TelegramNotice } from '../core/ports.ts';
import { CARD_TEXT_LIMIT } from '../core/approval/telegram.ts';
import type { UiLanguage } from './language.ts';
import { currentLanguage, messagesFor, type Catalogue } from './messages.ts';
import { saidProblems } from './gate-problems.ts';
import { shownLine, shownText } from './shown-text.ts';

// The catalogue of the chat being written to, set by each call of the renderer (rendering is synchronous): a card in
// a Russian business's chat reads Russian, the same card in an English one English (one bot serves both).
let catalogue: Catalogue = messagesFor('en');
let words: Catalogue['telegram'] = catalogue.telegram;

function speak(language: UiLanguage): void {
  catalogue = messagesFor(language);
  words = catalogue.telegram;
}

export interface RenderedCard {
  /** For parse_mode HTML. */
  html: string;
  buttons: Array<{ action: CardAction; label: string }>;
}

export interface TelegramRenderer {
  /** `chatId`: the chat it goes to, whose business's language it is written in. */
  card(view: CardView, chatId?: string): RenderedCard;
  /** Plain text (a press's answer takes no markup). */
  notice(notice: TelegramNotice, chatId?: string): string;
}

/**
 * Telegram refuses a message whose text, after its HTML is parsed, is longer than 4096 UTF-16 code units ("message
 * is too long"); a card is measured the same way (the parsed text is the unescaped text: tags add nothing).
 */
export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Each outside part of a card: `cap` is its share when there is room (a card stays short enough to read on a phone);
 * `floor` is what it keeps at least when the card is over the limit (the cut note included). Parts are cut in this
 * order, the review first. A draft that the core lets be sent (CARD_TEXT_LIMIT) always fits whole beside the floors.
 */
const PARTS = {
  review: { cap: 700, floor: 200 },
  instruction: { cap: 240, floor: 80 },
  reason: { cap: 240, floor: 80 },
  looksLike: { cap: 200, floor: 80 },
  outcome: { cap: 200, floor: 80 },
  draftFailure: { cap: 240, floor: 80 },
  branch: { cap: 120, floor: 60 },
  author: { cap: 60, floor: 45 },
  editor: { cap: 120, floor: 60 },
  problems: { cap: 300, floor: 120 },
} as const;
type PartName = keyof typeof PARTS;
const CUT_ORDER = Object.keys(PARTS) as PartName[];

/** The three characters Telegram's HTML mode needs escaped (docs: "All <, > and & symbols ..."). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Text that came from outside, as a card shows it (its controls made visible), before it is measured and cut: what
 * the card shows is what is counted.
 */
const outside = (value: string): string => shownText(value);

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * `value` in at most `budget` UTF-16 units: whole, or its first whole characters (graphemes, so an emoji with its
 * joiners is never split) and the note that says how much was cut.
 */
export function fitted(value: string, budget: number): { shown: string; cut: boolean } {
  if (value.length <= budget) return { shown: value, cut: false };
  const room = Math.max(0, budget - words.cut(value.length).length);
  let kept = '';
  for (const { segment } of graphemes.segment(value)) {
    if (kept.length + segment.length > room) break;
    kept += segment;
  }
  kept = kept.trimEnd();
  return { shown: `${kept}${words.cut([...value.slice(kept.length)].length)}`, cut: true };
}

/** A card's parts: our own words (`fixed`, measured as they read) and outside texts cut to fit. */
interface Layout {
  /** The card's text without its outside parts, as Telegram counts it. */
  fixed: number;
  parts: Partial<Record<PartName, string>>;
  draft: string | null;
}

/**
 * How many UTF-16 units each outside part may take so that the card fits: each at most its cap; over the limit,
 * parts give way in CUT_ORDER down to their floors; the draft is whole whenever it fits beside those floors.
 */
function budgets(layout: Layout): { parts: Partial<Record<PartName, number>>; draft: number } {
  const parts: Partial<Record<PartName, number>> = {};
  for (const name of CUT_ORDER) {
    const value = layout.parts[name];
    if (value !== undefined) parts[name] = Math.min(value.length, PARTS[name].cap);
  }
  // A draft too long to show whole beside the other parts' floors is shown cut, as much of it as CARD_TEXT_LIMIT
  // (it cannot be sent from the card anyway), and leaves the review its room.
  const floors = Object.entries(parts).reduce((sum, [name, each]) => sum + Math.min(each, PARTS[name as PartName].floor), 0);
  const whole = layout.draft !== null && layout.draft.length <= TELEGRAM_TEXT_LIMIT - layout.fixed - floors;
  const draftLength = layout.draft === null ? 0 : whole ? layout.draft.length : Math.min(layout.draft.length, CARD_TEXT_LIMIT);
  const total = () => layout.fixed + draftLength + Object.values(parts).reduce((sum, each) => sum + each, 0);
  for (const name of CUT_ORDER) {
    const over = total() - TELEGRAM_TEXT_LIMIT;
    if (over <= 0) break;
    const budget = parts[name];
    if (budget === undefined) continue;
    parts[name] = Math.max(Math.min(budget, PARTS[name].floor), budget - over);
  }
  return { parts, draft: Math.max(0, TELEGRAM_TEXT_LIMIT - (total() - draftLength)) };
}

function stars(rating: number): string {
  const full = Math.max(0, Math.min(5, Math.round(rating)));
  return `${'★'.repeat(full)}${'☆'.repeat(5 - full)} ${rating}/5`;
}

/** The reviewer's first name: 2GIS gives "Анна К." or a full name; the first word is enough to greet them. */
function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? '';
}

function utc(at: string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? shownLine(at) : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The card's lines, each a template of our markup and words around `slot(name)` for an outside part. Rendered
 * twice: once with empty slots to measure our own text, once with each part cut to its budget.
 */
function cardLines(view: CardView, slot: (name: PartName | 'draft') => string): string[] {
  const { review } = view;
  const lines = [
    // In a staff chat, which gets every business's cards: whose this one is. Our config's words, not outside text.
    ...(view.business ? [`<b>${escapeHtml(words.panel.ofBusiness(shownLine(view.business)))}</b>`] : []),
    `<b>${escapeHtml(stars(review.rating))}</b> · ${slot('branch')}`,
    `${slot('author')} · ${escapeHtml(utc(review.createdAt))}`,
    `<blockquote>${review.text.trim() === '' ? `<i>${escapeHtml(words.noText)}</i>` : slot('review')}</blockquote>`,
  ];
  if (view.reason && !view.outcome) lines.push(`<i>${slot('reason')}</i>`);
  if (view.looksLike && !view.outcome) lines.push(`<b>${slot('looksLike')}</b>`);
  lines.push('');
  if (view.draft) {
    const heading = view.draft.template ? words.draftFromTemplate(view.draft.template) : words.draft;
    lines.push(`<b>${view.draft.editedBy ? slot('editor') : escapeHtml(heading)}</b>`);
    lines.push(`<blockquote>${slot('draft')}</blockquote>`);
    if (!view.outcome) lines.push(view.draft.problems.length === 0 ? escapeHtml(words.gateOk) : slot('problems'));
  } else if (view.draftFailure) {
    lines.push(`<i>${slot('draftFailure')}</i>`);
  }
  if (view.instruction && !view.outcome) lines.push(slot('instruction'));
  if (view.outcome) lines.push(`<b>${slot('outcome')}</b>`);
  if (view.superseded) lines.push(`<i>${escapeHtml(words.superseded)}</i>`);
  lines.push(`<code>${escapeHtml(words.reviewLine(shownLine(review.id)))}</code>`);
  return lines;
}

/** The outside parts a card shows, each as one text (our words around a reason or a name are cut with it). */
function partsOf(view: CardView): Layout['parts'] {
  const { review, draft, outcome } = view;
  const parts: Layout['parts'] = {
    branch: shownLine(review.branchName).trim(),
    author: shownLine(firstName(review.authorName)) || words.anonymous,
  };
  if (review.text.trim() !== '') parts.review = outside(review.text).trim();
  if (view.reason && !outcome) parts.reason = words.waits(outside(catalogue.console.reason(view.reasonCode ?? undefined, view.reason)));
  if (view.looksLike && !outcome) parts.looksLike = words.looksLike(view.looksLike.kind, outside(view.looksLike.evidence), view.actions.includes('complain'));
  if (draft?.editedBy) parts.editor = words.editedBy(shownLine(draft.editedBy));
  if (draft && !outcome && draft.problems.length > 0) parts.problems = words.gateRefuses(saidProblems(draft.problems, draft.findings, catalogue).map(outside));
  if (!draft && view.draftFailure) parts.draftFailure = words.noDraft(outside(view.draftFailure));
  if (view.instruction && !outcome) parts.instruction = words.instruction(outside(view.instruction));
  if (outcome) {
    parts.outcome = outcome.kind === 'sent'
      ? words.sent(shownLine(outcome.by), utc(outcome.at), outcome.charged)
      : words.elsewhere(outcome.state, outcome.reason === null ? null : outside(catalogue.console.reason(outcome.reasonCode ?? undefined, outcome.reason)));
  }
  return parts;
}

/** The card's text as Telegram counts it: the HTML's text, unescaped, without tags. */
function parsedLength(html: string): number {
  return html.replace(/<[^>]*>/g, '').replace(/&lt;|&gt;|&amp;/g, '&').length;
}

/**
 * A renderer that writes to each chat in its language (`languageOf`: the business's `ui.language` for its chats,
 * context.ts); without a chat, the terminal's.
 */
export function telegramRendererFor(languageOf: (chatId: string) => UiLanguage): TelegramRenderer {
  return {
    card(view, chatId) {
      speak(chatId === undefined ? currentLanguage() : languageOf(chatId));
      return renderer.card(view);
    },
    notice(notice, chatId) {
      speak(chatId === undefined ? currentLanguage() : languageOf(chatId));
      return renderer.notice(notice);
    },
  };
}

/** Every chat in the terminal's language. */
export const telegramRenderer: TelegramRenderer = telegramRendererFor(() => currentLanguage());

const renderer: TelegramRenderer = {
  card(view) {
    const draftText = view.draft ? outside(view.draft.text).trim() : null;
    const layout: Layout = {
      fixed: parsedLength(cardLines(view, () => '').join('\n')),
      parts: partsOf(view),
      draft: draftText,
    };
    const budget = budgets(layout);
    const draft = draftText === null ? null : fitted(draftText, budget.draft);
    const lines = cardLines(view, (name) => {
      if (name === 'draft') return escapeHtml(draft?.shown ?? '');
      return escapeHtml(fitted(layout.parts[name] ?? '', budget.parts[name] ?? 0).shown);
    });
    // A draft the card could not show whole is never sent from it: the person would send what they did not see.
    const actions = draft?.cut ? view.actions.filter((action) => action !== 'send') : view.actions;
    return { html: lines.join('\n'), buttons: actions.map((action) => ({ action, label: words.buttons[action] })) };
  },

  notice(notice) {
    const n = words.notices;
    const p = words.panel;
    switch (notice.kind) {
      case 'sent':
        return n.sent(notice.charged, notice.balance);
      case 'already_answered':
        return n.alreadyAnswered;
      case 'in_work':
        return n.inWork;
      case 'answered_elsewhere':
        return n.answeredElsewhere(notice.reason === null ? null : shownText(catalogue.console.reason(notice.code ?? undefined, notice.reason)));
      case 'changed':
        return n.changed;
      case 'refused':
        return n.refused(saidProblems(notice.problems, notice.findings, catalogue).map((problem) => shownText(problem)));
      case 'insufficient':
        return n.insufficient;
      case 'not_posted':
        return n.notPosted(shownText(catalogue.console.reason(notice.code ?? undefined, notice.reason)));
      case 'fate_unknown':
        return n.fateUnknown(shownText(notice.detail));
      case 'service_failed':
        return n.serviceFailed(notice.detail === null ? null : shownText(notice.detail));
      case 'no_draft':
        return n.noDraft(notice.detail === null ? null : shownText(notice.detail));
      case 'redrafted':
        return n.redrafted;
      case 'draft_failed':
        return n.draftFailed(shownText(notice.reason));
      case 'edit_asked':
        return n.editAsked;
      case 'complaint_asked':
        return n.complaintAsked;
      case 'complaint':
        return n.complaint(notice.status);
      case 'complaint_refused':
        return n.complaintRefused(notice.why, notice.length ?? 0, notice.detail ? shownText(notice.detail) : null);
      case 'edit_taken':
        return n.editTaken(saidProblems(notice.problems, notice.findings, catalogue).map((problem) => shownText(problem)));
      case 'instruction_taken':
        return n.instructionTaken;
      case 'skipped':
        return n.skipped(shownLine(notice.reviewId));
      case 'unknown_card':
        return n.unknownCard;
      case 'not_allowed':
        return n.notAllowed;
      case 'wrong_message':
        return n.wrongMessage;
      case 'not_acted':
        return n.notActed(notice.action === null ? words.notices.yourMessage : words.buttons[notice.action], shownText(n.notActedReason(notice.why ?? null, notice.reason)));
      case 'chat_id':
        if (notice.staff) return p.chatIdStaff(notice.chatId);
        return p.chatId(notice.chatId, notice.allowed, notice.business === null ? null : shownLine(notice.business));
      case 'balance':
        return p.balance(notice.balance, notice.held);
      case 'balances':
        return notice.businesses.map((one) => p.businessLine(shownLine(one.business), p.balance(one.balance, one.held))).join('\n');
      case 'stats':
        return [...named(notice.business), p.statsTitle(notice.days), ...figureLines(notice.figures)].join('\n');
      case 'stats_each': {
        const lines = notice.businesses.map(({ business, figures: f }) => p.businessLine(shownLine(business), p.statsLine(f.reviews, f.answered, f.waiting, f.charged)));
        return [p.statsTitle(notice.days), ...lines, ...(notice.more > 0 ? [p.moreBusinesses(notice.more)] : [])].join('\n');
      }
      case 'waiting':
        return p.waiting(notice.shown, notice.more);
      case 'unknown_command':
        return p.unknownCommand(shownLine(notice.command));
      case 'alert':
        return [...named(notice.business), alertText(notice.alert)].join('\n');
      case 'digest': {
        const lines = [...named(notice.business), p.digestTitle(notice.from.slice(0, 10), notice.to.slice(0, 10)), ...figureLines(notice.figures)];
        if (notice.topics.length > 0) lines.push(p.topics(notice.topics.map((topic) => shownLine(topic))));
        lines.push(p.digestBalance(notice.balance));
        return lines.join('\n');
      }
    }
  },
};

/** The line naming the business a staff chat's message is about; none in a business's own chat. */
function named(business: string | undefined): string[] {
  return business ? [words.panel.ofBusiness(shownLine(business))] : [];
}

/** A panel message's figures, one a line, under the names `stats` uses. */
function figureLines(figures: PanelFigures): string[] {
  const f = words.panel.figures;
  const shown = (value: number | null, unit = '') => (value === null ? words.panel.none : `${value}${unit}`);
  return [
    `${f.reviews}: ${figures.reviews}`,
    `${f.answered}: ${figures.answered} (${f.byPerson}: ${figures.byPerson})`,
    `${f.answeredElsewhere}: ${figures.answeredElsewhere}`,
    `${f.waiting}: ${figures.waiting}`,
    `${f.skipped}: ${figures.skipped}`,
    `${f.failed}: ${figures.failed}`,
    `${f.replyRate}: ${figures.replyRate === null ? words.panel.none : `${Math.round(figures.replyRate * 1000) / 10}%`}`,
    `${f.medianMinutesToAnswer}: ${shown(figures.medianMinutesToAnswer)}`,
    `${f.averageRating}: ${shown(figures.averageRating)}`,
    `${f.charged}: ${catalogue.money(figures.charged)}`,
  ];
}

function alertText(alert: PanelAlert): string {
  const a = words.panel.alerts;
  switch (alert.kind) {
    case 'balance.low':
      return a.balanceLow(alert.balance, alert.threshold);
    case 'balance.insufficient':
      return a.insufficient(alert.balance, alert.price);
    case 'complaint.repeated':
      return a.complaint(shownLine(alert.topic), alert.count);
    case 'auth.failed':
      return a.authFailed(shownText(alert.error), alert.code === 'token_expired');
    case 'reminder':
      return a.reminder(shownLine(alert.reviewId), shownLine(alert.branchName), alert.rating, alert.hours);
  }
}
