/**
 * Reports what the cpu backend really runs in this page (path, threads, getCpuThreads(),
 * limitedBy), the warnings it printed, and how long whenThreadsReady() took, on
 * `window.__cpu`. The test serves this page with different headers.
 */
import { type CpuBackend, getCpuThreads } from '@ghostflow/backend-cpu';
import { getBackend, matmul, randn, tidy } from '@ghostflow/core';

const warnings: string[] = [];
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  warnings.push(args.map(String).join(' '));
  warn(...args);
};

async function report() {
  const backend = getBackend() as CpuBackend;
  // A GEMM large enough to want the worker pool, then wait for the workers.
  const sum = tidy(() =>
    matmul(randn([256, 256]), randn([256, 256]))
      .sum()
      .itemSync(),
  );
  const t0 = performance.now();
  let readyError: string | undefined;
  try {
    await backend.whenThreadsReady();
  } catch (e) {
    readyError = (e as Error).message;
  }
  const readyMs = performance.now() - t0;
  const info = backend.info;
  return {
    isolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    getCpuThreads: getCpuThreads(),
    path: info.path,
    threads: info.threads,
    limitedBy: info.limitedBy ?? null,
    readyMs,
    readyError: readyError ?? null,
    finite: Number.isFinite(sum),
    warnings: warnings.filter((w) => w.startsWith('ghostflow cpu backend')),
  };
}

report().then(
  (r) => {
    (window as unknown as { __cpu: unknown }).__cpu = r;
    document.body.dataset.ready = 'true';
  },
  (e) => {
    (window as unknown as { __cpu: unknown }).__cpu = { error: String(e) };
    document.body.dataset.ready = 'true';
  },
);
