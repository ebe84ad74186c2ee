/**
 * Partitioners: split a training set's row indices among N simulated banks.
 *
 * All are pure and deterministic by `seed`, return one ascending index array per bank
 * covering every row exactly once, guarantee `minFraudPerBank` fraud rows per bank
 * (default 1; 0 = no guarantee) and never leave a bank empty (they throw instead).
 */
import type { Dataset } from '../types/index.js';
import { createRng, shuffleInPlace, type Rng } from '../rng/index.js';
import { ensureMinFraud, ensureNonEmpty, PartitionError } from './constraints.js';
import { apportion, sampleDirichlet } from './gamma.js';
import { sizeShares, type SizeDistribution } from './sizes.js';
import { groupRows, naturalSkewPartition } from './natural-skew.js';

/** What a partitioner needs from a dataset (features are never looked at). */
export type PartitionInput = Pick<Dataset, 'numRows' | 'labels' | 'groups'>;

export interface PartitionOptions {
  banks: number;
  seed: number;
  /** Fraud rows guaranteed per bank, moved from the richest bank if needed. Default 1. */
  minFraudPerBank?: number;
}

export interface SkewOptions extends PartitionOptions {
  /** Dirichlet concentration (or power-law exponent): smaller = more skewed. */
  alpha: number;
}

export interface QuantityOptions extends SkewOptions {
  /** Bank sizes ~ Dirichlet(alpha) (default) or shares ∝ rank^(−alpha) in random bank order. */
  sizes?: SizeDistribution;
}

function check(ds: PartitionInput, o: PartitionOptions): number {
  if (!Number.isInteger(o.banks) || o.banks < 1) throw new RangeError(`banks must be an integer ≥ 1, got ${o.banks}`);
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const min = o.minFraudPerBank ?? 1;
  if (!Number.isInteger(min) || min < 0) {
    throw new RangeError(`minFraudPerBank must be an integer ≥ 0, got ${min}`);
  }
  if (o.banks > ds.numRows) throw new PartitionError(`cannot split ${ds.numRows} rows among ${o.banks} banks`);
  return min;
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`alpha must be a finite number > 0, got ${alpha}`);
}

/** Row-level finish: fraud minimum, non-empty check, ascending order. */
function finishRows(ds: PartitionInput, parts: number[][], min: number, hint: string): number[][] {
  ensureMinFraud(parts, ds.labels, min, 'row');
  ensureNonEmpty(parts, hint);
  return parts.map((p) => p.sort((a, b) => a - b));
}

function shuffledIndices(n: number, rng: Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(idx, rng);
  return idx;
}

/** Cuts `idx` into consecutive chunks of the given sizes. */
function cut(idx: number[], sizes: number[]): number[][] {
  let at = 0;
  return sizes.map((s) => idx.slice(at, (at += s)));
}

/** IID: a random permutation cut into equal-size banks (sizes differ by at most 1). */
export function iidPartition(ds: PartitionInput, o: PartitionOptions): number[][] {
  const min = check(ds, o);
  const rng = createRng(o.seed);
  const sizes = apportion(ds.numRows, new Array<number>(o.banks).fill(1 / o.banks));
  return finishRows(ds, cut(shuffledIndices(ds.numRows, rng), sizes), min, 'use fewer banks');
}

/**
 * Label skew (Hsu et al. 2019): for each class, the banks' shares are drawn from
 * Dirichlet(alpha, ..., alpha). Small alpha concentrates each class in a few banks, so
 * fraud rates differ widely between banks; large alpha approaches IID.
 */
export function dirichletPartition(ds: PartitionInput, o: SkewOptions): number[][] {
  const min = check(ds, o);
  checkAlpha(o.alpha);
  const rng = createRng(o.seed);
  const parts: number[][] = Array.from({ length: o.banks }, () => []);
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < ds.numRows; i++) if (ds.labels[i] === cls) idx.push(i);
    shuffleInPlace(idx, rng);
    const p = sampleDirichlet(new Array<number>(o.banks).fill(o.alpha), rng);
    cut(idx, apportion(idx.length, p)).forEach((chunk, b) => {
      for (const i of chunk) parts[b].push(i); // no push(...chunk): huge spreads overflow the stack
    });
  }
  return finishRows(ds, parts, min, 'increase alpha, use fewer banks, or keep minFraudPerBank ≥ 1');
}

/** Quantity skew: bank sizes are skewed, labels stay IID within each bank. */
export function quantityPartition(ds: PartitionInput, o: QuantityOptions): number[][] {
  const min = check(ds, o);
  checkAlpha(o.alpha);
  const rng = createRng(o.seed);
  const p = sizeShares(o.banks, o.alpha, o.sizes ?? 'dirichlet', rng);
  const parts = cut(shuffledIndices(ds.numRows, rng), apportion(ds.numRows, p));
  return finishRows(ds, parts, min, 'increase alpha, use fewer banks, or keep minFraudPerBank ≥ 1');
}

/**
 * Natural partition: each group (e.g. customer) goes wholly to one bank, as real banks
 * hold disjoint customers. Groups are placed largest first on the bank with fewest rows
 * (greedy balancing by row count); the seed only breaks ties between equal-size groups.
 */
export function naturalPartition(ds: PartitionInput, o: PartitionOptions): number[][] {
  const min = check(ds, o);
  const groups = ds.groups;
  if (!groups) {
    throw new PartitionError('the natural partition needs per-row groups (e.g. the handbook CUSTOMER_ID column)');
  }
  const rng = createRng(o.seed);
  const rowsOf = groupRows(groups, ds.numRows);
  if (rowsOf.length < o.banks) {
    throw new PartitionError(`only ${rowsOf.length} groups for ${o.banks} banks; each bank needs a whole group`);
  }
  const order = shuffledIndices(rowsOf.length, rng);
  order.sort((a, b) => rowsOf[b].length - rowsOf[a].length); // stable: shuffled ties
  const bankUnits: number[][] = Array.from({ length: o.banks }, () => []);
  const load = new Array<number>(o.banks).fill(0);
  for (const g of order) {
    let best = 0;
    for (let b = 1; b < o.banks; b++) if (load[b] < load[best]) best = b;
    bankUnits[best].push(g);
    load[best] += rowsOf[g].length;
  }
  const groupFraud = rowsOf.map((rows) => rows.reduce((s, i) => s + ds.labels[i], 0));
  ensureMinFraud(bankUnits, groupFraud, min, 'customer');
  const parts = bankUnits.map((units) => units.flatMap((g) => rowsOf[g]).sort((a, b) => a - b));
  ensureNonEmpty(parts, 'use fewer banks');
  return parts;
}

export type PartitionScheme = 'iid' | 'dirichlet' | 'quantity' | 'natural' | 'natural-skew';
export const PARTITION_SCHEMES: readonly PartitionScheme[] = [
  'iid',
  'dirichlet',
  'quantity',
  'natural',
  'natural-skew',
];

/** Whether the scheme takes `alpha` (Dirichlet concentration or power-law exponent). */
export function schemeNeedsAlpha(scheme: PartitionScheme): boolean {
  return scheme === 'dirichlet' || scheme === 'quantity' || scheme === 'natural-skew';
}

/** Whether the scheme assigns whole groups (customers), so the data needs a group column. */
export function schemeNeedsGroups(scheme: PartitionScheme): boolean {
  return scheme === 'natural' || scheme === 'natural-skew';
}

export interface AnyPartitionOptions extends PartitionOptions {
  scheme: PartitionScheme;
  /** Required by dirichlet, quantity and natural-skew. */
  alpha?: number;
  /** Size distribution of quantity and natural-skew (default dirichlet). */
  quantitySizes?: SizeDistribution;
}

/** Dispatches to the scheme's partitioner. */
export function partitionDataset(ds: PartitionInput, o: AnyPartitionOptions): number[][] {
  switch (o.scheme) {
    case 'iid':
      return iidPartition(ds, o);
    case 'natural':
      return naturalPartition(ds, o);
    case 'dirichlet':
    case 'quantity':
    case 'natural-skew': {
      if (o.alpha === undefined) throw new RangeError(`the ${o.scheme} scheme needs alpha`);
      const skew = { ...o, alpha: o.alpha };
      if (o.scheme === 'dirichlet') return dirichletPartition(ds, skew);
      const sized = { ...skew, ...(o.quantitySizes !== undefined ? { sizes: o.quantitySizes } : {}) };
      return o.scheme === 'quantity' ? quantityPartition(ds, sized) : naturalSkewPartition(ds, sized);
    }
    default:
      throw new RangeError(`unknown partition scheme "${String(o.scheme)}"; expected ${PARTITION_SCHEMES.join(', ')}`);
  }
}

/** Rows and fraud rows per bank. */
export function partitionSummary(
  ds: PartitionInput,
  parts: readonly ArrayLike<number>[],
): { rows: number; frauds: number }[] {
  return parts.map((p) => {
    let frauds = 0;
    for (let k = 0; k < p.length; k++) frauds += ds.labels[p[k]];
    return { rows: p.length, frauds };
  });
}
