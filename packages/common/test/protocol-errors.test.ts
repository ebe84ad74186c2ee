/**
 * Every FrameError code, provoked with hand-built bytes (not via encodeFrame, so the
 * decoder is tested against the documented layout rather than against itself).
 */
import { describe, expect, it } from 'vitest';
import {
  ClientMessage,
  FrameError,
  ServerMessage,
  decodeFrame,
  encodeClientMessage,
  encodeFrame,
  isFrameError,
  type FrameErrorCode,
} from '@finsecure/common/protocol';

interface CraftOptions {
  header: unknown;
  payload?: Uint8Array;
  magic?: string;
  /** Overrides the declared header length. */
  headerLength?: number;
  /** Value of the header padding bytes (0 is valid). */
  padByte?: number;
  /** Raw header bytes instead of JSON.stringify(header). */
  rawHeader?: Uint8Array;
}

function craft({
  header,
  payload = new Uint8Array(0),
  magic = 'FSF1',
  headerLength,
  padByte = 0,
  rawHeader,
}: CraftOptions): Uint8Array {
  const json = rawHeader ?? new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const payloadStart = Math.ceil((8 + json.length) / 4) * 4;
  const out = new Uint8Array(payloadStart + payload.length);
  out.set(new TextEncoder().encode(magic).subarray(0, 4), 0);
  new DataView(out.buffer).setUint32(4, headerLength ?? json.length, true);
  out.set(json, 8);
  out.fill(padByte, 8 + json.length, payloadStart);
  out.set(payload, payloadStart);
  return out;
}

function f32(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function frameError(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw new Error(`expected a FrameError, got ${String(err)}`);
  }
  throw new Error('expected a FrameError, nothing was thrown');
}

/** Asserts the code and that the message names every fragment (field path, tensor, index...). */
function expectFrameError(fn: () => unknown, code: FrameErrorCode, ...fragments: string[]): FrameError {
  const err = frameError(fn);
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  for (const fragment of fragments) expect(err.message).toContain(fragment);
  return err;
}

const heartbeat = { type: 'heartbeat', sentAt: 1 };
const tensor = { name: 'update', shape: [4], dtype: 'float32', byteOffset: 0, byteLength: 16 };
const valid = { header: { msg: heartbeat, tensors: [tensor] }, payload: f32([1, 2, 3, 4]) };
const decode = (bytes: Uint8Array, maxBytes?: number) => decodeFrame(bytes, ClientMessage, { maxBytes });

/** The base frame with its single tensor descriptor patched. */
function withTensor(patch: Record<string, unknown>, payload = valid.payload): Uint8Array {
  return craft({ header: { msg: heartbeat, tensors: [{ ...tensor, ...patch }] }, payload });
}

describe('crafted frames', () => {
  it('the hand-built reference frame is valid (so every failure below is the one provoked)', () => {
    const { msg, tensors } = decode(craft(valid));
    expect(msg).toEqual(heartbeat);
    expect(Array.from(tensors.get('update')!.data)).toEqual([1, 2, 3, 4]);
  });

  it('FrameError carries a stable code and a name', () => {
    const err = frameError(() => decode(new Uint8Array(0)));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('FrameError');
    expect(isFrameError(err)).toBe(true);
    expect(isFrameError(err, 'FRAME_TRUNCATED')).toBe(true);
    expect(isFrameError(err, 'BAD_MAGIC')).toBe(false);
    expect(isFrameError(new Error('x'))).toBe(false);
  });
});

describe('FRAME_TOO_LARGE', () => {
  it('rejects a frame over the limit, naming both sizes', () => {
    const bytes = craft(valid);
    expectFrameError(
      () => decode(bytes, bytes.length - 1),
      'FRAME_TOO_LARGE',
      `${bytes.length} bytes`,
      `${bytes.length - 1}-byte limit`,
    );
  });

  it('checks the size before parsing anything: oversized garbage is TOO_LARGE, not BAD_MAGIC', () => {
    expectFrameError(() => decode(new Uint8Array(1025).fill(0xff), 1024), 'FRAME_TOO_LARGE');
  });

  it('encodeFrame refuses to build a frame over an explicit limit', () => {
    const data = new Float32Array(1000);
    expectFrameError(
      () => encodeFrame(heartbeat, [{ name: 'w', shape: [1000], data }], { maxBytes: 4000 }),
      'FRAME_TOO_LARGE',
      '4000-byte limit',
    );
  });
});

describe('FRAME_TRUNCATED', () => {
  it('every proper prefix of a frame is reported as truncated', () => {
    const bytes = craft(valid);
    for (let length = 0; length < bytes.length; length++) {
      expect(frameError(() => decode(bytes.subarray(0, length))).code, `prefix of ${length} bytes`).toBe(
        'FRAME_TRUNCATED',
      );
    }
  });

  it('names where the frame ended: prefix, header, padding, tensor', () => {
    const bytes = craft(valid);
    const headerLength = new DataView(bytes.buffer).getUint32(4, true);
    expectFrameError(() => decode(bytes.subarray(0, 6)), 'FRAME_TRUNCATED', '8-byte prefix');
    expectFrameError(() => decode(bytes.subarray(0, 20)), 'FRAME_TRUNCATED', `header length ${headerLength}`);
    expectFrameError(
      () => decode(bytes.subarray(0, bytes.length - 3)),
      'FRAME_TRUNCATED',
      'tensor "update"',
      '[0, 16)',
      'payload has 13',
    );
    // A header of length 4k + 1 leaves 3 padding bytes; cut after the first of them.
    let header = JSON.stringify({ msg: heartbeat, tensors: [] });
    while (header.length % 4 !== 1) header += ' ';
    const padded = craft({ header });
    expect(padded.length).toBe(8 + header.length + 3);
    expectFrameError(() => decode(padded.subarray(0, 8 + header.length + 1)), 'FRAME_TRUNCATED', 'header padding');
  });

  it('rejects a header length that runs past the end (up to 2^32 − 1)', () => {
    const bytes = craft(valid);
    for (const headerLength of [bytes.length - 7, bytes.length, 0xffffffff]) {
      expectFrameError(
        () => decode(craft({ ...valid, headerLength })),
        'FRAME_TRUNCATED',
        `header length ${headerLength}`,
        'past the end',
      );
    }
  });

  it('a header declaring a tensor beyond the frame is truncated, naming the tensor', () => {
    expectFrameError(
      () => decode(withTensor({ shape: [8], byteLength: 32 })),
      'FRAME_TRUNCATED',
      'tensor "update"',
      '[0, 32)',
    );
  });
});

describe('BAD_MAGIC', () => {
  it.each([
    ['FSF2', craft({ ...valid, magic: 'FSF2' })],
    ['zeros', new Uint8Array(64)],
    ['plain JSON', new TextEncoder().encode(JSON.stringify({ msg: heartbeat, tensors: [] }))],
    ['one wrong byte', new Uint8Array([0x47])],
  ])('rejects %s, showing the bytes found', (_what, bytes) => {
    expectFrameError(() => decode(bytes), 'BAD_MAGIC', 'expected magic "FSF1"');
  });

  it('shows the offending bytes in hex', () => {
    expectFrameError(() => decode(craft({ ...valid, magic: 'FSF2' })), 'BAD_MAGIC', '46 53 46 32');
  });
});

describe('BAD_HEADER_JSON', () => {
  it.each([
    ['not JSON', '{not json'],
    ['cut-off JSON', '{"msg": {"type": "heartbeat"'],
    ['an empty header', ''],
  ])('rejects %s', (_what, header) => {
    expectFrameError(() => decode(craft({ header })), 'BAD_HEADER_JSON', 'not valid UTF-8 JSON');
  });

  it('rejects invalid UTF-8', () => {
    const rawHeader = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    expectFrameError(() => decode(craft({ header: null, rawHeader })), 'BAD_HEADER_JSON', 'UTF-8');
  });

  it('rejects non-zero header padding', () => {
    // Pick a header whose length is not a multiple of 4 so that padding exists.
    let header = JSON.stringify({ msg: heartbeat, tensors: [] });
    while ((8 + header.length) % 4 === 0) header += ' ';
    expectFrameError(() => decode(craft({ header, padByte: 0x20 })), 'BAD_HEADER_JSON', 'padding', 'must be 0');
  });

  it('encodeFrame reports a message that cannot be serialized', () => {
    expectFrameError(() => encodeFrame({ type: 'heartbeat', sentAt: 1n }), 'BAD_HEADER_JSON', 'serialized');
    const circular: Record<string, unknown> = { type: 'heartbeat' };
    circular.self = circular;
    expectFrameError(() => encodeFrame(circular), 'BAD_HEADER_JSON');
  });
});

describe('HEADER_INVALID', () => {
  it.each([
    ['an array', [], '(root)'],
    ['null', null, '(root)'],
    ['missing tensors', { msg: heartbeat }, 'tensors'],
    ['missing msg', { tensors: [] }, 'msg'],
  ])('rejects a header that is %s, naming %s', (_what, header, path) => {
    expectFrameError(() => decode(craft({ header })), 'HEADER_INVALID', `${path}:`);
  });

  it.each([
    [{ shape: [2, -2] }, 'tensors[0].shape[1]'],
    [{ byteOffset: 1.5 }, 'tensors[0].byteOffset'],
    [{ byteLength: -16 }, 'tensors[0].byteLength'],
    [{ name: '' }, 'tensors[0].name'],
    [{ dtype: 32 }, 'tensors[0].dtype'],
    [{ scale: -1, dtype: 'int8' }, 'tensors[0].scale'],
  ])('names the tensor field path (%j → %s)', (patch, path) => {
    expectFrameError(() => decode(withTensor(patch)), 'HEADER_INVALID', path);
  });

  it('rejects duplicate tensor names', () => {
    const header = { msg: heartbeat, tensors: [tensor, { ...tensor, byteOffset: 16 }] };
    expectFrameError(
      () => decode(craft({ header, payload: concat(valid.payload, valid.payload) })),
      'HEADER_INVALID',
      'tensors[1].name',
      'duplicate',
    );
  });

  it('int8 needs a scale; other dtypes must not have one', () => {
    expectFrameError(
      () => decode(withTensor({ dtype: 'int8', byteLength: 4 }, new Uint8Array(4))),
      'HEADER_INVALID',
      'tensors[0].scale',
      'needs a scale',
    );
    expectFrameError(() => decode(withTensor({ scale: 0.5 })), 'HEADER_INVALID', 'tensors[0].scale', 'only int8');
  });

  it('names the message field path when the message fails its schema', () => {
    const msg = {
      type: 'round_assignment',
      roundId: 1,
      modelVersion: 0,
      deadline: 5,
      config: { epochs: 0, batchSize: 1, learningRate: 0.1, smoteRatio: 0 },
      scaler: { mean: [0], std: [1] },
    };
    expectFrameError(
      () => decodeFrame(craft({ header: { msg, tensors: [] } }), ServerMessage),
      'HEADER_INVALID',
      'msg.config.epochs',
    );
  });

  it('rejects a message of the other direction, naming msg.type', () => {
    const msg = { type: 'round_failed', roundId: 1, reason: 'x' };
    expectFrameError(() => decode(craft({ header: { msg, tensors: [] } })), 'HEADER_INVALID', 'msg.type');
  });

  it('encoders validate too', () => {
    const bad = { type: 'decline', roundId: -1, reason: 'x' } as const;
    expectFrameError(() => encodeClientMessage(bad), 'HEADER_INVALID', 'msg.roundId');
    expectFrameError(() => encodeFrame([] as object), 'HEADER_INVALID', 'plain object');
    const t = { name: 'w', shape: [1], data: new Float32Array(1) };
    expectFrameError(
      () => encodeFrame(heartbeat, [t, t]),
      'HEADER_INVALID',
      'tensors[1].name',
      'duplicate tensor name "w"',
    );
    expectFrameError(() => encodeFrame(heartbeat, [{ ...t, name: '' }]), 'HEADER_INVALID', 'tensors[0].name');
  });
});

describe('UNKNOWN_DTYPE', () => {
  it.each(['float64', 'bfloat16', 'FLOAT32', 'constructor'])('rejects dtype "%s", naming the tensor', (dtype) => {
    expectFrameError(() => decode(withTensor({ dtype })), 'UNKNOWN_DTYPE', 'tensor "update"', `"${dtype}"`);
  });

  it('encodeFrame rejects an unknown encoding', () => {
    const opts = { encoding: 'float64' } as unknown as { encoding: 'float32' };
    expectFrameError(() => encodeFrame(heartbeat, [], opts), 'UNKNOWN_DTYPE', '"float64"');
  });
});

describe('TENSOR_SHAPE_MISMATCH', () => {
  it('shape × dtype size ≠ byteLength', () => {
    expectFrameError(
      () => decode(withTensor({ shape: [2, 3] })),
      'TENSOR_SHAPE_MISMATCH',
      'tensor "update"',
      '[2, 3]',
      'needs 24 bytes',
      'byteLength 16',
    );
    expectFrameError(() => decode(withTensor({ dtype: 'float16' })), 'TENSOR_SHAPE_MISMATCH', 'needs 8 bytes');
  });

  const second = { name: 'bias', shape: [1], dtype: 'float32', byteLength: 4 };
  const twoTensors = (byteOffset: number, payload: Uint8Array) =>
    craft({ header: { msg: heartbeat, tensors: [tensor, { ...second, byteOffset }] }, payload });

  it('misaligned offset', () => {
    expectFrameError(
      () => decode(twoTensors(18, concat(valid.payload, new Uint8Array(6)))),
      'TENSOR_SHAPE_MISMATCH',
      '"bias"',
      'not 4-byte aligned',
    );
  });

  it('overlapping tensors', () => {
    expectFrameError(
      () => decode(twoTensors(12, valid.payload)),
      'TENSOR_SHAPE_MISMATCH',
      '"bias"',
      'overlaps tensor "update"',
    );
  });

  it('a gap between tensors', () => {
    expectFrameError(
      () => decode(twoTensors(24, concat(valid.payload, new Uint8Array(12)))),
      'TENSOR_SHAPE_MISMATCH',
      '"bias"',
      'gap',
      'expected 16',
    );
  });

  it('trailing bytes after the last tensor, or after a header without tensors', () => {
    expectFrameError(
      () => decode(craft({ ...valid, payload: concat(valid.payload, new Uint8Array(4)) })),
      'TENSOR_SHAPE_MISMATCH',
      '4 trailing bytes',
      '"update"',
    );
    expectFrameError(
      () => decode(craft({ header: { msg: heartbeat, tensors: [] }, payload: new Uint8Array(8) })),
      'TENSOR_SHAPE_MISMATCH',
      '8 trailing bytes',
      'no tensors',
    );
  });

  it('non-zero padding between tensors', () => {
    const header = {
      msg: heartbeat,
      tensors: [
        { name: 'q', shape: [1], dtype: 'int8', byteOffset: 0, byteLength: 1, scale: 1 },
        { name: 'r', shape: [1], dtype: 'int8', byteOffset: 4, byteLength: 1, scale: 1 },
      ],
    };
    expect(decode(craft({ header, payload: new Uint8Array([5, 0, 0, 0, 6]) })).tensors.get('r')!.data[0]).toBe(6);
    expectFrameError(
      () => decode(craft({ header, payload: new Uint8Array([5, 0, 9, 0, 6]) })),
      'TENSOR_SHAPE_MISMATCH',
      'padding',
      '"r"',
    );
  });

  it('encodeFrame refuses shape/data length mismatches and malformed shapes', () => {
    const data = new Float32Array(6);
    expectFrameError(
      () => encodeFrame(heartbeat, [{ name: 'w', shape: [2, 4], data }]),
      'TENSOR_SHAPE_MISMATCH',
      '"w"',
      'holds 8 values but data has 6',
    );
    expectFrameError(
      () => encodeFrame(heartbeat, [{ name: 'w', shape: [-2, -3], data }]),
      'TENSOR_SHAPE_MISMATCH',
      'non-negative integers',
    );
    expectFrameError(
      () => encodeFrame(heartbeat, [{ name: 'w', shape: [1.5, 4], data }]),
      'TENSOR_SHAPE_MISMATCH',
      'non-negative integers',
    );
    const notFloat32 = [{ name: 'w', shape: [6], data: new Float64Array(6) as unknown as Float32Array }];
    expectFrameError(() => encodeFrame(heartbeat, notFloat32), 'TENSOR_SHAPE_MISMATCH', 'Float32Array');
  });
});

describe('NON_FINITE', () => {
  const values = Array.from({ length: 32 }, (_, i) => i / 10);
  const frameWith = (index: number, bad: number) => {
    const v = [...values];
    v[index] = bad;
    return withTensor({ shape: [32], byteLength: 128 }, f32(v));
  };

  it.each([
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ])('rejects %s in a float32 payload, naming the tensor and the first bad index', (bad, text) => {
    expectFrameError(() => decode(frameWith(17, bad)), 'NON_FINITE', 'tensor "update"', 'index 17', text);
  });

  it('rejects an infinite half in a float16 payload', () => {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint16(6, 0x7c00, true); // index 3 = +Inf
    expectFrameError(
      () => decode(withTensor({ dtype: 'float16', byteLength: 8 }, payload)),
      'NON_FINITE',
      '"update" (float16)',
      'index 3',
    );
  });

  it('rejects an int8 scale so large that dequantized values overflow', () => {
    const frame = withTensor({ dtype: 'int8', byteLength: 4, scale: 1e308 }, new Uint8Array([0, 0, 1, 0]));
    expectFrameError(() => decode(frame), 'NON_FINITE', 'index 2');
  });

  it('encodeFrame refuses NaN and ±Inf, naming tensor and index', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const data = new Float32Array(10);
      data[7] = bad;
      for (const encoding of ['float32', 'float16', 'int8'] as const) {
        expectFrameError(
          () => encodeFrame(heartbeat, [{ name: 'grad', shape: [10], data }], { encoding }),
          'NON_FINITE',
          '"grad"',
          'index 7',
        );
      }
    }
  });

  it('encodeFrame refuses values that would overflow float16 instead of sending Infinity', () => {
    const data = new Float32Array([1, 2, 70000]);
    expectFrameError(
      () => encodeFrame(heartbeat, [{ name: 'w', shape: [3], data }], { encoding: 'float16' }),
      'NON_FINITE',
      '"w"',
      'index 2',
      'overflows float16',
    );
    // The same values are fine in float32 and int8.
    expect(() => encodeFrame(heartbeat, [{ name: 'w', shape: [3], data }], { encoding: 'int8' })).not.toThrow();
  });
});
