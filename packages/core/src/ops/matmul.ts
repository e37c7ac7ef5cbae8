/**
 * Matrix products: `matmul` with `torch.matmul`'s rank rules, and `linear` (the backend's
 * fused kernel when it has one, else matmul + add).
 */
import { needsGrad, recordOp } from '../autograd/record.js';
import { DTypeError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { type Shape, broadcastShapes, formatShape, sizeOf } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LinearActivation } from '../backend/kernels.js';
import { add, gt, mul, sub } from './binary.js';
import { castUnrecorded } from './elementwise.js';
import { sum } from './reduce.js';
import { gelu, relu, sigmoid, silu, tanh } from './unary.js';
import { reshape, sumToShape, transpose } from './view.js';
import { where } from './select.js';

/** How two operands line up for the batched kernel. */
interface MatmulPlan {
  /** `a`'s shape as a matrix stack: 1-D `[K]` becomes `[1, K]`. */
  aShape: Shape;
  /** `b`'s shape as a matrix stack: 1-D `[K]` becomes `[K, 1]`. */
  bShape: Shape;
  /** Broadcast batch shape. */
  batch: number[];
  m: number;
  k: number;
  n: number;
  /** The result's shape, with the dims added for 1-D operands removed again. */
  outShape: number[];
}

function plan(a: Tensor, b: Tensor): MatmulPlan {
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError(
      `matmul: both arguments need at least 1 dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  const aShape = a.rank === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = b.rank === 1 ? [b.shape[0], 1] : b.shape;
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const k2 = bShape[bShape.length - 2];
  const n = bShape[bShape.length - 1];
  if (k !== k2) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied: the contracted sizes differ (${k} vs ${k2})`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2));
  } catch {
    throw new ShapeError(`matmul: the batch dims of ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be broadcast together`);
  }
  const outShape = [...batch];
  if (a.rank > 1) outShape.push(m);
  if (b.rank > 1) outShape.push(n);
  return { aShape, bShape, batch, m, k, n, outShape };
}

/** Runs the kernel on float32 `a`, `b` laid out by `p` (views only: no copies). */
function runMatmul(a: Tensor, b: Tensor, p: MatmulPlan): Tensor {
  const backend = a.backend;
  // A 1-D operand viewed as a matrix: [K] with stride s is [1, K] with strides [0, s]
  // (or [K, 1] with [s, 0]); broadcastView then adds stride-0 batch dims.
  const asMatrix = (t: Tensor, shape: Shape, row: boolean) =>
    t.rank === 1 ? { ...t.kernelInput(), shape, strides: row ? [0, t.strides[0]] : [t.strides[0], 0] } : t.kernelInput();
  const av = asMatrix(a, p.aShape, true);
  const bv = asMatrix(b, p.bShape, false);
  const expandTo = (v: ReturnType<typeof asMatrix>, shape: Shape) => {
    const lead = shape.length - v.shape.length;
    return { ...v, shape, strides: shape.map((s, i) => (i >= lead && v.shape[i - lead] === s ? v.strides[i - lead] : 0)) };
  };
  const dataId = backend.kernels.matmul(expandTo(av, [...p.batch, p.m, p.k]), expandTo(bv, [...p.batch, p.k, p.n]));
  return fromDataId(backend, dataId, p.outShape, 'float32');
}

/**
 * `torch.matmul`. 1-D·1-D is a dot product (0-d result); a 1-D first (second) operand is
 * treated as a row (column) and the added dim removed from the result; otherwise batched
 * matrix products with the batch dims broadcast. float32, or int32 with int32 (computed in
 * float32, exact while every partial sum stays below 2^24).
 * Gradients: `g @ b^T` and `a^T @ g`, summed over broadcast batch dims.
 * @param a `[..., M, K]` or `[K]`
 * @param b `[..., K, N]` or `[K]`
 *
 * @example
 * ```ts
 * import { matmul, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * const a = randn([8, 3, 4]);
 * const b = randn([4, 5]);
 * const c = matmul(a, b); // batch dims broadcast: shape [8, 3, 5]
 * const d = a.matmul(b.transpose(0, 1).transpose(0, 1)); // method form
 * console.log(c.shape, d.shape);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  backendOf(a, b);
  if (a.dtype !== b.dtype || a.dtype === 'bool') {
    throw new DTypeError(`matmul: expected both operands float32 (or both int32), got ${a.dtype} and ${b.dtype}`);
  }
  const p = plan(a, b);
  if (a.dtype === 'int32') {
    // The kernel is float32-only; ints are multiplied in float32 and truncated back.
    const af = castUnrecorded(a, 'float32');
    const bf = castUnrecorded(b, 'float32');
    try {
      const f = runMatmul(af, bf, p);
      const out = castUnrecorded(f, 'int32');
      f.dispose();
      return out;
    } finally {
      af.dispose();
      bf.dispose();
    }
  }
  const out = runMatmul(a, b, p);
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  const aShape = a.shape;
  const bShape = b.shape;
  recordOp({
    name: 'matmul',
    inputs: [a, b],
    outputs: [out],
    save: [a, b],
    backward: ([g], [as, bs]) => {
      // Work on the matrix forms, then sum broadcast batch dims and drop added dims.
      const A = reshape(as, p.aShape);
      const B = reshape(bs, p.bShape);
      const G = reshape(g, [...p.batch, p.m, p.n]);
      const ga = needA ? reshape(sumToShape(matmul(G, transpose(B, -1, -2)), p.aShape), aShape) : null;
      const gb = needB ? reshape(sumToShape(matmul(transpose(A, -1, -2), G), p.bShape), bShape) : null;
      return [ga, gb];
    },
  });
  return out;
}

function checkLinear(x: Tensor, weight: Tensor, bias: Tensor | null): void {
  backendOf(x, weight, ...(bias ? [bias] : []));
  for (const [what, t] of [
    ['input', x],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && t.dtype !== 'float32') throw new DTypeError(`linear: expected a float32 ${what}, got ${t.dtype}`);
  }
  if (x.rank === 0) throw new ShapeError(`linear: the input needs at least 1 dimension, got shape ${formatShape(x.shape)}`);
  if (weight.rank !== 1 && weight.rank !== 2) {
    throw new ShapeError(`linear: weight must be [out_features, in_features] (or 1-D), got shape ${formatShape(weight.shape)}`);
  }
  const k = x.shape[x.rank - 1];
  const wk = weight.shape[weight.rank - 1];
  if (k !== wk) {
    throw new ShapeError(`linear: input ${formatShape(x.shape)} has ${k} features but weight ${formatShape(weight.shape)} expects ${wk}`);
  }
}

/** Options of {@link linear}. */
export interface LinearOptions {
  /**
   * An activation applied to the output (`'geluTanh'` is `gelu(y, { approximate: 'tanh' })`):
   * exactly `act(linear(x, weight, bias))`, computed in the GEMM's epilogue by the backend's
   * fused `linear` kernel when it has one.
   */
  activation?: LinearActivation | null;
}

const ACTIVATIONS: Record<LinearActivation, (y: Tensor) => Tensor> = {
  relu,
  gelu: (y) => gelu(y),
  geluTanh: (y) => gelu(y, { approximate: 'tanh' }),
  silu,
  tanh,
  sigmoid,
};

/**
 * Gradient of the activations whose derivative is a function of their output, in terms of
 * that output `y` (the same rules as relu/tanh/sigmoid's own). gelu and silu need the
 * pre-activation, which the fused kernel does not return.
 */
const FROM_OUTPUT: Partial<Record<LinearActivation, (g: Tensor, y: Tensor) => Tensor>> = {
  relu: (g, y) => where(gt(y, 0), g, 0),
  tanh: (g, y) => mul(g, sub(1, mul(y, y))),
  sigmoid: (g, y) => mul(g, mul(y, sub(1, y))),
};

/**
 * `act(x @ weight^T + bias)` (`torch.nn.functional.linear`, then the optional activation).
 * x `[..., K]`, weight `[N, K]`, bias `[N]` (or anything broadcastable to the output) or
 * absent. Uses the backend's fused `linear` kernel when present (2-D weight, bias `[N]` or
 * none); otherwise matmul + add, then the activation op.
 *
 * With an activation, the fused kernel applies it in its epilogue when nothing needs a
 * gradient, and for relu/tanh/sigmoid (whose derivative is a function of the output, which
 * is saved) also when something does. gelu/geluTanh/silu under autograd run the fused
 * linear without activation and then the activation op, which saves the pre-activation:
 * cheaper than recomputing it with a second GEMM in the backward pass.
 * Gradients: `g' @ weight`, `g'^T @ x` over all leading dims, and `g'` summed to bias, where
 * `g'` is the gradient of the pre-activation.
 * @param x input `[..., K]`
 * @param weight `[N, K]`
 * @param bias `[N]`, or null/undefined
 * @param options `activation`
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LinearOptions = {}): Tensor {
  const b = bias ?? null;
  const activation = options.activation ?? null;
  checkLinear(x, weight, b);
  if (activation !== null && !Object.hasOwn(ACTIVATIONS, activation)) {
    throw new DTypeError(`linear: activation must be one of ${Object.keys(ACTIVATIONS).join(', ')}, got '${String(activation)}'`);
  }
  const fused = fusedKernel(x.backend, 'linear');
  const n = weight.shape[0];
  if (!fused || weight.rank !== 2 || (b && (b.rank !== 1 || b.shape[0] !== n))) {
    return tidy(() => {
      const y = matmul(x, weight.rank === 2 ? transpose(weight, 0, 1) : weight);
      const z = b ? add(y, b) : y;
      return activation ? ACTIVATIONS[activation](z) : z;
    });
  }
  const inputs = b ? [x, weight, b] : [x, weight];
  const fromOutput = activation ? FROM_OUTPUT[activation] : undefined;
  if (activation && !fromOutput && needsGrad(inputs)) {
    // The activation's gradient needs the pre-activation: keep it (see above).
    return tidy(() => ACTIVATIONS[activation](linear(x, weight, b)));
  }
  const backend = x.backend;
  const k = weight.shape[1];
  const lead = x.shape.slice(0, -1);
  const attrs = activation ? { activation } : undefined;
  const out = fromDataId(
    backend,
    attrs
      ? fused(x.kernelInput(), weight.kernelInput(), b ? b.kernelInput() : null, attrs)
      : fused(x.kernelInput(), weight.kernelInput(), b ? b.kernelInput() : null),
    [...lead, n],
    'float32',
  );
  const needs = [x.requiresGrad, weight.requiresGrad, b?.requiresGrad ?? false];
  const rows = sizeOf(lead);
  recordOp({
    name: 'linear',
    inputs,
    outputs: [out],
    save: fromOutput ? [x, weight, out] : [x, weight],
    backward: ([g0], [xs, ws, ys]) => {
      const g = fromOutput ? fromOutput(g0, ys) : g0;
      const g2 = reshape(g, [rows, n]);
      return [
        needs[0] ? matmul(g, ws) : null,
        needs[1] ? matmul(transpose(g2, 0, 1), reshape(xs, [rows, k])) : null,
        needs[2] ? sum(g2, 0) : null,
      ];
    },
  });
  return out;
}
