/**
 * Bundles tiny apps against the BUILT packages with esbuild (tree-shaking and minification on,
 * ESM and CJS) and runs them, to prove that bundlers keep the two module side effects GhostFlow
 * relies on:
 * - `@ghostflow/core` installs the chainable Tensor methods (`x.add(y)`, ...) and wires the
 *   autograd engine when its entry is evaluated (`sideEffects` lists its entry files);
 * - `@ghostflow/backend-cpu` registers the `cpu` backend when imported for side effects only
 *   (`import '@ghostflow/backend-cpu'`; its `sideEffects` lists its entry files).
 *
 *   npx --yes pnpm@9.15.9 check:bundle
 *
 * It also type-checks `types/esm.mts` and `types/cjs.cts` against the built declaration files
 * (node16 resolution, so `dist/index.d.ts` and `dist/index.d.cts`): the chainable methods must be
 * visible on `Tensor` there too.
 *
 * Browser: a small web app (core + nn + nn/browser + backend-cpu + backend-webgpu: an LSTM
 * trained with trainLoop, weights to IndexedDB) is bundled from the built packages with esbuild
 * (`platform: 'browser'`) and with Vite (a production build); ANY warning or error fails the
 * check (a Node import reaching a browser bundle shows up as one). The sizes (minified and
 * gzip) are printed: docs/guide/web.md quotes them. The LSTM-only app is measured too.
 *
 * Exits 1 when a check fails. Bundles go to tools/check-bundle/out (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = `${here}out`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** Each app prints one JSON line; `expect` is what it must print. */
const APPS = {
  // Uses a function and chained methods: the methods come only from core's side effect.
  methods: {
    source: `
      import { tensor, tidy } from '@ghostflow/core';
      import '@ghostflow/backend-cpu';
      const v = tidy(() => tensor([1, 2, 3]).add(1).mul(2).sum().itemSync());
      console.log(JSON.stringify({ v }));`,
    expect: { v: 18 },
  },
  // Imports only a class from core: the prototype must still carry the methods.
  prototype: {
    source: `
      import { Tensor } from '@ghostflow/core';
      console.log(JSON.stringify({ add: typeof Tensor.prototype.add, backward: typeof Tensor.prototype.backward }));`,
    expect: { add: 'function', backward: 'function' },
  },
  // The backend imported for side effects only must still register itself.
  registration: {
    source: `
      import '@ghostflow/backend-cpu';
      import { listBackends, getBackendName } from '@ghostflow/core';
      console.log(JSON.stringify({ backends: listBackends(), active: getBackendName() }));`,
    expect: { backends: ['cpu'], active: 'cpu' },
  },
  // Autograd through the bundled engine (engine-ops is another core side effect).
  autograd: {
    source: `
      import { tensor } from '@ghostflow/core';
      import '@ghostflow/backend-cpu';
      const x = tensor([1, 2, 3], { requiresGrad: true });
      x.mul(x).sum().backward();
      console.log(JSON.stringify({ grad: Array.from(x.grad.dataSync()) }));`,
    expect: { grad: [2, 4, 6] },
  },
};

/** Rewrites this file's own simple import lines as require() calls. */
function toRequire(source) {
  return source.replace(/import \{([^}]*)\} from ('[^']+');/g, 'const {$1} = require($2);').replace(/import ('[^']+');/g, 'require($1);');
}

let failures = 0;
const src = (pkg) => fileURLToPath(new URL(`../../packages/${pkg}/src/index.ts`, import.meta.url));
/**
 * esm/cjs: the built dist files through the exports map, as an app installing the packages gets them.
 * src: the TypeScript sources (as a monorepo alias or a source-consuming bundler sees them); there
 * core's side effects are separate modules (`import './tensor/methods.js'`), so this is the variant
 * that fails if core's "sideEffects" stops listing them.
 */
const VARIANTS = [
  { label: 'esm', format: 'esm' },
  { label: 'cjs', format: 'cjs' },
  { label: 'src', format: 'esm', alias: { '@ghostflow/core': src('core'), '@ghostflow/backend-cpu': src('backend-cpu') } },
];

for (const { label, format, alias } of VARIANTS) {
  for (const [name, app] of Object.entries(APPS)) {
    // The CJS variant require()s, so the bundler resolves the packages' "require" exports (dist/*.cjs).
    const entry = `${out}/${name}.${label}.entry.${format === 'esm' ? 'mjs' : 'cjs'}`;
    writeFileSync(entry, format === 'esm' ? app.source : toRequire(app.source));
    const outfile = `${out}/${name}.${label}.${format === 'esm' ? 'mjs' : 'cjs'}`;
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format,
      platform: 'node',
      target: 'node20',
      treeShaking: true,
      minify: true,
      logLevel: 'error',
      alias,
      // resolve the packages the way a user's bundler would: through node_modules and exports maps
      absWorkingDir: here,
    });
    const size = statSync(outfile).size;
    let got;
    try {
      got = JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8', stdio: 'pipe' }).trim().split('\n').pop());
    } catch (e) {
      const lines = (e.stderr || e.message || String(e)).toString().split('\n');
      got = {
        error: (
          lines.find((l) => /^[\w$]+( \[[\w$]+\])?: /.test(l) && l.includes('Error')) ??
          lines.filter((l) => l.trim()).pop() ??
          ''
        ).slice(0, 200),
      };
    }
    const ok = JSON.stringify(got) === JSON.stringify(app.expect);
    if (!ok) failures++;
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} ${label} ${name.padEnd(12)} ${(size / 1024).toFixed(1).padStart(7)} KiB  ${JSON.stringify(got)}${ok ? '' : `  expected ${JSON.stringify(app.expect)}`}`,
    );
  }
}
// Types: the built .d.ts/.d.cts must carry the Tensor methods.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', `${here}types`], { encoding: 'utf8', stdio: 'pipe' });
  console.log('ok   types: esm.mts (dist/index.d.ts) and cjs.cts (dist/index.d.cts) see the Tensor methods');
} catch (e) {
  failures++;
  console.log(`FAIL types: tsc -p tools/check-bundle/types\n${e.stdout || e.message}`);
}

// Browser bundles: esbuild --platform=browser and Vite, zero warnings allowed.
const BROWSER_APPS = {
  // What a web app uses: every package, the browser helpers, both backends.
  webapp: `
    import { ready, randn, tidy, manualSeed, getBackendName } from '@ghostflow/core';
    import '@ghostflow/backend-cpu';
    import '@ghostflow/backend-webgpu';
    import { LSTM, Linear, Adam, mseLoss } from '@ghostflow/nn';
    import { trainLoop, saveToIndexedDB, loadFromUrl } from '@ghostflow/nn/browser';
    const sel = await ready();
    manualSeed(0);
    const lstm = new LSTM(3, 8, { batchFirst: true });
    const head = new Linear(8, 1);
    const opt = new Adam([...lstm.parameters(), ...head.parameters()], { lr: 0.05 });
    const x = randn([4, 6, 3]);
    const y = x.sum(-1).sum(-1, true).mul(0.1);
    const { losses } = await trainLoop({
      steps: 5,
      step: async () => {
        const loss = tidy(() => { opt.zeroGrad(); const [out] = lstm.forward(x); const l = mseLoss(head.forward(out.select(1, -1)), y); l.backward(); opt.step(); return l.detach(); });
        const v = await loss.item(); loss.dispose(); return v;
      },
    });
    document.body.textContent = JSON.stringify({ backend: getBackendName(), sel, losses });
    if (location.hash === '#save') await saveToIndexedDB('m', lstm);
    if (location.hash === '#url') await loadFromUrl('/m.safetensors');`,
  // The smallest useful app: an LSTM forward pass on the cpu backend (what the web guide quotes).
  lstm: `
    import { randn, noGrad } from '@ghostflow/core';
    import '@ghostflow/backend-cpu';
    import { LSTM } from '@ghostflow/nn';
    const lstm = new LSTM(8, 16);
    const [out] = noGrad(() => lstm.forward(randn([5, 1, 8])));
    document.body.textContent = String(out.shape);`,
};

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const sizes = (files) => {
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const b = readFileSync(f);
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  return `${kib(raw)} minified, ${kib(gz)} gzip`;
};

for (const [name, source] of Object.entries(BROWSER_APPS)) {
  const dir = `${out}/browser-${name}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/main.js`, source);
  writeFileSync(`${dir}/index.html`, '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>\n');
  // esbuild, as `esbuild main.js --bundle --platform=browser --format=esm --minify` would.
  const problems = [];
  try {
    const result = await build({
      entryPoints: [`${dir}/main.js`],
      outfile: `${dir}/esbuild/main.js`,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      logLevel: 'silent',
      absWorkingDir: here,
    });
    for (const w of result.warnings)
      problems.push(`esbuild warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  } catch (e) {
    for (const err of e.errors ?? [{ text: e.message }])
      problems.push(`esbuild error: ${err.text}${err.location ? ` (${err.location.file}:${err.location.line})` : ''}`);
  }
  const esbuildOk = problems.length === 0;
  console.log(
    `${esbuildOk ? 'ok  ' : 'FAIL'} browser ${name.padEnd(7)} esbuild --platform=browser: ${esbuildOk ? sizes([`${dir}/esbuild/main.js`]) : ''}`,
  );
  for (const p of problems) console.log(`     ${p}`);
  failures += problems.length;

  // Vite production build; every warning it logs (or Rollup reports) counts.
  const vite = await import('vite');
  const viteProblems = [];
  const logger = vite.createLogger('warn', { allowClearScreen: false });
  const record = (kind) => (msg) => viteProblems.push(`vite ${kind}: ${String(msg).split('\n')[0]}`);
  logger.warn = record('warning');
  logger.warnOnce = record('warning');
  logger.error = record('error');
  try {
    await vite.build({
      configFile: false,
      root: dir,
      logLevel: 'warn',
      customLogger: logger,
      build: {
        outDir: `${dir}/vite`,
        emptyOutDir: true,
        target: 'es2022',
        reportCompressedSize: false,
        rollupOptions: { onwarn: (w) => viteProblems.push(`rollup warning: ${w.code ?? ''} ${w.message}`) },
      },
    });
  } catch (e) {
    viteProblems.push(`vite build failed: ${e.message.split('\n')[0]}`);
  }
  const viteOk = viteProblems.length === 0;
  const assets = viteOk
    ? readdirSync(`${dir}/vite/assets`)
        .filter((f) => f.endsWith('.js'))
        .map((f) => `${dir}/vite/assets/${f}`)
    : [];
  console.log(`${viteOk ? 'ok  ' : 'FAIL'} browser ${name.padEnd(7)} vite build:                 ${viteOk ? sizes(assets) : ''}`);
  for (const p of viteProblems) console.log(`     ${p}`);
  failures += viteProblems.length;
}

if (failures > 0) {
  console.error(
    `${failures} check(s) failed: a dropped side effect shows as missing methods or 'no backend is registered' (check "sideEffects" in the package.json files)`,
  );
  process.exit(1);
}
console.log(
  'all checks passed: tree-shaken bundles keep the Tensor methods and the backend registration; the types carry the methods; the browser app bundles with esbuild and Vite without a warning',
);
