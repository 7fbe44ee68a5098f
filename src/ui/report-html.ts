// `gisbot report` as one self-contained HTML file an owner opens or forwards: the period's figures, charts week by
// week (static SVG, report-charts.ts), the recurring complaints and what still waits for a person, per branch.
// Nothing in it reaches the network: no script, no font or image to fetch, and a Content-Security-Policy that
// forbids any request should a viewer try. The system's fonts show Cyrillic, Kazakh letters and emoji; the page
// fits a phone's width and prints on paper without its colours' backgrounds.
import type { ReportData, WeekFigures } from '../core/report.ts';
import type { Figures, TopicStat } from '../core/stats.ts';
import type { StoredReview } from '../core/ports.ts';
import { COLORS, countsChart, minutesChart, ratingChart, spendChart } from './report-charts.ts';
import { formatTime } from './format.ts';
import { messages } from './messages.ts';
import { shownText } from './shown-text.ts';

const m = messages.report;

export function reportHtml(data: ReportData): string {
  const { stats } = data;
  const branches = stats.branches.filter((branch) => branch.reviews > 0 || (data.waiting.get(branch.id)?.length ?? 0) > 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escape(m.title(period(data)))}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escape(m.heading)}</h1>
<p class="period">${escape(m.period(period(data)))} · ${escape(m.generated(formatTime(data.generatedAt)))}</p>
</header>
<main>
<section class="total">
<h2>${escape(m.allBranches(branches.length))}</h2>
${figuresList(stats.total)}
<div class="charts">
${chart('counts', m.countsChart, countsChart(data.weeks), legend())}
${chart('rating', m.ratingChart, ratingChart(data.weeks))}
${chart('minutes', m.minutesChart, minutesChart(data.weeks))}
${chart('spend', m.spendChart, spendChart(data.weeks))}
</div>
${topicsBlock(stats.topics)}
</section>
${branches.map((branch) => branchSection(branch.id, branch.name, branch, branch.topics, data.branchWeeks.get(branch.id) ?? [], data.waiting.get(branch.id) ?? [])).join('\n')}
</main>
<footer>${escape(m.footer)}</footer>
</body>
</html>
`;
}

function period(data: ReportData): string {
  return `${formatTime(data.stats.period.from).slice(0, 10)} – ${formatTime(data.stats.period.to).slice(0, 10)}`;
}

function branchSection(id: string, name: string, figures: Figures, topics: readonly TopicStat[], weeks: readonly WeekFigures[], waiting: readonly StoredReview[]): string {
  return `<section class="branch" id="branch-${escape(id)}">
<h2>${escape(name || id)} <span class="id">${escape(id)}</span></h2>
${figuresList(figures)}
<div class="charts">
${chart('counts', m.countsChart, countsChart(weeks), legend())}
${chart('rating', m.ratingChart, ratingChart(weeks))}
</div>
${topicsBlock(topics)}
${waitingBlock(waiting)}
</section>`;
}

function figuresList(figures: Figures): string {
  const items: Array<[string, string]> = [
    [m.reviews, String(figures.reviews)],
    [m.answered, figures.byPerson > 0 ? m.answeredBy(figures.answered, figures.byPerson) : String(figures.answered)],
    [m.replyRate, figures.replyRate === null ? '—' : `${Math.round(figures.replyRate * 1000) / 10}%`],
    [m.toAnswer, figures.medianMinutesToAnswer === null ? '—' : messages.stats.minutes(figures.medianMinutesToAnswer)],
    [m.rating, messages.stats.rating(figures.averageRating, figures.averageRatingChange)],
    [m.waiting, String(figures.waiting)],
    [m.elsewhere, String(figures.answeredElsewhere)],
    [m.charged, figures.charged],
    [m.tokens, String(figures.promptTokens + figures.completionTokens)],
    ...(figures.modelCost === null ? [] : [[m.modelCost, figures.modelCost] as [string, string]]),
  ];
  return `<dl class="figures">${items.map(([term, value]) => `<div><dt>${escape(term)}</dt><dd>${escape(value)}</dd></div>`).join('')}</dl>`;
}

function chart(kind: string, title: string, svg: string, after = ''): string {
  return `<figure class="chart" data-chart="${kind}"><figcaption>${escape(title)}</figcaption>${svg}${after}</figure>`;
}

function legend(): string {
  const swatch = (color: string, text: string) => `<span><i style="background:${color}"></i>${escape(text)}</span>`;
  return `<p class="legend">${swatch(COLORS.reviews, m.legendReviews)} ${swatch(COLORS.answered, m.legendAnswered)}</p>`;
}

function topicsBlock(topics: readonly TopicStat[]): string {
  if (topics.length === 0) return `<p class="none">${escape(m.noTopics)}</p>`;
  return `<h3>${escape(m.topics)}</h3><ol class="topics">${topics
    .map((topic) => `<li><span>${escape(topic.topic)}</span> <b>${topic.reviews}</b></li>`)
    .join('')}</ol>`;
}

function waitingBlock(waiting: readonly StoredReview[]): string {
  if (waiting.length === 0) return '';
  return `<h3>${escape(m.waitingHeading(waiting.length))}</h3><ul class="waiting">${waiting
    .map(
      (review) => `<li><p><b>${'★'.repeat(Math.max(0, Math.min(5, review.rating)))}</b> ${escape(review.authorName)} · ${escape(formatTime(review.createdAt))}</p>
<blockquote>${escape(review.text.trim() === '' ? m.noText : excerpt(review.text))}</blockquote>
<p class="how">${escape(review.reason ?? '')} · <code>gisbot reply ${escape(review.id)}</code></p></li>`,
    )
    .join('\n')}</ul>`;
}

function excerpt(text: string): string {
  const chars = [...text];
  return chars.length > 400 ? `${chars.slice(0, 399).join('')}…` : text;
}

/**
 * Text for HTML: controls made visible (a review's newlines kept: its quote is pre-wrap), and every character
 * that could open markup or an attribute an entity.
 */
export function escape(text: string): string {
  return shownText(text).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}

const STYLE = `
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --card: #f8fafc; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 980px; padding: 16px; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif,
  "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 0 0 12px; }
h2 .id { color: var(--muted); font-weight: normal; font-size: .75em; }
h3 { font-size: 1em; margin: 16px 0 6px; }
.period, footer, .none { color: var(--muted); }
section { border-top: 1px solid var(--line); padding: 20px 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px; margin: 0 0 12px; }
.figures div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.figures dt { color: var(--muted); font-size: .8em; }
.figures dd { margin: 0; font-size: 1.15em; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figcaption { font-weight: 600; font-size: .9em; margin-bottom: 4px; }
figure svg { width: 100%; height: auto; }
.legend { margin: 4px 0 0; font-size: .8em; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
.topics { margin: 0; padding-left: 20px; }
.topics b { color: var(--muted); }
.waiting { list-style: none; padding: 0; margin: 0; }
.waiting li { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.waiting p { margin: 0; }
.waiting blockquote { margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.waiting .how { color: var(--muted); font-size: .85em; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; background: var(--card); padding: 0 3px; }
footer { border-top: 1px solid var(--line); padding-top: 12px; font-size: .85em; }
@media (max-width: 520px) { body { padding: 10px; font-size: 14px; } .charts { grid-template-columns: 1fr; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  section { break-inside: avoid-page; }
  figure, .waiting li, .figures div { break-inside: avoid; }
  .figures div, code { background: none; }
  a { color: inherit; text-decoration: none; }
}
`;
