/**
 * Parameter initialisation as PyTorch's `nn.init`, drawing from core's seedable generator
 * (`manualSeed`).
 *
 * The trailing-underscore functions (`uniform_`, `kaimingUniform_`, ...) are PyTorch's: they
 * write into an existing tensor in place, under `noGrad` (so parameters that require grad
 * can be re-initialised), and return it; views of the tensor see the new values. The plain
 * forms (`uniform(shape, ...)`) create a new tensor the same way, which is what layers use
 * when they build their parameters.
 */
import { Generator, GhostFlowError, type Tensor, getRngState, noGrad, setRngState, tensor, zeros } from '@ghostflow/core';

/** Where to create the tensor. */
export interface InitOptions {
  /** Backend name; default the active backend. */
  device?: string;
}

/** PyTorch's `_calculate_fan_in_and_fan_out` for a weight of `shape`. */
export function fanInOut(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new GhostFlowError(`fan in/out needs a weight with at least 2 dims, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** In place U(low, high) (`nn.init.uniform_`). Returns `t`. */
export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return noGrad(() => t.uniform_(low, high));
}

/** In place N(mean, std²) (`nn.init.normal_`). Returns `t`. */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

/** In place constant `value` (`nn.init.constant_`). Returns `t`. */
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** In place zeros (`nn.init.zeros_`). Returns `t`. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** In place ones (`nn.init.ones_`). Returns `t`. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** The nonlinearities {@link calculateGain} knows (PyTorch's strings). */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/**
 * The recommended gain for `nonlinearity` (`nn.init.calculate_gain`): 1 for linear, conv and
 * sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope²)) for leaky_relu (`param` is
 * the negative slope, default 0.01), 3/4 for selu.
 *
 * @example
 * ```ts
 * import { init } from '@ghostflow/nn';
 * init.calculateGain('tanh');             // 1.6666666666666667
 * init.calculateGain('leaky_relu', 0.2);  // 1.3867504905630728
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.sqrt(2);
    case 'leaky_relu': {
      if (param !== undefined && (typeof param !== 'number' || !Number.isFinite(param))) {
        throw new GhostFlowError(`negative_slope ${String(param)} not a valid number`);
      }
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new GhostFlowError(`Unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** Which fan Kaiming init scales by. */
export type FanMode = 'fan_in' | 'fan_out';

/** PyTorch's `_calculate_correct_fan`. */
function correctFan(shape: readonly number[], mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out')
    throw new GhostFlowError(`Mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  const { fanIn, fanOut } = fanInOut(shape);
  return mode === 'fan_in' ? fanIn : fanOut;
}

/** The bound of Kaiming-uniform: `gain * sqrt(3 / fan)`. */
function kaimingBound(shape: readonly number[], a: number, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): number {
  const fan = correctFan(shape, mode);
  return calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
}

/** The bound of Xavier-uniform: `gain * sqrt(6 / (fanIn + fanOut))`. */
function xavierBound(shape: readonly number[], gain: number): number {
  const { fanIn, fanOut } = fanInOut(shape);
  return gain * Math.sqrt(6 / (fanIn + fanOut));
}

/**
 * In place Kaiming-uniform (`nn.init.kaiming_uniform_`): U(-b, b) with
 * b = calculateGain(nonlinearity, a) * sqrt(3 / fan). Note the default `a = sqrt(5)`: what
 * Linear and Conv use for their weights (PyTorch's function defaults to `a = 0`; pass it to
 * match `kaiming_uniform_(w)` called without arguments). Returns `t`.
 */
export function kaimingUniform_(t: Tensor, a = Math.sqrt(5), mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): Tensor {
  const bound = kaimingBound(t.shape, a, mode, nonlinearity);
  return uniform_(t, -bound, bound);
}

/**
 * In place Kaiming/He normal (`nn.init.kaiming_normal_`, same defaults: `a = 0`, fan_in,
 * leaky_relu): N(0, std²) with std = calculateGain(nonlinearity, a) / sqrt(fan). Returns `t`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Conv2d, init } from '@ghostflow/nn';
 * const conv = new Conv2d(3, 16, 3);
 * init.kaimingNormal_(conv.weight, 0, 'fan_out', 'relu');
 * ```
 */
export function kaimingNormal_(t: Tensor, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): Tensor {
  const std = calculateGain(nonlinearity, a) / Math.sqrt(correctFan(t.shape, mode));
  return normal_(t, 0, std);
}

/**
 * In place Xavier/Glorot normal (`nn.init.xavier_normal_`): N(0, std²) with
 * std = gain * sqrt(2 / (fanIn + fanOut)). Returns `t`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear, init } from '@ghostflow/nn';
 * const linear = new Linear(10, 20);
 * init.xavierNormal_(linear.weight, init.calculateGain('tanh'));
 * ```
 */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fanInOut(t.shape);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/**
 * Draws from the global generator on the host, exactly as `rand`/`randn` would (same
 * numbers, same stream position afterwards), for initialisers computed on the host.
 */
function drawGlobal<T>(draw: (g: Generator) => T): T {
  const state = getRngState();
  const g = new Generator(state.seed).setState(state);
  const out = draw(g);
  setRngState(g.getState());
  return out;
}

/** Writes host `values` (row-major, `t`'s shape) into `t` in place. */
function writeHost(t: Tensor, values: Float32Array): Tensor {
  return noGrad(() => {
    const src = tensor(values, { device: t.device }).reshape([...t.shape]);
    try {
      return t.copy_(src);
    } finally {
      src.dispose();
    }
  });
}

/** erf⁻¹ in double precision (Giles' approximation refined by two Newton steps on erf). */
function erfinv(y: number): number {
  if (y <= -1) return Number.NEGATIVE_INFINITY;
  if (y >= 1) return Number.POSITIVE_INFINITY;
  let w = -Math.log((1 - y) * (1 + y));
  let x: number;
  if (w < 5) {
    w -= 2.5;
    let p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941])
      p = c + p * w;
    x = p * y;
  } else {
    w = Math.sqrt(w) - 3;
    let p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682])
      p = c + p * w;
    x = p * y;
  }
  for (let i = 0; i < 2; i++) x -= (erf(x) - y) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x));
  return x;
}

/** erf in double precision (W. J. Cody's rational approximations via erfc for |x| >= 0.5). */
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for Newton refinement; use the series / continued fraction.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5 in double precision.
    let sum = ax;
    let term = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  // erfc continued fraction (Lentz) for the tail.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  const r = 1 - erfc;
  return x < 0 ? -r : r;
}

/**
 * In place truncated normal (`nn.init.trunc_normal_`): N(mean, std²) restricted to
 * [a, b], by PyTorch's inverse-CDF method (uniform draws mapped through erf⁻¹, then clamped
 * to [a, b] against rounding). Returns `t`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Embedding, init } from '@ghostflow/nn';
 * const embedding = new Embedding(1000, 64);
 * init.truncNormal_(embedding.weight, 0, 0.02, -0.04, 0.04);
 * ```
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  if (![mean, std, a, b].every(Number.isFinite) || !(std > 0) || !(a < b)) {
    throw new GhostFlowError(`truncNormal_: expects finite mean, std > 0 and a < b, got mean=${mean}, std=${std}, a=${a}, b=${b}`);
  }
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std);
  const u = cdf((b - mean) / std);
  const values = drawGlobal((g) => g.uniform(t.size));
  for (let i = 0; i < values.length; i++) {
    const v = 2 * l - 1 + (2 * u - 2 * l) * values[i];
    const x = mean + std * Math.SQRT2 * erfinv(v);
    values[i] = Math.min(b, Math.max(a, x));
  }
  return writeHost(t, values);
}

/**
 * In place (semi-)orthogonal matrix (`nn.init.orthogonal_`, Saxe et al. 2013): the Q of a QR
 * decomposition of a standard normal `[rows, numel / rows]` matrix (transposed when wider than
 * tall), with signs fixed by diag(R) so the result is uniformly distributed, times `gain`. Rows
 * (or columns, whichever are fewer) are orthonormal to float32 precision. Needs at least 2
 * dims. Returns `t`.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { LSTM, init } from '@ghostflow/nn';
 * const lstm = new LSTM(10, 20);
 * for (const [name, p] of lstm.namedParameters()) if (name.startsWith('weight_hh')) init.orthogonal_(p);
 * ```
 */
export function orthogonal_(t: Tensor, gain = 1): Tensor {
  if (t.rank < 2) throw new GhostFlowError(`Only tensors with 2 or more dimensions are supported, got shape [${t.shape.join(', ')}]`);
  if (t.size === 0) return t;
  const rows = t.shape[0];
  const cols = t.size / rows;
  const z = drawGlobal((g) => g.normal(rows * cols));
  // Work on the tall orientation m x n (m >= n), column-major in float64.
  const wide = rows < cols;
  const m = wide ? cols : rows;
  const n = wide ? rows : cols;
  const a = new Float64Array(m * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[wide ? r * m + c : c * m + r] = z[r * cols + c];
  const q = householderQ(a, m, n);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (wide ? q[r * m + c] : q[c * m + r]);
  return writeHost(t, out);
}

/**
 * The thin Q (m x n, column-major) of a column-major m x n matrix `a` (m >= n) by Householder
 * QR, with each column's sign flipped so that diag(R) >= 0 (what `q *= sign(diag(r))` does).
 */
function householderQ(a: Float64Array, m: number, n: number): Float64Array {
  const vs: Float64Array[] = [];
  const rDiag = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += a[k * m + i] ** 2;
    norm = Math.sqrt(norm);
    const x0 = a[k * m + k];
    const alpha = x0 >= 0 ? -norm : norm;
    const v = new Float64Array(m);
    for (let i = k; i < m; i++) v[i] = a[k * m + i];
    v[k] -= alpha;
    let vn = 0;
    for (let i = k; i < m; i++) vn += v[i] ** 2;
    vs.push(v);
    rDiag[k] = alpha;
    if (vn === 0) continue;
    for (let j = k; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i] * a[j * m + i];
      const f = (2 * dot) / vn;
      for (let i = k; i < m; i++) a[j * m + i] -= f * v[i];
    }
  }
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * m + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k];
    let vn = 0;
    for (let i = k; i < m; i++) vn += v[i] ** 2;
    if (vn === 0) continue;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i] * q[j * m + i];
      const f = (2 * dot) / vn;
      for (let i = k; i < m; i++) q[j * m + i] -= f * v[i];
    }
  }
  for (let j = 0; j < n; j++) {
    if (rDiag[j] < 0) for (let i = 0; i < m; i++) q[j * m + i] = -q[j * m + i];
  }
  return q;
}

/**
 * In place identity matrix (`nn.init.eye_`, 2-D only): ones on the diagonal, zeros elsewhere.
 * Returns `t`.
 */
export function eye_(t: Tensor): Tensor {
  if (t.rank !== 2) throw new GhostFlowError(`Only tensors with 2 dimensions are supported, got shape [${t.shape.join(', ')}]`);
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < Math.min(r, c); i++) out[i * c + i] = 1;
  return writeHost(t, out);
}

/**
 * In place Dirac delta (`nn.init.dirac_`) for 3-, 4- and 5-D convolution weights: each of
 * the first min(outPerGroup, in) channels of every group passes its input channel through
 * unchanged (a one at the kernel's centre). Returns `t`.
 */
export function dirac_(t: Tensor, groups = 1): Tensor {
  if (t.rank < 3 || t.rank > 5)
    throw new GhostFlowError(`Only tensors with 3, 4, or 5 dimensions are supported, got shape [${t.shape.join(', ')}]`);
  if (!Number.isInteger(groups) || groups < 1 || t.shape[0] % groups !== 0) {
    throw new GhostFlowError(`dim 0 (${t.shape[0]}) must be divisible by groups (${groups})`);
  }
  const outPerGroup = t.shape[0] / groups;
  const minDim = Math.min(outPerGroup, t.shape[1]);
  const kernel = t.shape.slice(2);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const out = new Float32Array(t.size);
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < minDim; d++) {
      let idx = (g * outPerGroup + d) * strides[0] + d * strides[1];
      kernel.forEach((k, i) => {
        idx += Math.floor(k / 2) * strides[i + 2];
      });
      out[idx] = 1;
    }
  }
  return writeHost(t, out);
}

/** In place Xavier/Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)). Returns `t`. */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const bound = xavierBound(t.shape, gain);
  return uniform_(t, -bound, bound);
}

/** A new float32 tensor of `shape` filled in place by `fill`. */
function created(shape: readonly number[], options: InitOptions, fill: (t: Tensor) => Tensor): Tensor {
  const t = zeros(shape, options);
  try {
    return fill(t);
  } catch (e) {
    t.dispose();
    throw e;
  }
}

/** A new tensor U(low, high). */
export function uniform(shape: readonly number[], low: number, high: number, options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => uniform_(t, low, high));
}

/** A new tensor N(mean, std²). */
export function normal(shape: readonly number[], mean = 0, std = 1, options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => normal_(t, mean, std));
}

/** A new tensor of zeros. */
export function zerosInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return zeros(shape, options);
}

/** A new tensor of ones. */
export function onesInit(shape: readonly number[], options: InitOptions = {}): Tensor {
  return created(shape, options, ones_);
}

/** A new Kaiming-uniform tensor (see {@link kaimingUniform_}). */
export function kaimingUniform(shape: readonly number[], a = Math.sqrt(5), options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => kaimingUniform_(t, a));
}

/** A new Xavier/Glorot-uniform tensor (see {@link xavierUniform_}). */
export function xavierUniform(shape: readonly number[], gain = 1, options: InitOptions = {}): Tensor {
  return created(shape, options, (t) => xavierUniform_(t, gain));
}
