/**
 * The binary frame (protocol/frame*.ts): its documented layout, round trips of each message with
 * its tensors, and frame sizes and limits. Encodings and byte order: protocol-frame-encodings.test.ts.
 */
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
} from '@finsecure/common/protocol';
import {
  weights,
  sameBits,
  parseLayout,
  update,
  assignment,
  evaluationRequest,
  committed,
  type ClientInput,
  type ServerInput,
} from './helpers/frame-fixtures.js';

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
