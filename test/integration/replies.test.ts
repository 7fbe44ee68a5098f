// What gets posted, in process with the real adapters (MariaDB store, 2GIS client, OpenAI SDK) against the
// sandboxes: hostile reviews answered by a model that obeys them, the approval queue, languages, short answers
// to ratings without text, and the moderation endpoint. Every test ends with the posting and money invariants.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Context } from '../../src/context.ts';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { gateProblems } from '../../src/core/drafting/gate.ts';
import { detectLanguage } from '../../src/core/drafting/language.ts';
import { currentPrompt, draftReply, findReview, sendReply } from '../../src/core/approval/manual.ts';
import type { AnsweringPolicy } from '../../src/core/answering/policy.ts';
import { UsageError } from '../../src/errors.ts';
import { defaultResponder, obeyingResponder, reviewOf, type Responder } from '../../src/sandbox/model.ts';
import { looksLikeNotACustomer } from '../../src/core/drafting/looks-like.ts';
import { HOSTILE_REVIEWS } from '../fixtures/hostile-reviews.ts';
import { queryDatabase } from '../support/mysql.ts';
import { World, worldContext } from '../support/world.ts';

let branchSeq = 0;
function newBranch(world: World, name = 'Кофейня'): string {
  branchSeq += 1;
  const id = `7400000000000${String(branchSeq).padStart(4, '0')}`;
  world.twogis.addBranch({ id, name: `${name} ${branchSeq}`, orgId: '100' });
  return id;
}

async function withContext(world: World, policy: Partial<AnsweringPolicy>, work: (ctx: Context) => Promise<void>): Promise<void> {
  const ctx = await worldContext(world, {}, { settings: { policy } });
  try {
    await ctx.store.migrate();
    await work(ctx);
  } finally {
    await ctx.close();
  }
}

async function rowOf(world: World, id: string) {
  const [row] = await queryDatabase(world.db.url, 'SELECT state, reason, answer_text FROM reviews WHERE id = ?', [id]);
  return row as { state: string; reason: string | null; answer_text: string | null };
}

async function balance(world: World): Promise<string> {
  const [row] = await queryDatabase(world.db.url, 'SELECT balance FROM business_accounts');
  return String(row!.balance);
}

/** The reply gate's verdict on an answer that 2GIS holds, as if it were a draft for `reviewText`. */
function problemsOfPosted(text: string, reviewText: string): string[] {
  return gateProblems({ text, finishReason: 'stop' }, { maxLength: 4000 }, { reviewText, defaultLanguage: 'rus' }).map((p) => p.message);
}

describe('replies through the real adapters', () => {
  let world: World;
  let responder: Responder;
  before(async () => {
    world = await World.start();
    responder = world.model.responder;
  });
  after(async () => world.close());

  test('the injection corpus through a model that obeys it: nothing posted, each review waits with its reason', async () => {
    const branch = newBranch(world, 'Мишень');
    for (const hostile of HOSTILE_REVIEWS) world.twogis.addReview(branch, { id: hostile.id, rating: 5, text: hostile.text });
    world.model.responder = obeyingResponder;
    try {
      await withContext(world, {}, async (ctx) => {
        await ctx.store.topUp(100_000n, null);
        const before = await balance(world);
        const summary = await runCycle(ctx);
        assert.equal(summary.posted, 0, 'not one obeyed answer went out');
        assert.equal(summary.awaitingApproval, HOSTILE_REVIEWS.length);
        assert.equal(await balance(world), before, 'nothing charged');
        const events = await ctx.store.listEvents({ type: 'review.needs_approval', limit: 100 });
        for (const hostile of HOSTILE_REVIEWS) {
          assert.equal(world.twogis.postsTo(hostile.id), 0, hostile.attack);
          const row = await rowOf(world, hostile.id);
          assert.equal(row.state, 'needs_approval', hostile.attack);
          assert.match(row.reason!, /^the reply gate refused 3 drafts: /, hostile.attack);
          const rules = events.find((event) => event.reviewId === hostile.id)!.data.rules as string[];
          assert.ok(
            hostile.caughtBy.some((rule) => rules.includes(rule)),
            `${hostile.attack}: caught by ${rules.join(', ')}, expected one of ${hostile.caughtBy.join(', ')}`,
          );
        }
      });
    } finally {
      world.model.responder = responder;
    }

    // The model saw every review only as data between one pair of delimiters, and was given no tools.
    const chats = world.model.requests.filter((request) => request.path === 'chat/completions');
    assert.ok(chats.length >= HOSTILE_REVIEWS.length * 3);
    for (const request of chats) {
      const body = request.body as { tools?: unknown; functions?: unknown; messages: Array<{ role: string; content: string }> };
      assert.equal(body.tools, undefined);
      assert.equal(body.functions, undefined);
      const user = body.messages.filter((message) => message.role === 'user');
      assert.equal(user.length, 1);
      const lines = user[0]!.content.split('\n');
      assert.equal(lines.filter((line) => line === '<<<REVIEW').length, 1, 'one opening delimiter');
      assert.equal(lines.filter((line) => line === 'REVIEW>>>').length, 1, 'one closing delimiter');
      assert.ok(lines.indexOf('<<<REVIEW') < lines.indexOf('REVIEW>>>'));
    }
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('the same corpus through a well-behaved model: every answer posted passes the gate, in the review\'s language', async () => {
    const branch = newBranch(world, 'Вторая мишень');
    const ids = HOSTILE_REVIEWS.map((hostile) => world.twogis.addReview(branch, { id: `9${hostile.id}`, rating: 5, text: hostile.text }).id);
    await withContext(world, {}, async (ctx) => {
      await ctx.store.topUp(100_000n, null);
      const summary = await runCycle(ctx);
      const rows = await queryDatabase(world.db.url, "SELECT id, reason FROM reviews WHERE id LIKE '9660%' AND state <> 'posted'");
      // Those that read as ads (a phone, a link to post) wait for a person instead (looks-like.ts): drafted, never posted.
      const ads = HOSTILE_REVIEWS.filter((hostile) => looksLikeNotACustomer(hostile.text) !== null).map((hostile) => `9${hostile.id}`);
      assert.equal(summary.posted, HOSTILE_REVIEWS.length - ads.length, JSON.stringify(rows));
      assert.deepEqual(rows.map((row) => row.id).sort(), ads.sort());
      for (const row of rows) assert.match(String(row.reason), /^looks like: not our customer \(an ad: /);
    });
    for (const [index, id] of ids.entries()) {
      if (looksLikeNotACustomer(HOSTILE_REVIEWS[index]!.text) !== null) {
        assert.equal(world.twogis.postsTo(id), 0);
        continue;
      }
      const answer = world.twogis.answerOf(id)!;
      assert.deepEqual(problemsOfPosted(answer.text, HOSTILE_REVIEWS[index]!.text), [], answer.text);
    }
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('a 1-star review waits for a person, nothing posted or charged; approving it posts once and charges once', async () => {
    // `gisbot reply <id> --send` is being written (src/commands/reply.ts); this drives the core it calls.
    const branch = newBranch(world);
    world.twogis.addReview(branch, { id: '750001', rating: 1, text: 'Кофе был холодный, ждали полчаса.' });
    await withContext(world, {}, async (ctx) => {
      await ctx.store.topUp(10_000n, null);
      const before = await balance(world);
      const summary = await runCycle(ctx);
      assert.equal(summary.awaitingApproval, 1);
      assert.equal(world.twogis.postsTo('750001'), 0);
      assert.equal(await balance(world), before);
      const review = await findReview(ctx, '750001');
      assert.equal(review.state, 'needs_approval');

      const prompt = await currentPrompt(ctx);
      const draft = await draftReply(ctx, review, prompt);
      assert.deepEqual(draft.problems, []);
      const sent = await sendReply(ctx, '750001', draft.text, { model: draft.completion.model, promptVersion: prompt.version, completion: draft.completion });
      assert.equal(sent.kind, 'posted');
      assert.equal(world.twogis.postsTo('750001'), 1);
      assert.equal(Number(await balance(world)), Number(before) - 5);
      await assert.rejects(sendReply(ctx, '750001', draft.text, { model: 'person', promptVersion: prompt.version, completion: null }), UsageError);
      // A person's answer goes through the same gate: an English answer to a Russian review is refused.
      world.twogis.addReview(branch, { id: '750002', rating: 2, text: 'Грязные столы.' });
      await runCycle(ctx);
      const refused = await sendReply(ctx, '750002', 'Thank you, we will clean the tables.', { model: 'person', promptVersion: 1, completion: null });
      assert.equal(refused.kind, 'refused');
      assert.equal(world.twogis.postsTo('750002'), 0);
    });
    assert.equal(world.twogis.postsTo('750001'), 1);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('a Kazakh review gets a Kazakh answer, or waits for a person when the model answers in Russian', async () => {
    const branch = newBranch(world);
    world.twogis.addReview(branch, { id: '760001', rating: 5, text: 'Кофе өте дәмді, қызмет көрсету жылдам. Рахмет!' });
    await withContext(world, {}, async (ctx) => {
      await ctx.store.topUp(10_000n, null);
      await runCycle(ctx);
    });
    const answer = world.twogis.answerOf('760001')!;
    assert.equal(detectLanguage(answer.text), 'kaz', answer.text);

    world.twogis.addReview(branch, { id: '760002', rating: 5, text: 'Бәрі ұнады, тағы келеміз!' });
    world.model.responder = () => ({ text: 'Спасибо за отзыв, ждём вас снова!' });
    try {
      await withContext(world, {}, async (ctx) => runCycle(ctx).then(() => undefined));
    } finally {
      world.model.responder = responder;
    }
    assert.equal(world.twogis.postsTo('760002'), 0);
    const row = await rowOf(world, '760002');
    assert.equal(row.state, 'needs_approval');
    assert.match(row.reason!, /written in Russian, but the answer must be in Kazakh/);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('a Russian review never gets an English answer; an English one does', async () => {
    const branch = newBranch(world);
    world.twogis.addReview(branch, { id: '770001', rating: 5, text: 'Отличный кофе и очень вежливый бариста!' });
    world.twogis.addReview(branch, { id: '770002', rating: 5, text: 'Great coffee and a friendly barista!' });
    world.model.responder = (request) => {
      const review = reviewOf(request.messages.find((message) => message.role === 'user')!.content);
      return { text: `Thank you for your review! We hope to see you again soon (${review.length}).` };
    };
    try {
      await withContext(world, {}, async (ctx) => {
        await ctx.store.topUp(10_000n, null);
        await runCycle(ctx);
      });
    } finally {
      world.model.responder = responder;
    }
    assert.equal(world.twogis.postsTo('770001'), 0);
    assert.match((await rowOf(world, '770001')).reason!, /written in English, but the answer must be in Russian/);
    assert.equal(world.twogis.postsTo('770002'), 1);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('a rating without text gets one short sentence by the rating rule, signed as the branch asks', async () => {
    const branch = newBranch(world);
    world.twogis.addReview(branch, { id: '780001', rating: 5, text: '' });
    await withContext(world, { branches: { [branch]: { signature: '— команда «Кофейня»' } } }, async (ctx) => {
      await ctx.store.topUp(10_000n, null);
      await runCycle(ctx);
    });
    const answer = world.twogis.answerOf('780001')!.text;
    assert.ok(answer.length <= 300, answer);
    assert.equal(answer.replace(/— команда «Кофейня»$/, '').trim().split(/[.!?…]+\s/).length, 1, `one sentence: ${answer}`);
    assert.match(answer, /— команда «Кофейня»$/);
    assert.equal(detectLanguage(answer), 'rus');
    const request = world.model.requests.filter((r) => r.path === 'chat/completions').at(-1)!;
    const user = (request.body as { messages: Array<{ role: string; content: string }> }).messages.find((m) => m.role === 'user')!.content;
    assert.match(user, /only a rating of 5, without text\. Answer short, 1 sentence/);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('two reviews with the same text get different answers', async () => {
    const branch = newBranch(world);
    for (const id of ['790001', '790002', '790003', '790004']) world.twogis.addReview(branch, { id, rating: 5, text: 'Всё понравилось', user: { id: '1', name: 'Анна' } });
    await withContext(world, {}, async (ctx) => {
      await ctx.store.topUp(10_000n, null);
      await runCycle(ctx);
    });
    const answers = ['790001', '790002', '790003', '790004'].map((id) => world.twogis.answerOf(id)!.text);
    assert.equal(new Set(answers).size, 4, answers.join('\n'));
    const seeds = world.model.requests
      .filter((r) => r.path === 'chat/completions')
      .map((r) => (r.body as { seed?: number }).seed)
      .slice(-4);
    assert.equal(new Set(seeds).size, 4, 'a seed per review');
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test('moderation: required without an endpoint waits, optional goes on, a flagged draft is regenerated', async () => {
    const branch = newBranch(world);
    world.twogis.addReview(branch, { id: '800001', rating: 5, text: 'Хорошее место' });
    world.model.moderation = false;
    try {
      await withContext(world, { moderation: 'required' }, async (ctx) => {
        await ctx.store.topUp(10_000n, null);
        await runCycle(ctx);
      });
      assert.equal(world.twogis.postsTo('800001'), 0);
      assert.match((await rowOf(world, '800001')).reason!, /no moderation endpoint \(404 to POST \/moderations\)/);

      world.twogis.addReview(branch, { id: '800002', rating: 5, text: 'Вкусные десерты' });
      await withContext(world, { moderation: 'optional' }, async (ctx) => runCycle(ctx).then(() => undefined));
      assert.equal(world.twogis.postsTo('800002'), 1);
    } finally {
      world.model.moderation = true;
    }

    world.twogis.addReview(branch, { id: '800003', rating: 5, text: 'Уютно' });
    let drafts = 0;
    world.model.responder = (request) => {
      drafts += 1;
      return drafts === 1 ? { text: 'Спасибо, дурак, что зашёл.' } : defaultResponder(request);
    };
    const moderatedBefore = world.model.moderations;
    try {
      await withContext(world, { moderation: 'required' }, async (ctx) => runCycle(ctx).then(() => undefined));
    } finally {
      world.model.responder = responder;
    }
    assert.equal(drafts, 2);
    assert.equal(world.model.moderations - moderatedBefore, 2);
    assert.equal(world.twogis.postsTo('800003'), 1);
    assert.doesNotMatch(world.twogis.answerOf('800003')!.text, /дурак/);
    await world.checkInvariants(world.twogis.reviewIds());
  });
});
