/**
 * Encoding a frame (layout in frame.ts): the header JSON, then each tensor at its canonical
 * 4-aligned place, in the frame's float encoding (uint32 tensors as they are).
 */
import { FrameError } from './errors.js';
import { writeFloat16LE, writeFloat32LE, writeUint32LE } from './endian.js';
import { FLOAT16_OVERFLOW, firstNonFinite, int8Scale, quantizeInt8 } from './quantize.js';
import type { Encoding } from './messages.js';
import {
  DTYPE_BYTES,
  MAGIC_BYTES,
  PREFIX_BYTES,
  align4,
  errorText,
  isEncoding,
  shapeProduct,
  type EncodeOptions,
  type TensorDescriptor,
  type TensorDtype,
  type TensorInput,
} from './frame-format.js';

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
