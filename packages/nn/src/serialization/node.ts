/**
 * File helpers for Node (fs is imported lazily, so bundles for the browser that never call
 * them do not need it). `load` reads the 8-byte length and the header first through a file
 * handle, validates them against the file's size, then reads each tensor's byte range into
 * its own array: memory is bounded by the tensors loaded, and files over 2 GiB load.
 */
import { GhostFlowError, type Tensor } from '@ghostflow/core';
import type { Module } from '../module.js';
import { dictOf } from './dict-of.js';
import { describe, headerLength, parseHeader } from './header.js';
import {
  type LoadSafetensorsOptions,
  allocate,
  bytesOf,
  checkLoadOptions,
  convertI64,
  finishDirect,
  isDirect,
  planLoad,
  toTensor,
} from './load-plan.js';
import { type SaveSafetensorsOptions, type TensorDict, saveSafetensors } from './safetensors.js';

/** Largest single read (Node refuses reads of 2 GiB or more). */
const CHUNK = 1 << 30;
/** Staging size for I64 data, converted to int32 as it streams. */
const I64_CHUNK = 1 << 23;

type FileHandle = import('node:fs/promises').FileHandle;

function checkPath(path: unknown, what: string): string | URL {
  if (typeof path === 'string' || path instanceof URL) return path;
  throw new GhostFlowError(`${what}: expected a file path (string or URL), got ${describe(path)}`);
}

function fsError(what: string, path: string | URL, e: unknown): GhostFlowError {
  return new GhostFlowError(`${what}: cannot access '${String(path)}': ${(e as Error).message}`, { cause: e });
}

/** Fills `target` from `position`; a file that ends early (truncated while reading) is an error. */
async function readExactly(fh: FileHandle, target: Uint8Array, position: number, path: string | URL): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const len = Math.min(CHUNK, target.byteLength - done);
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(target, done, len, position + done));
    } catch (e) {
      throw fsError('load', path, e);
    }
    if (bytesRead === 0) {
      throw new GhostFlowError(
        `load: expected ${target.byteLength} bytes at offset ${position} of '${String(path)}', got ${done} before the end of the file (did it shrink while loading?)`,
      );
    }
    done += bytesRead;
  }
}

/**
 * Writes a module's state dict (or tensors by name, an object or a Map) to `path` as safetensors.
 * @param what a {@link Module} (its `stateDict()` is saved) or tensors by name
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { Linear } from '@ghostflow/nn';
 * import { load, save } from '@ghostflow/nn/node';
 * const model = new Linear(3, 2);
 * await save('model.safetensors', model); // a Module's stateDict, or any { name: Tensor }
 * model.loadStateDict(await load('model.safetensors'));
 * ```
 */
export async function save(path: string | URL, what: Module | TensorDict, options: SaveSafetensorsOptions = {}): Promise<void> {
  const p = checkPath(path, 'save');
  const dict = dictOf(what);
  const bytes = await saveSafetensors(dict, options);
  const { writeFile } = await import('node:fs/promises');
  try {
    await writeFile(p, bytes);
  } catch (e) {
    throw fsError('save', p, e);
  }
}

/**
 * Reads a safetensors file into tensors by name (a null-prototype object; only
 * `options.names` when given); pass the result to `module.loadStateDict(...)` (then dispose
 * it) to restore a module. The header is read and validated before any tensor data; every
 * error is a GhostFlowError.
 *
 * @example
 * ```ts
 * import '@ghostflow/backend-cpu';
 * import { LSTM } from '@ghostflow/nn';
 * import { load } from '@ghostflow/nn/node';
 * const model = new LSTM(4, 8);
 * model.loadStateDict(await load('lstm.safetensors')); // written by save() or by PyTorch's safetensors
 * ```
 */
export async function load(path: string | URL, options: LoadSafetensorsOptions = {}): Promise<Record<string, Tensor>> {
  const p = checkPath(path, 'load');
  const opts = checkLoadOptions(options);
  const { open } = await import('node:fs/promises');
  let fh: FileHandle;
  try {
    fh = await open(p, 'r');
  } catch (e) {
    throw fsError('load', p, e);
  }
  try {
    let size: number;
    try {
      const st = await fh.stat();
      // A device or pipe has no size to check the header against (/dev/zero never ends).
      if (!st.isFile())
        throw new GhostFlowError(
          `load: expected a regular file at '${String(p)}', got ${st.isDirectory() ? 'a directory' : 'a device, pipe or socket'}`,
        );
      size = st.size;
    } catch (e) {
      throw e instanceof GhostFlowError ? e : fsError('load', p, e);
    }
    const first8 = new Uint8Array(8);
    if (size >= 8) await readExactly(fh, first8, 0, p);
    const n = headerLength(first8, size);
    const json = new Uint8Array(n);
    await readExactly(fh, json, 8, p);
    const header = parseHeader(json, n, size);
    const items = planLoad(header, opts.names);
    const out = Object.create(null) as Record<string, Tensor>;
    try {
      for (const item of items) {
        const at = header.dataStart + item.entry.data_offsets[0];
        const array = allocate(item);
        if (isDirect(item)) {
          await readExactly(fh, bytesOf(array), at, p);
          finishDirect(item, array);
        } else {
          const staging = new Uint8Array(Math.min(I64_CHUNK, item.count * 8));
          for (let j = 0; j < item.count; j += staging.byteLength / 8) {
            const raw = staging.subarray(0, Math.min(staging.byteLength, (item.count - j) * 8));
            await readExactly(fh, raw, at + 8 * j, p);
            convertI64(item, raw, array as Int32Array, j);
          }
        }
        out[item.name] = toTensor(item, array, opts.device);
      }
    } catch (err) {
      for (const t of Object.values(out)) t.dispose();
      throw err;
    }
    return out;
  } finally {
    await fh.close().catch(() => undefined);
  }
}
