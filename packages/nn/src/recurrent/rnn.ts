/**
 * Multi-layer recurrent networks as PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU`: every option
 * (stacking, bias, batchFirst, inter-layer dropout, bidirectional, LSTM projections), the
 * exact parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, `weight_hr_l0`, ...), state
 * shapes and layer/direction order, unbatched input and {@link PackedSequence} input.
 *
 * Execution: each layer is one core `recurrentLayer` op (both directions): the input
 * projection of the whole sequence is ONE `linear` per direction over all rows, then the time
 * loop runs in one fused kernel on backends that have it (cpu), else per step `h @ W_hh^T`
 * plus the pointwise cell. In inference a backend with the fused `recurrentLayer` kernel runs
 * the whole layer in one call, writing the output straight into its final layout
 * (batch-first when the input is, both directions side by side). Packed input stays packed:
 * each step computes only the sequences still running (PyTorch's shrinking batch), no
 * padding and no masks.
 */
import { type Tensor, GhostFlowError, ShapeError, bernoulli, cat, formatShape, indexSelect, recurrentLayer, tidy } from '@ghostflow/core';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import { checkSize } from './cells.js';
import { PackedSequence } from './packing.js';
import { checkStatePair, checkStateTensor } from './state.js';

/** Options shared by RNN, LSTM and GRU (PyTorch's constructor arguments, camelCase). */
export interface RNNBaseOptions {
  /** Features of the input. */
  inputSize: number;
  /** Features of the hidden state. */
  hiddenSize: number;
  /** Stacked layers; layer k > 0 takes layer k-1's output. Default 1. */
  numLayers?: number;
  /** Use `bias_ih_l*` and `bias_hh_l*`. Default true. */
  bias?: boolean;
  /** Input and output are `[B, T, *]` instead of `[T, B, *]` (states keep `[L*D, B, H]`). Default false. */
  batchFirst?: boolean;
  /** Dropout probability on each layer's output except the last, in training mode only. Default 0. */
  dropout?: number;
  /** Also run each layer backwards over the sequence (parameters suffixed `_reverse`). Default false. */
  bidirectional?: boolean;
  /** Backend to create the parameters on; default the active backend. */
  device?: string;
}

/** Options of {@link RNN}. */
export interface RNNOptions extends RNNBaseOptions {
  /** `'tanh'` (default) or `'relu'`. */
  nonlinearity?: 'tanh' | 'relu';
}

/** Options of {@link LSTM}. */
export interface LSTMOptions extends RNNBaseOptions {
  /** When > 0, project each hidden state to this size with `weight_hr_l*` (0 < projSize < hiddenSize). Default 0. */
  projSize?: number;
}

/** Options of {@link GRU}. */
export type GRUOptions = RNNBaseOptions;

/** The recurrence a network runs. */
export type RNNMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

type NetArgs<O extends RNNBaseOptions> =
  | [options: O]
  | [inputSize: number, hiddenSize: number, options?: Omit<O, 'inputSize' | 'hiddenSize'>];

function netOptions<O extends RNNBaseOptions>(args: NetArgs<O>): O {
  if (typeof args[0] === 'number') {
    const [inputSize, hiddenSize, rest] = args as [number, number, Omit<O, 'inputSize' | 'hiddenSize'> | undefined];
    return { ...(rest ?? {}), inputSize, hiddenSize } as O;
  }
  return args[0];
}

/** One layer-direction's parameters. */
interface LayerWeights {
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
  wHr: Tensor | null;
}

/** Frees temporaries (never parameters, inputs or anything returned). */
function drop(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

/**
 * The shared machinery of {@link RNN}, {@link LSTM} and {@link GRU}. Parameters are
 * registered per layer k and direction in PyTorch's order: `weight_ih_l{k}`,
 * `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, `weight_hr_l{k}` (LSTM with projSize), then
 * the same with `_reverse` when bidirectional. All are drawn from U(-1/sqrt(H), 1/sqrt(H)).
 */
export abstract class RNNBase extends Module {
  /** The recurrence. */
  readonly mode: RNNMode;
  /** Input features. */
  readonly inputSize: number;
  /** Hidden (cell) features. */
  readonly hiddenSize: number;
  /** Stacked layers. */
  readonly numLayers: number;
  /** Whether the biases exist. */
  readonly bias: boolean;
  /** `[B, T, *]` input/output layout. */
  readonly batchFirst: boolean;
  /** Inter-layer dropout probability. */
  readonly dropout: number;
  /** Whether each layer also runs backwards. */
  readonly bidirectional: boolean;
  /** LSTM projection size (0 = none). */
  readonly projSize: number;

  /**
   * @param mode the recurrence
   * @param options PyTorch's constructor arguments (camelCase)
   * @param projSize LSTM projection size (0 for none)
   */
  protected constructor(mode: RNNMode, options: RNNBaseOptions, projSize = 0) {
    super();
    const owner = new.target.name;
    checkSize(options.inputSize, 'inputSize', owner);
    checkSize(options.hiddenSize, 'hiddenSize', owner);
    const numLayers = options.numLayers ?? 1;
    checkSize(numLayers, 'numLayers', owner);
    const dropout = options.dropout ?? 0;
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout <= 1)) {
      throw new GhostFlowError(
        `${owner}: dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${dropout}`,
      );
    }
    if (!Number.isInteger(projSize) || projSize < 0)
      throw new GhostFlowError(`${owner}: projSize should be a non-negative integer, got ${projSize}`);
    if (projSize >= options.hiddenSize)
      throw new GhostFlowError(
        `${owner}: projSize has to be smaller than hiddenSize, got projSize=${projSize} and hiddenSize=${options.hiddenSize}`,
      );
    this.mode = mode;
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.numLayers = numLayers;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = dropout;
    this.bidirectional = options.bidirectional ?? false;
    this.projSize = projSize;

    const H = this.hiddenSize;
    const gates = mode === 'LSTM' ? 4 * H : mode === 'GRU' ? 3 * H : H;
    const realHidden = projSize > 0 ? projSize : H;
    const D = this.numDirections;
    const stdv = 1 / Math.sqrt(H);
    const init = { device: options.device };
    for (let layer = 0; layer < numLayers; layer++) {
      const layerInput = layer === 0 ? this.inputSize : realHidden * D;
      for (let dir = 0; dir < D; dir++) {
        const sfx = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
        this.registerParameter(`weight_ih${sfx}`, uniform([gates, layerInput], -stdv, stdv, init));
        this.registerParameter(`weight_hh${sfx}`, uniform([gates, realHidden], -stdv, stdv, init));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, uniform([gates], -stdv, stdv, init));
          this.registerParameter(`bias_hh${sfx}`, uniform([gates], -stdv, stdv, init));
        }
        if (projSize > 0) this.registerParameter(`weight_hr${sfx}`, uniform([projSize, H], -stdv, stdv, init));
      }
    }
  }

  /** 2 when bidirectional, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Size of `h` (and of each direction's output): projSize when set, else hiddenSize. */
  get outputHiddenSize(): number {
    return this.projSize > 0 ? this.projSize : this.hiddenSize;
  }

  /** Parameter names per layer-direction (layer-major, forward before reverse), as PyTorch's `_all_weights`. */
  get allWeightNames(): string[][] {
    const out: string[][] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < this.numDirections; dir++) {
        const sfx = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
        const names = [`weight_ih${sfx}`, `weight_hh${sfx}`];
        if (this.bias) names.push(`bias_ih${sfx}`, `bias_hh${sfx}`);
        if (this.projSize > 0) names.push(`weight_hr${sfx}`);
        out.push(names);
      }
    }
    return out;
  }

  /** Parameter tensors per layer-direction, as PyTorch's `all_weights`. */
  get allWeights(): Tensor[][] {
    return this.allWeightNames.map((names) => names.map((n) => this.getParameter(n) as Tensor));
  }

  private weightsOf(layer: number, dir: number): LayerWeights {
    const sfx = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
    const get = (n: string): Tensor | null => (this.bias || !n.startsWith('bias') ? this.getParameter(n) : null);
    return {
      wIh: get(`weight_ih${sfx}`) as Tensor,
      wHh: get(`weight_hh${sfx}`) as Tensor,
      bIh: get(`bias_ih${sfx}`),
      bHh: get(`bias_hh${sfx}`),
      wHr: this.projSize > 0 ? get(`weight_hr${sfx}`) : null,
    };
  }

  /** Shows the options that differ from PyTorch's defaults, like its repr. */
  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.projSize > 0) parts.push(`projSize=${this.projSize}`);
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (!this.bias) parts.push('bias=false');
    if (this.batchFirst) parts.push('batchFirst=true');
    if (this.dropout !== 0) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push('bidirectional=true');
    return parts.join(', ');
  }

  /**
   * Runs the network. `states` are the initial states as given (`[h0]` or `[h0, c0]`, null
   * entries mean zeros); returns the output and the final states in the input's form.
   */
  protected runNetwork(
    input: Tensor | PackedSequence,
    states: readonly (Tensor | null | undefined)[],
  ): { output: Tensor | PackedSequence; finals: Tensor[] } {
    // Every temporary (zero states, views, per-step tensors, masks) is freed here; only the
    // output (a tensor or a PackedSequence, which declares its tensors) and the finals survive.
    return tidy(() => this.runNetworkUntidied(input, states));
  }

  private runNetworkUntidied(
    input: Tensor | PackedSequence,
    states: readonly (Tensor | null | undefined)[],
  ): { output: Tensor | PackedSequence; finals: Tensor[] } {
    const name = this.constructor.name;
    const isLSTM = this.mode === 'LSTM';
    const L = this.numLayers;
    const D = this.numDirections;
    const Hout = this.outputHiddenSize;
    const packed = input instanceof PackedSequence ? input : null;

    // The sequence as recurrentLayer takes it: packed rows [N, inputSize] with their batch
    // sizes, or a padded [T, B, inputSize] (batch-first [B, T, inputSize]) tensor.
    let x: Tensor;
    let unbatched = false;
    let batchSizes: readonly number[] | undefined;
    let B: number;
    let batchFirst = false;
    if (packed) {
      const data = packed.data;
      if (data.rank !== 2)
        throw new ShapeError(`${name}: packed input data must be 2-D [sum(lengths), inputSize], got shape ${formatShape(data.shape)}`);
      if (data.shape[1] !== this.inputSize)
        throw new ShapeError(
          `${name}: input.size(-1) must be equal to inputSize: expected ${this.inputSize}, got ${data.shape[1]} (packed data shape ${formatShape(data.shape)})`,
        );
      x = data;
      batchSizes = packed.batchSizesArray;
      B = batchSizes[0];
    } else {
      const seq = input as Tensor;
      if (seq.rank !== 2 && seq.rank !== 3) {
        throw new ShapeError(
          `${name}: expected input to be 2-D [T, inputSize] (unbatched) or 3-D ${this.batchFirst ? '[B, T, inputSize]' : '[T, B, inputSize]'}, got ${seq.rank}-D input of shape ${formatShape(seq.shape)}`,
        );
      }
      if (seq.shape[seq.rank - 1] !== this.inputSize) {
        throw new ShapeError(
          `${name}: input.size(-1) must be equal to inputSize: expected ${this.inputSize}, got ${seq.shape[seq.rank - 1]} (input shape ${formatShape(seq.shape)})`,
        );
      }
      unbatched = seq.rank === 2;
      batchFirst = !unbatched && this.batchFirst;
      x = unbatched ? seq.unsqueeze(1) : seq;
      const T = x.shape[batchFirst ? 1 : 0];
      B = x.shape[batchFirst ? 0 : 1];
      if (T === 0)
        throw new ShapeError(
          `${name}: expected a sequence of at least one time step, got input of shape ${formatShape(batchFirst ? [T, B, this.inputSize] : x.shape)} (time-major)`,
        );
    }

    // Initial states: [L*D, B, size] each, validated, permuted into sorted order for packed input.
    const sizes = isLSTM ? [Hout, this.hiddenSize] : [Hout];
    const names = isLSTM ? ['h0', 'c0'] : ['hx'];
    const init = sizes.map((size, k) => {
      const given = states[k];
      if (given === null || given === undefined) return null;
      const expected = unbatched ? [L * D, size] : [L * D, B, size];
      if (given.rank !== expected.length || given.shape.some((d, i) => d !== expected[i])) {
        const hint = unbatched ? ' (for unbatched 2-D input the state must be 2-D too)' : '';
        throw new ShapeError(`${name}: expected ${names[k]} of shape ${formatShape(expected)}, got ${formatShape(given.shape)}${hint}`);
      }
      let s = unbatched ? given.unsqueeze(1) : given;
      if (packed?.sortedIndices) s = indexSelect(s, 1, packed.sortedIndices);
      return s;
    });

    const finals: Tensor[][] = sizes.map(() => []);
    let layerInput = x;
    for (let layer = 0; layer < L; layer++) {
      // The whole layer, both directions, in one op: in inference a backend may run it as one
      // kernel writing the output in place (batch-first, both directions side by side).
      const weights = Array.from({ length: D }, (_, dir) => this.weightsOf(layer, dir));
      const r = recurrentLayer(
        layerInput,
        weights,
        { h0: init[0]?.narrow(0, layer * D, D) ?? null, c0: isLSTM ? (init[1]?.narrow(0, layer * D, D) ?? null) : null },
        { mode: this.mode, batchSizes, batchFirst },
      );
      finals[0].push(r.h);
      if (r.c) finals[1].push(r.c);
      let layerOutput = r.output;
      if (this.training && this.dropout > 0 && layer < L - 1) {
        const dropped = dropoutBetweenLayers(layerOutput, this.dropout);
        drop(layerOutput);
        layerOutput = dropped;
      }
      if (layerInput !== x) drop(layerInput);
      layerInput = layerOutput;
    }

    // [D, B, *] per layer: one layer's states are the result; more are joined along dim 0.
    let finalStates = finals.map((list) => (list.length === 1 ? list[0] : cat(list, 0)));
    finals.forEach((list) => {
      if (list.length > 1) drop(...list);
    });
    let output: Tensor | PackedSequence;
    if (packed) {
      output = packed.withData(layerInput);
      if (packed.unsortedIndices) {
        const unsortedIdx = packed.unsortedIndices;
        finalStates = finalStates.map((s) => indexSelect(s, 1, unsortedIdx));
      }
    } else if (unbatched) {
      output = layerInput.squeeze(1);
      finalStates = finalStates.map((s) => s.squeeze(1));
    } else {
      output = layerInput;
    }
    return { output, finals: finalStates };
  }
}

/** Inverted dropout of the whole `x` with probability `p` (scales kept elements by 1/(1-p)). */
function dropoutBetweenLayers(x: Tensor, p: number): Tensor {
  if (p >= 1) return x.mul(0);
  const keepMask = bernoulli(1 - p, x.shape, { device: x.device });
  const scaled = keepMask.mul(1 / (1 - p));
  drop(keepMask);
  const out = x.mul(scaled);
  drop(scaled);
  return out;
}

/**
 * A multi-layer Elman RNN: `h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`,
 * act tanh (default) or relu.
 *
 * ```ts
 * const rnn = new RNN(10, 20, { numLayers: 2 });
 * const [output, hN] = rnn.forward(x);   // x [T, B, 10] -> output [T, B, 20], hN [2, B, 20]
 * ```
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { RNN } from '@ghostflow/nn';
 * const rnn = new RNN(10, 20, { numLayers: 2, nonlinearity: 'relu' });
 * const x = randn([5, 3, 10]); // [time, batch, features] (batchFirst: false)
 * const [out, hN] = rnn.forward(x); // out [5, 3, 20]; hN [2, 3, 20]
 * ```
 */
export class RNN extends RNNBase {
  /** `'tanh'` or `'relu'`. */
  readonly nonlinearity: 'tanh' | 'relu';

  /** `new RNN(inputSize, hiddenSize, { numLayers, nonlinearity, bias, batchFirst, dropout, bidirectional })` or `new RNN({ inputSize, hiddenSize, ... })`. */
  constructor(...args: NetArgs<RNNOptions>) {
    const options = netOptions(args);
    const nl = options.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new GhostFlowError(`RNN: unknown nonlinearity '${String(nl)}', expected 'tanh' or 'relu'`);
    super(nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', options);
    this.nonlinearity = nl;
  }

  /**
   * Runs the network over a sequence.
   * @param input `[T, B, inputSize]` (`[B, T, inputSize]` with batchFirst), unbatched
   *   `[T, inputSize]`, or a {@link PackedSequence}
   * @param hx initial hidden state `[numLayers*numDirections, B, H]` (`[L*D, H]` unbatched;
   *   for packed input, in the original batch order); zeros when omitted
   * @returns `[output, hN]`: output `[T, B, D*H]` (batchFirst `[B, T, D*H]`, unbatched
   *   `[T, D*H]`, or packed like the input, zero past each length), hN `[L*D, B, H]` ordered
   *   layer-major, forward before reverse, each at its sequence's own last step
   */
  forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const { output, finals } = this.runNetwork(input, [checkStateTensor('RNN', hx, 'hx')]);
    return [output, finals[0]];
  }

  /** Shows the options, with the nonlinearity when not tanh. */
  override extraRepr(): string {
    return `${super.extraRepr()}${this.nonlinearity === 'tanh' ? '' : `, nonlinearity='${this.nonlinearity}'`}`;
  }
}

/**
 * A multi-layer long short-term memory network (gates i, f, g, o), optionally with
 * projections (`projSize`: `h_t = W_hr (o_t * tanh(c_t))`).
 *
 * ```ts
 * const lstm = new LSTM(10, 20, { numLayers: 2, batchFirst: true });
 * const [output, [hN, cN]] = lstm.forward(x);   // x [B, T, 10] -> output [B, T, 20]
 * ```
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { LSTM, packPaddedSequence } from '@ghostflow/nn';
 * const lstm = new LSTM(10, 20, { numLayers: 2, batchFirst: true });
 * const x = randn([3, 5, 10]); // [batch, time, features]
 * const [out, [hN, cN]] = lstm.forward(x); // out [3, 5, 20]; hN and cN [2, 3, 20]
 * // Variable lengths: pack, and hN holds each sequence's own last step.
 * const packed = packPaddedSequence(x, [5, 3, 2], { batchFirst: true });
 * const [, [hLast]] = lstm.forward(packed);
 * console.log(out.shape, hN.shape, cN.shape, hLast.shape);
 * ```
 */
export class LSTM extends RNNBase {
  /** `new LSTM(inputSize, hiddenSize, { numLayers, bias, batchFirst, dropout, bidirectional, projSize })` or `new LSTM({ inputSize, hiddenSize, ... })`. */
  constructor(...args: NetArgs<LSTMOptions>) {
    const options = netOptions(args);
    super('LSTM', options, options.projSize ?? 0);
  }

  /**
   * Runs the network over a sequence.
   * @param input `[T, B, inputSize]` (`[B, T, inputSize]` with batchFirst), unbatched
   *   `[T, inputSize]`, or a {@link PackedSequence}
   * @param hx `[h0, c0]`: h0 `[L*D, B, Hout]` (Hout = projSize or hiddenSize), c0
   *   `[L*D, B, H]` (without the batch dim for unbatched input; for packed input, in the
   *   original batch order); zeros when omitted (either may be null)
   * @returns `[output, [hN, cN]]`: output `[T, B, D*Hout]` (batchFirst `[B, T, D*Hout]`,
   *   unbatched `[T, D*Hout]`, or packed like the input, zero past each length), hN
   *   `[L*D, B, Hout]`, cN `[L*D, B, H]`, layer-major, forward before reverse
   */
  forward(input: Tensor, hx?: readonly [Tensor | null, Tensor | null] | null): [Tensor, [Tensor, Tensor]];
  forward(input: PackedSequence, hx?: readonly [Tensor | null, Tensor | null] | null): [PackedSequence, [Tensor, Tensor]];
  forward(input: Tensor | PackedSequence, hx?: readonly [Tensor | null, Tensor | null] | null): [Tensor | PackedSequence, [Tensor, Tensor]];
  forward(
    input: Tensor | PackedSequence,
    hx?: readonly [Tensor | null, Tensor | null] | null,
  ): [Tensor | PackedSequence, [Tensor, Tensor]] {
    const pair = checkStatePair('LSTM', hx, ['h0', 'c0'], true);
    const { output, finals } = this.runNetwork(input, [pair?.[0], pair?.[1]]);
    return [output, [finals[0], finals[1]]];
  }
}

/**
 * A multi-layer gated recurrent unit network (gates r, z, n):
 * `n_t = tanh(x W_in^T + b_in + r_t * (h W_hn^T + b_hn))`, `h_t = (1 - z_t) * n_t + z_t * h_{t-1}`.
 *
 * ```ts
 * const gru = new GRU(10, 20, { bidirectional: true });
 * const [output, hN] = gru.forward(x);   // x [T, B, 10] -> output [T, B, 40], hN [2, B, 20]
 * ```
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { GRU } from '@ghostflow/nn';
 * const gru = new GRU(8, 16, { bidirectional: true });
 * const x = randn([7, 4, 8]); // [time, batch, features]
 * const [out, hN] = gru.forward(x); // out [7, 4, 32] (both directions); hN [2, 4, 16]
 * ```
 */
export class GRU extends RNNBase {
  /** `new GRU(inputSize, hiddenSize, { numLayers, bias, batchFirst, dropout, bidirectional })` or `new GRU({ inputSize, hiddenSize, ... })`. */
  constructor(...args: NetArgs<GRUOptions>) {
    super('GRU', netOptions(args));
  }

  /**
   * Runs the network over a sequence.
   * @param input `[T, B, inputSize]` (`[B, T, inputSize]` with batchFirst), unbatched
   *   `[T, inputSize]`, or a {@link PackedSequence}
   * @param hx initial hidden state `[numLayers*numDirections, B, H]` (`[L*D, H]` unbatched;
   *   for packed input, in the original batch order); zeros when omitted
   * @returns `[output, hN]` with the shapes of {@link RNN.forward}
   */
  forward(input: Tensor, hx?: Tensor | null): [Tensor, Tensor];
  forward(input: PackedSequence, hx?: Tensor | null): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: Tensor | null): [Tensor | PackedSequence, Tensor] {
    const { output, finals } = this.runNetwork(input, [checkStateTensor('GRU', hx, 'hx')]);
    return [output, finals[0]];
  }
}
