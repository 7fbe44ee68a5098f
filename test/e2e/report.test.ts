// `gisbot report` through the real binary, opened in headless Chromium (Debian's, driven by playwright-core): the
// file asks the network for nothing, logs no error, every chart has marks, it fits a phone and has a print
// stylesheet, and the reviews' own languages come through (Cyrillic, Kazakh letters, emoji). A screenshot is left
// in test/output/ for a person to look at.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { runCycle } from '../../src/core/cycle.ts';
import { World, worldContext } from '../support/world.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../output/', import.meta.url));
const KAZAKH = 'Кофе суық болды, ұзақ күттік 😞 Қызмет көрсету нашар.';
const BRANCH = '7800000000000001';

// CI installs Chromium (.ci/run); elsewhere a machine without it skips this file, saying so.
const missing = !existsSync(CHROMIUM) && process.env.CI !== 'true';

describe('gisbot report in headless Chromium', { skip: missing ? `no ${CHROMIUM}: apt-get install chromium` : false }, () => {
  let world: World;
  let browser: BrowserContext;
  let profile: string;
  const ids = ['9801', '9802', '9803', '9804'];

  before(async () => {
    world = await World.start({ database: 'sqlite' });
    world.twogis.addBranch({ id: BRANCH, name: 'Кофейня «Зерно» 🌱', orgId: '100' });
    world.twogis.addReview(BRANCH, { id: ids[0]!, rating: 2, text: KAZAKH });
    world.twogis.addReview(BRANCH, { id: ids[1]!, rating: 3, text: 'Кофе был холодный, ждали долго' });
    world.twogis.addReview(BRANCH, { id: ids[2]!, rating: 1, text: 'Ужасно <script>alert(1)</script> & "грязно"', dateCreated: new Date(Date.now() - 9 * 86_400_000).toISOString() });
    world.twogis.addReview(BRANCH, { id: ids[3]!, rating: 4, text: 'Great flat white', dateCreated: new Date(Date.now() - 20 * 86_400_000).toISOString() });
    const ctx = await worldContext(world);
    try {
      await ctx.store.migrate();
      await ctx.store.topUp(10_000n, 'test');
      await runCycle(ctx);
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
    const run = await world.run(['report', '--since', '30d', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), out, 'the command prints the path');
    const html = await readFile(out, 'utf8');
    assert.doesNotMatch(html, /<script|<link|@import|url\(|https?:\/\//i, 'no script, no stylesheet, no URL to fetch');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;грязно&quot;'), 'review text is escaped');

    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    const url = pathToFileURL(out).href;
    await page.setViewportSize({ width: 1000, height: 1200 });
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
    assert.deepEqual(charts.map((chart) => chart.kind), ['counts', 'rating', 'minutes', 'spend', 'counts', 'rating']);
    for (const chart of charts) {
      assert.ok(chart.marks > 0 && chart.drawn > 0, `chart ${chart.kind} has marks: ${JSON.stringify(chart)}`);
      assert.ok(chart.width > 100 && chart.height > 50, `chart ${chart.kind} takes room: ${JSON.stringify(chart)}`);
    }
    const text = await page.innerText('body');
    assert.ok(text.includes(KAZAKH), 'Kazakh letters and emoji come through');
    assert.ok(text.includes('Кофейня «Зерно» 🌱'));
    assert.match(text, /gisbot reply 9803/, 'what waits for a person, and how to answer it');
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT, 'report-desktop.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    // Evaluated in the page (the test's own TypeScript knows no DOM).
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow} px too wide)`);
    await page.screenshot({ path: path.join(OUTPUT, 'report-phone.png'), fullPage: true });

    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate("getComputedStyle(document.querySelector('.figures div')).backgroundColor");
    assert.equal(printed, 'rgba(0, 0, 0, 0)', 'the print stylesheet drops the cards\' backgrounds');

    assert.deepEqual(requests.filter((each) => each !== url), [], 'the file asked for nothing');
    assert.deepEqual(problems, []);
  });
});
