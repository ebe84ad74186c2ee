/**
 * The frame format's constants and types, shared by the encoder (frame-encode.ts) and the
 * decoder (frame-decode.ts); the layout itself is described in frame.ts.
 */
import type { Encoding } from './messages.js';

export const FRAME_MAGIC = 'FSF1';
/** Receivers reject larger frames before parsing anything. Aggregator config may raise it. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Magic (4) + header length (4). */
export const PREFIX_BYTES = 8;
export const MAGIC_BYTES = new TextEncoder().encode(FRAME_MAGIC);

/** A tensor's dtype on the wire: a float encoding, or uint32 for integer tensors. */
export type TensorDtype = Encoding | 'uint32';

export const DTYPE_BYTES: Readonly<Record<TensorDtype, number>> = { float32: 4, float16: 2, int8: 1, uint32: 4 };

export interface TensorInput {
  name: string;
  shape: number[];
  /** Float32Array: sent in the frame's encoding. Uint32Array: sent as uint32, exactly. */
  data: Float32Array | Uint32Array;
}

export interface EncodeOptions {
  /** Wire encoding of every tensor in the frame (default float32, lossless). */
  encoding?: Encoding;
  /** If set, refuse to build a frame the receiver would reject as too large. */
  maxBytes?: number;
}

export interface DecodeOptions {
  /** Default DEFAULT_MAX_FRAME_BYTES. */
  maxBytes?: number;
  /**
   * Where to put a float32 tensor's values instead of a fresh array: called with the tensor's
   * name and value count once the frame's layout is checked; a Float32Array of exactly that length
   * receives the values (and becomes `DecodedTensor.data`), anything else (undefined, another
   * length) means a fresh array as usual. For decoding an update straight into the slot the
   * aggregation reads it from (`updateSlot()` of FedAvg's aggregation): one copy out of the frame
   * instead of two. Not used for float16, int8 or uint32 tensors. If decoding fails after the
   * copy (a non-finite value), the target holds the frame's values.
   */
  floatTarget?: (name: string, count: number) => Float32Array | undefined;
  /**
   * float32 tensors become views into `bytes` when the host is little-endian and the values are
   * 4-byte aligned in memory (a copy otherwise): no allocation and no copy per tensor. Only for a
   * caller that owns the frame's bytes and never reuses them, such as the aggregator decoding a
   * socket message (issue 14 item 1: the 16 KB copy of each MLP update was a fifth of decoding);
   * the tensor then keeps the whole frame alive. Default false: owned copies.
   */
  views?: boolean;
  /**
   * Message fields that may travel as uint32 tensors (tensor-fields.ts, e.g. HISTOGRAM_TENSOR_FIELDS):
   * such a tensor is put back into the message before the schema checks it. The frame's layout and
   * tensors are then checked before the message.
   */
  tensorFields?: readonly string[];
}

/** One entry of the header's `tensors` array. */
export interface TensorDescriptor {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  /** Relative to the payload start; always a multiple of 4. */
  byteOffset: number;
  byteLength: number;
  /** int8 only: value = q · scale. */
  scale?: number;
}

export interface DecodedTensor {
  shape: number[];
  /**
   * Float tensors: float32 after decoding, owned by the caller (never a view into the
   * frame unless `DecodeOptions.views` asked for one; the caller's own array when
   * `DecodeOptions.floatTarget` supplied one). uint32
   * tensors: EMPTY (their values are in `uint32`), so code that expects floats sees a length
   * mismatch instead of misreading integers.
   */
  data: Float32Array;
  /** uint32 tensors only: the values, owned by the caller. */
  uint32?: Uint32Array;
  /** The dtype the tensor had on the wire. */
  dtype: TensorDtype;
  /** Bytes the tensor occupied on the wire. */
  byteLength: number;
  /**
   * Float tensors: Σ data[i]² in float64, computed by the same pass that checked every value is
   * finite; Math.sqrt of it equals common/dp `l2Norm(data)` bit for bit, so a receiver that needs
   * the update's norm need not walk the update again. uint32 tensors: 0.
   */
  sumOfSquares: number;
}

export interface DecodedFrame<T> {
  msg: T;
  tensors: Map<string, DecodedTensor>;
}

/** The frame-level float encodings (uint32 is a tensor dtype, never a frame encoding). */
export function isEncoding(value: unknown): value is Encoding {
  return value === 'float32' || value === 'float16' || value === 'int8';
}

export function shapeProduct(shape: ReadonlyArray<number>): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function align4(n: number): number {
  // Arithmetic, not bit tricks: offsets may exceed 2^31 in principle.
  return Math.ceil(n / 4) * 4;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') || '(none)';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
