// Pages new reviews in, newest first, and records each once (invariant 10). Paging stops at the first page
// that holds nothing new: everything older was seen by an earlier cycle.
import { noticeEdits } from './edits.ts';
import { makeEvent } from './events.ts';
import { published, type PipelineDeps } from './pipeline.ts';
import { decideIntake } from './policy.ts';
import type { Branch, ListedReview, ReviewRecord } from './ports.ts';

export interface IntakeCounts {
  fetched: number;
  new: number;
  skipped: number;
  awaitingApproval: number;
}

export function emptyIntakeCounts(): IntakeCounts {
  return { fetched: 0, new: 0, skipped: 0, awaitingApproval: 0 };
}

/** `listed` collects every review the pages showed, known or not (the follow-up check looks at them). */
export async function intakeBranch(deps: PipelineDeps, branch: Branch, counts: IntakeCounts, listed?: ListedReview[]): Promise<void> {
  const seen = new Set<string>();
  let offsetDate: string | null = null;
  for (;;) {
    const page = await deps.twogis.listReviews(branch.id, offsetDate);
    if (page.length === 0) return;
    const fresh = page.filter((review) => !seen.has(review.id));
    for (const review of fresh) seen.add(review.id);
    listed?.push(...fresh);
    counts.fetched += fresh.length;
    const known = await deps.store.findKnownReviewIds(fresh.map((review) => review.id));
    await noticeEdits(deps, fresh.filter((review) => known.has(review.id) && review.editedAt !== null));
    const unknown = fresh.filter((review) => !known.has(review.id));
    await record(deps, unknown, counts);
    if (unknown.length === 0) return;
    const cursor = page.at(-1)!.createdAt;
    if (cursor === offsetDate) return; // 2GIS repeated the same page: nothing older to be had
    offsetDate = cursor;
  }
}

async function record(deps: PipelineDeps, reviews: readonly ListedReview[], counts: IntakeCounts): Promise<void> {
  const entries = reviews.map((review): ReviewRecord => {
    const decision = decideIntake(review, deps.settings);
    const subject = { id: review.id, branchId: review.branchId };
    const events = [
      makeEvent(deps.clock, 'review.new', subject, {
        rating: review.rating,
        author: review.authorName,
        text: review.text,
        branch: review.branchName,
      }),
    ];
    if (decision.state === 'skipped') events.push(makeEvent(deps.clock, 'review.skipped', subject, { reason: decision.reason }));
    if (decision.state === 'needs_approval') {
      events.push(makeEvent(deps.clock, 'review.needs_approval', subject, { reason: decision.reason }));
    }
    return { review, state: decision.state, reason: decision.reason, events };
  });
  const stored = await deps.store.recordReviews(entries);
  entries.forEach((entry, index) => {
    if (!stored[index]) return; // another worker recorded it a moment ago
    counts.new += 1;
    if (entry.state === 'skipped') counts.skipped += 1;
    if (entry.state === 'needs_approval') counts.awaitingApproval += 1;
    published(deps, entry.events);
  });
}
