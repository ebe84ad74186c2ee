/**
 * From transactions to scored alerts, shared by the JSON endpoint and the CSV upload:
 * JSON validation against the bank's feature schema (missing and extra fields named),
 * scaling with the model's scaler, scoring, flagging against the operating threshold,
 * and the alert records to store.
 */
import { checkFloat32 } from '@finsecure/common/data';
import type { AlertInput } from './db.js';
import { JSON_ID_FIELDS, MAX_ID_CHARS, type FeatureSchema, type RowIds } from './features.js';
import type { ExplainFn } from './reasons.js';
import { Scorer, type LoadedModel, type Scores } from './scorer.js';
import type { OperatingThreshold } from './threshold.js';

/** A request the caller must fix; `problems` name the transaction and field. */
export class ScoreInputError extends Error {
  override name = 'ScoreInputError';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.slice(0, 20).join('; ')}`);
  }
}

export interface ParsedTransactions {
  n: number;
  /** n·d raw features in model order. */
  features: Float32Array;
  ids: RowIds[];
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '...' : v}"`;
  return JSON.stringify(v) ?? String(v);
}

/**
 * Validates JSON transactions: each an object with exactly the schema's numeric fields
 * (finite float32 numbers), its categorical fields (one of the known categories) and
 * optionally transactionId, accountId (strings) and time (string or number). Every
 * problem is collected, named by transaction index and field.
 */
export function parseTransactions(list: unknown[], schema: FeatureSchema): ParsedTransactions {
  const d = schema.names.length;
  const n = list.length;
  const features = new Float32Array(n * d);
  const ids: RowIds[] = [];
  const problems: string[] = [];
  const known = new Set<string>([...schema.numeric, ...schema.categorical.map((c) => c.name), ...JSON_ID_FIELDS]);
  const catOffset = schema.numeric.length;
  list.forEach((t, i) => {
    const where = n === 1 ? 'transaction' : `transaction ${i}`;
    if (t === null || typeof t !== 'object' || Array.isArray(t)) {
      problems.push(`${where}: must be an object of fields`);
      ids.push({ transactionId: null, accountId: null, time: null });
      return;
    }
    const o = t as Record<string, unknown>;
    const missing = [...schema.numeric, ...schema.categorical.map((c) => c.name)].filter((f) => !(f in o));
    const extra = Object.keys(o).filter((k) => !known.has(k));
    if (missing.length) problems.push(`${where}: missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
    if (extra.length) problems.push(`${where}: unknown field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
    schema.numeric.forEach((f, j) => {
      if (!(f in o)) return;
      const v = o[f];
      if (typeof v !== 'number' || checkFloat32(v) !== null) {
        problems.push(`${where}: field ${f} must be a finite number (float32), got ${describeValue(v)}`);
        return;
      }
      features[i * d + j] = v;
    });
    let off = catOffset;
    for (const c of schema.categorical) {
      const v = o[c.name];
      const k = c.categories.indexOf(String(v));
      if (c.name in o && (typeof v !== 'string' || k < 0)) {
        problems.push(`${where}: field ${c.name} must be one of ${c.categories.join(', ')}, got ${describeValue(v)}`);
      } else if (k >= 0) features[i * d + off + k] = 1;
      off += c.categories.length;
    }
    const idOf = (f: string, allowNumber: boolean): string | null => {
      const v = o[f];
      if (v === undefined || v === null) return null;
      if (typeof v === 'string' && v.length <= MAX_ID_CHARS) return v;
      if (allowNumber && typeof v === 'number' && Number.isFinite(v)) return String(v);
      problems.push(
        `${where}: field ${f} must be a string${allowNumber ? ' or a number' : ''} (at most ${MAX_ID_CHARS} characters)`,
      );
      return null;
    };
    ids.push({
      transactionId: idOf('transactionId', true),
      accountId: idOf('accountId', true),
      time: idOf('time', true),
    });
  });
  if (problems.length) throw new ScoreInputError(problems);
  return { n, features, ids };
}

/**
 * Scales a copy of `raw` and scores it. `onBadValue(row, featureIndex)` reports a value
 * that is finite as given but not once scaled (and must throw).
 */
export function scaleAndScore(
  model: LoadedModel,
  raw: Float32Array,
  n: number,
  onBadValue: (row: number, feature: number) => never,
): { scaled: Float32Array; scores: Scores } {
  const scaled = raw.slice();
  const bad = Scorer.scale(model, scaled);
  if (bad >= 0) onBadValue(Math.floor(bad / model.spec.inputSize), bad % model.spec.inputSize);
  return { scaled, scores: Scorer.score(model, scaled, n) };
}

/** Whether row i is at or above the operating threshold (never, while none is chosen). */
export function isFlagged(scores: Scores, i: number, t: OperatingThreshold | null): boolean {
  return t !== null && scores.logits[i]! >= t.logit;
}

/** The alert record of row i. */
export function alertOf(args: {
  i: number;
  source: string;
  line: number | null;
  ids: RowIds;
  fallbackId: string;
  schema: FeatureSchema;
  raw: Float32Array;
  scaled: Float32Array;
  scores: Scores;
  model: LoadedModel;
  /** Explains now (JSON requests); null: later, in the background (uploads). */
  explain: ExplainFn | null;
}): AlertInput {
  const { i, schema, model } = args;
  const d = schema.names.length;
  const raw = args.raw.subarray(i * d, (i + 1) * d);
  const amountAt = schema.amountFeature ? schema.names.indexOf(schema.amountFeature) : -1;
  return {
    source: args.source,
    line: args.line,
    transactionId: args.ids.transactionId ?? args.fallbackId,
    accountId: args.ids.accountId,
    time: args.ids.time,
    amount: amountAt >= 0 ? raw[amountAt]! : null,
    featureNames: schema.names,
    features: raw.slice(),
    logit: args.scores.logits[i]!,
    probability: args.scores.probabilities[i]!,
    modelVersion: model.version,
    explanation: args.explain ? args.explain(args.scaled.subarray(i * d, (i + 1) * d), raw, schema.names) : null,
  };
}
