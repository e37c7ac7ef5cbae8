/**
 * Validation of the recurrent state argument (`hx`) before anything reads it. JavaScript lets
 * a caller pass a single tensor where LSTM takes `[h0, c0]` (indexing it gives `undefined`,
 * which would silently mean "zeros"), or `[h0, c0]` where GRU takes one tensor (which would die
 * in a TypeError deep inside). PyTorch refuses both; so do these checks, with PyTorch's words.
 */
import { DTypeError, GhostFlowError, Tensor, formatShape } from '@ghostflow/core';

/** What came, for a message: a tensor's shape, an array's length, or the JS type. */
function describe(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${formatShape(v.shape)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : `${typeof v} ${String(v)}`;
}

/** A state tensor must be float32, like the weights it is multiplied with. */
function checkDType(owner: string, what: string, t: Tensor): void {
  if (t.dtype !== 'float32') {
    throw new DTypeError(`${owner}: expected ${what} with dtype float32 (like the weights), got ${t.dtype}`);
  }
}

/**
 * The `[h0, c0]` of LSTM / LSTMCell. Absent (null/undefined) means zeros for both. Entries may
 * be null (zeros) only where `nullEntries` (the multi-layer LSTM accepts it; LSTMCell, like
 * PyTorch's, takes two tensors).
 */
export function checkStatePair(
  owner: string,
  hx: unknown,
  names: readonly [string, string],
  nullEntries: boolean,
): readonly [Tensor | null, Tensor | null] | null {
  if (hx === null || hx === undefined) return null;
  if (!Array.isArray(hx)) {
    throw new GhostFlowError(
      `${owner}: argument 'hx' must be a pair [${names[0]}, ${names[1]}] of tensors (lstm expects two hidden states), got ${describe(hx)}`,
    );
  }
  if (hx.length !== 2) {
    throw new GhostFlowError(`${owner}: lstm expects two hidden states [${names[0]}, ${names[1]}], got ${describe(hx)}`);
  }
  hx.forEach((v: unknown, i) => {
    if ((v === null || v === undefined) && nullEntries) return;
    if (!(v instanceof Tensor)) {
      throw new GhostFlowError(`${owner}: expected Tensor as element ${i} (${names[i]}) of argument 'hx', but got ${describe(v)}`);
    }
    checkDType(owner, names[i], v);
  });
  return hx as [Tensor | null, Tensor | null];
}

/** The single hidden state of RNN / GRU and their cells: a tensor, or absent for zeros. */
export function checkStateTensor(owner: string, hx: unknown, name: string): Tensor | null {
  if (hx === null || hx === undefined) return null;
  if (!(hx instanceof Tensor)) {
    const hint = Array.isArray(hx) ? ` (${owner} has one hidden state; [h0, c0] is LSTM's)` : '';
    throw new GhostFlowError(`${owner}: argument '${name}' must be Tensor, not ${describe(hx)}${hint}`);
  }
  checkDType(owner, name, hx);
  return hx;
}
