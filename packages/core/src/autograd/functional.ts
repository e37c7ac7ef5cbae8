/** Functional autograd: gradients as return values instead of `.grad` side effects. */
import { gradients } from './backward.js';
import { enableGrad } from './grad-mode.js';
import { detach } from '../ops/view.js';
import { zerosLike } from '../ops/creation.js';
import { AutogradError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * `grad(fn)(...inputs)` returns the gradients of the scalar `fn(...inputs)` with respect to
 * each input (like `torch.func.grad` over all arguments). Inputs are not modified; their
 * `.grad` is left alone.
 */
export function grad(fn: (...inputs: Tensor[]) => Tensor): (...inputs: Tensor[]) => Tensor[] {
  return (...inputs: Tensor[]) => valueAndGrad(fn)(...inputs).grads;
}

/** Like {@link grad}, also returning the function's value. */
export function valueAndGrad(fn: (...inputs: Tensor[]) => Tensor): (...inputs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...inputs: Tensor[]) => {
    const leaves = inputs.map((x) => {
      if (x.dtype !== 'float32') throw new AutogradError(`grad(): inputs must be float32, got ${x.dtype}`);
      return detach(x).requiresGrad_(true);
    });
    const value = enableGrad(() => fn(...leaves));
    if (!(value instanceof Tensor) || value.size !== 1) {
      throw new AutogradError('grad(): the function must return a one-element tensor');
    }
    const grads = gradients(value, leaves, null, { allowUnused: true }).map((g, i) => g ?? zerosLike(leaves[i]));
    const out = detach(value);
    value.dispose();
    for (const l of leaves) l.dispose();
    return { value: out, grads };
  };
}
