/**
 * Recurrent layers beyond the PyTorch fixtures: dropout modes, unbatched input, state-dict
 * names, packing utilities, packed execution against per-sequence runs, errors.
 */
import '@ghostflow/backend-cpu';
import { loadFixture } from '@ghostflow/backend-conformance';
import { DTypeError, GhostFlowError, type Tensor, manualSeed, memory, noGrad, randn, setBackend, tensor, tidy } from '@ghostflow/core';
import {
  GRU,
  GRUCell,
  LSTM,
  LSTMCell,
  PackedSequence,
  RNN,
  RNNCell,
  packPaddedSequence,
  packSequence,
  padPackedSequence,
  padSequence,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

const TOL = { atol: 1e-5, rtol: 1e-5 };

function values(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, Number);
}

function expectClose(actual: Tensor, expected: Tensor, label: string, tol = TOL): void {
  expect([...actual.shape], `${label}: shape`).toEqual([...expected.shape]);
  const a = values(actual);
  const b = values(expected);
  for (let i = 0; i < b.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= tol.atol + tol.rtol * Math.abs(b[i]))) {
      expect.fail(`${label}: element ${i} of [${actual.shape.join(', ')}] is ${a[i]}, expected ${b[i]}`);
    }
  }
}

function expectDiffers(a: Tensor, b: Tensor, label: string): void {
  const x = values(a);
  const y = values(b);
  expect(
    x.some((v, i) => Math.abs(v - y[i]) > 1e-6),
    label,
  ).toBe(true);
}

beforeAll(async () => {
  await setBackend('cpu');
  manualSeed(1234);
});

describe('RNN / LSTM / GRU: structure', () => {
  it('stateDict keys equal PyTorch list for a 2-layer bidirectional projected LSTM', () => {
    const lstm = new LSTM(4, 6, { numLayers: 2, bidirectional: true, projSize: 3 });
    const fx = loadFixture('lstm_proj');
    const sd = lstm.stateDict();
    expect(Object.keys(sd)).toEqual([
      'weight_ih_l0',
      'weight_hh_l0',
      'bias_ih_l0',
      'bias_hh_l0',
      'weight_hr_l0',
      'weight_ih_l0_reverse',
      'weight_hh_l0_reverse',
      'bias_ih_l0_reverse',
      'bias_hh_l0_reverse',
      'weight_hr_l0_reverse',
      'weight_ih_l1',
      'weight_hh_l1',
      'bias_ih_l1',
      'bias_hh_l1',
      'weight_hr_l1',
      'weight_ih_l1_reverse',
      'weight_hh_l1_reverse',
      'bias_ih_l1_reverse',
      'bias_hh_l1_reverse',
      'weight_hr_l1_reverse',
    ]);
    expect(Object.keys(sd)).toEqual(Object.keys(fx.state_dict));
    for (const [k, spec] of Object.entries(fx.state_dict)) expect([...sd[k].shape], k).toEqual(spec.shape);
    expect(lstm.allWeightNames).toHaveLength(4);
    expect(lstm.allWeights[3].map((t) => [...t.shape])).toEqual([[24, 6], [24, 3], [24], [24], [3, 6]]);
  });

  it('bias=false registers no biases; parameters start in U(-1/sqrt(H), 1/sqrt(H))', () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 16, numLayers: 2, bias: false });
    expect(Object.keys(gru.stateDict())).toEqual(['weight_ih_l0', 'weight_hh_l0', 'weight_ih_l1', 'weight_hh_l1']);
    expect(gru.stateDict().weight_ih_l1.shape).toEqual([48, 16]);
    const cell = new LSTMCell(3, 16, { bias: false });
    expect(Object.keys(cell.stateDict())).toEqual(['weight_ih', 'weight_hh']);
    expect(cell.bias_ih).toBeNull();
    const rnn = new RNN(5, 16, { bidirectional: true, numLayers: 2 });
    expect(rnn.stateDict().weight_ih_l1_reverse.shape).toEqual([16, 32]);
    for (const p of rnn.parameters()) {
      const v = values(p);
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(0.25);
    }
    expect(rnn.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('validates options', () => {
    expect(() => new LSTM(4, 6, { projSize: 6 })).toThrow(/projSize has to be smaller than hiddenSize/);
    expect(() => new GRU(4, 6, { dropout: 1.5 })).toThrow(/dropout/);
    expect(() => new RNN(4, 6, { nonlinearity: 'sigmoid' as 'tanh' })).toThrow(/nonlinearity/);
    expect(() => new RNN(4, 0)).toThrow(/hiddenSize must be a positive integer, got 0/);
    expect(() => new LSTM(4, 6, { numLayers: 0 })).toThrow(/numLayers/);
  });
});

describe('RNN / LSTM / GRU: dropout between layers', () => {
  it('is inactive in eval mode (deterministic, equal to dropout 0) and active in training', () => {
    const a = new LSTM(3, 5, { numLayers: 3, dropout: 0.5 });
    const b = new LSTM(3, 5, { numLayers: 3 });
    b.loadStateDict(a.stateDict());
    const x = randn([6, 2, 3]);
    a.eval();
    b.eval();
    const [o1, [h1]] = a.forward(x);
    const [o2, [h2]] = a.forward(x);
    const [o3, [h3]] = b.forward(x);
    expectClose(o1, o2, 'eval run 1 vs 2');
    expectClose(o1, o3, 'eval with dropout vs without');
    expectClose(h1, h3, 'eval hN');
    expect(h2.shape).toEqual([3, 2, 5]);
    a.train();
    b.train();
    const [o4] = a.forward(x);
    const [o5] = b.forward(x);
    expectDiffers(o4, o1, 'training with dropout differs from eval');
    expectClose(o5, o1, 'training without dropout equals eval');
  });

  it('never drops the last layer output (1 layer: no effect) and gradients flow through the mask', () => {
    const gru = new GRU(3, 4, { dropout: 0.9 });
    const x = randn([5, 2, 3]);
    const [o1] = gru.forward(x);
    gru.eval();
    const [o2] = gru.forward(x);
    expectClose(o1, o2, 'single layer ignores dropout');
    const rnn = new RNN(3, 4, { numLayers: 2, dropout: 0.3 });
    const xi = randn([5, 2, 3]).requiresGrad_();
    const [o] = rnn.forward(xi);
    o.sum().backward();
    expect(xi.grad?.shape).toEqual([5, 2, 3]);
    expect(rnn.stateDict().weight_ih_l1.grad).not.toBeNull();
  });
});

describe('RNN / LSTM / GRU: unbatched input', () => {
  for (const batchFirst of [false, true]) {
    it(`equals the batched B=1 result squeezed (batchFirst ${batchFirst})`, () => {
      const nets = [
        new RNN(3, 4, { numLayers: 2, bidirectional: true, batchFirst }),
        new GRU(3, 4, { numLayers: 2, bidirectional: true, batchFirst }),
        new LSTM(3, 5, { numLayers: 2, bidirectional: true, batchFirst, projSize: 2 }),
      ];
      const x = randn([6, 3]);
      const xb = batchFirst ? x.unsqueeze(0) : x.unsqueeze(1);
      for (const net of nets) {
        const label = net.constructor.name;
        const D = 2;
        const Hout = net.outputHiddenSize;
        const h0 = randn([2 * D, Hout]);
        if (net instanceof LSTM) {
          const c0 = randn([2 * D, 5]);
          const [o, [h, c]] = net.forward(x, [h0, c0]);
          const [ob, [hb, cb]] = net.forward(xb, [h0.unsqueeze(1), c0.unsqueeze(1)]);
          expect(o.shape).toEqual([6, D * Hout]);
          expect(h.shape).toEqual([2 * D, Hout]);
          expect(c.shape).toEqual([2 * D, 5]);
          expectClose(o, ob.squeeze(batchFirst ? 0 : 1), `${label} output`);
          expectClose(h, hb.squeeze(1), `${label} hN`);
          expectClose(c, cb.squeeze(1), `${label} cN`);
        } else {
          const rnn = net as RNN | GRU;
          const [o, h] = rnn.forward(x, h0);
          const [ob, hb] = rnn.forward(xb, h0.unsqueeze(1));
          expect(o.shape).toEqual([6, D * Hout]);
          expectClose(o, ob.squeeze(batchFirst ? 0 : 1), `${label} output`);
          expectClose(h, hb.squeeze(1), `${label} hN`);
        }
      }
    });
  }

  it('cells accept 1-D input and state', () => {
    const x = randn([3]);
    const rnn = new RNNCell(3, 4, { nonlinearity: 'relu' });
    const gru = new GRUCell(3, 4);
    const lstm = new LSTMCell(3, 4);
    const h = randn([4]);
    const c = randn([4]);
    expectClose(rnn.forward(x, h), rnn.forward(x.unsqueeze(0), h.unsqueeze(0)).squeeze(0), 'RNNCell');
    expectClose(gru.forward(x, h), gru.forward(x.unsqueeze(0), h.unsqueeze(0)).squeeze(0), 'GRUCell');
    const [h1, c1] = lstm.forward(x, [h, c]);
    const [h2, c2] = lstm.forward(x.unsqueeze(0), [h.unsqueeze(0), c.unsqueeze(0)]);
    expectClose(h1, h2.squeeze(0), 'LSTMCell h');
    expectClose(c1, c2.squeeze(0), 'LSTMCell c');
    expect(gru.forward(x).shape).toEqual([4]);
  });

  it('cell loop equals the network (1 layer, zero state)', () => {
    const cell = new GRUCell(3, 4);
    const net = new GRU(3, 4);
    net.loadStateDict({
      weight_ih_l0: cell.weight_ih,
      weight_hh_l0: cell.weight_hh,
      bias_ih_l0: cell.bias_ih as Tensor,
      bias_hh_l0: cell.bias_hh as Tensor,
    });
    const x = randn([4, 2, 3]);
    let h: Tensor | null = null;
    const outs: Tensor[] = [];
    for (let t = 0; t < 4; t++) {
      const step: Tensor = cell.forward(x.select(0, t), h);
      outs.push(step);
      h = step;
    }
    const [o, hN] = net.forward(x);
    for (let t = 0; t < 4; t++) expectClose(o.select(0, t), outs[t], `step ${t}`);
    expectClose(hN.select(0, 0), outs[3], 'hN');
  });
});

describe('RNN / LSTM / GRU: inference (one fused call per layer on cpu) equals the autograd path', () => {
  // With no gradient needed, each layer is core's recurrentLayer as one kernel call on cpu; with
  // gradients it is the composition. Same values bit for bit, whatever the input's form.
  const both = (run: () => Tensor[]): [number[][], number[][]] => {
    const grad = tidy(() => run().map(values));
    const inference = noGrad(() => tidy(() => run().map(values)));
    return [inference, grad];
  };
  const cases: [string, () => Tensor[]][] = [];
  manualSeed(3);
  const lstm = new LSTM(5, 7, { numLayers: 3, bidirectional: true, projSize: 3, batchFirst: true });
  const xb = randn([4, 6, 5]);
  const h0 = randn([6, 4, 3]);
  const c0 = randn([6, 4, 7]);
  cases.push([
    'LSTM 3 layers, bidirectional, projSize, batch-first, given states',
    () => {
      const [out, [h, c]] = lstm.forward(xb, [h0, c0]);
      return [out, h, c];
    },
  ]);
  const gru = new GRU(5, 9, { numLayers: 2, bidirectional: true });
  const xu = randn([6, 5]);
  cases.push([
    'GRU 2 layers, bidirectional, unbatched',
    () => {
      const [out, h] = gru.forward(xu);
      return [out, h];
    },
  ]);
  const rnn = new RNN(5, 6, { numLayers: 2, nonlinearity: 'relu', batchFirst: true });
  cases.push([
    'RNN relu 2 layers, batch-first',
    () => {
      const [out, h] = rnn.forward(xb);
      return [out, h];
    },
  ]);
  const packedLstm = new LSTM(5, 4, { numLayers: 2, bidirectional: true });
  const seqs = [randn([2, 5]), randn([5, 5]), randn([3, 5])];
  cases.push([
    'LSTM 2 layers, bidirectional, packed (unsorted lengths)',
    () => {
      const [out, [h, c]] = packedLstm.forward(packSequence(seqs, { enforceSorted: false }));
      return [out.data, h, c];
    },
  ]);
  for (const [name, run] of cases) {
    it(name, () => {
      const [inference, grad] = both(run);
      expect(inference.length).toBe(grad.length);
      inference.forEach((v, i) => {
        expect(v.length).toBe(grad[i].length);
        v.forEach((x, j) => {
          if (!Object.is(x, grad[i][j])) expect.fail(`${name}: result ${i}[${j}]: inference ${x}, autograd path ${grad[i][j]}`);
        });
      });
    });
  }
});

describe('packing utilities', () => {
  it('packPaddedSequence matches PyTorch batch sizes, order and data (unsorted, batchFirst)', () => {
    // x[b, t] = 10*b + t
    const x = tensor(
      Float32Array.from({ length: 4 * 5 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5)),
      { shape: [4, 5, 1] },
    );
    const p = packPaddedSequence(x, [5, 3, 1, 4], { batchFirst: true, enforceSorted: false });
    expect(values(p.batchSizes)).toEqual([4, 3, 3, 2, 1]);
    expect(values(p.sortedIndices as Tensor)).toEqual([0, 3, 1, 2]);
    expect(values(p.unsortedIndices as Tensor)).toEqual([0, 2, 3, 1]);
    expect(values(p.data)).toEqual([0, 30, 10, 20, 1, 31, 11, 2, 32, 12, 3, 33, 4]);
    expect(p.lengths()).toEqual([5, 3, 1, 4]);
    const [padded, lengths] = padPackedSequence(p, { batchFirst: true, paddingValue: -1, totalLength: 6 });
    expect(padded.shape).toEqual([4, 6, 1]);
    expect(values(lengths)).toEqual([5, 3, 1, 4]);
    expect(values(padded.select(0, 1).squeeze(1))).toEqual([10, 11, 12, -1, -1, -1]);
    expect(values(padded.select(0, 3).squeeze(1))).toEqual([30, 31, 32, 33, -1, -1]);
    const [tm] = padPackedSequence(p);
    expect(tm.shape).toEqual([5, 4, 1]);
    expect(values(tm.select(1, 2).squeeze(1))).toEqual([20, 0, 0, 0, 0]);
  });

  it('accepts lengths as an int32 tensor; sorted input records no permutation', () => {
    const x = randn([3, 2, 2]);
    const p = packPaddedSequence(x, tensor(Int32Array.from([3, 2]), { dtype: 'int32' }));
    expect(p.sortedIndices).toBeNull();
    expect(values(p.batchSizes)).toEqual([2, 2, 1]);
    const [back] = padPackedSequence(p);
    expectClose(back.narrow(0, 0, 2), x.narrow(0, 0, 2), 'roundtrip');
  });

  it('errors: unsorted with enforceSorted, bad lengths, short totalLength', () => {
    const x = randn([3, 2, 2]);
    expect(() => packPaddedSequence(x, [2, 3])).toThrow(/enforceSorted/);
    expect(() => packPaddedSequence(x, [4, 3])).toThrow(/exceeds/);
    expect(() => packPaddedSequence(x, [3, 0])).toThrow(/positive/);
    expect(() => packPaddedSequence(x, [3])).toThrow(/expected 2 lengths/);
    const p = packPaddedSequence(x, [3, 2]);
    expect(() => padPackedSequence(p, { totalLength: 2 })).toThrow(/totalLength/);
  });

  it('padSequence and packSequence', () => {
    const a = tensor([[1], [2], [3]]);
    const b = tensor([[4]]);
    const c = tensor([[5], [6]]);
    const padded = padSequence([a, b, c], { batchFirst: true, paddingValue: 9 });
    expect(padded.shape).toEqual([3, 3, 1]);
    expect(values(padded)).toEqual([1, 2, 3, 4, 9, 9, 5, 6, 9]);
    expect(padSequence([a, b, c]).shape).toEqual([3, 3, 1]);
    expect(() => packSequence([a, b, c])).toThrow(/enforceSorted/);
    const p = packSequence([a, b, c], { enforceSorted: false });
    expect(values(p.data)).toEqual([1, 5, 4, 2, 6, 3]);
    expect(values(p.batchSizes)).toEqual([3, 2, 1]);
    const direct = new PackedSequence(p.data, [3, 2, 1], [0, 2, 1]);
    expect(values(direct.unsortedIndices as Tensor)).toEqual([0, 2, 1]);
    expect(() => new PackedSequence(p.data, [3, 2])).toThrow(/sum to 5/);
  });
});

describe('packed execution', () => {
  const lengths = [2, 5, 1, 4];
  for (const kind of ['RNN', 'LSTM', 'GRU'] as const) {
    it(`${kind}: each sequence as if run alone on its own length (bidirectional, 2 layers, h0 given)`, () => {
      const opts = { numLayers: 2, bidirectional: true, batchFirst: true };
      const net = kind === 'RNN' ? new RNN(3, 4, opts) : kind === 'GRU' ? new GRU(3, 4, opts) : new LSTM(3, 4, { ...opts, projSize: 2 });
      const Hout = net.outputHiddenSize;
      const x = randn([4, 5, 3]).requiresGrad_();
      const h0 = randn([4, 4, Hout]);
      const c0 = randn([4, 4, 4]);
      const packed = packPaddedSequence(x, lengths, { batchFirst: true, enforceSorted: false });
      let out: PackedSequence;
      let hN: Tensor;
      let cN: Tensor | null = null;
      if (net instanceof LSTM) {
        const r = net.forward(packed, [h0, c0]);
        out = r[0];
        [hN, cN] = r[1];
      } else {
        [out, hN] = (net as RNN | GRU).forward(packed, h0);
      }
      expect(out).toBeInstanceOf(PackedSequence);
      expect(values(out.batchSizes)).toEqual(values(packed.batchSizes));
      const [padded] = padPackedSequence(out, { batchFirst: true });
      expect(padded.shape).toEqual([4, 5, 2 * Hout]);
      padded.mul(padded).sum().add(hN.sum()).backward();
      const packedGrad = values(x.grad as Tensor);

      for (let b = 0; b < 4; b++) {
        const L = lengths[b];
        const xb = x.detach().select(0, b).narrow(0, 0, L).requiresGrad_();
        let ob: Tensor;
        let hb: Tensor;
        if (net instanceof LSTM) {
          const r = net.forward(xb, [h0.select(1, b), c0.select(1, b)]);
          ob = r[0];
          hb = r[1][0];
          expectClose((cN as Tensor).select(1, b), r[1][1], `${kind} cN[${b}]`);
        } else {
          [ob, hb] = (net as RNN | GRU).forward(xb, h0.select(1, b));
        }
        expectClose(padded.select(0, b).narrow(0, 0, L), ob, `${kind} output[${b}]`);
        if (L < 5)
          expect(
            values(padded.select(0, b).narrow(0, L, 5 - L)).every((v) => v === 0),
            `${kind} zero past length ${b}`,
          ).toBe(true);
        expectClose(hN.select(1, b), hb, `${kind} hN[${b}]`);
        ob.mul(ob).sum().add(hb.sum()).backward();
        const g = values(xb.grad as Tensor);
        const pg = packedGrad.slice(b * 15, b * 15 + L * 3);
        pg.forEach((v, i) => expect(Math.abs(v - g[i]), `${kind} input grad[${b}][${i}]`).toBeLessThan(1e-5));
        expect(
          packedGrad.slice(b * 15 + L * 3, (b + 1) * 15).every((v) => v === 0),
          `${kind} zero grad past length`,
        ).toBe(true);
      }
    });
  }
});

describe('memory', () => {
  it('forward + backward inside tidy frees every intermediate (dense and packed)', () => {
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, projSize: 2, dropout: 0.2 });
    const gru = new GRU(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true });
    const run = () =>
      tidy(() => {
        const x = randn([5, 2, 3]).requiresGrad_();
        const [o, [h, c]] = lstm.forward(x);
        o.sum().add(h.sum()).add(c.sum()).backward();
        const xp = randn([3, 5, 3]).requiresGrad_();
        const [op, hp] = gru.forward(packPaddedSequence(xp, [2, 5, 3], { batchFirst: true, enforceSorted: false }), randn([4, 3, 4]));
        padPackedSequence(op, { batchFirst: true })[0].sum().add(hp.sum()).backward();
      });
    run();
    lstm.zeroGrad();
    gru.zeroGrad();
    const before = memory().buffers;
    run();
    lstm.zeroGrad();
    gru.zeroGrad();
    expect(memory().buffers).toBe(before);
  });
});

describe("tidy keeps the library's own return types", () => {
  it('PackedSequence, [output, [hN, cN]] and padPackedSequence results survive tidy; PackedSequence.dispose frees them', async () => {
    const lstm = new LSTM(3, 4);
    const x = randn([4, 3, 3]);
    const before = memory().buffers;
    const packed = tidy(() => packPaddedSequence(x.mul(2), [4, 2, 3], { enforceSorted: false }));
    expect(packed.data.isDisposed).toBe(false);
    expect(packed.sortedIndices?.isDisposed).toBe(false);
    const [out, [hN, cN]] = tidy(() => lstm.forward(packed));
    for (const t of [out.data, out.batchSizes, out.unsortedIndices as Tensor, hN, cN]) expect(t.isDisposed).toBe(false);
    const [padded, lengths] = tidy(() => padPackedSequence(out));
    expect(await lengths.array()).toEqual([4, 2, 3]);
    expect(padded.shape).toEqual([4, 3, 4]);
    // The output's index tensors are its own views: disposing the input keeps them.
    packed.dispose();
    expect(packed.isDisposed).toBe(true);
    expect(out.batchSizes.isDisposed).toBe(false);
    expect(await out.batchSizes.array()).toEqual([3, 3, 2, 1]);
    for (const t of [out, hN, cN, padded, lengths]) t.dispose();
    expect(memory().buffers).toBe(before);
    lstm.dispose();
    x.dispose();
  });
});

describe('errors name what was expected and what came', () => {
  it('RNN / LSTM / GRU', () => {
    const lstm = new LSTM(3, 4, { numLayers: 2 });
    expect(() => lstm.forward(randn([2, 2, 2, 3]))).toThrow(/expected input to be 2-D .* or 3-D .*got 4-D input of shape \[2, 2, 2, 3\]/);
    expect(() => lstm.forward(randn([5, 2, 7]))).toThrow(/expected 3, got 7/);
    expect(() => lstm.forward(randn([5, 2, 3]), [randn([1, 2, 4]), randn([2, 2, 4])])).toThrow(
      /expected h0 of shape \[2, 2, 4\], got \[1, 2, 4\]/,
    );
    expect(() => lstm.forward(randn([5, 2, 3]), [randn([2, 2, 4]), randn([2, 3, 4])])).toThrow(
      /expected c0 of shape \[2, 2, 4\], got \[2, 3, 4\]/,
    );
    const gru = new GRU(3, 4, { bidirectional: true, batchFirst: true });
    expect(() => gru.forward(randn([2, 5, 3]), randn([2, 5, 4]))).toThrow(/expected hx of shape \[2, 2, 4\], got \[2, 5, 4\]/);
    expect(() => gru.forward(randn([5, 3]), randn([2, 1, 4]))).toThrow(/expected hx of shape \[2, 4\].*unbatched/);
    const proj = new LSTM(3, 4, { projSize: 2 });
    expect(() => proj.forward(randn([5, 2, 3]), [randn([1, 2, 4]), randn([1, 2, 4])])).toThrow(
      /expected h0 of shape \[1, 2, 2\], got \[1, 2, 4\]/,
    );
    const rnn = new RNN(3, 4);
    expect(() => rnn.forward(packPaddedSequence(randn([3, 2, 5]), [3, 2]))).toThrow(/expected 3, got 5/);
  });

  it('malformed states are refused as PyTorch refuses them, never run from zeros', () => {
    const x = randn([5, 2, 3]);
    const h = randn([1, 2, 4]);
    const c = randn([1, 2, 4]);
    const lstm = new LSTM(3, 4);
    // A single tensor where [h0, c0] belongs used to index to undefined, i.e. zero states.
    expect(() => lstm.forward(x, h as never)).toThrow(
      /LSTM: argument 'hx' must be a pair \[h0, c0\] of tensors \(lstm expects two hidden states\), got a tensor of shape \[1, 2, 4\]/,
    );
    expect(() => lstm.forward(x, [h] as never)).toThrow(/LSTM: lstm expects two hidden states \[h0, c0\], got an array of 1/);
    expect(() => lstm.forward(x, [h, c, h] as never)).toThrow(/lstm expects two hidden states \[h0, c0\], got an array of 3/);
    expect(() => lstm.forward(x, [h, 5] as never)).toThrow(/expected Tensor as element 1 \(c0\) of argument 'hx', but got number 5/);
    expect(() => lstm.forward(x, [h, c.int()])).toThrow(DTypeError);
    expect(() => lstm.forward(x, [h, c.int()])).toThrow(/expected c0 with dtype float32 \(like the weights\), got int32/);
    // null entries stay "zeros" for the multi-layer LSTM (documented), so this still runs.
    const [o] = lstm.forward(x, [h, null]);
    expect(o.shape).toEqual([5, 2, 4]);
    // GRU / RNN given [h0, c0] used to die in a TypeError deep inside.
    for (const net of [new GRU(3, 4), new RNN(3, 4)]) {
      const name = net.constructor.name;
      expect(() => net.forward(x, [h, c] as never)).toThrow(GhostFlowError);
      expect(() => net.forward(x, [h, c] as never)).toThrow(
        new RegExp(`${name}: argument 'hx' must be Tensor, not an array of 2 \\(${name} has one hidden state; \\[h0, c0\\] is LSTM's\\)`),
      );
      expect(() => net.forward(x, 'h' as never)).toThrow(/argument 'hx' must be Tensor, not string h/);
    }
  });

  it('cells refuse malformed states as PyTorch does', () => {
    const xi = randn([2, 3]);
    const hi = randn([2, 4]);
    const ci = randn([2, 4]);
    const lstmCell = new LSTMCell(3, 4);
    expect(() => lstmCell.forward(xi, hi as never)).toThrow(
      /LSTMCell: argument 'hx' must be a pair \[h0, c0\] of tensors \(lstm expects two hidden states\)/,
    );
    expect(() => lstmCell.forward(xi, [hi] as never)).toThrow(/LSTMCell: lstm expects two hidden states/);
    expect(() => lstmCell.forward(xi, [hi, ci, hi] as never)).toThrow(/LSTMCell: lstm expects two hidden states/);
    // PyTorch's LSTMCell takes two tensors: "expected Tensor as element 1 in argument 1, but got NoneType".
    expect(() => lstmCell.forward(xi, [hi, null] as never)).toThrow(
      /LSTMCell: expected Tensor as element 1 \(c0\) of argument 'hx', but got null/,
    );
    for (const cell of [new GRUCell(3, 4), new RNNCell(3, 4)]) {
      const name = cell.constructor.name;
      expect(() => cell.forward(xi, [hi, ci] as never)).toThrow(new RegExp(`${name}: argument 'hx' must be Tensor, not an array of 2`));
      expect(() => cell.forward(xi, hi.int())).toThrow(/expected hx with dtype float32/);
    }
  });

  it('cells', () => {
    const cell = new LSTMCell(3, 4);
    expect(() => cell.forward(randn([2, 2, 3]))).toThrow(/expected input to be 1-D .* or 2-D .*got 3-D/);
    expect(() => cell.forward(randn([2, 5]))).toThrow(/expected 3, got 5/);
    expect(() => cell.forward(randn([2, 3]), [randn([3, 4]), randn([2, 4])])).toThrow(/expected h0 of shape \[2, 4\].*got \[3, 4\]/);
    const rnn = new RNNCell(3, 4);
    expect(() => rnn.forward(randn([3]), randn([1, 4]))).toThrow(/expected hx of shape \[4\] for unbatched/);
  });
});
