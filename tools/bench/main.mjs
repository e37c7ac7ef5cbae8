/**
 * GhostFlow side-by-side benchmark (issues 4 and 5): each workload runs on GhostFlow (backend-cpu and
 * backend-webgpu, from the BUILT packages) and on its peers — tfjs-backend-cpu, tfjs-backend-wasm,
 * tfjs-backend-webgpu (+ tfjs-layers for LSTM/GRU), onnxruntime-node and PyTorch (/usr/bin/python3, a
 * subprocess) — in one process run, interleaved
 * round by round (engine order rotated every round), after a warm-up; the median of the timed runs
 * is reported with GhostFlow/peer ratios, and the results are written as JSON.
 *
 *   node tools/bench/main.mjs [--quick] [--only matmul,lstm] [--threads 2] [--reps 5] [--warmup 1]
 *                             [--engines ghostflow,tfjs-wasm,...] [--no-torch] [--no-ort] [--no-webgpu]
 *                             [--scale] [--baseline <git-ref>] [--out file.json]
 *
 * --scale runs size sweeps instead (LSTM train over T, H and B; Transformer forward over sequence
 * length; GRU decoding at batch 1 over generated tokens) and prints each engine's growth exponent
 * (the slope of log time against log size) next to PyTorch's. --baseline <ref> builds that commit in
 * a temporary git worktree and adds its GhostFlow as a `ghostflow@<ref>` column (a child process).
 *
 * WebGPU columns (ghostflow-webgpu, tfjs-webgpu) run in Node on the `webgpu` package (Dawn): on a real
 * GPU when Dawn finds one, else on SwiftShader's software Vulkan (VK_ICD_FILENAMES is pointed at
 * Debian chromium's vk_swiftshader_icd.json when unset), labelled as such in the table header.
 *
 * See tools/bench/README.md for what every column means.
 * To see where the time goes inside one workload, run tools/bench/profile.mjs (docs/profiling.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ghostflowMaker } from './ghostflow-workloads.mjs';
import { WORDLM_SPEC } from './wordlm-step.mjs';
import { simdPeak } from './simd-peak.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
/** An installed package's version (its package.json), or '' when it cannot be read. */
const pkgVersion = (name) => {
  try {
    return require(`${name}/package.json`).version ?? '';
  } catch {
    return '';
  }
};
/** Column order. The two WebGPU columns sit together at the end; their ratio is ghostflow-webgpu / tfjs-webgpu. */
const ENGINE_ORDER = ['ghostflow', 'tfjs-cpu', 'tfjs-wasm', 'onnxruntime', 'pytorch', 'ghostflow-webgpu', 'tfjs-webgpu', 'ghostflow-cuda'];
const WEBGPU_ENGINES = ['ghostflow-webgpu', 'tfjs-webgpu'];
/** Debian chromium's SwiftShader Vulkan ICD: Dawn's software fallback when there is no GPU. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const PYTHON = process.env.GHOSTFLOW_BENCH_PYTHON ?? '/usr/bin/python3';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    threads: { type: 'string', default: process.env.BENCH_THREADS ?? '2' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    'warmup-ms': { type: 'string' },
    engines: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'no-ort': { type: 'boolean', default: false },
    'no-webgpu': { type: 'boolean', default: false },
    out: { type: 'string' },
    scale: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    'malloc-reuse': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(
    `usage: node tools/bench/main.mjs [--quick] [--scale] [--baseline <git-ref>] [--only a,b] [--threads N] [--reps N] [--warmup N] [--warmup-ms MS] [--engines a,b] [--no-torch] [--no-ort] [--no-webgpu] [--malloc-reuse] [--out file]\nengines: ${ENGINE_ORDER.join(', ')}, ghostflow@<ref> (with --baseline)`,
  );
  process.exit(0);
}
/**
 * glibc malloc settings under which a freed large block is kept and reused instead of going back
 * to the OS, so a fresh result array need not fault its pages in again (README, "Reading results").
 */
const MALLOC_REUSE = 'glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456';
if (opts['malloc-reuse'] && !process.env.GLIBC_TUNABLES?.includes('mmap_threshold')) {
  // Tunables are read when the process starts: run this bench again under them.
  const env = { ...process.env, GLIBC_TUNABLES: [process.env.GLIBC_TUNABLES, MALLOC_REUSE].filter(Boolean).join(':') };
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(child.status ?? 1);
}
const THREADS = Math.max(1, Number.parseInt(opts.threads, 10) || 2);
const QUICK = opts.quick;
const REPS = Number.parseInt(opts.reps ?? (QUICK ? '3' : '5'), 10);
const WARMUP = Number.parseInt(opts.warmup ?? '1', 10);
/**
 * Warm-up also lasts at least this long per engine and workload (runs repeat until both WARMUP
 * runs and WARMUP_MS have passed, at most WARMUP_MAX_RUNS). A count alone left the fast rows
 * short of steady state: wordlm-train's step (~25 ms) still settled its allocations and JIT
 * tiers after one warm-up run, so its median/min spread read 1.5-1.6 where the steady state is
 * 1.2; one second is dozens of runs for the fast rows and a single run for the slow ones.
 */
const WARMUP_MS = Number.parseInt(opts['warmup-ms'] ?? (QUICK ? '0' : '1000'), 10);
const WARMUP_MAX_RUNS = 200;
/** Whether warm-up goes on after `runs` runs that took `elapsedMs` in all (shared with the child engines). */
const warmingUp = (runs, elapsedMs) => runs < WARMUP || (elapsedMs < WARMUP_MS && runs < WARMUP_MAX_RUNS);
/** A workload whose slowest warm-up run exceeds this many ms gets only SLOW_REPS timed rounds. */
const SLOW_MS = 4000;
const SLOW_REPS = Math.min(REPS, 3);
/**
 * Software WebGPU (SwiftShader) on the full run: timed rounds per WebGPU engine, and the warm-up
 * time above which a WebGPU engine is left out of that workload (so the full run stays < 20 min).
 */
const SOFTWARE_REPS = Math.min(REPS, 2);
const SOFTWARE_MAX_MS = Number(process.env.BENCH_WEBGPU_MAX_MS ?? 30_000);
const ENGINE_FILTER = opts.engines ? new Set(opts.engines.split(',').map((s) => s.trim())) : null;

// Threads for GhostFlow: GHOSTFLOW_CPU_THREADS before backend-cpu is imported, and its
// setCpuThreads() export (see setupGhostflow).
process.env.GHOSTFLOW_CPU_THREADS ??= String(THREADS);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// ---------------------------------------------------------------------------------------------
// Workloads (shared with torch_bench.py through the spec objects)
// ---------------------------------------------------------------------------------------------
function workloads() {
  const q = QUICK;
  const rnn = q ? { batch: 4, seq: 8, input: 16, hidden: 32, layers: 2 } : { batch: 32, seq: 50, input: 128, hidden: 256, layers: 2 };
  const bi = q ? { batch: 2, seq: 6, input: 12, hidden: 24, layers: 1 } : { batch: 3, seq: 25, input: 100, hidden: 256, layers: 1 };
  const tr = q ? { dModel: 32, nhead: 4, ff: 64, batch: 2, seq: 8 } : { dModel: 256, nhead: 8, ff: 1024, batch: 32, seq: 64 };
  const list = [];
  for (const n of q ? [64, 128] : [256, 512, 1024]) {
    list.push({ id: `matmul-${n}`, kind: 'matmul', n, flops: 2 * n ** 3, title: `matmul ${n}x${n} @ ${n}x${n} f32` });
  }
  const rnnTitle = (c, s) => `${c.toUpperCase()} b${s.batch} t${s.seq} ${s.input}→${s.hidden} x${s.layers}`;
  for (const cell of ['lstm', 'gru']) {
    list.push({ id: `${cell}-forward`, kind: 'rnn', cell, mode: 'forward', ...rnn, title: `${rnnTitle(cell, rnn)} forward` });
    list.push({ id: `${cell}-train`, kind: 'rnn', cell, mode: 'train', ...rnn, title: `${rnnTitle(cell, rnn)} train step` });
  }
  list.push({
    id: 'bilstm-forward',
    kind: 'rnn',
    cell: 'lstm',
    mode: 'forward',
    bidirectional: true,
    ...bi,
    title: `BiLSTM b${bi.batch} t${bi.seq} ${bi.input}→${bi.hidden} forward`,
  });
  const trTitle = `Encoder d${tr.dModel} h${tr.nhead} ff${tr.ff} b${tr.batch} t${tr.seq}`;
  list.push({ id: 'transformer-forward', kind: 'transformer', mode: 'forward', ...tr, title: `${trTitle} forward` });
  list.push({ id: 'transformer-train', kind: 'transformer', mode: 'train', ...tr, title: `${trTitle} train step` });
  // pytorch/examples word_language_model at its tiny sizes (emsize 32, nhid 64, bptt 16, batch 8, SGD
  // lr 20, clip 0.25, dropout 0.2) on a 10k-word vocabulary (Penn Treebank's size).
  const lm = q ? { ...WORDLM_SPEC, ntoken: 500, emsize: 16, nhid: 32, bptt: 8, batch: 4 } : WORDLM_SPEC;
  list.push({
    id: 'wordlm-train',
    kind: 'wordlm',
    mode: 'train',
    ...lm,
    title: `word_language_model LSTM train step: ntoken ${lm.ntoken}, emsize ${lm.emsize}, nhid ${lm.nhid} x2, bptt ${lm.bptt}, batch ${lm.batch}, SGD + clip`,
  });
  const dec = q ? { input: 32, hidden: 32, layers: 1, steps: 8 } : { input: 256, hidden: 256, layers: 1, steps: 32 };
  list.push({
    id: 'gru-decode',
    kind: 'decode',
    mode: 'forward',
    ...dec,
    title: `GRU decoding at batch 1, ${dec.input}→${dec.hidden}, ${dec.steps} steps`,
  });
  const adam = q ? { input: 16, hidden: 32, layers: 2 } : { input: 128, hidden: 256, layers: 2 };
  list.push({
    id: 'adam-step',
    kind: 'adam',
    mode: 'update',
    ...adam,
    title: `one Adam step on LSTM ${adam.input}→${adam.hidden} x${adam.layers} parameters`,
  });
  const chosen = opts.scale ? scaleWorkloads(q) : list;
  for (const w of chosen) w.onnxName = `${w.id}-${specKey(w)}`;
  // Single-op rows (GhostFlow's per-op cost: the kernel plus everything around it). Only when
  // named exactly in --only: the default table compares whole workloads across engines.
  const ops = [
    { id: 'add-scalar', kind: 'add-scalar', n: q ? 4096 : 2 ** 20, title: `x + 2.5, x of ${q ? 4096 : 2 ** 20} f32` },
    {
      id: 'softmax',
      kind: 'softmax',
      shape: q ? [2, 64, 64] : [64, 512, 512],
      title: `softmax over the last dim of ${q ? '2x64x64' : '64x512x512'} f32`,
    },
  ];
  if (!opts.only) return chosen;
  const keys = opts.only.split(',').map((s) => s.trim().toLowerCase());
  return [...chosen.filter((w) => keys.some((k) => w.id.toLowerCase().includes(k))), ...ops.filter((w) => keys.includes(w.id))];
}

/**
 * The --scale sweeps: each spec carries `sweep` (its group) and `x` (the swept size). Time should
 * grow linearly in T and B (exponent 1) and about quadratically in H for LSTM training; attention
 * makes the Transformer superlinear in sequence length; decoding is linear in generated tokens.
 */
function scaleWorkloads(q) {
  const out = [];
  const base = q ? { batch: 4, seq: 8, input: 16, hidden: 32, layers: 1 } : { batch: 32, seq: 50, input: 128, hidden: 256, layers: 2 };
  const add = (sweep, x, spec, title) => out.push({ ...spec, sweep, x, id: `${sweep}=${x}`, title });
  for (const T of q ? [4, 8, 16] : [25, 50, 100, 200]) {
    add('lstm-train-T', T, { kind: 'rnn', cell: 'lstm', mode: 'train', ...base, seq: T }, `LSTM train step, T ${T}`);
  }
  for (const H of q ? [16, 32, 64] : [64, 128, 256, 512]) {
    add(
      'lstm-train-H',
      H,
      { kind: 'rnn', cell: 'lstm', mode: 'train', ...base, input: H, hidden: H },
      `LSTM train step, input = hidden = ${H}`,
    );
  }
  for (const B of q ? [2, 4, 8] : [8, 32, 128]) {
    add('lstm-train-B', B, { kind: 'rnn', cell: 'lstm', mode: 'train', ...base, batch: B }, `LSTM train step, batch ${B}`);
  }
  const tr = q ? { dModel: 32, nhead: 4, ff: 64, batch: 2 } : { dModel: 256, nhead: 8, ff: 1024, batch: 8 };
  for (const L of q ? [8, 16, 32] : [32, 64, 128, 256, 512]) {
    add('transformer-forward-L', L, { kind: 'transformer', mode: 'forward', ...tr, seq: L }, `Encoder layer forward, sequence length ${L}`);
  }
  const dec = q ? { input: 32, hidden: 32, layers: 1 } : { input: 256, hidden: 256, layers: 1 };
  for (const n of q ? [4, 8, 16] : [16, 32, 64, 128]) {
    add('gru-decode-steps', n, { kind: 'decode', mode: 'forward', ...dec, steps: n }, `GRU decoding at batch 1, ${n} tokens`);
  }
  return out;
}

/** Least-squares slope of log(time) against log(size): the growth exponent of one engine over one sweep. */
function growthExponent(points) {
  const pts = points.filter(([x, t]) => x > 0 && t > 0).map(([x, t]) => [Math.log(x), Math.log(t)]);
  if (pts.length < 2) return null;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
  const my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

function specKey(w) {
  const keys = ['n', 'cell', 'bidirectional', 'batch', 'seq', 'input', 'hidden', 'layers', 'dModel', 'nhead', 'ff', 'steps', 'ntoken'];
  return keys
    .filter((k) => w[k] !== undefined)
    .map((k) => `${w[k]}`)
    .join('_');
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mem = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
};
const MB = (b) => (b == null ? '' : (b / 2 ** 20).toFixed(1));
/**
 * What writing a fresh 4 MiB array costs here (median of 7): every JS engine pays this when it
 * returns a result in a new typed array, and on some VMs a page fault costs ~20 us (100x a
 * bare-metal one), which makes the read-back a large part of a forward run.
 */
function freshMemoryProbe() {
  const ms = [];
  const faults = [];
  const keep = [];
  for (let i = 0; i < 7; i++) {
    const f0 = process.resourceUsage().minorPageFault;
    const s = now();
    const a = new Float32Array(1 << 20);
    a.fill(1);
    ms.push(now() - s);
    faults.push(process.resourceUsage().minorPageFault - f0);
    keep.push(a); // kept alive: each round gets new memory, as a run's fresh output does
  }
  const f = median(faults);
  const t = median(ms);
  return { ms: t, faults: f, usPerFault: f > 0 ? (t * 1000) / f : null };
}
const now = () => performance.now();

function table(headers, rows, align) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c == null ? '' : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r) =>
    `| ${r.map((c, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [fmt(cells[0]), sep, ...cells.slice(1).map(fmt)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Engines. Each has name, available, note, and make(spec) -> runner | { na: reason }.
// A runner: { run(): void | Promise<void>, peakBytes?(): Promise<number | null>, dispose() }.
// ---------------------------------------------------------------------------------------------
const notes = [];

async function setupGhostflow() {
  const core = await import('@ghostflow/core');
  const cpu = await import('@ghostflow/backend-cpu');
  const nn = await import('@ghostflow/nn');
  core.setBackend?.('cpu');
  await core.ready?.();
  // backend-cpu's thread setter (setCpuThreads; older names tried too); GHOSTFLOW_CPU_THREADS is
  // set as well (before the import).
  let threadsVia = null;
  for (const name of ['setCpuThreads', 'setNumThreads', 'setThreads']) {
    if (typeof cpu[name] === 'function') {
      try {
        await cpu[name](THREADS);
        threadsVia = `${name}(${THREADS})`;
        break;
      } catch (e) {
        notes.push(`ghostflow: ${name}(${THREADS}) threw: ${e.message}`);
      }
    }
  }
  const backend = core.getBackend();
  await backend.whenThreadsReady?.(); // worker threads start in the background
  const cpuInfo = backend.info ?? (typeof cpu.cpuBackendInfo === 'function' ? cpu.cpuBackendInfo(backend) : null);
  const extra = Object.keys(cpu).filter((k) => /thread|wasm|simd|worker|feature/i.test(k));
  const info = { backend: backend.name, version: cpu.VERSION, threadsVia, exports: extra, cpuInfo: cpuInfo ? { ...cpuInfo } : null };
  for (const k of extra) {
    if (typeof cpu[k] === 'function' && /^(get|is|has)/.test(k) && cpu[k].length === 0) {
      try {
        const v = await cpu[k]();
        info[k] = typeof v === 'object' ? JSON.stringify(v) : v;
      } catch {}
    }
  }
  const pathNote = cpuInfo
    ? `path '${cpuInfo.path}', ${cpuInfo.threads} thread(s) (${cpuInfo.readyWorkers} worker(s) ready)`
    : 'reference JS kernels';
  const threadNote = threadsVia
    ? `${pathNote}; threads via ${threadsVia}`
    : `${pathNote}; backend-cpu exports no thread setting (GHOSTFLOW_CPU_THREADS=${THREADS} set in the environment; JS kernels are single-threaded)`;
  const make = ghostflowMaker(core, nn, { device: 'cpu', backend, asyncRead: false });
  return { name: 'ghostflow', available: true, note: `@ghostflow/backend-cpu ${cpu.VERSION ?? ''}: ${threadNote}`, info, make };
}

/** Keeps the Dawn instance (`create()` of the `webgpu` package) alive for the whole process. */
let dawnGpu = null;

/**
 * Provides WebGPU to Node: the `webgpu` package (Dawn) as `navigator.gpu` (with its globals:
 * GPUBufferUsage, ...), which both @ghostflow/backend-webgpu and @tensorflow/tfjs-backend-webgpu then
 * use. Requests one adapter to read what it is. Resolves { available, reason } or
 * { available, info, label, software, icd }.
 */
async function setupWebGPU() {
  if (opts['no-webgpu']) return { available: false, reason: 'skipped (--no-webgpu)' };
  // Without a GPU, Dawn's Vulkan backend can run on SwiftShader (software Vulkan from Debian's
  // chromium package; libvulkan1 is the loader). Set before Dawn starts, only when the caller has not.
  let icd = process.env.VK_ICD_FILENAMES ?? null;
  if (!icd && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    icd = SWIFTSHADER_ICD;
  }
  let mod;
  try {
    mod = await import('webgpu');
  } catch (e) {
    return { available: false, reason: `skipped: the 'webgpu' package (Dawn for Node) is not importable (${e.message.split('\n')[0]})` };
  }
  try {
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) globalThis[k] = v;
    dawnGpu = mod.create([]);
    globalThis.navigator ??= {};
    if (!globalThis.navigator.gpu) {
      try {
        globalThis.navigator.gpu = dawnGpu;
      } catch {}
      if (globalThis.navigator.gpu !== dawnGpu) Object.defineProperty(globalThis.navigator, 'gpu', { value: dawnGpu, configurable: true });
    }
  } catch (e) {
    return { available: false, reason: `skipped: Dawn failed to start (${e.message.split('\n')[0]})` };
  }
  let adapter = null;
  try {
    adapter = (await navigator.gpu.requestAdapter()) ?? (await navigator.gpu.requestAdapter({ forceFallbackAdapter: true }));
  } catch (e) {
    return { available: false, reason: `skipped: requestAdapter() failed (${e.message.split('\n')[0]})` };
  }
  if (!adapter) {
    const why = icd
      ? `VK_ICD_FILENAMES=${icd}${existsSync(icd) ? '' : ' (file missing)'}; is libvulkan1 installed?`
      : `no GPU, and no SwiftShader ICD at ${SWIFTSHADER_ICD} (apt-get install chromium libvulkan1)`;
    return { available: false, reason: `skipped: no WebGPU adapter (requestAdapter() returned null: ${why})` };
  }
  const ai = adapter.info ?? {};
  const info = {
    vendor: ai.vendor ?? '',
    architecture: ai.architecture ?? '',
    device: ai.device ?? '',
    description: ai.description ?? '',
    isFallbackAdapter: ai.isFallbackAdapter ?? adapter.isFallbackAdapter ?? null,
  };
  const desc = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
  const text = `${desc} ${icd ?? ''}`;
  let label;
  let software = true;
  if (/swiftshader/i.test(desc) || (!desc.trim() && /swiftshader/i.test(icd ?? ''))) label = 'webgpu (SwiftShader, software — not a GPU)';
  else if (/llvmpipe|lavapipe|softpipe|warp|basic render|software/i.test(text)) label = `webgpu (${desc}, software — not a GPU)`;
  else if (info.isFallbackAdapter) label = `webgpu (${desc}, fallback adapter — software, not a GPU)`;
  else {
    label = `webgpu (${desc})`;
    software = false;
  }
  return { available: true, info, desc, label, software, icd };
}

/**
 * GhostFlow on @ghostflow/backend-cuda (self-registered as 'cuda'), the same workloads as `ghostflow`;
 * skipped with the backend's own reason ("no NVIDIA driver: libcuda.so.1 not found", ...) without a GPU.
 */
async function setupGhostflowCuda() {
  const name = 'ghostflow-cuda';
  let core;
  let nn;
  let cudaPkg;
  let backend;
  try {
    core = await import('@ghostflow/core');
    nn = await import('@ghostflow/nn');
    cudaPkg = await import('@ghostflow/backend-cuda');
    backend = await core.loadBackend('cuda');
  } catch (e) {
    return { name, available: false, note: `skipped: @ghostflow/backend-cuda did not start: ${e.message.split('\n')[0]}` };
  }
  const make = ghostflowMaker(core, nn, { device: 'cuda', backend, asyncRead: true });
  return {
    name,
    available: true,
    note: `@ghostflow/backend-cuda ${cudaPkg.VERSION ?? ''} on ${backend.info.device} (GEMM: ${backend.info.blas.startsWith('cublas') ? backend.info.blas : `own kernel; cuBLAS ${backend.info.blas}`}); each run ends with await t.data()`,
    info: { device: backend.info.device, blas: backend.info.blas },
    make,
  };
}

/** GhostFlow on @ghostflow/backend-webgpu (self-registered as 'webgpu'), the same workloads as `ghostflow`. */
async function setupGhostflowWebgpu(wg) {
  const name = 'ghostflow-webgpu';
  if (!wg.available) return { name, available: false, note: wg.reason };
  let core;
  let nn;
  let gpuPkg;
  let backend;
  try {
    core = await import('@ghostflow/core');
    nn = await import('@ghostflow/nn');
    gpuPkg = await import('@ghostflow/backend-webgpu');
    backend = await core.loadBackend('webgpu'); // starts it without making it the active backend
  } catch (e) {
    return { name, available: false, note: `skipped: @ghostflow/backend-webgpu did not start: ${e.message.split('\n')[0]}` };
  }
  const make = ghostflowMaker(core, nn, { device: 'webgpu', backend, asyncRead: true });
  return {
    name,
    available: true,
    webgpu: true,
    note: `@ghostflow/backend-webgpu ${gpuPkg.VERSION ?? ''} on ${wg.label} (Dawn: webgpu ${pkgVersion('webgpu')}); adapter '${backend.adapterInfo}'; each run ends with await t.data()`,
    info: { adapter: wg.info, adapterInfo: backend.adapterInfo, label: wg.label },
    make,
  };
}

/**
 * tfjs-cpu, tfjs-wasm and (when `wg` has an adapter and `wantWebgpu`) tfjs-webgpu: the
 * @tensorflow/tfjs-backend-webgpu backend on navigator.gpu (Dawn, set up by setupWebGPU).
 */
async function setupTfjs(wg, wantWebgpu) {
  let tf;
  let wasm;
  let layers;
  try {
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    layers = await import('@tensorflow/tfjs-layers');
  } catch (e) {
    const na = `tfjs not importable: ${e.message}`;
    return [
      { name: 'tfjs-cpu', available: false, note: na },
      { name: 'tfjs-wasm', available: false, note: na },
      { name: 'tfjs-webgpu', available: false, note: na },
    ];
  }
  wasm.setThreadsCount(THREADS);
  await tf.setBackend('wasm');
  await tf.ready();
  const wasmThreads = wasm.getThreadsCount();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  // tfjs-webgpu: registered on import when navigator.gpu exists; its init requests its own adapter
  // and device. If it cannot start in Node, the reason is printed and the column dropped.
  let webgpuEngine = null;
  let webgpuNote = null;
  if (wantWebgpu && !wg.available) webgpuNote = wg.reason;
  else if (wantWebgpu) {
    try {
      await import('@tensorflow/tfjs-backend-webgpu');
      const tfwVersion = pkgVersion('@tensorflow/tfjs-backend-webgpu');
      if (!tf.findBackendFactory('webgpu')) throw new Error('tfjs-backend-webgpu did not register (navigator.gpu missing at import?)');
      const ok = await tf.setBackend('webgpu');
      if (!ok) throw new Error('tf.setBackend("webgpu") returned false (backend init failed; see the tfjs warning above)');
      await tf.ready();
      const probe = tf.matMul(tf.ones([2, 2]), tf.ones([2, 2]));
      const v = await probe.data();
      probe.dispose();
      if (v[0] !== 2) throw new Error(`a 2x2 matmul probe returned ${v[0]} instead of 2`);
      const handoff = tf.env().get('WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD');
      webgpuEngine = {
        version: tfwVersion,
        note: `@tensorflow/tfjs-backend-webgpu ${tfwVersion} on ${wg.label} (navigator.gpu = the webgpu package's create([])); defaults kept (WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD ${handoff}: ops on CPU-resident inputs that small run on tfjs-cpu); each run ends with await t.data()`,
      };
    } catch (e) {
      webgpuNote = `skipped: @tensorflow/tfjs-backend-webgpu 4.22.0 cannot start in Node: ${e.message.split('\n')[0]}`;
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();

  const engine = (backendName) => {
    /** On WebGPU, reads are asynchronous (dataSync() would block on a GPU readback tfjs cannot do in Node). */
    const asyncRead = backendName === 'webgpu';
    /** Reads `t` back and disposes it: synchronously, or a promise that settles once the data is on the host. */
    const finish = asyncRead
      ? async (t) => {
          try {
            await t.data();
          } finally {
            t.dispose();
          }
        }
      : (t) => {
          t.dataSync();
          t.dispose();
        };
    /** Builds the tfjs version of a workload; returns { run, dispose } (run may be async). */
    function build(spec) {
      tf.util.seedrandom?.('0');
      if (spec.kind === 'matmul') {
        const a = tf.randomNormal([spec.n, spec.n], 0, 1, 'float32', 1);
        const b = tf.randomNormal([spec.n, spec.n], 0, 1, 'float32', 2);
        return {
          run: () => finish(tf.matMul(a, b)),
          dispose: () => tf.dispose([a, b]),
        };
      }
      if (spec.kind === 'rnn') {
        const dirs = spec.bidirectional ? 2 : 1;
        const cellOpts = (i) => ({
          units: spec.hidden,
          returnSequences: true,
          recurrentActivation: 'sigmoid', // PyTorch's; tfjs-layers defaults to hardSigmoid
          recurrentInitializer: 'glorotUniform', // setup speed only (orthogonal runs a QR)
          ...(i === 0 && !spec.bidirectional ? { inputShape: [spec.seq, spec.input] } : {}),
        });
        const Cell = spec.cell === 'lstm' ? layers.layers.lstm : layers.layers.gru;
        const model = layers.sequential();
        for (let i = 0; i < spec.layers; i++) {
          if (spec.bidirectional) {
            model.add(
              layers.layers.bidirectional({
                layer: Cell(cellOpts(i)),
                mergeMode: 'concat',
                ...(i === 0 ? { inputShape: [spec.seq, spec.input] } : {}),
              }),
            );
          } else model.add(Cell(cellOpts(i)));
        }
        const x = tf.randomNormal([spec.batch, spec.seq, spec.input], 0, 1, 'float32', 3);
        if (spec.mode === 'forward') {
          return {
            run: () => finish(model.predict(x)),
            dispose: () => {
              x.dispose();
              model.dispose();
            },
          };
        }
        const y = tf.randomNormal([spec.batch, spec.seq, spec.hidden * dirs], 0, 1, 'float32', 4);
        model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
        return {
          run: async () => {
            await model.trainOnBatch(x, y); // resolves with the loss read back
          },
          dispose: () => {
            tf.dispose([x, y]);
            model.optimizer?.dispose?.();
            model.dispose();
          },
        };
      }
      if (spec.kind === 'transformer') return tfjsEncoderLayer(tf, spec, finish);
      if (spec.kind === 'wordlm') {
        // The same network in tfjs-layers. tfjs optimizers have no gradient-norm clipping and a
        // stateless layer model does not carry the hidden state across batches: tfjs does less work.
        const model = layers.sequential();
        model.add(layers.layers.embedding({ inputDim: spec.ntoken, outputDim: spec.emsize, inputLength: spec.bptt }));
        model.add(layers.layers.dropout({ rate: spec.dropout }));
        for (let i = 0; i < spec.layers; i++) {
          model.add(
            layers.layers.lstm({
              units: spec.nhid,
              returnSequences: true,
              recurrentActivation: 'sigmoid',
              recurrentInitializer: 'glorotUniform',
            }),
          );
          model.add(layers.layers.dropout({ rate: spec.dropout }));
        }
        model.add(layers.layers.dense({ units: spec.ntoken, activation: 'softmax' }));
        model.compile({ optimizer: tf.train.sgd(spec.lr), loss: 'sparseCategoricalCrossentropy' });
        const ids = tf.randomUniform([spec.batch, spec.bptt], 0, spec.ntoken, 'int32', 7);
        const next = tf.cast(tf.randomUniform([spec.batch, spec.bptt, 1], 0, spec.ntoken, 'int32', 8), 'float32');
        return {
          run: async () => {
            await model.trainOnBatch(ids, next);
          },
          dispose: () => {
            tf.dispose([ids, next]);
            model.dispose();
          },
        };
      }
      if (spec.kind === 'adam') {
        // Adam on the same parameter shapes (an LSTM's: W_ih, W_hh, b_ih, b_hh per layer), fixed gradients.
        const shapes = [];
        for (let l = 0; l < spec.layers; l++) {
          const inp = l === 0 ? spec.input : spec.hidden;
          shapes.push([4 * spec.hidden, inp], [4 * spec.hidden, spec.hidden], [4 * spec.hidden], [4 * spec.hidden]);
        }
        const vars = shapes.map((sh, i) => tf.variable(tf.randomNormal(sh, 0, 0.1, 'float32', 20 + i), true, `p${i}`));
        const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.randomNormal(shapes[i], 0, 1, 'float32', 40 + i)]));
        const opt = tf.train.adam(1e-3);
        return {
          run: () => {
            opt.applyGradients(grads);
            return finish(tf.slice(vars[0], [0, 0], [1, 1]));
          },
          dispose: () => {
            tf.dispose([...vars, ...Object.values(grads)]);
            opt.dispose();
          },
        };
      }
      if (spec.kind === 'decode') {
        // A stateful GRU at batch 1: each predict() is one step, the state kept inside the layer.
        const model = layers.sequential();
        model.add(
          layers.layers.gru({
            units: spec.hidden,
            stateful: true,
            batchInputShape: [1, 1, spec.input],
            recurrentActivation: 'sigmoid',
            recurrentInitializer: 'glorotUniform', // (tfjs-layers has no resetAfter: its GRU is Keras' v1 form)
          }),
        );
        const x = tf.randomNormal([1, 1, spec.input], 0, 1, 'float32', 9);
        return {
          run: () => {
            model.resetStates();
            let out = null;
            for (let i = 0; i < spec.steps; i++) {
              out?.dispose();
              out = model.predict(x);
            }
            return finish(out);
          },
          dispose: () => {
            x.dispose();
            model.dispose();
          },
        };
      }
      return { na: 'unknown workload' };
    }
    return {
      name: `tfjs-${backendName}`,
      available: true,
      note:
        backendName === 'wasm'
          ? `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm ?? ''}: SIMD ${simd}, ${wasmThreads} thread(s) (multithread support ${mt}: tfjs disables its threaded wasm build in Node, tfjs#3830; forcing the flag makes backend init fail)`
          : backendName === 'webgpu'
            ? webgpuEngine.note
            : '@tensorflow/tfjs-backend-cpu: plain JS kernels, single-threaded',
      threads: backendName === 'wasm' ? (mt ? wasmThreads : 1) : 1,
      ...(backendName === 'webgpu' ? { webgpu: true, info: { adapter: wg.info, label: wg.label } } : {}),
      async make(spec) {
        if (tf.getBackend() !== backendName) await tf.setBackend(backendName);
        const r = build(spec);
        if (r.na) return r;
        const ensure = async () => {
          if (tf.getBackend() !== backendName) await tf.setBackend(backendName);
        };
        return {
          before: ensure,
          run: r.run,
          peakBytes: async () => {
            await ensure();
            const base = tf.memory().numBytes;
            const info = await tf.profile(async () => {
              await r.run();
            });
            return Math.max(0, info.peakBytes - base);
          },
          dispose: r.dispose,
        };
      },
    };
  };
  const list = [engine('cpu'), engine('wasm')];
  if (webgpuEngine) list.push(engine('webgpu'));
  else if (wantWebgpu) list.push({ name: 'tfjs-webgpu', available: false, note: webgpuNote });
  return list;
}

/** A post-norm TransformerEncoderLayer (ReLU, dropout 0) from tfjs ops: tfjs has no multi-head-attention layer. */
function tfjsEncoderLayer(tf, spec, finish) {
  const { dModel: D, nhead: H, ff: F, batch: B, seq: T } = spec;
  const dh = D / H;
  const u = (shape, fan, seed) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fan), 1 / Math.sqrt(fan), 'float32', seed));
  const v = {
    wqkv: u([3 * D, D], D, 11),
    bqkv: tf.variable(tf.zeros([3 * D])),
    wo: u([D, D], D, 12),
    bo: tf.variable(tf.zeros([D])),
    w1: u([F, D], D, 13),
    b1: u([F], D, 14),
    w2: u([D, F], F, 15),
    b2: u([D], F, 16),
    g1: tf.variable(tf.ones([D])),
    n1: tf.variable(tf.zeros([D])),
    g2: tf.variable(tf.ones([D])),
    n2: tf.variable(tf.zeros([D])),
  };
  const x = tf.randomNormal([B, T, D], 0, 1, 'float32', 5);
  // Functional tfjs ops only: the chained Tensor methods are not registered by tfjs-core's main entry.
  const layerNorm = (z, g, b) => {
    const { mean, variance } = tf.moments(z, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
  };
  const linear = (z, w, b) => tf.add(tf.matMul(z, w, false, true), b);
  const heads = (m) => tf.transpose(tf.reshape(m, [B, T, H, dh]), [0, 2, 1, 3]);
  const forward = () => {
    const x2 = tf.reshape(x, [B * T, D]);
    const [q, k, val] = tf.split(linear(x2, v.wqkv, v.bqkv), 3, 1);
    const scores = tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(dh));
    const att = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), heads(val)), [0, 2, 1, 3]), [B * T, D]);
    const h1 = layerNorm(tf.add(x2, linear(att, v.wo, v.bo)), v.g1, v.n1);
    const f = linear(tf.relu(linear(h1, v.w1, v.b1)), v.w2, v.b2);
    return tf.reshape(layerNorm(tf.add(h1, f), v.g2, v.n2), [B, T, D]);
  };
  const vars = Object.values(v);
  const dispose = () => tf.dispose([x, ...vars]);
  if (spec.mode === 'forward') {
    return {
      run: () => finish(tf.tidy(forward)),
      dispose,
    };
  }
  const target = tf.randomNormal([B, T, D], 0, 1, 'float32', 6);
  const opt = tf.train.adam(1e-3);
  return {
    run: () => finish(opt.minimize(() => tf.losses.meanSquaredError(target, forward()), true, vars)),
    dispose: () => {
      dispose();
      target.dispose();
      opt.dispose();
    },
  };
}

/** A child process spoken to in JSON lines: `request(msg)` writes one line and resolves with the next reply. */
function jsonLines(child, label) {
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()(l) : queue.push(l)));
  let dead = null;
  child.on('exit', (code) => {
    dead = `${label} exited with ${code}`;
    for (const w of waiters.splice(0)) w(JSON.stringify({ error: dead }));
  });
  const next = () =>
    new Promise((res) => (queue.length ? res(queue.shift()) : dead ? res(JSON.stringify({ error: dead })) : waiters.push(res)));
  const request = async (msg) => {
    child.stdin.write(`${JSON.stringify(msg)}\n`);
    const reply = JSON.parse(await next());
    if (reply.error) throw new Error(`${label}: ${reply.error}`);
    return reply;
  };
  return { next, request };
}

/**
 * `--baseline <ref>`: GhostFlow of another commit as the engine `ghostflow@<ref>`. The commit is
 * checked out in a temporary git worktree (reused across runs: keyed by commit), installed and
 * built once, and run in a child process (ghostflow-serve.mjs) on the same workloads.
 */
async function setupBaseline(ref) {
  const name = `ghostflow@${ref}`;
  const git = (args, cwd = HERE) => spawnSync('git', args, { cwd, encoding: 'utf8' });
  const sha = git(['rev-parse', '--verify', `${ref}^{commit}`]).stdout.trim();
  if (!sha) return { name, available: false, note: `skipped: '${ref}' is not a commit of this repository` };
  const dir = join(os.tmpdir(), `ghostflow-bench-${sha.slice(0, 12)}`);
  const marker = join(dir, '.bench-built');
  if (!existsSync(marker)) {
    console.log(`  ${name}: building ${sha.slice(0, 12)} in ${dir} (once; reused by later runs)`);
    if (!existsSync(dir)) {
      const r = git(['worktree', 'add', '--detach', dir, sha]);
      if (r.status !== 0) return { name, available: false, note: `skipped: git worktree add failed: ${r.stderr.trim()}` };
    }
    // No install scripts: the bench needs core, backend-cpu and nn only (their builds are tsup and the
    // AssemblyScript compile), not backend-cuda's nvcc addon or distributed's MPI addon.
    const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', TURBO_TELEMETRY_DISABLED: '1', GHOSTFLOW_CUDA_NVCC: '0' };
    for (const args of [
      ['--yes', 'pnpm@9.15.9', 'install', '--frozen-lockfile', '--prefer-offline', '--ignore-scripts'],
      [
        '--yes',
        'pnpm@9.15.9',
        'exec',
        'turbo',
        'run',
        'build',
        '--concurrency=2',
        '--filter=@ghostflow/nn...',
        '--filter=@ghostflow/backend-cpu...',
      ],
    ]) {
      const r = spawnSync('npx', args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (r.status !== 0) {
        return {
          name,
          available: false,
          note: `skipped: \`npx ${args.join(' ')}\` failed in ${dir}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`,
        };
      }
    }
    writeFileSync(marker, `${sha}\n`);
  }
  const child = spawn(process.execPath, [join(HERE, 'ghostflow-serve.mjs'), dir, String(THREADS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { next, request } = jsonLines(child, name);
  const hello = JSON.parse(await next());
  if (!hello.ready) return { name, available: false, note: `skipped: ${hello.error}` };
  return {
    name,
    available: true,
    remote: true,
    baseline: true,
    note: `GhostFlow at ${sha.slice(0, 12)} (backend-cpu ${hello.version}, path '${hello.path}', ${hello.threads} thread(s)), built in ${dir}, run in a child process; times measured inside it`,
    threads: hello.threads,
    make(spec) {
      return {
        remote: true,
        setup: async () => {
          const r = await request({ op: 'setup', spec, warmup: WARMUP, warmupMs: WARMUP_MS, warmupMaxRuns: WARMUP_MAX_RUNS });
          if (r.na) throw new Error(r.na);
          return r;
        },
        timeOnce: async () => (await request({ op: 'run' })).ms,
        dispose: async () => request({ op: 'teardown' }),
      };
    },
    close: () => {
      try {
        child.stdin.write(`${JSON.stringify({ op: 'quit' })}\n`);
        child.stdin.end();
      } catch {}
    },
  };
}

/** The PyTorch subprocess (torch_bench.py serve): one JSON line in, one out. */
async function setupTorch() {
  if (opts['no-torch']) return { name: 'pytorch', available: false, note: 'skipped (--no-torch)' };
  if (!existsSync(PYTHON)) return { name: 'pytorch', available: false, note: `skipped: ${PYTHON} not found` };
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return {
      name: 'pytorch',
      available: false,
      note: `skipped: torch is not importable by ${PYTHON} (${(probe.stderr || '').trim().split('\n').pop()})`,
    };
  }
  // As a Python user runs it: OpenMP threads sleep when idle instead of spinning (spinning threads
  // steal the next engine's cores in interleaved rounds: 471 ms vs 94-116 ms for an LSTM train step),
  // and OpenBLAS gets the same thread count as torch's intra-op pool.
  const torchEnv = {
    ...process.env,
    OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
    OMP_NUM_THREADS: String(THREADS),
    OPENBLAS_NUM_THREADS: String(THREADS),
  };
  const child = spawn(PYTHON, [join(HERE, 'torch_bench.py'), 'serve', String(THREADS)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: torchEnv,
  });
  const { next, request } = jsonLines(child, 'pytorch');
  const hello = JSON.parse(await next());
  if (!hello.ready) return { name: 'pytorch', available: false, note: `skipped: ${hello.error}` };
  return {
    name: 'pytorch',
    available: true,
    remote: true,
    note: `torch ${hello.torch} via ${PYTHON} subprocess, torch.set_num_threads(${hello.threads}), OMP_WAIT_POLICY=${hello.ompWaitPolicy}; BLAS: ${hello.blas}${referenceBlas(hello.blas) ? ' — the REFERENCE BLAS: PyTorch matmuls run 4-6x slower than a Python user gets; run tools/bench/setup.sh (installs libopenblas0-pthread)' : ''}; times measured inside Python (perf_counter)`,
    blas: hello.blas,
    threads: hello.threads,
    torchVersion: hello.torch,
    make(spec) {
      return {
        remote: true,
        setup: async () => request({ op: 'setup', spec, warmup: WARMUP, warmupMs: WARMUP_MS, warmupMaxRuns: WARMUP_MAX_RUNS }),
        timeOnce: async () => (await request({ op: 'run' })).ms,
        dispose: async () => request({ op: 'teardown' }),
      };
    },
    close: () => {
      try {
        child.stdin.write(`${JSON.stringify({ op: 'quit' })}\n`);
        child.stdin.end();
      } catch {}
    },
  };
}

/** Debian's generic reference BLAS (netlib, under .../blas/), which python3-torch uses unless an optimized one is installed. */
function referenceBlas(path) {
  return /\/blas\/libblas\.so/.test(path ?? '');
}

async function setupOrt(specs) {
  if (opts['no-ort']) return { name: 'onnxruntime', available: false, note: 'skipped (--no-ort)' };
  let ort;
  try {
    ort = (await import('onnxruntime-node')).default ?? (await import('onnxruntime-node'));
  } catch (e) {
    return {
      name: 'onnxruntime',
      available: false,
      note: `skipped: onnxruntime-node is not importable (${e.message.split('\n')[0]}); it is an optionalDependency whose postinstall downloads CUDA binaries (see README)`,
    };
  }
  const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch.onnx'], { encoding: 'utf8' }) : { status: 1 };
  if (probe.status !== 0) {
    return {
      name: 'onnxruntime',
      available: false,
      note: `skipped: the ONNX models are exported with PyTorch (torch.onnx.export), which ${PYTHON} cannot import`,
    };
  }
  const ortSpecs = specs.filter((s) => ortSupports(s));
  const cacheDir = join(HERE, '.cache', 'onnx');
  let paths = {};
  if (ortSpecs.length) {
    const r = spawnSync(PYTHON, [join(HERE, 'torch_bench.py'), 'export', cacheDir, JSON.stringify(ortSpecs)], { encoding: 'utf8' });
    if (r.status !== 0) {
      return { name: 'onnxruntime', available: false, note: `skipped: ONNX export failed: ${(r.stderr || '').trim().split('\n').pop()}` };
    }
    paths = JSON.parse(r.stdout.trim().split('\n').pop());
  }
  const version = ort.env?.versions?.node ?? '';
  return {
    name: 'onnxruntime',
    available: true,
    note: `onnxruntime-node ${version}: CPU EP, intraOpNumThreads ${THREADS}, no spinning (session.intra_op.allow_spinning 0), sequential, graph optimizations 'all'; models from torch.onnx.export (opset 14) cached in tools/bench/.cache/onnx`,
    threads: THREADS,
    make(spec) {
      if (!ortSupports(spec)) return { na: 'ONNX Runtime is inference only (no training step)' };
      const path = paths[spec.id];
      if (!path) return { na: 'no model' };
      let session;
      let feeds;
      const rand = (n, seed) => {
        const a = new Float32Array(n);
        let s = seed;
        for (let i = 0; i < n; i++) {
          s = (s * 1664525 + 1013904223) >>> 0;
          a[i] = s / 2 ** 32 - 0.5;
        }
        return a;
      };
      return {
        setup: async () => {
          session = await ort.InferenceSession.create(path, {
            executionProviders: ['cpu'],
            intraOpNumThreads: THREADS,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            graphOptimizationLevel: 'all',
            // ORT's intra-op threads spin after each run by default and would steal the cores of the
            // engine timed next in an interleaved round.
            extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
          });
          if (spec.kind === 'matmul') {
            feeds = {
              a: new ort.Tensor('float32', rand(spec.n * spec.n, 1), [spec.n, spec.n]),
              b: new ort.Tensor('float32', rand(spec.n * spec.n, 2), [spec.n, spec.n]),
            };
          } else {
            const width = spec.kind === 'rnn' ? spec.input : spec.dModel;
            feeds = { x: new ort.Tensor('float32', rand(spec.batch * spec.seq * width, 3), [spec.batch, spec.seq, width]) };
          }
        },
        run: async () => {
          const out = await session.run(feeds);
          for (const t of Object.values(out)) t.dispose?.();
        },
        dispose: async () => session?.release?.(),
      };
    },
  };
}

function ortSupports(spec) {
  return (spec.mode ?? 'forward') === 'forward' && ['matmul', 'rnn', 'transformer'].includes(spec.kind);
}

// ---------------------------------------------------------------------------------------------
// Main loop
// ---------------------------------------------------------------------------------------------
async function main() {
  const t0 = now();
  const loadStart = os.loadavg();
  const specs = workloads();
  if (specs.length === 0) {
    console.error(`no workload matches --only ${opts.only}`);
    process.exit(2);
  }
  console.log(
    `GhostFlow bench${QUICK ? ' (--quick)' : ''}: ${specs.length} workloads, ${THREADS} thread(s) per engine, warm-up ≥ ${WARMUP} run(s) and ≥ ${WARMUP_MS} ms, median of ${REPS} interleaved rounds (${SLOW_REPS} when a run takes > ${SLOW_MS / 1000}s)`,
  );
  console.log(
    `machine: ${os.cpus()[0]?.model ?? '?'} x${os.availableParallelism?.() ?? os.cpus().length}, Node ${process.version}, ${os.platform()}/${os.arch()}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const probe = freshMemoryProbe();
  console.log(
    `fresh memory: writing a new 4 MiB array takes ${probe.ms.toFixed(2)} ms (${probe.faults} page faults${
      probe.usPerFault ? `, ~${probe.usPerFault.toFixed(1)} us each` : ''
    }); every JS engine pays this for its result arrays${
      process.env.GLIBC_TUNABLES ? `; GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}` : ' (--malloc-reuse: glibc keeps freed blocks)'
    }`,
  );
  const wanted = (name) => !ENGINE_FILTER || ENGINE_FILTER.has(name);
  if (ENGINE_FILTER) {
    const unknown = [...ENGINE_FILTER].filter((n) => !ENGINE_ORDER.includes(n) && !n.startsWith('ghostflow@'));
    if (unknown.length) {
      console.error(`unknown engine(s) in --engines: ${unknown.join(', ')} (known: ${ENGINE_ORDER.join(', ')})`);
      process.exit(2);
    }
  }
  const engines = [];
  // WebGPU first: navigator.gpu must exist before tfjs-backend-webgpu is imported.
  const wantWebgpu = WEBGPU_ENGINES.some(wanted);
  const wg = wantWebgpu ? await setupWebGPU() : { available: false, reason: 'not requested' };
  if (wantWebgpu && !wg.available) notes.push(`WebGPU columns left out: ${wg.reason}`);
  if (wanted('ghostflow')) engines.push(await setupGhostflow());
  if (wanted('ghostflow-webgpu')) engines.push(await setupGhostflowWebgpu(wg));
  if (wanted('ghostflow-cuda')) engines.push(await setupGhostflowCuda());
  let baseline = null;
  if (opts.baseline) {
    baseline = await setupBaseline(opts.baseline);
    ENGINE_ORDER.splice(1, 0, baseline.name);
    engines.push(baseline);
  }
  if (wanted('tfjs-cpu') || wanted('tfjs-wasm') || wanted('tfjs-webgpu')) {
    engines.push(...(await setupTfjs(wg, wanted('tfjs-webgpu'))).filter((e) => wanted(e.name)));
  }
  let torch = null;
  if (wanted('pytorch') || wanted('onnxruntime')) torch = await setupTorch();
  if (wanted('onnxruntime')) engines.push(await setupOrt(specs));
  if (torch && wanted('pytorch')) engines.push(torch);
  engines.sort((a, b) => ENGINE_ORDER.indexOf(a.name) - ENGINE_ORDER.indexOf(b.name));
  if (wg.available) {
    console.log(
      `  webgpu adapter: ${wg.desc} (isFallbackAdapter ${wg.info.isFallbackAdapter}${wg.icd ? `, VK_ICD_FILENAMES=${wg.icd}` : ''}) → ${wg.label}`,
    );
    if (wg.software) {
      console.log(
        `  note: the WebGPU columns run on a software rasteriser on this machine's CPU cores: they measure the WebGPU code paths, not GPU performance${QUICK ? '' : `; on the full run the WebGPU engines get at most ${SOFTWARE_REPS} timed rounds, and a workload whose warm-up run takes over ${SOFTWARE_MAX_MS / 1000} s is skipped for them`}`,
      );
    }
  }
  // The most any wasm kernel can compute here (after backend-cpu's import, which enables relaxed SIMD).
  const peak = engines.some((e) => e.name === 'ghostflow' && e.available) && !QUICK ? await simdPeak(THREADS) : null;
  if (peak) {
    const fmt = (v) => `${v[0].toFixed(0)} GFLOP/s on 1 thread, ${v[1].toFixed(0)} on ${THREADS}`;
    console.log(
      `wasm SIMD128 peak (register-only multiply-add loop, tools/bench/simd-peak.mjs): ${peak.madd ? `relaxed_madd ${fmt(peak.madd)}; ` : ''}mul+add ${fmt(peak.mulAdd)}`,
    );
  }
  for (const e of engines) console.log(`  ${e.name.padEnd(16)} ${e.available ? '' : '[skipped] '}${e.note}`);
  for (const n of notes) console.log(`  note: ${n}`);
  const live = engines.filter((e) => e.available);

  const results = [];
  for (const spec of specs) {
    const w0 = now();
    process.stdout.write(`\n${spec.id}: ${spec.title}\n`);
    const runners = [];
    const row = {
      id: spec.id,
      title: spec.title,
      kind: spec.kind,
      mode: spec.mode ?? null,
      flops: spec.flops ?? null,
      gemmFlops: forwardGemmFlops(spec),
      ...(spec.sweep ? { sweep: spec.sweep, x: spec.x } : {}),
      engines: {},
    };
    for (const e of live) {
      // Known too slow on software WebGPU (measured on 2 cores: the warm-up plus one run of a full-size
      // LSTM train step on the two WebGPU engines took over 3.5 minutes): skipped up front.
      if (e.webgpu && wg.software && !QUICK && spec.kind === 'rnn' && spec.mode === 'train' && !process.env.BENCH_WEBGPU_NO_SKIP) {
        row.engines[e.name] = {
          na: 'skipped on software WebGPU: a full-size RNN train step takes minutes per run on SwiftShader (set BENCH_WEBGPU_NO_SKIP=1 to run it)',
        };
        continue;
      }
      let m;
      try {
        m = await e.make(spec);
      } catch (err) {
        row.engines[e.name] = { na: `error: ${err.message.split('\n')[0]}` };
        console.log(`  ${e.name}: error building the workload: ${err.stack ?? err}`);
        continue;
      }
      if (m.na) {
        row.engines[e.name] = { na: m.na };
        continue;
      }
      gc();
      const before = mem();
      let warmMax = 0;
      let setupExtra = {};
      try {
        if (m.setup) setupExtra = (await m.setup()) ?? {};
        if (!m.remote) {
          await m.before?.();
          const w0 = now();
          for (let i = 0; warmingUp(i, now() - w0); i++) {
            const s = now();
            await m.run();
            warmMax = Math.max(warmMax, now() - s);
            // A software WebGPU engine that is too slow to time is dropped below: no second run.
            if (e.webgpu && wg.software && !QUICK && warmMax > SOFTWARE_MAX_MS) break;
          }
        }
      } catch (err) {
        row.engines[e.name] = { na: `error: ${err.message.split('\n')[0]}` };
        console.log(`  ${e.name}: error during setup/warm-up: ${err.stack ?? err}`);
        try {
          await m.dispose?.();
        } catch {}
        continue;
      }
      const after = mem();
      if (e.webgpu && wg.software && !QUICK && warmMax > SOFTWARE_MAX_MS) {
        const why = `skipped on software WebGPU: the warm-up run took ${(warmMax / 1000).toFixed(1)} s on SwiftShader (over ${SOFTWARE_MAX_MS / 1000} s), too slow to time within the full run's 20 minutes`;
        row.engines[e.name] = { na: why, warmupMaxMs: warmMax };
        console.log(`  ${e.name}: ${why}`);
        try {
          await m.dispose?.();
        } catch {}
        continue;
      }
      const r = { times: [], faults: [], readTimes: [], warmupMaxMs: m.remote ? null : warmMax };
      // Software WebGPU (SwiftShader) on the full run: fewer timed rounds for the WebGPU engines.
      const maxReps = e.webgpu && wg.software && !QUICK ? SOFTWARE_REPS : Number.POSITIVE_INFINITY;
      if (m.remote) r.rssDeltaBytes = setupExtra.rssDeltaBytes ?? null;
      else {
        r.rssDeltaBytes = after.rss - before.rss;
        r.heapDeltaBytes = after.heap - before.heap;
      }
      row.engines[e.name] = r;
      runners.push({ e, m, r, maxReps });
    }
    // Interleaved rounds: every engine once per round, starting engine rotated each round.
    // (Software WebGPU engines have their own cap, SOFTWARE_REPS, and do not cut the others' rounds.)
    const slow = runners.some(({ r, maxReps }) => maxReps === Number.POSITIVE_INFINITY && (r.warmupMaxMs ?? 0) > SLOW_MS);
    const reps = slow ? SLOW_REPS : REPS;
    for (let round = 0; round < reps; round++) {
      for (let i = 0; i < runners.length; i++) {
        const { e, m, r, maxReps } = runners[(i + round) % runners.length];
        if (r.failed || r.times.length >= maxReps) continue;
        try {
          if (m.remote) r.times.push(await m.timeOnce());
          else {
            await m.before?.();
            const f0 = process.resourceUsage().minorPageFault;
            const s = now();
            await m.run();
            r.times.push(now() - s);
            // Minor page faults of the whole process during the run (in-process engines only).
            r.faults.push(process.resourceUsage().minorPageFault - f0);
            const read = m.readMs?.();
            if (read != null) r.readTimes.push(read);
          }
        } catch (err) {
          r.failed = true;
          r.na = `error: ${err.message.split('\n')[0]}`;
          console.log(`  ${e.name}: ${err.stack ?? err}`);
        }
      }
    }
    for (const { e, m, r } of runners) {
      if (!r.failed && m.peakBytes) {
        try {
          r.backendPeakBytes = await m.peakBytes();
        } catch (err) {
          r.backendPeakBytes = null;
          notes.push(`${e.name} ${spec.id}: peak measurement failed: ${err.message}`);
        }
      }
      try {
        await m.dispose?.();
      } catch {}
      if (r.times.length) {
        r.medianMs = median(r.times);
        r.minMs = Math.min(...r.times);
        if (r.faults?.length) r.medianFaults = median(r.faults);
        if (r.readTimes?.length) r.readMedianMs = median(r.readTimes);
        if (spec.flops) r.gflops = spec.flops / (r.medianMs * 1e6);
      }
    }
    const gf = row.engines.ghostflow?.medianMs;
    for (const [name, r] of Object.entries(row.engines)) {
      if (WEBGPU_ENGINES.includes(name) || name === 'ghostflow') continue;
      if (gf && r.medianMs) r.ratio = gf / r.medianMs; // GhostFlow time / peer time
      if (gf && r.medianMs && name.startsWith('ghostflow@')) r.speedup = r.medianMs / gf; // how much faster this tree is
    }
    // The WebGPU pair: ghostflow-webgpu time / tfjs-webgpu time (same device, same workload).
    const gfw = row.engines['ghostflow-webgpu']?.medianMs;
    const tfw = row.engines['tfjs-webgpu'];
    if (gfw && tfw?.medianMs) {
      tfw.ratio = gfw / tfw.medianMs;
      tfw.ratioOf = 'ghostflow-webgpu';
    }
    const line = Object.entries(row.engines)
      .map(
        ([n, r]) =>
          `${n} ${r.medianMs ? `${r.medianMs.toFixed(2)}ms` : 'n/a'}${r.ratio ? ` (${r.ratioOf ? 'gf-webgpu' : 'gf'}/peer ${r.ratio.toFixed(2)})` : ''}`,
      )
      .join(', ');
    console.log(`  ${line}  [${reps} rounds, ${((now() - w0) / 1000).toFixed(1)}s]`);
    results.push(row);
    gc();
  }
  torch?.close?.();
  baseline?.close?.();

  // ---------------------------------------------------------------- report
  // WebGPU columns that could not start are left out (their reason is printed with the engines).
  const names = ENGINE_ORDER.filter((n) => engines.some((e) => e.name === n && (e.available || !WEBGPU_ENGINES.includes(n))));
  const peers = names.filter((n) => n !== 'ghostflow' && !WEBGPU_ENGINES.includes(n));
  const webgpuPair = names.includes('ghostflow-webgpu') && names.includes('tfjs-webgpu');
  const ratioCols = [
    ...peers.map((p) => ({ head: `gf/${p}`, p })),
    ...(webgpuPair ? [{ head: 'gf-webgpu/tfjs-webgpu', p: 'tfjs-webgpu' }] : []),
  ];
  const cell = (r) => (r?.medianMs ? r.medianMs.toFixed(2) : 'n/a');
  const report = [];
  report.push(
    `Median time per run (ms), ${THREADS} thread(s) requested for every engine (effective: ${names.map((n) => `${n} ${effectiveThreads(engines.find((e) => e.name === n))}`).join(', ')})`,
  );
  if (names.some((n) => WEBGPU_ENGINES.includes(n))) {
    report.push(
      `WebGPU columns (${names.filter((n) => WEBGPU_ENGINES.includes(n)).join(', ')}): ${wg.label}, adapter '${wg.desc}', isFallbackAdapter ${wg.info.isFallbackAdapter}${
        wg.software ? ' — software rendering on the CPU: these are not GPU timings' : ''
      }`,
    );
  }
  report.push(
    table(
      ['workload', ...names],
      results.map((row) => [row.id, ...names.map((n) => cell(row.engines[n]))]),
    ),
  );
  report.push(
    `\nRatio GhostFlow time / peer time (< 1: GhostFlow faster)${webgpuPair ? '; gf-webgpu/tfjs-webgpu = ghostflow-webgpu time / tfjs-webgpu time' : ''}`,
  );
  report.push(
    table(
      ['workload', ...ratioCols.map((c) => c.head)],
      results.map((row) => [row.id, ...ratioCols.map(({ p }) => (row.engines[p]?.ratio ? row.engines[p].ratio.toFixed(2) : 'n/a'))]),
    ),
  );
  const sweeps = [...new Set(results.filter((r) => r.sweep).map((r) => r.sweep))];
  if (sweeps.length) {
    report.push(
      '\nGrowth exponents: slope of log(median time) against log(size) over each sweep (1 = linear; compare GhostFlow with PyTorch: a larger exponent is a superlinear regression)',
    );
    const timed = names.filter((n) => results.some((r) => r.sweep && r.engines[n]?.medianMs));
    report.push(
      table(
        ['sweep', 'sizes', ...timed],
        sweeps.map((sw) => {
          const rows = results.filter((r) => r.sweep === sw);
          return [
            sw,
            rows.map((r) => r.x).join(', '),
            ...timed.map((n) => {
              const e = growthExponent(rows.map((r) => [r.x, r.engines[n]?.medianMs ?? 0]));
              return e == null ? 'n/a' : e.toFixed(2);
            }),
          ];
        }),
      ),
    );
  }
  const mm = results.filter((r) => r.kind === 'matmul');
  if (mm.length) {
    report.push('\nMatmul throughput, GFLOP/s (2n³ / median time), and GhostFlow throughput / peer throughput');
    report.push(
      table(
        ['workload', ...names, ...ratioCols.map((c) => c.head.replace('/', '÷'))],
        mm.map((row) => [
          row.id,
          ...names.map((n) => (row.engines[n]?.gflops ? row.engines[n].gflops.toFixed(2) : 'n/a')),
          ...ratioCols.map(({ p }) => (row.engines[p]?.ratio ? `${(1 / row.engines[p].ratio).toFixed(2)}x` : 'n/a')),
        ]),
      ),
    );
  }
  report.push(
    '\nMemory (MB): rssΔ / heapΔ = process RSS / (V8 heap + external) growth over setup + warm-up; peak = backend bytes peak over one run',
  );
  report.push(
    table(
      ['workload', ...names],
      results.map((row) => [
        row.id,
        ...names.map((n) => {
          const r = row.engines[n];
          if (!r || r.na || r.failed) return 'n/a';
          const parts = [`rss ${MB(r.rssDeltaBytes)}`];
          if (r.heapDeltaBytes != null) parts.push(`heap ${MB(r.heapDeltaBytes)}`);
          if (r.backendPeakBytes != null) parts.push(`peak ${MB(r.backendPeakBytes)}`);
          return parts.join(' / ');
        }),
      ]),
    ),
  );
  const inProcess = names.filter((n) => results.some((row) => row.engines[n]?.medianFaults != null));
  if (results.some((row) => row.engines.ghostflow?.readMedianMs != null)) {
    report.push(
      `\nReading results back: GhostFlow's median read-back (dataSync into a fresh array) and its share of the run; minor page faults per run of the in-process engines (fresh memory here: ~${
        probe.usPerFault ? `${probe.usPerFault.toFixed(1)} us` : 'n/a'
      } per fault)`,
    );
    report.push(
      table(
        ['workload', 'ghostflow read ms', 'share', ...inProcess.map((n) => `${n} faults`)],
        results.map((row) => {
          const g = row.engines.ghostflow;
          return [
            row.id,
            g?.readMedianMs != null ? g.readMedianMs.toFixed(2) : 'n/a',
            g?.readMedianMs != null && g.medianMs ? `${((100 * g.readMedianMs) / g.medianMs).toFixed(0)}%` : 'n/a',
            ...inProcess.map((n) => (row.engines[n]?.medianFaults != null ? String(row.engines[n].medianFaults) : 'n/a')),
          ];
        }),
      ),
    );
  }
  const targets = checkTargets(results, peak?.madd?.[1] ?? peak?.mulAdd?.[1] ?? null);
  if (targets.length) {
    report.push('\nIssue targets');
    report.push(
      table(
        ['target', 'measured', 'met', 'what it takes / note'],
        targets.map((t) => [t.target, t.measured, t.met == null ? 'n/a' : t.met ? 'yes' : 'NO', t.takes ?? '']),
        ['l', 'l', 'l', 'l'],
      ),
    );
  }
  const na = [];
  for (const row of results) for (const [n, r] of Object.entries(row.engines)) if (r.na) na.push(`${row.id} / ${n}: ${r.na}`);
  if (na.length) report.push(`\nNot measured:\n${na.map((s) => `  ${s}`).join('\n')}`);
  report.push(
    `\nload average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other processes on the machine skew absolute times; interleaving keeps the ratios comparable)`,
  );
  console.log(`\n${report.join('\n')}`);

  const doc = {
    date: new Date().toISOString(),
    quick: QUICK,
    threads: THREADS,
    reps: REPS,
    warmup: WARMUP,
    warmupMs: WARMUP_MS,
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.availableParallelism?.() ?? os.cpus().length,
      node: process.version,
      platform: `${os.platform()}/${os.arch()}`,
      freshMemory: probe,
      simdPeakGflops: peak,
      glibcTunables: process.env.GLIBC_TUNABLES ?? null,
    },
    engines: engines.map(({ name, available, note, info, threads, torchVersion }) => ({
      name,
      available,
      note,
      info,
      threads,
      torchVersion,
    })),
    webgpu: wg.available
      ? { adapter: wg.info, description: wg.desc, label: wg.label, software: wg.software, vkIcdFilenames: wg.icd }
      : { available: false, reason: wg.reason },
    notes,
    results,
    growthExponents: Object.fromEntries(
      [...new Set(results.filter((r) => r.sweep).map((r) => r.sweep))].map((sw) => [
        sw,
        Object.fromEntries(
          engines
            .filter((e) => e.available)
            .map((e) => [
              e.name,
              growthExponent(results.filter((r) => r.sweep === sw).map((r) => [r.x, r.engines[e.name]?.medianMs ?? 0])),
            ]),
        ),
      ]),
    ),
    targets,
    loadAverage: { start: loadStart, end: os.loadavg() },
    wallSeconds: (now() - t0) / 1000,
  };
  const out = opts.out ?? join(HERE, 'results', `bench-${QUICK ? 'quick-' : ''}${doc.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nresults written to ${out} (${doc.wallSeconds.toFixed(0)}s in all)`);
}

function effectiveThreads(e) {
  if (!e) return '?';
  if (!e.available) return 'skipped';
  if (e.webgpu) return e.info?.label ?? 'webgpu';
  if (e.name === 'ghostflow') {
    const ci = e.info?.cpuInfo;
    if (ci) return ci.path === 'js' ? '1 (JS path)' : `${ci.threads} (${ci.path})`;
    return e.info?.threadsVia ? String(THREADS) : '1 (JS)';
  }
  return String(e.threads ?? THREADS);
}

/**
 * Floating-point operations of a forward run's matrix products (2 per multiply-add), or null for
 * a workload without a formula: the recurrent layers' input and recurrent GEMMs (every gate, both
 * directions), the encoder layer's projections, feed-forward and attention products. Cell math,
 * softmax and norms are left out, so the figure is a lower bound of the work.
 */
function forwardGemmFlops(spec) {
  if (spec.kind === 'matmul') return spec.flops;
  if (spec.kind === 'rnn') {
    const gates = spec.cell === 'lstm' ? 4 : 3;
    const dirs = spec.bidirectional ? 2 : 1;
    let total = 0;
    for (let l = 0; l < spec.layers; l++) {
      const input = l === 0 ? spec.input : spec.hidden * dirs;
      total += dirs * 2 * spec.batch * spec.seq * gates * spec.hidden * (input + spec.hidden);
    }
    return total;
  }
  if (spec.kind === 'transformer') {
    const tokens = spec.batch * spec.seq;
    const d = spec.dModel;
    return 2 * tokens * d * 4 * d + 4 * tokens * d * spec.ff + 4 * spec.batch * spec.seq * spec.seq * d;
  }
  return null;
}

function checkTargets(results, peak) {
  const get = (id, eng) => results.find((r) => r.id === id)?.engines?.[eng];
  const has = (id) => results.some((r) => r.id === id);
  const out = [];
  /** GhostFlow time / peer time for a row, or null. */
  const ratio = (id, eng) => get(id, eng)?.ratio ?? null;
  const at = (target, value, ok, fmt = (v) => `${v.toFixed(2)}x`) =>
    out.push({ target, measured: value == null ? 'n/a' : fmt(value), met: value == null ? null : ok(value) });
  // Issue 10's targets.
  for (const [id, need] of [
    ['lstm-forward', 1.5],
    ['gru-forward', 1.5],
    ['bilstm-forward', 2],
    ['transformer-forward', 2],
  ]) {
    if (!has(id)) continue;
    at(`${id} ≤ ${need}x onnxruntime's time`, ratio(id, 'onnxruntime'), (v) => v <= need);
    // What meeting it takes: the row's GEMM work done within need x ONNX Runtime's median.
    const flops = results.find((r) => r.id === id)?.gemmFlops;
    const ort = get(id, 'onnxruntime')?.medianMs;
    if (flops && ort) {
      out[out.length - 1].takes =
        `≥ ${(flops / (need * ort * 1e6)).toFixed(0)} GFLOP/s over the whole run (GEMMs alone: ${(flops / 1e9).toFixed(2)} GFLOP in ${(need * ort).toFixed(1)} ms)${
          peak ? `; SIMD128 peak here ${peak.toFixed(0)}` : ''
        }`;
    }
  }
  if (has('bilstm-forward')) at('bilstm-forward faster than tfjs-wasm', ratio('bilstm-forward', 'tfjs-wasm'), (v) => v < 1);
  if (has('matmul-256')) at('matmul-256 no slower than tfjs-wasm', ratio('matmul-256', 'tfjs-wasm'), (v) => v <= 1);
  if (has('matmul-1024')) {
    const g = get('matmul-1024', 'ghostflow');
    at(
      'matmul-1024 ≥ 85 GFLOP/s',
      g?.gflops ?? null,
      (v) => v >= 85,
      (v) => `${v.toFixed(1)} GFLOP/s`,
    );
    if (g?.readMedianMs != null && g.medianMs > g.readMedianMs) {
      out[out.length - 1].takes =
        `without the read-back (${g.readMedianMs.toFixed(1)} ms): ${((2 * 1024 ** 3) / ((g.medianMs - g.readMedianMs) * 1e6)).toFixed(1)} GFLOP/s`;
    }
  }
  for (const row of results.filter((r) => r.mode === 'train' && !r.sweep && r.kind !== 'wordlm')) {
    at(`${row.id} ≤ 2x PyTorch's time`, ratio(row.id, 'pytorch'), (v) => v <= 2);
  }
  if (has('gru-decode')) at("gru-decode (batch 1) ≤ 2x PyTorch's time per step", ratio('gru-decode', 'pytorch'), (v) => v <= 2);
  if (has('adam-step')) at("adam-step ≤ 2x PyTorch's time", ratio('adam-step', 'pytorch'), (v) => v <= 2);
  if (has('wordlm-train')) {
    at("wordlm-train ≤ 1.5x PyTorch's time", ratio('wordlm-train', 'pytorch'), (v) => v <= 1.5);
    const g = get('wordlm-train', 'ghostflow');
    at('wordlm-train median/min spread < 1.5', g?.medianMs && g?.minMs ? g.medianMs / g.minMs : null, (v) => v < 1.5);
  }
  // The issue asks this of the three training rows only, against the main of its filing (d814938);
  // against any other baseline the row still shows how far a change moved them.
  const twiceFaster = new Set(['lstm-train', 'gru-train', 'transformer-train']);
  for (const row of results.filter((r) => twiceFaster.has(r.id) && !r.sweep)) {
    const base = Object.keys(row.engines).find((n) => n.startsWith('ghostflow@'));
    if (base)
      at(
        `${row.id} ≥ 2x faster than ${base}`,
        row.engines[base]?.speedup ?? null,
        (v) => v >= 2,
        (v) => `${v.toFixed(2)}x faster`,
      );
  }
  if (QUICK) for (const t of out) t.target += ' (quick sizes: not the issue targets)';
  return out;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
