/**
 * The strong-Wolfe line search of torch.optim.LBFGS (torch 1.13's `_strong_wolfe` and
 * `_cubic_interpolate`, after minFunc), written as a generator so LBFGS can drive it with a
 * synchronous or an asynchronous closure: it yields a request whenever it needs the loss and
 * gradient at `x + t d` (or a value read back from the device).
 */
import { type Tensor, keep, noGrad } from '@ghostflow/core';

/** What the line search and LBFGS ask their driver for. */
export type LbfgsRequest =
  /** Evaluate the loss and gradient at the parameters + `t d` (then restore them to `x`, when given); answer with the loss. */
  | { kind: 'evaluate'; t: number; d: Tensor | null; x: readonly Tensor[] | null }
  /** Read a 0-d tensor back to the host (the request's tensor is disposed afterwards by the requester). */
  | { kind: 'read'; tensor: Tensor };

/** The flat gradient after the last `evaluate` request (owned by the caller of the generator). */
export interface FlatGradSource {
  /** Takes ownership of the flat gradient gathered after the last evaluation. */
  takeFlatGrad(): Tensor;
}

/** Reads a 0-d tensor (disposing it) through the driver. */
export function* readScalar(t: Tensor): Generator<LbfgsRequest, number, number> {
  try {
    return yield { kind: 'read', tensor: t };
  } finally {
    t.dispose();
  }
}

/**
 * Minimiser of the cubic interpolating (x1, f1, g1), (x2, f2, g2), clamped to `bounds`. The
 * slopes are float32 tensors in PyTorch, so the arithmetic that involves them is rounded to
 * float32 here too (`fround` after each operation), which keeps the chosen steps, and with
 * them the number of evaluations, the same as PyTorch's.
 */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const f = Math.fround;
  const [xmin, xmax] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = f(f(g1 + g2) - f((3 * (f1 - f2)) / (x1 - x2)));
  const d2Square = f(f(d1 * d1) - f(g1 * g2));
  if (d2Square >= 0) {
    const d2 = f(Math.sqrt(d2Square));
    const minPos =
      x1 <= x2
        ? f(f(x2) - f(f(x2 - x1) * f(f(f(g2 + d2) - d1) / f(f(g2 - g1) + f(2 * d2)))))
        : f(f(x1) - f(f(x1 - x2) * f(f(f(g1 + d2) - d1) / f(f(g1 - g2) + f(2 * d2)))));
    // Python's min(max(nan, lo), hi) keeps the NaN only in some argument orders; follow it.
    return pyMin(pyMax(minPos, xmin), xmax);
  }
  return (xmin + xmax) / 2;
}

// Python's max/min return the first argument unless a later one compares greater/smaller,
// so a NaN first argument survives: mirror that rather than Math.max's NaN propagation.
function pyMax(a: number, b: number): number {
  return b > a ? b : a;
}
function pyMin(a: number, b: number): number {
  return b < a ? b : a;
}

/** A point of the search: step, loss, gradient (owned) and directional derivative. */
interface Point {
  t: number;
  f: number;
  g: Tensor;
  gtd: number;
}

/** What the search returns: the accepted loss, its flat gradient (owned by the caller), the step and the evaluation count. */
export interface WolfeResult {
  loss: number;
  flatGrad: Tensor;
  t: number;
  funcEvals: number;
}

function dot(a: Tensor, b: Tensor): Tensor {
  return noGrad(() => keep(a.mul(b).sum()));
}

/**
 * Strong-Wolfe line search along `d` from the parameters `x` (loss `f`, flat gradient `g`,
 * directional derivative `gtd`), starting at step `t0`. `g` stays the caller's; every trial
 * point is evaluated and the parameters put back to `x`.
 */
export function* strongWolfe(
  src: FlatGradSource,
  x: readonly Tensor[],
  t0: number,
  d: Tensor,
  f: number,
  g: Tensor,
  gtd: number,
  c1 = 1e-4,
  c2 = 0.9,
  toleranceChange = 1e-9,
  maxLs = 25,
): Generator<LbfgsRequest, WolfeResult, number> {
  const owned = new Set<Tensor>();
  const own = (x: Tensor): Tensor => {
    owned.add(x);
    return x;
  };
  try {
    let t = t0;
    const dNorm = yield* readScalar(noGrad(() => keep(d.abs().max())));
    const gStart = own(noGrad(() => keep(g.clone())));
    let fNew = yield { kind: 'evaluate', t, d, x };
    let gNew = own(src.takeFlatGrad());
    let funcEvals = 1;
    let gtdNew = Math.fround(yield* readScalar(dot(gNew, d)));
    let prev: Point = { t: 0, f, g: gStart, gtd };
    let done = false;
    let lsIter = 0;
    let bracket: Point[] = [];
    let found = false;
    while (lsIter < maxLs) {
      if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= prev.f)) {
        bracket = [prev, { t, f: fNew, g: gNew, gtd: gtdNew }];
        found = true;
        break;
      }
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        bracket = [{ t, f: fNew, g: gNew, gtd: gtdNew }];
        done = true;
        found = true;
        break;
      }
      if (gtdNew >= 0) {
        bracket = [prev, { t, f: fNew, g: gNew, gtd: gtdNew }];
        found = true;
        break;
      }
      const minStep = t + 0.01 * (t - prev.t);
      const maxStep = t * 10;
      const tmp = t;
      t = cubicInterpolate(prev.t, prev.f, prev.gtd, t, fNew, gtdNew, [minStep, maxStep]);
      prev = { t: tmp, f: fNew, g: gNew, gtd: gtdNew };
      fNew = yield { kind: 'evaluate', t, d, x };
      gNew = own(src.takeFlatGrad());
      funcEvals += 1;
      gtdNew = Math.fround(yield* readScalar(dot(gNew, d)));
      lsIter += 1;
    }
    if (!found || lsIter === maxLs) {
      // Out of evaluations: bracket [0, t] (PyTorch leaves the gtds of this bracket unset; a
      // zoom that needs them cannot run, since lsIter == maxLs ends the loop below).
      bracket = [
        { t: 0, f, g: gStart, gtd: Number.NaN },
        { t, f: fNew, g: gNew, gtd: Number.NaN },
      ];
    }
    let insufProgress = false;
    let [low, high] = bracket.length > 1 && bracket[0].f > bracket[bracket.length - 1].f ? [1, 0] : [0, 1];
    while (!done && lsIter < maxLs) {
      if (Math.abs(bracket[1].t - bracket[0].t) * dNorm < toleranceChange) break;
      t = cubicInterpolate(bracket[0].t, bracket[0].f, bracket[0].gtd, bracket[1].t, bracket[1].f, bracket[1].gtd);
      const bMax = Math.max(bracket[0].t, bracket[1].t);
      const bMin = Math.min(bracket[0].t, bracket[1].t);
      const eps = 0.1 * (bMax - bMin);
      if (Math.min(bMax - t, t - bMin) < eps) {
        if (insufProgress || t >= bMax || t <= bMin) {
          t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
          insufProgress = false;
        } else insufProgress = true;
      } else insufProgress = false;
      fNew = yield { kind: 'evaluate', t, d, x };
      gNew = own(src.takeFlatGrad());
      funcEvals += 1;
      gtdNew = Math.fround(yield* readScalar(dot(gNew, d)));
      lsIter += 1;
      const point = { t, f: fNew, g: gNew, gtd: gtdNew };
      if (fNew > f + c1 * t * gtd || fNew >= bracket[low].f) {
        bracket[high] = point;
        [low, high] = bracket[0].f <= bracket[1].f ? [0, 1] : [1, 0];
      } else {
        if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
        else if (gtdNew * (bracket[high].t - bracket[low].t) >= 0) bracket[high] = bracket[low];
        bracket[low] = point;
      }
    }
    const best = bracket[low];
    owned.delete(best.g);
    return { loss: best.f, flatGrad: best.g, t: best.t, funcEvals };
  } finally {
    for (const x of owned) x.dispose();
  }
}
