/** Identity (torch.nn.Identity). */
import { Module } from '../module.js';

/**
 * Returns its input unchanged (torch.nn.Identity): a placeholder where a layer is optional
 * (`options.norm ? new LayerNorm(d) : new Identity()`). Constructor arguments are accepted
 * and ignored, as PyTorch does.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Identity, Linear } from '@ghostflow/nn';
 * const useProjection: boolean = false;
 * const x = randn([4, 16]);
 * const head = useProjection ? new Linear(16, 16) : new Identity();
 * head.forward(x) === x; // for Identity
 * ```
 */
export class Identity extends Module {
  /** @param _args ignored (PyTorch's Identity takes and ignores any arguments) */
  constructor(..._args: unknown[]) {
    super();
  }

  /** `input`, unchanged (the same object). */
  forward<T>(input: T): T {
    return input;
  }
}
