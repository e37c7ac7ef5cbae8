/**
 * Fuzz: ops against a float64 JavaScript reference (test/fuzz-reference.ts) on random shapes
 * (empty and 0-d included), broadcasts and non-contiguous views (permuted, strided slices
 * of padded buffers, expanded, offset 0-d selects), on the default cpu backend, its JS-only
 * path, and its wasm kernels with every size threshold at 0. Values must match within float32 tolerance; integer and bool results exactly.
 */
import '@ghostflow/backend-cpu';
import * as gf from '@ghostflow/core';
import { type DType, type Tensor, registerBackend, setBackend } from '@ghostflow/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../src/cpu-backend.js';
import { FUZZ_TIMEOUT_MS, FUZZ_SEED, fuzzParams, reportCases } from './fuzz-config.js';
import {
  type Layout,
  type Ref,
  at,
  broadcastShape,
  broadcastTo,
  close,
  erfRef,
  materialize,
  numel,
  powRef,
  roundEven,
  stridesOf,
  unravel,
  valuesOf,
} from './fuzz-reference.js';

registerBackend('cpu-js', () => createCpuBackend({ wasm: false, name: 'cpu-js' }), { priority: 0 });
// The default thresholds keep tensors this small on the JS kernels: this one sends every case
// the wasm kernels accept to them (and GEMM to two threads), so the wasm paths are fuzzed too.
registerBackend(
  'cpu-wasm-fuzz',
  () =>
    createCpuBackend({
      name: 'cpu-wasm-fuzz',
      threads: 2,
      thresholds: { minElements: 0, minMacs: 0, threadMinMacs: 0, threadMinElements: 0 },
    }),
  { priority: 0 },
);
const DEVICES = ['cpu', 'cpu-js', 'cpu-wasm-fuzz'] as const;

beforeAll(async () => {
  await setBackend('cpu');
  console.log(`[fuzz] ops: seed ${FUZZ_SEED}, devices ${DEVICES.join(', ')}`);
});

// ---------------------------------------------------------------- generators

const sizeArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(1) },
  { weight: 6, arbitrary: fc.integer({ min: 2, max: 4 }) },
);
const shapeArb = (minRank = 0, maxRank = 4) => fc.array(sizeArb, { minLength: minRank, maxLength: maxRank });

const SPECIALS = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];

function valueArb(dtype: DType, specials: boolean, range = 8): fc.Arbitrary<number> {
  if (dtype === 'bool') return fc.constantFrom(0, 1);
  if (dtype === 'int32')
    return fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: -range, max: range }) },
      { weight: 1, arbitrary: fc.constantFrom(2147483647, -2147483648, 65536) },
    );
  // fc.float alone is uniform over bit patterns (mostly tiny magnitudes): mix in evenly
  // spread values and exact halves (round's ties), and the IEEE specials.
  const finite = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: -range * 1024, max: range * 1024 }).map((v) => Math.fround(v / 1024 + v / 7919)) },
    { weight: 2, arbitrary: fc.integer({ min: -2 * range, max: 2 * range }).map((v) => v / 2) },
    { weight: 2, arbitrary: fc.float({ min: Math.fround(-range), max: Math.fround(range), noNaN: true }) },
  );
  return specials ? fc.oneof({ weight: 10, arbitrary: finite }, { weight: 1, arbitrary: fc.constantFrom(...SPECIALS) }) : finite;
}

const contiguous = (rank: number): Layout => ({
  perm: [...Array(rank).keys()],
  pad: Array.from({ length: rank }, () => ({ before: 0, step: 1, after: 0 })),
  selectScalar: false,
});

function layoutArb(rank: number): fc.Arbitrary<Layout> {
  const strided = fc.record({
    perm: fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }),
    pad: fc.array(
      fc.record({ before: fc.integer({ min: 0, max: 2 }), step: fc.integer({ min: 1, max: 3 }), after: fc.integer({ min: 0, max: 1 }) }),
      {
        minLength: rank,
        maxLength: rank,
      },
    ),
    selectScalar: fc.boolean(),
  });
  return fc.oneof({ weight: 1, arbitrary: fc.constant(contiguous(rank)) }, { weight: 2, arbitrary: strided });
}

/** One input: its values (before expansion), its logical shape, how it is laid out. */
interface Input {
  base: Ref;
  shape: number[];
  layout: Layout;
}

/** An input of `shape`: some dims may be stride-0 expansions of a size-1 base dim. */
function inputArb(shape: number[], dtype: DType, specials = false, range = 8): fc.Arbitrary<Input> {
  return fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }).chain((mask) => {
    const baseShape = shape.map((s, d) => (mask[d] && s !== 1 ? 1 : s));
    return fc
      .record({
        data: fc.array(valueArb(dtype, specials, range), { minLength: numel(baseShape), maxLength: numel(baseShape) }),
        layout: layoutArb(shape.length),
      })
      .map(({ data, layout }) => ({ base: { dtype, shape: baseShape, data }, shape, layout }));
  });
}

const refOf = (i: Input): Ref => broadcastTo(i.base, i.shape);

function build(i: Input, device: string): Tensor {
  const t = materialize(i.base, i.layout, device);
  if (i.base.shape.every((s, d) => s === i.shape[d])) return t;
  const e = t.expand(i.shape);
  t.dispose();
  return e;
}

/** A shape that broadcasts to `out`: leading dims dropped, some dims set to 1. */
function broadcastable(out: number[]): fc.Arbitrary<number[]> {
  return fc
    .tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
    .map(([drop, ones]) => out.slice(drop).map((s, d) => (ones[d + drop] ? 1 : s)));
}

// ---------------------------------------------------------------- checking

interface Tol {
  atol: number;
  rtol: number;
}
const F32: Tol = { atol: 1e-6, rtol: 1e-5 };

function expectRef(got: Tensor, want: Ref, tol: Tol | ((i: number) => Tol), label: string): void {
  expect([...got.shape], `${label}: shape`).toEqual(want.shape);
  expect(got.dtype, `${label}: dtype`).toBe(want.dtype);
  const g = valuesOf(got);
  for (let i = 0; i < want.data.length; i++) {
    const w = want.data[i];
    if (want.dtype !== 'float32') {
      if (g[i] !== w) expect.fail(`${label}: element ${i} (${unravel(i, want.shape)}) is ${g[i]}, expected ${w}`);
      continue;
    }
    const t = typeof tol === 'function' ? tol(i) : tol;
    if (!close(g[i], w, t.atol, t.rtol))
      expect.fail(`${label}: element ${i} (${unravel(i, want.shape)}) is ${g[i]}, expected ${w} (atol ${t.atol}, rtol ${t.rtol})`);
  }
}

/** Runs `body` and checks every buffer it made was disposed (the fuzz never leaks its own tensors). */
function leakFree(body: () => void): void {
  const before = gf.memory();
  body();
  const after = gf.memory();
  expect(after.buffers, 'buffers after the case').toBe(before.buffers);
}

const map = (r: Ref, dtype: DType, f: (v: number) => number): Ref => ({ dtype, shape: r.shape, data: r.data.map(f) });
const fr = Math.fround;
const counts: Record<string, number> = {};
const count = (name: string) => {
  counts[name] = (counts[name] ?? 0) + 1;
};

// ---------------------------------------------------------------- elementwise unary

const UNARY: Record<string, { f: (x: number) => number; op: (t: Tensor) => Tensor; specials: boolean; range?: number; tol?: Tol }> = {
  neg: { f: (x) => -x, op: gf.neg, specials: true },
  abs: { f: Math.abs, op: gf.abs, specials: true },
  sign: { f: (x) => (Number.isNaN(x) ? 0 : Math.sign(x)), op: gf.sign, specials: true },
  exp: { f: Math.exp, op: gf.exp, specials: true, range: 90 },
  expm1: { f: Math.expm1, op: gf.expm1, specials: false, range: 20 },
  log: { f: Math.log, op: gf.log, specials: true },
  log1p: { f: Math.log1p, op: gf.log1p, specials: false },
  sqrt: { f: Math.sqrt, op: gf.sqrt, specials: true },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), op: gf.rsqrt, specials: false },
  reciprocal: { f: (x) => 1 / x, op: gf.reciprocal, specials: true },
  sin: { f: Math.sin, op: gf.sin, specials: false, range: 100 },
  cos: { f: Math.cos, op: gf.cos, specials: false, range: 100 },
  tanh: { f: Math.tanh, op: gf.tanh, specials: true, range: 30 },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), op: gf.sigmoid, specials: true, range: 100 },
  relu: { f: (x) => (Number.isNaN(x) ? x : Math.max(x, 0)), op: gf.relu, specials: true },
  silu: { f: (x) => x / (1 + Math.exp(-x)), op: gf.silu, specials: false, range: 100 },
  erf: { f: erfRef, op: gf.erf, specials: false, tol: { atol: 3e-7, rtol: 1e-5 } },
  gelu: { f: (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)), op: (t) => gf.gelu(t), specials: false, tol: { atol: 2e-6, rtol: 1e-5 } },
  geluTanh: {
    f: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    op: (t) => gf.gelu(t, { approximate: 'tanh' }),
    specials: false,
  },
  softplus: { f: (x) => (x > 20 ? x : Math.log1p(Math.exp(x))), op: (t) => gf.softplus(t), specials: false, range: 40 },
  floor: { f: Math.floor, op: gf.floor, specials: true },
  ceil: { f: Math.ceil, op: gf.ceil, specials: true },
  round: { f: roundEven, op: gf.round, specials: true },
  square: { f: (x) => x * x, op: gf.square, specials: true },
};
const INT_UNARY = ['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round', 'square'];

describe('bugs the op fuzz found', () => {
  it('full(-0) and scalar -0 operands keep the sign of zero (x / -0 is -inf for x > 0)', () => {
    for (const device of DEVICES) {
      const z = gf.full([2], -0, { device });
      expect(
        valuesOf(z).map((v) => Object.is(v, -0)),
        device,
      ).toEqual([true, true]);
      const x = gf.tensor([-0.5, 1], { device });
      const q = gf.div(x, -0);
      expect(valuesOf(q), device).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      for (const t of [z, x, q]) t.dispose();
    }
  });
});

describe('fuzz: ops vs a float64 reference', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('elementwise unary ops on float32 (and int32 where defined) views', () => {
    const arb = fc
      .record({ name: fc.constantFrom(...Object.keys(UNARY)), device: fc.constantFrom(...DEVICES), shape: shapeArb(), int: fc.boolean() })
      .chain(({ name, device, shape, int }) => {
        const spec = UNARY[name];
        const dtype: DType = int && INT_UNARY.includes(name) ? 'int32' : 'float32';
        return inputArb(shape, dtype, spec.specials, spec.range ?? 8).map((input) => ({ name, device, input }));
      });
    fc.assert(
      fc.property(arb, ({ name, device, input }) => {
        count('unary');
        const spec = UNARY[name];
        const ref = refOf(input);
        const want =
          ref.dtype === 'int32'
            ? map(ref, 'int32', (x) =>
                name === 'neg' ? -x | 0 : name === 'abs' ? Math.abs(x) | 0 : name === 'square' ? Math.imul(x, x) : spec.f(x),
              )
            : map(ref, 'float32', spec.f);
        leakFree(() => {
          const x = build(input, device);
          const y = spec.op(x);
          expectRef(y, want, spec.tol ?? F32, `${name} on ${device}`);
          x.dispose();
          y.dispose();
        });
      }),
      fuzzParams(1500),
    );
  });

  // -------------------------------------------------------------- elementwise binary

  type BinSpec = {
    f: (a: number, b: number, dtype: DType) => number;
    op: (a: Tensor | number, b: Tensor | number) => Tensor;
    out?: DType | 'float';
    dtypes: DType[][];
  };
  const arith: DType[][] = [
    ['float32', 'float32'],
    ['int32', 'int32'],
    ['float32', 'int32'],
    ['int32', 'float32'],
  ];
  const wrap = (v: number, dtype: DType) => (dtype === 'int32' ? v | 0 : v);
  const BINARY: Record<string, BinSpec> = {
    add: { f: (a, b, d) => wrap(a + b, d), op: gf.add, dtypes: arith },
    sub: { f: (a, b, d) => wrap(a - b, d), op: gf.sub, dtypes: arith },
    mul: { f: (a, b, d) => (d === 'int32' ? Math.imul(a, b) : a * b), op: gf.mul, dtypes: arith },
    div: { f: (a, b) => a / b, op: gf.div, out: 'float', dtypes: arith },
    pow: { f: (a, b) => powRef(a, b), op: gf.pow, dtypes: [['float32', 'float32']] },
    maximum: { f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)), op: gf.maximum, dtypes: arith },
    minimum: { f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)), op: gf.minimum, dtypes: arith },
    eq: { f: (a, b) => Number(a === b), op: gf.eq, out: 'bool', dtypes: arith },
    ne: { f: (a, b) => Number(a !== b), op: gf.ne, out: 'bool', dtypes: arith },
    lt: { f: (a, b) => Number(a < b), op: gf.lt, out: 'bool', dtypes: arith },
    le: { f: (a, b) => Number(a <= b), op: gf.le, out: 'bool', dtypes: arith },
    gt: { f: (a, b) => Number(a > b), op: gf.gt, out: 'bool', dtypes: arith },
    ge: { f: (a, b) => Number(a >= b), op: gf.ge, out: 'bool', dtypes: arith },
    logicalAnd: { f: (a, b) => Number(!!a && !!b), op: gf.logicalAnd, out: 'bool', dtypes: [['bool', 'bool']] },
    logicalOr: { f: (a, b) => Number(!!a || !!b), op: gf.logicalOr, out: 'bool', dtypes: [['bool', 'bool']] },
    logicalXor: { f: (a, b) => Number(!!a !== !!b), op: gf.logicalXor, out: 'bool', dtypes: [['bool', 'bool']] },
  };

  it('elementwise binary ops with broadcasting, dtype promotion and scalar operands', () => {
    const arb = fc
      .record({
        name: fc.constantFrom(...Object.keys(BINARY)),
        device: fc.constantFrom(...DEVICES),
        out: shapeArb(),
        which: fc.nat(),
        scalarSide: fc.constantFrom(0, 0, 0, 1, 2),
      })
      .chain(({ name, device, out, which, scalarSide }) => {
        const spec = BINARY[name];
        const [da, db] = spec.dtypes[which % spec.dtypes.length];
        // A JS number operand only next to a float32 tensor, where its dtype cannot matter.
        const side = da === 'float32' && db === 'float32' ? scalarSide : 0;
        return fc.tuple(broadcastable(out), broadcastable(out)).chain(([sa, sb]) =>
          fc
            .record({
              a: inputArb(sa, da, true),
              b: inputArb(sb, db, true),
              sa: valueArb('float32', true),
              sb: valueArb('float32', true),
            })
            .map((v) => ({ name, device, side, ...v })),
        );
      });
    fc.assert(
      fc.property(arb, ({ name, device, side, a, b, sa, sb }) => {
        count('binary');
        const spec = BINARY[name];
        const ra: Ref = side === 1 ? { dtype: 'float32', shape: [], data: [sa] } : refOf(a);
        const rb: Ref = side === 2 ? { dtype: 'float32', shape: [], data: [sb] } : refOf(b);
        const shape = broadcastShape(ra.shape, rb.shape);
        const promoted: DType = ra.dtype === rb.dtype ? ra.dtype : 'float32';
        const dtype: DType = spec.out === 'bool' ? 'bool' : spec.out === 'float' ? 'float32' : promoted;
        const data = new Array<number>(numel(shape));
        for (let i = 0; i < data.length; i++) {
          const idx = unravel(i, shape);
          data[i] = spec.f(at(ra, idx), at(rb, idx), promoted);
        }
        leakFree(() => {
          const ta = side === 1 ? sa : build(a, device);
          const tb = side === 2 ? sb : build(b, device);
          const y = spec.op(ta, tb);
          expectRef(
            y,
            { dtype, shape, data },
            F32,
            `${name}(${ra.dtype}${JSON.stringify(ra.shape)}, ${rb.dtype}${JSON.stringify(rb.shape)}) on ${device}`,
          );
          for (const t of [ta, tb, y]) if (typeof t !== 'number') t.dispose();
        });
      }),
      fuzzParams(1500),
    );
  });

  // -------------------------------------------------------------- reductions

  type RedName = 'sum' | 'mean' | 'prod' | 'amax' | 'amin' | 'logsumexp' | 'any' | 'all' | 'max' | 'min' | 'argmax' | 'argmin';
  const REDUCTIONS: RedName[] = ['sum', 'mean', 'prod', 'amax', 'amin', 'logsumexp', 'any', 'all', 'max', 'min', 'argmax', 'argmin'];
  const SINGLE_DIM: RedName[] = ['max', 'min', 'argmax', 'argmin'];

  function reduceRef(
    name: RedName,
    x: Ref,
    dims: number[],
    keepdim: boolean,
  ): { values: Ref; indices?: Ref; tol: (i: number) => Tol } | 'error' {
    const rank = x.shape.length;
    const reduced = new Set(dims);
    const outShape = keepdim ? x.shape.map((s, d) => (reduced.has(d) ? 1 : s)) : x.shape.filter((_, d) => !reduced.has(d));
    const inner = dims.reduce((a, d) => a * x.shape[d], 1);
    // PyTorch: max-like reductions over a dim of size 0 have no identity and raise (IndexError).
    if (['amax', 'amin', 'max', 'min', 'argmax', 'argmin'].includes(name) && dims.some((d) => x.shape[d] === 0)) return 'error';
    const groups = new Map<number, number[]>();
    const outStrides = stridesOf(outShape);
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      let p = 0;
      let k = 0;
      for (let d = 0; d < rank; d++) {
        if (reduced.has(d)) {
          if (keepdim) k++;
          continue;
        }
        p += idx[d] * outStrides[k++];
      }
      const g = groups.get(p) ?? [];
      g.push(x.data[i]);
      groups.set(p, g);
    }
    const n = numel(outShape);
    const values: number[] = [];
    const indices: number[] = [];
    const abssum: number[] = [];
    const float = x.dtype === 'float32';
    for (let p = 0; p < n; p++) {
      const g = groups.get(p) ?? [];
      abssum.push(g.reduce((a, v) => a + Math.abs(v), 0));
      const firstNaN = g.findIndex((v) => Number.isNaN(v));
      switch (name) {
        case 'sum':
          values.push(float ? g.reduce((a, v) => a + v, 0) : g.reduce((a, v) => (a + v) | 0, 0));
          break;
        case 'mean':
          values.push(g.reduce((a, v) => a + v, 0) / g.length);
          break;
        case 'prod':
          values.push(float ? g.reduce((a, v) => a * v, 1) : g.reduce((a, v) => Math.imul(a, v), 1));
          break;
        case 'logsumexp': {
          const m = Math.max(...g);
          values.push(
            g.length === 0
              ? Number.NEGATIVE_INFINITY
              : m === Number.NEGATIVE_INFINITY || m === Number.POSITIVE_INFINITY
                ? m
                : m + Math.log(g.reduce((a, v) => a + Math.exp(v - m), 0)),
          );
          break;
        }
        case 'any':
          values.push(Number(g.some((v) => v !== 0)));
          break;
        case 'all':
          values.push(Number(g.every((v) => v !== 0)));
          break;
        default: {
          const isMax = name === 'amax' || name === 'max' || name === 'argmax';
          let best = 0;
          for (let j = 1; j < g.length; j++) if (isMax ? g[j] > g[best] : g[j] < g[best]) best = j;
          if (firstNaN >= 0) best = firstNaN;
          values.push(g[best]);
          indices.push(best);
        }
      }
    }
    const outDtype: DType = name === 'mean' || name === 'logsumexp' ? 'float32' : name === 'any' || name === 'all' ? 'bool' : x.dtype;
    const tol = (i: number): Tol => ({ atol: 1e-6 + 2e-7 * inner * abssum[i], rtol: name === 'prod' ? 2e-7 * (inner + 4) : 1e-5 });
    if (name === 'argmax' || name === 'argmin') return { values: { dtype: 'int32', shape: outShape, data: indices }, tol };
    if (name === 'max' || name === 'min')
      return {
        values: { dtype: outDtype, shape: outShape, data: values },
        indices: { dtype: 'int32', shape: outShape, data: indices },
        tol,
      };
    return { values: { dtype: outDtype, shape: outShape, data: values }, tol };
  }

  it('reductions over random dims with keepdim (sum, mean, prod, amax/amin, logsumexp, any/all, max/min with indices, argmax/argmin)', () => {
    const arb = fc
      .record({
        name: fc.constantFrom(...REDUCTIONS),
        device: fc.constantFrom(...DEVICES),
        shape: shapeArb(),
        keepdim: fc.boolean(),
        int: fc.boolean(),
        all: fc.boolean(),
      })
      .chain(({ name, device, shape, keepdim, int, all }) => {
        const dtype: DType =
          name === 'any' || name === 'all'
            ? 'bool'
            : int && ['sum', 'prod', 'amax', 'amin', 'max', 'min', 'argmax', 'argmin'].includes(name)
              ? 'int32'
              : 'float32';
        const rank = shape.length;
        const single = SINGLE_DIM.includes(name);
        const dimsArb = single
          ? fc.integer({ min: 0, max: Math.max(rank - 1, 0) }).map((d) => [d])
          : fc.subarray([...Array(rank).keys()], { minLength: rank === 0 ? 0 : 1 });
        return fc
          .record({
            input: inputArb(shape, dtype, name !== 'logsumexp', name === 'prod' ? 2 : 8),
            dims: dimsArb,
            negate: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
          })
          .map((v) => ({ name, device, keepdim, all: all && !single && rank > 0, ...v }));
      });
    fc.assert(
      fc.property(arb, ({ name, device, keepdim, all, input, dims, negate }) => {
        count('reduce');
        const x = refOf(input);
        const rank = x.shape.length;
        const dimsUsed = all ? [...Array(rank).keys()] : rank === 0 ? [] : dims;
        const want = reduceRef(name, x, dimsUsed, all ? false : keepdim);
        // How dims are passed: negative forms sometimes; 'all' = no dim argument.
        const dimArg = dims.map((d, j) => (negate[j] ? d - rank : d));
        leakFree(() => {
          const t = build(input, device);
          const call = (): Tensor | { values: Tensor; indices: Tensor } => {
            if (name === 'max' || name === 'min') return all || rank === 0 ? gf[name](t) : gf[name](t, dimArg[0], keepdim);
            if (name === 'argmax' || name === 'argmin') return rank === 0 ? gf[name](t) : gf[name](t, dimArg[0], keepdim);
            if (name === 'logsumexp') return gf.logsumexp(t, all || rank === 0 ? [...Array(rank).keys()] : dimArg, keepdim && !all);
            return all || rank === 0 ? gf[name](t) : gf[name](t, dimArg, keepdim);
          };
          const label = `${name}(${x.dtype}${JSON.stringify(x.shape)}, dims ${all ? 'all' : JSON.stringify(dimArg)}, keepdim ${keepdim}) on ${device}`;
          if (want === 'error') {
            expect(call, label).toThrow(gf.GhostFlowError);
          } else {
            const out = call();
            if (out instanceof gf.Tensor) {
              if ((name === 'max' || name === 'min') && (all || rank === 0)) {
                // Full max/min: a 0-d result, no indices.
                const flat = reduceRef(name, x, [...Array(rank).keys()], false) as { values: Ref; tol: (i: number) => Tol };
                expectRef(out, flat.values, flat.tol, label);
              } else if ((name === 'argmax' || name === 'argmin') && rank === 0) {
                expectRef(out, { dtype: 'int32', shape: [], data: [0] }, F32, label);
              } else expectRef(out, want.values, want.tol, label);
              out.dispose();
            } else {
              expectRef(out.values, want.values, want.tol, `${label} values`);
              if (want.indices) expectRef(out.indices, want.indices, F32, `${label} indices`);
              out.values.dispose();
              out.indices.dispose();
            }
          }
          t.dispose();
        });
      }),
      fuzzParams(1500),
    );
  });

  // -------------------------------------------------------------- matmul

  it('matmul: dot, matrix-vector, batched with broadcast batch dims, empty M/K/N', () => {
    const dimArb = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.integer({ min: 1, max: 5 }) });
    const arb = fc
      .record({
        device: fc.constantFrom(...DEVICES),
        kind: fc.constantFrom('dot', 'mv', 'vm', 'mm', 'batched'),
        m: dimArb,
        k: dimArb,
        n: dimArb,
        batch: shapeArb(0, 2),
      })
      .chain(({ device, kind, m, k, n, batch }) => {
        const shapes: [number[], number[]] =
          kind === 'dot'
            ? [[k], [k]]
            : kind === 'mv'
              ? [[m, k], [k]]
              : kind === 'vm'
                ? [[k], [k, n]]
                : kind === 'mm'
                  ? [
                      [m, k],
                      [k, n],
                    ]
                  : [
                      [...batch, m, k],
                      [...batch, k, n],
                    ];
        return fc
          .tuple(kind === 'batched' ? broadcastable(batch) : fc.constant([]), kind === 'batched' ? broadcastable(batch) : fc.constant([]))
          .chain(([ba, bb]) => {
            const sa = kind === 'batched' ? [...ba, m, k] : shapes[0];
            const sb = kind === 'batched' ? [...bb, k, n] : shapes[1];
            return fc.record({ a: inputArb(sa, 'float32'), b: inputArb(sb, 'float32') });
          })
          .map((v) => ({ device, kind, ...v }));
      });
    fc.assert(
      fc.property(arb, ({ device, a, b }) => {
        count('matmul');
        const ra = refOf(a);
        const rb = refOf(b);
        // Reference: promote 1-d operands as torch.matmul does, then batched product.
        const A = ra.shape.length === 1 ? { ...ra, shape: [1, ra.shape[0]] } : ra;
        const B = rb.shape.length === 1 ? { ...rb, shape: [rb.shape[0], 1] } : rb;
        const [M, K] = A.shape.slice(-2);
        const N = B.shape[B.shape.length - 1];
        const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
        const full = [...batch, M, N];
        const data: number[] = [];
        const abs: number[] = [];
        for (let i = 0; i < numel(full); i++) {
          const idx = unravel(i, full);
          const bi = idx.slice(0, -2);
          const [r, c] = idx.slice(-2);
          let s = 0;
          let sa = 0;
          for (let q = 0; q < K; q++) {
            const x = at(A, [...bi, r, q]);
            const y = at(B, [...bi, q, c]);
            s += x * y;
            sa += Math.abs(x * y);
          }
          data.push(s);
          abs.push(sa);
        }
        let shape = full;
        if (ra.shape.length === 1) shape = shape.filter((_, d) => d !== shape.length - 2);
        if (rb.shape.length === 1) shape = shape.slice(0, -1);
        leakFree(() => {
          const ta = build(a, device);
          const tb = build(b, device);
          const y = gf.matmul(ta, tb);
          expectRef(
            y,
            { dtype: 'float32', shape, data },
            (i) => ({ atol: 1e-6 + 3e-7 * (K + 1) * abs[i], rtol: 1e-5 }),
            `matmul(${JSON.stringify(ra.shape)}, ${JSON.stringify(rb.shape)}) on ${device}`,
          );
          for (const t of [ta, tb, y]) t.dispose();
        });
      }),
      fuzzParams(600),
    );
  });

  // -------------------------------------------------------------- softmax, cumsum

  it('softmax, logSoftmax and cumsum along a random dim', () => {
    const arb = fc
      .record({
        op: fc.constantFrom('softmax', 'logSoftmax', 'cumsum'),
        device: fc.constantFrom(...DEVICES),
        shape: shapeArb(),
        d: fc.nat(),
        neg: fc.boolean(),
        dtype: fc.constantFrom<DType>('float32', 'float32', 'int32', 'bool'),
      })
      .chain(({ op, device, shape, d, neg, dtype }) => {
        const dt: DType = op === 'cumsum' ? dtype : 'float32';
        return inputArb(shape, dt, false, op === 'cumsum' ? 8 : 30).map((input) => ({ op, device, input, d, neg }));
      });
    fc.assert(
      fc.property(arb, ({ op, device, input, d, neg }) => {
        count('softmax/cumsum');
        const x = refOf(input);
        const rank = x.shape.length;
        const dim = rank === 0 ? 0 : d % rank;
        const dimArg = neg ? dim - Math.max(rank, 1) : dim;
        const outDtype: DType = op === 'cumsum' && x.dtype !== 'float32' ? 'int32' : 'float32';
        const data = new Array<number>(x.data.length);
        const bound = new Array<number>(x.data.length);
        const size = rank === 0 ? 1 : x.shape[dim];
        const stride = rank === 0 ? 1 : stridesOf(x.shape)[dim];
        for (let i = 0; i < x.data.length; i++) {
          const idx = rank === 0 ? [] : unravel(i, x.shape);
          const pos = rank === 0 ? 0 : idx[dim];
          const start = i - pos * stride;
          const line = Array.from({ length: size }, (_, j) => x.data[start + j * stride]);
          if (op === 'cumsum') {
            const part = line.slice(0, pos + 1);
            data[i] = outDtype === 'int32' ? part.reduce((a, v) => (a + v) | 0, 0) : part.reduce((a, v) => a + v, 0);
            bound[i] = part.reduce((a, v) => a + Math.abs(v), 0) * (pos + 1);
          } else {
            const m = Math.max(...line);
            const lse = Math.log(line.reduce((a, v) => a + Math.exp(v - m), 0));
            data[i] = op === 'softmax' ? Math.exp(x.data[i] - m - lse) : x.data[i] - m - lse;
            bound[i] = Math.abs(x.data[i]) + Math.abs(m) + 1;
          }
        }
        leakFree(() => {
          const t = build(input, device);
          const y = op === 'softmax' ? gf.softmax(t, dimArg) : op === 'logSoftmax' ? gf.logSoftmax(t, dimArg) : gf.cumsum(t, dimArg);
          expectRef(
            y,
            { dtype: outDtype, shape: x.shape, data },
            (i) => ({ atol: 1e-6 + 2e-7 * bound[i], rtol: 1e-5 }),
            `${op}(${x.dtype}${JSON.stringify(x.shape)}, ${dimArg}) on ${device}`,
          );
          t.dispose();
          y.dispose();
        });
      }),
      fuzzParams(800),
    );
  });

  // -------------------------------------------------------------- gather, cat, where, cast

  it('gather with random in-range indices (views on both sides)', () => {
    const arb = fc
      .record({
        device: fc.constantFrom(...DEVICES),
        shape: shapeArb(),
        d: fc.nat(),
        dtype: fc.constantFrom<DType>('float32', 'int32', 'bool'),
        idxShapeSeed: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 4, maxLength: 4 }),
      })
      .chain(({ device, shape, d, dtype, idxShapeSeed }) => {
        const rank = shape.length;
        const dim = rank === 0 ? 0 : d % rank;
        // index.size(k) <= input.size(k) for k != dim; any size along dim (0 when the dim is empty).
        const ishape = shape.map((s, k) => (k === dim ? (s === 0 ? 0 : idxShapeSeed[k]) : Math.min(s, idxShapeSeed[k])));
        const hi = rank === 0 ? 0 : Math.max(shape[dim] - 1, 0);
        return fc
          .record({
            input: inputArb(shape, dtype),
            index: fc.array(fc.integer({ min: 0, max: hi }), { minLength: numel(ishape), maxLength: numel(ishape) }),
            layout: layoutArb(rank),
          })
          .map((v) => ({ device, dim, ishape, ...v }));
      });
    fc.assert(
      fc.property(arb, ({ device, dim, ishape, input, index, layout }) => {
        count('gather');
        const x = refOf(input);
        const rank = x.shape.length;
        const data = index.map((v, i) => {
          if (rank === 0) return x.data[0];
          const idx = unravel(i, ishape);
          idx[dim] = v;
          return at(x, idx);
        });
        leakFree(() => {
          const t = build(input, device);
          const it = materialize({ dtype: 'int32', shape: ishape, data: index }, layout, device);
          const y = gf.gather(t, dim, it);
          expectRef(
            y,
            { dtype: x.dtype, shape: ishape, data },
            F32,
            `gather(${x.dtype}${JSON.stringify(x.shape)}, ${dim}, ${JSON.stringify(ishape)}) on ${device}`,
          );
          for (const u of [t, it, y]) u.dispose();
        });
      }),
      fuzzParams(600),
    );
  });

  it('cat of 1-3 views along a random dim (empty parts included)', () => {
    const arb = fc
      .record({
        device: fc.constantFrom(...DEVICES),
        shape: shapeArb(1, 4),
        d: fc.nat(),
        neg: fc.boolean(),
        dtype: fc.constantFrom<DType>('float32', 'int32', 'bool'),
        sizes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
      })
      .chain(({ device, shape, d, neg, dtype, sizes }) => {
        const dim = d % shape.length;
        return fc
          .tuple(
            ...sizes.map((s) =>
              inputArb(
                shape.map((v, k) => (k === dim ? s : v)),
                dtype,
              ),
            ),
          )
          .map((parts) => ({ device, dim, dimArg: neg ? dim - shape.length : dim, parts }));
      });
    fc.assert(
      fc.property(arb, ({ device, dim, dimArg, parts }) => {
        count('cat');
        const refs = parts.map(refOf);
        const shape = [...refs[0].shape];
        shape[dim] = refs.reduce((a, r) => a + r.shape[dim], 0);
        const data = new Array<number>(numel(shape));
        for (let i = 0; i < data.length; i++) {
          const idx = unravel(i, shape);
          let p = idx[dim];
          let j = 0;
          while (p >= refs[j].shape[dim]) p -= refs[j++].shape[dim];
          idx[dim] = p;
          data[i] = at(refs[j], idx);
        }
        leakFree(() => {
          const ts = parts.map((p) => build(p, device));
          const y = gf.cat(ts, dimArg);
          expectRef(
            y,
            { dtype: refs[0].dtype, shape, data },
            F32,
            `cat(${refs.map((r) => JSON.stringify(r.shape)).join(', ')}, ${dimArg}) on ${device}`,
          );
          for (const u of [...ts, y]) u.dispose();
        });
      }),
      fuzzParams(500),
    );
  });

  it('where(cond, a, b) with three-way broadcasting', () => {
    const arb = fc
      .record({ device: fc.constantFrom(...DEVICES), out: shapeArb(), dtype: fc.constantFrom<DType>('float32', 'int32') })
      .chain(({ device, out, dtype }) =>
        fc
          .tuple(broadcastable(out), broadcastable(out), broadcastable(out))
          .chain(([sc, sa, sb]) => fc.record({ c: inputArb(sc, 'bool'), a: inputArb(sa, dtype, true), b: inputArb(sb, dtype, true) }))
          .map((v) => ({ device, ...v })),
      );
    fc.assert(
      fc.property(arb, ({ device, c, a, b }) => {
        count('where');
        const [rc, ra, rb] = [refOf(c), refOf(a), refOf(b)];
        const shape = broadcastShape(rc.shape, ra.shape, rb.shape);
        const data = Array.from({ length: numel(shape) }, (_, i) => {
          const idx = unravel(i, shape);
          return at(rc, idx) ? at(ra, idx) : at(rb, idx);
        });
        leakFree(() => {
          const [tc, ta, tb] = [build(c, device), build(a, device), build(b, device)];
          const y = gf.where(tc, ta, tb);
          expectRef(
            y,
            { dtype: ra.dtype, shape, data },
            F32,
            `where(${JSON.stringify(rc.shape)}, ${JSON.stringify(ra.shape)}, ${JSON.stringify(rb.shape)}) on ${device}`,
          );
          for (const u of [tc, ta, tb, y]) u.dispose();
        });
      }),
      fuzzParams(500),
    );
  });

  it('cast between float32, int32 and bool (float -> int truncates toward zero)', () => {
    const arb = fc
      .record({
        device: fc.constantFrom(...DEVICES),
        shape: shapeArb(),
        from: fc.constantFrom<DType>('float32', 'int32', 'bool'),
        to: fc.constantFrom<DType>('float32', 'int32', 'bool'),
      })
      .chain(({ device, shape, from, to }) =>
        // NaN/inf to int32 is undefined in PyTorch: specials only when casting to bool or float32.
        inputArb(shape, from, from === 'float32' && to !== 'int32', 1000).map((input) => ({ device, to, input })),
      );
    fc.assert(
      fc.property(arb, ({ device, to, input }) => {
        count('cast');
        const x = refOf(input);
        const f = to === 'bool' ? (v: number) => Number(v !== 0) : to === 'int32' ? (v: number) => Math.trunc(v) | 0 : (v: number) => fr(v);
        leakFree(() => {
          const t = build(input, device);
          const y = gf.cast(t, to);
          expectRef(y, map(x, to, f), { atol: 0, rtol: 0 }, `cast(${x.dtype}${JSON.stringify(x.shape)} -> ${to}) on ${device}`);
          t.dispose();
          y.dispose();
        });
      }),
      fuzzParams(500),
    );
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    reportCases(
      'ops vs float64 reference',
      total,
      Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    );
  });
});
