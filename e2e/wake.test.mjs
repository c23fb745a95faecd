// Sleep and wake, in Chromium and in WebKit: a host wakes the iPad and must
// see the current board within a second, never a stale one. The page is
// hidden and shown as a sleeping tablet's is (the `visibilitychange` event
// and the state the app reads); meanwhile another tablet changes the board,
// and either the page's socket lives on (Chromium also freezes the page, as
// iPadOS does) or it goes dead without a word, which only a new connection
// can tell.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { command, launchBrowser, openApp, startProxy } from './lib/harness.mjs';
import { startRelay } from './lib/relay.mjs';
import { launchWebKit, startXvfb } from './lib/webkit.mjs';

let xvfb;
let proxy;
let browser;
let other;
let wk;

before(async () => {
  xvfb = await startXvfb();
  proxy = await startProxy();
  browser = await launchBrowser();
  // The other tablet, which changes the board while ours sleeps.
  other = await openApp(browser.context, proxy.url);
  wk = await launchWebKit({ display: xvfb.display });
});

after(async () => {
  await wk?.close();
  await browser?.close();
  await proxy?.stop();
  await xvfb?.stop();
});

/** In the page: marks it hidden, as a sleeping tablet's is. */
function hide() {
  Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
  Object.defineProperty(document, 'hidden', { value: true, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
  window.notReloaded = true;
}

/**
 * In the page: shows it again and resolves with the milliseconds until the
 * row `number` is on a live board (no overlay), or null if it is still
 * missing 5 s later.
 */
function showAndTime(number) {
  const current = () => document.querySelector(`[data-testid="row-${number}"]`) && !document.querySelector('[data-testid="overlay"]');
  return new Promise((resolve) => {
    const start = performance.now();
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    Object.defineProperty(document, 'hidden', { value: false, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    const poll = () => {
      const ms = performance.now() - start;
      if (current()) resolve(Math.round(ms));
      else if (ms > 5_000) resolve(null);
      else setTimeout(poll, 5);
    };
    // From the app's first reaction on: a board it has just called stale
    // is under the overlay.
    setTimeout(poll, 0);
  });
}

const rowShown = (number) => document.querySelector(`[data-testid="row-${number}"]`) !== null;

let nextPager = 500;
/** Another tablet seats a party on a fresh pager; resolves with its number. */
async function seatElsewhere() {
  const number = nextPager++;
  const reply = await command(other.page, { type: 'create_session', number, label: `Woke ${number}` });
  assert.equal(reply.verdict.outcome, 'acknowledged', JSON.stringify(reply));
  return number;
}

/** The two browsers behind one interface: run a function in the page. */
async function chromiumTablet(relay) {
  const { page, errors } = await openApp(browser.context, relay.url);
  const cdp = await browser.context.newCDPSession(page);
  return {
    name: 'Chromium',
    run: (fn, arg) => page.evaluate(fn, arg),
    // What iPadOS does to a sleeping page: its script stops, frames queue.
    freeze: () => cdp.send('Page.setWebLifecycleState', { state: 'frozen' }),
    thaw: () => cdp.send('Page.setWebLifecycleState', { state: 'active' }),
    errors: async () => errors,
    close: () => page.close(),
  };
}

async function webkitTablet(relay) {
  await wk.open(relay.url);
  return {
    name: 'WebKit',
    run: (fn, arg) => wk.evalAsync(fn, arg),
    // WebDriver cannot freeze a WebKit page; hidden, it keeps running.
    freeze: async () => {},
    thaw: async () => {},
    errors: () => wk.errors(),
    close: async () => {},
  };
}

/**
 * Hides the page, changes the board meanwhile (over a socket the relay has
 * silenced, if `silence`), shows the page again and checks the board is
 * current within a second, without a reload.
 */
async function sleepAndWake(open, { silence }) {
  // A relay of its own: the browser must not reuse a connection killed here.
  const relay = await startRelay(proxy.port);
  const tablet = await open(relay);
  await tablet.run(hide);
  await tablet.freeze();
  // The stand's network drops every connection without a word.
  if (silence) relay.silenceAll();
  const number = await seatElsewhere();
  await tablet.thaw();
  if (silence) {
    // The dead socket tells the page nothing: without waking it stays stale.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await tablet.run(rowShown, number), false, 'a dead socket delivered a change');
  }
  const ms = await tablet.run(showAndTime, number);
  assert.ok(ms !== null && ms < 1_000, `${tablet.name}: the board was current ${ms} ms after waking`);
  assert.equal(await tablet.run(() => window.notReloaded), true);
  console.log(`${tablet.name}: ${silence ? 'dead' : 'live'} socket, current ${ms} ms after waking`);
  assert.deepEqual([...(await tablet.errors()), ...other.errors], []);
  await tablet.close();
  await relay.stop();
}

for (const open of [chromiumTablet, webkitTablet]) {
  const engine = open === chromiumTablet ? 'Chromium' : 'WebKit';
  test(`${engine}: shown again, a page whose socket died asleep has the current board within a second`, () =>
    sleepAndWake(open, { silence: true }));
  test(`${engine}: shown again, a page that slept through a change has the current board within a second`, () =>
    sleepAndWake(open, { silence: false }));
}
