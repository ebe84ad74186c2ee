/**
 * Shared by the trainer tests (model-trainer.test.ts, model-trainer-weights.test.ts): the
 * training and test data (seeded, see linear-synthetic.ts) and an element-wise comparison.
 */
import { expect } from 'vitest';
import { linearSynthetic } from './linear-synthetic.js';

export interface Data {
  features: Float32Array;
  labels: Uint8Array;
  numRows: number;
  numFeatures: number;
}

/** Gaussian features; the label is a noisy linear rule (about 25 % positives). */
export function synthetic(seed: number, numRows: number, numFeatures = 30, noise = 0.3): Data {
  return linearSynthetic(seed, numRows, numFeatures, noise);
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Training rows (seed 1) and test rows (seed 2) of the default 30 features. */
export const train = synthetic(1, 2000);
export const test = synthetic(2, 1000);
