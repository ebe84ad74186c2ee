/**
 * The bank's anomaly scores for consortium calibration (issue 18 item 4), and their summable
 * histogram. Per account where the transaction file has an account column (the account
 * report's IsolationForest, common/accounts), else per transaction (IsolationForest on the
 * training features, as for banks with no labels at all). Only the histogram counts leave
 * the bank: no row, no score.
 *
 * Bins: the "sigmoid+logit" layout of the federated score histograms (common/metrics/
 * layout.ts) applied to logit(s), s ∈ (0, 1] the IsolationForest anomaly score
 * 2^(−E[h]/c(ψ)) (Liu et al. 2008). The layout is fine where scores are uncertain (s ≈ 0.5,
 * where IsolationForest scores live) and every bank bins identically, so counts add up.
 */
import { buildAccountReport, readAccountTable } from '@finsecure/common/accounts';
import { IsolationForest, type Matrix } from '@finsecure/common/anomaly';
import { binIndexOfLogit, logit } from '@finsecure/common/metrics';
import { createRng } from '@finsecure/common/rng';

export interface BankScores {
  scores: Float64Array;
  source: 'accounts' | 'transactions';
}

/**
 * Account scores from `file` when it has an account column; otherwise IsolationForest scores
 * of `transactions` (fitted on them, seeded). Throws when neither gives two scores.
 */
export async function bankAnomalyScores(file: string, transactions: () => Matrix, seed = 1): Promise<BankScores> {
  let accountProblem: string;
  try {
    const report = buildAccountReport(await readAccountTable(file), { seed });
    const scores = Float64Array.from(report.rows.map((r) => r.score).filter((s) => Number.isFinite(s)));
    if (scores.length >= 2) return { scores, source: 'accounts' };
    accountProblem = report.notes.join(' ') || 'fewer than two accounts were scored';
  } catch (err) {
    accountProblem = (err as Error).message;
  }
  const x = transactions();
  if (x.rows < 2) throw new Error(`no account scores (${accountProblem}) and fewer than two transactions to score`);
  const forest = IsolationForest.fit(x, createRng(seed));
  const raw = forest.scoreSamples(x);
  return { scores: Float64Array.from(raw, (v) => -v), source: 'transactions' };
}

/** Counts per bin of logit(score) in the sigmoid+logit layout with `bins` bins. */
export function scoreHistogram(scores: ArrayLike<number>, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) counts[binIndexOfLogit(logit(scores[i]!), bins)]! += 1;
  return counts;
}
