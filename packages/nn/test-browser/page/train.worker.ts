/** The worker side: trains a tiny LSTM regressor and streams progress with serveTraining. */
import '@ghostflow/backend-cpu';
import { manualSeed, randn, tidy } from '@ghostflow/core';
import { Adam, LSTM, Linear, mseLoss } from '@ghostflow/nn';
import { serveTraining } from '@ghostflow/nn/browser';

serveTraining<{ steps: number; lr: number; fail?: boolean }>(
  self as unknown as Parameters<typeof serveTraining>[0],
  ({ steps, lr, fail }) => {
    if (fail) throw new Error('bad config');
    manualSeed(0);
    const lstm = new LSTM(3, 8, { batchFirst: true });
    const head = new Linear(8, 1);
    const opt = new Adam([...lstm.parameters(), ...head.parameters()], { lr });
    const x = randn([4, 6, 3]);
    const y = x.sum(-1).sum(-1, true).mul(0.1);
    return {
      steps,
      step: () =>
        tidy(() => {
          opt.zeroGrad();
          const [out] = lstm.forward(x);
          const loss = mseLoss(head.forward(out.select(1, -1)), y);
          loss.backward();
          opt.step();
          return loss.itemSync();
        }),
      finish: () => ({ inWorker: typeof (globalThis as { document?: unknown }).document === 'undefined' }),
    };
  },
);
