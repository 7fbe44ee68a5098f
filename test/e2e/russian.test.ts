// gisbot in the owner's language (issue 23), through the real binary: with LANG=ru_RU.UTF-8 and nothing else,
// what people read is Russian (the commands an owner runs, their tables and prompts' texts, every class of error,
// --help), money in rubles as Russian writes it; LANG=C prints English; and every --json document is the same
// bytes in both, apart from times.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { World, type RunResult } from '../support/world.ts';

const BRANCH = '70000001017466095';
const RU = { LANG: 'ru_RU.UTF-8' };
const NBSP = '\u00a0';

/** A run's people-facing text, for messages on failure. */
const said = (result: RunResult) => `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

/** Words of the English catalogue that must not show in Russian output (each is in a line gisbot prints). */
const ENGLISH = /\b(balance(?! add| history| adjust)|command line|answered|waiting for you|fetched|skipped|error:|hint:|charged|Usage:|Options:|reviews created|no reviews|check(s)? passed|failed:)\b/;

describe('in Russian with LANG=ru_RU.UTF-8 (issue 23)', () => {
  let world: World;
  const ru = (...args: string[]) => world.run(args, { env: RU });
  const en = (...args: string[]) => world.run(args);

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня на Тверской', orgId: '100' });
    world.twogis.addReview(BRANCH, { id: '880001', rating: 1, text: 'Кофе был холодный, ждали полчаса.' });
    world.twogis.addReview(BRANCH, { id: '880002', rating: 5, text: 'Всё отлично, спасибо!' });
  });
  after(async () => {
    await world.close();
  });

  test('the owner\'s commands speak Russian, money in rubles; LANG=C speaks English', async () => {
    const added = await ru('balance', 'add', '1250', '--yes');
    assert.equal(added.code, 0, said(added));
    assert.match(added.stderr, new RegExp(`зачислено 1${NBSP}250,00${NBSP}₽`), said(added));
    assert.match(added.stdout, new RegExp(`баланс 1${NBSP}250,00${NBSP}₽`), said(added));

    const polled = await ru('poll-once');
    assert.equal(polled.code, 0, said(polled));
    assert.match(polled.stderr, /получено 2, новых 2 · отвечено 1 · пропущено 0 · ждут вас 1 · не удалось 0 · списано 5,00.₽, баланс 1.245,00.₽/, said(polled));

    const checks: Array<[string[], RegExp]> = [
      [['balance'], new RegExp(`^баланс 1${NBSP}245,00${NBSP}₽`, 'm')],
      // The top-up's stored note ("top-up from the command line", kept in English for --json) read in Russian.
      [['balance', 'history'], /время\s+вид\s+сумма\s+баланс\s+за что[\s\S]*списание\s+-5,00.₽[\s\S]*пополнение\s+\+1.250,00.₽\s+1.250,00.₽\s+пополнение из командной строки/],
      [['reply'], /отзыв\s+оценка\s+филиал\s+автор\s+написан\s+почему ждёт\s+текст/],
      [['reply', '880001', '--dry-run'], /отзыв 880001[\s\S]*черновик/],
      [['prompt', 'show'], /./],
      [['logs'], /время\s+тип\s+филиал\s+отзыв\s+что[\s\S]*списано 5,00.₽, баланс 1.245,00.₽/],
      [['branches'], /id\s+следим\s+отзывы\s+отвечено\s+ждут\s+название\s+адрес/],
      [['stats'], /филиал\s+отзывы\s+отвечено \(вами\)[\s\S]*итого[\s\S]*Списано 5,00.₽/],
    ];
    for (const [args, expected] of checks) {
      const result = await ru(...args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${said(result)}`);
      assert.match(result.stdout, expected, `${args.join(' ')}: ${said(result)}`);
      assert.doesNotMatch(`${result.stdout}\n${result.stderr}`, ENGLISH, `${args.join(' ')}: ${said(result)}`);
    }
    // A review's stored reason (reviews.reason, English for programs) is said in Russian by its code: the queue
    // and the one review alike; --json keeps the English words and gives the code beside them.
    const queue = await ru('reply');
    assert.match(queue.stdout, /880001.*оценка 1 — ниже/, said(queue));
    assert.doesNotMatch(queue.stdout, /rated 1|below policy/, said(queue));
    const one = await ru('reply', '880001', '--dry-run');
    assert.match(one.stdout, /оценка 1 — ниже порога policy\.approvalBelowRating \(3\)/, said(one));
    assert.doesNotMatch(one.stdout, /rated 1|below policy/, said(one));
    const queueJson = JSON.parse((await ru('reply', '--json')).stdout) as Array<{ id: string; reason: string; reasonCode: string }>;
    assert.deepEqual(
      queueJson.filter((entry) => entry.id === '880001').map(({ reason, reasonCode }) => ({ reason, reasonCode })),
      [{ reason: 'rated 1, below policy.approvalBelowRating (3)', reasonCode: 'below_threshold' }],
    );
    const dry = await ru('reply', '880001', '--dry-run');
    assert.match(dry.stderr, /пробный запуск: ничего не опубликовано/, said(dry));
    const stats = await ru('stats');
    assert.match(stats.stdout, /Отзывы, оставленные в 2ГИС с/, said(stats));

    const out = path.join(world.dir, 'report.html');
    const report = await ru('report', '--out', out);
    assert.equal(report.code, 0, said(report));
    const { readFile } = await import('node:fs/promises');
    const html = await readFile(out, 'utf8');
    assert.match(html, /<html lang="ru">/);
    assert.match(html, /Что gisbot сделал с вашими отзывами/);

    const doctor = await ru('doctor');
    assert.match(doctor.stderr, /настройки: |проверки пройдены|не пройдено: \d+ провер/, said(doctor));
    assert.doesNotMatch(doctor.stderr, /checks? (passed|failed)/, said(doctor));

    // LANG=C: English, as before, with the currency's code.
    const english = await en('balance');
    assert.match(english.stdout, /^balance 1,245\.00 RUB/m, said(english));
    assert.match((await en('poll-once')).stderr, /fetched/);
  });

  test('every class of error in Russian: usage, configuration, a service down, no balance', async () => {
    const usage = await ru('balance', 'add', 'сто');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^ошибка: это не сумма: "сто"\nподсказка: пишите так: 100 или 100\.50/, said(usage));

    const unknown = await ru('balance', '--bogus');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /ошибка: неизвестный параметр '--bogus'/, said(unknown));

    const badConfig = path.join(world.dir, 'bad.json');
    await writeFile(badConfig, JSON.stringify({ polling: { intervalSecs: 5 } }), { mode: 0o600 });
    const config = await ru('--config', badConfig, 'balance');
    assert.equal(config.code, 2);
    assert.match(config.stderr, /^ошибка: polling\.intervalSecs: неизвестный ключ/m, said(config));
    assert.match(config.stderr, /подсказка: исправьте .*bad\.json/, said(config));

    const down = await world.run(['branches'], { env: { ...RU, GISBOT_2GIS_API_URL: 'http://127.0.0.1:9/api/1.0' } });
    assert.equal(down.code, 1, said(down));
    assert.match(down.stderr, /^ошибка: 2ГИС: недоступен сейчас \(/m, said(down));
    // A cycle that meets a failing service: which one and how in Russian, the service's own words in brackets.
    const cycleDown = await world.run(['poll-once'], { env: { ...RU, GISBOT_2GIS_API_URL: 'http://127.0.0.1:9/api/1.0' } });
    assert.equal(cycleDown.code, 1, said(cycleDown));
    assert.match(cycleDown.stderr, /^✗ 2ГИС: недоступен сейчас \(cannot reach 2GIS at 127\.0\.0\.1:9: /m, said(cycleDown));
    assert.doesNotMatch(cycleDown.stderr, /сбой: /, said(cycleDown));

    // The money ran out: one more review that needs an answer, and nothing on the balance to pay for it.
    const emptyDb = `sqlite:${path.join(world.dir, 'empty.sqlite')}`;
    world.twogis.addReview(BRANCH, { id: '880003', rating: 5, text: 'Очень вкусно!' });
    const broke = await world.run(['poll-once'], { env: { ...RU, GISBOT_DATABASE_URL: emptyDb } });
    assert.equal(broke.code, 3, said(broke));
    assert.match(broke.stderr, /ответы остановлены: баланса не хватает на следующий ответ \(пополните баланс: .* balance add <сумма>\)/, said(broke));
    // Why, by the events' codes (their data.reason stays English, for programs).
    assert.match(broke.stderr, /^– пропущено отзыв 880002: уже отвечен$/m, said(broke));
    assert.match(broke.stderr, /^\? ждёт вас отзыв 880001: оценка 1 — ниже порога policy\.approvalBelowRating \(3\) \(/m, said(broke));
    assert.match(broke.stderr, /^! не хватает баланса: доступно 0,00.₽, нужно 5,00.₽/m, said(broke));
    assert.doesNotMatch(broke.stderr, ENGLISH, said(broke));

    const english = await en('balance', 'add', 'сто');
    assert.match(english.stderr, /^error: not an amount/, said(english));
  });

  test('--help in Russian; --lang en wins over the locale', async () => {
    for (const args of [['--help'], ['balance', 'add', '--help'], ['reply', '--help'], ['help', 'stats']]) {
      const help = await ru(...args);
      assert.equal(help.code, 0, said(help));
      assert.match(help.stdout, /^Использование: gisbot/m, said(help));
      assert.match(help.stdout, /Параметры:/, said(help));
      assert.doesNotMatch(help.stdout, /Usage:|Options:|display help/, said(help));
    }
    assert.match((await ru('balance', 'add', '--help')).stdout, /пополнить баланс \(в терминале спрашивает подтверждение\)/);
    const demo = await ru('demo');
    assert.equal(demo.code, 0, said(demo));
    assert.match(demo.stdout, /Учебная кофейня в 2ГИС: 3 филиала, 13 отзывов, один цикл gisbot/, said(demo));
    assert.match(demo.stdout, /Баланс\s+100,00.₽ до − 6 ответов × 5,00.₽ = 70,00.₽ после\s+✓ журнал сходится/, said(demo));
    assert.match(demo.stdout, /\[ Отправить \] \[ Переписать \]/, said(demo));
    // The businesses side by side, and the stats' shares, as Russian writes money and fractions.
    assert.match(demo.stdout, /zerno\s+Кофейня «Зерно»\s+100,00.₽ − 6 × 5,00.₽ =\s+70,00.₽ ✓/, said(demo));
    assert.match(demo.stdout, /^итого\s.*\s66,7.%\s/m, said(demo));
    assert.match(demo.stdout, /тёплый, по-русски · отзыв 141800001/, said(demo));
    const flag = await ru('--lang', 'en', 'balance');
    assert.match(flag.stdout, /^balance /m, said(flag));
    assert.match((await en('--lang', 'ru', 'balance')).stdout, /^баланс /m);
  });

  test('billing.currency: recorded by the first command; once the ledger has entries, another one is refused', async () => {
    const tenge = path.join(world.dir, 'tenge.json');
    await writeFile(tenge, JSON.stringify({ billing: { currency: 'KZT' } }), { mode: 0o600 });
    // This database's ledger has entries in rubles.
    const refused = await ru('--config', tenge, 'balance');
    assert.equal(refused.code, 2, said(refused));
    assert.match(refused.stderr, /^ошибка: billing\.currency: журнал этой базы данных ведётся в RUB, и его суммы молча стали бы KZT/m, said(refused));
    assert.match((await en('--config', tenge, 'balance')).stderr, /^error: billing\.currency: the ledger of this database is kept in RUB/m);

    // A new database: tenge from the start, shown as Russian writes it; then rubles are refused in turn.
    const fresh = { ...RU, GISBOT_DATABASE_URL: `sqlite:${path.join(world.dir, 'tenge.sqlite')}` };
    const topUp = await world.run(['--config', tenge, 'balance', 'add', '1250', '--yes'], { env: fresh });
    assert.equal(topUp.code, 0, said(topUp));
    assert.match(topUp.stdout, new RegExp(`баланс 1${NBSP}250,00${NBSP}₸`), said(topUp));
    assert.deepEqual(JSON.parse((await world.run(['--config', tenge, 'balance', '--json'], { env: fresh })).stdout), { balance: '1250.00', held: '0.00', currency: 'KZT' });
    const back = await world.run(['balance'], { env: fresh });
    assert.equal(back.code, 2, said(back));
    assert.match(back.stderr, /ведётся в KZT, и его суммы молча стали бы RUB/, said(back));
  });

  test('--json is the same bytes under LANG=ru_RU.UTF-8 and LANG=C, apart from times', async () => {
    const times = (text: string) => text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>');
    for (const args of [
      ['balance'],
      ['balance', 'history'],
      ['reply'],
      ['logs'],
      ['branches'],
      ['businesses'],
      ['stats'],
      ['prompt', 'history'],
      ['doctor'],
    ]) {
      const inRussian = await ru(...args, '--json');
      const inEnglish = await en(...args, '--json');
      assert.equal(inRussian.code, inEnglish.code, `${args.join(' ')}: ${said(inRussian)}`);
      assert.ok(inRussian.stdout.length > 0, `${args.join(' ')} --json printed something`);
      assert.equal(times(inRussian.stdout), times(inEnglish.stdout), `${args.join(' ')} --json`);
    }
    // Prose in JSON stays English, with a stable code beside it for programs.
    const events = (await ru('logs', '--json')).stdout.trim().split('\n').map((line) => JSON.parse(line));
    const waits = events.find((event) => event.type === 'review.needs_approval' && event.reviewId === '880001');
    assert.deepEqual([waits?.data.code, waits?.data.reason], ['below_threshold', 'rated 1, below policy.approvalBelowRating (3)']);
    const doctor = JSON.parse((await ru('doctor', '--json')).stdout);
    for (const check of doctor.checks) assert.match(check.code, check.ok ? /^(ok|off)$/ : /^[a-z_]+$/, JSON.stringify(check));
    assert.ok(doctor.checks.every((check: { detail: string }) => !/[а-яё]/i.test(check.detail.replace(/Кофейня на Тверской/g, ''))), 'details in English');
    const balance = JSON.parse((await ru('balance', '--json')).stdout);
    assert.deepEqual(Object.keys(balance), ['balance', 'held', 'currency']);
    assert.equal(balance.currency, 'RUB');
    assert.equal(JSON.parse((await ru('stats', '--json')).stdout).currency, 'RUB');
    assert.equal(JSON.parse((await ru('businesses', '--json')).stdout)[0].currency, 'RUB');
  });
});
