/**
 * Unit tests of the backend registry with tiny fake backends: priority selection, reasons
 * for skipped backends, async factories, duplicate registration and contract checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, BackendMemory } from '../src/backend/backend.js';
import { KERNEL_CONTRACT_VERSION } from '../src/backend/backend.js';
import { PRIMITIVE_KERNELS, type PrimitiveKernels } from '../src/backend/kernels.js';
import {
  findBackend,
  getBackend,
  getBackendName,
  listBackends,
  loadBackend,
  ready,
  registerBackend,
  removeBackend,
  setBackend,
} from '../src/backend/registry.js';
import { BackendError } from '../src/errors.js';

/** A backend object with every member present but no working kernels (never called here). */
function fakeBackend(name: string, omit: readonly (keyof PrimitiveKernels)[] = []): Backend {
  const kernels: Partial<Record<keyof PrimitiveKernels, () => never>> = {};
  for (const k of PRIMITIVE_KERNELS) {
    if (!omit.includes(k)) {
      kernels[k] = () => {
        throw new Error(`fake kernel ${k}`);
      };
    }
  }
  const mem: BackendMemory = { buffers: 0, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 };
  return {
    name,
    contractVersion: KERNEL_CONTRACT_VERSION,
    kernels: kernels as unknown as PrimitiveKernels,
    fused: {},
    upload: () => ({}),
    read: () => Promise.reject(new Error('fake read')),
    disposeData: () => undefined,
    memory: () => ({ ...mem }),
  };
}

afterEach(() => {
  for (const name of listBackends()) removeBackend(name);
});

describe('registerBackend', () => {
  it('registers, ignores an identical second registration and replaces an unused older version', () => {
    let calls = 0;
    const first = fakeBackend('a');
    expect(
      registerBackend(
        'a',
        () => {
          calls++;
          return first;
        },
        { version: '1.0.0' },
      ),
    ).toEqual({ name: 'a', status: 'registered' });
    expect(registerBackend('a', () => fakeBackend('other'), { version: '1.0.0' })).toEqual({ name: 'a', status: 'duplicate' });
    expect(getBackend()).toBe(first);
    expect(calls).toBe(1);
    const second = fakeBackend('b');
    registerBackend('b', () => second, { version: '1.0.0' });
    const replacement = fakeBackend('b');
    expect(registerBackend('b', () => replacement, { version: '2.0.0' })).toEqual({ name: 'b', status: 'replaced' });
    expect(findBackend('b')).toBe(replacement);
  });

  it("refuses a factory whose backend's name differs from the registered name", () => {
    registerBackend('c', () => fakeBackend('not-c'));
    expect(() => findBackend('c')).toThrow(/registered as 'c' made a backend named 'not-c'/);
  });

  it('refuses to replace a backend already in use by another version', () => {
    registerBackend('a', () => fakeBackend('a'), { version: '1.0.0' });
    findBackend('a');
    expect(() => registerBackend('a', () => fakeBackend('a'), { version: '1.1.0' })).toThrow(/already in use.*deduplicate/);
  });

  it("rejects a contract version other than core's, naming both", () => {
    const e = (() => {
      try {
        registerBackend('future', () => fakeBackend('future'), { contractVersion: KERNEL_CONTRACT_VERSION + 1 });
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected a throw');
    })();
    expect(e).toBeInstanceOf(BackendError);
    expect(e.message).toContain(`v${KERNEL_CONTRACT_VERSION + 1}`);
    expect(e.message).toContain(`v${KERNEL_CONTRACT_VERSION}`);
    expect(e.message).toContain("'future'");
    expect(listBackends()).toEqual([]);
  });
});

describe('selection', () => {
  it('has a clear error when nothing is registered', async () => {
    expect(() => getBackend()).toThrow(/no backend is registered/);
    await expect(ready()).rejects.toThrow(/no backend is registered/);
    await expect(setBackend('nope')).rejects.toThrow(/no backend named 'nope'.*registered: none/);
  });

  it('picks the highest priority and lists backends highest first', async () => {
    registerBackend('low', () => fakeBackend('low'), { priority: 1 });
    registerBackend('high', () => fakeBackend('high'), { priority: 10 });
    registerBackend('mid', () => fakeBackend('mid'), { priority: 5 });
    expect(listBackends()).toEqual(['high', 'mid', 'low']);
    expect(await ready()).toEqual({ backend: 'high', skipped: [] });
    expect(getBackendName()).toBe('high');
  });

  it('ready() skips backends that fail or lack kernels, and says why', async () => {
    let calls = 0;
    registerBackend(
      'gpu',
      () => {
        calls++;
        throw new Error('no GPU adapter');
      },
      { priority: 20 },
    );
    registerBackend('partial', () => fakeBackend('partial', ['cumsum']), { priority: 15 });
    registerBackend('good', () => fakeBackend('good'), { priority: 1 });
    const sel = await ready();
    expect(sel.backend).toBe('good');
    expect(sel.skipped.map((s) => s.name)).toEqual(['gpu', 'partial']);
    expect(sel.skipped[0].reason).toContain('no GPU adapter');
    expect(sel.skipped[1].reason).toContain('cumsum');
    expect(sel.skipped[1].reason).toContain("'partial'");
    // the failure is remembered: the factory is not retried
    await expect(setBackend('gpu')).rejects.toThrow(/failed to initialise: no GPU adapter/);
    expect(calls).toBe(1);
  });

  it('getBackend() picks the best synchronous backend and skips failing ones', () => {
    registerBackend(
      'broken',
      () => {
        throw new Error('boom');
      },
      { priority: 9 },
    );
    registerBackend('ok', () => fakeBackend('ok'), { priority: 2 });
    expect(getBackend().name).toBe('ok');
  });

  it('an async factory needs setBackend/ready; getBackend explains that', async () => {
    const instance = fakeBackend('async');
    registerBackend('async', () => Promise.resolve(instance), { priority: 3 });
    expect(() => getBackend()).toThrow(/initialises asynchronously.*setBackend\("async"\)/);
    expect(() => findBackend('async')).toThrow(BackendError);
    expect(await setBackend('async')).toBe(instance);
    expect(getBackend()).toBe(instance);
    expect(findBackend('async')).toBe(instance);
    expect(await loadBackend('async')).toBe(instance);
  });

  it('setBackend rejects a backend lacking a primitive kernel, naming the kernel and the backend', async () => {
    registerBackend('good', () => fakeBackend('good'));
    registerBackend('nocumsum', () => fakeBackend('nocumsum', ['cumsum', 'fill']));
    await setBackend('good');
    const err = await setBackend('nocumsum').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(BackendError);
    expect(err?.message).toContain("'nocumsum'");
    expect(err?.message).toContain('cumsum');
    expect(err?.message).toContain('fill');
    // the previous choice stays active
    expect(getBackendName()).toBe('good');
  });

  it('removeBackend disposes the instance and clears the active choice', async () => {
    let disposed = 0;
    const b: Backend = {
      ...fakeBackend('x'),
      dispose: () => {
        disposed++;
      },
    };
    registerBackend('x', () => b);
    registerBackend('y', () => fakeBackend('y'), { priority: 0 });
    await setBackend('x');
    removeBackend('x');
    expect(disposed).toBe(1);
    expect(listBackends()).toEqual(['y']);
    expect(getBackendName()).toBe('y');
    removeBackend('not-there');
  });
});

describe('ready(): fallback adapters and switching after an implicit choice', () => {
  /** A fake backend with a live-buffer count the test controls and an optional fallback adapter. */
  function counted(name: string, fallbackAdapter?: string): Backend & { live: number } {
    const b = fakeBackend(name);
    const out = Object.assign(b, { live: 0, fallbackAdapter });
    out.memory = () => ({ buffers: out.live, bytes: 0, bytesAllocatedTotal: 0, peakBytes: 0 });
    return out;
  }

  it('skips a backend on a software fallback adapter, says why, and takes it when allowed', async () => {
    registerBackend('gpu', async () => counted('gpu', 'google / swiftshader'), { priority: 2 });
    registerBackend('cpu', () => counted('cpu'), { priority: 1 });
    const sel = await ready();
    expect(sel.backend).toBe('cpu');
    expect(sel.skipped).toHaveLength(1);
    expect(sel.skipped[0]?.name).toBe('gpu');
    expect(sel.skipped[0]?.reason).toMatch(/software fallback adapter \(google \/ swiftshader\).*allowFallbackAdapter: true/);
    // A selection made by ready() stands: asking again with other options changes nothing.
    expect((await ready({ allowFallbackAdapter: true })).backend).toBe('cpu');
    removeBackend('cpu');
    registerBackend('cpu', () => counted('cpu'), { priority: 1 });
    expect((await ready({ allowFallbackAdapter: true })).backend).toBe('gpu');
    // setBackend is an explicit ask: it uses the fallback adapter without options.
    await setBackend('cpu');
    expect((await setBackend('gpu')).name).toBe('gpu');
  });

  it('getBackend() does not pick a started fallback backend either', async () => {
    registerBackend('gpu', () => counted('gpu', 'llvmpipe'), { priority: 2 });
    registerBackend('cpu', () => counted('cpu'), { priority: 1 });
    await loadBackend('gpu');
    expect(getBackendName()).toBe('cpu');
  });

  it('replaces a backend picked by a synchronous call while it holds no buffer', async () => {
    const cpu = counted('cpu');
    registerBackend('cpu', () => cpu, { priority: 1 });
    let resolveGpu: (b: Backend) => void = () => undefined;
    registerBackend(
      'gpu',
      () =>
        new Promise<Backend>((r) => {
          resolveGpu = r;
        }),
      { priority: 2 },
    );
    // Before ready(): the async gpu cannot start synchronously, so cpu is picked implicitly.
    expect(getBackendName()).toBe('cpu');
    cpu.live = 0; // every tensor made on it was disposed
    const pending = ready();
    resolveGpu(counted('gpu'));
    expect((await pending).backend).toBe('gpu');
    expect(getBackendName()).toBe('gpu');
  });

  it('refuses to switch away from an implicit choice that holds tensors, naming both backends and the fix', async () => {
    const cpu = counted('cpu');
    registerBackend('cpu', () => cpu, { priority: 1 });
    registerBackend('gpu', async () => counted('gpu'), { priority: 2 });
    expect(getBackendName()).toBe('cpu');
    cpu.live = 2;
    await expect(ready()).rejects.toThrow(BackendError);
    await expect(ready()).rejects.toThrow(/got 2 live buffer\(s\) on 'cpu'.*would now choose 'gpu'.*setBackend\('cpu'\)/);
    // Keeping cpu explicitly ends the question: ready() then returns that choice.
    await setBackend('cpu');
    expect((await ready()).backend).toBe('cpu');
  });

  it('keeps an implicit choice that ready() would make anyway, and then treats it as made', async () => {
    const cpu = counted('cpu');
    registerBackend('cpu', () => cpu, { priority: 2 });
    registerBackend('gpu', async () => counted('gpu', 'swiftshader'), { priority: 3 });
    registerBackend('other', () => counted('other'), { priority: 1 });
    expect(getBackendName()).toBe('cpu');
    cpu.live = 5;
    expect((await ready()).backend).toBe('cpu');
    cpu.live = 0;
    expect((await ready({ allowFallbackAdapter: true })).backend).toBe('cpu');
  });
});
