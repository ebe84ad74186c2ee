/**
 * Reasons for a flagged transaction: its feature attributions in log-odds of fraud
 * (@finsecure/common/explain), the top ones in words an analyst reads and the largest as
 * bar values.
 *
 * Method: integrated gradients of the MLP's logit (exact along each straight path, as
 * the network is piecewise linear) by default, or Shapley values (exact up to 12
 * features, paired-sampling KernelSHAP above, seeded so one transaction always gets the
 * same reasons). Background, the reference "feature unknown" is averaged over: 8 k-means
 * centroids of the bank's own rows (its validation split, scaled with the model's
 * scaler) when the console has them, otherwise the scaler's mean (one all-zero row in
 * scaled space). Built once per model version.
 */
import {
  backgroundFromRows,
  describeReasons,
  integratedGradients,
  kmeansBackground,
  MlpLogit,
  shapley,
  type Background,
} from '@finsecure/common/explain';
import { createRng } from '@finsecure/common/rng';
import type { Reason } from './alert-types.js';
import type { LoadedModel } from './scorer.js';
import type { ValidationSource } from './threshold.js';

export type ExplainMethod = 'integrated-gradients' | 'shapley';

/** What an alert stores about why it was flagged. */
export interface AlertExplanation {
  method: ExplainMethod;
  /** E[logit(background)]: attributions sum to logit − baseValue. */
  baseValue: number;
  /** Where the background came from. */
  background: 'bank-kmeans' | 'scaler-mean';
  /** Top reasons raising the score, in words. */
  reasons: Reason[];
  /** Largest attributions by |value|, for the bar chart. */
  bars: { feature: string; attribution: number }[];
}

/** Explains one transaction with one model: `scaled` as the model consumes it, `raw` as it arrived. */
export type ExplainFn = (scaled: Float32Array, raw: Float32Array, names: readonly string[]) => AlertExplanation;

export interface Explainer {
  /**
   * The explain function of `model` (float64 MLP and background built once per model
   * file; the function keeps its own copy, so a newer model does not change it).
   */
  forModel(model: LoadedModel): Promise<ExplainFn>;
}

export function createExplainer(
  opts: { method?: ExplainMethod; validation?: ValidationSource | null; top?: number; bars?: number } = {},
): Explainer {
  const method = opts.method ?? 'integrated-gradients';
  let cached: { stamp: number; fn: Promise<ExplainFn> } | null = null;

  async function build(model: LoadedModel): Promise<ExplainFn> {
    const d = model.spec.inputSize;
    const scaler = model.scaler ?? { mean: new Array<number>(d).fill(0), std: new Array<number>(d).fill(1) };
    let bg: Background | null = null;
    if (opts.validation) {
      const ds = await opts.validation.load();
      if (ds.numFeatures === d && ds.numRows > 0) {
        const rows = new Float64Array(ds.numRows * d);
        for (let i = 0; i < rows.length; i++) rows[i] = (ds.features[i]! - scaler.mean[i % d]!) / scaler.std[i % d]!;
        bg = kmeansBackground(rows, d, { k: 8, rng: createRng(1) });
      }
    }
    const background: AlertExplanation['background'] = bg ? 'bank-kmeans' : 'scaler-mean';
    const reference = bg ?? backgroundFromRows(new Float64Array(d), d);
    const mlp = new MlpLogit(model.spec, model.weights);
    return (scaled, raw, names) => {
      const e =
        method === 'shapley'
          ? shapley(mlp, scaled, reference, { rng: createRng(1) })
          : integratedGradients(mlp, scaled, reference);
      const r = describeReasons(e.attributions, names, raw, scaler, {
        top: opts.top ?? 3,
        direction: 'raising',
        bars: opts.bars ?? 8,
      });
      return {
        method,
        baseValue: e.baseValue,
        background,
        reasons: r.reasons.map((x) => ({
          feature: x.feature,
          value: x.value,
          attribution: x.attribution,
          text: x.text,
        })),
        bars: r.bars,
      };
    };
  }

  return {
    forModel(model) {
      if (cached?.stamp !== model.stamp) {
        const fn = build(model);
        cached = { stamp: model.stamp, fn };
        // A failed build is not cached: the next request tries again.
        fn.catch(() => {
          if (cached?.fn === fn) cached = null;
        });
      }
      return cached.fn;
    },
  };
}
