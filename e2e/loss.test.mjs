// A transmitter that loses 30 % of datagrams each way: retransmission, resync
// and Retry still leave every tablet with the right board.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  act, addParty, launchBrowser, openApp, row, startProxy, startSimulator,
} from './lib/harness.mjs';

let sim;
let proxy;
let browser;

before(async () => {
  sim = await startSimulator({ loss: 0.3, seed: 7 });
  proxy = await startProxy({ device: sim.address });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await sim?.stop();
});

/** Adds a party, retrying an unanswered create as a host would. */
async function addWithRetry(page, party) {
  await page.getByTestId('add-party').click();
  const dialog = page.getByTestId('add-dialog');
  const number = Number(await dialog.getByTestId('number-display').textContent());
  await dialog.getByTestId('name-input').fill(party.name);
  await dialog.getByTestId('add-submit').click();
  for (let attempt = 0; attempt < 5; attempt++) {
    const outcome = await Promise.race([
      dialog.waitFor({ state: 'detached', timeout: 90_000 }).then(() => 'added'),
      dialog.getByTestId('retry').waitFor({ timeout: 90_000 }).then(() => 'failed'),
    ]);
    if (outcome === 'added') break;
    // An unanswered create may still have reached the device: if the party
    // is on the board now, it was.
    if (await row(page, number).count()) {
      await dialog.getByTestId('add-cancel').click();
      break;
    }
    await dialog.getByTestId('retry').click();
  }
  await row(page, number).waitFor({ timeout: 60_000 });
  return number;
}

test('the simulator at --loss 0.3 still ends with the right board', { timeout: 600_000 }, async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  const numbers = [];
  for (const name of ['Ama', 'Bo', 'Cy', 'Di']) numbers.push(await addWithRetry(page, { name }));
  const [ama, bo, cy, di] = numbers;
  assert.equal(await act(page, ama, 'page'), '✓ Paged');
  assert.equal(await act(page, bo, 'seat'), 'gone');
  assert.equal(await act(page, cy, 'remove', { confirm: true }), 'gone');

  await row(page, di).getByTestId('edit').click();
  const edit = page.getByTestId('edit-dialog');
  await edit.getByTestId('name-input').fill('Dina');
  await edit.getByTestId('size-plus').click();
  await edit.getByTestId('edit-save').click();
  const status = await page.waitForFunction(
    (sel) => {
      const text = document.querySelector(sel)?.textContent ?? '';
      return text && !text.includes('…') ? text : false;
    },
    `[data-testid=row-${di}] [data-testid=row-status]`,
    { timeout: 90_000, polling: 100 },
  ).then((h) => h.jsonValue());
  if (!status.startsWith('✓')) {
    await row(page, di).getByTestId('retry').click();
  }
  await row(page, di).getByTestId('name').filter({ hasText: 'Dina' }).waitFor({ timeout: 90_000 });

  // The board this tablet shows, and the one a fresh tablet gets from the proxy's mirror.
  const board = async (p) =>
    p.locator('[data-testid=rows] [data-number]').evaluateAll((rows) =>
      rows
        .map((r) => `${r.dataset.number}:${r.querySelector('[data-testid=name]').textContent}:${r.querySelector('[data-testid=state]').textContent.includes('Paged') ? 'paged' : 'waiting'}`)
        .sort());
  const expected = [`${ama}:Ama:paged`, `${di}:Dina:waiting`].sort();
  await page.waitForFunction(
    (want) => {
      const rows = [...document.querySelectorAll('[data-testid=rows] [data-number]')];
      return rows.length === want;
    },
    2,
    { timeout: 60_000 },
  );
  assert.deepEqual(await board(page), expected);
  const fresh = await openApp(browser.context, proxy.url);
  await fresh.page.locator(`[data-testid=row-${di}]`).waitFor();
  assert.deepEqual(await board(fresh.page), expected);
  assert.match(await row(fresh.page, di).getByTestId('size').textContent(), /3/);
  assert.deepEqual([...errors, ...fresh.errors], []);
});
