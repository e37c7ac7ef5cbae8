/**
 * Element types a tensor can hold. `bool` is stored one byte per element (0 or 1).
 * The table below is the single place that knows the storage of each dtype, so a new
 * dtype (float16 is the planned one) is added here and in the kernels that support it.
 */
export type DType = 'float32' | 'int32' | 'bool';

/** The typed array that stores each dtype. */
export interface DTypeArrayMap {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** Any typed array a tensor can be stored in. */
export type TypedArray = DTypeArrayMap[DType];

type ArrayCtor = { new (length: number): TypedArray; BYTES_PER_ELEMENT: number };

const ARRAY_CTORS: Record<DType, ArrayCtor> = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
};

/** Every dtype, in type-promotion order (a later one wins). */
export const DTYPES: readonly DType[] = ['bool', 'int32', 'float32'];

/** Bytes one element of `dtype` occupies in backend storage. */
export function bytesPerElement(dtype: DType): number {
  return ARRAY_CTORS[dtype].BYTES_PER_ELEMENT;
}

/** Allocates a zeroed typed array of the right kind for `dtype`. */
export function allocArray<D extends DType>(dtype: D, length: number): DTypeArrayMap[D] {
  return new ARRAY_CTORS[dtype](length) as DTypeArrayMap[D];
}

/** Whether `value` is a valid dtype name. */
export function isDType(value: unknown): value is DType {
  return value === 'float32' || value === 'int32' || value === 'bool';
}

/** The dtype a typed array naturally stores, or undefined for arrays GhostFlow does not hold. */
export function dtypeOfArray(array: ArrayBufferView): DType | undefined {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint8Array) return 'bool';
  return undefined;
}

/** PyTorch-style promotion: the result dtype of combining two tensors. */
export function promoteTypes(a: DType, b: DType): DType {
  return DTYPES.indexOf(a) >= DTYPES.indexOf(b) ? a : b;
}

/** Whether the dtype is a floating-point type (differentiable). */
export function isFloating(dtype: DType): boolean {
  return dtype === 'float32';
}
