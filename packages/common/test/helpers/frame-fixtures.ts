/**
 * Shared by the frame tests (protocol-frame.test.ts, protocol-frame-encodings.test.ts): seeded
 * weights, bitwise comparison, a reader of the frame layout written from the spec alone, a
 * misaligned copy of a frame, and one message of each kind.
 */
import { expect } from 'vitest';
import { encodeClientMessage, encodeServerMessage, type TensorDescriptor } from '@finsecure/common/protocol';
import { createRng } from '../../src/rng/index.js';

export function weights(n: number, seed = 1, magnitude = 0.1): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * magnitude;
  return out;
}

/** Bitwise equality; vitest's deep equality is far too slow for million-element arrays. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

/** Reads the frame the way a foreign implementation would, from the spec alone. */
export function parseLayout(frame: Uint8Array): {
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
export function misaligned(frame: Uint8Array, shift: number): Uint8Array {
  const host = new Uint8Array(frame.length + shift);
  host.set(frame, shift);
  return host.subarray(shift);
}

export type ClientInput = Parameters<typeof encodeClientMessage>[0];
export type ServerInput = Parameters<typeof encodeServerMessage>[0];

// Fixtures follow messages.ts; if a schema gains a required field, add it here.
export const scaler = { mean: [0, 1.5], std: [1, 2] };
export const update = {
  type: 'update',
  roundId: 3,
  modelVersion: 2,
  kind: 'delta',
  numExamples: 1200,
  numTrained: 1500,
  loss: 0.31,
  timings: { trainMs: 812 },
} as const;
export const assignment = {
  type: 'round_assignment',
  roundId: 4,
  modelVersion: 3,
  deadlineInMs: 30_000,
  config: { epochs: 2, batchSize: 64, learningRate: 0.01, smoteRatio: 0.2, updateEncoding: 'int8' },
  scaler,
} as const;
export const evaluationRequest = {
  type: 'evaluation_request',
  roundId: 4,
  modelVersion: 4,
  deadlineInMs: 30_000,
  threshold: 0.5,
  histogramBins: 20,
  scaler,
} as const;
export const committed = {
  type: 'round_committed',
  roundId: 4,
  modelVersion: 4,
  metrics: { auc: 0.93, loss: 0.2 },
  scaler,
} as const;
