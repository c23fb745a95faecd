// The app shell across an outage and a deploy: with the stand's server gone
// the tablet still opens the app (from its service worker) and says plainly
// that it cannot reach the server, with the board blocked; a new deploy is
// offered as "New version — Reload" and only switches on that tap.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  distDir, launchBrowser, openApp, root, screenshot, startProxy, waitLive,
} from './lib/harness.mjs';

let dist;
let proxy;
let browser;

before(async () => {
  // A copy of the build, so the test can "deploy" a new one into it.
  dist = mkdtempSync(path.join(tmpdir(), 'coaster-dist-'));
  cpSync(distDir, dist, { recursive: true });
  proxy = await startProxy({ dist });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

const cacheNames = async (page) => (await page.evaluate(() => caches.keys())).sort();

test('offline the app says it cannot reach the server; a deploy waits for the Reload tap', async () => {
  // Refused reconnects and loads while the server is down are logged by Chromium.
  const { page, errors } = await openApp(browser.context, proxy.url, { allow: [/WebSocket connection to .* failed/, /ERR_CONNECTION_REFUSED/] });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const [before] = await cacheNames(page);
  assert.match(before, /^coaster-[0-9a-f]{16}$/);
  const banner = page.getByTestId('update-banner');
  assert.ok(await banner.isHidden(), 'a new version offered before any deploy');

  await proxy.stop();
  const overlay = page.getByTestId('overlay');
  await overlay.filter({ hasText: "Can't reach the stand's server" }).waitFor();
  // Offline and reloaded: the cached shell, never a board that looks live.
  await page.reload();
  await overlay.filter({ hasText: "Can't reach the stand's server" }).waitFor();
  assert.equal(await page.getByTestId('device-status').textContent(), 'No connection');
  await screenshot(page, 'offline');

  // Deploy: the stamped sw.js changes with the build, and so do the
  // compressed copies the build writes beside it.
  const sw = path.join(dist, 'sw.js');
  writeFileSync(sw, readFileSync(sw, 'utf8').replace(/^const VERSION = '[0-9a-f]+';/m, "const VERSION = '0123456789abcdef';"));
  execFileSync('sh', [path.join(root, 'scripts/compress-dist.sh'), dist]);
  proxy = await startProxy({ dist, listen: `127.0.0.1:${proxy.port}` });
  await waitLive(page);
  // What the page's ten-minute check does; Chromium may also have noticed already.
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  await banner.waitFor();
  await screenshot(page, 'update-banner');
  // Offered, not switched: the page still runs under the old worker.
  assert.deepEqual(await cacheNames(page), [before, 'coaster-0123456789abcdef'].sort());

  await Promise.all([page.waitForEvent('load'), page.getByTestId('update-reload').click()]);
  await waitLive(page);
  assert.ok(await banner.isHidden());
  // The new worker drops the old cache as it activates.
  await page.waitForFunction(async () => (await caches.keys()).join() === 'coaster-0123456789abcdef');
  assert.deepEqual(errors, []);
  await page.close();
});

/**
 * Headless Chromium has no screen to keep on: a stand-in Wake Lock API counts
 * requests and lets a test release the lock as the browser does on hiding a
 * tab; with `refuseFirst` it refuses the first request.
 */
const standInWakeLock = (page, { refuseFirst = false } = {}) => page.addInitScript((refuseFirst) => {
  window.wakeRequests = 0;
  Object.defineProperty(navigator, 'wakeLock', {
    value: {
      request: async (type) => {
        window.wakeRequests += 1;
        if (refuseFirst && window.wakeRequests === 1) throw new DOMException('not now', 'NotAllowedError');
        window.wakeSentinel = { type, onrelease: null };
        return window.wakeSentinel;
      },
    },
  });
}, refuseFirst);

test('the screen wake lock is taken while the board is open and again when the tab comes back', async () => {
  const page = await browser.context.newPage();
  await standInWakeLock(page);
  await page.goto(`${proxy.url}/`);
  await waitLive(page);
  assert.equal(await page.evaluate(() => window.wakeRequests), 1);
  assert.equal(await page.evaluate(() => window.wakeSentinel.type), 'screen');

  const setVisibility = (state) => page.evaluate((state) => {
    Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
    if (state === 'hidden') window.wakeSentinel.onrelease?.();
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
  await setVisibility('hidden');
  assert.equal(await page.evaluate(() => window.wakeRequests), 1, 'requested while hidden');
  await setVisibility('visible');
  await page.waitForFunction(() => window.wakeRequests === 2);
  // Visible again while the lock is held: no second lock.
  await setVisibility('visible');
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.wakeRequests), 2);
  await page.close();
});

test('a refused wake lock is said in the header, and a later tap takes it', async () => {
  const page = await browser.context.newPage();
  // As Safari may answer: NotAllowedError first (a home-screen app before
  // iPadOS 18.4, WebKit without a tap), granted on a later try.
  await standInWakeLock(page, { refuseFirst: true });
  await page.goto(`${proxy.url}/`);
  await waitLive(page);
  const note = () => page.evaluate(() => getComputedStyle(document.querySelector('.tabs'), '::after').content);
  assert.equal(await note(), '"Screen may sleep"');
  await screenshot(page, 'screen-may-sleep');
  await page.getByTestId('tab-board').click();
  await page.waitForFunction(() => window.wakeRequests === 2);
  await page.waitForFunction(() => !document.documentElement.hasAttribute('data-may-sleep'));
  assert.equal(await note(), 'none');
  await page.close();
});

test('no Wake Lock API at all (Safari before 16.4): the header says the screen may sleep', async () => {
  const page = await browser.context.newPage();
  await page.addInitScript(() => Object.defineProperty(navigator, 'wakeLock', { value: undefined }));
  await page.goto(`${proxy.url}/`);
  await waitLive(page);
  await page.getByTestId('tab-board').click();
  assert.equal(
    await page.evaluate(() => getComputedStyle(document.querySelector('.tabs'), '::after').content),
    '"Screen may sleep"',
  );
  await page.close();
});

test('standalone on an iPad: the header and board keep clear of the status bar, corners and home indicator', async () => {
  const page = await browser.context.newPage();
  const cdp = await page.context().newCDPSession(page);
  const insets = { top: 24, bottom: 20, left: 0, right: 0 };
  await cdp.send('Emulation.setSafeAreaInsetsOverride', { insets });
  await page.goto(`${proxy.url}/`);
  await waitLive(page);
  const box = await page.evaluate(() => {
    const header = getComputedStyle(document.querySelector('.header'));
    const main = getComputedStyle(document.querySelector('.main'));
    const status = document.querySelector('[data-testid=device-status]').getBoundingClientRect();
    return {
      band: header.borderTopWidth, bandColour: header.borderTopColor,
      statusTop: status.top, mainBottom: main.paddingBottom,
      toastBottom: getComputedStyle(document.querySelector('.toast-area')).bottom,
    };
  });
  // The status bar's white text sits on a band of the theme colour; the
  // app's own header starts below it.
  assert.equal(box.band, '24px');
  assert.equal(box.bandColour, 'rgb(20, 86, 196)');
  assert.ok(box.statusTop >= 24, `status pill at ${box.statusTop}px`);
  assert.equal(box.mainBottom, '140px');
  assert.equal(box.toastBottom, '36px');
  await screenshot(page, 'safe-area');
  await page.close();
});
