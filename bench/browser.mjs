// The dashboard's browser figures for coaster-bench, in headless Chromium.
//   node bench/browser.mjs load URL      P4: bundle size; navigation → live board at 4× CPU throttling
//   node bench/browser.mjs tick URL ROWS  P5: script time of one timer tick on a board of ROWS parties
// Prints one JSON object as its last stdout line. playwright-core comes from e2e/.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(path.join(root, 'e2e/package.json'))('playwright-core');

const LOAD_RUNS = 5;
const TICK_WINDOW_MS = 10_000;

async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

function gzipSize(ext) {
  const dist = path.join(root, 'dist');
  return fs.readdirSync(dist)
    .filter((f) => f.endsWith(ext))
    .reduce((sum, f) => sum + zlib.gzipSync(fs.readFileSync(path.join(dist, f)), { level: 9 }).length, 0);
}

// The board is live when the first party's row, which only the proxy's
// snapshot can supply, is in the DOM; timed from navigation start.
function markLive() {
  const seen = () => {
    if (window.__liveAt === undefined && document.querySelector('[data-testid="row-1"]')) {
      window.__liveAt = performance.now();
      window.__rowsAtLive = document.querySelectorAll('[data-number]').length;
    }
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
}

async function load(url) {
  const browser = await launch();
  const liveMs = [];
  const wasmMs = [];
  let rows = 0;
  for (let i = 0; i < LOAD_RUNS; i++) {
    const context = await browser.newContext(); // a cold cache every run
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await page.addInitScript(markLive);
    await page.goto(url);
    await page.waitForFunction(() => window.__liveAt !== undefined, null, { timeout: 30_000 });
    liveMs.push(Math.round(await page.evaluate(() => window.__liveAt)));
    // Where the time goes: the wasm's arrival, and the WebSocket's first message.
    wasmMs.push(Math.round(await page.evaluate(() => performance.getEntriesByType('resource')
      .find((e) => e.name.endsWith('.wasm'))?.responseEnd ?? -1)));
    rows = await page.evaluate(() => window.__rowsAtLive);
    await context.close();
  }
  await browser.close();
  const sorted = [...liveMs].sort((a, b) => a - b);
  const wasm = gzipSize('.wasm');
  const js = gzipSize('.js');
  return {
    wasmGzipBytes: wasm, jsGzipBytes: js, gzipBytes: wasm + js,
    liveMs, liveMsMedian: sorted[Math.floor(sorted.length / 2)], rowsAtLive: rows, wasmArrivedMs: wasmMs,
  };
}

async function tick(url, rows) {
  const browser = await launch();
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator(`[data-testid="row-${rows}"]`).waitFor({ timeout: 30_000 });
  const rendered = await page.locator('[data-number]').count();
  await page.waitForTimeout(2000); // let the first render's work finish
  // The dashboard has no tick event: count changes of the header clock,
  // which the same one-second timer drives as every row's wait time.
  await page.evaluate(() => {
    window.__ticks = 0;
    const clock = document.querySelector('[data-testid="clock"]');
    new MutationObserver(() => { window.__ticks += 1; })
      .observe(clock, { childList: true, characterData: true, subtree: true });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics
    .map((m) => [m.name, m.value]));
  const before = await metrics();
  const ticksBefore = await page.evaluate(() => window.__ticks);
  await new Promise((resolve) => setTimeout(resolve, TICK_WINDOW_MS));
  const after = await metrics();
  const ticks = (await page.evaluate(() => window.__ticks)) - ticksBefore;
  await browser.close();
  const perTick = (name) => ((after[name] - before[name]) * 1000) / ticks;
  return {
    rows: rendered, ticks,
    scriptMsPerTick: perTick('ScriptDuration'),
    layoutMsPerTick: perTick('LayoutDuration') + perTick('RecalcStyleDuration'),
  };
}

const [mode, url, rows] = process.argv.slice(2);
const result = mode === 'load' ? await load(url) : await tick(url, Number(rows));
console.log(JSON.stringify(result));
