/**
 * Browser tests for @ghostflow/backend-webgpu, in headless Chromium on WebGPU (SwiftShader
 * when the machine has no GPU), driven by playwright-core with the system's chromium
 * (`/usr/bin/chromium`, Debian's package; never a downloaded browser):
 *
 * 1. training parity: the page in ./page runs the same seeded training loop on 'webgpu'
 *    and on 'cpu'; webgpu's loss must fall and match cpu's step by step within
 *    LOSS_RTOL (relative), and webgpu's buffer count must stay flat;
 * 2. the playground (apps/playground): pick webgpu, train a few steps, wait for the loss
 *    curve, screenshot it to test-output/playground.png, check the loss fell.
 *
 * Run: `node --test packages/backend-webgpu/test-browser/` (or `pnpm --filter
 * @ghostflow/backend-webgpu test:browser`). No build needed: Vite serves the packages'
 * TypeScript sources. Env: CHROMIUM (browser path), GHOSTFLOW_BROWSER_BACKENDS=cpu (check
 * only the cpu side: for working on the page while webgpu is unavailable).
 *
 * WebGPU needs a secure context: pages are served from http://127.0.0.1 (about:blank and
 * data: URLs have no navigator.gpu even with the flags).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as vite from 'vite';
import { BASE_ARGS, ROOT, SKIP, browserHarness, packageAlias } from '../../../tools/browser-test/harness.mjs';

const h = browserHarness({ vite, chromium });
const PLAYGROUND = new URL('apps/playground/', ROOT);
const OUTPUT = new URL('test-output/', ROOT);
// As vitest.workspace-alias.ts (which Node cannot import): the packages' TypeScript sources.
const workspaceAlias = packageAlias(['core', 'backend-cpu', 'nn', 'backend-webgpu']);

/** Relative tolerance between webgpu's and cpu's loss at each step (float32 on both sides). */
const LOSS_RTOL = 1e-3;
const PARITY_STEPS = 20;
const PLAYGROUND_STEPS = 30;
const ONLY_CPU = process.env.GHOSTFLOW_BROWSER_BACKENDS === 'cpu';
if (SKIP) console.warn(`@ghostflow/backend-webgpu browser tests SKIPPED: ${SKIP}`);

/**
 * The flags that give headless Chromium a WebGPU adapter on a machine without a GPU
 * (Chromium 156, Debian): --enable-unsafe-webgpu alone is enough; Chromium falls back to
 * its bundled SwiftShader Vulkan (adapter "google swiftshader", isFallbackAdapter).
 * --use-webgpu-adapter=swiftshader and --enable-features=Vulkan --use-angle=swiftshader
 * make the choice explicit and do not change it. The rest keep it offline and quiet.
 */
export const CHROMIUM_ARGS = [
  ...BASE_ARGS,
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let browser;
const logs = [];
const serve = (config) => h.serve(config);

let playgroundUrl;
/** The playground's dev server (its own vite.config.ts), started once. */
async function servePlayground() {
  playgroundUrl ??= await serve({ configFile: fileURLToPath(new URL('vite.config.ts', PLAYGROUND)), root: fileURLToPath(PLAYGROUND) });
  return playgroundUrl;
}

async function openPage(url) {
  const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  page.on('console', (m) => logs.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.on('response', (r) => r.status() >= 400 && logs.push(`[http ${r.status()}] ${r.url()}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return page;
}

before(async () => {
  if (SKIP) return;
  browser = await h.launch(CHROMIUM_ARGS);
});

after(async () => {
  await h.close();
  // The pages' console, errors and failed requests, for debugging a failure.
  mkdirSync(OUTPUT, { recursive: true });
  writeFileSync(new URL('browser-console.log', OUTPUT), `${logs.join('\n')}\n`);
});

test(
  `webgpu training matches cpu in the browser (${PARITY_STEPS} steps, rtol ${LOSS_RTOL})`,
  { timeout: 60_000, skip: SKIP },
  async (t) => {
    const url = await serve({
      configFile: false,
      root: fileURLToPath(new URL('page/', import.meta.url)),
      resolve: { alias: workspaceAlias },
    });
    const page = await openPage(url);
    t.diagnostic(`adapter: ${await page.evaluate(() => window.adapterInfo())}`);
    const cpu = await page.evaluate((n) => window.runTraining('cpu', n), PARITY_STEPS);
    assert.equal(cpu.error, undefined, `cpu run failed: ${cpu.error}`);
    t.diagnostic(`cpu    ${cpu.ms.toFixed(0)} ms: ${cpu.losses.map((v) => v.toFixed(4)).join(' ')}`);
    assert.ok(cpu.losses.at(-1) < cpu.losses[0] * 0.8, `cpu loss should fall: ${cpu.losses[0]} -> ${cpu.losses.at(-1)}`);
    if (ONLY_CPU) {
      t.skip('GHOSTFLOW_BROWSER_BACKENDS=cpu: webgpu side not checked');
      return;
    }
    const gpu = await page.evaluate((n) => window.runTraining('webgpu', n), PARITY_STEPS);
    assert.equal(gpu.error, undefined, `webgpu run failed: ${gpu.error}`);
    assert.equal(gpu.backend, 'webgpu');
    t.diagnostic(`webgpu ${gpu.ms.toFixed(0)} ms: ${gpu.losses.map((v) => v.toFixed(4)).join(' ')}`);
    assert.equal(gpu.losses.length, PARITY_STEPS);
    assert.ok(gpu.losses.at(-1) < gpu.losses[0] * 0.8, `webgpu loss should fall: ${gpu.losses[0]} -> ${gpu.losses.at(-1)}`);
    let worst = 0;
    gpu.losses.forEach((v, i) => {
      const rel = Math.abs(v - cpu.losses[i]) / Math.abs(cpu.losses[i]);
      worst = Math.max(worst, rel);
      assert.ok(
        rel <= LOSS_RTOL,
        `step ${i}: webgpu loss ${v} vs cpu ${cpu.losses[i]} (relative difference ${rel.toExponential(2)} > ${LOSS_RTOL})`,
      );
    });
    t.diagnostic(`largest relative difference webgpu vs cpu: ${worst.toExponential(2)}`);
    assert.equal(gpu.buffersAfterLast, gpu.buffersAfterFirst, 'webgpu buffer count grew during training');
    t.diagnostic(`webgpu compute passes dispatched: ${gpu.dispatches}`);
    assert.ok(gpu.dispatches > PARITY_STEPS * 10, `webgpu dispatched only ${gpu.dispatches} compute passes: did the work run on the GPU?`);
  },
);

test(
  `playground trains on webgpu and draws a falling loss curve (${PLAYGROUND_STEPS} steps)`,
  { timeout: 80_000, skip: SKIP },
  async (t) => {
    const page = await openPage(await servePlayground());
    const backend = ONLY_CPU ? 'cpu' : 'webgpu';
    const webgpu = await page.evaluate(() => window.__playground.webgpu);
    t.diagnostic(`playground's webgpu probe: ${JSON.stringify(webgpu)}`);
    if (!ONLY_CPU) assert.ok(webgpu.available, `the playground says webgpu is unavailable: ${webgpu.reason}`);
    await page.check(`#backend-${backend}`);
    await page.fill('#steps', String(PLAYGROUND_STEPS));
    const blank = await page.evaluate(() => document.getElementById('loss').toDataURL());
    await page.click('#train');
    // The curve updates while training: wait for a few steps to be drawn mid-run.
    await page.waitForFunction(() => Number(document.getElementById('status').dataset.steps) >= 3, null, { timeout: 30_000 });
    const midway = await page.evaluate(() => document.getElementById('loss').toDataURL());
    assert.notEqual(midway, blank, 'the loss canvas did not change during training');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, {
      timeout: 60_000,
    });
    await page.waitForFunction(() => window.__playground.sample.length > 0 || window.__playground.state === 'error', null, {
      timeout: 15_000,
    });
    const s = await page.evaluate(() => window.__playground);
    mkdirSync(OUTPUT, { recursive: true });
    const shot = fileURLToPath(new URL('playground.png', OUTPUT));
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    t.diagnostic(`status: ${await page.textContent('#status')}`);
    t.diagnostic(`sample: ${JSON.stringify(s.sample)}`);
    assert.equal(s.error, undefined, `training failed: ${s.error}`);
    assert.equal(s.backend, backend);
    assert.equal(s.losses.length, PLAYGROUND_STEPS);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(s.losses.slice(0, 5));
    const last = mean(s.losses.slice(-5));
    assert.ok(last < first * 0.85, `the playground's loss should fall: first 5 steps ${first.toFixed(3)}, last 5 ${last.toFixed(3)}`);
    const shown = await page.textContent('#status');
    assert.match(shown, new RegExp(`^${backend}: done after ${PLAYGROUND_STEPS} steps`));
  },
);

test('playground greys out webgpu, with the reason, when the browser has none', { timeout: 30_000, skip: SKIP }, async () => {
  const url = await servePlayground();
  const page = await browser.newPage();
  // A browser without WebGPU: navigator.gpu is undefined.
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  assert.equal(await page.isDisabled('#backend-webgpu'), true, 'webgpu should be disabled');
  assert.equal(await page.isEnabled('#backend-cpu'), true, 'cpu should stay available');
  assert.match(await page.getAttribute('#label-webgpu', 'class'), /unavailable/);
  assert.match(await page.textContent('#reason-webgpu'), /^unavailable: navigator\.gpu is undefined/);
  await page.close();
});
