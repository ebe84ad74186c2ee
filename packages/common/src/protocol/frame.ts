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
 *
 * This file: the typed message codecs (validate, then frame). The codec itself is frame-encode.ts
 * and frame-decode.ts (its header envelope frame-envelope.ts, message fields sent as tensors
 * tensor-fields.ts); the format's constants and types frame-format.ts.
 */
import type { z } from 'zod';
import { headerInvalid } from './errors.js';
import { ClientMessage, ServerMessage } from './messages.js';
import { decodeFrame } from './frame-decode.js';
import { encodeFrame } from './frame-encode.js';
import type { DecodeOptions, DecodedFrame, EncodeOptions, TensorInput } from './frame-format.js';

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
