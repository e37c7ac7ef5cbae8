/**
 * The cpu backend in headless Chromium (playwright-core on the system's /usr/bin/chromium),
 * one page served by a Vite dev server under four header sets:
 *
 * 1. cross-origin isolated (COOP + COEP), no CSP: wasm path, threads = the machine's cores;
 * 2. no COOP/COEP: one thread, getCpuThreads() says 1, one warning naming both headers;
 * 3. isolated, CSP without 'wasm-unsafe-eval': the JS path, one warning naming it;
 * 4. isolated, CSP with `worker-src 'self'` (Blob-URL workers blocked): whenThreadsReady()
 *    resolves within seconds (not a 10 s timeout), one thread, a warning naming worker-src blob:.
 *
 * Run: `node --test test-browser/` in packages/backend-cpu (no build: Vite serves the sources).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as vite from 'vite';
import { SKIP, browserHarness, packageAlias } from '../../../tools/browser-test/harness.mjs';

const h = browserHarness({ vite, chromium });

const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
/** Response headers of the page per `?mode=`. */
const MODES = {
  isolated: ISOLATED,
  plain: {},
  'csp-no-wasm': { ...ISOLATED, 'Content-Security-Policy': "script-src 'self'; worker-src 'self' blob:" },
  'csp-workers': { ...ISOLATED, 'Content-Security-Policy': "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'" },
};

let browser;
let base;

before(async () => {
  if (SKIP) return;
  base = await h.serve({
    root: fileURLToPath(new URL('page/', import.meta.url)),
    resolve: { alias: packageAlias(['core', 'backend-cpu']) },
    plugins: [
      {
        name: 'headers-per-mode',
        configureServer(s) {
          s.middlewares.use((req, res, next) => {
            const url = new URL(req.url ?? '/', 'http://x');
            // The page's mode decides its headers; the policies apply to the document only.
            if (url.pathname === '/') for (const [k, v] of Object.entries(MODES[url.searchParams.get('mode')] ?? {})) res.setHeader(k, v);
            next();
          });
        },
      },
    ],
  });
  browser = await h.launch();
});

after(() => h.close());

async function load(mode) {
  const page = await browser.newPage();
  await page.goto(`${base}?mode=${mode}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 });
  const r = await page.evaluate(() => window.__cpu);
  await page.close();
  assert.equal(r.error, undefined, `page failed: ${r.error}`);
  assert.ok(r.finite, 'the GEMM result is not finite');
  return r;
}

test("cross-origin isolated: wasm and the machine's threads, no warning", { timeout: 90_000, skip: SKIP }, async (t) => {
  const r = await load('isolated');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.isolated, true);
  assert.notEqual(r.path, 'js');
  assert.equal(r.threads, r.hardwareConcurrency);
  assert.equal(r.getCpuThreads, r.hardwareConcurrency);
  assert.equal(r.limitedBy, null);
  assert.deepEqual(r.warnings, []);
});

test('without COOP/COEP: one thread, getCpuThreads() says so, one warning with the headers', { timeout: 90_000, skip: SKIP }, async (t) => {
  const r = await load('plain');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.isolated, false);
  assert.notEqual(r.path, 'js');
  assert.equal(r.threads, 1);
  assert.equal(r.getCpuThreads, 1);
  if (r.hardwareConcurrency > 1) {
    assert.equal(r.warnings.length, 1, `expected one warning, got ${JSON.stringify(r.warnings)}`);
    assert.match(r.warnings[0], /Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    assert.match(r.limitedBy, /not cross-origin isolated/);
  }
});

test("CSP without 'wasm-unsafe-eval': the JS path, one warning naming it", { timeout: 90_000, skip: SKIP }, async (t) => {
  const r = await load('csp-no-wasm');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.path, 'js');
  assert.equal(r.threads, 1);
  assert.equal(r.getCpuThreads, 1);
  assert.equal(r.warnings.length, 1, `expected one warning, got ${JSON.stringify(r.warnings)}`);
  assert.match(r.warnings[0], /'wasm-unsafe-eval'/);
  assert.match(r.limitedBy, /'wasm-unsafe-eval'/);
});

test(
  'CSP blocking Blob-URL workers: whenThreadsReady() settles fast, one thread, a warning naming worker-src blob:',
  { timeout: 90_000, skip: SKIP },
  async (t) => {
    const r = await load('csp-workers');
    t.diagnostic(JSON.stringify(r));
    assert.notEqual(r.path, 'js');
    assert.ok(r.readyMs < 5000, `whenThreadsReady took ${r.readyMs} ms`);
    if (r.hardwareConcurrency > 1) {
      assert.equal(r.threads, 1);
      assert.equal(r.warnings.length, 1, `expected one warning, got ${JSON.stringify(r.warnings)}`);
      assert.match(r.warnings[0], /worker-src 'self' blob:/);
    }
  },
);
