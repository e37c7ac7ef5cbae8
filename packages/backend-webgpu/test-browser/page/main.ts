/**
 * The browser test's page: the same small, deterministic training loop on a backend chosen
 * by the test (`await window.runTraining('webgpu' | 'cpu', steps)`), returning the loss of
 * every step. Parameters come from core's host-side generator (`manualSeed`), the data from a
 * fixed PRNG, so every backend starts from the same numbers and sees the same batches.
 *
 * Model: Embedding → causal pre-LN TransformerEncoderLayer → GRU → LayerNorm → Linear,
 * cross-entropy, gradient clipping, Adam: matmul/linear, softmax, layer norm, attention,
 * the GRU cell, gather/scatter (embedding), reductions and the optimizer's elementwise ops.
 */
import { type Tensor, arange, getBackend, getBackendName, manualSeed, memory, setBackend, tensor, tidy } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import {
  Adam,
  Embedding,
  GRU,
  LayerNorm,
  Linear,
  Module,
  TransformerEncoderLayer,
  clipGradNorm,
  crossEntropy,
  generateSquareSubsequentMask,
} from '@ghostflow/nn';

const TEXT = 'the quick brown fox jumps over the lazy dog. the dog sleeps; the fox runs away into the woods. ';
const VOCAB = [...new Set(TEXT)].sort();
const IDS = Int32Array.from(TEXT, (c) => VOCAB.indexOf(c));
const B = 4;
const T = 12;
const D = 16;
const H = 24;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class TinyLM extends Module {
  readonly tok = this.registerModule('tok', new Embedding(VOCAB.length, D));
  readonly pos = this.registerModule('pos', new Embedding(T, D));
  readonly attn = this.registerModule(
    'attn',
    new TransformerEncoderLayer(D, 2, { dimFeedforward: 32, dropout: 0, batchFirst: true, normFirst: true }),
  );
  readonly gru = this.registerModule('gru', new GRU(D, H, { batchFirst: true }));
  readonly norm = this.registerModule('norm', new LayerNorm(H));
  readonly head = this.registerModule('head', new Linear(H, VOCAB.length));
  forward(x: Tensor): Tensor {
    const h0 = this.tok.forward(x).add(this.pos.forward(arange(0, T, 1, { dtype: 'int32' })));
    const h1 = this.attn.forward(h0, { srcMask: generateSquareSubsequentMask(T), isCausal: true });
    const [out] = this.gru.forward(h1);
    return this.head.forward(this.norm.forward(out));
  }
}

export interface RunResult {
  backend: string;
  losses: number[];
  buffersAfterFirst: number;
  buffersAfterLast: number;
  ms: number;
  /** webgpu only: compute passes dispatched during the run (proves the GPU did the work). */
  dispatches?: number;
  error?: string;
}

async function runTraining(backend: string, steps: number): Promise<RunResult> {
  const t0 = performance.now();
  try {
    if (backend === 'webgpu') await import('@ghostflow/backend-webgpu');
    await setBackend(backend);
    const stats = () => (getBackend() as { runtimeStats?: () => { dispatches: number } }).runtimeStats?.().dispatches;
    const dispatchesBefore = stats();
    manualSeed(1234);
    const random = rng(99);
    const model = new TinyLM();
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const losses: number[] = [];
    let buffersAfterFirst = 0;
    for (let s = 0; s < steps; s++) {
      const x = new Int32Array(B * T);
      const y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const start = Math.floor(random() * (IDS.length - T - 1));
        x.set(IDS.subarray(start, start + T), b * T);
        y.set(IDS.subarray(start + 1, start + T + 1), b * T);
      }
      const loss = tidy(() => {
        opt.zeroGrad();
        const logits = model.forward(tensor(x, { shape: [B, T], dtype: 'int32' }));
        const loss = crossEntropy(logits.reshape(-1, VOCAB.length), tensor(y, { shape: [B * T], dtype: 'int32' }));
        loss.backward();
        clipGradNorm(model.parameters(), 1.0);
        opt.step();
        return loss.detach();
      });
      losses.push(await loss.item());
      loss.dispose();
      if (s === 0) buffersAfterFirst = memory().buffers;
    }
    const buffersAfterLast = memory().buffers;
    const dispatchesAfter = stats();
    const dispatches = dispatchesAfter === undefined ? undefined : dispatchesAfter - (dispatchesBefore ?? 0);
    opt.dispose();
    model.dispose();
    return { backend: getBackendName(), losses, buffersAfterFirst, buffersAfterLast, ms: performance.now() - t0, dispatches };
  } catch (e) {
    const err = e as Error;
    return {
      backend,
      losses: [],
      buffersAfterFirst: 0,
      buffersAfterLast: 0,
      ms: performance.now() - t0,
      error: `${err.message}\n${err.stack ?? ''}`,
    };
  }
}

/** What the page's WebGPU looks like (for the test's log). */
async function adapterInfo(): Promise<string> {
  if (!navigator.gpu) return `navigator.gpu undefined (secure context: ${window.isSecureContext})`;
  const a = await navigator.gpu.requestAdapter();
  if (!a) return 'requestAdapter() returned null';
  const i = a.info;
  return `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.trim() + (i.isFallbackAdapter ? ' (fallback adapter)' : '');
}

Object.assign(window, { runTraining, adapterInfo });
(document.getElementById('log') as HTMLElement).textContent = 'ready';
document.body.dataset.ready = 'true';
