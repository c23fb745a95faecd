// The dashboard under its Content-Security-Policy: it loads, goes live, adds
// a party, signs in with the PIN over HTTPS and reloads through its service
// worker, and the browser reports no violation of the policy.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  addParty, enterPin, launchBrowser, openApp, startProxy, trustedSpkis, waitLive,
} from './lib/harness.mjs';

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Records every CSP violation the page's document reports, from its first script on. */
async function watchViolations(context) {
  await context.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
}

const violations = (page) => page.evaluate(() => window.cspViolations);
// Chromium also logs each violation to the console as an error; openApp
// collects console errors, so those fail the test too.

test('over plain loopback the app runs under its CSP without a violation', async () => {
  const proxy = await startProxy();
  cleanups.push(() => proxy.stop());
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  await watchViolations(browser.context);

  const response = await browser.context.request.get(`${proxy.url}/`);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+/]+=*')+;/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(response.headers()['x-content-type-options'], 'nosniff');
  assert.equal(response.headers()['referrer-policy'], 'no-referrer');

  const { page, errors } = await openApp(browser.context, proxy.url);
  await addParty(page, { name: 'Policy' });
  // Again, as the service worker serves it.
  await page.reload();
  await waitLive(page);
  assert.deepEqual(await violations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('over HTTPS with the PIN screen the app runs under its CSP and HSTS', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'coaster-csp-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const pin = '246813';
  const proxy = await startProxy({ tls: true, pin, dataDir });
  cleanups.push(() => proxy.stop());
  const url = `https://localhost:${proxy.port}`;
  const spkis = await trustedSpkis(proxy.port, dataDir);
  const browser = await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${spkis}`] });
  cleanups.push(() => browser.close());
  await watchViolations(browser.context);

  const response = await browser.context.request.get(`${url}/`, { ignoreHTTPSErrors: true });
  assert.match(response.headers()['strict-transport-security'], /max-age=\d+/);
  assert.match(response.headers()['content-security-policy'], new RegExp(`connect-src 'self' wss://localhost:${proxy.port}`));

  const { page, errors } = await openApp(browser.context, url, {
    live: false,
    // Before the PIN: the session check's 401 and the page's first,
    // token-less WebSocket, refused.
    allow: [/401 \(Unauthorized\)/, /WebSocket connection to .* failed/],
  });
  await page.getByTestId('pin-screen').waitFor();
  await enterPin(page, pin);
  await waitLive(page);
  assert.deepEqual(await violations(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});
