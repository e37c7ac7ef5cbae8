/**
 * The playground page: backend picker (webgpu greyed out with the reason when it cannot
 * start), training with a live loss curve, and sampling. State is mirrored on
 * `window.__playground` and on `#status`'s data attributes for the browser test.
 */
import { getBackendName, loadBackend, setBackend } from '@ghostflow/core';
import '@ghostflow/backend-cpu';
import { trainLoop } from '@ghostflow/nn/browser';
import { type Trainer, createTrainer } from './model.js';
import text from './text.txt?raw';

interface PlaygroundState {
  backend: string;
  state: 'idle' | 'training' | 'done' | 'stopped' | 'error';
  losses: number[];
  msPerStep: number;
  sample: string;
  webgpu: { available: boolean; reason: string };
  error?: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLDivElement>('status');
const canvas = $<HTMLCanvasElement>('loss');
const trainBtn = $<HTMLButtonElement>('train');
const stopBtn = $<HTMLButtonElement>('stop');
const sampleBtn = $<HTMLButtonElement>('sample');
const sampleOut = $<HTMLPreElement>('sample-out');
$<HTMLPreElement>('text').textContent = text;

const state: PlaygroundState = {
  backend: 'cpu',
  state: 'idle',
  losses: [],
  msPerStep: 0,
  sample: '',
  webgpu: { available: false, reason: 'checking…' },
};
(window as unknown as { __playground: PlaygroundState }).__playground = state;

let trainer: Trainer | undefined;
let stopRequested = false;
let stopController: AbortController | undefined;

function setStatus(s: PlaygroundState['state'], message: string): void {
  state.state = s;
  status.dataset.state = s;
  status.dataset.steps = String(state.losses.length);
  status.textContent = message;
}

/** Probes webgpu: the package must load and the backend must start (adapter + device). */
async function probeWebGPU(): Promise<void> {
  const radio = $<HTMLInputElement>('backend-webgpu');
  const label = $<HTMLLabelElement>('label-webgpu');
  const reason = $<HTMLSpanElement>('reason-webgpu');
  let why = '';
  if (!('gpu' in navigator) || !navigator.gpu) {
    why = window.isSecureContext
      ? 'navigator.gpu is undefined: this browser has no WebGPU (or it is disabled)'
      : 'navigator.gpu is undefined: WebGPU needs a secure context (https or localhost)';
  } else {
    try {
      await import('@ghostflow/backend-webgpu'); // registers 'webgpu'
      const backend = await loadBackend('webgpu');
      why = '';
      reason.textContent = `available${describeAdapter(backend)}`;
    } catch (e) {
      why = (e as Error).message;
    }
  }
  label.classList.remove('pending');
  state.webgpu = { available: !why, reason: why || 'available' };
  if (why) {
    label.classList.add('unavailable');
    label.title = why;
    reason.textContent = `unavailable: ${why}`;
    radio.disabled = true;
  } else {
    radio.disabled = false;
  }
}

function describeAdapter(backend: unknown): string {
  // backend-webgpu reports its adapter as a string ('google / swiftshader' on SwiftShader).
  const info = (backend as { adapterInfo?: unknown }).adapterInfo;
  return typeof info === 'string' && info ? ` (${info})` : '';
}

function selectedBackend(): string {
  return (document.querySelector('input[name="backend"]:checked') as HTMLInputElement | null)?.value ?? 'cpu';
}

/** Draws the loss per step and its running mean. */
function draw(): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: W, height: H } = canvas;
  const pad = { l: 44, r: 10, t: 14, b: 24 };
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const losses = state.losses;
  const steps = Math.max(Number($<HTMLInputElement>('steps').value) || 1, losses.length, 2);
  const max = losses.length ? Math.max(...losses) * 1.05 : 5;
  const min = 0;
  const x = (i: number) => pad.l + (i / (steps - 1)) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - min) / (max - min)) * (H - pad.t - pad.b);
  ctx.strokeStyle = '#ddd';
  ctx.fillStyle = '#666';
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const v = min + ((max - min) * k) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, y(v));
    ctx.lineTo(W - pad.r, y(v));
    ctx.stroke();
    ctx.fillText(v.toFixed(2), 4, y(v) + 4);
  }
  ctx.fillText(`step ${losses.length} / ${steps}   loss (nats/char): thin = each step, thick = running mean`, pad.l, H - 6);
  if (losses.length === 0) return;
  ctx.strokeStyle = '#9cc3ef';
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
  ctx.strokeStyle = '#1f5fae';
  ctx.lineWidth = 2;
  ctx.beginPath();
  let mean = losses[0] as number;
  losses.forEach((v, i) => {
    mean = i === 0 ? v : 0.9 * mean + 0.1 * v;
    if (i === 0) ctx.moveTo(x(i), y(mean));
    else ctx.lineTo(x(i), y(mean));
  });
  ctx.stroke();
}

async function train(): Promise<void> {
  const backend = selectedBackend();
  const steps = Math.max(1, Number($<HTMLInputElement>('steps').value) || 1);
  const lr = Number($<HTMLInputElement>('lr').value) || 1e-2;
  trainBtn.disabled = true;
  sampleBtn.disabled = true;
  stopBtn.disabled = false;
  stopRequested = false;
  state.losses = [];
  state.sample = '';
  try {
    await setBackend(backend);
    state.backend = getBackendName();
    trainer?.dispose();
    trainer = createTrainer(text, { lr });
    setStatus('training', `${state.backend}: ${trainer.parameters} parameters, starting…`);
    draw();
    // trainLoop yields to the event loop every frame's worth of steps, so the page repaints and
    // the Stop button works while the cpu backend trains synchronously.
    const stop = new AbortController();
    stopController = stop;
    let lastDraw = 0;
    await trainLoop({
      steps,
      step: () => (trainer as Trainer).step(),
      signal: stop.signal,
      onProgress: ({ step: n, loss, msPerStep }) => {
        state.losses.push(loss);
        state.msPerStep = msPerStep;
        const now = performance.now();
        if (now - lastDraw > 50 || n === steps) {
          lastDraw = now;
          const recent = state.losses.slice(-10);
          const avg = recent.reduce((a, b) => a + b, 0) / recent.length;
          setStatus(
            'training',
            `${state.backend}: step ${n}/${steps}  loss ${loss.toFixed(3)}  (mean of last ${recent.length}: ${avg.toFixed(3)}, first ${(state.losses[0] as number).toFixed(3)})  ${msPerStep.toFixed(0)} ms/step`,
          );
          draw();
        }
      },
    });
    stopRequested = stop.signal.aborted;
    const n = state.losses.length;
    setStatus(
      stopRequested ? 'stopped' : 'done',
      `${state.backend}: ${stopRequested ? 'stopped' : 'done'} after ${n} steps, loss ${(state.losses[0] as number).toFixed(3)} → ${(state.losses[n - 1] as number).toFixed(3)}, ${state.msPerStep.toFixed(0)} ms/step`,
    );
    draw();
    await sample();
  } catch (e) {
    state.error = (e as Error).message;
    setStatus('error', `error: ${state.error}`);
    console.error(e);
  } finally {
    trainBtn.disabled = false;
    stopBtn.disabled = true;
    sampleBtn.disabled = !trainer;
  }
}

async function sample(): Promise<void> {
  if (!trainer) return;
  sampleBtn.disabled = true;
  try {
    state.sample = await trainer.sample($<HTMLInputElement>('prompt').value, 160, 0.7);
    sampleOut.textContent = state.sample;
  } finally {
    sampleBtn.disabled = false;
  }
}

trainBtn.addEventListener('click', () => void train());
stopBtn.addEventListener('click', () => {
  stopRequested = true;
  stopController?.abort();
});
sampleBtn.addEventListener('click', () => void sample());
draw();
probeWebGPU().then(
  () => {
    document.body.dataset.ready = 'true';
  },
  (e) => {
    state.webgpu = { available: false, reason: (e as Error).message };
    document.body.dataset.ready = 'true';
  },
);
