/**
 * Data loading (torch.utils.data): datasets, samplers, collates, DataLoader (order, shuffle
 * determinism and coverage, dropLast, prefetch, async datasets) and randomSplit; no tensor
 * outlives its epoch (core's memory stats).
 */
import '@ghostflow/backend-cpu';
import { Generator, type Tensor, arange, memory, setBackend, tensor, tidy } from '@ghostflow/core';
import {
  BatchSampler,
  ConcatDataset,
  DataLoader,
  Dataset,
  IterableDataset,
  PackedSequence,
  RandomSampler,
  SequentialSampler,
  Subset,
  TensorDataset,
  defaultCollate,
  packCollate,
  padCollate,
  randomSplit,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

const rows = (t: Tensor) => t.arraySync();

/** Maps each batch of a synchronous epoch while it is alive (the loader frees it on the next step). */
function each<B, R>(loader: Iterable<B>, fn: (b: B) => R): R[] {
  const out: R[] = [];
  for (const b of loader) out.push(fn(b));
  return out;
}

/** Ten rows `[i, 10 i]` and labels `i % 3`. */
function tenRows(): [Tensor, Tensor] {
  const x = arange(0, 10)
    .float()
    .unsqueeze(1)
    .mul(tensor([[1, 10]]));
  const y = tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], { dtype: 'int32' });
  return [x, y];
}

/** Variable-length sequences: item i is `[i + 1, 2]` filled with i, label i. */
class Ragged extends Dataset<[Tensor, number]> {
  get length() {
    return 5;
  }
  getItem(i: number): [Tensor, number] {
    return [tensor(Array.from({ length: i + 1 }, () => [i, -i])), i];
  }
}

describe('datasets', () => {
  it('TensorDataset rows, Subset, ConcatDataset (negative index), size errors', () => {
    const [x, y] = tenRows();
    const ds = new TensorDataset(x, y);
    expect(ds.length).toBe(10);
    const [xi, yi] = ds.getItem(4);
    expect(rows(xi)).toEqual([4, 40]);
    expect(yi.itemSync()).toBe(1);
    expect(() => new TensorDataset(x, arange(0, 9))).toThrow(/tensor 1 has shape \[9\]/);
    const sub = new Subset(ds, [7, 2]);
    expect(sub.length).toBe(2);
    expect(rows((sub.getItem(1) as Tensor[])[0])).toEqual([2, 20]);
    const cat = new ConcatDataset<Tensor[]>([sub, ds]);
    expect(cat.length).toBe(12);
    expect(cat.cumulativeSizes).toEqual([2, 12]);
    expect(rows((cat.getItem(2) as Tensor[])[0])).toEqual([0, 0]);
    expect(rows((cat.getItem(-1) as Tensor[])[0])).toEqual([9, 90]);
    expect(() => cat.getItem(12)).toThrow(/out of range/);
  });
});

describe('samplers', () => {
  it('sequential, batch (dropLast), random: a seeded permutation, new each epoch', () => {
    expect([...new SequentialSampler(3)]).toEqual([0, 1, 2]);
    expect([...new BatchSampler(new SequentialSampler(5), 2, false)]).toEqual([[0, 1], [2, 3], [4]]);
    const dropped = new BatchSampler(new SequentialSampler(5), 2, true);
    expect([...dropped]).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(dropped.length).toBe(2);
    const a = new RandomSampler(20, { generator: new Generator(7) });
    const b = new RandomSampler(20, { generator: new Generator(7) });
    const a1 = [...a];
    const a2 = [...a];
    expect([...b]).toEqual(a1);
    expect([...b]).toEqual(a2);
    expect(a1).not.toEqual(a2);
    expect([...a1].sort((p, q) => p - q)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(a1).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('collate', () => {
  it('defaultCollate stacks tensors, numbers (int32 / float32), booleans, nested arrays and objects', () => {
    const batch = defaultCollate([
      { x: tensor([1, 2]), n: 1, f: 0.5, b: true, s: 'a', pair: [tensor(3), 4] as [Tensor, number] },
      { x: tensor([3, 4]), n: 2, f: 1, b: false, s: 'b', pair: [tensor(5), 6] as [Tensor, number] },
    ]);
    expect(batch.x.shape).toEqual([2, 2]);
    expect(rows(batch.x)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(batch.n.dtype).toBe('int32');
    expect(rows(batch.n)).toEqual([1, 2]);
    expect(batch.f.dtype).toBe('float32');
    expect(rows(batch.f)).toEqual([0.5, 1]);
    expect(batch.b.dtype).toBe('bool');
    expect(rows(batch.b)).toEqual([true, false]);
    expect(batch.s).toEqual(['a', 'b']);
    expect(rows(batch.pair[0])).toEqual([3, 5]);
    expect(rows(batch.pair[1])).toEqual([4, 6]);
    expect(() => defaultCollate([tensor([1, 2]), tensor([1, 2, 3])])).toThrow(/\[2\] at entry 0 and \[3\] at entry 1.*padCollate/);
  });

  it('padCollate pads sequences and returns their lengths; packCollate packs them (batch order kept)', () => {
    const ds = new Ragged();
    const items = [ds.getItem(2), ds.getItem(0), ds.getItem(1)];
    const [{ padded, lengths }, labels] = padCollate<[Tensor, number]>({ batchFirst: true, paddingValue: -9 })(items);
    expect(lengths).toEqual([3, 1, 2]);
    expect(padded.shape).toEqual([3, 3, 2]);
    expect(rows(padded)).toEqual([
      [
        [2, -2],
        [2, -2],
        [2, -2],
      ],
      [
        [0, -0],
        [-9, -9],
        [-9, -9],
      ],
      [
        [1, -1],
        [1, -1],
        [-9, -9],
      ],
    ]);
    expect(rows(labels)).toEqual([2, 0, 1]);
    const [packed] = packCollate<[Tensor, number]>()(items);
    expect(packed).toBeInstanceOf(PackedSequence);
    expect(packed.batchSizesArray).toEqual([3, 2, 1]);
    expect(packed.data.shape).toEqual([6, 2]);
  });
});

describe('DataLoader', () => {
  it('sequential batches with their values; length and the last batch with and without dropLast', () => {
    const [x, y] = tenRows();
    const ds = new TensorDataset(x, y);
    const loader = new DataLoader(ds, { batchSize: 3 });
    expect(loader.length).toBe(4);
    const seen: number[][][] = [];
    const labels: number[][] = [];
    for (const [xb, yb] of loader) {
      seen.push(rows(xb) as number[][]);
      labels.push(rows(yb) as number[]);
    }
    expect(seen.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(seen[1]).toEqual([
      [3, 30],
      [4, 40],
      [5, 50],
    ]);
    expect(labels).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2], [0]]);
    const dl = new DataLoader(ds, { batchSize: 3, dropLast: true });
    expect(dl.length).toBe(3);
    expect(each(dl, () => 1).length).toBe(3);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/positive integer/);
    expect(() => new DataLoader(ds, { shuffle: true, sampler: new SequentialSampler(10) })).toThrow(/mutually exclusive/);
  });

  it('shuffle with a seeded generator: reproducible, a new order each epoch, each index exactly once', async () => {
    const [x, y] = tenRows();
    const ds = new TensorDataset(x, y);
    const epochOrder = async (loader: DataLoader<Tensor[]>) => {
      const order: number[] = [];
      for await (const [xb] of loader) for (const r of rows(xb) as number[][]) order.push(r[0]);
      return order;
    };
    const a = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(123) });
    const b = new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(123) });
    const a1 = await epochOrder(a);
    const a2 = await epochOrder(a);
    expect(await epochOrder(b)).toEqual(a1);
    expect(await epochOrder(b)).toEqual(a2);
    expect(a1).not.toEqual(a2);
    for (const e of [a1, a2]) expect([...e].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const c = await epochOrder(new DataLoader(ds, { batchSize: 4, shuffle: true, generator: new Generator(124) }));
    expect(c).not.toEqual(a1);
  });

  it('batchSampler, sampler and unbatched (batchSize null) options', () => {
    const [x, y] = tenRows();
    const ds = new TensorDataset(x, y);
    const bs = new DataLoader(ds, { batchSampler: [[9, 0], [5]] as unknown as BatchSampler });
    expect(each(bs, ([xb]) => (rows(xb) as number[][]).map((r) => r[0]))).toEqual([[9, 0], [5]]);
    const sampler = Object.assign([3, 1], { length: 2 });
    expect(each(new DataLoader(ds, { sampler, batchSize: 2 }), ([xb]) => (rows(xb) as number[][]).map((r) => r[0]))).toEqual([[3, 1]]);
    const single = each(new DataLoader(ds, { batchSize: null, sampler }), ([xi]) => rows(xi));
    expect(single).toEqual([
      [3, 30],
      [1, 10],
    ]);
  });

  it('async getItem: for await loads the next batch while the current one is used (prefetch)', async () => {
    const log: string[] = [];
    class Slow extends Dataset<number> {
      get length() {
        return 6;
      }
      async getItem(i: number): Promise<number> {
        log.push(`load ${i}`);
        await new Promise((r) => setTimeout(r, 1));
        return i * 2;
      }
    }
    const batches: number[][] = [];
    for await (const b of new DataLoader(new Slow(), { batchSize: 2 })) {
      log.push('use');
      await new Promise((r) => setTimeout(r, 5));
      batches.push(rows(b) as number[]);
    }
    expect(batches).toEqual([
      [0, 2],
      [4, 6],
      [8, 10],
    ]);
    // Batch 1's items were requested before batch 0 was used.
    expect(log.slice(0, 5)).toEqual(['load 0', 'load 1', 'load 2', 'load 3', 'use']);
    log.length = 0;
    for await (const b of new DataLoader(new Slow(), { batchSize: 2, prefetch: false })) {
      log.push('use');
      b.dispose();
    }
    expect(log.slice(0, 3)).toEqual(['load 0', 'load 1', 'use']);
    expect(() => each(new DataLoader(new Slow(), { batchSize: 2 }), () => 1)).toThrow(/for await/);
  });

  it('IterableDataset, sync and async, batched in arrival order (dropLast)', async () => {
    class Count extends IterableDataset<number> {
      *iterate() {
        for (let i = 0; i < 7; i++) yield i;
      }
    }
    class AsyncCount extends IterableDataset<number> {
      async *iterate() {
        for (let i = 0; i < 7; i++) yield i;
      }
    }
    expect(each(new DataLoader(new Count(), { batchSize: 3 }), rows)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    const got: unknown[] = [];
    for await (const b of new DataLoader(new AsyncCount(), { batchSize: 3, dropLast: true })) got.push(rows(b));
    expect(got).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(() => new DataLoader(new Count(), { shuffle: true })).toThrow(/IterableDataset/);
    expect(() => new DataLoader(new Count()).length).toThrow(/no length/);
  });

  it('no tensor outlives its epoch (sync, async, padded, packed, early break); keepBatches hands them over', async () => {
    const [x, y] = tenRows();
    const ds = new TensorDataset(x, y);
    const before = memory().buffers;
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const [xb, yb] of new DataLoader(ds, { batchSize: 4, shuffle: true })) tidy(() => xb.add(yb.unsqueeze(1)).sum().itemSync());
      for await (const [xb] of new DataLoader(ds, { batchSize: 3 })) expect(xb.isDisposed).toBe(false);
      for await (const _ of new DataLoader(new Ragged(), { batchSize: 2, collateFn: padCollate() })) {
      }
      for await (const _ of new DataLoader(new Ragged(), { batchSize: 2, collateFn: packCollate() })) {
      }
      for await (const _ of new DataLoader(ds, { batchSize: 2 })) break;
    }
    expect(memory().buffers).toBe(before);
    const kept: Tensor[] = [];
    for (const [xb, yb] of new DataLoader(ds, { batchSize: 5, keepBatches: true })) kept.push(xb, yb);
    expect(memory().buffers).toBe(before + 4);
    expect(kept.every((t) => !t.isDisposed)).toBe(true);
    for (const t of kept) t.dispose();
    expect(memory().buffers).toBe(before);
  });
});

describe('randomSplit', () => {
  it('lengths or fractions (remainder dealt to the first parts), disjoint, covering, seeded', () => {
    const [x, y] = tenRows();
    const ds = new TensorDataset(x, y);
    const parts = randomSplit(ds, [3, 7], { generator: new Generator(5) });
    expect(parts.map((p) => p.length)).toEqual([3, 7]);
    const all = parts.flatMap((p) => [...p.indices]).sort((a, b) => a - b);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(randomSplit(ds, [3, 7], { generator: new Generator(5) }).map((p) => p.indices)).toEqual(parts.map((p) => p.indices));
    expect(randomSplit(ds, [3, 7], { generator: new Generator(6) })[0].indices).not.toEqual(parts[0].indices);
    const eleven = new Subset(ds, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
    expect(randomSplit(eleven, [0.5, 0.5]).map((p) => p.length)).toEqual([6, 5]);
    expect(randomSplit(ds, [0.3, 0.3, 0.4]).map((p) => p.length)).toEqual([3, 3, 4]);
    expect(() => randomSplit(ds, [3, 3])).toThrow(/does not equal the length/);
  });
});
