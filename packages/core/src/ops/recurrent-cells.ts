/**
 * Pointwise recurrent cell steps: the elementwise part of an LSTM / GRU step, after the
 * gate matmuls. With the backend's fused `lstmCell` / `gruCell` kernel the step is one node
 * whose backward rule runs the backend's fused `lstmCellBackward` / `gruCellBackward` kernel
 * when it has one and the backward pass is not itself recorded (no `createGraph`), and
 * otherwise recomputes the gate activations from the saved inputs with core ops (so second
 * derivatives stay right); without the forward kernel the step is composed from primitives
 * and autograd differentiates that.
 * Gate orders are PyTorch's: LSTM i, f, g, o; GRU r, z, n.
 */
import { needsGrad, recordOp } from '../autograd/record.js';
import { DTypeError, ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape } from '../shape.js';
import { backendOf, fromDataId, fusedKernel } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, sub } from './binary.js';
import { cat } from './join.js';
import { sigmoid, tanh } from './unary.js';
import { narrow } from './view.js';

/** Checks `[B, gates*H]` gate tensors and `[B, H]` states; returns H. */
function checkCell(name: string, gateCount: number, gates: readonly [string, Tensor][], states: readonly [string, Tensor][]): number {
  backendOf(...gates.map(([, t]) => t), ...states.map(([, t]) => t));
  for (const [what, t] of [...gates, ...states]) {
    if (t.dtype !== 'float32') throw new DTypeError(`${name}: expected a float32 ${what}, got ${t.dtype}`);
    if (t.rank !== 2) throw new ShapeError(`${name}: ${what} must be 2-D [batch, features], got shape ${formatShape(t.shape)}`);
  }
  const [, first] = states[0];
  const [batch, h] = first.shape;
  for (const [what, t] of gates) {
    if (t.shape[0] !== batch || t.shape[1] !== gateCount * h) {
      throw new ShapeError(
        `${name}: ${what} must be [${batch}, ${gateCount * h}] (${gateCount} gates of hidden size ${h}), got ${formatShape(t.shape)}`,
      );
    }
  }
  for (const [what, t] of states) {
    if (t.shape[0] !== batch || t.shape[1] !== h)
      throw new ShapeError(`${name}: ${what} must be [${batch}, ${h}], got ${formatShape(t.shape)}`);
  }
  return h;
}

/** Gate `i` (of width `h`) of a `[B, n*h]` tensor: a view. */
function gate(t: Tensor, i: number, h: number): Tensor {
  return narrow(t, 1, i * h, h);
}

/** LSTM gate activations from the pre-activation sums. */
function lstmGates(gates: Tensor, h: number): { i: Tensor; f: Tensor; g: Tensor; o: Tensor } {
  return { i: sigmoid(gate(gates, 0, h)), f: sigmoid(gate(gates, 1, h)), g: tanh(gate(gates, 2, h)), o: sigmoid(gate(gates, 3, h)) };
}

/** GRU gate activations: r, z and the candidate n = tanh(gi_n + r * gh_n). */
function gruGates(gi: Tensor, gh: Tensor, h: number): { r: Tensor; z: Tensor; n: Tensor; ghn: Tensor } {
  const r = sigmoid(add(gate(gi, 0, h), gate(gh, 0, h)));
  const z = sigmoid(add(gate(gi, 1, h), gate(gh, 1, h)));
  const ghn = gate(gh, 2, h);
  const n = tanh(add(gate(gi, 2, h), mul(r, ghn)));
  return { r, z, n, ghn };
}

/** `s * (1 - s)`: the derivative of sigmoid in terms of its output. */
function dSigmoid(s: Tensor): Tensor {
  return mul(s, sub(1, s));
}

/** `1 - t^2`: the derivative of tanh in terms of its output. */
function dTanh(t: Tensor): Tensor {
  return sub(1, mul(t, t));
}

/**
 * The pointwise LSTM step: with `i, f, o = sigmoid(...)`, `g = tanh(...)` of the gate sums
 * `gi + gh` (each `[B, 4H]`, order i, f, g, o: `gi = x W_ih^T + b_ih`, `gh = h W_hh^T + b_hh`),
 * `c' = f * c + i * g` and `h = o * tanh(c')`. Returns `[h, c']`, each `[B, H]`. Uses the fused
 * `lstmCell` kernel when the backend has one (then `gi + gh` is never materialised). Gradients
 * for `gi`, `gh` and `c`.
 * @param gi input gate sums `[B, 4H]`
 * @param gh hidden gate sums `[B, 4H]`
 * @param c previous cell state `[B, H]`
 * @example
 * ```ts
 * import { linear, lstmCellStep, randn, zeros } from '@ghostflow/core';
 * // Batch 2, input size 3, hidden size 8.
 * const x = randn([2, 3]), h0 = zeros([2, 8]), c0 = zeros([2, 8]);
 * const wIh = randn([32, 3]), bIh = randn([32]), wHh = randn([32, 8]), bHh = randn([32]);
 * const [h1, c1] = lstmCellStep(linear(x, wIh, bIh), linear(h0, wHh, bHh), c0);
 * ```
 */
export function lstmCellStep(gi: Tensor, gh: Tensor, c: Tensor): [Tensor, Tensor] {
  const h = checkCell(
    'lstmCellStep',
    4,
    [
      ['gi', gi],
      ['gh', gh],
    ],
    [['c', c]],
  );
  const fused = fusedKernel(c.backend, 'lstmCell');
  if (!fused) {
    return tidy(() => {
      const a = lstmGates(add(gi, gh), h);
      const cNext = add(mul(a.f, c), mul(a.i, a.g));
      return [mul(a.o, tanh(cNext)), cNext] as [Tensor, Tensor];
    });
  }
  const backend = c.backend;
  const [hId, cId] = fused(gi.kernelInput(), gh.kernelInput(), c.kernelInput());
  const shape = c.shape;
  const hOut = fromDataId(backend, hId, shape, 'float32');
  const cOut = fromDataId(backend, cId, shape, 'float32');
  recordOp({
    name: 'lstmCell',
    inputs: [gi, gh, c],
    outputs: [hOut, cOut],
    save: [gi, gh, c, cOut],
    backward: ([gH, gC], [gis, ghs, cs, cNext]) => {
      const fusedBackward = fusedKernel(backend, 'lstmCellBackward');
      if (fusedBackward && !needsGrad([gH, gC, gis, ghs, cs])) {
        const [dg, dcPrev] = fusedBackward(gis.kernelInput(), ghs.kernelInput(), cs.kernelInput(), gH.kernelInput(), gC.kernelInput());
        const dGates = fromDataId(backend, dg, gis.shape, 'float32');
        // gi and gh enter only through their sum: both get dGates (gh through a view, so
        // the engine never sees one tensor twice).
        return [dGates, dGates.view(gis.shape), fromDataId(backend, dcPrev, shape, 'float32')];
      }
      const a = lstmGates(add(gis, ghs), h);
      const tc = tanh(cNext);
      // c' reaches the loss directly and through h = o * tanh(c').
      const dc = add(gC, mul(mul(gH, a.o), dTanh(tc)));
      const di = mul(mul(dc, a.g), dSigmoid(a.i));
      const df = mul(mul(dc, cs), dSigmoid(a.f));
      const dg = mul(mul(dc, a.i), dTanh(a.g));
      const dout = mul(mul(gH, tc), dSigmoid(a.o));
      const dGates = cat([di, df, dg, dout], 1);
      return [dGates, dGates.view(gis.shape), mul(dc, a.f)];
    },
  });
  return [hOut, cOut];
}

/**
 * The pointwise GRU step, as PyTorch: `r = sigmoid(gi_r + gh_r)`, `z = sigmoid(gi_z + gh_z)`,
 * `n = tanh(gi_n + r * gh_n)`, `h' = (1 - z) * n + z * h`, where `gi = x W_ih^T + b_ih` and
 * `gh = h W_hh^T + b_hh` (`[B, 3H]`, order r, z, n). Uses the fused `gruCell` kernel when the
 * backend has one. Gradients for `gi`, `gh` and `h`.
 * @param gi input gate sums `[B, 3H]`
 * @param gh hidden gate sums `[B, 3H]`
 * @param h previous hidden state `[B, H]`
 */
export function gruCellStep(gi: Tensor, gh: Tensor, h: Tensor): Tensor {
  const size = checkCell(
    'gruCellStep',
    3,
    [
      ['gi', gi],
      ['gh', gh],
    ],
    [['h', h]],
  );
  const fused = fusedKernel(h.backend, 'gruCell');
  if (!fused) {
    return tidy(() => {
      const a = gruGates(gi, gh, size);
      return add(mul(sub(1, a.z), a.n), mul(a.z, h));
    });
  }
  const backend = h.backend;
  const out = fromDataId(backend, fused(gi.kernelInput(), gh.kernelInput(), h.kernelInput()), h.shape, 'float32');
  recordOp({
    name: 'gruCell',
    inputs: [gi, gh, h],
    outputs: [out],
    save: [gi, gh, h],
    backward: ([g], [gis, ghs, hs]) => {
      const fusedBackward = fusedKernel(backend, 'gruCellBackward');
      if (fusedBackward && !needsGrad([g, gis, ghs, hs])) {
        const [dgi, dgh, dh] = fusedBackward(gis.kernelInput(), ghs.kernelInput(), hs.kernelInput(), g.kernelInput());
        return [
          fromDataId(backend, dgi, gis.shape, 'float32'),
          fromDataId(backend, dgh, ghs.shape, 'float32'),
          fromDataId(backend, dh, hs.shape, 'float32'),
        ];
      }
      const a = gruGates(gis, ghs, size);
      const dn = mul(mul(g, sub(1, a.z)), dTanh(a.n));
      const dz = mul(mul(g, sub(hs, a.n)), dSigmoid(a.z));
      // n's pre-activation is gi_n + r * gh_n: r and gh_n get the product-rule shares.
      const dr = mul(mul(dn, a.ghn), dSigmoid(a.r));
      return [cat([dr, dz, dn], 1), cat([dr, dz, mul(dn, a.r)], 1), mul(g, a.z)];
    },
  });
  return out;
}
