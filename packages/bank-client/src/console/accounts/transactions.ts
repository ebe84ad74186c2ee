/**
 * Transaction-level anomaly scores for a bank with no labels at all: an Isolation Forest
 * (Liu et al. 2008; @finsecure/common/anomaly) fitted on the uploaded transactions
 * themselves, in the bank's scoring layout (the same features the federated model sees;
 * the label column may be absent), each transaction scored against the others. Reasons:
 * the forest's per-feature path-length attribution, with each feature's robust z-score
 * against the file's own population.
 *
 * The result has the account report's shape (one row per transaction) so that the
 * console's threshold control, table and CSV export serve both.
 */
import type { AccountReport, AccountReportRow } from '@finsecure/common/accounts';
import {
  contaminationThreshold,
  describeReasons,
  IsolationForest,
  robustStats,
  topReasons,
  type Matrix,
} from '@finsecure/common/anomaly';
import { loadCsv, type ColumnMapping, type LayoutName } from '@finsecure/common/data';
import { createRng } from '@finsecure/common/rng';
import { readIds } from '../features.js';

export interface TransactionScoreOptions {
  layout: 'auto' | LayoutName | ColumnMapping;
  idColumn: string | undefined;
  contamination: number;
  seed: number;
  reasons: number;
}

export interface TransactionReport {
  report: AccountReport;
  /** File line (1-based, header = 1) of each row. */
  lines: Int32Array;
  /** The layout the loader read (kaggle, handbook, or custom for a column mapping). */
  layout: string;
  notices: string[];
}

/**
 * Reads `file` with the bank's loader (DataError at the bad cell, naming line and column)
 * and scores every transaction. Fewer than two transactions: nothing is scored, and the
 * report says so.
 */
export async function scoreTransactions(file: string, o: TransactionScoreOptions): Promise<TransactionReport> {
  const loaded = await loadCsv(file, { layout: o.layout, requireLabel: false, keepLineNumbers: true });
  const ds = loaded.dataset;
  const n = ds.numRows;
  const d = ds.featureNames.length;
  const lines = Int32Array.from(loaded.lineNumbers!);
  const mapping = typeof o.layout === 'object' ? o.layout : undefined;
  const ids = await readIds(file, new Set(lines), mapping, o.idColumn);
  const idOf = (i: number) => ids.get(lines[i]!)?.transactionId ?? `line ${lines[i]}`;
  const values = (i: number) => Array.from(ds.features.subarray(i * d, (i + 1) * d));
  const base = {
    detector: 'iforest' as const,
    contamination: o.contamination,
    featureNames: ds.featureNames.slice(),
    transactions: n,
  };
  if (n < 2) {
    const rows = Array.from({ length: n }, (_, i) => ({
      account: idOf(i),
      features: values(i),
      score: NaN,
      flagged: false,
      reasons: [],
      explanation: '',
    }));
    const notes = [
      `only ${n} transaction: an anomaly score compares a transaction with the others, so nothing was scored`,
    ];
    return {
      report: { ...base, rows, threshold: NaN, flagged: 0, notes },
      lines,
      layout: loaded.layout,
      notices: loaded.notices,
    };
  }
  // Isolation Forest splits are invariant to per-feature scaling: the raw values go in.
  const x: Matrix = { data: ds.features, rows: n, cols: d };
  const forest = IsolationForest.fit(x, createRng(o.seed));
  const scores = forest.scoreSamples(x);
  for (let i = 0; i < n; i++) scores[i] = -scores[i]!;
  const attribution = forest.attribution(x);
  const stats = robustStats(x);
  const threshold = contaminationThreshold(scores, o.contamination);
  let flagged = 0;
  const rows: AccountReportRow[] = [];
  for (let i = 0; i < n; i++) {
    const isFlagged = scores[i]! > threshold;
    if (isFlagged) flagged++;
    const v = values(i);
    const reasons = topReasons({
      names: ds.featureNames,
      values: v,
      stats,
      attribution: attribution.subarray(i * d, (i + 1) * d),
      top: o.reasons,
    });
    rows.push({
      account: idOf(i),
      features: v,
      score: scores[i]!,
      flagged: isFlagged,
      reasons,
      explanation: describeReasons(reasons),
    });
  }
  const notes: string[] = [];
  if (n < 256) notes.push(`only ${n} transactions: each is compared with very few others; read the scores with care`);
  if (flagged === 0) notes.push(`no transaction flagged: contamination ${o.contamination} of ${n} is below one`);
  return {
    report: { ...base, rows, threshold, flagged, notes },
    lines,
    layout: loaded.layout,
    notices: loaded.notices,
  };
}
