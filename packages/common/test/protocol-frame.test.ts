import { describe, expect, it } from 'vitest';
import {
  ClientMessage,
  DEFAULT_MAX_FRAME_BYTES,
  FrameError,
  ServerMessage,
  decodeClientMessage,
  decodeFrame,
  decodeServerMessage,
  encodeClientMessage,
  encodeFrame,
  encodeServerMessage,
  type TensorDescriptor,
} from '@finsecure/common/protocol';
import {
  readFloat32LE,
  readUint16LE,
  readUint32LE,
  writeFloat16LE,
  writeFloat32LE,
  writeUint32LE,
} from '../src/protocol/endian.js';
import { createRng } from '../src/rng/index.js';

function weights(n: number, seed = 1, magnitude = 0.1): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * magnitude;
  return out;
}

/** Bitwise equality; vitest's deep equality is far too slow for million-element arrays. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

/** Reads the frame the way a foreign implementation would, from the spec alone. */
function parseLayout(frame: Uint8Array): {
  header: { msg: unknown; tensors: TensorDescriptor[] };
  payloadStart: number;
} {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  expect(new TextDecoder().decode(frame.subarray(0, 4))).toBe('FSF1');
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(frame.subarray(8, 8 + headerLength)));
  const payloadStart = Math.ceil((8 + headerLength) / 4) * 4;
  expect(Array.from(frame.subarray(8 + headerLength, payloadStart)).every((b) => b === 0)).toBe(true);
  return { header, payloadStart };
}

/** A copy of `frame` placed at an odd byte offset inside a bigger buffer. */
function misaligned(frame: Uint8Array, shift: number): Uint8Array {
  const host = new Uint8Array(frame.length + shift);
  host.set(frame, shift);
  return host.subarray(shift);
}

type ClientInput = Parameters<typeof encodeClientMessage>[0];
type ServerInput = Parameters<typeof encodeServerMessage>[0];

// Fixtures follow messages.ts; if a schema gains a required field, add it here.
const scaler = { mean: [0, 1.5], std: [1, 2] };
const update = {
  type: 'update',
  roundId: 3,
  modelVersion: 2,
  kind: 'delta',
  numExamples: 1200,
  numTrained: 1500,
  loss: 0.31,
  timings: { trainMs: 812 },
} as const;
const assignment = {
  type: 'round_assignment',
  roundId: 4,
  modelVersion: 3,
  deadlineInMs: 30_000,
  config: { epochs: 2, batchSize: 64, learningRate: 0.01, smoteRatio: 0.2, updateEncoding: 'int8' },
  scaler,
} as const;
const evaluationRequest = {
  type: 'evaluation_request',
  roundId: 4,
  modelVersion: 4,
  deadlineInMs: 30_000,
  threshold: 0.5,
  histogramBins: 20,
  scaler,
} as const;
const committed = {
  type: 'round_committed',
  roundId: 4,
  modelVersion: 4,
  metrics: { auc: 0.93, loss: 0.2 },
  scaler,
} as const;

describe('frame layout', () => {
  it('follows the documented byte layout: magic, LE header length, JSON, zero padding, aligned LE payloads', () => {
    const data = weights(4097);
    const bias = new Float32Array([1.5, -2]);
    const frame = encodeFrame({ type: 'heartbeat', sentAt: 5 }, [
      { name: 'w', shape: [17, 241], data },
      { name: 'b', shape: [2], data: bias },
    ]);
    expect(frame.byteOffset).toBe(0);
    expect(frame.buffer.byteLength).toBe(frame.length); // a frame owns exactly its buffer
    const { header, payloadStart } = parseLayout(frame);
    expect(header.msg).toEqual({ type: 'heartbeat', sentAt: 5 });
    expect(header.tensors).toEqual([
      { name: 'w', shape: [17, 241], dtype: 'float32', byteOffset: 0, byteLength: 4097 * 4 },
      { name: 'b', shape: [2], dtype: 'float32', byteOffset: 4097 * 4, byteLength: 8 },
    ]);
    expect(payloadStart % 4).toBe(0);
    expect(frame.length).toBe(payloadStart + 4099 * 4);
    const view = new DataView(frame.buffer, payloadStart);
    for (const i of [0, 1, 2048, 4096]) expect(view.getFloat32(i * 4, true)).toBe(data[i]);
    expect(view.getFloat32(4097 * 4 + 4, true)).toBe(-2);
  });

  it('aligns every tensor to 4 bytes and zero-pads between them (int8 and float16 sizes)', () => {
    for (const encoding of ['int8', 'float16'] as const) {
      const tensors = [
        { name: 'a', shape: [3], data: new Float32Array([1, -1, 0.5]) },
        { name: 'scalar', shape: [], data: new Float32Array([7]) },
        { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
        { name: 'c', shape: [5], data: new Float32Array([1, 2, 3, 4, 5]) },
      ];
      const frame = encodeFrame({ type: 'heartbeat', sentAt: 1 }, tensors, { encoding });
      const { header, payloadStart } = parseLayout(frame);
      const size = encoding === 'int8' ? 1 : 2;
      let expectedOffset = 0;
      header.tensors.forEach((d, i) => {
        expect(d.byteOffset).toBe(expectedOffset);
        expect(d.byteLength).toBe(tensors[i].data.length * size);
        expect(d.scale === undefined).toBe(encoding !== 'int8');
        const end = d.byteOffset + d.byteLength;
        expectedOffset = Math.ceil(end / 4) * 4;
        const padding = frame.subarray(
          payloadStart + end,
          payloadStart + Math.min(expectedOffset, frame.length - payloadStart),
        );
        if (i < tensors.length - 1) expect(Array.from(padding).every((b) => b === 0)).toBe(true);
      });
      const last = header.tensors[header.tensors.length - 1];
      expect(frame.length).toBe(payloadStart + last.byteOffset + last.byteLength); // no trailing padding

      const { tensors: decoded } = decodeFrame(frame, ClientMessage);
      expect([...decoded.keys()]).toEqual(['a', 'scalar', 'empty', 'c']);
      expect(decoded.get('scalar')).toMatchObject({ shape: [], dtype: encoding, byteLength: size });
      expect(decoded.get('scalar')!.data[0]).toBeCloseTo(7, 1);
      expect(decoded.get('empty')).toMatchObject({ shape: [0, 5], byteLength: 0 });
      expect(decoded.get('empty')!.data.length).toBe(0);
      expect(Array.from(decoded.get('c')!.data).map((v) => Math.round(v))).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it('writes the same bytes for the same input (deterministic)', () => {
    const t = [{ name: 'update', shape: [4097], data: weights(4097) }];
    for (const encoding of ['float32', 'float16', 'int8'] as const) {
      expect(encodeClientMessage(update, t, { encoding })).toEqual(encodeClientMessage(update, t, { encoding }));
    }
  });
});

describe('round trips with tensors', () => {
  const n = 4097;

  it('update (client → aggregator) with a 4,097-float delta, float32 is lossless', () => {
    const data = weights(n, 2);
    const frame = encodeClientMessage(update, [{ name: 'update', shape: [n], data }]);
    const { msg, tensors } = decodeClientMessage(frame);
    expect(msg).toEqual(ClientMessage.parse(update)); // defaults (prepareMs) applied
    const t = tensors.get('update')!;
    expect(t).toMatchObject({ shape: [n], dtype: 'float32', byteLength: n * 4 });
    expect(t.data).toEqual(data);
  });

  it.each([
    ['round_assignment', assignment],
    ['evaluation_request', evaluationRequest],
    ['round_committed', committed],
  ] satisfies Array<[string, ServerInput]>)('%s (aggregator → client) carries tensor "global"', (_type, message) => {
    const data = weights(n, 3);
    const { msg, tensors } = decodeServerMessage(encodeServerMessage(message, [{ name: 'global', shape: [n], data }]));
    expect(msg).toEqual(ServerMessage.parse(message));
    expect(tensors.get('global')!.data).toEqual(data);
  });

  it('applies schema defaults on encode and decode (round_assignment config)', () => {
    const { msg } = decodeServerMessage(encodeServerMessage(assignment));
    if (msg.type !== 'round_assignment') throw new Error('wrong type');
    expect(msg.config.smoteK).toBe(5);
    expect(msg.config.updateEncoding).toBe('int8');
  });

  it.each([
    [
      'hello',
      {
        type: 'hello',
        protocolVersion: 1,
        bankId: 'bank-a',
        token: 't'.repeat(32),
        clientVersion: '0.1.0',
        backend: 'cpu',
        numExamples: 10,
        numFeatures: 2,
      },
    ],
    ['decline', { type: 'decline', roundId: 1, reason: 'privacy budget exhausted' }],
    ['heartbeat', { type: 'heartbeat', sentAt: 123 }],
    ['error', { type: 'error', code: 'X', message: 'boom' }],
    [
      'evaluation',
      {
        type: 'evaluation',
        roundId: 1,
        modelVersion: 1,
        numExamples: 4,
        threshold: 0.5,
        confusion: { tp: 1, fp: 1, tn: 1, fn: 1 },
        histogram: { scale: 'sigmoid+logit', logitMax: 40, bins: 2, positives: [1, 1], negatives: [1, 1] },
        loss: 0.7,
        evalMs: 3,
      },
    ],
  ] satisfies Array<[string, ClientInput]>)('%s (client, no tensors)', (_type, message) => {
    const frame = encodeClientMessage(message);
    const decoded = decodeClientMessage(frame);
    expect(decoded.msg).toEqual(ClientMessage.parse(message));
    expect(decoded.tensors.size).toBe(0);
  });

  it.each([
    [
      'welcome',
      {
        type: 'welcome',
        model: { inputSize: 2, hidden: [8], dropout: 0 },
        protocolVersion: 1,
        bankId: 'b',
        serverVersion: '1',
        heartbeatIntervalMs: 5000,
        maxFrameBytes: 1 << 26,
        modelVersion: 0,
      },
    ],
    ['ack', { type: 'ack', roundId: 2, of: 'update', accepted: false, reason: 'stale model version' }],
    ['round_failed', { type: 'round_failed', roundId: 2, reason: 'no quorum' }],
  ] satisfies Array<[string, ServerInput]>)('%s (server, no tensors)', (_type, message) => {
    expect(decodeServerMessage(encodeServerMessage(message)).msg).toEqual(ServerMessage.parse(message));
  });
});

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

describe('frame size', () => {
  const n = 1_000_000;
  const raw = n * 4;
  const big = weights(n, 9);
  const tensors = [{ name: 'update', shape: [n], data: big }];

  it('float32: a 1M-float frame costs at most 1 KB over the raw bytes, and round-trips exactly', () => {
    const frame = encodeClientMessage(update, tensors);
    expect(frame.length).toBeLessThanOrEqual(raw + 1024);
    // 4 MB is under the default limit; the receiver needs no options.
    expect(sameBits(decodeClientMessage(frame).tensors.get('update')!.data, big)).toBe(true);
  });

  it('float16 is ≤ 0.51 × raw and int8 ≤ 0.26 × raw', () => {
    expect(encodeClientMessage(update, tensors, { encoding: 'float16' }).length).toBeLessThanOrEqual(0.51 * raw);
    const int8 = encodeClientMessage(update, tensors, { encoding: 'int8' });
    expect(int8.length).toBeLessThanOrEqual(0.26 * raw);
    expect(decodeClientMessage(int8).tensors.get('update')!.data.length).toBe(n);
  });

  it('the default receive limit is 64 MiB and frames up to it are accepted', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(64 * 1024 * 1024);
    const frame = encodeClientMessage(update, tensors);
    expect(() => decodeClientMessage(frame, { maxBytes: frame.length })).not.toThrow();
    expect(() => decodeClientMessage(frame, { maxBytes: frame.length - 1 })).toThrow(FrameError);
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
