/**
 * The models of the PyTorch tutorial "NLP From Scratch: Translation with a Sequence to Sequence
 * Network and Attention", ported line by line: EncoderRNN (Embedding → Dropout → GRU),
 * BahdanauAttention (additive: Va(tanh(Wa q + Ua k))), AttnDecoderRNN (GRU over [embedding,
 * context], teacher forcing or its own greedy predictions). Child names are the tutorial's, so
 * its state dicts load key for key (`gru.weight_ih_l0`, `attention.Wa.weight`, ...).
 *
 * The PyTorch lines they replace are quoted where the GhostFlow form differs.
 */
import { cat, full, tidy } from '@ghostflow/core';
import { Dropout, Embedding, GRU, Linear, Module } from '@ghostflow/nn';

export const SOS_TOKEN = 0;
export const EOS_TOKEN = 1;

export class EncoderRNN extends Module {
  /**
   * @param {number} inputSize source vocabulary
   * @param {number} hiddenSize
   * @param {number} dropoutP
   */
  constructor(inputSize, hiddenSize, dropoutP = 0.1) {
    super();
    this.hiddenSize = hiddenSize;
    this.embedding = this.registerModule('embedding', new Embedding(inputSize, hiddenSize));
    this.gru = this.registerModule('gru', new GRU(hiddenSize, hiddenSize, { batchFirst: true }));
    this.dropout = this.registerModule('dropout', new Dropout(dropoutP));
  }

  /** input [B, S] int32 → [output [B, S, H], hidden [1, B, H]] */
  forward(input) {
    const embedded = this.dropout.forward(this.embedding.forward(input));
    return this.gru.forward(embedded); // output, hidden = self.gru(embedded)
  }
}

export class BahdanauAttention extends Module {
  /** @param {number} hiddenSize */
  constructor(hiddenSize) {
    super();
    this.Wa = this.registerModule('Wa', new Linear(hiddenSize, hiddenSize));
    this.Ua = this.registerModule('Ua', new Linear(hiddenSize, hiddenSize));
    this.Va = this.registerModule('Va', new Linear(hiddenSize, 1));
  }

  /** query [B, 1, H], keys [B, S, H] → [context [B, 1, H], weights [B, 1, S]] */
  forward(query, keys) {
    let scores = this.Va.forward(this.Wa.forward(query).add(this.Ua.forward(keys)).tanh());
    scores = scores.squeeze(2).unsqueeze(1);
    const weights = scores.softmax(-1);
    const context = weights.matmul(keys); // torch.bmm(weights, keys)
    return [context, weights];
  }
}

export class AttnDecoderRNN extends Module {
  /**
   * @param {number} hiddenSize
   * @param {number} outputSize target vocabulary
   * @param {number} maxLength decoding steps (the padded target length)
   * @param {number} dropoutP
   */
  constructor(hiddenSize, outputSize, maxLength, dropoutP = 0.1) {
    super();
    this.maxLength = maxLength;
    this.embedding = this.registerModule('embedding', new Embedding(outputSize, hiddenSize));
    this.attention = this.registerModule('attention', new BahdanauAttention(hiddenSize));
    this.gru = this.registerModule('gru', new GRU(2 * hiddenSize, hiddenSize, { batchFirst: true }));
    this.out = this.registerModule('out', new Linear(hiddenSize, outputSize));
    this.dropout = this.registerModule('dropout', new Dropout(dropoutP));
  }

  /**
   * Teacher forcing when `targetTensor` [B, maxLength] is given, else greedy.
   * @returns {[import('@ghostflow/core').Tensor, import('@ghostflow/core').Tensor, import('@ghostflow/core').Tensor]}
   *   log-probabilities [B, maxLength, V], the last hidden [1, B, H], attentions [B, maxLength, S]
   */
  forward(encoderOutputs, encoderHidden, targetTensor = null) {
    return tidy(() => {
      const batchSize = encoderOutputs.shape[0]; // encoder_outputs.size(0)
      // torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token): indices are int32
      let decoderInput = full([batchSize, 1], SOS_TOKEN, { dtype: 'int32' });
      let decoderHidden = encoderHidden;
      const decoderOutputs = [];
      const attentions = [];
      for (let i = 0; i < this.maxLength; i++) {
        const [decoderOutput, hidden, attnWeights] = this.forwardStep(decoderInput, decoderHidden, encoderOutputs);
        decoderHidden = hidden;
        decoderOutputs.push(decoderOutput);
        attentions.push(attnWeights);
        if (targetTensor !== null) {
          decoderInput = targetTensor.select(1, i).unsqueeze(1); // Teacher forcing
        } else {
          const { indices } = decoderOutput.topk(1); // _, topi = decoder_output.topk(1)
          decoderInput = indices.squeeze(-1).detach();
        }
      }
      const logProbs = cat(decoderOutputs, 1).logSoftmax(-1);
      return [logProbs, decoderHidden, cat(attentions, 1)];
    });
  }

  /** One step: input [B, 1], hidden [1, B, H] → [logits [B, 1, V], hidden, weights [B, 1, S]]. */
  forwardStep(input, hidden, encoderOutputs) {
    const embedded = this.dropout.forward(this.embedding.forward(input));
    const query = hidden.permute(1, 0, 2);
    const [context, attnWeights] = this.attention.forward(query, encoderOutputs);
    const inputGru = cat([embedded, context], 2);
    const [output, newHidden] = this.gru.forward(inputGru, hidden);
    return [this.out.forward(output), newHidden, attnWeights];
  }
}
