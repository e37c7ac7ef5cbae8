/**
 * Fuzz: random programs of tensor creation, ops, views, detach/noGrad, dispose, tidy (with
 * returned and kept tensors, nested), `using` blocks, Scope, backward (retaining the graph or
 * not) and grad clearing, run against a float64 model of values and gradients. Properties:
 * nothing leaks (memory().buffers returns to the baseline once the program's survivors are
 * disposed); a disposed tensor always throws DisposedTensorError (never returns garbage); a
 * live tensor always reads its model values; gradients equal the model's reverse-mode
 * gradients, accumulated across backward calls like PyTorch's.
 */
import '@ghostflow/backend-cpu';
import * as gf from '@ghostflow/core';
import { DisposedTensorError, GhostFlowError, Scope, type Tensor, keep, noGrad, setBackend, tidy } from '@ghostflow/core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUZZ_TIMEOUT_MS, FUZZ_SEED, fuzzParams, reportCases } from './fuzz-config.js';
import { close } from './fuzz-reference.js';

beforeAll(async () => {
  await setBackend('cpu');
  console.log(`[fuzz] lifetime: seed ${FUZZ_SEED}`);
});

const SHAPE = [2, 3];
const N = 6;

// ---------------------------------------------------------------- the model

type UnaryName = 'tanh' | 'sigmoid' | 'neg' | 'half' | 'relu' | 'square';
type BinaryName = 'add' | 'sub' | 'mul';
type ViewName = 'reshape' | 'tt' | 'slice' | 'expand';

/** A node of the reference graph: forward values and how gradients flow back. */
interface Node {
  values: number[];
  requiresGrad: boolean;
  /** Gradient rule: (upstream grad) -> contributions to inputs. */
  parents: { node: Node; local: (g: number[]) => number[] }[];
  leaf: boolean;
  /** Model of leaf.grad (accumulated), null when none. */
  grad: number[] | null;
}

const UNARY: Record<UnaryName, { f: (x: number) => number; d: (x: number, y: number) => number; op: (t: Tensor) => Tensor }> = {
  tanh: { f: Math.tanh, d: (_x, y) => 1 - y * y, op: gf.tanh },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), d: (_x, y) => y * (1 - y), op: gf.sigmoid },
  neg: { f: (x) => -x, d: () => -1, op: gf.neg },
  half: { f: (x) => 0.5 * x, d: () => 0.5, op: (t) => gf.mul(t, 0.5) },
  relu: { f: (x) => Math.max(x, 0), d: (x) => (x > 0 ? 1 : 0), op: gf.relu },
  square: { f: (x) => x * x, d: (x) => 2 * x, op: gf.square },
};
const BINARY: Record<
  BinaryName,
  {
    f: (a: number, b: number) => number;
    da: (a: number, b: number) => number;
    db: (a: number, b: number) => number;
    op: (a: Tensor, b: Tensor) => Tensor;
  }
> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1, op: gf.add },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1, op: gf.sub },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a, op: gf.mul },
};
/** Views that keep the [2, 3] shape (and share storage with their base). */
const VIEWS: Record<ViewName, (t: Tensor) => Tensor> = {
  reshape: (t) => tidy(() => t.reshape([N]).reshape(SHAPE)),
  tt: (t) => tidy(() => t.t().t()),
  slice: (t) => t.slice(1, 0, 3),
  expand: (t) => tidy(() => t.slice(0, 1, 2).expand(SHAPE)),
};

// ---------------------------------------------------------------- programs

type Cmd =
  | { k: 'leaf'; values: number[]; requiresGrad: boolean }
  | { k: 'unary'; op: UnaryName; i: number; noGrad: boolean }
  | { k: 'binary'; op: BinaryName; i: number; j: number }
  | { k: 'view'; op: ViewName; i: number }
  | { k: 'detach'; i: number }
  | { k: 'dispose'; i: number }
  | { k: 'read'; i: number }
  | { k: 'useDisposed'; i: number; how: number }
  | { k: 'backward'; i: number; retain: boolean }
  | { k: 'zeroGrad'; i: number }
  | { k: 'tidy'; body: Cmd[]; ret: number[]; keep: number[] }
  | { k: 'using'; body: Cmd[] }
  | { k: 'scope'; body: Cmd[]; release: number[] };

const valueArb = fc.integer({ min: -2000, max: 2000 }).map((v) => Math.fround(v / 1000));
const idx = fc.nat({ max: 1000 });

function cmdArb(depth: number): fc.Arbitrary<Cmd> {
  const flat: fc.WeightedArbitrary<Cmd>[] = [
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant('leaf' as const),
        values: fc.array(valueArb, { minLength: N, maxLength: N }),
        requiresGrad: fc.boolean(),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant('unary' as const),
        op: fc.constantFrom(...(Object.keys(UNARY) as UnaryName[])),
        i: idx,
        noGrad: fc.constantFrom(false, false, false, false, true),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant('binary' as const),
        op: fc.constantFrom(...(Object.keys(BINARY) as BinaryName[])),
        i: idx,
        j: idx,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant('view' as const), op: fc.constantFrom(...(Object.keys(VIEWS) as ViewName[])), i: idx }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('detach' as const), i: idx }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('dispose' as const), i: idx }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('read' as const), i: idx }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('useDisposed' as const), i: idx, how: fc.nat({ max: 5 }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('backward' as const), i: idx, retain: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('zeroGrad' as const), i: idx }) },
  ];
  if (depth > 0) {
    const body = fc.array(cmdArb(depth - 1), { maxLength: 6 });
    flat.push(
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant('tidy' as const),
          body,
          ret: fc.array(idx, { maxLength: 2 }),
          keep: fc.array(idx, { maxLength: 1 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('using' as const), body }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('scope' as const), body, release: fc.array(idx, { maxLength: 1 }) }) },
    );
  }
  return fc.oneof(...flat);
}

const programArb = fc.array(cmdArb(2), { minLength: 1, maxLength: 20 });

// ---------------------------------------------------------------- interpreter

interface Live {
  t: Tensor;
  node: Node;
}

const stats = { programs: 0, commands: 0, backward: 0, useAfterFree: 0, tidy: 0, threwBackward: 0 };

/**
 * A backward() that throws part-way (through a graph an earlier backward freed) must free the
 * gradients it already computed: programs where it threw are held to the same buffer count.
 */

/** Reverse-mode gradients of sum(root) in float64, added into each reachable leaf's model grad. */
function modelBackward(root: Node): void {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const visit = (n: Node) => {
    if (seen.has(n) || !n.requiresGrad) return;
    seen.add(n);
    for (const p of n.parents) visit(p.node);
    order.push(n);
  };
  visit(root);
  const grads = new Map<Node, number[]>([[root, new Array(N).fill(1)]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    const g = grads.get(n);
    if (!g) continue;
    if (n.leaf) {
      n.grad = n.grad ? n.grad.map((v, i) => v + g[i]) : [...g];
      continue;
    }
    for (const p of n.parents) {
      if (!p.node.requiresGrad) continue;
      const c = p.local(g);
      const prev = grads.get(p.node);
      grads.set(p.node, prev ? prev.map((v, i) => v + c[i]) : c);
    }
  }
}

function expectValues(t: Tensor, want: number[], label: string): void {
  const got = Array.from(t.dataSync() as ArrayLike<number>);
  for (let i = 0; i < N; i++)
    if (!close(got[i], want[i], 1e-5, 1e-4))
      expect.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (all: ${got} vs ${want})`);
}

/** Runs a program; returns the tensors still alive at the top level (the caller disposes them). */
function run(program: Cmd[]): { live: Live[]; leaves: Live[] } {
  const disposed: Tensor[] = [];
  const leaves: Live[] = [];
  /** keep()-ed tensors (also by Scope.track): no tidy disposes them afterwards. */
  const kept = new Set<Live>();
  /** The live pool; each block knows which entries it created. */
  const pool: Live[] = [];
  const pick = (i: number): Live | undefined => (pool.length ? pool[i % pool.length] : undefined);
  const add = (t: Tensor, node: Node, created: Live[]): Live => {
    const l = { t, node };
    pool.push(l);
    created.push(l);
    return l;
  };
  const markDisposed = (l: Live) => {
    const at = pool.indexOf(l);
    if (at >= 0) pool.splice(at, 1);
    disposed.push(l.t);
  };

  const exec = (cmds: Cmd[], created: Live[]): void => {
    for (const c of cmds) {
      stats.commands++;
      switch (c.k) {
        case 'leaf': {
          const t = gf.tensor(c.values, { shape: SHAPE, requiresGrad: c.requiresGrad });
          const node: Node = { values: c.values, requiresGrad: c.requiresGrad, parents: [], leaf: true, grad: null };
          const l = add(t, node, created);
          if (c.requiresGrad) leaves.push(l);
          break;
        }
        case 'unary': {
          const x = pick(c.i);
          if (!x) break;
          const spec = UNARY[c.op];
          const t = c.noGrad ? noGrad(() => spec.op(x.t)) : spec.op(x.t);
          const values = x.node.values.map(spec.f);
          const rg = !c.noGrad && x.node.requiresGrad;
          const node: Node = {
            values,
            requiresGrad: rg,
            leaf: false,
            grad: null,
            parents: rg ? [{ node: x.node, local: (g) => g.map((v, i) => v * spec.d(x.node.values[i], values[i])) }] : [],
          };
          expect(t.requiresGrad, `${c.op} requiresGrad`).toBe(rg);
          add(t, node, created);
          break;
        }
        case 'binary': {
          const a = pick(c.i);
          const b = pick(c.j);
          if (!a || !b) break;
          const spec = BINARY[c.op];
          const t = spec.op(a.t, b.t);
          const av = a.node.values;
          const bv = b.node.values;
          const node: Node = {
            values: av.map((v, i) => spec.f(v, bv[i])),
            requiresGrad: a.node.requiresGrad || b.node.requiresGrad,
            leaf: false,
            grad: null,
            parents: [
              { node: a.node, local: (g) => g.map((v, i) => v * spec.da(av[i], bv[i])) },
              { node: b.node, local: (g) => g.map((v, i) => v * spec.db(av[i], bv[i])) },
            ],
          };
          add(t, node, created);
          break;
        }
        case 'view': {
          const x = pick(c.i);
          if (!x) break;
          const t = VIEWS[c.op](x.t);
          const values = c.op === 'expand' ? [...x.node.values.slice(3), ...x.node.values.slice(3)] : [...x.node.values];
          const local = c.op === 'expand' ? (g: number[]) => [0, 0, 0, g[0] + g[3], g[1] + g[4], g[2] + g[5]] : (g: number[]) => [...g];
          add(t, { values, requiresGrad: x.node.requiresGrad, leaf: false, grad: null, parents: [{ node: x.node, local }] }, created);
          break;
        }
        case 'detach': {
          const x = pick(c.i);
          if (!x) break;
          add(x.t.detach(), { values: [...x.node.values], requiresGrad: false, leaf: true, grad: null, parents: [] }, created);
          break;
        }
        case 'dispose': {
          const x = pick(c.i);
          if (!x) break;
          x.t.dispose();
          markDisposed(x);
          break;
        }
        case 'read': {
          const x = pick(c.i);
          if (x) expectValues(x.t, x.node.values, 'a live tensor');
          break;
        }
        case 'useDisposed': {
          if (!disposed.length) break;
          stats.useAfterFree++;
          const t = disposed[c.i % disposed.length];
          const uses: (() => unknown)[] = [
            () => t.dataSync(),
            () => gf.add(t, 1),
            () => t.reshape([N]),
            () => t.sum().backward(),
            () => gf.mul(pool[0]?.t ?? t, t),
            () => t.slice(0, 0, 1),
          ];
          expect(uses[c.how % uses.length], 'use after dispose').toThrow(DisposedTensorError);
          break;
        }
        case 'backward': {
          const x = pick(c.i);
          if (!x) break;
          stats.backward++;
          if (!x.node.requiresGrad) {
            expect(() => tidy(() => x.t.sum().backward()), 'backward of a tensor without grad').toThrow(GhostFlowError);
            break;
          }
          let threw: unknown = null;
          try {
            tidy(() => x.t.sum().backward(undefined, { retainGraph: c.retain }));
          } catch (e) {
            threw = e;
          }
          if (threw) {
            stats.threwBackward++;
            // Only a graph freed by an earlier backward (retainGraph false) may refuse.
            expect(threw, String(threw)).toBeInstanceOf(gf.AutogradError);
            expect(String(threw)).toMatch(/free|second time|retain/i);
            // Grads may be partly accumulated (as in PyTorch): restart every leaf from none.
            for (const l of leaves) {
              if (!l.t.isDisposed) l.t.grad = null;
              l.node.grad = null;
            }
            break;
          }
          modelBackward(x.node);
          for (const l of leaves) {
            if (l.t.isDisposed) continue;
            if (l.node.grad === null) expect(l.t.grad, 'a leaf the backward never reached has no grad').toBeNull();
            else {
              expect(l.t.grad, 'leaf grad').not.toBeNull();
              expectValues(l.t.grad as Tensor, l.node.grad, 'leaf grad');
            }
          }
          break;
        }
        case 'zeroGrad': {
          const x = pick(c.i);
          if (!x || !x.node.leaf || !x.node.requiresGrad) break;
          x.t.grad = null;
          x.node.grad = null;
          break;
        }
        case 'tidy': {
          stats.tidy++;
          const inner: Live[] = [];
          const returned = tidy(() => {
            exec(c.body, inner);
            const alive = inner.filter((l) => !l.t.isDisposed);
            for (const k of c.keep) {
              const l = alive[k % Math.max(alive.length, 1)];
              if (l) {
                keep(l.t);
                kept.add(l);
              }
            }
            return c.ret.map((r) => alive[r % Math.max(alive.length, 1)]).filter((l): l is Live => !!l);
          });
          const survivors = new Set<Live>([...returned, ...kept]);
          for (const l of inner) {
            if (!pool.includes(l)) continue; // disposed by the program itself
            if (survivors.has(l)) {
              created.push(l);
              expect(l.t.isDisposed, 'a returned or kept tensor survives tidy').toBe(false);
            } else {
              expect(l.t.isDisposed, 'tidy disposes what it did not return').toBe(true);
              markDisposed(l);
            }
          }
          break;
        }
        case 'using': {
          const inner: Live[] = [];
          {
            using guard = gf.tensor(0);
            exec(c.body, inner);
            expect(guard.isDisposed).toBe(false);
          }
          // Everything made in the block is disposed by hand except one, held with `using`.
          const alive = inner.filter((l) => !l.t.isDisposed);
          const held = alive[0];
          if (held) {
            {
              using _h = held.t;
            }
            expect(held.t.isDisposed, '`using` disposed it').toBe(true);
            markDisposed(held);
          }
          for (const l of alive.slice(1)) created.push(l);
          break;
        }
        case 'scope': {
          const inner: Live[] = [];
          const scope = new Scope();
          exec(c.body, inner);
          const alive = inner.filter((l) => !l.t.isDisposed);
          for (const l of alive) {
            scope.track(l.t);
            kept.add(l);
          }
          const released = new Set(c.release.map((r) => alive[r % Math.max(alive.length, 1)]).filter((l): l is Live => !!l));
          for (const l of released) scope.release(l.t);
          scope.dispose();
          for (const l of alive) {
            if (released.has(l)) created.push(l);
            else {
              expect(l.t.isDisposed, 'Scope disposed what it tracked').toBe(true);
              markDisposed(l);
            }
          }
          break;
        }
      }
    }
  };
  const top: Live[] = [];
  exec(program, top);
  return { live: [...pool], leaves };
}

describe('fuzz: tensor lifetimes and autograd', { timeout: FUZZ_TIMEOUT_MS }, () => {
  it('random tidy/keep/dispose/backward/using/Scope programs: no leak, no use-after-free, model grads', () => {
    fc.assert(
      fc.property(programArb, (program) => {
        stats.programs++;
        const baseline = gf.memory().buffers;
        const { live, leaves } = run(program);
        for (const l of live) expectValues(l.t, l.node.values, 'a survivor');
        for (const l of live) l.t.dispose();
        for (const l of leaves) l.t.dispose();
        expect(gf.memory().buffers, 'buffers after disposing every survivor').toBe(baseline);
      }),
      fuzzParams(1500),
    );
    reportCases(
      'lifetime programs',
      stats.programs,
      `${stats.commands} commands, ${stats.backward} backward calls, ${stats.useAfterFree} use-after-dispose probes, ${stats.tidy} tidy blocks, ${stats.threwBackward} backward calls refused (freed graph)`,
    );
  });

  it('select() frees its intermediate slice (found by the op fuzz: the storage outlived both tensors)', () => {
    const before = gf.memory().buffers;
    const base = gf.tensor([1, 2, 3]);
    const v = base.select(0, 1);
    base.dispose();
    expect(v.itemSync()).toBe(2);
    v.dispose();
    expect(gf.memory().buffers).toBe(before);
  });
});
