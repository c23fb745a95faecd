// WebKit for the e2e tests: WebKitGTK's MiniBrowser (the engine of every
// iPad browser) under Xvfb, driven by WebKitWebDriver over plain W3C
// WebDriver. The dozen endpoints the tests use are a few lines of fetch each;
// an npm client (webdriverio, selenium-webdriver) would add a hundred
// packages and a driver downloader that cannot work on a closed network.
//
// WebKitWebDriver relays no console (no WebDriver BiDi, and MiniBrowser's
// --automation mode ignores its console-to-stdout setting), so every
// navigation installs a collector of uncaught exceptions, unhandled
// rejections and console.error calls as soon as WebDriver returns, which is
// once the page has loaded: before the app starts, which waits for the PIN
// check and the proxy's snapshot.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { artifacts } from './harness.mjs';

/** iPad (10th generation) in Safari: 810×1080 CSS pixels. */
export const IPAD_PORTRAIT = { width: 810, height: 1080 };
export const IPAD_LANDSCAPE = { width: 1080, height: 810 };

// The W3C WebDriver spec's key for an element reference.
const W3C_ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

function miniBrowserPath() {
  const files = execFileSync('dpkg', ['-L', 'libwebkit2gtk-4.1-0'], { encoding: 'utf8' }).split('\n');
  const found = files.find((f) => f.endsWith('/MiniBrowser'));
  if (!found) throw new Error('libwebkit2gtk-4.1-0 ships no MiniBrowser: is webkit2gtk-driver installed?');
  return found;
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killGroup(child);
  await exited;
}

/** A virtual X display for the browser; resolves with its `:N` name. */
export async function startXvfb() {
  // -displayfd picks a free display number and writes it to fd 3.
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1920x1440x24', '-nolisten', 'tcp'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c) => { err = (err + c).slice(-4000); });
  const display = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb named no display in 10 s:\n${err}`)), 10_000);
    child.stdio[3].on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${out.trim()}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited (${code}):\n${err}`)));
  });
  return { display, stop: () => stopChild(child) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A WebKit tablet: its own WebKitWebDriver (one session per driver) and
 * MiniBrowser on `display`, with a viewport of `viewport` CSS pixels.
 */
export async function launchWebKit({ display, viewport = IPAD_LANDSCAPE } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'coaster-webkit-'));

  const port = await freePort();
  const driver = spawn('WebKitWebDriver', [`--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, DISPLAY: display, HOME: dir, XDG_CACHE_HOME: dir, XDG_DATA_HOME: dir },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/status`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (i > 100) throw new Error('WebKitWebDriver did not start in 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const session = await call(base, 'POST', '/session', {
    capabilities: {
      alwaysMatch: {
        'webkitgtk:browserOptions': {
          binary: miniBrowserPath(),
          args: ['--automation'],
        },
      },
    },
  });
  const tablet = new WebKitTablet(`${base}/session/${session.sessionId}`, async () => {
    await stopChild(driver);
    rmSync(dir, { recursive: true, force: true });
  });
  await tablet.setViewport(viewport);
  return tablet;
}

async function call(base, method, route, body) {
  const response = await fetch(base + route, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) {
    const e = new Error(`WebDriver ${method} ${route}: ${json.value?.error}: ${json.value?.message}`);
    e.code = json.value?.error;
    throw e;
  }
  return json.value;
}

const css = (testid) => `[data-testid="${testid}"]`;

class WebKitTablet {
  constructor(session, dispose) {
    this.session = session;
    this.dispose = dispose;
  }

  cmd(method, route, body) {
    return call(this.session, method, route, body);
  }

  async goto(url) {
    await this.cmd('POST', '/url', { url });
    await this.eval(() => {
      if (window.coasterErrors) return;
      const errors = (window.coasterErrors = []);
      addEventListener('error', (e) => errors.push(`pageerror: ${e.message}`));
      addEventListener('unhandledrejection', (e) => errors.push(`unhandled rejection: ${e.reason}`));
      const log = console.error.bind(console);
      console.error = (...args) => {
        errors.push(`console: ${args.join(' ')}`);
        log(...args);
      };
    });
  }

  /** Runs `fn(...args)` in the page and returns its (JSON) result. */
  eval(fn, ...args) {
    return this.cmd('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments);`, args });
  }

  /** Awaits the promise `fn(...args)` returns in the page. */
  async evalAsync(fn, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve((${fn}).apply(null, Array.from(arguments).slice(0, -1)))
        .then((value) => done({ value }), (e) => done({ error: String(e) }));`;
    const { value, error } = await this.cmd('POST', '/execute/async', { script, args });
    if (error) throw new Error(`WebKit: ${error}`);
    return value;
  }

  /** Polls `fn(...args)` in the page until it returns something truthy. */
  async waitFor(fn, args = [], { timeout = 20_000, what = String(fn) } = {}) {
    const until = Date.now() + timeout;
    for (;;) {
      const value = await this.eval(fn, ...args).catch((e) => (e.code === 'javascript error' ? null : Promise.reject(e)));
      if (value) return value;
      if (Date.now() > until) throw new Error(`WebKit: timed out after ${timeout} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for an element by test id (optionally inside `within`'s). */
  waitTestId(testid, { gone = false, timeout } = {}) {
    return this.waitFor(
      (sel, gone) => (document.querySelector(sel) === null) === gone,
      [css(testid), gone],
      { timeout, what: `${testid} ${gone ? 'to go' : 'to appear'}` },
    );
  }

  /** The text of the element with this test id, or null. */
  text(testid) {
    return this.eval((sel) => document.querySelector(sel)?.textContent ?? null, css(testid));
  }

  /** Waits until the element's text matches `re`; returns the text. */
  waitText(testid, re, { timeout } = {}) {
    return this.waitFor(
      (sel, source, flags) => {
        const t = document.querySelector(sel)?.textContent;
        return t != null && new RegExp(source, flags).test(t) ? t : null;
      },
      [css(testid), re.source, re.flags],
      { timeout, what: `${testid} to read ${re}` },
    );
  }

  async find(selector) {
    const found = await this.cmd('POST', '/element', { using: 'css selector', value: selector });
    return found[W3C_ELEMENT];
  }

  /** A real click through WebDriver: scrolled into view, refused if covered. */
  async click(testid, { within } = {}) {
    const selector = within ? `${css(within)} ${css(testid)}` : css(testid);
    await this.waitFor((sel) => document.querySelector(sel) !== null, [selector], { what: `${selector} to click` });
    await this.cmd('POST', `/element/${await this.find(selector)}/click`, {});
  }

  /** Types into a field by test id, replacing what it held. */
  async fill(testid, text) {
    const id = await this.find(css(testid));
    await this.cmd('POST', `/element/${id}/clear`, {});
    if (text) await this.cmd('POST', `/element/${id}/value`, { text });
  }

  /** Opens the dashboard; unless `live` is false, waits for the board. */
  async open(url, { live = true } = {}) {
    await this.goto(`${url}/`);
    if (live) await this.waitLive();
  }

  /** The app has mounted and its overlay is gone: the board is current. */
  async waitLive(timeout = 20_000) {
    await this.waitFor(
      () => document.querySelector('[data-testid="tab-board"]') && !document.querySelector('[data-testid="overlay"]'),
      [],
      { timeout, what: 'a live board' },
    );
  }

  /** Adds a party through the keypad dialog; returns the pager number it got. */
  async addParty({ name, size } = {}) {
    await this.click('add-party');
    await this.waitTestId('add-dialog');
    if (name) await this.fill('name-input', name);
    for (let s = 2; s < (size ?? 2); s++) await this.click('size-plus');
    const got = Number(await this.text('number-display'));
    await this.click('add-submit');
    await this.waitTestId('add-dialog', { gone: true, timeout: 30_000 });
    await this.waitTestId(`row-${got}`);
    return got;
  }

  /**
   * Taps an action on a row and waits for the transmitter's verdict, as the
   * harness's `act` does for Chromium; resolves with the status text or 'gone'.
   */
  async act(number, testid, { retries = 4, confirm = false } = {}) {
    const row = `row-${number}`;
    const status = (sel) => {
      const el = document.querySelector(sel);
      if (!el) return 'gone';
      const text = el.querySelector('[data-testid=row-status]')?.textContent ?? '';
      return text && !text.includes('…') ? text : null;
    };
    // A ✓ from the previous tap must fade first, or it would read as this tap's.
    await this.waitFor(
      (sel) => !(document.querySelector(sel)?.querySelector('[data-testid=row-status]')?.textContent ?? '').startsWith('✓'),
      [css(row)],
      { timeout: 10_000 },
    );
    await this.click(testid, { within: row });
    if (confirm) await this.click('confirm-ok');
    for (let attempt = 0; ; attempt++) {
      const text = await this.waitFor(status, [css(row)], { timeout: 90_000, what: `${row}'s verdict` });
      if (text === 'gone' || text.startsWith('✓')) return text;
      if (attempt >= retries) throw new Error(`row ${number} ${testid} failed: ${text}`);
      await this.click('retry', { within: row });
    }
  }

  /** Resizes the window so the page's viewport is exactly `width`×`height`. */
  async setViewport({ width, height }) {
    // The window is the viewport plus MiniBrowser's toolbar, measured at
    // rest; a resize reaches the page a moment later.
    const inner = () => this.eval(() => [innerWidth, innerHeight]);
    const [now, outer] = await Promise.all([inner(), this.cmd('GET', '/window/rect')]);
    const rect = { width: width + outer.width - now[0], height: height + outer.height - now[1] };
    await this.cmd('POST', '/window/rect', rect);
    await this.waitFor((w, h) => innerWidth === w && innerHeight === h, [width, height], {
      timeout: 5_000,
      what: `a ${width}×${height} viewport`,
    });
  }

  async screenshot(name) {
    mkdirSync(artifacts, { recursive: true });
    // WebKitGTK snapshots the last frame it drew, and under Xvfb it draws
    // some 20 a second: let it draw what the DOM now holds.
    await this.evalAsync(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 100)))));
    const png = await this.cmd('GET', '/screenshot');
    writeFileSync(path.join(artifacts, `${name}.png`), Buffer.from(png, 'base64'));
  }

  /** Uncaught exceptions and console errors in the page since the last call. */
  errors() {
    return this.eval(() => (window.coasterErrors ?? ['no error collector']).splice(0));
  }

  async close() {
    await this.cmd('DELETE', '').catch(() => {});
    await this.dispose();
  }
}
