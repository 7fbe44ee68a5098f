// The owner's numbers over a 90-day world, on MariaDB and on SQLite: a fixed set of reviews with known end states
// (answered by gisbot and by a person, answered on 2GIS at intake and while they waited for a person, hidden,
// waiting for a person, waiting for money, failed), a period before for the rating's change, topics under two
// forms of one label, and a watched branch with no reviews. `stats` and the report (in this process) and
// `stats --json` and `branches --json` (the real binary, once per database) must equal the table below to the
// review and the kopeck.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { reportData } from '../../src/core/insight/report.ts';
import { periodStats } from '../../src/core/insight/stats.ts';
import { reportHtml } from '../../src/ui/report-html.ts';
import { World, worldContext, type Backend } from '../support/world.ts';
import { DAY, MINUTE, seedReviews, type EndState, type SeedReview } from '../support/seed-reviews.ts';

const A = '7700000000000001';
const B = '7700000000000002';
const C = '7700000000000003';
const NAMES = { [A]: 'Кофейня на Абая', [B]: 'Кофейня на Достык', [C]: 'Кофейня на вокзале' } as Record<string, string>;
const PRICE = 1234n; // 12.34: every sum in kopecks shows

type Row = [id: string, branch: string, rating: number, days: number, end: EndState];
// prettier-ignore
const TABLE: Row[] = [
  ['5001', A, 5, 1, 'posted'], ['5002', A, 5, 3, 'posted'], ['5003', A, 4, 9, 'posted'], ['5004', A, 4, 20, 'posted'],
  ['5005', A, 3, 40, 'posted'], ['5006', A, 2, 60, 'posted'],
  ['5007', A, 1, 2, 'byPerson'], ['5008', A, 2, 30, 'byPerson'],
  ['5009', A, 1, 4, 'elsewhereWhileWaiting'], ['5010', A, 2, 15, 'elsewhereWhileWaiting'], ['5011', A, 3, 70, 'elsewhereWhileWaiting'],
  ['5012', A, 1, 5, 'waitingForPerson'], ['5013', A, 2, 6, 'waitingForPerson'], ['5014', A, 2, 50, 'waitingForPerson'], ['5015', A, 3, 80, 'waitingForPerson'],
  ['5016', A, 5, 7, 'waitingForMoney'], ['5017', A, 4, 8, 'waitingForMoney'], ['5018', A, 4, 10, 'waitingForMoney'],
  ['5019', A, 3, 11, 'failed'],
  ['5020', B, 5, 1, 'posted'], ['5021', B, 4, 12, 'posted'], ['5022', B, 4, 25, 'posted'], ['5023', B, 3, 85, 'posted'],
  ['5024', B, 2, 14, 'elsewhereWhileWaiting'],
  ['5025', B, 5, 16, 'waitingForMoney'], ['5026', B, 5, 17, 'waitingForMoney'],
  ['5027', B, 1, 18, 'waitingForPerson'],
  // the period before: A's rating then
  ['5028', A, 3, 120, 'posted'], ['5029', A, 3, 150, 'posted'],
];
// Taken in by a real cycle from the 2GIS sandbox: answered there already (2) and hidden (1), all at branch A.
const AT_INTAKE = [
  { id: '5030', rating: 5, days: 21, answered: true },
  { id: '5031', rating: 4, days: 22, answered: true },
  { id: '5032', rating: 5, days: 23, hidden: true },
];
// Topics under two forms of one label, and the most frequent form must name it.
const TOPICS: Record<string, Array<{ key: string; label: string }>> = {
  '5006': [{ key: 'долг ожидан', label: 'долгого ожидания' }],
  '5008': [{ key: 'долг ожидан', label: 'долгое ожидание' }, { key: 'холодн коф', label: 'холодный кофе' }],
  '5012': [{ key: 'долг ожидан', label: 'долгое ожидание' }],
};

/** The table's answer of each figure, per branch: what every count below must be. */
const EXPECTED: Record<string, Record<string, number | string>> = {
  [A]: { reviews: 22, answered: 8, byPerson: 2, answeredElsewhere: 5, skipped: 1, waitingForPerson: 4, waitingForMoney: 3, waiting: 7, failed: 1, charged: '98.72' },
  [B]: { reviews: 8, answered: 4, byPerson: 0, answeredElsewhere: 1, skipped: 0, waitingForPerson: 1, waitingForMoney: 2, waiting: 3, failed: 0, charged: '49.36' },
  [C]: { reviews: 0, answered: 0, byPerson: 0, answeredElsewhere: 0, skipped: 0, waitingForPerson: 0, waitingForMoney: 0, waiting: 0, failed: 0, charged: '0.00' },
  total: { reviews: 30, answered: 12, byPerson: 2, answeredElsewhere: 6, skipped: 1, waitingForPerson: 5, waitingForMoney: 5, waiting: 10, failed: 1, charged: '148.08' },
};
const NOT_YET = { scheduled: 0, complained: 0, removed: 0 };

for (const backend of ['mysql', 'sqlite'] satisfies Backend[]) {
  describe(`the owner's numbers over 90 days on ${backend}`, () => {
    let world: World;
    let now: number;
    const seeds: SeedReview[] = TABLE.map(([id, branchId, rating, days, end]) => ({
      id, branchId, branchName: NAMES[branchId]!, rating, agoMs: days * DAY + Number(id.slice(-2)) * MINUTE, end, topics: TOPICS[id],
    }));

    before(async () => {
      world = await World.start({ database: backend });
      for (const id of [A, B, C]) world.twogis.addBranch({ id, name: NAMES[id]!, orgId: '100' });
      now = Date.now();
      for (const review of AT_INTAKE) {
        world.twogis.addReview(A, { id: review.id, rating: review.rating, text: 'Хорошо', dateCreated: new Date(now - review.days * DAY).toISOString(), isHidden: review.hidden ?? false });
        if (review.answered) world.twogis.answerAsOwner(review.id, 'Спасибо!');
      }
      const ctx = await worldContext(world);
      try {
        await ctx.store.migrate();
        await runCycle(ctx); // no balance: it takes in and answers nothing; every branch is listed
        await ctx.store.topUp(1_000_00n, 'test');
        await seedReviews(ctx.store, seeds, PRICE, now);
      } finally {
        await ctx.close();
      }
    });
    after(async () => world?.close());

    const period = () => ({ from: new Date(now - 90 * DAY), to: new Date(now) });
    const ratingOf = (branch: string | null, from: number, to: number) => {
      const ratings = [
        ...TABLE.filter(([, b, , days]) => (branch === null || b === branch) && days * DAY <= to && days * DAY > from).map(([, , rating]) => rating),
        ...AT_INTAKE.filter((r) => (branch === null || branch === A) && r.days * DAY <= to && r.days * DAY > from).map((r) => r.rating),
      ];
      return ratings.length === 0 ? null : Math.round((ratings.reduce((s, r) => s + r, 0) / ratings.length) * 100) / 100;
    };

    async function inProcess() {
      const ctx = await worldContext(world);
      try {
        return { stats: await periodStats(ctx.store, period()), report: await reportData(ctx.store, period(), new Date(now)) };
      } finally {
        await ctx.close();
      }
    }

    test('every review in exactly one figure, per branch and in total, as the table says', async () => {
      const { stats } = await inProcess();
      const pick = (figures: Record<string, unknown>) => Object.fromEntries(Object.keys({ ...EXPECTED.total, ...NOT_YET }).map((key) => [key, figures[key]]));
      assert.deepEqual(pick(stats.total as never), { ...EXPECTED.total, ...NOT_YET });
      for (const id of [A, B, C]) {
        const branch = stats.branches.find((each) => each.id === id);
        assert.ok(branch, `branch ${id} is listed (a watched branch with no reviews too)`);
        assert.deepEqual(pick(branch as never), { ...EXPECTED[id], ...NOT_YET }, `branch ${id}`);
        assert.equal(branch.name, NAMES[id]);
      }
      for (const figures of [stats.total, ...stats.branches]) {
        const parts = figures.answered + figures.answeredElsewhere + figures.skipped + figures.waitingForPerson + figures.waitingForMoney + figures.scheduled + figures.failed + figures.complained;
        assert.equal(parts, figures.reviews, 'the figures add up to the reviews');
        assert.equal(figures.waiting, figures.waitingForPerson + figures.waitingForMoney);
        assert.deepEqual(figures.decisions, { untouched: 0, edited: 0, rewritten: 0, regenerated: 0, editedShare: null });
      }
    });

    test('reply rate, rating and its change, median time to answer, topics named by their most frequent form', async () => {
      const { stats } = await inProcess();
      const a = stats.branches.find((each) => each.id === A)!;
      assert.equal(stats.total.replyRate, Math.round((12 / (30 - 1 - 6)) * 1000) / 1000);
      assert.equal(a.replyRate, 0.5);
      assert.equal(a.averageRating, ratingOf(A, 0, 90 * DAY));
      assert.equal(a.averageRatingChange, Math.round((ratingOf(A, 0, 90 * DAY)! - ratingOf(A, 90 * DAY, 180 * DAY)!) * 100) / 100);
      assert.equal(stats.branches.find((each) => each.id === B)!.averageRatingChange, null, 'no earlier data');
      // Answers of A: whole minutes from creation to the post (seconds after seeding).
      const minutes = TABLE.filter(([, b, , days, end]) => b === A && days <= 90 && (end === 'posted' || end === 'byPerson'))
        .map(([id, , , days]) => days * 1440 + Number(id.slice(-2)))
        .sort((x, y) => x - y);
      assert.equal(a.medianMinutesToAnswer, (minutes[3]! + minutes[4]!) / 2);
      assert.deepEqual(a.topics, [{ topic: 'долгое ожидание', reviews: 3 }, { topic: 'холодный кофе', reviews: 1 }]);
      assert.deepEqual(stats.topics, a.topics);
    });

    test("the report's numbers are the same figures; its waiting lists say how many wait in all", async () => {
      const { stats, report } = await inProcess();
      assert.deepEqual(report.stats, stats);
      assert.equal(report.waitingCount.get(A), 4);
      assert.equal(report.waitingCount.get(B), 1);
      assert.deepEqual(report.waiting.get(A)!.map((review) => review.id), ['5015', '5014', '5013', '5012'], 'oldest first');
      const answers = report.answers.map((answer) => answer.review.id);
      assert.equal(answers.length, 12, 'every answer posted in the period');
      assert.deepEqual(answers.slice(0, 3), ['5007', '5008', '5006'], '1–2★ first, newest first');
      assert.deepEqual(report.worst.map((each) => each.review.id).slice(0, 3), ['5007', '5009', '5012']);
      const listing = report.listings.get(A);
      assert.deepEqual(listing && { rating: listing.rating, reviews: listing.reviewsCount }, { rating: 4.7, reviews: 3 }, "2GIS's own rating");
      assert.deepEqual(report.stars.get(A), starsOf(A), 'the star distribution of the stored reviews');
      const html = reportHtml(report);
      assert.match(html, /Waiting for a person<\/dt><dd>5</);
      assert.match(html, /Waiting for money<\/dt><dd>5</);
      assert.match(html, new RegExp(`id="branch-${C}"`), 'the branch with no reviews has its section');
    });

    test('stats --json and branches --json through the real binary', async () => {
      const run = await world.run(['stats', '--json', '--since', '90d']);
      assert.equal(run.code, 0, run.stderr);
      const document = JSON.parse(run.stdout);
      for (const [key, value] of Object.entries({ ...EXPECTED.total, ...NOT_YET })) assert.equal(document.total[key], value, `total.${key}`);
      assert.deepEqual(document.total.decisions, { untouched: 0, edited: 0, rewritten: 0, regenerated: 0, editedShare: null });
      for (const id of [A, B, C]) {
        const branch = document.branches.find((each: { id: string }) => each.id === id);
        assert.ok(branch, `branch ${id} in stats --json`);
        for (const [key, value] of Object.entries(EXPECTED[id]!)) assert.equal(branch[key], value, `${id}.${key}`);
      }
      const listed = await world.run(['branches', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const rows = JSON.parse(listed.stdout);
      // All time: A's two reviews of the period before count here.
      const all = (id: string) => rows.find((row: { id: string }) => row.id === id);
      assert.deepEqual([A, B, C].map((id) => ({ reviews: all(id).reviews, answered: all(id).answered, waiting: all(id).waiting })), [
        { reviews: 24, answered: 10, waiting: 7 },
        { reviews: 8, answered: 4, waiting: 3 },
        { reviews: 0, answered: 0, waiting: 0 },
      ]);
    });

    function starsOf(branch: string): Record<number, number> {
      const stars: Record<number, number> = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
      for (const [, b, rating, days] of TABLE) if (b === branch && days <= 90) stars[rating]! += 1;
      if (branch === A) for (const review of AT_INTAKE) stars[review.rating]! += 1;
      return stars;
    }
  });
}
