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
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PUBLISHED = ['core', 'nn', 'backend-cpu', 'backend-webgpu', 'backend-conformance'];
const PNPM = ['npx', ['--yes', 'pnpm@9.15.9']];

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
}

/** Packs every published package into `dest`; returns { name: tarball path }. */
function packAll(dest) {
  const out = {};
  for (const pkg of PUBLISHED) {
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

const mode = process.argv[2];
if (mode === 'lint') await lint();
else if (mode === 'install') install();
else {
  console.error('usage: node tools/pack-check/main.mjs lint|install');
  process.exit(2);
}
