// Reviews put into a store at known end states through the store's own methods (record, claim, reserve, draft,
// post, settle, release), in this process: the owner's figures can then be checked against a table without a
// model or a 2GIS round trip per review. What a path of the pipeline writes (its state and reason) is written the
// same way here.
import type { Kopecks } from '../../src/core/money/money.ts';
import type { ListedReview, Store } from '../../src/core/ports.ts';

export const DAY = 86_400_000;
export const MINUTE = 60_000;

/** How a seeded review ends. */
export type EndState =
  | 'posted' // answered by gisbot
  | 'byPerson' // answered through `gisbot reply`
  | 'elsewhereWhileWaiting' // waited for a person, then a manager answered on 2GIS (the Telegram bridge's re-read)
  | 'waitingForPerson'
  | 'waitingForMoney' // taken in, not answered: the balance ran out before it
  | 'failed';

export interface SeedReview {
  id: string;
  branchId: string;
  branchName: string;
  rating: number;
  /** Created on 2GIS this long before `now`; half a minute is added so that whole minutes to the answer are exact. */
  agoMs: number;
  end: EndState;
  text?: string;
  authorName?: string;
  answer?: string;
  /** Topic labels, as a draft would have given them. */
  topics?: ReadonlyArray<{ key: string; label: string }>;
}

/** The skip reason the Telegram bridge writes when a waiting review turns out answered on 2GIS. */
export const ANSWERED_WHILE_WAITING = 'answered on 2GIS by someone else';

export function listed(seed: Pick<SeedReview, 'id' | 'branchId' | 'branchName' | 'rating' | 'agoMs' | 'text' | 'authorName'>, now: number): ListedReview {
  return {
    id: seed.id,
    branchId: seed.branchId,
    branchName: seed.branchName,
    rating: seed.rating,
    text: seed.text ?? `Отзыв ${seed.id}`,
    authorId: `u${seed.id}`,
    authorName: seed.authorName ?? `Гость ${seed.id}`,
    createdAt: new Date(now - seed.agoMs - 30_000).toISOString(),
    editedAt: null,
    catalogId: '2gis',
    isHidden: false,
    canReply: true,
    hasOwnerAnswer: false,
    commentsCount: 0,
  };
}

/** Records every review and drives it to its end state; `price` is reserved and charged for each answer. */
export async function seedReviews(store: Store, seeds: readonly SeedReview[], price: Kopecks, now = Date.now()): Promise<void> {
  const waitsForPerson = (end: EndState) => end === 'waitingForPerson' || end === 'elsewhereWhileWaiting';
  for (let i = 0; i < seeds.length; i += 200) {
    await store.recordReviews(
      seeds.slice(i, i + 200).map((seed) => ({
        review: listed(seed, now),
        state: waitsForPerson(seed.end) ? 'needs_approval' : 'new',
        reason: waitsForPerson(seed.end) ? 'rated below policy.approvalBelowRating' : null,
        events: [],
      })),
    );
  }
  let n = 0;
  for (const seed of seeds) {
    if (seed.topics) await store.saveTopics(seed.id, seed.topics);
    if (seed.end === 'waitingForPerson' || seed.end === 'waitingForMoney') continue;
    const token = `seed-${(n += 1)}`;
    const at = new Date();
    const claimed = await store.claimReview(seed.id, token, at, new Date(at.getTime() + 600_000));
    if (claimed === null) throw new Error(`seed: ${seed.id} could not be claimed`);
    if (seed.end === 'elsewhereWhileWaiting') {
      await store.release(seed.id, token, { state: 'skipped', reason: ANSWERED_WHILE_WAITING }, []);
      continue;
    }
    if (seed.end === 'failed') {
      await store.release(seed.id, token, { state: 'failed', reason: '2GIS refused the answer: 400' }, []);
      continue;
    }
    if ((await store.reserve(seed.id, token, price)) !== 'reserved') throw new Error(`seed: no money for ${seed.id}`);
    const text = seed.answer ?? `Спасибо за отзыв ${seed.id}!`;
    const sentBy = seed.end === 'byPerson' ? 'person' : 'gisbot';
    await store.saveDraft(seed.id, token, { text, model: 'seed', promptVersion: 1, promptTokens: 100, completionTokens: 20, finishReason: 'stop', sentBy });
    if (!(await store.beginPosting(seed.id, token, at, new Date(at.getTime() + 60_000)))) throw new Error(`seed: ${seed.id} cannot post`);
    if ((await store.settlePosted(seed.id, { answerId: `a${seed.id}`, text }, () => [])) === null) throw new Error(`seed: ${seed.id} not settled`);
  }
}
