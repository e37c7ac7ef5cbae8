// Type-checks every TSDoc `@example` in the published packages' sources: each ```ts block
// becomes its own module under tools/check-examples/out/ and `tsc --strict` checks them all
// against the packages' types (their sources, through `paths`, so no build is needed).
// An `@example` without a ```ts block fails the check: examples must be real code.
// A canary example with a deliberate type error is compiled alongside, and the check fails
// unless tsc reports it: proof, on every run, that a broken example would be caught.
//
//   node tools/check-examples/main.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
// CHECK_EXAMPLES_OUT (any folder, absolute or relative to the root, e.g. /tmp/ex-2): two checks can run at once.
const OUT = resolve(ROOT, process.env.CHECK_EXAMPLES_OUT ?? 'tools/check-examples/out');
/** The repository root as seen from OUT (the generated tsconfig's paths are relative to it). */
const UP = relative(OUT, ROOT).split('\\').join('/') || '.';
/** OUT as tsc prints it (relative to the root, its working directory). */
const OUT_REL = relative(ROOT, OUT).split('\\').join('/');
const PACKAGES = ['core', 'nn', 'backend-cpu', 'backend-webgpu', 'backend-conformance'];
/** Import specifiers examples may use, mapped to sources. */
const PATHS = {
  '@ghostflow/core': ['packages/core/src/index.ts'],
  '@ghostflow/nn': ['packages/nn/src/index.ts'],
  '@ghostflow/nn/node': ['packages/nn/src/node.ts'],
  '@ghostflow/nn/browser': ['packages/nn/src/browser.ts'],
  '@ghostflow/backend-cpu': ['packages/backend-cpu/src/index.ts'],
  '@ghostflow/backend-webgpu': ['packages/backend-webgpu/src/index.ts'],
  '@ghostflow/backend-conformance': ['packages/backend-conformance/src/index.ts'],
};
const CANARY = 'canary__deliberate-error.ts';

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The `@example` blocks of one file: { line, code } per ```ts block, and the examples with none. */
export function extractExamples(text) {
  const found = [];
  const bare = [];
  for (const match of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const startLine = text.slice(0, match.index).split('\n').length;
    const lines = match[0].split('\n').map((l) => l.replace(/^\s*\/?\*+\/?\s?/, '').replace(/\s*\*\/$/, ''));
    let inExample = false;
    let fence = null;
    let sawBlock = false;
    let exampleLine = 0;
    for (const [i, line] of lines.entries()) {
      if (fence) {
        if (line.trim().startsWith('```')) {
          found.push({ line: fence.line, code: fence.body.join('\n') });
          fence = null;
        } else fence.body.push(line);
        continue;
      }
      const tag = line.trim().match(/^@(\w+)/);
      if (tag) {
        if (inExample && !sawBlock) bare.push(exampleLine);
        inExample = tag[1] === 'example';
        sawBlock = false;
        exampleLine = startLine + i;
        continue;
      }
      if (inExample && /^```(ts|typescript)\s*$/.test(line.trim())) {
        fence = { line: startLine + i + 1, body: [] };
        sawBlock = true;
      }
    }
    if (inExample && !sawBlock) bare.push(exampleLine);
  }
  return { found, bare };
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const origin = new Map();
const bareExamples = [];
let count = 0;
for (const pkg of PACKAGES) {
  for (const file of sourceFiles(join(ROOT, 'packages', pkg, 'src'))) {
    const rel = relative(ROOT, file);
    const { found, bare } = extractExamples(readFileSync(file, 'utf8'));
    for (const line of bare) bareExamples.push(`${rel}:${line}`);
    for (const { line, code } of found) {
      const name = `${rel.replace(/[/\\.]/g, '_')}__${line}.ts`;
      origin.set(name, { rel, line });
      // `export {}` makes each example a module of its own (top-level await, no clashes).
      writeFileSync(join(OUT, name), `${code}\nexport {};\n`);
      count++;
    }
  }
}
writeFileSync(join(OUT, CANARY), "const n: number = 'not a number';\nexport { n };\n");
// backend-webgpu's sources use the WebGPU types (GPUDevice, ...), which it takes from its own
// devDependency @webgpu/types; examples that import it need them too.
// Resolved the way backend-webgpu itself resolves it, wherever the package manager put it.
const webgpuTypes = createRequire(join(ROOT, 'packages/backend-webgpu/package.json')).resolve('@webgpu/types/dist/index.d.ts');
writeFileSync(join(OUT, 'webgpu-types.d.ts'), `/// <reference path="${relative(OUT, webgpuTypes).split('\\').join('/')}" />\n`);
writeFileSync(
  join(OUT, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: `${UP}/tsconfig.base.json`,
      compilerOptions: {
        strict: true,
        noEmit: true,
        declaration: false,
        baseUrl: UP,
        paths: PATHS,
        // Type packages are looked up from the tsconfig's folder upwards: point at the root's when OUT is elsewhere.
        typeRoots: [`${UP}/node_modules/@types`],
      },
      include: ['./*.ts'],
    },
    null,
    2,
  ),
);

let output = '';
try {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(OUT, 'tsconfig.json')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
} catch (e) {
  output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
}

const errors = [];
let canaryCaught = false;
for (const line of output.split('\n')) {
  // tsc names files relative to the root: match the generated folder's path, wherever it is.
  const m = line.startsWith(`${OUT_REL}/`) ? line.slice(OUT_REL.length + 1).match(/^([^(/]+\.ts)\((\d+),(\d+)\): (.*)$/) : null;
  if (!m) {
    if (line.includes('error TS')) errors.push(line); // an error in a package source reached through an example
    continue;
  }
  if (m[1] === CANARY) {
    canaryCaught = true;
    continue;
  }
  const o = origin.get(m[1]);
  errors.push(o ? `${o.rel}:${o.line + Number(m[2]) - 1}: ${m[4]}` : line);
}

let failed = false;
if (!canaryCaught) {
  console.error("check-examples: tsc did not report the canary example's type error, so this check cannot be trusted");
  failed = true;
}
if (bareExamples.length > 0) {
  console.error(`check-examples: @example without a \`\`\`ts code block:\n  ${bareExamples.join('\n  ')}`);
  failed = true;
}
if (errors.length > 0) {
  console.error(`check-examples: ${errors.length} type error(s) in @example code:\n  ${errors.join('\n  ')}`);
  failed = true;
}
if (failed) process.exit(1);
console.log(`check-examples: ${count} @example blocks type-check under tsc --strict (canary error caught)`);
