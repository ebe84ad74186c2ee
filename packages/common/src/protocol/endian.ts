/**
 * Little-endian byte access for frame payloads: numbers on the wire are little-endian whatever
 * the host. On little-endian hosts (all mainstream ones) each call is one memcpy (or a view);
 * big-endian hosts take a DataView path that produces the same bytes. Exported for tests, which
 * pass hostOrder=false to exercise the big-endian path on little-endian machines; not part of the
 * package's public API (index.ts omits them).
 */
import { encodeFloat16 } from './quantize.js';

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `src` as float32 LE at dst[at]. On LE hosts: one memcpy. */
export function writeFloat32LE(dst: Uint8Array, at: number, src: Float32Array, hostOrder = HOST_LITTLE_ENDIAN): void {
  if (hostOrder) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), at);
    return;
  }
  const view = new DataView(dst.buffer, dst.byteOffset + at, src.byteLength);
  for (let i = 0; i < src.length; i++) view.setFloat32(i * 4, src[i], true);
}

/**
 * Reads `count` float32 LE values into a new array. On LE hosts: one memcpy, done
 * byte-wise so it works whatever the alignment of the source (e.g. a pooled Buffer).
 */
export function readFloat32LE(
  src: Uint8Array,
  at: number,
  count: number,
  hostOrder = HOST_LITTLE_ENDIAN,
): Float32Array {
  const out = new Float32Array(count);
  if (hostOrder) {
    new Uint8Array(out.buffer).set(src.subarray(at, at + count * 4));
    return out;
  }
  const view = new DataView(src.buffer, src.byteOffset + at, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Converts `src` to halves and writes them LE at dst[at]; directly into dst when possible. */
export function writeFloat16LE(dst: Uint8Array, at: number, src: Float32Array, hostOrder = HOST_LITTLE_ENDIAN): void {
  const start = dst.byteOffset + at;
  if (hostOrder && start % 2 === 0) {
    encodeFloat16(src, new Uint16Array(dst.buffer, start, src.length));
    return;
  }
  const halves = encodeFloat16(src);
  const view = new DataView(dst.buffer, start, halves.length * 2);
  for (let i = 0; i < halves.length; i++) view.setUint16(i * 2, halves[i], true);
}

/** Host-order uint16 values of `count` LE halves: a view when aligned on an LE host, else a copy. */
export function readUint16LE(src: Uint8Array, at: number, count: number, hostOrder = HOST_LITTLE_ENDIAN): Uint16Array {
  const start = src.byteOffset + at;
  if (hostOrder && start % 2 === 0) return new Uint16Array(src.buffer, start, count);
  const out = new Uint16Array(count);
  if (hostOrder) {
    new Uint8Array(out.buffer).set(src.subarray(at, at + count * 2));
    return out;
  }
  const view = new DataView(src.buffer, start, count * 2);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
  return out;
}

/** Writes `src` as uint32 LE at dst[at]. On LE hosts: one memcpy. */
export function writeUint32LE(dst: Uint8Array, at: number, src: Uint32Array, hostOrder = HOST_LITTLE_ENDIAN): void {
  if (hostOrder) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), at);
    return;
  }
  const view = new DataView(dst.buffer, dst.byteOffset + at, src.byteLength);
  for (let i = 0; i < src.length; i++) view.setUint32(i * 4, src[i]!, true);
}

/** Reads `count` uint32 LE values into a new array (byte-wise copy: any source alignment). */
export function readUint32LE(src: Uint8Array, at: number, count: number, hostOrder = HOST_LITTLE_ENDIAN): Uint32Array {
  const out = new Uint32Array(count);
  if (hostOrder) {
    new Uint8Array(out.buffer).set(src.subarray(at, at + count * 4));
    return out;
  }
  const view = new DataView(src.buffer, src.byteOffset + at, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}
