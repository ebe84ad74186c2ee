/**
 * The binary frame: one protocol message plus its tensors, in a single buffer.
 *
 *   offset 0   "FSF1"                      magic (also the format version)
 *   offset 4   uint32 LE                   header length H in bytes
 *   offset 8   UTF-8 JSON, H bytes         { msg, tensors: [{ name, shape, dtype, byteOffset, byteLength, scale? }] }
 *   ...        0-3 zero bytes              pads the header to a 4-byte boundary: the payload start P
 *   P + off    tensor payloads             each at a 4-byte-aligned offset relative to P, in header order
 *
 * Tensors are packed canonically: the first at offset 0, each next one at the first
 * 4-byte boundary after the previous one ends (zero padding), and the frame ends
 * exactly where the last tensor ends. Anything else is rejected, so a frame has one
 * valid byte layout and a decoder never has to guess what stray bytes mean.
 *
 * Tensor dtypes: float32, float16 and int8 (lossy encodings of float data, chosen per
 * frame) and uint32 (integers mod 2^32, e.g. secure-aggregation masked vectors: a
 * Uint32Array input is always sent as uint32, never quantized).
 *
 * Numbers in payloads are little-endian whatever the host. On little-endian hosts (all
 * mainstream ones) a float32 tensor crosses the codec with one memcpy; big-endian hosts
 * take a DataView path that produces the same bytes.
 */
import { z } from 'zod';
import { FrameError, headerInvalid, formatPath } from './errors.js';
import { ClientMessage, ServerMessage, type Encoding } from './messages.js';
import { firstNonFiniteIndex, sumOfSquares } from '../kernels/sum-squares.js';
import {
  HOST_LITTLE_ENDIAN,
  readFloat32LE,
  readUint16LE,
  readUint32LE,
  writeFloat16LE,
  writeFloat32LE,
  writeUint32LE,
} from './endian.js';
import {
  FLOAT16_OVERFLOW,
  decodeFloat16,
  dequantizeInt8,
  firstNonFinite,
  int8Scale,
  quantizeInt8,
} from './quantize.js';

export const FRAME_MAGIC = 'FSF1';
/** Receivers reject larger frames before parsing anything. Aggregator config may raise it. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Magic (4) + header length (4). */
const PREFIX_BYTES = 8;
const MAGIC_BYTES = new TextEncoder().encode(FRAME_MAGIC);

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

// ---------------------------------------------------------------- encoding

export function encodeFrame(
  msg: object,
  tensors: ReadonlyArray<TensorInput> = [],
  opts: EncodeOptions = {},
): Uint8Array {
  const encoding = opts.encoding ?? 'float32';
  if (!isEncoding(encoding)) {
    throw new FrameError(
      'UNKNOWN_DTYPE',
      `unknown tensor encoding "${String(encoding)}" (expected float32, float16 or int8)`,
    );
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new FrameError('HEADER_INVALID', 'msg: the frame message must be a plain object');
  }

  const descriptors = layoutTensors(tensors, encoding);
  let headerJson: string;
  try {
    headerJson = JSON.stringify({ msg, tensors: descriptors });
  } catch (err) {
    throw new FrameError('BAD_HEADER_JSON', `message cannot be serialized to JSON: ${errorText(err)}`, { cause: err });
  }
  const header = new TextEncoder().encode(headerJson);
  const payloadStart = align4(PREFIX_BYTES + header.length);
  const last = descriptors[descriptors.length - 1];
  const total = payloadStart + (last ? last.byteOffset + last.byteLength : 0);
  if (opts.maxBytes !== undefined && total > opts.maxBytes) {
    throw new FrameError('FRAME_TOO_LARGE', `frame would be ${total} bytes, over the ${opts.maxBytes}-byte limit`);
  }

  // Fresh zero-filled buffer: every padding byte is already zero, and byteOffset 0 plus
  // 4-aligned tensor offsets make typed-array views into it legal.
  const frame = new Uint8Array(total);
  frame.set(MAGIC_BYTES, 0);
  new DataView(frame.buffer).setUint32(4, header.length, true);
  frame.set(header, PREFIX_BYTES);
  descriptors.forEach((d, i) => writeTensor(frame, payloadStart + d.byteOffset, tensors[i].data, d));
  return frame;
}

/** Validates every tensor and assigns its canonical place in the payload. */
function layoutTensors(tensors: ReadonlyArray<TensorInput>, encoding: Encoding): TensorDescriptor[] {
  const seen = new Set<string>();
  const limit = encoding === 'float16' ? FLOAT16_OVERFLOW : Infinity;
  let cursor = 0;
  return tensors.map(({ name, shape, data }, i) => {
    if (typeof name !== 'string' || name.length === 0) {
      throw new FrameError('HEADER_INVALID', `tensors[${i}].name: tensor names must be non-empty strings`);
    }
    if (seen.has(name)) throw new FrameError('HEADER_INVALID', `tensors[${i}].name: duplicate tensor name "${name}"`);
    seen.add(name);
    const integer = data instanceof Uint32Array;
    if (!(data instanceof Float32Array) && !integer) {
      throw new FrameError('TENSOR_SHAPE_MISMATCH', `tensor "${name}": data must be a Float32Array or Uint32Array`);
    }
    if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new FrameError(
        'TENSOR_SHAPE_MISMATCH',
        `tensor "${name}": shape ${JSON.stringify(shape)} must be non-negative integers`,
      );
    }
    const count = shapeProduct(shape);
    if (count !== data.length) {
      throw new FrameError(
        'TENSOR_SHAPE_MISMATCH',
        `tensor "${name}": shape [${shape.join(', ')}] holds ${count} values but data has ${data.length}`,
      );
    }
    const bad = integer ? -1 : firstNonFinite(data, limit);
    if (bad >= 0) {
      const why = Number.isFinite(data[bad]) ? `overflows float16 (max ±65504)` : 'is not finite';
      throw new FrameError('NON_FINITE', `tensor "${name}": value ${data[bad]} at index ${bad} ${why}`);
    }
    const dtype: TensorDtype = integer ? 'uint32' : encoding;
    const byteOffset = align4(cursor);
    const byteLength = count * DTYPE_BYTES[dtype];
    cursor = byteOffset + byteLength;
    const d: TensorDescriptor = { name, shape: [...shape], dtype, byteOffset, byteLength };
    if (dtype === 'int8') d.scale = int8Scale(data as Float32Array);
    return d;
  });
}

function writeTensor(frame: Uint8Array, at: number, input: Float32Array | Uint32Array, d: TensorDescriptor): void {
  if (d.dtype === 'uint32') return writeUint32LE(frame, at, input as Uint32Array);
  const data = input as Float32Array;
  switch (d.dtype) {
    case 'float32':
      return writeFloat32LE(frame, at, data);
    case 'float16':
      return writeFloat16LE(frame, at, data);
    case 'int8':
      quantizeInt8(data, { scale: d.scale, out: new Int8Array(frame.buffer, frame.byteOffset + at, data.length) });
  }
}

// ---------------------------------------------------------------- decoding

const TensorDescriptorSchema = z.object({
  name: z.string().min(1).max(256),
  shape: z.array(z.number().int().nonnegative()).max(32),
  // Any string here: an unrecognised dtype gets its own error code (UNKNOWN_DTYPE) below.
  dtype: z.string(),
  byteOffset: z.number().int().nonnegative(),
  byteLength: z.number().int().nonnegative(),
  scale: z.number().nonnegative().optional(),
});

const HeaderSchema = z
  .object({ msg: z.unknown(), tensors: z.array(TensorDescriptorSchema).max(1024) })
  .superRefine((h, ctx) => {
    const seen = new Set<string>();
    h.tensors.forEach((t, i) => {
      if (seen.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['tensors', i, 'name'], message: `duplicate tensor name "${t.name}"` });
      seen.add(t.name);
    });
  });

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeFrame<T>(bytes: Uint8Array, schema: z.ZodType<T>, opts: DecodeOptions = {}): DecodedFrame<T> {
  // Size first: an oversized frame must cost nothing beyond this comparison.
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new FrameError('FRAME_TOO_LARGE', `frame is ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit`);
  }
  const { header, payloadStart } = readHeader(bytes);
  const descriptors = validateDescriptors(header.tensors);
  const parsed = schema.safeParse(header.msg);
  if (!parsed.success) throw headerInvalid('invalid message in frame header', parsed.error.issues, 'msg');
  checkLayout(bytes, payloadStart, descriptors);

  const tensors = new Map<string, DecodedTensor>();
  for (const d of descriptors) {
    if (d.dtype === 'uint32') {
      const uint32 = readUint32LE(bytes, payloadStart + d.byteOffset, d.byteLength / 4);
      tensors.set(d.name, {
        shape: d.shape,
        data: new Float32Array(0),
        uint32,
        dtype: d.dtype,
        byteLength: d.byteLength,
        sumOfSquares: 0,
      });
      continue;
    }
    const target = d.dtype === 'float32' ? opts.floatTarget?.(d.name, d.byteLength / 4) : undefined;
    const data =
      target instanceof Float32Array && target.length === d.byteLength / 4
        ? readFloat32Into(bytes, payloadStart + d.byteOffset, target)
        : opts.views &&
            d.dtype === 'float32' &&
            HOST_LITTLE_ENDIAN &&
            (bytes.byteOffset + payloadStart + d.byteOffset) % 4 === 0
          ? new Float32Array(bytes.buffer, bytes.byteOffset + payloadStart + d.byteOffset, d.byteLength / 4)
          : readTensor(bytes, payloadStart + d.byteOffset, d);
    // One pass: finite iff the float64 sum of squares is (kernels/sum-squares.ts), and the
    // receiver gets the norm's square for free. The index is searched only on the error path.
    const sumSq = sumOfSquares(data);
    if (!Number.isFinite(sumSq)) {
      const bad = firstNonFiniteIndex(data);
      throw new FrameError(
        'NON_FINITE',
        `tensor "${d.name}" (${d.dtype}): value ${data[bad]} at index ${bad} is not finite`,
      );
    }
    tensors.set(d.name, { shape: d.shape, data, dtype: d.dtype, byteLength: d.byteLength, sumOfSquares: sumSq });
  }
  return { msg: parsed.data, tensors };
}

/** Magic, header length, padding, JSON, envelope schema — in that order. */
function readHeader(bytes: Uint8Array): { header: z.infer<typeof HeaderSchema>; payloadStart: number } {
  const magicSeen = Math.min(bytes.length, MAGIC_BYTES.length);
  for (let i = 0; i < magicSeen; i++) {
    if (bytes[i] !== MAGIC_BYTES[i]) {
      throw new FrameError(
        'BAD_MAGIC',
        `not a FinSecure frame: expected magic "FSF1", got bytes ${hex(bytes.subarray(0, 4))}`,
      );
    }
  }
  if (bytes.length < PREFIX_BYTES) {
    throw new FrameError('FRAME_TRUNCATED', `frame truncated: ${bytes.length} bytes, shorter than the 8-byte prefix`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, PREFIX_BYTES).getUint32(4, true);
  const headerEnd = PREFIX_BYTES + headerLength;
  if (headerEnd > bytes.length) {
    throw new FrameError(
      'FRAME_TRUNCATED',
      `frame truncated: header length ${headerLength} runs past the end of the ${bytes.length}-byte frame`,
    );
  }
  const payloadStart = align4(headerEnd);
  if (payloadStart > bytes.length) {
    throw new FrameError(
      'FRAME_TRUNCATED',
      `frame truncated: ends inside the header padding (${bytes.length} of ${payloadStart} bytes)`,
    );
  }
  for (let i = headerEnd; i < payloadStart; i++) {
    if (bytes[i] !== 0)
      throw new FrameError('BAD_HEADER_JSON', `header padding byte at offset ${i} is ${bytes[i]}, must be 0`);
  }

  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(bytes.subarray(PREFIX_BYTES, headerEnd)));
  } catch (err) {
    throw new FrameError('BAD_HEADER_JSON', `frame header is not valid UTF-8 JSON: ${errorText(err)}`, { cause: err });
  }
  const header = HeaderSchema.safeParse(json);
  if (!header.success) throw headerInvalid('invalid frame header', header.error.issues, '');
  return { header: header.data, payloadStart };
}

/** Narrows dtype strings to known encodings and checks the int8 scale rule. */
function validateDescriptors(raw: ReadonlyArray<z.infer<typeof TensorDescriptorSchema>>): TensorDescriptor[] {
  return raw.map((t, i) => {
    const { dtype } = t;
    if (!isEncoding(dtype) && dtype !== 'uint32') {
      throw new FrameError(
        'UNKNOWN_DTYPE',
        `tensor "${t.name}" has unknown dtype "${dtype}" (expected float32, float16, int8 or uint32)`,
      );
    }
    const path = formatPath(['tensors', i, 'scale']);
    if (dtype === 'int8' && t.scale === undefined) {
      throw new FrameError('HEADER_INVALID', `invalid frame header: ${path}: int8 tensor "${t.name}" needs a scale`);
    }
    if (dtype !== 'int8' && t.scale !== undefined) {
      throw new FrameError(
        'HEADER_INVALID',
        `invalid frame header: ${path}: only int8 tensors carry a scale ("${t.name}" is ${dtype})`,
      );
    }
    return { ...t, dtype };
  });
}

/** Enforces the canonical packing described at the top of this file. */
function checkLayout(bytes: Uint8Array, payloadStart: number, descriptors: ReadonlyArray<TensorDescriptor>): void {
  const payloadLength = bytes.length - payloadStart;
  let prevEnd = 0;
  let prevName: string | undefined;
  for (const d of descriptors) {
    const size = DTYPE_BYTES[d.dtype];
    const expectedBytes = shapeProduct(d.shape) * size;
    if (expectedBytes !== d.byteLength) {
      throw new FrameError(
        'TENSOR_SHAPE_MISMATCH',
        `tensor "${d.name}": shape [${d.shape.join(', ')}] of ${d.dtype} needs ${expectedBytes} bytes, header says byteLength ${d.byteLength}`,
      );
    }
    if (d.byteOffset % 4 !== 0) {
      throw new FrameError(
        'TENSOR_SHAPE_MISMATCH',
        `tensor "${d.name}": byteOffset ${d.byteOffset} is not 4-byte aligned`,
      );
    }
    const expectedOffset = align4(prevEnd);
    if (d.byteOffset < expectedOffset) {
      throw new FrameError(
        'TENSOR_SHAPE_MISMATCH',
        `tensor "${d.name}" at byteOffset ${d.byteOffset} overlaps tensor "${prevName}", which ends at ${prevEnd}`,
      );
    }
    if (d.byteOffset > expectedOffset) {
      throw new FrameError(
        'TENSOR_SHAPE_MISMATCH',
        `tensor "${d.name}" at byteOffset ${d.byteOffset} leaves a gap: expected ${expectedOffset} (tensors are packed in header order)`,
      );
    }
    const end = d.byteOffset + d.byteLength;
    if (end > payloadLength) {
      throw new FrameError(
        'FRAME_TRUNCATED',
        `frame truncated: tensor "${d.name}" needs payload bytes [${d.byteOffset}, ${end}) but the payload has ${payloadLength}`,
      );
    }
    for (let i = payloadStart + prevEnd; i < payloadStart + d.byteOffset; i++) {
      if (bytes[i] !== 0)
        throw new FrameError('TENSOR_SHAPE_MISMATCH', `padding byte before tensor "${d.name}" is not zero`);
    }
    prevEnd = end;
    prevName = d.name;
  }
  if (payloadLength !== prevEnd) {
    const after = prevName === undefined ? 'the header (no tensors declared)' : `tensor "${prevName}"`;
    throw new FrameError('TENSOR_SHAPE_MISMATCH', `${payloadLength - prevEnd} trailing bytes after ${after}`);
  }
}

function readTensor(bytes: Uint8Array, at: number, d: TensorDescriptor): Float32Array {
  const count = d.byteLength / DTYPE_BYTES[d.dtype];
  switch (d.dtype) {
    case 'uint32':
      throw new Error('readTensor: uint32 tensors are read by readUint32LE'); // unreachable: decodeFrame branches first
    case 'float32':
      return readFloat32LE(bytes, at, count);
    case 'float16':
      return decodeFloat16(readUint16LE(bytes, at, count));
    case 'int8':
      // Int8Array views need no alignment and bytes have no order: dequantize in place.
      return dequantizeInt8(new Int8Array(bytes.buffer, bytes.byteOffset + at, count), d.scale ?? 0);
  }
}

/** float32 LE payload at bytes[at] into `out` (one memcpy on little-endian hosts). */
function readFloat32Into(bytes: Uint8Array, at: number, out: Float32Array): Float32Array {
  const n = out.length * 4;
  if (HOST_LITTLE_ENDIAN) new Uint8Array(out.buffer, out.byteOffset, n).set(bytes.subarray(at, at + n));
  else out.set(readFloat32LE(bytes, at, out.length));
  return out;
}

// ---------------------------------------------------------------- typed messages

/** Validates a client → aggregator message, then frames it. */
export function encodeClientMessage(
  msg: z.input<typeof ClientMessage>,
  tensors?: ReadonlyArray<TensorInput>,
  opts?: EncodeOptions,
): Uint8Array {
  const parsed = ClientMessage.safeParse(msg);
  if (!parsed.success) throw headerInvalid('invalid client message', parsed.error.issues, 'msg');
  return encodeFrame(parsed.data, tensors, opts);
}

export function decodeClientMessage(bytes: Uint8Array, opts?: DecodeOptions): DecodedFrame<ClientMessage> {
  return decodeFrame(bytes, ClientMessage, opts);
}

/** Validates an aggregator → client message, then frames it. */
export function encodeServerMessage(
  msg: z.input<typeof ServerMessage>,
  tensors?: ReadonlyArray<TensorInput>,
  opts?: EncodeOptions,
): Uint8Array {
  const parsed = ServerMessage.safeParse(msg);
  if (!parsed.success) throw headerInvalid('invalid server message', parsed.error.issues, 'msg');
  return encodeFrame(parsed.data, tensors, opts);
}

export function decodeServerMessage(bytes: Uint8Array, opts?: DecodeOptions): DecodedFrame<ServerMessage> {
  return decodeFrame(bytes, ServerMessage, opts);
}

// ---------------------------------------------------------------- small helpers

/** The frame-level float encodings (uint32 is a tensor dtype, never a frame encoding). */
function isEncoding(value: unknown): value is Encoding {
  return value === 'float32' || value === 'float16' || value === 'int8';
}

function shapeProduct(shape: ReadonlyArray<number>): number {
  return shape.reduce((a, b) => a * b, 1);
}

function align4(n: number): number {
  // Arithmetic, not bit tricks: offsets may exceed 2^31 in principle.
  return Math.ceil(n / 4) * 4;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') || '(none)';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
