"""Generates packages/nn/test/cases/optim.json: PyTorch 1.13 references for @ghostflow/nn's
optimizers and LR schedulers (packages/nn/test/optim-torch.test.ts reads it).

- `optimizers`: the `optim_*` fixture format of fixtures.py (LSTM(3, 4, batch_first=True) then
  Linear(4, 1) on the last step, MSE loss, clip_grad_norm_(0.5) before each step, parameters
  redrawn uniformly in [-0.5, 0.5)), for Adagrad, Adamax, NAdam and RAdam, 8 steps each (RAdam's
  rectified branch starts at step 6), plain and with weight decay; `losses` are the losses
  before each step, `final_state_dict` the end.
- `lbfgs`: LBFGS, with and without the strong-Wolfe line search, on Rosenbrock's function
  (nonconvex) from (-1.5, 2) and on the regressor above; `losses` are what each `step(closure)`
  returned, `func_evals`/`n_iter` the state after the last step, `final` the parameters.
- `time_sequence`: pytorch/examples time_sequence_prediction in small (two LSTMCells of 8
  units, 3 sine waves of 24 steps, float32): LBFGS(lr=0.8, max_iter=8) with a closure, 2 steps, the losses
  each step returned, the final state_dict and the test loss with 6 steps of extrapolation.
- `schedulers`: every scheduler's `get_last_lr()` after construction and after each of 30
  `step()` calls, on SGD with two parameter groups (lr 0.1 and 0.05, momentum 0.9; OneCycleLR and
  CyclicLR also record the groups' momentum or beta1). ReduceLROnPlateau gets `metrics`; a case with
  `epochs` calls `step(epoch)` with those values.

Deterministic: every case seeds torch with crc32(name). Floats: 9 significant digits.
Run: /usr/bin/python3 tools/torch-cases/optim_schedulers.py   (torch 1.13, CPU)
"""
import json
import math
import pathlib
import warnings
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim.lr_scheduler as S

from fixtures import OPTIM_MODEL, TOL, Regressor, enc, fnum, randn, redraw

OUT = pathlib.Path(__file__).resolve().parents[2] / 'packages/nn/test/cases/optim.json'
warnings.filterwarnings('ignore')


def seed(name):
    torch.manual_seed(zlib.crc32(name.encode()))


# ---- optimizers --------------------------------------------------------------------------
def optim_case(name, optimizer, config, steps=8):
    seed(name)
    model = Regressor()
    redraw(model)
    x, y = randn(2, 5, 3), randn(2, 1)
    start = {k: enc(v) for k, v in model.state_dict().items()}
    opt = getattr(torch.optim, optimizer)(model.parameters(), **config)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        losses.append(fnum(loss.item()))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        opt.step()
    return {
        'name': name, 'module': 'optim', 'optimizer': optimizer, 'config': config,
        'model': OPTIM_MODEL.replace('5 steps', f'{steps} steps'), 'state_dict': start,
        'inputs': {'x': enc(x), 'y': enc(y)}, 'losses': losses,
        'final_state_dict': {k: enc(v) for k, v in model.state_dict().items()}, 'tol': TOL,
    }


OPTIMS = [
    ('optim_adagrad', 'Adagrad', {'lr': 0.1}),
    ('optim_adagrad_wd_decay', 'Adagrad', {'lr': 0.1, 'lr_decay': 0.05, 'weight_decay': 0.1, 'initial_accumulator_value': 0.2, 'eps': 1e-10}),
    ('optim_adagrad_maximize', 'Adagrad', {'lr': 0.05, 'maximize': True}),
    ('optim_adamax', 'Adamax', {'lr': 0.02}),
    ('optim_adamax_wd', 'Adamax', {'lr': 0.02, 'betas': [0.8, 0.99], 'weight_decay': 0.1}),
    ('optim_nadam', 'NAdam', {'lr': 0.01}),
    ('optim_nadam_wd', 'NAdam', {'lr': 0.01, 'betas': [0.85, 0.99], 'weight_decay': 0.1, 'momentum_decay': 0.01}),
    ('optim_radam', 'RAdam', {'lr': 0.01}),
    ('optim_radam_wd', 'RAdam', {'lr': 0.01, 'betas': [0.9, 0.9], 'weight_decay': 0.1}),
]


# ---- LBFGS -------------------------------------------------------------------------------
def rosenbrock(x):
    return (1 - x[0]).pow(2) + 100 * (x[1] - x[0].pow(2)).pow(2)


def lbfgs_rosenbrock(name, config, steps):
    seed(name)
    x = torch.tensor([-1.5, 2.0], requires_grad=True)
    opt = torch.optim.LBFGS([x], **config)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    losses = [fnum(opt.step(closure).item()) for _ in range(steps)]
    st = opt.state[x]
    return {'name': name, 'problem': 'rosenbrock', 'config': config, 'start': {'x': [-1.5, 2.0]}, 'losses': losses,
            'func_evals': st['func_evals'], 'n_iter': st['n_iter'], 'final': {'x': enc(x)}}


def lbfgs_regressor(name, config, steps):
    seed(name)
    model = Regressor()
    redraw(model)
    x, y = randn(2, 5, 3), randn(2, 1)
    start = {k: enc(v) for k, v in model.state_dict().items()}
    opt = torch.optim.LBFGS(model.parameters(), **config)

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    losses = [fnum(opt.step(closure).item()) for _ in range(steps)]
    st = opt.state[next(model.parameters())]
    return {'name': name, 'problem': 'regressor', 'model': OPTIM_MODEL, 'config': config, 'state_dict': start,
            'inputs': {'x': enc(x), 'y': enc(y)}, 'losses': losses, 'func_evals': st['func_evals'], 'n_iter': st['n_iter'],
            'final_state_dict': {k: enc(v) for k, v in model.state_dict().items()}}


LBFGS_CASES = [
    lambda: lbfgs_rosenbrock('lbfgs_rosenbrock_fixed', {'lr': 0.002, 'history_size': 4, 'max_iter': 10}, 3),
    lambda: lbfgs_rosenbrock('lbfgs_rosenbrock_wolfe', {'lr': 1, 'history_size': 4, 'max_iter': 6, 'line_search_fn': 'strong_wolfe'}, 3),
    lambda: lbfgs_regressor('lbfgs_regressor_fixed', {'lr': 0.5, 'max_iter': 6}, 2),
    lambda: lbfgs_regressor('lbfgs_regressor_wolfe', {'lr': 1, 'max_iter': 3, 'history_size': 3, 'line_search_fn': 'strong_wolfe'}, 2),
]


# ---- time_sequence_prediction (pytorch/examples), small ----------------------------------
class Sequence(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden)
        c_t = torch.zeros(input.size(0), self.hidden)
        h_t2 = torch.zeros(input.size(0), self.hidden)
        c_t2 = torch.zeros(input.size(0), self.hidden)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def time_sequence():
    name = 'time_sequence'
    seed(name)
    n, length = 4, 25
    x = torch.arange(length).float()[None, :] + torch.tensor([0., 3., 7., 11.])[:, None]
    data = torch.sin(x / 4.0)
    input, target = data[:3, :-1], data[:3, 1:]
    test_input, test_target = data[3:, :-1], data[3:, 1:]
    model = Sequence()
    start = {k: enc(v) for k, v in model.state_dict().items()}
    opt = torch.optim.LBFGS(model.parameters(), lr=0.8, max_iter=8)
    losses = []
    for _ in range(2):
        def closure():
            opt.zero_grad()
            loss = F.mse_loss(model(input), target)
            loss.backward()
            return loss
        losses.append(fnum(opt.step(closure).item()))
    with torch.no_grad():
        future = 6
        pred = model(test_input, future=future)
        test_loss = F.mse_loss(pred[:, :-future], test_target)
    return {'name': name, 'model': 'time_sequence_prediction Sequence(hidden=8)', 'config': {'lr': 0.8, 'max_iter': 8}, 'state_dict': start,
            'inputs': {'input': enc(input), 'target': enc(target), 'test_input': enc(test_input), 'test_target': enc(test_target)},
            'future': future, 'losses': losses, 'test_loss': fnum(test_loss.item()), 'prediction': enc(pred),
            'final_state_dict': {k: enc(v) for k, v in model.state_dict().items()}}


# ---- schedulers --------------------------------------------------------------------------
LAMBDAS = {'pow095': lambda e: 0.95 ** e, 'warmup10': lambda e: min(1.0, (e + 1) / 10), 'const09': lambda e: 0.9,
           'alt': lambda e: 0.8 if e % 2 else 1.05}


def make_opt(kind='sgd'):
    p1, p2 = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    if kind == 'adam':
        return torch.optim.Adam([{'params': [p1]}, {'params': [p2], 'lr': 0.05}], lr=0.1)
    return torch.optim.SGD([{'params': [p1]}, {'params': [p2], 'lr': 0.05}], lr=0.1, momentum=0.9)


def build(opt, spec):
    kind, args = spec['kind'], dict(spec.get('args', {}))
    if kind in ('LambdaLR', 'MultiplicativeLR'):
        fns = args.pop('lr_lambda')
        args['lr_lambda'] = [LAMBDAS[f] for f in fns] if isinstance(fns, list) else LAMBDAS[fns]
    if kind in ('SequentialLR',):
        return S.SequentialLR(opt, [build(opt, s) for s in args['schedulers']], args['milestones'])
    if kind == 'ChainedScheduler':
        return S.ChainedScheduler([build(opt, s) for s in args['schedulers']])
    return getattr(S, kind)(opt, **args)


def sched_case(name, spec, steps=30, opt_kind='sgd', metrics=None, epochs=None):
    seed(name)
    opt = make_opt(opt_kind)
    sched = build(opt, spec)
    last = (lambda: [g['lr'] for g in opt.param_groups]) if spec['kind'] == 'ReduceLROnPlateau' else sched.get_last_lr
    lrs = [list(last())]
    momenta = [[g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups]]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        elif epochs is not None:
            sched.step(epochs[i])
        else:
            sched.step()
        lrs.append(list(last()))
        momenta.append([g['betas'][0] if 'betas' in g else g['momentum'] for g in opt.param_groups])
    out = {'name': name, 'scheduler': spec, 'optimizer': opt_kind, 'lrs': lrs}
    if spec['kind'] in ('OneCycleLR', 'CyclicLR'):
        out['momenta'] = momenta
    if metrics is not None:
        out['metrics'] = metrics
    if epochs is not None:
        out['epochs'] = epochs
    return out


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.85, 0.85, 0.849, 0.86, 0.87, 0.7, 0.71, 0.72, 0.73, 0.74,
                   0.75, 0.69, 0.69, 0.69, 0.69, 0.69, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
SCHEDULERS = [
    ('lambda_pow', {'kind': 'LambdaLR', 'args': {'lr_lambda': 'pow095'}}, {}),
    ('lambda_per_group', {'kind': 'LambdaLR', 'args': {'lr_lambda': ['warmup10', 'pow095']}}, {}),
    ('multiplicative', {'kind': 'MultiplicativeLR', 'args': {'lr_lambda': 'alt'}}, {}),
    ('step', {'kind': 'StepLR', 'args': {'step_size': 7, 'gamma': 0.5}}, {}),
    ('multistep', {'kind': 'MultiStepLR', 'args': {'milestones': [5, 12, 12, 20], 'gamma': 0.3}}, {}),
    ('exponential', {'kind': 'ExponentialLR', 'args': {'gamma': 0.9}}, {}),
    ('cosine', {'kind': 'CosineAnnealingLR', 'args': {'T_max': 10, 'eta_min': 0.001}}, {}),
    ('warm_restarts', {'kind': 'CosineAnnealingWarmRestarts', 'args': {'T_0': 5, 'T_mult': 2, 'eta_min': 0.01}}, {}),
    ('warm_restarts_t1', {'kind': 'CosineAnnealingWarmRestarts', 'args': {'T_0': 4}}, {}),
    ('warm_restarts_epochs', {'kind': 'CosineAnnealingWarmRestarts', 'args': {'T_0': 3, 'T_mult': 2, 'eta_min': 0.001}},
     {'epochs': [round(0.7 * i, 6) for i in range(1, 31)]}),
    ('one_cycle', {'kind': 'OneCycleLR', 'args': {'max_lr': [0.5, 0.2], 'total_steps': 31}}, {}),
    ('one_cycle_three_phase_linear_adam', {'kind': 'OneCycleLR', 'args': {'max_lr': 0.3, 'epochs': 4, 'steps_per_epoch': 8,
     'pct_start': 0.25, 'anneal_strategy': 'linear', 'three_phase': True, 'div_factor': 10.0, 'final_div_factor': 100.0}},
     {'opt_kind': 'adam'}),
    ('cyclic_triangular', {'kind': 'CyclicLR', 'args': {'base_lr': 0.01, 'max_lr': [0.1, 0.2], 'step_size_up': 4, 'step_size_down': 6}}, {}),
    ('cyclic_triangular2', {'kind': 'CyclicLR', 'args': {'base_lr': [0.01, 0.02], 'max_lr': 0.3, 'step_size_up': 3, 'mode': 'triangular2',
     'base_momentum': 0.7, 'max_momentum': [0.95, 0.9]}}, {}),
    ('cyclic_exp_range', {'kind': 'CyclicLR', 'args': {'base_lr': 0.01, 'max_lr': 0.1, 'step_size_up': 5, 'mode': 'exp_range', 'gamma': 0.97,
     'cycle_momentum': False}}, {}),
    ('constant', {'kind': 'ConstantLR', 'args': {'factor': 0.5, 'total_iters': 4}}, {}),
    ('linear', {'kind': 'LinearLR', 'args': {'start_factor': 0.25, 'end_factor': 0.9, 'total_iters': 8}}, {}),
    ('polynomial', {'kind': 'PolynomialLR', 'args': {'total_iters': 12, 'power': 2.0}}, {}),
    ('sequential_warmup_cosine', {'kind': 'SequentialLR', 'args': {'schedulers': [
        {'kind': 'LinearLR', 'args': {'start_factor': 0.1, 'total_iters': 5}},
        {'kind': 'CosineAnnealingLR', 'args': {'T_max': 20}}], 'milestones': [5]}}, {}),
    ('sequential_three', {'kind': 'SequentialLR', 'args': {'schedulers': [
        {'kind': 'ConstantLR', 'args': {'factor': 0.1, 'total_iters': 2}},
        {'kind': 'ExponentialLR', 'args': {'gamma': 0.9}},
        {'kind': 'StepLR', 'args': {'step_size': 3, 'gamma': 0.5}}], 'milestones': [2, 10]}}, {}),
    ('chained', {'kind': 'ChainedScheduler', 'args': {'schedulers': [
        {'kind': 'ConstantLR', 'args': {'factor': 0.1, 'total_iters': 4}},
        {'kind': 'ExponentialLR', 'args': {'gamma': 0.9}},
        {'kind': 'CosineAnnealingLR', 'args': {'T_max': 8}}]}}, {}),
    ('plateau', {'kind': 'ReduceLROnPlateau', 'args': {'patience': 2, 'factor': 0.5, 'cooldown': 1, 'threshold': 0.01,
     'min_lr': 0.004}}, {'metrics': PLATEAU_METRICS}),
    ('plateau_max_abs', {'kind': 'ReduceLROnPlateau', 'args': {'mode': 'max', 'threshold_mode': 'abs', 'patience': 1,
     'factor': 0.7, 'threshold': 0.02, 'min_lr': [0.01, 0.02]}}, {'metrics': [-m for m in PLATEAU_METRICS]}),
]


def main():
    torch.set_num_threads(1)
    doc = {
        'generator': 'tools/torch-cases/optim_schedulers.py', 'torch': torch.__version__,
        'optimizers': [optim_case(n, o, c) for n, o, c in OPTIMS],
        'lbfgs': [f() for f in LBFGS_CASES],
        'time_sequence': time_sequence(),
        'schedulers': [sched_case(n, s, **kw) for n, s, kw in SCHEDULERS],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(',', ':')) + '\n')
    print(f'wrote {len(doc["optimizers"])} optimizer, {len(doc["lbfgs"])} LBFGS and {len(doc["schedulers"])} scheduler cases '
          f'({OUT.stat().st_size / 1024:.0f} KiB) to {OUT}')


if __name__ == '__main__':
    main()
