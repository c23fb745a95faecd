// P4's size half as a test: what a tablet downloads before its first board
// (the wasm, every script and the loader inline in index.html, each gzip -9)
// stays within 150 KiB. The benchmark reports the same figure; this makes a
// change that breaks the budget fail CI instead of waiting for the next bench.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { distDir } from './lib/harness.mjs';

const BUDGET = 150 * 1024;

const gzipped = (bytes) => zlib.gzipSync(bytes, { level: 9 }).length;

test('the first load fits the 150 KiB gzip budget', () => {
  const files = readdirSync(distDir).filter((f) => f.endsWith('.wasm') || f.endsWith('.js'));
  assert.ok(files.some((f) => f.endsWith('.wasm')), `no wasm in ${distDir}: build the dashboard first`);
  const html = readFileSync(path.join(distDir, 'index.html'), 'utf8');
  const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  assert.ok(inline.join('').length > 0, 'index.html has no inline loader: the pattern no longer matches it');
  const parts = files.map((f) => [f, gzipped(readFileSync(path.join(distDir, f)))]);
  parts.push(['inline scripts', gzipped(Buffer.from(inline.join('\n')))]);
  const total = parts.reduce((sum, [, size]) => sum + size, 0);
  const table = parts.map(([f, size]) => `${f}: ${(size / 1024).toFixed(1)} KiB`).join(', ');
  console.log(`first load ${(total / 1024).toFixed(1)} KiB gzip (${table})`);
  assert.ok(total <= BUDGET, `first load is ${(total / 1024).toFixed(1)} KiB gzip, over 150 KiB: ${table}`);
});

// frontend/link-wasm.sh drops the exports of wasm-streams' classes (server_fn
// brings them; the app has no server functions). Safe only while nothing in
// the app builds such a stream: its glue would then import a constructor.
test('the wasm exports no wasm-streams stream methods, and builds no such stream', () => {
  const glue = readdirSync(distDir).filter((f) => f.endsWith('.js') && f !== 'sw.js');
  assert.ok(glue.length > 0, `no wasm-bindgen glue in ${distDir}: build the dashboard first`);
  for (const f of glue) {
    const js = readFileSync(path.join(distDir, f), 'utf8');
    assert.doesNotMatch(js, /new_with_into_underlying/, `${f} builds a wasm-streams stream: remove frontend/link-wasm.sh`);
    assert.doesNotMatch(js, /intounderlying(byte)?(source|sink)_(?!free)/, `${f}: the wasm still exports wasm-streams' methods`);
  }
});
