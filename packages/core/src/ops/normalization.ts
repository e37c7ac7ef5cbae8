/**
 * Layer normalisation (`torch.nn.functional.layer_norm`). With the backend's fused
 * `layerNorm` kernel the op is one node whose backward rule (written here with core ops)
 * reuses the kernel's saved per-row mean and rstd; without it the op is composed from
 * primitives (biased variance) and autograd differentiates the composition.
 */
import { isGradEnabled } from '../autograd/grad-mode.js';
import { recordOp } from '../autograd/record.js';
import { DTypeError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { type Shape, formatShape, shapesEqual, sizeOf } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, sub } from './binary.js';
import { mean, sum } from './reduce.js';
import { rsqrt } from './unary.js';
import { reshape } from './view.js';

function check(x: Tensor, normalizedShape: Shape, weight: Tensor | null, bias: Tensor | null): void {
  backendOf(x, ...(weight ? [weight] : []), ...(bias ? [bias] : []));
  for (const [what, t] of [
    ['input', x],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && t.dtype !== 'float32') throw new DTypeError(`layerNorm: expected a float32 ${what}, got ${t.dtype}`);
  }
  const k = normalizedShape.length;
  if (k === 0) throw new ShapeError('layerNorm: normalizedShape must name at least one dim, got []');
  if (k > x.rank || !shapesEqual(x.shape.slice(x.rank - k), normalizedShape)) {
    throw new ShapeError(
      `layerNorm: input of shape ${formatShape(x.shape)} does not end with normalizedShape ${formatShape(normalizedShape)}`,
    );
  }
  for (const [what, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && !shapesEqual(t.shape, normalizedShape)) {
      throw new ShapeError(`layerNorm: ${what} must have shape ${formatShape(normalizedShape)}, got ${formatShape(t.shape)}`);
    }
  }
}

/** `x - mean`, and `rstd = 1 / sqrt(var + eps)` with the biased variance, over `dims`. */
function statistics(x: Tensor, dims: readonly number[], eps: number): { centered: Tensor; rstd: Tensor } {
  const centered = sub(x, mean(x, dims, true));
  const rstd = rsqrt(add(mean(mul(centered, centered), dims, true), eps));
  return { centered, rstd };
}

function composed(x: Tensor, dims: readonly number[], weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  return tidy(() => {
    const { centered, rstd } = statistics(x, dims, eps);
    const normalized = mul(centered, rstd);
    const scaled = weight ? mul(normalized, weight) : normalized;
    return bias ? add(scaled, bias) : scaled;
  });
}

/**
 * `(x - mean) / sqrt(var + eps) * weight + bias` over the trailing `normalizedShape` dims,
 * with the biased variance (`torch.nn.functional.layer_norm`). float32.
 * Gradients for x, weight and bias; with the fused kernel the backward pass uses the standard
 * closed form `rstd * (ĝ - mean(ĝ) - x̂ * mean(ĝ x̂))` with `ĝ = g * weight`.
 * @param x input `[..., *normalizedShape]`
 * @param normalizedShape the trailing dims normalised over
 * @param weight elementwise scale of shape `normalizedShape`, or null
 * @param bias elementwise shift of shape `normalizedShape`, or null
 * @param eps added to the variance (default 1e-5)
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const w = weight ?? null;
  const b = bias ?? null;
  check(x, normalizedShape, w, b);
  const k = normalizedShape.length;
  const dims = Array.from({ length: k }, (_, i) => x.rank - k + i);
  const fused = fusedKernel(x.backend, 'layerNorm');
  // A normalized shape with a 0 dim has no per-row statistics for a kernel to return (its
  // rows are empty, not absent); the composition gives PyTorch's empty outputs and grads.
  if (!fused || sizeOf(normalizedShape) === 0) return composed(x, dims, w, b, eps);

  const backend = x.backend;
  const normalizedSize = sizeOf(normalizedShape);
  const rows = normalizedSize === 0 ? 0 : x.size / normalizedSize;
  const [outId, meanId, rstdId] = fused(x.kernelInput(), w ? w.kernelInput() : null, b ? b.kernelInput() : null, { normalizedSize, eps });
  const out = fromDataId(backend, outId, x.shape, 'float32');
  const rowMean = fromDataId(backend, meanId, [rows], 'float32');
  const rowRstd = fromDataId(backend, rstdId, [rows], 'float32');
  // Per-row statistics broadcast against x: the leading dims, then size 1 for each normalised dim.
  const statShape = [...x.shape.slice(0, x.rank - k), ...normalizedShape.map(() => 1)];
  const leadDims = Array.from({ length: x.rank - k }, (_, i) => i);
  const needs = [x.requiresGrad, w?.requiresGrad ?? false, b?.requiresGrad ?? false];
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  recordOp({
    name: 'layerNorm',
    inputs,
    outputs: [out],
    save: [x, ...(w ? [w] : []), rowMean, rowRstd],
    backward: ([g], saved) => {
      const xs = saved[0];
      const ws = w ? saved[1] : null;
      // With createGraph (grad mode on inside the rule) the statistics are recomputed from x
      // with core ops, so that second derivatives see their dependence on x; otherwise the
      // kernel's saved values are reused.
      const stats = isGradEnabled()
        ? statistics(xs, dims, eps)
        : { centered: sub(xs, reshape(saved[saved.length - 2], statShape)), rstd: reshape(saved[saved.length - 1], statShape) };
      const xhat = mul(stats.centered, stats.rstd);
      const gHat = ws ? mul(g, ws) : g;
      const gx = needs[0] ? mul(stats.rstd, sub(sub(gHat, mean(gHat, dims, true)), mul(xhat, mean(mul(gHat, xhat), dims, true)))) : null;
      // weight and bias broadcast over the leading dims: their gradients sum over those.
      const reduceLead = (t: Tensor) => (leadDims.length > 0 ? sum(t, leadDims) : t);
      const gw = w && needs[1] ? reduceLead(mul(g, xhat)) : null;
      const gb = b && needs[2] ? reduceLead(g) : null;
      return [gx, ...(w ? [gw] : []), ...(b ? [gb] : [])];
    },
  });
  // The graph holds its own references to the statistics.
  rowMean.dispose();
  rowRstd.dispose();
  return out;
}
