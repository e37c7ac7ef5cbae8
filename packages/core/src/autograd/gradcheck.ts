/** Finite-difference checking of gradient rules, for tests and backend authors. */
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../memory/scope.js';
import { tensor } from '../ops/creation.js';
import { Generator } from '../random/generator.js';
import { gradients } from './backward.js';
import { enableGrad, noGrad } from './grad-mode.js';

/** Options for {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step. Default 1e-2 (float32 needs a large one). */
  eps?: number;
  /** Absolute tolerance. Default 1e-2. */
  atol?: number;
  /** Relative tolerance. Default 1e-2. */
  rtol?: number;
}

/** One input whose analytic and numeric gradients disagree. */
export interface GradcheckMismatch {
  /** Which input. */
  input: number;
  /** Flat element index. */
  index: number;
  /** Gradient from autograd. */
  analytic: number;
  /** Central-difference estimate. */
  numeric: number;
}

/** Result of a gradcheck. */
export interface GradcheckResult {
  /** True when every element agreed within tolerance. */
  ok: boolean;
  /** The elements that did not (empty when ok). */
  mismatches: GradcheckMismatch[];
}

interface HostInput {
  values: Float32Array | Int32Array | Uint8Array;
  shape: readonly number[];
  dtype: Tensor['dtype'];
  device: string;
}

function asList(out: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(out) ? out : [out];
}

/** Fresh tensors from host data; float32 ones are leaves requiring grad when `grad` is set. */
function rebuild(hosts: readonly HostInput[], grad: boolean): Tensor[] {
  return hosts.map((h) =>
    tensor(h.values, { shape: h.shape, dtype: h.dtype, device: h.device, requiresGrad: grad && h.dtype === 'float32' }),
  );
}

/**
 * Compares autograd's gradient of `sum(fn(...inputs) * w)` (w a fixed random weight) with
 * central finite differences, element by element, for every float32 input.
 *
 * Inputs are read once (`await data()`, so async-only backends work) and re-created from
 * host values for every evaluation; `fn` must be deterministic and must not dispose its
 * inputs. Non-float outputs are ignored. Elements agree when
 * `|analytic - numeric| <= atol + rtol * |numeric|`.
 */
export async function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const eps = options.eps ?? 1e-2;
  const atol = options.atol ?? 1e-2;
  const rtol = options.rtol ?? 1e-2;
  const hosts: HostInput[] = await Promise.all(
    inputs.map(async (t) => ({ values: (await t.data()).slice(), shape: [...t.shape], dtype: t.dtype, device: t.device })),
  );
  // A fixed generator: the check is reproducible and does not disturb the global stream.
  const generator = new Generator(1234);
  let weights: Float32Array[] | null = null;
  const weightsFor = (shapes: readonly (readonly number[])[]): Float32Array[] => {
    weights ??= shapes.map((s) => generator.uniform(s.reduce((a, b) => a * b, 1)).map((u) => 2 * u - 1));
    return weights;
  };

  // Analytic gradients: backward from the float outputs, seeded with w.
  const leaves = rebuild(hosts, true);
  const floatInputs = leaves.filter((t) => t.dtype === 'float32');
  const analytic: Float32Array[] = [];
  try {
    const grads = tidy(() =>
      enableGrad(() => {
        const outs = asList(fn(...leaves)).filter((o) => o.dtype === 'float32');
        const w = weightsFor(outs.map((o) => o.shape));
        const differentiable = outs.map((o, i) => ({ o, i })).filter(({ o }) => o.requiresGrad);
        if (differentiable.length === 0 || floatInputs.length === 0) return floatInputs.map(() => null);
        const seeds = differentiable.map(({ o, i }) => tensor(w[i], { shape: o.shape, device: o.device }));
        return gradients(
          differentiable.map(({ o }) => o),
          floatInputs,
          seeds,
          { allowUnused: true },
        );
      }),
    );
    for (let k = 0; k < floatInputs.length; k++) {
      const g = grads[k];
      analytic.push(g ? Float32Array.from(await g.data()) : new Float32Array(floatInputs[k].size));
      g?.dispose();
    }
  } finally {
    for (const t of leaves) t.dispose();
  }

  // f(x) = sum over float outputs of out * w, evaluated in float64 on the host.
  const evaluate = async (hs: readonly HostInput[]): Promise<number> => {
    const xs = rebuild(hs, false);
    try {
      const outs = tidy(() => noGrad(() => asList(fn(...xs)).filter((o) => o.dtype === 'float32')));
      const w = weightsFor(outs.map((o) => o.shape));
      let total = 0;
      for (let i = 0; i < outs.length; i++) {
        const values = await outs[i].data();
        for (let j = 0; j < values.length; j++) total += values[j] * w[i][j];
        outs[i].dispose();
      }
      return total;
    } finally {
      for (const t of xs) t.dispose();
    }
  };

  const mismatches: GradcheckMismatch[] = [];
  let floatIndex = 0;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i];
    if (h.dtype !== 'float32') continue;
    const a = analytic[floatIndex++];
    for (let j = 0; j < h.values.length; j++) {
      const original = h.values[j];
      const perturbed = (delta: number): HostInput[] => {
        const values = Float32Array.from(h.values);
        values[j] = original + delta;
        return hosts.map((other, k) => (k === i ? { ...h, values } : other));
      };
      // The step actually taken after float32 rounding, so the quotient is not biased.
      const up = Math.fround(original + eps) - original;
      const down = original - Math.fround(original - eps);
      const numeric = ((await evaluate(perturbed(eps))) - (await evaluate(perturbed(-eps)))) / (up + down);
      const analyticValue = a[j];
      if (!(Math.abs(analyticValue - numeric) <= atol + rtol * Math.abs(numeric))) {
        mismatches.push({ input: i, index: j, analytic: analyticValue, numeric });
      }
    }
  }
  return { ok: mismatches.length === 0, mismatches };
}
