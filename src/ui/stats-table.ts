// The stats of a period as a person reads them on a terminal: one row per branch with reviews and a total, the
// complaint topics per branch, and the money and tokens. `gisbot stats` prints it, and so does `gisbot demo`.
import type { Figures, Stats, TopicStat } from '../core/insight/stats.ts';
import { table } from './format.ts';
import { messages } from './messages.ts';
import type { Output } from './output.ts';
import { shownLine } from './shown-text.ts';

export function printStats(result: Stats, output: Output): void {
  const m = messages.stats;
  const d = output.dataColors;
  output.data(d.bold(m.heading(result.period.from, result.period.to)));
  if (result.total.reviews === 0) {
    output.data(m.noReviews);
    return;
  }
  const rows = [...result.branches.filter((branch) => branch.reviews > 0).map((branch) => cells(shownLine(branch.name || branch.id), branch)), cells(m.total, result.total)];
  for (const line of table(m.columns, rows, output.width, d)) output.data(line);
  output.data('');
  output.data(d.bold(m.topicsHeading));
  const withTopics = result.branches.filter((branch) => branch.topics.length > 0);
  if (withTopics.length === 0) output.data(`  ${d.dim(m.noTopics)}`);
  for (const branch of withTopics) output.data(`  ${shownLine(branch.name || branch.id)}: ${shownLine(topicList(branch.topics))}`);
  output.data('');
  output.data(m.money(result.total.charged, result.total.promptTokens, result.total.completionTokens, result.total.modelCost));
  if (result.total.removed > 0) output.data(m.removed(result.total.removed));
}

function cells(name: string, figures: Figures): string[] {
  const m = messages.stats;
  return [
    name,
    String(figures.reviews),
    m.answered(figures.answered, figures.byPerson),
    String(figures.answeredElsewhere),
    m.waiting(figures.waiting, figures.waitingForPerson),
    String(figures.skipped),
    String(figures.failed),
    figures.replyRate === null ? '—' : m.share(figures.replyRate),
    figures.medianMinutesToAnswer === null ? '—' : m.minutes(figures.medianMinutesToAnswer),
    m.rating(figures.averageRating, figures.averageRatingChange),
    messages.money(figures.charged),
  ];
}

export function topicList(topics: readonly TopicStat[]): string {
  return topics.map((topic) => `${topic.topic} ×${topic.reviews}`).join(', ');
}
