"""Generates apps/seq2seq-attention/fixtures/torch-steps.json: the official PyTorch tutorial
"NLP From Scratch: Translation with a Sequence to Sequence Network and Attention"
(EncoderRNN with a GRU, BahdanauAttention, AttnDecoderRNN, teacher forcing, NLLLoss over the
padded MAX_LENGTH targets, one Adam per network), its model code copied as the tutorial has
it, run for a few training steps on fixed batches; apps/seq2seq-attention/test/port.test.mjs
loads the same initial weights into the GhostFlow port and checks the losses, the first
step's gradients and the greedy decode of the trained model.

Dropout is 0 here (the tutorial's 0.1 draws from PyTorch's random stream, which GhostFlow does
not reproduce). The initial weights are rounded to 6 decimals before training, so the JSON
holds exactly what PyTorch trained from.

Run: /usr/bin/python3 tools/torch-cases/seq2seq_attention.py   (torch 1.13; deterministic)
"""
import json
import pathlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

from common import enc

OUT = pathlib.Path(__file__).resolve().parents[2] / 'apps/seq2seq-attention/fixtures/torch-steps.json'
SOS_token, EOS_token = 0, 1
MAX_LENGTH = 6
IN_VOCAB, OUT_VOCAB, HIDDEN, BATCH, STEPS, LR = 9, 8, 10, 4, 4, 0.01
device = 'cpu'


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super(AttnDecoderRNN, self).__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(decoder_input, decoder_hidden, encoder_outputs)
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                # Teacher forcing: Feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


def rounded_(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.round(p * 1e6) / 1e6)


def batch(g, vocab):
    """Padded [BATCH, MAX_LENGTH] ids as the tutorial's get_dataloader makes them: words, EOS, zeros."""
    ids = torch.zeros(BATCH, MAX_LENGTH, dtype=torch.long)
    for b in range(BATCH):
        n = int(torch.randint(1, MAX_LENGTH - 1, (1,), generator=g))
        ids[b, :n] = torch.randint(2, vocab, (n,), generator=g)
        ids[b, n] = EOS_token
    return ids


torch.manual_seed(0)
encoder = EncoderRNN(IN_VOCAB, HIDDEN, dropout_p=0.0)
decoder = AttnDecoderRNN(HIDDEN, OUT_VOCAB, dropout_p=0.0)
rounded_(encoder)
rounded_(decoder)
init_enc = {k: enc(v) for k, v in encoder.state_dict().items()}
init_dec = {k: enc(v) for k, v in decoder.state_dict().items()}
g = torch.Generator().manual_seed(1)
batches = [(batch(g, IN_VOCAB), batch(g, OUT_VOCAB)) for _ in range(STEPS)]

# train_epoch, one batch per step
encoder_optimizer = optim.Adam(encoder.parameters(), lr=LR)
decoder_optimizer = optim.Adam(decoder.parameters(), lr=LR)
criterion = nn.NLLLoss()
losses, grads = [], None
for step, (input_tensor, target_tensor) in enumerate(batches):
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    encoder_outputs, encoder_hidden = encoder(input_tensor)
    decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
    loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
    loss.backward()
    if step == 0:
        grads = {**{f'encoder.{k}': enc(p.grad) for k, p in encoder.named_parameters()},
                 **{f'decoder.{k}': enc(p.grad) for k, p in decoder.named_parameters()}}
    encoder_optimizer.step()
    decoder_optimizer.step()
    losses.append(loss.item())

# greedy evaluate on the first batch's inputs, after training
with torch.no_grad():
    encoder_outputs, encoder_hidden = encoder(batches[0][0])
    decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden)
    _, decoded_ids = decoder_outputs.topk(1)

case = {
    'config': {'inVocab': IN_VOCAB, 'outVocab': OUT_VOCAB, 'hidden': HIDDEN, 'maxLength': MAX_LENGTH, 'lr': LR},
    'init': {'encoder': init_enc, 'decoder': init_dec},
    'batches': [{'input': enc(i), 'target': enc(t)} for i, t in batches],
    'losses': losses,
    'grads_step0': grads,
    'decoded_after': enc(decoded_ids.squeeze(-1)),
    'attentions_after': enc(attentions),
}
OUT.write_text(json.dumps(case) + '\n')
print(f'wrote {OUT} ({len(losses)} steps, losses {[round(l, 5) for l in losses]})')
