/**
 * A bank's FedAvg weight, bounded by something it cannot inflate at will. FedAvg weights
 * each update by the bank's example count, and the count is the bank's own claim:
 * `numExamples: 9e15` in a hello and its updates gave one bank weight 1.0 and every
 * honest bank 0.0 (issue 12, A2; AUPRC 0.819 → 0.012).
 *
 * The weight is min(claimed, cap), the cap from, in order:
 * 1. the count an admin fixed when registering the bank (trusted: no other bound);
 * 2. otherwise the consortium: at most `maxExampleRatio` (default 10) × the median of the
 *    OTHER banks' declared counts — a median, so the liar's own claim cannot raise it and
 *    one other liar cannot either once there are three others;
 * and never more than the bank declared in its hello (an update may not claim more rows
 * than the bank said it trains on).
 * Then `boundRoundWeights` caps every unregistered bank's share of the round's total at
 * `maxShare` (water-filling as in strategy/share-cap.ts, with registered banks' weights fixed).
 *
 * Why a share cap on top of the ratio: with few banks the ratio alone still lets one
 * bank dominate (3 equal banks, ratio 10: 10 / 12 = 83 % of the weight). With maxShare
 * 0.5 no single unregistered bank can outweigh all the others together.
 */
import { median, MedianOfOthers } from './robust.js';

/** Default ratio between a bank's count and the median of the others' (see the module comment). */
export const DEFAULT_MAX_EXAMPLE_RATIO = 10;
/**
 * Default cap on an unregistered bank's share of a round's FedAvg weight: 1 (none). With the
 * default step-normalised FedAvg, capping the weight of a large bank while its delta is divided
 * by its (smaller, capped) step count over-amplifies the smallest banks (measured, see
 * bench/RESULTS.md "Choosing the defaults" and the maxShare rule); the consortium ratio bound
 * above is what stops a bank from inflating its count. 0.5 suits plain FedAvg.
 */
export const DEFAULT_WEIGHT_MAX_SHARE = 1;

export interface WeightBoundInput {
  bankId: string;
  /** Examples the bank claims now (an update's numExamples, or the hello's for selection). */
  claimed: number;
  /** Training examples the bank declared in its hello. */
  declared: number;
  /** Examples an admin fixed at registration, if any. */
  registered?: number;
}

export interface WeightBoundPolicy {
  /** Cap on claimed / median(others' declared counts) for unregistered banks. Default 10. */
  maxExampleRatio?: number;
}

export interface WeightBound {
  /** The example count to weight the bank by (≤ claimed). */
  weight: number;
  /** Whether the claim was lowered. */
  clamped: boolean;
  /** Why it was lowered (naming the bank, the claim and the bound), or null. */
  reason: string | null;
  /** Which bound applied: none, the registered count, the hello's count, the consortium ratio, or the share cap. */
  bound: 'none' | 'registered' | 'hello' | 'consortium' | 'share';
}

function checkCount(what: string, bankId: string, n: number): void {
  if (!(Number.isFinite(n) && n >= 0))
    throw new RangeError(`bank ${bankId}: ${what} ${n} is not a non-negative number`);
}

/**
 * One bank's weight bound. `othersDeclared`: the hello counts of the other banks in the
 * consortium (connected or selected; the bank itself excluded). With no other bank there
 * is no consortium bound. Units: examples (rows before oversampling). Throws RangeError
 * on a negative or non-finite count or ratio ≤ 0 (programming errors: the wire schema
 * already requires non-negative integers).
 */
export function weightBound(
  input: WeightBoundInput,
  /** The other banks' declared counts, or their median already computed. */
  othersDeclared: readonly number[] | { median: number; count: number },
  policy: WeightBoundPolicy = {},
): WeightBound {
  const { bankId, claimed, declared, registered } = input;
  const ratio = policy.maxExampleRatio ?? DEFAULT_MAX_EXAMPLE_RATIO;
  if (!(ratio > 0)) throw new RangeError(`maxExampleRatio must be > 0, got ${ratio}`);
  checkCount('claimed count', bankId, claimed);
  checkCount('declared count', bankId, declared);
  const lower = (weight: number, bound: WeightBound['bound'], why: string): WeightBound => ({
    weight,
    clamped: true,
    bound,
    reason: `bank ${bankId}: claimed ${claimed} examples, weighted as ${weight} (${why})`,
  });
  if (registered !== undefined) {
    checkCount('registered count', bankId, registered);
    if (claimed > registered) return lower(registered, 'registered', `an admin registered ${registered}`);
    return { weight: claimed, clamped: false, reason: null, bound: 'none' };
  }
  if (claimed > declared) return lower(declared, 'hello', `its hello declared ${declared}`);
  const list = Array.isArray(othersDeclared) ? (othersDeclared as readonly number[]) : null;
  if (list) for (const n of list) checkCount("another bank's declared count", bankId, n);
  const others = list ? list.length : (othersDeclared as { count: number }).count;
  if (others > 0) {
    const m = list ? median(list) : (othersDeclared as { median: number }).median;
    const cap = Math.max(1, Math.floor(ratio * m));
    if (claimed > cap)
      return lower(cap, 'consortium', `at most ${ratio} × the median ${m} of the other ${others} banks' counts`);
  }
  return { weight: claimed, clamped: false, reason: null, bound: 'none' };
}

/**
 * The weights of every bank of a round: `weightBound` for each (the others' declared
 * counts are those of the other entries), then the share cap `maxShare` in (0, 1]
 * (default DEFAULT_WEIGHT_MAX_SHARE; 1 = none) over the unregistered banks, computed on
 * the bounded weights. Registered banks are exempt from the share cap (an admin vouched
 * for their counts) but count in the total. Capped weights are integers ≥ 1 (FedAvg's
 * `numExamples` must be). Returns one WeightBound per input, same order.
 */
export function boundRoundWeights(
  banks: readonly WeightBoundInput[],
  policy: WeightBoundPolicy & { maxShare?: number } = {},
): WeightBound[] {
  const maxShare = policy.maxShare ?? DEFAULT_WEIGHT_MAX_SHARE;
  // The others' median for every bank from one sort (O(n log n), not a filter and sort per bank).
  const declared = new MedianOfOthers(banks.map((b) => b.declared));
  const bounded = banks.map((b) => {
    const m = declared.of(b.declared);
    return weightBound(b, m === null ? [] : { median: m, count: banks.length - 1 }, policy);
  });
  const openList = banks.map((b, i) => (b.registered === undefined ? i : -1)).filter((i) => i >= 0);
  const open = new Set(openList);
  if (open.size === 0 || maxShare >= 1) return bounded;
  const fixed = bounded.reduce((s, w, i) => (open.has(i) ? s : s + w.weight), 0);
  const cap = shareCapWithFixed(
    openList.map((i) => bounded[i]!.weight),
    fixed,
    maxShare,
  );
  return bounded.map((w, i) => {
    if (!open.has(i) || w.weight <= cap) return w;
    // FedAvg takes integer example counts ≥ 1.
    const weight = Math.max(1, Math.floor(cap));
    return {
      weight,
      clamped: true,
      bound: 'share',
      reason: `bank ${banks[i]!.bankId}: claimed ${banks[i]!.claimed} examples, weighted as ${weight} (at most ${maxShare} of the round's total weight)`,
    };
  });
}

/**
 * Water-filling with some weights fixed: the cap c on the `open` weights such that
 * min(n_i, c) / (fixed + Σ min(n_k, c)) ≤ maxShare for every open bank, lowering only the
 * largest. Infinity when no cap is needed; when it cannot be met (too few banks for the
 * share), the smallest open weight, i.e. equal weights, as `shareCap` does.
 */
function shareCapWithFixed(open: readonly number[], fixed: number, maxShare: number): number {
  if (!(maxShare > 0 && maxShare <= 1)) throw new RangeError(`maxShare must be in (0, 1], got ${maxShare}`);
  const n = [...open].sort((a, b) => b - a);
  const total = fixed + n.reduce((s, x) => s + x, 0);
  if (n.length === 0 || n[0]! <= maxShare * total) return Infinity;
  let rest = total;
  for (let r = 1; r <= n.length; r++) {
    rest -= n[r - 1]!;
    const denom = 1 - maxShare * r;
    if (denom <= 1e-12) break;
    const c = (maxShare * rest) / denom;
    if (r === n.length || c >= n[r]!) return c;
  }
  return n[n.length - 1]!;
}
