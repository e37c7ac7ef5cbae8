/** Unit tests of tidy/keep/Scope with a fake resource (no backend, no tensors). */
import { describe, expect, it } from 'vitest';
import { GhostFlowError } from '../src/errors.js';
import { Scope, type ScopedResource, heldTensors, isKept, keep, tidy, trackInScope } from '../src/memory/scope.js';

/** A resource that counts disposals and registers with the open tidy scope like a tensor. */
class FakeResource implements ScopedResource {
  disposals = 0;
  constructor(readonly label = '') {
    trackInScope(this);
  }
  get isDisposed(): boolean {
    return this.disposals > 0;
  }
  dispose(): void {
    this.disposals++;
  }
}

/** A non-plain object holding a resource: tidy does not look inside class instances. */
class Holder {
  constructor(readonly r: FakeResource) {}
}

/**
 * A class instance that declares what it holds (like nn's PackedSequence) and is itself
 * disposable: tidy must keep its resources, not treat it as one opaque resource.
 */
class Declaring {
  isDisposed = false;
  constructor(
    readonly data: FakeResource,
    readonly extra: { lengths: FakeResource | null },
  ) {}
  [heldTensors](): FakeResource[] {
    return [this.data, ...(this.extra.lengths ? [this.extra.lengths] : [])];
  }
  dispose(): void {
    this.isDisposed = true;
  }
}

describe('tidy', () => {
  it('disposes what was made inside, once, and keeps the result', () => {
    let a!: FakeResource;
    let b!: FakeResource;
    const out = tidy(() => {
      a = new FakeResource('a');
      b = new FakeResource('b');
      return new FakeResource('out');
    });
    expect(a.disposals).toBe(1);
    expect(b.disposals).toBe(1);
    expect(out.isDisposed).toBe(false);
  });

  it('keeps resources nested in arrays, plain objects and maps, but not in class instances', () => {
    const made: FakeResource[] = [];
    const mk = () => {
      const r = new FakeResource();
      made.push(r);
      return r;
    };
    const result = tidy(() => ({ list: [mk(), [mk()]], obj: { deep: mk() }, map: new Map([['k', mk()]]), holder: new Holder(mk()), n: 3 }));
    expect(made.map((r) => r.isDisposed)).toEqual([false, false, false, false, true]);
    expect(result.n).toBe(3);
  });

  it('keeps the resources of objects that declare them (heldTensors), nested in tuples and objects', () => {
    const made: FakeResource[] = [];
    const mk = () => {
      const r = new FakeResource();
      made.push(r);
      return r;
    };
    const result = tidy(() => {
      const packed = new Declaring(mk(), { lengths: mk() });
      mk(); // a temporary: freed
      return [
        packed,
        [mk(), mk()],
        { output: new Declaring(mk(), { lengths: null }), hN: mk() },
        Object.assign(Object.create(null), { x: mk() }),
      ] as const;
    });
    expect(made.map((r) => r.isDisposed)).toEqual([false, false, true, false, false, false, false, false]);
    expect(result[0].isDisposed).toBe(false);
    // The kept resources moved to the enclosing scope: an outer tidy frees them.
    tidy(() => {
      tidy(() => new Declaring(mk(), { lengths: null }));
    });
    expect(made[made.length - 1].disposals).toBe(1);
  });

  it('moves results to the enclosing tidy, which frees them unless returned again', () => {
    let inner!: FakeResource;
    let escaped!: FakeResource;
    const outerResult = tidy(() => {
      inner = tidy(() => new FakeResource('inner'));
      expect(inner.isDisposed).toBe(false);
      escaped = tidy(() => new FakeResource('escaped'));
      return escaped;
    });
    expect(inner.disposals).toBe(1);
    expect(escaped.isDisposed).toBe(false);
    expect(outerResult).toBe(escaped);
  });

  it('does not touch resources created outside it', () => {
    const outside = new FakeResource();
    tidy(() => {
      const r = new FakeResource();
      return [outside, r].length;
    });
    expect(outside.isDisposed).toBe(false);
  });

  it('keep() exempts a resource from every open scope', () => {
    let kept!: FakeResource;
    tidy(() => {
      tidy(() => {
        kept = keep(new FakeResource());
      });
    });
    expect(kept.isDisposed).toBe(false);
    expect(isKept(kept)).toBe(true);
    expect(isKept(new FakeResource())).toBe(false);
  });

  it('disposes everything and rethrows when fn throws, leaving no scope open', () => {
    let r!: FakeResource;
    expect(() =>
      tidy(() => {
        r = new FakeResource();
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(r.disposals).toBe(1);
    // the failed scope was popped: a resource made now belongs to no scope
    const after = new FakeResource();
    tidy(() => 0);
    expect(after.isDisposed).toBe(false);
  });

  it('throws for an async fn, after disposing what it made synchronously', async () => {
    let r!: FakeResource;
    let err: unknown;
    let pending: Promise<void> | undefined;
    try {
      tidy(() => {
        r = new FakeResource();
        pending = Promise.resolve();
        return pending;
      });
    } catch (e) {
      err = e;
    }
    await pending;
    expect(err).toBeInstanceOf(GhostFlowError);
    expect((err as Error).message).toMatch(/synchronous/);
    expect((err as Error).message).toMatch(/Scope/);
    expect(r.disposals).toBe(1);
  });
});

describe('Scope', () => {
  it('owns tracked resources (taking them out of tidy) and disposes them once', () => {
    const scope = new Scope();
    const r = tidy(() => {
      scope.track(new FakeResource('tracked'));
      return null;
    });
    expect(r).toBeNull();
    const a = scope.track(new FakeResource('a'));
    expect(a.isDisposed).toBe(false);
    scope.dispose();
    expect(a.disposals).toBe(1);
    scope.dispose();
    expect(a.disposals).toBe(1);
  });

  it('survives tidy and awaits', async () => {
    const scope = new Scope();
    let t!: FakeResource;
    tidy(() => {
      t = scope.track(new FakeResource());
    });
    expect(t.isDisposed).toBe(false);
    await Promise.resolve();
    expect(t.isDisposed).toBe(false);
    scope.dispose();
    expect(t.isDisposed).toBe(true);
  });

  it('release() hands ownership back', () => {
    const scope = new Scope();
    const a = scope.track(new FakeResource());
    const b = scope.track(new FakeResource());
    expect(scope.release(b)).toBe(b);
    scope.dispose();
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(false);
  });

  it('supports `using`', () => {
    let a!: FakeResource;
    {
      using scope = new Scope();
      a = scope.track(new FakeResource());
      expect(a.isDisposed).toBe(false);
    }
    expect(a.disposals).toBe(1);
  });
});
