/** Convolution layers (torch.nn.Conv1d/2d/3d, ConvTranspose1d/2d/3d). */
import { type Tensor, GhostFlowError, ShapeError, formatShape } from '@ghostflow/core';
import { type ConvPadding, type ConvSize, convNd, convTransposeNd, convTransposeOutputSize, convTuple } from '../functional/conv.js';
import { fanInOut, kaimingUniform, uniform } from '../init.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';

/** How a convolution layer pads; only `'zeros'` is implemented. */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

/** Options shared by every convolution layer. */
export interface ConvLayerBaseOptions {
  /** Step of the kernel per spatial dim (default 1). */
  stride?: ConvSize;
  /** Spacing between kernel elements per spatial dim (default 1). */
  dilation?: ConvSize;
  /** Number of blocked connections from input to output channels (default 1); must divide both channel counts. */
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Padding mode; only `'zeros'` (the default) is supported, others throw. */
  paddingMode?: ConvPaddingMode;
  /** Backend for the parameters (default the active one). */
  device?: string;
}

/** Options of {@link Conv1d}, {@link Conv2d}, {@link Conv3d}. */
export interface ConvLayerOptions extends ConvLayerBaseOptions {
  /** Zero padding on both sides per spatial dim (default 0), `'valid'` or `'same'` (stride 1 only). */
  padding?: ConvPadding;
}

/** Options of {@link ConvTranspose1d}, {@link ConvTranspose2d}, {@link ConvTranspose3d}. */
export interface ConvTransposeLayerOptions extends ConvLayerBaseOptions {
  /** `dilation·(k−1) − padding` zeros are added on both sides of the input (default 0). */
  padding?: ConvSize;
  /** Extra size added to the end of each output dim (default 0); smaller than stride or dilation. */
  outputPadding?: ConvSize;
}

const tuple = (v: readonly number[]) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;

/**
 * Base of the convolution layers: validates the configuration and creates `weight`
 * (`[out, in/groups, *k]`, or `[in, out/groups, *k]` when transposed) and `bias` (`[out]`)
 * initialised as PyTorch's `_ConvNd.reset_parameters`: kaiming-uniform with `a = sqrt(5)` and
 * bias U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn = `weight.shape[1] · prod(k)` (for a transposed
 * layer that is `out/groups · prod(k)`, PyTorch's convention).
 */
export abstract class ConvNdBase extends Module {
  /** Number of spatial dims. */
  readonly nd: number;
  /** Channels of the input. */
  readonly inChannels: number;
  /** Channels of the output. */
  readonly outChannels: number;
  /** Kernel size per spatial dim. */
  readonly kernelSize: readonly number[];
  /** Stride per spatial dim. */
  readonly stride: readonly number[];
  /** Dilation per spatial dim. */
  readonly dilation: readonly number[];
  /** Number of groups. */
  readonly groups: number;
  /** Always `'zeros'`. */
  readonly paddingMode: 'zeros';
  /** `[out, in/groups, *k]`, or `[in, out/groups, *k]` for transposed layers. */
  weight: Parameter;
  /** `[outChannels]`, or null with `bias: false`. */
  bias: Parameter | null;

  /**
   * @param nd number of spatial dims
   * @param transposed whether the weight has the transposed layout
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int for every dim, or a tuple)
   * @param options stride, dilation, groups, bias, paddingMode, device
   */
  protected constructor(
    nd: number,
    transposed: boolean,
    inChannels: number,
    outChannels: number,
    kernelSize: ConvSize,
    options: ConvLayerBaseOptions,
  ) {
    super();
    const name = `${transposed ? 'ConvTranspose' : 'Conv'}${nd}d`;
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${name}: groups must be a positive integer, got ${groups}`);
    for (const [what, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ShapeError(`${name}: ${what} must be a positive integer, got ${v}`);
      if (v % groups !== 0) throw new ShapeError(`${name}: ${what} (${v}) must be divisible by groups (${groups})`);
    }
    const mode = options.paddingMode ?? 'zeros';
    if (mode !== 'zeros') {
      throw new GhostFlowError(`${name}: paddingMode '${String(mode)}' is not supported; only 'zeros' is implemented`);
    }
    this.nd = nd;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = convTuple(name, 'kernelSize', kernelSize, nd, 1);
    this.stride = convTuple(name, 'stride', options.stride ?? 1, nd, 1);
    this.dilation = convTuple(name, 'dilation', options.dilation ?? 1, nd, 1);
    this.groups = groups;
    this.paddingMode = 'zeros';
    const shape = transposed
      ? [inChannels, outChannels / groups, ...this.kernelSize]
      : [outChannels, inChannels / groups, ...this.kernelSize];
    const device = options.device;
    this.weight = this.registerParameter('weight', kaimingUniform(shape, Math.sqrt(5), { device }));
    if (options.bias ?? true) {
      const { fanIn } = fanInOut(shape);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      this.bias = this.registerParameter('bias', uniform([outChannels], -bound, bound, { device }));
    } else {
      this.bias = this.registerParameter('bias', null);
    }
  }

  /** The configuration in PyTorch's order. */
  protected reprParts(): string[] {
    const parts = [`${this.inChannels}`, `${this.outChannels}`, `kernelSize=${tuple(this.kernelSize)}`, `stride=${tuple(this.stride)}`];
    return parts;
  }

  /** Dilation, groups, bias (only where not the default). */
  protected reprTail(): string[] {
    const parts: string[] = [];
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${tuple(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push('bias=false');
    return parts;
  }
}

/** Base of {@link Conv1d}, {@link Conv2d}, {@link Conv3d}: an N-d convolution over `[N, C_in, *S]` (or unbatched `[C_in, *S]`). */
export class ConvNd extends ConvNdBase {
  /** Per-dim padding, or `'valid'` / `'same'`. */
  readonly padding: readonly number[] | 'valid' | 'same';

  /**
   * @param nd number of spatial dims
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int for every dim, or a tuple)
   * @param options stride, padding, dilation, groups, bias, paddingMode, device
   */
  constructor(nd: number, inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvLayerOptions = {}) {
    super(nd, false, inChannels, outChannels, kernelSize, options);
    const p = options.padding ?? 0;
    const name = `Conv${nd}d`;
    if (p === 'same' || p === 'valid') {
      if (p === 'same' && this.stride.some((s) => s !== 1)) {
        throw new GhostFlowError(
          `${name}: padding='same' is not supported for strided convolutions, got stride ${formatShape(this.stride)}`,
        );
      }
      this.padding = p;
    } else if (typeof p === 'string') {
      throw new ShapeError(`${name}: invalid padding string '${String(p)}', expected 'valid' or 'same'`);
    } else this.padding = convTuple(name, 'padding', p, nd, 0);
  }

  /** `input` `[N, C_in, *S]` or `[C_in, *S]` → `[N, C_out, *out]` or `[C_out, *out]`. */
  forward(input: Tensor): Tensor {
    return convNd(this.nd, input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  /** `in, out, kernelSize=.., stride=..[, padding=..][, dilation=..][, groups=..][, bias=false]`. */
  override extraRepr(): string {
    const parts = this.reprParts();
    const p = this.padding;
    if (typeof p === 'string') parts.push(`padding=${p}`);
    else if (p.some((v) => v !== 0)) parts.push(`padding=${tuple(p)}`);
    return [...parts, ...this.reprTail()].join(', ');
  }
}

/** 1-d convolution layer (torch.nn.Conv1d); `weight` `[out, in/groups, k]`, `bias` `[out]`. */
export class Conv1d extends ConvNd {
  /**
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size
   * @param options stride, padding, dilation, groups, bias, paddingMode, device
   */
  constructor(inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/** 2-d convolution layer (torch.nn.Conv2d); `weight` `[out, in/groups, kH, kW]`, `bias` `[out]`. */
export class Conv2d extends ConvNd {
  /**
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int or `[kH, kW]`)
   * @param options stride, padding, dilation, groups, bias, paddingMode, device
   */
  constructor(inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** 3-d convolution layer (torch.nn.Conv3d); `weight` `[out, in/groups, kD, kH, kW]`, `bias` `[out]`. */
export class Conv3d extends ConvNd {
  /**
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int or `[kD, kH, kW]`)
   * @param options stride, padding, dilation, groups, bias, paddingMode, device
   */
  constructor(inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

/** Base of the transposed convolution layers: an N-d transposed convolution over `[N, C_in, *S]` (or unbatched `[C_in, *S]`). */
export class ConvTransposeNd extends ConvNdBase {
  /** Per-dim padding. */
  readonly padding: readonly number[];
  /** Per-dim output padding. */
  readonly outputPadding: readonly number[];

  /**
   * @param nd number of spatial dims
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int for every dim, or a tuple)
   * @param options stride, padding, outputPadding, dilation, groups, bias, paddingMode, device
   */
  constructor(nd: number, inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvTransposeLayerOptions = {}) {
    super(nd, true, inChannels, outChannels, kernelSize, options);
    const name = `ConvTranspose${nd}d`;
    this.padding = convTuple(name, 'padding', options.padding ?? 0, nd, 0);
    this.outputPadding = convTuple(name, 'outputPadding', options.outputPadding ?? 0, nd, 0);
    if (this.outputPadding.some((p, i) => p >= this.stride[i] && p >= this.dilation[i])) {
      throw new ShapeError(
        `${name}: outputPadding ${formatShape(this.outputPadding)} must be smaller than either stride ${formatShape(this.stride)} or dilation ${formatShape(this.dilation)}`,
      );
    }
  }

  /**
   * `input` `[N, C_in, *S]` or `[C_in, *S]` → `[N, C_out, *out]` or `[C_out, *out]`.
   * @param input the input
   * @param outputSize optional target spatial size (the last `nd` entries are used, as PyTorch's
   *   `output_size`); picks the output padding, and must lie within `[min, min + max(stride, dilation) − 1]`
   */
  forward(input: Tensor, outputSize?: readonly number[]): Tensor {
    const outputPadding = outputSize ? this.outputPaddingFor(input, outputSize) : this.outputPadding;
    return convTransposeNd(this.nd, input, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  private outputPaddingFor(input: Tensor, outputSize: readonly number[]): number[] {
    const name = `ConvTranspose${this.nd}d`;
    const nd = this.nd;
    if (outputSize.length !== nd && outputSize.length !== nd + 1 && outputSize.length !== nd + 2) {
      throw new ShapeError(`${name}: outputSize must have ${nd} (or ${nd + 2}) elements, got ${formatShape(outputSize)}`);
    }
    if (input.rank !== nd + 1 && input.rank !== nd + 2) {
      throw new ShapeError(
        `${name}: expected ${nd + 1}D (unbatched) or ${nd + 2}D (batched) input, but got input of size ${formatShape(input.shape)}`,
      );
    }
    const want = outputSize.slice(outputSize.length - nd);
    const zeros = new Array<number>(nd).fill(0);
    const min = convTransposeOutputSize(
      input.shape.slice(input.rank - nd),
      this.kernelSize,
      this.stride,
      this.padding,
      zeros,
      this.dilation,
    );
    return want.map((w, i) => {
      const max = min[i] + Math.max(this.stride[i], this.dilation[i]) - 1;
      if (w < min[i] || w > max) {
        throw new ShapeError(
          `${name}: requested an output size of ${formatShape(want)}, but valid sizes range from ${formatShape(min)} to ${formatShape(min.map((m, j) => m + Math.max(this.stride[j], this.dilation[j]) - 1))} (for an input of ${formatShape(input.shape)})`,
        );
      }
      return w - min[i];
    });
  }

  /** `in, out, kernelSize=.., stride=..[, padding=..][, outputPadding=..][, dilation=..][, groups=..][, bias=false]`. */
  override extraRepr(): string {
    const parts = this.reprParts();
    if (this.padding.some((v) => v !== 0)) parts.push(`padding=${tuple(this.padding)}`);
    if (this.outputPadding.some((v) => v !== 0)) parts.push(`outputPadding=${tuple(this.outputPadding)}`);
    return [...parts, ...this.reprTail()].join(', ');
  }
}

/** 1-d transposed convolution layer (torch.nn.ConvTranspose1d); `weight` `[in, out/groups, k]`, `bias` `[out]`. */
export class ConvTranspose1d extends ConvTransposeNd {
  /**
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size
   * @param options stride, padding, outputPadding, dilation, groups, bias, paddingMode, device
   */
  constructor(inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvTransposeLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/** 2-d transposed convolution layer (torch.nn.ConvTranspose2d); `weight` `[in, out/groups, kH, kW]`, `bias` `[out]`. */
export class ConvTranspose2d extends ConvTransposeNd {
  /**
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int or `[kH, kW]`)
   * @param options stride, padding, outputPadding, dilation, groups, bias, paddingMode, device
   */
  constructor(inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvTransposeLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** 3-d transposed convolution layer (torch.nn.ConvTranspose3d); `weight` `[in, out/groups, kD, kH, kW]`, `bias` `[out]`. */
export class ConvTranspose3d extends ConvTransposeNd {
  /**
   * @param inChannels channels of the input
   * @param outChannels channels of the output
   * @param kernelSize kernel size (one int or `[kD, kH, kW]`)
   * @param options stride, padding, outputPadding, dilation, groups, bias, paddingMode, device
   */
  constructor(inChannels: number, outChannels: number, kernelSize: ConvSize, options: ConvTransposeLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}
