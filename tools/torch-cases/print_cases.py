"""Generates packages/core/test/fixtures/print-cases.json: PyTorch 1.13's own `repr(tensor)`
strings, the reference for @ghostflow/core's tensor printing (test/print.test.ts compares them
character for character).

Each case holds `name`, `shape`, `dtype` (GhostFlow's: float32, int32 or bool), `data` (flat,
row-major; float32 values as Python floats, which round-trip exactly; 'nan', 'inf' and '-inf'
as strings), `requires_grad`, `grad_fn` (null, or `'mul2'`: the tensor is `leaf * 2`),
`options` (torch.set_printoptions arguments, PyTorch spelling) and `repr` (PyTorch's output).

GhostFlow spells some fields its own way; the test maps PyTorch's text before comparing:
`requires_grad=True` -> `requiresGrad=true`, `grad_fn=<MulBackward0>` -> `gradFn=<mul>`,
`size=(2, 0)` -> `shape=[2, 0]`, `dtype=torch.int64` -> `dtype=int32`. Integer cases use
int64 in PyTorch (its default integer type, so no dtype suffix) and int32 in GhostFlow (its
only, hence default, integer type); values stay within int32.

Deterministic: each case seeds torch with crc32(name).

Run: /usr/bin/python3 tools/torch-cases/print_cases.py   (Debian's python3-torch, torch 1.13)
"""
import json
import math
import pathlib
import zlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / 'packages/core/test/fixtures/print-cases.json'
DEFAULT = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def enc(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return 'nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')
    return v


def case(name, make, options=None, requires_grad=False, grad_fn=None):
    torch.manual_seed(zlib.crc32(name.encode()))
    t = make()
    opts = dict(DEFAULT, **(options or {}))
    torch.set_printoptions(**opts)
    try:
        shown = t
        if requires_grad:
            t = t.clone().requires_grad_(True)
            shown = t * 2 if grad_fn == 'mul2' else t
        text = repr(shown)
    finally:
        torch.set_printoptions(**DEFAULT)
    dtype = {torch.float32: 'float32', torch.int64: 'int32', torch.bool: 'bool'}[t.dtype]
    return {
        'name': name,
        'shape': list(t.shape),
        'dtype': dtype,
        'data': [enc(v) for v in t.detach().reshape(-1).tolist()],
        'requires_grad': requires_grad,
        'grad_fn': grad_fn,
        'options': {k: v for k, v in (options or {}).items()},
        'repr': text,
    }


def f32(x):
    return torch.tensor(x, dtype=torch.float32)


def main():
    nan, inf = float('nan'), float('inf')
    cases = [
        # floats: fixed notation, widths, signs, rounding ties
        case('float_2x2', lambda: f32([[0.1, 0.2], [3.0, 4.0]])),
        case('float_requires_grad', lambda: f32([[0.1, 0.2], [3.0, 4.0]]), requires_grad=True),
        case('float_grad_fn', lambda: f32([1.5, -2.25]), requires_grad=True, grad_fn='mul2'),
        case('float_negative_mixed', lambda: f32([-1.5, 0.25, 10.125, -0.0])),
        case('float_ties', lambda: f32([0.125, 0.375, 2.5, 0.00005, 1.00005])),
        case('float_ties_p2', lambda: f32([0.125, 0.375, 2.5, 1.005, -0.625]), {'precision': 2}),
        case('float_ties_p1', lambda: f32([0.25, 0.75, -0.25, 8.5]), {'precision': 1}),
        case('float_randn_3x4', lambda: torch.randn(3, 4)),
        case('float_randn_3d', lambda: torch.randn(2, 3, 4)),
        case('float_randn_4d', lambda: torch.randn(2, 2, 2, 3)),
        case('float_uniform_big', lambda: torch.rand(5, 3) * 1000),
        case('float_wide_row', lambda: torch.randn(1, 30)),
        case('float_long_vector', lambda: torch.randn(40)),
        # floats: integer mode
        case('float_int_mode', lambda: f32([1.0, 2.0, 3.0])),
        case('float_int_mode_neg', lambda: f32([[-1.0, 20.0], [300.0, 0.0]])),
        case('float_int_mode_sci', lambda: f32([1.0, 2000.0])),
        case('float_int_mode_big', lambda: f32([1e9, 3.0])),
        case('float_zeros', lambda: torch.zeros(2, 3)),
        case('float_ones_with_nan', lambda: f32([1.0, nan, inf, -inf])),
        # floats: scientific notation
        case('float_sci_small', lambda: f32([1e-5, 0.5])),
        case('float_sci_ratio', lambda: f32([0.01, 12.5, 100.0])),
        case('float_sci_large', lambda: f32([1.5e9, -2.25e10, 3.0])),
        case('float_sci_tiny', lambda: f32([1e-30, -3.4e38, 1e-45])),
        case('float_nan_inf_mixed', lambda: f32([nan, 1.5, -inf, 0.0, 2.25e-7])),
        case('float_all_nan', lambda: f32([nan, nan])),
        case('float_all_inf', lambda: f32([inf, -inf])),
        case('float_sci_mode_forced', lambda: f32([0.1, 2.0, 30.0]), {'sci_mode': True}),
        case('float_sci_mode_off', lambda: f32([1e-5, 1e9, 0.5]), {'sci_mode': False}),
        # precision
        case('precision_2', lambda: torch.randn(3, 3), {'precision': 2}),
        case('precision_8', lambda: torch.randn(2, 3), {'precision': 8}),
        case('precision_2_sci', lambda: f32([1e-6, 3.14159]), {'precision': 2}),
        case('precision_0', lambda: f32([0.5, 1.5, 2.4]), {'precision': 0}),
        # 0-d and empty
        case('scalar_float', lambda: f32(3.5)),
        case('scalar_float_int', lambda: f32(-2.0)),
        case('scalar_float_sci', lambda: f32(1.25e-7)),
        case('scalar_int', lambda: torch.tensor(-7)),
        case('scalar_bool', lambda: torch.tensor(True)),
        case('scalar_requires_grad', lambda: f32(0.5), requires_grad=True),
        case('empty_float', lambda: torch.zeros(0)),
        case('empty_float_2d', lambda: torch.zeros(2, 0)),
        case('empty_int', lambda: torch.zeros(0, dtype=torch.int64)),
        case('empty_bool_3d', lambda: torch.zeros(0, 3, 1, dtype=torch.bool)),
        # ints and bools
        case('int_vector', lambda: torch.tensor([1, -20, 300])),
        case('int_matrix', lambda: torch.arange(12).reshape(3, 4)),
        case('int_large', lambda: torch.tensor([[2147483647, -2147483648], [0, 5]])),
        case('bool_vector', lambda: torch.tensor([True, False, True])),
        case('bool_all_true', lambda: torch.tensor([[True, True], [True, True]])),
        # summarised
        case('summarised_vector', lambda: torch.randn(2000)),
        case('summarised_int_vector', lambda: torch.arange(1500)),
        case('summarised_matrix', lambda: torch.randn(40, 40)),
        case('summarised_3d', lambda: torch.randn(10, 10, 11)),
        case('summarised_bool', lambda: torch.rand(50, 30) > 0.5),
        case('summarised_arange_float', lambda: torch.arange(2000, dtype=torch.float32)),
        case('summarised_edgeitems_1', lambda: torch.randn(20, 20), {'edgeitems': 1, 'threshold': 10}),
        case('summarised_threshold_small', lambda: torch.randn(5, 6), {'threshold': 20}),
        case('summarised_requires_grad', lambda: torch.randn(1001), requires_grad=True),
        case('summarised_short_rows', lambda: torch.randn(3, 400)),
        # linewidth and suffix wrapping
        case('linewidth_40', lambda: torch.randn(2, 12), {'linewidth': 40}),
        case('linewidth_suffix_wrap', lambda: torch.randn(1, 9), {'linewidth': 70}, requires_grad=True),
        case('linewidth_200', lambda: torch.randn(3, 20), {'linewidth': 200}),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({'torch': torch.__version__, 'cases': cases}, indent=1) + '\n')
    print(f'wrote {len(cases)} cases to {OUT}')


if __name__ == '__main__':
    main()
