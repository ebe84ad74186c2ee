/**
 * Reputation: how each bank's update compared with the round's aggregate, stored with the round
 * (RoundRecord.banks[bankId].reputation), so a bank's history is its entries over the stored
 * rounds and no other table is needed. Pure: built from the strategy's outcome alone.
 *
 * The numbers come from the strategy's per-bank diagnostics (common/strategy: the Krum/Bulyan
 * score, exclusions and clipping, and norm / distance / cosine to the aggregate step from
 * statistics.ts). On top of them each entry gets a one-line `outlier` reason when the update
 * stands out among the round's: excluded, clipped, or its norm or cosine a robust outlier by the
 * modified z-score 0.6745 (x − median) / MAD > 3.5 (Iglewicz & Hoaglin, "How to Detect and Handle
 * Outliers", 1993), or pointing against the aggregate (cosine < 0).
 */
import type { BankReputation, BankRoundStats } from '@finsecure/common/api';
import type { AggregationOutcome, BankDiagnostic } from '@finsecure/common/strategy';

/** Modified z-score above which a norm or cosine is an outlier (Iglewicz & Hoaglin 1993). */
export const OUTLIER_Z = 3.5;
/** Fewest banks in a round before norms and cosines are compared with each other. */
export const MIN_BANKS_FOR_OUTLIERS = 3;

function finite(x: number | undefined): number | undefined {
  return x !== undefined && Number.isFinite(x) ? x : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Modified z-scores of `xs` (same order); null when fewer than MIN_BANKS_FOR_OUTLIERS values.
 * With MAD = 0 (most values equal) a value off the median scores ±Infinity, the median 0.
 */
export function modifiedZ(xs: number[]): number[] | null {
  if (xs.length < MIN_BANKS_FOR_OUTLIERS) return null;
  const med = median(xs);
  const mad = median(xs.map((x) => Math.abs(x - med)));
  return xs.map((x) => (x === med ? 0 : mad === 0 ? Math.sign(x - med) * Infinity : (0.6745 * (x - med)) / mad));
}

function clipReason(strategy: string, d: BankDiagnostic): string {
  const scale = d.clipScale!.toPrecision(3);
  // Centered clipping reports the distance it clipped; the adaptive norm bound the norm.
  if (strategy === 'centered-clipping' && d.distance !== undefined)
    return `scaled by ${scale}: its distance ${d.distance.toPrecision(4)} to the previous aggregate exceeds the clipping radius`;
  return `scaled by ${scale}: its norm exceeds the adaptive norm bound (k × the round's median norm)`;
}

/**
 * Per-bank reputation entries of one round from the strategy's outcome.
 *
 * @param outcome `bankWeights` (every bank whose update the strategy received) and `diagnostics`
 *   (absent for a strategy that gives none: the entries then hold only what the weights say).
 * @param strategy the strategy's name (for the wording of the reasons).
 * @returns bankId → entry, for every bank in `bankWeights`; only finite numbers are kept.
 */
export function reputationOf(
  outcome: Pick<AggregationOutcome, 'bankWeights' | 'diagnostics'>,
  strategy: string,
): Record<string, BankReputation> {
  const ids = Object.keys(outcome.bankWeights).sort();
  const diag = outcome.diagnostics ?? {};
  const out: Record<string, BankReputation> = {};
  for (const id of ids) {
    const d = diag[id] ?? {};
    const r: BankReputation = {};
    const norm = finite(d.norm);
    const distance = finite(d.aggregateDistance);
    const cosine = finite(d.cosine);
    const score = finite(d.score);
    if (norm !== undefined) r.norm = norm;
    if (distance !== undefined) r.distance = distance;
    if (cosine !== undefined) r.cosine = cosine;
    if (score !== undefined) r.score = score;
    if (d.excluded !== undefined) r.excluded = d.excluded;
    else if (outcome.bankWeights[id] === 0) r.excluded = `${strategy} gave this update weight 0`;
    if (d.clipScale !== undefined && Number.isFinite(d.clipScale)) {
      r.clipScale = d.clipScale;
      r.clipped = clipReason(strategy, d);
    }
    out[id] = r;
  }
  markOutliers(ids, out);
  return out;
}

/** Sets `outlier` (one line) on the entries that stand out; the first reason found wins. */
function markOutliers(ids: string[], rep: Record<string, BankReputation>): void {
  const withNorm = ids.filter((id) => rep[id]!.norm !== undefined);
  const normZ = modifiedZ(withNorm.map((id) => rep[id]!.norm!));
  const withCos = ids.filter((id) => rep[id]!.cosine !== undefined);
  const cosZ = modifiedZ(withCos.map((id) => rep[id]!.cosine!));
  const medNorm = withNorm.length ? median(withNorm.map((id) => rep[id]!.norm!)) : NaN;
  // Each bank's z-scores by id: an indexOf per bank made this O(n²) (0.3 s a round at 10,000 banks).
  const zNorm = new Map(withNorm.map((id, i) => [id, normZ?.[i]]));
  const zCos = new Map(withCos.map((id, i) => [id, cosZ?.[i]]));
  for (const id of ids) {
    const r = rep[id]!;
    const zn = zNorm.get(id);
    const zc = zCos.get(id);
    if (r.excluded) r.outlier = `excluded: ${r.excluded}`;
    else if (r.clipped) r.outlier = `clipped: ${r.clipped}`;
    else if (zn !== undefined && zn > OUTLIER_Z)
      r.outlier = `update norm ${r.norm!.toPrecision(3)} is ${(r.norm! / medNorm).toPrecision(3)} × the round's median ${medNorm.toPrecision(3)}`;
    else if (r.cosine !== undefined && r.cosine < 0)
      r.outlier = `points against the aggregate (cosine ${r.cosine.toFixed(2)})`;
    else if (zc !== undefined && zc < -OUTLIER_Z)
      r.outlier = `direction far from the other banks' (cosine ${r.cosine!.toFixed(2)} to the aggregate)`;
  }
}

/**
 * Stores the round's reputation entries in its record (`banks[bankId].reputation`, creating
 * an entry for a bank the record lacks) and returns the exclusions, for one `update.excluded`
 * audit entry each. Mutates `banks` only.
 */
export function recordReputation(
  banks: Record<string, BankRoundStats>,
  outcome: Pick<AggregationOutcome, 'bankWeights' | 'diagnostics'>,
  strategy: string,
): { bankId: string; reason: string }[] {
  const rep = reputationOf(outcome, strategy);
  const excluded: { bankId: string; reason: string }[] = [];
  for (const [bankId, r] of Object.entries(rep)) {
    banks[bankId] = { ...(banks[bankId] ?? { bytesUp: 0, bytesDown: 0 }), reputation: r };
    if (r.excluded) excluded.push({ bankId, reason: r.excluded });
  }
  return excluded;
}
