/**
 * Every PyTorch golden case of the recurrent layers (rnn_*, lstm_*, gru_*, rnncell, lstmcell,
 * grucell): values of every output, then the gradient of sum(output * G) for the input, the
 * initial states and every parameter by its state_dict name.
 */
import '@ghostflow/backend-cpu';
import { type FixtureTensor, type TorchFixture, fixtureTensor, listFixtures, loadFixture } from '@ghostflow/backend-conformance';
import { createCpuBackend } from '@ghostflow/backend-cpu';
import { type Backend, type Tensor, registerBackend, setBackend } from '@ghostflow/core';
import {
  GRU,
  GRUCell,
  type GRUCellOptions,
  type GRUOptions,
  LSTM,
  LSTMCell,
  type LSTMCellOptions,
  type LSTMOptions,
  type Module,
  RNN,
  RNNCell,
  type RNNCellOptions,
  type RNNOptions,
  packPaddedSequence,
  padPackedSequence,
} from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

/** Asserts `actual` equals `expected` (a fixture tensor or a tensor) within `|a-b| <= atol + rtol*|b|`, naming `label`. */
function expectClose(actual: Tensor | null, expected: FixtureTensor, tol: { atol: number; rtol: number }, label: string): void {
  expect(actual, `${label}: missing`).not.toBeNull();
  const a = actual as Tensor;
  const wantShape = expected.shape;
  const want = expected.data.map(Number);
  expect([...a.shape], `${label}: shape`).toEqual(wantShape);
  const got = Array.from(a.dataSync() as ArrayLike<number>, Number);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) - (tol.atol + tol.rtol * Math.abs(want[i]));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${label}: element ${worst} of [${a.shape.join(', ')}] is ${got[worst]}, expected ${want[worst]} (atol ${tol.atol}, rtol ${tol.rtol})\ngot:      [${got
        .slice(0, 12)
        .map((v) => v.toFixed(6))
        .join(', ')}...]\nexpected: [${want
        .slice(0, 12)
        .map((v) => v.toFixed(6))
        .join(', ')}...]`,
    );
  }
}

/** snake_case → camelCase. */
function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

/** A fixture config with camelCase keys. */
function camelConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [camel(k), v]));
}

const CASES = [
  'rnn_2layer_bi',
  'rnn_basic',
  'rnn_batch_first_nobias',
  'rnn_relu',
  'rnn_seq1',
  'lstm_2layer_bi',
  'lstm_basic',
  'lstm_batch_first_nobias',
  'lstm_packed',
  'lstm_proj',
  'lstm_seq1',
  'gru_2layer_bi',
  'gru_basic',
  'gru_batch_first_nobias',
  'gru_packed',
  'gru_seq1',
  'rnncell',
  'lstmcell',
  'grucell',
];

// The same CPU kernels without any fused kernel, so core's composed linear / lstmCellStep /
// gruCellStep paths run too. Never made active: every tensor of these runs must land on it
// through the layers' own `device` handling.
registerBackend('cpu-unfused', () => {
  const base = createCpuBackend();
  return Object.assign(Object.create(base) as Backend, { name: 'cpu-unfused', fused: {} });
});
const DEVICES = ['cpu', 'cpu-unfused'];

beforeAll(async () => {
  await setBackend('cpu');
});

function build(fx: TorchFixture, device: string): Module {
  const config = { ...camelConfig(fx.config), device };
  switch (fx.module) {
    case 'RNN':
      return new RNN(config as unknown as RNNOptions);
    case 'LSTM':
      return new LSTM(config as unknown as LSTMOptions);
    case 'GRU':
      return new GRU(config as unknown as GRUOptions);
    case 'RNNCell':
      return new RNNCell(config as unknown as RNNCellOptions);
    case 'LSTMCell':
      return new LSTMCell(config as unknown as LSTMCellOptions);
    case 'GRUCell':
      return new GRUCell(config as unknown as GRUCellOptions);
    default:
      throw new Error(`unexpected module ${fx.module}`);
  }
}

/** Runs the case's forward; returns the outputs by the fixture's names. */
function run(fx: TorchFixture, module: Module, inputs: Record<string, Tensor>): Record<string, Tensor> {
  const { input, h0, c0, lengths } = inputs;
  const batchFirst = fx.config.batch_first === true;
  if (module instanceof RNNCell || module instanceof GRUCell) return { h: module.forward(input, h0) };
  if (module instanceof LSTMCell) {
    const [h, c] = module.forward(input, h0 ? [h0, c0] : null);
    return { h, c };
  }
  if (module instanceof LSTM) {
    const hx: [Tensor | null, Tensor | null] | null = h0 || c0 ? [h0 ?? null, c0 ?? null] : null;
    if (lengths) {
      const packed = packPaddedSequence(input, lengths, { batchFirst, enforceSorted: false });
      const [out, [hN, cN]] = module.forward(packed, hx);
      const [output] = padPackedSequence(out, { batchFirst });
      return { output, h_n: hN, c_n: cN };
    }
    const [output, [hN, cN]] = module.forward(input, hx);
    return { output, h_n: hN, c_n: cN };
  }
  if (module instanceof RNN || module instanceof GRU) {
    if (lengths) {
      const packed = packPaddedSequence(input, lengths, { batchFirst, enforceSorted: false });
      const [out, hN] = module.forward(packed, h0);
      const [output] = padPackedSequence(out, { batchFirst });
      return { output, h_n: hN };
    }
    const [output, hN] = module.forward(input, h0);
    return { output, h_n: hN };
  }
  throw new Error('unreachable');
}

describe('recurrent PyTorch fixtures', () => {
  it('covers every recurrent fixture on disk', () => {
    const onDisk = listFixtures().filter((n) => /^(rnn|lstm|gru)/.test(n));
    expect([...onDisk].sort()).toEqual([...CASES].sort());
  });

  for (const device of DEVICES) {
    for (const name of CASES) {
      it(`${name} (${device})`, () => {
        const fx = loadFixture(name);
        const module = build(fx, device);
        const state = Object.fromEntries(Object.entries(fx.state_dict).map(([k, v]) => [k, fixtureTensor(v, device)]));
        expect(Object.keys(module.stateDict()), 'state_dict keys (PyTorch order)').toEqual(Object.keys(fx.state_dict));
        module.loadStateDict(state);
        const inputs: Record<string, Tensor> = {};
        for (const [k, spec] of Object.entries(fx.inputs)) {
          const t = fixtureTensor(spec, device);
          if (t.dtype === 'float32') t.requiresGrad = true;
          inputs[k] = t;
        }
        const outputs = run(fx, module, inputs);
        expect(Object.keys(outputs).sort()).toEqual(Object.keys(fx.outputs).sort());
        for (const [k, spec] of Object.entries(fx.outputs)) expectClose(outputs[k], spec, fx.tol, `${name} output '${k}'`);

        let loss: Tensor | null = null;
        for (const [k, g] of Object.entries(fx.grad_weights)) {
          expect(outputs[k].device, `${name} output '${k}' backend`).toBe(device);
          const term = outputs[k].mul(fixtureTensor(g, device)).sum();
          loss = loss ? loss.add(term) : term;
        }
        (loss as Tensor).backward();
        const params = module.stateDict();
        for (const [k, spec] of Object.entries(fx.grads)) {
          const owner = inputs[k] ?? params[k];
          expect(owner, `${name}: grad target '${k}' exists`).toBeDefined();
          expectClose(owner.grad, spec, fx.tol, `${name} grad '${k}'`);
        }
      });
    }
  }
});
