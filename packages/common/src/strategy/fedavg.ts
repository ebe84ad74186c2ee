/**
 * FedAvg (McMahan et al. 2017): the new global model is the global model plus the
 * example-weighted mean of the banks' deltas. Three optional refinements, all off by
 * default (plain FedAvg):
 *
 * - **Step normalisation** (FedNova, Wang et al. 2020). A bank trains `epochs` passes
 *   over its rows, so a bank with 100× the rows takes 100× the local optimiser steps and
 *   its delta is roughly 100× as long; weighting that delta by its example count as
 *   well makes its influence grow with n², not n, and FedAvg then optimises a
 *   different objective from centralized training (the "objective inconsistency" of
 *   heterogeneous local work). With `normalizeSteps`, each delta is divided by the
 *   bank's local step count τᵢ = epochs × ⌈rowsTrainedᵢ / batchSize⌉, averaged with the
 *   example weights pᵢ, and scaled back by τ_eff = Σ pᵢ τᵢ:
 *   step = τ_eff · Σ pᵢ Δᵢ / τᵢ. Each bank then moves the model in proportion to its
 *   data, as in centralized training, and claiming a larger example count buys a bank
 *   almost nothing (pᵢ and τᵢ grow together).
 * - **Loss weighting** (the q-FFL objective, Li et al. 2020). Each bank trains with Adam,
 *   which scales every step to about the learning rate whatever the size of the
 *   gradient: a bank whose rows the model already fits (large, fraud-poor banks) moves
 *   the model as far per step as a bank whose frauds it still misses. With
 *   `lossExponent` q > 0 the example weights become pᵢ ∝ nᵢ · Lᵢ^q, Lᵢ the bank's reported
 *   training loss, so the step follows Σ pᵢ Lᵢ^q ∇Lᵢ, the gradient of the q-FFL objective
 *   Σ pᵢ Lᵢ^(q+1) / (q+1): banks the model serves badly pull harder. It trusts the
 *   reported losses as FedAvg trusts example counts, clamped to [1e-8, 1].
 * - **Server optimiser** (FedAvgM, Hsu et al. 2019; Reddi et al. 2021): the averaged
 *   delta is a pseudo-gradient, applied as  v ← β·v + step,  global ← global + η·v
 *   (`serverLearningRate` η, `serverMomentum` β). η < 1 damps the round-to-round swing
 *   that label-skewed banks cause; β > 0 keeps a velocity across rounds.
 *
 * Memory: the accumulator keeps ONE float64 running sum of weight × delta (the model's
 * size) plus a few numbers per bank. On the WebAssembly SIMD kernel (kernels/accumulate.ts,
 * the default where the runtime supports it) the sum lives in a WebAssembly memory together
 * with a float32 slot for the update being added: 12 bytes per parameter in all, allocated once
 * and handed from each finished round to the next (`spare`). It never keeps a reference to a delta, so the aggregator can drop (or
 * reuse) each update buffer as soon as `add` returns, however many banks report. Float64 so
 * that summing thousands of float32 deltas loses nothing.
 * With momentum the strategy also keeps the velocity (one more model-size Float64Array,
 * two while a round's candidate awaits its commit).
 *
 * Weights are the banks' real (pre-oversampling) example counts: SMOTE inflates the
 * number of rows a bank trains on, not the evidence it holds.
 */
import { createAccumulator, findNonFinite, type Accumulator } from '../kernels/accumulate.js';
import { selectBanks } from './selection.js';
import { shareCap } from './share-cap.js';
import type {
  Aggregation,
  AggregationOutcome,
  BankCandidate,
  FitInstruction,
  FitResult,
  RoundContext,
  Strategy,
} from './types.js';

export interface FedAvgOptions {
  /**
   * Cap on any one bank's share of the aggregation weight, in (0, 1]. The cap is set
   * per round from the example counts the SELECTED banks announced (see share-cap.ts),
   * and weights are then normalised over the banks that actually report. If selected
   * banks drop out, the remaining ones share the whole weight, so a capped bank can end
   * up slightly above `maxShare` in that round. Omitted: no cap (plain FedAvg).
   */
  maxShare?: number;
  /**
   * Divide each bank's delta by its local step count before averaging (FedNova, see
   * above). Steps are counted from the round's `epochs` and `batchSize` and the rows the
   * bank trained on (`FitResult.numTrained`, else `numExamples`). Default false.
   */
  normalizeSteps?: boolean;
  /**
   * q ≥ 0: weight each bank by (example count) × (its reported training loss)^q, see
   * above. Default 0 (example counts only).
   */
  lossExponent?: number;
  /** Server learning rate η in (0, 10]: global += η × (averaged step, with momentum). Default 1. */
  serverLearningRate?: number;
  /**
   * Server momentum β in [0, 1) (FedAvgM). Default 0 (none). The velocity lives in this
   * strategy object: it is not persisted, so it restarts from zero when the aggregator
   * restarts, and it is reset whenever a round starts from a model this strategy did not
   * produce (e.g. a model restored from the store).
   */
  serverMomentum?: number;
}

/** Local optimiser steps of a bank that trained `rows` rows for `epochs` epochs in batches of `batchSize` (as MlpTrainer). */
export function localSteps(rows: number, epochs: number, batchSize: number): number {
  return epochs * Math.max(1, Math.ceil(rows / Math.min(batchSize, rows)));
}

/**
 * Loss weighting clamps the reported loss to [MIN_LOSS, MAX_LOSS]: a bank reporting 0
 * keeps a (tiny) weight, and a bank reporting an absurd loss (broken or lying) gets no
 * more pull than one whose model is no better than a coin (binary cross-entropy ln 2 ≈
 * 0.69; honest banks measured up to 0.76 in early rounds).
 */
const MIN_LOSS = 1e-8;
/**
 * Rows trained per real example at most: SMOTE tops the frauds up to at most
 * `smoteRatio` (≤ 1) × the legitimate rows, so a bank trains on at most twice its rows.
 */
export const MAX_TRAINED_PER_EXAMPLE = 2;
const MAX_LOSS = 1;

function sameWeights(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class FedAvg implements Strategy {
  readonly name: string = 'fedavg';
  readonly maxShare: number | undefined;
  readonly normalizeSteps: boolean;
  readonly lossExponent: number;
  readonly serverLearningRate: number;
  readonly serverMomentum: number;
  /** The velocity, and the global model it was last applied to produce. */
  private momentum: { velocity: Float64Array; produced: Float32Array } | null = null;
  /** The velocity of the last aggregation, adopted once its candidate becomes the global model. */
  private pending: { velocity: Float64Array; produced: Float32Array } | null = null;
  /**
   * The running sum of the last finished aggregation, reused by the next one of the same model
   * size: its memory stays mapped, so a round's first add does not fault in 12 bytes per
   * parameter again (a fresh 12 MB cost more than the other nine adds of a 10-bank round,
   * bench/aggregation.ts). Costs one model-size accumulator between rounds.
   */
  private spare: Accumulator | null = null;

  constructor(options: FedAvgOptions = {}) {
    const { maxShare, normalizeSteps = false, lossExponent = 0, serverLearningRate = 1, serverMomentum = 0 } = options;
    if (maxShare !== undefined && !(maxShare > 0 && maxShare <= 1))
      throw new Error(`maxShare must be in (0, 1], got ${maxShare}`);
    if (!(lossExponent >= 0 && lossExponent <= 4))
      throw new Error(`lossExponent must be in [0, 4], got ${lossExponent}`);
    if (!(serverLearningRate > 0 && serverLearningRate <= 10))
      throw new Error(`serverLearningRate must be in (0, 10], got ${serverLearningRate}`);
    if (!(serverMomentum >= 0 && serverMomentum < 1))
      throw new Error(`serverMomentum must be in [0, 1), got ${serverMomentum}`);
    // Measured (bench/RESULTS.md): capping the example weights of large banks while
    // dividing by their step counts amplifies the smallest banks' deltas many times over.
    if (normalizeSteps && maxShare !== undefined && maxShare < 1)
      throw new Error(
        'normalizeSteps already keeps large banks from dominating; combine it with maxShare 1 (or none), not ' +
          maxShare,
      );
    this.maxShare = maxShare;
    this.normalizeSteps = normalizeSteps;
    this.lossExponent = lossExponent;
    this.serverLearningRate = serverLearningRate;
    this.serverMomentum = serverMomentum;
  }

  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[] {
    return selectBanks(candidates, fraction, minBanks, ctx.rng).map((c) => ({ bankId: c.bankId, config: ctx.config }));
  }

  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation {
    const cap =
      this.maxShare === undefined
        ? Infinity
        : shareCap(
            selected.map((c) => c.numExamples),
            this.maxShare,
          );
    const steps = this.normalizeSteps
      ? (rows: number) => localSteps(rows, ctx.config.epochs, ctx.config.batchSize)
      : null;
    const velocity = this.serverMomentum > 0 ? this.velocityFor(ctx.global) : null;
    const n = ctx.global.length;
    const acc = this.spare?.length === n ? this.spare : createAccumulator(n);
    this.spare = null;
    acc.reset();
    return new WeightedMeanAggregation(
      acc,
      ctx.roundId,
      ctx.global,
      new Set(selected.map((c) => c.bankId)),
      cap,
      steps,
      this.lossExponent,
      { learningRate: this.serverLearningRate, momentum: this.serverMomentum, velocity },
      (v, produced) => {
        this.pending = { velocity: v, produced };
      },
      (done) => {
        this.spare = done;
      },
    );
  }

  configureEvaluate(_ctx: RoundContext, participants: string[], _candidates: BankCandidate[]): string[] {
    return [...participants];
  }

  /**
   * The server step on a mean update unmasked by secure aggregation (FedAvgM, Hsu et al. 2019):
   * v = β·v_prev + step, global + η·v; without momentum global + η·step. `step` (model length)
   * is the same τ_eff-weighted mean `beginAggregation` forms from the updates, so the velocity
   * carries across rounds exactly as in the plaintext path (`velocityFor`).
   */
  applyMeanStep(global: Float32Array, step: ArrayLike<number>): Float32Array {
    const n = global.length;
    if (step.length !== n) throw new Error(`mean step has ${step.length} values, the model has ${n}`);
    const eta = this.serverLearningRate;
    const beta = this.serverMomentum;
    const weights = new Float32Array(n);
    if (beta === 0) {
      for (let i = 0; i < n; i++) weights[i] = global[i]! + eta * step[i]!;
      return weights;
    }
    const previous = this.velocityFor(global);
    const velocity = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = (previous ? beta * previous[i]! : 0) + step[i]!;
      velocity[i] = v;
      weights[i] = global[i]! + eta * v;
    }
    this.pending = { velocity, produced: weights };
    return weights;
  }

  /**
   * The velocity to continue from when a round starts from `global`: the last
   * aggregation's if its candidate was committed (it is now the global model), the one
   * before if that round failed (the global model did not change), else none.
   */
  private velocityFor(global: Float32Array): Float64Array | null {
    if (this.pending && sameWeights(global, this.pending.produced)) this.momentum = this.pending;
    this.pending = null;
    if (this.momentum && !sameWeights(global, this.momentum.produced)) this.momentum = null;
    return this.momentum?.velocity ?? null;
  }
}

/**
 * Checks shared by every accumulator: the update belongs to a selected bank, is not a
 * duplicate, and carries a delta of the model's length with finite values and a
 * plausible example count. Throws with a message the aggregator can send back.
 */
export function validateFitResult(
  r: FitResult,
  modelLength: number,
  selected: { has(bankId: string): boolean },
  seen: { has(bankId: string): boolean },
): void {
  validateFitFields(r, modelLength, selected, seen);
  const bad = findNonFinite(r.delta);
  if (bad >= 0) throw nonFinite(r, bad);
}

/** validateFitResult without the pass over the values (FedAvg's kernel checks them as it adds). */
function validateFitFields(
  r: FitResult,
  modelLength: number,
  selected: { has(bankId: string): boolean },
  seen: { has(bankId: string): boolean },
): void {
  if (!selected.has(r.bankId)) throw new Error(`bank "${r.bankId}" was not selected for this round`);
  if (seen.has(r.bankId)) throw new Error(`duplicate update from bank "${r.bankId}"`);
  if (!(r.delta instanceof Float32Array)) throw new Error(`update from "${r.bankId}": delta must be a Float32Array`);
  if (r.delta.length !== modelLength)
    throw new Error(`update from "${r.bankId}" has ${r.delta.length} values, the model has ${modelLength}`);
  if (!(Number.isInteger(r.numExamples) && r.numExamples >= 1))
    throw new Error(`update from "${r.bankId}": numExamples must be an integer >= 1, got ${r.numExamples}`);
  if (!Number.isFinite(r.loss)) throw new Error(`update from "${r.bankId}": loss must be finite, got ${r.loss}`);
}

function nonFinite(r: FitResult, bad: number): Error {
  return new Error(`update from "${r.bankId}": value ${bad} is ${r.delta[bad]}`);
}

interface ServerStep {
  learningRate: number;
  momentum: number;
  /** Velocity carried in from earlier rounds (read only), or null. */
  velocity: Float64Array | null;
}

class WeightedMeanAggregation implements Aggregation {
  /** Effective (capped) weight per contributing bank, and its local steps. */
  private readonly weights = new Map<string, { w: number; tau: number }>();
  private lossSum = 0;
  private examples = 0;
  private finished = false;

  constructor(
    /** Σ wᵢ Δᵢ / τᵢ (τᵢ = 1 without step normalisation), on the SIMD kernel where available; reset. */
    private readonly acc: Accumulator,
    private readonly roundId: number,
    /** Not copied: the caller must not modify the global weights until finish(). */
    private readonly global: Float32Array,
    private readonly selected: ReadonlySet<string>,
    private readonly cap: number,
    /** Local steps of a bank from the rows it trained on; null: no step normalisation. */
    private readonly steps: ((rows: number) => number) | null,
    /** q: weights are multiplied by loss^q (0: not). */
    private readonly lossExponent: number,
    private readonly server: ServerStep,
    private readonly onVelocity: (velocity: Float64Array, produced: Float32Array) => void,
    /** Hands the accumulator back once finish() no longer needs it (the strategy reuses it). */
    private readonly release: (acc: Accumulator) => void,
  ) {}

  get count(): number {
    return this.weights.size;
  }

  /**
   * A Float32Array of the model's length that `add` reads in place: a receiver may decode an
   * update's payload straight into it (`decodeFrame`'s `floatTarget`) and pass it as the delta,
   * saving a copy. Valid until the next `add`; one update at a time.
   */
  updateSlot(): Float32Array {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    return this.acc.updateSlot();
  }

  add(r: FitResult): void {
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    // Validate fully before touching the sum, so a bad update cannot half-corrupt it (the
    // accumulator checks every value is finite before it adds any).
    validateFitFields(r, this.global.length, this.selected, this.weights);
    if (r.numTrained !== undefined && !(Number.isInteger(r.numTrained) && r.numTrained >= 1))
      throw new Error(`update from "${r.bankId}": numTrained must be an integer >= 1, got ${r.numTrained}`);
    if (this.lossExponent > 0 && !(r.loss >= 0))
      throw new Error(`update from "${r.bankId}": loss must be >= 0 for loss weighting, got ${r.loss}`);
    const w =
      this.lossExponent > 0
        ? Math.min(r.numExamples, this.cap) * Math.min(Math.max(r.loss, MIN_LOSS), MAX_LOSS) ** this.lossExponent
        : Math.min(r.numExamples, this.cap);
    // SMOTE only adds rows: a bank cannot shrink its step count (and so inflate its
    // normalised delta) by reporting fewer trained rows than examples. Nor can it claim
    // more than twice its examples (the protocol's SMOTE ratio is at most 1, so at most as
    // many frauds as legitimate rows): a huge τᵢ would raise τ_eff and with it everyone's step.
    const tau = this.steps
      ? this.steps(Math.min(Math.max(r.numTrained ?? 0, r.numExamples), MAX_TRAINED_PER_EXAMPLE * r.numExamples))
      : 1;
    // The same multiply-add per value as the plain loop `s[i] += f * d[i]`, bit for bit
    // (kernels/accumulate.ts: WebAssembly SIMD, or the JS loop where that is unavailable).
    const bad = this.acc.add(r.delta, w / tau);
    if (bad >= 0) throw nonFinite(r, bad);
    this.weights.set(r.bankId, { w, tau });
    this.lossSum += r.numExamples * r.loss;
    this.examples += r.numExamples;
  }

  finish(): AggregationOutcome {
    // The sum goes back to the strategy below, for the next round: it cannot be read twice.
    if (this.finished) throw new Error(`round ${this.roundId}: aggregation already finished`);
    if (this.weights.size === 0)
      throw new Error(`round ${this.roundId}: no bank contributed an update, nothing to aggregate`);
    this.finished = true;
    let total = 0;
    let tauEff = 0;
    let coefTotal = 0;
    for (const { w, tau } of this.weights.values()) {
      total += w;
      tauEff += w * tau;
      coefTotal += w / tau;
    }
    tauEff /= total; // exactly 1 without step normalisation
    // step = τ_eff · Σ pᵢ Δᵢ / τᵢ with pᵢ = wᵢ / Σw; written so that plain FedAvg (τ ≡ 1,
    // η = 1) computes exactly Σ wᵢ Δᵢ / Σw, bit for bit as before these options existed.
    const { learningRate: eta, momentum: beta, velocity: previous } = this.server;
    const g = this.global;
    const n = g.length;
    const s = this.acc.sum;
    const weights = new Float32Array(n);
    if (beta > 0) {
      const velocity = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = (previous ? beta * previous[i]! : 0) + (s[i]! * tauEff) / total;
        velocity[i] = v;
        weights[i] = g[i]! + eta * v;
      }
      this.onVelocity(velocity, weights);
    } else {
      for (let i = 0; i < n; i++) weights[i] = g[i]! + eta * ((s[i]! * tauEff) / total);
    }
    // Each bank's share of the averaged step (its coefficient on its own delta).
    const bankWeights: Record<string, number> = {};
    for (const [id, { w, tau }] of this.weights) bankWeights[id] = w / tau / coefTotal;
    this.release(this.acc);
    return { weights, bankWeights, meanLoss: this.lossSum / this.examples, numContributors: this.weights.size };
  }
}
