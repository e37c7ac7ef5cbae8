/**
 * Run under mpirun: every collective, op and dtype on odd, empty and large tensors, checked by
 * value against the result computed locally from every rank's known inputs. Prints one line
 * `RESULT <rank> <json>`: the number of checks, every mismatch, and a few raw values the test
 * asserts itself.
 */
import { networkInterfaces } from 'node:os';
import { tensor } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { allGather, allReduce, barrier, broadcast, destroyProcessGroup, initProcessGroup, reduceScatter } from '@ghostflow/distributed';
import { report } from './report.mjs';

const pg = initProcessGroup({ backend: 'mpi', timeoutMs: 60_000 });
const me = pg.rank();
const n = pg.worldSize();
const failures = [];
let checks = 0;

/** Input value of element i on rank r for a dtype: exact in float32 sums, varied for max/min. */
function value(dtype, r, i) {
  if (dtype === 'bool') return (i * 7 + r * 3) % 5 === 0 ? 1 : 0;
  const v = ((i * 37 + r * 101) % 29) - 14; // -14..14, differs across ranks
  return dtype === 'float32' ? v + 0.5 * (r % 2) : v;
}
const arrayOf = (dtype, len) =>
  dtype === 'float32' ? new Float32Array(len) : dtype === 'int32' ? new Int32Array(len) : new Uint8Array(len);
function inputs(dtype, len, r) {
  const a = arrayOf(dtype, len);
  for (let i = 0; i < len; i++) a[i] = value(dtype, r, i);
  return a;
}
function reduceExpected(dtype, op, len) {
  const out = arrayOf(dtype, len);
  for (let i = 0; i < len; i++) {
    const vals = Array.from({ length: n }, (_, r) => value(dtype, r, i));
    let v;
    if (dtype === 'bool') v = op === 'min' ? Number(vals.every(Boolean)) : Number(vals.some(Boolean));
    else if (op === 'sum' || op === 'avg') {
      let s = 0;
      for (const x of vals) s = dtype === 'float32' ? Math.fround(s + x) : s + x;
      v = op === 'avg' ? (dtype === 'int32' ? Math.trunc(s / n) : s / n) : s;
    } else v = op === 'max' ? Math.max(...vals) : Math.min(...vals);
    out[i] = v;
  }
  return out;
}
function compare(what, got, want) {
  checks++;
  if (got.length !== want.length) {
    failures.push(`${what}: length ${got.length}, expected ${want.length}`);
    return;
  }
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      failures.push(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
      return;
    }
  }
}

const shapes = [[0], [1], [7], [3, 5, 3], [2, 0, 4], []];
const samples = {};
for (const dtype of ['float32', 'int32', 'bool']) {
  for (const shape of shapes) {
    const len = shape.reduce((a, b) => a * b, 1);
    const label = `${dtype}[${shape}]`;
    for (const op of dtype === 'bool' ? ['sum', 'max', 'min'] : ['sum', 'avg', 'max', 'min']) {
      const t = tensor(inputs(dtype, len, me), { shape, dtype });
      await allReduce(t, op);
      const got = await t.data();
      compare(`allReduce ${op} ${label}`, got, reduceExpected(dtype, op, len));
      if (shape.length === 1 && shape[0] === 7) samples[`allReduce_${op}_${dtype}`] = Array.from(got);
      t.dispose();
    }
    for (let root = 0; root < n; root++) {
      const t = tensor(inputs(dtype, len, me), { shape, dtype });
      await broadcast(t, root);
      compare(`broadcast from ${root} ${label}`, await t.data(), inputs(dtype, len, root));
      t.dispose();
    }
    const t = tensor(inputs(dtype, len, me), { shape, dtype });
    const g = await allGather(t);
    checks++;
    if (g.shape.join() !== [n, ...shape].join()) failures.push(`allGather ${label}: shape [${g.shape}]`);
    const want = arrayOf(dtype, n * len);
    for (let r = 0; r < n; r++) want.set(inputs(dtype, len, r), r * len);
    compare(`allGather ${label}`, await g.data(), want);
    t.dispose();
    g.dispose();
    // reduceScatter: input [n, ...shape]; this rank gets row `me` reduced over ranks
    for (const op of dtype === 'bool' ? ['sum', 'min'] : ['sum', 'avg', 'max', 'min']) {
      const rows = arrayOf(dtype, n * len);
      // row k of rank r holds the values rank (r + k) would use, so rows differ
      for (let k = 0; k < n; k++) rows.set(inputs(dtype, len, (me + k) % n), k * len);
      const x = tensor(rows, { shape: [n, ...shape], dtype });
      const out = await reduceScatter(x, op);
      checks++;
      if (out.shape.join() !== shape.join()) failures.push(`reduceScatter ${label}: shape [${out.shape}]`);
      // element i of row me over ranks r: value(dtype, (r + me) % n, i): all ranks' values once
      compare(`reduceScatter ${op} ${label}`, await out.data(), reduceExpected(dtype, op, len));
      x.dispose();
      out.dispose();
    }
  }
}

// A tensor larger than a 25 MiB DDP bucket: 7,000,001 float32 elements (28 MB).
{
  const len = 7_000_001;
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = (i % 1000) + me;
  const t = tensor(a);
  await allReduce(t, 'sum');
  const got = await t.data();
  let bad = -1;
  const offset = (n * (n - 1)) / 2;
  for (let i = 0; i < len; i++) {
    if (got[i] !== n * (i % 1000) + offset) {
      bad = i;
      break;
    }
  }
  checks++;
  if (bad >= 0) failures.push(`large allReduce: element ${bad} is ${got[bad]}`);
  samples.largeLast = got[len - 1];
  t.dispose();
}

// Several collectives in flight at once complete in order with the right values.
{
  const ts = Array.from({ length: 8 }, (_, k) => tensor([me + k]));
  await Promise.all(ts.map((t) => allReduce(t, 'sum')));
  samples.concurrent = [];
  for (const t of ts) samples.concurrent.push((await t.data())[0]);
}
samples.rankPlusOneSum = await (async () => {
  const t = tensor([me + 1], { dtype: 'int32' });
  await allReduce(t);
  return (await t.data())[0];
})();

await barrier();
destroyProcessGroup();
report(me, { rank: me, worldSize: n, checks, failures, samples, interfaces: Object.keys(networkInterfaces()).sort() });
