/**
 * Which WebAssembly path this engine can run, decided once per process: relaxed SIMD
 * (fused multiply-add), plain SIMD128, or none (the JavaScript kernels). Also the few Node
 * built-ins the wasm path uses, reached without a static `import` so that browser bundles
 * of this package never see `node:` specifiers.
 */
import { RELAXED_WASM_BASE64, SIMD_WASM_BASE64 } from './generated/kernels-wasm.js';

/** The kernel path a CPU backend runs. */
export type CpuPath = 'relaxed-simd' | 'simd' | 'js';

/** A compiled kernel module and the path it implements. */
export interface WasmBuild {
  /** 'relaxed-simd' or 'simd'. */
  path: Exclude<CpuPath, 'js'>;
  /** Compiled for a shared memory import (threads possible). */
  shared: WebAssembly.Module;
  /** The same code compiled for an unshared memory (no SharedArrayBuffer: one thread). */
  unshared: WebAssembly.Module | null;
}

interface ProcessLike {
  getBuiltinModule?: (id: string) => unknown;
  env?: Record<string, string | undefined>;
}

/**
 * A Node built-in module, or undefined outside Node. `process.getBuiltinModule` (Node
 * >= 20.16) is synchronous and works from ESM and CJS alike; older Nodes simply get no
 * relaxed SIMD and no threads.
 */
export function nodeBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: ProcessLike }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}

/** An environment variable in Node, undefined elsewhere. */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: ProcessLike }).process?.env?.[name];
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Reads an unsigned LEB128 at `pos`; returns [value, next position]. */
function leb(bytes: Uint8Array, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let pos = start;
  for (;;) {
    const b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
  }
}

function skipName(bytes: Uint8Array, pos: number): number {
  const [len, p] = leb(bytes, pos);
  return p + len;
}

/**
 * A copy of `bytes` whose memory import is declared unshared. Without SharedArrayBuffer
 * (a browser page that is not cross-origin isolated) a shared memory cannot be created, and
 * a module that declares a shared import refuses an unshared one; the code itself is the
 * same, so flipping the limits flag of that one import (0x03 → 0x01) is all it takes,
 * instead of shipping twice as many builds.
 */
export function unsharedCopy(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | null {
  const out = bytes.slice();
  let pos = 8;
  while (pos < out.length) {
    const id = out[pos];
    const [size, start] = leb(out, pos + 1);
    if (id === 2) {
      let [count, p] = leb(out, start);
      while (count-- > 0) {
        p = skipName(out, skipName(out, p));
        const kind = out[p++];
        if (kind === 2) {
          if (out[p] === 0x03) out[p] = 0x01;
          return out;
        }
        // Other import kinds never occur in our module (build-wasm.mjs checks); bail out.
        return null;
      }
      return null;
    }
    pos = start + size;
  }
  return null;
}

let cached: WasmBuild | null | undefined;
/** Why the engine validated the wasm kernels but refused to compile them (a CSP without 'wasm-unsafe-eval'). */
let refusal: string | undefined;

/**
 * Why WebAssembly is unusable although the engine supports it (compiling was refused: in a
 * browser, a Content-Security-Policy without 'wasm-unsafe-eval'), or undefined.
 */
export function wasmRefusal(): string | undefined {
  return refusal;
}

function compile(bytes: Uint8Array<ArrayBuffer>, path: WasmBuild['path']): WasmBuild {
  const unsharedBytes = unsharedCopy(bytes);
  return {
    path,
    shared: new WebAssembly.Module(bytes),
    unshared: unsharedBytes ? new WebAssembly.Module(unsharedBytes) : null,
  };
}

/**
 * The best kernel build this engine runs, compiled (cached for the process), or null when
 * WebAssembly SIMD is unavailable. Relaxed SIMD is off by default in Node 20; V8 accepts
 * `--experimental-wasm-relaxed-simd` at run time as long as it is set before compiling, so
 * Node gets it turned on here; `WebAssembly.validate` then decides, in every engine.
 * `relaxed: false` skips the relaxed build (bit-for-bit results across machines: FMA or
 * not is otherwise up to the hardware).
 */
export function wasmBuild(relaxed = true): WasmBuild | null {
  if (!relaxed) return plainBuild();
  if (cached !== undefined) return cached;
  cached = null;
  if (typeof WebAssembly !== 'object') return cached;
  const relaxedBytes = decode(RELAXED_WASM_BASE64);
  if (!WebAssembly.validate(relaxedBytes)) {
    nodeBuiltin<{ setFlagsFromString(flag: string): void }>('node:v8')?.setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  try {
    cached = WebAssembly.validate(relaxedBytes) ? compile(relaxedBytes, 'relaxed-simd') : plainBuild();
  } catch (e) {
    // Synchronous compilation can be refused (browser main thread, large module, CSP): JS path.
    refusal = (e as Error).message;
    cached = plainBuild();
  }
  return cached;
}

let plainCached: WasmBuild | null | undefined;

function plainBuild(): WasmBuild | null {
  if (plainCached !== undefined) return plainCached;
  plainCached = null;
  if (typeof WebAssembly !== 'object') return plainCached;
  const bytes = decode(SIMD_WASM_BASE64);
  try {
    if (WebAssembly.validate(bytes)) plainCached = compile(bytes, 'simd');
  } catch (e) {
    refusal = (e as Error).message;
    plainCached = null;
  }
  return plainCached;
}
