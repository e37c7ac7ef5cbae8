/**
 * The tutorial's train_epoch (one batch) and evaluate, shared by main.mjs and the PyTorch
 * parity test. PyTorch:
 *
 *   encoder_optimizer.zero_grad(); decoder_optimizer.zero_grad()
 *   encoder_outputs, encoder_hidden = encoder(input_tensor)
 *   decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
 *   loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
 *   loss.backward(); encoder_optimizer.step(); decoder_optimizer.step()
 */
import { noGrad, tidy } from '@ghostflow/core';
import { nllLoss } from '@ghostflow/nn';

/**
 * One teacher-forced training step on a padded batch. Returns the loss as a detached 0-d
 * tensor (read it with `await loss.item()`, then dispose it); everything else is freed.
 */
export function trainBatch(encoder, decoder, encoderOptimizer, decoderOptimizer, inputTensor, targetTensor) {
  return tidy(() => {
    encoderOptimizer.zeroGrad();
    decoderOptimizer.zeroGrad();
    const [encoderOutputs, encoderHidden] = encoder.forward(inputTensor);
    const [decoderOutputs] = decoder.forward(encoderOutputs, encoderHidden, targetTensor);
    const loss = nllLoss(decoderOutputs.reshape(-1, decoderOutputs.shape[2]), targetTensor.reshape(-1));
    loss.backward();
    encoderOptimizer.step();
    decoderOptimizer.step();
    return loss.detach();
  });
}

/** Greedy decoding of a batch (no teacher forcing): [decoded ids [B, maxLength] int32, attentions [B, maxLength, S]]. */
export function evaluate(encoder, decoder, inputTensor) {
  return noGrad(() =>
    tidy(() => {
      const [encoderOutputs, encoderHidden] = encoder.forward(inputTensor);
      const [decoderOutputs, , attentions] = decoder.forward(encoderOutputs, encoderHidden);
      return [decoderOutputs.argmax(-1), attentions]; // _, topi = decoder_outputs.topk(1)
    }),
  );
}
