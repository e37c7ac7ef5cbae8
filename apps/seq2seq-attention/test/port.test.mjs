/**
 * The GhostFlow port against the PyTorch tutorial program (tools/torch-cases/seq2seq_attention.py
 * wrote fixtures/torch-steps.json with torch 1.13): the same initial weights, loaded by the
 * tutorial's state-dict names, the same batches, Adam on each network: the losses of every
 * step, the gradients of the first and the greedy decode and attention after training must
 * match. Runs on the built packages, as the app does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { memory, tensor } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { Adam } from '@ghostflow/nn';
import { AttnDecoderRNN, EncoderRNN } from '../model.mjs';
import { evaluate, trainBatch } from '../train.mjs';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-steps.json', import.meta.url), 'utf8'));
const { inVocab, outVocab, hidden, maxLength, lr } = fixture.config;
const fromCase = (t) => tensor(t.data, { shape: t.shape, dtype: t.dtype });

function assertClose(got, want, tol, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs PyTorch ${want[i]}`);
  }
}

function loadInto(module, dict) {
  const state = Object.fromEntries(Object.entries(dict).map(([k, v]) => [k, fromCase(v)]));
  module.loadStateDict(state); // strict: every tutorial name must exist here and vice versa
  for (const t of Object.values(state)) t.dispose();
}

test('losses, first-step gradients and the trained greedy decode match the PyTorch tutorial program', async () => {
  const encoder = new EncoderRNN(inVocab, hidden, 0);
  const decoder = new AttnDecoderRNN(hidden, outVocab, maxLength, 0);
  loadInto(encoder, fixture.init.encoder);
  loadInto(decoder, fixture.init.decoder);
  const encoderOptimizer = new Adam(encoder.parameters(), { lr });
  const decoderOptimizer = new Adam(decoder.parameters(), { lr });
  const batches = fixture.batches.map((b) => ({ input: fromCase(b.input), target: fromCase(b.target) }));
  const losses = [];
  let buffersAfterFirst = 0;
  for (const [step, { input, target }] of batches.entries()) {
    const loss = trainBatch(encoder, decoder, encoderOptimizer, decoderOptimizer, input, target);
    losses.push(await loss.item());
    loss.dispose();
    if (step === 0) {
      // Gradients stay on the parameters until the next zeroGrad.
      for (const [prefix, module] of [
        ['encoder', encoder],
        ['decoder', decoder],
      ]) {
        for (const [name, p] of module.namedParameters()) {
          assertClose(Array.from(await p.grad.data()), fixture.grads_step0[`${prefix}.${name}`].data, 1e-5, `grad ${prefix}.${name}`);
        }
      }
      buffersAfterFirst = memory().buffers;
    }
  }
  assertClose(losses, fixture.losses, 1e-5, 'loss');
  assert.equal(memory().buffers, buffersAfterFirst, 'training steps leak no tensors');

  const [decoded, attentions] = evaluate(encoder, decoder, batches[0].input);
  assert.deepEqual(Array.from(await decoded.data()), fixture.decoded_after.data);
  assertClose(Array.from(await attentions.data()), fixture.attentions_after.data, 1e-5, 'attention');
});
