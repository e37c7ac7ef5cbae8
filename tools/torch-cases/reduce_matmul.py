"""Generates packages/backend-conformance/cases/reduce_matmul.json: PyTorch reference values for
the reduce, matmul and norm suites (sum, mean, prod, amax/amin, max/min, argmax/argmin, var,
std, logsumexp, any/all, softmax, log_softmax, matmul, linear, einsum, layer_norm and the
pointwise LSTM/GRU cell steps).

Each case stores its inputs (flat data + shape + dtype), the expected outputs, and for float
inputs the gradients of `sum(out_k * w_k)` over the float outputs, where `w` is the fixed weight
`w[i] = ((7 * i) % 11) / 11 - 0.3` over each output's flat elements (the suites rebuild it).
Non-finite floats are stored as the strings "nan", "inf" and "-inf" (JSON has no literal).

Run: /usr/bin/python3 tools/torch-cases/reduce_matmul.py   (torch 1.13; deterministic)
"""
import torch
import torch.nn.functional as F

from common import case_recorder, rnd, write_cases

torch.manual_seed(0)
NAN = float('nan')
INF = float('inf')
cases = {}
case = case_recorder(cases)

I32 = torch.int32
T = torch.tensor

# ---- sum / mean / prod
case('sum_all', lambda x: x.sum(), x=rnd(2, 3))
case('sum_dim1_keepdim', lambda x: x.sum(1, keepdim=True), x=rnd(2, 3))
case('sum_neg_multi', lambda x: x.sum((-1, 0)), x=rnd(2, 3, 4))
case('sum_noncontig', lambda x: x.t().sum(1), x=rnd(3, 4))
case('sum_empty_dim', lambda x: x.sum(1), x=torch.zeros(2, 0))
case('sum_empty_all', lambda x: x.sum(), x=torch.zeros(0, 3))
case('sum_int', lambda x: x.sum(0), x=T([[1, -2, 3], [4, 5, -6]], dtype=I32))
case('sum_bool', lambda x: x.sum(-1), x=T([[True, False, True], [True, True, True]]))
case('sum_0d', lambda x: x.sum(0, keepdim=True), x=rnd(()))
case('sum_nan', lambda x: x.sum(1), grad=False, x=T([[1., NAN, 2.], [INF, 1., 2.], [INF, -INF, 0.]]))
case('mean_dims_keepdim', lambda x: x.mean((0, 2), keepdim=True), x=rnd(2, 3, 4))
case('mean_all', lambda x: x.mean(), x=rnd(3, 4))
case('mean_noncontig_neg', lambda x: x.permute(2, 0, 1).mean(-1), x=rnd(2, 3, 4))
case('mean_empty', lambda x: x.mean(0), grad=False, x=torch.zeros(0, 2))
case('prod_dim', lambda x: x.prod(1), x=rnd(2, 3))
case('prod_zeros', lambda x: x.prod(1), x=T([[1.5, 0., 2.], [0., 3., 0.], [1., 2., -1.], [0., 0., 0.]]))
case('prod_all_one_zero', lambda x: x.prod(), x=T([[1.5, 0.5, 2.], [-1., 3., 0.]]))
case('prod_keepdim_neg', lambda x: x.prod(-2, keepdim=True), x=rnd(2, 3, 2))
case('prod_int', lambda x: x.prod(1), x=T([[1, -2, 3], [4, 0, -6]], dtype=I32))
case('prod_empty', lambda x: x.prod(1), x=torch.zeros(2, 0))
# ---- amax / amin / max / min
case('amax_ties', lambda x: x.amax(1), x=T([[1., 3., 3.], [2., 2., 2.], [-1., 0., -5.]]))
case('amax_multi_keepdim', lambda x: x.amax((0, 2), keepdim=True), x=rnd(2, 3, 4))
case('amin_neg', lambda x: x.amin(-1), x=rnd(3, 4))
case('amin_all_ties', lambda x: x.amin(), x=T([[1., -3., 3.], [-3., 2., -3.]]))
case('amax_noncontig', lambda x: x.t().amax(0), x=rnd(3, 4))
case('amax_nan', lambda x: x.amax(1), x=T([[1., NAN, 2.], [0., 1., 2.]]))
case('amax_int', lambda x: x.amax(0), x=T([[1, -2, 3], [4, 5, -6]], dtype=I32))
case('amax_bool', lambda x: x.amax(1), x=T([[True, False], [False, False]]))
case('amin_bool', lambda x: x.amin(1), x=T([[True, False], [True, True]]))
case('max_all_ties', lambda x: x.max(), x=T([[1., 3., 3.], [5., 5., 0.]]))
case('min_all', lambda x: x.min(), x=rnd(3, 2))
case('max_dim', lambda x: x.max(1), x=rnd(3, 4))
case('max_dim_keepdim_ties', lambda x: x.max(1, keepdim=True), x=T([[1., 3., 3.], [5., 5., 0.], [2., 2., 2.]]))
case('min_dim_neg', lambda x: x.min(-2), x=rnd(3, 4))
case('max_dim_noncontig', lambda x: x.t().max(1), x=rnd(3, 4))
case('max_dim_nan', lambda x: x.max(1), grad=False, x=T([[1., NAN, 3.], [5., 5., 0.]]))
case('max_dim_int', lambda x: x.max(0), x=T([[1, -2, 3], [4, 5, -6]], dtype=I32))
case('min_dim_bool', lambda x: x.min(1), x=T([[True, False], [True, True]]))
case('max_0d', lambda x: x.max(0), x=rnd(()))
case('max_empty_other_dim', lambda x: x.max(1), x=torch.zeros(0, 3))
# ---- argmax / argmin
case('argmax_flat', lambda x: x.argmax(), x=rnd(3, 4))
case('argmax_flat_keepdim', lambda x: x.argmax(keepdim=True), x=rnd(2, 3))
case('argmax_dim', lambda x: x.argmax(1), x=rnd(3, 4))
case('argmax_ties', lambda x: x.argmax(-1), x=T([[1., 3., 3.], [5., 5., 0.], [2., 2., 2.]]))
case('argmin_dim0_keepdim', lambda x: x.argmin(0, keepdim=True), x=rnd(3, 4))
case('argmin_ties_noncontig', lambda x: x.t().argmin(1), x=T([[1., 0., 0.], [0., 0., 0.]]))
case('argmax_nan', lambda x: x.argmax(1), x=T([[1., NAN, 3., NAN], [5., 5., 0., 1.]]))
case('argmax_int', lambda x: x.argmax(1), x=T([[1, -2, 3], [4, 5, 5]], dtype=I32))
case('argmax_0d', lambda x: x.argmax(0), x=rnd(()))
# ---- var / std
case('var_all', lambda x: x.var(), x=rnd(3, 4))
case('var_dim_correction0_keepdim', lambda x: torch.var(x, 1, unbiased=False, keepdim=True), x=rnd(3, 4))
case('var_multi_neg', lambda x: torch.var(x, (0, -1)), x=rnd(2, 3, 4))
case('var_noncontig', lambda x: torch.var(x.t(), 1), x=rnd(4, 3))
case('var_single', lambda x: torch.var(x, 1), grad=False, x=rnd(2, 1))
case('std_all', lambda x: x.std(), x=rnd(3, 4))
case('std_dim_correction0', lambda x: torch.std(x, 0, unbiased=False), x=rnd(3, 4))
case('std_multi_keepdim', lambda x: torch.std(x, (1, 2), keepdim=True), x=rnd(2, 3, 4))
case('std_constant', lambda x: torch.std(x, 1), x=T([[2., 2., 2.], [1., 2., 3.]]))
# ---- logsumexp
case('logsumexp_dim', lambda x: torch.logsumexp(x, 1), x=rnd(3, 4))
case('logsumexp_multi_keepdim', lambda x: torch.logsumexp(x, (0, 2), keepdim=True), x=rnd(2, 3, 4))
case('logsumexp_large', lambda x: torch.logsumexp(x, -1), x=T([[1000., 1000.], [-1000., -1000.5], [0., 88.]]))
case('logsumexp_neg_inf', lambda x: torch.logsumexp(x, 1), grad=False, x=T([[-INF, -INF], [1., 2.], [INF, 1.], [NAN, 1.]]))
case('logsumexp_empty', lambda x: torch.logsumexp(x, 1), x=torch.zeros(2, 0))
case('logsumexp_int', lambda x: torch.logsumexp(x, 0), x=T([1, 2, 3], dtype=I32))
case('logsumexp_noncontig', lambda x: torch.logsumexp(x.t(), 1), x=rnd(3, 4))
# ---- any / all
case('any_dim', lambda x: x.any(1), x=T([[0., 0., 1.], [0., 0., 0.]]))
case('all_dim_keepdim', lambda x: x.all(0, keepdim=True), x=T([[1, 2, 0], [3, 4, 5]], dtype=I32))
case('any_all_bool', lambda x: x.any(), x=T([[False, False], [False, True]]))
case('all_nan_is_true', lambda x: x.all(), x=T([NAN, 1., -2.]))
case('any_empty', lambda x: x.any(), x=torch.zeros(0))
case('all_empty', lambda x: x.all(), x=torch.zeros(0))

# ---- softmax / log_softmax
case('softmax_dim1', lambda x: torch.softmax(x, 1), x=rnd(3, 4))
case('softmax_dim0', lambda x: torch.softmax(x, 0), x=rnd(3, 4))
case('softmax_3d_neg', lambda x: torch.softmax(x, -2), x=rnd(2, 3, 4))
case('softmax_noncontig', lambda x: torch.softmax(x.t(), -1), x=rnd(4, 3))
case('softmax_large', lambda x: torch.softmax(x, -1), x=T([[1000., 999., 998.], [-1000., -1001., -2000.]]))
case('softmax_masked', lambda x: torch.softmax(x, -1), x=T([[1., -INF, 2.], [-INF, 0.5, -INF]]))
case('softmax_all_neg_inf', lambda x: torch.softmax(x, -1), grad=False, x=T([[-INF, -INF], [1., 2.]]))
case('softmax_0d', lambda x: torch.softmax(x, 0), x=rnd(()))
case('log_softmax_dim1', lambda x: torch.log_softmax(x, 1), x=rnd(3, 4))
case('log_softmax_3d_dim0', lambda x: torch.log_softmax(x, 0), x=rnd(2, 3, 4))
case('log_softmax_noncontig', lambda x: torch.log_softmax(x.t(), 1), x=rnd(4, 3))
case('log_softmax_large', lambda x: torch.log_softmax(x, -1), x=T([[1000., 999., 998.], [-1000., -1001., -2000.]]))
case('log_softmax_masked', lambda x: torch.log_softmax(x, -1), grad=False, x=T([[1., -INF, 2.]]))

# ---- matmul / linear / einsum
case('matmul_dot', lambda a, b: torch.matmul(a, b), a=rnd(4), b=rnd(4))
case('matmul_vec_mat', lambda a, b: torch.matmul(a, b), a=rnd(3), b=rnd(3, 2))
case('matmul_mat_vec', lambda a, b: torch.matmul(a, b), a=rnd(2, 3), b=rnd(3))
case('matmul_2d', lambda a, b: torch.matmul(a, b), a=rnd(2, 3), b=rnd(3, 4))
case('matmul_3d', lambda a, b: torch.matmul(a, b), a=rnd(2, 2, 3), b=rnd(2, 3, 2))
case('matmul_broadcast', lambda a, b: torch.matmul(a, b), a=rnd(2, 1, 2, 3), b=rnd(3, 3, 2))
case('matmul_3d_2d', lambda a, b: torch.matmul(a, b), a=rnd(2, 2, 3), b=rnd(3, 2))
case('matmul_3d_vec', lambda a, b: torch.matmul(a, b), a=rnd(2, 2, 3), b=rnd(3))
case('matmul_vec_3d', lambda a, b: torch.matmul(a, b), a=rnd(3), b=rnd(2, 3, 2))
case('matmul_transposed', lambda a, b: torch.matmul(a.t(), b.t()), a=rnd(3, 2), b=rnd(4, 3))
case('matmul_batch_transposed', lambda a, b: torch.matmul(a, b.transpose(-1, -2)), a=rnd(2, 2, 3), b=rnd(2, 4, 3))
case('matmul_empty_k', lambda a, b: torch.matmul(a, b), a=torch.zeros(2, 0), b=torch.zeros(0, 3))
case('matmul_empty_m', lambda a, b: torch.matmul(a, b), a=torch.zeros(0, 3), b=rnd(3, 2))
case('matmul_int', lambda a, b: torch.matmul(a, b), a=T([[1, 2], [3, -4]], dtype=I32), b=T([[5, 6, 0], [7, -8, 1]], dtype=I32))
case('linear_bias', lambda x, w, b: F.linear(x, w, b), x=rnd(2, 3), w=rnd(4, 3), b=rnd(4))
case('linear_3d', lambda x, w, b: F.linear(x, w, b), x=rnd(2, 2, 3), w=rnd(4, 3), b=rnd(4))
case('linear_no_bias', lambda x, w: F.linear(x, w), x=rnd(3, 3), w=rnd(2, 3))
case('linear_1d', lambda x, w, b: F.linear(x, w, b), x=rnd(3), w=rnd(2, 3), b=rnd(2))
case('linear_noncontig', lambda x, w, b: F.linear(x.t(), w, b), x=rnd(3, 2), w=rnd(4, 3), b=rnd(4))
case('einsum_matmul', lambda a, b: torch.einsum('ij,jk->ik', a, b), a=rnd(2, 3), b=rnd(3, 4))
case('einsum_bmm', lambda a, b: torch.einsum('bij,bjk->bik', a, b), a=rnd(2, 2, 3), b=rnd(2, 3, 2))
case('einsum_attention', lambda q, k: torch.einsum('bhqd,bhkd->bhqk', q, k), q=rnd(2, 2, 3, 4), k=rnd(2, 2, 2, 4))
case('einsum_dot', lambda a, b: torch.einsum('i,i->', a, b), a=rnd(4), b=rnd(4))
case('einsum_transpose', lambda a: torch.einsum('ij->ji', a), a=rnd(2, 3))
case('einsum_rowdot', lambda a, b: torch.einsum('bi,bi->b', a, b), a=rnd(3, 4), b=rnd(3, 4))
case('einsum_outer', lambda a, b: torch.einsum('i,j->ij', a, b), a=rnd(3), b=rnd(2))
case('einsum_implicit', lambda a, b: torch.einsum('ij,jk', a, b), a=rnd(2, 3), b=rnd(3, 2))
case('einsum_sum_all', lambda a: torch.einsum('ij->', a), a=rnd(2, 3))
case('einsum_three', lambda a, b, c: torch.einsum('ij,jk,kl->il', a, b, c), a=rnd(2, 3), b=rnd(3, 4), c=rnd(4, 2))
case('einsum_sum_free', lambda a, b: torch.einsum('ijk,jl->il', a, b), a=rnd(2, 3, 2), b=rnd(3, 2))
case('einsum_permute_out', lambda a, b: torch.einsum('bij,bjk->kib', a, b), a=rnd(2, 2, 3), b=rnd(2, 3, 2))

# ---- layer norm
case('layer_norm_affine', lambda x, w, b: F.layer_norm(x, [4], w, b), x=rnd(2, 3, 4), w=rnd(4), b=rnd(4))
case('layer_norm_2d_shape', lambda x, w, b: F.layer_norm(x, [3, 4], w, b), x=rnd(2, 3, 4), w=rnd(3, 4), b=rnd(3, 4))
case('layer_norm_plain', lambda x: F.layer_norm(x, [5]), x=rnd(3, 5))
case('layer_norm_eps', lambda x, w: F.layer_norm(x, [3], w, None, 0.1), x=rnd(2, 3), w=rnd(3))
case('layer_norm_noncontig', lambda x, w, b: F.layer_norm(x.t(), [3], w, b), x=rnd(3, 4), w=rnd(3), b=rnd(3))
case('layer_norm_1d', lambda x, w, b: F.layer_norm(x, [4], w, b), x=rnd(4), w=rnd(4), b=rnd(4))


# ---- recurrent cells: the pointwise formulas, checked against nn.LSTMCell / nn.GRUCell.
def lstm_step(gates, c):
    i, f, g, o = gates.chunk(4, 1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c2), c2


def gru_step(gi, gh, h):
    ir, iz, inn = gi.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r = torch.sigmoid(ir + hr)
    z = torch.sigmoid(iz + hz)
    n = torch.tanh(inn + r * hn)
    return (1 - z) * n + z * h


with torch.no_grad():
    cell = torch.nn.LSTMCell(3, 2)
    x, h0, c0 = rnd(2, 3), rnd(2, 2), rnd(2, 2)
    gates = x @ cell.weight_ih.t() + cell.bias_ih + h0 @ cell.weight_hh.t() + cell.bias_hh
    ref_h, ref_c = cell(x, (h0, c0))
    got_h, got_c = lstm_step(gates, c0)
    assert torch.allclose(ref_h, got_h, atol=1e-6) and torch.allclose(ref_c, got_c, atol=1e-6)
    gcell = torch.nn.GRUCell(3, 2)
    gi = x @ gcell.weight_ih.t() + gcell.bias_ih
    gh = h0 @ gcell.weight_hh.t() + gcell.bias_hh
    assert torch.allclose(gcell(x, h0), gru_step(gi, gh, h0), atol=1e-6)

case('lstm_cell', lstm_step, gates=rnd(3, 8), c=rnd(3, 2))
case('lstm_cell_wide', lstm_step, gates=rnd(2, 12) * 3, c=rnd(2, 3))
case('gru_cell', gru_step, gi=rnd(3, 6), gh=rnd(3, 6), h=rnd(3, 2))
case('gru_cell_wide', gru_step, gi=rnd(2, 9) * 3, gh=rnd(2, 9), h=rnd(2, 3))

write_cases('reduce_matmul', {'cases': cases})
