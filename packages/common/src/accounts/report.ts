/**
 * The account report: every account of the bank scored by an unsupervised detector
 * (Isolation Forest or LOF) against the bank's own population, flagged at an expected
 * contamination, with its top reasons in words. Pure: the table in, the report out.
 *
 * Detector input: each feature is put on a log scale first where it is a count or an
 * amount (heavy-tailed: one account with 10,000 transactions would otherwise squeeze all
 * others into one split), then robust-scaled (median / MAD; LOF's distances need
 * comparable units). Reasons are given on the raw values, which an analyst can check.
 */
import {
  contaminationThreshold,
  describeReasons,
  IsolationForest,
  LocalOutlierFactor,
  robustScale,
  robustStats,
  topReasons,
  type Matrix,
  type Reason,
} from '../anomaly/index.js';
import { createRng } from '../rng/index.js';
import { FEATURE_LABELS, type AccountTable } from './features.js';

export type AccountDetector = 'iforest' | 'lof';

export interface AccountReportOptions {
  detector?: AccountDetector;
  /** Expected share of anomalous accounts, in (0, 0.5] (default 0.01). */
  contamination?: number;
  /** Seed of the Isolation Forest (default 1). */
  seed?: number;
  /** LOF neighbours (default 20, capped at accounts − 1). */
  numNeighbors?: number;
  /** Reasons per account (default 3). */
  topReasons?: number;
}

export interface AccountReportRow {
  account: string;
  features: number[];
  /** Anomaly score, higher = more anomalous (−score_samples); NaN when not scored. */
  score: number;
  flagged: boolean;
  reasons: Reason[];
  /** The reasons in words. */
  explanation: string;
}

export interface AccountReport {
  detector: AccountDetector;
  contamination: number;
  featureNames: string[];
  rows: AccountReportRow[];
  /** Score cut: accounts above it are flagged (NaN when nothing was scored). */
  threshold: number;
  flagged: number;
  transactions: number;
  /** Plain statements the reader must see (one account only, nothing flagged, …). */
  notes: string[];
}

const LOG_SCALE = new Set([
  'tx_count',
  'amount_total',
  'amount_mean',
  'amount_max',
  'amount_std',
  'distinct_merchants',
  'distinct_locations',
  'active_days',
  'busiest_day_count',
  'balance_change',
]);

/** Signed log1p on count/amount features; shares stay as they are. */
function detectorInput(table: AccountTable): Matrix {
  const d = table.featureNames.length;
  const n = table.accounts.length;
  const data = new Float64Array(n * d);
  const logged = table.featureNames.map((f) => LOG_SCALE.has(f));
  for (let i = 0; i < n * d; i++) {
    const v = table.features[i];
    data[i] = logged[i % d] ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
  }
  return { data, rows: n, cols: d };
}

/**
 * Scores, flags and explains every account. Throws RangeError on a bad contamination.
 * With fewer than two accounts nothing can be compared: the report keeps the rows, with
 * no score, and says so in `notes`.
 */
export function buildAccountReport(table: AccountTable, options: AccountReportOptions = {}): AccountReport {
  const detector = options.detector ?? 'iforest';
  const contamination = options.contamination ?? 0.01;
  if (!(contamination > 0 && contamination <= 0.5)) {
    throw new RangeError(`contamination must be in (0, 0.5], got ${contamination}`);
  }
  const n = table.accounts.length;
  const d = table.featureNames.length;
  const raw: Matrix = { data: table.features, rows: n, cols: d };
  const rowValues = (i: number) => Array.from(table.features.subarray(i * d, (i + 1) * d));
  const notes: string[] = [];
  const base = { detector, contamination, featureNames: table.featureNames, transactions: table.transactions };

  if (n < 2) {
    notes.push(
      `only one account (${table.accounts[0]}) in ${table.transactions} transactions: an anomaly score compares an ` +
        'account with the rest of the bank, so nothing was scored or flagged',
    );
    const rows = table.accounts.map((account, i) => ({
      account,
      features: rowValues(i),
      score: NaN,
      flagged: false,
      reasons: [],
      explanation: '',
    }));
    return { ...base, rows, threshold: NaN, flagged: 0, notes };
  }

  const rawStats = robustStats(raw);
  const input = detectorInput(table);
  const scaled = robustScale(input, robustStats(input));
  let scores: Float64Array;
  let attribution: Float64Array | null = null;
  if (detector === 'iforest') {
    const forest = IsolationForest.fit(scaled, createRng(options.seed ?? 1));
    scores = forest.scoreSamples(scaled);
    attribution = forest.attribution(scaled);
  } else {
    // The population scored among itself: each account's neighbours are the *other*
    // accounts (scikit-learn's negative_outlier_factor_), not itself at distance 0.
    scores = LocalOutlierFactor.fit(scaled, { numNeighbors: options.numNeighbors }).negativeOutlierFactor!;
  }
  for (let i = 0; i < n; i++) scores[i] = -scores[i];
  const threshold = contaminationThreshold(scores, contamination);

  let flagged = 0;
  const rows: AccountReportRow[] = table.accounts.map((account, i) => {
    const isFlagged = scores[i] > threshold;
    if (isFlagged) flagged++;
    const values = rowValues(i);
    const reasons = topReasons({
      names: table.featureNames,
      values,
      stats: rawStats,
      attribution: attribution ? attribution.subarray(i * d, (i + 1) * d) : undefined,
      top: options.topReasons ?? 3,
    });
    return {
      account,
      features: values,
      score: scores[i],
      flagged: isFlagged,
      reasons,
      explanation: describeReasons(reasons, FEATURE_LABELS),
    };
  });
  if (n < 20) notes.push(`only ${n} accounts: scores compare each account with very few others; read them with care`);
  if (flagged === 0) {
    notes.push(
      `no account flagged: contamination ${contamination} of ${n} accounts is below one, or scores tie at the cut`,
    );
  }
  return { ...base, rows, threshold, flagged, notes };
}
