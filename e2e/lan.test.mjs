// Coaster as it runs on a restaurant LAN: HTTPS with its own local CA, the
// venue PIN, the WebSocket over wss with an Origin check, and an installable
// PWA — in Chromium trusting the generated certificate, as an installed
// tablet does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  enterPin, launchBrowser, openApp, screenshot, startProxy, trustedSpkis, waitLive,
} from './lib/harness.mjs';

const PIN = '246813';
let dataDir;
let proxy;
let url;
let browser;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'coaster-lan-'));
  proxy = await startProxy({ tls: true, pin: PIN, dataDir });
  // The certificate names localhost (and the box's own names), not 127.0.0.1.
  url = `https://localhost:${proxy.port}`;
  const spkis = await trustedSpkis(proxy.port, dataDir);
  browser = await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${spkis}`] });
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A WebSocket upgrade request to the proxy from Node; resolves with the status. */
function upgrade({ origin }) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: proxy.port,
      servername: 'localhost',
      rejectUnauthorized: false,
      path: '/ws',
      headers: {
        Host: `localhost:${proxy.port}`,
        Origin: origin,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

test('over https: the PIN screen refuses a wrong PIN, the right one opens a wss board that survives a reload', async () => {
  const { page, errors } = await openApp(browser.context, url, {
    live: false,
    // The login's 401 for the wrong PIN is logged by Chromium as a failed load,
    // and so is the refusal of the page's first, token-less WebSocket.
    allow: [/401 \(Unauthorized\)/, /WebSocket connection to .* failed/],
  });
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws));
  const pinScreen = page.getByTestId('pin-screen');
  await pinScreen.waitFor();
  assert.equal(new URL(page.url()).protocol, 'https:');
  await screenshot(page, 'pin-screen');
  // No wasm app yet: it starts only once the PIN is accepted.
  assert.equal(await page.getByTestId('tab-board').count(), 0);

  await enterPin(page, '1111');
  await page.getByTestId('pin-message').filter({ hasText: 'That PIN is not right.' }).waitFor();
  assert.match(await page.getByTestId('pin-message').textContent(), /4 tries left/);
  await screenshot(page, 'pin-wrong');
  assert.equal(await page.evaluate(() => localStorage.getItem('coaster-token')), null);

  // The page's first socket went without a token and was closed; every one
  // from the right PIN on sends the token as its first frame, never in the URL.
  sockets.length = 0;
  const firstFrames = [];
  page.on('websocket', (ws) => ws.once('framesent', (f) => firstFrames.push(f.payload)));
  await enterPin(page, PIN);
  await waitLive(page);
  assert.ok(await pinScreen.isHidden());
  const token = await page.evaluate(() => localStorage.getItem('coaster-token'));
  assert.match(token, /^[0-9a-f]{32}$/);
  const live = sockets.map((ws) => ws.url());
  assert.ok(live.length > 0 && live.every((u) => u === `wss://localhost:${proxy.port}/ws`), live.join(' '));
  assert.deepEqual(firstFrames.map((f) => JSON.parse(f)), live.map(() => ({ type: 'auth', token })));

  await page.reload();
  await waitLive(page);
  assert.ok(await pinScreen.isHidden(), 'the PIN was asked again after a reload');
  assert.deepEqual(errors, []);
  await page.close();
});

test('installable: a manifest Chromium accepts and an active service worker', async () => {
  const { page, errors } = await openApp(browser.context, url);
  const worker = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return { state: reg.active.state, script: reg.active.scriptURL };
  });
  assert.equal(worker.state, 'activated');
  assert.equal(worker.script, `${url}/sw.js`);
  const cdp = await page.context().newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);
  const manifest = await page.evaluate(async () => (await fetch('/manifest.webmanifest')).json());
  assert.equal(manifest.display, 'standalone');
  assert.deepEqual(
    manifest.icons.map((i) => `${i.sizes} ${i.purpose}`).sort(),
    ['192x192 any', '192x192 maskable', '512x512 any', '512x512 maskable'],
  );
  assert.deepEqual(errors, []);
  await page.close();
});

test('the WebSocket refuses a foreign origin and a wrong or missing token', async () => {
  const { page: app } = await openApp(browser.context, url);
  const token = await app.evaluate(() => localStorage.getItem('coaster-token'));
  assert.equal(await upgrade({ origin: url }), 101);
  assert.equal(await upgrade({ origin: 'https://evil.example' }), 403);
  // The token is checked in the first frame: nothing before it, a policy close without it.
  const firstAnswer = (first) => app.evaluate(
    (first) => new Promise((resolve) => {
      const ws = new WebSocket(`wss://${location.host}/ws`);
      ws.onopen = () => first && ws.send(first);
      ws.onmessage = (m) => { resolve(JSON.parse(m.data).type); ws.close(); };
      ws.onclose = (e) => resolve(`closed ${e.code}`);
    }),
    first,
  );
  assert.equal(await firstAnswer(JSON.stringify({ type: 'auth', token })), 'hello');
  assert.equal(await firstAnswer(JSON.stringify({ type: 'auth', token: 'f'.repeat(32) })), 'closed 1008');
  assert.equal(await firstAnswer(JSON.stringify({ type: 'auth', token: '' })), 'closed 1008');
  assert.equal(await firstAnswer(JSON.stringify({ op: 'x', command: { type: 'get_settings' } })), 'closed 1008');
  await app.close();

  // And from a real page on another origin, with a valid token in hand.
  const foreign = http.createServer((_, res) => res.end('<!doctype html><title>elsewhere</title>'));
  await new Promise((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  try {
    const page = await browser.context.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    await page.goto(`http://127.0.0.1:${foreign.address().port}/`);
    const outcome = await page.evaluate(
      (wsUrl) => new Promise((resolve) => {
        const ws = new WebSocket(wsUrl);
        ws.onopen = () => resolve('open');
        ws.onclose = (e) => resolve(`closed ${e.code}`);
      }),
      `wss://localhost:${proxy.port}/ws`,
    );
    assert.equal(outcome, 'closed 1006');
    assert.ok(logs.some((text) => /Unexpected response code: 403/.test(text)), logs.join('\n'));
    await page.close();
  } finally {
    foreign.close();
  }
});

test('a tablet whose token stops working is asked for the PIN again, then carries on without a reload', async () => {
  const { page, errors } = await openApp(browser.context, url, {
    // The refused reconnects (401 while the old token is no good) and the outage.
    allow: [/401 \(Unauthorized\)/, /WebSocket connection to .* failed/, /ERR_CONNECTION_REFUSED/],
  });
  await page.evaluate(() => { window.notReloaded = true; });
  // A new venue PIN signs every tablet out (tokens are kept per PIN).
  await proxy.stop();
  proxy = await startProxy({ tls: true, pin: '135797', dataDir, listen: `127.0.0.1:${proxy.port}` });
  await page.getByTestId('pin-screen').waitFor({ timeout: 15_000 });
  await enterPin(page, '135797');
  await waitLive(page, 15_000);
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  assert.deepEqual(errors, []);
  await page.close();
});

/** POST /api/login from Node, as another tablet on the stand's own page
 * (the stand refuses a login without its Origin); resolves with its token. */
function login(pin, name) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: proxy.port,
      servername: 'localhost',
      rejectUnauthorized: false,
      method: 'POST',
      path: '/api/login',
      headers: {
        Host: `localhost:${proxy.port}`,
        Origin: `https://localhost:${proxy.port}`,
        'Content-Type': 'application/json',
      },
    }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(JSON.parse(body).token));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ pin, name }));
  });
}

test('Settings lists the signed-in tablets and signs a lost one out', async () => {
  const lost = await login('135797', 'Lost iPad');
  const { page, errors } = await openApp(browser.context, url);
  await page.getByTestId('tab-settings').click();
  const tablets = page.getByTestId('tablets').getByTestId('tablet');
  await tablets.filter({ hasText: 'Lost iPad' }).waitFor();
  assert.equal(await tablets.filter({ hasText: '(this tablet)' }).count(), 1);
  const before = await tablets.count();
  await page.getByTestId('tablets').scrollIntoViewIfNeeded();
  await screenshot(page, 'settings-tablets');
  await tablets.filter({ hasText: 'Lost iPad' }).getByTestId('sign-out').click();
  await tablets.filter({ hasText: 'Lost iPad' }).waitFor({ state: 'detached' });
  assert.equal(await tablets.count(), before - 1);
  const answer = await page.evaluate((token) => new Promise((resolve) => {
    const ws = new WebSocket(`wss://${location.host}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
    ws.onmessage = () => resolve('let in');
    ws.onclose = (e) => resolve(`closed ${e.code}`);
  }), lost);
  assert.equal(answer, 'closed 1008');
  assert.deepEqual(errors, []);
  await page.close();
});

// Last in this file: it locks this address out of logging in for a minute.
test('wrong PINs lock the pad out with a countdown', async () => {
  const { page, errors } = await openApp(browser.context, url, {
    live: false,
    allow: [/401 \(Unauthorized\)/, /429 \(Too Many Requests\)/, /WebSocket connection to .* failed/],
  });
  await page.evaluate(() => localStorage.removeItem('coaster-token'));
  await page.reload();
  await page.getByTestId('pin-screen').waitFor();
  const message = page.getByTestId('pin-message');
  for (let tries = 4; tries >= 0; tries--) {
    await enterPin(page, '9999');
    await message.filter({ hasText: tries ? `${tries} tries left` : /right\.$/ }).waitFor();
  }
  await enterPin(page, '135797');
  await message.filter({ hasText: /Too many wrong PINs\. Try again in \d+ s\./ }).waitFor();
  // The OK key counts down instead of taking the PIN.
  await page.getByTestId('pin-ok').filter({ hasText: /^\d+ s$/ }).waitFor();
  const first = await page.getByTestId('pin-ok').textContent();
  await page.waitForTimeout(1_200);
  const later = await page.getByTestId('pin-ok').textContent();
  assert.ok(parseInt(later, 10) < parseInt(first, 10), `${first} → ${later}`);
  await screenshot(page, 'pin-locked');
  assert.equal(await page.evaluate(() => localStorage.getItem('coaster-token')), null);
  assert.deepEqual(errors, []);
  await page.close();
});
