/**
 * The segmentation job (issue 19 item 2), pure: federated k-means over the banks' customers.
 *
 *   moments   each bank: per-feature count, mean, M2 of its customer features
 *             → merged (Chan et al.) into the consortium's scaling
 *   init      each bank: (DP-noised) coarse histogram of its scaled features over the public box
 *             → summed, weighted k-means++ on the cells (common/kmeans/init.ts histogramInit)
 *   lloyd i   each bank: per-segment sums, counts and fraud counts ((clipped and) noised)
 *             → merged; centre = sums / counts; a segment whose (noised) count is below the
 *               minimum keeps its previous centre; stop when the centres move ≤ tol or after
 *               maxIterations
 *
 * The Lloyd loop is exactly federatedKMeans's (common/kmeans/federated.ts): same merge, same
 * update, same empty-cluster rule, same stopping test, so without noise the job over the
 * network equals the in-memory loop from the same initial centres.
 *
 * Privacy: every DP release is accounted per bank with the Rényi-DP accountant (Mironov
 * 2017): the histogram with its multiplier (sensitivity 1), each Lloyd answer with z. The
 * moments are released exactly, like the training hello's feature statistics.
 */
import { RdpAccountant } from '@finsecure/common/dp';
import {
  centreShift,
  CUSTOMER_FEATURES,
  histogramInit,
  mergeMomentsChan,
  projectToBall,
  scalingOf,
  segmentSigma,
  updateCentres,
  type Centres,
  type Grid,
  type Moments,
  type Scaling,
} from '@finsecure/common/kmeans';
import type { AnalyticsAnswerBody } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import type { SegmentationParams } from './params.js';
import type { JobKind, JobStep } from './types.js';
import { segmentationResult, type SegmentIteration } from './segmentation-result.js';

type Phase = 'moments' | 'init' | 'lloyd' | 'done';

interface LloydAnswer {
  sums: number[];
  counts: number[];
  frauds?: number[];
}

export class SegmentationJob implements JobKind {
  private phase: Phase = 'moments';
  private failure: string | null = null;
  participants: Set<string> | null = null;
  private readonly d = CUSTOMER_FEATURES.length;
  private moments = new Map<string, Moments>();
  private customers = 0;
  private scaling: Scaling | null = null;
  private histogram: Float64Array | null = null;
  private histogramBanks = 0;
  private centres: Centres | null = null;
  private iteration = 0;
  private lloyd = new Map<string, LloydAnswer>();
  /** A secure sum's pooled Lloyd answer and how many banks are in it (acceptSum). */
  private pooled: { answer: LloydAnswer; banks: number } | null = null;
  private counts: number[] = [];
  private frauds: number[] | null = null;
  private readonly iterations: SegmentIteration[] = [];
  private converged = false;
  private note: string | null = null;
  private readonly accountants = new Map<string, RdpAccountant>();
  private readonly declined: { bank: string; stage: string; reason: string }[] = [];

  constructor(readonly params: SegmentationParams) {}

  private get grid(): Grid {
    const z = this.params.boxZ;
    return { box: { lo: Array(this.d).fill(-z), hi: Array(this.d).fill(z) }, bins: this.params.bins };
  }

  private get stageName(): string {
    return this.phase === 'lloyd' ? `lloyd ${this.iteration}` : this.phase;
  }

  next(): JobStep {
    const p = this.params;
    if (this.failure) return { type: 'fail', reason: this.failure };
    const base = { timeoutMs: p.stageTimeoutMs };
    switch (this.phase) {
      case 'moments':
        return {
          type: 'stage',
          stage: { ...base, name: 'moments', task: { kind: 'segment_moments', minCustomers: p.minCustomers } },
        };
      case 'init':
        return {
          type: 'stage',
          stage: {
            ...base,
            name: 'init',
            task: {
              kind: 'segment_histogram',
              minCustomers: p.minCustomers,
              scaling: this.scaling!,
              box: { lo: [...this.grid.box.lo], hi: [...this.grid.box.hi] },
              bins: p.bins,
              noiseMultiplier: this.histogramZ,
            },
          },
        };
      case 'lloyd':
        return {
          type: 'stage',
          stage: {
            ...base,
            name: this.stageName,
            task: {
              kind: 'segment_lloyd',
              minCustomers: p.minCustomers,
              iteration: this.iteration,
              scaling: this.scaling!,
              k: p.k,
              d: this.d,
              centres: Array.from(this.centres!.data),
              ...(p.privacy ? { privacy: { clip: p.privacy.clip, noiseMultiplier: p.privacy.noiseMultiplier } } : {}),
            },
          },
        };
      case 'done':
        return this.finish();
    }
  }

  private get histogramZ(): number {
    const dp = this.params.privacy;
    return dp ? (dp.histogramNoiseMultiplier ?? dp.noiseMultiplier) : 0;
  }

  accept(bankId: string, a: AnalyticsAnswerBody): string | null {
    const { k } = this.params;
    const d = this.d;
    if (this.phase === 'moments') {
      if (a.kind !== 'segment_moments') return `expected segment_moments, got ${a.kind}`;
      if (a.mean.length !== d) return `moments of ${a.mean.length} features, the job has ${d}`;
      if (a.count < this.params.minCustomers)
        return `${a.count} customers is below the minimum of ${this.params.minCustomers}`;
      this.moments.set(bankId, { count: a.count, mean: a.mean, m2: a.m2 });
      return null;
    }
    if (this.phase === 'init') {
      if (a.kind !== 'segment_histogram') return `expected segment_histogram, got ${a.kind}`;
      const cells = this.params.bins ** d;
      if (a.counts.length !== cells) return `histogram of ${a.counts.length} cells, the grid has ${cells}`;
      if (a.noiseMultiplier < this.histogramZ)
        return `histogram noise multiplier ${a.noiseMultiplier} is below the job's ${this.histogramZ}`;
      this.histogram ??= new Float64Array(cells);
      for (let i = 0; i < cells; i++) this.histogram[i]! += a.counts[i]!;
      this.histogramBanks++;
      if (a.noiseMultiplier > 0) this.account(bankId, a.noiseMultiplier);
      return null;
    }
    if (this.phase === 'lloyd') {
      if (a.kind !== 'segment_lloyd') return `expected segment_lloyd, got ${a.kind}`;
      if (a.iteration !== this.iteration) return `answer for iteration ${a.iteration}, the job is at ${this.iteration}`;
      if (a.sums.length !== k * d || a.counts.length !== k || (a.frauds && a.frauds.length !== k))
        return `statistics for the wrong shape (expected ${k}×${d} sums and ${k} counts)`;
      const dp = this.params.privacy;
      if (dp && !(a.privacy && a.privacy.noiseMultiplier >= dp.noiseMultiplier && a.privacy.clip <= dp.clip))
        return `the job asks for DP (clip ${dp.clip}, noise multiplier ${dp.noiseMultiplier}); the answer declares ${a.privacy ? `clip ${a.privacy.clip}, z ${a.privacy.noiseMultiplier}` : 'none'}`;
      this.lloyd.set(bankId, { sums: a.sums, counts: a.counts, ...(a.frauds ? { frauds: a.frauds } : {}) });
      if (dp) this.account(bankId, a.privacy!.noiseMultiplier);
      return null;
    }
    return 'the job is not collecting answers';
  }

  /** The largest customer count a bank declared in the moments stage (bounds a secure sum's range). */
  get maxCustomers(): number {
    let max = 0;
    for (const m of this.moments.values()) max = Math.max(max, m.count);
    return max;
  }

  /**
   * The sum of `banks`' answers to the open stage, unmasked by secure aggregation
   * (secure-sums.ts): taken as one answer for the merge, while each bank's declared DP (`clear`,
   * sent in the clear with its masked vector) is checked against the job's and accounted as if
   * it had answered alone. Returns the reason when the sum cannot be used.
   */
  acceptSum(
    banks: readonly string[],
    a: AnalyticsAnswerBody,
    clear: ReadonlyMap<string, { privacy?: { clip: number; noiseMultiplier: number }; noiseMultiplier?: number }>,
  ): string | null {
    const d = this.d;
    if (this.phase === 'init') {
      if (a.kind !== 'segment_histogram') return `expected segment_histogram, got ${a.kind}`;
      const cells = this.params.bins ** d;
      if (a.counts.length !== cells) return `histogram of ${a.counts.length} cells, the grid has ${cells}`;
      const z = this.histogramZ;
      const weak = banks.filter((b) => (clear.get(b)?.noiseMultiplier ?? 0) < z);
      if (weak.length) return `${weak.join(', ')} declared less histogram noise than the job's multiplier ${z}`;
      this.histogram ??= new Float64Array(cells);
      for (let i = 0; i < cells; i++) this.histogram[i]! += a.counts[i]!;
      this.histogramBanks += banks.length;
      if (z > 0) for (const b of banks) this.account(b, clear.get(b)!.noiseMultiplier!);
      return null;
    }
    if (this.phase === 'lloyd') {
      if (a.kind !== 'segment_lloyd') return `expected segment_lloyd, got ${a.kind}`;
      const dp = this.params.privacy;
      if (dp) {
        const weak = banks.filter((b) => {
          const p = clear.get(b)?.privacy;
          return !(p && p.noiseMultiplier >= dp.noiseMultiplier && p.clip <= dp.clip);
        });
        if (weak.length)
          return `${weak.join(', ')} declared weaker DP than the job's (clip ${dp.clip}, noise multiplier ${dp.noiseMultiplier})`;
        for (const b of banks) this.account(b, clear.get(b)!.privacy!.noiseMultiplier);
      }
      this.pooled = {
        answer: { sums: a.sums, counts: a.counts, ...(a.frauds ? { frauds: a.frauds } : {}) },
        banks: banks.length,
      };
      return null;
    }
    return 'the job is not collecting answers';
  }

  private account(bankId: string, z: number): void {
    let acc = this.accountants.get(bankId);
    if (!acc) this.accountants.set(bankId, (acc = new RdpAccountant()));
    acc.addGaussian(z);
  }

  close(answered: readonly string[], dropped: ReadonlyMap<string, string>): void {
    for (const [bank, reason] of dropped) this.declined.push({ bank, stage: this.stageName, reason });
    // Banks that declined or dropped are not asked again: their absence would change the sums.
    this.participants = new Set(answered);
    try {
      if (this.phase === 'moments') this.closeMoments();
      else if (this.phase === 'init') this.closeInit();
      else if (this.phase === 'lloyd') this.closeLloyd(answered);
    } catch (err) {
      this.failure = `${this.stageName}: ${(err as Error).message}`;
    }
  }

  private noBank(): string {
    const why = this.declined.map((x) => `${x.bank}: ${x.reason}`).join('; ');
    return `no bank answered the ${this.stageName} stage${why ? ` (${why})` : ''}`;
  }

  private closeMoments(): void {
    if (this.moments.size === 0) throw new Error(this.noBank());
    // Bank-id order, so the merged floats do not depend on who answered first.
    const merged = mergeMomentsChan([...this.moments.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, m]) => m));
    this.customers = merged.count;
    if (this.params.k > merged.count)
      throw new Error(
        `k = ${this.params.k} segments is larger than the number of customers of the answering banks (${merged.count}): choose k ≤ ${merged.count}`,
      );
    this.scaling = scalingOf(merged);
    this.phase = 'init';
  }

  private closeInit(): void {
    if (!this.histogram || this.histogramBanks === 0) throw new Error(this.noBank());
    // Cells below 2σ of the summed noise are treated as empty, so noise alone does not pull centres.
    const threshold = this.histogramZ > 0 ? 2 * this.histogramZ * Math.sqrt(this.histogramBanks) : 0;
    this.centres = histogramInit(this.histogram, this.grid, this.params.k, createRng(this.params.seed), 10, threshold);
    this.phase = 'lloyd';
    this.iteration = 1;
  }

  private closeLloyd(answered: readonly string[]): void {
    // In bank-id order, not arrival order: the float sums are then the same in every run.
    const got = this.pooled
      ? [this.pooled.answer]
      : [...answered]
          .sort()
          .map((b) => this.lloyd.get(b))
          .filter((x): x is LloydAnswer => !!x);
    // How many banks' noise is in the merged sums (one pooled answer stands for several).
    const banks = this.pooled ? this.pooled.banks : got.length;
    this.pooled = null;
    if (got.length === 0) throw new Error(this.noBank());
    const { k } = this.params;
    const d = this.d;
    const sums = new Float64Array(k * d);
    const counts = new Float64Array(k);
    const frauds: Float64Array | null = got.every((g) => g.frauds) ? new Float64Array(k) : null;
    for (const g of got) {
      for (let i = 0; i < sums.length; i++) sums[i]! += g.sums[i]!;
      for (let j = 0; j < k; j++) counts[j]! += g.counts[j]!;
      if (frauds) for (let j = 0; j < k; j++) frauds[j]! += g.frauds![j]!;
    }
    const dp = this.params.privacy;
    const sigma = dp ? segmentSigma(dp, frauds !== null) : 0;
    const minCount = dp ? 3 * sigma * Math.sqrt(banks) : Number.MIN_VALUE;
    const prev = this.centres!;
    const up = updateCentres(prev, { k, d, sums, counts }, minCount);
    const next = dp ? projectToBall(up.centres, dp.clip) : up.centres;
    const shift = centreShift(prev, next);
    this.iterations.push({ iteration: this.iteration, answered: banks, empty: up.empty, shift });
    this.centres = next;
    this.counts = Array.from(counts);
    this.frauds = frauds ? Array.from(frauds) : null;
    this.lloyd = new Map();
    if (up.empty.length === k) {
      // Nothing moved because nothing could be trusted: that is not convergence.
      this.note = `every segment's count in iteration ${this.iteration} was below the minimum of ${minCount.toFixed(1)} (3σ of the summed noise): the noise drowns the statistics; use fewer segments, more customers or less noise`;
      this.phase = 'done';
    } else if (shift <= this.params.tol) {
      this.converged = true;
      this.phase = 'done';
    } else if (this.iteration >= this.params.maxIterations) this.phase = 'done';
    else this.iteration++;
  }

  private finish(): JobStep {
    return segmentationResult({
      params: this.params,
      centres: this.centres!,
      scaling: this.scaling!,
      counts: this.counts,
      frauds: this.frauds,
      customers: this.customers,
      iterations: this.iterations,
      converged: this.converged,
      accountants: this.accountants,
      declined: this.declined,
      notes: this.note ? [this.note] : [],
    });
  }
}
