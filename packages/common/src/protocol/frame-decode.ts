/**
 * Decoding a frame (layout in frame.ts), strictly: size first, then magic, header length,
 * padding, JSON, the envelope's schema, the message's schema, the tensors' canonical layout, and
 * every float value finite (in the same pass that sums their squares).
 */
import { z } from 'zod';
import { FrameError, headerInvalid, formatPath } from './errors.js';
import { fillTensorFields } from './tensor-fields.js';
import { HeaderSchema, plainHeader, type Header, type WireDescriptor } from './frame-envelope.js';
import { firstNonFiniteIndex, sumOfSquares } from '../kernels/sum-squares.js';
import { HOST_LITTLE_ENDIAN, readFloat32LE, readUint16LE, readUint32LE } from './endian.js';
import { decodeFloat16, dequantizeInt8 } from './quantize.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  DTYPE_BYTES,
  MAGIC_BYTES,
  PREFIX_BYTES,
  align4,
  errorText,
  hex,
  isEncoding,
  shapeProduct,
  type DecodeOptions,
  type DecodedFrame,
  type DecodedTensor,
  type TensorDescriptor,
} from './frame-format.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeFrame<T>(bytes: Uint8Array, schema: z.ZodType<T>, opts: DecodeOptions = {}): DecodedFrame<T> {
  // Size first: an oversized frame must cost nothing beyond this comparison.
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new FrameError('FRAME_TOO_LARGE', `frame is ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit`);
  }
  const { header, payloadStart } = readHeader(bytes);
  const descriptors = validateDescriptors(header.tensors);
  // With tensor fields (tensor-fields.ts), the message is whole only once its tensors are read.
  const fields = opts.tensorFields;
  const check = (): T => {
    const parsed = schema.safeParse(header.msg);
    if (!parsed.success) throw headerInvalid('invalid message in frame header', parsed.error.issues, 'msg');
    return parsed.data;
  };
  const early = fields ? null : check();
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
  if (!fields) return { msg: early!, tensors };
  fillTensorFields(header.msg, tensors, fields);
  return { msg: check(), tensors };
}

/** Magic, header length, padding, JSON, envelope schema — in that order. */
function readHeader(bytes: Uint8Array): { header: Header; payloadStart: number } {
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
  const plain = plainHeader(json);
  if (plain) return { header: plain, payloadStart };
  const header = HeaderSchema.safeParse(json);
  if (!header.success) throw headerInvalid('invalid frame header', header.error.issues, '');
  return { header: header.data, payloadStart };
}

/** Narrows dtype strings to known encodings and checks the int8 scale rule. */
function validateDescriptors(raw: ReadonlyArray<WireDescriptor>): TensorDescriptor[] {
  return raw.map((t, i) => {
    const { dtype } = t;
    if (!isEncoding(dtype) && dtype !== 'uint32') {
      throw new FrameError(
        'UNKNOWN_DTYPE',
        `tensor "${t.name}" has unknown dtype "${dtype}" (expected float32, float16, int8 or uint32)`,
      );
    }
    const path = () => formatPath(['tensors', i, 'scale']); // only on the error path
    if (dtype === 'int8' && t.scale === undefined) {
      throw new FrameError('HEADER_INVALID', `invalid frame header: ${path()}: int8 tensor "${t.name}" needs a scale`);
    }
    if (dtype !== 'int8' && t.scale !== undefined) {
      throw new FrameError(
        'HEADER_INVALID',
        `invalid frame header: ${path()}: only int8 tensors carry a scale ("${t.name}" is ${dtype})`,
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
