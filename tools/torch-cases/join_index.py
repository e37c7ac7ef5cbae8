"""Generates packages/backend-conformance/cases/join_index.json: PyTorch reference values for
the join, indexing and misc suites (cat, stack, split, chunk, unbind, gather, scatter,
scatter_add, index_select, pad, cumsum, tril, triu, one_hot).

Each case stores its inputs (flat data + shape + dtype), the expected outputs, and for float
inputs the gradients of `sum(out_k * w_k)` over the outputs, where `w` is the fixed weight
`w[i] = ((7 * i) % 11) / 11 - 0.3` over each output's flat elements (the suites rebuild it).

Run: /usr/bin/python3 tools/torch-cases/join_index.py   (torch 1.13; deterministic)
"""
import torch
import torch.nn.functional as F

from common import case_recorder, rnd, write_cases

torch.manual_seed(0)
cases = {}
case = case_recorder(cases)

I32 = torch.int32
# ---- join
case('cat_dim0', lambda a, b: torch.cat([a, b], 0), a=rnd(2, 3), b=rnd(1, 3))
case('cat_neg_dim', lambda a, b, c: torch.cat([a, b, c], -1), a=rnd(2, 3), b=rnd(2, 2), c=rnd(2, 1))
case('cat_noncontig', lambda a, b: torch.cat([a.t(), b], 1), a=rnd(3, 2), b=rnd(2, 1))
case('cat_3d_dim1', lambda a, b: torch.cat([a, b], 1), a=rnd(2, 1, 2), b=rnd(2, 3, 2))
case('cat_skip_empty', lambda e, a: torch.cat([e, a], 1), e=torch.zeros(0), a=rnd(2, 3))
case('cat_zero_size', lambda a, b: torch.cat([a, b], 1), a=rnd(2, 0), b=rnd(2, 3))
case('cat_promote', lambda a, b: torch.cat([a, b]), a=torch.tensor([1, 2], dtype=I32), b=rnd(3))
case('cat_int_bool', lambda a, b: torch.cat([a, b]), a=torch.tensor([1, 2], dtype=I32), b=torch.tensor([True, False]))
case('stack_dim0', lambda a, b: torch.stack([a, b]), a=rnd(2, 3), b=rnd(2, 3))
case('stack_dim1', lambda a, b: torch.stack([a, b], 1), a=rnd(2, 3), b=rnd(2, 3))
case('stack_neg', lambda a, b, c: torch.stack([a, b, c], -1), a=rnd(2, 2), b=rnd(2, 2), c=rnd(2, 2))
case('stack_0d', lambda a, b: torch.stack([a, b]), a=rnd(()), b=rnd(()))
case('split_size', lambda x: torch.split(x, 2, 0), x=rnd(5, 2))
case('split_sizes_neg', lambda x: torch.split(x, [1, 0, 4], -1), x=rnd(2, 5))
case('chunk_5_4', lambda x: torch.chunk(x, 4), x=rnd(5))
case('chunk_dim1', lambda x: torch.chunk(x, 2, 1), x=rnd(2, 3, 2))
case('unbind_dim1', lambda x: torch.unbind(x, 1), x=rnd(2, 3))
case('unbind_neg', lambda x: torch.unbind(x, -1), x=rnd(2, 2, 3))
# ---- indexing
case('gather_dim1', lambda x, i: torch.gather(x, 1, i), x=rnd(3, 4), i=torch.tensor([[0, 3], [1, 1], [2, 0]]))
case('gather_dim0_small', lambda x, i: torch.gather(x, 0, i), x=rnd(3, 4), i=torch.tensor([[2, 0, 1], [2, 2, 0]]))
case('gather_noncontig_neg', lambda x, i: torch.gather(x.t(), -1, i), x=rnd(4, 3), i=torch.tensor([[3, 3, 0], [1, 2, 2], [0, 0, 0]]))
case('gather_0d', lambda x, i: torch.gather(x, 0, i), x=rnd(()), i=torch.tensor(0))
# torch's own src gradient breaks when src is larger than index; slicing src first is the
# same function and gives the reference gradient (zeros outside index's extent).
case('scatter_dim0', lambda x, s, i: torch.scatter(x, 0, i, s[:, :3]), x=rnd(3, 5), s=rnd(2, 5), i=torch.tensor([[1, 2, 0], [0, 1, 2]]))
case('scatter_dim1', lambda x, s, i: torch.scatter(x, 1, i, s), x=rnd(2, 4), s=rnd(2, 2), i=torch.tensor([[3, 0], [1, 2]]))
case('scatter_value', lambda x, i: torch.scatter(x, -1, i, 2.5), x=rnd(2, 4), i=torch.tensor([[3, 0], [1, 2]]))
case('scatter_add_dup', lambda x, s, i: torch.scatter_add(x, 0, i, s), x=rnd(3, 2), s=rnd(4, 2), i=torch.tensor([[0, 1], [0, 1], [2, 1], [0, 0]]))
case('scatter_add_small_src', lambda x, s, i: torch.scatter_add(x, 1, i, s[:2, :2]), x=rnd(2, 3), s=rnd(3, 3), i=torch.tensor([[2, 2], [0, 1]]))
case('index_select_dim0', lambda x, i: torch.index_select(x, 0, i), x=rnd(3, 2), i=torch.tensor([2, 0, 2, 1]))
case('index_select_neg', lambda x, i: torch.index_select(x, -1, i), x=rnd(2, 3, 4), i=torch.tensor([3, 1]))
case('index_select_noncontig', lambda x, i: torch.index_select(x.t(), 1, i), x=rnd(3, 2), i=torch.tensor([1, 1, 0]))
# ---- misc
case('pad_const', lambda x: F.pad(x, (1, 2), value=5.0), x=rnd(2, 3))
case('pad_const_2d', lambda x: F.pad(x, (1, 0, 0, 2)), x=rnd(2, 2, 3))
case('pad_const_neg', lambda x: F.pad(x, (-1, 2, 1, -1), value=-1.0), x=rnd(2, 3))
case('pad_reflect', lambda x: F.pad(x, (2, 1), 'reflect'), x=rnd(2, 2, 4))
case('pad_reflect_2d', lambda x: F.pad(x, (1, 2, 2, 1), 'reflect'), x=rnd(1, 3, 4))
case('pad_replicate', lambda x: F.pad(x, (3, 1), 'replicate'), x=rnd(1, 2, 3))
case('pad_replicate_2d', lambda x: F.pad(x, (1, 1, 2, 0), 'replicate'), x=rnd(1, 1, 2, 3))
case('cumsum_dim1', lambda x: torch.cumsum(x, 1), x=rnd(2, 3))
case('cumsum_dim0', lambda x: torch.cumsum(x, 0), x=rnd(3, 2))
case('cumsum_neg_noncontig', lambda x: torch.cumsum(x.t(), -1), x=rnd(3, 4))
case('cumsum_int', lambda x: torch.cumsum(x, 0), x=torch.tensor([[1, -2], [3, 4], [5, 6]], dtype=I32))
case('cumsum_bool', lambda x: torch.cumsum(x, -1), x=torch.tensor([[True, False, True], [True, True, False]]))
case('cumsum_0d', lambda x: torch.cumsum(x, 0), x=rnd(()))
case('tril', lambda x: torch.tril(x), x=rnd(3, 4))
case('tril_pos', lambda x: torch.tril(x, 1), x=rnd(3, 4))
case('tril_neg_batched', lambda x: torch.tril(x, -1), x=rnd(2, 3, 3))
case('triu', lambda x: torch.triu(x), x=rnd(4, 3))
case('triu_pos_batched', lambda x: torch.triu(x, 1), x=rnd(2, 2, 3))
case('triu_neg', lambda x: torch.triu(x, -1), x=rnd(4, 3))
case('tril_int', lambda x: torch.tril(x), x=torch.arange(1, 10, dtype=I32).reshape(3, 3))
case('triu_noncontig', lambda x: torch.triu(x.t()), x=rnd(4, 3))
case('one_hot', lambda i: F.one_hot(i), i=torch.tensor([2, 0, 1, 2]))
case('one_hot_classes', lambda i: F.one_hot(i, 5), i=torch.tensor([[4, 0], [1, 3]]))
# ---- views (ops-view suite)
case('view_reshape_noncontig', lambda x: x.t().reshape(2, 3), x=rnd(2, 3))
case('view_permute', lambda x: x.permute(2, 0, 1), x=rnd(2, 3, 4))
case('view_transpose_neg', lambda x: x.transpose(-1, 0), x=rnd(2, 3, 2))
case('view_expand', lambda x: x.expand(2, 3, 4), x=rnd(3, 1))
case('view_slice_step', lambda x: x[:, 1::2], x=rnd(2, 5))
case('view_slice_neg', lambda x: x[-3:-1], x=rnd(4, 2))
case('view_narrow', lambda x: x.narrow(-1, 1, 2), x=rnd(2, 4))
case('view_select', lambda x: x.select(1, -1), x=rnd(2, 3, 2))
case('view_squeeze_unsqueeze', lambda x: x.squeeze().unsqueeze(-1), x=rnd(1, 3, 1))
case('view_flatten', lambda x: x.permute(1, 0, 2).flatten(1), x=rnd(2, 3, 2))
case('view_contiguous', lambda x: x.t().contiguous(), x=rnd(2, 3))

write_cases('join_index', {'cases': cases})
