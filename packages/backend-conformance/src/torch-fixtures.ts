/**
 * Reads the PyTorch golden cases in `../shared/fixtures/torch` (relative to the repository
 * root) in place. A missing fixture directory is an error, never a skip: matching these
 * cases is the definition of "correct".
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Tensor, tensor } from '@ghostflow/core';

/** A tensor as the fixtures store it. */
export interface FixtureTensor {
  /** Shape. */
  shape: number[];
  /** `float32`, `int64` (loaded as int32) or `bool`. */
  dtype: 'float32' | 'int64' | 'bool';
  /** Row-major values. */
  data: (number | boolean)[];
}

/** One golden case (see the fixtures' README for the meaning of each key). */
export interface TorchFixture {
  /** File name without `.json`. */
  name: string;
  /** torch.nn class, `functional` or `optim`. */
  module: string;
  /** Constructor or function arguments, PyTorch spelling. */
  config: Record<string, unknown>;
  /** Parameters by PyTorch name. */
  state_dict: Record<string, FixtureTensor>;
  /** Forward arguments by PyTorch name. */
  inputs: Record<string, FixtureTensor>;
  /** Forward results. */
  outputs: Record<string, FixtureTensor>;
  /** Weight G per float output; loss = sum(output * G). */
  grad_weights: Record<string, FixtureTensor>;
  /** Gradients by input or parameter name. */
  grads: Record<string, FixtureTensor>;
  /** Comparison tolerance. */
  tol: { atol: number; rtol: number };
  /** Other keys (optimizer cases: optimizer, losses, final_state_dict, ...). */
  [key: string]: unknown;
}

/**
 * The fixture directory: `$GHOSTFLOW_TORCH_FIXTURES`, else `../shared/fixtures/torch` next to
 * the first ancestor of the working directory that holds `pnpm-workspace.yaml`.
 */
export function fixturesDir(): string {
  const env = process.env.GHOSTFLOW_TORCH_FIXTURES;
  if (env) return env;
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) {
      const found = resolve(dir, '..', 'shared', 'fixtures', 'torch');
      if (!existsSync(found)) {
        throw new Error(`PyTorch fixtures not found at ${found}: the repository must sit beside shared/ (or set GHOSTFLOW_TORCH_FIXTURES)`);
      }
      return found;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`cannot locate the repository root (pnpm-workspace.yaml) above ${process.cwd()} to find ../shared/fixtures/torch`);
    dir = parent;
  }
}

/** Names of every fixture, sorted. */
export function listFixtures(): string[] {
  return readdirSync(fixturesDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Loads one fixture by name. */
export function loadFixture(name: string): TorchFixture {
  const file = join(fixturesDir(), `${name}.json`);
  if (!existsSync(file)) throw new Error(`PyTorch fixture '${name}' not found at ${file}`);
  return JSON.parse(readFileSync(file, 'utf8')) as TorchFixture;
}

/** A fixture tensor as a GhostFlow tensor on `device` (int64 becomes int32). */
export function fixtureTensor(spec: FixtureTensor, device?: string): Tensor {
  const dtype = spec.dtype === 'float32' ? 'float32' : spec.dtype === 'bool' ? 'bool' : 'int32';
  const values =
    dtype === 'bool'
      ? Uint8Array.from(spec.data, (v) => (v ? 1 : 0))
      : dtype === 'int32'
        ? Int32Array.from(spec.data as number[])
        : Float32Array.from(spec.data as number[]);
  return tensor(values, { shape: spec.shape, dtype, device });
}
