/**
 * Convolutions (`torch.nn.functional.conv1d/2d/3d` and `conv_transpose1d/2d/3d`), composed
 * from differentiable core ops so autograd needs no special path.
 *
 * One N-d implementation serves every rank: the input is zero-padded (`pad`), an im2col
 * matrix is built from one strided `slice` view per kernel offset (the slice step carries the
 * stride, the start the dilated offset), `stack`ed, and multiplied by the reshaped weight in
 * one `matmul` batched over groups. A transposed convolution is the adjoint: the input is
 * zero-inserted (stride − 1 zeros after every element, by padding an inserted unit dim and
 * merging it), padded (or cropped) by `dilation·(k−1) − padding` (+ `outputPadding` on the
 * right), then convolved at stride 1 with the spatially flipped weight with its channel axes
 * swapped per group.
 */
import { type Tensor, DTypeError, GhostFlowError, ShapeError, formatShape, pad, stack, tidy } from '@ghostflow/core';

/** An int for every spatial dim, or one int for all of them. */
export type ConvSize = number | readonly number[];

/** Padding of a convolution: per-dim amounts on both sides, or PyTorch's `'valid'` (none) / `'same'` (output size = input size; stride 1 only). */
export type ConvPadding = ConvSize | 'valid' | 'same';

/** Options of {@link conv1d}, {@link conv2d}, {@link conv3d} and {@link convNd}. */
export interface ConvOptions {
  /** Step of the kernel per spatial dim (default 1). */
  stride?: ConvSize;
  /**
   * Implicit zero padding on both sides per spatial dim (default 0), `'valid'` (no padding) or
   * `'same'` (output as large as the input; stride must be 1; an odd total `dilation·(k−1)` puts
   * the extra element on the right, as PyTorch).
   */
  padding?: ConvPadding;
  /** Spacing between kernel elements per spatial dim (default 1). */
  dilation?: ConvSize;
  /** Number of blocked connections from input to output channels (default 1). */
  groups?: number;
}

/** Options of {@link convTranspose1d}, {@link convTranspose2d}, {@link convTranspose3d} and {@link convTransposeNd}. */
export interface ConvTransposeOptions {
  /** Step of the kernel per spatial dim (default 1). */
  stride?: ConvSize;
  /** `dilation·(k−1) − padding` zeros are added on both sides of the input (default 0). */
  padding?: ConvSize;
  /** Extra size added to one side (the end) of each output dim (default 0); must be smaller than the stride or the dilation. */
  outputPadding?: ConvSize;
  /** Spacing between kernel elements per spatial dim (default 1). */
  dilation?: ConvSize;
  /** Number of blocked connections from input to output channels (default 1). */
  groups?: number;
}

/**
 * An int or a tuple as a tuple of `nd` ints, checked (`min` is the smallest allowed value).
 * @param op the calling op's name, for errors
 * @param what the argument's name, for errors
 * @param value the int or tuple
 * @param nd the number of spatial dims
 * @param min the smallest allowed value
 */
export function convTuple(op: string, what: string, value: ConvSize, nd: number, min: number): number[] {
  const out = typeof value === 'number' ? new Array<number>(nd).fill(value) : [...value];
  if (out.length !== nd)
    throw new ShapeError(`${op}: expected ${what} to be a single int or a tuple of ${nd} ints, got ${formatShape(out)}`);
  if (out.some((v) => !Number.isInteger(v) || v < min)) {
    throw new ShapeError(`${op}: expected ${what} to be ${min === 0 ? 'non-negative' : 'positive'} integers, got ${formatShape(out)}`);
  }
  return out;
}

function checkGroups(op: string, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: expected groups to be a positive integer, got ${groups}`);
}

function checkDTypes(op: string, input: Tensor, weight: Tensor, bias: Tensor | null): void {
  for (const [what, t] of [
    ['input', input],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && t.dtype !== 'float32') throw new DTypeError(`${op}: expected a float32 ${what}, got ${t.dtype}`);
  }
}

/** Checks the input's rank and returns it batched (unsqueezed when it had no batch dim). */
function batched(op: string, input: Tensor, nd: number): { x: Tensor; unbatched: boolean } {
  if (input.rank === nd + 1) return { x: input.unsqueeze(0), unbatched: true };
  if (input.rank === nd + 2) return { x: input, unbatched: false };
  throw new ShapeError(
    `${op}: expected ${nd + 1}D (unbatched) or ${nd + 2}D (batched) input, but got input of size ${formatShape(input.shape)}`,
  );
}

function checkBias(op: string, bias: Tensor | null, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(`${op}: expected bias of shape [${channels}] (one per output channel), got ${formatShape(bias.shape)}`);
  }
}

/** Every kernel offset, row-major over the kernel dims. */
function kernelOffsets(kernel: readonly number[]): number[][] {
  let offsets: number[][] = [[]];
  for (const k of kernel) {
    const next: number[][] = [];
    for (const o of offsets) for (let i = 0; i < k; i++) next.push([...o, i]);
    offsets = next;
  }
  return offsets;
}

/**
 * The convolution proper, on a batched, already padded input: x `[N, C, *S]`, weight
 * `[O, C/groups, *k]`. With `flip`, the kernel is used spatially reversed (for the transposed
 * convolution). Returns `[N, O, *out]` (no bias).
 */
function convCore(op: string, x: Tensor, weight: Tensor, stride: number[], dilation: number[], groups: number, flip: boolean): Tensor {
  const nd = stride.length;
  const [n, c] = x.shape;
  const spatial = x.shape.slice(2);
  const kernel = weight.shape.slice(2);
  const outShape = spatial.map((s, i) => Math.floor((s - dilation[i] * (kernel[i] - 1) - 1) / stride[i]) + 1);
  if (outShape.some((o) => o < 1)) {
    const eff = kernel.map((k, i) => dilation[i] * (k - 1) + 1);
    throw new ShapeError(
      `${op}: calculated padded input size per channel: (${spatial.join(' x ')}). Kernel size (dilated): (${eff.join(' x ')}). Kernel size can't be greater than actual input size`,
    );
  }
  let offsets = kernelOffsets(kernel);
  if (flip) offsets = offsets.reverse();
  // One strided view per kernel offset: element j of dim i is x[start + j * stride].
  const cols = offsets.map((off) => {
    let v = x;
    for (let i = 0; i < nd; i++) {
      const start = off[i] * dilation[i];
      v = v.slice(2 + i, start, start + (outShape[i] - 1) * stride[i] + 1, stride[i]);
    }
    return v;
  });
  const kSize = offsets.length;
  const l = outShape.reduce((a, b) => a * b, 1);
  const o = weight.shape[0];
  const cg = c / groups;
  // [N, C, K, *out] → [N, G, Cg*K, L]; weight [O, Cg, *k] → [G, O/G, Cg*K].
  const columns = stack(cols, 2).reshape([n, groups, cg * kSize, l]);
  const w = weight.reshape([groups, o / groups, cg * kSize]);
  return w.matmul(columns).reshape([n, o, ...outShape]);
}

function addBias(y: Tensor, bias: Tensor | null, nd: number): Tensor {
  return bias ? y.add(bias.reshape([bias.shape[0], ...new Array<number>(nd).fill(1)])) : y;
}

/**
 * N-d convolution (`torch.nn.functional.conv{nd}d` for any `nd >= 1`), the implementation
 * behind {@link conv1d}, {@link conv2d} and {@link conv3d}. Differentiable with respect to
 * input, weight and bias.
 * @param nd the number of spatial dims
 * @param input `[N, C_in, *S]` or unbatched `[C_in, *S]` (float32)
 * @param weight `[C_out, C_in / groups, *k]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding, dilation, groups
 * @returns `[N, C_out, *out]` (`[C_out, *out]` for an unbatched input), with
 *   `out = floor((S + padLeft + padRight − dilation·(k−1) − 1) / stride) + 1`
 */
export function convNd(nd: number, input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  const op = `conv${nd}d`;
  const b = bias ?? null;
  checkDTypes(op, input, weight, b);
  const groups = options.groups ?? 1;
  checkGroups(op, groups);
  const stride = convTuple(op, 'stride', options.stride ?? 1, nd, 1);
  const dilation = convTuple(op, 'dilation', options.dilation ?? 1, nd, 1);
  if (weight.rank !== nd + 2) {
    throw new ShapeError(
      `${op}: expected a ${nd + 2}D weight [out_channels, in_channels / groups, ${'k, '.repeat(nd).slice(0, -2)}], got ${formatShape(weight.shape)}`,
    );
  }
  const kernel = weight.shape.slice(2);
  const padSpec = options.padding ?? 0;
  let padLR: [number, number][];
  if (padSpec === 'valid') padLR = kernel.map(() => [0, 0]);
  else if (padSpec === 'same') {
    if (stride.some((s) => s !== 1))
      throw new GhostFlowError(`${op}: padding='same' is not supported for strided convolutions, got stride ${formatShape(stride)}`);
    padLR = kernel.map((k, i) => {
      const total = dilation[i] * (k - 1);
      const left = Math.floor(total / 2);
      return [left, total - left];
    });
  } else if (typeof padSpec === 'string') {
    throw new ShapeError(`${op}: invalid padding string '${padSpec}', expected 'valid' or 'same'`);
  } else padLR = convTuple(op, 'padding', padSpec, nd, 0).map((p) => [p, p]);

  const o = weight.shape[0];
  if (o % groups !== 0) {
    throw new ShapeError(`${op}: weight ${formatShape(weight.shape)} has ${o} output channels, which is not divisible by groups=${groups}`);
  }
  checkBias(op, b, o);
  return tidy(() => {
    const { x, unbatched } = batched(op, input, nd);
    const c = x.shape[1];
    if (weight.shape[1] * groups !== c) {
      throw new ShapeError(
        `${op}: given groups=${groups}, weight of size ${formatShape(weight.shape)}, expected input ${formatShape(input.shape)} to have ${weight.shape[1] * groups} channels, but got ${c} channels instead`,
      );
    }
    // core pad takes pairs from the last dim backwards.
    const amounts = [...padLR].reverse().flat();
    const xp = amounts.some((p) => p !== 0) ? pad(x, amounts) : x;
    const y = addBias(convCore(op, xp, weight, stride, dilation, groups, false), b, nd);
    return unbatched ? y.squeeze(0) : y;
  });
}

/**
 * 1-d convolution (`torch.nn.functional.conv1d`).
 * @param input `[N, C_in, L]` or `[C_in, L]`
 * @param weight `[C_out, C_in / groups, k]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding (ints, `'valid'`, `'same'`), dilation, groups
 */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return convNd(1, input, weight, bias, options);
}

/**
 * 2-d convolution (`torch.nn.functional.conv2d`).
 * @param input `[N, C_in, H, W]` or `[C_in, H, W]`
 * @param weight `[C_out, C_in / groups, kH, kW]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding (ints, `'valid'`, `'same'`), dilation, groups
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return convNd(2, input, weight, bias, options);
}

/**
 * 3-d convolution (`torch.nn.functional.conv3d`).
 * @param input `[N, C_in, D, H, W]` or `[C_in, D, H, W]`
 * @param weight `[C_out, C_in / groups, kD, kH, kW]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding (ints, `'valid'`, `'same'`), dilation, groups
 */
export function conv3d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return convNd(3, input, weight, bias, options);
}

/**
 * The output size of a transposed convolution per spatial dim:
 * `(S − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1`.
 * @param inputSize the input's spatial sizes
 * @param kernel the kernel's spatial sizes
 * @param stride per-dim stride
 * @param padding per-dim padding
 * @param outputPadding per-dim output padding
 * @param dilation per-dim dilation
 */
export function convTransposeOutputSize(
  inputSize: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  padding: readonly number[],
  outputPadding: readonly number[],
  dilation: readonly number[],
): number[] {
  return inputSize.map((s, i) => (s - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1);
}

/**
 * N-d transposed convolution (`torch.nn.functional.conv_transpose{nd}d`, the gradient of
 * `conv{nd}d` with respect to its input), behind {@link convTranspose1d},
 * {@link convTranspose2d} and {@link convTranspose3d}. Differentiable with respect to input,
 * weight and bias.
 * @param nd the number of spatial dims
 * @param input `[N, C_in, *S]` or unbatched `[C_in, *S]` (float32)
 * @param weight `[C_in, C_out / groups, *k]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding, outputPadding, dilation, groups
 * @returns `[N, C_out, *out]` (`[C_out, *out]` unbatched), sizes from {@link convTransposeOutputSize}
 */
export function convTransposeNd(
  nd: number,
  input: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTransposeOptions = {},
): Tensor {
  const op = `conv_transpose${nd}d`;
  const b = bias ?? null;
  checkDTypes(op, input, weight, b);
  const groups = options.groups ?? 1;
  checkGroups(op, groups);
  const stride = convTuple(op, 'stride', options.stride ?? 1, nd, 1);
  const padding = convTuple(op, 'padding', options.padding ?? 0, nd, 0);
  const outputPadding = convTuple(op, 'outputPadding', options.outputPadding ?? 0, nd, 0);
  const dilation = convTuple(op, 'dilation', options.dilation ?? 1, nd, 1);
  if (outputPadding.some((p, i) => p >= stride[i] && p >= dilation[i])) {
    throw new ShapeError(
      `${op}: output padding must be smaller than either stride or dilation, got outputPadding ${formatShape(outputPadding)}, stride ${formatShape(stride)}, dilation ${formatShape(dilation)}`,
    );
  }
  if (weight.rank !== nd + 2) {
    throw new ShapeError(
      `${op}: expected a ${nd + 2}D weight [in_channels, out_channels / groups, ${'k, '.repeat(nd).slice(0, -2)}], got ${formatShape(weight.shape)}`,
    );
  }
  const cin = weight.shape[0];
  if (cin % groups !== 0) {
    throw new ShapeError(
      `${op}: weight ${formatShape(weight.shape)} has ${cin} input channels, which is not divisible by groups=${groups}`,
    );
  }
  const og = weight.shape[1];
  const kernel = weight.shape.slice(2);
  checkBias(op, b, og * groups);
  return tidy(() => {
    const { x, unbatched } = batched(op, input, nd);
    if (x.shape[1] !== cin) {
      throw new ShapeError(
        `${op}: given groups=${groups}, weight of size ${formatShape(weight.shape)}, expected input ${formatShape(input.shape)} to have ${cin} channels, but got ${x.shape[1]} channels instead`,
      );
    }
    const spatial = x.shape.slice(2);
    const out = convTransposeOutputSize(spatial, kernel, stride, padding, outputPadding, dilation);
    if (out.some((s) => s < 1)) {
      throw new ShapeError(
        `${op}: the output size ${formatShape(out)} for input ${formatShape(input.shape)} is too small (padding ${formatShape(padding)})`,
      );
    }
    // Zero insertion: [.., S, ..] → [.., S, 1, ..] padded to [.., S, stride, ..] → [.., S·stride, ..]
    // (stride − 1 zeros after each element; the trailing ones are cropped by the padding below).
    let up = x;
    for (let i = 0; i < nd; i++) {
      const s = stride[i];
      if (s === 1) continue;
      const d = 2 + i;
      const amounts = new Array<number>(2 * (up.rank - d - 1)).fill(0);
      amounts.push(0, s - 1);
      const shape = [...up.shape];
      shape[d] *= s;
      up = pad(up.unsqueeze(d + 1), amounts).reshape(shape);
    }
    // Pad (or crop, when negative) to `dilation·(k−1) − padding` on the left and that plus
    // outputPadding on the right of the zero-inserted length (S − 1)·stride + 1.
    const amounts: number[] = [];
    for (let i = nd - 1; i >= 0; i--) {
      const edge = dilation[i] * (kernel[i] - 1) - padding[i];
      amounts.push(edge, edge + outputPadding[i] - (stride[i] - 1));
    }
    const xp = amounts.some((p) => p !== 0) ? pad(up, amounts) : up;
    // [C_in, O/G, *k] → [G, C_in/G, O/G, *k] → [G, O/G, C_in/G, *k] → [O, C_in/G, *k], used flipped.
    const w = weight
      .reshape([groups, cin / groups, og, ...kernel])
      .transpose(1, 2)
      .reshape([groups * og, cin / groups, ...kernel]);
    const y = addBias(convCore(op, xp, w, new Array<number>(nd).fill(1), dilation, groups, true), b, nd);
    return unbatched ? y.squeeze(0) : y;
  });
}

/**
 * 1-d transposed convolution (`torch.nn.functional.conv_transpose1d`).
 * @param input `[N, C_in, L]` or `[C_in, L]`
 * @param weight `[C_in, C_out / groups, k]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding, outputPadding, dilation, groups
 */
export function convTranspose1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd(1, input, weight, bias, options);
}

/**
 * 2-d transposed convolution (`torch.nn.functional.conv_transpose2d`).
 * @param input `[N, C_in, H, W]` or `[C_in, H, W]`
 * @param weight `[C_in, C_out / groups, kH, kW]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding, outputPadding, dilation, groups
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd(2, input, weight, bias, options);
}

/**
 * 3-d transposed convolution (`torch.nn.functional.conv_transpose3d`).
 * @param input `[N, C_in, D, H, W]` or `[C_in, D, H, W]`
 * @param weight `[C_in, C_out / groups, kD, kH, kW]`
 * @param bias `[C_out]`, or null/undefined
 * @param options stride, padding, outputPadding, dilation, groups
 */
export function convTranspose3d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd(3, input, weight, bias, options);
}
