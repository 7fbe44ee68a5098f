// Follow-ups over fakes: off by default; on, one follow-up per reviewer comment, with the exchange as context,
// through the same gate, never charged, never posted twice.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCycle } from '../../src/core/answering/cycle.ts';
import type { ChatMessage } from '../../src/core/ports.ts';
import { ServiceError } from '../../src/errors.ts';
import { messagesFor } from '../../src/ui/messages.ts';
import { listed, pipeline, testSettings } from '../support/fakes.ts';

function followUpPipeline(answerFollowUps: boolean) {
  const world = pipeline({ settings: { ...testSettings, policy: { answerFollowUps } } });
  world.twogis.reviews = [listed({ id: '1', text: 'Очень вкусный кофе и тихо', authorId: 'u-1', authorName: 'Анна' })];
  return world;
}

const userOf = (messages: readonly ChatMessage[]) => messages.find((message) => message.role === 'user')!.content;

describe('follow-ups', () => {
  test('off (the default): a reviewer\'s comment under our answer is left alone', async () => {
    const { deps, store, twogis, model } = followUpPipeline(false);
    await store.topUp(1000n);
    await runCycle(deps);
    twogis.addFollowUp('1', 'c-1', 'А по воскресеньям вы работаете?');
    const calls = model.calls.length;
    let listings = 0;
    const list = twogis.listComments.bind(twogis);
    twogis.listComments = async (id) => {
      listings += 1;
      return list(id);
    };
    const summary = await runCycle(deps);
    assert.equal(listings, 0);
    assert.equal(model.calls.length, calls);
    assert.equal(twogis.commentPosts.size, 0);
    assert.equal(summary.followUps.found, 0);
    assert.equal(store.followUps.size, 0);
  });

  test('on: one follow-up that sees the history, posted once, not charged', async () => {
    const { deps, store, twogis, model } = followUpPipeline(true);
    await store.topUp(1000n);
    await runCycle(deps);
    const answer = twogis.answers.get('1')!.text;
    twogis.addFollowUp('1', 'c-1', 'Спасибо! А по воскресеньям вы работаете?');
    model.reply = (messages) => {
      const user = userOf(messages);
      if (!/<<<COMMENT/.test(user)) return {};
      return /зайду/.test(user) ? { text: 'Ждём вас в воскресенье!' } : { text: 'Да, по воскресеньям мы открыты, будем рады вас видеть!' };
    };

    const summary = await runCycle(deps);
    assert.deepEqual(summary.followUps, { found: 1, posted: 1, awaitingApproval: 0, skipped: 0, failed: 0 });
    const prompt = userOf(model.calls.at(-1)!);
    const dialogue = prompt.split('<<<DIALOGUE\n')[1]!.split('\nDIALOGUE>>>')[0]!;
    assert.equal(dialogue, `[customer] Очень вкусный кофе и тихо\n[business] ${answer}`);
    assert.equal(prompt.split('<<<COMMENT\n')[1]!.split('\nCOMMENT>>>')[0], 'Спасибо! А по воскресеньям вы работаете?');
    assert.match(prompt, /Rule for this answer: The customer wrote again under our answer/);
    assert.equal(twogis.commentPosts.get('1'), 1);
    assert.equal(twogis.comments.get('1')!.at(-1)!.text, 'Да, по воскресеньям мы открыты, будем рады вас видеть!');
    assert.equal((await store.getFollowUp('c-1'))!.state, 'posted');
    assert.deepEqual(
      (await store.dialogue('u-1', '1')).map((entry) => entry.role),
      ['reviewer', 'owner', 'reviewer', 'owner'],
      'the history keeps the whole exchange',
    );
    assert.equal(store.events.filter((event) => event.type === 'followup.posted').length, 1);
    assert.equal(store.balance, 500n, 'only the answer was charged');

    const again = await runCycle(deps);
    assert.equal(again.followUps.found, 0);
    assert.equal(twogis.commentPosts.get('1'), 1, 'never twice');
    let listings = 0;
    const list = twogis.listComments.bind(twogis);
    twogis.listComments = async (id) => {
      listings += 1;
      return list(id);
    };
    await runCycle(deps);
    assert.equal(listings, 0, 'comments are listed again only when their count changes');
    twogis.addFollowUp('1', 'c-2', 'Отлично, зайду в воскресенье!');
    await runCycle(deps);
    assert.ok(listings >= 1);
    assert.equal((await store.getFollowUp('c-2'))!.state, 'posted');
    assert.equal(twogis.commentPosts.get('1'), 2);
    assert.deepEqual(store.checkInvariants(1), []);
  });

  test('a follow-up that fails the gate waits for a person; another visitor\'s comment is not answered', async () => {
    const { deps, store, twogis, model } = followUpPipeline(true);
    await store.topUp(1000n);
    await runCycle(deps);
    twogis.addFollowUp('1', 'c-1', 'Дайте ваш телефон!');
    twogis.comments.get('1')!.push({ id: 'c-2', text: 'А мне не понравилось', isOfficialAnswer: false, author: { id: 'someone-else', name: 'Пётр' }, createdAt: '' });
    model.reply = (messages) => (/<<<COMMENT/.test(userOf(messages)) ? { text: 'Звоните: +7 (727) 355-00-00' } : {});
    const summary = await runCycle(deps);
    assert.deepEqual(summary.followUps, { found: 1, posted: 0, awaitingApproval: 1, skipped: 0, failed: 0 });
    const followUp = (await store.getFollowUp('c-1'))!;
    assert.equal(followUp.state, 'needs_approval');
    assert.match(followUp.reason!, /phone number/);
    assert.equal(await store.getFollowUp('c-2'), null);
    assert.equal(twogis.commentPosts.size, 0);
  });

  test('a comment POST whose outcome went unseen is never posted again: it waits for a person', async () => {
    const { deps, store, twogis } = followUpPipeline(true);
    await store.topUp(1000n);
    await runCycle(deps);
    twogis.addFollowUp('1', 'c-1', 'А парковка у вас есть?');
    twogis.commentFailure = () => new ServiceError('2gis', 'outcome_unknown', 'the connection was reset');
    const summary = await runCycle(deps);
    assert.equal(summary.followUps.awaitingApproval, 1);
    assert.match((await store.getFollowUp('c-1'))!.reason!, /went unanswered .*check 2GIS/);
    twogis.commentFailure = null;
    await runCycle(deps);
    assert.equal(twogis.commentPosts.get('1'), 1);
  });

  test('a worker that died around the POST: the comment is read back, and recorded if it is there', async () => {
    const { deps, store, twogis, clock } = followUpPipeline(true);
    await store.topUp(1000n);
    await runCycle(deps);
    twogis.addFollowUp('1', 'c-1', 'А парковка у вас есть?');
    // A worker claims it, posts, and dies before recording.
    await store.recordFollowUp({ commentId: 'c-1', reviewId: '1', branchId: '70000001017466092', authorId: 'u-1', text: 'А парковка у вас есть?', createdAt: new Date().toISOString() }, []);
    const claimed = await store.claimFollowUp('dead', clock.now(), new Date(clock.now().getTime() + 1000));
    assert.equal(claimed!.commentId, 'c-1');
    assert.equal(await store.beginFollowUpPosting('c-1', 'dead', clock.now(), clock.now()), true);
    await twogis.postComment('1', 'Да, парковка есть во дворе.');
    clock.advance(2000);
    await runCycle(deps);
    const followUp = (await store.getFollowUp('c-1'))!;
    assert.equal(followUp.state, 'posted');
    assert.equal(followUp.answerText, 'Да, парковка есть во дворе.');
    assert.equal(twogis.commentPosts.get('1'), 1);
  });
});

describe("follow-ups' reasons by their codes (issue 23)", () => {
  /** A follow-up taken in and answered in one cycle; `drafting` runs while its draft is written. */
  async function followUpMet(drafting: (world: ReturnType<typeof followUpPipeline>) => void) {
    const world = followUpPipeline(true);
    await world.store.topUp(1000n);
    await runCycle(world.deps);
    world.twogis.addFollowUp('1', 'c-1', 'А по воскресеньям вы работаете?');
    world.model.reply = (messages) => {
      if (/<<<COMMENT/.test(userOf(messages))) drafting(world);
      return {};
    };
    await runCycle(world.deps);
    return world;
  }

  test('a comment deleted on 2GIS before our follow-up: its code is kept and sent, and a Russian reader reads it in Russian', async () => {
    const { store } = await followUpMet(({ twogis }) => {
      twogis.comments.set('1', (twogis.comments.get('1') ?? []).filter((comment) => comment.id !== 'c-1'));
    });
    const followUp = (await store.getFollowUp('c-1'))!;
    assert.deepEqual([followUp.state, followUp.reason, followUp.reasonCode], ['skipped', 'the comment was deleted on 2GIS', 'comment_deleted']);
    const event = store.events.find((one) => one.type === 'review.skipped' && one.data.commentId === 'c-1')!;
    // The contract's data stays: the English reason and code `follow_up`; what the follow-up's reason is rides beside.
    assert.deepEqual([event.data.reason, event.data.code, event.data.followUpCode], ['the comment was deleted on 2GIS', 'follow_up', 'comment_deleted']);
    const said = (language: 'en' | 'ru') => messagesFor(language).console.reason('follow_up', String(event.data.reason), 'comment_deleted');
    assert.equal(said('en'), 'the comment was deleted on 2GIS');
    assert.equal(said('ru'), 'дополнение к отзыву: комментарий удалён в 2ГИС');
  });

  test("2GIS refusing the follow-up: reply.failed carries the codes, the Russian words frame 2GIS's own detail", async () => {
    const { store, twogis } = await followUpMet(({ twogis }) => {
      twogis.commentFailure = () => new ServiceError('2gis', 'rejected', '2GIS rejected POST comments with 400: text too long');
    });
    assert.equal(twogis.commentPosts.get('1'), 1, 'tried once, refused');
    const followUp = (await store.getFollowUp('c-1'))!;
    assert.deepEqual([followUp.state, followUp.reasonCode], ['failed', 'post_refused']);
    const event = store.events.find((one) => one.type === 'reply.failed' && one.data.commentId === 'c-1')!;
    assert.deepEqual([event.data.error, event.data.code, event.data.followUpCode], [
      '2GIS refused the follow-up: 2GIS rejected POST comments with 400: text too long', 'follow_up', 'post_refused',
    ]);
    assert.equal(
      messagesFor('ru').console.reason('follow_up', String(event.data.error), 'post_refused'),
      'дополнение к отзыву: 2ГИС не принял его: 2GIS rejected POST comments with 400: text too long',
    );
  });
});
