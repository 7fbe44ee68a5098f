// Issue 18, items 7 and 9 (Telegram), through the real binary against the Telegram sandbox: a card always fits
// Telegram's 4096 characters (a stale one heals on the next run), a press's answer survives a 429 or a cut
// connection, a chat that refuses the bot is reported (a migrated group with its new id) and skipped without failing
// every later run, and `run` says a revoked token, another poller and refusing chats once each on stderr.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TelegramSandbox, type SandboxMessage } from '../../src/sandbox/telegram.ts';
import { BIN, eventually, World, type Backend, type RunResult } from '../support/world.ts';

const BRANCH = '70000001017466401';
const OWNER = '1000001';
const BLOCKED = '5550002';
const OLD_GROUP = '-4001234567';
const NEW_GROUP = '-1004001234567';
const ANNA = { id: 1000001, firstName: 'Анна', username: 'anna' };
/** Telegram's longest first name (64) and username (32). */
const LONG_PERSON = { id: 1000001, firstName: 'Александра'.repeat(7).slice(0, 64), username: 'a'.repeat(32) };
const TELEGRAM_LIMIT = 4096;

/** The chat's copy of a review's card. */
function card(tg: TelegramSandbox, chatId: string, reviewId: string): SandboxMessage {
  const found = tg.messagesIn(chatId).find((message) => message.text.includes(`review ${reviewId}`));
  assert.ok(found, `no card of review ${reviewId} in chat ${chatId}`);
  return found;
}
const actions = (message: SandboxMessage) => message.buttons.flat().map((button) => button.data.split(':')[0]);
const count = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

async function start(database: Backend): Promise<{ world: World; tg: TelegramSandbox; poll: (config?: string) => Promise<RunResult> }> {
  const world = await World.start({ database });
  const tg = await TelegramSandbox.start();
  tg.addChat({ id: OWNER, type: 'private', title: 'Анна' });
  world.twogis.addBranch({ id: BRANCH, name: `Кофейня «${'Зерно и молоко '.repeat(30)}»`, orgId: '100' });
  await writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ telegram: { chatIds: [OWNER], apiUrl: tg.url } }));
  assert.equal((await world.run(['balance', 'add', '50', '--yes'])).code, 0);
  const poll = (config?: string) => world.run(['poll-once', '--json', ...(config ? ['--config', config] : [])], { env: { GISBOT_TELEGRAM_TOKEN: tg.token } });
  return { world, tg, poll };
}

function cardLength(backend: Backend): void {
  describe(`a card over Telegram's 4096 characters (${backend})`, () => {
    let world: World;
    let tg: TelegramSandbox;
    let poll: (config?: string) => Promise<RunResult>;
    before(async () => {
      ({ world, tg, poll } = await start(backend));
    });
    after(async () => {
      await tg.close();
      await world.close();
    });

    test('a 4,000-character review, long names and a 4,000-character edit: the card fits, says what it cut; a draft that fits is shown whole and sent', async () => {
      // Emoji count two UTF-16 units each, as Telegram counts them.
      const review = 'Ждали час 😡😡😡😡😡 кофе 🥶🥶🥶🥶 '.repeat(150).slice(0, 4000);
      world.twogis.addReview(BRANCH, { id: '880001', rating: 1, text: review, user: { id: '41', name: `Константин${'о'.repeat(245)}` } });
      const first = await poll();
      assert.equal(first.code, 0, first.stderr);
      let shown = card(tg, OWNER, '880001');
      assert.ok(shown.text.length <= TELEGRAM_LIMIT, `${shown.text.length} UTF-16 units`);
      assert.match(shown.text, /… \(cut: [\d,]+ more characters\)/);
      assert.deepEqual(actions(shown), ['send', 'regenerate', 'edit', 'skip', 'complain']);

      // An edit far past what a card can show: refused by Telegram before the fix, and stale from then on.
      tg.press(OWNER, shown.messageId, 'edit', LONG_PERSON);
      const tooLong = 'Простите 🙏🙏🙏🙏🙏🙏 '.repeat(200).slice(0, 4000);
      tg.write(OWNER, tooLong, { replyTo: shown.messageId, person: LONG_PERSON });
      const edited = await poll();
      assert.equal(edited.code, 0, edited.stderr);
      assert.doesNotMatch(edited.stderr, /message is too long/);
      shown = card(tg, OWNER, '880001');
      assert.ok(shown.text.length <= TELEGRAM_LIMIT, `${shown.text.length} UTF-16 units`);
      assert.match(shown.text, /Answer written by Александра/);
      assert.match(shown.text, /longer than a Telegram card shows/);
      assert.deepEqual(actions(shown), ['regenerate', 'edit', 'skip', 'complain'], 'no Send for a draft the card cannot show whole');

      // The longest draft a card sends, shown whole beside the cut review, and posted as shown.
      tg.press(OWNER, shown.messageId, 'edit', LONG_PERSON);
      const fits = 'Спасибо, что написали 🙏 Мы разберёмся с ожиданием и температурой кофе. '.repeat(40).slice(0, 2300).trim();
      tg.write(OWNER, fits, { replyTo: shown.messageId, person: LONG_PERSON });
      assert.equal((await poll()).code, 0);
      shown = card(tg, OWNER, '880001');
      assert.ok(shown.text.length <= TELEGRAM_LIMIT, `${shown.text.length} UTF-16 units`);
      assert.ok(shown.text.includes(fits), 'the draft whole');
      assert.deepEqual(actions(shown), ['send', 'regenerate', 'edit', 'skip', 'complain']);
      const send = tg.press(OWNER, shown.messageId, 'send', ANNA);
      const sent = await poll();
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(tg.answerTo(send)?.text ?? '', /^Sent: charged 5\.00/);
      assert.equal(world.twogis.answerOf('880001')?.text, fits);
      assert.ok(card(tg, OWNER, '880001').text.length <= TELEGRAM_LIMIT);
    });
  });
}

// The card's length is the renderer's; the card is stored alike on both stores (the store contract suite runs on
// both), and the cases below run on MariaDB: this one runs on SQLite, to keep the file short.
cardLength('sqlite');

describe('Telegram refusing, limiting and cutting, with the real binary', () => {
  let world: World;
  let tg: TelegramSandbox;
  let poll: (config?: string) => Promise<RunResult>;
  let refusing: string;
  before(async () => {
    ({ world, tg, poll } = await start('mysql'));
    tg.addChat({ id: BLOCKED, type: 'private', title: 'Бывший', blocked: true });
    tg.addChat({ id: OLD_GROUP, type: 'group', title: 'Отзывы', migratedTo: NEW_GROUP });
    tg.addChat({ id: NEW_GROUP, type: 'supergroup', title: 'Отзывы' });
    refusing = path.join(world.dir, 'refusing.json');
    await writeFile(refusing, JSON.stringify({ telegram: { chatIds: [OWNER, BLOCKED, OLD_GROUP], apiUrl: tg.url } }));
  });
  after(async () => {
    await tg.close();
    await world.close();
  });

  test("a press's answer: a 429 is retried after its retry_after, a cut once; one that cannot be given in time is said in the chat", async () => {
    world.twogis.addReview(BRANCH, { id: '880101', rating: 1, text: 'Грязно.', user: { id: '51', name: 'Ян' } });
    assert.equal((await poll()).code, 0);
    const shown = card(tg, OWNER, '880101');

    tg.fail('answerCallbackQuery', 429, 'Too Many Requests: retry after 1', { retryAfter: 1 });
    const limited = tg.press(OWNER, shown.messageId, 'skip', ANNA);
    assert.equal((await poll()).code, 0);
    assert.equal(tg.answerTo(limited)?.text, 'Skipped: the review keeps waiting (gisbot reply 880101)');

    tg.cut('answerCallbackQuery');
    const cut = tg.press(OWNER, shown.messageId, 'skip', ANNA);
    assert.equal((await poll()).code, 0);
    assert.equal(tg.answerTo(cut)?.text, 'Skipped: the review keeps waiting (gisbot reply 880101)');

    tg.fail('answerCallbackQuery', 429, 'Too Many Requests: retry after 120', { retryAfter: 120 });
    const late = tg.press(OWNER, shown.messageId, 'skip', ANNA);
    assert.equal((await poll()).code, 0);
    assert.equal(tg.answerTo(late), undefined);
    const said = tg.messagesIn(OWNER).at(-1);
    assert.equal(said?.text, 'Skipped: the review keeps waiting (gisbot reply 880101)');
    assert.equal(said?.replyTo, shown.messageId, 'said under the card');
  });

  test('poll-once: a blocked chat and a migrated group (with its new id) are reported and skipped; the others go on; exit 0', async () => {
    world.twogis.addReview(BRANCH, { id: '880201', rating: 1, text: 'Шумно.', user: { id: '52', name: 'Ева' } });
    const first = await poll(refusing);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(count(first.stderr, new RegExp(`chat ${BLOCKED}.*blocked`)), 1, first.stderr);
    assert.equal(count(first.stderr, new RegExp(`chat ${OLD_GROUP}.*supergroup.*${NEW_GROUP}.*telegram\\.chatIds`)), 1, first.stderr);
    assert.deepEqual(actions(card(tg, OWNER, '880201')), ['send', 'regenerate', 'edit', 'skip', 'complain']);
    const send = tg.press(OWNER, card(tg, OWNER, '880201').messageId, 'send', ANNA);
    const next = await poll(refusing);
    assert.equal(next.code, 0, next.stderr);
    assert.match(tg.answerTo(send)?.text ?? '', /^Sent: charged 5\.00/);
    assert.equal(world.twogis.postsTo('880201'), 1);
    assert.match(next.stderr, new RegExp(`chat ${BLOCKED}.*blocked`), 'still said on every run');
  });

  test('run: another poller (409), a revoked token (401) and refusing chats are each said once on stderr', async () => {
    const config = path.join(world.dir, 'run.json');
    await writeFile(config, JSON.stringify({ polling: { intervalSeconds: 0.3 }, telegram: { chatIds: [OWNER, BLOCKED, OLD_GROUP], apiUrl: tg.url } }));
    tg.fail('getUpdates', 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running', { times: 2 });
    world.twogis.addReview(BRANCH, { id: '880301', rating: 1, text: 'Холодно.', user: { id: '53', name: 'Лея' } });
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd: world.dir, env: { ...world.env(), GISBOT_TELEGRAM_TOKEN: tg.token }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await eventually(() => tg.messagesIn(OWNER).some((message) => message.text.includes('review 880301')), 'the first card arrived', 30_000);
      // A second card: a second delivery to the refusing chats.
      world.twogis.addReview(BRANCH, { id: '880302', rating: 1, text: 'Душно.', user: { id: '54', name: 'Ной' } });
      await eventually(() => tg.messagesIn(OWNER).some((message) => message.text.includes('review 880302')), 'the second card arrived', 30_000);
      const revoked = tg.callsOf('getUpdates').length;
      tg.fail('getUpdates', 401, 'Unauthorized', { times: 2 });
      const press = tg.press(OWNER, card(tg, OWNER, '880302').messageId, 'skip', ANNA); // ends the long poll
      await eventually(() => tg.answerTo(press) !== undefined, 'the press was answered once the token worked again', 30_000);
      assert.ok(tg.callsOf('getUpdates').slice(revoked).filter((call) => call.status === 401).length === 2);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } catch (error) {
      throw new Error(`${String(error)}\n${stderr}`);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(count(stderr, /409 Conflict/), 1, stderr);
    assert.equal(count(stderr, /401 Unauthorized/), 1, stderr);
    assert.equal(count(stderr, new RegExp(`chat ${BLOCKED}.*blocked`)), 1, stderr);
    assert.equal(count(stderr, new RegExp(`chat ${OLD_GROUP}.*${NEW_GROUP}`)), 1, stderr);
  });
});
