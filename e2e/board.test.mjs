// The board against the real proxy with its built-in simulated transmitter.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  act, addParty, command, launchBrowser, openApp, PORTRAIT, row, screenshot, startProxy, waitLive,
} from './lib/harness.mjs';

let proxy;
let browser;

before(async () => {
  proxy = await startProxy();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
});

test('an empty board says so and shows the simulated transmitter', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  await page.getByTestId('empty').waitFor();
  assert.match(await page.getByTestId('device-status').textContent(), /Simulated/);
  assert.match(await page.getByTestId('clock').textContent(), /^\d\d:\d\d:\d\d$/);
  await screenshot(page, 'board-empty');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the page connects once, while it loads, to its own stand only (?ws= is ignored)', async () => {
  const other = await startProxy();
  try {
    const setup = await openApp(browser.context, other.url);
    const created = await command(setup.page, { type: 'create_session', number: 42, label: 'Elsewhere' });
    assert.equal(created.verdict.outcome, 'acknowledged', JSON.stringify(created));
    await setup.page.close();

    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    // A crafted link used to send the tablet's token to any host this way;
    // the page no longer reads ?ws=, and the Content-Security-Policy would
    // refuse a socket to another origin anyway.
    const elsewhere = `${other.url.replace(/^http/, 'ws')}/ws`;
    await page.goto(`${proxy.url}/?ws=${encodeURIComponent(elsewhere)}`);
    await waitLive(page);
    assert.equal(await row(page, 42).count(), 0, 'the other stand’s board was shown');
    // index.html's early socket became the app's: no second connection.
    assert.deepEqual(sockets, [`${proxy.url.replace(/^http/, 'ws')}/ws`]);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await other.stop();
  }
});

test('add → page → seat, with undo', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  // Default party in two taps: the number comes pre-filled with the lowest free one.
  await page.getByTestId('add-party').click();
  const dialog = page.getByTestId('add-dialog');
  assert.equal(await dialog.getByTestId('number-display').textContent(), '1');
  await dialog.getByTestId('name-input').fill('Sarah');
  await dialog.getByTestId('size-plus').click();
  await dialog.getByTestId('size-plus').click();
  await dialog.getByTestId('add-submit').click();
  await dialog.waitFor({ state: 'detached' });
  const sarah = row(page, 1);
  await sarah.waitFor();
  assert.equal(await sarah.getByTestId('name').textContent(), 'Sarah');
  assert.match(await sarah.getByTestId('size').textContent(), /4/);
  assert.match(await sarah.getAttribute('class'), /tier-within/);

  assert.equal(await act(page, 1, 'page'), '✓ Paged');
  await sarah.getByTestId('state').filter({ hasText: 'Paged' }).waitFor();
  assert.equal(await sarah.getByTestId('page').textContent(), 'Page again');
  // Paged seconds ago: "Page again" asks first (a double tap is not a re-page).
  // Tapped at once, not after the ✓ fades: on a loaded machine the fade alone
  // can outlast the 5 s in which a re-page asks.
  await sarah.getByTestId('page').click();
  await page.getByTestId('confirm-ok').click();
  await sarah.getByTestId('state').filter({ hasText: '×2' }).waitFor();

  assert.equal(await act(page, 1, 'seat'), 'gone');
  const toast = page.getByTestId('undo-toast');
  assert.match(await toast.textContent(), /Seated #1 Sarah/);
  await page.getByTestId('undo').click();
  await sarah.waitFor();
  assert.equal(await sarah.getByTestId('name').textContent(), 'Sarah');
  assert.match(await sarah.getByTestId('size').textContent(), /4/);
  assert.equal(await act(page, 1, 'seat'), 'gone');

  await page.getByTestId('tab-history').click();
  await page.getByTestId('history-device').click();
  const history = page.getByTestId('history-table');
  await history.locator('tbody tr').first().waitFor();
  assert.match(await history.textContent(), /Sarah/);
  assert.match(await history.textContent(), /Seated/);
  await page.getByTestId('tab-statistics').click();
  assert.notEqual(await page.getByTestId('stat-served').textContent(), '0');
  await page.getByTestId('tab-board').click();
  assert.deepEqual(errors, []);
  await page.close();
});

test('a number already out is refused with a message and the free number offered', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  const taken = await addParty(page, { name: 'Omar' });
  await page.getByTestId('add-party').click();
  const dialog = page.getByTestId('add-dialog');
  const free = Number(await dialog.getByTestId('number-display').textContent());
  assert.notEqual(free, taken);
  for (const digit of String(taken)) await dialog.getByTestId(`key-${digit}`).click();
  assert.match(await dialog.getByTestId('in-use').textContent(), new RegExp(`Pager ${taken} is already out with Omar`));
  assert.equal(await dialog.getByTestId('add-submit').isDisabled(), true);
  await dialog.getByTestId('use-free').click();
  assert.equal(await dialog.getByTestId('number-display').textContent(), String(free));
  assert.equal(await dialog.getByTestId('add-submit').isDisabled(), false);
  await dialog.getByTestId('add-cancel').click();

  // A tablet with a stale board cannot overwrite either: the proxy refuses.
  const reply = await command(page, { type: 'create_session', number: taken, label: 'Intruder' });
  assert.equal(reply.verdict.outcome, 'invalid', JSON.stringify(reply));
  assert.equal(reply.verdict.code, 'number_in_use');
  assert.equal(await row(page, taken).getByTestId('name').textContent(), 'Omar');
  assert.equal(await act(page, taken, 'remove', { confirm: true }), 'gone');
  assert.deepEqual(errors, []);
  await page.close();
});

test('two tablets stay in sync', async () => {
  const a = await openApp(browser.context, proxy.url);
  const b = await openApp(browser.context, proxy.url);
  const n = await addParty(a.page, { name: 'Lee', size: 6 });
  await row(b.page, n).getByTestId('name').filter({ hasText: 'Lee' }).waitFor();
  assert.equal(await act(b.page, n, 'page'), '✓ Paged');
  await row(a.page, n).getByTestId('state').filter({ hasText: 'Paged' }).waitFor();
  assert.equal(await act(a.page, n, 'seat'), 'gone');
  await row(b.page, n).waitFor({ state: 'detached' });
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.page.close();
  await b.page.close();
});

test('a busy board: twenty parties, late, nearing, paged and out long', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  const names = ['Abebe', 'Bianca', 'Chen', 'Dmitri', 'Eleni', 'Farah', 'Goran', 'Hiro',
    'Ines', 'Jamal', 'Kofi', 'Lucía', 'Mika', 'Nadia', 'Olu', 'Priya', 'Quinn', 'Rosa',
    'Sven', 'Tariq'];
  const goals = [1200, 1800, 2700];
  const early = [];
  for (let i = 0; i < 8; i++) {
    early.push(await addParty(page, { name: names[i], size: 1 + (i % 8), goal: goals[i % 3] }));
  }
  assert.equal(await act(page, early[1], 'page'), '✓ Paged');
  assert.equal(await act(page, early[2], 'page'), '✓ Paged');
  // Asked to confirm only if the ✓ faded within 5 s of the first page: on a
  // loaded machine it may not have.
  assert.equal(await act(page, early[2], 'page', { confirm: 'if-asked' }), '✓ Paged');
  // Move the transmitter's clock 25 minutes on: the early parties have now
  // waited 25 minutes by the device's clock, while the tablet's clock is untouched.
  const now = await page.getByTestId('clock').textContent();
  const settings = await command(page, { type: 'get_settings' });
  const device = settings.verdict.result.settings.datetime;
  const later = new Date(`${device}Z`);
  later.setUTCMinutes(later.getUTCMinutes() + 25);
  const reply = await command(page, { type: 'update_settings', datetime: later.toISOString().slice(0, 19) });
  assert.equal(reply.verdict.outcome, 'acknowledged', JSON.stringify(reply));
  await page.waitForFunction((before) => document.querySelector('[data-testid=clock]').textContent !== before, now);
  for (let i = 8; i < 20; i++) {
    await addParty(page, { name: names[i], size: 2 + (i % 5) });
  }
  assert.equal(await act(page, 12, 'page'), '✓ Paged');

  assert.match(await row(page, early[0]).getAttribute('class'), /tier-over/);
  assert.match(await row(page, early[0]).getByTestId('wait').textContent(), /\+5:\d\d over/);
  assert.match(await row(page, early[1]).getAttribute('class'), /out-long/);
  assert.match(await row(page, early[4]).getAttribute('class'), /tier-nearing/);
  assert.match(await row(page, early[5]).getAttribute('class'), /tier-within/);
  assert.match(await row(page, 20).getAttribute('class'), /tier-within/);
  assert.match(await row(page, early[2]).getByTestId('state').textContent(), /×2/);

  // Filters and search.
  await page.getByTestId('chip-8').click();
  assert.equal(await page.locator('[data-testid=rows] [data-number]').count(), 2);
  await page.getByTestId('chip-8').click();
  await page.getByTestId('search').fill('luc');
  assert.equal(await page.locator('[data-testid=rows] [data-number]').count(), 1);
  await page.getByTestId('search').fill('');
  await page.getByTestId('sort-number').click();
  assert.equal(await page.locator('[data-testid=rows] [data-number]').first().getAttribute('data-number'), '1');

  await page.getByTestId('sort-wait').click();
  await screenshot(page, 'board-busy');
  await page.getByTestId('theme').click();
  await screenshot(page, 'board-busy-dark');
  await page.setViewportSize(PORTRAIT);
  await screenshot(page, 'board-busy-portrait');
  await page.getByTestId('add-party').click();
  await screenshot(page, 'add-party-portrait');
  await page.getByTestId('add-cancel').click();
  await page.getByTestId('theme').click();
  await page.getByTestId('theme').click();
  assert.deepEqual(errors, []);
  await page.close();
});

test('views: page any pager, transmitter settings, statistics and history', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  await page.getByTestId('tab-page').click();
  for (const digit of '900') await page.getByTestId(`key-${digit}`).click();
  await page.getByTestId('sa-mode-Vibe1').click();
  await page.getByTestId('sa-message').fill('Kitchen, table 4');
  assert.equal(await page.getByTestId('sa-send').textContent(), 'Page 900');
  await page.getByTestId('sa-send').click();
  await page.getByTestId('sa-status').filter({ hasText: '✓ Paged' }).waitFor();
  await screenshot(page, 'view-page');

  await page.getByTestId('tab-settings').click();
  await page.getByTestId('system-id').waitFor();
  await page.getByRole('button', { name: '10 min' }).click();
  await page.getByTestId('settings-save').click();
  await page.getByTestId('settings-status').filter({ hasText: '✓ Saved' }).waitFor();
  assert.equal(await page.getByTestId('settings-save').isDisabled(), true);
  await screenshot(page, 'view-settings');
  await page.getByTestId('tab-board').click();
  await page.getByTestId('add-party').click();
  // The device's new default goal is the preselected quick pick.
  assert.equal(await page.getByTestId('goal-600').getAttribute('aria-pressed'), 'true');
  await page.getByTestId('add-cancel').click();

  await page.getByTestId('tab-statistics').click();
  await screenshot(page, 'view-statistics');
  await page.getByTestId('stats-reset').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('stats-status').filter({ hasText: '✓ Statistics reset' }).waitFor();
  await page.getByTestId('stat-served').filter({ hasText: /^0$/ }).waitFor();

  await page.getByTestId('tab-history').click();
  await page.getByTestId('history-device').click();
  await page.getByTestId('history-table').locator('tbody tr').first().waitFor();
  await screenshot(page, 'view-history');
  await page.getByTestId('history-clear').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('history-status').filter({ hasText: '✓ History cleared' }).waitFor();
  assert.equal(await page.getByTestId('history-table').locator('tbody tr').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});
