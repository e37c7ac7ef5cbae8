/**
 * The leak census: every nn module, loss and optimizer, used the way PyTorch code uses them
 * (no `tidy`; the caller disposes only what it got back: outputs, the loss it built, the
 * gradients through `zeroGrad`), must hold the backend's buffer count flat. Each case runs
 * forward + backward + an optimizer step 50 times and asserts `memory().buffers` after the
 * last step equals the count after the first (the first step creates the optimizer state).
 *
 * Where `gc` is exposed (`node --expose-gc`; backend-cpu and backend-webgpu run their tests
 * so), the counts are exact: earlier suites' garbage is collected before the census and each
 * case is built inside `tidy`, so only a tensor the case itself leaked can reach a finalizer.
 * After each case one more collection must leave the count where it was after step 1
 * (garbage counted in that baseline is a leak too), and `memory().leakedTensors` must not have
 * moved (a leak the GC freed between steps is a leak, even when the counts look flat).
 * Without `gc`, disposing what the caller got back is still all it takes to be flat, but a
 * finalizer of another suite's leaked tensor could move the count while the steps yield.
 */
import { type Tensor, heldTensors, memory, noGrad, onesLike, tidy } from '@ghostflow/core';
import {
  BCELoss,
  BCEWithLogitsLoss,
  ContrastiveLoss,
  CrossEntropyLoss,
  Dropout,
  LayerNorm,
  Linear,
  type Module,
  MSELoss,
  RotaryEmbedding,
  SGD,
  Sequential,
  SinusoidalPositionalEncoding,
  TransformerEncoder,
  TransformerEncoderLayer,
  clipGradNorm,
  packSequence,
  padPackedSequence,
  scaledDotProductAttentionWithWeights,
} from '@ghostflow/nn';
import { beforeAll, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { type FixtureInputs, type HostInputs, MODULE_BUILDERS, OPTIMIZER_BUILDERS, OptimRegressor } from '../fixtures/builders.js';
import { fixtureTensor, listFixtures, loadFixture } from '../torch-fixtures.js';

/** Per-case time limit: 50 steps of a Transformer on a software GPU (SwiftShader) take a while. */
const CASE_TIMEOUT_MS = 300_000;

/** One census case: its trainable leaves and one training step that disposes what it got back. */
export interface CensusCase {
  /** The tensors the case owns (inputs, weights), so building it inside `tidy` keeps them. */
  [heldTensors](): Tensor[];
  /** Everything the optimizer updates (parameters, float inputs). */
  trainables: Tensor[];
  /** Forward, loss, backward; disposes every tensor it received. */
  step(): void;
  /** Forward only under noGrad; disposes every tensor it received. */
  infer(): void;
  /** Frees the module, inputs and everything else the case built. */
  dispose(): void;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Lets the GC's finalizers (the safety net's callbacks) run. */
const tick = () => new Promise((r) => setTimeout(r, 0));

/**
 * Runs the GC and its finalizers until the buffer count has not moved for 5 passes (no-op
 * without `gc`): each pass frees one more link of a chain of garbage, and V8 runs the
 * registry's cleanup as a later task, so one quiet pass under load proves little.
 */
async function drain(device: string): Promise<void> {
  if (!gc) return;
  let last = '';
  let quiet = 0;
  for (let i = 0; i < 100 && quiet < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const m = memory(device);
    const now = `${m.buffers}/${m.leakedTensors}`;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

/** Sums `Σ sum(out * weight)` into one scalar, disposing every intermediate it makes. */
export function weightedLoss(terms: readonly (readonly [Tensor, Tensor])[]): Tensor {
  let loss: Tensor | null = null;
  for (const [out, weight] of terms) {
    const prod = out.mul(weight);
    const term = prod.sum();
    prod.dispose();
    if (loss) {
      const next: Tensor = loss.add(term);
      loss.dispose();
      term.dispose();
      loss = next;
    } else loss = term;
  }
  if (!loss) throw new Error('weightedLoss: no terms');
  return loss;
}

/**
 * Runs `c` for `steps` steps of SGD with momentum and asserts the buffer count is
 * flat. The case is built inside `tidy` (it declares the tensors it keeps), so whatever building
 * leaves behind is freed before the first reading and cannot move the counts.
 */
async function runCensus(label: string, device: string, steps: number, build: () => CensusCase): Promise<void> {
  const c = tidy(build);
  // Cases that step their own optimizer (optim_* fixtures) have no trainables here.
  const optimizer = c.trainables.length > 0 ? new SGD(c.trainables, { lr: 1e-3, momentum: 0.9 }) : null;
  try {
    const step = () => {
      optimizer?.zeroGrad();
      c.step();
      optimizer?.step();
    };
    const leakedBefore = memory(device).leakedTensors;
    // Inference first: the no-grad forward must be flat on its own.
    c.infer();
    const afterInfer = memory(device).buffers;
    for (let i = 0; i < 5; i++) c.infer();
    const inferLeak = memory(device).buffers - afterInfer;
    expect(inferLeak, `${label}: buffers leaked by 5 no-grad forwards (${inferLeak / 5} per call)`).toBe(0);
    step();
    const first = memory(device).buffers;
    for (let i = 1; i < steps; i++) {
      step();
      // Yield between steps: an async backend (webgpu) must get to run the queued work, and a
      // test worker that never yields misses its RPC deadline. Only a finalizer could move the
      // count here, and only for a tensor this case leaked: `leakedTensors` below catches those.
      await tick();
    }
    const last = memory(device).buffers;
    expect(last - first, `${label}: buffers leaked by ${steps - 1} training steps (${(last - first) / (steps - 1)} per step)`).toBe(0);
    if (gc) {
      // Anything the GC can still free was garbage already counted in `first` (a one-time
      // leak of step 1, or a tensor only the GC net releases). One collection finds it: the
      // head of any chain of garbage is freed by the first one.
      gc();
      await tick();
      expect(memory(device).buffers, `${label}: buffers after GC vs after step 1`).toBe(first);
      // Every tensor the case made was disposed: none reached the GC net.
      expect(memory(device).leakedTensors - leakedBefore, `${label}: tensors freed by the GC net instead of dispose()`).toBe(0);
    }
  } finally {
    optimizer?.zeroGrad();
    optimizer?.dispose();
    c.dispose();
  }
}

/** A census case from a PyTorch fixture (module or functional; `optim_*` cases use their model). */
function fixtureCase(name: string, device: string): CensusCase {
  const fx = loadFixture(name);
  if (fx.module === 'optim') return optimCase(name, device);
  const built = MODULE_BUILDERS[fx.module](fx, device);
  const module = built.module;
  if (module) {
    const state = Object.fromEntries(Object.entries(fx.state_dict).map(([k, v]) => [k, fixtureTensor(v, device)]));
    module.loadStateDict(state);
    for (const t of Object.values(state)) t.dispose();
  }
  const inputs: FixtureInputs = {};
  const host: HostInputs = {};
  for (const [k, spec] of Object.entries(fx.inputs)) {
    const t = fixtureTensor(spec, device);
    if (t.dtype === 'float32') t.requiresGrad = true;
    if (spec.dtype === 'int64') host[k] = (spec.data as number[]).map(Number);
    inputs[k] = t;
  }
  const weights = Object.entries(fx.grad_weights).map(([k, g]) => [k, fixtureTensor(g, device)] as const);
  const floatInputs = Object.values(inputs).filter((t) => t.dtype === 'float32');
  const disposeAll = (outs: Record<string, Tensor>) => {
    for (const t of Object.values(outs)) t.dispose();
  };
  return {
    [heldTensors]: () => [...Object.values(inputs), ...weights.map(([, w]) => w)],
    trainables: [...(module?.parameters() ?? []), ...floatInputs],
    step: () => {
      const outs = built.forward(inputs, host);
      const loss = weightedLoss(weights.map(([k, w]) => [outs[k], w] as const));
      loss.backward();
      loss.dispose();
      disposeAll(outs);
    },
    infer: () => noGrad(() => disposeAll(built.forward(inputs, host))),
    dispose: () => {
      module?.dispose();
      for (const t of Object.values(inputs)) t.dispose();
      for (const [, w] of weights) w.dispose();
    },
  };
}

/** An `optim_*` fixture: its model, MSE loss, clipGradNorm; the optimizer under test steps too. */
function optimCase(name: string, device: string): CensusCase {
  const fx = loadFixture(name);
  const model = new OptimRegressor(device);
  const x = fixtureTensor(fx.inputs.x, device);
  const y = fixtureTensor(fx.inputs.y, device);
  const params = model.parameters();
  const optimizer = OPTIMIZER_BUILDERS[String(fx.optimizer)](params, fx.config);
  const loss = new MSELoss();
  return {
    [heldTensors]: () => [x, y],
    trainables: [],
    step: () => {
      optimizer.zeroGrad();
      const out = model.forward(x);
      const l = loss.forward(out, y);
      l.backward();
      l.dispose();
      out.dispose();
      clipGradNorm(params, 0.5).dispose();
      optimizer.step();
    },
    infer: () => noGrad(() => model.forward(x).dispose()),
    dispose: () => {
      optimizer.zeroGrad();
      optimizer.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

/** A case around a module (or none) with fixed float inputs and a forward returning tensors. */
function simpleCase(module: Module | null, inputs: readonly Tensor[], forward: () => Tensor[], extra: readonly Tensor[] = []): CensusCase {
  return {
    [heldTensors]: () => [...inputs, ...extra],
    trainables: [...(module?.parameters() ?? []), ...inputs.filter((t) => t.requiresGrad)],
    step: () => {
      const outs = forward();
      const weights = noGrad(() => outs.map((o) => onesLike(o)));
      const loss = weightedLoss(outs.map((o, i) => [o, weights[i]] as const));
      loss.backward();
      loss.dispose();
      for (const t of [...outs, ...weights]) t.dispose();
    },
    infer: () => noGrad(() => forward().forEach((t) => t.dispose())),
    dispose: () => {
      module?.dispose();
      for (const t of [...inputs, ...extra]) t.dispose();
    },
  };
}

/** Cases for what no fixture covers: Dropout, loss modules, packing, attention helpers, containers. */
function extraCases(device: string): Record<string, () => CensusCase> {
  const dev = { device } as const;
  const leaf = (shape: number[], seed: number): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.9);
    return fixtureTensor({ shape, dtype: 'float32', data: Array.from(values) }, device).requiresGrad_();
  };
  const ints = (values: number[]) => fixtureTensor({ shape: [values.length], dtype: 'int64', data: values }, device);
  return {
    'Dropout (train)': () => {
      const m = new Dropout(0.5);
      const x = leaf([4, 6], 1);
      return simpleCase(m, [x], () => [m.forward(x)]);
    },
    'Sequential(Linear, Dropout, Linear)': () => {
      const m = new Sequential(new Linear(5, 4, dev), new Dropout(0.25), new Linear(4, 2, dev));
      const x = leaf([3, 5], 2);
      return simpleCase(m, [x], () => [m.forward(x) as Tensor]);
    },
    'BCELoss / BCEWithLogitsLoss / CrossEntropyLoss / ContrastiveLoss modules': () => {
      const logits = leaf([4, 3], 3);
      const target = fixtureTensor({ shape: [4, 3], dtype: 'float32', data: [1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1] }, device);
      const classes = ints([0, 2, 1, 2]);
      const a = leaf([4, 3], 4);
      const same = ints([1, 0, 1, 0]);
      const bce = new BCELoss();
      const bceLogits = new BCEWithLogitsLoss();
      const ce = new CrossEntropyLoss({ labelSmoothing: 0.1 });
      const contrastive = new ContrastiveLoss();
      return simpleCase(
        null,
        [logits, a],
        () => {
          const p = logits.sigmoid();
          const out = [
            bce.forward(p, target),
            bceLogits.forward(logits, target),
            ce.forward(logits, classes),
            contrastive.forward(logits, a, same),
          ];
          p.dispose();
          return out;
        },
        [target, classes, same],
      );
    },
    'packSequence + padPackedSequence': () => {
      const seqs = [leaf([4, 3], 5), leaf([2, 3], 6), leaf([3, 3], 7)];
      return simpleCase(null, seqs, () => {
        const packed = packSequence(seqs, { enforceSorted: false });
        const [padded, lengths] = padPackedSequence(packed, { batchFirst: true });
        packed.dispose();
        lengths.dispose();
        return [padded];
      });
    },
    'scaledDotProductAttentionWithWeights (causal, dropout)': () => {
      const q = leaf([2, 3, 4], 8);
      const k = leaf([2, 5, 4], 9);
      const v = leaf([2, 5, 4], 10);
      return simpleCase(null, [q, k, v], () => {
        const { output, weights } = scaledDotProductAttentionWithWeights(q, k, v, { isCausal: true, dropoutP: 0.2 });
        return [output, weights];
      });
    },
    'RotaryEmbedding + SinusoidalPositionalEncoding': () => {
      const rope = new RotaryEmbedding(4);
      const pe = new SinusoidalPositionalEncoding(4, { ...dev, dropout: 0.1 });
      const x = leaf([1, 2, 3, 4], 11);
      const y = leaf([3, 1, 4], 12);
      return simpleCase(null, [x, y], () => [rope.forward(x), pe.forward(y)], [pe.pe]);
    },
    'TransformerEncoder (2 layers, final norm)': () => {
      // TransformerEncoder copies the layer (as PyTorch deep-copies it): the original stays ours.
      const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.1, ...dev });
      const m = new TransformerEncoder(layer, 2, new LayerNorm([8], dev));
      layer.dispose();
      const x = leaf([3, 2, 8], 15);
      return simpleCase(m, [x], () => [m.forward(x)]);
    },
  };
}

/** Registers one census test per fixture and per extra case. */
export function leakCensusSuite(ctx: SuiteContext): void {
  beforeAll(async () => {
    await ctx.activate();
    // Earlier suites' garbage goes now, so no finalizer of theirs moves a case's counts.
    await drain(ctx.device);
  });
  for (const name of listFixtures()) {
    it(
      `${name}: flat over ${ctx.censusSteps} steps without tidy`,
      async () => {
        await runCensus(name, ctx.device, ctx.censusSteps, () => fixtureCase(name, ctx.device));
      },
      CASE_TIMEOUT_MS,
    );
  }
  for (const [name, build] of Object.entries(extraCases(ctx.device))) {
    it(
      `${name}: flat over ${ctx.censusSteps} steps without tidy`,
      async () => {
        await runCensus(name, ctx.device, ctx.censusSteps, build);
      },
      CASE_TIMEOUT_MS,
    );
  }
}
