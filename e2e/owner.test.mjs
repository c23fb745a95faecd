// What the owner learns from the stand, in Chromium against the real proxy:
// analytics over a seeded history (three weeks of simulated nights, --demo)
// whose figures match the store's rows; the quote in the add dialog, taken
// as the goal with one tap; the lobby screen by a read-only link; the end of
// the night.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  act, addParty, dark, enterPin, launchBrowser, openApp, PORTRAIT, screenshot, startProxy, waitLive,
} from './lib/harness.mjs';

let demo;
let browser;

before(async () => {
  demo = await startProxy({ extra: ['--demo'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

const nearestRank = (values, q) => values.sort((a, b) => a - b)[Math.max(1, Math.ceil(values.length * q)) - 1];

test('the analytics tab charts the seeded history, and its figures match the store', async () => {
  const { page, errors } = await openApp(browser.context, demo.url);
  await page.getByTestId('tab-analytics').click();
  await page.getByTestId('chart-hours').locator('svg').waitFor();
  for (const chart of ['chart-hours', 'chart-days', 'chart-wait-hours', 'chart-sizes']) {
    assert.ok(await page.getByTestId(chart).locator('svg rect').count() > 0, `${chart} has bars`);
  }
  // The last 30 days' parties, read row by row from the store, counted and
  // their median wait to page worked out here.
  const rows = await page.evaluate(async () => {
    const day = 864e5, now = new Date();
    const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
    const r = await fetch(`/api/stand/parties?from_ms=${today - 29 * day}&to_ms=${today + day}&limit=2000`);
    return (await r.json()).rows;
  });
  assert.ok(rows.length > 500, `a seeded history (${rows.length} parties)`);
  assert.ok(rows.length < 2000, 'all of it in one answer');
  const shown = Number(await page.getByTestId('figure-parties').locator('strong').textContent());
  assert.equal(shown, rows.length);
  const waits = rows.filter((p) => p.wait_to_page_s != null).map((p) => p.wait_to_page_s);
  const median = Math.round(nearestRank(waits, 0.5) / 60);
  assert.equal(await page.getByTestId('figure-wait').locator('strong').textContent(), `${median} min`);
  const walkAways = rows.filter((p) => p.outcome == 'removed' && p.pages == 0).length;
  assert.equal(await page.getByTestId('figure-walkaways').locator('strong').textContent(), String(walkAways));
  // The numbers are beside each chart, for screen readers.
  assert.ok(await page.getByTestId('chart-hours-numbers').locator('tbody tr').count() > 0);
  await screenshot(page, 'analytics-light-landscape');
  await dark(page);
  await screenshot(page, 'analytics-dark-landscape');
  assert.deepEqual(errors, []);
  await page.close();
});

test('analytics in portrait, light and dark', async () => {
  const portrait = await launchBrowser({ viewport: PORTRAIT });
  try {
    const { page, errors } = await openApp(portrait.context, demo.url);
    await page.getByTestId('tab-analytics').click();
    await page.getByTestId('chart-sizes').locator('svg').waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1), 'nothing wider than the screen');
    await screenshot(page, 'analytics-light-portrait');
    await dark(page);
    await screenshot(page, 'analytics-dark-portrait');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await portrait.close();
  }
});

test('the add dialog quotes a wait from this stand and takes it as the goal in one tap', async () => {
  const { page, errors } = await openApp(browser.context, demo.url);
  await page.getByTestId('add-party').click();
  const dialog = page.getByTestId('add-dialog');
  const quote = dialog.getByTestId('quote');
  await quote.filter({ hasText: /Quote ~\d+ min|No quote yet/ }).waitFor();
  // The demo's nights are around this hour, so there is history to quote from.
  const text = await quote.textContent();
  const minutes = Number(text.match(/Quote ~(\d+) min/)?.[1]);
  assert.ok(minutes > 0, text);
  assert.match(await dialog.getByTestId('quote-use').textContent(), /from \d+ parties/);
  await dialog.getByTestId('quote-use').click();
  const picked = await dialog.locator('[data-testid^=goal-][aria-pressed=true]').getAttribute('data-testid');
  const seconds = Number(picked.slice(5));
  assert.ok(Math.abs(seconds - minutes * 60) <= 600, `${picked} for ~${minutes} min`);
  // A bigger party asks again.
  await dialog.getByTestId('size-plus').click();
  await dialog.getByTestId('size-plus').click();
  await quote.filter({ hasText: /Quote ~\d+ min|No quote yet/ }).waitFor();
  await screenshot(page, 'quote');
  await dialog.getByTestId('add-cancel').click();
  assert.deepEqual(errors, []);
  await page.close();
});

test('end of night: the summary from the store, then the board cleared', async () => {
  const { page, errors } = await openApp(browser.context, demo.url);
  await addParty(page, { name: 'Late table' });
  await page.getByTestId('tab-statistics').click();
  await page.getByTestId('night-open').click();
  const summary = page.getByTestId('night-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /Parties tonight/);
  await page.getByTestId('night-clear').filter({ hasText: 'Clear the 1 parties' }).click();
  await page.getByTestId('night-result').filter({ hasText: 'The board is clear' }).waitFor();
  await page.getByTestId('tab-board').click();
  await page.getByTestId('empty').waitFor();
  await page.getByTestId('tab-activity').click();
  await page.getByTestId('activity-row').filter({ hasText: 'Clear all' }).first().waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('the lobby screen: a read-only link shows a paged pager within a second, no names, no commands; revoked, it is refused', async () => {
  const PIN = '482915';
  const stand = await startProxy({ pin: PIN });
  const tv = await launchBrowser();
  try {
    const { page, errors } = await openApp(browser.context, stand.url, {
      live: false,
      allow: [/401 \(Unauthorized\)/, /WebSocket connection to .* failed/],
    });
    await enterPin(page, PIN);
    await waitLive(page);
    await page.getByTestId('tab-settings').click();
    await page.getByTestId('lobby-create').click();
    const url = await page.getByTestId('lobby-url').textContent();
    assert.match(url, /\/lobby#[0-9a-f]{32}$/);
    const token = url.split('#')[1];

    const lobby = await tv.context.newPage();
    const lobbyErrors = [];
    lobby.on('pageerror', (e) => lobbyErrors.push(e.message));
    const requests = [];
    lobby.on('request', (r) => requests.push(r.url()));
    await lobby.goto(url);
    await lobby.getByTestId('lobby-note').filter({ hasText: 'Your pager will flash' }).waitFor();
    assert.ok(requests.every((u) => !u.includes(token)), 'the token never travels in a URL');

    await page.getByTestId('tab-board').click();
    const n = await addParty(page, { name: 'Secret Name' });
    assert.equal(await act(page, n, 'page'), '✓ Paged');
    const paged = Date.now();
    await lobby.getByTestId('lobby-calls').locator('li', { hasText: String(n) }).waitFor({ timeout: 5000 });
    const within = Date.now() - paged;
    console.log(`lobby: pager ${n} shown ${within} ms after its ✓`);
    assert.ok(within <= 1000, `shown ${within} ms after the page`);
    assert.doesNotMatch(await lobby.textContent('body'), /Secret Name/);
    await screenshot(lobby, 'lobby');

    // The link reads calls and nothing else: no board, no command, no links.
    const tried = await lobby.evaluate(async (token) => {
      const headers = { Authorization: `Bearer ${token}` };
      const links = (await fetch('/api/lobby/links', { headers })).status;
      const parties = (await fetch('/api/stand/parties', { headers })).status;
      const socket = await new Promise((resolve) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
        ws.onopen = () => {
          ws.send(JSON.stringify({ type: 'auth', token }));
          ws.send(JSON.stringify({ op: 'tv-1', command: { type: 'page_session', number: 1 } }));
        };
        ws.onmessage = (e) => resolve(`message ${JSON.parse(e.data).type}`);
        ws.onclose = (e) => resolve(`closed ${e.code}`);
      });
      return { links, parties, socket };
    }, token);
    assert.deepEqual({ ...tried, socket: tried.socket.slice(0, 6) }, { links: 401, parties: 401, socket: 'closed' }, JSON.stringify(tried));

    await page.getByTestId('tab-settings').click();
    await page.getByTestId('lobby-revoke').click();
    await lobby.getByTestId('lobby-note').filter({ hasText: 'not valid' }).waitFor();
    assert.equal(await lobby.getByTestId('lobby-calls').locator('li').count(), 0);
    assert.deepEqual(errors, []);
    assert.deepEqual(lobbyErrors, []);
    await page.close();
  } finally {
    await tv.close();
    await stand.stop();
  }
});
