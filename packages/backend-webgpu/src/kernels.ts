/**
 * Every primitive kernel of the contract in WGSL. Each kernel:
 * - describes its strided inputs (shape, strides, offset; stride 0 = broadcast) in the
 *   meta words, so one pipeline serves all layouts (the shader walks `vpos` per element);
 * - allocates a new contiguous output and encodes one (or a few) compute passes;
 * - returns the handle at once (reads wait for the GPU).
 *
 * Storage types on the GPU: float32 → f32, int32 → i32, bool → u32 (0/1). Kernels that only
 * move values (copy, concat, gather, where, scatter 'none', fill) work on raw u32 bits, which
 * keeps NaN payloads and -0 exact.
 */
import {
  type ArgReduceOp,
  type BinaryOp,
  type DType,
  type DataId,
  type PrimitiveKernels,
  type ReduceOp,
  type Shape,
  type TensorView,
  type UnaryOp,
  BackendError,
  contiguousStrides,
  sizeOf,
} from '@ghostflow/core';
import { Meta, f32Bits, i32Bits } from './meta.js';
import { type GPUData, type Runtime, WG, faultWgsl, grid1 } from './runtime.js';
import { INT_WGSL, MATH_WGSL, VIEW_WGSL } from './wgsl/math.js';

/** WGSL storage type of each dtype. */
export const WGSL_TYPE: Record<DType, string> = { float32: 'f32', int32: 'i32', bool: 'u32' };

export const HEADER = /* wgsl */ '@group(0) @binding(0) var<storage, read> prm: array<u32>;\n';

/** The flat thread index of a 1-d kernel (grid folded into 2-d past 65535 groups). */
export const MAIN_1D = /* wgsl */ `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;`;

/** Binding declarations: `out` read_write at 1, then read-only inputs. */
export function bindings(out: { name: string; type: string }[], ins: { name: string; type: string }[]): string {
  let s = HEADER;
  let b = 1;
  for (const o of out) s += `@group(0) @binding(${b++}) var<storage, read_write> ${o.name}: array<${o.type}>;\n`;
  for (const x of ins) s += `@group(0) @binding(${b++}) var<storage, read> ${x.name}: array<${x.type}>;\n`;
  return s;
}

/** Dims beyond a view's rank have size 1 (axis 0 of a 0-d tensor). */
function dimSize(shape: Shape, d: number): number {
  return d < shape.length ? shape[d] : 1;
}

/** Splits a view's dims into kept ones and `axes` (sorted), ignoring axes beyond the rank. */
function splitAxes(v: TensorView, axes: readonly number[]) {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  for (let d = 0; d < v.shape.length; d++) {
    if (axes.includes(d)) {
      redShape.push(v.shape[d]);
      redStrides.push(v.strides[d]);
    } else {
      keptShape.push(v.shape[d]);
      keptStrides.push(v.strides[d]);
    }
  }
  return { keptShape, keptStrides, redShape, redStrides };
}

const BOOL_BINARY: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr', 'logicalXor']);

/** Float32 unary op bodies: `x` in, f32 out. */
const F32_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: 'return fneg(x);',
  abs: 'return fabs(x);',
  sign: 'return fsign(x);',
  exp: 'return fexp(x);',
  expm1: 'return fexpm1(x);',
  log: 'return flog(x);',
  log1p: 'return flog1p(x);',
  sqrt: 'return fsqrt(x);',
  rsqrt: 'return frecip(fsqrt(x));',
  reciprocal: 'return frecip(x);',
  sin: 'return fsin(x);',
  cos: 'return fcos(x);',
  tanh: 'return ftanh(x);',
  sigmoid: 'return fsigmoid(x);',
  relu: 'if (is_nan(x) || x > 0.0) { return x; } return 0.0;',
  gelu: 'return fgelu(x);',
  geluTanh: 'return fgelu_tanh(x);',
  silu: 'return fsilu(x);',
  softplus: 'return fsoftplus(x);',
  erf: 'return ferf(x);',
  floor: 'return ffloor(x);',
  ceil: 'return fceil(x);',
  round: 'return fround(x);',
};

const I32_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: 'return ineg(x);',
  abs: 'return iabs(x);',
  sign: 'return select(select(0, -1, x < 0), 1, x > 0);',
  relu: 'return max(x, 0);',
};

const F32_BINARY: Record<BinaryOp, string> = {
  add: 'return a + b;',
  sub: 'return a - b;',
  mul: 'return a * b;',
  div: 'return fdiv(a, b);',
  pow: 'return fpow(a, b);',
  maximum: 'return fmaxn(a, b);',
  minimum: 'return fminn(a, b);',
  eq: 'return select(0u, 1u, a == b);',
  ne: 'return select(1u, 0u, a == b);',
  lt: 'return select(0u, 1u, a < b);',
  le: 'return select(0u, 1u, a <= b);',
  gt: 'return select(0u, 1u, a > b);',
  ge: 'return select(0u, 1u, a >= b);',
  logicalAnd: 'return select(0u, 1u, a != 0.0 && b != 0.0);',
  logicalOr: 'return select(0u, 1u, a != 0.0 || b != 0.0);',
  logicalXor: 'return select(0u, 1u, (a != 0.0) != (b != 0.0));',
};

const I32_BINARY: Record<BinaryOp, string> = {
  add: 'return iadd(a, b);',
  sub: 'return isub(a, b);',
  mul: 'return imul(a, b);',
  div: 'return idiv(a, b);',
  pow: 'return ipow(a, b);',
  maximum: 'return max(a, b);',
  minimum: 'return min(a, b);',
  eq: 'return select(0u, 1u, a == b);',
  ne: 'return select(0u, 1u, a != b);',
  lt: 'return select(0u, 1u, a < b);',
  le: 'return select(0u, 1u, a <= b);',
  gt: 'return select(0u, 1u, a > b);',
  ge: 'return select(0u, 1u, a >= b);',
  logicalAnd: 'return select(0u, 1u, a != 0 && b != 0);',
  logicalOr: 'return select(0u, 1u, a != 0 || b != 0);',
  logicalXor: 'return select(0u, 1u, (a != 0) != (b != 0));',
};

/** bool (u32 0/1): arithmetic acts as or/and and stores 0/1, like PyTorch. */
const BOOL_BINARY_OPS: Record<BinaryOp, string> = {
  add: 'return select(0u, 1u, (a | b) != 0u);',
  sub: 'return select(0u, 1u, a != b);',
  mul: 'return select(0u, 1u, (a & b) != 0u);',
  div: 'return select(0u, 1u, a != 0u);',
  pow: 'return select(a, 1u, b == 0u);',
  maximum: 'return select(0u, 1u, (a | b) != 0u);',
  minimum: 'return select(0u, 1u, (a & b) != 0u);',
  eq: 'return select(0u, 1u, a == b);',
  ne: 'return select(0u, 1u, a != b);',
  lt: 'return select(0u, 1u, a < b);',
  le: 'return select(0u, 1u, a <= b);',
  gt: 'return select(0u, 1u, a > b);',
  ge: 'return select(0u, 1u, a >= b);',
  logicalAnd: 'return select(0u, 1u, a != 0u && b != 0u);',
  logicalOr: 'return select(0u, 1u, a != 0u || b != 0u);',
  logicalXor: 'return select(0u, 1u, (a != 0u) != (b != 0u));',
};

/** Conversion bodies `x: from` → `to`. */
function castBody(from: DType, to: DType): string {
  if (to === 'bool') {
    if (from === 'float32') return 'return select(0u, 1u, is_nan(x) || x != 0.0);';
    return 'return select(0u, 1u, x != 0);';
  }
  if (to === 'int32') {
    if (from === 'float32') return 'if (!is_finite(x)) { return 0; } return i32(trunc(x));';
    return 'return i32(x);';
  }
  return 'return f32(x);';
}

/** Creates the primitive kernels on a runtime. */
export function createPrimitiveKernels(rt: Runtime): PrimitiveKernels {
  const buf = (v: TensorView) => rt.buffer(v.dataId);

  /** Copies the view `src` (bits) into `out` at the positions of the view (`shape`, `outStrides`, `outOffset`). */
  function copyInto(out: GPUBuffer, src: TensorView, outStrides: readonly number[], outOffset: number): void {
    const n = sizeOf(src.shape);
    if (n === 0) return;
    const meta = new Meta(3).set(0, n).viewAt(1, src.shape, src.strides, src.offset).viewAt(2, src.shape, outStrides, outOffset);
    const code = `${bindings([{ name: 'out', type: 'u32' }], [{ name: 'x', type: 'u32' }])}${VIEW_WGSL}${MAIN_1D}
  if (i >= prm[0]) { return; }
  out[vpos(prm[2], i)] = x[vpos(prm[1], i)];
}`;
    rt.dispatch('copy', code, meta.words(), [out, buf(src)], grid1(n));
  }

  /** A contiguous copy of a view (any dtype). */
  function copy(x: TensorView, dtype: DType = x.dtype): DataId {
    const out = rt.alloc(dtype, sizeOf(x.shape));
    copyInto(out.buffer as GPUBuffer, x, contiguousStrides(x.shape), 0);
    return out;
  }

  /** Elementwise kernel over `inputs` (each a view of the output's shape), body of `fn op(...)`. */
  function elementwise(
    label: string,
    inputs: readonly TensorView[],
    inTypes: string[],
    outDType: DType,
    body: string,
    prelude: string,
    outType = WGSL_TYPE[outDType],
  ): DataId {
    const shape = inputs[0].shape;
    const n = sizeOf(shape);
    const out = rt.alloc(outDType, n);
    if (n === 0) return out;
    const meta = new Meta(1 + inputs.length).set(0, n);
    inputs.forEach((v, k) => meta.viewAt(1 + k, v.shape, v.strides, v.offset));
    const names = ['a', 'b', 'c'];
    const params = inTypes.map((t, k) => `${names[k]}: ${t}`).join(', ');
    const args = inputs.map((_, k) => `in${k}[vpos(prm[${1 + k}u], i)]`).join(', ');
    const code = `${bindings(
      [{ name: 'out', type: outType }],
      inTypes.map((t, k) => ({ name: `in${k}`, type: t })),
    )}${VIEW_WGSL}${prelude}
fn op(${params}) -> ${outType} { ${body} }
${MAIN_1D}
  if (i >= prm[0]) { return; }
  out[i] = op(${args});
}`;
    rt.dispatch(label, code, meta.words(), [out.buffer as GPUBuffer, ...inputs.map(buf)], grid1(n));
    return out;
  }

  const unary: PrimitiveKernels['unary'] = (x, { op }) => {
    if (op === 'logicalNot') {
      const t = WGSL_TYPE[x.dtype];
      const zero = x.dtype === 'float32' ? '0.0' : x.dtype === 'int32' ? '0' : '0u';
      return elementwise(`logicalNot-${t}`, [x], [t], 'bool', `return select(0u, 1u, a == ${zero});`, '');
    }
    if (op === 'identity') return copy(x);
    if (x.dtype === 'bool') {
      // 0/1 values: every op defined on bool (abs, neg→nonzero, sign, relu, rounding) keeps them.
      if (['neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round'].includes(op)) return copy(x);
      throw new BackendError(`webgpu: unary '${op}' is not defined on bool`);
    }
    if (x.dtype === 'int32') {
      if (op === 'floor' || op === 'ceil' || op === 'round') return copy(x);
      const body = I32_UNARY[op];
      if (!body) throw new BackendError(`webgpu: unary '${op}' is float-only; it was called with int32`);
      return elementwise(`unary-${op}-i32`, [x], ['i32'], 'int32', `let x = a; ${body}`, INT_WGSL);
    }
    const body = F32_UNARY[op] as string;
    return elementwise(`unary-${op}`, [x], ['f32'], 'float32', `let x = a; ${body}`, MATH_WGSL);
  };

  const binary: PrimitiveKernels['binary'] = (a, b, { op }) => {
    const outDType: DType = BOOL_BINARY.has(op) ? 'bool' : a.dtype;
    const t = WGSL_TYPE[a.dtype];
    const table = a.dtype === 'float32' ? F32_BINARY : a.dtype === 'int32' ? I32_BINARY : BOOL_BINARY_OPS;
    return elementwise(`binary-${op}-${t}`, [a, b], [t, t], outDType, table[op], a.dtype === 'float32' ? MATH_WGSL : INT_WGSL);
  };

  const cast: PrimitiveKernels['cast'] = (x, { dtype }) => {
    if (dtype === x.dtype) return copy(x);
    return elementwise(`cast-${x.dtype}-${dtype}`, [x], [WGSL_TYPE[x.dtype]], dtype, `let x = a; ${castBody(x.dtype, dtype)}`, MATH_WGSL);
  };

  const where: PrimitiveKernels['where'] = (cond, a, b) =>
    elementwise('where', [cond, a, b], ['u32', 'u32', 'u32'], a.dtype, 'return select(c, b, a != 0u);', '', 'u32');

  const fill: PrimitiveKernels['fill'] = ({ shape, dtype, value }) => {
    const n = sizeOf(shape);
    const out = rt.alloc(dtype, n);
    if (n === 0) return out;
    const bits = dtype === 'bool' ? (value !== 0 ? 1 : 0) : dtype === 'int32' ? i32Bits(Math.trunc(value)) : f32Bits(value);
    const meta = new Meta(2).set(0, n).set(1, bits);
    const code = `${bindings([{ name: 'out', type: 'u32' }], [])}${MAIN_1D}
  if (i >= prm[0]) { return; }
  out[i] = prm[1];
}`;
    rt.dispatch('fill', code, meta.words(), [out.buffer as GPUBuffer], grid1(n));
    return out;
  };

  const reduce: PrimitiveKernels['reduce'] = (x, { op, axes }) => {
    if (axes.length === 0) return copy(x);
    const { keptShape, keptStrides, redShape, redStrides } = splitAxes(x, axes);
    const outSize = sizeOf(keptShape);
    const r = sizeOf(redShape);
    const out = rt.alloc(x.dtype, outSize);
    if (outSize === 0) return out;
    const t = WGSL_TYPE[x.dtype];
    const spec = reduceSpec(op, x.dtype);
    const meta = new Meta(4).set(0, outSize).set(1, r).viewAt(2, keptShape, keptStrides, x.offset).viewAt(3, redShape, redStrides, 0);
    const big = r > 256 && outSize < 8192;
    let code: string;
    if (!big) {
      code = `${bindings([{ name: 'out', type: t }], [{ name: 'x', type: t }])}${VIEW_WGSL}${MATH_WGSL}${INT_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let base = vpos(prm[2], i);
  ${spec.init}
  for (var j = 0u; j < prm[1]; j = j + 1u) {
    let v = x[base + vpos(prm[3], j)];
    ${spec.step}
  }
  out[i] = ${spec.result};
}`;
      rt.dispatch(`reduce-${op}-${t}`, code, meta.words(), [out.buffer as GPUBuffer, buf(x)], grid1(outSize));
    } else {
      // One workgroup per output: strided partial results, then a tree in workgroup memory.
      code = `${bindings([{ name: 'out', type: t }], [{ name: 'x', type: t }])}${VIEW_WGSL}${MATH_WGSL}${INT_WGSL}
var<workgroup> part: array<${t}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = wid.y * nwg.x + wid.x;
  let live = o < prm[0];
  let base = select(0u, vpos(prm[2], o), live);
  ${spec.init}
  if (live) {
    for (var j = lid; j < prm[1]; j = j + ${WG}u) {
      let v = x[base + vpos(prm[3], j)];
      ${spec.step}
    }
  }
  part[lid] = ${spec.result};
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = ${spec.combine('part[lid]', 'part[lid + s]')}; }
    workgroupBarrier();
  }
  if (lid == 0u && live) { out[o] = part[0]; }
}`;
      rt.dispatch(`reduce-wg-${op}-${t}`, code, meta.words(), [out.buffer as GPUBuffer, buf(x)], grid1(outSize, 1));
    }
    return out;
  };

  const argReduce: PrimitiveKernels['argReduce'] = (x, { op, axis }) => {
    const { keptShape, keptStrides } = splitAxes(x, [axis]);
    const outSize = sizeOf(keptShape);
    const n = dimSize(x.shape, axis);
    const stride = axis < x.shape.length ? x.strides[axis] : 0;
    const out = rt.alloc('int32', outSize);
    if (outSize === 0 || n === 0) return out;
    const t = WGSL_TYPE[x.dtype];
    const nanCheck = x.dtype === 'float32' ? 'if (is_nan(v)) { idx = k; break; }' : '';
    const firstNan = x.dtype === 'float32' ? 'if (!is_nan(best)) {' : '{';
    const cmp = op === 'argmax' ? '>' : '<';
    const meta = new Meta(4).set(0, outSize).set(1, n).set(2, stride).viewAt(3, keptShape, keptStrides, x.offset);
    const code = `${bindings([{ name: 'out', type: 'i32' }], [{ name: 'x', type: t }])}${VIEW_WGSL}${MATH_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let base = vpos(prm[3], i);
  var best = x[base];
  var idx = 0u;
  ${firstNan}
    for (var k = 1u; k < prm[1]; k = k + 1u) {
      let v = x[base + k * prm[2]];
      ${nanCheck}
      if (v ${cmp} best) { best = v; idx = k; }
    }
  }
  out[i] = i32(idx);
}`;
    rt.dispatch(`argReduce-${op as ArgReduceOp}-${t}`, code, meta.words(), [out.buffer as GPUBuffer, buf(x)], grid1(outSize));
    return out;
  };

  const matmul: PrimitiveKernels['matmul'] = (a, b) => matmulInto(rt, a, b, null);

  const gather: PrimitiveKernels['gather'] = (x, index, { axis, caller }) => {
    const n = sizeOf(index.shape);
    const out = rt.alloc(x.dtype, n);
    if (n === 0) return out;
    const xStrides = [...x.strides];
    const axisStride = xStrides[axis] ?? 0;
    if (axis < xStrides.length) xStrides[axis] = 0;
    const axisSize = dimSize(x.shape, axis);
    const fault = rt.faultSlot({ kernel: 'gather', caller, axis, size: axisSize });
    // x walked with index's shape: the position of x[..., 0, ...] for every output element.
    const meta = new Meta(6)
      .set(0, n)
      .set(1, axisStride)
      .viewAt(2, index.shape, index.strides, index.offset)
      .viewAt(3, index.shape, xStrides.slice(0, index.shape.length), x.offset)
      .set(4, axisSize)
      .set(5, fault.word);
    // An index outside the axis reads nothing: the element is 0 and the fault slot is flagged.
    const code = `${bindings(
      [{ name: 'out', type: 'u32' }],
      [
        { name: 'x', type: 'u32' },
        { name: 'index', type: 'i32' },
      ],
    )}${faultWgsl(4)}${VIEW_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let raw = index[vpos(prm[2], i)];
  if (raw < 0 || u32(raw) >= prm[4]) {
    fault_at(prm[5], raw);
    out[i] = 0u;
    return;
  }
  let k = u32(raw);
  out[i] = x[vpos(prm[3], i) + k * prm[1]];
}`;
    rt.dispatch('gather', code, meta.words(), [out.buffer as GPUBuffer, buf(x), buf(index), fault.buffer], grid1(n));
    return out;
  };

  const scatter: PrimitiveKernels['scatter'] = (base, index, src, { axis, reduce: mode, caller }) => {
    const size = sizeOf(base.shape);
    const out = rt.alloc(base.dtype, size);
    if (size === 0) {
      // An index into an empty axis is out of range whatever its value.
      if (sizeOf(index.shape) > 0) rt.hostFault({ kernel: 'scatter', caller, axis, size: 0 });
      return out;
    }
    const outStrides = contiguousStrides(base.shape);
    copyInto(out.buffer as GPUBuffer, base, outStrides, 0);
    const lines = splitAxes(index, [axis]);
    const nLines = sizeOf(lines.keptShape);
    const len = dimSize(index.shape, axis);
    if (nLines === 0 || len === 0) return out;
    const srcSplit = splitAxes(src, [axis]);
    const outKept = outStrides.filter((_, d) => d !== axis);
    const axisSize = dimSize(base.shape, axis);
    const fault = rt.faultSlot({ kernel: 'scatter', caller, axis, size: axisSize });
    const meta = new Meta(10)
      .set(0, nLines)
      .set(1, len)
      .set(2, axis < index.shape.length ? index.strides[axis] : 0)
      .set(3, axis < src.shape.length ? src.strides[axis] : 0)
      .set(4, axis < outStrides.length ? outStrides[axis] : 0)
      .viewAt(5, lines.keptShape, lines.keptStrides, index.offset)
      .viewAt(6, srcSplit.keptShape, srcSplit.keptStrides, src.offset)
      .viewAt(7, lines.keptShape, outKept, 0)
      .set(8, axisSize)
      .set(9, fault.word);
    const t = WGSL_TYPE[base.dtype];
    const write =
      mode === 'none'
        ? 'out[p] = v;'
        : base.dtype === 'float32'
          ? 'out[p] = out[p] + v;'
          : base.dtype === 'int32'
            ? 'out[p] = iadd(out[p], v);'
            : 'out[p] = select(0u, 1u, (out[p] | v) != 0u);';
    // One thread per line along `axis`: lines write disjoint outputs, and each applies its
    // elements in order (so float 'add' rounds after every addition, like PyTorch's CPU).
    const code = `${bindings(
      [{ name: 'out', type: t }],
      [
        { name: 'index', type: 'i32' },
        { name: 'src', type: t },
      ],
    )}${faultWgsl(4)}${VIEW_WGSL}${INT_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let ib = vpos(prm[5], i);
  let sb = vpos(prm[6], i);
  let ob = vpos(prm[7], i);
  for (var j = 0u; j < prm[1]; j = j + 1u) {
    let raw = index[ib + j * prm[2]];
    // An index outside the axis writes nothing (not the next row): flag it and go on.
    if (raw < 0 || u32(raw) >= prm[8]) {
      fault_at(prm[9], raw);
      continue;
    }
    let k = u32(raw);
    let v = src[sb + j * prm[3]];
    let p = ob + k * prm[4];
    ${write}
  }
}`;
    rt.dispatch(`scatter-${mode}-${t}`, code, meta.words(), [out.buffer as GPUBuffer, buf(index), buf(src), fault.buffer], grid1(nLines));
    return out;
  };

  const cumsum: PrimitiveKernels['cumsum'] = (x, { axis }) => {
    const size = sizeOf(x.shape);
    const out = rt.alloc(x.dtype, size);
    if (size === 0) return out;
    const { keptShape, keptStrides } = splitAxes(x, [axis]);
    const cs = contiguousStrides(x.shape);
    const outKept = cs.filter((_, d) => d !== axis);
    const n = dimSize(x.shape, axis);
    const meta = new Meta(6)
      .set(0, sizeOf(keptShape))
      .set(1, n)
      .set(2, axis < x.shape.length ? x.strides[axis] : 0)
      .set(3, axis < cs.length ? cs[axis] : 0)
      .viewAt(4, keptShape, keptStrides, x.offset)
      .viewAt(5, keptShape, outKept, 0);
    const t = WGSL_TYPE[x.dtype];
    // float32: compensated (Neumaier) running sum, close to backend-cpu's float64 accumulator.
    const body =
      x.dtype === 'float32'
        ? `var s = 0.0; var c = 0.0;
  for (var j = 0u; j < prm[1]; j = j + 1u) {
    let v = x[ib + j * prm[2]];
    let t = s + v;
    if (is_finite(t)) {
      if (fabs(s) >= fabs(v)) { c = c + ((s - t) + v); } else { c = c + ((v - t) + s); }
      s = t;
      out[ob + j * prm[3]] = s + c;
    } else {
      s = t;
      out[ob + j * prm[3]] = s;
    }
  }`
        : `var s = 0;
  for (var j = 0u; j < prm[1]; j = j + 1u) {
    s = iadd(s, x[ib + j * prm[2]]);
    out[ob + j * prm[3]] = s;
  }`;
    const code = `${bindings([{ name: 'out', type: t }], [{ name: 'x', type: t }])}${VIEW_WGSL}${MATH_WGSL}${INT_WGSL}
${MAIN_1D}
  if (i >= prm[0]) { return; }
  let ib = vpos(prm[4], i);
  let ob = vpos(prm[5], i);
  ${body}
}`;
    rt.dispatch(`cumsum-${t}`, code, meta.words(), [out.buffer as GPUBuffer, buf(x)], grid1(sizeOf(keptShape)));
    return out;
  };

  const concat: PrimitiveKernels['concat'] = (inputs, { axis }) => {
    const first = inputs[0];
    const outShape = [...first.shape];
    outShape[axis] = inputs.reduce((s, v) => s + v.shape[axis], 0);
    for (const v of inputs) buf(v);
    const out = rt.alloc(first.dtype, sizeOf(outShape));
    const outStrides = contiguousStrides(outShape);
    let slot = 0;
    for (const v of inputs) {
      copyInto(out.buffer as GPUBuffer, v, outStrides, slot * outStrides[axis]);
      slot += v.shape[axis];
    }
    return out;
  };

  // In place: the same strided bit copy, aimed at the target view's positions in its own
  // buffer. Dispatches run in queue order, so earlier kernels read the old values.
  const write: PrimitiveKernels['write'] = (target, src) => copyInto(buf(target), src, target.strides, target.offset);

  return { unary, binary, cast, where, reduce, argReduce, matmul, gather, scatter, cumsum, concat, fill, write };
}

interface ReduceSpec {
  init: string;
  step: string;
  result: string;
  combine(a: string, b: string): string;
}

/** Accumulator code of each reduction (`v` is the next element, `acc` the running value). */
function reduceSpec(op: ReduceOp, dtype: DType): ReduceSpec {
  if (dtype === 'float32') {
    switch (op) {
      case 'sum':
        // Neumaier-compensated sum, falling back to the plain sum once it is not finite.
        return {
          init: 'var acc = 0.0; var comp = 0.0;',
          step: `let t = acc + v;
    if (is_finite(t)) { if (fabs(acc) >= fabs(v)) { comp = comp + ((acc - t) + v); } else { comp = comp + ((v - t) + acc); } }
    acc = t;`,
          result: 'select(acc, acc + comp, is_finite(acc))',
          combine: (a, b) => `${a} + ${b}`,
        };
      case 'prod':
        return { init: 'var acc = 1.0;', step: 'acc = acc * v;', result: 'acc', combine: (a, b) => `${a} * ${b}` };
      case 'max':
        return { init: 'var acc = -inff();', step: 'acc = fmaxn(acc, v);', result: 'acc', combine: (a, b) => `fmaxn(${a}, ${b})` };
      case 'min':
        return { init: 'var acc = inff();', step: 'acc = fminn(acc, v);', result: 'acc', combine: (a, b) => `fminn(${a}, ${b})` };
      default:
        break;
    }
  } else if (dtype === 'int32') {
    switch (op) {
      case 'sum':
        return { init: 'var acc = 0;', step: 'acc = iadd(acc, v);', result: 'acc', combine: (a, b) => `iadd(${a}, ${b})` };
      case 'prod':
        return { init: 'var acc = 1;', step: 'acc = imul(acc, v);', result: 'acc', combine: (a, b) => `imul(${a}, ${b})` };
      case 'max':
        return { init: 'var acc = -2147483647 - 1;', step: 'acc = max(acc, v);', result: 'acc', combine: (a, b) => `max(${a}, ${b})` };
      case 'min':
        return { init: 'var acc = 2147483647;', step: 'acc = min(acc, v);', result: 'acc', combine: (a, b) => `min(${a}, ${b})` };
      default:
        break;
    }
  } else {
    switch (op) {
      case 'any':
      case 'max':
        return { init: 'var acc = 0u;', step: 'acc = acc | select(0u, 1u, v != 0u);', result: 'acc', combine: (a, b) => `(${a} | ${b})` };
      case 'all':
      case 'min':
        return { init: 'var acc = 1u;', step: 'acc = acc & select(0u, 1u, v != 0u);', result: 'acc', combine: (a, b) => `(${a} & ${b})` };
      case 'sum':
        return { init: 'var acc = 0u;', step: 'acc = acc | select(0u, 1u, v != 0u);', result: 'acc', combine: (a, b) => `(${a} | ${b})` };
      case 'prod':
        return { init: 'var acc = 1u;', step: 'acc = acc & select(0u, 1u, v != 0u);', result: 'acc', combine: (a, b) => `(${a} & ${b})` };
    }
  }
  throw new BackendError(`webgpu: reduce '${op}' is not defined on ${dtype}`);
}

/** Tile sizes of the matmul kernel: 32×32 outputs per workgroup of 8×8 threads (4×4 each), K in steps of 16. */
const TS = 32;
const TK = 16;

/**
 * The matmul kernel's WGSL; with `activation` (a {@link F32_UNARY} op), its epilogue applies
 * that op's body (the same code the unary kernel runs) after the bias.
 */
function matmulWgsl(activation: UnaryOp | null): string {
  const act = activation ? F32_UNARY[activation] : undefined;
  if (activation && !act) throw new BackendError(`webgpu: no linear epilogue for '${activation}'`);
  const base = MATMUL_WGSL.replace(
    'out[(bt * M + r) * N + c] = v;',
    act ? 'out[(bt * M + r) * N + c] = act(v);' : 'out[(bt * M + r) * N + c] = v;',
  );
  return act ? `${base}\n${MATH_WGSL}\nfn act(x: f32) -> f32 { ${act} }\n` : base;
}

const MATMUL_WGSL = /* wgsl */ `${bindings(
  [{ name: 'out', type: 'f32' }],
  [
    { name: 'A', type: 'f32' },
    { name: 'B', type: 'f32' },
    { name: 'bias', type: 'f32' },
  ],
)}${VIEW_WGSL}
var<workgroup> As: array<f32, ${TS * TK}>;
var<workgroup> Bs: array<f32, ${TS * TK}>;
// meta: 0 M, 1 K, 2 N, 3 batch start, 4 A batch view, 5 B batch view, 6..9 A row/col, B row/col strides, 10 has bias, 11 bias offset, 12 bias stride
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let M = prm[0];
  let K = prm[1];
  let N = prm[2];
  let bt = wid.z + prm[3];
  let aBase = vpos(prm[4], bt);
  let bBase = vpos(prm[5], bt);
  let rsa = prm[6];
  let csa = prm[7];
  let rsb = prm[8];
  let csb = prm[9];
  let row0 = wid.y * ${TS}u;
  let col0 = wid.x * ${TS}u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < K; k0 = k0 + ${TK}u) {
    for (var e = li; e < ${TS * TK}u; e = e + 64u) {
      let m = e / ${TK}u;
      let kk = e % ${TK}u;
      let gr = row0 + m;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < M && gk < K) { v = A[aBase + gr * rsa + gk * csa]; }
      As[kk * ${TS}u + m] = v;
    }
    for (var e = li; e < ${TS * TK}u; e = e + 64u) {
      let kk = e / ${TS}u;
      let n = e % ${TS}u;
      let gc = col0 + n;
      let gk = k0 + kk;
      var v = 0.0;
      if (gc < N && gk < K) { v = B[bBase + gk * rsb + gc * csb]; }
      Bs[kk * ${TS}u + n] = v;
    }
    workgroupBarrier();
    let kmax = min(${TK}u, K - k0);
    for (var kk = 0u; kk < kmax; kk = kk + 1u) {
      let a0 = As[kk * ${TS}u + lid.y * 4u];
      let a1 = As[kk * ${TS}u + lid.y * 4u + 1u];
      let a2 = As[kk * ${TS}u + lid.y * 4u + 2u];
      let a3 = As[kk * ${TS}u + lid.y * 4u + 3u];
      for (var j = 0u; j < 4u; j = j + 1u) {
        let bv = Bs[kk * ${TS}u + lid.x * 4u + j];
        acc[j] = acc[j] + a0 * bv;
        acc[4u + j] = acc[4u + j] + a1 * bv;
        acc[8u + j] = acc[8u + j] + a2 * bv;
        acc[12u + j] = acc[12u + j] + a3 * bv;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i = i + 1u) {
    let r = row0 + lid.y * 4u + i;
    if (r >= M) { continue; }
    for (var j = 0u; j < 4u; j = j + 1u) {
      let c = col0 + lid.x * 4u + j;
      if (c >= N) { continue; }
      var v = acc[i * 4u + j];
      if (prm[10] != 0u) { v = v + bias[prm[11] + c * prm[12]]; }
      out[(bt * M + r) * N + c] = v;
    }
  }
}`;

/**
 * Batched float32 matmul `a [...batch, M, K] @ b [...batch, K, N] (+ bias[N])` with a tiled
 * workgroup-memory kernel; operands in any strided layout (transposed, broadcast batch).
 */
export function matmulInto(rt: Runtime, a: TensorView, b: TensorView, bias: TensorView | null, activation: UnaryOp | null = null): GPUData {
  const code = activation ? matmulWgsl(activation) : MATMUL_WGSL;
  const rank = a.shape.length;
  const batchShape = a.shape.slice(0, rank - 2);
  const m = a.shape[rank - 2];
  const k = a.shape[rank - 1];
  const n = b.shape[rank - 1];
  const batch = sizeOf(batchShape);
  const aBuf = rt.buffer(a.dataId);
  const bBuf = rt.buffer(b.dataId);
  let biasBuf = aBuf;
  if (bias) {
    biasBuf = rt.buffer(bias.dataId);
  }
  const out = rt.alloc('float32', batch * m * n);
  if (batch * m * n === 0) return out;
  for (let start = 0; start < batch; start += 65535) {
    const count = Math.min(65535, batch - start);
    const meta = new Meta(13)
      .set(0, m)
      .set(1, k)
      .set(2, n)
      .set(3, start)
      .viewAt(4, batchShape, a.strides.slice(0, rank - 2), a.offset)
      .viewAt(5, batchShape, b.strides.slice(0, rank - 2), b.offset)
      .set(6, a.strides[rank - 2])
      .set(7, a.strides[rank - 1])
      .set(8, b.strides[rank - 2])
      .set(9, b.strides[rank - 1])
      .set(10, bias ? 1 : 0)
      .set(11, bias ? bias.offset : 0)
      .set(12, bias ? (bias.shape.length > 0 ? bias.strides[0] : 0) : 0);
    rt.dispatch(
      activation ? `linear-${activation}` : 'matmul',
      code,
      meta.words(),
      [out.buffer as GPUBuffer, aBuf, bBuf, biasBuf],
      [Math.ceil(n / TS), Math.ceil(m / TS), count],
    );
  }
  return out;
}
