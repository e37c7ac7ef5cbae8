/**
 * Gradient checkpointing (torch.utils.checkpoint.checkpoint, PyTorch 1.13's default
 * reentrant form): run a segment without keeping its intermediates, recompute them in the
 * backward pass.
 */
import {
  GhostFlowError,
  Tensor,
  backward,
  enableGrad,
  getRngState,
  isGradEnabled,
  noGrad,
  recordOp,
  setRngState,
  tidy,
} from '@ghostflow/core';

let warnedNoGrad = false;

/**
 * Runs `fn(...args)` without recording its graph, so none of its intermediate tensors stay
 * alive after it returns; the backward pass runs `fn` again (with grad on, from the saved
 * inputs, with the global generator rewound so dropout draws the same masks) and
 * backpropagates through that. Gradients equal an ordinary run's; memory drops from every
 * intermediate of `fn` to its inputs and outputs, at the price of a second forward.
 *
 * As in PyTorch 1.13 (reentrant checkpoint):
 * - the parameters `fn` uses get their gradients accumulated into `.grad` during the
 *   backward pass, so use `backward()` / `loss.backward()`, not `grad()` / `gradients()`,
 *   through a checkpointed segment;
 * - at least one tensor argument must require grad (feed the first segment an input with
 *   `requiresGrad`, or checkpoint from the second block on). When none does, GhostFlow runs
 *   `fn` normally (correct gradients, no saving) and warns once, where PyTorch would leave
 *   the parameters without gradients;
 * - `fn` must be deterministic apart from the global generator (dropout, `rand`), and must
 *   not depend on state that changes between forward and backward (e.g. `training`).
 * Under `noGrad` it just calls `fn`.
 *
 * @example
 * ```ts
 * import { randint, type Tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Embedding, Linear, checkpoint, crossEntropy } from '@ghostflow/nn';
 * const embed = new Embedding(100, 16);
 * const blocks = [new Linear(16, 16), new Linear(16, 16)];
 * const head = new Linear(16, 100);
 * const tokens = randint(0, 100, [8]);
 * const targets = randint(0, 100, [8]);
 * let h = embed.forward(tokens);
 * for (const block of blocks) h = checkpoint((x: Tensor) => block.forward(x), h);
 * crossEntropy(head.forward(h), targets).backward();
 * ```
 */
export function checkpoint<A extends unknown[], R extends Tensor | readonly Tensor[]>(fn: (...args: A) => R, ...args: A): R {
  if (typeof fn !== 'function') throw new GhostFlowError(`checkpoint expects a function first, got ${typeof fn}`);
  if (!isGradEnabled()) return fn(...args);
  const tensorAt = args.flatMap((a, i) => (a instanceof Tensor ? [i] : []));
  const tensors = tensorAt.map((i) => args[i] as Tensor);
  if (!tensors.some((t) => t.requiresGrad)) {
    if (!warnedNoGrad) {
      warnedNoGrad = true;
      console.warn(
        'checkpoint: no tensor argument requires grad, so the segment runs without checkpointing (its graph is kept); give it an input with requiresGrad = true to save memory',
      );
    }
    return fn(...args);
  }
  const requires = tensors.map((t) => t.requiresGrad);
  const rng = getRngState();
  // tidy frees fn's intermediates now; noGrad keeps them out of any graph.
  const result = tidy(() => noGrad(() => fn(...args)));
  const outputs: readonly unknown[] = Array.isArray(result) ? result : [result];
  outputs.forEach((o, i) => {
    if (!(o instanceof Tensor)) {
      throw new GhostFlowError(
        `checkpoint: fn must return a Tensor or an array of Tensors; output ${i} is ${o === null ? 'null' : typeof o}`,
      );
    }
  });
  recordOp({
    name: 'Checkpoint',
    inputs: tensors,
    outputs: outputs as Tensor[],
    save: tensors,
    backward: (grads, saved) => {
      const leaves = saved.map((v, i) => {
        if (requires[i]) v.requiresGrad = true;
        return v;
      });
      const replay = [...args] as A;
      tensorAt.forEach((argIndex, k) => {
        replay[argIndex] = leaves[k];
      });
      const now = getRngState();
      setRngState(rng);
      let again: R;
      try {
        again = enableGrad(() => fn(...replay));
      } finally {
        setRngState(now);
      }
      const outs: readonly Tensor[] = Array.isArray(again) ? again : [again as Tensor];
      if (outs.length !== grads.length) {
        throw new GhostFlowError(`checkpoint: fn returned ${grads.length} outputs in the forward pass but ${outs.length} when recomputed`);
      }
      const pairs = outs.map((o, i) => [o, grads[i]] as const).filter(([o]) => o.requiresGrad);
      if (pairs.length > 0) {
        backward(
          pairs.map(([o]) => o),
          pairs.map(([, g]) => g),
        );
      }
      // The leaves are this rule's temporaries (freed with their .grad): hand out copies.
      return leaves.map((v, i) => (requires[i] && v.grad ? v.grad.clone() : null));
    },
  });
  return result;
}
