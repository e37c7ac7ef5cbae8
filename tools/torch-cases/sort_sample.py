"""Generates packages/backend-conformance/cases/sort_sample.json: PyTorch reference values for
the sequence-model tensor ops (ops-sort suite): sort, argsort, topk, repeat, tile,
repeat_interleave, flip, roll, isnan/isinf/isfinite, nan_to_num, norm, cumprod, logcumsumexp.
(multinomial and randperm draw from GhostFlow's own generator, so the suite checks them
statistically and needs no reference values.)

Each case stores its inputs (flat data + shape + dtype), the expected outputs, and for float
inputs the gradients of `sum(out_k * w_k)` over the outputs, where `w` is the fixed weight
`w[i] = ((7 * i) % 11) / 11 - 0.3` over each output's flat elements (the suites rebuild it).
Sort indices are int64 in PyTorch and stored as int32.

Run: /usr/bin/python3 tools/torch-cases/sort_sample.py   (torch 1.13; deterministic)
"""
import torch

from common import case_recorder, rnd, weight, write_cases

torch.manual_seed(0)
cases = {}
case = case_recorder(cases)

I32 = torch.int32
NAN = float('nan')
INF = float('inf')


def st(out):
    """A (values, indices) named tuple as a list."""
    return [out.values, out.indices]


def distinct(*shape):
    """Distinct random values (a random permutation of a grid), so unstable orders are unique."""
    n = 1
    for s in shape:
        n *= s
    return (torch.randperm(n).float() * 0.37 - n * 0.1).reshape(shape)


# ---- sort / argsort
case('sort_1d', lambda x: st(torch.sort(x)), x=distinct(7))
case('sort_desc_dim0', lambda x: st(torch.sort(x, 0, descending=True)), x=distinct(4, 3))
case('sort_neg_noncontig', lambda x: st(torch.sort(x.t(), -1)), x=distinct(5, 3))
case('sort_3d_dim1', lambda x: st(torch.sort(x, 1)), x=distinct(2, 4, 3))
case('sort_stable_ties', lambda x: st(torch.sort(x, stable=True)), x=torch.tensor([[2., 1., 2., 0., 1., 2.], [3., 3., 3., -1., 3., 0.]]))
case('sort_stable_ties_desc', lambda x: st(torch.sort(x, descending=True, stable=True)), x=torch.tensor([2., 1., 2., 0., 1., 2., 1.]))
case('sort_nan', lambda x: st(torch.sort(x, stable=True)), x=torch.tensor([1., NAN, -INF, 0.5, NAN, INF, -2.]))
case('sort_nan_desc', lambda x: st(torch.sort(x, descending=True, stable=True)), x=torch.tensor([1., NAN, -INF, 0.5, NAN, INF, -2.]))
case('sort_int', lambda x: st(torch.sort(x, stable=True)), x=torch.tensor([[5, -3, 5, 0], [2, 2, -7, 9]], dtype=I32))
case('sort_0d', lambda x: st(torch.sort(x)), x=rnd(()))
case('sort_empty', lambda x: st(torch.sort(x, 1)), x=torch.zeros(2, 0))
case('argsort_1d', lambda x: torch.argsort(x), x=distinct(6))
case('argsort_desc_dim0', lambda x: torch.argsort(x, 0, descending=True), x=distinct(3, 4))
case('argsort_stable', lambda x: torch.argsort(x, stable=True), x=torch.tensor([1., 0., 1., 0., 1.]))
# ---- topk
case('topk_1d', lambda x: st(torch.topk(x, 3)), x=distinct(8))
case('topk_smallest_dim0', lambda x: st(torch.topk(x, 2, 0, largest=False)), x=distinct(5, 3))
case('topk_noncontig', lambda x: st(torch.topk(x.t(), 2)), x=distinct(6, 3))
case('topk_nan', lambda x: st(torch.topk(x, 4)), x=torch.tensor([1., NAN, -INF, 0.5, INF, -2.]))
case('topk_nan_smallest', lambda x: st(torch.topk(x, 5, largest=False)), x=torch.tensor([1., NAN, -INF, 0.5, INF, -2.]))
case('topk_all', lambda x: st(torch.topk(x, 4)), x=distinct(2, 4))
case('topk_k0', lambda x: st(torch.topk(x, 0)), x=distinct(2, 3))
case('topk_int', lambda x: st(torch.topk(x, 2)), x=torch.tensor([[4, -1, 7, 0], [3, 8, -5, 1]], dtype=I32))
case('topk_large_k', lambda x: st(torch.topk(x, 150)), x=distinct(2, 160))
case('topk_vocab', lambda x: st(torch.topk(x, 5)), x=distinct(2, 1000))
# Ties and NaN in long rows (k < n/4: cpu's one-pass host selection). PyTorch leaves the
# order of tied elements in topk unspecified; GhostFlow promises the stable sort's order, so
# the reference is the prefix of torch's stable sort.
TIES = torch.tensor([[1., 3., NAN, 3., -2., 3., 0., 5., 5., 1., 2., 3., 5., -1., 0., 2.],
                     [2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., 2., -INF, 2., 2., NAN]])


def stable_prefix(x, k, descending):
    s = torch.sort(x, dim=-1, descending=descending, stable=True)
    return [s.values[:, :k], s.indices[:, :k]]


case('topk_ties_nan_long', lambda x: stable_prefix(x, 3, True), x=TIES)
case('topk_ties_nan_long_smallest', lambda x: stable_prefix(x, 3, False), x=TIES)
# ---- repeat / tile / repeat_interleave / flip / roll
case('repeat_2d', lambda x: x.repeat(2, 3), x=rnd(2, 3))
case('repeat_more_dims', lambda x: x.repeat(2, 1, 2), x=rnd(3, 2))
case('repeat_noncontig', lambda x: x.t().repeat(1, 2), x=rnd(3, 2))
case('repeat_zero', lambda x: x.repeat(0, 2), x=rnd(2, 2))
case('repeat_0d', lambda x: x.repeat(3), x=rnd(()))
case('tile_short', lambda x: torch.tile(x, (2,)), x=rnd(2, 3))
case('tile_long', lambda x: torch.tile(x, (2, 1, 2)), x=rnd(2, 2))
case('repeat_interleave_int', lambda x: torch.repeat_interleave(x, 2), x=rnd(2, 2))
case('repeat_interleave_dim', lambda x: torch.repeat_interleave(x, 3, 1), x=rnd(2, 2))
case('repeat_interleave_tensor', lambda x: torch.repeat_interleave(x, torch.tensor([1, 0, 2]), 0), x=rnd(3, 2))
case('repeat_interleave_neg_noncontig', lambda x: torch.repeat_interleave(x.t(), torch.tensor([2, 1]), -1), x=rnd(2, 3))
case('flip_0', lambda x: torch.flip(x, (0,)), x=rnd(3, 2))
case('flip_both_neg', lambda x: torch.flip(x, (-1, 0)), x=rnd(2, 3, 2))
case('flip_noncontig', lambda x: torch.flip(x.t(), (1,)), x=rnd(3, 4))
case('flip_int', lambda x: torch.flip(x, (0,)), x=torch.tensor([1, 2, 3], dtype=I32))
case('roll_flat', lambda x: torch.roll(x, 2), x=rnd(2, 3))
case('roll_dim', lambda x: torch.roll(x, -1, 1), x=rnd(2, 4))
case('roll_multi', lambda x: torch.roll(x, (1, 5), (0, -1)), x=rnd(3, 2, 3))
case('roll_noncontig', lambda x: torch.roll(x.t(), 1, 0), x=rnd(2, 3))
# ---- non-finite values
SPECIAL = torch.tensor([1.5, NAN, INF, -INF, 0., -2.])
case('isnan', lambda x: torch.isnan(x), x=SPECIAL)
case('isinf', lambda x: torch.isinf(x), x=SPECIAL)
case('isfinite', lambda x: torch.isfinite(x), x=SPECIAL)
case('isnan_int', lambda x: torch.isnan(x), x=torch.tensor([1, 2], dtype=I32))
case('isfinite_int', lambda x: torch.isfinite(x), x=torch.tensor([1, 2], dtype=I32))
case('nan_to_num', lambda x: torch.nan_to_num(x), x=SPECIAL)
case('nan_to_num_values', lambda x: torch.nan_to_num(x, nan=7., posinf=100., neginf=-50.), x=SPECIAL)
# ---- norms
case('norm_fro', lambda x: torch.norm(x), x=rnd(3, 4))
case('norm_2_dim', lambda x: torch.norm(x, 2, 1), x=rnd(3, 4))
case('norm_1_keepdim', lambda x: torch.norm(x, 1, 0, keepdim=True), x=rnd(3, 4))
case('norm_3_neg', lambda x: torch.norm(x, 3, -1), x=rnd(2, 5))
case('norm_half', lambda x: torch.norm(x, 0.5, 1), x=torch.tensor([[0., 1., -2.], [0.5, 0., 3.]]))
case('norm_inf', lambda x: torch.norm(x, INF, 1), x=torch.tensor([[1., -3., 3.], [2., 0., -1.]]))
case('norm_neg_inf', lambda x: torch.norm(x, -INF, 1), x=torch.tensor([[1., -3., 1.], [2., 0.5, -1.]]))
case('norm_0', lambda x: torch.norm(x, 0, 1), x=torch.tensor([[1., 0., 3.], [0., 0., -1.]]))
case('norm_zero_row', lambda x: torch.norm(x, 2, 1), x=torch.tensor([[0., 0., 0.], [3., 0., 4.]]))
case('norm_fro_dims', lambda x: torch.norm(x, 'fro', (0, 2)), x=rnd(2, 3, 2))
case('norm_noncontig', lambda x: torch.norm(x.t(), 1.5, 0), x=rnd(3, 2))
case('norm_neg1', lambda x: torch.norm(x, -1, 1), x=torch.tensor([[1., -4., 2.], [2., 0.5, -1.]]))
# ---- cumulative
case('cumprod_dim1', lambda x: torch.cumprod(x, 1), x=rnd(2, 5))
case('cumprod_zero', lambda x: torch.cumprod(x, 0), x=torch.tensor([2., 0., 3., -1.5, 0.5]))
case('cumprod_two_zeros', lambda x: torch.cumprod(x, -1), x=torch.tensor([[2., 0., 3., 0., 0.5], [0., 1., 2., 3., 4.]]))
case('cumprod_noncontig', lambda x: torch.cumprod(x.t(), 0), x=rnd(3, 4))
case('cumprod_int', lambda x: torch.cumprod(x, 0), x=torch.tensor([2, -3, 1, 4], dtype=I32))
case('cumprod_0d', lambda x: torch.cumprod(x, 0), x=rnd(()))
case('logcumsumexp_dim1', lambda x: torch.logcumsumexp(x, 1), x=rnd(2, 6))
case('logcumsumexp_large', lambda x: torch.logcumsumexp(x, 0), x=torch.tensor([1000., 999., -1000., 1001., 0.]))
case('logcumsumexp_tiny', lambda x: torch.logcumsumexp(x, 0), x=torch.tensor([-200., -300., -100., -200.5]))
case('logcumsumexp_neg_inf', lambda x: torch.logcumsumexp(x, 0), grad=False, x=torch.tensor([-INF, -INF, 0., -INF]))
case('logcumsumexp_noncontig', lambda x: torch.logcumsumexp(x.t(), -1), x=rnd(5, 2))
case('logcumsumexp_0d', lambda x: torch.logcumsumexp(x, 0), x=rnd(()))

# ---- double backward: the output is d/dx sum(op(x) * v) with v = 1 + w (built by graph), so
# the recorded gradient is a second derivative (the suites compute the same with createGraph).


def first_grad(op):
    def fn(x):
        y = op(x)
        v = 1 + weight(y.numel()).reshape(y.shape)
        return torch.autograd.grad((y * v).sum(), x, create_graph=True)[0]
    return fn


case('double_cumprod_zero', first_grad(lambda x: torch.cumprod(x, -1)), x=torch.tensor([[2., 0., 3., -1.5], [0.5, 1.5, 0., 0.]]))
case('double_logcumsumexp', first_grad(lambda x: torch.logcumsumexp(x, 1)), x=rnd(2, 4))
case('double_norm_2', first_grad(lambda x: torch.norm(x, 2, 1)), x=rnd(2, 3))
case('double_norm_3', first_grad(lambda x: torch.norm(x, 3, 1)), x=rnd(2, 3))
case('double_sort', first_grad(lambda x: torch.sort(x, 1).values ** 2), x=distinct(2, 4))
case('double_topk', first_grad(lambda x: torch.topk(x, 2).values ** 2), x=distinct(2, 4))

write_cases('sort_sample', {'cases': cases})
