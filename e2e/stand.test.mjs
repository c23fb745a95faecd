// The stand's own memory in the app: the tablet's name, History (waits,
// pages, who did what), Activity with its filters, and the CSV export —
// against the real proxy and its SQLite store.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { act, addParty, dark, launchBrowser, openApp, PORTRAIT, screenshot, startProxy } from './lib/harness.mjs';

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

// Pager numbers come round again (Bo gets Ann's once she is seated).
const standRow = (page, number, name) => page.getByTestId(`stand-party-${number}`).filter({ hasText: name });

test('History and Activity show what the tablets did, and export it', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);

  // Name this tablet once, in Settings.
  await page.getByTestId('tab-settings').click();
  await page.getByTestId('tablet-name').fill('Front door');
  await page.getByTestId('tablet-name-save').click();
  await page.getByText('Saved: the activity log names this tablet so.').waitFor();
  await page.getByTestId('tab-board').click();

  const ann = await addParty(page, { name: 'Ann', size: 3 });
  assert.equal(await act(page, ann, 'page'), '✓ Paged');
  assert.equal(await act(page, ann, 'seat'), 'gone');
  const bo = await addParty(page, { name: 'Bo' });
  assert.equal(await act(page, bo, 'remove', { confirm: true }), 'gone');

  // History: the stand's own, by default.
  await page.getByTestId('tab-history').click();
  const annRow = standRow(page, ann, 'Ann');
  await annRow.waitFor();
  const cells = await annRow.locator('td').allTextContents();
  assert.match(cells[1], /^Ann/);
  assert.equal(cells[2], '3');
  assert.match(cells[4], /^\d+ s$|min/, 'a wait to page');
  assert.match(cells[5], /^\d+ s$|min/, 'a wait to seat');
  assert.equal(cells[6], 'Seated');
  assert.match(cells[7], /^1 \(Flash30Sec\)$/);
  assert.match(cells[8], /paged by Front door/);
  assert.match(cells[8], /seated by Front door/);
  assert.equal((await standRow(page, bo, 'Bo').locator('td').allTextContents())[6], 'Removed');
  await screenshot(page, 'stand-history');

  // Search narrows the list to one party.
  await page.getByTestId('stand-search').fill('Bo');
  await annRow.waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('stand-parties').locator('tbody tr').count(), 1);

  // The transmitter's own history is one tap away.
  await page.getByTestId('history-device').click();
  await page.getByTestId('history-table').locator('tbody tr').first().waitFor();

  // Activity: every command, newest first, with its tablet; filters work.
  await page.getByTestId('tab-activity').click();
  const rows = page.getByTestId('activity-row');
  await rows.nth(5).waitFor();
  // Newest first: the transmitter's history just read, then Bo's removal.
  const [read, removed] = [await rows.nth(0).locator('td').allTextContents(), await rows.nth(1).locator('td').allTextContents()];
  assert.equal(read[2], 'Read history');
  assert.deepEqual([removed[1], removed[2], removed[3], removed[4]], ['Front door', 'Remove', String(bo), 'Done']);
  await page.getByTestId('activity-outcome').selectOption('rejected');
  await page.getByText('Nothing done from a tablet in this range.').waitFor();
  await page.getByTestId('activity-outcome').selectOption('');
  await page.getByTestId('activity-tablet').selectOption('Front door');
  await rows.nth(5).waitFor();
  await screenshot(page, 'stand-activity');

  // Export: a CSV download, fetched with the token in a header.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-activity').click()]);
  assert.match(download.suggestedFilename(), /^coaster-activity-\d{4}-\d\d-\d\d\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv.split('\r\n')[0], /^at_utc,tablet,/);
  assert.equal(csv.trim().split('\r\n').length, 1 + (await rows.count()));
  assert.match(csv, /Front door,.*,remove_session,/);

  await page.getByTestId('tab-history').click();
  const [parties] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-parties').click()]);
  const partiesCsv = readFileSync(await parties.path(), 'utf8');
  assert.match(partiesCsv, new RegExp(`,${ann},Ann,3,`));
  assert.deepEqual(errors, []);
  await page.close();
});

test('History in portrait on a tablet, dark theme', async () => {
  const portrait = await launchBrowser({ viewport: PORTRAIT });
  try {
    const { page, errors } = await openApp(portrait.context, proxy.url);
    await dark(page);
    await page.getByTestId('tab-history').click();
    await page.getByTestId('stand-parties').waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1);
    assert.ok(width, 'nothing wider than the screen');
    await screenshot(page, 'stand-history-portrait-dark');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await portrait.close();
  }
});
