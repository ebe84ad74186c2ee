/**
 * The bank's side of analytics jobs: answers each `analytics_request` of the aggregator with
 * aggregates of its own data (or a decline with the reason), and keeps the job's outcome
 * (`analytics_result`) in its state directory for the bank console.
 *
 * Never throws into the client: a failure becomes a decline naming the stage, so one bad
 * file or one small bank cannot crash a job or the daemon. Requests run one at a time in
 * arrival order.
 */
import type { Logger } from 'pino';
import {
  coarseHistogram,
  nearest,
  noiseHistogram,
  momentsOf,
  scalePoints,
  segmentStatistics,
  suppressSmallSegments,
  type Suppressed,
  unscaleCentres,
  type Centres,
} from '@finsecure/common/kmeans';
import type { Matrix } from '@finsecure/common/anomaly';
import { pseudonym } from '@finsecure/common/anonymise';
import type {
  AnalyticsAnswerBody,
  AnalyticsClientMessage,
  AnalyticsRequest,
  AnalyticsResult,
  AnalyticsServerMessage,
  AnalyticsTask,
} from '@finsecure/common/protocol';
import type { IdentityKeyPair } from '@finsecure/common/secagg';
import { PinnedIdentities } from '../secagg/identity.js';
import {
  DEFAULT_CALIBRATION_MAX_BINS,
  DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER,
  type BankConfig,
} from '../config/index.js';
import type { LocalData } from '../local-data.js';
import { isSecureTask, SecureSums } from './secure.js';
import { outwardFailure } from '../outward.js';
import type { Rng } from '@finsecure/common/rng';
import { CustomerCache, type Customers } from './customers.js';
import { bankAnomalyScores, scoreHistogram } from './scores.js';
import {
  AnalyticsLedger,
  CONSORTIUM_THRESHOLD_FILE,
  SEGMENTS_FILE,
  segmentPseudonymKey,
  writeJsonState,
  type StoredSegmentation,
  type StoredThreshold,
} from './state.js';

export interface AnalyticsWorkerOptions {
  bankId: string;
  stateDir: string;
  /** The bank's transaction file (its --data). */
  dataFile: string;
  /** The bank's training features, for transaction-level scores when the file has no account column. */
  transactions: () => Matrix;
  /** Noise for DP releases: cryptoRng() in production. */
  noiseRng: Rng;
  logger: Logger;
  /** The bank's own ε budget for segmentation releases (none: no limit) and its δ. */
  epsilonBudget?: number;
  /**
   * The fewest customers a segment may hold in an exact (not noised) Lloyd answer;
   * smaller ones are released as empty (common/kmeans/suppress.ts). Default 10.
   */
  segmentMinCount?: number;
  /**
   * Answer histogram and Lloyd stages without DP noise, or with less than
   * `segmentMinNoiseMultiplier` (default false: declined).
   */
  segmentExact?: boolean;
  /**
   * The least noise multiplier a segmentation release counts as DP with (default
   * DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER): a job asking for less is an exact answer, so needs
   * `segmentExact`.
   */
  segmentMinNoiseMultiplier?: number;
  /** Answer calibration jobs (exact histograms of the accounts' anomaly scores); default false: declined. */
  calibrationExact?: boolean;
  /** The most bins a calibration histogram may have (default DEFAULT_CALIBRATION_MAX_BINS). */
  calibrationMaxBins?: number;
  /** The fewest scored accounts the bank sends a calibration histogram for, whatever the job asks (default 10). */
  calibrationMinAccounts?: number;
  delta?: number;
  /** The bank's identity key and pinned keys, for the secure sums of jobs under secure aggregation. */
  secure?: { identity: IdentityKeyPair; pinned: PinnedIdentities };
}

/** A decline's `reason` goes to the aggregator (never a local message: outward.ts); `detail` only to the bank's log. */
type Reply = { ok: true; answer: AnalyticsAnswerBody } | { ok: false; reason: string; detail?: string };

/**
 * The bank daemon's worker: jobs over its --data (account-level features from the file, its
 * training rows for transaction-level scores), its identity key for secure sums, and its
 * --dp-epsilon-budget, which bounds its segmentation releases too (their own ledger).
 */
export function bankAnalytics(
  config: BankConfig,
  data: LocalData,
  noiseRng: Rng,
  identity: IdentityKeyPair,
  logger: Logger,
): AnalyticsWorker {
  return new AnalyticsWorker({
    bankId: config.bankId,
    stateDir: config.stateDir,
    dataFile: config.data,
    transactions: () => ({
      data: Float64Array.from(data.train.features),
      rows: data.train.numRows,
      cols: data.train.numFeatures,
    }),
    noiseRng,
    logger,
    // Segmentation's secure sums are secure rounds too: the same roster, if the bank has one.
    secure: { identity, pinned: new PinnedIdentities(config.stateDir, undefined, config.secaggRoster ?? null) },
    ...(config.dpEpsilonBudget !== undefined ? { epsilonBudget: config.dpEpsilonBudget } : {}),
    delta: config.dpDelta,
    segmentMinCount: config.segmentMinCount,
    segmentExact: config.segmentExact,
    segmentMinNoiseMultiplier: config.segmentMinNoiseMultiplier,
    calibrationExact: config.calibrationExact,
    calibrationMaxBins: config.calibrationMaxBins,
    calibrationMinAccounts: config.calibrationMinAccounts,
  });
}

export class AnalyticsWorker {
  private readonly customers: CustomerCache;
  private readonly ledger: AnalyticsLedger;
  private readonly secure: SecureSums | null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: AnalyticsWorkerOptions) {
    this.customers = new CustomerCache(o.dataFile);
    this.ledger = new AnalyticsLedger(o.stateDir);
    this.secure = o.secure
      ? new SecureSums({ bankId: o.bankId, ...o.secure, answer: (task) => this.answerTask(task) })
      : null;
  }

  /** ε spent on segmentation releases so far (the bank's own ledger). */
  epsilon(delta = this.o.delta ?? 1e-5): number {
    return this.ledger.epsilon(delta);
  }

  /** Handles one message; `send` delivers the answer on the connection it arrived on. */
  handle(msg: AnalyticsServerMessage, send: (m: AnalyticsClientMessage) => void): Promise<void> {
    const run = async () => {
      if (msg.type === 'analytics_result') return this.keep(msg);
      const reply = await this.answer(msg).catch((err: unknown): Reply => ({
        ok: false,
        reason: outwardFailure(msg.stage, err),
        detail: `${msg.stage} failed: ${(err as Error).message}`,
      }));
      const base = { jobId: msg.jobId, stageIndex: msg.stageIndex };
      if (reply.ok) send({ type: 'analytics_answer', ...base, answer: reply.answer });
      else {
        this.o.logger.info(
          {
            jobId: msg.jobId,
            stage: msg.stage,
            reason: reply.reason,
            ...(reply.detail ? { detail: reply.detail } : {}),
          },
          'declined an analytics stage',
        );
        send({ type: 'analytics_decline', ...base, reason: reply.reason.slice(0, 500) });
      }
    };
    this.queue = this.queue.then(run).catch((err: unknown) => {
      this.o.logger.error({ err: (err as Error).message }, 'analytics message failed');
    });
    return this.queue;
  }

  private async answer(req: AnalyticsRequest): Promise<Reply> {
    const task = req.task;
    if (isSecureTask(task)) {
      if (!this.secure) return { ok: false, reason: 'this bank has no identity key for secure sums' };
      return this.secure.answer(req.jobId, task);
    }
    return this.answerTask(task);
  }

  /** The bank's answer to a plain (not secure-sum) task. */
  private async answerTask(task: Exclude<AnalyticsTask, { kind: `secagg_${string}` }>): Promise<Reply> {
    if (task.kind === 'calibration_histogram') {
      // Exact per-account scores binned: only with the bank's consent, at most calibrationMaxBins
      // bins (a fine histogram puts most accounts alone in their bin, i.e. publishes their score),
      // and never for fewer accounts than the bank's own floor (the job's minAccounts is the
      // aggregator's, and may be 0 on the wire).
      if (!this.o.calibrationExact)
        return {
          ok: false,
          reason: `bank ${this.o.bankId} does not answer calibration jobs: the histogram of its accounts' anomaly scores is exact (the bank's calibrationExact setting)`,
        };
      const maxBins = this.o.calibrationMaxBins ?? DEFAULT_CALIBRATION_MAX_BINS;
      if (task.bins > maxBins)
        return {
          ok: false,
          reason: `bank ${this.o.bankId} sends score histograms of at most ${maxBins} bins, this job asks for ${task.bins} (the job's "bins"; or the bank's calibrationMaxBins setting)`,
        };
      // Every answer is a coarsening of one histogram of maxBins bins: jobs of 100, 99, 98, …
      // bins would otherwise give the aggregator the counts at every edge k/b, together a far
      // finer histogram than the cap allows (egress review: 22 of 40 accounts alone in a cell).
      if (maxBins % task.bins !== 0)
        return {
          ok: false,
          reason: `bank ${this.o.bankId} sends score histograms whose bins divide its ${maxBins} (${divisors(maxBins).join(', ')}); this job asks for ${task.bins} (the job's "bins"; or the bank's calibrationMaxBins setting)`,
        };
      const minAccounts = Math.max(task.minAccounts, this.o.calibrationMinAccounts ?? 10, 1);
      const { scores, source } = await bankAnomalyScores(this.o.dataFile, this.o.transactions);
      if (scores.length < minAccounts)
        return { ok: false, reason: this.tooFew(scores.length, minAccounts, source, 'score histogram') };
      const counts = coarsen(scoreHistogram(scores, maxBins), task.bins);
      return { ok: true, answer: { kind: 'calibration_histogram', counts, source } };
    }
    const loaded = await this.customers.get();
    if (!loaded.ok) return loaded;
    const c = loaded.customers;
    if (c.points.n < task.minCustomers)
      return { ok: false, reason: this.tooFew(c.points.n, task.minCustomers, 'customers', 'noised statistics') };
    if (task.kind === 'segment_moments') {
      // The moments are exact (the public scaling): over a handful of customers a mean is their
      // features, so the bank's own floor applies whatever the job's minCustomers (egress review).
      if (c.points.n < this.minCount)
        return {
          ok: false,
          reason: `${this.tooFew(c.points.n, this.minCount, 'customers', 'exact feature moments')} (segmentMinCount)`,
        };
      const m = momentsOf(c.points);
      return { ok: true, answer: { kind: 'segment_moments', ...m, periodDays: c.periodDays } };
    }
    if (task.scaling.mean.length !== c.points.d)
      return {
        ok: false,
        reason: `the job has ${task.scaling.mean.length} features, this bank computes ${c.points.d}`,
      };
    // Exact histogram cells and Lloyd sums only with the bank's consent (segmentExact): an
    // aggregator that chooses the centres can difference exact answers into one customer. A
    // release with less noise than the bank's minimum is exact too: z = 1e-9 hides nothing.
    const z = task.kind === 'segment_histogram' ? task.noiseMultiplier : (task.privacy?.noiseMultiplier ?? 0);
    const minNoise = this.o.segmentMinNoiseMultiplier ?? DEFAULT_SEGMENT_MIN_NOISE_MULTIPLIER;
    if (!(z > 0 && z >= minNoise) && !this.o.segmentExact)
      return {
        ok: false,
        reason:
          z > 0
            ? `bank ${this.o.bankId} answers segmentation stages only with differential privacy of noise multiplier at least ${minNoise}, and this job's is ${z}: less noise counts as an exact answer (the job's "privacy"; or the bank's segmentMinNoiseMultiplier and segmentExact settings)`
            : `bank ${this.o.bankId} answers segmentation stages only with differential privacy, and this job has none (the job's "privacy"; or the bank's segmentExact setting)`,
      };
    // Any noise is recorded in the ledger before the release (exact answers, z = 0, have no DP to
    // account); a release that would take ε to Infinity or past the budget is refused.
    if (z > 0) {
      const refused = this.spend(z);
      if (refused) return { ok: false, reason: refused };
    }
    const scaled = scalePoints(c.points, task.scaling);
    if (task.kind === 'segment_histogram') {
      // Not suppressed (unlike a Lloyd answer's sums): a cell is a coarse box of the public grid
      // (at most 6 bins a feature over ±boxZ σ), and a per-cell floor would empty the sparse grid a
      // k-means++ start needs. The job's histogram noise is what protects it.
      const h = coarseHistogram(scaled, { box: task.box, bins: task.bins });
      if (z > 0) noiseHistogram(h, z, this.o.noiseRng);
      return {
        ok: true,
        answer: { kind: 'segment_histogram', counts: Array.from(h), noiseMultiplier: task.noiseMultiplier },
      };
    }
    const centres: Centres = { data: Float64Array.from(task.centres), k: task.k, d: task.d };
    const s = segmentStatistics(
      scaled,
      centres,
      c.labelled ? c.fraud : null,
      task.privacy && z > 0 ? { privacy: task.privacy, rng: this.o.noiseRng } : undefined,
    );
    // Every release, noised or not, goes through segmentMinCount. Exact sums: a small segment's sum
    // describes its few customers (suppress.ts). Noised: the floor applies to the NOISED count, which
    // is post-processing of the DP release (no ε, no dependence on the true count, which would leak
    // outside the DP guarantee), and drops the segments whose per-customer signal is weakest.
    const small = suppressSmallSegments(s, this.minCount, { noised: z > 0 });
    this.heldBack(small.suppressed);
    const out = small.statistics;
    return {
      ok: true,
      answer: {
        kind: 'segment_lloyd',
        iteration: task.iteration,
        sums: Array.from(out.sums),
        counts: Array.from(out.counts),
        ...(out.frauds ? { frauds: Array.from(out.frauds) } : {}),
        ...(task.privacy ? { privacy: task.privacy } : {}),
      },
    };
  }

  private get minCount(): number {
    return this.o.segmentMinCount ?? 10;
  }

  /** Says locally (never to the aggregator) what a release held back. */
  private heldBack(s: Suppressed): void {
    if (s.segments > 0)
      this.o.logger.info(
        { segments: s.segments, customers: s.customers, minCount: this.minCount },
        `released ${s.segments} segment${s.segments === 1 ? '' : 's'} with fewer than ${this.minCount} customers as empty (segmentMinCount)`,
      );
  }

  /** FLARE's minimum-count filter, in words. */
  private tooFew(n: number, min: number, what: string, release: string): string {
    return `bank ${this.o.bankId} has ${n} ${what}, fewer than the minimum of ${min} needed to release ${release}`;
  }

  /**
   * Records a release in the ledger first; a reason instead when it would take the bank's ε past
   * its budget, or (with no budget) to Infinity: a ledger at ε = ∞ would bound nothing afterwards.
   */
  private spend(noiseMultiplier: number): string | null {
    const delta = this.o.delta ?? 1e-5;
    const budget = this.o.epsilonBudget;
    if (this.ledger.wouldExceed(noiseMultiplier, delta, budget ?? Number.MAX_VALUE))
      return budget !== undefined
        ? `privacy budget: this release would take the bank's segmentation ε over ${budget} (δ = ${delta})`
        : `privacy budget: this release (noise multiplier ${noiseMultiplier}) would take the bank's segmentation ε to infinity (δ = ${delta})`;
    this.ledger.record(noiseMultiplier);
    return null;
  }

  /** Keeps a job's outcome: this bank's customers by segment, or the consortium threshold. */
  private async keep(msg: AnalyticsResult): Promise<void> {
    const r = msg.result;
    if (r.kind === 'calibration') {
      const stored: StoredThreshold = {
        jobId: msg.jobId,
        at: Date.now(),
        contamination: r.contamination,
        threshold: r.threshold,
        banks: r.banks,
        accounts: r.accounts,
      };
      writeJsonState(this.o.stateDir, CONSORTIUM_THRESHOLD_FILE, stored);
      return;
    }
    const loaded = await this.customers.get();
    if (!loaded.ok) return;
    writeJsonState(this.o.stateDir, SEGMENTS_FILE, this.assign(msg.jobId, r, loaded.customers));
  }

  private assign(jobId: number, r: Extract<AnalyticsResult['result'], { kind: 'segmentation' }>, c: Customers) {
    const scaledCentres: Centres = { data: Float64Array.from(r.centres), k: r.k, d: r.d };
    const original = unscaleCentres(scaledCentres, r.scaling);
    const key = segmentPseudonymKey(this.o.stateDir);
    const scaled = scalePoints(c.points, r.scaling);
    const segments = Array.from({ length: r.k }, (_, j) => ({
      index: j,
      name: r.names[j] ?? `segment ${j + 1}`,
      centre: Array.from(original.data.subarray(j * r.d, (j + 1) * r.d)),
      customers: [] as string[],
    }));
    for (let i = 0; i < scaled.n; i++)
      segments[nearest(scaled, i, scaledCentres).index]!.customers.push(pseudonym(key, 'customer', c.ids[i]!));
    const stored: StoredSegmentation = { jobId, at: Date.now(), features: [...r.features], segments };
    return stored;
  }
}

/** The divisors of n, ascending: the bin counts a bank with calibrationMaxBins n answers. */
function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/**
 * `counts` (B bins) summed into b bins of B/b each (b divides B): the layout's bins are equal
 * steps of one coordinate (common/metrics/layout.ts), so bin i of b is bins i·B/b … (i+1)·B/b − 1.
 */
function coarsen(counts: readonly number[], bins: number): number[] {
  const step = counts.length / bins;
  const out = new Array<number>(bins).fill(0);
  for (let i = 0; i < counts.length; i++) out[Math.floor(i / step)]! += counts[i]!;
  return out;
}
