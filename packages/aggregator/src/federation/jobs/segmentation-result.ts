/**
 * What a finished segmentation job stores and tells the banks: centres in original units
 * (unscaled with the consortium's scaling) with generated plain names, the released (noised)
 * segment sizes, the fraud rate per segment from the noised counts of customers with fraud
 * (only where the size is above 3σ of the noise, else unknown), and each bank's ε from the
 * aggregator's Rényi-DP accountant of that bank's releases in this job.
 */
import type { RdpAccountant } from '@finsecure/common/dp';
import {
  CUSTOMER_FEATURES,
  segmentNames,
  segmentSigma,
  unscaleCentres,
  type Centres,
  type Scaling,
} from '@finsecure/common/kmeans';
import type { SegmentationParams } from './params.js';
import type { JobStep } from './types.js';

export interface SegmentIteration {
  iteration: number;
  answered: number;
  /** Segments that kept their previous centre (count below the minimum). */
  empty: number[];
  shift: number;
}

export interface FinishedSegmentation {
  params: SegmentationParams;
  /** Final centres, scaled units. */
  centres: Centres;
  scaling: Scaling;
  /** Merged (noised with DP) counts and fraud counts of the last Lloyd stage. */
  counts: number[];
  frauds: number[] | null;
  customers: number;
  iterations: SegmentIteration[];
  converged: boolean;
  accountants: ReadonlyMap<string, RdpAccountant>;
  declined: { bank: string; stage: string; reason: string }[];
  notes: string[];
}

export function segmentationResult(f: FinishedSegmentation): JobStep {
  const p = f.params;
  const scaled = f.centres;
  const original = unscaleCentres(scaled, f.scaling);
  const names = segmentNames(scaled, original, CUSTOMER_FEATURES);
  const minCount = p.privacy ? 3 * segmentSigma(p.privacy, f.frauds !== null) : 0;
  const rows = (c: Centres) =>
    Array.from({ length: c.k }, (_, j) => Array.from(c.data.subarray(j * c.d, (j + 1) * c.d)));
  const delta = p.privacy?.delta ?? 1e-5;
  const epsilon = Object.fromEntries([...f.accountants].map(([b, acc]) => [b, acc.epsilon(delta).epsilon]));
  const result = {
    features: [...CUSTOMER_FEATURES],
    k: p.k,
    iterations: f.iterations.length,
    converged: f.converged,
    customers: f.customers,
    centres: rows(original),
    centresScaled: rows(scaled),
    scaling: f.scaling,
    names,
    sizes: f.counts.map((c) => Math.max(0, c)),
    fraudRate: f.counts.map((c, j) => (f.frauds && c > minCount ? Math.min(1, Math.max(0, f.frauds[j]! / c)) : null)),
    privacy: p.privacy
      ? { ...p.privacy, epsilon, maxEpsilon: Math.max(0, ...Object.values(epsilon)) }
      : { epsilon: {}, maxEpsilon: 0 },
    declined: f.declined,
    history: f.iterations,
    notes: f.notes,
  };
  return {
    type: 'done',
    result,
    outcome: {
      kind: 'segmentation',
      features: [...CUSTOMER_FEATURES],
      scaling: f.scaling,
      k: p.k,
      d: scaled.d,
      centres: Array.from(scaled.data),
      names,
    },
  };
}
