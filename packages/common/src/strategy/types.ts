/**
 * The Strategy interface, after Flower's split: a strategy configures each stage of a
 * round, aggregates the results of that stage, and aggregates evaluations. It is pure:
 * no sockets, no timers, no clock; the aggregator's round machine calls it.
 *
 * Aggregation is an accumulator (`beginAggregation` → `add` × n → `finish`) so that
 * FedAvg can keep a running weighted sum in O(model size) memory however many banks
 * report, while strategies that need every update at once (median, trimmed mean, Krum)
 * can buffer inside their own accumulator without changing the interface.
 */
import type { Rng } from '../rng/index.js';
import type { HistogramView } from '../metrics/histogram.js';
import type { Confusion, TrainingConfig } from '../protocol/messages.js';

/** What the strategy may know about a connected bank when selecting. */
export interface BankCandidate {
  bankId: string;
  /** Pre-oversampling training examples reported at hello. */
  numExamples: number;
  numTestExamples?: number;
}

export interface FitInstruction {
  bankId: string;
  config: TrainingConfig;
}

/** One bank's fit result, as the aggregator accepted it (already validated). */
export interface FitResult {
  bankId: string;
  /** Delta from the global model of this round (same length as the global weights). */
  delta: Float32Array;
  /** Real (pre-oversampling) training examples: the FedAvg weight. */
  numExamples: number;
  /**
   * Rows the bank actually trained on (after SMOTE; the update's `numTrained`). Only
   * step-normalised FedAvg uses it, to count the bank's local optimiser steps (never
   * fewer than `numExamples` implies); when absent, `numExamples` is used instead
   * (exact without SMOTE).
   */
  numTrained?: number;
  loss: number;
}

/**
 * Why a robust strategy or norm bound treated a bank as it did, for the round record:
 * `excluded` (the reason, when its weight is 0), `clipScale` (its update was multiplied
 * by this factor in (0, 1)), `score` (the strategy's robustness score, e.g. the Krum
 * score: lower is more central), `norm` (L2 norm of its update), `distance` (L2 distance
 * of its update to the centre it was clipped around).
 */
export interface BankDiagnostic {
  excluded?: string;
  clipScale?: number;
  score?: number;
  norm?: number;
  distance?: number;
  /**
   * L2 distance of the bank's update (as the strategy received it) to the round's aggregate,
   * the step the global model moved by (new − old global weights). See statistics.ts.
   */
  aggregateDistance?: number;
  /** Cosine similarity of the bank's update to that aggregate step, in [−1, 1]; absent when either is zero. */
  cosine?: number;
}

export interface AggregationOutcome {
  /** New global weights. */
  weights: Float32Array;
  /**
   * Effective normalised weight of every bank that contributed (sums to 1). Robust
   * strategies list every bank whose update they received, an excluded bank with 0.
   */
  bankWeights: Record<string, number>;
  /** Example-weighted mean local training loss. */
  meanLoss: number;
  numContributors: number;
  /**
   * Per-bank verdicts and update statistics (see BankDiagnostic): set by the robust strategies
   * and FedMedian; FedAvg and centered clipping leave them out unless wrapped in
   * withUpdateStatistics (statistics.ts).
   */
  diagnostics?: Record<string, BankDiagnostic>;
}

export interface Aggregation {
  add(result: FitResult): void;
  /** Number of results added so far. */
  readonly count: number;
  finish(): AggregationOutcome;
  /**
   * Optional (FedAvg has it; strategies that keep the updates do not): a Float32Array of the
   * model's length that `add` reads in place, to decode an update into (`decodeFrame`'s
   * `floatTarget`) and pass as the delta, saving a copy. Overwritten by the next update: decode
   * into it only right before that update's `add`.
   */
  updateSlot?(): Float32Array;
}

export interface EvaluationReport {
  bankId: string;
  numExamples: number;
  confusion: Confusion;
  /** As kept until the round commits (packHistogram: counts outside the JavaScript heap). */
  histogram: HistogramView;
  loss: number;
}

export interface RoundContext {
  roundId: number;
  /** Current global weights (the model this round starts from). */
  global: Float32Array;
  /** Base training config chosen by admins. */
  config: TrainingConfig;
  rng: Rng;
}

export interface Strategy {
  readonly name: string;
  /** Choose the banks for this round's fit stage and what each should do. */
  configureFit(ctx: RoundContext, candidates: BankCandidate[], fraction: number, minBanks: number): FitInstruction[];
  /** Start aggregating the fit stage of a round over the selected banks. */
  beginAggregation(ctx: RoundContext, selected: BankCandidate[]): Aggregation;
  /** Choose who evaluates the new global model (by default every fit participant). */
  configureEvaluate(ctx: RoundContext, participants: string[], candidates: BankCandidate[]): string[];
  /**
   * Only for strategies that aggregate linearly (FedAvg): the server step on a mean update that was
   * computed elsewhere, e.g. unmasked by secure aggregation, which yields Σ and never the updates.
   * `step` has the model's length; returns the candidate weights. Absent: the strategy needs the
   * individual updates (median, Krum, ...).
   */
  applyMeanStep?(global: Float32Array, step: ArrayLike<number>): Float32Array;
}
