"""Generates packages/backend-conformance/fixtures/torch/*.json: the repository's own PyTorch
golden cases, the semantic reference for @ghostflow/nn and for every backend (the kit's
`torch-fixtures` suite runs each one; the package ships them, so the kit works from npm alone).

Format (packages/backend-conformance/fixtures/README.md has the full table): each case holds
`name`, `module` (torch.nn class, `functional` or `optim`), `config` (constructor / function
arguments, PyTorch spelling), `state_dict` (PyTorch's own names), `inputs`, `outputs`,
`grad_weights` (a tensor G per float output) and `grads`: the gradients of
`sum_k sum(output_k * G_k)` for every float input (by input name) and every parameter (by
state_dict name), plus `tol`. Tensors are `{shape, dtype, data}` with data flattened row-major,
float32 values written with 9 significant digits (exact float32 round trip), int64 and bool
(`true` = masked out, as PyTorch's boolean masks) as they are. `optim_*` cases instead record
an LSTM(3, 4, batch_first=True) + Linear(4, 1) regressor's MSE loss before each of 5 steps of
`clip_grad_norm_(0.5)` + `step()`, and the final state_dict.

Deterministic: every case seeds torch with crc32(name), so cases are independent of each other
and of their order, and every parameter is redrawn uniformly in [-0.5, 0.5) (PyTorch's default
init leaves attention biases at zero, which would hide bias bugs).

Run: /usr/bin/python3 tools/torch-cases/fixtures.py   (Debian's python3-torch, torch 1.13, CPU)
"""
import json
import math
import pathlib
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT_DIR = pathlib.Path(__file__).resolve().parents[2] / 'packages/backend-conformance/fixtures/torch'
TOL = {'atol': 1e-4, 'rtol': 1e-4}
DT = {torch.float32: 'float32', torch.int64: 'int64', torch.bool: 'bool'}


def fnum(v):
    """A float32 value as the shortest decimal of 9 significant digits (exact round trip)."""
    if math.isnan(v) or math.isinf(v):
        raise ValueError('fixtures hold finite values only')
    return float(f'{v:.9g}')


def enc(t):
    """A tensor as the fixtures store it."""
    t = t.detach().contiguous()
    data = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        data = [fnum(v) for v in data]
    elif t.dtype == torch.bool:
        data = [bool(v) for v in data]
    return {'shape': list(t.shape), 'dtype': DT[t.dtype], 'data': data}


def randn(*shape):
    return torch.randn(tuple(shape))


def causal(n):
    """Bool mask, True above the diagonal (masked out)."""
    return torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)


def padding(lengths, t):
    """Bool key-padding mask [B, t], True past each length."""
    return torch.arange(t)[None, :] >= torch.tensor(lengths)[:, None]


def redraw(module):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.5, 0.5)


CASES = {}


def case(name):
    def register(fn):
        CASES[name] = fn
        return fn

    return register


def record(name, module_name, config, module, inputs, forward, tol=TOL, note=None):
    """Runs `forward(module, leaves)` → {output name: tensor}, then the weighted backward."""
    leaves = {}
    for k, v in inputs.items():
        leaves[k] = v.clone().requires_grad_(True) if v.dtype == torch.float32 else v
    outs = forward(module, leaves)
    weights = {k: randn(*o.shape) for k, o in outs.items() if o.dtype == torch.float32}
    loss = sum((outs[k] * w).sum() for k, w in weights.items())
    params = dict(module.named_parameters()) if module is not None else {}
    targets = {**{k: v for k, v in leaves.items() if v.requires_grad}, **params}
    gs = torch.autograd.grad(loss, list(targets.values()), allow_unused=True)
    grads = {k: enc(g if g is not None else torch.zeros_like(targets[k])) for k, g in zip(targets, gs)}
    doc = {
        'name': name,
        'module': module_name,
        'config': config,
        'state_dict': {k: enc(v) for k, v in module.state_dict().items()} if module is not None else {},
        'inputs': {k: enc(v) for k, v in inputs.items()},
        'outputs': {k: enc(v) for k, v in outs.items()},
        'grad_weights': {k: enc(w) for k, w in weights.items()},
        'grads': grads,
        'tol': tol,
        'generator': f'tools/torch-cases/fixtures.py (torch {torch.__version__})',
    }
    if note:
        doc['note'] = note
    return doc


# ---- activations: torch.nn.functional on a [3, 7] input -------------------------------------

ACTIVATIONS = {
    'act_relu': ({'fn': 'relu'}, F.relu),
    'act_leaky_relu': ({'fn': 'leaky_relu', 'negative_slope': 0.1}, lambda x: F.leaky_relu(x, 0.1)),
    'act_gelu': ({'fn': 'gelu'}, F.gelu),
    'act_gelu_tanh': ({'fn': 'gelu_tanh'}, lambda x: F.gelu(x, approximate='tanh')),
    'act_silu': ({'fn': 'silu'}, F.silu),
    'act_mish': ({'fn': 'mish'}, F.mish),
    'act_elu': ({'fn': 'elu'}, F.elu),
    'act_selu': ({'fn': 'selu'}, F.selu),
    'act_tanh': ({'fn': 'tanh'}, torch.tanh),
    'act_sigmoid': ({'fn': 'sigmoid'}, torch.sigmoid),
    'act_softplus': ({'fn': 'softplus'}, F.softplus),
    'act_softmax': ({'fn': 'softmax', 'dim': -1}, lambda x: F.softmax(x, dim=-1)),
    'act_log_softmax': ({'fn': 'log_softmax', 'dim': -1}, lambda x: F.log_softmax(x, dim=-1)),
}


def make_activation(name, config, fn):
    # Scaled so softplus/gelu/elu see both tails, and no input sits at relu's kink.
    x = randn(3, 7) * 2
    return record(name, 'functional', config, None, {'input': x}, lambda _m, i: {'output': fn(i['input'])})


for _name, (_config, _fn) in ACTIVATIONS.items():
    CASES[_name] = (lambda n, c, f: lambda: make_activation(n, c, f))(_name, _config, _fn)


# ---- losses ----------------------------------------------------------------------------------


def functional_case(name, config, inputs, fn):
    return record(name, 'functional', config, None, inputs, lambda _m, i: {'loss': fn(i)})


@case('loss_mse')
def _():
    return functional_case('loss_mse', {'fn': 'mse_loss'}, {'input': randn(3, 4), 'target': randn(3, 4)},
                           lambda i: F.mse_loss(i['input'], i['target']))


@case('loss_l1')
def _():
    return functional_case('loss_l1', {'fn': 'l1_loss'}, {'input': randn(3, 4), 'target': randn(3, 4)},
                           lambda i: F.l1_loss(i['input'], i['target']))


@case('loss_huber')
def _():
    return functional_case('loss_huber', {'fn': 'huber_loss', 'delta': 0.5},
                           {'input': randn(3, 4), 'target': randn(3, 4)},
                           lambda i: F.huber_loss(i['input'], i['target'], delta=0.5))


@case('loss_smooth_l1')
def _():
    return functional_case('loss_smooth_l1', {'fn': 'smooth_l1_loss', 'beta': 0.7},
                           {'input': randn(3, 4), 'target': randn(3, 4)},
                           lambda i: F.smooth_l1_loss(i['input'], i['target'], beta=0.7))


@case('loss_bce_logits')
def _():
    return functional_case('loss_bce_logits', {'fn': 'binary_cross_entropy_with_logits'},
                           {'input': randn(3, 4) * 2, 'target': torch.rand(3, 4)},
                           lambda i: F.binary_cross_entropy_with_logits(i['input'], i['target']))


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (torchvision 0.14), reduction='mean'."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


@case('loss_sigmoid_focal')
def _():
    return functional_case('loss_sigmoid_focal',
                           {'fn': 'sigmoid_focal_loss', 'alpha': 0.25, 'gamma': 2.0, 'reduction': 'mean',
                            'note': 'as torchvision.ops.sigmoid_focal_loss'},
                           {'input': randn(3, 4) * 2, 'target': (torch.rand(3, 4) > 0.5).float()},
                           lambda i: sigmoid_focal_loss(i['input'], i['target']))


@case('loss_cross_entropy')
def _():
    return functional_case('loss_cross_entropy', {'fn': 'cross_entropy'},
                           {'input': randn(5, 4), 'target': torch.tensor([0, 3, 1, 2, 3])},
                           lambda i: F.cross_entropy(i['input'], i['target']))


@case('loss_cross_entropy_seq')
def _():
    return functional_case('loss_cross_entropy_seq', {'fn': 'cross_entropy', 'note': 'input [N, C, T] as torch'},
                           {'input': randn(2, 4, 3), 'target': torch.tensor([[0, 3, 1], [2, 2, 0]])},
                           lambda i: F.cross_entropy(i['input'], i['target']))


@case('loss_cross_entropy_smooth_ignore')
def _():
    return functional_case('loss_cross_entropy_smooth_ignore',
                           {'fn': 'cross_entropy', 'label_smoothing': 0.1, 'ignore_index': 1},
                           {'input': randn(5, 4), 'target': torch.tensor([0, 3, 1, 2, 1])},
                           lambda i: F.cross_entropy(i['input'], i['target'], label_smoothing=0.1, ignore_index=1))


@case('loss_nll')
def _():
    return functional_case('loss_nll', {'fn': 'nll_loss'},
                           {'input': F.log_softmax(randn(5, 4), dim=-1), 'target': torch.tensor([1, 0, 3, 3, 2])},
                           lambda i: F.nll_loss(i['input'], i['target']))


@case('loss_triplet_margin')
def _():
    return functional_case('loss_triplet_margin', {'fn': 'triplet_margin_loss', 'margin': 1.0, 'p': 2},
                           {'anchor': randn(4, 6), 'positive': randn(4, 6), 'negative': randn(4, 6)},
                           lambda i: F.triplet_margin_loss(i['anchor'], i['positive'], i['negative'], margin=1.0, p=2))


@case('loss_cosine_embedding')
def _():
    return functional_case('loss_cosine_embedding', {'fn': 'cosine_embedding_loss', 'margin': 0.2},
                           {'input1': randn(4, 6), 'input2': randn(4, 6), 'target': torch.tensor([1, -1, 1, -1])},
                           lambda i: F.cosine_embedding_loss(i['input1'], i['input2'], i['target'], margin=0.2))


# ---- layers ----------------------------------------------------------------------------------


def layer_case(name, cls, config, inputs, forward=None, redraw_params=True, **kw):
    module = getattr(nn, cls)(**config)
    if redraw_params:
        redraw(module)
    fwd = forward or (lambda m, i: {'output': m(i['input'])})
    return record(name, cls, config, module, inputs, fwd, **kw)


@case('linear')
def _():
    return layer_case('linear', 'Linear', {'in_features': 5, 'out_features': 3}, {'input': randn(2, 4, 5)})


@case('layernorm')
def _():
    return layer_case('layernorm', 'LayerNorm', {'normalized_shape': [6]}, {'input': randn(3, 4, 6)})


@case('embedding')
def _():
    # Default N(0, 1) init keeps the padding row at zero, as PyTorch leaves it.
    return layer_case('embedding', 'Embedding', {'num_embeddings': 10, 'embedding_dim': 4, 'padding_idx': 0},
                      {'input': torch.tensor([[1, 0, 3], [9, 2, 0]])}, redraw_params=False)


@case('conv1d')
def _():
    return layer_case('conv1d', 'Conv1d',
                      {'in_channels': 3, 'out_channels': 4, 'kernel_size': 3, 'stride': 2, 'padding': 1, 'dilation': 1},
                      {'input': randn(2, 3, 9)})


@case('conv1d_dilated_groups')
def _():
    return layer_case('conv1d_dilated_groups', 'Conv1d',
                      {'in_channels': 4, 'out_channels': 6, 'kernel_size': 3, 'padding': 2, 'dilation': 2, 'groups': 2},
                      {'input': randn(2, 4, 8)})


@case('conv2d')
def _():
    return layer_case('conv2d', 'Conv2d', {'in_channels': 2, 'out_channels': 3, 'kernel_size': 3, 'stride': 1, 'padding': 1},
                      {'input': randn(2, 2, 5, 5)})


@case('conv3d')
def _():
    return layer_case('conv3d', 'Conv3d', {'in_channels': 2, 'out_channels': 3, 'kernel_size': 2, 'stride': 1, 'padding': 1},
                      {'input': randn(1, 2, 3, 4, 4)})


@case('conv_transpose2d')
def _():
    return layer_case('conv_transpose2d', 'ConvTranspose2d',
                      {'in_channels': 3, 'out_channels': 2, 'kernel_size': 3, 'stride': 2, 'padding': 1, 'output_padding': 1},
                      {'input': randn(2, 3, 4, 4)})


# ---- recurrent -------------------------------------------------------------------------------


def rnn_forward(cls):
    def forward(m, i):
        hx = None
        if 'h0' in i:
            hx = (i['h0'], i['c0']) if cls == 'LSTM' else i['h0']
        out, state = m(i['input'], hx)
        if cls == 'LSTM':
            return {'output': out, 'h_n': state[0], 'c_n': state[1]}
        return {'output': out, 'h_n': state}

    return forward


def rnn_case(name, cls, config, seq, batch, with_h0):
    m_cfg = {k: v for k, v in config.items()}
    dirs = 2 if config.get('bidirectional') else 1
    layers = config.get('num_layers', 1)
    h_out = config.get('proj_size') or config['hidden_size']
    shape = (batch, seq, config['input_size']) if config.get('batch_first') else (seq, batch, config['input_size'])
    inputs = {'input': randn(*shape)}
    if with_h0:
        inputs['h0'] = randn(layers * dirs, batch, h_out)
        if cls == 'LSTM':
            inputs['c0'] = randn(layers * dirs, batch, config['hidden_size'])
    return layer_case(name, cls, m_cfg, inputs, rnn_forward(cls))


RECURRENT = [
    # (suffix, config without the class, seq, batch, with h0)
    ('basic', {'input_size': 4, 'hidden_size': 6, 'num_layers': 1}, 5, 3, False),
    ('2layer_bi', {'input_size': 5, 'hidden_size': 3, 'num_layers': 2, 'bidirectional': True}, 5, 3, True),
    ('batch_first_nobias', {'input_size': 3, 'hidden_size': 4, 'num_layers': 2, 'batch_first': True, 'bias': False}, 5, 3, True),
    ('seq1', {'input_size': 7, 'hidden_size': 5, 'num_layers': 1, 'bidirectional': True, 'batch_first': True}, 1, 3, False),
]

for _cls in ('LSTM', 'GRU', 'RNN'):
    for _suffix, _cfg, _seq, _batch, _h0 in RECURRENT:
        _n = f'{_cls.lower()}_{_suffix}'
        CASES[_n] = (lambda n, c, cfg, s, b, h: lambda: rnn_case(n, c, cfg, s, b, h))(_n, _cls, _cfg, _seq, _batch, _h0)


@case('rnn_relu')
def _():
    return rnn_case('rnn_relu', 'RNN', {'input_size': 4, 'hidden_size': 5, 'num_layers': 2, 'nonlinearity': 'relu'}, 5, 3, True)


@case('lstm_proj')
def _():
    return rnn_case('lstm_proj', 'LSTM',
                    {'input_size': 4, 'hidden_size': 6, 'num_layers': 2, 'proj_size': 3, 'bidirectional': True}, 5, 3, True)


def packed_case(name, cls):
    config = {'input_size': 3, 'hidden_size': 4, 'num_layers': 2, 'bidirectional': True, 'batch_first': True}
    lengths = torch.tensor([5, 3, 1, 4])  # unsorted on purpose: enforce_sorted=False

    def forward(m, i):
        packed = pack_padded_sequence(i['input'], i['lengths'], batch_first=True, enforce_sorted=False)
        out, state = m(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=i['input'].shape[1])
        if cls == 'LSTM':
            return {'output': out, 'h_n': state[0], 'c_n': state[1]}
        return {'output': out, 'h_n': state}

    return layer_case(name, cls, config, {'input': randn(4, 5, 3), 'lengths': lengths}, forward,
                      note='input is padded batch_first; lengths per sequence; output zero past each length')


@case('lstm_packed')
def _():
    return packed_case('lstm_packed', 'LSTM')


@case('gru_packed')
def _():
    return packed_case('gru_packed', 'GRU')


@case('lstmcell')
def _():
    def forward(m, i):
        h, c = m(i['input'], (i['h0'], i['c0']))
        return {'h': h, 'c': c}

    return layer_case('lstmcell', 'LSTMCell', {'input_size': 4, 'hidden_size': 5},
                      {'input': randn(3, 4), 'h0': randn(3, 5), 'c0': randn(3, 5)}, forward)


@case('grucell')
def _():
    return layer_case('grucell', 'GRUCell', {'input_size': 4, 'hidden_size': 5},
                      {'input': randn(3, 4), 'h0': randn(3, 5)}, lambda m, i: {'h': m(i['input'], i['h0'])})


@case('rnncell')
def _():
    return layer_case('rnncell', 'RNNCell', {'input_size': 4, 'hidden_size': 5, 'nonlinearity': 'tanh'},
                      {'input': randn(3, 4), 'h0': randn(3, 5)}, lambda m, i: {'h': m(i['input'], i['h0'])})


# ---- attention and transformer ---------------------------------------------------------------

MHA_NOTE = 'bool masks: True means masked out (not allowed to attend)'


def mha_forward(m, i):
    out, weights = m(i['query'], i['key'], i['value'], key_padding_mask=i.get('key_padding_mask'),
                     need_weights=True, attn_mask=i.get('attn_mask'))
    return {'attn_output': out, 'attn_weights': weights}


@case('mha_basic')
def _():
    return layer_case('mha_basic', 'MultiheadAttention', {'embed_dim': 8, 'num_heads': 2, 'batch_first': True},
                      {'query': randn(3, 4, 8), 'key': randn(3, 6, 8), 'value': randn(3, 6, 8)}, mha_forward, note=MHA_NOTE)


@case('mha_nobias')
def _():
    return layer_case('mha_nobias', 'MultiheadAttention', {'embed_dim': 8, 'num_heads': 4, 'bias': False, 'batch_first': True},
                      {'query': randn(3, 4, 8), 'key': randn(3, 6, 8), 'value': randn(3, 6, 8)}, mha_forward, note=MHA_NOTE)


@case('mha_kdim_vdim')
def _():
    return layer_case('mha_kdim_vdim', 'MultiheadAttention',
                      {'embed_dim': 8, 'num_heads': 2, 'kdim': 5, 'vdim': 3, 'batch_first': False},
                      {'query': randn(4, 3, 8), 'key': randn(6, 3, 5), 'value': randn(6, 3, 3)}, mha_forward, note=MHA_NOTE)


@case('mha_masks')
def _():
    # Every query keeps at least one key: the causal mask leaves the diagonal, and no padding
    # covers position 0.
    return layer_case('mha_masks', 'MultiheadAttention', {'embed_dim': 8, 'num_heads': 2, 'batch_first': True},
                      {'query': randn(3, 6, 8), 'key': randn(3, 6, 8), 'value': randn(3, 6, 8),
                       'attn_mask': causal(6), 'key_padding_mask': padding([4, 6, 5], 6)}, mha_forward, note=MHA_NOTE)


def encoder_case(name, config):
    def forward(m, i):
        return {'output': m(i['src'], src_mask=i['src_mask'], src_key_padding_mask=i['src_key_padding_mask'])}

    return layer_case(name, 'TransformerEncoderLayer', config,
                      {'src': randn(3, 5, 8), 'src_mask': causal(5), 'src_key_padding_mask': padding([5, 3, 4], 5)}, forward)


@case('encoder_layer_post_relu')
def _():
    return encoder_case('encoder_layer_post_relu', {'d_model': 8, 'nhead': 2, 'dim_feedforward': 16, 'dropout': 0.0, 'batch_first': True})


@case('encoder_layer_pre_gelu')
def _():
    return encoder_case('encoder_layer_pre_gelu', {'d_model': 8, 'nhead': 4, 'dim_feedforward': 12, 'dropout': 0.0,
                                                   'activation': 'gelu', 'norm_first': True, 'batch_first': True})


def decoder_case(name, config):
    def forward(m, i):
        return {'output': m(i['tgt'], i['memory'], tgt_mask=i['tgt_mask'])}

    return layer_case(name, 'TransformerDecoderLayer', config,
                      {'tgt': randn(3, 4, 8), 'memory': randn(3, 6, 8), 'tgt_mask': causal(4)}, forward)


@case('decoder_layer_post')
def _():
    return decoder_case('decoder_layer_post', {'d_model': 8, 'nhead': 2, 'dim_feedforward': 16, 'dropout': 0.0, 'batch_first': True})


@case('decoder_layer_pre')
def _():
    return decoder_case('decoder_layer_pre', {'d_model': 8, 'nhead': 2, 'dim_feedforward': 16, 'dropout': 0.0,
                                              'norm_first': True, 'activation': 'gelu', 'batch_first': True})


@case('transformer_full')
def _():
    config = {'d_model': 8, 'nhead': 2, 'num_encoder_layers': 2, 'num_decoder_layers': 2, 'dim_feedforward': 16,
              'dropout': 0.0, 'batch_first': True}

    def forward(m, i):
        return {'output': m(i['src'], i['tgt'], tgt_mask=i['tgt_mask'])}

    # Four stacked layers accumulate float32 rounding: a looser tolerance than single layers.
    return layer_case('transformer_full', 'Transformer', config,
                      {'src': randn(2, 6, 8), 'tgt': randn(2, 4, 8), 'tgt_mask': causal(4)}, forward,
                      tol={'atol': 2e-4, 'rtol': 2e-4})


# ---- optimizers: five steps on a tiny LSTM regressor -----------------------------------------

OPTIM_MODEL = 'LSTM(3, 4, batch_first=True) then Linear(4, 1) on the last step; loss mse; clip_grad_norm_(max_norm=0.5) before each step; 5 steps'


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def optim_case(name, optimizer, config):
    model = Regressor()
    redraw(model)
    x, y = randn(2, 5, 3), randn(2, 1)
    start = {k: enc(v) for k, v in model.state_dict().items()}
    opt = getattr(torch.optim, optimizer)(model.parameters(), **config)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        losses.append(float(loss.item()))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        opt.step()
    return {
        'name': name,
        'module': 'optim',
        'optimizer': optimizer,
        'config': config,
        'model': OPTIM_MODEL,
        'state_dict': start,
        'inputs': {'x': enc(x), 'y': enc(y)},
        'losses': losses,
        'final_state_dict': {k: enc(v) for k, v in model.state_dict().items()},
        'tol': TOL,
        'generator': f'tools/torch-cases/fixtures.py (torch {torch.__version__})',
    }


OPTIMS = {
    'optim_sgd_plain': ('SGD', {'lr': 0.05}),
    'optim_sgd_momentum_nesterov': ('SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 0.01}),
    'optim_adam': ('Adam', {'lr': 0.01, 'betas': [0.9, 0.999], 'eps': 1e-08, 'weight_decay': 0.0}),
    'optim_adam_amsgrad_wd': ('Adam', {'lr': 0.01, 'weight_decay': 0.1, 'amsgrad': True}),
    'optim_adamw': ('AdamW', {'lr': 0.01, 'weight_decay': 0.05}),
}

for _name, (_opt, _cfg) in OPTIMS.items():
    CASES[_name] = (lambda n, o, c: lambda: optim_case(n, o, c))(_name, _opt, _cfg)


def main():
    torch.set_num_threads(1)  # single-threaded reductions: the same bits on every machine
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in OUT_DIR.glob('*.json'):
        stale.unlink()
    total = 0
    for name in sorted(CASES):
        torch.manual_seed(zlib.crc32(name.encode()))
        doc = CASES[name]()
        assert doc['name'] == name, (doc['name'], name)
        text = json.dumps(doc, separators=(',', ':')) + '\n'
        (OUT_DIR / f'{name}.json').write_text(text)
        total += len(text)
    print(f'wrote {len(CASES)} fixtures ({total / 1024:.0f} KiB) to {OUT_DIR}')


if __name__ == '__main__':
    main()
