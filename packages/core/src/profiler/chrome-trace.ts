/**
 * Chrome trace-event JSON for a profile: the format Perfetto (https://ui.perfetto.dev) and
 * chrome://tracing open, and what `torch.profiler`'s `export_chrome_trace` writes.
 */
import type { KernelEvent } from './profile.js';

/** One complete ("X") event of the Chrome trace-event format; times in microseconds. */
export interface ChromeTraceEvent {
  /** Kernel name. */
  name: string;
  /** Category: the backend's name. */
  cat: string;
  /** Phase: always `X` (a complete event with a duration). */
  ph: 'X';
  /** Start, microseconds since the profile began. */
  ts: number;
  /** Duration in microseconds. */
  dur: number;
  /** Process id (always 1: one profile is one process). */
  pid: number;
  /** Thread id: one track per backend, so kernels of different backends do not overlap. */
  tid: number;
  /** Shapes and bytes, shown when the event is selected. */
  args: { inputShapes: string; bytes: number };
}

/** A Chrome trace: write it with `JSON.stringify` to a `.json` file. */
export interface ChromeTrace {
  /** The events, in call order. */
  traceEvents: ChromeTraceEvent[];
  /** Unit the viewer shows. */
  displayTimeUnit: 'ms';
}

/** Converts recorded kernel events to a Chrome trace. */
export function toChromeTrace(events: readonly KernelEvent[]): ChromeTrace {
  const tracks = new Map<string, number>();
  const traceEvents = events.map((e): ChromeTraceEvent => {
    let tid = tracks.get(e.backend);
    if (tid === undefined) {
      tid = tracks.size + 1;
      tracks.set(e.backend, tid);
    }
    return {
      name: e.name,
      cat: e.backend,
      ph: 'X',
      ts: Math.round(e.startMs * 1000 * 1000) / 1000,
      dur: Math.round(e.durationMs * 1000 * 1000) / 1000,
      pid: 1,
      tid,
      args: { inputShapes: e.inputShapes.map((s) => `[${s.join(', ')}]`).join(' '), bytes: e.bytes },
    };
  });
  return { traceEvents, displayTimeUnit: 'ms' };
}
