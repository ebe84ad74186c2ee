/**
 * The wire protocol: message schemas (messages.ts, secagg-messages.ts), the binary frame codec
 * (frame.ts: the format in frame-format.ts, frame-encode.ts, frame-decode.ts, frame-envelope.ts,
 * tensor-fields.ts), lossy tensor encodings (quantize.ts) and the codec's errors (errors.ts).
 */
export * from './messages.js';
export * from './secagg-messages.js';
export * from './analytics-messages.js';
export { FRAME_ERROR_CODES, FrameError, isFrameError, type FrameErrorCode } from './errors.js';
export { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage } from './frame.js';
export { encodeFrame } from './frame-encode.js';
export { decodeFrame } from './frame-decode.js';
export { HISTOGRAM_TENSOR_FIELDS, fillTensorFields, splitTensorFields } from './tensor-fields.js';
export { text, wellFormed } from './text.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  DTYPE_BYTES,
  FRAME_MAGIC,
  type DecodeOptions,
  type DecodedFrame,
  type DecodedTensor,
  type EncodeOptions,
  type TensorDescriptor,
  type TensorDtype,
  type TensorInput,
} from './frame-format.js';
export {
  FLOAT16_MAX,
  FLOAT16_OVERFLOW,
  decodeFloat16,
  dequantizeInt8,
  encodeFloat16,
  firstNonFinite,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  int8Scale,
  quantizeInt8,
} from './quantize.js';
