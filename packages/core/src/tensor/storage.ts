/**
 * Reference-counted backend data shared by a tensor and all its views. The backend buffer
 * is freed when the last tensor (or saved-for-backward handle) lets go of it.
 */
import type { Backend } from '../backend/backend.js';
import type { DataId } from '../backend/kernels.js';
import type { DType } from '../dtype.js';

/** Backend data plus how many holders share it. */
export class Storage {
  private refs = 1;
  /**
   * How many times the buffer was written in place (PyTorch's version counter). Saved-for-
   * backward views remember the version they saw, so a gradient rule never reads values that
   * an in-place op changed after the forward pass.
   */
  version = 0;

  /**
   * @param backend the backend that owns `dataId`
   * @param dataId the backend's handle
   * @param size number of elements in the buffer
   * @param dtype element type of the buffer
   */
  constructor(
    readonly backend: Backend,
    readonly dataId: DataId,
    readonly size: number,
    readonly dtype: DType,
  ) {}

  /** Whether the buffer has been freed. */
  get freed(): boolean {
    return this.refs <= 0;
  }

  /** Adds a holder. */
  retain(): void {
    this.refs++;
  }

  /** Drops a holder; frees the backend buffer when none is left. */
  release(): void {
    if (this.refs <= 0) return;
    this.refs--;
    if (this.refs === 0) this.backend.disposeData(this.dataId);
  }
}
