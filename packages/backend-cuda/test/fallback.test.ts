/**
 * Importing the package never fails, and on a machine without a usable NVIDIA GPU `ready()`
 * picks cpu and records the exact reason cuda was skipped (these CI machines have none).
 */
import '@ghostflow/backend-cpu';
import '@ghostflow/backend-cuda';
import { createCudaBackend } from '@ghostflow/backend-cuda';
import { BackendError, ready } from '@ghostflow/core';
import { describe, expect, it } from 'vitest';

function cudaStartError(): Error | null {
  try {
    createCudaBackend().dispose?.();
    return null;
  } catch (e) {
    return e as Error;
  }
}

const reason = cudaStartError();
const KNOWN = /^(no NVIDIA driver: libcuda\.so\.1 not found|driver too old for PTX ISA \d+\.\d+ .*|no device)$/;

describe.runIf(reason !== null)('backend-cuda without a GPU', () => {
  it('ready() picks cpu and records why cuda was skipped', async () => {
    const choice = await ready();
    expect(choice.backend).toBe('cpu');
    const skipped = choice.skipped.find((s) => s.name === 'cuda');
    expect(skipped?.reason).toBe(`backend 'cuda' failed to initialise: ${reason?.message}`);
  });

  it('the reason is one of the documented fallback reasons', () => {
    expect(reason).toBeInstanceOf(BackendError);
    expect(reason?.message).toMatch(KNOWN);
  });
});

describe.runIf(reason === null)('backend-cuda on a GPU', () => {
  it('ready() picks cuda', async () => {
    expect((await ready()).backend).toBe('cuda');
  });
});
