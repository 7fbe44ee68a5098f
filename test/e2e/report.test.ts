// `gisbot report` through the real binary, opened in headless Chromium (Debian's, driven by playwright-core): the
// file asks the network for nothing, logs no error, every chart has marks, it fits a phone and has a print
// stylesheet, and the reviews' own languages come through (Cyrillic, Kazakh letters, emoji). The answers posted
// are on the page and its search filters them with no request; more than 500 reviews wait and the heading says
// how many; 60-character words in every name scroll nothing sideways at 390 and 1280 px; chart labels stay 11 px
// or more on a phone; the report and its CSV are the owner's alone (0600). Screenshots are left in test/output/
// for a person to look at.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { runCycle } from '../../src/core/answering/cycle.ts';
import { DAY, MINUTE, seedReviews, type SeedReview } from '../support/seed-reviews.ts';
import { World, worldContext } from '../support/world.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../output/', import.meta.url));
const KAZAKH = 'Кофе суық болды, ұзақ күттік 😞 Қызмет көрсету нашар.';
const BRANCH = '7800000000000001';
/** A word of 60 letters with no place to break, in every name the page shows. */
const LONG = 'Оченьдлинноеназваниебезединогопробелачтобыпроверитьпереносыы'.slice(0, 60);
const BRANCH_NAME = `Кофейня «Зерно» 🌱 ${LONG}`;
const WAITING = 520;

// CI installs Chromium (.ci/run); elsewhere a machine without it skips this file, saying so.
const missing = !existsSync(CHROMIUM) && process.env.CI !== 'true';

describe('gisbot report in headless Chromium', { skip: missing ? `no ${CHROMIUM}: apt-get install chromium` : false }, () => {
  let world: World;
  let browser: BrowserContext;
  let profile: string;
  const ids = ['9801', '9802', '9803', '9804'];

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: BRANCH, name: BRANCH_NAME, orgId: '100' });
    world.twogis.addReview(BRANCH, { id: ids[0]!, rating: 2, text: KAZAKH, user: { id: '1', name: `Айгерим ${LONG}` } });
    world.twogis.addReview(BRANCH, { id: ids[1]!, rating: 3, text: 'Кофе был холодный, ждали долго' });
    world.twogis.addReview(BRANCH, { id: ids[2]!, rating: 1, text: 'Ужасно <script>alert(1)</script> & "грязно"', dateCreated: new Date(Date.now() - 9 * 86_400_000).toISOString() });
    world.twogis.addReview(BRANCH, { id: ids[3]!, rating: 4, text: 'Great flat white', dateCreated: new Date(Date.now() - 20 * 86_400_000).toISOString() });
    const ctx = await worldContext(world);
    try {
      await ctx.store.migrate();
      await ctx.store.topUp(10_000n, 'test');
      await runCycle(ctx);
      // More waiting for a person than a page lists: newer than 9803, so that it stays among the oldest shown.
      const waiting: SeedReview[] = Array.from({ length: WAITING }, (_, i) => ({
        id: String(700_000 + i), branchId: BRANCH, branchName: BRANCH_NAME, rating: 2, agoMs: DAY + i * MINUTE, end: 'waitingForPerson',
        authorName: `${LONG}${i}`, text: `${LONG} ждали долго`,
      }));
      await seedReviews(ctx.store, waiting, 0n);
    } finally {
      await ctx.close();
    }
    profile = await mkdtemp(path.join(tmpdir(), 'gisbot-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await world.checkInvariants(ids);
    await world.close();
  });

  test('one file, no request leaving it, no console error, every chart drawn, a phone and a printer served', async () => {
    const out = path.join(world.dir, 'report.html');
    const csv = path.join(world.dir, 'reviews.csv');
    const run = await world.run(['report', '--since', '30d', '--out', out, '--csv', csv, '--csv-locale', 'ru']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), [out, csv], 'the command prints the paths');
    for (const file of [out, csv]) assert.equal((await stat(file)).mode & 0o777, 0o600, `${path.basename(file)} is the owner's alone`);
    const html = await readFile(out, 'utf8');
    assert.doesNotMatch(html, /<link|@import|url\(|https?:\/\/|<script[^>]*src/i, 'no stylesheet, no script file, no URL to fetch');
    assert.equal(html.match(/<script/g)?.length, 1, 'one inline script: the search');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;грязно&quot;'), 'review text is escaped');
    const sheet = await readFile(csv, 'utf8');
    assert.ok(sheet.startsWith('\uFEFFreview;branch id;'), 'a BOM, and semicolons in Russian');
    assert.equal(sheet.trim().split('\r\n').length, 1 + 4 + WAITING, 'a row per review of the period');

    const answers = (await world.query("SELECT answer_text FROM reviews WHERE state = 'posted' ORDER BY id")).map((row) => String(row.answer_text));
    assert.ok(answers.length >= 2, `answers were posted: ${answers.length}`);

    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    const url = pathToFileURL(out).href;
    await page.setViewportSize({ width: 1280, height: 1200 });
    await page.goto(url, { waitUntil: 'load' });

    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((figure) => {
        const svg = figure.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          kind: figure.getAttribute('data-chart'),
          marks: svg ? svg.querySelectorAll('rect, path, circle, text').length : 0,
          drawn: svg ? svg.querySelectorAll('g[aria-label="bar"] rect, g[aria-label="line"] path, g[aria-label="dot"] circle').length : 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    // The total's four charts and the branch's two.
    assert.deepEqual(charts.map((chart) => chart.kind), ['counts', 'rating', 'hours', 'spend', 'counts', 'rating']);
    for (const chart of charts) {
      assert.ok(chart.marks > 0 && chart.drawn > 0, `chart ${chart.kind} has marks: ${JSON.stringify(chart)}`);
      assert.ok(chart.width > 100 && chart.height > 50, `chart ${chart.kind} takes room: ${JSON.stringify(chart)}`);
    }
    const text = await page.innerText('body');
    assert.ok(text.includes(KAZAKH), 'Kazakh letters and emoji come through');
    assert.ok(text.includes('Кофейня «Зерно» 🌱'));
    assert.match(text, /gisbot reply 9803/, 'what waits for a person, and how to answer it');
    const waiting = Number((await world.query("SELECT COUNT(*) AS n FROM reviews WHERE state = 'needs_approval'"))[0]!.n);
    assert.ok(waiting > WAITING, `${waiting} wait`);
    assert.match(text, new RegExp(`Waiting for you: oldest 50 shown of ${waiting}`), 'the real count of what waits');
    for (const answer of answers) assert.ok(text.includes(answer.trim()), `the answer is on the page: ${answer}`);
    assert.ok(await overflowsNot(page), 'no sideways scrolling at 1280 px');
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'report-desktop.png'), fullPage: true });

    // The search: a word of one answer only leaves that answer; clearing it brings them all back.
    const listed = Number(await page.evaluate("document.querySelectorAll('#answers > li').length"));
    assert.equal(listed, answers.length);
    // A word of one answer that no other listed review or answer holds.
    const items = await page.$$eval('#answers > li', (lis) => lis.map((li) => li.textContent ?? ''));
    const word = uniqueWord(answers.map((answer) => answer.trim()), items);
    await page.fill('#q', word.toUpperCase());
    const visible = () => page.evaluate("[...document.querySelectorAll('#answers > li')].filter((li) => !li.hidden).length");
    assert.equal(await visible(), 1, `one answer says ${word}`);
    assert.equal(await page.innerText('#shown'), '1');
    await page.fill('#q', '');
    assert.equal(await visible(), answers.length);

    await page.setViewportSize({ width: 390, height: 844 });
    // Evaluated in the page (the test's own TypeScript knows no DOM).
    assert.ok(await overflowsNot(page), 'no sideways scrolling on a phone');
    const smallest = Number(
      await page.evaluate(`Math.min(...[...document.querySelectorAll('figure.chart svg')].flatMap((svg) => {
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return [...svg.querySelectorAll('g[aria-label$="tick label"] text')].map((label) => parseFloat(getComputedStyle(label).fontSize) * scale);
      }))`),
    );
    assert.ok(smallest >= 11, `chart labels readable on a phone: ${smallest.toFixed(1)} px`);
    await page.screenshot({ path: path.join(OUTPUT, 'report-phone.png'), fullPage: true });

    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate("getComputedStyle(document.querySelector('.figures div')).backgroundColor");
    assert.equal(printed, 'rgba(0, 0, 0, 0)', 'the print stylesheet drops the cards\' backgrounds');

    assert.deepEqual(requests.filter((each) => each !== url), [], 'the file asked for nothing');
    assert.deepEqual(problems, []);
  });

  test('in Russian with tenge (issue 23): lang="ru", every heading and chart label Russian, money in ₸', async () => {
    // LANG says Russian, and nothing else does; the deployment's currency is tenge.
    const folder = path.join(world.dir, 'kzt');
    await mkdir(folder, { recursive: true });
    const config = path.join(folder, 'gisbot.json');
    await writeFile(config, JSON.stringify({ billing: { currency: 'KZT' } }), { mode: 0o600 });
    // The deployment keeps its ledger in tenge from the start (billing.currency is refused once the ledger has
    // entries in another one): the record the earlier runs made says so.
    await world.query("UPDATE deployment SET value = 'KZT' WHERE name = 'currency'");
    const out = path.join(world.dir, 'report-ru.html');
    const run = await world.run(['--config', config, 'report', '--since', '30d', '--out', out], { env: { LANG: 'ru_RU.UTF-8' } });
    assert.equal(run.code, 0, run.stderr);
    const html = await readFile(out, 'utf8');
    assert.match(html, /<html lang="ru">/);
    assert.match(html, /\d,\d\d\u00a0₸/, 'money in tenge, written the Russian way');

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.setViewportSize({ width: 1280, height: 1200 });
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    assert.equal(await page.evaluate('document.documentElement.lang'), 'ru');
    // Every heading, caption, column and figure name the report itself writes: Russian, not one English word of ours.
    const ours = (await page.$$eval('h1, h2, h3, figcaption, thead th, dt, .legend span, footer, .period, label', (nodes) =>
      nodes.map((node) => (node.textContent ?? '').trim()),
    )).map((text) => text.replace(BRANCH_NAME, '').replace(/\b\d{16}\b/, '').trim()).filter((text) => text !== '');
    assert.ok(ours.length > 20, `headings found: ${ours.length}`);
    const english = ours.filter((text) => !/[а-яё]/i.test(text));
    assert.deepEqual(english, [], 'no heading without Russian words');
    const axes = await page.$$eval('figure.chart svg g[aria-label$="axis label"] text, figure.chart svg text', (nodes) => nodes.map((node) => node.textContent ?? ''));
    assert.ok(axes.some((text) => /отзывы/.test(text)), 'the axes are labelled in Russian');
    assert.ok(!axes.some((text) => /reviews|rating|charged|hours/.test(text)), `no English axis: ${axes.filter((text) => /[a-z]{4}/.test(text)).join(', ')}`);
    const text = await page.innerText('body');
    for (const heading of ['What gisbot did for your reviews', 'Waiting for you', 'What customers complain about', 'Branches: rating']) {
      assert.ok(!text.includes(heading), `no English heading: ${heading}`);
    }
    assert.match(text, /Ждут вас: показаны старейшие 50 из \d/);
    assert.match(text, /\d{1,2} [а-я]+ 20\d\d г\./, 'dates as Russian writes them');
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'report-ru-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(OUTPUT, 'report-ru-phone.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });
});

/** True when nothing of the page lies beyond the window's width. */
async function overflowsNot(page: import('playwright-core').Page): Promise<boolean> {
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
  if (overflow > 0) console.error(`${overflow} px too wide`);
  return overflow <= 0;
}

/** A word of four letters or more of one of the answers that only one of the listed items holds. */
function uniqueWord(answers: readonly string[], items: readonly string[]): string {
  for (const answer of answers) {
    for (const word of answer.toLowerCase().match(/\p{L}{4,}/gu) ?? []) {
      if (items.filter((item) => item.toLowerCase().includes(word)).length === 1) return word;
    }
  }
  throw new Error(`no word only one item holds: ${JSON.stringify(items)}`);
}
