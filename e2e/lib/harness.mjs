// Spawning the real binaries and driving Debian's Chromium for the e2e tests.
// Every child runs in its own process group and is killed as a group, so a
// failing test leaves nothing behind.
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binDir = process.env.COASTER_BIN_DIR ?? path.join(root, 'target/release');
export const distDir = process.env.COASTER_DIST ?? path.join(root, 'dist');
export const artifacts = path.join(root, 'e2e/artifacts');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--disable-dev-shm-usage',
];

export const LANDSCAPE = { width: 1280, height: 800 };
export const PORTRAIT = { width: 800, height: 1280 };

/** Starts a program and resolves once a stdout line matches `pattern`. */
export function spawnUntil(bin, args, pattern, timeoutMs = 20_000, env = {}) {
  const child = spawn(path.isAbsolute(bin) ? bin : path.join(binDir, bin), args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...env },
  });
  let log = '';
  // Keep draining both pipes for the child's whole life: a full pipe blocks it.
  const keep = (chunk) => { log = (log + chunk).slice(-20_000); };
  child.stderr.on('data', keep);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      kill(child);
      reject(new Error(`${bin} printed no ${pattern} within ${timeoutMs} ms:\n${seen}\n${log}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      if (seen === null) return;
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        seen = null;
        clearTimeout(timer);
        resolve({ child, match, log: () => log });
      }
    });
    child.once('exit', (code, signal) => {
      if (seen === null) return;
      clearTimeout(timer);
      reject(new Error(`${bin} exited (${code ?? signal}) before ${pattern}:\n${seen}\n${log}`));
    });
  });
}

function kill(child, signal = 'SIGKILL') {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Stops a child (TERM, then KILL after 3 s) and waits until it has exited. */
export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  kill(child, 'SIGTERM');
  const timer = setTimeout(() => kill(child), 3_000);
  await exited;
  clearTimeout(timer);
}

/** The standalone T7470 simulator; resolves with its `host:port`. */
export async function startSimulator({ loss, seed, delay } = {}) {
  const args = ['--listen', '127.0.0.1:0'];
  if (loss !== undefined) args.push('--loss', String(loss));
  if (seed !== undefined) args.push('--seed', String(seed));
  if (delay !== undefined) args.push('--delay', String(delay));
  const { child, match } = await spawnUntil('t7470-sim', args, /listening on (\S+:\d+)/);
  return { child, address: match[1], stop: () => stop(child) };
}

/**
 * The proxy serving the built dashboard; without `device` it simulates one
 * itself. `tls` serves HTTPS with Coaster's own CA kept in `dataDir`; `pin`
 * sets the venue PIN (through COASTER_PIN, as the README says).
 */
export async function startProxy({ device, listen = '127.0.0.1:0', dist = distDir, tls, pin, dataDir, extra = [] } = {}) {
  const args = ['--listen', listen, '--dist', dist, ...extra];
  if (device) args.push('--device', device);
  if (tls) args.push('--tls');
  // A data directory of its own: the stand's store there is locked by one
  // Coaster at a time, and a test must not read another run's history.
  args.push('--data-dir', dataDir ?? mkdtempSync(path.join(tmpdir(), 'coaster-data-')));
  const { child, match, log } = await spawnUntil('coaster', args, /coaster listening on (https?:\/\/[^\s/]+)\//, 20_000, { COASTER_PIN: pin ?? '' });
  const url = match[1];
  return { child, url, port: Number(new URL(url).port), log, stop: () => stop(child) };
}

const spkiHash = (cert) =>
  createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

/**
 * Chromium's `--ignore-certificate-errors-spki-list` value that makes it trust
 * the certificate a `--tls` proxy serves: the hashes of its CA's key (from the
 * data directory) and of the served leaf's key, read off a real handshake.
 */
export async function trustedSpkis(port, dataDir) {
  const ca = new X509Certificate(readFileSync(path.join(dataDir, 'tls/ca.pem')));
  const leaf = await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const der = socket.getPeerCertificate(true).raw;
      socket.end();
      resolve(new X509Certificate(der));
    });
    socket.once('error', reject);
  });
  return [spkiHash(leaf), spkiHash(ca)].join(',');
}

/** Chromium with a fresh profile, sized like a tablet in landscape. */
export async function launchBrowser({ viewport = LANDSCAPE, args = [] } = {}) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'coaster-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the dashboard and collects page errors and console errors. `allow`
 * lists console errors a test provokes on purpose (a refused reconnect).
 */
export async function openApp(context, url, { allow = [], live = true } = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow.some((re) => re.test(m.text()))) {
      errors.push(`console: ${m.text()}`);
    }
  });
  await page.goto(`${url}/`);
  if (live) await waitLive(page);
  return { page, errors };
}

/** The app has mounted and its overlay is gone: the board is current. */
export async function waitLive(page, timeout = 20_000) {
  await page.getByTestId('tab-board').waitFor({ timeout });
  await page.getByTestId('overlay').waitFor({ state: 'detached', timeout });
}

export const row = (page, number) => page.getByTestId(`row-${number}`);

/** Adds a party through the keypad dialog; returns the pager number it got. */
export async function addParty(page, { number, name, size, goal } = {}) {
  await page.getByTestId('add-party').click();
  const dialog = page.getByTestId('add-dialog');
  if (number !== undefined) {
    for (const digit of String(number)) await dialog.getByTestId(`key-${digit}`).click();
  }
  if (name) await dialog.getByTestId('name-input').fill(name);
  if (size !== undefined) {
    for (let s = 2; s < size; s++) await dialog.getByTestId('size-plus').click();
    for (let s = 2; s > size; s--) await dialog.getByTestId('size-minus').click();
  }
  if (goal !== undefined) await dialog.getByTestId(`goal-${goal}`).click();
  const got = Number(await dialog.getByTestId('number-display').textContent());
  await dialog.getByTestId('add-submit').click();
  await dialog.waitFor({ state: 'detached', timeout: 30_000 });
  await row(page, got).waitFor();
  return got;
}

/**
 * Taps an action on a row and waits for the transmitter's verdict (a ✓, a
 * failure, or the row leaving the board); a failure is retried with the row's
 * Retry, as a host would. Resolves with the last status text.
 */
export async function act(page, number, testid, { retries = 4, confirm = false } = {}) {
  const selector = `[data-testid=row-${number}]`;
  // A ✓ from the previous tap must fade first, or it would read as this tap's.
  await page.waitForFunction(
    (sel) => !(document.querySelector(sel)?.querySelector('[data-testid=row-status]')?.textContent ?? '').startsWith('✓'),
    selector,
    { timeout: 10_000, polling: 100 },
  );
  await row(page, number).getByTestId(testid).click();
  if (confirm === 'if-asked') {
    // The dialog opens on the tap itself, or not at all.
    const ok = page.getByTestId('confirm-ok');
    if (await ok.waitFor({ timeout: 2_000 }).then(() => true, () => false)) await ok.click();
  } else if (confirm) {
    await page.getByTestId('confirm-ok').click();
  }
  for (let attempt = 0; ; attempt++) {
    const text = await page.waitForFunction(
      (sel) => {
        const el = document.querySelector(sel);
        if (!el) return 'gone';
        const status = el.querySelector('[data-testid=row-status]')?.textContent ?? '';
        return status && !status.includes('…') ? status : false;
      },
      selector,
      { timeout: 90_000, polling: 100 },
    ).then((handle) => handle.jsonValue());
    if (text === 'gone' || text.startsWith('✓')) return text;
    if (attempt >= retries) throw new Error(`row ${number} ${testid} failed: ${text}`);
    await row(page, number).getByTestId('retry').click();
  }
}

/**
 * Sends one command over a WebSocket of its own, as another tablet would,
 * and resolves with the proxy's reply.
 */
export async function command(page, cmd) {
  return page.evaluate(
    (cmd) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
        const op = `e2e-${Math.random().toString(36).slice(2)}`;
        ws.onopen = () => ws.send(JSON.stringify({ op, command: cmd }));
        ws.onmessage = (e) => {
          const msg = JSON.parse(e.data);
          if ((msg.type === 'reply' || msg.type === 'error') && msg.op === op) {
            ws.close();
            resolve(msg);
          }
        };
        ws.onerror = () => reject(new Error('socket error'));
        setTimeout(() => reject(new Error('no reply in 30 s')), 30_000);
      }),
    cmd,
  );
}

/** Types a PIN on the PIN screen's pad and taps OK. */
export async function enterPin(page, pin) {
  for (const digit of pin) await page.getByTestId(`pin-key-${digit}`).click();
  await page.getByTestId('pin-ok').click();
}

/** Taps the theme button until the page is dark. */
export async function dark(page) {
  for (let i = 0; i < 3 && (await page.evaluate(() => document.documentElement.dataset.theme)) != 'dark'; i++) {
    await page.getByTestId('theme').click();
  }
  const theme = await page.evaluate(() => document.documentElement.dataset.theme);
  if (theme != 'dark') throw new Error(`the theme button never gave the dark theme (${theme})`);
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}
