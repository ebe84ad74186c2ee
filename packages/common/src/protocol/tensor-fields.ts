/**
 * Count arrays of a message that travel as uint32 tensors instead of JSON numbers. An evaluation's
 * two score histograms (1,000 bins each by default) were most of its frame's JSON: parsing them was
 * three quarters of decoding the frame, and the parsed arrays a fifth of what a round allocated
 * (issue 14 item 1). Sent as tensors, the header keeps `histogram: {scale, logitMax, bins}` and the
 * frame carries `histogram.positives` and `histogram.negatives` as uint32 tensors of shape [bins];
 * the receiver puts them back in the message before its schema checks it, so every handler sees
 * the same message either way (the arrays as Uint32Arrays).
 *
 * Optional on the wire: an aggregator that reads them says so in its welcome
 * (AGGREGATOR_FEATURES.binaryHistograms), and a bank sends the JSON arrays to one that does not.
 */
import { FrameError } from './errors.js';
import type { DecodedTensor, TensorInput } from './frame-format.js';

/** The evaluation's fields that may travel as tensors, named by their path in the message. */
export const HISTOGRAM_TENSOR_FIELDS = ['histogram.positives', 'histogram.negatives'] as const;

/**
 * The message without the count arrays named in `fields` (paths "parent.field" of top-level
 * objects), and those arrays as uint32 tensors of the same names. A field that is absent, or not
 * an array of uint32 values, stays in the message.
 */
export function splitTensorFields<T extends object>(
  msg: T,
  fields: readonly string[],
): { msg: T; tensors: TensorInput[] } {
  const out: Record<string, unknown> = { ...(msg as Record<string, unknown>) };
  const tensors: TensorInput[] = [];
  for (const path of fields) {
    const [parent, field] = splitPath(path);
    const holder = out[parent];
    if (typeof holder !== 'object' || holder === null) continue;
    const values = (holder as Record<string, unknown>)[field];
    const data = asUint32(values);
    if (!data) continue;
    const { [field]: _moved, ...rest } = holder as Record<string, unknown>;
    out[parent] = rest;
    tensors.push({ name: path, shape: [data.length], data });
  }
  return { msg: out as unknown as T, tensors };
}

/**
 * Puts the uint32 tensors named in `fields` back into the decoded header's message, before its
 * schema runs. A tensor of another dtype or shape is left alone (the schema then names the
 * missing field).
 * @throws FrameError HEADER_INVALID when the message gives a field both ways, or has no object
 *   to put it in.
 */
export function fillTensorFields(
  msg: unknown,
  tensors: ReadonlyMap<string, DecodedTensor>,
  fields: readonly string[],
): void {
  for (const path of fields) {
    const t = tensors.get(path);
    if (!t || t.dtype !== 'uint32' || !t.uint32 || t.shape.length !== 1) continue;
    const [parent, field] = splitPath(path);
    const holder = typeof msg === 'object' && msg !== null ? (msg as Record<string, unknown>)[parent] : undefined;
    if (typeof holder !== 'object' || holder === null || Array.isArray(holder))
      throw new FrameError(
        'HEADER_INVALID',
        `invalid message in frame header: tensor "${path}" has no msg.${parent} to fill`,
      );
    if (field in holder)
      throw new FrameError(
        'HEADER_INVALID',
        `invalid message in frame header: msg.${path} is given both in the header and as a tensor`,
      );
    (holder as Record<string, unknown>)[field] = t.uint32;
  }
}

function splitPath(path: string): [string, string] {
  const dot = path.indexOf('.');
  return [path.slice(0, dot), path.slice(dot + 1)];
}

/** The values as a Uint32Array when every one is a uint32, else null. */
function asUint32(values: unknown): Uint32Array | null {
  if (values instanceof Uint32Array) return values;
  if (!Array.isArray(values)) return null;
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return null;
    out[i] = v;
  }
  return out;
}
