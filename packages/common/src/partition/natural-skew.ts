/**
 * Natural partition with quantity skew: whole customers per bank (as `natural`), but
 * banks of very different sizes, as in a real consortium of a few large banks and many
 * small ones. The plain natural partition balances rows across banks, which on the
 * handbook data gives ten near-identical banks (70,533 rows each, 0.72–1.04 % fraud):
 * close to IID, so it hardly tests federation at all.
 *
 * Method: draw target shares (sizes.ts: Dirichlet(α) or power law), then place customers
 * largest first (shuffled among equal sizes, by the seed) on the bank furthest below its
 * target in rows (greedy; with many small customers the realised shares match the
 * targets to within about one customer's rows). A bank left without customers receives
 * the smallest customer of the bank with the most customers; then the fraud minimum is
 * enforced by moving whole fraud-carrying customers (constraints.ts), never splitting one.
 */
import { createRng, shuffleInPlace } from '../rng/index.js';
import { ensureMinFraud, ensureNonEmpty, PartitionError } from './constraints.js';
import { sizeShares, type SizeDistribution } from './sizes.js';
import type { PartitionInput, SkewOptions } from './schemes.js';

export interface NaturalSkewOptions extends SkewOptions {
  /** Bank size shares ~ Dirichlet(alpha) (default) or ∝ rank^(−alpha). */
  sizes?: SizeDistribution;
}

/** Row indices per group, groups numbered in order of first appearance. */
export function groupRows(groups: readonly string[], numRows: number): number[][] {
  const ids = new Map<string, number>();
  const rows: number[][] = [];
  for (let i = 0; i < numRows; i++) {
    let g = ids.get(groups[i]);
    if (g === undefined) {
      ids.set(groups[i], (g = rows.length));
      rows.push([]);
    }
    rows[g].push(i);
  }
  return rows;
}

/**
 * Splits rows among `banks` banks by whole group (customer) with skewed bank sizes.
 * Returns one ascending index array per bank, covering every row once.
 * @throws PartitionError without groups, with fewer groups than banks, or when the fraud
 *   minimum cannot be met without splitting a customer; RangeError for bad options.
 */
export function naturalSkewPartition(ds: PartitionInput, o: NaturalSkewOptions): number[][] {
  if (!Number.isInteger(o.banks) || o.banks < 1) throw new RangeError(`banks must be an integer ≥ 1, got ${o.banks}`);
  if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
  const min = o.minFraudPerBank ?? 1;
  if (!Number.isInteger(min) || min < 0) throw new RangeError(`minFraudPerBank must be an integer ≥ 0, got ${min}`);
  if (!ds.groups) {
    throw new PartitionError('the natural-skew partition needs per-row groups (e.g. the handbook CUSTOMER_ID column)');
  }
  const rng = createRng(o.seed);
  const shares = sizeShares(o.banks, o.alpha, o.sizes ?? 'dirichlet', rng);
  const rowsOf = groupRows(ds.groups, ds.numRows);
  if (rowsOf.length < o.banks) {
    throw new PartitionError(`only ${rowsOf.length} groups for ${o.banks} banks; each bank needs a whole group`);
  }
  const order = Array.from({ length: rowsOf.length }, (_, g) => g);
  shuffleInPlace(order, rng);
  order.sort((a, b) => rowsOf[b].length - rowsOf[a].length); // stable: shuffled ties
  const target = shares.map((p) => p * ds.numRows);
  const load = new Array<number>(o.banks).fill(0);
  const bankUnits: number[][] = Array.from({ length: o.banks }, () => []);
  for (const g of order) {
    let best = 0;
    for (let b = 1; b < o.banks; b++) if (target[b] - load[b] > target[best] - load[best]) best = b;
    bankUnits[best].push(g);
    load[best] += rowsOf[g].length;
  }
  // A bank whose share rounds to nothing still gets one customer (the smallest spare one).
  for (let b = 0; b < o.banks; b++) {
    if (bankUnits[b].length > 0) continue;
    let donor = 0;
    for (let d = 1; d < o.banks; d++) if (bankUnits[d].length > bankUnits[donor].length) donor = d;
    const units = bankUnits[donor];
    let pick = 0;
    for (let k = 1; k < units.length; k++) if (rowsOf[units[k]].length < rowsOf[units[pick]].length) pick = k;
    bankUnits[b].push(units[pick]);
    units.splice(pick, 1);
  }
  const groupFraud = rowsOf.map((rows) => rows.reduce((s, i) => s + ds.labels[i], 0));
  ensureMinFraud(bankUnits, groupFraud, min, 'customer');
  const parts = bankUnits.map((units) => units.flatMap((g) => rowsOf[g]).sort((a, b) => a - b));
  ensureNonEmpty(parts, 'use fewer banks');
  return parts;
}
