/**
 * The oracle analyst of the feedback experiment: after each round, it reviews the top-k
 * alerts of the bank's new transactions (scored with the new global model, highest
 * first, as the console's alert queue shows them) and decides each with the true label:
 * "confirmed fraud" for a fraud, "false positive" otherwise. Alerts and decisions go into
 * the bank's own console database exactly as the console stores them (ConsoleDb
 * insertApiAlerts + decide, sealed under the bank's state key), so the next rounds read
 * them through the bank client's own FeedbackSource (dedup, weight), not a copy of it.
 *
 * An oracle is the best case of a real analyst: every decision right, every alert of the
 * top k reviewed every round. Real analysts are slower and sometimes wrong.
 */
import type { ConsoleDb, Decision } from '@finsecure/bank-client';
import { topK } from './metrics.js';

export interface ReviewBatch {
  /** Raw (unscaled) features, n × d, as the transactions arrived. */
  raw: Float32Array;
  /** The model's logits for the n transactions. */
  logits: Float32Array | Float64Array;
  /** True labels (the oracle's knowledge). */
  labels: Uint8Array;
  featureNames: string[];
  /** Transaction ids, unique per bank (the feedback loop deduplicates on them). */
  ids: string[];
}

export interface Review {
  reviewed: number;
  /** Frauds among the reviewed alerts (the queue's hit rate is confirmed / reviewed). */
  confirmed: number;
}

/**
 * Reviews the top `k` of `batch` into `db` (when given; null: count only, the arm without
 * feedback). `at` is the decision time (ms), `modelVersion` the model that scored them.
 */
export function reviewTopK(
  db: ConsoleDb | null,
  batch: ReviewBatch,
  k: number,
  at: number,
  modelVersion: number,
): Review {
  const d = batch.featureNames.length;
  const top = topK(batch.logits, k);
  let confirmed = 0;
  for (const i of top) confirmed += batch.labels[i] === 1 ? 1 : 0;
  if (db && top.length) {
    const ids = db.insertApiAlerts(
      top.map((i) => {
        const z = batch.logits[i]!;
        const features = batch.raw.slice(i * d, (i + 1) * d);
        return {
          source: 'oracle',
          line: null,
          transactionId: batch.ids[i]!,
          accountId: null,
          time: null,
          amount: null,
          featureNames: batch.featureNames,
          features,
          logit: z,
          probability: 1 / (1 + Math.exp(-z)),
          modelVersion,
          explanation: null,
        };
      }),
      at,
    );
    top.forEach((i, j) => {
      const decision: Decision = batch.labels[i] === 1 ? 'confirmed_fraud' : 'false_positive';
      db.decide(ids[j]!, { decision, note: 'oracle', analyst: 'oracle', analystId: null, at });
    });
  }
  return { reviewed: top.length, confirmed };
}
