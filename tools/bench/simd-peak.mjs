/**
 * The most WebAssembly SIMD128 can compute on this machine: a register-only loop of f32x4
 * multiply-adds (8 independent accumulators, no memory traffic), on 1 thread and on N threads at
 * once (worker_threads, started together). No GEMM, recurrent step or attention written in wasm
 * can run faster than this, so a target that needs more GFLOP/s than the N-thread figure is out
 * of reach for backend-cpu on this machine whatever the kernel does.
 *
 * The module is assembled here from bytes (a few dozen), so the bench needs no compiler:
 *   (func (param $n i32) (result f32)
 *     b = splat(1.0000001); a_j = splat(2^-(j+1))
 *     loop: b = b * 0.9999999                  (not counted; without it a_j * b is loop-invariant)
 *           acc_i = relaxed_madd(a_(i mod 4), b, acc_i)   for i in 0..7, or without relaxed SIMD
 *           acc_i = acc_i + a_i * b                       for i in 0..5 (distinct products)
 *           n -= 1; br_if loop n
 *     return lane 0 of the first + last accumulator)
 * relaxed_madd needs relaxed SIMD: only measured when the engine validates it (in Node 20
 * `--experimental-wasm-relaxed-simd`, which importing backend-cpu sets).
 *
 *   node tools/bench/simd-peak.mjs [--threads 2]
 */
import { Worker } from 'node:worker_threads';

/**
 * Loop shapes: relaxed_madd keeps 8 accumulators busy (fused: nothing to share between them);
 * mul + add needs a distinct product per accumulator (the engine would compute a shared one
 * once), so 6 accumulators with 6 multipliers (16 registers hold no more).
 */
const SHAPES = { madd: { acc: 8, as: 4 }, mulAdd: { acc: 6, as: 6 } };

/** LEB128 of an unsigned integer. */
function leb(n) {
  const out = [];
  let v = n;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

/** A section: id, byte length, bytes. */
const section = (id, bytes) => [id, ...leb(bytes.length), ...bytes];

/** The peak-loop module's bytes (`madd`: relaxed_madd instead of mul + add). */
export function peakModuleBytes(madd) {
  const { acc, as } = SHAPES[madd ? 'madd' : 'mulAdd'];
  const f32 = (x) => [...new Uint8Array(new Float32Array([x]).buffer)];
  const SIMD = 0xfd;
  const splat = [SIMD, ...leb(0x13)];
  const mul = [SIMD, ...leb(0xe6)];
  const add = [SIMD, ...leb(0xe4)];
  const relaxedMadd = [SIMD, ...leb(0x105)];
  const extractLane0 = [SIMD, ...leb(0x1f), 0];
  // locals: 0 = n (param), then acc accumulators, `as` multipliers, b, and b's factor
  const A0 = 1 + acc;
  const B = A0 + as;
  const F = B + 1;
  const get = (i) => [0x20, ...leb(i)];
  const set = (i) => [0x21, ...leb(i)];
  const body = [];
  body.push(0x43, ...f32(1.0000001), ...splat, ...set(B));
  body.push(0x43, ...f32(0.9999999), ...splat, ...set(F));
  for (let i = 0; i < as; i++) body.push(0x43, ...f32(0.5 ** (i + 1)), ...splat, ...set(A0 + i));
  body.push(0x03, 0x40); // loop (no result)
  // b changes every iteration (one extra multiply), else the engine hoists a_i * b out of the loop.
  body.push(...get(B), ...get(F), ...mul, ...set(B));
  for (let i = 0; i < acc; i++) {
    const a = A0 + (i % as);
    if (madd) body.push(...get(a), ...get(B), ...get(1 + i), ...relaxedMadd, ...set(1 + i));
    else body.push(...get(1 + i), ...get(a), ...get(B), ...mul, ...add, ...set(1 + i));
  }
  body.push(...get(0), 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0); // n = n - 1 (tee), br_if 0
  body.push(0x0b); // end loop
  body.push(...get(1), ...get(acc), ...add, ...extractLane0, 0x0b);
  const locals = [1, ...leb(F), 0x7b]; // every local after n is a v128
  const func = [...locals, ...body];
  const code = [1, ...leb(func.length), ...func];
  const name = [...'peak'].map((c) => c.charCodeAt(0));
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const bytes = [
    ...header,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, code),
  ];
  return { bytes: new Uint8Array(bytes), flopsPerIter: acc * 8 };
}

/** Source of a worker (and of the 1-thread run): times `iters` loop iterations, best of `reps`. */
const RUNNER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, iters, reps, start } = workerData;
const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak;
peak(10000);
const flag = new Int32Array(start);
Atomics.add(flag, 1, 1);
while (Atomics.load(flag, 0) === 0) {}
let best = Infinity;
for (let r = 0; r < reps; r++) {
  const s = performance.now();
  peak(iters);
  best = Math.min(best, performance.now() - s);
}
parentPort.postMessage(best);
`;

/**
 * GFLOP/s of the peak loop with `threads` threads running at once (each thread's best of `reps`
 * timings of `iters` iterations; the figure is the sum over threads).
 */
async function measure({ bytes, flopsPerIter }, threads, iters, reps) {
  const start = new SharedArrayBuffer(8);
  const flag = new Int32Array(start);
  const workers = Array.from({ length: threads }, () => new Worker(RUNNER, { eval: true, workerData: { bytes, iters, reps, start } }));
  const done = workers.map((w) => new Promise((res, rej) => w.once('message', res).once('error', rej)));
  while (Atomics.load(flag, 1) < threads) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(flag, 0, 1);
  const best = await Promise.all(done);
  await Promise.all(workers.map((w) => w.terminate()));
  return best.reduce((sum, ms) => sum + (iters * flopsPerIter) / (ms * 1e6), 0);
}

/**
 * The SIMD128 peak: `{ mulAdd: [1-thread, N-thread], madd: [...] | null }` in GFLOP/s (`madd`
 * null when relaxed SIMD does not validate here).
 */
export async function simdPeak(threads = 2, { iters = 2_000_000, reps = 5 } = {}) {
  const out = { threads, mulAdd: null, madd: null };
  for (const madd of [false, true]) {
    const mod = peakModuleBytes(madd);
    if (!WebAssembly.validate(mod.bytes)) continue;
    const one = await measure(mod, 1, iters, reps);
    const many = threads > 1 ? await measure(mod, threads, iters, reps) : one;
    out[madd ? 'madd' : 'mulAdd'] = [one, many];
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--threads');
  const threads = i > 0 ? Number(process.argv[i + 1]) : 2;
  const p = await simdPeak(threads);
  const fmt = (v) =>
    v ? `${v[0].toFixed(1)} GFLOP/s on 1 thread, ${v[1].toFixed(1)} on ${threads}` : 'n/a (relaxed SIMD does not validate)';
  console.log(`wasm SIMD128 peak, f32x4 mul + add: ${fmt(p.mulAdd)}`);
  console.log(`wasm SIMD128 peak, f32x4.relaxed_madd: ${fmt(p.madd)}`);
}
