// The report page and its CSV from hand-made figures, in this process: what each tile, chart, legend and list
// says, the search script the page's CSP allows by hash, and the CSV's cells for a spreadsheet.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ReportData, WeekFigures } from '../../src/core/insight/report.ts';
import type { PeriodReview, StoredReview } from '../../src/core/ports.ts';
import type { BranchStats, Figures } from '../../src/core/insight/stats.ts';
import { reportCsv } from '../../src/ui/report-csv.ts';
import { reportHtml } from '../../src/ui/report-html.ts';

const BRANCH = '7000000000000001';
const FROM = new Date('2026-09-01T00:00:00Z');
const TO = new Date('2026-12-01T00:00:00Z');

function figures(change: Partial<Figures> = {}): Figures {
  return {
    reviews: 10, answered: 6, byPerson: 2, answeredElsewhere: 1, waiting: 3, waitingForPerson: 2, waitingForMoney: 1, skipped: 0, failed: 0,
    scheduled: 0, complained: 0, removed: 0, decisions: { untouched: 0, edited: 0, rewritten: 0, regenerated: 0, editedShare: null },
    replyRate: 0.667, medianMinutesToAnswer: 330, averageRating: 4.1, averageRatingChange: null, charged: '60.00', promptTokens: 10,
    completionTokens: 5, modelCost: null, ...change,
  };
}

function review(id: string, rating: number, change: Partial<StoredReview> = {}): StoredReview {
  return {
    id, branchId: BRANCH, branchName: 'Кофейня', rating, text: `Отзыв ${id}`, authorId: null, authorName: 'Анна',
    createdAt: '2026-11-20T10:00:00.000Z', state: 'posted', reason: null, claimToken: null, leaseUntil: null, reserved: 0n,
    draftText: null, postAttempts: 1, answerId: 'a', ...change,
  };
}

function answered(id: string, rating: number, answer: string, change: Partial<StoredReview> = {}): PeriodReview {
  return { review: review(id, rating, change), answerText: answer, sentBy: 'gisbot', postedAt: new Date('2026-11-20T12:00:00Z'), charged: 1234n };
}

function data(change: Partial<ReportData> = {}, total: Partial<Figures> = {}): ReportData {
  const week: WeekFigures = {
    from: FROM, to: TO, reviews: 10, answered: 6, byPerson: 2, averageRating: 4.1, medianMinutesToAnswer: 330, charged: 6000n,
    decisions: { untouched: 0, edited: 0, rewritten: 0, regenerated: 0, editedShare: null },
  };
  const branch: BranchStats = { id: BRANCH, name: 'Кофейня', ...figures(total), topics: [] };
  return {
    stats: { period: { from: FROM, to: TO }, total: figures(total), branches: [branch], topics: [] },
    weeks: [week],
    branchWeeks: new Map([[BRANCH, [week]]]),
    waiting: new Map(),
    waitingCount: new Map(),
    answers: [],
    worst: [],
    reviews: [],
    stars: new Map([[BRANCH, { 1: 1, 2: 0, 3: 2, 4: 3, 5: 4 }]]),
    listings: new Map(),
    generatedAt: TO,
    ...change,
  };
}

const tile = (html: string, term: string) => html.match(new RegExp(`<dt>${term}</dt><dd>([^<]*)</dd>`))?.[1];

describe('the report page', () => {
  test('the answers legend counts only what gisbot sent; a person\'s answers are their own bar', () => {
    const counts = reportHtml(data()).match(/<figure class="chart" data-chart="counts">[\s\S]*?<\/figure>/)![0];
    assert.match(counts, /4 answered by gisbot/);
    assert.match(counts, /2 answered by a person/);
    assert.doesNotMatch(counts, /6 answered by gisbot/);
  });

  test('time to answer: the chart and the tile both in hours', () => {
    const html = reportHtml(data());
    assert.equal(tile(html, 'time to answer \\(median\\)'), '5.5 h');
    const chart = html.match(/<figure class="chart" data-chart="hours">[\s\S]*?<\/figure>/)![0];
    assert.match(chart, /hours to answer/);
    assert.doesNotMatch(chart, /minutes/);
  });

  test('the rating change says why it is empty, and 0 is not "no earlier data"', () => {
    assert.equal(tile(reportHtml(data({}, { averageRatingChange: null })), 'rating change'), 'no reviews in the period before');
    assert.equal(tile(reportHtml(data({}, { averageRatingChange: 0 })), 'rating change'), '±0.00');
    assert.equal(tile(reportHtml(data({}, { averageRatingChange: -0.25 })), 'rating change'), '−0.25');
    assert.equal(tile(reportHtml(data({}, { averageRating: null, averageRatingChange: null })), 'rating change'), 'no reviews in this period');
  });

  test('waiting for a person and for money are two tiles', () => {
    const html = reportHtml(data());
    assert.equal(tile(html, 'Waiting for a person'), '2');
    assert.equal(tile(html, 'Waiting for money'), '1');
  });

  test('the waiting list heading gives the real count beside the shown one', () => {
    const oldest = Array.from({ length: 50 }, (_, i) => review(String(9000 + i), 2, { state: 'needs_approval' }));
    const html = reportHtml(data({ waiting: new Map([[BRANCH, oldest]]), waitingCount: new Map([[BRANCH, 3016]]) }));
    assert.match(html, /Waiting for you: oldest 50 shown of 3,016/);
    assert.equal(html.match(/gisbot reply 9\d{3}/g)!.length, 50);
  });

  test('what was said: every answer with its review, and a search script its CSP allows by hash', () => {
    const answers = [answered('1', 1, 'Простите нас, Анна'), answered('2', 5, 'Спасибо!')];
    const html = reportHtml(data({ answers }));
    assert.match(html, /Простите нас, Анна/);
    assert.match(html, /Отзыв 2/);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1);
    const hash = createHash('sha256').update(scripts[0]!, 'utf8').digest('base64');
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)![1]!;
    assert.match(csp, /default-src 'none'/);
    assert.ok(csp.includes(`script-src 'sha256-${hash}'`), csp);
    assert.doesNotMatch(csp, /unsafe-eval|https?:/);
  });

  test("the owner's decisions on drafts, week by week: the trend that says whether the voice is learned", () => {
    const weekOf = (from: string, decisions: WeekFigures['decisions']): WeekFigures => ({
      from: new Date(from), to: new Date(new Date(from).getTime() + 7 * 86_400_000), reviews: 5, answered: 5, byPerson: 5,
      averageRating: 3, medianMinutesToAnswer: 60, charged: 2500n, decisions,
    });
    const weeks = [
      weekOf('2026-11-03T00:00:00Z', { untouched: 1, edited: 3, rewritten: 2, regenerated: 2, editedShare: 0.45 }),
      weekOf('2026-11-10T00:00:00Z', { untouched: 4, edited: 1, rewritten: 0, regenerated: 0, editedShare: 0.04 }),
    ];
    const html = reportHtml(data({ weeks }, { decisions: { untouched: 5, edited: 4, rewritten: 2, regenerated: 2, editedShare: 0.264 } }));
    const block = html.match(/<div class="decisions">[\s\S]*?<\/div>\n/)?.[0] ?? '';
    assert.match(block, /How much you still correct the drafts/);
    assert.match(block, /<figure class="chart" data-chart="decisions">[\s\S]*<svg/);
    const rows = [...block.matchAll(/<tr(?: class="total")?><th scope="row">([^<]*)<\/th>((?:<td>[^<]*<\/td>)+)<\/tr>/g)].map((row) => [row[1], ...[...row[2]!.matchAll(/<td>([^<]*)<\/td>/g)].map((cell) => cell[1])]);
    assert.deepEqual(rows, [
      ['2026-11-03', '1', '3', '2', '2', '45%'],
      ['2026-11-10', '4', '1', '0', '0', '4%'],
      ['the whole period', '5', '4', '2', '2', '26%'],
    ]);
    assert.match(block, /Fewer edits, rewrites and regenerations week after week mean gisbot has learned your voice/);

    const none = reportHtml(data());
    assert.doesNotMatch(none, /data-chart="decisions"/);
    assert.match(none, /No draft was decided on by a person in this period/);
  });

  test('2GIS\'s rating and the stars per branch, money per branch', () => {
    const html = reportHtml(
      data({ listings: new Map([[BRANCH, { branchId: BRANCH, name: 'Кофейня', rating: 4.6, reviewsCount: 120, readAt: TO }]]) }),
    );
    assert.match(html, /4\.6 on 2GIS \(120 reviews\)/);
    assert.match(html, /data-stars="1,0,2,3,4"/);
    assert.match(html, /<td>60\.00 RUB<\/td>/);
  });
});

describe('the report CSV', () => {
  const rows = [
    answered('1', 1, '=HYPERLINK("http://evil")', { authorName: '+7 700 000', text: '-cmd|calc\nвторая строка' }),
    { ...answered('2', 4, '@SUM(A1)'), charged: 1234n },
  ];

  test('UTF-8 with a BOM, English commas and points by default; formulas neutralised', () => {
    const csv = reportCsv(rows, 'en');
    assert.ok(csv.startsWith('\uFEFF'), 'a BOM');
    const lines = csv.slice(1).split('\r\n');
    assert.match(lines[0]!, /^review,branch id,branch,created,rating,author,review text,outcome,answered by,answer,answered at,charged$/);
    assert.ok(csv.includes(`"'=HYPERLINK(""http://evil"")"`), 'a formula cell starts with a quote mark');
    assert.ok(csv.includes(`"'+7 700 000"`));
    assert.ok(csv.includes(`"'-cmd|calc\nвторая строка"`));
    assert.ok(csv.includes(`"'@SUM(A1)"`));
    assert.match(csv, /,12\.34\r\n/);
  });

  test('Russian: semicolons and decimal commas', () => {
    const csv = reportCsv(rows, 'ru');
    assert.match(csv.split('\r\n')[0]!, /^\uFEFFreview;branch id;/);
    assert.match(csv, /;12,34\r\n/);
  });

  test('outside text shown with its controls made visible', () => {
    const csv = reportCsv([answered('3', 2, 'ok', { text: 'плохо\u001b[31m\u202e' })], 'en');
    assert.ok(csv.includes('плохо␛[31m\\u{202E}'), csv);
  });
});
