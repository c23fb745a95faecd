// The transmitter goes silent — its process is stopped, so not one datagram
// comes back — and the host can still read the board: dimmed, with since when
// and how long commands wait, the taps that need the transmitter held back,
// and the health panel saying what the link is doing. When it answers again,
// the board comes back and a page goes through.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  act, addParty, launchBrowser, openApp, row, startProxy, startSimulator,
} from './lib/harness.mjs';

let sim;
let proxy;
let browser;

before(async () => {
  sim = await startSimulator();
  proxy = await startProxy({ device: sim.address });
  browser = await launchBrowser();
});

after(async () => {
  sim?.child.kill('SIGCONT');
  await browser?.close();
  await proxy?.stop();
  await sim?.stop();
});

const panelText = (page) => page.getByTestId('health-panel').textContent();

test('a silent transmitter leaves the board readable and dimmed, then recovers', { timeout: 120_000 }, async () => {
  const { page, errors } = await openApp(browser.context, proxy.url);
  const number = await addParty(page, { name: 'Quiet' });

  await page.getByTestId('device-detail').locator('summary').click();
  const live = await panelText(page);
  assert.match(live, /Reachable: yes/);
  assert.match(live, /Round trip: \d+ ms/);
  assert.match(live, /Retry after: \d+ ms/);

  sim.child.kill('SIGSTOP');
  const banner = page.getByTestId('unreachable');
  await banner.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(
    await banner.textContent(),
    /^Transmitter unreachable since \d\d:\d\d — commands will wait up to 30 s$/,
  );
  assert.equal(await page.getByTestId('device-status').textContent(), 'Unreachable');
  assert.match(await panelText(page), /Reachable: no/);
  // The last known board is still there to read, dimmed…
  assert.equal(await row(page, number).getByTestId('name').textContent(), 'Quiet');
  assert.equal(await page.locator('main.main').evaluate((m) => getComputedStyle(m).opacity), '0.55');
  // …and a tap that would reach the transmitter is held back.
  const pageButton = row(page, number).getByTestId('page');
  assert.equal(await pageButton.evaluate((b) => getComputedStyle(b).pointerEvents), 'none');

  sim.child.kill('SIGCONT');
  await banner.waitFor({ state: 'hidden', timeout: 30_000 });
  assert.equal(await page.locator('main.main').evaluate((m) => getComputedStyle(m).opacity), '1');
  assert.match(await panelText(page), /Reachable: yes/);
  assert.equal(await act(page, number, 'page'), '✓ Paged');
  assert.deepEqual(errors, []);
});
