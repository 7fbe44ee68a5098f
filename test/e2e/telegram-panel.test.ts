// The owner's panel in Telegram (issue 20), with the real binary, MariaDB and the Telegram sandbox: `/start` from
// any chat, `/balance` and `/stats` equal to the commands' JSON, the weekly digest once across two racing workers
// and a restart, and an expired sign-in token alerted once across three cron runs (issue 21).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TelegramSandbox } from '../../src/sandbox/telegram.ts';
import { World, type RunResult } from '../support/world.ts';

const BRANCH = '70000001017466401';
const OWNER = '1000101';
const GROUP = '-1009876500001';
const STRANGER = '5550101';
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

describe("the owner's panel in Telegram", () => {
  let world: World;
  let tg: TelegramSandbox;
  let token: string;

  const env = () => ({ GISBOT_TELEGRAM_TOKEN: tg.token, GISBOT_2GIS_LOGIN: '', GISBOT_2GIS_PASSWORD: '', GISBOT_2GIS_TOKEN: token });
  const poll = (): Promise<RunResult> => world.run(['poll-once', '--json'], { env: env() });
  const configure = (extra: Record<string, unknown> = {}) =>
    writeFile(path.join(world.dir, '.gisbotrc.json'), JSON.stringify({ timeZone: 'UTC', telegram: { chatIds: [OWNER, GROUP], apiUrl: tg.url, ...extra } }));
  const botMessages = (chatId: string) => tg.messagesIn(chatId).filter((message) => message.fromBot);
  const lastAnswer = (chatId: string) => botMessages(chatId).at(-1)!.text;
  const count = async (table: string) => Number((await world.query(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  const figure = (text: string, name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(text)?.[1];

  before(async () => {
    world = await World.start();
    tg = await TelegramSandbox.start();
    for (const [id, type, title] of [[OWNER, 'private', 'Анна'], [GROUP, 'supergroup', 'Отзывы'], [STRANGER, 'private', 'Чужой']] as const) tg.addChat({ id, type, title });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно»', orgId: '100' });
    token = world.twogis.browserToken(world.login);
    await configure();
    assert.equal((await world.run(['balance', 'add', '50', '--yes'], { env: env() })).code, 0);
    world.twogis.addReview(BRANCH, { id: '40001', rating: 5, text: 'Всё отлично' });
    world.twogis.addReview(BRANCH, { id: '40002', rating: 1, text: 'Долго ждали' });
    const first = await poll();
    assert.equal(first.code, 0, first.stderr);
  });
  after(async () => {
    await tg.close();
    await world.close();
  });

  test('/start from a chat that is not allowed answers its id and changes nothing else', async () => {
    const before = { events: await count('events'), queued: await count('telegram_messages'), owner: botMessages(OWNER).length };
    tg.write(STRANGER, '/start');
    assert.equal((await poll()).code, 0);
    assert.deepEqual(botMessages(STRANGER).map((message) => message.text), [`This chat's id is ${STRANGER}. It is not allowed: to get cards and alerts here, add "${STRANGER}" to telegram.chatIds`]);
    assert.equal(await count('events'), before.events, 'no event, not even telegram.refused');
    assert.equal(await count('telegram_messages'), before.queued);
    assert.equal(botMessages(OWNER).length, before.owner);
    tg.write(STRANGER, '/balance');
    assert.equal((await poll()).code, 0);
    assert.equal(botMessages(STRANGER).length, 1, 'no balance for a stranger');
  });

  test('/start, /balance and /stats in an allowed chat: the figures of balance --json and stats --json', async () => {
    tg.write(OWNER, '/start');
    tg.write(OWNER, '/balance');
    tg.write(OWNER, '/stats 7d');
    assert.equal((await poll()).code, 0);
    const answers = botMessages(OWNER).slice(-3).map((message) => message.text);
    assert.match(answers[0]!, new RegExp(`id is ${OWNER}\\. It is allowed`));
    const balance = JSON.parse((await world.run(['balance', '--json'], { env: env() })).stdout);
    assert.equal(answers[1], `Balance ${balance.balance} ${balance.currency}, held for answers in progress ${balance.held} ${balance.currency}`);
    const stats = JSON.parse((await world.run(['stats', '--json', '--since', '7d'], { env: env() })).stdout).total;
    const shown = answers[2]!;
    assert.equal(figure(shown, 'Reviews'), String(stats.reviews));
    assert.equal(figure(shown, 'Answered'), `${stats.answered} (by a person: ${stats.byPerson})`);
    assert.equal(figure(shown, 'Waiting'), String(stats.waiting));
    assert.equal(figure(shown, 'Skipped'), String(stats.skipped));
    assert.equal(figure(shown, 'Reply rate'), `${Math.round(stats.replyRate * 1000) / 10}%`);
    assert.equal(figure(shown, 'Average rating'), String(stats.averageRating));
    assert.equal(figure(shown, 'Charged'), `${stats.charged} RUB`);
    assert.equal(stats.reviews, 2);
  });

  test('/waiting sends the oldest waiting card again and marks the earlier copy superseded, without buttons', async () => {
    const earlier = tg.messagesIn(OWNER).find((message) => message.text.includes('review 40002'))!;
    tg.write(OWNER, '/waiting');
    assert.equal((await poll()).code, 0);
    const copies = tg.messagesIn(OWNER).filter((message) => message.text.includes('review 40002'));
    assert.equal(copies.length, 2);
    assert.deepEqual(tg.message(OWNER, earlier.messageId)!.buttons, []);
    assert.match(tg.message(OWNER, earlier.messageId)!.text, /Sent again below/);
    assert.ok(copies[1]!.buttons.flat().length > 0);
    assert.ok(botMessages(OWNER).some((message) => message.text.startsWith('The 1 oldest reviews waiting for you')));
  });

  test('the weekly digest is sent once per week across two racing workers and a restart', async () => {
    const due = new Date(Date.now() - 60_000);
    const schedule = `${WEEKDAYS[due.getUTCDay()]} ${String(due.getUTCHours()).padStart(2, '0')}:${String(due.getUTCMinutes()).padStart(2, '0')}`;
    await configure({ digest: schedule });
    const [one, two] = await Promise.all([poll(), poll()]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.equal((await poll()).code, 0);
    for (const chat of [OWNER, GROUP]) {
      const digests = botMessages(chat).filter((message) => message.text.startsWith('The week'));
      assert.equal(digests.length, 1, `one digest in chat ${chat}`);
      assert.ok(!/https?:|www\./.test(digests[0]!.text), 'no link in the digest');
      assert.match(digests[0]!.text, /^Reviews: \d+$/m);
    }
    assert.equal(Number((await world.query("SELECT COUNT(*) AS n FROM alert_episodes WHERE kind = 'digest'"))[0]!.n), 1);
  });

  test('an expired token over three cron runs: one auth.failed event and one Telegram alert per chat', async () => {
    world.twogis.expireTokens(world.login);
    for (let run = 0; run < 3; run += 1) {
      const result = await poll();
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /twogis\.accessToken/);
    }
    assert.equal((await world.query("SELECT id FROM events WHERE type = 'auth.failed'")).length, 1);
    for (const chat of [OWNER, GROUP]) {
      const alerts = botMessages(chat).filter((message) => message.text.startsWith('2GIS no longer takes the sign-in token'));
      assert.equal(alerts.length, 1, `one alert in chat ${chat}`);
      assert.ok(!alerts[0]!.text.includes(token));
    }
  });
});
