import { GhostFlowError, getBackend, profile, randn, tensor, tidy } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

describe('profile()', () => {
  it('counts each kernel call, with input shapes, allocated bytes and the returned value', async () => {
    const a = randn([8, 16]);
    const b = randn([16, 4]);
    const report = await profile(() => tidy(() => Array.from(a.matmul(b).relu().sum().dataSync())));
    expect(report.result).toHaveLength(1);
    const matmul = report.kernels.find((k) => k.name === 'matmul');
    expect(matmul?.calls).toBe(1);
    // The one matmul allocates its [8, 4] float32 output.
    expect(matmul?.bytes).toBe(8 * 4 * 4);
    const event = report.events.find((e) => e.name === 'matmul');
    expect(event?.inputShapes).toEqual([
      [8, 16],
      [16, 4],
    ]);
    expect(event?.depth).toBe(0);
    expect(report.kernels.map((k) => k.name)).toContain('reduce');
    expect(report.kernelMs).toBeLessThanOrEqual(report.totalMs);
    a.dispose();
    b.dispose();
  });

  it('restores the kernels afterwards, also when fn throws', async () => {
    const backend = getBackend();
    const before = backend.kernels.matmul;
    await expect(
      profile(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(backend.kernels.matmul).toBe(before);
    const binary = backend.kernels.binary;
    const x = tensor([1, 2, 3]);
    const report = await profile(async () => x.add(1));
    expect(Array.from(report.result.dataSync())).toEqual([2, 3, 4]);
    report.result.dispose();
    expect(report.events.map((e) => e.name)).toContain('binary');
    expect(backend.kernels.binary).toBe(binary);
    const again = await profile(() => 0);
    expect(again.events).toHaveLength(0); // nothing ran, nothing was recorded
    x.dispose();
  });

  it('refuses to nest', async () => {
    await expect(profile(() => profile(() => 1))).rejects.toBeInstanceOf(GhostFlowError);
    // The outer profile restored everything: a new one works.
    const ok = await profile(() => 2);
    expect(ok.result).toBe(2);
  });

  it('counts nested kernel calls once: self time and bytes exclude the inner call', async () => {
    const backend = getBackend();
    const kernels = backend.kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originalCast = kernels.cast;
    // A fake backend-internal call: cast calling unary (as a backend composing its own kernels would).
    const x = randn([32]);
    kernels.cast = function (this: unknown, ...args: unknown[]) {
      const inner = kernels.unary?.call(this, args[0], { op: 'identity' });
      backend.disposeData(inner as never);
      return originalCast?.apply(this, args);
    };
    try {
      const report = await profile(() => tidy(() => x.int().dataSync()));
      const cast = report.events.find((e) => e.name === 'cast');
      const inner = report.events.find((e) => e.name === 'unary');
      expect(inner?.depth).toBe(1);
      expect(cast?.depth).toBe(0);
      expect(inner?.bytes).toBe(32 * 4);
      expect(cast?.bytes).toBe(32 * 4); // its own int32 output only, not the inner identity copy
      const castStat = report.kernels.find((k) => k.name === 'cast');
      expect(castStat && castStat.selfMs <= castStat.totalMs).toBe(true);
    } finally {
      kernels.cast = originalCast as (...args: unknown[]) => unknown;
      x.dispose();
    }
  });

  it('writes a Chrome trace and a table', async () => {
    const a = randn([4, 4]);
    const report = await profile(() => tidy(() => a.exp().add(a).sum().dataSync()));
    const trace = report.chromeTrace();
    expect(trace.traceEvents.length).toBe(report.events.length);
    for (const e of trace.traceEvents) {
      expect(e.ph).toBe('X');
      expect(e.cat).toBe('cpu');
      expect(e.dur).toBeGreaterThanOrEqual(0);
    }
    expect(JSON.parse(JSON.stringify(trace)).traceEvents[0].name).toBe(report.events[0]?.name);
    const table = report.table();
    expect(table.split('\n')[0]).toMatch(/^kernel\s+calls\s+self ms/);
    expect(table).toContain('unary');
    expect(table).toMatch(/ms in kernels/);
    a.dispose();
  });
});
