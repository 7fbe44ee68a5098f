// The report's charts as static SVG, drawn by Observable Plot (scales, axes, ticks and marks are the library's)
// into a linkedom document: no browser, no script in the file, and so nothing for an e-mail client to block or
// a page to fetch when the report is opened. Plot's own SVG carries a viewBox and `max-width: 100%`: the charts
// shrink to a phone's width. They are drawn about as wide as a phone shows them (WIDTH), so that a tick label
// stays at least 11 px tall there; wider screens draw them larger.
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { WeekFigures } from '../core/insight/report.ts';
import { messages, type Catalogue } from './messages.ts';

/** The charts' words, in the report's language. */
type Axis = Catalogue['report']['axis'];

const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');

export const CHART_WIDTH = 360;
const HEIGHT = 200;
/** The tick labels' size in the SVG's own units: CHART_WIDTH wide on a phone's ~350 px, they stay above 11 px. */
export const CHART_FONT_PX = 12.5;
/** A band axis labels every week up to this many weeks, then every other one (or fewer), so that labels never overlap. */
const LABELLED_WEEKS = 7;
export const COLORS = { reviews: '#cbd5e1', answered: '#2563eb', byPerson: '#0891b2', rating: '#d97706', hours: '#059669', spend: '#7c3aed' };
/** What a person did with a draft, from "learned" to "not at all": the decisions chart's stack, bottom up. */
export const DECISION_COLORS = { untouched: '#16a34a', edited: '#f59e0b', rewritten: '#dc2626', regenerated: '#94a3b8' } as const;
export const DECISION_KINDS = ['untouched', 'edited', 'rewritten', 'regenerated'] as const;

interface Point {
  week: string;
  reviews: number;
  /** Answers gisbot sent by itself; `byPerson` are the ones a person sent. */
  byGisbot: number;
  byPerson: number;
  rating: number | null;
  hours: number | null;
  spend: number;
}

function points(weeks: readonly WeekFigures[], axis: Axis): Point[] {
  return weeks.map((week) => ({
    week: axis.week(week.from),
    reviews: week.reviews,
    byGisbot: week.answered - week.byPerson,
    byPerson: week.byPerson,
    rating: week.averageRating,
    hours: week.medianMinutesToAnswer === null ? null : Math.round((week.medianMinutesToAnswer / 60) * 10) / 10,
    // For drawing only: the figures beside the charts print the exact amounts.
    spend: Number(week.charged) / 100,
  }));
}


function render(options: Plot.PlotOptions): string {
  const figure = Plot.plot({ document, width: CHART_WIDTH, height: HEIGHT, marginLeft: 44, style: { fontSize: `${CHART_FONT_PX}px` }, ...options });
  return (figure as unknown as { outerHTML: string }).outerHTML;
}

/** The weeks a band axis labels: all of a short period, every n-th of a long one. */
function weekTicks(data: readonly Point[]): string[] {
  const step = Math.ceil(data.length / LABELLED_WEEKS);
  return data.filter((_, index) => index % step === 0).map((point) => point.week);
}

/** A note in the middle of an empty chart, so that it says why it is empty. */
function nothing(text: string): Plot.Markish {
  return Plot.text([text], { frameAnchor: 'middle', fontSize: 13, fill: '#64748b' });
}

/** Reviews per week (light bars) and, in front, the answers: gisbot's own, and on top of them a person's. */
export function countsChart(weeks: readonly WeekFigures[], axis: Axis = messages.report.axis): string {
  const data = points(weeks, axis);
  const answers = data.flatMap((point) => [
    { week: point.week, who: 'gisbot', answers: point.byGisbot, title: axis.byGisbotTitle(point.byGisbot) },
    { week: point.week, who: 'person', answers: point.byPerson, title: axis.byPersonTitle(point.byPerson) },
  ]);
  return render({
    x: { type: 'band', label: null, domain: data.map((point) => point.week), ticks: weekTicks(data) },
    y: { label: axis.reviews, grid: true, nice: true, domain: [0, Math.max(1, ...data.map((point) => point.reviews))] },
    color: { domain: ['gisbot', 'person'], range: [COLORS.answered, COLORS.byPerson] },
    marks: [
      Plot.barY(data, { x: 'week', y: 'reviews', fill: COLORS.reviews, title: (point: Point) => axis.reviewsTitle(point.reviews) }),
      Plot.barY(answers, { x: 'week', y: 'answers', fill: 'who', inset: 4, title: 'title' }),
      Plot.ruleY([0]),
    ],
  });
}

/** The average rating of each week's reviews, on the 1–5 scale. */
export function ratingChart(weeks: readonly WeekFigures[], axis: Axis = messages.report.axis): string {
  const data = points(weeks, axis);
  const rated = data.filter((point) => point.rating !== null);
  return render({
    x: { type: 'point', label: null, domain: data.map((point) => point.week), inset: 12, ticks: weekTicks(data) },
    y: { label: axis.rating, domain: [1, 5], grid: true, ticks: 5 },
    marks: rated.length === 0 ? [nothing(axis.noRatings)] : [Plot.lineY(rated, { x: 'week', y: 'rating', stroke: COLORS.rating, strokeWidth: 2 }), Plot.dot(rated, { x: 'week', y: 'rating', fill: COLORS.rating })],
  });
}

/** The median time from a review's creation to its answer, week by week, in hours (as the figures beside it). */
export function hoursChart(weeks: readonly WeekFigures[], axis: Axis = messages.report.axis): string {
  const data = points(weeks, axis);
  const answered = data.filter((point) => point.hours !== null);
  return render({
    x: { type: 'band', label: null, domain: data.map((point) => point.week), ticks: weekTicks(data) },
    y: { label: axis.hours, grid: true, nice: true },
    marks: answered.length === 0 ? [nothing(axis.noAnswers)] : [Plot.barY(answered, { x: 'week', y: 'hours', fill: COLORS.hours }), Plot.ruleY([0])],
  });
}

/** What was charged for answers, week by week. */
export function spendChart(weeks: readonly WeekFigures[], axis: Axis = messages.report.axis): string {
  const data = points(weeks, axis);
  return render({
    x: { type: 'band', label: null, domain: data.map((point) => point.week), ticks: weekTicks(data) },
    y: { label: axis.charged, grid: true, nice: true, domain: [0, Math.max(1, ...data.map((point) => point.spend))] },
    marks: [Plot.barY(data, { x: 'week', y: 'spend', fill: COLORS.spend }), Plot.ruleY([0])],
  });
}

/**
 * The drafts a person decided on, week by week, stacked: sent untouched at the bottom, then edited, rewritten and
 * regenerated. `names` are the legend's words for each kind (the bars' titles).
 */
export function decisionsChart(weeks: readonly WeekFigures[], names: Record<(typeof DECISION_KINDS)[number], string>, axis: Axis = messages.report.axis): string {
  const data = weeks.flatMap((week) => DECISION_KINDS.map((kind) => ({ week: axis.week(week.from), kind, drafts: week.decisions[kind], title: `${week.decisions[kind]} ${names[kind]}` })));
  const domain = weeks.map((week) => axis.week(week.from));
  const totals = weeks.map((week) => DECISION_KINDS.reduce((sum, kind) => sum + week.decisions[kind], 0));
  const ticks = data.length === 0 ? [] : weekTicks(weeks.map((week) => ({ week: axis.week(week.from) }) as Point));
  return render({
    x: { type: 'band', label: null, domain, ticks },
    y: { label: axis.drafts, grid: true, nice: true, domain: [0, Math.max(1, ...totals)] },
    color: { domain: [...DECISION_KINDS], range: DECISION_KINDS.map((kind) => DECISION_COLORS[kind]) },
    marks: totals.every((total) => total === 0)
      ? [nothing(axis.noDecisions)]
      : [Plot.barY(data, { x: 'week', y: 'drafts', fill: 'kind', order: [...DECISION_KINDS], title: 'title' }), Plot.ruleY([0])],
  });
}
