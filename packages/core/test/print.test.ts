import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import {
  type Backend,
  type DType,
  type PrintOptions,
  type Tensor,
  findBackend,
  getPrintOptions,
  loadBackend,
  registerBackend,
  removeBackend,
  setPrintOptions,
  tensor,
} from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { afterEach, describe, expect, it } from 'vitest';

interface PrintCase {
  name: string;
  shape: number[];
  dtype: DType;
  data: (number | boolean | 'nan' | 'inf' | '-inf')[];
  requires_grad: boolean;
  grad_fn: 'mul2' | null;
  options: { precision?: number; threshold?: number; edgeitems?: number; linewidth?: number; sci_mode?: boolean | null };
  repr: string;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/print-cases.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: PrintCase[];
};

const decode = (v: PrintCase['data'][number]): number => {
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
};

/** PyTorch's field spellings -> GhostFlow's (see tools/torch-cases/print_cases.py). */
const toGhostFlow = (text: string): string =>
  text
    .replace('requires_grad=True', 'requiresGrad=true')
    .replace('grad_fn=<MulBackward0>', 'gradFn=<mul>')
    .replace(/size=\(([\d, ]+?),?\)/, (_, dims: string) => `shape=[${dims}]`)
    .replace('dtype=torch.int64', 'dtype=int32')
    .replace('dtype=torch.bool', 'dtype=bool');

function build(c: PrintCase): Tensor {
  const leaf = tensor(c.data.map(decode), { dtype: c.dtype }).reshape(c.shape);
  if (!c.requires_grad) return leaf;
  leaf.requiresGrad = true;
  return c.grad_fn === 'mul2' ? leaf.mul(2) : leaf;
}

const defaults = getPrintOptions();
afterEach(() => setPrintOptions(defaults));

describe(`tensor printing matches PyTorch ${fixture.torch} repr`, () => {
  it('has the generated cases', () => {
    expect(fixture.cases.length).toBeGreaterThan(50);
  });
  for (const c of fixture.cases) {
    it(c.name, async () => {
      const { sci_mode, ...rest } = c.options;
      const opts: Partial<PrintOptions> = { ...rest };
      if (sci_mode !== undefined) opts.sciMode = sci_mode;
      setPrintOptions(opts);
      const t = build(c);
      const expected = toGhostFlow(c.repr);
      expect(t.toString()).toBe(expected);
      expect(await t.format()).toBe(expected);
    });
  }
});

describe('printing hooks', () => {
  it('util.inspect and template strings show the values', () => {
    const t = tensor([1, 2.5]);
    expect(inspect(t)).toBe('tensor([1.0000, 2.5000])');
    expect(`${t}`).toBe('tensor([1.0000, 2.5000])');
    expect(inspect({ w: t })).toContain('tensor([1.0000, 2.5000])');
  });

  it('a disposed tensor prints without throwing', () => {
    const t = tensor([1, 2]);
    t.dispose();
    expect(String(t)).toBe('tensor(<disposed>, shape=[2], dtype=float32)');
  });

  it('a non-contiguous view prints its logical order', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]).transpose(0, 1);
    expect(String(t)).toBe('tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]])');
  });

  it('profiles reset the numeric options', () => {
    setPrintOptions({ profile: 'short' });
    expect(getPrintOptions()).toMatchObject({ precision: 2, edgeitems: 2, threshold: 1000 });
    expect(String(tensor([1 / 3]))).toBe('tensor([0.33])');
    setPrintOptions({ profile: 'default', precision: 3 });
    expect(getPrintOptions()).toMatchObject({ precision: 3, edgeitems: 3 });
  });

  it('rejects bad options, naming what came', () => {
    expect(() => setPrintOptions({ precision: -1 })).toThrow(/precision must be a non-negative integer, got -1/);
    expect(() => setPrintOptions({ threshold: 1.5 })).toThrow(/threshold/);
  });

  it('on a backend without synchronous reads, toString says to await format() and format() works', async () => {
    // The cpu backend seen through a view that hides readSync, as a GPU backend would (and
    // without dispose, so removing it leaves cpu alone).
    const cpu = findBackend('cpu');
    const asyncOnly = Object.create(cpu, {
      name: { value: 'async-print' },
      readSync: { value: undefined },
      dispose: { value: undefined },
    }) as Backend;
    registerBackend('async-print', () => asyncOnly);
    try {
      await loadBackend('async-print');
      const t = tensor([1, 2.5], { device: 'async-print' });
      expect(String(t)).toBe(
        "tensor(<on async-print: use 'await t.print()' or 'await t.format()' to see the values>, shape=[2], dtype=float32)",
      );
      expect(await t.format()).toBe("tensor([1.0000, 2.5000], device='async-print')");
      t.dispose();
    } finally {
      removeBackend('async-print');
    }
  });
});
