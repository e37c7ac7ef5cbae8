/**
 * Loading the addon. The real addon (`ghostflow_cuda.node`, kernels in an nvcc fatbin) comes
 * from `build/Release` when built from source, else from `prebuilds/<platform>-<arch>/` through
 * node-gyp-build. The host-emulation addon (`cuda-host`, tests only) is loaded by path.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A view as the addon takes it: `[handle, offset, rank, ...shape, ...strides]`. */
export type NativeView = number[];

/** What the addon's `info()` reports. */
export interface NativeInfo {
  ok: boolean;
  reason: string;
  build: 'cuda' | 'host';
  device: string;
  blas: string;
  blockSize: number;
}

/** Byte counts of the addon's caching allocator. */
export interface NativeMemory {
  bytesInUse: number;
  bytesCached: number;
  peakBytesInUse: number;
  bytesFromDriverTotal: number;
}

/** The addon's exports (native/addon.cpp). Handles are small integers; errors are thrown. */
export interface NativeAddon {
  info(): NativeInfo;
  alloc(bytes: number): number;
  free(id: number): void;
  upload(unused: number, values: ArrayBufferView): number;
  /** The data, then 8 bytes of index-fault words `[call id, index]` (cleared by the read). */
  readSync(id: number, bytes: number): ArrayBuffer;
  /** Like readSync, resolved off the event loop. */
  read(id: number, bytes: number): Promise<ArrayBuffer>;
  /** Resolves with the 8 fault words once the stream drains. */
  sync(): Promise<ArrayBuffer>;
  memory(): NativeMemory;
  emptyCache(): void;
  elementwise(
    kernel: string,
    op: number,
    inType: number,
    outType: number,
    n: number,
    value: number,
    outId: number,
    dst: NativeView | null,
    views: NativeView[],
    outBytes: number,
  ): number;
  reduce(kernel: string, op: number, nOut: number, nRed: number, outBytes: number, kept: NativeView, red: NativeView): number;
  line(kernel: string, op: number, nLines: number, len: number, step: number, inner: number, outBytes: number, lines: NativeView): number;
  index(
    kernel: string,
    mode: number,
    axis: number,
    n: number,
    outId: number,
    x: NativeView,
    index: NativeView,
    out: number[] | null,
    axisSize: number,
    callId: number,
  ): number;
  matmul(
    M: number,
    N: number,
    K: number,
    batch: number,
    aBatch: NativeView,
    aRow: number,
    aCol: number,
    bBatch: NativeView,
    bRow: number,
    bCol: number,
    act: number,
    bias: NativeView | null,
    aBatchStride: number,
    bBatchStride: number,
  ): number;
  rows(
    kernel: string,
    op: number,
    rows: number,
    len: number,
    inner: number,
    eps: number,
    x: NativeView,
    w: NativeView | null,
    b: NativeView | null,
    stats: boolean,
  ): number[];
  cell(kernel: string, B: number, H: number, inputs: NativeView[], outSizes: number[]): number[];
  attention(
    B: number,
    L: number,
    S: number,
    E: number,
    Ev: number,
    scale: number,
    causal: boolean,
    q: NativeView,
    k: NativeView,
    v: NativeView,
    mask: NativeView | null,
  ): number[];
  /**
   * One layer-direction of a recurrence over a whole sequence (per step: a GEMM and the fused
   * cell kernel). `h` / `c` (-1: none) are fresh buffers holding h0 / c0, advanced in place.
   * Returns `[y, workspace]` (-1 when not training).
   */
  seq(
    mode: number,
    batchSizes: readonly number[],
    H: number,
    P: number,
    reverse: boolean,
    train: boolean,
    gi: NativeView,
    h: number,
    c: number,
    wHh: NativeView,
    bHh: NativeView | null,
    wHr: NativeView | null,
  ): [number, number];
  /**
   * Its backward: `dh` / `dc` (-1: none) are fresh buffers holding dHN / dCN that become dH0 /
   * dC0. Returns `[dGi, dWhh, dBhh, dWhr]` (-1 for an absent one).
   */
  seqBackward(
    mode: number,
    batchSizes: readonly number[],
    H: number,
    P: number,
    reverse: boolean,
    hasBias: boolean,
    wHh: NativeView,
    wHr: NativeView | null,
    y: NativeView,
    workspace: NativeView,
    dY: NativeView,
    dh: number,
    dc: number,
  ): [number, number, number, number];
  /**
   * One Adam/AdamW step in place over `n` elements: constants `[b1, c1, b2, c2, bc2, eps,
   * negStep, wd, decay]` (float32 values), flags bit 0 decoupled, 1 maximize, 2 weight decay.
   */
  adam(
    param: NativeView,
    grad: NativeView,
    expAvg: NativeView,
    expAvgSq: NativeView,
    maxExpAvgSq: NativeView | null,
    n: number,
    constants: number[],
    flags: number,
  ): void;
}

/** The package root (one level above `src/` or `dist/`). */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(import.meta.url);

/** Which addon to load: the real CUDA one, or the host emulation of the same kernels (tests). */
export type AddonKind = 'cuda' | 'host';

const loaded = new Map<AddonKind, NativeAddon | Error>();

function loadUncached(kind: AddonKind): NativeAddon {
  if (kind === 'host') {
    const file = join(packageRoot, 'native', 'host', 'build', 'Release', 'ghostflow_cuda_host.node');
    try {
      return requireHere(file) as NativeAddon;
    } catch (e) {
      throw new Error(
        `the cuda-host test addon is not built (${file}): run \`pnpm build\` in packages/backend-cuda (${(e as Error).message})`,
      );
    }
  }
  try {
    return requireHere(join(packageRoot, 'build', 'Release', 'ghostflow_cuda.node')) as NativeAddon;
  } catch {
    // not built from source here: a prebuilt binary, through node-gyp-build
  }
  try {
    const load = requireHere('node-gyp-build') as (dir: string) => unknown;
    return load(packageRoot) as NativeAddon;
  } catch (e) {
    throw new Error(
      `no CUDA addon for ${process.platform}-${process.arch}: no prebuilt binary matches and it was not built from source (${(e as Error).message.split('\n')[0]})`,
    );
  }
}

/** Loads (once) and returns the addon of `kind`; throws with the reason it cannot be loaded. */
export function loadAddon(kind: AddonKind): NativeAddon {
  let entry = loaded.get(kind);
  if (!entry) {
    try {
      entry = loadUncached(kind);
    } catch (e) {
      entry = e as Error;
    }
    loaded.set(kind, entry);
  }
  if (entry instanceof Error) throw entry;
  return entry;
}
