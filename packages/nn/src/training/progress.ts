/**
 * A progress display for training loops. On a terminal: one live line redrawn in place
 * (bar, step/s, ETA, the latest metrics). Piped to a file or another program: a plain line now
 * and then. In CI (`CI` set): nothing, unless a mode is asked for. In a browser: nothing is
 * written; `onUpdate` receives every state, to draw it in the page. Uses no Node module, only
 * `globalThis.process` when it exists.
 */
import { GhostFlowError } from '@ghostflow/core';

/** How progress is shown. `auto` picks `bar` on a TTY, `lines` when piped, `silent` in CI or a browser. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'silent';

/** A snapshot passed to `onUpdate` and rendered by the bar. */
export interface ProgressState {
  /** Steps done. */
  step: number;
  /** Total steps, when known. */
  total: number | undefined;
  /** Milliseconds since the bar started. */
  elapsedMs: number;
  /** Average steps per second so far (0 before the first step). */
  stepsPerSecond: number;
  /** Estimated milliseconds left (undefined without a total or before the first step). */
  etaMs: number | undefined;
  /** The latest metrics given to `update` (e.g. `{ loss: 0.12 }`). */
  metrics: Readonly<Record<string, number>>;
  /** True on the final update from `close()`. */
  done: boolean;
}

/** Options of `ProgressBar`. */
export interface ProgressOptions {
  /** Total steps (enables the bar, percentage and ETA). */
  total?: number;
  /** Text before the bar, e.g. `'epoch 3'`. */
  label?: string;
  /** Default `auto`. */
  mode?: ProgressMode;
  /** Where text goes (default: `process.stderr.write`, or nowhere without `process`). */
  write?: (text: string) => void;
  /** Whether `write` goes to a terminal (default: `process.stderr.isTTY`). */
  isTTY?: boolean;
  /** Called with every state (each `update` and the final one), in every mode. */
  onUpdate?: (state: ProgressState) => void;
  /** Least milliseconds between redraws of the live bar (default 100). */
  redrawMs?: number;
  /** Least milliseconds between plain lines; a line is also written at every 10% of `total` (default 10000). */
  lineMs?: number;
  /** Width of the bar in characters (default 24). */
  barWidth?: number;
  /** Millisecond clock (default `performance.now`); tests pin it. */
  now?: () => number;
  /** Environment for the CI check (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

interface NodeLikeProcess {
  env?: Record<string, string | undefined>;
  stderr?: { isTTY?: boolean; write(text: string): unknown };
}

const nodeProcess = (globalThis as { process?: NodeLikeProcess }).process;

function inCI(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** `mm:ss`, or `h:mm:ss` past an hour. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/**
 * A progress bar for loops with many steps.
 *
 * @example
 * ```ts
 * import { ProgressBar } from '@ghostflow/nn';
 * const bar = new ProgressBar({ total: 100, label: 'train' });
 * for (let step = 1; step <= 100; step++) {
 *   const loss = 1 / step; // one training step here
 *   bar.update(step, { loss });
 * }
 * bar.close();
 * // terminal: train  100%|████████████████████████| 100/100 [00:01<00:00, 97.3 step/s, loss=0.0100]
 * ```
 */
export class ProgressBar {
  private readonly mode: Exclude<ProgressMode, 'auto'>;
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private readonly start: number;
  private readonly redrawMs: number;
  private readonly lineMs: number;
  private readonly barWidth: number;
  private step = 0;
  private metrics: Record<string, number> = {};
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLine: number;
  private lastDecile = 0;
  private lastWidth = 0;
  private closed = false;

  constructor(private readonly options: ProgressOptions = {}) {
    const { total } = options;
    if (total !== undefined && !(Number.isInteger(total) && total >= 0))
      throw new GhostFlowError(`ProgressBar: total must be a non-negative integer, got ${total}`);
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
    this.lastLine = this.start;
    this.redrawMs = options.redrawMs ?? 100;
    this.lineMs = options.lineMs ?? 10_000;
    this.barWidth = options.barWidth ?? 24;
    const stderr = nodeProcess?.stderr;
    this.write = options.write ?? (stderr ? (text) => void stderr.write(text) : () => {});
    const mode = options.mode ?? 'auto';
    if (mode !== 'auto') this.mode = mode;
    else if (inCI(options.env ?? nodeProcess?.env ?? {})) this.mode = 'silent';
    else if (!options.write && !stderr) this.mode = 'silent';
    else this.mode = (options.isTTY ?? (options.write ? false : stderr?.isTTY === true)) ? 'bar' : 'lines';
  }

  /** The mode in effect (`auto` resolved). */
  get resolvedMode(): Exclude<ProgressMode, 'auto'> {
    return this.mode;
  }

  /** The current state. */
  state(done = false): ProgressState {
    const elapsedMs = this.now() - this.start;
    const stepsPerSecond = elapsedMs > 0 && this.step > 0 ? (this.step * 1000) / elapsedMs : 0;
    const total = this.options.total;
    const etaMs = total !== undefined && stepsPerSecond > 0 ? (Math.max(0, total - this.step) / stepsPerSecond) * 1000 : undefined;
    return { step: this.step, total, elapsedMs, stepsPerSecond, etaMs, metrics: { ...this.metrics }, done };
  }

  /**
   * Reports progress: `step` is the number of steps done so far (default: one more than
   * before); `metrics` (e.g. `{ loss }`) replace the shown ones by name.
   */
  update(step: number = this.step + 1, metrics: Readonly<Record<string, number>> = {}): void {
    if (this.closed) throw new GhostFlowError('ProgressBar.update: the bar is closed');
    this.step = step;
    Object.assign(this.metrics, metrics);
    const state = this.state();
    this.options.onUpdate?.(state);
    const t = this.now();
    if (this.mode === 'bar') {
      if (t - this.lastDraw >= this.redrawMs) {
        this.lastDraw = t;
        this.drawBar(state);
      }
    } else if (this.mode === 'lines') {
      const total = this.options.total;
      const decile = total ? Math.floor((10 * step) / total) : 0;
      if (t - this.lastLine >= this.lineMs || decile > this.lastDecile) {
        this.lastLine = t;
        this.lastDecile = decile;
        this.write(`${this.describe(state)}\n`);
      }
    }
  }

  /** Draws the final state (and ends the live line). Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const state = this.state(true);
    this.options.onUpdate?.(state);
    if (this.mode === 'bar') {
      this.drawBar(state);
      this.write('\n');
    } else if (this.mode === 'lines') {
      this.write(`${this.describe(state)}\n`);
    }
  }

  /** `using bar = new ProgressBar(...)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The state as one line of text (what the bar and the plain lines show). */
  describe(state: ProgressState = this.state()): string {
    const { total } = state;
    const label = this.options.label ? `${this.options.label} ` : '';
    const metrics = Object.entries(state.metrics)
      .map(([k, v]) => `, ${k}=${formatMetric(v)}`)
      .join('');
    const rate = `${state.stepsPerSecond.toFixed(state.stepsPerSecond >= 100 ? 0 : 1)} step/s`;
    if (total === undefined) return `${label}${state.step} [${formatDuration(state.elapsedMs)}, ${rate}${metrics}]`;
    const fraction = total === 0 ? 1 : Math.min(1, state.step / total);
    const pct = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
    const eta = state.etaMs === undefined ? '?' : formatDuration(state.etaMs);
    const timing = `[${formatDuration(state.elapsedMs)}<${eta}, ${rate}${metrics}]`;
    if (this.mode !== 'bar') return `${label}${pct} ${state.step}/${total} ${timing}`;
    const filled = Math.round(fraction * this.barWidth);
    const bar = '█'.repeat(filled) + ' '.repeat(this.barWidth - filled);
    return `${label}${pct}|${bar}| ${state.step}/${total} ${timing}`;
  }

  private drawBar(state: ProgressState): void {
    const text = this.describe(state);
    // Pad over the previous, possibly longer, line instead of relying on ANSI erase codes.
    this.write(`\r${text}${' '.repeat(Math.max(0, this.lastWidth - text.length))}`);
    this.lastWidth = text.length;
  }
}
