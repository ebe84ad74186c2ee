/**
 * The dashboard's data and how live events change it: pure, so that the order problems of a
 * REST snapshot racing the live stream can be tested without a browser.
 */
import type {
  AuditEntryView,
  AuditVerifyView,
  BankView,
  HealthView,
  LiveEvent,
  ModelInfo,
  PrivacyView,
  RoundRecord,
  SettingsView,
  StatusView,
} from './types';

export const ROUND_HISTORY = 500;
export const AUDIT_TAIL = 200;

export interface DashboardData {
  health: HealthView | null;
  status: StatusView | null;
  settings: SettingsView | null;
  banks: BankView[];
  /** Oldest first. */
  rounds: RoundRecord[];
  privacy: PrivacyView | null;
  model: ModelInfo | null;
  audit: AuditEntryView[];
  /** Result of the latest hash-chain check, with when it was made. */
  auditVerify: (AuditVerifyView & { checkedAt: number }) | null;
}

export const EMPTY: DashboardData = {
  health: null,
  status: null,
  settings: null,
  banks: [],
  rounds: [],
  privacy: null,
  model: null,
  audit: [],
  auditVerify: null,
};

function upsertRound(rounds: RoundRecord[], round: RoundRecord): RoundRecord[] {
  const i = rounds.findIndex((r) => r.id === round.id);
  if (i >= 0) {
    const next = rounds.slice();
    next[i] = round;
    return next;
  }
  const next = [...rounds, round].sort((a, b) => a.id - b.id);
  return next.length > ROUND_HISTORY ? next.slice(next.length - ROUND_HISTORY) : next;
}

function upsertBank(banks: BankView[], bank: BankView): BankView[] {
  const i = banks.findIndex((b) => b.id === bank.id);
  if (i < 0) return [...banks, bank].sort((a, b) => a.id.localeCompare(b.id));
  const next = banks.slice();
  next[i] = bank;
  return next;
}

/** `data` after one live event (events of other types leave it as it is). */
export function applyLiveEvent(data: DashboardData, event: LiveEvent): DashboardData {
  switch (event.type) {
    case 'status':
      return { ...data, status: event.status };
    case 'round':
      return { ...data, rounds: upsertRound(data.rounds, event.round) };
    case 'bank':
      return { ...data, banks: upsertBank(data.banks, event.bank) };
    case 'audit': {
      if (data.audit.some((e) => e.seq === event.entry.seq)) return data;
      const audit = [...data.audit, event.entry];
      return { ...data, audit: audit.length > AUDIT_TAIL ? audit.slice(audit.length - AUDIT_TAIL) : audit };
    }
    default:
      return data;
  }
}

/**
 * A REST snapshot, then every live event received since its requests went out, in order.
 *
 * Why: the snapshot's requests and the live stream are separate connections. An event that
 * arrives while the snapshot loads is newer than what some of its responses say (a round that
 * committed after `/api/rounds` answered); laying the snapshot over it would lose it until the
 * next reload. Replaying the events over the snapshot converges on the aggregator's state,
 * because every event emitted after the snapshot was taken arrives after its requests went out.
 */
export function snapshotWithEvents(snapshot: DashboardData, since: readonly LiveEvent[]): DashboardData {
  return since.reduce(applyLiveEvent, snapshot);
}
