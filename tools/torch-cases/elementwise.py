"""Generates packages/backend-conformance/cases/elementwise.json: PyTorch reference values for
the elementwise suites (ops-unary, ops-binary, ops-select).

Each case names an op (the suites map it to the GhostFlow function), its inputs in order
(tensors as flat data + shape + dtype, or plain scalars, or null for an omitted optional
argument), optional view transforms applied to tensor inputs before the op (the suites apply
the same ones, to test non-contiguous inputs), keyword options, the expected output and, for
float inputs, the gradients of `sum(out * w)` with the fixed weight
`w[i] = ((7 * i) % 11) / 11 - 0.3` over the output's flat elements (the suites rebuild it).
Non-finite floats are written as the strings "nan", "inf" and "-inf".

Run: /usr/bin/python3 tools/torch-cases/elementwise.py   (torch 1.13; deterministic)
"""
import torch
import torch.nn.functional as F

from common import enc, rnd, weighted_loss, write_cases

torch.manual_seed(0)


def f32(*vals):
    return torch.tensor(vals, dtype=torch.float32)


def i32(*vals):
    return torch.tensor(vals, dtype=torch.int32)


def apply_views(t, views):
    for v in views:
        if v[0] == 't':
            t = t.transpose(-1, -2)
        elif v[0] == 'slice':
            _, dim, start, end, step = v
            idx = [slice(None)] * t.dim()
            idx[dim] = slice(start, end, step)
            t = t[tuple(idx)]
        elif v[0] == 'expand':
            t = t.expand(*v[1])
        else:
            raise ValueError(v)
    return t


OPS = {
    'neg': torch.neg, 'abs': torch.abs, 'sign': torch.sign, 'exp': torch.exp, 'expm1': torch.expm1,
    'log': torch.log, 'log1p': torch.log1p, 'sqrt': torch.sqrt, 'rsqrt': torch.rsqrt,
    'reciprocal': torch.reciprocal, 'sin': torch.sin, 'cos': torch.cos, 'tanh': torch.tanh,
    'sigmoid': torch.sigmoid, 'relu': torch.relu, 'silu': F.silu, 'erf': torch.erf,
    'floor': torch.floor, 'ceil': torch.ceil, 'round': torch.round, 'square': torch.square,
    'logicalNot': torch.logical_not,
    'gelu': lambda x, approximate='none': F.gelu(x, approximate=approximate),
    'softplus': lambda x, beta=1, threshold=20: F.softplus(x, beta=beta, threshold=threshold),
    'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'pow': torch.pow,
    'maximum': torch.maximum, 'minimum': torch.minimum,
    'eq': torch.eq, 'ne': torch.ne, 'lt': torch.lt, 'le': torch.le, 'gt': torch.gt, 'ge': torch.ge,
    'logicalAnd': torch.logical_and, 'logicalOr': torch.logical_or, 'logicalXor': torch.logical_xor,
    'where': torch.where,
    'clamp': torch.clamp,
    'maskedFill': lambda x, mask, value: x.masked_fill(mask, value),
}

SCALAR_FIRST = {'add', 'sub', 'mul', 'div', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'}

cases = {}


def case(name, op, inputs, views=None, kwargs=None, grad=True):
    """inputs: list of tensors / scalars / None, passed positionally to OPS[op]."""
    views = views or {}
    kwargs = kwargs or {}
    leaves = []
    for v in inputs:
        if isinstance(v, torch.Tensor) and v.dtype == torch.float32 and grad:
            leaves.append(v.clone().requires_grad_(True))
        else:
            leaves.append(v)
    args = []
    for i, v in enumerate(leaves):
        args.append(apply_views(v, views.get(str(i), [])) if isinstance(v, torch.Tensor) else v)
    fn = OPS[op]
    if op in SCALAR_FIRST and not isinstance(args[0], torch.Tensor):
        # torch.add(2, t) is not accepted for every op; use the reflected operator instead.
        a, b = args
        out = {'add': lambda: a + b, 'sub': lambda: a - b, 'mul': lambda: a * b, 'div': lambda: a / b,
               'pow': lambda: a ** b, 'eq': lambda: b == a, 'ne': lambda: b != a, 'lt': lambda: b > a,
               'le': lambda: b >= a, 'gt': lambda: b < a, 'ge': lambda: b <= a}[op]()
    elif op in ('maximum', 'minimum') and not all(isinstance(a, torch.Tensor) for a in args):
        # torch.maximum takes tensors only; a 0-d tensor promotes exactly like a scalar here.
        a, b = [x if isinstance(x, torch.Tensor) else torch.tensor(x) for x in args]
        out = fn(a, b)
    else:
        out = fn(*args, **kwargs)
    entry = {
        'op': op,
        'inputs': [enc(v) if isinstance(v, torch.Tensor) else v for v in inputs],
        'views': views,
        'kwargs': kwargs,
        'output': enc(out),
    }
    diff = [i for i, v in enumerate(leaves) if isinstance(v, torch.Tensor) and v.requires_grad]
    if diff and out.requires_grad:
        gs = torch.autograd.grad(weighted_loss([out]), [leaves[i] for i in diff], allow_unused=True)
        entry['grads'] = {str(i): enc(g if g is not None else torch.zeros_like(leaves[i])) for i, g in zip(diff, gs)}
    cases[name] = entry


SPECIAL = f32(float('nan'), float('inf'), float('-inf'), 0.0, -0.0, 1.0, -1.0)

# ---- unary ---------------------------------------------------------------------------
UNARY_ANY = ['neg', 'abs', 'sign', 'exp', 'expm1', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'silu',
             'erf', 'floor', 'ceil', 'round', 'square', 'gelu', 'softplus']
UNARY_POS = ['log', 'log1p', 'sqrt', 'rsqrt', 'reciprocal']
for op in UNARY_ANY:
    case(f'{op}', op, [rnd(2, 3)])
    case(f'{op}_t', op, [rnd(3, 4)], views={'0': [['t']]})
    case(f'{op}_special', op, [SPECIAL], grad=False)
for op in UNARY_POS:
    case(f'{op}', op, [rnd(2, 3, lo=0.2)])
    case(f'{op}_t', op, [rnd(3, 4, lo=0.2)], views={'0': [['t']]})
    case(f'{op}_special', op, [SPECIAL], grad=False)
case('gelu_tanh', 'gelu', [rnd(2, 3)], kwargs={'approximate': 'tanh'})
case('gelu_tanh_special', 'gelu', [SPECIAL], kwargs={'approximate': 'tanh'}, grad=False)
case('softplus_beta', 'softplus', [f32(-3.0, -0.5, 0.2, 0.7, 0.8, 2.0, 10.0)], kwargs={'beta': 2, 'threshold': 1.5})
case('softplus_large', 'softplus', [f32(-100.0, -30.0, 19.0, 21.0, 100.0)])
case('round_half_even', 'round', [f32(-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51, 3.5)])
case('relu_slice', 'relu', [rnd(4, 5)], views={'0': [['slice', 1, 1, 5, 2]]})
case('exp_empty', 'exp', [torch.zeros(0, 3)])
case('exp_scalar0d', 'exp', [torch.tensor(0.5)])
for op in ['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round', 'square']:
    case(f'{op}_int', op, [i32(-3, -1, 0, 2, 5)])
for op in ['exp', 'log', 'sqrt', 'sin', 'tanh', 'sigmoid', 'erf', 'reciprocal']:
    case(f'{op}_int', op, [i32(1, 2, 3, 4)])
case('square_bool', 'square', [torch.tensor([True, False])])
case('sign_bool', 'sign', [torch.tensor([True, False])])
case('logicalNot', 'logicalNot', [torch.tensor([True, False, True])])
case('logicalNot_float', 'logicalNot', [f32(0.0, 1.5, float('nan'), -2.0)])
case('logicalNot_int', 'logicalNot', [i32(0, 3, -1)])

# ---- binary --------------------------------------------------------------------------
ARITH = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum']
COMPARE = ['eq', 'ne', 'lt', 'le', 'gt', 'ge']
for op in ARITH:
    case(f'{op}', op, [rnd(2, 3), rnd(2, 3)])
    case(f'{op}_bcast_row', op, [rnd(2, 3), rnd(3)])
    case(f'{op}_bcast_outer', op, [rnd(2, 1), rnd(1, 3)])
    case(f'{op}_bcast_0d', op, [torch.tensor(1.25), rnd(2, 3)])
    case(f'{op}_scalar', op, [rnd(2, 3), 2.5])
    case(f'{op}_scalar_first', op, [1.5, rnd(2, 3)])
    case(f'{op}_noncontig', op, [rnd(3, 2), rnd(2, 6)], views={'0': [['t']], '1': [['slice', 1, 0, 6, 2]]})
    case(f'{op}_empty', op, [torch.zeros(0, 3), rnd(3)])
    case(f'{op}_int', op, [i32(7, -7, 3, 0), i32(2, 2, -4, 5)], grad=False)
    case(f'{op}_int_scalar', op, [i32(7, -7, 3, 0), 2], grad=False)
    case(f'{op}_int_float_scalar', op, [i32(7, -7, 3, 0), 0.5], grad=False)
    case(f'{op}_int_float', op, [i32(7, -7, 3, 0), rnd(4)])
    case(f'{op}_special', op, [f32(float('nan'), 1.0, float('inf'), float('-inf'), 0.0, -1.0, float('inf')),
                               f32(1.0, float('nan'), float('inf'), 2.0, 0.0, 0.0, float('-inf'))], grad=False)
case('maximum_ties', 'maximum', [f32(1.0, 2.0, 3.0, -1.0), f32(1.0, 5.0, 3.0, -2.0)])
case('minimum_ties', 'minimum', [f32(1.0, 2.0, 3.0, -1.0), f32(1.0, 5.0, 3.0, -2.0)])
case('add_bool', 'add', [torch.tensor([True, False, False]), torch.tensor([True, True, False])], grad=False)
case('mul_bool', 'mul', [torch.tensor([True, False, True]), torch.tensor([True, True, False])], grad=False)
case('add_bool_int', 'add', [torch.tensor([True, False]), i32(3, 4)], grad=False)
case('add_float_bool_scalar', 'add', [rnd(3), True], grad=False)
case('add_int_bool_scalar', 'add', [i32(1, 2), True], grad=False)
case('div_int_int', 'div', [i32(1, 7, -7), i32(2, 2, 2)], grad=False)
case('div_bool', 'div', [torch.tensor([True, False]), torch.tensor([True, True])], grad=False)
case('pow', 'pow', [rnd(2, 3, lo=0.3), rnd(2, 3)])
case('pow_bcast', 'pow', [rnd(2, 3, lo=0.3), rnd(3)])
case('pow_scalar_exp', 'pow', [rnd(2, 3), 3])
case('pow_scalar_exp_frac', 'pow', [rnd(2, 3, lo=0.3), 0.5])
case('pow_scalar_base', 'pow', [2.0, rnd(2, 3)])
case('pow_zero_base', 'pow', [f32(0.0, 0.0, 0.0, 2.0), f32(0.0, 2.0, 1.5, 0.0)])
case('pow_special', 'pow', [f32(0.0, 0.0, -8.0, float('nan'), 1.0, float('inf'), -2.0), f32(0.0, -1.0, 1.0 / 3, 0.0, float('nan'), -1.0, 3.0)], grad=False)
case('pow_int', 'pow', [i32(2, -3, 5, 0), i32(3, 3, 0, 2)], grad=False)
case('pow_int_neg_exp', 'pow', [i32(2, -1, 1, 3, -1), i32(-1, -3, -2, 2, -2)], grad=False)
case('pow_int_scalar', 'pow', [i32(2, -3, 5), 2], grad=False)
case('pow_int_float_scalar', 'pow', [i32(2, 4, 9), 0.5], grad=False)
for op in COMPARE:
    case(f'{op}', op, [f32(1.0, 2.0, 3.0, float('nan'), float('inf')), f32(2.0, 2.0, 1.0, float('nan'), float('inf'))])
    case(f'{op}_bcast', op, [rnd(2, 1), rnd(3)])
    case(f'{op}_scalar', op, [f32(1.0, 2.0, 3.0), 2])
    case(f'{op}_scalar_first', op, [2, f32(1.0, 2.0, 3.0)])
    case(f'{op}_int_float', op, [i32(1, 2, 3), f32(1.5, 2.0, 2.5)])
    case(f'{op}_bool', op, [torch.tensor([True, False, True]), torch.tensor([True, True, False])])
for op in ['logicalAnd', 'logicalOr', 'logicalXor']:
    case(f'{op}', op, [torch.tensor([True, True, False, False]), torch.tensor([True, False, True, False])])
    case(f'{op}_float_int', op, [f32(0.0, 2.0, -1.0, float('nan')), i32(0, 0, 3, 1)])
    case(f'{op}_bcast', op, [torch.tensor([[True], [False]]), torch.tensor([True, False, True])])

# ---- select --------------------------------------------------------------------------
cond = torch.tensor([[True, False, True], [False, False, True]])
case('where', 'where', [cond, rnd(2, 3), rnd(2, 3)])
case('where_bcast', 'where', [torch.tensor([[True], [False]]), rnd(3), rnd(2, 1)])
case('where_scalars', 'where', [cond, rnd(2, 3), 0.0])
case('where_0d', 'where', [cond, torch.tensor(2.5), rnd(2, 3)])
case('where_int_float_scalar', 'where', [torch.tensor([True, False]), i32(1, 2), 2.5], grad=False)
case('where_int', 'where', [torch.tensor([True, False]), i32(1, 2), i32(5, 6)], grad=False)
case('where_noncontig', 'where', [cond, rnd(3, 2), rnd(2, 3)], views={'1': [['t']]})
X = f32(-2.0, -0.5, 0.25, 0.75, 1.5, 3.0)
case('clamp', 'clamp', [X, -1.0, 1.0])
case('clamp_min', 'clamp', [X, 0.0, None])
case('clamp_max', 'clamp', [X, None, 0.5])
case('clamp_min_gt_max', 'clamp', [X, 1.0, -1.0])
case('clamp_tensor', 'clamp', [X, f32(-1.0, -1.0, 0.5, 0.5, 1.0, 2.0), f32(1.0, 0.0, 1.0, 0.6, 2.0, 2.5)])
case('clamp_tensor_bcast', 'clamp', [rnd(2, 3), f32(-0.5, 0.0, -0.25), torch.tensor(0.5)])
case('clamp_tensor_min_gt_max', 'clamp', [X, f32(1.0, 1.0, 1.0, -1.0, -1.0, -1.0), f32(-1.0, -1.0, 2.0, 1.0, 1.0, 1.0)])
case('clamp_special', 'clamp', [f32(float('nan'), float('inf'), float('-inf'), 0.5), -1.0, 1.0], grad=False)
case('clamp_int', 'clamp', [i32(-5, 0, 3, 9), -1, 4], grad=False)
case('clamp_int_float', 'clamp', [i32(-5, 0, 3, 9), 0.5, None], grad=False)
case('clamp_noncontig', 'clamp', [rnd(3, 2), -0.5, 0.5], views={'0': [['t']]})
mask = torch.tensor([[True, False, False], [False, True, True]])
case('maskedFill', 'maskedFill', [rnd(2, 3), mask, -1.5])
case('maskedFill_bcast', 'maskedFill', [rnd(2, 3), torch.tensor([True, False, True]), 0.0])
case('maskedFill_bcast_x', 'maskedFill', [rnd(3), mask, 9.0])
case('maskedFill_tensor_value', 'maskedFill', [rnd(2, 3), mask, torch.tensor(0.75)])
case('maskedFill_int', 'maskedFill', [i32(1, 2, 3), torch.tensor([True, False, True]), 7], grad=False)
case('maskedFill_int_frac', 'maskedFill', [i32(1, 2, 3), torch.tensor([True, False, True]), 1.7], grad=False)
case('maskedFill_bool', 'maskedFill', [torch.tensor([True, False, False]), torch.tensor([False, False, True]), 1], grad=False)
case('maskedFill_noncontig', 'maskedFill', [rnd(3, 2), mask, float('-inf')], views={'0': [['t']]})

# ---- creation ------------------------------------------------------------------------
creation = {
    'arange_5': enc(torch.arange(5, dtype=torch.float32)),
    'arange_frac': enc(torch.arange(0, 1, 0.3)),
    'arange_neg_step': enc(torch.arange(5, -3, -2.5)),
    'arange_int': enc(torch.arange(-3, 10, 4, dtype=torch.int32)),
    'arange_empty': enc(torch.arange(3, 3, dtype=torch.float32)),
    'linspace_7': enc(torch.linspace(0, 1, 7)),
    'linspace_neg': enc(torch.linspace(5, -5, 6)),
    'linspace_1': enc(torch.linspace(2, 9, 1)),
    'linspace_0': enc(torch.linspace(2, 9, 0)),
    'linspace_third': enc(torch.linspace(-1, 1, 10)),
    'eye_3': enc(torch.eye(3)),
    'eye_2_4': enc(torch.eye(2, 4)),
    'eye_4_2_int': enc(torch.eye(4, 2, dtype=torch.int32)),
}


write_cases('elementwise', {'cases': cases, 'creation': creation})
