// How a card and a notice read in Telegram: HTML parse mode, every text that is not ours escaped, so that a review
// holding `<b>`, `*`, `_` or a link shows those characters as they are and cannot break or forge the card.
import type { CardAction, CardView, TelegramNotice } from '../core/ports.ts';
import { messages } from './messages.ts';

const words = messages.telegram;

export interface RenderedCard {
  /** For parse_mode HTML. */
  html: string;
  buttons: Array<{ action: CardAction; label: string }>;
}

export interface TelegramRenderer {
  card(view: CardView): RenderedCard;
  /** Plain text (a press's answer takes no markup). */
  notice(notice: TelegramNotice): string;
}

/** Telegram's visible limit is 4096 characters; these shares keep a card within it with room to spare. */
const LIMITS = { branch: 120, author: 60, review: 700, reason: 240, draft: 2300, problems: 300, instruction: 240, outcome: 200 };

/** The three characters Telegram's HTML mode needs escaped (docs: "All <, > and & symbols ..."). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** At most `limit` characters, whole code points, cut with an ellipsis. */
function cut(text: string, limit: number): string {
  const chars = [...text.trim()];
  return chars.length > limit ? `${chars.slice(0, limit - 1).join('').trimEnd()}…` : chars.join('');
}

const text = (value: string, limit: number) => escapeHtml(cut(value, limit));

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
  return Number.isNaN(date.getTime()) ? at : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const telegramRenderer: TelegramRenderer = {
  card(view) {
    const { review } = view;
    const lines = [
      `<b>${escapeHtml(stars(review.rating))}</b> · ${text(review.branchName, LIMITS.branch)}`,
      `${text(firstName(review.authorName) || words.anonymous, LIMITS.author)} · ${escapeHtml(utc(review.createdAt))}`,
      `<blockquote>${review.text.trim() === '' ? `<i>${escapeHtml(words.noText)}</i>` : text(review.text, LIMITS.review)}</blockquote>`,
    ];
    if (view.reason && !view.outcome) lines.push(`<i>${text(words.waits(view.reason), LIMITS.reason)}</i>`);
    lines.push('');
    if (view.draft) {
      lines.push(`<b>${escapeHtml(view.draft.editedBy ? words.editedBy(view.draft.editedBy) : words.draft)}</b>`);
      lines.push(`<blockquote>${text(view.draft.text, LIMITS.draft)}</blockquote>`);
      if (!view.outcome) {
        lines.push(view.draft.problems.length === 0 ? escapeHtml(words.gateOk) : text(words.gateRefuses(view.draft.problems), LIMITS.problems));
      }
    } else if (view.draftFailure) {
      lines.push(`<i>${text(words.noDraft(view.draftFailure), LIMITS.reason)}</i>`);
    }
    if (view.instruction && !view.outcome) lines.push(text(words.instruction(view.instruction), LIMITS.instruction));
    if (view.outcome) {
      const outcome = view.outcome;
      lines.push(
        `<b>${text(outcome.kind === 'sent' ? words.sent(outcome.by, utc(outcome.at), outcome.charged) : words.elsewhere(outcome.state, outcome.reason), LIMITS.outcome)}</b>`,
      );
    }
    lines.push(`<code>${escapeHtml(words.reviewLine(review.id))}</code>`);
    return { html: lines.join('\n'), buttons: view.actions.map((action) => ({ action, label: words.buttons[action] })) };
  },

  notice(notice) {
    const n = words.notices;
    switch (notice.kind) {
      case 'sent':
        return n.sent(notice.charged, notice.balance);
      case 'already_answered':
        return n.alreadyAnswered;
      case 'in_work':
        return n.inWork;
      case 'answered_elsewhere':
        return n.answeredElsewhere(notice.reason);
      case 'changed':
        return n.changed;
      case 'refused':
        return n.refused(notice.problems);
      case 'insufficient':
        return n.insufficient;
      case 'not_posted':
        return n.notPosted(notice.reason);
      case 'redrafted':
        return n.redrafted;
      case 'draft_failed':
        return n.draftFailed(notice.reason);
      case 'edit_asked':
        return n.editAsked;
      case 'edit_taken':
        return n.editTaken(notice.problems);
      case 'instruction_taken':
        return n.instructionTaken;
      case 'skipped':
        return n.skipped(notice.reviewId);
      case 'unknown_card':
        return n.unknownCard;
      case 'not_allowed':
        return n.notAllowed;
      case 'wrong_message':
        return n.wrongMessage;
      case 'not_acted':
        return n.notActed(notice.action === null ? words.notices.yourMessage : words.buttons[notice.action], notice.reason);
    }
  },
};
