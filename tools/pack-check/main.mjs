// Checks the published packages the way users get them: packed with `pnpm pack` (which turns
// `workspace:^` into real ranges).
//
//   node tools/pack-check/main.mjs lint      publint + @arethetypeswrong/cli on every tarball, plus
//                                            LICENSE present, no `workspace:` range, no `sourcesContent`
//                                            in source maps (run by `pnpm test`, after the build; offline)
//   node tools/pack-check/main.mjs install   plain `npm install` of core + nn + backend-cpu tarballs in an
//                                            empty folder outside the workspace (third-party deps such as
//                                            typescript come from the npm registry), then an ESM script, a
//                                            CJS script and `tsc --strict --module nodenext` train an LSTM for
//                                            a few steps, and a CJS script that requires core and nn and
//                                            imports the ESM backend (one registry for both; run by .ci/run)
//   node tools/pack-check/main.mjs kit       what a third-party backend author does, from the docs and npm
//                                            alone: core + nn + backend-cpu + backend-conformance tarballs
//                                            installed with npm in an empty folder outside the workspace,
//                                            a tiny backend 'acme' written there (its own Backend object,
//                                            every kernel delegated to backend-cpu's JS reference kernels,
//                                            the README's layout), and the kit run on it with vitest,
//                                            shipped PyTorch fixtures included (run by .ci/run)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { gunzipSync } from 'node:zlib';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PUBLISHED = ['core', 'nn', 'backend-cpu', 'backend-webgpu', 'backend-conformance'];
const PNPM = ['npx', ['--yes', 'pnpm@9.15.9']];

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
}

/** Packs every published package (or those in `only`) into `dest`; returns { name: tarball path }. */
function packAll(dest, only = PUBLISHED) {
  const out = {};
  for (const pkg of only) {
    const before = new Set(readdirSync(dest));
    run(PNPM[0], [...PNPM[1], 'pack', '--pack-destination', dest], { cwd: join(ROOT, 'packages', pkg) });
    const made = readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
    if (made.length !== 1) throw new Error(`pnpm pack in packages/${pkg} made ${made.length} tarballs`);
    out[pkg] = join(dest, made[0]);
  }
  return out;
}

/** The files of a .tgz: { path (without the leading `package/`): Buffer }. */
function untar(file) {
  const buf = gunzipSync(readFileSync(file));
  const files = {};
  for (let off = 0; off + 512 <= buf.length; ) {
    const name = buf
      .subarray(off, off + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    if (!name) break;
    const prefix = buf
      .subarray(off + 345, off + 500)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = Number.parseInt(
      buf
        .subarray(off + 124, off + 136)
        .toString('utf8')
        .trim() || '0',
      8,
    );
    const full = (prefix ? `${prefix}/${name}` : name).replace(/^package\//, '');
    files[full] = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

async function lint() {
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const dest = mkdtempSync(join(tmpdir(), 'ghostflow-pack-'));
  const problems = [];
  try {
    const tarballs = packAll(dest);
    for (const [pkg, tgz] of Object.entries(tarballs)) {
      const files = untar(tgz);
      const manifest = JSON.parse(files['package.json'].toString('utf8'));
      const label = `${manifest.name} (${(readFileSync(tgz).length / 1024).toFixed(0)} KiB packed, ${Object.keys(files).length} files)`;
      const own = [];
      if (!files.LICENSE) own.push('no LICENSE in the tarball');
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
          if (String(range).startsWith('workspace:')) own.push(`${field}.${dep} is still '${range}'`);
        }
      }
      for (const [path, body] of Object.entries(files)) {
        if (path.endsWith('.map') && 'sourcesContent' in JSON.parse(body.toString('utf8'))) own.push(`${path} embeds sourcesContent`);
      }
      for (const key of ['repository', 'homepage', 'bugs', 'keywords', 'author', 'license']) {
        if (!manifest[key]) own.push(`package.json has no '${key}'`);
      }
      const buf = readFileSync(tgz);
      const { messages, pkg: pj } = await publint({
        pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) },
        level: 'suggestion',
        strict: true,
      });
      for (const m of messages) own.push(`publint ${m.type}: ${formatMessage(m, pj, { color: false }) ?? m.code}`);
      try {
        run(join(ROOT, 'node_modules/.bin/attw'), [tgz, '--format', 'ascii'], { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        own.push(`@arethetypeswrong/cli:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      }
      console.log(`${own.length ? 'FAIL' : 'ok  '} ${label}`);
      for (const p of own) console.log(`     ${p}`);
      problems.push(...own.map((p) => `${pkg}: ${p}`));
    }
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
  if (problems.length) {
    console.error(`\n${problems.length} packaging problem(s)`);
    process.exit(1);
  }
  console.log('publint, attw and tarball checks passed for every published package');
}

const TRAIN = (imports) => `${imports}
// A few steps of an LSTM regressor, as a user's first script would.
manualSeed(0);
const lstm = new LSTM(3, 8, { batchFirst: true });
const head = new Linear(8, 1);
const params = [...lstm.parameters(), ...head.parameters()];
const opt = new Adam(params, { lr: 0.05 });
const x = randn([4, 6, 3]);
const y = x.sum(-1).sum(-1, true).mul(0.1);
const losses = [];
for (let step = 0; step < 20; step++) {
  opt.zeroGrad();
  const [out] = lstm.forward(x);
  const pred = head.forward(out.select(1, -1));
  const loss = mseLoss(pred, y);
  losses.push(loss.itemSync());
  loss.backward();
  opt.step();
}
if (!(losses[losses.length - 1] < losses[0] * 0.8)) throw new Error('did not learn: ' + losses.join(', '));
console.log(TAG, getBackendName(), 'loss', losses[0].toFixed(4), '->', losses[losses.length - 1].toFixed(4));
`;

function install() {
  const dest = mkdtempSync(join(tmpdir(), 'ghostflow-pack-'));
  const app = mkdtempSync(join(tmpdir(), 'ghostflow-user-'));
  try {
    const tarballs = packAll(dest);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'ghostflow-user', private: true, version: '0.0.0' }, null, 2));
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        tarballs.core,
        tarballs.nn,
        tarballs['backend-cpu'],
        'typescript@~5.7.2',
        '@types/node@^20.17.0',
      ],
      {
        cwd: app,
        stdio: 'inherit',
      },
    );
    const esm = TRAIN(
      "import { manualSeed, randn, getBackendName } from '@ghostflow/core';\nimport '@ghostflow/backend-cpu';\nimport { LSTM, Linear, Adam, mseLoss } from '@ghostflow/nn';\nconst TAG = 'esm:';",
    );
    writeFileSync(join(app, 'train.mjs'), esm);
    writeFileSync(
      join(app, 'train.cjs'),
      TRAIN(
        "const { manualSeed, randn, getBackendName } = require('@ghostflow/core');\nrequire('@ghostflow/backend-cpu');\nconst { LSTM, Linear, Adam, mseLoss } = require('@ghostflow/nn');\nconst TAG = 'cjs:';",
      ),
    );
    // The mix issue 12 found broken: CJS core and nn, the backend through import() (its ESM build).
    writeFileSync(
      join(app, 'dual.cjs'),
      `(async () => {\n${TRAIN(
        "const { manualSeed, randn, getBackendName } = require('@ghostflow/core');\nconst { LSTM, Linear, Adam, mseLoss } = require('@ghostflow/nn');\nawait import('@ghostflow/backend-cpu');\nconst TAG = 'cjs core + esm backend:';",
      )}})().catch((e) => { console.error(e); process.exit(1); });\n`,
    );
    mkdirSync(join(app, 'src'));
    writeFileSync(
      join(app, 'src/train.ts'),
      TRAIN(
        "import { manualSeed, randn, getBackendName, type Tensor } from '@ghostflow/core';\nimport '@ghostflow/backend-cpu';\nimport { LSTM, Linear, Adam, mseLoss } from '@ghostflow/nn';\nconst TAG: string = 'tsc:';\nconst _typed: Tensor | undefined = undefined;\nvoid _typed;",
      ).replace('const losses = [];', 'const losses: number[] = [];'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          outDir: 'out',
          types: ['node'],
          skipLibCheck: false,
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(app, 'src/package.json'), JSON.stringify({ type: 'module' }));
    for (const script of ['train.mjs', 'train.cjs', 'dual.cjs']) process.stdout.write(run('node', [script], { cwd: app }));
    run(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app, stdio: 'inherit' });
    writeFileSync(join(app, 'out/package.json'), JSON.stringify({ type: 'module' }));
    process.stdout.write(run('node', ['out/train.js'], { cwd: app }));
    console.log('the packed packages install with npm and train from ESM, CJS, mixed CJS/ESM and strict nodenext TypeScript');
  } finally {
    rmSync(dest, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  }
}

/**
 * The third-party backend: what writing-a-backend.md asks for, in plain ESM outside the
 * monorepo. It owns its Backend object (name, contract version, kernels, upload/read/dispose,
 * memory) and delegates the arithmetic to backend-cpu's exported JS kernel tables over a
 * CpuStore, as a third party prototyping on top of the reference kernels would.
 */
const ACME_BACKEND = `import { registerBackend, KERNEL_CONTRACT_VERSION, PRIMITIVE_KERNELS, allocArray } from '@ghostflow/core';
import { CPU_PRIMITIVE_KERNELS, CpuStore } from '@ghostflow/backend-cpu';

export function createAcmeBackend() {
  const store = new CpuStore();
  const kernels = {};
  for (const name of PRIMITIVE_KERNELS) kernels[name] = (...args) => CPU_PRIMITIVE_KERNELS[name](store, ...args);
  const readSync = (id, dtype, size) => {
    const buf = store.buffer(id);
    if (buf.dtype === dtype) return buf.data.slice(0, size);
    const out = allocArray(dtype, size);
    for (let i = 0; i < size; i++) out[i] = buf.data[i];
    return out;
  };
  return {
    name: 'acme',
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels,
    fused: {},
    upload(values, dtype) {
      const data = allocArray(dtype, values.length);
      data.set(values);
      return store.adopt(data, dtype);
    },
    read: async (id, dtype, size) => readSync(id, dtype, size),
    readSync,
    disposeData: (id) => store.dispose(id),
    memory: () => store.memory(),
    takeIndexFault: () => store.takeIndexFault(),
  };
}

registerBackend('acme', createAcmeBackend, { priority: 0, version: '0.0.1' });
`;

function kit() {
  const started = Date.now();
  const dest = mkdtempSync(join(tmpdir(), 'ghostflow-pack-'));
  const app = mkdtempSync(join(tmpdir(), 'ghostflow-acme-'));
  try {
    const tarballs = packAll(dest);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'acme-backend', private: true, version: '0.0.1', type: 'module' }, null, 2),
    );
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        tarballs.core,
        tarballs.nn,
        tarballs['backend-cpu'],
        tarballs['backend-conformance'],
        'vitest@^2.1.8',
      ],
      { cwd: app, stdio: 'inherit' },
    );
    writeFileSync(join(app, 'acme.js'), ACME_BACKEND);
    mkdirSync(join(app, 'test'));
    // The README's test file, word for word but for the names.
    writeFileSync(
      join(app, 'test/conformance.test.js'),
      "import '../acme.js';\nimport { runConformance } from '@ghostflow/backend-conformance';\n\nrunConformance({ backend: 'acme' });\n",
    );
    // The kit's leak census drains the GC net when gc() is exposed (its README's advice).
    writeFileSync(
      join(app, 'vitest.config.js'),
      "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { poolOptions: { forks: { execArgv: ['--expose-gc'] } } } });\n",
    );
    // The fixtures must come from the installed package, not an override.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GHOSTFLOW_TORCH_FIXTURES'));
    let out;
    try {
      out = run(join(app, 'node_modules/.bin/vitest'), ['run', '--reporter=dot', '--reporter=json', '--outputFile.json=report.json'], {
        cwd: app,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      process.stdout.write(`${e.stdout ?? ''}${e.stderr ?? ''}`);
      throw new Error('the conformance kit failed on the third-party backend (output above)');
    }
    const plain = stripVTControlCharacters(out);
    const summary = plain.split('\n').filter((l) => /^\s*(Test Files|Tests)\s/.test(l));
    for (const l of summary) console.log(l.trim());
    const report = JSON.parse(readFileSync(join(app, 'report.json'), 'utf8'));
    const tests = report.testResults.flatMap((f) => f.assertionResults);
    const passed = tests.filter((t) => t.status === 'passed');
    const fixtures = passed.filter((t) => t.fullName.includes('torch-fixtures'));
    console.log(`acme: ${passed.length} of ${tests.length} tests passed, ${fixtures.length} of them PyTorch fixture cases`);
    // A kit that silently skipped everything (e.g. fixtures not found) must not count as green.
    if (!report.success || passed.length < 1000)
      throw new Error(`expected the kit to pass well over 1000 tests on 'acme', got ${passed.length}`);
    if (fixtures.length < 10) throw new Error(`expected the shipped PyTorch fixtures to run, got ${fixtures.length} fixture tests`);
    console.log(
      `the conformance kit, installed from its tarball with npm, passes on a third-party backend outside the workspace (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  } finally {
    rmSync(dest, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
if (mode === 'lint') await lint();
else if (mode === 'install') install();
else if (mode === 'kit') kit();
else {
  console.error('usage: node tools/pack-check/main.mjs lint|install|kit');
  process.exit(2);
}
