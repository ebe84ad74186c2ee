/**
 * Pure helpers of the per-bank trust view: chart rows (oldest round first) from a bank's
 * history (GET /api/banks/:id), and the one-line reason the view leads with.
 */

/**
 * The parts of GET /api/banks/:id these helpers read (BankDetailView in common/api, which fits
 * them). Declared here so the helpers import nothing and are tested as they are.
 */
interface ReputationLike {
  norm?: number;
  distance?: number;
  cosine?: number;
  excluded?: string;
  outlier?: string;
}
export interface HistoryLike {
  roundId: number;
  weight: number | null;
  reputation: ReputationLike | null;
}
interface QuarantineLike {
  quarantined: boolean;
  streak: number;
  sinceRound: number | null;
}

export interface TrustRow {
  round: number;
  norm: number | null;
  distance: number | null;
  cosine: number | null;
  /** Why this round's update stood out, if it did. */
  outlier: string | null;
  excluded: boolean;
}

/** Rows for the chart: rounds with a reputation entry, oldest first. */
export function trustRows(history: readonly HistoryLike[]): TrustRow[] {
  return history
    .filter((h) => h.reputation !== null)
    .map((h) => ({
      round: h.roundId,
      norm: h.reputation!.norm ?? null,
      distance: h.reputation!.distance ?? null,
      cosine: h.reputation!.cosine ?? null,
      outlier: h.reputation!.outlier ?? null,
      excluded: h.reputation!.excluded !== undefined || h.weight === 0,
    }))
    .sort((a, b) => a.round - b.round);
}

/** The one line at the top of the view: quarantine first, then the latest outlier, else all clear. */
export function trustSummary(detail: { quarantine: QuarantineLike; history: readonly HistoryLike[] }): {
  tone: 'ok' | 'warn' | 'error';
  text: string;
} {
  const q = detail.quarantine;
  const rows = trustRows(detail.history);
  const latest = [...rows].reverse().find((r) => r.outlier !== null);
  if (q.quarantined)
    return {
      tone: 'error',
      text: `Quarantined since round ${q.sinceRound}: excluded in ${q.streak} consecutive rounds${latest ? ` (last: ${latest.outlier})` : ''}.`,
    };
  if (rows.length === 0) return { tone: 'ok', text: 'No update of this bank has been compared with an aggregate yet.' };
  if (!latest) return { tone: 'ok', text: `No outlier in its last ${rows.length} round(s).` };
  const count = rows.filter((r) => r.outlier !== null).length;
  return {
    tone: latest.excluded ? 'error' : 'warn',
    text: `Round ${latest.round}: ${latest.outlier} (${count} of its last ${rows.length} round(s) stood out).`,
  };
}
