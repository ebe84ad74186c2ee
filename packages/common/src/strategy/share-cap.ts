/**
 * Capping any one bank's share of the FedAvg weight (water-filling). Without a cap a
 * bank holding most of the federation's data would dominate the global model, and a
 * bank could inflate its influence by claiming a huge example count.
 */

/**
 * The per-bank weight cap c such that, with effective weights e_i = min(n_i, c), no
 * bank's share e_i / Σe exceeds `maxShare`, lowering as few weights as possible:
 * c solves c = maxShare × Σ min(n_k, c) over the capped banks (classic water-filling).
 *
 * Returns Infinity when no cap is needed. When maxShare < 1/k the cap cannot be met
 * (k banks cannot all stay below 1/k); the result is then min(n), i.e. equal weights,
 * the closest achievable split. Counts below 1 are treated as 1 so that a bank that
 * announced no data cannot make the cap 0.
 */
export function shareCap(counts: readonly number[], maxShare: number): number {
  if (!(maxShare > 0 && maxShare <= 1)) throw new Error(`maxShare must be in (0, 1], got ${maxShare}`);
  for (const n of counts) if (!Number.isFinite(n)) throw new Error(`example counts must be finite, got ${n}`);
  const k = counts.length;
  if (k === 0 || maxShare === 1) return Infinity;
  const n = counts.map((x) => Math.max(1, x)).sort((a, b) => b - a); // descending
  const total = n.reduce((s, x) => s + x, 0);
  if (n[0]! <= maxShare * total) return Infinity;
  if (maxShare * k < 1 + 1e-12) return n[k - 1]!;
  // Cap the r largest banks; the rest keep their counts. Grow r until the cap implied by
  // the r capped banks no longer sits below the next-largest uncapped count.
  let rest = total;
  for (let r = 1; r < k; r++) {
    rest -= n[r - 1]!;
    const c = (maxShare * rest) / (1 - maxShare * r);
    if (c >= n[r]!) return c;
  }
  // Unreachable when maxShare·k ≥ 1 (the smallest bank is never capped), kept for safety.
  return n[k - 1]!;
}
