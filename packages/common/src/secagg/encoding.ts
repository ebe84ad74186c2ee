/**
 * Canonical byte encodings of everything that is signed, used as AES-GCM associated
 * data, or used as HKDF info. Each statement starts with a domain-separation tag and
 * encodes every field with a length prefix, so two different statements can never
 * have the same bytes (no "a|bc" = "ab|c" ambiguity, no signature reused across
 * purposes).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const PROTOCOL_TAG = 'finsecure/secagg/v1';
const utf8 = new TextEncoder();

export type Field = string | Uint8Array | number | ReadonlyArray<string>;

/**
 * tag ‖ field*, each field as (kind byte, uint32 BE length, bytes). Strings are UTF-8,
 * numbers are uint32 BE (integers 0..2^32-1 only), string lists are a count followed by
 * each string.
 */
export function canonicalBytes(purpose: string, fields: ReadonlyArray<Field>): Uint8Array {
  const parts: Uint8Array[] = [];
  const push = (kind: number, bytes: Uint8Array): void => {
    const head = new Uint8Array(5);
    head[0] = kind;
    new DataView(head.buffer).setUint32(1, bytes.length, false);
    parts.push(head, bytes);
  };
  push(0, utf8.encode(`${PROTOCOL_TAG}/${purpose}`));
  for (const f of fields) {
    if (typeof f === 'string') push(1, utf8.encode(f));
    else if (f instanceof Uint8Array) push(2, f);
    else if (typeof f === 'number') {
      if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new RangeError(`canonicalBytes: bad integer ${f}`);
      const n = new Uint8Array(4);
      new DataView(n.buffer).setUint32(0, f, false);
      push(3, n);
    } else {
      const count = new Uint8Array(4);
      new DataView(count.buffer).setUint32(0, f.length, false);
      push(4, count);
      for (const s of f) push(1, utf8.encode(s));
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function sha256(...chunks: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return new Uint8Array(h.digest());
}

/** Constant-time equality of two byte strings (false if the lengths differ). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict base64 decoding: throws on anything that does not round-trip. */
export function fromBase64(text: string, what: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new RangeError(`${what}: not canonical base64`);
  return new Uint8Array(bytes);
}

/** A Uint32Array's words as little-endian bytes (the wire and hash order on every host). */
export function uint32LeBytes(words: Uint32Array): Uint8Array {
  if (HOST_LE) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(i * 4, words[i]!, true);
  return out;
}

export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
