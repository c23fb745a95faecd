// README's run command, as a new user types it: scripts/run.sh builds what it
// must and serves a working board on its first start. Prints how long that took.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  launchBrowser, openApp, root, spawnUntil, stop,
} from './lib/harness.mjs';

test('scripts/run.sh serves a live board on its first start', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'coaster-run-'));
  const started = Date.now();
  // On a clean checkout this builds the dashboard and the proxy first.
  const { child, match } = await spawnUntil(
    path.join(root, 'scripts/run.sh'),
    ['--listen', '127.0.0.1:0', '--data-dir', dataDir],
    /coaster listening on (http:\/\/[^\s/]+)\//,
    30 * 60_000,
  );
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openApp(browser.context, match[1]);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`scripts/run.sh: live board ${seconds} s after the command started`);
    assert.match(await page.getByTestId('device-status').textContent(), /Simulated/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
