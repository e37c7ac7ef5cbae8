/**
 * Packed GEMM operands that stay packed across calls. A weight multiplies a new input at
 * every step (an RNN's W_hh at every time step, a layer's weight at every batch), so packing
 * it again each call (a strided copy and a reorder into 16-column panels) costs more than
 * the product itself at small batch. Entries live in persistent regions of the wasm memory
 * ({@link WasmRuntime.persist}) and are keyed by the buffer object, the operand's layout in
 * it, and the buffer's version (bumped by every in-place change: `write`, `adamUpdate`), so
 * an in-place update of the weight is never read stale. An operand is cached the second
 * time it is seen unchanged (activations, used once, never take space); the least recently
 * used entries go when the budget is reached, and an entry goes with its buffer.
 */
import type { CpuData } from '../storage.js';
import type { WasmRuntime } from './runtime.js';

interface Entry {
  buf: CpuData;
  key: string;
  version: number;
  ptr: number;
  bytes: number;
}

/** Default budget of packed bytes per backend (LRU beyond it). */
export const PACKED_CACHE_BYTES = 256 * 2 ** 20;

/** One backend's packed-operand cache. */
export class PackedCache {
  private readonly byBuf = new Map<CpuData, Map<string, Entry>>();
  /** Entries in least-recently-used-first order (a Set keeps insertion order). */
  private readonly lru = new Set<Entry>();
  /** The last (layout key, version) each buffer was packed with but not cached. */
  private readonly seen = new WeakMap<CpuData, { key: string; version: number }>();
  private bytes = 0;
  /** Lookups that found a valid entry (for tests and profiling). */
  hits = 0;

  /**
   * @param rt the runtime whose memory holds the entries
   * @param budget most bytes of packed panels kept
   */
  constructor(
    private readonly rt: WasmRuntime,
    private readonly budget = PACKED_CACHE_BYTES,
  ) {}

  /** The byte offset of `buf`'s operand packed under `key` at its current version, or 0. */
  get(buf: CpuData, key: string): number {
    const e = this.byBuf.get(buf)?.get(key);
    if (!e) return 0;
    if (e.version !== buf.version) {
      this.remove(e);
      return 0;
    }
    this.lru.delete(e);
    this.lru.add(e);
    this.hits++;
    return e.ptr;
  }

  /**
   * A persistent region for `buf`'s operand under `key` when this is at least the second
   * time it is packed unchanged (the caller packs into it), else 0. Call before a kernel
   * call's scratch layout is planned: a new region raises the scratch floor.
   */
  reserve(buf: CpuData, key: string, bytes: number): number {
    const last = this.seen.get(buf);
    if (!last || last.key !== key || last.version !== buf.version) {
      this.seen.set(buf, { key, version: buf.version });
      return 0;
    }
    if (bytes > this.budget) return 0;
    for (const e of this.lru) {
      if (this.bytes + bytes <= this.budget) break;
      this.remove(e);
    }
    const ptr = this.rt.persist(bytes);
    if (ptr === null) return 0;
    const e: Entry = { buf, key, version: buf.version, ptr, bytes };
    let map = this.byBuf.get(buf);
    if (!map) {
      map = new Map();
      this.byBuf.set(buf, map);
    }
    map.set(key, e);
    this.lru.add(e);
    this.bytes += bytes;
    return ptr;
  }

  /** Forgets the entry `reserve` just made (the call that was to fill it did not run). */
  abandon(buf: CpuData, key: string): void {
    const e = this.byBuf.get(buf)?.get(key);
    if (e) this.remove(e);
  }

  /** Drops every entry of a buffer (it was freed). */
  drop(buf: CpuData): void {
    const map = this.byBuf.get(buf);
    if (!map) return;
    for (const e of [...map.values()]) this.remove(e);
  }

  /** Bytes of packed panels held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  private remove(e: Entry): void {
    this.lru.delete(e);
    const map = this.byBuf.get(e.buf);
    map?.delete(e.key);
    if (map && map.size === 0) this.byBuf.delete(e.buf);
    this.bytes -= e.bytes;
    this.rt.release(e.ptr);
  }
}
