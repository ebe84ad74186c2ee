/** Shapes of the Accounts API (packages/bank-client/src/console/accounts/view.ts). */

export interface AccountReason {
  feature: string;
  value: number;
  median: number;
  z: number | null;
  share: number | null;
  /** The reason in words. */
  text: string;
}

export interface AccountRow {
  id: string;
  /** File line (transaction reports). */
  line: number | null;
  features: number[];
  score: number | null;
  flagged: boolean;
  reasons: AccountReason[];
  explanation: string;
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
  flagged: number;
}

export interface AccountReportView {
  id: string;
  kind: 'accounts' | 'transactions';
  file: string;
  createdAt: string;
  layout: string;
  detector: 'iforest' | 'lof';
  seconds: number;
  featureNames: string[];
  featureLabels: string[];
  contamination: number;
  threshold: number | null;
  rowsTotal: number;
  flagged: number;
  transactions: number;
  notes: string[];
  histogram: HistogramBin[];
  matching: number;
  offset: number;
  rows: AccountRow[];
  notices?: string[];
}

/** The threshold control: expected contamination (share of rows) or a score cut-off. */
export type Cut = { kind: 'contamination'; value: number } | { kind: 'cutoff'; value: number };

export function cutQuery(cut: Cut | null): string {
  return cut ? `${cut.kind}=${encodeURIComponent(String(cut.value))}` : '';
}
