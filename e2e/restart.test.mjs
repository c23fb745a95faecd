// The proxy goes away and comes back: the overlay blocks taps meanwhile and
// the page recovers by itself, without a reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  act, addParty, launchBrowser, openApp, row, screenshot, startProxy, startSimulator, waitLive,
} from './lib/harness.mjs';

// What Chromium logs while the proxy is down: expected, not an app error.
const OUTAGE = [/WebSocket connection to .* failed/, /ERR_CONNECTION_REFUSED/];

let sim;
let proxy;
let browser;

before(async () => {
  // An external transmitter keeps the parties while the proxy restarts.
  sim = await startSimulator({ seed: 3 });
  proxy = await startProxy({ device: sim.address });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await sim?.stop();
});

test('stopping the proxy shows the overlay; restarting it recovers without a reload', async () => {
  const { page, errors } = await openApp(browser.context, proxy.url, { allow: OUTAGE });
  const n = await addParty(page, { name: 'Ana', size: 3 });
  await page.evaluate(() => { window.notReloaded = true; });

  const port = proxy.port;
  await proxy.stop();
  const overlay = page.getByTestId('overlay');
  await overlay.waitFor();
  await overlay.filter({ hasText: "Can't reach the stand's server" }).waitFor();
  // The overlay takes the tap a host aims at a row underneath it.
  await row(page, n).getByTestId('seat').click({ timeout: 1_000, trial: true }).then(
    () => assert.fail('a row took a tap under the overlay'),
    (e) => assert.match(e.message, /intercepts pointer events|Timeout/),
  );
  await page.getByTestId('since-sync').filter({ hasText: /Last in sync (just now|\d+ s ago)/ }).waitFor();
  await page.waitForTimeout(2_500);
  assert.match(await page.getByTestId('since-sync').textContent(), /Last in sync \d+ s ago/);
  await screenshot(page, 'overlay');

  proxy = await startProxy({ device: sim.address, listen: `127.0.0.1:${port}` });
  // Backoff is capped at 5 s, so recovery comes within a few seconds.
  await waitLive(page, 15_000);
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  assert.equal(await row(page, n).getByTestId('name').textContent(), 'Ana');
  assert.equal(await act(page, n, 'seat'), 'gone');
  assert.deepEqual(errors, []);
});
