// The report's charts as static SVG, drawn by Observable Plot (scales, axes, ticks and marks are the library's)
// into a linkedom document: no browser, no script in the file, and so nothing for an e-mail client to block or
// a page to fetch when the report is opened. Plot's own SVG carries a viewBox and `max-width: 100%`: the charts
// shrink to a phone's width.
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { WeekFigures } from '../core/report.ts';

const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');

const WIDTH = 640;
const HEIGHT = 200;
export const COLORS = { reviews: '#cbd5e1', answered: '#2563eb', rating: '#d97706', minutes: '#059669', spend: '#7c3aed' };

interface Point {
  week: string;
  reviews: number;
  answered: number;
  rating: number | null;
  minutes: number | null;
  spend: number;
}

function points(weeks: readonly WeekFigures[]): Point[] {
  return weeks.map((week) => ({
    week: label(week.from),
    reviews: week.reviews,
    answered: week.answered,
    rating: week.averageRating,
    minutes: week.medianMinutesToAnswer,
    // For drawing only: the figures beside the charts print the exact amounts.
    spend: Number(week.charged) / 100,
  }));
}

/** A week by the day it starts: "03-02" (March 2nd). */
function label(at: Date): string {
  return `${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')}`;
}

function render(options: Plot.PlotOptions): string {
  const figure = Plot.plot({ document, width: WIDTH, height: HEIGHT, marginLeft: 48, style: { fontSize: '11px' }, ...options });
  return (figure as unknown as { outerHTML: string }).outerHTML;
}

/** A note in the middle of an empty chart, so that it says why it is empty. */
function nothing(text: string): Plot.Markish {
  return Plot.text([text], { frameAnchor: 'middle', fontSize: 13, fill: '#64748b' });
}

/** Reviews per week (light bars) and, in front, how many of them gisbot answered. */
export function countsChart(weeks: readonly WeekFigures[]): string {
  const data = points(weeks);
  return render({
    x: { type: 'band', label: null, domain: data.map((point) => point.week) },
    y: { label: 'reviews', grid: true, nice: true, domain: [0, Math.max(1, ...data.map((point) => point.reviews))] },
    marks: [
      Plot.barY(data, { x: 'week', y: 'reviews', fill: COLORS.reviews }),
      Plot.barY(data, { x: 'week', y: 'answered', fill: COLORS.answered, inset: 4 }),
      Plot.ruleY([0]),
    ],
  });
}

/** The average rating of each week's reviews, on the 1–5 scale. */
export function ratingChart(weeks: readonly WeekFigures[]): string {
  const data = points(weeks);
  const rated = data.filter((point) => point.rating !== null);
  return render({
    x: { type: 'point', label: null, domain: data.map((point) => point.week), inset: 12 },
    y: { label: 'rating', domain: [1, 5], grid: true, ticks: 5 },
    marks: rated.length === 0 ? [nothing('no ratings in this period')] : [Plot.lineY(rated, { x: 'week', y: 'rating', stroke: COLORS.rating, strokeWidth: 2 }), Plot.dot(rated, { x: 'week', y: 'rating', fill: COLORS.rating })],
  });
}

/** The median time from a review's creation to gisbot's answer, week by week, in minutes. */
export function minutesChart(weeks: readonly WeekFigures[]): string {
  const data = points(weeks);
  const answered = data.filter((point) => point.minutes !== null);
  return render({
    x: { type: 'band', label: null, domain: data.map((point) => point.week) },
    y: { label: 'minutes to answer (median)', grid: true, nice: true },
    marks: answered.length === 0 ? [nothing('no answers in this period')] : [Plot.barY(answered, { x: 'week', y: 'minutes', fill: COLORS.minutes }), Plot.ruleY([0])],
  });
}

/** What was charged for answers, week by week. */
export function spendChart(weeks: readonly WeekFigures[]): string {
  const data = points(weeks);
  return render({
    x: { type: 'band', label: null, domain: data.map((point) => point.week) },
    y: { label: 'charged', grid: true, nice: true, domain: [0, Math.max(1, ...data.map((point) => point.spend))] },
    marks: [Plot.barY(data, { x: 'week', y: 'spend', fill: COLORS.spend }), Plot.ruleY([0])],
  });
}
