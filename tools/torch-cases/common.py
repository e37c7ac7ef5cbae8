"""Helpers shared by the case generators (elementwise.py, join_index.py, reduce_matmul.py).

Tensors are written as flat row-major data + shape + dtype (PyTorch int64 as int32, bools as
0/1), finite floats rounded to 6 decimals and non-finite ones as the strings "nan", "inf" and
"-inf" (JSON has no literal for them). Gradients are those of `sum_k sum(out_k * w_k)` with the
fixed weight `w[i] = ((7 * i) % 11) / 11 - 0.3` over each output's flat elements; the suites
(packages/backend-conformance/src/cases.ts) rebuild the same weight and decode the same format.
"""
import json
import math
import pathlib

import torch

CASES_DIR = pathlib.Path(__file__).resolve().parents[2] / 'packages/backend-conformance/cases'
DT = {torch.float32: 'float32', torch.int32: 'int32', torch.int64: 'int32', torch.bool: 'bool'}


def num(v):
    """A JSON-ready number: floats rounded to 6 decimals, non-finite ones as strings."""
    if isinstance(v, float):
        if math.isnan(v):
            return 'nan'
        if math.isinf(v):
            return 'inf' if v > 0 else '-inf'
        return round(v, 6)
    return v


def enc(t):
    """A tensor as the cases files store it."""
    t = t.detach()
    data = t.reshape(-1).tolist()
    if t.dtype == torch.bool:
        data = [int(v) for v in data]
    else:
        data = [num(v) for v in data]
    return {'data': data, 'shape': list(t.shape), 'dtype': DT[t.dtype]}


def jsonable(v):
    """`v` with every float (nested in dicts and lists) passed through num()."""
    if isinstance(v, float):
        return num(v)
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def weight(n):
    """The fixed gradient weight over n flat elements."""
    return torch.tensor([((7 * i) % 11) / 11 - 0.3 for i in range(n)], dtype=torch.float32)


def weighted_loss(outs):
    """`sum_k sum(out_k * w_k)` over the outputs that require grad."""
    return sum((o * weight(o.numel()).reshape(o.shape)).sum() for o in outs if o.requires_grad)


def rnd(*shape, lo=None):
    """Random values with two decimals, so the JSON inputs are exact in float32 round trips;
    with `lo`, |values| + lo (same random draws)."""
    t = (torch.randn(*shape) * 100).round() / 100
    if lo is not None:
        t = t.abs() + lo
    return t


def case_recorder(cases):
    """A `case(name, fn, grad=True, **inputs)` that runs fn(**inputs) (a tensor or a list of
    tensors) and records into `cases` the tensor inputs, the outputs and, when `grad`, the
    gradients of the weighted loss for every float input."""

    def case(name, fn, grad=True, **inputs):
        leaves = {}
        for k, v in inputs.items():
            if grad and isinstance(v, torch.Tensor) and v.dtype == torch.float32:
                leaves[k] = v.clone().requires_grad_(True)
            else:
                leaves[k] = v
        out = fn(**leaves)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        grads = {}
        diff = [k for k, v in leaves.items() if isinstance(v, torch.Tensor) and v.requires_grad]
        if diff and any(o.requires_grad for o in outs):
            gs = torch.autograd.grad(weighted_loss(outs), [leaves[k] for k in diff], allow_unused=True)
            for k, g in zip(diff, gs):
                grads[k] = enc(g if g is not None else torch.zeros_like(leaves[k]))
        cases[name] = {
            'inputs': {k: enc(v) for k, v in inputs.items() if isinstance(v, torch.Tensor)},
            'outputs': [enc(o) for o in outs],
            'grads': grads,
        }

    return case


def write_cases(stem, payload):
    """Writes cases/<stem>.json: generator, torch version, then `payload`'s keys."""
    out = CASES_DIR / f'{stem}.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {'generator': f'tools/torch-cases/{stem}.py', 'torch': torch.__version__, **payload}
    out.write_text(json.dumps(jsonable(doc), separators=(',', ':')) + '\n')
    print(f"wrote {len(payload['cases'])} cases to {out}")
