"""Generates packages/nn/test/cases/funcdata.json: PyTorch reference values and gradients for
RMSNorm, KLDivLoss, CTCLoss, F.normalize, cosine_similarity, scaled_dot_product_attention and
the tutorial's sinusoidal positional table, read by packages/nn/test/funcdata-torch.test.ts.

Encoding as common.py (flat data + shape + dtype, int64 as int32, non-finite floats as strings);
gradients are those of `sum_k sum(out_k * w_k)` with common.weight, for the inputs listed in
`grad` (targets, lengths and masks take none). Each case also records `config` (the call's
arguments, PyTorch spelling).

torch 1.13 lacks RMSNorm and F.scaled_dot_product_attention, so both are computed by hand here:
RMSNorm as PyTorch 2.4's composite (`x * rsqrt(mean(x^2 over the normalized dims) + eps) * weight`,
eps = finfo(float32).eps when None); SDPA as `softmax(q k^T * scale + mask) v` with PyTorch 2's
mask convention (bool True = takes part, float added), `is_causal` top-left aligned, `enable_gqa`
repeat-interleaving key/value heads. CTC's gradient is PyTorch's own (ctc_loss's backward: it
assumes log_probs come from log_softmax, see the cases' notes).

Run: /usr/bin/python3 tools/torch-cases/funcdata.py   (torch 1.13; deterministic)
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F

from common import enc, jsonable, weighted_loss

OUT = pathlib.Path(__file__).resolve().parents[2] / 'packages/nn/test/cases/funcdata.json'
CASES = {}


def record(name, config, fn, grad, **inputs):
    """Runs fn(**inputs) (a tensor or a list), records inputs, outputs and the gradients of the
    weighted loss w.r.t. the inputs named in `grad`."""
    leaves = {k: (v.clone().requires_grad_(True) if k in grad else v) for k, v in inputs.items()}
    out = fn(**leaves)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    grads = {}
    if grad:
        gs = torch.autograd.grad(weighted_loss(outs), [leaves[k] for k in grad], allow_unused=True)
        grads = {k: enc(g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(grad, gs)}
    CASES[name] = {
        'config': config,
        'inputs': {k: enc(v) for k, v in inputs.items()},
        'outputs': [enc(o) for o in outs],
        'grads': grads,
    }


def rnd(*shape):
    """Two-decimal random values (exact float32 round trips through JSON)."""
    return (torch.randn(*shape) * 100).round() / 100


# ---- RMSNorm (PyTorch 2.4 semantics, by hand) -------------------------------------------------


def rms_norm(x, normalized_shape, weight=None, eps=None):
    if eps is None:
        eps = torch.finfo(x.dtype).eps
    dims = tuple(range(-len(normalized_shape), 0))
    y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


torch.manual_seed(0)
record('rmsnorm_default_eps', {'normalized_shape': [6], 'eps': None, 'elementwise_affine': True},
       lambda x, weight: rms_norm(x, [6], weight), ['x', 'weight'], x=rnd(3, 4, 6), weight=rnd(6))
record('rmsnorm_2d_eps', {'normalized_shape': [3, 4], 'eps': 1e-5, 'elementwise_affine': True},
       lambda x, weight: rms_norm(x, [3, 4], weight, 1e-5), ['x', 'weight'], x=rnd(2, 3, 4), weight=rnd(3, 4))
# Small values: eps matters (mean of squares ~1e-6).
record('rmsnorm_no_affine_small', {'normalized_shape': [5], 'eps': 1e-6, 'elementwise_affine': False},
       lambda x: rms_norm(x, [5], None, 1e-6), ['x'], x=rnd(4, 5) * 1e-3)

# ---- KLDivLoss --------------------------------------------------------------------------------

torch.manual_seed(1)
kl_input = F.log_softmax(rnd(4, 5), dim=-1)
kl_target = F.softmax(rnd(4, 5) * 2, dim=-1)
kl_target[1, 2] = 0.0  # 0 * log 0 = 0 (xlogy)
kl_log_target = F.log_softmax(rnd(4, 5), dim=-1)
for red in ('none', 'sum', 'mean', 'batchmean'):
    record(f'kl_div_{red}', {'reduction': red, 'log_target': False},
           lambda input, target, r=red: F.kl_div(input, target, reduction=r), ['input'], input=kl_input, target=kl_target)
    record(f'kl_div_{red}_log_target', {'reduction': red, 'log_target': True},
           lambda input, target, r=red: F.kl_div(input, target, reduction=r, log_target=True), ['input', 'target'],
           input=kl_input, target=kl_log_target)

# ---- CTCLoss ----------------------------------------------------------------------------------

torch.manual_seed(2)
T, N, C = 7, 4, 5
ctc_logits = rnd(T, N, C)
# Padded targets [N, S]; lengths vary; row 1 repeats a label (needs a blank between); row 3 is empty.
ctc_targets = torch.tensor([[1, 2, 3, 0], [2, 2, 4, 0], [4, 1, 3, 2], [0, 0, 0, 0]])
ctc_target_lengths = torch.tensor([3, 3, 4, 0])
ctc_input_lengths = torch.tensor([7, 5, 7, 3])
for red in ('none', 'sum', 'mean'):
    record(f'ctc_{red}', {'blank': 0, 'reduction': red, 'zero_infinity': False},
           lambda logits, targets, input_lengths, target_lengths, r=red: F.ctc_loss(
               F.log_softmax(logits, -1), targets, input_lengths, target_lengths, blank=0, reduction=r),
           ['logits'], logits=ctc_logits, targets=ctc_targets, input_lengths=ctc_input_lengths, target_lengths=ctc_target_lengths)
# Gradient w.r.t. log_probs as a leaf: PyTorch's backward returns exp(lp) - posterior occupancy,
# the gradient w.r.t. the logits of a log_softmax (it assumes log_probs are normalized).
lp = F.log_softmax(ctc_logits, -1)
record('ctc_log_probs_leaf', {'blank': 0, 'reduction': 'mean', 'zero_infinity': False},
       lambda log_probs, targets, input_lengths, target_lengths: F.ctc_loss(
           log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean'),
       ['log_probs'], log_probs=lp, targets=ctc_targets, input_lengths=ctc_input_lengths, target_lengths=ctc_target_lengths)
# Blank as the last class; targets concatenated (1-D); 2-D input (unbatched: [T, C]).
blank_last_targets = torch.tensor([0, 1, 0, 3, 3, 2, 1, 0, 1])
record('ctc_blank_last_concat', {'blank': C - 1, 'reduction': 'sum', 'zero_infinity': False},
       lambda logits, targets, input_lengths, target_lengths: F.ctc_loss(
           F.log_softmax(logits, -1), targets, input_lengths, target_lengths, blank=C - 1, reduction='sum'),
       ['logits'], logits=ctc_logits, targets=blank_last_targets, input_lengths=torch.tensor([7, 6, 7, 4]),
       target_lengths=torch.tensor([3, 2, 3, 1]))
record('ctc_unbatched', {'blank': 0, 'reduction': 'mean', 'zero_infinity': False},
       lambda logits, targets, input_lengths, target_lengths: F.ctc_loss(
           F.log_softmax(logits, -1), targets, input_lengths, target_lengths, blank=0, reduction='mean'),
       ['logits'], logits=ctc_logits[:, 0], targets=torch.tensor([1, 2, 2]), input_lengths=torch.tensor(6),
       target_lengths=torch.tensor(3))
# Impossible alignments: row 0 needs 5 frames for [1, 1, 1] in 4 (repeats need blanks between),
# row 1 has more labels than frames. Infinite losses, zeroed (with zero gradients) by zero_infinity.
imp_targets = torch.tensor([[1, 1, 1], [2, 3, 4], [1, 2, 0]])
imp_in = torch.tensor([4, 2, 5])
imp_tl = torch.tensor([3, 3, 2])
imp_logits = ctc_logits[:, :3]
record('ctc_impossible_none', {'blank': 0, 'reduction': 'none', 'zero_infinity': False},
       lambda logits, targets, input_lengths, target_lengths: F.ctc_loss(
           F.log_softmax(logits, -1), targets, input_lengths, target_lengths, reduction='none'),
       [], logits=imp_logits, targets=imp_targets, input_lengths=imp_in, target_lengths=imp_tl)
for red in ('none', 'mean'):
    record(f'ctc_zero_infinity_{red}', {'blank': 0, 'reduction': red, 'zero_infinity': True},
           lambda logits, targets, input_lengths, target_lengths, r=red: F.ctc_loss(
               F.log_softmax(logits, -1), targets, input_lengths, target_lengths, reduction=r, zero_infinity=True),
           ['logits'], logits=imp_logits, targets=imp_targets, input_lengths=imp_in, target_lengths=imp_tl)

# ---- normalize, cosine_similarity, pairwise_distance -----------------------------------------

torch.manual_seed(3)
nx = rnd(3, 5)
record('normalize_p2_dim1', {'p': 2.0, 'dim': 1, 'eps': 1e-12}, lambda x: F.normalize(x), ['x'], x=nx)
record('normalize_p1_dim0', {'p': 1.0, 'dim': 0, 'eps': 1e-12}, lambda x: F.normalize(x, p=1.0, dim=0), ['x'], x=nx)
zero_row = nx.clone()
zero_row[1] = 0.0
record('normalize_zero_row_eps', {'p': 2.0, 'dim': 1, 'eps': 0.1}, lambda x: F.normalize(x, dim=1, eps=0.1), ['x'], x=zero_row)
record('normalize_p3_dim_last_3d', {'p': 3.0, 'dim': -1, 'eps': 1e-12}, lambda x: F.normalize(x, p=3.0, dim=-1), ['x'],
       x=rnd(2, 3, 4))
record('cosine_similarity_dim1', {'dim': 1, 'eps': 1e-8}, lambda x1, x2: F.cosine_similarity(x1, x2), ['x1', 'x2'],
       x1=rnd(4, 6), x2=rnd(4, 6))
record('cosine_similarity_broadcast_dim_last', {'dim': -1, 'eps': 1e-8},
       lambda x1, x2: F.cosine_similarity(x1, x2, dim=-1), ['x1', 'x2'], x1=rnd(2, 3, 5), x2=rnd(1, 5))
record('pairwise_distance_p2', {'p': 2.0, 'eps': 1e-6, 'keepdim': False},
       lambda x1, x2: F.pairwise_distance(x1, x2), ['x1', 'x2'], x1=rnd(4, 6), x2=rnd(4, 6))

# ---- scaled dot-product attention (PyTorch 2 semantics, by hand) ------------------------------


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None, enable_gqa=False):
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    bias = torch.zeros(L, S)
    if is_causal:
        keep = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
        bias = bias.masked_fill(keep.logical_not(), float('-inf'))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float('-inf'))
        else:
            bias = bias + attn_mask
    if enable_gqa:
        g = q.shape[-3] // k.shape[-3]
        k = k.repeat_interleave(g, dim=-3)
        v = v.repeat_interleave(g, dim=-3)
    w = torch.softmax(q @ k.transpose(-2, -1) * scale + bias, dim=-1)
    return w @ v


torch.manual_seed(4)
keep = torch.tensor([[True, False, True, True, False, True],
                     [False, True, True, False, True, True],
                     [True, True, False, False, False, False],
                     [True, True, True, True, True, True]])
qkv = {'q': rnd(2, 3, 4, 8), 'k': rnd(2, 3, 6, 8), 'v': rnd(2, 3, 6, 5)}
record('sdpa_plain', {}, lambda q, k, v: sdpa(q, k, v), ['q', 'k', 'v'], **qkv)
record('sdpa_bool_mask', {'note': 'bool attn_mask: True = takes part (PyTorch 2)'},
       lambda q, k, v, attn_mask: sdpa(q, k, v, attn_mask), ['q', 'k', 'v'], attn_mask=keep, **qkv)
record('sdpa_bool_mask_batched', {'note': 'mask [2, 1, 4, 6] broadcast over heads'},
       lambda q, k, v, attn_mask: sdpa(q, k, v, attn_mask), ['q', 'k', 'v'],
       attn_mask=torch.stack([keep, keep.flip(-1)]).unsqueeze(1), **qkv)
record('sdpa_float_mask', {}, lambda q, k, v, attn_mask: sdpa(q, k, v, attn_mask), ['q', 'k', 'v'],
       attn_mask=rnd(4, 6), **qkv)
record('sdpa_causal_scale', {'is_causal': True, 'scale': 0.2}, lambda q, k, v: sdpa(q, k, v, is_causal=True, scale=0.2),
       ['q', 'k', 'v'], **qkv)
record('sdpa_gqa', {'enable_gqa': True},
       lambda q, k, v, attn_mask: sdpa(q, k, v, attn_mask, enable_gqa=True), ['q', 'k', 'v'],
       q=rnd(2, 6, 4, 8), k=rnd(2, 2, 6, 8), v=rnd(2, 2, 6, 5), attn_mask=keep)

# ---- the PyTorch tutorial's PositionalEncoding table ------------------------------------------


def tutorial_pe(d_model, max_len):
    """pytorch/tutorials transformer_tutorial.py (and examples/word_language_model) verbatim."""
    position = torch.arange(max_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, 1, d_model)
    pe[:, 0, 0::2] = torch.sin(position * div_term)
    pe[:, 0, 1::2] = torch.cos(position * div_term)
    return pe


rows = torch.tensor([0, 1, 2, 63, 100, 999, 1000, 2500, 4097, 4999])
for d in (16, 512):
    pe = tutorial_pe(d, 5000)
    CASES[f'positional_table_d{d}'] = {
        'config': {'d_model': d, 'max_len': 5000},
        'inputs': {'rows': enc(rows)},
        'outputs': [enc(pe[rows, 0])],
        'grads': {},
    }

doc = {'generator': 'tools/torch-cases/funcdata.py', 'torch': torch.__version__, 'cases': CASES}
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(jsonable(doc), separators=(',', ':')) + '\n')
print(f'wrote {len(CASES)} cases to {OUT}')
