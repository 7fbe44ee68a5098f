// `gisbot report` as one self-contained HTML file an owner opens or forwards: the period's figures, charts week by
// week (static SVG, report-charts.ts), each branch's rating on 2GIS, stars and money, the worst reviews, what was
// answered in the owner's name (with a search box), the recurring complaints and what still waits for a person.
// Nothing in it reaches the network: no font or image to fetch, one inline script (the search) that the page's
// Content-Security-Policy allows by its hash and nothing else, and no request allowed should a viewer try. The
// system's fonts show Cyrillic, Kazakh letters and emoji; the page fits a phone's width (a long word breaks
// anywhere) and prints on paper without its colours' backgrounds.
import { createHash } from 'node:crypto';
import { figureOf } from '../core/insight/figures.ts';
import type { ReportData, Stars, WeekFigures } from '../core/insight/report.ts';
import type { BranchStats, Figures, TopicStat } from '../core/insight/stats.ts';
import type { BranchListing, PeriodReview, StoredReview } from '../core/ports.ts';
import { COLORS, countsChart, DECISION_COLORS, DECISION_KINDS, decisionsChart, hoursChart, ratingChart, spendChart } from './report-charts.ts';
import type { UiLanguage } from './language.ts';
import { currentLanguage, messagesFor, type Catalogue } from './messages.ts';
import { shownText } from './shown-text.ts';
import { reasonText } from './reason.ts';

// The report's language, set by reportHtml for the one synchronous render: the business's (cli.ts), or the terminal's.
let words: Catalogue = messagesFor('en');
let m: Catalogue['report'] = words.report;
const formatTime = (at: Date | string) => m.dateTime(typeof at === 'string' ? new Date(at) : at);

/** The search box's script: it filters the answers by what they say, in the page, asking nothing of anyone. */
const SEARCH_SCRIPT = `(function () {
  var form = document.getElementById('search');
  var box = document.getElementById('q');
  var shown = document.getElementById('shown');
  var items = document.querySelectorAll('#answers > li');
  if (!form || !box || !shown) return;
  form.hidden = false;
  form.addEventListener('submit', function (event) { event.preventDefault(); });
  box.addEventListener('input', function () {
    var wanted = box.value.trim().toLowerCase();
    var count = 0;
    for (var i = 0; i < items.length; i++) {
      var hit = wanted === '' || items[i].textContent.toLowerCase().indexOf(wanted) !== -1;
      items[i].hidden = !hit;
      if (hit) count++;
    }
    shown.textContent = String(count);
  });
})();`;
const SEARCH_HASH = createHash('sha256').update(SEARCH_SCRIPT, 'utf8').digest('base64');
const CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${SEARCH_HASH}'; form-action 'none'; base-uri 'none'`;

export function reportHtml(data: ReportData, language: UiLanguage = currentLanguage()): string {
  words = messagesFor(language);
  m = words.report;
  const { stats } = data;
  return `<!doctype html>
<html lang="${words.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
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
<h2>${escape(m.allBranches(stats.branches.length))}</h2>
${figuresList(stats.total)}
<div class="charts">
${chart('counts', m.countsChart, countsChart(data.weeks, m.axis), legend())}
${chart('rating', m.ratingChart, ratingChart(data.weeks, m.axis))}
${chart('hours', m.minutesChart, hoursChart(data.weeks, m.axis))}
${chart('spend', m.spendChart, spendChart(data.weeks, m.axis))}
</div>
${topicsBlock(stats.topics)}
${decisionsBlock(stats.total, data.weeks)}
</section>
${branchesBlock(stats.branches, data.listings, data.stars)}
${worstBlock(data.worst)}
${answersBlock(data.answers, stats.total.answered)}
${stats.branches.map((branch) => branchSection(branch, data.branchWeeks.get(branch.id) ?? [], data.waiting.get(branch.id) ?? [], data.waitingCount.get(branch.id) ?? 0)).join('\n')}
</main>
<footer>${escape(m.footer)}</footer>
<script>${SEARCH_SCRIPT}</script>
</body>
</html>
`;
}

function period(data: ReportData): string {
  return `${m.date(data.stats.period.from)} – ${m.date(data.stats.period.to)}`;
}

function branchSection(branch: BranchStats, weeks: readonly WeekFigures[], waiting: readonly StoredReview[], waitingCount: number): string {
  return `<section class="branch" id="branch-${escape(branch.id)}">
<h2>${escape(branch.name || branch.id)} <span class="id">${escape(branch.id)}</span></h2>
${figuresList(branch)}
<div class="charts">
${chart('counts', m.countsChart, countsChart(weeks, m.axis), legend())}
${chart('rating', m.ratingChart, ratingChart(weeks, m.axis))}
</div>
${topicsBlock(branch.topics)}
${waitingBlock(waiting, waitingCount)}
</section>`;
}

function figuresList(figures: Figures): string {
  const items: Array<[string, string]> = [
    [m.reviews, String(figures.reviews)],
    [m.answered, figures.byPerson > 0 ? m.answeredBy(figures.answered, figures.byPerson) : String(figures.answered)],
    [m.replyRate, figures.replyRate === null ? '—' : m.percent(figures.replyRate)],
    [m.toAnswer, figures.medianMinutesToAnswer === null ? '—' : m.hours(figures.medianMinutesToAnswer)],
    [m.rating, figures.averageRating === null ? '—' : m.decimal(figures.averageRating, 2)],
    [m.ratingChange, ratingChange(figures)],
    [m.waitingForPerson, String(figures.waitingForPerson)],
    [m.waitingForMoney, String(figures.waitingForMoney)],
    [m.elsewhere, String(figures.answeredElsewhere)],
    [m.skipped, String(figures.skipped)],
    [m.failed, String(figures.failed)],
    ...(figures.removed > 0 ? [[m.removed, String(figures.removed)] as [string, string]] : []),
    [m.charged, words.money(figures.charged)],
    [m.tokens, String(figures.promptTokens + figures.completionTokens)],
    ...(figures.modelCost === null ? [] : [[m.modelCost, figures.modelCost] as [string, string]]),
  ];
  return `<dl class="figures">${items.map(([term, value]) => `<div><dt>${escape(term)}</dt><dd>${escape(value)}</dd></div>`).join('')}</dl>`;
}

/** The change against the period before, or why there is none: a change of 0 is a figure, not a blank. */
function ratingChange(figures: Figures): string {
  if (figures.averageRating === null) return m.noRatingNow;
  if (figures.averageRatingChange === null) return m.noRatingBefore;
  return m.change(figures.averageRatingChange);
}

function chart(kind: string, title: string, svg: string, after = ''): string {
  return `<figure class="chart" data-chart="${kind}"><figcaption>${escape(title)}</figcaption>${svg}${after}</figure>`;
}

function legend(): string {
  const swatch = (color: string, text: string) => `<span><i style="background:${color}"></i>${escape(text)}</span>`;
  return `<p class="legend">${swatch(COLORS.reviews, m.legendReviews)} ${swatch(COLORS.answered, m.legendAnswered)} ${swatch(COLORS.byPerson, m.legendByPerson)}</p>`;
}

/** The owner's decisions on drafts, week by week: whether the voice is being learned (issue 22). */
function decisionsBlock(total: Figures, weeks: readonly WeekFigures[]): string {
  const decided = (d: Figures['decisions']) => d.untouched + d.edited + d.rewritten + d.regenerated;
  if (decided(total.decisions) === 0) return `<h3>${escape(m.decisionsHeading)}</h3><p class="none">${escape(m.noDecisions)}</p>`;
  const swatch = (kind: (typeof DECISION_KINDS)[number]) => `<span><i style="background:${DECISION_COLORS[kind]}"></i>${escape(m.decisionNames[kind])}</span>`;
  const row = (week: string, d: Figures['decisions']) =>
    `<tr><th scope="row">${escape(week)}</th>${DECISION_KINDS.map((kind) => `<td>${d[kind]}</td>`).join('')}<td>${escape(m.editedShare(d.editedShare))}</td></tr>`;
  return `<div class="decisions">
<h3>${escape(m.decisionsHeading)}</h3>
${chart('decisions', m.decisionsChart, decisionsChart(weeks, m.decisionNames, m.axis), `<p class="legend">${DECISION_KINDS.map(swatch).join(' ')}</p>`)}
<table class="decisions-trend"><thead><tr>${m.decisionsColumns.map((column) => `<th scope="col">${escape(column)}</th>`).join('')}</tr></thead>
<tbody>${weeks.map((week) => row(formatTime(week.from).slice(0, 10), week.decisions)).join('\n')}
${row(m.allWeeks, total.decisions).replace('<tr>', '<tr class="total">')}</tbody></table>
<p class="none">${escape(m.decisionsNote)}</p>
</div>`;
}

function topicsBlock(topics: readonly TopicStat[]): string {
  if (topics.length === 0) return `<p class="none">${escape(m.noTopics)}</p>`;
  return `<h3>${escape(m.topics)}</h3><ol class="topics">${topics
    .map((topic) => `<li><span>${escape(topic.topic)}</span> <b>${topic.reviews}</b></li>`)
    .join('')}</ol>`;
}

function branchesBlock(branches: readonly BranchStats[], listings: ReadonlyMap<string, BranchListing>, stars: ReadonlyMap<string, Stars>): string {
  const rows = branches.map((branch) => {
    const listing = listings.get(branch.id);
    const counted = stars.get(branch.id) ?? { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
    const values = ([1, 2, 3, 4, 5] as const).map((rating) => counted[rating]);
    const most = Math.max(1, ...values);
    const bars = values
      .map((count, index) => `<span class="star"><span class="label">${index + 1}★</span><span class="bar"><i style="width:${Math.round((count / most) * 100)}%"></i></span><b>${count}</b></span>`)
      .join('');
    return `<tr><th scope="row"><a href="#branch-${escape(branch.id)}">${escape(branch.name || branch.id)}</a></th>
<td>${escape(listing === undefined ? m.notListed : m.twogisRating(listing.rating, listing.reviewsCount))}</td>
<td class="stars" data-stars="${values.join(',')}">${bars}</td><td>${branch.answered}</td><td>${escape(words.money(branch.charged))}</td></tr>`;
  });
  return `<section class="branches">
<h2>${escape(m.branchesHeading)}</h2>
<table><thead><tr>${m.branchColumns.map((column) => `<th scope="col">${escape(column)}</th>`).join('')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<p class="none">${escape(m.starsNote)}</p>
</section>`;
}

function worstBlock(worst: readonly PeriodReview[]): string {
  return `<section class="worst">
<h2>${escape(m.worstHeading)}</h2>
${worst.length === 0 ? `<p class="none">${escape(m.noWorst)}</p>` : `<ol class="reviews">${worst.map(reviewItem).join('\n')}</ol>`}
</section>`;
}

function answersBlock(answers: readonly PeriodReview[], total: number): string {
  if (answers.length === 0) return `<section class="answers"><h2>${escape(m.answersHeading(0, 0))}</h2><p class="none">${escape(m.noAnswers)}</p></section>`;
  return `<section class="answers">
<h2>${escape(m.answersHeading(answers.length, Math.max(total, answers.length)))}</h2>
<p class="none">${escape(m.answersNote)}</p>
<form id="search" class="search" role="search" hidden><label for="q">${escape(m.search)}</label>
<input id="q" type="search" autocomplete="off"> <span><b id="shown">${answers.length}</b> ${escape(m.searchShown)}</span></form>
<ol class="reviews" id="answers">${answers.map(reviewItem).join('\n')}</ol>
</section>`;
}

/** A review as the owner reads it, with the answer posted in their name or what became of it. */
function reviewItem(item: PeriodReview): string {
  const { review } = item;
  const figure = figureOf(review);
  const after =
    item.answerText !== null && review.state === 'posted'
      ? `<p class="by">${escape(m.answerBy(item.sentBy))}${item.postedAt === null ? '' : ` · ${escape(formatTime(item.postedAt))}`}</p>
<blockquote class="answer">${escape(item.answerText)}</blockquote>`
      : `<p class="by">${escape(m.notAnswered(m.outcomes[figure]))}</p>`;
  return `<li data-rating="${review.rating}"><p class="meta"><b class="rating">${stars(review.rating)}</b> ${escape(review.authorName)} · ${escape(review.branchName)} · ${escape(formatTime(review.createdAt))}</p>
<blockquote>${escape(review.text.trim() === '' ? m.noText : review.text)}</blockquote>
${after}</li>`;
}

function stars(rating: number): string {
  const full = Math.max(0, Math.min(5, rating));
  return `${'★'.repeat(full)}${'☆'.repeat(5 - full)}`;
}

function waitingBlock(waiting: readonly StoredReview[], total: number): string {
  if (waiting.length === 0) return '';
  return `<h3>${escape(m.waitingHeading(waiting.length, Math.max(total, waiting.length)))}</h3><ul class="waiting">${waiting
    .map(
      (review) => `<li><p><b>${stars(review.rating)}</b> ${escape(review.authorName)} · ${escape(formatTime(review.createdAt))}</p>
<blockquote>${escape(review.text.trim() === '' ? m.noText : excerpt(review.text))}</blockquote>
<p class="how">${escape(reasonText(review, words))} · <code>gisbot reply ${escape(review.id)}</code></p></li>`,
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
[hidden] { display: none !important; }
html, body { overflow-wrap: anywhere; }
body { margin: 0 auto; max-width: 980px; padding: 16px; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif,
  "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 0 0 12px; }
h2 .id { color: var(--muted); font-weight: normal; font-size: .75em; }
h3 { font-size: 1em; margin: 16px 0 6px; }
.period, footer, .none { color: var(--muted); }
section { border-top: 1px solid var(--line); padding: 20px 0; min-width: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(140px, 100%), 1fr)); gap: 8px; margin: 0 0 12px; }
.figures div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; min-width: 0; }
.figures dt { color: var(--muted); font-size: .8em; }
.figures dd { margin: 0; font-size: 1.15em; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(380px, 100%), 1fr)); gap: 12px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px; min-width: 0; }
figcaption { font-weight: 600; font-size: .9em; margin-bottom: 4px; }
figure svg { display: block; width: 100%; height: auto; max-width: 100%; }
.legend { margin: 4px 0 0; font-size: .8em; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
.topics { margin: 0; padding-left: 20px; }
.decisions figure { max-width: 520px; }
.decisions-trend { margin-top: 8px; }
.decisions-trend tr.total { font-weight: 600; }
.topics b { color: var(--muted); }
table { width: 100%; table-layout: fixed; border-collapse: collapse; font-size: .9em; }
th, td { text-align: left; vertical-align: top; padding: 6px 4px; border-bottom: 1px solid var(--line); }
thead th { color: var(--muted); font-weight: normal; font-size: .85em; }
td.stars { font-size: .8em; }
.star { display: flex; align-items: center; gap: 4px; }
.star .label { width: 2.2em; flex: none; color: var(--muted); }
.star .bar { flex: 1; min-width: 0; height: 8px; background: var(--card); border-radius: 2px; }
.star .bar i { display: block; height: 100%; background: #f59e0b; border-radius: 2px; }
.star b { flex: none; min-width: 1.5em; text-align: right; font-weight: normal; }
.search { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 0 0 10px; }
.search input { flex: 1 1 12em; min-width: 0; font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; }
.reviews, .waiting { list-style: none; padding: 0; margin: 0; }
.reviews li, .waiting li { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.reviews p, .waiting p { margin: 0; }
blockquote { margin: 6px 0; white-space: pre-wrap; }
blockquote.answer { border-left: 3px solid #2563eb; padding-left: 8px; }
.reviews .by, .waiting .how { color: var(--muted); font-size: .85em; }
.rating { color: #d97706; letter-spacing: 1px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; background: var(--card); padding: 0 3px; }
footer { border-top: 1px solid var(--line); padding-top: 12px; font-size: .85em; }
@media (max-width: 520px) { body { padding: 10px; font-size: 14px; } .charts { grid-template-columns: 1fr; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  section { break-inside: avoid-page; }
  .search { display: none !important; }
  figure, .reviews li, .waiting li, .figures div { break-inside: avoid; }
  .figures div, code { background: none; }
  a { color: inherit; text-decoration: none; }
}
`;
