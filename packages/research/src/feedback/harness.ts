/**
 * The feedback experiment (issue 17 item 6): does the analysts' feedback loop lower the
 * false positives a bank pays for a given recall? Two arms on one experiment (same shards,
 * scaler, initial model, seeds), differing only in the loop:
 *
 * - each bank's shard is split in two, in row order (for a time split: the latest rows
 *   last): the first part is its labelled training data, the rest its stream of NEW
 *   transactions, unlabelled, one slice per round;
 * - every round, each bank runs the bank client's own local training (`fit`: SMOTE, local
 *   epochs) on its training data as read by the bank client's own ScaledData, which adds
 *   the labels confirmed in its console database through FeedbackSource (deduplicated,
 *   each repeated `weight` times: --feedback-weight, DEFAULT_FEEDBACK_WEIGHT); the updates
 *   are combined by the aggregator's FedAvg (common/strategy) with the aggregator's
 *   default rules (RESEARCH_STRATEGY);
 * - then each bank scores the round's slice of its stream with the new global model and
 *   the oracle analyst (oracle.ts) reviews the top k. With feedback the decisions are
 *   stored in the bank's console database and train the next rounds; without, they are
 *   only counted (the queue's hit rate), as if nobody recorded them.
 *
 * Measured after every round on the shared test set: false positives at a fixed recall
 * (metrics.ts), the false-positive rate and precision there, and AUPRC. In-process (no
 * sockets): what is compared is the loop's effect on the model, not the transport, which
 * `simulate` covers.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '@finsecure/common';
import { applyScaler, declareTrainingData, type TrainingSplit } from '@finsecure/common/data';
import { auprcExact } from '@finsecure/common/metrics';
import { initWeights, manifestFor, MlpTrainer } from '@finsecure/common/model';
import type { Scaler } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { FedAvg } from '@finsecure/common/strategy';
import {
  ConsoleDb,
  createEnvelopeCipher,
  FeedbackSource,
  fit,
  ScaledData,
  type FeedbackRead,
} from '@finsecure/bank-client';
import type { Experiment } from '../experiment.js';
import {
  bankClientSeed,
  ensureBackend,
  modelSpec,
  RESEARCH_STRATEGY,
  trainingConfig,
  type Backend,
  type LocalTraining,
} from '../training.js';
import { falsePositivesAtRecall, type FixedRecallPoint } from './metrics.js';
import { reviewTopK } from './oracle.js';

export interface FeedbackOptions extends LocalTraining {
  rounds: number;
  /** Alerts the oracle reviews per bank per round (top k of the round's new transactions). */
  reviewsPerRound: number;
  /** Copies of each confirmed label in training (the bank client's --feedback-weight). */
  weight: number;
  /** Fraction of each bank's shard held back as its stream of new transactions, in (0, 1). */
  streamFraction: number;
  /** Recall at which false positives are counted, in (0, 1]. */
  recall: number;
  /** Where each bank's console database goes (`<workDir>/<arm>/bank-<i>/console.sqlite`). */
  workDir: string;
  backend?: Backend;
  onProgress?: (arm: ArmName, round: number) => void;
}

export type ArmName = 'without' | 'with';

export interface RoundMeasure {
  round: number;
  atRecall: FixedRecallPoint;
  auprc: number;
  /** Over all banks, this round: alerts reviewed and frauds among them. */
  reviewed: number;
  confirmed: number;
  /** Labels in the banks' training this round (after dedup; rows = labels × weight). */
  feedbackLabels: number;
  feedbackRows: number;
}

export interface ArmResult {
  arm: ArmName;
  rounds: RoundMeasure[];
  trainMs: number;
}

export interface FeedbackResult {
  arms: Record<ArmName, ArmResult>;
  /** Per bank: training rows, stream rows, stream rows per round. */
  banks: { bank: number; trainRows: number; trainFrauds: number; streamRows: number; perRound: number }[];
}

/** Rows [a, b) of a dataset (features, labels; names kept), as a training split. */
function rows(ds: Dataset, a: number, b: number): TrainingSplit {
  const d = ds.numFeatures;
  return declareTrainingData({
    features: ds.features.slice(a * d, b * d),
    labels: ds.labels.slice(a, b),
    numRows: b - a,
    numFeatures: d,
    featureNames: ds.featureNames,
  });
}

function frauds(ds: Pick<Dataset, 'labels' | 'numRows'>): number {
  let n = 0;
  for (let i = 0; i < ds.numRows; i++) n += ds.labels[i]!;
  return n;
}

/**
 * Runs both arms (without feedback first) and returns every round's measures.
 * @throws Error when a bank's shard is too small to give every round a stream slice, or
 *   the test set has no fraud
 */
export async function runFeedbackExperiment(exp: Experiment, o: FeedbackOptions): Promise<FeedbackResult> {
  if (!(o.streamFraction > 0 && o.streamFraction < 1))
    throw new Error(`streamFraction must be in (0, 1), got ${o.streamFraction}`);
  await ensureBackend(o.backend);
  const splits = exp.shards.map((shard, b) => {
    const m = Math.round(shard.numRows * (1 - o.streamFraction));
    const perRound = Math.floor((shard.numRows - m) / o.rounds);
    if (m < 1 || perRound < 1)
      throw new Error(
        `bank ${b + 1} has ${shard.numRows} rows: too few for ${o.rounds} rounds of new transactions at stream fraction ${o.streamFraction}`,
      );
    return { train: rows(shard, 0, m), stream: rows(shard, m, shard.numRows), perRound };
  });
  const result: FeedbackResult = {
    arms: {} as Record<ArmName, ArmResult>,
    banks: splits.map((s, b) => ({
      bank: b + 1,
      trainRows: s.train.numRows,
      trainFrauds: frauds(s.train),
      streamRows: s.stream.numRows,
      perRound: s.perRound,
    })),
  };
  for (const arm of ['without', 'with'] as const) result.arms[arm] = await runArm(exp, o, arm, splits);
  return result;
}

async function runArm(
  exp: Experiment,
  o: FeedbackOptions,
  arm: ArmName,
  splits: { train: TrainingSplit; stream: TrainingSplit; perRound: number }[],
): Promise<ArmResult> {
  const seed = exp.spec.seed;
  const spec = modelSpec(exp.numFeatures);
  const initial = initWeights(spec, createRng(seed));
  const trainer = new MlpTrainer(spec, initial);
  const config = trainingConfig(o, seed);
  const scaler: Scaler = { mean: Array.from(exp.scaler.mean), std: Array.from(exp.scaler.std) };
  const test = exp.scaledTest();
  const strategy = new FedAvg(RESEARCH_STRATEGY);
  const noiseRng = createRng(0); // unused: no DP in this experiment
  const empty: Dataset = {
    features: new Float32Array(0),
    labels: new Uint8Array(0),
    numRows: 0,
    numFeatures: exp.numFeatures,
    featureNames: exp.featureNames,
  };
  // Each bank: its console database (sealed under a key of its own, as in production)
  // and the bank client's own data path with the feedback source reading it.
  const banks = splits.map((s, b) => {
    const stateDir = path.join(o.workDir, arm, `bank-${b + 1}`);
    mkdirSync(stateDir, { recursive: true });
    const cipher = createEnvelopeCipher(randomBytes(32));
    const db = arm === 'with' ? new ConsoleDb(path.join(stateDir, 'console.sqlite'), cipher) : null;
    let read: FeedbackRead | null = null;
    const source = arm === 'with' ? new FeedbackSource(stateDir, new Set(), o.weight, cipher) : null;
    const data = new ScaledData(
      {
        train: s.train,
        test: empty,
        stats: { count: 0, mean: [], m2: [] },
        numFraud: frauds(s.train),
        transactionIds: new Set(),
      },
      source,
      (r) => (read = r),
    );
    return { id: `bank-${b + 1}`, seed: bankClientSeed(seed, b), s, db, data, lastRead: () => read };
  });
  let global = initial.data;
  const measures: RoundMeasure[] = [];
  const started = performance.now();
  try {
    for (let r = 1; r <= o.rounds; r++) {
      const ctx = { roundId: r, global, config, rng: createRng((seed * 7 + r) >>> 0) };
      const agg = strategy.beginAggregation(
        ctx,
        banks.map((b) => ({ bankId: b.id, numExamples: b.s.train.numRows })),
      );
      let feedbackLabels = 0;
      let feedbackRows = 0;
      for (const b of banks) {
        const { train } = b.data.get(scaler);
        const read = b.lastRead();
        if (read) {
          feedbackLabels += read.added;
          feedbackRows += read.rows;
        }
        // The bank client's per-round training seed (as runLocalOnly and client.ts).
        const rng = createRng((b.seed * 1_000_003 + r * 7919 + seed) >>> 0);
        const out = await fit(
          trainer,
          global,
          train,
          config,
          null,
          rng,
          noiseRng,
          () => new Promise((res) => setImmediate(res)),
        );
        agg.add({
          bankId: b.id,
          delta: out.delta,
          numExamples: out.numExamples,
          numTrained: out.numTrained,
          loss: out.loss,
        });
      }
      global = agg.finish().weights;
      trainer.setWeights({ data: global, manifest: manifestFor(spec) });
      const { logits } = trainer.predictWithLogits(test.features, test.numRows);
      const measure: RoundMeasure = {
        round: r,
        atRecall: falsePositivesAtRecall(logits, test.labels, o.recall),
        auprc: auprcExact(logits, test.labels),
        reviewed: 0,
        confirmed: 0,
        feedbackLabels,
        feedbackRows,
      };
      // The round's new transactions, scored with the new model; the oracle reviews the top k.
      for (const [i, b] of banks.entries()) {
        const a = (r - 1) * b.s.perRound;
        const slice = rows(b.s.stream, a, a + b.s.perRound);
        const scaled = applyScaler(slice, { mean: Float64Array.from(scaler.mean), std: Float64Array.from(scaler.std) });
        const z = trainer.predictWithLogits(scaled.features, scaled.numRows).logits;
        const review = reviewTopK(
          b.db,
          {
            raw: slice.features,
            logits: z,
            labels: slice.labels,
            featureNames: exp.featureNames,
            ids: Array.from({ length: slice.numRows }, (_, j) => `b${i + 1}-r${r}-${j}`),
          },
          o.reviewsPerRound,
          r * 60_000,
          r,
        );
        measure.reviewed += review.reviewed;
        measure.confirmed += review.confirmed;
      }
      measures.push(measure);
      o.onProgress?.(arm, r);
    }
  } finally {
    trainer.dispose();
    for (const b of banks) b.db?.close();
  }
  return { arm, rounds: measures, trainMs: performance.now() - started };
}
