/**
 * How ops join the autograd graph. An op computes its outputs with kernels, then calls
 * {@link recordOp} with its gradient rule; the rule is written with core's public ops, so
 * every backend that runs the forward kernels also gets the backward pass.
 */
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from './grad-mode.js';
import { type GradEdge, GradNode, type OutputMeta, type SavedView } from './node.js';

/** A gradient rule: output grads and saved tensors in, one grad (or null) per input out. */
export type GradRule = (grads: Tensor[], saved: Tensor[]) => (Tensor | null | undefined)[];

/** What an op tells the recorder. */
export interface OpRecord {
  /** Op name, shown by `tensor.gradFn` and in errors. */
  name: string;
  /** The inputs the rule returns gradients for, in order. */
  inputs: readonly Tensor[];
  /** The op's outputs (only floating ones join the graph). */
  outputs: readonly Tensor[];
  /** Tensors (inputs or outputs) the rule needs; they stay alive until the graph is freed. */
  save?: readonly Tensor[];
  /** The gradient rule. */
  backward: GradRule;
}

const leafAccumulators = new WeakMap<Tensor, GradNode>();

let refreshStaleView: ((view: Tensor) => void) | null = null;

/**
 * @internal installs how a view whose base was modified in place gets its history rebuilt
 * (ops/inplace.ts owns that logic; this module cannot import the op library).
 */
export function setStaleViewRefresher(fn: (view: Tensor) => void): void {
  refreshStaleView = fn;
}

/** The edge a gradient for `t` flows along, or null when `t` needs none. */
export function edgeOf(t: Tensor): GradEdge | null {
  if (refreshStaleView && t.hasStaleViewHistory) refreshStaleView(t);
  const { node, index } = t.autograd;
  if (node) return { node, index };
  if (!t.requiresGrad) return null;
  let acc = leafAccumulators.get(t);
  if (!acc) {
    acc = new GradNode('AccumulateGrad', [], [{ shape: t.shape, dtype: t.dtype }], [], null, t);
    leafAccumulators.set(t, acc);
  }
  return { node: acc, index: 0 };
}

/** Whether an op on these inputs would be recorded. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return isGradEnabled() && inputs.some((t) => t.requiresGrad);
}

function saveView(t: Tensor, outputs: readonly Tensor[], opName: string): SavedView {
  const storage = t.storage;
  storage.retain();
  const outputIndex = outputs.indexOf(t);
  // An op's own output will point at this node; retaining that edge would be a cycle.
  const producer = outputIndex < 0 ? edgeOf(t) : null;
  producer?.node.retain();
  const producerName = outputIndex >= 0 ? opName : producer && !producer.node.accumulateInto ? producer.node.name : null;
  return {
    storage,
    shape: t.shape,
    strides: t.strides,
    offset: t.offset,
    dtype: t.dtype,
    producer,
    outputIndex,
    version: storage.version,
    producerName,
  };
}

/**
 * A saved tensor as the gradient rule sees it: a view of the retained data. When the
 * backward pass is itself recorded (`createGraph`), the view is put back in its place in the
 * graph, so second derivatives see how the saved value depends on the inputs, even after
 * the original tensor object was disposed.
 */
function restore(v: SavedView, self: GradNode): Tensor {
  const leaf = v.producer?.node.accumulateInto;
  if (isGradEnabled() && leaf && !leaf.isDisposed && leaf.storage === v.storage) return leaf;
  v.storage.retain();
  const view = new Tensor(v.storage, v.shape, v.strides, v.offset);
  if (isGradEnabled() && v.dtype === 'float32') {
    if (v.outputIndex >= 0) view.setGradFn(self, v.outputIndex);
    else if (v.producer && !v.producer.node.accumulateInto) view.setGradFn(v.producer.node, v.producer.index);
  }
  return view;
}

/**
 * Makes the node in a scope of its own. The node is part of every output's GC-net held value
 * (tensor/lifetime.ts), and a held value that reaches its own tensor keeps it alive forever;
 * a closure made in `recordOp` would share recordOp's scope, which holds `op` and so
 * `op.outputs`. Here the rule can reach only the op's gradient rule, the node and its meta.
 */
function makeNode(name: string, next: (GradEdge | null)[], outputs: OutputMeta[], saved: SavedView[], rule: GradRule): GradNode {
  const node: GradNode = new GradNode(name, next, outputs, saved, (grads, views) =>
    rule(
      grads,
      views.map((v) => restore(v, node)),
    ),
  );
  return node;
}

/** Records an op in the graph when grad mode is on and some input requires grad. */
export function recordOp(op: OpRecord): void {
  // Plain loops: this runs for every op, and most calls (noGrad, inference) return here.
  if (!isGradEnabled()) return;
  const { inputs, outputs } = op;
  let grad = false;
  for (let i = 0; i < inputs.length && !grad; i++) grad = inputs[i].requiresGrad;
  if (!grad) return;
  let floating = false;
  for (let i = 0; i < outputs.length && !floating; i++) floating = outputs[i].dtype === 'float32';
  if (!floating) return;
  const next: (GradEdge | null)[] = new Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) next[i] = edgeOf(inputs[i]);
  const toSave = op.save ?? [];
  const saved: SavedView[] = new Array(toSave.length);
  for (let i = 0; i < toSave.length; i++) saved[i] = saveView(toSave[i], outputs, op.name);
  const meta: OutputMeta[] = new Array(outputs.length);
  for (let i = 0; i < outputs.length; i++) meta[i] = { shape: outputs[i].shape, dtype: outputs[i].dtype };
  const node = makeNode(op.name, next, meta, saved, op.backward);
  for (let i = 0; i < outputs.length; i++) if (outputs[i].dtype === 'float32') outputs[i].setGradFn(node, i);
}
