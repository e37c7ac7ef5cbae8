/**
 * The reverse-mode engine: walks the recorded graph from the outputs back to the leaves,
 * running each node's gradient rule once all gradients flowing into it have arrived.
 */
import { AutogradError } from '../errors.js';
import { keep, tidy, trackInScope } from '../memory/scope.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { withGradMode } from './grad-mode.js';
import type { GradEdge, GradNode } from './node.js';
import { edgeOf } from './record.js';

/** Options for {@link backward}. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again. Default false. */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients. Default false. */
  createGraph?: boolean;
}

/** Hooks the engine uses for arithmetic, provided by the op library (avoids an import cycle). */
export interface EngineOps {
  /** `a + b`. */
  add(a: Tensor, b: Tensor): Tensor;
  /** A tensor of ones like `t`. */
  onesLike(t: Tensor): Tensor;
  /** Float32 zeros of `shape` on `like`'s backend. */
  zerosOf(like: Tensor, shape: readonly number[]): Tensor;
  /** A copy of `t` that shares nothing with it. */
  clone(t: Tensor): Tensor;
  /** A view of `t` (shares its data, recorded in the graph when grad mode is on). */
  alias(t: Tensor): Tensor;
}

let ops: EngineOps | undefined;

/** @internal installed by the op library at load time. */
export function installEngineOps(o: EngineOps): void {
  ops = o;
}

function engineOps(): EngineOps {
  if (!ops) throw new AutogradError('internal: the op library was not loaded');
  return ops;
}

type AnyNode = GradNode;

/**
 * Accumulates into the leaves (and `retainGrad` tensors) the gradients of `outputs`
 * with respect to them, weighted by `grads` (ones for scalar outputs).
 */
export function backward(
  outputs: Tensor | readonly Tensor[],
  grads?: Tensor | null | readonly (Tensor | null)[],
  options: BackwardOptions = {},
): void {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const gs =
    grads === undefined || grads === null
      ? outs.map(() => null)
      : Array.isArray(grads)
        ? (grads as readonly (Tensor | null)[])
        : [grads as Tensor];
  if (gs.length !== outs.length) throw new AutogradError(`backward got ${outs.length} outputs but ${gs.length} gradients`);
  run(outs, gs, null, options);
}

/**
 * Gradients of `outputs` with respect to `inputs`, returned instead of accumulated into
 * `.grad` (like `torch.autograd.grad`). An input the outputs do not depend on gets null
 * unless `allowUnused` is false (the default), which throws.
 */
export function gradients(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  grads?: Tensor | null | readonly (Tensor | null)[],
  options: BackwardOptions & { allowUnused?: boolean } = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const gs =
    grads === undefined || grads === null
      ? outs.map(() => null)
      : Array.isArray(grads)
        ? (grads as readonly (Tensor | null)[])
        : [grads as Tensor];
  const captured = run(outs, gs, inputs, options);
  // Results belong to the caller's tidy scope, like any op output.
  for (const g of captured) if (g) trackInScope(g);
  return inputs.map((t, i) => {
    const g = captured[i];
    if (!g && !options.allowUnused) {
      throw new AutogradError(
        `input ${i} (shape ${formatShape(t.shape)}) was not used to compute the outputs; pass { allowUnused: true } to get null for it`,
      );
    }
    return g;
  });
}

function run(
  outs: readonly Tensor[],
  seeds: readonly (Tensor | null)[],
  captureInputs: readonly Tensor[] | null,
  options: BackwardOptions,
): (Tensor | null)[] {
  const o = engineOps();
  const captured: (Tensor | null)[] = captureInputs ? captureInputs.map(() => null) : [];
  const captureEdges = captureInputs?.map((t, i) => {
    t.assertAlive();
    if (!t.requiresGrad) throw new AutogradError(`input ${i} (shape ${formatShape(t.shape)}) does not require grad`);
    return edgeOf(t) as GradEdge;
  });
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;

  withGradMode(createGraph, () => {
    // Gradients waiting at each node's outputs; the engine owns every tensor in here.
    const buffers = new Map<AnyNode, (Tensor | null)[]>();
    const accumulate = (node: AnyNode, index: number, g: Tensor) => {
      let slots = buffers.get(node);
      if (!slots) {
        slots = node.outputs.map(() => null);
        buffers.set(node, slots);
      }
      const prev = slots[index];
      if (prev) {
        const sum = keep(o.add(prev, g));
        prev.dispose();
        g.dispose();
        slots[index] = sum;
      } else slots[index] = keep(g);
    };

    const roots: AnyNode[] = [];
    try {
      outs.forEach((out, i) => {
        out.assertAlive();
        if (!out.requiresGrad) {
          throw new AutogradError(
            `output ${i} does not require grad and has no gradFn: nothing to differentiate (was it computed under noGrad, or detached?)`,
          );
        }
        const given = seeds[i];
        if (!given && out.size !== 1) {
          throw new AutogradError(
            `grad can be implicitly created only for scalar outputs; output ${i} has shape ${formatShape(out.shape)}, pass a gradient of that shape`,
          );
        }
        if (given && !shapesEqual(given.shape, out.shape)) {
          throw new AutogradError(`gradient of shape ${formatShape(given.shape)} given for output ${i} of shape ${formatShape(out.shape)}`);
        }
        const seed = given ? o.clone(given) : o.onesLike(out);
        const edge = edgeOf(out) as GradEdge;
        accumulate(edge.node as AnyNode, edge.index, seed);
        roots.push(edge.node as AnyNode);
      });

      // How many edges from reachable nodes point at each node: a node runs when all arrived.
      const pending = new Map<AnyNode, number>();
      const seen = new Set<AnyNode>(roots);
      const stack = [...seen];
      while (stack.length > 0) {
        const n = stack.pop() as AnyNode;
        for (const e of n.next) {
          if (!e) continue;
          const child = e.node as AnyNode;
          pending.set(child, (pending.get(child) ?? 0) + 1);
          if (!seen.has(child)) {
            seen.add(child);
            stack.push(child);
          }
        }
      }

      const ready = [...new Set(roots)].filter((r) => !pending.get(r));
      while (ready.length > 0) {
        const node = ready.pop() as AnyNode;
        const slots = buffers.get(node) ?? node.outputs.map(() => null);
        buffers.delete(node);
        const keepSlots = new Set<Tensor>();
        // Out of the map, the slots are this iteration's to free, also when the rule throws.
        try {
          captureEdges?.forEach((e, i) => {
            const g = e.node === node ? slots[e.index] : null;
            if (g) {
              captured[i] = g;
              keepSlots.add(g);
            }
          });
          node.retainedOutputs.forEach((ref, i) => {
            const t = ref.deref() as Tensor | undefined;
            const g = slots[i];
            if (t && g && !t.isDisposed) t.grad = t.grad ? keep(o.add(t.grad, g)) : keep(o.clone(g));
          });

          if (node.accumulateInto && !captureInputs) {
            const leaf = node.accumulateInto;
            const g = slots[0];
            if (g && !leaf.isDisposed) {
              keepSlots.add(g);
              if (leaf.grad) {
                const sum = keep(o.add(leaf.grad, g));
                g.dispose();
                leaf.grad = sum;
              } else leaf.grad = g;
              leaf.runPostAccumulateGradHooks();
            }
          } else if (node.rule && slots.some((g) => g)) {
            const saved = node.savedViews();
            const like = slots.find((g) => g) as Tensor;
            const inGrads = tidy(() => {
              const outGrads = slots.map((g, i) => g ?? o.zerosOf(like, node.outputs[i].shape));
              return (node.rule?.(outGrads, saved) ?? []).map((g) => g ?? null);
            });
            if (!retainGraph) node.freeSaved();
            const handed = new Set<Tensor>();
            try {
              node.next.forEach((e, i) => {
                const g = inGrads[i];
                if (!g) return;
                if (!e) {
                  g.dispose();
                  return;
                }
                const expected = e.node.outputs[e.index].shape;
                if (!shapesEqual(g.shape, expected)) {
                  throw new AutogradError(
                    `internal: gradient rule of '${node.name}' returned shape ${formatShape(g.shape)} for input ${i}, expected ${formatShape(expected)}`,
                  );
                }
                // A rule may hand the same tensor to several inputs, or pass an incoming gradient
                // straight through (identity-like ops). Each receiver must own what it gets, so
                // repeats become aliases: views sharing the data, freed independently.
                const owned = slots.includes(g) || handed.has(g) ? keep(o.alias(g)) : g;
                handed.add(owned);
                accumulate(e.node as AnyNode, e.index, owned);
              });
            } catch (err) {
              // Gradients not yet handed to a receiver (which owns them now) are still ours.
              for (const g of inGrads) if (g && !handed.has(g) && !slots.includes(g)) g.dispose();
              throw err;
            }
          }
        } finally {
          for (const g of slots) if (g && !keepSlots.has(g)) g.dispose();
        }

        for (const e of node.next) {
          if (!e) continue;
          const child = e.node as AnyNode;
          const left = (pending.get(child) ?? 1) - 1;
          pending.set(child, left);
          if (left === 0) ready.push(child);
        }
      }
    } catch (err) {
      // gradients() never returns what it captured when the pass fails.
      for (const g of captured) g?.dispose();
      throw err;
    } finally {
      for (const slots of buffers.values()) for (const g of slots) g?.dispose();
    }
  });
  return captured;
}
