// The dashboard's browser figures for coaster-bench, in headless Chromium.
//   node bench/browser.mjs load URL      P4: bundle size; navigation → live board at 4× CPU throttling
//   node bench/browser.mjs tick URL ROWS  P5: main-thread time of one timer tick on a board of ROWS parties
// Prints one JSON object as its last stdout line. playwright-core comes from e2e/.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(path.join(root, 'e2e/package.json'))('playwright-core');

const LOAD_RUNS = 9;
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
// snapshot can supply, is in the DOM; timed from navigation start. The page
// says so on the console: waiting with page.waitForFunction would make
// Playwright compile its injected script in the page mid-load (160 ms of
// main thread at 4× throttling, all of it charged to the dashboard).
function markLive() {
  let done = false;
  const seen = () => {
    if (!done && document.querySelector('[data-testid="row-1"]')) {
      done = true;
      console.debug(`coaster-live ${performance.now()} ${document.querySelectorAll('[data-number]').length}`);
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
    const live = page.waitForEvent('console', { predicate: (m) => m.text().startsWith('coaster-live '), timeout: 30_000 });
    await page.goto(url);
    const [, at, shown] = (await live).text().split(' ');
    liveMs.push(Math.round(Number(at)));
    rows = Number(shown);
    // Where the time goes: the wasm's arrival, and the WebSocket's first message.
    wasmMs.push(Math.round(await page.evaluate(() => performance.getEntriesByType('resource')
      .find((e) => e.name.endsWith('.wasm'))?.responseEnd ?? -1)));
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

// One tick is the main-thread task that runs the dashboard's one-second
// timer (TimerFire, inside its RunTask: the callback and the microtasks it
// queues), read from a Chromium trace. The app's timer is the one that
// fires about once a second. ScriptDuration over the window adds all the
// page's other script (messages from the proxy, heartbeats) for context.
async function tick(url, rows) {
  const browser = await launch();
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator(`[data-testid="row-${rows}"]`).waitFor({ timeout: 30_000 });
  const rendered = await page.locator('[data-number]').count();
  await page.waitForTimeout(2000); // let the first render's work finish
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics
    .map((m) => [m.name, m.value]));
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  const before = await metrics();
  await new Promise((resolve) => setTimeout(resolve, TICK_WINDOW_MS));
  const after = await metrics();
  const events = JSON.parse((await browser.stopTracing()).toString()).traceEvents;
  await browser.close();

  const fires = events.filter((e) => e.name === 'TimerFire');
  const byTimer = new Map();
  for (const fire of fires) byTimer.set(fire.args.data.timerId, [...(byTimer.get(fire.args.data.timerId) ?? []), fire]);
  const secondly = [...byTimer.values()].find((f) => {
    const gaps = f.slice(1).map((e, i) => (e.ts - f[i].ts) / 1000).sort((x, y) => x - y);
    return gaps.length >= 5 && Math.abs(gaps[gaps.length >> 1] - 1000) < 100;
  });
  if (!secondly) throw new Error('no timer fired once a second in the trace');
  const tasks = events.filter((e) => e.name === 'RunTask' && e.ph === 'X');
  const tickMs = secondly.map((fire) => {
    const task = tasks.find((t) => t.tid === fire.tid && t.ts <= fire.ts && fire.ts <= t.ts + t.dur);
    return (task ?? fire).dur / 1000;
  }).sort((x, y) => x - y);
  const perSecond = (name) => ((after[name] - before[name]) * 1e6) / TICK_WINDOW_MS;
  return {
    rows: rendered, ticks: tickMs.length,
    tickMsMedian: tickMs[tickMs.length >> 1], tickMsMax: tickMs[tickMs.length - 1],
    scriptMsPerSecond: perSecond('ScriptDuration'),
    layoutMsPerSecond: perSecond('LayoutDuration') + perSecond('RecalcStyleDuration'),
  };
}

const [mode, url, rows] = process.argv.slice(2);
const result = mode === 'load' ? await load(url) : await tick(url, Number(rows));
console.log(JSON.stringify(result));
