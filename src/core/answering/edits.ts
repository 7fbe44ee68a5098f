// Reviews edited after we answered them (2GIS lets a reviewer change text and rating later). gisbot never answers
// a review twice: a known review is never taken in again, whatever its new text says. It tells the business
// instead, once per edit, with a `review.edited` event carrying the new text and rating, so a person can decide.
import { makeEvent } from '../events/events.ts';
import { published, type PipelineDeps } from '../pipeline.ts';
import type { ListedReview } from '../ports.ts';

/** Looks at known reviews just listed again; one event per edit that came after our posted answer. */
export async function noticeEdits(deps: PipelineDeps, reviews: readonly ListedReview[]): Promise<void> {
  for (const listed of reviews) {
    if (!listed.editedAt) continue;
    const editedAt = Date.parse(listed.editedAt);
    if (Number.isNaN(editedAt)) continue;
    const stored = await deps.store.getReview(listed.id);
    if (stored?.state !== 'posted') continue;
    const history = await deps.store.listEvents({ reviewId: listed.id, limit: 500 });
    const posted = history.find((event) => event.type === 'reply.posted');
    if (!posted || editedAt <= Date.parse(posted.at)) continue;
    if (history.some((event) => event.type === 'review.edited' && event.data.editedAt === listed.editedAt)) continue;
    const event = makeEvent(deps.clock, 'review.edited', listed, {
      editedAt: listed.editedAt,
      rating: listed.rating,
      text: listed.text,
      previousText: stored.text,
    });
    await deps.store.appendEvents([event]);
    published(deps, [event]);
  }
}
