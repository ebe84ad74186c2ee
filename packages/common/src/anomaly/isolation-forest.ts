/**
 * Isolation Forest (Liu, Ting & Zhou, "Isolation Forest", ICDM 2008): anomalies are
 * few and different, so random axis-parallel splits isolate them in fewer steps. Each
 * tree is grown on a subsample of ψ rows without replacement, splitting on a random
 * non-constant feature at a threshold uniform between that feature's minimum and
 * maximum in the node, down to the height limit ⌈log2 ψ⌉. A row's path length h(x) is
 * the depth of the leaf it lands in plus c(size of that leaf); the anomaly score is
 * s = 2^(−E[h(x)] / c(ψ)). `scoreSamples` returns −s, like scikit-learn's
 * `IsolationForest.score_samples` (lower = more anomalous), and follows scikit-learn's
 * splitter rules (features drawn until a non-constant one is found, `x <= threshold`
 * goes left, a threshold equal to the maximum becomes the minimum), so the two agree in
 * distribution (checked in test/anomaly-iforest.test.ts against the committed
 * reference values of docs/anomaly-reference.py).
 *
 * Layout, for speed: every tree is stored as a *perfect* binary tree of height L in flat
 * typed arrays (node p has children 2p+1 and 2p+2). A leaf reached above depth L is
 * padded with pass-through nodes whose two subtrees end in the same leaf value, so
 * scoring walks exactly L levels per tree with no leaf test and no pointer chasing. The
 * walk runs in WebAssembly (walk-wasm.ts, wasm/iforest.wat), with the same walk in
 * JavaScript (walk-js.ts) where WebAssembly is missing: bit-identical depths.
 */
import type { Rng } from '../rng/index.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { averagePathLength } from './path-length.js';
import { walkJs, type Walker } from './walk-js.js';
import { wasmWalker } from './walk-wasm.js';

export interface IsolationForestOptions {
  /** Number of trees (default 100). */
  numTrees?: number;
  /** Subsample size ψ per tree (default 256, capped at the number of rows). */
  sampleSize?: number;
}

/** The fitted trees, flat. Internal node arrays are `numTrees × (2^L − 1)`, leaves `numTrees × 2^L`. */
export interface IsolationForestTrees {
  numFeatures: number;
  sampleSize: number;
  heightLimit: number;
  numTrees: number;
  /** Split feature of each internal node (0 for pass-through nodes). */
  splitFeature: Int32Array;
  /** Split threshold: x ≤ threshold goes left. */
  threshold: Float64Array;
  /** Training rows that reached each node, internal then leaf level, `numTrees × (2^(L+1) − 1)`. */
  nodeSize: Int32Array;
  /** Path length credited at each bottom-level leaf: depth of the real leaf + c(its size). */
  leafValue: Float64Array;
}

/** The splitter's "constant feature" tolerance (scikit-learn's FEATURE_THRESHOLD). */
const FEATURE_THRESHOLD = 1e-7;

export class IsolationForest {
  private readonly internal: number;
  private readonly leaves: number;
  private logSize: Float64Array | null = null;
  private walker: Walker | null = null;

  constructor(readonly trees: IsolationForestTrees) {
    this.internal = (1 << trees.heightLimit) - 1;
    this.leaves = 1 << trees.heightLimit;
  }

  /**
   * Grows the forest on `x` (rows × features, finite values). Throws RangeError on an
   * empty or non-finite matrix or bad options. Deterministic for a given `rng` state.
   */
  static fit(x: Matrix, rng: Rng, options: IsolationForestOptions = {}): IsolationForest {
    checkMatrix(x, 'IsolationForest.fit');
    const numTrees = options.numTrees ?? 100;
    const requested = options.sampleSize ?? 256;
    if (!Number.isInteger(numTrees) || numTrees < 1) throw new RangeError(`numTrees must be ≥ 1, got ${numTrees}`);
    if (!Number.isInteger(requested) || requested < 2) throw new RangeError(`sampleSize must be ≥ 2, got ${requested}`);
    if (x.rows < 2) throw new RangeError(`IsolationForest needs at least 2 rows, got ${x.rows}`);
    const psi = Math.min(requested, x.rows);
    const L = Math.ceil(Math.log2(Math.max(psi, 2)));
    if (L > 20) throw new RangeError(`sampleSize ${psi} gives height limit ${L} > 20`);
    const internal = (1 << L) - 1;
    const leaves = 1 << L;
    const nodes = internal + leaves;
    const trees: IsolationForestTrees = {
      numFeatures: x.cols,
      sampleSize: psi,
      heightLimit: L,
      numTrees,
      splitFeature: new Int32Array(numTrees * internal),
      threshold: new Float64Array(numTrees * internal),
      nodeSize: new Int32Array(numTrees * nodes),
      leafValue: new Float64Array(numTrees * leaves),
    };
    const builder = new TreeBuilder(x, psi, L, rng);
    for (let t = 0; t < numTrees; t++) builder.grow(trees, t);
    return new IsolationForest(trees);
  }

  get numFeatures(): number {
    return this.trees.numFeatures;
  }

  /**
   * −s(x) for every row (scikit-learn's `score_samples`): in [−1, 0), lower is more
   * anomalous; about −0.5 for ordinary rows. Throws on a feature-count mismatch or a
   * non-finite value.
   */
  scoreSamples(x: Matrix): Float64Array {
    checkMatrix(x, 'IsolationForest.scoreSamples', this.trees.numFeatures);
    const { numTrees, sampleSize } = this.trees;
    const depth = new Float64Array(x.rows);
    // The WebAssembly walk where the runtime has WebAssembly, else the JavaScript one: the
    // same additions in the same order, so the depths are bit-identical (tested).
    this.walker ??= wasmWalker(this.trees) ?? ((m, out) => walkJs(this.trees, m, out));
    this.walker(x, depth);
    const norm = numTrees * averagePathLength(sampleSize);
    for (let r = 0; r < x.rows; r++) depth[r] = -Math.pow(2, -depth[r] / norm);
    return depth;
  }

  /**
   * Per-feature path-length attribution of each row: every split on the row's path in
   * every tree is credited to its feature with weight log2(rows in node / rows in the
   * child the row went to) — the bits of isolation that split provided — and each row's
   * credits are normalised to sum to 1 (all zero if no split separated it from
   * anything). Returns rows × features, row-major.
   */
  attribution(x: Matrix): Float64Array {
    checkMatrix(x, 'IsolationForest.attribution', this.trees.numFeatures);
    const { numTrees, heightLimit: L, splitFeature: feat, threshold: thr, nodeSize } = this.trees;
    const d = x.cols;
    const nodes = this.internal + this.leaves;
    // log2 of every node's size, once: a split's credit is then one subtraction.
    this.logSize ??= Float64Array.from(nodeSize, (v) => Math.log2(v));
    const logSize = this.logSize;
    const out = new Float64Array(x.rows * d);
    for (let r = 0; r < x.rows; r++) {
      const off = r * d;
      for (let t = 0; t < numTrees; t++) {
        const nb = t * this.internal;
        const sb = t * nodes;
        let p = 0;
        for (let level = 0; level < L; level++) {
          const f = feat[nb + p];
          const child = 2 * p + (x.data[off + f] <= thr[nb + p] ? 1 : 2);
          out[off + f] += logSize[sb + p] - logSize[sb + child]; // 0 on pass-through nodes
          p = child;
        }
      }
      let sum = 0;
      for (let j = 0; j < d; j++) sum += out[off + j];
      if (sum > 0) for (let j = 0; j < d; j++) out[off + j] /= sum;
    }
    return out;
  }
}

/** Grows one tree at a time into the flat arrays; scratch buffers are reused across trees. */
class TreeBuilder {
  private readonly moved = new Map<number, number>();
  private readonly sample: Int32Array;
  private readonly featureOrder: Int32Array;

  constructor(
    private readonly x: Matrix,
    private readonly psi: number,
    private readonly L: number,
    private readonly rng: Rng,
  ) {
    this.sample = new Int32Array(psi);
    this.featureOrder = new Int32Array(x.cols);
  }

  grow(trees: IsolationForestTrees, t: number): void {
    // Subsample ψ rows without replacement: a partial Fisher-Yates over the row indices,
    // with the swapped positions kept in a Map so a tree costs O(ψ), not O(rows).
    const n = this.x.rows;
    const moved = this.moved;
    moved.clear();
    for (let i = 0; i < this.psi; i++) {
      const j = i + this.rng.int(n - i);
      const atJ = moved.get(j) ?? j;
      moved.set(j, moved.get(i) ?? i);
      this.sample[i] = atJ;
    }
    this.node(trees, t, 0, 0, 0, this.psi);
  }

  private node(trees: IsolationForestTrees, t: number, p: number, depth: number, lo: number, hi: number): void {
    const L = this.L;
    const internal = (1 << L) - 1;
    const nodes = internal + (1 << L);
    const size = hi - lo;
    trees.nodeSize[t * nodes + p] = size;
    if (depth === L) {
      trees.leafValue[t * (1 << L) + p - internal] = this.leafDepth ?? depth + averagePathLength(size);
      return;
    }
    let split = -1;
    let lo64 = 0;
    let hi64 = 0;
    if (this.leafDepth === null && size > 1) [split, lo64, hi64] = this.pickFeature(lo, hi);
    if (split < 0) {
      // A real leaf above the height limit: pad below it with pass-through nodes that
      // carry its value down. Both subtrees hold the same value, so which way a row
      // goes there does not matter.
      const outer = this.leafDepth;
      if (outer === null) this.leafDepth = depth + averagePathLength(size);
      trees.splitFeature[t * internal + p] = 0;
      trees.threshold[t * internal + p] = 0;
      this.node(trees, t, 2 * p + 1, depth + 1, lo, hi);
      this.node(trees, t, 2 * p + 2, depth + 1, lo, hi);
      if (outer === null) this.leafDepth = null;
      return;
    }
    // Threshold uniform in [min, max); scikit-learn maps a draw equal to max back to min.
    let thr = lo64 + (hi64 - lo64) * this.rng.next();
    if (thr === hi64) thr = lo64;
    trees.splitFeature[t * internal + p] = split;
    trees.threshold[t * internal + p] = thr;
    // Partition sample[lo, hi) so that rows with x ≤ thr come first.
    const s = this.sample;
    const data = this.x.data;
    const d = this.x.cols;
    let i = lo;
    let j = hi - 1;
    while (i <= j) {
      if (data[s[i] * d + split] <= thr) i++;
      else {
        const tmp = s[i];
        s[i] = s[j];
        s[j] = tmp;
        j--;
      }
    }
    this.node(trees, t, 2 * p + 1, depth + 1, lo, i);
    this.node(trees, t, 2 * p + 2, depth + 1, i, hi);
  }

  /** Depth + c(size) of the real leaf being padded, or null when growing real splits. */
  private leafDepth: number | null = null;

  /**
   * Draws features uniformly without replacement until one is not constant on the node
   * (max − min > 1e-7); returns it with its min and max, or −1 if all are constant.
   */
  private pickFeature(lo: number, hi: number): [number, number, number] {
    const d = this.x.cols;
    const order = this.featureOrder;
    for (let j = 0; j < d; j++) order[j] = j;
    const s = this.sample;
    const data = this.x.data;
    for (let k = 0; k < d; k++) {
      const r = k + this.rng.int(d - k);
      const f = order[r];
      order[r] = order[k];
      order[k] = f;
      let min = Infinity;
      let max = -Infinity;
      for (let i = lo; i < hi; i++) {
        const v = data[s[i] * d + f];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (max > min + FEATURE_THRESHOLD) return [f, min, max];
    }
    return [-1, 0, 0];
  }
}
