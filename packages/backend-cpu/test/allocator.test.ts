/**
 * The heap allocator under resident storage: reuse, coalescing, alignment, growth, the
 * scratch guard, and exhaustion (alloc returns 0 so callers fall back to plain arrays).
 */
import { describe, expect, it } from 'vitest';
import { HEAP_ALIGN, HeapAllocator, SMALL_MAX } from '../src/wasm/allocator.js';

/** An allocator over a pretend memory of at most `limit` bytes; `size()` is its length now. */
function heap(limit = 2 ** 30, cacheLimit?: number): { a: HeapAllocator; size: () => number } {
  let size = 0;
  const a = new HeapAllocator(
    1024,
    (end) => {
      if (end > limit) return false;
      size = Math.max(size, end);
      return true;
    },
    cacheLimit,
  );
  return { a, size: () => size };
}

describe('HeapAllocator', () => {
  it('aligns every block and never hands out overlapping ones', () => {
    const { a } = heap();
    const blocks: [number, number][] = [];
    for (const bytes of [1, 4, 17, 63, 64, 65, 1000, 1025, 5000, 70000, 3, 200000]) {
      const p = a.alloc(bytes);
      expect(p % HEAP_ALIGN).toBe(0);
      expect(p).toBeGreaterThanOrEqual(1024);
      expect(a.sizeOf(p)).toBeGreaterThanOrEqual(bytes);
      blocks.push([p, a.sizeOf(p)]);
    }
    blocks.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i][0]).toBeGreaterThanOrEqual(blocks[i - 1][0] + blocks[i - 1][1]);
  });

  it('reuses a freed small block of the same class (LIFO) without growing', () => {
    const { a, size } = heap();
    const p = a.alloc(400);
    a.alloc(400);
    const grown = size();
    a.free(p);
    expect(a.alloc(390)).toBe(p);
    expect(size()).toBe(grown);
  });

  it('coalesces freed neighbours into one block that a larger request fits', () => {
    const { a } = heap();
    const x = a.alloc(SMALL_MAX * 2);
    const y = a.alloc(SMALL_MAX * 2);
    const z = a.alloc(SMALL_MAX * 2);
    a.alloc(64); // keeps the three off the heap's end
    a.free(x);
    a.free(z);
    a.free(y); // merges with both
    const big = a.alloc(SMALL_MAX * 6);
    expect(big).toBe(x);
    expect(a.stats().freeBytes).toBe(0);
  });

  it('best fit: the smallest free block that fits, its rest stays free', () => {
    const { a } = heap();
    const big = a.alloc(SMALL_MAX * 8);
    a.alloc(64);
    const small = a.alloc(SMALL_MAX * 2);
    a.alloc(64);
    a.free(big);
    a.free(small);
    const p = a.alloc(SMALL_MAX * 2 - 1000);
    expect(p).toBe(small);
    const q = a.alloc(SMALL_MAX * 3);
    expect(q).toBe(big);
    expect(a.alloc(SMALL_MAX * 5)).toBe(big + SMALL_MAX * 3);
  });

  it('lowers the end when the top block is freed, and grows in place from a free tail', () => {
    const { a } = heap();
    const low = a.alloc(SMALL_MAX * 2);
    const top = a.alloc(SMALL_MAX * 2);
    const end = a.end;
    a.free(top);
    expect(a.end).toBe(top);
    a.free(low);
    expect(a.end).toBe(low);
    expect(a.alloc(SMALL_MAX * 3)).toBe(low);
    expect(a.end).toBe(low + SMALL_MAX * 3);
    expect(a.end).toBeGreaterThan(end - SMALL_MAX * 2);
  });

  it('places growth above an in-use scratch region and frees the gap only at settle', () => {
    const { a } = heap();
    a.alloc(SMALL_MAX * 2);
    const end = a.end;
    a.guard = end + 10000; // a kernel's scratch reaches here
    const p = a.alloc(SMALL_MAX * 2);
    expect(p).toBeGreaterThanOrEqual(end + 10000);
    // The gap is still scratch: nothing is handed out of it before settle.
    const q = a.alloc(5000);
    expect(q < end || q >= end + 10000).toBe(true);
    a.settle();
    expect(a.guard).toBe(a.end);
    expect(a.alloc(8000)).toBe(end);
  });

  it('returns 0 when the memory cannot grow, and works again after frees', () => {
    const { a } = heap(1024 + SMALL_MAX * 4);
    const p = a.alloc(SMALL_MAX * 3);
    expect(p).not.toBe(0);
    expect(a.alloc(SMALL_MAX * 2)).toBe(0);
    expect(a.stats().blocks).toBe(1);
    a.free(p);
    expect(a.alloc(SMALL_MAX * 2)).toBe(p);
  });

  it('bounds the size-class stacks: beyond the limit blocks go back to the pool', () => {
    const { a } = heap(2 ** 30, 4096);
    const ps = Array.from({ length: 8 }, () => a.alloc(1024));
    a.alloc(64);
    for (const p of ps) a.free(p);
    expect(a.stats().cachedBytes).toBe(4096);
    expect(a.stats().freeBytes).toBe(8 * 1024);
    // A large request flushes the stacks and gets the coalesced run.
    expect(a.alloc(8 * 1024 + 1)).not.toBe(0);
    expect(a.stats().cachedBytes).toBe(0);
  });

  it('refuses a double free', () => {
    const { a } = heap();
    const p = a.alloc(100);
    a.free(p);
    expect(() => a.free(p)).toThrow(/freed but not allocated/);
  });

  it('random alloc/free keeps blocks disjoint and the counters exact', () => {
    const { a } = heap();
    let s = 7;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % n;
    };
    const live = new Map<number, number>();
    for (let step = 0; step < 3000; step++) {
      if (live.size > 0 && rnd(3) === 0) {
        const keys = [...live.keys()];
        const p = keys[rnd(keys.length)];
        a.free(p);
        live.delete(p);
      } else {
        const bytes = rnd(4) === 0 ? 1 + rnd(300000) : 1 + rnd(3000);
        const p = a.alloc(bytes);
        expect(p % HEAP_ALIGN).toBe(0);
        live.set(p, a.sizeOf(p));
      }
      if (step % 100 === 0) a.settle();
    }
    const sorted = [...live.entries()].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i][0]).toBeGreaterThanOrEqual(sorted[i - 1][0] + sorted[i - 1][1]);
    const st = a.stats();
    expect(st.blocks).toBe(live.size);
    expect(st.usedBytes).toBe([...live.values()].reduce((x, y) => x + y, 0));
    for (const p of live.keys()) a.free(p);
    a.flush();
    a.settle();
    expect(a.end).toBe(1024);
  });
});
