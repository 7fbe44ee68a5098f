// The owner's voice (issue 22) end to end, with the real binary, MariaDB, and the 2GIS, model and Telegram sandboxes:
// a draft edited in `reply`, one edited from Telegram and an answer a manager wrote on 2GIS become the examples
// of the next review's prompt at that branch, most similar first; with `voice.examples: 0` the prompt is exactly
// what gisbot asked before examples existed.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { planAnswer } from '../../src/core/answering/policy.ts';
import { buildMessages } from '../../src/core/drafting/prompt.ts';
import { lexicalSimilarity, trigrams } from '../../src/core/voice/voice.ts';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { KEYS, Pty } from '../support/pty.ts';
import { SECRETS, World, worldContext } from '../support/world.ts';

const BRANCH = '70000001017466601';
const OWNER = '1000001';
const ANNA = { id: 1000001, firstName: 'Анна', username: 'anna' };

describe("the owner's voice with the real binary", () => {
  let world: World;
  let tg: TelegramSandbox;
  let editor: string;

  const poll = async () => {
    const result = await world.run(['poll-once', '--json'], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  const config = (extra: Record<string, unknown> = {}) =>
    writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ telegram: { chatIds: [OWNER], apiUrl: tg.url }, ...extra }));
  const card = (reviewId: string): SandboxMessage => {
    const found = tg.messagesIn(OWNER).find((message) => message.text.includes(`review ${reviewId}`));
    assert.ok(found, `no card of review ${reviewId}`);
    return found;
  };
  /** The messages of the last chat completion asked about a review with this text. */
  const promptFor = (text: string): Array<{ role: string; content: string }> => {
    const asked = world.model.requests.filter(
      (request) => request.path === 'chat/completions' && JSON.stringify(request.body).includes(JSON.stringify(text).slice(1, -1)),
    );
    assert.ok(asked.length > 0, `the model was never asked about "${text}"`);
    return (asked.at(-1)!.body as { messages: Array<{ role: string; content: string }> }).messages;
  };
  const blocks = (content: string, name: string) => [...content.matchAll(new RegExp(`^<<<${name}\\n([\\s\\S]*?)\\n${name}>>>$`, 'gm'))].map((m) => m[1]!);

  before(async () => {
    world = await World.start();
    tg = await TelegramSandbox.start();
    tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно»', orgId: '100' });
    editor = path.join(world.dir, 'edit.sh');
    await writeFile(editor, '#!/bin/sh\ncp "$EDIT_SOURCE" "$1"\n');
    await chmod(editor, 0o755);
    await config();
    assert.equal((await world.run(['balance', 'add', '50', '--yes'])).code, 0);
  });
  after(async () => {
    await tg.close();
    await world.close();
  });

  test('edited in reply, edited from Telegram, answered on 2GIS by hand: the next prompt at the branch shows exactly those three, most similar first', async () => {
    world.twogis.addReview(BRANCH, { id: '950001', rating: 2, text: 'Кофе принесли холодный, капучино совсем остыл.', user: { id: '41', name: 'Анна Петрова' } });
    world.twogis.addReview(BRANCH, { id: '950002', rating: 2, text: 'Бариста нагрубил, когда я попросила заменить молоко.', user: { id: '42', name: 'Ольга' } });
    world.twogis.addReview(BRANCH, { id: '950003', rating: 2, text: 'Ждали заказ сорок минут, очень долго.', user: { id: '43', name: 'Дмитрий' } });
    world.twogis.answerAsOwner('950003', 'Дмитрий, сорок минут ожидания это слишком долго: в часы пик мы вывели второго бариста.');
    const first = JSON.parse((await poll()).stdout);
    assert.equal(first.awaitingApproval, 2);

    // In the terminal: the draft, edited, then sent.
    const inReply = 'Анна, простите за холодный капучино: мы заменили термос, и теперь кофе подают сразу.';
    const source = path.join(world.dir, 'answer-950001.txt');
    await writeFile(source, inReply);
    const session = new Pty(['reply', '950001'], { cwd: world.dir, env: world.env({ VISUAL: editor, EDIT_SOURCE: source }) });
    await session.expect('What now?');
    await session.type('2', KEYS.enter);
    await session.expect('your edit');
    await session.expect('What now?');
    await session.type('1', KEYS.enter);
    const sent = await session.done;
    assert.equal(sent.code, 0, sent.text);
    assert.equal(world.twogis.answerOf('950001')?.text, inReply);

    // From Telegram: edit, the answer as a reply to the card, then send.
    const fromPhone = 'Ольга, так говорить с гостями нельзя: мы поговорили с бариста, замена молока у нас без вопросов.';
    tg.press(OWNER, card('950002').messageId, 'edit', ANNA);
    tg.write(OWNER, fromPhone, { replyTo: card('950002').messageId, person: ANNA });
    await poll();
    tg.press(OWNER, card('950002').messageId, 'send', ANNA);
    await poll();
    assert.equal(world.twogis.answerOf('950002')?.text, fromPhone);

    const kept = await world.query('SELECT review_id, weight, review_text, answer_text FROM voice_examples ORDER BY review_id');
    assert.deepEqual(
      kept.map((row) => [row.review_id, row.weight]),
      [['950001', 'written'], ['950002', 'written'], ['950003', 'elsewhere']],
      'each answer a person produced, weighted by how much of the shown draft they changed',
    );

    // The next review at the branch: its card's draft is asked with the three as examples.
    const next = 'Холодный кофе и долго ждали заказ, капучино остыл.';
    world.twogis.addReview(BRANCH, { id: '950004', rating: 2, text: next, user: { id: '44', name: 'Сергей' } });
    await poll();
    const user = promptFor(next).find((message) => message.role === 'user')!.content;
    const answers = blocks(user, 'EXAMPLE_ANSWER');
    const reviews = blocks(user, 'EXAMPLE_REVIEW');
    const expected = kept
      .map((row) => ({ review: String(row.review_text), answer: String(row.answer_text), similarity: lexicalSimilarity(trigrams(next), trigrams(String(row.review_text))) }))
      .sort((a, b) => b.similarity - a.similarity);
    assert.deepEqual(answers, expected.map((example) => example.answer), 'exactly those three, most similar first');
    assert.deepEqual(reviews, expected.map((example) => example.review));
    assert.deepEqual(answers, [
      '{name}, простите за холодный капучино: мы заменили термос, и теперь кофе подают сразу.',
      '{name}, сорок минут ожидания это слишком долго: в часы пик мы вывели второго бариста.',
      '{name}, так говорить с гостями нельзя: мы поговорили с бариста, замена молока у нас без вопросов.',
    ]);
    assert.doesNotMatch(user, /Анна|Ольга|Дмитрий|Петрова/, "no earlier reviewer's name reaches the prompt");

    // How much the owner still corrects: a regeneration from Telegram, then the draft sent untouched in the terminal.
    tg.press(OWNER, card('950004').messageId, 'regenerate', ANNA);
    await poll();
    const untouched = await world.run(['reply', '950004', '--send', '--json']);
    assert.equal(untouched.code, 0, untouched.stderr);
    const stats = JSON.parse((await world.run(['stats', '--json'])).stdout);
    const { editedShare, ...counts } = stats.total.decisions;
    assert.deepEqual(counts, { untouched: 1, edited: 0, rewritten: 2, regenerated: 1 });
    assert.ok(editedShare > 1 / 3 && editedShare <= 2 / 3, `the mean share changed over three sent drafts, one untouched: ${editedShare}`);
    await world.checkInvariants(world.twogis.reviewIds());
  });

  test("voice.examples 0: the prompt is byte for byte what gisbot asked before examples existed", async () => {
    await config({ voice: { examples: 0 } });
    const text = 'Холодный кофе опять, и капучино остыл.';
    world.twogis.addReview(BRANCH, { id: '950005', rating: 2, text, user: { id: '45', name: 'Инна' } });
    await poll();
    const ctx = await worldContext(world);
    try {
      const review = (await ctx.store.getReview('950005'))!;
      const expected = buildMessages(await ctx.prompts.read(), review, planAnswer(review, ctx.settings));
      assert.deepEqual(promptFor(text), expected);
    } finally {
      await ctx.close();
    }
  });

  test("a review at another business gets none of this business's examples; one at this business still does", async () => {
    const other = { login: 'other@example.kz', password: 'sentinel-other-password-66', org: '660', branch: '70000001017466660' };
    world.twogis.addAccount({ login: other.login, password: other.password });
    world.twogis.addOrg({ id: other.org, name: 'Другая кофейня', login: other.login });
    world.twogis.addBranch({ id: other.branch, name: 'Другая кофейня', orgId: other.org });
    await writeFile(
      path.join(world.dir, '.gisbotrc.json'),
      JSON.stringify({ businesses: { default: { twogis: { login: world.login } }, other: { name: 'Другая', twogis: { login: other.login } } } }),
    );
    const env = { GISBOT_2GIS_LOGIN: '', GISBOT_2GIS_PASSWORD: '', GISBOT_DEFAULT_2GIS_PASSWORD: SECRETS.password, GISBOT_OTHER_2GIS_PASSWORD: other.password };
    assert.equal((await world.run(['balance', 'add', '50', '--yes', '--business', 'other'], { env })).code, 0);
    const there = 'Капучино остыл, кофе холодный, но бариста милые.';
    const here = 'Капучино остыл и кофе холодный, зато бариста приветливые.';
    world.twogis.addReview(other.branch, { id: '950101', rating: 4, text: there, user: { id: '46', name: 'Пётр' } });
    world.twogis.addReview(BRANCH, { id: '950102', rating: 4, text: here, user: { id: '47', name: 'Ирина' } });
    const polled = await world.run(['poll-once', '--json'], { env });
    assert.equal(polled.code, 0, polled.stderr);
    const user = (text: string) => promptFor(text).find((message) => message.role === 'user')!.content;
    assert.deepEqual(blocks(user(there), 'EXAMPLE_ANSWER'), [], "no example of another business's");
    assert.doesNotMatch(user(there), /EXAMPLE/);
    assert.ok(blocks(user(here), 'EXAMPLE_ANSWER').length > 0, "this business's own examples still come");
    assert.deepEqual([world.twogis.postsTo('950101'), world.twogis.postsTo('950102')], [1, 1]);
  });
});
