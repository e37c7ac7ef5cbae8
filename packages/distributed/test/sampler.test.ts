/** DistributedSampler in one process (explicit numReplicas/rank): PyTorch's sharding, seeded shuffles. */
import { describe, expect, it } from 'vitest';
import { DistributedError, DistributedSampler } from '../src/index.js';

const shares = (n: number, r: number, o: { shuffle?: boolean; dropLast?: boolean; seed?: number; epoch?: number } = {}) =>
  Array.from({ length: r }, (_, rank) => {
    const s = new DistributedSampler(n, { numReplicas: r, rank, shuffle: o.shuffle, dropLast: o.dropLast, seed: o.seed });
    s.setEpoch(o.epoch ?? 0);
    return [...s];
  });

describe('DistributedSampler', () => {
  it('without shuffle, matches torch.utils.data.DistributedSampler (padding and dropLast)', () => {
    // values printed by PyTorch 1.13 for range(n), shuffle=False
    expect(shares(10, 3, { shuffle: false })).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7, 0],
      [2, 5, 8, 1],
    ]);
    expect(shares(10, 3, { shuffle: false, dropLast: true })).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
    expect(shares(2, 3, { shuffle: false })).toEqual([[0], [1], [0]]);
    expect(new DistributedSampler(10, { numReplicas: 3, rank: 0 }).length).toBe(4);
  });

  it('shuffled shares are disjoint, cover the dataset, agree across ranks for one epoch and change with the epoch', () => {
    const e0 = shares(12, 4, { seed: 5, epoch: 0 });
    expect(e0.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(e0).toEqual(shares(12, 4, { seed: 5, epoch: 0 }));
    const e1 = shares(12, 4, { seed: 5, epoch: 1 });
    expect(e1).not.toEqual(e0);
    expect(e1.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(shares(12, 4, { seed: 6, epoch: 0 })).not.toEqual(e0);
    expect(e0.flat()).not.toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('rejects a rank outside [0, numReplicas)', () => {
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 })).toThrow(DistributedError);
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 })).toThrow(/\[0, 1\], got 2/);
  });

  it('defaults to one replica without a process group', () => {
    expect([...new DistributedSampler(3, { shuffle: false })]).toEqual([0, 1, 2]);
  });
});
