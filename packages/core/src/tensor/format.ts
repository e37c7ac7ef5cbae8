/**
 * The tensor repr, PyTorch 1.13's `torch/_tensor_str.py` ported line for line over host data:
 * the same summarisation (`...` past `threshold` elements, `edgeitems` kept per side), the same
 * `_Formatter` (integer mode `1.`, scientific mode when the finite non-zero values span more
 * than 1e3 or leave [1e-4, 1e8]), the same common width and line wrapping, and the same suffix
 * placement. Fields whose name differs in GhostFlow are spelled GhostFlow's way
 * (`requiresGrad=true`, `gradFn=<mul>`, `shape=[2, 0]`, `dtype=int32`, `device='webgpu'`).
 */
import type { DType } from '../dtype.js';
import type { Shape } from '../shape.js';
import { pyExp, pyFixed } from './format-number.js';
import type { PrintOptions } from './print-options.js';

/** What the repr needs to know about a tensor besides its values. */
export interface FormatInfo {
  shape: Shape;
  dtype: DType;
  device: string;
  requiresGrad: boolean;
  gradFn: string | null;
}

const PREFIX = 'tensor(';

/** Formats one element at the common width (PyTorch's `_Formatter`). */
class Formatter {
  private readonly floating: boolean;
  private intMode = true;
  private sciMode = false;
  private maxWidth = 1;

  constructor(
    values: readonly number[],
    private readonly dtype: DType,
    private readonly opts: PrintOptions,
  ) {
    this.floating = dtype === 'float32';
    if (!this.floating) {
      for (const v of values) this.maxWidth = Math.max(this.maxWidth, this.plain(v).length);
    } else {
      const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
      if (finite.length > 0) {
        let min = Number.POSITIVE_INFINITY;
        let max = 0;
        for (const v of finite) {
          const a = Math.abs(v);
          if (a < min) min = a;
          if (a > max) max = a;
        }
        this.intMode = finite.every((v) => v === Math.ceil(v));
        const p = opts.precision;
        if (this.intMode) {
          if (max / min > 1000 || max > 1e8) {
            this.sciMode = true;
            for (const v of finite) this.maxWidth = Math.max(this.maxWidth, pyExp(v, p).length);
          } else {
            for (const v of finite) this.maxWidth = Math.max(this.maxWidth, pyFixed(v, 0).length + 1);
          }
        } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
          this.sciMode = true;
          for (const v of finite) this.maxWidth = Math.max(this.maxWidth, pyExp(v, p).length);
        } else {
          for (const v of finite) this.maxWidth = Math.max(this.maxWidth, pyFixed(v, p).length);
        }
      }
    }
    if (opts.sciMode !== null) this.sciMode = opts.sciMode;
  }

  width(): number {
    return this.maxWidth;
  }

  private plain(v: number): string {
    if (this.dtype === 'bool') return v !== 0 ? 'True' : 'False';
    return String(v);
  }

  format(v: number): string {
    let s: string;
    if (!this.floating) s = this.plain(v);
    else if (this.sciMode) s = pyExp(v, this.opts.precision);
    else if (this.intMode) s = Number.isFinite(v) ? `${pyFixed(v, 0)}.` : pyFixed(v, 0);
    else s = pyFixed(v, this.opts.precision);
    return s.padStart(this.maxWidth, ' ');
  }
}

/** Row-major element count of `shape[dim:]`. */
function blockSize(shape: Shape, dim: number): number {
  let n = 1;
  for (let d = dim; d < shape.length; d++) n *= shape[d];
  return n;
}

/** Indices of dim `dim` that a summarised printout keeps (PyTorch's `get_summarized_data`). */
function keptIndices(size: number, opts: PrintOptions, oneDim: boolean): number[] {
  const e = opts.edgeitems;
  const all = Array.from({ length: size }, (_, i) => i);
  if (size <= 2 * e) return all;
  // Python's self[-0:] is the whole tensor, so a 1-d summary with edgeitems=0 keeps everything.
  if (e === 0) return oneDim ? all : [];
  return [...all.slice(0, e), ...all.slice(size - e)];
}

/** The values the formatter sizes itself on: all of them, or only those a summary shows. */
function summarizedValues(data: ArrayLike<number>, shape: Shape, opts: PrintOptions, summarize: boolean): number[] {
  if (!summarize || shape.length === 0) return Array.from(data);
  const out: number[] = [];
  const walk = (dim: number, base: number): void => {
    const stride = blockSize(shape, dim + 1);
    for (const i of keptIndices(shape[dim], opts, shape.length - dim === 1)) {
      if (dim === shape.length - 1) out.push(data[base + i]);
      else walk(dim + 1, base + i * stride);
    }
  };
  walk(0, 0);
  return out;
}

function vectorStr(
  data: ArrayLike<number>,
  base: number,
  size: number,
  indent: number,
  summarize: boolean,
  f: Formatter,
  opts: PrintOptions,
): string {
  const elementLength = f.width() + 2;
  const perLine = Math.max(1, Math.floor((opts.linewidth - indent) / elementLength));
  const e = opts.edgeitems;
  let items: string[];
  const fmt = (i: number) => f.format(data[base + i]);
  if (summarize && e === 0) items = ['...'];
  else if (summarize && size > 2 * e) {
    items = [];
    for (let i = 0; i < e; i++) items.push(fmt(i));
    items.push(' ...');
    for (let i = size - e; i < size; i++) items.push(fmt(i));
  } else {
    items = [];
    for (let i = 0; i < size; i++) items.push(fmt(i));
  }
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
  return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
}

function tensorStr(
  data: ArrayLike<number>,
  shape: Shape,
  dim: number,
  base: number,
  indent: number,
  summarize: boolean,
  f: Formatter,
  opts: PrintOptions,
): string {
  const rank = shape.length - dim;
  if (rank === 0) return f.format(data[base]);
  if (rank === 1) return vectorStr(data, base, shape[dim], indent, summarize, f, opts);
  const size = shape[dim];
  const stride = blockSize(shape, dim + 1);
  const sub = (i: number) => tensorStr(data, shape, dim + 1, base + i * stride, indent + 1, summarize, f, opts);
  const e = opts.edgeitems;
  const slices: string[] = [];
  if (summarize && size > 2 * e) {
    for (let i = 0; i < e; i++) slices.push(sub(i));
    slices.push('...');
    for (let i = size - e; i < size; i++) slices.push(sub(i));
  } else {
    for (let i = 0; i < size; i++) slices.push(sub(i));
  }
  return `[${slices.join(`,${'\n'.repeat(rank - 1)}${' '.repeat(indent + 1)}`)}]`;
}

function addSuffixes(body: string, suffixes: string[], indent: number, opts: PrintOptions): string {
  const parts = [body];
  let lastLineLength = body.length - body.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLineLength + suffix.length + 2 > opts.linewidth) {
      parts.push(`,\n${' '.repeat(indent)}${suffix}`);
      lastLineLength = indent + suffix.length;
    } else {
      parts.push(`, ${suffix}`);
      lastLineLength += suffix.length + 2;
    }
  }
  parts.push(')');
  return parts.join('');
}

/**
 * The repr of a tensor with these row-major `values` (`tensor([[1., 2.]], requiresGrad=true)`).
 * Pure: no backend involved, so sync and async callers share it.
 */
export function formatTensor(values: ArrayLike<number>, info: FormatInfo, opts: PrintOptions): string {
  const { shape, dtype } = info;
  const indent = PREFIX.length;
  const suffixes: string[] = [];
  // PyTorch names the device when it is not the default (cpu) one.
  if (info.device !== 'cpu') suffixes.push(`device='${info.device}'`);
  const numel = values.length;
  let body: string;
  if (numel === 0) {
    if (shape.length !== 1) suffixes.push(`shape=[${shape.join(', ')}]`);
    // With no elements there is nothing to tell ints or bools from floats by.
    if (dtype !== 'float32') suffixes.push(`dtype=${dtype}`);
    body = '[]';
  } else {
    // float32, int32 and bool are each GhostFlow's default of their kind (PyTorch omits
    // float32, int64 and bool), so a non-empty tensor never needs its dtype spelled out.
    const summarize = numel > opts.threshold;
    const f = new Formatter(summarizedValues(values, shape, opts, summarize), dtype, opts);
    body = tensorStr(values, shape, 0, 0, indent, summarize, f, opts);
  }
  if (info.gradFn !== null) suffixes.push(`gradFn=<${info.gradFn}>`);
  else if (info.requiresGrad) suffixes.push('requiresGrad=true');
  return addSuffixes(PREFIX + body, suffixes, indent, opts);
}
