/**
 * Two copies of core in one process (what `require('@ghostflow/core')` plus
 * `import('@ghostflow/backend-cpu')` loads: the CJS and the ESM build) share one registry, one
 * grad mode, one tidy stack and one default generator; a copy of another version keeps its own
 * and says why it has no backend.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend, BackendMemory } from '../src/backend/backend.js';
import { KERNEL_CONTRACT_VERSION } from '../src/backend/backend.js';
import type { PrimitiveKernels } from '../src/backend/kernels.js';

type Core = typeof import('../src/index.js');
const KEY = Symbol.for('@ghostflow/core/state');

/** A fresh, separate instance of core's modules (as a second build of the package would be). */
async function freshCopy(): Promise<Core> {
  vi.resetModules();
  return import('../src/index.js');
}

function fakeBackend(name: string): Backend {
  const mem: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  return {
    name,
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels: {} as PrimitiveKernels,
    fused: {},
    upload: () => ({}),
    read: () => Promise.reject(new Error('fake read')),
    disposeData: () => undefined,
    memory: () => mem,
  } as unknown as Backend;
}

describe('process-wide state across copies of core', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('two copies of the same version share the registry, grad mode, tidy stack and generator', async () => {
    const a = await freshCopy();
    const b = await freshCopy();
    expect(b.registerBackend).not.toBe(a.registerBackend); // really two module instances
    a.registerBackend('shared-copy-test', () => fakeBackend('shared-copy-test'), { version: '1' });
    try {
      expect(b.listBackends()).toContain('shared-copy-test');
      expect(b.registerBackend('shared-copy-test', () => fakeBackend('shared-copy-test'), { version: '1' }).status).toBe('duplicate');
      a.noGrad(() => expect(b.isGradEnabled()).toBe(false));
      expect(b.isGradEnabled()).toBe(true);
    } finally {
      a.removeBackend('shared-copy-test');
    }
    expect(b.listBackends()).not.toContain('shared-copy-test');

    const gen = await import('../src/random/generator.js');
    vi.resetModules();
    const gen2 = await import('../src/random/generator.js');
    expect(gen2.Generator).not.toBe(gen.Generator);
    expect(gen2.defaultGenerator).toBe(gen.defaultGenerator);

    const scopeA = await import('../src/memory/scope.js');
    vi.resetModules();
    const scopeB = await import('../src/memory/scope.js');
    const res = {
      isDisposed: false,
      dispose() {
        this.isDisposed = true;
      },
    };
    scopeA.tidy(() => {
      scopeB.trackInScope(res); // made by the other copy inside this copy's tidy
    });
    expect(res.isDisposed).toBe(true);
  }, 60_000);

  it('a copy of another version keeps its own state and names the other version when it has no backend', async () => {
    const g = globalThis as unknown as Record<symbol, unknown>;
    const saved = g[KEY];
    g[KEY] = { version: '9.9.9-other', slots: new Map() };
    try {
      const c = await freshCopy();
      expect(() => c.getBackend()).toThrow(/another copy, v9\.9\.9-other, is loaded in this process/);
    } finally {
      g[KEY] = saved;
    }
  }, 60_000);
});
