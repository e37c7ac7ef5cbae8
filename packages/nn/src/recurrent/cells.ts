/**
 * Single-step recurrent cells as PyTorch's `nn.RNNCell`, `nn.LSTMCell` and `nn.GRUCell`:
 * same parameter names (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`), shapes, init and
 * gate order. The pointwise part runs through core's `lstmCellStep` / `gruCellStep`, so a
 * backend's fused cell kernel is used when it has one.
 */
import {
  type Tensor,
  GhostFlowError,
  ShapeError,
  formatShape,
  gruCellStep,
  linear,
  lstmCellStep,
  relu,
  tanh,
  tidy,
  zeros,
} from '@ghostflow/core';
import { uniform } from '../init.js';
import { Module } from '../module.js';
import { checkStatePair, checkStateTensor } from './state.js';

/** Options shared by the three cells. */
export interface RNNCellBaseOptions {
  /** Features of the input `x`. */
  inputSize: number;
  /** Features of the hidden state `h`. */
  hiddenSize: number;
  /** Use `bias_ih` and `bias_hh`. Default true. */
  bias?: boolean;
  /** Backend to create the parameters on; default the active backend. */
  device?: string;
}

/** Options of {@link RNNCell}. */
export interface RNNCellOptions extends RNNCellBaseOptions {
  /** `'tanh'` (default) or `'relu'`. */
  nonlinearity?: 'tanh' | 'relu';
}

/** Options of {@link LSTMCell}. */
export type LSTMCellOptions = RNNCellBaseOptions;

/** Options of {@link GRUCell}. */
export type GRUCellOptions = RNNCellBaseOptions;

/** `inputSize`, `hiddenSize` as positional arguments plus the remaining options, or one options object. */
type CellArgs<O extends RNNCellBaseOptions> =
  | [options: O]
  | [inputSize: number, hiddenSize: number, options?: Omit<O, 'inputSize' | 'hiddenSize'>];

function cellOptions<O extends RNNCellBaseOptions>(args: CellArgs<O>): O {
  if (typeof args[0] === 'number') {
    const [inputSize, hiddenSize, rest] = args as [number, number, Omit<O, 'inputSize' | 'hiddenSize'> | undefined];
    return { ...(rest ?? {}), inputSize, hiddenSize } as O;
  }
  return args[0];
}

/** Checks a size argument: a positive integer. */
export function checkSize(value: number, name: string, owner: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new GhostFlowError(`${owner}: ${name} must be a positive integer, got ${value}`);
}

/**
 * Base of the cells: registers `weight_ih` `[G*H, inputSize]`, `weight_hh` `[G*H, H]` and,
 * with `bias`, `bias_ih`, `bias_hh` `[G*H]` (G = 1, 4, 3 gates), all drawn from
 * U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's `reset_parameters`.
 */
export abstract class RNNCellBase extends Module {
  /** Input features. */
  readonly inputSize: number;
  /** Hidden features. */
  readonly hiddenSize: number;
  /** Whether the biases exist. */
  readonly bias: boolean;

  /**
   * @param options sizes, `bias`, `device`
   * @param numChunks gates stacked in the weights (RNN 1, LSTM 4, GRU 3)
   */
  protected constructor(options: RNNCellBaseOptions, numChunks: number) {
    super();
    const owner = new.target.name;
    checkSize(options.inputSize, 'inputSize', owner);
    checkSize(options.hiddenSize, 'hiddenSize', owner);
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.bias = options.bias ?? true;
    const H = this.hiddenSize;
    const stdv = 1 / Math.sqrt(H);
    const init = { device: options.device };
    this.registerParameter('weight_ih', uniform([numChunks * H, this.inputSize], -stdv, stdv, init));
    this.registerParameter('weight_hh', uniform([numChunks * H, H], -stdv, stdv, init));
    if (this.bias) {
      this.registerParameter('bias_ih', uniform([numChunks * H], -stdv, stdv, init));
      this.registerParameter('bias_hh', uniform([numChunks * H], -stdv, stdv, init));
    } else {
      this.registerParameter('bias_ih', null);
      this.registerParameter('bias_hh', null);
    }
  }

  /** Input-hidden weights `[G*H, inputSize]`. */
  get weight_ih(): Tensor {
    return this.getParameter('weight_ih') as Tensor;
  }
  /** Hidden-hidden weights `[G*H, H]`. */
  get weight_hh(): Tensor {
    return this.getParameter('weight_hh') as Tensor;
  }
  /** Input-hidden bias `[G*H]`, or null without `bias`. */
  get bias_ih(): Tensor | null {
    return this.getParameter('bias_ih');
  }
  /** Hidden-hidden bias `[G*H]`, or null without `bias`. */
  get bias_hh(): Tensor | null {
    return this.getParameter('bias_hh');
  }

  /** Shows the sizes, like PyTorch's repr. */
  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias ? '' : ', bias=false'}`;
  }

  /**
   * Validates `input` (`[B, inputSize]` or unbatched `[inputSize]`) and returns it batched,
   * with whether it was batched.
   */
  protected prepareInput(input: Tensor): { x: Tensor; batched: boolean } {
    const name = this.constructor.name;
    if (input.rank !== 1 && input.rank !== 2) {
      throw new ShapeError(
        `${name}: expected input to be 1-D [inputSize] or 2-D [batch, inputSize], got ${input.rank}-D input of shape ${formatShape(input.shape)}`,
      );
    }
    const features = input.shape[input.rank - 1];
    if (features !== this.inputSize) {
      throw new ShapeError(
        `${name}: input has inconsistent inputSize: expected ${this.inputSize}, got ${features} (input shape ${formatShape(input.shape)})`,
      );
    }
    const batched = input.rank === 2;
    return { x: batched ? input : input.unsqueeze(0), batched };
  }

  /**
   * Validates a state (`[B, H]`, or `[H]` for unbatched input) and returns it batched; zeros
   * when absent.
   */
  protected prepareState(state: Tensor | null | undefined, x: Tensor, batched: boolean, what: string): Tensor {
    const name = this.constructor.name;
    const B = x.shape[0];
    const H = this.hiddenSize;
    if (state === null || state === undefined) return zeros([B, H], { dtype: x.dtype, device: x.device });
    const expected = batched ? [B, H] : [H];
    if (state.rank !== expected.length || state.shape.some((d, i) => d !== expected[i])) {
      throw new ShapeError(
        `${name}: expected ${what} of shape ${formatShape(expected)} for ${batched ? 'batched' : 'unbatched'} input of shape ${formatShape(batched ? x.shape : [x.shape[1]])}, got ${formatShape(state.shape)}`,
      );
    }
    return batched ? state : state.unsqueeze(0);
  }
}

/**
 * An Elman RNN cell: `h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)` with `act` tanh or relu.
 *
 * ```ts
 * const cell = new RNNCell(10, 20);
 * const h1 = cell.forward(x);        // x [B, 10] -> [B, 20]
 * const h2 = cell.forward(x2, h1);
 * ```
 */
export class RNNCell extends RNNCellBase {
  /** `'tanh'` or `'relu'`. */
  readonly nonlinearity: 'tanh' | 'relu';

  /**
   * `new RNNCell(inputSize, hiddenSize, { bias, nonlinearity })` or `new RNNCell({ inputSize, hiddenSize, ... })`.
   */
  constructor(...args: CellArgs<RNNCellOptions>) {
    const options = cellOptions(args);
    super(options, 1);
    const nl = options.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu')
      throw new GhostFlowError(`RNNCell: unknown nonlinearity '${String(nl)}', expected 'tanh' or 'relu'`);
    this.nonlinearity = nl;
  }

  /**
   * One step.
   * @param input `[B, inputSize]` or unbatched `[inputSize]`
   * @param hx previous hidden `[B, H]` (or `[H]`); zeros when omitted
   * @returns the next hidden state, `[B, H]` (or `[H]`)
   */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    // tidy frees the zero state, the projections and the batched views: only h' survives.
    const given = checkStateTensor('RNNCell', hx, 'hx');
    return tidy(() => {
      const { x, batched } = this.prepareInput(input);
      const h = this.prepareState(given, x, batched, 'hx');
      const pre = linear(x, this.weight_ih, this.bias_ih).add(linear(h, this.weight_hh, this.bias_hh));
      const out = this.nonlinearity === 'tanh' ? tanh(pre) : relu(pre);
      return batched ? out : out.squeeze(0);
    });
  }

  /** Shows the sizes and nonlinearity. */
  override extraRepr(): string {
    return `${super.extraRepr()}${this.nonlinearity === 'tanh' ? '' : `, nonlinearity='${this.nonlinearity}'`}`;
  }
}

/**
 * A long short-term memory cell (gates i, f, g, o stacked in that order in the weights):
 * `c' = f*c + i*g`, `h' = o*tanh(c')`.
 *
 * ```ts
 * const cell = new LSTMCell(10, 20);
 * const [h, c] = cell.forward(x);    // x [B, 10] -> h, c [B, 20]
 * ```
 */
export class LSTMCell extends RNNCellBase {
  /** `new LSTMCell(inputSize, hiddenSize, { bias })` or `new LSTMCell({ inputSize, hiddenSize, ... })`. */
  constructor(...args: CellArgs<LSTMCellOptions>) {
    super(cellOptions(args), 4);
  }

  /**
   * One step.
   * @param input `[B, inputSize]` or unbatched `[inputSize]`
   * @param hx `[h, c]`, each `[B, H]` (or `[H]`); zeros when omitted
   * @returns `[h', c']`, each `[B, H]` (or `[H]`)
   */
  forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    const given = checkStatePair('LSTMCell', hx, ['h0', 'c0'], false);
    return tidy(() => {
      const { x, batched } = this.prepareInput(input);
      const h = this.prepareState(given?.[0], x, batched, 'h0');
      const c = this.prepareState(given?.[1], x, batched, 'c0');
      const [h1, c1] = lstmCellStep(linear(x, this.weight_ih, this.bias_ih), linear(h, this.weight_hh, this.bias_hh), c);
      return batched ? [h1, c1] : [h1.squeeze(0), c1.squeeze(0)];
    });
  }
}

/**
 * A gated recurrent unit cell (gates r, z, n stacked in that order in the weights):
 * `n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))`, `h' = (1 - z) * n + z * h`.
 *
 * ```ts
 * const cell = new GRUCell(10, 20);
 * const h = cell.forward(x);         // x [B, 10] -> [B, 20]
 * ```
 */
export class GRUCell extends RNNCellBase {
  /** `new GRUCell(inputSize, hiddenSize, { bias })` or `new GRUCell({ inputSize, hiddenSize, ... })`. */
  constructor(...args: CellArgs<GRUCellOptions>) {
    super(cellOptions(args), 3);
  }

  /**
   * One step.
   * @param input `[B, inputSize]` or unbatched `[inputSize]`
   * @param hx previous hidden `[B, H]` (or `[H]`); zeros when omitted
   * @returns the next hidden state, `[B, H]` (or `[H]`)
   */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    const given = checkStateTensor('GRUCell', hx, 'hx');
    return tidy(() => {
      const { x, batched } = this.prepareInput(input);
      const h = this.prepareState(given, x, batched, 'hx');
      const gi = linear(x, this.weight_ih, this.bias_ih);
      const gh = linear(h, this.weight_hh, this.bias_hh);
      const out = gruCellStep(gi, gh, h);
      return batched ? out : out.squeeze(0);
    });
  }
}
