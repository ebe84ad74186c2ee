/**
 * Account reports kept in memory, per person, for the console's Accounts page.
 *
 * Why not the console SQLite file: a report is wholly derived from a file the analyst
 * still holds and is rebuilt in seconds, while it lists every account's behaviour (ids,
 * amounts) — the kind of plaintext issue 17 item 7 keeps off the disk. Held in the daemon's
 * memory it never touches the disk, and it goes with the process. Bounded: a person keeps
 * their last PER_PERSON reports, the console its last TOTAL (oldest dropped first).
 */
import { randomBytes } from 'node:crypto';
import type { AccountReport } from '@finsecure/common/accounts';
import type { AccountReportSettings } from '../../account-report.js';

export type ReportKind = 'accounts' | 'transactions';

export interface StoredReport {
  id: string;
  kind: ReportKind;
  owner: string;
  file: string;
  createdAt: number;
  /** The layout the file was read in (account layout, or the bank's scoring layout). */
  layout: string;
  settings: AccountReportSettings;
  /** As built, at the upload's contamination; the threshold control re-flags a copy. */
  report: AccountReport;
  seconds: number;
  /** File line of each row (transaction-level reports), for the CSV. */
  lines?: Int32Array;
}

export const PER_PERSON = 5;
export const TOTAL = 40;

export class ReportStore {
  private readonly reports = new Map<string, StoredReport>();

  constructor(
    private readonly perPerson = PER_PERSON,
    private readonly total = TOTAL,
  ) {}

  /** Stores a report and returns its id (unguessable: 96 random bits). */
  add(r: Omit<StoredReport, 'id'>): StoredReport {
    const stored = { ...r, id: randomBytes(12).toString('base64url') };
    this.reports.set(stored.id, stored);
    const mine = [...this.reports.values()].filter((x) => x.owner === r.owner);
    for (const old of mine.slice(0, Math.max(0, mine.length - this.perPerson))) this.reports.delete(old.id);
    // Map iteration is insertion order: the first ones are the oldest.
    for (const old of [...this.reports.keys()].slice(0, Math.max(0, this.reports.size - this.total)))
      this.reports.delete(old);
    return stored;
  }

  /** The report if it exists and belongs to `owner` (someone else's report is "not found"). */
  get(id: string, owner: string): StoredReport | undefined {
    const r = this.reports.get(id);
    return r && r.owner === owner ? r : undefined;
  }

  list(owner: string): StoredReport[] {
    return [...this.reports.values()].filter((r) => r.owner === owner).reverse();
  }
}
