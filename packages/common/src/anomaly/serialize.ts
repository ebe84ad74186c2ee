/**
 * JSON form of the fitted detectors, saved with the bank's model. Every document carries
 * `kind` and `version`; reading validates shapes and lengths, so a truncated or
 * hand-edited file is refused with a message instead of scoring garbage.
 */
import { z } from 'zod';
import { IsolationForest } from './isolation-forest.js';
import { LocalOutlierFactor } from './lof.js';

export const ANOMALY_FORMAT_VERSION = 1;

const finite = z.number().refine(Number.isFinite, 'must be finite');
const count = z.number().int().min(1);

const iforestSchema = z.object({
  kind: z.literal('IsolationForest'),
  version: z.literal(ANOMALY_FORMAT_VERSION),
  numFeatures: count,
  sampleSize: z.number().int().min(2),
  heightLimit: z.number().int().min(1).max(20),
  numTrees: count,
  splitFeature: z.array(z.number().int().min(0)),
  threshold: z.array(finite),
  nodeSize: z.array(z.number().int().min(0)),
  leafValue: z.array(finite),
});

const lofSchema = z.object({
  kind: z.literal('LocalOutlierFactor'),
  version: z.literal(ANOMALY_FORMAT_VERSION),
  numFeatures: count,
  numNeighbors: count,
  numReference: z.number().int().min(2),
  reference: z.array(finite),
  kDistance: z.array(finite),
  lrd: z.array(finite),
});

export type IsolationForestJson = z.infer<typeof iforestSchema>;
export type LocalOutlierFactorJson = z.infer<typeof lofSchema>;

export function isolationForestToJson(f: IsolationForest): IsolationForestJson {
  const t = f.trees;
  return {
    kind: 'IsolationForest',
    version: ANOMALY_FORMAT_VERSION,
    numFeatures: t.numFeatures,
    sampleSize: t.sampleSize,
    heightLimit: t.heightLimit,
    numTrees: t.numTrees,
    splitFeature: Array.from(t.splitFeature),
    threshold: Array.from(t.threshold),
    nodeSize: Array.from(t.nodeSize),
    leafValue: Array.from(t.leafValue),
  };
}

function problem(what: string, error: z.ZodError): Error {
  const first = error.issues[0];
  return new Error(`${what}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
}

/** Throws Error naming the bad field, or a length that does not match the declared shape. */
export function isolationForestFromJson(json: unknown): IsolationForest {
  const r = iforestSchema.safeParse(json);
  if (!r.success) throw problem('IsolationForest JSON', r.error);
  const j = r.data;
  const internal = (1 << j.heightLimit) - 1;
  const leaves = internal + 1;
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) throw new Error(`IsolationForest JSON: ${name} has ${got} values, expected ${want}`);
  };
  expect('splitFeature', j.splitFeature.length, j.numTrees * internal);
  expect('threshold', j.threshold.length, j.numTrees * internal);
  expect('nodeSize', j.nodeSize.length, j.numTrees * (internal + leaves));
  expect('leafValue', j.leafValue.length, j.numTrees * leaves);
  if (j.splitFeature.some((f) => f >= j.numFeatures))
    throw new Error('IsolationForest JSON: splitFeature out of range');
  return new IsolationForest({
    numFeatures: j.numFeatures,
    sampleSize: j.sampleSize,
    heightLimit: j.heightLimit,
    numTrees: j.numTrees,
    splitFeature: Int32Array.from(j.splitFeature),
    threshold: Float64Array.from(j.threshold),
    nodeSize: Int32Array.from(j.nodeSize),
    leafValue: Float64Array.from(j.leafValue),
  });
}

export function lofToJson(l: LocalOutlierFactor): LocalOutlierFactorJson {
  const m = l.model;
  return {
    kind: 'LocalOutlierFactor',
    version: ANOMALY_FORMAT_VERSION,
    numFeatures: m.numFeatures,
    numNeighbors: m.numNeighbors,
    numReference: m.numReference,
    reference: Array.from(m.reference),
    kDistance: Array.from(m.kDistance),
    lrd: Array.from(m.lrd),
  };
}

export function lofFromJson(json: unknown): LocalOutlierFactor {
  const r = lofSchema.safeParse(json);
  if (!r.success) throw problem('LocalOutlierFactor JSON', r.error);
  const j = r.data;
  if (j.reference.length !== j.numReference * j.numFeatures)
    throw new Error(
      `LocalOutlierFactor JSON: reference has ${j.reference.length} values, expected ${j.numReference * j.numFeatures}`,
    );
  if (j.kDistance.length !== j.numReference || j.lrd.length !== j.numReference)
    throw new Error(`LocalOutlierFactor JSON: kDistance and lrd need ${j.numReference} values each`);
  if (j.numNeighbors > j.numReference - 1) throw new Error('LocalOutlierFactor JSON: numNeighbors ≥ numReference');
  return new LocalOutlierFactor({
    numFeatures: j.numFeatures,
    numNeighbors: j.numNeighbors,
    numReference: j.numReference,
    reference: Float64Array.from(j.reference),
    kDistance: Float64Array.from(j.kDistance),
    lrd: Float64Array.from(j.lrd),
  });
}
