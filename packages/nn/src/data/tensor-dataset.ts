/** TensorDataset: rows of tensors that share their first dim (torch.utils.data.TensorDataset). */
import { type Tensor, GhostFlowError, ShapeError, formatShape } from '@ghostflow/core';
import { Dataset } from './dataset.js';

/**
 * Item `i` is `[t0[i], t1[i], ...]`: row `i` of each tensor (views, which the loader may
 * dispose without freeing the tensors). The tensors stay the caller's.
 * @example
 * ```ts
 * import { randint, randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { TensorDataset } from '@ghostflow/nn';
 * const inputs = randn([8, 3]);
 * const labels = randint(0, 2, [8]);
 * const ds = new TensorDataset(inputs, labels); // inputs [N, D], labels [N]
 * const [x, y] = ds.getItem(0);                 // [D] and []
 * ```
 */
export class TensorDataset extends Dataset<Tensor[]> {
  /** The tensors, each with `length` rows. */
  readonly tensors: readonly Tensor[];

  /** @param tensors one or more tensors with the same size of dim 0 */
  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new GhostFlowError('TensorDataset needs at least one tensor');
    const n = tensors[0].rank > 0 ? tensors[0].shape[0] : -1;
    tensors.forEach((t, i) => {
      if (t.rank === 0 || t.shape[0] !== n) {
        throw new ShapeError(
          `TensorDataset: size mismatch between tensors: tensor 0 has ${n} rows, tensor ${i} has shape ${formatShape(t.shape)}`,
        );
      }
    });
    this.tensors = Object.freeze([...tensors]);
  }

  /** Rows (dim 0 of each tensor). */
  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** Row `index` of every tensor (views). */
  getItem(index: number): Tensor[] {
    if (!Number.isInteger(index) || index < -this.length || index >= this.length)
      throw new GhostFlowError(`TensorDataset: index ${index} is out of range for ${this.length} items`);
    return this.tensors.map((t) => t.select(0, index));
  }
}
