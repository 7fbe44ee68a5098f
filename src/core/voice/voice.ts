// The owner's voice (issue 22): every answer a person produced is kept as an example, and a new draft is shown the
// few that answered the reviews most like its own. Examples are the business's own words: they never cross to
// another business (the store scopes them), carry no reviewer's name, phone or e-mail (replaced by placeholders
// before they are kept), and are never a generic one-liner or an answer 2GIS removed.
//
// Likeness: same branch first, then the same rating band, then how alike the review texts are: the cosine of the
// server's `/embeddings` vectors when voice.embeddingModel is set (vectors kept with the example, computed once),
// else the cosine of character-trigram counts, which needs nothing but this file.
import { isServiceError } from '../../errors.ts';
import { maskContacts, normaliseDraft } from '../drafting/gate.ts';
import type { PipelineDeps, VoiceSettings } from '../pipeline.ts';
import type { DraftDecision, StoredVoiceExample, VoiceExample, VoiceWeight } from '../ports.ts';
import { PROMPT_TEXT_LIMIT, type PromptExample } from '../drafting/prompt.ts';

export const DEFAULT_VOICE: VoiceSettings = { examples: 3, embeddingModel: null };

/** What a name, a phone and an e-mail become in a kept example. */
export const NAME_PLACEHOLDER = '{name}';

/** The examples a draft looks through: the branch's newest first, then the business's other branches'. */
const CANDIDATES = 200;
/** Texts embedded in one `/embeddings` call: the review and the candidates that have no vector yet. */
const EMBED_BATCH = 64;
/** How long a process keeps a branch's examples before it reads them again (another process may have added some). */
const CANDIDATES_KEPT_MS = 60_000;

export function voiceSettings(settings: PipelineDeps['settings']): VoiceSettings {
  return { ...DEFAULT_VOICE, ...settings.voice };
}

// ---------------------------------------------------------------- keeping

/** What a person did to the draft shown to them: the share of its characters changed (0 untouched, 1 all). */
export function changedShare(shown: string, sent: string): number {
  const a = shown.trim();
  const b = sent.trim();
  if (a === b) return 0;
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 0 : Math.min(1, editDistance(a, b) / longest);
}

/** What a person did with the draft shown to them (null: none was shown): stats' `decisions`. */
export function decisionOf(shown: string | null, sent: string): { kind: 'untouched' | 'edited' | 'rewritten'; share: number } {
  const share = shown === null ? 1 : changedShare(shown, sent);
  return { kind: share === 0 ? 'untouched' : share <= 0.5 ? 'edited' : 'rewritten', share };
}

/** An answer's weight as an example, from the draft shown (null: none was) and the text sent. */
export function weightOf(shown: string | null, sent: string): VoiceWeight {
  return ({ untouched: 'approved', edited: 'corrected', rewritten: 'written' } as const)[decisionOf(shown, sent).kind];
}

/** Records a person's decision on a draft; a failure is logged, never the person's: the decision stands. */
export async function noteDecision(
  deps: Pick<PipelineDeps, 'store' | 'logger' | 'clock'>,
  review: { id: string; branchId: string },
  decision: { kind: DraftDecision['kind']; share: number | null },
): Promise<void> {
  try {
    await deps.store.recordDecision({ reviewId: review.id, branchId: review.branchId, ...decision, at: deps.clock.now() });
  } catch (error) {
    deps.logger.warn("a person's decision on a draft could not be recorded", { reviewId: review.id, error: error instanceof Error ? error.message : String(error) });
  }
}

/** A person threw the draft away for a new one. */
export function noteRegeneration(deps: Pick<PipelineDeps, 'store' | 'logger' | 'clock'>, review: { id: string; branchId: string }): Promise<void> {
  return noteDecision(deps, review, { kind: 'regenerated', share: null });
}

/**
 * The example to keep for a review and the answer a person gave it, or null when it teaches nothing: an empty or
 * generic answer. Names, phones and e-mails are replaced in both texts.
 */
export function exampleOf(
  review: { id: string; branchId: string; rating: number; text: string; authorName: string },
  answer: string,
  weight: VoiceWeight,
  at: Date,
): VoiceExample | null {
  const answerText = anonymise(normaliseDraft(answer), review.authorName);
  if (answerText === '' || isGeneric(answerText)) return null;
  return {
    reviewId: review.id,
    branchId: review.branchId,
    rating: review.rating,
    reviewText: anonymise(review.text.trim(), review.authorName),
    answerText,
    weight,
    at,
  };
}

/** Keeps an example; a failure is logged, never the answer's: the answer is out on 2GIS already. */
export async function keepExample(
  deps: Pick<PipelineDeps, 'store' | 'logger' | 'clock'>,
  review: { id: string; branchId: string; rating: number; text: string; authorName: string },
  answer: string,
  weight: VoiceWeight,
): Promise<void> {
  const example = exampleOf(review, answer, weight, deps.clock.now());
  if (example === null) return;
  try {
    await deps.store.keepVoiceExamples([example]);
    forgetCandidates(deps.store);
  } catch (error) {
    deps.logger.warn('the answer could not be kept as an example of the owner\'s voice', {
      reviewId: review.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** An owner's answer gisbot found on 2GIS and did not post (answered elsewhere): the business's own words. */
export async function keepAnswerFound(
  deps: Pick<PipelineDeps, 'store' | 'logger' | 'clock'>,
  review: { id: string; branchId: string; rating: number; text: string; authorName: string },
  ownerAnswer: { text: string } | null | undefined,
): Promise<void> {
  if (ownerAnswer && ownerAnswer.text.trim() !== '') await keepExample(deps, review, ownerAnswer.text, 'elsewhere');
}

/**
 * `text` with the reviewer's name (each word of it, in any case ending Russian gives it) replaced by {name}, and
 * phones and e-mails by {phone} and {email}: an example must not greet the next reviewer by someone else's name.
 */
export function anonymise(text: string, authorName: string): string {
  let out = maskContacts(text);
  for (const word of nameWords(authorName)) out = out.replace(namePattern(word), NAME_PLACEHOLDER);
  return out;
}

/** What 2GIS and its users write in place of a name: words of the language, not anyone's name. */
const NOT_NAMES = new Set(['гость', 'аноним', 'анонимно', 'пользователь', 'клиент', 'guest', 'anonymous', 'user']);

function nameWords(authorName: string): string[] {
  const words = authorName.split(/[^\p{L}-]+/u).filter((word) => [...word].length >= 2 && !NOT_NAMES.has(word.toLowerCase()));
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

/** A name and its case forms: "Анна" also as "Анне", "Анну", "Анной"; "Иван" as "Ивану", "Иваном". */
function namePattern(word: string): RegExp {
  const stem = word.length >= 4 && /[аяеиоуыьй]$/iu.test(word) ? word.slice(0, -1) : word;
  const escaped = stem.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}\\p{L}{0,3}(?![\\p{L}\\p{N}])`, 'giu');
}

/** Stock phrases that say nothing of the business: an answer made of them alone is generic. */
const STOCK = [
  /спасибо|благодар\p{L}*|рахмет|thank(?:s| you)/giu,
  /за (?:ваш |вашу |ваши )?(?:отзыв|оценк|обратн\p{L}* связ)\p{L}*/giu,
  /(?:ждём|ждем|будем рады видеть|рады видеть|приходите|заходите) (?:вас )?(?:снова|ещё|еще|опять)?/giu,
  /for (?:your |the )?(?:review|feedback|rating)|see you (?:again|soon)/giu,
  /\{name\}|(?<!\p{L})(?:здравствуйте|добрый день|hello|hi)(?!\p{L})/giu,
];

/** "Спасибо за отзыв!", "Спасибо, ждём вас снова!": fewer than four words once the stock phrases are gone. */
export function isGeneric(answer: string): boolean {
  let rest = answer;
  for (const phrase of STOCK) rest = rest.replace(phrase, ' ');
  return (rest.match(/\p{L}{2,}/gu) ?? []).length < 4;
}

/** Levenshtein distance in UTF-16 units, two rows. */
function editDistance(a: string, b: string): number {
  if (a.length < b.length) [a, b] = [b, a];
  let previous = new Uint32Array(b.length + 1).map((_, i) => i);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i += 1) {
    current[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = previous[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------- choosing

/** 1–2, 3, 4–5: a complaint is not answered like praise. */
export function ratingBand(rating: number): number {
  return rating <= 2 ? 0 : rating === 3 ? 1 : 2;
}

/** Lower case, letters and digits, single spaces: what the trigrams are taken over. */
function comparable(text: string): string {
  return text.toLowerCase().replaceAll('ё', 'е').replace(/\{(?:name|phone|email)\}/g, ' ').replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** Counts of the character trigrams of a text (words padded with a space each side). */
export function trigrams(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of comparable(text).split(' ')) {
    if (word === '') continue;
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i += 1) {
      const gram = padded.slice(i, i + 3);
      counts.set(gram, (counts.get(gram) ?? 0) + 1);
    }
  }
  return counts;
}

/** The cosine of two reviews' trigram counts: 0 (nothing shared) to 1 (the same words). */
export function lexicalSimilarity(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [gram, count] of a) {
    na += count * count;
    dot += count * (b.get(gram) ?? 0);
  }
  for (const count of b.values()) nb += count * count;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

const WEIGHT_ORDER: Record<VoiceWeight, number> = { corrected: 0, written: 0, elsewhere: 1, approved: 2 };

/**
 * The `count` examples most like a review of `branchId` rated `rating`, best first: same branch first, then the
 * same rating band, then similarity; ties go to a person's corrections over plain approvals, then the newest.
 * One answer is shown once.
 */
export function rankExamples<E extends VoiceExample>(
  review: { branchId: string; rating: number },
  scored: ReadonlyArray<{ example: E; similarity: number }>,
  count: number,
): E[] {
  const band = ratingBand(review.rating);
  const key = ({ example, similarity }: { example: E; similarity: number }) => [
    example.branchId === review.branchId ? 0 : 1,
    ratingBand(example.rating) === band ? 0 : 1,
    -similarity,
    WEIGHT_ORDER[example.weight],
    -example.at.getTime(),
  ];
  const ranked = [...scored].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i += 1) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
  const chosen: E[] = [];
  const answers = new Set<string>();
  for (const { example } of ranked) {
    if (chosen.length >= count) break;
    const answer = comparable(example.answerText);
    if (answers.has(answer)) continue;
    answers.add(answer);
    chosen.push(example);
  }
  return chosen;
}

/**
 * The examples for a draft of `review`, best first; none when voice.examples is 0. Never fails the draft: a store
 * or embeddings failure is logged and the draft goes on with fewer (or lexically chosen) examples.
 */
export async function chooseExamples(
  deps: Pick<PipelineDeps, 'store' | 'model' | 'logger' | 'clock' | 'settings'>,
  review: { id: string; branchId: string; rating: number; text: string },
  signal?: AbortSignal,
): Promise<PromptExample[]> {
  const voice = voiceSettings(deps.settings);
  if (voice.examples <= 0) return [];
  let candidates: StoredVoiceExample[];
  try {
    candidates = await candidatesFor(deps, review.branchId, voice.embeddingModel);
  } catch (error) {
    if (signal?.aborted || !isServiceError(error)) throw error;
    deps.logger.warn('the owner\'s examples could not be read; the draft goes on without them', { reviewId: review.id, error: error.message });
    return [];
  }
  candidates = candidates.filter((example) => example.reviewId !== review.id);
  if (candidates.length === 0) return [];
  const similarities = (await embeddedSimilarities(deps, review, candidates, voice.embeddingModel, signal)) ?? lexicalSimilarities(review.text, candidates);
  const scored = candidates.map((example, index) => ({ example, similarity: similarities[index]! }));
  return rankExamples(review, scored, voice.examples).map(({ rating, reviewText, answerText }) => ({ rating, reviewText, answerText }));
}

function lexicalSimilarities(text: string, candidates: readonly StoredVoiceExample[]): number[] {
  const own = trigrams(text);
  return candidates.map((example) => lexicalSimilarity(own, trigrams(example.reviewText)));
}

/** Cosines of the review's vector and each candidate's, computing (and keeping) the ones missing; null: lexical. */
async function embeddedSimilarities(
  deps: Pick<PipelineDeps, 'store' | 'model' | 'logger'>,
  review: { id: string; text: string },
  candidates: StoredVoiceExample[],
  model: string | null,
  signal?: AbortSignal,
): Promise<number[] | null> {
  if (model === null || deps.model.embed === undefined) return null;
  if (review.text.trim() === '') return candidates.map(() => 0);
  const missing = candidates.filter((example) => example.vector === null && example.reviewText.trim() !== '').slice(0, EMBED_BATCH - 1);
  try {
    const [own, ...computed] = await deps.model.embed([shownPart(review.text), ...missing.map((example) => shownPart(example.reviewText))], model, signal);
    const fresh = missing.map((example, index) => ({ reviewId: example.reviewId, vector: computed[index]! }));
    for (const [index, example] of missing.entries()) example.vector = computed[index]!;
    if (fresh.length > 0) await deps.store.saveVoiceVectors(model, fresh);
    return candidates.map((example) => (example.vector === null ? 0 : cosine(own!, example.vector)));
  } catch (error) {
    if (signal?.aborted || !isServiceError(error)) throw error;
    deps.logger.warn('the embeddings endpoint failed; the examples are chosen by their words this time', { reviewId: review.id, error: error.message });
    return null;
  }
}

function shownPart(text: string): string {
  return text.length > PROMPT_TEXT_LIMIT ? text.slice(0, PROMPT_TEXT_LIMIT) : text;
}

/** Candidates read per store and branch, for a short while: a cycle's drafts at one branch read them once. */
const cached = new WeakMap<object, Map<string, { at: number; rows: Promise<StoredVoiceExample[]> }>>();

async function candidatesFor(
  deps: Pick<PipelineDeps, 'store' | 'clock'>,
  branchId: string,
  embeddingModel: string | null,
): Promise<StoredVoiceExample[]> {
  let byBranch = cached.get(deps.store);
  if (!byBranch) cached.set(deps.store, (byBranch = new Map()));
  const now = deps.clock.now().getTime();
  const key = `${branchId}\u0000${embeddingModel ?? ''}`;
  let entry = byBranch.get(key);
  if (!entry || now - entry.at >= CANDIDATES_KEPT_MS || now < entry.at) {
    const rows = deps.store.voiceExamples({ branchId, limit: CANDIDATES, ...(embeddingModel === null ? {} : { embeddingModel }) });
    entry = { at: now, rows };
    byBranch.set(key, entry);
    rows.catch(() => byBranch.delete(key));
  }
  // Each draft gets its own copies: a vector filled in for one is the cache's too, which is what is wanted.
  return [...(await entry.rows)];
}

/** An example kept by this process is seen by its next draft. */
function forgetCandidates(store: object): void {
  cached.delete(store);
}
