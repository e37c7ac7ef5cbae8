/**
 * The containers and shape layers added for issue 11: ModuleDict, ParameterList,
 * ParameterDict (PyTorch's state-dict keys and order, replacement, refusals), Identity,
 * Flatten and Unflatten (shapes and values, PyTorch's error).
 */
import '@ghostflow/backend-cpu';
import { type Tensor, arange, ones, setBackend, tensor, zeros } from '@ghostflow/core';
import { Flatten, Identity, Linear, Module, ModuleDict, Parameter, ParameterDict, ParameterList, SGD, Unflatten } from '@ghostflow/nn';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await setBackend('cpu');
});

function vals(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, Number);
}

describe('ModuleDict', () => {
  it('registers under its keys in insertion order; replace, pop, has, iterate', () => {
    const d = new ModuleDict({ cls: new Linear(4, 3), reg: new Linear(4, 1) });
    expect(Object.keys(d.stateDict())).toEqual(['cls.weight', 'cls.bias', 'reg.weight', 'reg.bias']);
    expect([...d]).toEqual(['cls', 'reg']);
    expect(d.length).toBe(2);
    expect(d.get('reg').outFeatures).toBe(1);
    expect((d as unknown as { cls: Linear }).cls).toBe(d.get('cls'));
    d.set('cls', new Linear(4, 5));
    expect(d.get('cls').outFeatures).toBe(5);
    expect(d.keys()).toEqual(['cls', 'reg']);
    const reg = d.pop('reg');
    expect(reg.outFeatures).toBe(1);
    expect(reg.weight.isDisposed).toBe(false);
    expect(d.has('reg')).toBe(false);
    expect(Object.keys(d.stateDict())).toEqual(['cls.weight', 'cls.bias']);
    d.update([['z', new Linear(1, 1)]]);
    expect(d.items().map(([k]) => k)).toEqual(['cls', 'z']);
    d.clear();
    expect(d.length).toBe(0);
  });

  it('refuses non-modules and missing keys with what came', () => {
    const d = new ModuleDict();
    expect(() => d.set('a', 3 as unknown as Module)).toThrow(/ModuleDict: child 0 must be a Module, got number 3/);
    expect(() => d.get('nope')).toThrow(/ModuleDict has no key 'nope'/);
    expect(() => d.set('a.b', new Linear(1, 1))).toThrow(/invalid name 'a.b'/);
    expect(() => d.forward()).toThrow(/no forward/);
  });
});

describe('ParameterList and ParameterDict', () => {
  it('ParameterList makes tensors parameters, keys 0, 1, ...; an optimizer sees them', () => {
    const l = new ParameterList([zeros([2]), ones([3])]);
    expect(Object.keys(l.stateDict())).toEqual(['0', '1']);
    expect(l.at(-1).shape).toEqual([3]);
    expect(l.at(0) instanceof Parameter).toBe(true);
    expect(l.at(0).requiresGrad).toBe(true);
    l.append(tensor([5]));
    expect(l.length).toBe(3);
    expect([...l].map((p) => p.size)).toEqual([2, 3, 1]);
    l.set(0, tensor([9, 9]));
    expect(vals(l.at(0))).toEqual([9, 9]);
    expect(new SGD(l.parameters(), { lr: 1 }).paramGroups[0].params.length).toBe(3);
    expect(() => l.at(3)).toThrow(/ParameterList has 3 parameters, no index 3/);
    expect(() => l.append(5 as unknown as Tensor)).toThrow(/ParameterList: entry 3 must be a Tensor, got number/);
  });

  it('ParameterDict by key, in insertion order, nested in a module with its prefix', () => {
    class Affine extends Module {
      p = new ParameterDict({ scale: ones([2]), shift: zeros([2]) });
      forward(x: Tensor) {
        return x.mul(this.p.get('scale')).add(this.p.get('shift'));
      }
    }
    const m = new Affine();
    expect(Object.keys(m.stateDict())).toEqual(['p.scale', 'p.shift']);
    expect(vals(m.forward(tensor([3, 4])))).toEqual([3, 4]);
    m.p.set('shift', tensor([1, 1]));
    expect(vals(m.forward(tensor([3, 4])))).toEqual([4, 5]);
    expect(m.p.keys()).toEqual(['scale', 'shift']);
    const popped = m.p.pop('scale');
    expect(popped.isDisposed).toBe(false);
    expect(m.p.has('scale')).toBe(false);
    expect(() => m.p.get('scale')).toThrow(/ParameterDict has no key 'scale'/);
  });
});

describe('Identity, Flatten, Unflatten', () => {
  it('Identity returns its input itself and ignores constructor arguments', () => {
    const x = tensor([1, 2]);
    expect(new Identity(54, { unused: true }).forward(x)).toBe(x);
    expect(new Identity().parameters().length).toBe(0);
  });

  it('Flatten (1, -1 by default, as PyTorch) and the inverse Unflatten', () => {
    const x = arange(24).reshape([2, 3, 4]);
    expect(new Flatten().forward(x).shape).toEqual([2, 12]);
    expect(new Flatten(0, 1).forward(x).shape).toEqual([6, 4]);
    const y = new Unflatten(1, [3, 4]).forward(new Flatten().forward(x));
    expect(y.shape).toEqual([2, 3, 4]);
    expect(vals(y)).toEqual(vals(x));
    expect(new Unflatten(-1, [2, -1]).forward(x).shape).toEqual([2, 3, 2, 2]);
    expect(() => new Unflatten(1, [5, 2]).forward(x)).toThrow(/provided sizes \[5, 2\] don't multiply up to the size of dim 1 \(3\)/);
    expect(() => new Unflatten(1, [-1, -1])).toThrow(/at most one -1/);
    expect(new Flatten(0, -1).extraRepr()).toBe('startDim=0, endDim=-1');
  });
});
