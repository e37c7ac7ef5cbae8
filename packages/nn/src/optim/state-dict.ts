/** The optimizer state-dict layout (torch.optim.Optimizer.state_dict) and its checks. */
import { GhostFlowError, Tensor } from '@ghostflow/core';

/**
 * One parameter's saved state: `step`, numbers (LBFGS's `func_evals`, ...), tensors under
 * PyTorch's names (`exp_avg`, `momentum_buffer`, ...), tensor lists (LBFGS's `old_dirs`) and
 * number lists (LBFGS's `ro`).
 */
export type ParamStateEntry = { step?: number } & Record<string, number | number[] | Tensor | Tensor[]>;

/** A parameter group's saved hyper-parameters, with its parameters as indices. */
export type ParamGroupState = Record<string, unknown> & {
  /** Indices of the group's parameters, counted across groups in order. */
  params: number[];
};

/** An optimizer's state in PyTorch's layout: `state` by parameter index, and the groups. */
export interface OptimizerStateDict {
  /** Per-parameter state, keyed by the parameter's index (only parameters that have state). */
  state: Record<number, ParamStateEntry>;
  /** Every group's hyper-parameters and parameter indices. */
  paramGroups: ParamGroupState[];
}

/** Disposes every tensor of an optimizer state dict (what {@link Optimizer.stateDict} returns is the caller's). */
export function disposeOptimizerStateDict(dict: OptimizerStateDict): void {
  for (const entry of Object.values(dict.state))
    for (const v of Object.values(entry)) {
      if (v instanceof Tensor) v.dispose();
      else if (Array.isArray(v)) for (const t of v) if (t instanceof Tensor) t.dispose();
    }
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Validates one saved parameter state against its parameter before anything is loaded. */
export function checkStateDictShape(
  who: string,
  index: string,
  entry: ParamStateEntry,
  param: Tensor,
  shapeOf: (name: string) => readonly number[] | null,
): void {
  if (typeof entry !== 'object' || entry === null)
    throw new GhostFlowError(`${who}.loadStateDict: state ${index} must be an object, got ${entry}`);
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v === 'number') continue;
    const list = Array.isArray(v) ? v : [v];
    for (const t of list) {
      if (typeof t === 'number') continue;
      if (!(t instanceof Tensor))
        throw new GhostFlowError(
          `${who}.loadStateDict: state ${index} '${k}' must be a number, a Tensor or a Tensor list, got ${typeof t}`,
        );
      if (t.device !== param.device)
        throw new GhostFlowError(
          `${who}.loadStateDict: state ${index} '${k}' is on backend '${t.device}' but the parameter is on '${param.device}'`,
        );
      if (t.dtype !== 'float32') throw new GhostFlowError(`${who}.loadStateDict: state ${index} '${k}' must be float32, got ${t.dtype}`);
    }
    if (Array.isArray(v)) continue;
    const want = shapeOf(k);
    if (want && !v.shape.every((d, i) => d === want[i])) throw mismatch(who, index, k, v.shape, want);
    if (want && v.shape.length !== want.length) throw mismatch(who, index, k, v.shape, want);
  }
}

function mismatch(who: string, index: string, k: string, got: readonly number[], want: readonly number[]): GhostFlowError {
  return new GhostFlowError(
    `${who}.loadStateDict: state ${index} '${k}' has shape ${fmt(got)} but the parameter's state needs ${fmt(want)}`,
  );
}
