/**
 * `Parameter` (torch.nn.Parameter): the mark that tells a Module a tensor assigned to one of
 * its fields is a trainable parameter, not a plain attribute. GhostFlow marks the tensor
 * itself (no copy), so `new Parameter(t) === t`; the type is a branded Tensor, which lets
 * TypeScript refuse `linear.weight = someTensor` where PyTorch refuses it at run time.
 */
import { GhostFlowError, Tensor, keep } from '@ghostflow/core';

declare const parameterBrand: unique symbol;

/** A tensor marked as a module parameter (see {@link Parameter}'s constructor). */
export type Parameter = Tensor & { readonly [parameterBrand]: true };

const marked = new WeakSet<Tensor>();

/** Whether `value` is a tensor marked as a parameter (by `Parameter` or `registerParameter`). */
export function isParameter(value: unknown): value is Parameter {
  return value instanceof Tensor && marked.has(value);
}

/**
 * @internal marks `t` (a leaf) as a parameter; `requiresGrad` is set only when given, so
 * re-registering a frozen parameter (tying) keeps it frozen.
 */
export function markParameter(t: Tensor, requiresGrad?: boolean): Parameter {
  if (!(t instanceof Tensor)) {
    throw new GhostFlowError(`Parameter expects a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
  t.assertAlive();
  if (!t.isLeaf) throw new GhostFlowError(`a parameter must be a leaf tensor, got one computed by ${t.gradFn}; detach() it first`);
  keep(t);
  if (requiresGrad !== undefined) t.requiresGrad = requiresGrad;
  marked.add(t);
  return t as Parameter;
}

/** The `Parameter` constructor's type (callable with or without `new`, like `nn.Parameter`). */
export interface ParameterConstructor {
  /**
   * Marks `data` as a parameter and returns it (the same object). `requiresGrad` defaults
   * to true, as in PyTorch.
   */
  new (data: Tensor, requiresGrad?: boolean): Parameter;
  /** Same as `new Parameter(data, requiresGrad)`. */
  (data: Tensor, requiresGrad?: boolean): Parameter;
  /** `t instanceof Parameter`: whether `t` is a tensor marked as a parameter. */
  [Symbol.hasInstance](value: unknown): value is Parameter;
}

/**
 * torch.nn.Parameter. Assigning one to a Module field registers it under the field's name;
 * the tensor also outlives `tidy` scopes (it is `keep`-ed) and requires grad.
 *
 * @example
 * ```ts
 * import { ones, type Tensor } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { Module, Parameter } from '@ghostflow/nn';
 * class Scale extends Module {
 *   gain = new Parameter(ones([4]));          // registered as 'gain'
 *   forward(x: Tensor) { return x.mul(this.gain); }
 * }
 * const s = new Scale();
 * s.parameters().length; // 1
 * ```
 */
export const Parameter: ParameterConstructor = Object.defineProperty(
  function Parameter(data: Tensor, requiresGrad = true): Parameter {
    return markParameter(data, requiresGrad);
  },
  Symbol.hasInstance,
  { value: isParameter },
) as unknown as ParameterConstructor;
