"""Generates packages/nn/test/cases/modules_init.json: what PyTorch 1.13 says about module
registration, weight tying and nn.init, for packages/nn/test/modules-registration.test.ts and
init.test.ts:

- registration: a model written the PyTorch way (submodules and a Parameter assigned to
  attributes, time_sequence_prediction's two LSTMCells, a tied language model): its
  named_parameters() names (tied weight once), state_dict() keys (tied weight under both
  names), named_modules() names and the number of parameters() entries;
- init: calculate_gain for every nonlinearity, the fan-in/fan-out of weight shapes, and the
  exact std (or bound) that xavier_normal_, kaiming_normal_ and kaiming_uniform_ use, read
  back from PyTorch's own helpers;
- orthogonal_: for each shape, whether rows or columns come out orthonormal (max |G - I| of
  the smaller Gram matrix), so the test checks the same orientation.

Run: /usr/bin/python3 tools/torch-cases/modules_init.py   (torch 1.13; deterministic)
"""
import json
import math
import pathlib

import torch
import torch.nn as nn
from torch.nn import init

OUT = pathlib.Path(__file__).resolve().parents[2] / 'packages/nn/test/cases/modules_init.json'
torch.manual_seed(0)


class Sequence(nn.Module):
    """pytorch/examples time_sequence_prediction's model, as written there."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)


class TiedLM(nn.Module):
    """word_language_model's RNNModel with tie_weights: decoder.weight = encoder.weight."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.encoder = nn.Embedding(10, 6)
        self.rnn = nn.LSTM(6, 6, 2)
        self.decoder = nn.Linear(6, 10)
        self.decoder.weight = self.encoder.weight
        self.scale = nn.Parameter(torch.ones(3))


def describe(m):
    return {
        'namedParameters': [n for n, _ in m.named_parameters()],
        'stateDict': list(m.state_dict().keys()),
        'namedModules': [n for n, _ in m.named_modules()],
        'numParameters': len(list(m.parameters())),
    }


registration = {'Sequence': describe(Sequence()), 'TiedLM': describe(TiedLM())}

gains = []
for nl in ['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d', 'sigmoid', 'tanh', 'relu', 'selu']:
    gains.append({'nonlinearity': nl, 'param': None, 'gain': init.calculate_gain(nl)})
for p in [None, 0.0, 0.01, 0.2, math.sqrt(5), 1.0]:
    gains.append({'nonlinearity': 'leaky_relu', 'param': p, 'gain': init.calculate_gain('leaky_relu', p)})

shapes = [[64, 32], [16, 8, 3], [8, 4, 3, 3], [4, 2, 3, 3, 3], [300, 200]]
fans = []
for s in shapes:
    t = torch.empty(s)
    fi, fo = init._calculate_fan_in_and_fan_out(t)
    fans.append({
        'shape': s,
        'fanIn': fi,
        'fanOut': fo,
        'xavierNormalStd': 1.0 * math.sqrt(2.0 / float(fi + fo)),
        'xavierNormalStdTanh': init.calculate_gain('tanh') * math.sqrt(2.0 / float(fi + fo)),
        'kaimingNormalStd': init.calculate_gain('leaky_relu', 0) / math.sqrt(init._calculate_correct_fan(t, 'fan_in')),
        'kaimingNormalStdReluFanOut': init.calculate_gain('relu', 0) / math.sqrt(init._calculate_correct_fan(t, 'fan_out')),
        'kaimingUniformBoundSqrt5': init.calculate_gain('leaky_relu', math.sqrt(5)) * math.sqrt(3.0 / init._calculate_correct_fan(t, 'fan_in')),
    })

orth = []
for s in [[8, 8], [6, 10], [10, 6], [4, 3, 2], [3, 4, 2, 2]]:
    t = torch.empty(s)
    init.orthogonal_(t, gain=1.0)
    m = t.reshape(s[0], -1).double()
    rows_orth = (m @ m.T - torch.eye(m.shape[0], dtype=torch.float64)).abs().max().item()
    cols_orth = (m.T @ m - torch.eye(m.shape[1], dtype=torch.float64)).abs().max().item()
    orth.append({'shape': s, 'orthonormalRows': rows_orth < 1e-5, 'orthonormalCols': cols_orth < 1e-5})

# trunc_normal_'s moments for a standard normal cut at [a, b] (closed form), as a reference.
trunc = []
for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 2.0, 0.0, 5.0)]:
    alpha, beta = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    Phi = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2
    Z = Phi(beta) - Phi(alpha)
    mu = mean + std * (phi(alpha) - phi(beta)) / Z
    var = std * std * (1 + (alpha * phi(alpha) - beta * phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z) ** 2)
    t = torch.empty(200000)
    init.trunc_normal_(t, mean, std, a, b)
    trunc.append({'mean': mean, 'std': std, 'a': a, 'b': b, 'expectedMean': mu, 'expectedStd': math.sqrt(var),
                  'torchSampleMean': t.mean().item(), 'torchSampleStd': t.std().item()})

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps({'torch': torch.__version__, 'registration': registration, 'gains': gains, 'fans': fans,
                           'orthogonal': orth, 'truncNormal': trunc}, indent=1) + '\n')
print(f'wrote {OUT}')
