/**
 * GhostFlow end-to-end demo: a 2-layer MLP (1 → 32 → 1, tanh) fits a noisy sine with real
 * autograd, trained by plain full-batch gradient descent written by hand. It runs on the best
 * backend that starts: cuda on an NVIDIA GPU (@ghostflow/backend-cuda), else cpu (the reason cuda
 * was skipped is printed); GHOSTFLOW_BACKEND=cuda|cpu forces one.
 *
 * Everything here is the public API of @ghostflow/core, run from the built packages:
 *   npx --yes pnpm@9.15.9 install --frozen-lockfile && npx --yes pnpm@9.15.9 demo
 *
 * What it shows:
 * - ops (matmul, add, tanh, sub, square, mean) and `loss.backward()`;
 * - a manual SGD step: `param.assign(param - lr * grad)` under `noGrad`, then `param.grad = null`;
 * - `tidy` around each step, so every intermediate (activations, saved tensors, gradients)
 *   is freed: `memory().buffers` is the same after 200 steps as before the first.
 * It exits with status 1 if the loss did not fall or memory grew, so it doubles as a smoke test.
 */
import { getBackendName, linspace, manualSeed, memory, noGrad, randn, ready, setBackend, tidy, zeros } from '@ghostflow/core';
import '@ghostflow/backend-cpu'; // registers the 'cpu' backend on import
import '@ghostflow/backend-cuda'; // registers 'cuda' (highest priority; falls back when no GPU)

if (process.env.GHOSTFLOW_BACKEND) {
  await setBackend(process.env.GHOSTFLOW_BACKEND);
} else {
  for (const s of (await ready()).skipped) console.log(`(skipped ${s.name}: ${s.reason})`);
}

const STEPS = Number(process.env.STEPS ?? 200);
const LR = 0.1;
const N = 128; // samples
const HIDDEN = 32;

manualSeed(0);

// Data: y = sin(3x) + 0.1·noise on x ∈ [-1, 1]. tidy() frees the temporaries and hands back x and y.
const { x, y } = tidy(() => {
  const x = linspace(-1, 1, N).reshape(N, 1);
  const y = x
    .mul(3)
    .sin()
    .add(randn([N, 1]).mul(0.1));
  return { x, y };
});

// Parameters: leaves that require grad.
const params = tidy(() => ({
  w1: randn([1, HIDDEN]).mul(2).requiresGrad_(),
  b1: randn([HIDDEN]).mul(0.5).requiresGrad_(),
  w2: randn([HIDDEN, 1])
    .mul(1 / Math.sqrt(HIDDEN))
    .requiresGrad_(),
  b2: zeros([1]).requiresGrad_(),
}));

/** The model: tanh(x W1 + b1) W2 + b2. */
function model(input) {
  const { w1, b1, w2, b2 } = params;
  return input.matmul(w1).add(b1).tanh().matmul(w2).add(b2);
}

/** One training step; returns the loss (detached, owned by the caller). */
function trainStep() {
  return tidy(() => {
    const loss = model(x).sub(y).square().mean();
    loss.backward();
    noGrad(() => {
      for (const p of Object.values(params)) {
        p.assign(p.sub(p.grad.mul(LR)));
        p.grad = null; // frees the gradient (like optimizer.zero_grad(set_to_none=True))
      }
    });
    return loss.detach();
  });
}

console.log(
  `GhostFlow example-fit: MLP 1→${HIDDEN}→1 on a noisy sine, ${N} points, ${STEPS} steps of SGD (lr ${LR}), backend '${getBackendName()}'`,
);
const buffersBefore = memory().buffers;
let first = Number.NaN;
let last = Number.NaN;
for (let step = 1; step <= STEPS; step++) {
  const loss = trainStep();
  if (step === 1 || step % 20 === 0 || step === STEPS) {
    last = await loss.item(); // async read works on every backend (dataSync only on CPU-like ones)
    if (step === 1) first = last;
    const bar = '#'.repeat(Math.max(1, Math.round(Math.min(last, 1) * 50)));
    console.log(`step ${String(step).padStart(4)}  loss ${last.toFixed(5)}  ${bar}`);
  }
  loss.dispose();
}
const buffersAfter = memory().buffers;

// Predictions at a few points, next to the noiseless target.
const probe = [-0.9, -0.45, 0, 0.45, 0.9];
const predicted = tidy(() => noGrad(() => model(linspace(-0.9, 0.9, probe.length).reshape(probe.length, 1)).reshape(probe.length)));
const values = await predicted.data();
predicted.dispose();
for (const [i, p] of probe.entries()) {
  console.log(
    `  f(${p.toFixed(2).padStart(5)}) = ${values[i].toFixed(3).padStart(6)}   sin(3x) = ${Math.sin(3 * p)
      .toFixed(3)
      .padStart(6)}`,
  );
}

const mem = memory();
console.log(`loss ${first.toFixed(5)} → ${last.toFixed(5)} (${(first / last).toFixed(1)}x lower)`);
console.log(
  `memory().buffers: ${buffersBefore} before training, ${buffersAfter} after ${STEPS} steps (bytes ${mem.bytes}, peak ${mem.peakBytes}, leaked ${mem.leakedTensors})`,
);

const ok = Number.isFinite(last) && last < first / 4 && buffersAfter === buffersBefore;
if (!ok) {
  console.error('FAILED: the loss should fall at least 4x and the buffer count should not grow');
  process.exit(1);
}
