/**
 * Unary elementwise ops: values and gradients against PyTorch (cases/elementwise.json, made by
 * tools/torch-cases/elementwise.py), integer/bool paths, NaN/inf, non-contiguous and empty
 * inputs, and a gradcheck of every differentiable op. Also home of the case runner the
 * binary and select suites share.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as gf from '@ghostflow/core';
import { type Tensor, gradcheck, gradients, tensor } from '@ghostflow/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SuiteContext, expectTensor } from '../context.js';

/** A tensor in the cases file (non-finite floats as 'nan' / 'inf' / '-inf'). */
export interface CaseTensor {
  /** Row-major values. */
  data: (number | string)[];
  /** Shape. */
  shape: number[];
  /** Element type. */
  dtype: 'float32' | 'int32' | 'bool';
}

/** A view transform applied to a tensor input before the op: transpose of the last two dims, a slice, an expand. */
export type CaseView = ['t'] | ['slice', number, number, number, number] | ['expand', number[]];

/** One PyTorch reference case of cases/elementwise.json. */
export interface ElementwiseCase {
  /** Op key (see {@link CASE_OPS}). */
  op: string;
  /** Positional inputs: tensors, JS scalars, or null for an omitted optional argument. */
  inputs: (CaseTensor | number | string | boolean | null)[];
  /** View transforms per input index. */
  views: Record<string, CaseView[]>;
  /** Keyword options. */
  kwargs: Record<string, unknown>;
  /** Expected output. */
  output: CaseTensor;
  /** Gradients of `sum(out * w)` per float input index. */
  grads?: Record<string, CaseTensor>;
}

interface CasesFile {
  cases: Record<string, ElementwiseCase>;
  creation: Record<string, CaseTensor>;
}

let cache: CasesFile | undefined;

/** The parsed cases/elementwise.json (looked up next to the sources and next to the build). */
export function elementwiseCases(): CasesFile {
  if (!cache) {
    const url = [new URL('../../cases/elementwise.json', import.meta.url), new URL('../cases/elementwise.json', import.meta.url)].find(
      (u) => existsSync(fileURLToPath(u)),
    );
    if (!url)
      throw new Error('cases/elementwise.json not found next to the conformance kit; regenerate it with tools/torch-cases/elementwise.py');
    cache = JSON.parse(readFileSync(url, 'utf8')) as CasesFile;
  }
  return cache;
}

/** Decodes a cases-file number ('nan', 'inf', '-inf' or a number). */
export function decodeNumber(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  throw new Error(`bad number '${v}' in cases file`);
}

/** Decoded flat values of a case tensor. */
export function caseValues(t: CaseTensor): number[] {
  return t.data.map(decodeNumber);
}

/** A case tensor on `device`. */
export function caseTensor(t: CaseTensor, device: string, requiresGrad = false): Tensor {
  return tensor(caseValues(t), { shape: t.shape, dtype: t.dtype, device, requiresGrad });
}

/** The weight the generator uses for gradients: `w[i] = ((7 i) % 11) / 11 - 0.3`. */
export function caseWeight(shape: readonly number[], device: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Array.from({ length: n }, (_, i) => ((7 * i) % 11) / 11 - 0.3),
    { shape, device },
  );
}

function applyViews(t: Tensor, views: readonly CaseView[]): Tensor {
  let out = t;
  for (const v of views) {
    if (v[0] === 't') out = out.transpose(-1, -2);
    else if (v[0] === 'slice') out = out.slice(v[1], v[2], v[3], v[4]);
    else out = out.expand(v[1]);
  }
  return out;
}

type Arg = Tensor | number | boolean | null;
type Kw = Record<string, unknown>;
const T = (a: Arg): Tensor => a as Tensor;
const L = (a: Arg): gf.TensorLike => a as gf.TensorLike;

/** GhostFlow function for each op key of the cases file. */
export const CASE_OPS: Record<string, (args: Arg[], kw: Kw) => Tensor> = {
  neg: ([x]) => gf.neg(T(x)),
  abs: ([x]) => gf.abs(T(x)),
  sign: ([x]) => gf.sign(T(x)),
  exp: ([x]) => gf.exp(T(x)),
  expm1: ([x]) => gf.expm1(T(x)),
  log: ([x]) => gf.log(T(x)),
  log1p: ([x]) => gf.log1p(T(x)),
  sqrt: ([x]) => gf.sqrt(T(x)),
  rsqrt: ([x]) => gf.rsqrt(T(x)),
  reciprocal: ([x]) => gf.reciprocal(T(x)),
  sin: ([x]) => gf.sin(T(x)),
  cos: ([x]) => gf.cos(T(x)),
  tanh: ([x]) => gf.tanh(T(x)),
  sigmoid: ([x]) => gf.sigmoid(T(x)),
  relu: ([x]) => gf.relu(T(x)),
  silu: ([x]) => gf.silu(T(x)),
  erf: ([x]) => gf.erf(T(x)),
  floor: ([x]) => gf.floor(T(x)),
  ceil: ([x]) => gf.ceil(T(x)),
  round: ([x]) => gf.round(T(x)),
  square: ([x]) => gf.square(T(x)),
  logicalNot: ([x]) => gf.logicalNot(T(x)),
  gelu: ([x], kw) => gf.gelu(T(x), kw as { approximate?: 'none' | 'tanh' }),
  softplus: ([x], kw) => gf.softplus(T(x), kw as { beta?: number; threshold?: number }),
  add: ([a, b]) => gf.add(L(a), L(b)),
  sub: ([a, b]) => gf.sub(L(a), L(b)),
  mul: ([a, b]) => gf.mul(L(a), L(b)),
  div: ([a, b]) => gf.div(L(a), L(b)),
  pow: ([a, b]) => gf.pow(L(a), L(b)),
  maximum: ([a, b]) => gf.maximum(L(a), L(b)),
  minimum: ([a, b]) => gf.minimum(L(a), L(b)),
  eq: ([a, b]) => gf.eq(L(a), L(b)),
  ne: ([a, b]) => gf.ne(L(a), L(b)),
  lt: ([a, b]) => gf.lt(L(a), L(b)),
  le: ([a, b]) => gf.le(L(a), L(b)),
  gt: ([a, b]) => gf.gt(L(a), L(b)),
  ge: ([a, b]) => gf.ge(L(a), L(b)),
  logicalAnd: ([a, b]) => gf.logicalAnd(L(a), L(b)),
  logicalOr: ([a, b]) => gf.logicalOr(L(a), L(b)),
  logicalXor: ([a, b]) => gf.logicalXor(L(a), L(b)),
  where: ([c, a, b]) => gf.where(T(c), L(a), L(b)),
  clamp: ([x, lo, hi]) => gf.clamp(T(x), lo as gf.TensorLike | null, hi as gf.TensorLike | null),
  maskedFill: ([x, m, v]) => gf.maskedFill(T(x), T(m), v as number | Tensor),
};

/** Tolerance for float32 values vs PyTorch (the cases round to 6 decimals). */
export const CASE_TOL = { atol: 2e-5, rtol: 1e-4 };

/**
 * Runs the reference case `name` on `device`: builds the inputs (float ones requiring grad
 * when the case has gradients), applies its views, checks the output's values, shape and
 * dtype, then the gradients of `sum(out * w)` for every float input.
 */
export async function runCase(name: string, device: string): Promise<void> {
  const c = elementwiseCases().cases[name];
  if (!c) throw new Error(`no PyTorch case named '${name}' in cases/elementwise.json; regenerate it with tools/torch-cases/elementwise.py`);
  const leaves: (Tensor | null)[] = c.inputs.map((v, i) =>
    v !== null && typeof v === 'object' ? caseTensor(v, device, c.grads?.[String(i)] !== undefined) : null,
  );
  const args: Arg[] = c.inputs.map((v, i) => {
    const leaf = leaves[i];
    if (leaf) return applyViews(leaf, c.views[String(i)] ?? []);
    return typeof v === 'string' ? decodeNumber(v) : (v as number | boolean | null);
  });
  const fn = CASE_OPS[c.op];
  if (!fn) throw new Error(`case '${name}': unknown op '${c.op}'`);
  const out = fn(args, c.kwargs);
  await expectTensor(out, caseValues(c.output), { shape: c.output.shape, dtype: c.output.dtype, ...CASE_TOL });
  if (c.grads) {
    const idx = Object.keys(c.grads).map(Number);
    const grads = gradients(
      out,
      idx.map((i) => leaves[i] as Tensor),
      caseWeight(out.shape, device),
      { allowUnused: true },
    );
    for (let k = 0; k < idx.length; k++) {
      const want = c.grads[String(idx[k])];
      const g = grads[k];
      expect(g, `gradient of input ${idx[k]}`).not.toBeNull();
      await expectTensor(g as Tensor, caseValues(want), { shape: want.shape, ...CASE_TOL });
    }
  }
}

/** Names of the cases whose op is one of `ops`. */
export function casesFor(ops: readonly string[]): string[] {
  return Object.entries(elementwiseCases().cases)
    .filter(([, c]) => ops.includes(c.op))
    .map(([n]) => n);
}

/** Unary ops of the cases file. */
export const UNARY_CASE_OPS = [
  'neg',
  'abs',
  'sign',
  'exp',
  'expm1',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'reciprocal',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'silu',
  'erf',
  'floor',
  'ceil',
  'round',
  'square',
  'logicalNot',
  'gelu',
  'softplus',
];

/** Registers the tests of this area. */
export function opsUnarySuite(ctx: SuiteContext): void {
  beforeAll(() => ctx.activate());

  describe('values and gradients vs PyTorch', () => {
    for (const name of casesFor(UNARY_CASE_OPS)) {
      it(name, () => runCase(name, ctx.device));
    }
  });

  describe('dtypes', () => {
    it('float-only ops promote int32 and bool to float32', async () => {
      const i = tensor([1, 4], { dtype: 'int32', device: ctx.device });
      const b = tensor([true, false], { device: ctx.device });
      for (const op of [
        gf.exp,
        gf.log,
        gf.sqrt,
        gf.rsqrt,
        gf.sin,
        gf.cos,
        gf.tanh,
        gf.sigmoid,
        gf.erf,
        gf.silu,
        gf.expm1,
        gf.log1p,
        gf.reciprocal,
        (x: Tensor) => gf.gelu(x),
      ]) {
        expect(op(i).dtype).toBe('float32');
        expect(op(b).dtype).toBe('float32');
      }
      await expectTensor(gf.sqrt(i), [1, 2], { dtype: 'float32' });
      await expectTensor(gf.exp(b), [Math.E, 1], { dtype: 'float32' });
      await expectTensor(gf.softplus(i), [1.3132616, 4.0181499], { dtype: 'float32' });
    });

    it('integer ops keep int32; bool arithmetic throws like PyTorch', async () => {
      const i = tensor([-3, 0, 2], { dtype: 'int32', device: ctx.device });
      await expectTensor(gf.abs(i), [3, 0, 2], { dtype: 'int32' });
      await expectTensor(gf.neg(i), [3, 0, -2], { dtype: 'int32' });
      await expectTensor(gf.square(i), [9, 0, 4], { dtype: 'int32' });
      const b = tensor([true, false], { device: ctx.device });
      expect(() => gf.neg(b)).toThrow(/neg is not supported on bool/);
      expect(() => gf.abs(b)).toThrow(/bool/);
      expect(() => gf.relu(b)).toThrow(/bool/);
      expect(() => gf.floor(b)).toThrow(/bool/);
    });

    it('cast converts, truncates toward zero, and keeps the gradient only float to float', async () => {
      const x = tensor([-1.7, -0.2, 0, 0.5, 2.9], { device: ctx.device, requiresGrad: true });
      await expectTensor(gf.cast(x, 'int32'), [-1, 0, 0, 0, 2], { dtype: 'int32' });
      await expectTensor(gf.cast(x, 'bool'), [true, true, false, true, true], { dtype: 'bool' });
      expect(gf.cast(x, 'int32').requiresGrad).toBe(false);
      const same = gf.cast(x, 'float32');
      expect(same).not.toBe(x);
      expect(same.requiresGrad).toBe(true);
      const [g] = gradients(gf.mul(same, 3), [x], gf.onesLike(x));
      await expectTensor(g as Tensor, [3, 3, 3, 3, 3]);
      await expectTensor(x.int().float(), [-1, 0, 0, 0, 2], { dtype: 'float32' });
      await expectTensor(tensor([0, 3, -2], { dtype: 'int32', device: ctx.device }).bool(), [false, true, true], { dtype: 'bool' });
      await expectTensor(tensor([true, false], { device: ctx.device }).float(), [1, 0], { dtype: 'float32' });
    });

    it('non-differentiable ops give zero gradients (floor, ceil, round, sign)', async () => {
      const x = tensor([0.3, -1.6, 2.5], { device: ctx.device, requiresGrad: true });
      for (const op of [gf.floor, gf.ceil, gf.round, gf.sign]) {
        const [g] = gradients(op(x), [x], gf.onesLike(x));
        await expectTensor(g as Tensor, [0, 0, 0]);
      }
    });

    it('methods alias the ops', async () => {
      const x = tensor(
        [
          [0.5, -1],
          [2, 0.25],
        ],
        { device: ctx.device },
      );
      await expectTensor(x.relu().square().neg(), [
        [-0.25, 0],
        [-4, -0.0625],
      ]);
      await expectTensor(x.abs().sqrt().log(), [
        [Math.log(Math.sqrt(0.5)), 0],
        [Math.log(Math.SQRT2), Math.log(0.5)],
      ]);
    });
  });

  describe('gradcheck', () => {
    // Inputs stay away from kinks (0 for abs/relu, integers for floor/ceil/round) by more than eps.
    const general = [-1.3, -0.4, 0.35, 0.8, 1.7, 2.2];
    const positive = [0.3, 0.55, 0.9, 1.4, 2.1, 3.3];
    const ops: [string, (x: Tensor) => Tensor, number[]][] = [
      ['neg', gf.neg, general],
      ['abs', gf.abs, general],
      ['sign', gf.sign, general],
      ['exp', gf.exp, general],
      ['expm1', gf.expm1, general],
      ['log', gf.log, positive],
      ['log1p', gf.log1p, positive],
      ['sqrt', gf.sqrt, positive],
      ['rsqrt', gf.rsqrt, positive],
      ['reciprocal', gf.reciprocal, positive],
      ['sin', gf.sin, general],
      ['cos', gf.cos, general],
      ['tanh', gf.tanh, general],
      ['sigmoid', gf.sigmoid, general],
      ['relu', gf.relu, general],
      ['silu', gf.silu, general],
      ['erf', gf.erf, general],
      ['floor', gf.floor, general],
      ['ceil', gf.ceil, general],
      ['round', gf.round, general],
      ['square', gf.square, general],
      ['gelu', (x) => gf.gelu(x), general],
      ['gelu tanh', (x) => gf.gelu(x, { approximate: 'tanh' }), general],
      ['softplus', (x) => gf.softplus(x), general],
      ['softplus beta/threshold', (x) => gf.softplus(x, { beta: 2, threshold: 1.5 }), general],
      ['cast float32', (x) => gf.cast(x, 'float32'), general],
    ];
    for (const [name, op, values] of ops) {
      it(name, async () => {
        const x = tensor(values, { shape: [2, 3], device: ctx.device });
        const result = await gradcheck(op, [x]);
        expect(result.mismatches).toEqual([]);
        expect(result.ok).toBe(true);
      });
    }

    it('gradcheck reports a wrong rule', async () => {
      // A deliberately wrong "op": forward exp, gradient of identity (via a detached path).
      const wrong = (x: Tensor) => gf.add(gf.sub(gf.exp(x.detach()), x.detach()), x);
      const result = await gradcheck(wrong, [tensor([0.5, 1], { device: ctx.device })]);
      expect(result.ok).toBe(false);
      expect(result.mismatches.length).toBe(2);
      expect(result.mismatches[0].input).toBe(0);
    });
  });
}
