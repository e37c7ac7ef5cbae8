/**
 * The recorded autograd graph. Each differentiable op that touched a tensor requiring grad
 * leaves a {@link GradNode} holding its gradient rule and the tensors it saved. Nodes are
 * reference counted (by the tensors that came out of them and by the nodes downstream), so
 * disposing the outputs of a forward pass that never ran backward frees the saved tensors.
 */
import type { DType } from '../dtype.js';
import { AutogradError } from '../errors.js';
import type { Shape } from '../shape.js';
import type { Storage } from '../tensor/storage.js';
import type { Tensor } from '../tensor/tensor.js';

/** Everything needed to rebuild a saved tensor as a view for the backward pass. */
export interface SavedView {
  /** Retained storage (released when the node is freed). */
  storage: Storage;
  /** Shape of the saved view. */
  shape: Shape;
  /** Strides of the saved view. */
  strides: readonly number[];
  /** Offset of the saved view. */
  offset: number;
  /** Dtype of the saved view. */
  dtype: DType;
  /**
   * Where the saved tensor came from in the graph (retained until the node is freed), so a
   * backward pass that records a graph (`createGraph`) can differentiate through it again.
   * Null for tensors that need no grad and for the op's own outputs (see `outputIndex`).
   */
  producer: GradEdge | null;
  /** When the saved tensor is output `outputIndex` of the node saving it. */
  outputIndex: number;
  /** `storage.version` when it was saved: an in-place write since then makes it unusable. */
  version: number;
  /** The producing op's name when saved (for the in-place error message); null for leaves. */
  producerName: string | null;
}

/** Where a gradient flows next: the node (and its output slot) that produced an input. */
export interface GradEdge {
  /** The producer. */
  node: GradNode;
  /** Which output of the producer. */
  index: number;
}

/** Shape and dtype of a node output, used to make zero grads for unused outputs. */
export interface OutputMeta {
  /** Output shape. */
  shape: Shape;
  /** Output dtype. */
  dtype: DType;
}

/**
 * One recorded operation. `rule` maps the gradients of the outputs to gradients of the
 * inputs; it receives the saved tensors as retained views.
 */
export class GradNode {
  private refs = 0;
  private released = false;
  /** Set once the saved tensors were freed after a backward without `retainGraph`. */
  freedByBackward = false;
  /** Output tensors that asked to keep their gradient (`retainGrad()`), by output index. */
  readonly retainedOutputs = new Map<number, WeakRef<object>>();

  /**
   * @param name the op's name, for error messages
   * @param next one edge per differentiable input (null where the input needs no grad)
   * @param outputs meta of every output
   * @param saved tensors the rule needs, retained
   * @param rule the gradient rule
   * @param accumulateInto for leaf accumulators: the leaf tensor
   */
  constructor(
    readonly name: string,
    readonly next: readonly (GradEdge | null)[],
    readonly outputs: readonly OutputMeta[],
    private saved: SavedView[],
    readonly rule: ((grads: Tensor[], saved: SavedView[]) => (Tensor | null | undefined)[]) | null,
    readonly accumulateInto: Tensor | null = null,
  ) {
    for (const e of next) e?.node.retain();
    this.savesTensors = saved.length > 0;
  }

  /**
   * Whether the rule needs saved tensors. A node that saved none (a view such as a weight's
   * transpose cached across steps) can be backpropagated through again after a backward
   * freed the graph, as in PyTorch.
   */
  private readonly savesTensors: boolean;

  /**
   * Tensors saved for the rule; throws when they were freed by an earlier backward, or when
   * an in-place op wrote into one of them after it was saved (PyTorch's version check).
   */
  savedViews(): SavedView[] {
    if ((this.freedByBackward && this.savesTensors) || this.released) {
      throw new AutogradError(
        `trying to backward through '${this.name}' a second time (or after its saved tensors were freed). Pass { retainGraph: true } to the first backward() if you need to backward twice`,
      );
    }
    for (const s of this.saved) {
      if (s.storage.version !== s.version) {
        const which = s.producerName === null ? '' : `, which is output ${s.producer?.index ?? s.outputIndex} of '${s.producerName}',`;
        throw new AutogradError(
          `one of the variables needed for gradient computation has been modified by an inplace operation: [${s.dtype} [${s.shape.join(', ')}]]${which} is at version ${s.storage.version}; expected version ${s.version} instead. '${this.name}' saved it for its backward pass; clone() it before the in-place op, or do the in-place op after backward()`,
        );
      }
    }
    return this.saved;
  }

  /** Frees the saved tensors after a backward pass (the graph can no longer be replayed). */
  freeSaved(): void {
    if (this.freedByBackward) return;
    this.freedByBackward = true;
    for (const s of this.saved) {
      s.storage.release();
      s.producer?.node.release();
    }
    this.saved = [];
  }

  /** Adds a holder (an output tensor or a downstream node). */
  retain(): void {
    this.refs++;
  }

  /** Drops a holder; when none is left, frees saved tensors and lets go of upstream nodes. */
  release(): void {
    if (this.refs <= 0) return;
    this.refs--;
    if (this.refs > 0 || this.released) return;
    this.released = true;
    this.freeSaved();
    for (const e of this.next) e?.node.release();
  }
}
