/**
 * Transformer layers (the encoder/decoder/Transformer PyTorch golden cases run in
 * torch-fixtures.test.ts, through the conformance kit's fixture runner): naming, init, masks
 * and stacking semantics.
 */
import '@ghostflow/backend-cpu';
import { type Tensor, randn, setBackend, tensor } from '@ghostflow/core';
import {
  LayerNorm,
  Transformer,
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
  causalMask,
  generateSquareSubsequentMask,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectTensorsClose } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('Transformer semantics', () => {
  it('generateSquareSubsequentMask is -inf above the diagonal, 0 elsewhere (torch)', () => {
    expect(generateSquareSubsequentMask(3).arraySync()).toEqual([
      [0, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
      [0, 0, Number.NEGATIVE_INFINITY],
      [0, 0, 0],
    ]);
    expect(Transformer.generateSquareSubsequentMask(2).arraySync()).toEqual([
      [0, Number.NEGATIVE_INFINITY],
      [0, 0],
    ]);
  });

  it('Transformer: PyTorch names, xavier-uniform init of every >1-D parameter, defaults', () => {
    const model = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 16 });
    const keys = Object.keys(model.stateDict());
    expect(keys.filter((k) => k.startsWith('encoder.')).length).toBe(2 * 12 + 2);
    expect(keys).toContain('decoder.layers.0.multihead_attn.in_proj_weight');
    expect(keys).toContain('encoder.norm.weight');
    expect(keys.at(-1)).toBe('decoder.norm.bias');
    for (const [k, p] of Object.entries(model.stateDict())) {
      const values = Array.from(p.dataSync() as Float32Array);
      if (p.rank > 1) {
        const bound = Math.sqrt(6 / (p.shape[0] + p.shape[1]));
        expect(
          values.every((v) => Math.abs(v) <= bound + 1e-7),
          `${k} within xavier bound`,
        ).toBe(true);
        expect(Math.max(...values.map(Math.abs)), `${k} uses the range`).toBeGreaterThan(bound * 0.5);
      }
    }
    // Layers are independently re-initialised (not tied copies).
    const w0 = model.stateDict()['encoder.layers.0.linear1.weight'].dataSync();
    const w1 = model.stateDict()['encoder.layers.1.linear1.weight'].dataSync();
    expect(Array.from(w0)).not.toEqual(Array.from(w1));
    expect(() => model.forward(randn([3, 2, 8]), randn([4, 3, 8]))).toThrow(/batch number/);
    expect(() => model.forward(randn([3, 2, 6]), randn([4, 2, 6]))).toThrow(/dModel=8/);
    expect(model.forward(randn([3, 2, 8]), randn([4, 2, 8])).shape).toEqual([4, 2, 8]);
  });

  it('TransformerEncoder/Decoder copy the given layer (like deepcopy) and register an optional final norm', () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new TransformerEncoder(layer, 3, new LayerNorm(8));
    const sd = enc.stateDict();
    expect(Object.keys(sd).filter((k) => k.startsWith('layers.2.')).length).toBe(12);
    expect(Object.keys(sd).slice(-2)).toEqual(['norm.weight', 'norm.bias']);
    expect(Array.from(sd['layers.0.linear1.weight'].dataSync())).toEqual(Array.from(layer.linear1.weight.dataSync()));
    expect(Array.from(sd['layers.2.linear1.weight'].dataSync())).toEqual(Array.from(layer.linear1.weight.dataSync()));
    expect(sd['layers.0.linear1.weight']).not.toBe(sd['layers.1.linear1.weight']);
    const dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, { dimFeedforward: 16 }), 2);
    expect(Object.keys(dec.stateDict()).some((k) => k.startsWith('norm.'))).toBe(false);
    expect(Object.keys(dec.stateDict()).filter((k) => k.startsWith('layers.1.')).length).toBe(18);
  });

  it('encoder layer: isCausal equals an explicit mask; unbatched equals a batch of one; eval dropout is the identity', () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.5 });
    layer.eval();
    const x = randn([5, 2, 8]);
    expectTensorsClose(layer.forward(x, { isCausal: true }), layer.forward(x, { srcMask: causalMask(5, 5) }), 1e-6, 'causal');
    expectTensorsClose(
      layer.forward(x, { srcMask: generateSquareSubsequentMask(5) }),
      layer.forward(x, { srcMask: causalMask(5, 5) }),
      1e-6,
      'float mask',
    );
    const x1 = randn([5, 8]);
    expectTensorsClose(layer.forward(x1), layer.forward(x1.unsqueeze(1)).squeeze(1), 1e-6, 'unbatched');
    layer.train();
    const a = layer.forward(x);
    const b = layer.forward(x);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
  });

  it('decoder layer: key padding masks, tgtIsCausal, batchFirst = transposed seq-first', () => {
    const opts = { dimFeedforward: 16, dropout: 0 };
    const sf = new TransformerDecoderLayer(8, 2, opts);
    const bf = new TransformerDecoderLayer(8, 2, { ...opts, batchFirst: true });
    bf.loadStateDict(sf.stateDict());
    const tgt = randn([4, 2, 8]);
    const mem = randn([6, 2, 8]);
    const kpm = tensor([
      [false, false, false, false, false, true],
      [false, true, false, false, false, false],
    ]);
    const a = sf.forward(tgt, mem, { tgtIsCausal: true, memoryKeyPaddingMask: kpm });
    const b = bf.forward(tgt.transpose(0, 1), mem.transpose(0, 1), { tgtMask: causalMask(4, 4), memoryKeyPaddingMask: kpm });
    expectTensorsClose(a, b.transpose(0, 1), 1e-5, 'batchFirst');
    expect(() => new TransformerEncoderLayer(8, 2, { activation: 'tanh' as 'relu' })).toThrow(/relu' or 'gelu/);
    const custom = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: (t: Tensor) => t.relu() });
    const relu = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 });
    relu.loadStateDict(custom.stateDict());
    expectTensorsClose(custom.forward(tgt), relu.forward(tgt), 1e-6, 'custom activation');
  });
});
