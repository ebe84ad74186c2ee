/**
 * The frame envelope's fast path (frame-decode.ts plainHeader) against its definition, the zod
 * HeaderSchema: wherever the fast path answers, the schema accepts and returns the same value;
 * where it declines, the schema alone decides (and names the fault). Envelopes are generated from
 * a valid one by single and paired mutations, so every field and bound is crossed.
 */
import { describe, expect, it } from 'vitest';
import { HeaderSchema, plainHeader } from '../src/protocol/frame-envelope.js';
import { createRng } from '../src/rng/index.js';

const descriptor = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  shape: [2, 3],
  dtype: 'float32',
  byteOffset: 0,
  byteLength: 24,
  ...extra,
});

const VALID: unknown[] = [
  { msg: { type: 'heartbeat' }, tensors: [] },
  { msg: { type: 'update', roundId: 1 }, tensors: [descriptor('update')] },
  { msg: null, tensors: [descriptor('a'), descriptor('b', { dtype: 'int8', scale: 0.5, byteOffset: 24 })] },
  { msg: 1, tensors: [descriptor('q', { dtype: 'uint32', shape: [] })] },
  { msg: { nested: [1, 2] }, tensors: [descriptor('x'.repeat(256), { shape: Array(32).fill(1) })] },
];

/** Values a field may be replaced with: each is wrong somewhere, some are right elsewhere. */
const ODD: unknown[] = [
  undefined,
  null,
  -1,
  0,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  '',
  'a',
  'x'.repeat(257),
  'float32',
  'int8',
  [],
  [1, -1],
  [1.5],
  Array(33).fill(1),
  {},
  { a: 1 },
  true,
  0.25,
];

function mutate(value: unknown, rng: () => number): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!;
  if (Array.isArray(value)) {
    const copy = value.map((v) => structuredClone(v) as unknown);
    const r = rng();
    if (r < 0.2) copy.push(copy.length > 0 ? structuredClone(copy[0]) : descriptor('dup'));
    else if (r < 0.3) copy.length = 0;
    else if (copy.length > 0) {
      const i = Math.floor(rng() * copy.length);
      copy[i] = rng() < 0.2 ? pick(ODD) : mutate(copy[i], rng);
    }
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const copy = structuredClone(value) as Record<string, unknown>;
    const keys = [...Object.keys(copy), 'scale', 'extra', 'msg', 'tensors'];
    const key = pick(keys);
    const r = rng();
    if (r < 0.15) delete copy[key];
    else if (r < 0.7) copy[key] = pick(ODD);
    else copy[key] = mutate(copy[key], rng);
    return copy;
  }
  return pick(ODD);
}

function agree(envelope: unknown): void {
  const fast = plainHeader(envelope);
  if (fast === null) return; // the schema decides alone: nothing to compare
  const slow = HeaderSchema.safeParse(envelope);
  expect(slow.success, JSON.stringify(envelope)).toBe(true);
  expect(fast).toEqual(slow.data);
}

describe('frame envelope fast path', () => {
  it('answers every plainly valid envelope, exactly as the schema does', () => {
    for (const envelope of VALID) {
      expect(plainHeader(envelope)).not.toBeNull();
      agree(envelope);
    }
  });

  it('declines what the schema refuses or reshapes (unknown keys, duplicates, bounds), and never disagrees', () => {
    const source = createRng(14);
    const rng = () => source.next();
    let declined = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      let envelope = mutate(VALID[i % VALID.length], rng);
      if (rng() < 0.5) envelope = mutate(envelope, rng);
      agree(envelope);
      if (plainHeader(envelope) === null) declined++;
      if (!HeaderSchema.safeParse(envelope).success) refused++;
    }
    // The mutations reach both sides: most break the envelope, some leave it valid.
    expect(refused).toBeGreaterThan(1000);
    expect(declined).toBeGreaterThanOrEqual(refused);
    expect(declined).toBeLessThan(4000);
  });

  it('declines the cases the schema accepts only by reshaping them', () => {
    // Unknown keys are stripped by the schema: its result, not the input, is what decode uses.
    expect(plainHeader({ msg: 1, tensors: [descriptor('a', { extra: 1 })] })).toBeNull();
    expect(HeaderSchema.safeParse({ msg: 1, tensors: [descriptor('a', { extra: 1 })] }).success).toBe(true);
    // Duplicate names, too many descriptors, a missing msg: refused by the schema, declined here.
    expect(plainHeader({ msg: 1, tensors: [descriptor('a'), descriptor('a')] })).toBeNull();
    expect(plainHeader({ msg: 1, tensors: Array.from({ length: 1025 }, (_, i) => descriptor(`t${i}`)) })).toBeNull();
    expect(plainHeader({ tensors: [] })).toBeNull();
  });
});
