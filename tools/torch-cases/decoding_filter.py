"""Generates packages/nn/test/cases/decoding_filter.json: top-k / top-p (nucleus) filtering of
next-token logits as Hugging Face transformers defines it (`top_k_top_p_filtering`, the order
`generate(do_sample=True)` applies its warpers: temperature, then top-k, then top-p), written
out here in torch 1.13 so packages/nn/test/decoding.test.ts can check `filterLogits` and the
probabilities `sampleLogits` draws from.

Top-p keeps the smallest set of most probable tokens whose cumulative probability reaches p
(the token that crosses p is kept, and the most probable token always is). Thresholds are
chosen away from exact cumulative-sum boundaries, where float rounding decides.

Run: /usr/bin/python3 tools/torch-cases/decoding_filter.py   (torch 1.13; deterministic)
"""
import json
import pathlib

import torch

from common import enc, jsonable

OUT = pathlib.Path(__file__).resolve().parents[2] / 'packages/nn/test/cases/decoding_filter.json'


def hf_filter(logits, top_k=0, top_p=1.0, filter_value=-float('inf')):
    """transformers' top_k_top_p_filtering (min_tokens_to_keep=1), on [..., V] logits."""
    logits = logits.clone()
    if top_k > 0:
        top_k = min(max(top_k, 1), logits.size(-1))
        indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
        logits[indices_to_remove] = filter_value
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True, stable=True)
        cumulative_probs = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1)
        sorted_indices_to_remove = cumulative_probs > top_p
        sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
        sorted_indices_to_remove[..., 0] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(-1, sorted_indices, sorted_indices_to_remove)
        logits[indices_to_remove] = filter_value
    return logits


torch.manual_seed(0)
random_rows = torch.round(torch.randn(4, 12) * 2e4) / 1e4  # 4 decimals: the JSON holds the exact inputs
cases = []


def add(name, logits, temperature=1.0, top_k=0, top_p=1.0):
    scaled = logits / temperature
    if top_p < 1.0:
        # Keep every cumulative probability clear of p, so float rounding cannot decide a token.
        probs = torch.softmax(hf_filter(scaled, top_k), dim=-1).sort(dim=-1, descending=True)[0].cumsum(dim=-1)
        assert (probs - top_p).abs().min() > 1e-4, name
    filtered = hf_filter(scaled, top_k, top_p)
    cases.append({
        'name': name,
        'logits': enc(logits),
        'temperature': temperature,
        'topK': top_k,
        'topP': top_p,
        'filtered': enc(filtered),
        'probs': enc(torch.softmax(filtered, dim=-1)),
    })


add('top-k 3', random_rows, top_k=3)
add('top-p 0.75', random_rows, top_p=0.75)
add('top-k 6 then top-p 0.6', random_rows, top_k=6, top_p=0.6)
add('temperature 0.7, top-k 5, top-p 0.85', random_rows, temperature=0.7, top_k=5, top_p=0.85)
add('temperature 2, top-p 0.5', random_rows, temperature=2.0, top_p=0.5)
add('top-k ties with the k-th value are kept', torch.tensor([[1.0, 2.0, 2.0, 2.0, 0.0, 3.0]]), top_k=2)
add('top-p ties keep the earlier index first', torch.tensor([[1.0, 1.0, 1.0, 1.0, -2.0]]), top_p=0.3)
add('top-p below the largest probability keeps only it', random_rows, top_p=0.01)
add('top-k >= vocabulary keeps everything', random_rows, top_k=50)
add('1-D logits', torch.tensor([0.5, -1.0, 2.5, 0.0, 1.5, -3.0]), top_k=4, top_p=0.7)

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({'cases': jsonable(cases)}) + '\n')
print(f'wrote {OUT} ({len(cases)} cases)')
