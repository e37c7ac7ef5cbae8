/**
 * Exercises @ghostflow/nn/browser in a real page: IndexedDB round trip, download, loadFromUrl
 * with progress, trainInWorker with a module worker, and trainLoop keeping the page responsive.
 * Each check is a function on `window.checks` that the test calls.
 */
import '@ghostflow/backend-cpu';
import { manualSeed, randn, tensor } from '@ghostflow/core';
import { Linear } from '@ghostflow/nn';
import {
  deleteFromIndexedDB,
  download,
  listIndexedDB,
  loadFromIndexedDB,
  loadFromUrl,
  saveToIndexedDB,
  trainInWorker,
  trainLoop,
} from '@ghostflow/nn/browser';

const flat = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());

const checks = {
  async indexedDB() {
    manualSeed(1);
    const model = new Linear(3, 2);
    const bytes = await saveToIndexedDB('lin', model, { database: 'gf-test' });
    const keys = await listIndexedDB({ database: 'gf-test' });
    const dict = await loadFromIndexedDB('lin', { database: 'gf-test' });
    const same = flat(dict.weight).join() === flat(model.weight).join() && flat(dict.bias).join() === flat(model.bias).join();
    let missing = '';
    try {
      await loadFromIndexedDB('nope', { database: 'gf-test' });
    } catch (e) {
      missing = (e as Error).message;
    }
    await deleteFromIndexedDB('lin', { database: 'gf-test' });
    const after = await listIndexedDB({ database: 'gf-test' });
    return { bytes, keys, same, missing, after };
  },
  async download() {
    const blob = await download('weights.safetensors', { w: tensor([1, 2, 3]) });
    return { size: blob.size };
  },
  async loadFromUrl(url: string) {
    const events: { loaded: number; total: number | undefined; fraction: number | undefined }[] = [];
    const dict = await loadFromUrl(url, { onProgress: (p) => events.push(p) });
    let httpError = '';
    try {
      await loadFromUrl('/missing.safetensors');
    } catch (e) {
      httpError = (e as Error).message;
    }
    return {
      names: Object.keys(dict),
      big: dict.big ? dict.big.shape : null,
      first: dict.big ? flat(dict.big).slice(0, 3) : [],
      events,
      httpError,
    };
  },
  async worker() {
    const worker = new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module' });
    const progress: { step: number; loss: number }[] = [];
    const r = await trainInWorker<{ inWorker: boolean }>(worker, { steps: 15, lr: 0.05 }, { onProgress: (p) => progress.push(p) });
    let failure = '';
    try {
      await trainInWorker(worker, { steps: 1, lr: 0.05, fail: true });
    } catch (e) {
      failure = (e as Error).message;
    }
    // Stopping: the worker ends after its current step.
    const stop = new AbortController();
    const stopped = await trainInWorker(
      worker,
      { steps: 10_000, lr: 0.05 },
      { signal: stop.signal, onProgress: (p) => p.step === 3 && stop.abort() },
    );
    worker.terminate();
    return { losses: r.losses, progress, extra: r.extra, failure, stopped: { stopped: stopped.stopped, steps: stopped.losses.length } };
  },
  async responsive() {
    // 40 steps of ~10 ms each with sliceMs 16: timers must fire while the loop runs.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const x = randn([8]);
    const r = await trainLoop({
      steps: 40,
      step: () => {
        busy(10);
        return x.sum().itemSync();
      },
    });
    clearInterval(timer);
    return { ticks, steps: r.losses.length, ms: r.ms };
  },
};

(window as unknown as { checks: typeof checks }).checks = checks;
document.body.dataset.ready = 'true';
