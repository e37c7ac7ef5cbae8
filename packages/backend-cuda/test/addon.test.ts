/** The addon's data path through the host build: async reads, memory figures, errors. */
import { type CudaBackend, createCudaBackend } from '@ghostflow/backend-cuda';
import { BackendError } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';

const backend: CudaBackend = createCudaBackend({ addon: 'host' });

describe('cuda-host addon', () => {
  it('reports the host build', () => {
    expect(backend.name).toBe('cuda-host');
    expect(backend.info.build).toBe('host');
  });

  it('reads asynchronously (staging + event + thread-safe function) and synchronously', async () => {
    const id = backend.upload(new Float32Array([1.5, -2, 3]), 'float32');
    const neg = backend.kernels.unary({ dataId: id, dtype: 'float32', shape: [3], strides: [1], offset: 0 }, { op: 'neg' });
    const [a, b] = await Promise.all([backend.read(neg, 'float32', 3), backend.read(id, 'float32', 2)]);
    expect(Array.from(a)).toEqual([-1.5, 2, -3]);
    expect(Array.from(b)).toEqual([1.5, -2]);
    expect(Array.from(backend.readSync?.(neg, 'float32', 3) ?? [])).toEqual([-1.5, 2, -3]);
    await backend.sync?.();
    backend.disposeData(id);
    backend.disposeData(neg);
  });

  it('caches freed blocks by size class and gives them back on emptyCache()', () => {
    backend.emptyCache();
    const before = backend.memory();
    const id = backend.upload(new Int32Array(1000), 'int32');
    const during = backend.memory();
    expect(during.buffers).toBe(before.buffers + 1);
    expect(during.bytes).toBe(before.bytes + 4000);
    expect(during.deviceBytesInUse).toBe(before.deviceBytesInUse + 4096); // 4000 bytes -> 4 KiB class
    backend.disposeData(id);
    const after = backend.memory();
    expect(after.deviceBytesCached).toBe(before.deviceBytesCached + 4096);
    expect(after.devicePeakBytes).toBeGreaterThanOrEqual(during.deviceBytesInUse);
    backend.emptyCache();
    expect(backend.memory().deviceBytesCached).toBe(0);
  });

  it('turns an allocation failure into a BackendError naming the kernel and the size', () => {
    let err: unknown;
    try {
      backend.kernels.fill({ shape: [2 ** 20, 2 ** 20], dtype: 'float32', value: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/cuda fill: out of device memory allocating 4398046511104 bytes/);
  });
});
