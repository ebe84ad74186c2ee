/**
 * Encodings shared by the stores: JSON text for SQLite columns, and the byte layout of
 * model weights (little-endian float32, the same in SQLite BLOBs and BSON Binary, so a
 * database written on one machine reads the same on any other).
 */

// ---------------------------------------------------------------- JSON

/**
 * Plain JSON turns NaN and ±Infinity into null, but round metrics can legitimately be
 * NaN (e.g. precision with no positive predictions) and BSON keeps them, so SQLite must
 * too. Such numbers (and -0) are written as {"$num": "NaN"} and restored on read.
 */
const NUM_TAG = '$num';
const TAGGED: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
  '-0': -0,
};

function tagNumber(n: number): { [NUM_TAG]: string } | number {
  if (Number.isNaN(n)) return { [NUM_TAG]: 'NaN' };
  if (n === Number.POSITIVE_INFINITY) return { [NUM_TAG]: 'Infinity' };
  if (n === Number.NEGATIVE_INFINITY) return { [NUM_TAG]: '-Infinity' };
  if (Object.is(n, -0)) return { [NUM_TAG]: '-0' };
  return n;
}

function isTag(v: unknown): v is { [NUM_TAG]: string } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const tag = (v as Record<string, unknown>)[NUM_TAG];
  return keys.length === 1 && typeof tag === 'string' && Object.hasOwn(TAGGED, tag);
}

export function toJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' ? tagNumber(v) : v));
  if (text === undefined) throw new TypeError('value is not representable as JSON');
  return text;
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => (isTag(v) ? TAGGED[v[NUM_TAG]] : v)) as T;
}

// ---------------------------------------------------------------- weights

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A copy of the weights' bytes (only the view's own range: a Float32Array may be a
 * window into a larger buffer). A copy, so later changes to the caller's array can
 * never reach a stored model.
 */
export function weightsToBytes(weights: Float32Array): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) {
    return Buffer.from(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  }
  const out = Buffer.alloc(weights.byteLength);
  for (let i = 0; i < weights.length; i++) out.writeFloatLE(weights[i], i * 4);
  return out;
}

/**
 * Weights from stored bytes, in a fresh Float32Array that owns its buffer. Drivers hand
 * back Buffers that may sit at any offset of a shared pool, so viewing them in place
 * could fail on alignment or alias memory the driver reuses.
 */
export function weightsFromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new Error(`stored weights are ${bytes.byteLength} bytes, not a whole number of float32s`);
  const out = new Float32Array(bytes.byteLength / 4);
  if (HOST_IS_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}
