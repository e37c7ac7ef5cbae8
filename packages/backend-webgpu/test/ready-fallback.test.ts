/**
 * ready() and software adapters, on Dawn over SwiftShader (a fallback adapter): with cpu
 * registered too, ready() picks cpu and says why webgpu was skipped; with
 * `allowFallbackAdapter` it picks webgpu, also after a synchronous call made an implicit cpu
 * choice. On a machine whose adapter is a real GPU these tests are skipped (CI has none).
 */
import { webgpuUnavailable } from './availability.js';
import { createCpuBackend } from '@ghostflow/backend-cpu';
import { type Tensor, getBackendName, loadBackend, ready, registerBackend, removeBackend, tensor } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import { type WebGPUBackend, createWebGPUBackend } from '../src/index.js';

const probe = webgpuUnavailable ? undefined : await createWebGPUBackend();
const fallback = probe?.fallbackAdapter;
probe?.dispose();
const skip = webgpuUnavailable ?? (fallback === undefined ? 'the adapter here is a real GPU, not a fallback adapter' : false);

/** Forgets the current choice (removing the active backend clears it): both come back unstarted. */
function resetSelection(): void {
  removeBackend('cpu');
  removeBackend('webgpu');
  registerBackend('cpu', () => createCpuBackend(), { priority: 1 });
  registerBackend('webgpu', () => createWebGPUBackend(), { priority: 2 });
}

describe.skipIf(skip)('ready() on a fallback adapter (SwiftShader)', () => {
  it('webgpu reports its adapter as a fallback one', async () => {
    const be = (await loadBackend('webgpu')) as WebGPUBackend;
    expect(be.fallbackAdapter).toMatch(/swiftshader/i);
    expect(be.adapterInfo).toBe(be.fallbackAdapter);
  });

  it('picks cpu by default, naming the fallback adapter and the option', async () => {
    resetSelection();
    const sel = await ready();
    expect(sel.backend).toBe('cpu');
    expect(sel.skipped.find((s) => s.name === 'webgpu')?.reason).toMatch(
      /software fallback adapter \(.*swiftshader.*\).*allowFallbackAdapter: true/i,
    );
  });

  it('picks webgpu with allowFallbackAdapter', async () => {
    resetSelection();
    expect((await ready({ allowFallbackAdapter: true })).backend).toBe('webgpu');
    const t: Tensor = tensor([1, 2, 3]);
    expect(t.device).toBe('webgpu');
    expect(Array.from(await t.mul(2).data())).toEqual([2, 4, 6]);
  });

  it('a tensor made before ready() (implicit cpu) no longer locks cpu once it is disposed', async () => {
    resetSelection();
    await loadBackend('webgpu'); // started (as a page's probe would), yet never picked implicitly
    const early = tensor([1, 2]); // synchronous: picks cpu implicitly (webgpu is a fallback adapter)
    expect(early.device).toBe('cpu');
    await expect(ready({ allowFallbackAdapter: true })).rejects.toThrow(/1 live buffer\(s\) on 'cpu'.*would now choose 'webgpu'/);
    early.dispose();
    expect((await ready({ allowFallbackAdapter: true })).backend).toBe('webgpu');
    expect(getBackendName()).toBe('webgpu');
  });
});
