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
 * Exits 1 when a check fails. Bundles go to tools/check-bundle/out (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

if (failures > 0) {
  console.error(
    `${failures} check(s) failed: a dropped side effect shows as missing methods or 'no backend is registered' (check "sideEffects" in the package.json files)`,
  );
  process.exit(1);
}
console.log('all checks passed: tree-shaken bundles keep the Tensor methods and the backend registration; the types carry the methods');
