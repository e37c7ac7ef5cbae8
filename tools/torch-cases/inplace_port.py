"""Generates packages/nn/test/cases/inplace_port.json: a small PyTorch training program written
the way PyTorch users write it (nn.init.*_ in place, a tied output layer through a transposed
view of the embedding taken once before training, in-place ops on activations and on a view of
them, gradient clipping in place, SGD with momentum), so packages/nn/test/inplace-port.test.ts
can run its line-by-line GhostFlow port and compare the losses and final weights.

The initial weights are recorded after initialisation (GhostFlow's random streams are its own),
and the port loads them with load_state_dict, which writes in place: the view taken before the
load must see the loaded values, as in PyTorch.

Run: /usr/bin/python3 tools/torch-cases/inplace_port.py   (torch 1.13; deterministic)
"""
import json
import pathlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import enc

OUT = pathlib.Path(__file__).resolve().parents[2] / 'packages/nn/test/cases/inplace_port.json'
V, H, B, STEPS = 7, 5, 6, 6


class TiedModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, H)
        self.proj = nn.Linear(H, H)
        nn.init.uniform_(self.emb.weight, -0.5, 0.5)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        # Tied output layer: a view of the embedding, taken once.
        self.out_weight = self.emb.weight.t()

    def forward(self, x):
        h = self.proj(self.emb(x))
        h.mul_(2)
        h[:, 0].zero_()
        h.add_(self.proj.bias)
        return torch.tanh(h) @ self.out_weight


torch.manual_seed(0)
model = TiedModel()
init = {k: v.detach().clone() for k, v in model.state_dict().items()}
opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
g = torch.Generator().manual_seed(1)
xs = [torch.randint(0, V, (B,), generator=g) for _ in range(STEPS)]
ys = [torch.randint(0, V, (B,), generator=g) for _ in range(STEPS)]
losses = []
for x, y in zip(xs, ys):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.grad.clamp_(-0.5, 0.5)
    opt.step()
    losses.append(loss.item())

case = {
    'init': {k: enc(v) for k, v in init.items()},
    'xs': [enc(x) for x in xs],
    'ys': [enc(y) for y in ys],
    'losses': losses,
    'final': {k: enc(v) for k, v in model.state_dict().items()},
    'final_out_weight': enc(model.out_weight),
}
OUT.write_text(json.dumps(case) + '\n')
print(f'wrote {OUT} ({len(losses)} steps, losses {losses[0]:.4f} -> {losses[-1]:.4f})')
