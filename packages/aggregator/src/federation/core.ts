/**
 * What the federation's modules share: the options it was built with, the banks connected now,
 * the global model, the settings in force and the round in flight. Each module (bank desk,
 * stages, commit, admin, views) is a set of functions over this one object, so no module owns
 * another's state and the facade (federation.ts) only wires them together.
 *
 * Everything here is touched only from the federation's serial queue (see federation.ts).
 */
import type { RoundRecord, TrainingState } from '@finsecure/common/api';
import type { Scaler, TrainingConfig } from '@finsecure/common/protocol';
import type { Rng } from '@finsecure/common/rng';
import type { MlpSpec } from '@finsecure/common/model';
import type { Aggregation, EvaluationReport, Strategy, UpdateCopyArena } from '@finsecure/common/strategy';
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type * as machine from '../round/machine.js';
import type { Store } from '../store/types.js';
import type { Clock } from './clock.js';
import type { BankHealth } from './health.js';
import type { PrivacyLedger } from './privacy.js';
import type { BankSessions } from './sessions.js';
import type { FederationSettings } from './settings.js';
import type { IdentityKeys } from './secagg/identities.js';
import type { QuarantineLedger } from '../reputation/index.js';
import type { AuditCoalescer, AuditEvent, CoalescedEntry } from '../trust/audit-coalescer.js';
import type { FrameRateLimiter, FrameRateLimits } from '../trust/rate-limit.js';
import type { SecureRound } from './secagg/secure-round.js';
import type { SecureEvaluation } from './secagg/secure-evaluation.js';

export interface FederationOptions {
  store: Store;
  /** Builds the aggregation strategy from the settings in force (rebuilt when they change). */
  makeStrategy: (settings: FederationSettings) => Strategy;
  spec: MlpSpec;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  seed: number;
  settings: FederationSettings;
  maxFrameBytes: number;
  /** Bytes queued for a bank that does not read before it is cut; default sendQueueLimitBytes (session.ts). */
  maxQueuedBytesPerBank?: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Observers for Prometheus metrics; optional so tests need not care. */
  observer?: FederationObserver;
  /** Per-bank frame rate limits (defaults: trust/rate-limit.ts DEFAULT_FRAME_RATE_LIMITS). */
  frameRateLimits?: Partial<FrameRateLimits>;
}

export interface FederationObserver {
  roundFinished?(round: RoundRecord): void;
  updateRejected?(reason: string): void;
  bytes?(direction: 'up' | 'down', n: number): void;
  aggregationMs?(ms: number): void;
}

/** An admin command that cannot be carried out in the current state (the API answers 409). */
export class ControlRefused extends Error {}
/**
 * An admin change the store did not take (Store.setSettingsAudited failed): nothing of it is in
 * force. The admin is answered 500; like a refusal, it is not a failure of the round in flight.
 */
export class ChangeNotStored extends Error {}
/** The thing an admin command names does not exist (the API answers 404). */
export class NotFound extends Error {}

/** The round in flight: its workflow state, its stored record and what passes between its stages. */
export interface ActiveRound {
  state: machine.RoundState;
  record: RoundRecord;
  config: TrainingConfig;
  /** The strategy's running aggregation (fedavg workflow); null in a secure round. */
  aggregation: Aggregation | null;
  /** Each selected bank's bounded FedAvg weight (examples), fixed at selection (trust/weight-bound.ts). */
  weightCaps: Map<string, number>;
  /** The secagg workflow's state; null in a plain round. */
  secure: SecureRound | null;
  /** The secagg workflow's evaluation pass, from its first stage on; null otherwise. */
  secureEvaluation: SecureEvaluation | null;
  /** The aggregated model, from the end of the fit stage to the commit. */
  candidate: Float32Array | null;
  reports: EvaluationReport[];
  /** Phase of the last persisted copy of the record. */
  savedPhase: machine.RoundPhase | null;
  /** Evaluation settings fixed when the round started (a config change mid-round must not break it). */
  evaluation: { threshold: number; bins: number };
  /** The strategy the round started with: a config change mid-round applies from the next round. */
  strategy: Strategy;
}

/** Per bank, across rounds: shown in /api/banks and on the dashboard. */
export interface BankStats {
  rounds: number;
  lastUpdateBytes: number | null;
  rejections: { roundId: number; reason: string; at: number }[];
}

export interface Refusal {
  at: number;
  reason: string;
  kind: string;
}

export interface Core {
  readonly opts: FederationOptions;
  readonly sessions: BankSessions;
  readonly ledger: PrivacyLedger;
  /** Banks' pinned identity keys (secure aggregation). */
  readonly identities: IdentityKeys;
  readonly rng: Rng;
  readonly bankStats: Map<string, BankStats>;
  /** Memory for the reputation statistics' update copies, reused round after round (see statistics.ts). */
  readonly statisticsArena: UpdateCopyArena;
  /** Latest health assessment per bank (see health.ts). */
  readonly health: Map<string, BankHealth>;
  /** Training losses of the last committed round, per bank (for the health check). */
  lastLosses: Map<string, number>;
  /** Last refused connection per bank whose token was valid (schema, protocol, revoked). Persisted. */
  refusals: Record<string, Refusal>;
  strategy: Strategy | null;
  strategyKey: string;
  state: TrainingState;
  settings: FederationSettings;
  globalVersion: number;
  globalWeights: Float32Array;
  scaler: Scaler | null;
  active: ActiveRound | null;
  nextRoundId: number;
  roundTimer: unknown;
  /**
   * Set while the round timer, having fired late (the event loop was held), waits for the sockets
   * to be read: the wake-up time it was due at (ms). Frames read meanwhile arrived during the hold
   * and are judged as arriving then (runner.ts armTimer, frames.ts handleFrame).
   */
  heldSince: number | null;
  startTimer: unknown;
  heartbeat: unknown;
  roundsCompleted: number;
  roundsFailed: number;
  /**
   * Steps that threw since a round last ended normally (Federation.recover): the retry waits
   * longer after each (retryDelayMs), so a full disk or a broken store is not hammered every
   * second, each attempt a new round id and a new error in the log.
   */
  stepFailures: number;
  closed: boolean;
  lastProgressAt: number;
  /** Per-bank frame rate limit (trust/rate-limit.ts): a flooding bank cannot stall the queue. */
  readonly frameLimiter: FrameRateLimiter;
  /** Repeated identical audit events become one entry with a count (trust/audit-coalescer.ts). */
  coalescer: AuditCoalescer | null;
  /** Coalesced entries waiting to be written, in order. */
  readonly auditBacklog: CoalescedEntry[];
  /** Federated AUPRC of the last committed model (the evaluation gate compares with it), or null. */
  lastCommittedAuprc: number | null;
  /** The audit chain's head as last written: sent with every round so banks can prove a rewrite. */
  auditHead: { seq: number; hash: string } | null;
  /** Banks that declined because their own privacy budget is spent (cleared when they reconnect). */
  readonly exhausted: Map<string, string>;
  /** An analytics job runs (federation/jobs/): no round starts until it ends. */
  roundsHeld: boolean;
  /** Consecutive exclusions per bank (federation/quarantine.ts); null: rebuilt from the store when next needed. */
  quarantine: QuarantineLedger | null;
  /** Runs `fn` on the serial queue (after every step queued before it). */
  enqueue<T>(fn: () => Promise<T> | T): Promise<T>;
  /** Tries to start the next round after `delayMs`, on the serial queue (no-op once closed). */
  scheduleStart(delayMs: number): void;
}

/** The bank's stats record, created on first use. */
export function statsOf(core: Core, bankId: string): BankStats {
  let s = core.bankStats.get(bankId);
  if (!s) {
    s = { rounds: 0, lastUpdateBytes: null, rejections: [] };
    core.bankStats.set(bankId, s);
  }
  return s;
}

/** Remembers a rejection for the bank's view (the last 20). */
export function noteRejection(core: Core, bankId: string, roundId: number, reason: string): void {
  const st = statsOf(core, bankId);
  st.rejections = [...st.rejections, { roundId, reason, at: core.opts.clock.now() }].slice(-20);
}

/** A copy of the bank's entry in the round in flight, or a fresh one. */
export function bankRound(core: Core, bankId: string): RoundRecord['banks'][string] {
  const r = core.active?.record.banks[bankId];
  return r ? { ...r } : { bytesUp: 0, bytesDown: 0 };
}

/**
 * Appends an audit entry; once it is stored it becomes the head sent to banks and goes on the
 * live event stream. The serial queue does not wait for the write: the store writes the
 * appends of one event-loop turn together, one transaction and one head signature per batch
 * (store/sqlite-audit-batch.ts; the MongoDB store queues them), which only helps if the queue
 * goes on meanwhile. `deferred` lets an entry wait up to a second for more company:
 * for the per-bank entries of a round (at 1,000 banks, one `update.accepted` per bank, arriving
 * in hundreds of turns); administrative entries keep the end-of-turn commit. Entries keep the
 * order of the calls and precede anything the federation stores afterwards (the store writes
 * them before any other use). The head sent with assignments is always a stored one. A failed
 * write is logged, not thrown at the step that audited.
 * @returns a promise settled once the entry is queued (not stored).
 */
export function audit(
  core: Core,
  type: string,
  actor: string,
  details: Record<string, unknown>,
  opts: { deferred?: boolean } = {},
): Promise<void> {
  let written: Promise<{ seq: number; hash: string } & object>;
  try {
    written = core.opts.store.appendAudit({ at: core.opts.clock.now(), type, actor, details }, opts);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  written.then(
    (entry) => published(core, entry),
    (err: Error) => core.opts.logger.error({ err, type, actor }, 'audit entry could not be written'),
  );
  return Promise.resolve();
}

/** One audit entry of an admin change: its type and details (the actor and time are the change's). */
export interface ChangeEntry {
  type: string;
  details: Record<string, unknown>;
}

/**
 * Stores the settings and appends their audit entries (one or more, in order) in one transaction
 * (Store.setSettingsAudited; a crash keeps all or nothing), then publishes the entries. Unlike
 * `audit`, waits for the write, and throws the store's own error when it failed.
 */
export async function writeAudited(
  core: Core,
  settings: Readonly<Record<string, unknown>>,
  actor: string,
  ...entries: [ChangeEntry, ...ChangeEntry[]]
): Promise<void> {
  const at = core.opts.clock.now();
  const stored = await core.opts.store.setSettingsAudited(
    settings,
    entries.map(({ type, details }) => ({ at, type, actor, details })),
  );
  for (const entry of stored) published(core, entry);
}

/**
 * An admin change, written as `writeAudited` does; a failure is thrown as ChangeNotStored, which
 * the API answers 500 and the serial queue does not take for a failure of the round in flight: the
 * caller must not act on a change the store refused.
 */
export async function storeAudited(
  core: Core,
  settings: Readonly<Record<string, unknown>>,
  actor: string,
  ...entries: [ChangeEntry, ...ChangeEntry[]]
): Promise<void> {
  try {
    await writeAudited(core, settings, actor, ...entries);
  } catch (err) {
    const types = entries.map((e) => e.type).join(' + ');
    throw new ChangeNotStored(`${types} by ${actor} was not stored: ${(err as Error).message}`, { cause: err });
  }
}

/** An entry the store appended: now the head, and on the live stream. */
export function published(core: Core, entry: { seq: number; hash: string } & object): void {
  core.auditHead = { seq: entry.seq, hash: entry.hash };
  core.opts.events.publish({ type: 'audit', entry: entry as never });
}

/**
 * Audits an event that a bank could repeat at will (rejected frames, updates, evaluations,
 * declines): the first of a kind is written now, repeats within the window become one summary
 * entry with their count (written when the window closes).
 */
export async function auditRepeated(core: Core, event: AuditEvent): Promise<void> {
  if (!core.coalescer) return audit(core, event.type, event.actor, { ...event.details, reason: event.reason });
  core.coalescer.record(event);
  await drainAudits(core);
}

/** Writes the coalesced entries waiting, in order (on the serial queue). */
export async function drainAudits(core: Core): Promise<void> {
  while (core.auditBacklog.length > 0) {
    const e = core.auditBacklog.shift()!;
    await audit(core, e.type, e.actor, e.summary ? { ...e.details, count: e.count } : e.details);
  }
}
