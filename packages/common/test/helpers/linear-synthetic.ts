/**
 * Test data for the trainer: Gaussian features, and a label from a noisy linear rule that is
 * the same for every seed (its direction comes from a fixed generator). Positives are rows with
 * ⟨w, x⟩/‖w‖ + noise·N(0, 1) > threshold: about 25 % with the defaults, about 6 % with noise 0.6
 * and threshold 1.7.
 */
import { createRng } from '../../src/rng/index.js';

export interface LinearData {
  features: Float32Array;
  labels: Uint8Array;
  numRows: number;
  numFeatures: number;
}

export function linearSynthetic(
  seed: number,
  numRows: number,
  numFeatures = 30,
  noise = 0.3,
  threshold = 0.7,
): LinearData {
  const rng = createRng(seed);
  const direction = createRng(12345); // the same rule for every seed
  const w = Float64Array.from({ length: numFeatures }, () => direction.normal());
  const norm = Math.hypot(...w);
  const features = new Float32Array(numRows * numFeatures);
  const labels = new Uint8Array(numRows);
  for (let r = 0; r < numRows; r++) {
    let s = 0;
    for (let j = 0; j < numFeatures; j++) {
      const v = rng.normal();
      features[r * numFeatures + j] = v;
      s += (w[j]! / norm) * v;
    }
    labels[r] = s + noise * rng.normal() > threshold ? 1 : 0;
  }
  return { features, labels, numRows, numFeatures };
}
