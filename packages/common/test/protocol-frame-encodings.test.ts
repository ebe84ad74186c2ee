/**
 * The frame's tensor encodings (float32, float16, int8, uint32), decoding as views, and the
 * little-endian readers and writers on every path. Layout and round trips: protocol-frame.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  ClientMessage,
  decodeClientMessage,
  decodeFrame,
  encodeClientMessage,
  encodeFrame,
} from '@finsecure/common/protocol';
import {
  readFloat32LE,
  readUint16LE,
  readUint32LE,
  writeFloat16LE,
  writeFloat32LE,
  writeUint32LE,
} from '../src/protocol/endian.js';
import { weights, parseLayout, misaligned, update } from './helpers/frame-fixtures.js';

describe('encodings', () => {
  const data = weights(4097, 5, 0.05);

  it('float16: relative error ≤ 2^-11 for normal values, 2 bytes per value', () => {
    const frame = encodeClientMessage(update, [{ name: 'update', shape: [4097], data }], { encoding: 'float16' });
    const t = decodeClientMessage(frame).tensors.get('update')!;
    expect(t).toMatchObject({ dtype: 'float16', byteLength: 4097 * 2 });
    for (let i = 0; i < data.length; i++) {
      if (Math.abs(data[i]) >= 2 ** -14)
        expect(Math.abs(t.data[i] - data[i])).toBeLessThanOrEqual(Math.abs(data[i]) * 2 ** -11);
      else expect(Math.abs(t.data[i] - data[i])).toBeLessThanOrEqual(2 ** -25);
    }
  });

  it('int8: error ≤ scale/2 (+ float32 rounding), scale carried in the header', () => {
    const frame = encodeClientMessage(update, [{ name: 'update', shape: [4097], data }], { encoding: 'int8' });
    const { header } = parseLayout(frame);
    const scale = header.tensors[0].scale!;
    expect(scale).toBe(data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
    const t = decodeClientMessage(frame).tensors.get('update')!;
    expect(t).toMatchObject({ dtype: 'int8', byteLength: 4097 });
    let worst = 0;
    for (let i = 0; i < data.length; i++) {
      worst = Math.max(worst, Math.abs(t.data[i] - data[i]) / (scale / 2 + Math.abs(t.data[i]) * 2 ** -24));
    }
    expect(worst).toBeLessThanOrEqual(1 + 1e-12);
  });

  it('int8: an all-zero tensor encodes with scale 0 and decodes to zeros', () => {
    const frame = encodeFrame(
      { type: 'heartbeat', sentAt: 1 },
      [{ name: 'z', shape: [6], data: new Float32Array(6) }],
      { encoding: 'int8' },
    );
    expect(parseLayout(frame).header.tensors[0].scale).toBe(0);
    expect(Array.from(decodeFrame(frame, ClientMessage).tensors.get('z')!.data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it.each(['float32', 'float16', 'int8'] as const)(
    '%s decodes from misaligned source buffers (e.g. pooled Node Buffers)',
    (encoding) => {
      const frame = encodeClientMessage(update, [{ name: 'update', shape: [4097], data }], { encoding });
      const expected = decodeClientMessage(frame).tensors.get('update')!.data;
      for (const shift of [1, 2, 3]) {
        expect(decodeClientMessage(misaligned(frame, shift)).tensors.get('update')!.data).toEqual(expected);
      }
      expect(decodeClientMessage(Buffer.from(frame)).tensors.get('update')!.data).toEqual(expected);
    },
  );

  it.each(['float32', 'float16', 'int8'] as const)(
    '%s: decoded tensors are owned copies, not views into the frame',
    (encoding) => {
      const frame = encodeClientMessage(update, [{ name: 'update', shape: [4097], data }], { encoding });
      const decoded = decodeClientMessage(frame).tensors.get('update')!.data;
      const before = Float32Array.from(decoded);
      frame.fill(0xff, frame.length - 4097);
      expect(decoded).toEqual(before);
      expect(decoded.buffer).not.toBe(frame.buffer);
    },
  );

  it('views: true reads aligned float32 tensors in place and copies misaligned ones, with the same values', () => {
    const frame = encodeClientMessage(update, [{ name: 'update', shape: [4097], data }]);
    const owned = decodeFrame(frame, ClientMessage).tensors.get('update')!;
    const viewed = decodeFrame(frame, ClientMessage, { views: true }).tensors.get('update')!;
    expect(viewed.data).toEqual(owned.data);
    expect(viewed.sumOfSquares).toBe(owned.sumOfSquares);
    expect(viewed.data.buffer).toBe(frame.buffer);
    for (const shift of [1, 2, 3]) {
      const m = misaligned(frame, shift);
      const t = decodeFrame(m, ClientMessage, { views: true }).tensors.get('update')!.data;
      expect(t).toEqual(owned.data);
      expect(t.buffer).not.toBe(m.buffer);
    }
    // float16 and int8 are decoded into float32: never a view.
    const half = encodeClientMessage(update, [{ name: 'update', shape: [4097], data }], { encoding: 'float16' });
    expect(decodeFrame(half, ClientMessage, { views: true }).tensors.get('update')!.data.buffer).not.toBe(half.buffer);
  });

  it('does not modify or retain the caller’s tensor', () => {
    const src = Float32Array.from(data);
    const frame = encodeFrame({ type: 'heartbeat', sentAt: 1 }, [{ name: 'u', shape: [4097], data: src }]);
    src[0] = 42;
    expect(decodeFrame(frame, ClientMessage).tensors.get('u')!.data[0]).toBe(data[0]);
  });
});

describe('little-endian byte access (both the host-order and the DataView path)', () => {
  const values = new Float32Array([1, -2.5, 3.4028234663852886e38, 1e-45, -0, 0.1]);

  it('float32 writers and readers agree with DataView on every path', () => {
    for (const hostOrder of [true, false]) {
      const dst = new Uint8Array(4 + values.byteLength);
      writeFloat32LE(dst, 4, values, hostOrder);
      const view = new DataView(dst.buffer);
      values.forEach((v, i) => expect(Object.is(view.getFloat32(4 + i * 4, true), v)).toBe(true));
      for (const readHostOrder of [true, false])
        expect(readFloat32LE(dst, 4, values.length, readHostOrder)).toEqual(values);
      // Unaligned source.
      const shifted = misaligned(dst, 1);
      expect(readFloat32LE(shifted, 4, values.length, hostOrder)).toEqual(values);
    }
  });

  it('float16 writers and readers agree with DataView on every path', () => {
    const src = new Float32Array([1, -2, 0.5, 65504, 2 ** -24]);
    const expected = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001];
    for (const hostOrder of [true, false]) {
      const dst = new Uint8Array(4 + src.length * 2);
      writeFloat16LE(dst, 4, src, hostOrder);
      const view = new DataView(dst.buffer);
      expected.forEach((h, i) => expect(view.getUint16(4 + i * 2, true)).toBe(h));
      expect(Array.from(readUint16LE(dst, 4, src.length, hostOrder))).toEqual(expected);
      expect(Array.from(readUint16LE(misaligned(dst, 1), 4, src.length, hostOrder))).toEqual(expected);
      // Odd destination offset forces the copy path even on little-endian hosts.
      const odd = new Uint8Array(5 + src.length * 2);
      writeFloat16LE(odd, 5, src, hostOrder);
      expect(Array.from(readUint16LE(odd, 5, src.length, hostOrder))).toEqual(expected);
    }
  });
});

describe('uint32 tensors (secure-aggregation masked vectors)', () => {
  const heartbeat = { type: 'heartbeat', sentAt: 1 };

  it('round-trips every uint32 value exactly, next to float tensors, whatever the frame encoding', () => {
    const masked = Uint32Array.from([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 123456789]);
    for (const encoding of ['float32', 'float16', 'int8'] as const) {
      const frame = encodeFrame(
        heartbeat,
        [
          { name: 'f', shape: [3], data: new Float32Array([0.5, -1, 2]) },
          { name: 'masked', shape: [2, 3], data: masked },
        ],
        { encoding },
      );
      const { header } = parseLayout(frame);
      expect(header.tensors.map((t) => t.dtype)).toEqual([encoding, 'uint32']);
      const t = decodeFrame(frame, ClientMessage).tensors.get('masked')!;
      expect(t.dtype).toBe('uint32');
      expect(t.uint32).toEqual(masked);
      expect(t.uint32!.buffer).not.toBe(frame.buffer);
      // Float consumers see an empty float view, so a masked vector cannot pass for weights.
      expect(t.data).toHaveLength(0);
      expect(t.byteLength).toBe(24);
      expect(decodeFrame(frame, ClientMessage).tensors.get('f')!.uint32).toBeUndefined();
    }
  });

  it('keeps the layout checks for uint32 (4 bytes per value) and is not a frame encoding', () => {
    const frame = encodeFrame(heartbeat, [{ name: 'm', shape: [2], data: new Uint32Array([1, 2]) }]);
    const { header } = parseLayout(frame);
    const bad = { ...header, tensors: [{ ...header.tensors[0]!, byteLength: 4 }] };
    const json = new TextEncoder().encode(JSON.stringify(bad));
    const start = Math.ceil((8 + json.length) / 4) * 4;
    const craft = new Uint8Array(start + 4);
    craft.set(frame.subarray(0, 4));
    new DataView(craft.buffer).setUint32(4, json.length, true);
    craft.set(json, 8);
    expect(() => decodeFrame(craft, ClientMessage)).toThrow(
      /shape \[2\] of uint32 needs 8 bytes, header says byteLength 4/,
    );
    const opts = { encoding: 'uint32' } as unknown as { encoding: 'float32' };
    expect(() => encodeFrame(heartbeat, [], opts)).toThrow(/unknown tensor encoding "uint32"/);
  });

  it('uint32 writers and readers agree with DataView on every path', () => {
    const src = new Uint32Array([0xdeadbeef, 1, 0xffffffff]);
    for (const hostOrder of [true, false]) {
      const dst = new Uint8Array(4 + src.byteLength);
      writeUint32LE(dst, 4, src, hostOrder);
      const view = new DataView(dst.buffer);
      src.forEach((v, i) => expect(view.getUint32(4 + i * 4, true)).toBe(v));
      expect(readUint32LE(dst, 4, src.length, hostOrder)).toEqual(src);
      expect(readUint32LE(misaligned(dst, 1), 4, src.length, hostOrder)).toEqual(src);
    }
  });
});
