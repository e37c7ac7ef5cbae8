/**
 * The bench's word-language-model training step: pytorch/examples word_language_model, ported line
 * by line (RNNModel: Embedding, dropout, LSTM, dropout, Linear; main.py's train(): the hidden state
 * carried across batches and detached (repackage_hidden), gradients cleared, clip_grad_norm_,
 * `p.data.add_(p.grad, alpha=-lr)`). Like ghostflow-workloads.mjs it imports nothing: it is given a
 * loaded @ghostflow/core and @ghostflow/nn, so the bench (on this tree's packages or a baseline's),
 * profile.mjs and loss-ab.mjs (two nn builds side by side) run one definition of the step.
 *
 * @param {object} core the loaded @ghostflow/core
 * @param {object} nn the loaded @ghostflow/nn
 * @param {{ ntoken: number, emsize: number, nhid: number, layers: number, bptt: number, batch: number, dropout: number, clip: number, lr: number }} spec
 * @param {{ device?: string }} [on] tensor and module options (the backend to make them on)
 * @returns {{ step: () => object, params: object[], dispose: () => void }} `step()` runs one
 *   training step on the next bptt-long segment and returns the detached loss (the caller reads and
 *   disposes it); `params` are the model's parameters; `dispose()` frees the model, data and state.
 */
export function wordLmStep(core, nn, spec, on = {}) {
  const { tidy, noGrad, randint } = core;
  const { ntoken, emsize, nhid, layers, bptt, batch, dropout, clip, lr } = spec;
  const encoder = new nn.Embedding(ntoken, emsize, on);
  const rnn = new nn.LSTM(emsize, nhid, { numLayers: layers, dropout, ...on });
  const decoder = new nn.Linear(nhid, ntoken, on);
  const drop = new nn.Dropout(dropout);
  const modules = [encoder, rnn, decoder, drop];
  const params = modules.flatMap((m) => m.parameters());
  // A fixed stream of token ids cut into bptt-long segments, as batchify() + get_batch() give.
  const segments = 8;
  const data = randint(0, ntoken, [segments * bptt + 1, batch], { ...on, dtype: 'int32' });
  let hidden = null;
  let position = 0;
  const step = () => {
    const start = position;
    position = (position + bptt) % (segments * bptt);
    const [loss, ...carried] = tidy(() => {
      const input = data.narrow(0, start, bptt);
      const targets = data.narrow(0, start + 1, bptt).reshape(-1);
      for (const p of params) p.grad = null;
      const emb = drop.forward(encoder.forward(input));
      const [output, next] = rnn.forward(emb, hidden);
      const decoded = decoder.forward(drop.forward(output)).reshape(-1, ntoken);
      const l = nn.crossEntropy(decoded, targets);
      l.backward();
      nn.clipGradNorm(params, clip);
      noGrad(() => {
        for (const p of params) p.sub_(p.grad, { alpha: lr });
      });
      // repackage_hidden: the state is kept across steps (returned from tidy), detached from this graph.
      return [l.detach(), ...next.map((h) => h.detach())];
    });
    if (hidden) for (const h of hidden) h.dispose();
    hidden = carried;
    return loss;
  };
  const dispose = () => {
    for (const m of modules) m.dispose?.();
    data.dispose();
    if (hidden) for (const h of hidden) h.dispose();
    hidden = null;
  };
  return { step, params, dispose };
}

/** The bench's sizes (main.mjs's wordlm-train row: PyTorch's example at its tiny sizes on a 10k vocabulary). */
export const WORDLM_SPEC = { ntoken: 10000, emsize: 32, nhid: 64, layers: 2, bptt: 16, batch: 8, dropout: 0.2, clip: 0.25, lr: 20 };
