/**
 * Row shapes of the SQLite tables and their mapping to Store records. JSON columns go
 * through serialize.ts (non-finite numbers survive); audit details stay verbatim.
 */
import { canonicalJson } from '../audit/canonical.js';
import { fromJson, toJson, weightsFromBytes, weightsToBytes } from './serialize.js';
import type { AuditEntry, BankRecord, ModelVersionRecord, RoundRecord, RoundStatus } from './types.js';

export interface BankRow {
  id: string;
  name: string;
  token_hash: string;
  created_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
}

export interface RoundRow {
  id: number;
  status: string;
  started_at: number;
  ended_at: number | null;
  config: string;
  selected: string;
  participants: string;
  banks: string;
  durations: string;
  /** NULL for rounds stored before migration 4 (and for rounds without stage summaries). */
  stages?: string | null;
  base_model_version: number;
  model_version: number | null;
  metrics: string | null;
  failure_reason: string | null;
}

export interface ModelRow {
  version: number;
  round_id: number | null;
  created_at: number;
  sha256: string;
  weights: Buffer;
  spec: string;
}

export interface AuditRow {
  seq: number;
  at: number;
  type: string;
  actor: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export function toBank(r: BankRow): BankRecord {
  return {
    id: r.id,
    name: r.name,
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    revokedAt: r.revoked_at,
  };
}

/** A JSON column's value; a value that is not JSON is named by its column (the caller adds the row). */
function column<T>(name: string, text: string): T {
  try {
    return fromJson<T>(text);
  } catch (err) {
    throw new Error(`column ${name} is not JSON (${(err as Error).message})`, { cause: err });
  }
}

export function toRound(r: RoundRow): RoundRecord {
  return {
    id: r.id,
    status: r.status as RoundStatus, // guarded by the column's CHECK constraint
    startedAt: r.started_at,
    endedAt: r.ended_at,
    config: column('config', r.config),
    selected: column('selected', r.selected),
    participants: column('participants', r.participants),
    banks: column('banks', r.banks),
    durations: column('durations', r.durations),
    ...(r.stages != null ? { stages: column('stages', r.stages) } : {}),
    baseModelVersion: r.base_model_version,
    modelVersion: r.model_version,
    metrics: r.metrics === null ? null : column('metrics', r.metrics),
    failureReason: r.failure_reason,
  };
}

export function toModel(r: ModelRow): ModelVersionRecord {
  return {
    version: r.version,
    roundId: r.round_id,
    createdAt: r.created_at,
    sha256: r.sha256,
    weights: weightsFromBytes(r.weights),
    spec: fromJson(r.spec),
  };
}

export function toAudit(r: AuditRow): AuditEntry {
  // Plain JSON.parse, not fromJson: details were stored as canonical JSON, verbatim.
  const details = JSON.parse(r.details) as Record<string, unknown>;
  return { seq: r.seq, at: r.at, type: r.type, actor: r.actor, details, prevHash: r.prev_hash, hash: r.hash };
}

// Named parameters for the INSERT statements. Nullable fields default to null: the
// driver cannot bind undefined, and a missing field must read back as null.

export function bankParams(b: BankRecord): Record<string, unknown> {
  return {
    id: b.id,
    name: b.name,
    tokenHash: b.tokenHash,
    createdAt: b.createdAt,
    lastSeenAt: b.lastSeenAt ?? null,
    revokedAt: b.revokedAt ?? null,
  };
}

export function roundParams(r: RoundRecord): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    config: toJson(r.config),
    selected: toJson(r.selected),
    participants: toJson(r.participants),
    banks: toJson(r.banks),
    durations: toJson(r.durations),
    // Only when present: the round hash (integrity.ts) of a round without stages stays what it was.
    ...(r.stages !== undefined ? { stages: toJson(r.stages) } : {}),
    baseModelVersion: r.baseModelVersion,
    modelVersion: r.modelVersion ?? null,
    metrics: r.metrics == null ? null : toJson(r.metrics),
    failureReason: r.failureReason ?? null,
  };
}

export function modelParams(m: ModelVersionRecord): Record<string, unknown> {
  return {
    version: m.version,
    roundId: m.roundId ?? null,
    createdAt: m.createdAt,
    sha256: m.sha256,
    weights: weightsToBytes(m.weights),
    spec: toJson(m.spec),
  };
}

/** details as canonical JSON: exactly the text its hash covers (`detailsJson` when already written). */
export function auditParams(e: AuditEntry, detailsJson?: string): Record<string, unknown> {
  return {
    seq: e.seq,
    at: e.at,
    type: e.type,
    actor: e.actor,
    details: detailsJson ?? canonicalJson(e.details),
    prevHash: e.prevHash,
    hash: e.hash,
  };
}
