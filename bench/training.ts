/**
 * Training throughput of the fraud MLP (30 → 64 → 32 → 1, dropout 0.2, Adam, BCE) in
 * samples per second, per TF.js backend and batch size, plus MlpTrainer.predict
 * throughput. On wasm the previous trainer (TF.js autodiff + tf.train.adam) and
 * tf.LayersModel.fit are measured too, as references.
 *
 * Method: 20,000 seeded synthetic rows × 30 features. For each configuration a fresh
 * trainer, untimed warm-up epochs (JIT, wasm memory growth, XNNPACK caches), then
 * several timed `train` calls; the table gives the median and the range. The loss
 * column is the last timed call's mean training loss, a sanity check that real
 * training happened.
 */
import { DEFAULT_MLP, initWeights, MlpTrainer, switchBackend, type TrainingData } from '@finsecure/common/model';
import type { TrainingBackend } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import {
  median,
  num,
  target,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
  type Target,
} from './lib.js';
import { AutodiffTrainer, LayersFitTrainer } from './training-reference.js';

const ROWS = 20_000;
const FEATURES = 30;
const PREDICT_ROWS = 200_000;
const BATCH_SIZES = [256, 1024];
const LEARNING_RATE = 1e-3;
/** The bar: half of Keras on native TensorFlow (126k and 222k samples/s). */
const TARGETS: Record<number, number> = { 256: 63_000, 1024: 111_000 };
const KERAS: Record<number, number> = { 256: 126_000, 1024: 222_000 };

interface Trainable {
  train: MlpTrainer['train'];
  dispose(): void;
}

interface Impl {
  name: string;
  make: () => Trainable;
  /** Timed runs; each `epochs` epochs. */
  reps: number;
  epochs: number;
  warmupEpochs: number;
}

export interface TrainingFigure {
  backend: string;
  implementation: string;
  batchSize: number;
  samplesPerSecond: number;
  min: number;
  max: number;
  runs: number[];
  /** Mean training loss of the last timed call, after `epochsTrained` epochs in all. */
  loss: number;
  epochsTrained: number;
}

function synthetic(seed: number, rows: number): TrainingData {
  const rng = createRng(seed);
  const features = new Float32Array(rows * FEATURES);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < FEATURES; j++) {
      const v = rng.normal();
      features[r * FEATURES + j] = v;
      if (j < 4) s += v;
    }
    labels[r] = s + 0.5 * rng.normal() > 2.5 ? 1 : 0; // ~11 % positives
  }
  return { features, labels, numRows: rows, numFeatures: FEATURES };
}

async function measure(impl: Impl, data: TrainingData, batchSize: number): Promise<Omit<TrainingFigure, 'backend'>> {
  const rng = createRng(99);
  const trainer = impl.make();
  try {
    const opts = { batchSize, learningRate: LEARNING_RATE, rng };
    if (impl.warmupEpochs > 0) await trainer.train(data, { ...opts, epochs: impl.warmupEpochs });
    const runs: number[] = [];
    let loss = NaN;
    for (let i = 0; i < impl.reps; i++) {
      const r = await trainer.train(data, { ...opts, epochs: impl.epochs });
      runs.push(r.samples / (r.ms / 1000));
      loss = r.loss;
    }
    return {
      implementation: impl.name,
      batchSize,
      samplesPerSecond: median(runs),
      min: Math.min(...runs),
      max: Math.max(...runs),
      runs: runs.map(Math.round),
      loss,
      epochsTrained: impl.warmupEpochs + impl.reps * impl.epochs,
    };
  } finally {
    trainer.dispose();
  }
}

async function tryBackend(name: TrainingBackend): Promise<string | null> {
  try {
    await switchBackend(name);
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const data = synthetic(1, ROWS);
  const predictData = synthetic(2, PREDICT_ROWS);
  const init = initWeights(DEFAULT_MLP, createRng(7));
  const q = ctx.quick;
  const figures: TrainingFigure[] = [];
  const predictRows: Row[] = [];
  const notes: string[] = [];
  const predictFigures: Record<string, number> = {};

  for (const backend of ['wasm', 'cpu', 'tensorflow'] as const) {
    const failed = await tryBackend(backend);
    if (failed) {
      notes.push(`backend ${backend} not measured: ${failed}`);
      continue;
    }
    const slow = backend === 'cpu';
    const impls: Impl[] = [
      {
        name: 'MlpTrainer',
        make: () => new MlpTrainer(DEFAULT_MLP, init),
        reps: q ? 2 : slow ? 3 : 7,
        epochs: slow ? 1 : 3,
        warmupEpochs: q ? 1 : 2,
      },
    ];
    if (backend === 'wasm') {
      impls.push(
        {
          name: 'previous MlpTrainer (autodiff + tf.train.adam)',
          make: () => new AutodiffTrainer(DEFAULT_MLP, init),
          reps: q ? 1 : 3,
          epochs: 1,
          warmupEpochs: 1,
        },
        {
          name: 'tf.LayersModel.fit',
          make: () => new LayersFitTrainer(DEFAULT_MLP, init),
          reps: q ? 1 : 3,
          epochs: 1,
          warmupEpochs: 1,
        },
      );
    }
    for (const impl of impls) {
      for (const bs of BATCH_SIZES) {
        ctx.log(`${backend}: ${impl.name}, batch ${bs}`);
        figures.push({ backend, ...(await measure(impl, data, bs)) });
      }
    }

    // Inference: MlpTrainer.predict over many rows (default 8,192-row chunks).
    const trainer = new MlpTrainer(DEFAULT_MLP, init);
    const n = slow ? PREDICT_ROWS / 10 : PREDICT_ROWS;
    const features = predictData.features.subarray(0, n * FEATURES);
    trainer.predict(features, n); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < (q ? 2 : 5); i++) {
      const t0 = performance.now();
      trainer.predict(features, n);
      runs.push(n / ((performance.now() - t0) / 1000));
    }
    trainer.dispose();
    predictFigures[backend] = median(runs);
    predictRows.push({
      backend,
      rows: num(n),
      'samples/s (median)': num(median(runs)),
      min: num(Math.min(...runs)),
      max: num(Math.max(...runs)),
    });
  }
  await switchBackend('wasm').catch(() => undefined);

  const trainingRows: Row[] = figures.map((f) => ({
    backend: f.backend,
    implementation: f.implementation,
    batch: f.batchSize,
    'samples/s (median)': num(f.samplesPerSecond),
    min: num(f.min),
    max: num(f.max),
    'vs Keras native': `${((100 * f.samplesPerSecond) / KERAS[f.batchSize]!).toFixed(0)} %`,
    epochs: f.epochsTrained,
    'last loss': f.loss.toFixed(4),
  }));

  const targets: Target[] = [];
  for (const bs of BATCH_SIZES) {
    const f = figures.find((x) => x.backend === 'wasm' && x.implementation === 'MlpTrainer' && x.batchSize === bs);
    if (f)
      targets.push(
        target(`wasm MlpTrainer training, batch ${bs}`, f.samplesPerSecond, '>=', TARGETS[bs]!, 'samples/s'),
      );
    else notes.push(`wasm backend unavailable: training target for batch ${bs} not checked`);
  }
  notes.push(
    `Keras on native TensorFlow, same kind of machine: ${num(KERAS[256]!)} (batch 256) and ${num(KERAS[1024]!)} (batch 1024) samples/s; targets are half of that.`,
  );

  return {
    tables: [
      {
        title: `Training throughput: ${num(ROWS)} rows × ${FEATURES} features, MLP 30-64-32-1, dropout 0.2, Adam`,
        rows: trainingRows,
      },
      { title: 'MlpTrainer.predict throughput', rows: predictRows },
    ],
    targets,
    notes,
    data: { rows: ROWS, features: FEATURES, training: figures, predictSamplesPerSecond: predictFigures },
  };
}

export const training: Benchmark = {
  name: 'training',
  title: 'Training and inference throughput',
  description: 'MLP training samples/s per backend and batch size (256, 1024), predict samples/s',
  run,
};
