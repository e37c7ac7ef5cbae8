/**
 * GPU out-of-memory is reported where it happened: a BackendError naming the op and the
 * bytes, not a later "Invalid BindGroup" against an unrelated op. Real out-of-memory cannot
 * be provoked safely on a shared machine, so the device is wrapped: buffers of at least
 * `OOM_BYTES` come back invalid, and the enclosing 'out-of-memory' error scope reports an
 * out-of-memory error, exactly what a device that ran out of memory does.
 */
import { webgpuUnavailable } from './availability.js';
import { BackendError } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { type WebGPUBackend, createWebGPUBackend } from '../src/index.js';
import { requestDevice, findGpu } from '../src/device.js';

const OOM_BYTES = 64 * 1024 * 1024;

/** Uncaptured errors the wrapped device delivered (Dawn prints each one to stdout). */
let uncaptured = 0;

/** A device whose allocations of OOM_BYTES or more fail with out-of-memory. */
function failingDevice(real: GPUDevice): GPUDevice {
  // One entry per open error scope: its filter and whether a simulated OOM happened inside.
  const scopes: { filter: GPUErrorFilter; oom: boolean }[] = [];
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'pushErrorScope')
        return (filter: GPUErrorFilter) => {
          scopes.push({ filter, oom: false });
          target.pushErrorScope(filter);
        };
      if (prop === 'popErrorScope')
        return async () => {
          const scope = scopes.pop();
          const real = await target.popErrorScope();
          if (scope?.oom) return { message: 'Out of memory (simulated)' } as GPUError;
          return real;
        };
      if (prop === 'createBuffer')
        return (desc: GPUBufferDescriptor) => {
          if (desc.size < OOM_BYTES) return target.createBuffer(desc);
          const scope = [...scopes].reverse().find((s) => s.filter === 'out-of-memory');
          if (scope) scope.oom = true;
          // An invalid buffer, as an allocation that failed returns; its own error is swallowed here.
          target.pushErrorScope('validation');
          const buf = target.createBuffer({ ...desc, size: target.limits.maxBufferSize + 4 });
          void target.popErrorScope();
          return buf;
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
    set(target, prop, value) {
      if (prop === 'onuncapturederror' && typeof value === 'function') {
        const handler = value as (ev: GPUUncapturedErrorEvent) => void;
        return Reflect.set(
          target,
          prop,
          (ev: GPUUncapturedErrorEvent) => {
            uncaptured++;
            handler(ev);
          },
          target,
        );
      }
      return Reflect.set(target, prop, value, target);
    },
  });
}

describe.skipIf(webgpuUnavailable !== null)('webgpu allocation failures', () => {
  it('out-of-memory is reported as a BackendError naming the op and the bytes, not as a later invalid bind group', async () => {
    const { device } = await requestDevice(await findGpu());
    const be: WebGPUBackend = await createWebGPUBackend({ device: failingDevice(device) });
    const n = OOM_BYTES / 4;
    const big = be.kernels.fill({ shape: [n], dtype: 'float32', value: 1 });
    const small = be.upload(new Float32Array([1, 2, 3]), 'float32');
    let err: unknown;
    try {
      // Unrelated work after the failed allocation, then a read: the first error must be the allocation.
      const neg = be.kernels.unary({ dataId: big, dtype: 'float32', shape: [n], strides: [1], offset: 0 }, { op: 'neg' });
      await be.read(small, 'float32', 3);
      be.disposeData(neg);
    } catch (e) {
      err = e;
    }
    err ??= await be.sync().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendError);
    const msg = (err as Error).message;
    expect(msg).toContain('out of GPU memory');
    expect(msg).toContain(`${OOM_BYTES} bytes`);
    expect(msg).toContain("'fill'");
    expect(msg).not.toMatch(/BindGroup/i);
    // Every error went through an error scope: nothing uncaptured for Dawn to print.
    expect(uncaptured).toBe(0);
    // Using the tensor whose allocation failed is refused at once, naming the failure.
    expect(() => be.kernels.unary({ dataId: big, dtype: 'float32', shape: [n], strides: [1], offset: 0 }, { op: 'exp' })).toThrow(
      /'unary' got a tensor whose buffer could not be allocated.*out of GPU memory.*'fill'/,
    );
    be.dispose();
  });
});
