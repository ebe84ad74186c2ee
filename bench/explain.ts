/**
 * `explain`: one transaction scored and explained, as the bank console does it for a
 * flagged transaction (issue 17: ≤ 100 ms p99 with reasons).
 *
 * Setup (untimed): the default MLP (30 → 64 → 32 → 1) trained for a few epochs on seeded
 * synthetic Kaggle-layout rows (wasm backend), the bank's standard scaler, and the
 * background: k-means centroids of the bank's scaled training rows, weighted by cluster
 * size (`kmeansBackground`, timed separately: it runs once per model, not per request).
 *
 * Timed per transaction, from raw feature values: scaling, the score (logit and
 * probability, plain-TypeScript MLP), the attributions, and the reasons in words
 * (`describeReasons`, top 3). Explainers:
 *   - KernelSHAP, the default budget (2d + 2048 = 2,108 coalitions) × the background, and
 *     (plain-TypeScript model only) with 1,024 coalitions;
 *   - integrated gradients, exact along each path (one path per centroid).
 * Transactions: the highest-scoring validation rows (the ones an analyst opens) and a
 * random sample of the others, each timed once after a warm-up.
 *
 * KernelSHAP twice, with the same coalitions: the model evaluated by TF.js
 * (`MlpTrainer.predictWithLogits` on wasm, SIMD float32: what the console should use, as
 * it has the backend loaded for scoring anyway) and by the plain-TypeScript MLP (scalar
 * float64, with its first-layer shortcut). Targets on the TF.js KernelSHAP and on
 * integrated gradients.
 * Accuracy (not timed): the default budget against a 32,768-coalition KernelSHAP (exact
 * Shapley values are out of reach at d = 30), as the max error relative to the largest
 * attribution, and whether the top-3 features agree.
 */
import {
  applyScaler,
  computeScalerStats,
  generateSynthetic,
  scalerFromStats,
  type Scaler,
} from '@finsecure/common/data';
import {
  describeReasons,
  integratedGradients,
  kernelShap,
  kmeansBackground,
  MlpLogit,
  type Background,
  type Explanation,
  type ModelFunction,
  type ReasonsResult,
} from '@finsecure/common/explain';
import { DEFAULT_MLP, initBackend, initWeights, MlpTrainer } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { median, num, target, type Benchmark, type BenchContext, type BenchResult, type Row } from './lib.js';

const D = DEFAULT_MLP.inputSize;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

interface Setup {
  names: string[];
  scaler: Scaler;
  model: MlpLogit;
  /** The TF.js model as a ModelFunction (the reference). */
  tfLogits: ModelFunction;
  background: Background;
  backgroundMs: number;
  trainRows: number;
  /** Raw validation rows, highest-scoring first for the first half of the picks. */
  pickTransactions(n: number): Float64Array[];
}

async function setup(ctx: BenchContext): Promise<Setup> {
  const rows = ctx.quick ? 12_000 : 40_000;
  const ds = generateSynthetic({ rows, fraudRate: 0.01, seed: 17 });
  const trainRows = Math.floor(rows * 0.8);
  const scaler = scalerFromStats(
    computeScalerStats({ ...ds, features: ds.features.subarray(0, trainRows * D), numRows: trainRows }),
  );
  const scaled = applyScaler(ds, scaler);
  await initBackend('wasm');
  const trainer = new MlpTrainer(DEFAULT_MLP, initWeights(DEFAULT_MLP, createRng(1)));
  ctx.log(`training the MLP on ${trainRows} synthetic rows`);
  await trainer.train(
    {
      features: scaled.features.subarray(0, trainRows * D),
      labels: scaled.labels.subarray(0, trainRows),
      numRows: trainRows,
      numFeatures: D,
    },
    { epochs: ctx.quick ? 2 : 4, batchSize: 256, learningRate: 1e-3, rng: createRng(2) },
  );
  const model = new MlpLogit(DEFAULT_MLP, trainer.getWeights());
  const tfLogits: ModelFunction = (x, n) => trainer.predictWithLogits(Float32Array.from(x), n).logits;
  const t0 = performance.now();
  const background = kmeansBackground(scaled.features.subarray(0, trainRows * D), D, { k: 8, rng: createRng(3) });
  const backgroundMs = performance.now() - t0;
  const validation = Array.from({ length: rows - trainRows }, (_, i) =>
    Float64Array.from(ds.features.subarray((trainRows + i) * D, (trainRows + i + 1) * D)),
  );
  const pickTransactions = (n: number): Float64Array[] => {
    const logits = model.logits(Float64Array.from(scaled.features.subarray(trainRows * D)), rows - trainRows);
    const order = Array.from({ length: validation.length }, (_, i) => i).sort(
      (a, b) => logits[b]! - logits[a]! || a - b,
    );
    const top = order.slice(0, n >> 1);
    const rng = createRng(4);
    const rest = order.slice(n >> 1);
    const random = Array.from({ length: n - top.length }, () => rest[rng.int(rest.length)]!);
    return [...top, ...random].map((i) => validation[i]!);
  };
  return { names: ds.featureNames, scaler, model, tfLogits, background, backgroundMs, trainRows, pickTransactions };
}

type Method = 'kernel-shap' | 'kernel-shap, 1,024 coalitions' | 'integrated-gradients' | 'kernel-shap (TF.js model)';

interface Explained {
  logit: number;
  probability: number;
  explanation: Explanation;
  reasons: ReasonsResult;
}

/** What the console does per request: scale, score, explain, describe. */
function explainTransaction(s: Setup, raw: Float64Array, method: Method, seed: number, samples?: number): Explained {
  const x = new Float64Array(D);
  for (let j = 0; j < D; j++) x[j] = (raw[j]! - s.scaler.mean[j]!) / s.scaler.std[j]!;
  const logit = s.model.logits(x, 1)[0]!;
  const probability = 1 / (1 + Math.exp(-logit));
  const rng = createRng(seed);
  const explanation =
    method === 'integrated-gradients'
      ? integratedGradients(s.model, x, s.background)
      : kernelShap(method === 'kernel-shap (TF.js model)' ? s.tfLogits : s.model, x, s.background, {
          rng,
          ...(samples ? { samples } : method === 'kernel-shap, 1,024 coalitions' ? { samples: 1024 } : {}),
        });
  const reasons = describeReasons(explanation.attributions, s.names, raw, s.scaler, { top: 3 });
  return { logit, probability, explanation, reasons };
}

/** KernelSHAP with `method`'s budget against a 32,768-coalition run, per transaction. */
function kernelEstimateError(
  s: Setup,
  picks: Float64Array[],
  method: Method,
): { relErrors: number[]; top3Same: number } {
  const relErrors: number[] = [];
  let top3Same = 0;
  picks.forEach((raw, i) => {
    const a = explainTransaction(s, raw, method, 10 + i);
    const b = explainTransaction(s, raw, 'kernel-shap', 5000 + i, 32_768);
    let err = 0;
    let scale = 0;
    for (let j = 0; j < D; j++) {
      err = Math.max(err, Math.abs(a.explanation.attributions[j]! - b.explanation.attributions[j]!));
      scale = Math.max(scale, Math.abs(b.explanation.attributions[j]!));
    }
    relErrors.push(scale > 0 ? err / scale : 0);
    const top = (r: ReasonsResult) => r.reasons.map((q) => q.feature).join(',');
    if (top(a.reasons) === top(b.reasons)) top3Same++;
  });
  return { relErrors, top3Same };
}

export const explain: Benchmark = {
  name: 'explain',
  title: 'One transaction scored and explained (KernelSHAP, integrated gradients)',
  description: 'score + attributions + reasons for one transaction of the 30-feature MLP (p50/p99)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const s = await setup(ctx);
    const n = ctx.quick ? 40 : 200;
    const picks = s.pickTransactions(n);
    const notes: string[] = [];
    const rows: Row[] = [];
    const data: Record<string, unknown> = { backgroundMs: s.backgroundMs, backgroundRows: s.background.n };
    const targets = [];
    for (const method of [
      'kernel-shap (TF.js model)',
      'integrated-gradients',
      'kernel-shap',
      'kernel-shap, 1,024 coalitions',
    ] as const) {
      const list = picks;
      // Warm-up: JIT and (for TF.js) kernel setup.
      for (let i = 0; i < 5; i++) explainTransaction(s, list[i % list.length]!, method, i);
      const ms: number[] = [];
      let coalitions = 0;
      list.forEach((row, i) => {
        const t0 = performance.now();
        const out = explainTransaction(s, row, method, 1000 + i);
        ms.push(performance.now() - t0);
        coalitions = out.explanation.coalitions;
      });
      const p50 = percentile(ms, 50);
      const p99 = percentile(ms, 99);
      rows.push({
        method,
        transactions: list.length,
        'coalitions or paths': coalitions,
        'p50 ms': num(p50, 1),
        'p99 ms': num(p99, 1),
        'max ms': num(Math.max(...ms), 1),
      });
      data[method] = { ms, p50, p99 };
      if (method === 'kernel-shap (TF.js model)' || method === 'integrated-gradients')
        targets.push(target(`score + ${method} + reasons, p99`, p99, '<=', 100, 'ms'));
      ctx.log(`${method}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    }

    const accPicks = picks.slice(0, ctx.quick ? 5 : 20);
    const accuracy = (['kernel-shap', 'kernel-shap, 1,024 coalitions'] as const).map((m) => ({
      method: m,
      ...kernelEstimateError(s, accPicks, m),
    }));
    data.accuracy = accuracy;
    // The TF.js (float32) and plain-TypeScript (float64) models, same coalitions (same seed).
    let tfVsTs = 0;
    accPicks.forEach((raw, i) => {
      const a = explainTransaction(s, raw, 'kernel-shap', 77 + i).explanation.attributions;
      const b = explainTransaction(s, raw, 'kernel-shap (TF.js model)', 77 + i).explanation.attributions;
      let err = 0;
      let scale = 0;
      for (let j = 0; j < D; j++) {
        err = Math.max(err, Math.abs(a[j]! - b[j]!));
        scale = Math.max(scale, Math.abs(a[j]!));
      }
      tfVsTs = Math.max(tfVsTs, err / scale);
    });
    data.tfVsTypeScriptMaxRelDiff = tfVsTs;
    const example = explainTransaction(s, picks[0]!, 'kernel-shap', 1);
    notes.push(
      `background: ${s.background.n} k-means centroids of ${s.trainRows.toLocaleString('en-US')} scaled rows in ${num(s.backgroundMs, 0)} ms (once per model)`,
      ...accuracy.map(
        (acc) =>
          `${acc.method} vs 32,768 coalitions: median max error ${num(100 * median(acc.relErrors), 1)}% of the largest attribution, worst ${num(100 * Math.max(...acc.relErrors), 1)}%; same top-3 features in ${acc.top3Same}/${acc.relErrors.length} transactions`,
      ),
      `KernelSHAP with the TF.js (float32) vs the plain-TypeScript (float64) model, same coalitions: largest difference ${tfVsTs.toExponential(1)} of the largest attribution`,
      `highest-scoring transaction: logit ${example.logit.toFixed(2)} (p = ${example.probability.toPrecision(4)}); ${example.reasons.text}`,
    );
    return {
      tables: [{ title: 'Score + explanation + reasons, one transaction at a time', rows }],
      targets,
      notes,
      data,
    };
  },
};
