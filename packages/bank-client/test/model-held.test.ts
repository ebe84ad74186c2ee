/**
 * HeldModels: a bank honours a model named by reference only with the very weights it names.
 */
import { describe, expect, it } from 'vitest';
import { weightsSha256 } from '@finsecure/common/model';
import { HeldModels } from '../src/model-held.js';

const w = (x: number) => new Float32Array(8).fill(x);

describe('HeldModels', () => {
  it('gives the held model for its version and hash, and nothing for another', () => {
    const held = new HeldModels();
    expect(held.byReference(0, weightsSha256(w(0)))).toBeNull();
    held.received(3, w(3));
    expect(held.byReference(3, weightsSha256(w(3)))).toEqual(w(3));
    expect(held.byReference(2, weightsSha256(w(3)))).toBeNull();
    expect(held.byReference(3, weightsSha256(w(4)))).toBeNull();
  });

  it('adopts the evaluated candidate on its commit, only for that round, version and hash', () => {
    const held = new HeldModels();
    held.received(3, w(3));
    held.evaluating(7, 4, w(4));
    expect(held.committed(6, 4, weightsSha256(w(4)))).toBeNull();
    expect(held.committed(7, 5, weightsSha256(w(4)))).toBeNull();
    expect(held.committed(7, 4, weightsSha256(w(5)))).toBeNull();
    expect(held.byReference(3, weightsSha256(w(3)))).toEqual(w(3)); // unchanged by the refusals
    expect(held.committed(7, 4, weightsSha256(w(4)))).toEqual(w(4));
    expect(held.byReference(4, weightsSha256(w(4)))).toEqual(w(4));
    expect(held.committed(7, 4, weightsSha256(w(4)))).toBeNull(); // a candidate is adopted once
  });

  it('holds nothing after a new connection', () => {
    const held = new HeldModels();
    held.received(1, w(1));
    held.evaluating(2, 2, w(2));
    held.reset();
    expect(held.byReference(1, weightsSha256(w(1)))).toBeNull();
    expect(held.committed(2, 2, weightsSha256(w(2)))).toBeNull();
  });
});
