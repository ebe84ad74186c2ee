/**
 * The persistence boundary of the aggregator. Two implementations (SQLite for a single
 * machine, MongoDB for a deployment) satisfy one contract test suite. Everything the
 * aggregator needs to resume after a crash goes through here: banks, rounds, global
 * model versions, settings, and the hash-chained audit log.
 *
 * Records are plain JSON-able objects (weights are Float32Array) so that the contract
 * is the same for a relational and a document store.
 */

export interface BankRecord {
  id: string;
  name: string;
  /** sha256 (hex) of the bank's token; the token itself is never stored. */
  tokenHash: string;
  createdAt: number;
  lastSeenAt: number | null;
  revokedAt: number | null;
}

import type { AccountStore } from '@finsecure/accounts';
import type { WitnessedHead } from '../audit/anchor.js';
import type { SignedHead } from '../audit/signer.js';
export type { SignedHead, WitnessedHead };

// Round records are also what the REST API returns, so they are defined in common/api.
import type { BankRoundStats, RoundRecord, RoundStatus } from '@finsecure/common/api';
export type { BankRoundStats, RoundRecord, RoundStatus };
import type { JobRecord } from '../federation/jobs/types.js';
export type { JobRecord };

export interface ModelVersionRecord {
  version: number;
  roundId: number | null;
  createdAt: number;
  sha256: string;
  /** Flat weights; the manifest is derived from the model spec stored beside it. */
  weights: Float32Array;
  spec: Record<string, unknown>;
}

export interface AuditInput {
  at: number;
  /** e.g. bank.created, bank.revoked, bank.joined, bank.left, auth.failed, update.accepted, update.rejected, round.committed, round.failed, config.changed, training.control */
  type: string;
  /** Who did it: "admin", a bank id, or "system". */
  actor: string;
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditInput {
  /** 1, 2, 3, ... without gaps. */
  seq: number;
  /** sha256 of the previous entry ("0" × 64 for the first). */
  prevHash: string;
  /** sha256 over prevHash and this entry's canonical JSON (see audit/chain.ts). */
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** First broken sequence number, if any, and why. */
  brokenAt?: number;
  reason?: string;
  /** Every problem found (the first is `reason`), when not ok. */
  problems?: string[];
  /** What the chain was checked against besides itself (audit/anchor.ts). */
  anchors?: {
    head: 'signed' | 'unsigned' | 'missing';
    headSeq: number | null;
    keyId: string | null;
    signaturesChecked: boolean;
    checkpoints: number;
    /**
     * Of the checkpoints, those an earlier version signed as heads (audit/signer.ts): accepted, but
     * each could stand in for the head of a cut-off log until the aggregator's next start re-signs it.
     */
    legacyCheckpoints: number;
    bankHeads: number;
  };
}

/** The result of Store.checkStorage: every problem names the file, table and row. */
export interface StorageReport {
  ok: boolean;
  problems: string[];
  /** How much was checked: pages (SQLite quick_check), model hashes, sealed round hashes. */
  checked: { pages: boolean; models: number; rounds: number };
}

export interface VerifyAuditOptions {
  /** Heads kept by banks (audit/bank-heads.ts) the chain must reach. */
  bankHeads?: WitnessedHead[];
}

export interface Store {
  readonly kind: 'sqlite' | 'mongodb';
  /** People: accounts, sessions, recovery codes, API tokens (accounts/types.ts). */
  readonly accounts: AccountStore;
  /** Creates tables/collections and indexes. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  createBank(bank: BankRecord): Promise<void>; // throws StoreConflictError if the id exists
  getBank(id: string): Promise<BankRecord | null>;
  listBanks(): Promise<BankRecord[]>;
  touchBank(id: string, at: number): Promise<void>;
  revokeBank(id: string, at: number): Promise<boolean>; // false if unknown
  /** Replaces the token hash (token rotation) and clears revocation. */
  setBankToken(id: string, tokenHash: string): Promise<boolean>;

  getSetting<T>(key: string): Promise<T | null>;
  setSetting<T>(key: string, value: T): Promise<void>;
  /**
   * Stores the settings (key → value, each as setSetting) and appends the audit entries that record
   * the change (one or more, in order), atomically where the backend allows (SQLite: one
   * transaction, so a crash leaves all or nothing; MongoDB: the settings, then the entries in one
   * ordered insert, with the settings put back when a write fails, so only a crash between the
   * writes can leave a change without its entries; entries inserted when the head then fails to
   * move are withdrawn, best effort). Every entry is checked before anything is written: bad audit input
   * changes nothing. Returns the entries, in order.
   * @throws RangeError when `audits` is empty (a change must be recorded).
   */
  setSettingsAudited(settings: Readonly<Record<string, unknown>>, audits: readonly AuditInput[]): Promise<AuditEntry[]>;

  /** Insert or replace a round by id. */
  saveRound(round: RoundRecord): Promise<void>;
  getRound(id: number): Promise<RoundRecord | null>;
  /** Newest first. */
  listRounds(opts?: { limit?: number; before?: number }): Promise<RoundRecord[]>;
  /** Oldest first, for charts. */
  listRoundsAscending(opts?: { limit?: number; after?: number }): Promise<RoundRecord[]>;
  maxRoundId(): Promise<number>; // 0 when none
  /** Marks every round not committed/failed as failed with this reason; returns their ids. */
  failUnfinishedRounds(reason: string, at: number): Promise<number[]>;
  /**
   * Stores a round and appends the audit entry recording it (a round.failed) atomically where the
   * backend allows (SQLite: one transaction, so a crash never leaves a failed round without its
   * entry; MongoDB: the round, then the entry). Returns the entry.
   */
  saveRoundAudited(round: RoundRecord, audit: AuditInput): Promise<AuditEntry>;
  /**
   * failUnfinishedRounds, with one `round.failed` entry (actor system, details roundId and reason,
   * time `at`) per round, in the same transaction where the backend allows (SQLite).
   */
  failUnfinishedRoundsAudited(reason: string, at: number): Promise<{ ids: number[]; entries: AuditEntry[] }>;

  /**
   * Stores a committed round and the model version it produced atomically where the
   * backend allows (SQLite: one transaction). A crash never leaves a committed round
   * without its model. The round must be committed, name model.version, and be the
   * model's roundId; anything else is rejected.
   */
  commitRound(round: RoundRecord, model: ModelVersionRecord): Promise<void>;
  /**
   * The same, and the round's audit entry in the SAME transaction (SQLite), so a crash
   * never leaves a committed round without its `round.committed` entry. `audit.details`
   * gains roundId, modelVersion, modelSha256 and roundHash (store/integrity.ts); the
   * round is then sealed: reading it checks it against that hash, and saveRound refuses
   * to overwrite it. A signed checkpoint of the new head is stored too. Returns the entry.
   */
  commitRoundAudited(round: RoundRecord, model: ModelVersionRecord, audit: AuditInput): Promise<AuditEntry>;
  saveModel(model: ModelVersionRecord): Promise<void>;
  /**
   * A model that is no round's (a rollback's restored copy) and its audit entry, in the SAME
   * transaction (SQLite): a crash or a failed audit write never leaves a global model nobody
   * recorded. Returns the entry.
   */
  saveModelAudited(model: ModelVersionRecord, audit: AuditInput): Promise<AuditEntry>;
  /** @throws DamagedDataError when the stored weights do not match the stored sha256. */
  getModel(version: number): Promise<ModelVersionRecord | null>;
  /**
   * The newest model that is the global model: its roundId is null (the initial model)
   * or names a committed round. A model left by an interrupted commit is skipped.
   * @throws DamagedDataError when the stored weights do not match the stored sha256.
   */
  latestModel(): Promise<ModelVersionRecord | null>;

  /**
   * Appends to the hash chain (computes seq, prevHash, hash) and moves the (signed)
   * head in the same transaction. Appends are serialised. A seq is never reused: the
   * next one follows the head even when the log's tail was deleted behind our back.
   * `deferred`: the caller does not wait for the entry (the federation's audit of a round's
   * events), so a store that batches commits may hold it up to a second for company
   * (SQLite: AUDIT_BATCH_WINDOW_MS); without it the entry is committed at the end of the
   * event-loop turn at the latest.
   */
  appendAudit(entry: AuditInput, opts?: { deferred?: boolean }): Promise<AuditEntry>;
  /** Ascending by seq. */
  listAudit(opts?: { afterSeq?: number; limit?: number }): Promise<AuditEntry[]>;
  /** The chain, checked against the signed head, the checkpoints and any bank heads given. */
  verifyAudit(opts?: VerifyAuditOptions): Promise<AuditVerification>;
  /** The current head (seq, hash), signed when the store has a key; null for an empty log. */
  auditHead(): Promise<SignedHead | null>;
  /** Stores a signed checkpoint of the current head (no-op without a key or entries). */
  checkpointAudit(at: number): Promise<SignedHead | null>;
  /**
   * Re-signs, as checkpoints, the checkpoints an earlier version signed as heads with this store's
   * key (audit/signer.ts), in one transaction; returns how many. 0 without a key. Called at start,
   * after the chain verified.
   */
  resignLegacyCheckpoints(): Promise<number>;
  listCheckpoints(): Promise<SignedHead[]>;
  /** Committed rounds no audit entry seals (interrupted commits, or rounds older than sealing). */
  unsealedRounds(): Promise<number[]>;
  /** Appends `audit` with the round's hash added to its details and seals the round by it. */
  sealRound(roundId: number, audit: AuditInput): Promise<AuditEntry>;
  /** Pages (SQLite quick_check), every model's sha256 and every sealed round's hash. */
  checkStorage(): Promise<StorageReport>;

  /** Insert or replace an analytics job by id (federation/jobs/). */
  saveJob(job: JobRecord): Promise<void>;
  getJob(id: number): Promise<JobRecord | null>;
  /** Newest first. */
  listJobs(opts?: { limit?: number; before?: number }): Promise<JobRecord[]>;
}

// One class for every store, so that `instanceof` holds across the accounts package.
export { StoreConflictError } from '@finsecure/accounts';
