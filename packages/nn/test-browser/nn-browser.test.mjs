/**
 * @ghostflow/nn/browser in headless Chromium (playwright-core, /usr/bin/chromium): weights to
 * and from IndexedDB, download (a real browser download event), loadFromUrl with progress
 * events, training in a module Web Worker with streamed progress, stop and errors, and
 * trainLoop yielding to the event loop. Vite's dev server serves the packages' sources.
 *
 * Run: `node --test test-browser/` in packages/nn.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as vite from 'vite';
import { SKIP, browserHarness, sourceAlias } from '../../../tools/browser-test/harness.mjs';

const h = browserHarness({ vite, chromium });
const alias = sourceAlias({
  '@ghostflow/nn/browser': 'nn/src/browser.ts',
  '@ghostflow/nn': 'nn/src/index.ts',
  '@ghostflow/core': 'core/src/index.ts',
  '@ghostflow/backend-cpu': 'backend-cpu/src/index.ts',
});

/** A safetensors file built by hand: F32 'big' [64, 1024] = i * 0.5, served in chunks with a Content-Length. */
function weightsFile() {
  const n = 64 * 1024;
  const header = JSON.stringify({ big: { dtype: 'F32', shape: [64, 1024], data_offsets: [0, n * 4] } });
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const buf = Buffer.alloc(8 + padded.length + n * 4);
  buf.writeBigUInt64LE(BigInt(padded.length), 0);
  buf.write(padded, 8, 'utf8');
  for (let i = 0; i < n; i++) buf.writeFloatLE(i * 0.5, 8 + padded.length + i * 4);
  return buf;
}
const FILE = weightsFile();

let page;

before(async () => {
  if (SKIP) return;
  const url = await h.serve({
    root: fileURLToPath(new URL('page/', import.meta.url)),
    resolve: { alias },
    worker: { format: 'es' },
    // 404 for unknown paths (the default SPA fallback would answer index.html with 200).
    appType: 'mpa',
    plugins: [
      {
        name: 'weights',
        configureServer(s) {
          s.middlewares.use((req, res, next) => {
            if (req.url !== '/weights.safetensors') return next();
            res.setHeader('Content-Type', 'application/octet-stream');
            res.setHeader('Content-Length', String(FILE.length));
            // Several chunks, so progress has something to report.
            let at = 0;
            const push = () => {
              if (at >= FILE.length) return res.end();
              res.write(FILE.subarray(at, at + 65536));
              at += 65536;
              setTimeout(push, 5);
            };
            push();
          });
        },
      },
    ],
  });
  const browser = await h.launch();
  page = await browser.newPage({ acceptDownloads: true });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
});

after(() => h.close());

test(
  'IndexedDB: save, list, load (same values), a missing key names the stored ones, delete',
  { timeout: 60_000, skip: SKIP },
  async () => {
    const r = await page.evaluate(() => window.checks.indexedDB());
    assert.ok(r.bytes > 8 + 3 * 2 * 4, `stored ${r.bytes} bytes`);
    assert.deepEqual(r.keys, ['lin']);
    assert.equal(r.same, true);
    assert.match(r.missing, /expected weights under 'nope'.*stored: lin/);
    assert.deepEqual(r.after, []);
  },
);

test('download: the browser receives a .safetensors file with the bytes', { timeout: 60_000, skip: SKIP }, async () => {
  const [dl, r] = await Promise.all([page.waitForEvent('download'), page.evaluate(() => window.checks.download())]);
  assert.equal(dl.suggestedFilename(), 'weights.safetensors');
  const path = await dl.path();
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(path);
  assert.equal(bytes.length, r.size);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.deepEqual(JSON.parse(bytes.subarray(8, 8 + n).toString()).w, { dtype: 'F32', shape: [3], data_offsets: [0, 12] });
  assert.deepEqual(
    [0, 1, 2].map((i) => bytes.readFloatLE(8 + n + 4 * i)),
    [1, 2, 3],
  );
});

test('loadFromUrl: values, progress events up to the Content-Length, HTTP errors named', { timeout: 60_000, skip: SKIP }, async () => {
  const r = await page.evaluate(() => window.checks.loadFromUrl('/weights.safetensors'));
  assert.deepEqual(r.names, ['big']);
  assert.deepEqual(r.big, [64, 1024]);
  assert.deepEqual(r.first, [0, 0.5, 1]);
  assert.ok(r.events.length >= 3, `only ${r.events.length} progress events`);
  assert.deepEqual(r.events[0], { loaded: 0, total: FILE.length, fraction: 0 });
  assert.deepEqual(r.events.at(-1), { loaded: FILE.length, total: FILE.length, fraction: 1 });
  for (let i = 1; i < r.events.length; i++) assert.ok(r.events[i].loaded >= r.events[i - 1].loaded);
  assert.match(r.httpError, /expected HTTP 2xx for '\/missing.safetensors', got 404/);
});

test(
  'trainInWorker: a module worker trains, streams every step, stops on abort, reports errors',
  { timeout: 90_000, skip: SKIP },
  async () => {
    const r = await page.evaluate(() => window.checks.worker());
    assert.equal(r.losses.length, 15);
    assert.deepEqual(
      r.progress.map((p) => p.step),
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      r.progress.map((p) => p.loss),
      r.losses,
    );
    assert.ok(r.losses.at(-1) < r.losses[0] * 0.8, `loss should fall: ${r.losses[0]} -> ${r.losses.at(-1)}`);
    assert.deepEqual(r.extra, { inWorker: true });
    assert.match(r.failure, /the worker failed: Error: bad config/);
    assert.equal(r.stopped.stopped, true);
    assert.ok(r.stopped.steps >= 3 && r.stopped.steps < 100, `stopped after ${r.stopped.steps} steps`);
  },
);

test('trainLoop yields: timers run while 40 busy steps train', { timeout: 60_000, skip: SKIP }, async () => {
  const r = await page.evaluate(() => window.checks.responsive());
  assert.equal(r.steps, 40);
  // ~400 ms of steps; without yielding the 5 ms interval would not fire at all until the end.
  assert.ok(r.ticks >= 10, `the interval fired ${r.ticks} times during ${r.ms.toFixed(0)} ms of training`);
});
