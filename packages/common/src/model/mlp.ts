/**
 * The fraud model: a small multilayer perceptron (default 30 → 64 → 32 → 1, ReLU,
 * dropout 0.2, sigmoid output). Defined here once so that the aggregator (initial
 * weights, model export), bank clients (training, scoring) and research scripts all
 * agree on the exact tensor layout that travels on the wire.
 */
import type { Rng } from '../rng/index.js';
import type { FlatWeights, TensorSpec } from '../types/index.js';

export interface MlpSpec {
  inputSize: number;
  hidden: number[];
  dropout: number;
}

export const DEFAULT_MLP: MlpSpec = { inputSize: 30, hidden: [64, 32], dropout: 0.2 };

export function validateSpec(spec: MlpSpec): MlpSpec {
  if (!Number.isInteger(spec.inputSize) || spec.inputSize < 1)
    throw new Error(`inputSize must be a positive integer, got ${spec.inputSize}`);
  if (spec.hidden.length === 0 || spec.hidden.some((h) => !Number.isInteger(h) || h < 1 || h > 4096)) {
    throw new Error(`hidden layer sizes must be integers in 1..4096, got [${spec.hidden.join(', ')}]`);
  }
  if (!(spec.dropout >= 0 && spec.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${spec.dropout}`);
  return spec;
}

/** Layer names; they are also the TF.js layer names in exported models. */
export function layerNames(spec: MlpSpec): string[] {
  return [...spec.hidden.map((_, i) => `dense_${i + 1}`), 'output'];
}

/** The order and shapes of tensors in a flat weight vector: kernel then bias per layer. */
export function manifestFor(spec: MlpSpec): TensorSpec[] {
  const sizes = [spec.inputSize, ...spec.hidden, 1];
  const names = layerNames(spec);
  const out: TensorSpec[] = [];
  for (let i = 0; i < names.length; i++) {
    out.push({ name: `${names[i]}/kernel`, shape: [sizes[i]!, sizes[i + 1]!] });
    out.push({ name: `${names[i]}/bias`, shape: [sizes[i + 1]!] });
  }
  return out;
}

export function tensorSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function parameterCount(spec: MlpSpec): number {
  return manifestFor(spec).reduce((n, t) => n + tensorSize(t.shape), 0);
}

/**
 * Glorot-uniform kernels and zero biases (Keras' defaults), drawn from a seeded RNG so
 * that the first global model of a federation is reproducible.
 */
export function initWeights(spec: MlpSpec, rng: Rng): FlatWeights {
  validateSpec(spec);
  const manifest = manifestFor(spec);
  const data = new Float32Array(manifest.reduce((n, t) => n + tensorSize(t.shape), 0));
  let offset = 0;
  for (const t of manifest) {
    const size = tensorSize(t.shape);
    if (t.shape.length === 2) {
      const limit = Math.sqrt(6 / (t.shape[0]! + t.shape[1]!));
      for (let i = 0; i < size; i++) data[offset + i] = (rng.next() * 2 - 1) * limit;
    }
    offset += size;
  }
  return { data, manifest };
}

/** Checks that a flat weight vector matches the spec (names, shapes, length). */
export function checkWeights(spec: MlpSpec, weights: FlatWeights): void {
  const expected = manifestFor(spec);
  const total = expected.reduce((n, t) => n + tensorSize(t.shape), 0);
  if (weights.data.length !== total) {
    throw new Error(`weights have ${weights.data.length} values, the model needs ${total}`);
  }
  expected.forEach((t, i) => {
    const got = weights.manifest[i];
    if (!got || got.name !== t.name || got.shape.join('x') !== t.shape.join('x')) {
      throw new Error(
        `tensor ${i} should be ${t.name} [${t.shape}], got ${got ? `${got.name} [${got.shape}]` : 'nothing'}`,
      );
    }
  });
}

/** Cuts a flat vector into per-tensor views (no copy). */
export function splitFlat(weights: FlatWeights): Float32Array[] {
  const out: Float32Array[] = [];
  let offset = 0;
  for (const t of weights.manifest) {
    const size = tensorSize(t.shape);
    out.push(weights.data.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}
