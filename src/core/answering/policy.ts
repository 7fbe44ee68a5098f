// Which reviews gisbot answers by itself, which wait for a person, and which it must leave alone; and, for the
// ones it answers, what the answer should be like (rules by rating and by text present or absent, per branch).
import { detectLanguage, languageName, type Language } from '../drafting/language.ts';
import { ANSWERED_ELSEWHERE, type ListedReview, type ReasonCode, type StoredReview } from '../ports.ts';

/** A branch's answering rules: `policy.*` in the config, overridden key by key by `policy.branches.<id>.*`. */
export interface BranchPolicy {
  /** false: the branch's reviews are recorded as skipped, never answered. */
  enabled: boolean;
  /** How the answers should sound ("friendly, informal"), or null for the system prompt's default. */
  tone: string | null;
  /** How the answers are signed ("— команда «Кофейня»"), or null to let the model sign as the business. */
  signature: string | null;
  /** Facts about the business the model may use (opening hours, what is on the menu). Never the review's. */
  facts: readonly string[];
  /** Reviews rated below this wait for a person; 0 answers every rating automatically. */
  approvalBelowRating: number;
  /** A rating without text gets a short automatic answer; false: it waits for a person. */
  answerRatingOnly: boolean;
  /** The answer's language when the review has no words to tell it by (ISO 639-3, e.g. 'rus'). */
  defaultLanguage: Language;
  /** Per rating ('5'), the branch's own texts for ratings without words; each rating's list replaces the global one (templates.ts). */
  templates?: TemplateSets;
}

/** `policy.templates`: per rating ("1"–"5"), texts with an optional `{name}`. */
export type TemplateSets = Readonly<Partial<Record<string, readonly string[]>>>;

export type ModerationMode = 'required' | 'optional' | 'off';

/** Everything about answering that the config can change; every key has a default here. */
export interface AnsweringPolicy {
  tone: string | null;
  signature: string | null;
  facts: readonly string[];
  answerRatingOnly: boolean;
  defaultLanguage: Language;
  branches: Readonly<Record<string, Partial<BranchPolicy>>>;
  /** Drafts regenerated after the gate refused the first one, before the review waits for a person. */
  maxRegenerations: number;
  /** The provider's moderation endpoint: `required` (no verdict: wait for a person), `optional`, `off`. */
  moderation: ModerationMode;
  /** Answer a reviewer's follow-up comments under our answer (through the same gate and policy). */
  answerFollowUps: boolean;
  /** How many recent answers of ours (per branch) a new draft must differ from. */
  recentAnswers: number;
  templates: TemplateSets;
  /** `[min, max]` minutes an automatic answer waits between its draft and its post; null: posted at once. */
  postDelayMinutes: readonly [number, number] | null;
}

export const DEFAULT_POLICY: AnsweringPolicy = {
  tone: null,
  signature: null,
  facts: [],
  answerRatingOnly: true,
  defaultLanguage: 'rus',
  branches: {},
  maxRegenerations: 2,
  moderation: 'off',
  answerFollowUps: false,
  recentAnswers: 50,
  templates: {},
  postDelayMinutes: null,
};

export interface PolicySettings {
  /** The global threshold (`policy.approvalBelowRating`); a branch may override it. */
  approvalBelowRating: number;
  /** The rest of the policy; missing keys take DEFAULT_POLICY's values. */
  policy?: Partial<AnsweringPolicy>;
}

export function answeringPolicy(settings: PolicySettings): AnsweringPolicy {
  return { ...DEFAULT_POLICY, ...settings.policy };
}

/** The rules in force for one branch: its own keys over the global ones. */
export function branchPolicy(settings: PolicySettings, branchId: string): BranchPolicy {
  const global = answeringPolicy(settings);
  const own = global.branches[branchId] ?? {};
  const defined = Object.fromEntries(Object.entries(own).filter(([, value]) => value !== undefined)) as Partial<BranchPolicy>;
  return {
    enabled: true,
    tone: global.tone,
    signature: global.signature,
    facts: global.facts,
    approvalBelowRating: settings.approvalBelowRating,
    answerRatingOnly: global.answerRatingOnly,
    defaultLanguage: global.defaultLanguage,
    ...defined,
  };
}

export type IntakeDecision =
  | { state: 'new'; reason: null }
  | { state: 'skipped'; reason: string; code: ReasonCode }
  | { state: 'needs_approval'; reason: string; code: ReasonCode };

/** 2gis-api.md: only own-catalog, visible, unanswered reviews that 2GIS lets the owner reply to. */
export function decideIntake(review: ListedReview, settings: PolicySettings): IntakeDecision {
  if (review.catalogId !== '2gis') return { state: 'skipped', reason: `from another catalog (${review.catalogId})`, code: 'other_catalog' };
  if (review.isHidden) return { state: 'skipped', reason: 'hidden on 2GIS', code: 'hidden' };
  if (review.hasOwnerAnswer) return { state: 'skipped', reason: ANSWERED_ELSEWHERE.atIntake, code: 'answered_elsewhere' };
  if (!review.canReply) return { state: 'skipped', reason: '2GIS does not allow a reply', code: 'no_reply_allowed' };
  return decideByPolicy(review, settings);
}

/**
 * Whether a queued review may still be answered automatically, by the policy in force now and the branches
 * watched this cycle (`twogis.branches`, or the account's own list): the operator may have changed either since
 * it was taken in. Asked right after the claim, before any model call or charge.
 */
export function decideAnswering(
  review: Pick<StoredReview, 'branchId' | 'rating' | 'text'>,
  settings: PolicySettings,
  watched: ReadonlySet<string>,
): IntakeDecision {
  if (!watched.has(review.branchId)) {
    return {
      state: 'skipped',
      reason: `branch ${review.branchId} is no longer watched (not in twogis.branches, or gone from the account's branches)`,
      code: 'branch_unwatched',
    };
  }
  return decideByPolicy(review, settings);
}

/** The config's part of the decision: the branch's enablement, the rating threshold, ratings without text. */
function decideByPolicy(review: Pick<StoredReview, 'branchId' | 'rating' | 'text'>, settings: PolicySettings): IntakeDecision {
  const policy = branchPolicy(settings, review.branchId);
  if (!policy.enabled) return { state: 'skipped', reason: `answering is off for branch ${review.branchId} (policy.branches)`, code: 'branch_off' };
  if (review.rating < policy.approvalBelowRating) {
    return {
      state: 'needs_approval',
      reason: `rated ${review.rating}, below policy.approvalBelowRating (${policy.approvalBelowRating})`,
      code: 'below_threshold',
    };
  }
  if (!hasText(review.text) && !policy.answerRatingOnly) {
    return { state: 'needs_approval', reason: 'a rating without text, and policy.answerRatingOnly is off', code: 'rating_only' };
  }
  return { state: 'new', reason: null };
}

/** The longest answer to a rating without text: one short sentence and a signature. */
export const SHORT_ANSWER_MAX = 300;

/** What the answer to one review should be like; it goes to the model outside the review's delimiters. */
export interface AnswerPlan {
  language: Language;
  languageName: string;
  /** The rule by rating and by text present or absent, as an instruction to the model. */
  rule: string;
  /** A limit tighter than reply.maxLength for this answer, if any. */
  maxLength?: number;
  tone: string | null;
  signature: string | null;
  facts: readonly string[];
  defaultLanguage: Language;
}

export function planAnswer(review: { rating: number; text: string; branchId: string }, settings: PolicySettings): AnswerPlan {
  const policy = branchPolicy(settings, review.branchId);
  const language = detectLanguage(review.text) ?? policy.defaultLanguage;
  const base = {
    language,
    languageName: languageName(language),
    tone: policy.tone,
    signature: policy.signature,
    facts: policy.facts,
    defaultLanguage: policy.defaultLanguage,
  };
  if (!hasText(review.text)) {
    const feeling =
      review.rating >= 4
        ? 'thank them for the rating and say you are glad they liked it'
        : review.rating === 3
          ? 'thank them for the rating and say you will keep improving'
          : 'thank them for the rating, say you are sorry it fell short and that you would like to hear what went wrong';
    return {
      ...base,
      rule: `The customer left only a rating of ${review.rating}, without text. Answer short, 1 sentence: ${feeling}.`,
      maxLength: SHORT_ANSWER_MAX,
    };
  }
  if (review.rating >= 4) {
    return { ...base, rule: 'A positive review: thank them warmly and mention one concrete thing they liked. Two to four sentences.' };
  }
  if (review.rating === 3) {
    return {
      ...base,
      rule: 'A mixed review: thank them, take up what they did not like without arguing, and say the team will work on it. Two to four sentences.',
    };
  }
  return {
    ...base,
    rule: 'A negative review: apologise sincerely for what went wrong, without arguing or excuses, and say the team will look into it. Two to four sentences.',
  };
}

/** The plan for a follow-up comment: the comment's language (or the review's), and a rule of its own. */
export function planFollowUp(plan: AnswerPlan, comment: string): AnswerPlan {
  const language = detectLanguage(comment) ?? plan.language;
  const { maxLength: _reviewLimit, ...rest } = plan;
  return {
    ...rest,
    language,
    languageName: languageName(language),
    rule: 'The customer wrote again under our answer: reply to their new comment briefly (1 to 3 sentences), kindly and without arguing.',
  };
}

/** A review "has text" when it has a letter or a digit: "👍" alone is a rating without words. */
export function hasText(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
