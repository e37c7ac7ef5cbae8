/** Op codes the kernels switch on: each op's index in core's op lists (native/kernels/args.h mirrors them). */
import {
  BINARY_OPS,
  type BinaryOp,
  type DType,
  REDUCE_OPS,
  type RecurrentMode,
  type ReduceOp,
  UNARY_OPS,
  type UnaryOp,
} from '@ghostflow/core';

/** Kernel code of a unary op (also the fused linear's activation). */
export const unaryCode = (op: UnaryOp): number => UNARY_OPS.indexOf(op);
/** Kernel code of a binary op. */
export const binaryCode = (op: BinaryOp): number => BINARY_OPS.indexOf(op);
/** Kernel code of a reduce op. */
export const reduceCode = (op: ReduceOp): number => REDUCE_OPS.indexOf(op);
/** Binary ops from `eq` on return bool. */
export const binaryReturnsBool = (op: BinaryOp): boolean => binaryCode(op) >= BINARY_OPS.indexOf('eq');

/** GfDType codes. */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, int32: 1, bool: 2 };
/** Kernel name suffix per dtype. */
export const DTYPE_SUFFIX: Record<DType, string> = { float32: 'f32', int32: 'i32', bool: 'b8' };
/** Kernel name suffix of size-only kernels (copy, where, gather). */
export const sizeSuffix = (dtype: DType): string => (dtype === 'bool' ? '1' : '4');

/** GfSeqMode codes of the whole-sequence recurrent kernels (native/kernels/args.h). */
export const RECURRENT_MODE_CODE: Record<RecurrentMode, number> = { LSTM: 0, GRU: 1, RNN_TANH: 2, RNN_RELU: 3 };
