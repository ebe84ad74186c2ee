/**
 * The account anomaly report as the bank runs it, shared by `finsecure-bank accounts` and
 * the console's Accounts page so that both give the same report for the same file and
 * settings: the settings (validated with zod, defaults in one place), the run (read the
 * file, score every account: @finsecure/common/accounts), and re-flagging at another
 * threshold (the console's threshold control) without scoring again.
 */
import { z } from 'zod';
import {
  ACCOUNT_LAYOUTS,
  buildAccountReport,
  readAccountTable,
  type AccountLayoutName,
  type AccountReport,
} from '@finsecure/common/accounts';
import { contaminationThreshold } from '@finsecure/common/anomaly';

/** The most LOF neighbours a report may ask for. */
export const MAX_NEIGHBORS = 100;

/** Report settings (flags, FINSECURE_ACCOUNTS_* env, config file, console query), with defaults. */
export const AccountReportSettings = z.object({
  layout: z.enum(['auto', ...ACCOUNT_LAYOUTS] as ['auto', ...AccountLayoutName[]]).default('auto'),
  detector: z.enum(['iforest', 'lof']).default('iforest'),
  contamination: z.number().gt(0, 'must be > 0').lte(0.5, 'must be ≤ 0.5').default(0.01),
  seed: z.number().int().min(0).default(1),
  // LOF's memory is accounts × k and its time accounts² × k: beyond 100 neighbours the local
  // density is no longer local, and an unbounded k let one request hold the console for minutes.
  neighbors: z.number().int().min(1).max(MAX_NEIGHBORS).default(20),
  reasons: z.number().int().min(1).max(20).default(3),
});
export type AccountReportSettings = z.infer<typeof AccountReportSettings>;

export interface AccountReportRun {
  report: AccountReport;
  layout: AccountLayoutName;
  seconds: number;
}

/**
 * Reads `file` and builds its report. Throws DataError (file, line, column) for bad input,
 * RangeError for a bad setting. `clock` (ms) only times the run.
 */
export async function runAccountReport(
  file: string,
  s: AccountReportSettings,
  clock: () => number = () => performance.now(),
): Promise<AccountReportRun> {
  const started = clock();
  const table = await readAccountTable(file, { layout: s.layout });
  const report = buildAccountReport(table, {
    detector: s.detector,
    contamination: s.contamination,
    seed: s.seed,
    numNeighbors: s.neighbors,
    topReasons: s.reasons,
  });
  return { report, layout: table.layout, seconds: (clock() - started) / 1000 };
}

/** One summary line per fact, as the command prints it and the console shows it. */
export function reportSummary(run: AccountReportRun, s: AccountReportSettings): string[] {
  const { report } = run;
  const n = report.rows.length;
  return [
    `accounts: ${n} (${report.transactions} transactions, ${run.layout} layout)`,
    `detector: ${s.detector === 'iforest' ? 'Isolation Forest' : `LOF, k = ${Math.min(s.neighbors, Math.max(1, n - 1))}`}, contamination ${report.contamination}`,
    `threshold: anomaly score > ${Number.isNaN(report.threshold) ? 'none (nothing scored)' : report.threshold.toFixed(4)}`,
    `flagged: ${report.flagged} of ${n} accounts`,
    ...report.notes.map((note) => `note: ${note}`),
  ];
}

/** A threshold chosen by expected contamination (share of accounts) or by a score cut-off. */
export type ReportCut = { contamination: number } | { cutoff: number };

const NOTHING_FLAGGED = /^no (account|transaction) flagged/;

/**
 * The same report flagged at another cut: rows with score > cut are flagged. Scores and
 * reasons are unchanged (reasons are computed for every account). A report with no scores
 * (one account only) is returned as it is.
 */
export function reflagReport(report: AccountReport, cut: ReportCut): AccountReport {
  const scored = report.rows.filter((r) => !Number.isNaN(r.score));
  if (scored.length === 0) return report;
  let threshold: number;
  let contamination = report.contamination;
  if ('cutoff' in cut) {
    if (!Number.isFinite(cut.cutoff)) throw new RangeError(`score cut-off must be a finite number, got ${cut.cutoff}`);
    threshold = cut.cutoff;
  } else {
    contamination = cut.contamination;
    threshold = contaminationThreshold(
      scored.map((r) => r.score),
      contamination,
    );
  }
  let flagged = 0;
  const rows = report.rows.map((r) => {
    const f = r.score > threshold;
    if (f) flagged++;
    return f === r.flagged ? r : { ...r, flagged: f };
  });
  const notes = report.notes.filter((n) => !NOTHING_FLAGGED.test(n));
  if (flagged === 0) {
    notes.push(
      'cutoff' in cut
        ? `no account flagged: no score is above the cut-off ${cut.cutoff}`
        : `no account flagged: contamination ${contamination} of ${rows.length} accounts is below one, or scores tie at the cut`,
    );
  }
  return { ...report, contamination, threshold, rows, flagged, notes };
}
