// `gisbot complain` through the real binary on both databases: one complaint request per review across two runs,
// two racing workers and a SIGKILL right after the request was sent (read back, or outcome_unknown: never a second
// POST); bad input refused in one line; the review leaves the `reply` list and can still be drafted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { World } from '../support/world.ts';

const BRANCH = '70000001017466301';
/** One review per case, each rated 1: waiting for a person after intake. */
const REVIEWS = { twice: '771001', race: '771002', killed: '771003', killedBlind: '771004', notAllowed: '771005' } as const;
const REASON = 'Автор никогда не был нашим гостем: это реклама соседнего кафе';

const status = (stdout: string) => (JSON.parse(stdout) as { reviewId: string; status: string }).status;

for (const database of ['mysql', 'sqlite'] as const) {
  describe(`gisbot complain through the real binary (${database})`, () => {
    let world: World;
    before(async () => {
      world = await World.start({ database });
      world.twogis.addBranch({ id: BRANCH, name: 'Кофейня', orgId: '100' });
      for (const id of Object.values(REVIEWS)) world.twogis.addReview(BRANCH, { id, rating: 1, text: 'Ужасно, никогда больше не приду.' });
      world.twogis.review(REVIEWS.notAllowed)!.allowedActions.complain = false;
      const polled = await world.run(['poll-once', '--json']);
      assert.equal(JSON.parse(polled.stdout).awaitingApproval, Object.keys(REVIEWS).length, polled.stderr);
    });
    after(() => world.close());

    test('two runs send one request; the review leaves the reply list, one event, never charged; reply --dry-run still drafts', async () => {
      const first = await world.run(['complain', REVIEWS.twice, '--reason', REASON, '--not-a-client', '--json']);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(JSON.parse(first.stdout), { reviewId: REVIEWS.twice, status: 'sent' });
      const second = await world.run(['complain', REVIEWS.twice, '--reason', 'другими словами']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /has a complaint already: nothing sent again/);
      assert.equal(world.twogis.complaintPosts(REVIEWS.twice), 1);
      assert.deepEqual(
        world.twogis.complaintsAbout(REVIEWS.twice).map(({ text, isNoClientComplaint }) => ({ text, isNoClientComplaint })),
        [{ text: REASON, isNoClientComplaint: true }],
      );

      const queue = JSON.parse((await world.run(['reply', '--json'])).stdout) as Array<{ id: string }>;
      assert.ok(!queue.some((review) => review.id === REVIEWS.twice), 'no longer waiting');
      const dryRun = await world.run(['reply', REVIEWS.twice, '--dry-run', '--json']);
      assert.equal(dryRun.code, 0, dryRun.stderr);
      assert.equal(JSON.parse(dryRun.stdout).action, 'dry-run');

      const events = await world.query("SELECT data FROM events WHERE type = 'review.complained' AND review_id = ?", [REVIEWS.twice]);
      assert.deepEqual(events.map((event) => JSON.parse(String(event.data))), [{ reason: REASON, notAClient: true }]);
      assert.equal(Number((await world.query('SELECT COUNT(*) AS n FROM ledger'))[0]!.n), 0, 'never charged');
    });

    test('two racing workers: one request, one sent and one already_sent', async () => {
      const runs = await Promise.all([1, 2].map(() => world.run(['complain', REVIEWS.race, '--reason', REASON, '--json'])));
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(runs.map((run) => status(run.stdout)).sort(), ['already_sent', 'sent']);
      assert.equal(world.twogis.complaintPosts(REVIEWS.race), 1);
    });

    test('SIGKILL right after the request: the next run reads it back, or says outcome_unknown where 2GIS cannot; never a second POST', async () => {
      const killed = await world.run(['complain', REVIEWS.killed, '--reason', REASON, '--json'], { env: { GISBOT_FAILPOINT: 'after_complaint_sent' } });
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      const readBack = await world.run(['complain', REVIEWS.killed, '--reason', REASON, '--json']);
      assert.equal(readBack.code, 0, readBack.stderr);
      assert.equal(status(readBack.stdout), 'already_sent');
      assert.equal(world.twogis.complaintPosts(REVIEWS.killed), 1);

      world.twogis.complaintReadBack = false;
      try {
        const blind = await world.run(['complain', REVIEWS.killedBlind, '--reason', REASON, '--json'], { env: { GISBOT_FAILPOINT: 'after_complaint_sent' } });
        assert.equal(blind.signal, 'SIGKILL', blind.stderr);
        const told = await world.run(['complain', REVIEWS.killedBlind, '--reason', REASON]);
        assert.equal(told.code, 0, told.stderr);
        assert.match(told.stderr, /outcome was not seen.*not sent again by itself/);
        assert.match(told.stderr, /2GIS cabinet/);
        assert.deepEqual(await world.query('SELECT state FROM review_complaints WHERE review_id = ?', [REVIEWS.killedBlind]), [{ state: 'outcome_unknown' }]);
        assert.equal(world.twogis.complaintPosts(REVIEWS.killedBlind), 1, 'never sent again blindly');
      } finally {
        world.twogis.complaintReadBack = true;
      }
    });

    test('a 5★ ad is drafted and waits for a person; reply shows the suggestion to complain, the complaint goes once', { skip: database === 'mysql' }, async () => {
      const ad = '771006';
      world.twogis.addReview(BRANCH, { id: ad, rating: 5, text: 'Лучшие курсы маникюра! Пишите в телеграм @nails_promo' });
      assert.equal((await world.run(['balance', 'add', '100', '--yes'])).code, 0);
      const polled = await world.run(['poll-once', '--json']);
      assert.equal(polled.code, 0, polled.stderr);
      assert.deepEqual([JSON.parse(polled.stdout).posted, JSON.parse(polled.stdout).awaitingApproval], [0, 1]);
      assert.equal(world.twogis.postsTo(ad), 0, 'never answered by itself');

      const queue = JSON.parse((await world.run(['reply', '--json'])).stdout) as Array<{ id: string; reason: string; looksLike: unknown }>;
      const held = queue.find((review) => review.id === ad)!;
      assert.match(held.reason, /^looks like: not our customer \(an ad: "@nails_promo"\)/);
      assert.deepEqual(held.looksLike, { kind: 'ad', evidence: '@nails_promo' });
      const shown = await world.run(['reply', ad, '--dry-run']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /suggestion — looks like: not our customer \(an ad: "@nails_promo"\)\. If it is, complain to 2GIS instead of answering: .*complain 771006 --reason "<why>" --not-a-client\. You decide\./);
      assert.equal(JSON.parse((await world.run(['reply', ad, '--dry-run', '--json'])).stdout).looksLike.kind, 'ad');

      const complained = await world.run(['complain', ad, '--reason', 'Реклама, автор не был нашим гостем', '--not-a-client', '--json']);
      assert.equal(complained.code, 0, complained.stderr);
      assert.equal(world.twogis.complaintPosts(ad), 1);
      assert.equal(Number((await world.query('SELECT COUNT(*) AS n FROM ledger WHERE kind = ?', ['charge']))[0]!.n), 0, 'never charged');
    });

    // The same refusals on either database: run on one, to keep the suite lean.
    test('bad input is refused in one line, exit 2, nothing sent: no reason, too long, unknown review, not allowed by 2GIS', { skip: database === 'mysql' }, async () => {
      const before = world.twogis.complaintPosts();
      for (const [args, message] of [
        [['complain', REVIEWS.notAllowed], /needs its reason/],
        [['complain', REVIEWS.notAllowed, '--reason', 'x'.repeat(2001)], /2001 characters long; 2GIS takes at most 2000/],
        [['complain', '999999', '--reason', REASON], /review 999999 is not known to gisbot/],
        [['complain', REVIEWS.notAllowed, '--reason', REASON], /2GIS does not let the owner complain about review 771005/],
      ] as const) {
        const result = await world.run([...args]);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        const errors = result.stderr.trim().split('\n').filter((line) => line.startsWith('error:'));
        assert.equal(errors.length, 1, result.stderr);
        assert.match(errors[0]!, message);
      }
      assert.equal(world.twogis.complaintPosts(), before);
      assert.deepEqual(await world.query('SELECT state FROM reviews WHERE id = ?', [REVIEWS.notAllowed]), [{ state: 'needs_approval' }], 'still waiting');
    });
  });
}
