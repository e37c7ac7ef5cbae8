/**
 * Training checkpoints as one safetensors file (the pure part: objects <-> bytes; the file
 * IO is in checkpoint-node.ts). Tensors: the model's state dict under `model.<name>`, the
 * optimizer's state tensors under `optimizer.state.<index>.<name>` (tensor lists as
 * `<name>.<k>`). Everything else is JSON in the `ghostflow.checkpoint` metadata entry:
 * the optimizer's groups and numbers, the scheduler's state, the global RNG state, the step
 * and the caller's `extra` (non-finite numbers are tagged, as JSON has none).
 */
import { GhostFlowError, type Tensor, Tensor as TensorClass, getRngState, setRngState } from '@ghostflow/core';
import type { Module } from '../module.js';
import type { SchedulerLike, SchedulerStateDict } from '../optim/lr-scheduler.js';
import type { BaseGroupOptions, Optimizer } from '../optim/optimizer.js';
import { type OptimizerStateDict, type ParamStateEntry, disposeOptimizerStateDict } from '../optim/state-dict.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from './safetensors.js';

/** The metadata key holding the checkpoint's JSON. */
const META_KEY = 'ghostflow.checkpoint';
const FORMAT = 1;

/** What a checkpoint holds; every part is optional. */
export interface CheckpointParts {
  /** The model (its `stateDict()`: parameters and persistent buffers). */
  model?: Module;
  /** The optimizer (its `stateDict()`). */
  optimizer?: Optimizer<BaseGroupOptions>;
  /** The LR scheduler (its `stateDict()`). */
  scheduler?: SchedulerLike;
  /** The training step (or epoch) reached. */
  step?: number;
  /** Save the global RNG state (`getRngState()`; default true) so dropout and sampling resume identically. */
  rng?: boolean;
  /** Anything else to keep (JSON values: numbers, strings, arrays, plain objects). */
  extra?: Record<string, unknown>;
}

/** Where {@link decodeCheckpoint} restores each part into; every part given must be in the checkpoint. */
export interface CheckpointTargets {
  /** Receives the model state (strict: the same names and shapes). */
  model?: Module;
  /** Receives the optimizer state (same groups and sizes). */
  optimizer?: Optimizer<BaseGroupOptions>;
  /** Receives the scheduler state. */
  scheduler?: SchedulerLike;
  /** Restore the global RNG state when the checkpoint has one (default true). */
  rng?: boolean;
  /** Backend the tensors are loaded on (default: the model's, else the active backend). */
  device?: string;
}

/** What {@link decodeCheckpoint} returns besides restoring the targets. */
export interface RestoredCheckpoint {
  /** The step saved (null when none was). */
  step: number | null;
  /** The `extra` values saved ({} when none were). */
  extra: Record<string, unknown>;
}

interface OptimizerMeta {
  paramGroups: OptimizerStateDict['paramGroups'];
  state: Record<string, { values: Record<string, number | number[]>; tensors: string[]; lists: Record<string, number> }>;
}

interface CheckpointMeta {
  format: number;
  step: number | null;
  model: string[] | null;
  optimizer: OptimizerMeta | null;
  scheduler: SchedulerStateDict | null;
  rng: { seed: number; offset: number } | null;
  extra: Record<string, unknown>;
}

const NONFINITE = '__ghostflow_number__';

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return { [NONFINITE]: String(value) };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && NONFINITE in value) return Number((value as Record<string, string>)[NONFINITE]);
  return value;
}

/**
 * Serialises a training state to safetensors bytes (see the module comment for the layout).
 * Tensors are read with `await tensor.data()`, so every backend works.
 *
 * @example
 * ```ts
 * import { Adam, Linear, StepLR, encodeCheckpoint } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
 * const scheduler = new StepLR(optimizer, 10);
 * const bytes = await encodeCheckpoint({ model, optimizer, scheduler, step: 100 });
 * ```
 */
export async function encodeCheckpoint(parts: CheckpointParts): Promise<Uint8Array> {
  const tensors: Record<string, Tensor> = {};
  const owned: OptimizerStateDict[] = [];
  try {
    let model: string[] | null = null;
    if (parts.model) {
      const sd = parts.model.stateDict();
      model = Object.keys(sd);
      for (const [k, t] of Object.entries(sd)) tensors[`model.${k}`] = t;
    }
    let optimizer: OptimizerMeta | null = null;
    if (parts.optimizer) {
      const sd = parts.optimizer.stateDict();
      owned.push(sd);
      optimizer = { paramGroups: sd.paramGroups, state: {} };
      for (const [idx, entry] of Object.entries(sd.state)) {
        const meta: OptimizerMeta['state'][string] = { values: {}, tensors: [], lists: {} };
        for (const [name, v] of Object.entries(entry)) {
          if (v instanceof TensorClass) {
            meta.tensors.push(name);
            tensors[`optimizer.state.${idx}.${name}`] = v;
          } else if (Array.isArray(v) && v.some((x) => x instanceof TensorClass)) {
            meta.lists[name] = v.length;
            (v as Tensor[]).forEach((t, k) => {
              tensors[`optimizer.state.${idx}.${name}.${k}`] = t;
            });
          } else meta.values[name] = v as number | number[];
        }
        optimizer.state[idx] = meta;
      }
    }
    const meta: CheckpointMeta = {
      format: FORMAT,
      step: parts.step ?? null,
      model,
      optimizer,
      scheduler: parts.scheduler ? parts.scheduler.stateDict() : null,
      rng: parts.rng === false ? null : getRngState(),
      extra: parts.extra ?? {},
    };
    return await saveSafetensors(tensors, { metadata: { [META_KEY]: JSON.stringify(meta, replacer) } });
  } finally {
    for (const sd of owned) disposeOptimizerStateDict(sd);
  }
}

function readMeta(bytes: ArrayBuffer | ArrayBufferView): CheckpointMeta {
  const header = readSafetensorsHeader(bytes);
  const text = header.metadata?.[META_KEY];
  if (text === undefined)
    throw new GhostFlowError(`loadCheckpoint: expected a GhostFlow checkpoint (metadata '${META_KEY}'), got a plain safetensors file`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(text, reviver) as CheckpointMeta;
  } catch (e) {
    throw new GhostFlowError(`loadCheckpoint: the checkpoint's '${META_KEY}' metadata is not valid JSON`, { cause: e });
  }
  if (meta.format !== FORMAT) throw new GhostFlowError(`loadCheckpoint: expected checkpoint format ${FORMAT}, got ${String(meta.format)}`);
  return meta;
}

/**
 * Restores a training state from {@link encodeCheckpoint}'s bytes into `targets` (model,
 * then optimizer, scheduler and the global RNG), and returns the saved step and extras.
 * Each target given must have its part in the checkpoint; everything is validated by the
 * targets' own `loadStateDict` (names, shapes, group sizes) with clear errors.
 */
export function decodeCheckpoint(bytes: ArrayBuffer | ArrayBufferView, targets: CheckpointTargets = {}): RestoredCheckpoint {
  const meta = readMeta(bytes);
  const device = targets.device ?? targets.model?.parameters()[0]?.device;
  const loaded = loadSafetensors(bytes, device === undefined ? {} : { device });
  try {
    if (targets.model) {
      if (!meta.model) throw new GhostFlowError('loadCheckpoint: a model was given but the checkpoint has no model state');
      const sd: Record<string, Tensor> = {};
      for (const k of meta.model) sd[k] = loaded[`model.${k}`];
      targets.model.loadStateDict(sd);
    }
    if (targets.optimizer) {
      if (!meta.optimizer) throw new GhostFlowError('loadCheckpoint: an optimizer was given but the checkpoint has no optimizer state');
      const state: Record<number, ParamStateEntry> = {};
      for (const [idx, m] of Object.entries(meta.optimizer.state)) {
        const entry: ParamStateEntry = { ...m.values };
        for (const name of m.tensors) entry[name] = loaded[`optimizer.state.${idx}.${name}`];
        for (const [name, n] of Object.entries(m.lists))
          entry[name] = Array.from({ length: n }, (_, k) => loaded[`optimizer.state.${idx}.${name}.${k}`]);
        state[Number(idx)] = entry;
      }
      targets.optimizer.loadStateDict({ state, paramGroups: meta.optimizer.paramGroups });
    }
    if (targets.scheduler) {
      if (!meta.scheduler) throw new GhostFlowError('loadCheckpoint: a scheduler was given but the checkpoint has no scheduler state');
      targets.scheduler.loadStateDict(meta.scheduler);
    }
    if (targets.rng !== false && meta.rng) setRngState(meta.rng);
    return { step: meta.step, extra: meta.extra };
  } finally {
    for (const t of Object.values(loaded)) t.dispose();
  }
}
