// Recurring complaints: each drafted review's topics are kept, and when one topic comes up in
// `insight.repeatThreshold` reviews rated 1–3 at one branch within `insight.repeatWindowDays`, one
// `complaint.repeated` event says so. One per topic per window: the reviews inside a window already reported count
// toward no other, so a fourth complaint in the same week adds no event, and a new event needs a new run of them.
// Topics are the owner's insight, never a reason to hold an answer back: a failure here is logged, not thrown.
import { makeEvent } from '../events/events.ts';
import { published, type InsightSettings, type PipelineDeps } from '../pipeline.ts';
import type { ComplaintWindow, Topic } from '../ports.ts';
import { normaliseTopics } from './topics.ts';

/** Reviews rated up to this are complaints; a topic of a 4★ review ("вкусный кофе") is praise. */
export const COMPLAINT_MAX_RATING = 3;

export const DEFAULT_INSIGHT: InsightSettings = { repeatThreshold: 3, repeatWindowMs: 7 * 86_400_000 };

export interface TopicSubject {
  id: string;
  branchId: string;
  rating: number;
  /** ISO time of the review's creation on 2GIS. */
  createdAt: string;
}

/** Keeps a review's topic labels (the first ones it got: later drafts of it change nothing) and checks for repeats. */
export async function noteTopics(deps: PipelineDeps, review: TopicSubject, labels: readonly unknown[]): Promise<void> {
  const topics = normaliseTopics(labels);
  if (topics.length === 0) return;
  try {
    if (!(await deps.store.saveTopics(review.id, topics))) return;
    if (review.rating > COMPLAINT_MAX_RATING) return;
    for (const topic of topics) await checkRepeat(deps, review, topic);
  } catch (error) {
    deps.logger.warn('the review topics were not kept', { reviewId: review.id, error: error instanceof Error ? error.message : String(error) });
  }
}

async function checkRepeat(deps: PipelineDeps, review: TopicSubject, topic: Topic): Promise<void> {
  const { repeatThreshold: threshold, repeatWindowMs: window } = { ...DEFAULT_INSIGHT, ...deps.settings.insight };
  const at = Date.parse(review.createdAt);
  if (Number.isNaN(at)) return;
  const history = await deps.store.topicHistory({
    branchId: review.branchId,
    topic: topic.key,
    from: new Date(at - window),
    to: new Date(at + window),
    maxRating: COMPLAINT_MAX_RATING,
  });
  const reported = (time: number) => history.complaints.some((complaint) => covers(complaint, time));
  if (reported(at)) return;
  const open = history.reviews.filter((each) => !reported(each.createdAt.getTime()));
  const found = firstWindow(open, at, window, threshold);
  if (found === null) return;
  const event = {
    ...makeEvent(deps.clock, 'complaint.repeated', null, {
      topic: topic.label,
      count: found.reviewIds.length,
      reviewIds: found.reviewIds,
    }),
    branchId: review.branchId,
  };
  if (await deps.store.recordComplaint({ branchId: review.branchId, topic: topic.key, ...found.window }, [event])) {
    published(deps, [event]);
  }
}

function covers(window: ComplaintWindow, time: number): boolean {
  return time >= window.from.getTime() && time <= window.to.getTime();
}

/**
 * The earliest window of `length` ms that holds the review created at `at` and at least `threshold` of `reviews`
 * (sorted oldest first, the review among them), or null.
 */
export function firstWindow(
  reviews: ReadonlyArray<{ reviewId: string; createdAt: Date }>,
  at: number,
  length: number,
  threshold: number,
): { window: ComplaintWindow; reviewIds: string[] } | null {
  for (const start of reviews) {
    const from = start.createdAt.getTime();
    if (from > at) break;
    if (at - from > length) continue;
    const inside = reviews.filter((each) => each.createdAt.getTime() >= from && each.createdAt.getTime() <= from + length);
    if (inside.length >= threshold) {
      return { window: { from: new Date(from), to: new Date(from + length) }, reviewIds: inside.map((each) => each.reviewId) };
    }
  }
  return null;
}
