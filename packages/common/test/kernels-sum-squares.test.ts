import { describe, expect, it } from 'vitest';
import { l2Norm } from '../src/dp/index.js';
import { firstNonFiniteIndex, sumOfSquares } from '../src/kernels/sum-squares.js';
import { decodeClientMessage, encodeClientMessage, encodeFrame, FrameError } from '../src/protocol/index.js';
import { createRng } from '../src/rng/index.js';

const update = {
  type: 'update' as const,
  roundId: 1,
  modelVersion: 0,
  kind: 'delta' as const,
  numExamples: 10,
  numTrained: 10,
  loss: 0.5,
  timings: { trainMs: 1, prepareMs: 1 },
};

describe('sumOfSquares: the one pass that checks and measures an update', () => {
  it('is l2Norm squared, bit for bit (same order, same float64 accumulator)', () => {
    const rng = createRng(7);
    for (const n of [0, 1, 3, 4097, 100_003]) {
      const x = Float32Array.from({ length: n }, () => rng.normal() * 10 ** (rng.int(13) - 6));
      expect(Math.sqrt(sumOfSquares(x))).toBe(l2Norm(x));
    }
  });

  it('is finite for any finite float32 values, even all at ±max, and not finite for NaN or ±Infinity anywhere', () => {
    const big = new Float32Array(1_000_000).fill(3.4028234663852886e38);
    big[5] = -big[5]!;
    expect(Number.isFinite(sumOfSquares(big))).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 1, 4096, 999_999]) {
        const x = new Float32Array(1_000_000).fill(0.25);
        x[at] = bad;
        expect(Number.isFinite(sumOfSquares(x))).toBe(false);
        expect(firstNonFiniteIndex(x)).toBe(at);
      }
    }
    expect(firstNonFiniteIndex(new Float32Array([1, 2]))).toBe(-1);
  });

  it('comes with every decoded float tensor; a non-finite value is still refused with its index', () => {
    const rng = createRng(3);
    const data = Float32Array.from({ length: 4097 }, () => rng.normal());
    for (const encoding of ['float32', 'float16', 'int8'] as const) {
      const t = decodeClientMessage(
        encodeClientMessage(update, [{ name: 'update', shape: [4097], data }], { encoding }),
      ).tensors.get('update')!;
      expect(t.sumOfSquares).toBe(sumOfSquares(t.data));
    }
    // encodeFrame refuses non-finite input, so write a NaN into a valid frame's payload.
    const frame = encodeFrame(update, [{ name: 'update', shape: [8], data: new Float32Array(8).fill(1) }]);
    new DataView(frame.buffer).setFloat32(frame.length - 4 * 3, NaN, true);
    expect(() => decodeClientMessage(frame)).toThrow(FrameError);
    expect(() => decodeClientMessage(frame)).toThrow(/value NaN at index 5 is not finite/);
  });
});
