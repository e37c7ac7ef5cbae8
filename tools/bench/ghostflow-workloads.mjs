/**
 * The GhostFlow side of every bench workload, given a loaded @ghostflow/core and @ghostflow/nn. It
 * imports nothing but its sibling wordlm-step.mjs (which imports nothing either), so the same code drives the workspace's packages (main.mjs) and the
 * packages of another commit in a child process (ghostflow-serve.mjs, for `--baseline <ref>`).
 */
import { wordLmStep } from './wordlm-step.mjs';

/**
 * The GhostFlow workloads on one backend (`device`: 'cpu' or 'webgpu'). Tensors and modules are made
 * with `device`, and `before` (awaited outside the timed region) makes it the active backend, since
 * two GhostFlow engines share one core. With `asyncRead` every run ends with `await t.data()` (the GPU
 * backend only enqueues kernels; the read waits for them); else `dataSync()`, as before.
 */
export function ghostflowMaker(core, nn, { device, backend, asyncRead }) {
  const { tidy, noGrad, randn, randint, manualSeed } = core;
  const { LSTM, GRU, TransformerEncoderLayer, Adam, mseLoss } = nn;
  /**
   * Time of the last synchronous read-back (ms): the bench reports it beside each run, since the
   * read copies the result into a fresh JS array whose first-touch page faults can cost as much as
   * the kernels (tools/bench/README.md, "Reading results").
   */
  let lastReadMs = null;
  /** Reads `t` back and disposes it: synchronously, or a promise that settles once the data is on the host. */
  const finish = asyncRead
    ? async (t) => {
        try {
          await t.data();
        } finally {
          t.dispose();
        }
      }
    : (t) => {
        const s = performance.now();
        t.dataSync();
        lastReadMs = performance.now() - s;
        t.dispose();
      };

  /** Peak of memory().bytes during one untimed run, sampled after every kernel call (wrapping the kernel tables). */
  async function peakOf(fn) {
    const b = backend;
    const base = b.memory().bytes;
    let peak = base;
    const restore = [];
    const wrap = (obj, key) => {
      const f = obj?.[key];
      if (typeof f !== 'function') return;
      const w = function (...args) {
        const r = f.apply(this, args);
        const m = b.memory().bytes;
        if (m > peak) peak = m;
        return r;
      };
      try {
        obj[key] = w;
        if (obj[key] === w)
          restore.push(() => {
            obj[key] = f;
          });
      } catch {}
    };
    for (const t of [b.kernels, b.fused]) for (const k of Object.keys(t ?? {})) wrap(t, k);
    wrap(b, 'upload');
    if (restore.length === 0) {
      const before = b.memory().peakBytes;
      await fn();
      const after = b.memory().peakBytes;
      return after > before ? after - base : null; // lifetime peak only: meaningful when it grew
    }
    try {
      await fn();
    } finally {
      for (const r of restore) r();
    }
    return peak - base;
  }

  const activate = async () => {
    if (core.getBackend() !== backend) await core.setBackend(device);
  };

  return async function make(spec) {
    await activate();
    manualSeed(0);
    const owned = [];
    const on = { device };
    let run;
    if (spec.kind === 'matmul') {
      const a = randn([spec.n, spec.n], on);
      const b = randn([spec.n, spec.n], on);
      owned.push(a, b);
      run = () => finish(a.matmul(b));
    } else if (spec.kind === 'rnn') {
      const Cls = spec.cell === 'lstm' ? LSTM : GRU;
      const m = new Cls(spec.input, spec.hidden, { numLayers: spec.layers, batchFirst: true, bidirectional: !!spec.bidirectional, device });
      const x = randn([spec.batch, spec.seq, spec.input], on);
      owned.push(m, x);
      if (spec.mode === 'forward') {
        m.eval();
        run = () => finish(noGrad(() => tidy(() => m.forward(x)[0])));
      } else {
        const target = randn([spec.batch, spec.seq, spec.hidden * (spec.bidirectional ? 2 : 1)], on);
        const opt = new Adam(m.parameters(), { lr: 1e-3 });
        owned.push(target, opt);
        m.train();
        run = () =>
          finish(
            tidy(() => {
              opt.zeroGrad();
              const l = mseLoss(m.forward(x)[0], target);
              l.backward();
              opt.step();
              return l.detach();
            }),
          );
      }
    } else if (spec.kind === 'transformer') {
      const layer = new TransformerEncoderLayer(spec.dModel, spec.nhead, { dimFeedforward: spec.ff, dropout: 0, batchFirst: true, device });
      const x = randn([spec.batch, spec.seq, spec.dModel], on);
      owned.push(layer, x);
      if (spec.mode === 'forward') {
        layer.eval();
        run = () => finish(noGrad(() => tidy(() => layer.forward(x))));
      } else {
        const target = randn([spec.batch, spec.seq, spec.dModel], on);
        const opt = new Adam(layer.parameters(), { lr: 1e-3 });
        owned.push(target, opt);
        layer.train();
        run = () =>
          finish(
            tidy(() => {
              opt.zeroGrad();
              const l = mseLoss(layer.forward(x), target);
              l.backward();
              opt.step();
              return l.detach();
            }),
          );
      }
    } else if (spec.kind === 'wordlm') {
      const lm = wordLmStep(core, nn, spec, on);
      owned.push(lm);
      run = () => finish(lm.step());
    } else if (spec.kind === 'adam') {
      // One optimizer step on a 2-layer LSTM's parameters with fixed gradients (the update alone).
      const m = new LSTM(spec.input, spec.hidden, { numLayers: spec.layers, device });
      const params = m.parameters();
      for (const p of params) p.grad = randn(p.shape, on);
      const opt = new Adam(params, { lr: 1e-3 });
      owned.push(m, opt);
      run = () => {
        opt.step();
        return finish(params[0].detach().narrow(0, 0, 1));
      };
    } else if (spec.kind === 'add-scalar' || spec.kind === 'softmax') {
      const x = randn(spec.kind === 'softmax' ? spec.shape : [spec.n], on);
      owned.push(x);
      const op = spec.kind === 'softmax' ? () => core.softmax(x, -1) : () => x.add(2.5);
      // Synchronous backend: the kernel has run when the op returns; no read-back in the time.
      run = () => (asyncRead ? finish(op()) : op().dispose());
    } else if (spec.kind === 'decode') {
      // Greedy-style decoding at batch 1: one GRU step per generated token, the state fed back.
      const m = new GRU(spec.input, spec.hidden, { numLayers: spec.layers, device });
      const x = randn([1, 1, spec.input], on);
      m.eval();
      owned.push(m, x);
      run = () =>
        finish(
          noGrad(() =>
            tidy(() => {
              let h = null;
              for (let i = 0; i < spec.steps; i++) h = m.forward(x, h)[1];
              return h;
            }),
          ),
        );
    } else return { na: 'unknown workload' };
    /** The read-back time of the last run, or null when the workload reads nothing synchronously. */
    const readMs = () => {
      const v = lastReadMs;
      lastReadMs = null;
      return v;
    };
    return {
      before: activate,
      run,
      readMs,
      peakBytes: async () => {
        await activate();
        return peakOf(run);
      },
      dispose: async () => {
        await activate();
        for (const o of owned) o.dispose?.();
        if (asyncRead) await backend.sync?.();
      },
    };
  };
}
