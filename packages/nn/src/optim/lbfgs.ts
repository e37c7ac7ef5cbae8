/** L-BFGS (torch.optim.LBFGS), with or without the strong-Wolfe line search. */
import { type Tensor, GhostFlowError, cat, enableGrad, keep, noGrad, tidy, zeros } from '@ghostflow/core';
import {
  type BaseGroupOptions,
  type Closure,
  Optimizer,
  type ParamGroup,
  ParamState,
  type ParamsInput,
  isPromiseLike,
} from './optimizer.js';
import { type FlatGradSource, type LbfgsRequest, readScalar, strongWolfe } from './strong-wolfe.js';

/** Hyper-parameters of {@link LBFGS}. */
export interface LBFGSOptions extends BaseGroupOptions {
  /** Most iterations per `step` (default 20). */
  maxIter: number;
  /** Most closure evaluations per `step` (default `floor(maxIter * 5 / 4)`). */
  maxEval: number;
  /** Stop when every gradient element is at most this in magnitude (default 1e-7). */
  toleranceGrad: number;
  /** Stop when the loss or the step changes less than this (default 1e-9). */
  toleranceChange: number;
  /** Number of curvature pairs kept (default 100). */
  historySize: number;
  /** `'strong_wolfe'` or null: a fixed step of `lr` (default null). */
  lineSearchFn: 'strong_wolfe' | null;
}

/**
 * torch.optim.LBFGS (torch 1.13, after minFunc): up to `maxIter` quasi-Newton iterations per
 * `step(closure)`, with a two-loop recursion over the last `historySize` curvature pairs and
 * either a fixed step (`lr`, the first one scaled by `min(1, 1 / |g|_1)`) or the strong-Wolfe
 * line search. One parameter group only. The closure is required: it re-evaluates the loss
 * (zero the gradients, forward, `backward()`, return the loss). With a synchronous closure
 * `step` is synchronous (host reads use `itemSync`, so the backend needs synchronous reads:
 * cpu); with an async closure (e.g. one that `await`s) `step` returns a Promise and every read
 * is awaited, which works on every backend. `step` returns the loss of the first evaluation;
 * the losses of the re-evaluations are disposed here.
 *
 * @example
 * ```ts
 * import { randn } from '@ghostflow/core';
 * import '@ghostflow/backend-cpu';
 * import { LBFGS, Linear, mseLoss } from '@ghostflow/nn';
 * const model = new Linear(4, 1);
 * const x = randn([16, 4]);
 * const y = randn([16, 1]);
 * const opt = new LBFGS(model.parameters(), { lr: 0.8, lineSearchFn: 'strong_wolfe' });
 * const loss = opt.step(() => {
 *   opt.zeroGrad();
 *   const l = mseLoss(model.forward(x), y);
 *   l.backward();
 *   return l;
 * });
 * ```
 */
export class LBFGS extends Optimizer<LBFGSOptions> implements FlatGradSource {
  private flatGrad: Tensor | null = null;

  /**
   * @param params parameters (a single group)
   * @param options `lr` (1), `maxIter` (20), `maxEval` (maxIter * 5 / 4), `toleranceGrad` (1e-7),
   *   `toleranceChange` (1e-9), `historySize` (100), `lineSearchFn` (null)
   */
  constructor(params: ParamsInput<LBFGSOptions>, options: Partial<LBFGSOptions> = {}) {
    const maxIter = options.maxIter ?? 20;
    const d: LBFGSOptions = {
      lr: 1,
      maxIter,
      maxEval: Math.floor((maxIter * 5) / 4),
      toleranceGrad: 1e-7,
      toleranceChange: 1e-9,
      historySize: 100,
      lineSearchFn: null,
      ...options,
    };
    if (options.maxEval === undefined) d.maxEval = Math.floor((d.maxIter * 5) / 4);
    if (!(d.lr >= 0)) throw new GhostFlowError(`LBFGS: invalid learning rate ${d.lr}`);
    if (!(Number.isInteger(d.maxIter) && d.maxIter > 0))
      throw new GhostFlowError(`LBFGS: maxIter must be a positive integer, got ${d.maxIter}`);
    if (!(Number.isInteger(d.historySize) && d.historySize > 0))
      throw new GhostFlowError(`LBFGS: historySize must be a positive integer, got ${d.historySize}`);
    if (d.lineSearchFn !== null && d.lineSearchFn !== 'strong_wolfe')
      throw new GhostFlowError(`LBFGS: only 'strong_wolfe' is supported as lineSearchFn, got '${String(d.lineSearchFn)}'`);
    super(params, d);
    if (this.paramGroups.length !== 1) throw new GhostFlowError("LBFGS doesn't support per-parameter options (parameter groups)");
  }

  /** Refuses a second group, as PyTorch's LBFGS. */
  override addParamGroup(group: Parameters<Optimizer<LBFGSOptions>['addParamGroup']>[0]): void {
    if (this.paramGroups.length > 0) throw new GhostFlowError("LBFGS doesn't support per-parameter options (parameter groups)");
    super.addParamGroup(group);
  }

  private get params(): Tensor[] {
    return this.paramGroups[0].params;
  }

  private get numel(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }

  /** LBFGS has no per-parameter update; its `step` runs the whole iteration. */
  protected updateParameter(_param: Tensor, _grad: Tensor, _group: ParamGroup<LBFGSOptions>, _state: ParamState): void {
    throw new GhostFlowError('LBFGS.step needs a closure that re-evaluates the loss');
  }

  /** `d` and `prev_flat_grad` are flat over all parameters; the history lists are not checked. */
  protected override stateShape(name: string, _param: Tensor): readonly number[] | null {
    return name === 'd' || name === 'prev_flat_grad' ? [this.numel] : null;
  }

  /** Takes the flat gradient gathered after the last evaluation (the line search owns it then). */
  takeFlatGrad(): Tensor {
    const g = this.flatGrad;
    if (!g) throw new GhostFlowError('LBFGS: no gradient was gathered (internal error)');
    this.flatGrad = null;
    return g;
  }

  /**
   * Runs up to `maxIter` L-BFGS iterations (torch.optim.LBFGS.step); `closure` is required.
   * Returns the closure's first loss, synchronously for a synchronous closure and as a
   * Promise for an async one.
   */
  override step(): undefined;
  override step(closure: () => Tensor): Tensor;
  override step(closure: () => Promise<Tensor>): Promise<Tensor>;
  override step(closure?: Closure): Tensor | Promise<Tensor> | undefined;
  override step(closure?: Closure): Tensor | Promise<Tensor> | undefined {
    if (typeof closure !== 'function')
      throw new GhostFlowError(
        `LBFGS.step: expected a closure that re-evaluates the model and returns the loss, got ${closure === undefined ? 'none' : typeof closure}`,
      );
    const gen = this.iterate();
    let first: Tensor | undefined;
    let answer = 0;
    for (;;) {
      const res = noGrad(() => gen.next(answer));
      if (res.done) return first as Tensor;
      const req = res.value;
      if (req.kind === 'read') {
        answer = req.tensor.itemSync();
        continue;
      }
      if (req.d) this.addGrad(req.t, req.d);
      const out = enableGrad(closure);
      if (isPromiseLike<Tensor>(out)) return this.continueAsync(gen, closure, req, Promise.resolve(out), first);
      answer = out.itemSync();
      if (first === undefined) first = out;
      else out.dispose();
      this.afterEvaluate(req);
    }
  }

  private async continueAsync(
    gen: Generator<LbfgsRequest, void, number>,
    closure: Closure,
    pending: LbfgsRequest & { kind: 'evaluate' },
    loss: Promise<Tensor>,
    firstSoFar: Tensor | undefined,
  ): Promise<Tensor> {
    let first = firstSoFar;
    const settle = async (out: Tensor, req: LbfgsRequest & { kind: 'evaluate' }): Promise<number> => {
      const v = await out.item();
      if (first === undefined) first = out;
      else out.dispose();
      this.afterEvaluate(req);
      return v;
    };
    let answer = await settle(await loss, pending);
    for (;;) {
      const res = noGrad(() => gen.next(answer));
      if (res.done) return first as Tensor;
      const req = res.value;
      if (req.kind === 'read') {
        answer = await req.tensor.item();
        continue;
      }
      if (req.d) this.addGrad(req.t, req.d);
      answer = await settle(await enableGrad(closure), req);
    }
  }

  /** After a closure ran: gather the flat gradient, then restore the parameters when asked. */
  private afterEvaluate(req: LbfgsRequest & { kind: 'evaluate' }): void {
    this.flatGrad?.dispose();
    this.flatGrad = this.gatherFlatGrad();
    if (req.x) this.setParams(req.x);
  }

  private gatherFlatGrad(): Tensor {
    return noGrad(() =>
      keep(tidy(() => cat(this.params.map((p) => (p.grad ? p.grad.reshape(-1) : zeros([p.size], { device: p.device })))))),
    );
  }

  /** `p += t * update[slice of p]` for every parameter. */
  private addGrad(t: number, update: Tensor): void {
    noGrad(() =>
      tidy(() => {
        let offset = 0;
        for (const p of this.params) {
          p.copy_(p.add(update.narrow(0, offset, p.size).reshape(p.shape).mul(t)));
          offset += p.size;
        }
      }),
    );
  }

  private setParams(x: readonly Tensor[]): void {
    noGrad(() => this.params.forEach((p, i) => p.copy_(x[i])));
  }

  private stateOfFirst(): ParamState {
    const p0 = this.params[0];
    let st = this.state.get(p0);
    if (!st) {
      st = new ParamState();
      this.state.set(p0, st);
    }
    return st;
  }

  /** torch.optim.LBFGS.step's body, yielding whenever it needs the closure or a host value. */
  private *iterate(): Generator<LbfgsRequest, void, number> {
    const group = this.paramGroups[0];
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearchFn } = group;
    const state = this.stateOfFirst();
    state.setNumber('func_evals', state.getNumber('func_evals') ?? 0);
    state.setNumber('n_iter', state.getNumber('n_iter') ?? 0);

    let loss = yield { kind: 'evaluate', t: 0, d: null, x: null };
    let flatGrad = this.takeFlatGrad();
    const scratch = new Set<Tensor>([flatGrad]);
    try {
      let currentEvals = 1;
      state.setNumber('func_evals', (state.getNumber('func_evals') as number) + 1);
      let optCond = (yield* readScalar(noGrad(() => keep(flatGrad.abs().max())))) <= toleranceGrad;
      if (optCond) return;

      let d = state.get('d');
      let t = state.getNumber('t') ?? lr;
      let oldDirs = [...(state.getList('old_dirs') ?? [])];
      let oldStps = [...(state.getList('old_stps') ?? [])];
      let ro = [...(state.getNumberList('ro') ?? [])];
      let hDiag = state.getNumber('H_diag') ?? 1;
      let prevLoss = state.getNumber('prev_loss') ?? 0;
      let nIter = 0;
      while (nIter < maxIter) {
        nIter += 1;
        const globalIter = (state.getNumber('n_iter') as number) + 1;
        state.setNumber('n_iter', globalIter);
        if (globalIter === 1) {
          d = state.set(
            'd',
            noGrad(() => flatGrad.neg()),
          );
          oldDirs = [];
          oldStps = [];
          ro = [];
          hDiag = 1;
        } else {
          const prevFlat = state.get('prev_flat_grad') as Tensor;
          const dir = d as Tensor;
          const y = noGrad(() => keep(flatGrad.sub(prevFlat)));
          const s = noGrad(() => keep(dir.mul(t)));
          const ys = Math.fround(yield* readScalar(noGrad(() => keep(y.mul(s).sum()))));
          if (ys > 1e-10) {
            if (oldDirs.length === historySize) {
              oldDirs.shift();
              oldStps.shift();
              ro.shift();
            }
            oldDirs.push(y);
            oldStps.push(s);
            ro.push(Math.fround(1 / ys));
            const yy = Math.fround(yield* readScalar(noGrad(() => keep(y.mul(y).sum()))));
            hDiag = Math.fround(ys / yy);
          } else {
            y.dispose();
            s.dispose();
          }
          // Keeping the history in the state right away lets it own (and free) dropped pairs.
          state.setList('old_dirs', oldDirs);
          state.setList('old_stps', oldStps);
          const numOld = oldDirs.length;
          const al: number[] = new Array(numOld).fill(0);
          let q = noGrad(() => keep(flatGrad.neg()));
          for (let i = numOld - 1; i >= 0; i--) {
            al[i] = Math.fround(Math.fround(yield* readScalar(noGrad(() => keep(oldStps[i].mul(q).sum())))) * ro[i]);
            const next = noGrad(() => keep(q.add(oldDirs[i].mul(-al[i]))));
            q.dispose();
            q = next;
          }
          let r = noGrad(() => keep(q.mul(hDiag)));
          q.dispose();
          for (let i = 0; i < numOld; i++) {
            const be = Math.fround(Math.fround(yield* readScalar(noGrad(() => keep(oldDirs[i].mul(r).sum())))) * ro[i]);
            const next = noGrad(() => keep(r.add(oldStps[i].mul(Math.fround(al[i] - be)))));
            r.dispose();
            r = next;
          }
          d = state.set('d', r);
        }
        const dir = d as Tensor;
        const prevFlat = state.get('prev_flat_grad');
        if (prevFlat && prevFlat.shape[0] === flatGrad.shape[0]) noGrad(() => prevFlat.copy_(flatGrad));
        else
          state.set(
            'prev_flat_grad',
            noGrad(() => flatGrad.clone()),
          );
        prevLoss = loss;

        if (globalIter === 1) {
          const absSum = Math.fround(yield* readScalar(noGrad(() => keep(flatGrad.abs().sum()))));
          const inv = Math.fround(1 / absSum);
          t = (inv < 1 ? inv : 1) * lr;
        } else t = lr;

        const gtd = Math.fround(yield* readScalar(noGrad(() => keep(flatGrad.mul(dir).sum()))));
        if (gtd > -toleranceChange) break;

        let lsFuncEvals = 0;
        if (lineSearchFn !== null) {
          const xInit = this.params.map((p) => noGrad(() => keep(p.clone())));
          try {
            const res = yield* strongWolfe(this, xInit, t, dir, loss, flatGrad, gtd);
            loss = res.loss;
            scratch.delete(flatGrad);
            flatGrad.dispose();
            flatGrad = res.flatGrad;
            scratch.add(flatGrad);
            t = res.t;
            lsFuncEvals = res.funcEvals;
          } finally {
            for (const x of xInit) x.dispose();
          }
          this.addGrad(t, dir);
          optCond = (yield* readScalar(noGrad(() => keep(flatGrad.abs().max())))) <= toleranceGrad;
        } else {
          this.addGrad(t, dir);
          if (nIter !== maxIter) {
            loss = yield { kind: 'evaluate', t: 0, d: null, x: null };
            scratch.delete(flatGrad);
            flatGrad.dispose();
            flatGrad = this.takeFlatGrad();
            scratch.add(flatGrad);
            optCond = (yield* readScalar(noGrad(() => keep(flatGrad.abs().max())))) <= toleranceGrad;
            lsFuncEvals = 1;
          }
        }
        currentEvals += lsFuncEvals;
        state.setNumber('func_evals', (state.getNumber('func_evals') as number) + lsFuncEvals);

        if (nIter === maxIter) break;
        if (currentEvals >= maxEval) break;
        if (optCond) break;
        if ((yield* readScalar(noGrad(() => keep(dir.mul(t).abs().max())))) <= toleranceChange) break;
        if (Math.abs(loss - prevLoss) < toleranceChange) break;
      }
      state.setNumber('t', t);
      state.setList('old_dirs', oldDirs);
      state.setList('old_stps', oldStps);
      state.setNumberList('ro', ro);
      state.setNumber('H_diag', hDiag);
      state.setNumber('prev_loss', prevLoss);
    } finally {
      for (const x of scratch) x.dispose();
      this.flatGrad?.dispose();
      this.flatGrad = null;
    }
  }
}
