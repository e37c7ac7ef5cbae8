/**
 * The PyTorch reference cases in `cases/*.json` (made by `tools/torch-cases/*.py`, whose
 * shared encoding lives in `tools/torch-cases/common.py`): loading, decoding, and the checks
 * that run a GhostFlow function on a case's inputs and compare values and gradients.
 *
 * Every file stores tensors as flat row-major data + shape + dtype (PyTorch int64 as int32,
 * bools as 0/1, non-finite floats as the strings 'nan' / 'inf' / '-inf'); gradients are those
 * of `sum_k sum(out_k * w_k)` with the fixed weight of {@link caseWeight}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as gf from '@ghostflow/core';
import { type DType, type Tensor, add, gradients, mul, sum, tensor, tidy, zeros } from '@ghostflow/core';
import { expect } from 'vitest';
import { expectTensor } from './context.js';

/** A tensor in a cases file. */
export interface CaseTensor {
  /** Flat row-major values (bools as 0/1, non-finite floats as 'nan' / 'inf' / '-inf'). */
  data: (number | string)[];
  /** Shape. */
  shape: number[];
  /** Dtype (PyTorch int64 is stored as int32). */
  dtype: DType;
}

const files = new Map<string, unknown>();

/**
 * The parsed `cases/<stem>.json`, cached. Found next to the sources (`src/cases.ts`) and next
 * to the build (`dist/index.js`), both one level below the package root.
 */
export function loadCaseFile<T>(stem: string): T {
  let file = files.get(stem);
  if (file === undefined) {
    const url = new URL(`../cases/${stem}.json`, import.meta.url);
    if (!existsSync(fileURLToPath(url)))
      throw new Error(`cases/${stem}.json not found next to the conformance kit; regenerate it with tools/torch-cases/${stem}.py`);
    file = JSON.parse(readFileSync(url, 'utf8'));
    files.set(stem, file);
  }
  return file as T;
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

/** A case tensor on `device` (the active backend by default); float32 ones require grad when `grad`. */
export function caseTensor(t: CaseTensor, grad = false, device?: string): Tensor {
  const v = caseValues(t);
  const values = t.dtype === 'float32' ? Float32Array.from(v) : t.dtype === 'int32' ? Int32Array.from(v) : Uint8Array.from(v);
  return tensor(values, { shape: t.shape, dtype: t.dtype, device, requiresGrad: grad && t.dtype === 'float32' });
}

/** The generators' gradient weight `w[i] = ((7 i) mod 11) / 11 - 0.3` over `shape`. */
export function caseWeight(shape: readonly number[], device?: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, (_, i) => ((7 * i) % 11) / 11 - 0.3),
    { shape, device },
  );
}

/** `sum_k sum(out_k * w_k)` over the outputs that require grad (the cases' loss). */
export function weightedLoss(outs: readonly Tensor[]): Tensor {
  const terms = outs.filter((o) => o.requiresGrad).map((o) => sum(mul(o, caseWeight(o.shape, o.device))));
  return terms.reduce((a, b) => add(a, b));
}

// ---- named-input cases (join_index.json, reduce_matmul.json) -------------------------------

/** One case of a named-input cases file. */
export interface NamedCase {
  /** Named inputs. */
  inputs: Record<string, CaseTensor>;
  /** The op's outputs, in order. */
  outputs: CaseTensor[];
  /** Gradients of the weighted loss of the outputs for each float input. */
  grads: Record<string, CaseTensor>;
}

/** Tolerances for {@link NamedCases.check}. */
export interface CaseOptions {
  /** Value tolerance, absolute (default 1e-5). */
  atol?: number;
  /** Value tolerance, relative (default 1e-5). */
  rtol?: number;
  /** Gradient tolerance, absolute and relative (default 1e-4). */
  gradTol?: number;
}

/** Accessors and checks over one named-input cases file. */
export interface NamedCases {
  /** The case `name` (throws when it does not exist). */
  get(name: string): NamedCase;
  /** Input `key` of case `name` as a tensor on the active backend (no grad). */
  tensor(name: string, key: string): Tensor;
  /** Float inputs of case `name`, requiring grad, in the order of `keys`. */
  inputs(name: string, ...keys: string[]): Tensor[];
  /** Inputs of case `name` as host data (for running the same values on two backends). */
  hostInputs(name: string, ...keys: string[]): { data: number[]; shape: number[] }[];
  /**
   * Runs `fn` on the inputs of case `name` and asserts its outputs (values, shapes, dtypes)
   * and, for float inputs, the gradients of the weighted loss of the outputs, against PyTorch.
   */
  check(name: string, fn: (inputs: Record<string, Tensor>) => Tensor | Tensor[], options?: CaseOptions): Promise<void>;
}

/** The named-input cases of `cases/<stem>.json`. */
export function namedCases(stem: string): NamedCases {
  const get = (name: string): NamedCase => {
    const c = loadCaseFile<{ cases: Record<string, NamedCase> }>(stem).cases[name];
    if (!c) throw new Error(`no PyTorch case named '${name}' in cases/${stem}.json; regenerate it with tools/torch-cases/${stem}.py`);
    return c;
  };
  return {
    get,
    tensor: (name, key) => caseTensor(get(name).inputs[key]),
    inputs: (name, ...keys) => {
      const c = get(name);
      return keys.map((k) => caseTensor(c.inputs[k], true));
    },
    hostInputs: (name, ...keys) => {
      const c = get(name);
      return keys.map((k) => ({ data: caseValues(c.inputs[k]), shape: c.inputs[k].shape }));
    },
    check: async (name, fn, options = {}) => {
      const c = get(name);
      const gradNames = Object.keys(c.grads);
      const { outs, grads } = tidy(() => {
        const inputs: Record<string, Tensor> = {};
        for (const [k, v] of Object.entries(c.inputs)) inputs[k] = caseTensor(v, gradNames.includes(k));
        const result = fn(inputs);
        const list = Array.isArray(result) ? result : [result];
        let gs: Tensor[] = [];
        if (gradNames.length > 0) {
          gs = gradients(
            weightedLoss(list),
            gradNames.map((k) => inputs[k]),
            null,
            { allowUnused: true },
          ).map((g, i) => g ?? zeros(c.grads[gradNames[i]].shape));
        }
        return { outs: list, grads: gs };
      });
      try {
        expect(outs.length, `${name}: number of outputs`).toBe(c.outputs.length);
        for (let i = 0; i < outs.length; i++) {
          const want = c.outputs[i];
          await expectTensor(outs[i], caseValues(want), { shape: want.shape, dtype: want.dtype, atol: options.atol, rtol: options.rtol });
        }
        const gt = options.gradTol ?? 1e-4;
        for (let i = 0; i < gradNames.length; i++) {
          const want = c.grads[gradNames[i]];
          await expectTensor(grads[i], caseValues(want), { shape: want.shape, atol: gt, rtol: gt });
        }
      } finally {
        for (const t of [...outs, ...grads]) t.dispose();
      }
    },
  };
}

/** cases/join_index.json: the join, indexing, misc and view suites. */
export const joinIndexCases: NamedCases = namedCases('join_index');

/** cases/reduce_matmul.json: the reduce, matmul and norm suites. */
export const reduceMatmulCases: NamedCases = namedCases('reduce_matmul');

// ---- positional-input op cases (elementwise.json) ------------------------------------------

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

/** The contents of cases/elementwise.json. */
export interface ElementwiseCasesFile {
  /** Op cases by name. */
  cases: Record<string, ElementwiseCase>;
  /** Expected results of the creation ops by name. */
  creation: Record<string, CaseTensor>;
}

/** The parsed cases/elementwise.json. */
export function elementwiseCases(): ElementwiseCasesFile {
  return loadCaseFile<ElementwiseCasesFile>('elementwise');
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

/** GhostFlow function for each op key of cases/elementwise.json. */
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

/** Tolerance for float32 values vs PyTorch in cases/elementwise.json (the cases round to 6 decimals). */
export const CASE_TOL = { atol: 2e-5, rtol: 1e-4 };

/**
 * Runs the elementwise case `name` on `device`: builds the inputs (float ones requiring grad
 * when the case has gradients), applies its views, checks the output's values, shape and
 * dtype, then the gradients of `sum(out * w)` for every float input.
 */
export async function runCase(name: string, device: string): Promise<void> {
  const c = elementwiseCases().cases[name];
  if (!c) throw new Error(`no PyTorch case named '${name}' in cases/elementwise.json; regenerate it with tools/torch-cases/elementwise.py`);
  const leaves: (Tensor | null)[] = c.inputs.map((v, i) =>
    v !== null && typeof v === 'object' ? caseTensor(v, c.grads?.[String(i)] !== undefined, device) : null,
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

/** Names of the elementwise cases whose op is one of `ops`, in file order. */
export function casesFor(ops: readonly string[]): string[] {
  return Object.entries(elementwiseCases().cases)
    .filter(([, c]) => ops.includes(c.op))
    .map(([n]) => n);
}
