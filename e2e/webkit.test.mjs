// The dashboard in WebKit, the engine of every browser on the iPads hosts
// hold: WebKitGTK's MiniBrowser under Xvfb, driven over W3C WebDriver,
// against the real proxy and a standalone simulated transmitter (so the
// parties outlive a restart of the proxy). docs/webkit.md lists what WebKit
// showed differently and how the app was fixed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  act, launchBrowser, openApp, row, startProxy, startSimulator,
} from './lib/harness.mjs';
import { IPAD_LANDSCAPE, IPAD_PORTRAIT, launchWebKit, startXvfb } from './lib/webkit.mjs';

let xvfb;
let sim;
let proxy;
let wk;

before(async () => {
  xvfb = await startXvfb();
  sim = await startSimulator({ seed: 15 });
  proxy = await startProxy({ device: sim.address });
  wk = await launchWebKit({ display: xvfb.display, viewport: IPAD_LANDSCAPE });
});

after(async () => {
  await wk?.close();
  await proxy?.stop();
  await sim?.stop();
  await xvfb?.stop();
});

/** The box and computed style a WebKit page gives an element, by test id. */
const layout = (testid) => wk.eval((sel) => {
  const el = document.querySelector(sel);
  const r = el.getBoundingClientRect();
  return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height };
}, `[data-testid="${testid}"]`);

test('WebKit: the board loads and goes live, and says the screen may sleep', async () => {
  await wk.open(proxy.url);
  await wk.waitTestId('empty');
  assert.match(await wk.text('device-status'), /Live|Simulated/);
  assert.match(await wk.text('clock'), /^\d\d:\d\d:\d\d$/);
  // WebKitGTK refuses the screen wake lock ("Permission was denied"), as
  // iPadOS did in a home-screen app before 18.4: the header says so instead
  // of failing silently.
  await wk.waitFor(() => document.documentElement.hasAttribute('data-may-sleep'), [], { what: 'the wake lock refused' });
  assert.equal(
    await wk.eval(() => getComputedStyle(document.querySelector('.tabs'), '::after').content),
    '"Screen may sleep"',
  );
  // The header and its pill fit one line on an iPad in landscape.
  const header = await wk.eval(() => document.querySelector('.status-line').getBoundingClientRect().height);
  assert.ok(header < 80, `header ${header}px tall`);
  await wk.screenshot('webkit-board-empty');

  // What iPadOS reads when the page is added to the Home Screen: a full-screen
  // app under a translucent status bar, and a 180 px opaque icon (iPadOS
  // would fill transparent pixels with black) that it rounds itself.
  const meta = await wk.eval(() => Object.fromEntries(
    [...document.querySelectorAll('meta[name]')].map((m) => [m.name, m.content]),
  ));
  assert.equal(meta['apple-mobile-web-app-capable'], 'yes');
  assert.equal(meta['apple-mobile-web-app-status-bar-style'], 'black-translucent');
  assert.equal(meta['apple-mobile-web-app-title'], 'Coaster');
  assert.match(meta.viewport, /viewport-fit=cover/);
  const icon = await wk.evalAsync(() => new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const alpha = ctx.getImageData(0, 0, canvas.width, canvas.height).data.filter((_, i) => i % 4 === 3);
      resolve({ size: `${img.naturalWidth}x${img.naturalHeight}`, opaque: alpha.every((a) => a === 255) });
    };
    img.onerror = () => reject(new Error('no apple-touch-icon'));
    img.src = document.querySelector('link[rel=apple-touch-icon]').href;
  }));
  assert.deepEqual(icon, { size: '180x180', opaque: true });
  assert.deepEqual(await wk.errors(), []);
});

test('WebKit: add → page → seat, with the transmitter\'s verdicts and undo', async () => {
  await wk.open(proxy.url);
  const n = await wk.addParty({ name: 'Sarah', size: 4 });
  assert.equal(await wk.eval((sel) => document.querySelector(sel).textContent, `[data-testid="row-${n}"] [data-testid="name"]`), 'Sarah');
  assert.match(await wk.eval((sel) => document.querySelector(sel).className, `[data-testid="row-${n}"]`), /tier-within/);

  assert.equal(await wk.act(n, 'page'), '✓ Paged');
  await wk.waitFor((sel) => /Paged/.test(document.querySelector(sel)?.textContent), [`[data-testid="row-${n}"] [data-testid="state"]`]);
  assert.equal(await wk.eval((sel) => document.querySelector(sel).textContent, `[data-testid="row-${n}"] [data-testid="page"]`), 'Page again');
  await wk.screenshot('webkit-paged');

  assert.equal(await wk.act(n, 'seat'), 'gone');
  await wk.waitText('undo-toast', new RegExp(`Seated #${n} Sarah`));
  await wk.click('undo');
  await wk.waitTestId(`row-${n}`);
  assert.equal(await wk.act(n, 'seat'), 'gone');
  assert.deepEqual(await wk.errors(), []);
});

test('WebKit: the stand\'s History and Activity (a module loaded on demand)', async () => {
  await wk.open(proxy.url);
  await wk.click('tab-history');
  // Sarah, paged and seated by the test before (then undone, re-added and
  // seated again: a second row): her waits, her page and her outcome.
  const sarah = await wk.waitFor(() => {
    const rows = [...document.querySelectorAll('[data-testid^="stand-party-"]')].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent));
    return rows.find((cells) => /Sarah/.test(cells[1]) && cells[7] != '0');
  }, [], { what: 'Sarah in the stand\'s history' });
  assert.equal(sarah[2], '4');
  assert.equal(sarah[6], 'Seated');
  assert.match(sarah[7], /^1 \(/);
  assert.match(sarah[4], /s$/);
  await wk.screenshot('webkit-stand-history');
  await wk.click('tab-activity');
  const did = await wk.waitFor(() => {
    const rows = [...document.querySelectorAll('[data-testid="activity-row"]')];
    return rows.length >= 4 && rows.map((r) => r.children[2].textContent);
  }, [], { what: 'the activity log' });
  for (const kind of ['Add', 'Page', 'Seat']) assert.ok(did.includes(kind), `${kind} in ${did}`);
  assert.deepEqual(await wk.errors(), []);
});

test('a Chromium tablet and a WebKit tablet stay in sync', async () => {
  const browser = await launchBrowser();
  try {
    await wk.open(proxy.url);
    const chrome = await openApp(browser.context, proxy.url);
    const n = await wk.addParty({ name: 'Lee', size: 6 });
    await row(chrome.page, n).getByTestId('name').filter({ hasText: 'Lee' }).waitFor();
    assert.equal(await act(chrome.page, n, 'page'), '✓ Paged');
    await wk.waitFor((sel) => /Paged/.test(document.querySelector(sel)?.textContent), [`[data-testid="row-${n}"] [data-testid="state"]`]);
    assert.equal(await wk.act(n, 'seat'), 'gone');
    await row(chrome.page, n).waitFor({ state: 'detached' });
    assert.deepEqual([...chrome.errors, ...(await wk.errors())], []);
  } finally {
    await browser.close();
  }
});

test('WebKit: the keypad dialog on an iPad in portrait (810×1080) and landscape (1080×810)', async () => {
  await wk.open(proxy.url);
  for (const [viewport, name] of [[IPAD_PORTRAIT, 'portrait'], [IPAD_LANDSCAPE, 'landscape']]) {
    await wk.setViewport(viewport);
    await wk.click('add-party');
    await wk.waitTestId('add-dialog');
    const dialog = await layout('add-dialog');
    // The whole dialog, its Add button included, is on screen without scrolling.
    assert.ok(dialog.top >= 0 && dialog.left >= 0, `${name}: ${JSON.stringify(dialog)}`);
    assert.ok(dialog.bottom <= viewport.height && dialog.right <= viewport.width, `${name}: ${JSON.stringify(dialog)}`);
    const submit = await layout('add-submit');
    assert.ok(submit.bottom <= dialog.bottom && submit.height >= 64, `${name}: add ${JSON.stringify(submit)}`);
    const key = await layout('key-5');
    assert.ok(key.height >= 64 && key.width >= 64, `${name}: key ${JSON.stringify(key)}`);
    // Landscape sets the keypad beside the party's details; portrait stacks them.
    const name$ = await layout('name-input');
    if (name === 'landscape') assert.ok(name$.left > key.right, `${name}: name field beside the keypad`);
    else assert.ok(name$.top > key.bottom || name$.bottom < key.top, `${name}: name field above or below the keypad`);
    // Typing a pager number on the keypad.
    for (const digit of '37') await wk.click(`key-${digit}`);
    assert.equal(await wk.text('number-display'), '37');
    await wk.screenshot(`webkit-add-party-${name}`);
    await wk.click('add-cancel');
    await wk.waitTestId('add-dialog', { gone: true });
  }
  assert.deepEqual(await wk.errors(), []);
});

test('WebKit: the dark theme', async () => {
  await wk.open(proxy.url);
  const parties = [];
  for (const [name, size] of [['Abebe', 2], ['Bianca', 5], ['Chen', 3]]) parties.push(await wk.addParty({ name, size }));
  assert.equal(await wk.act(parties[1], 'page'), '✓ Paged');
  await wk.screenshot('webkit-board-light');
  for (let i = 0; i < 3 && (await wk.eval(() => document.documentElement.dataset.theme)) !== 'dark'; i++) {
    await wk.click('theme');
  }
  assert.equal(await wk.eval(() => document.documentElement.dataset.theme), 'dark');
  const colours = await wk.eval(() => [
    getComputedStyle(document.body).backgroundColor,
    getComputedStyle(document.body).color,
    getComputedStyle(document.querySelector('[data-number]')).backgroundColor,
  ]);
  assert.deepEqual(colours, ['rgb(14, 17, 22)', 'rgb(238, 241, 245)', 'rgb(24, 28, 35)']);
  await wk.screenshot('webkit-board-dark');
  await wk.setViewport(IPAD_PORTRAIT);
  await wk.screenshot('webkit-board-dark-portrait');
  await wk.setViewport(IPAD_LANDSCAPE);
  // Back to following the system.
  while ((await wk.eval(() => document.documentElement.dataset.theme)) !== 'auto') await wk.click('theme');
  for (const n of parties) assert.equal(await wk.act(n, 'seat'), 'gone');
  assert.deepEqual(await wk.errors(), []);
});

test('WebKit: the proxy restarts; the overlay blocks taps, and the tablet recovers without a reload', async () => {
  await wk.open(proxy.url);
  const n = await wk.addParty({ name: 'Ana', size: 3 });
  await wk.eval(() => { window.notReloaded = true; });

  const port = proxy.port;
  await proxy.stop();
  await wk.waitText('overlay', /Can't reach the stand's server/);
  // A real WebDriver tap on the row underneath lands on the overlay.
  await assert.rejects(wk.click('seat', { within: `row-${n}` }), /click intercepted|not interactable|obscured/i);
  await wk.waitText('since-sync', /Last in sync \d+ s ago/, { timeout: 10_000 });
  await wk.screenshot('webkit-overlay');

  proxy = await startProxy({ device: sim.address, listen: `127.0.0.1:${port}` });
  await wk.waitLive(15_000);
  assert.equal(await wk.eval(() => window.notReloaded), true);
  assert.equal(await wk.eval((sel) => document.querySelector(sel).textContent, `[data-testid="row-${n}"] [data-testid="name"]`), 'Ana');
  assert.equal(await wk.act(n, 'seat'), 'gone');
  assert.deepEqual(await wk.errors(), []);
});

test('WebKit: the venue PIN screen refuses a wrong PIN, and the right one opens a board that survives a reload', async () => {
  const guarded = await startProxy({ device: sim.address, pin: '246813' });
  try {
    await wk.open(guarded.url, { live: false });
    await wk.waitFor(() => !document.querySelector('[data-testid="pin-screen"]').hidden, [], { what: 'the PIN screen' });
    // The pad is laid out as a phone's: three keys a row, each a big target.
    const key = await layout('pin-key-5');
    assert.ok(key.height >= 76 && key.width >= 76, JSON.stringify(key));
    for (const digit of '111111') await wk.click(`pin-key-${digit}`);
    assert.equal(await wk.text('pin-dots'), '●●●●●●');
    await wk.click('pin-ok');
    await wk.waitText('pin-message', /tries left/);
    await wk.screenshot('webkit-pin-screen');
    for (const digit of '246813') await wk.click(`pin-key-${digit}`);
    await wk.click('pin-ok');
    await wk.waitLive();
    assert.equal(await wk.eval(() => document.querySelector('[data-testid="pin-screen"]').hidden), true);
    // WebKit kept the token: a reload goes straight to the board.
    await wk.open(guarded.url);
    assert.equal(await wk.eval(() => document.querySelector('[data-testid="pin-screen"]').hidden), true);
    assert.deepEqual(await wk.errors(), []);
  } finally {
    await guarded.stop();
  }
});
