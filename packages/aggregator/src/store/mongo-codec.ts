/**
 * How records map to MongoDB documents and back. Kept apart from the driver calls so
 * the mapping can be tested through a real BSON round trip without a server.
 */
import { Binary, MongoServerError } from 'mongodb';
import { canonicalJson } from '../audit/canonical.js';
import { weightsFromBytes, weightsToBytes } from './serialize.js';
import type { AuditEntry, BankRecord, ModelVersionRecord, RoundRecord } from './types.js';

export interface SettingDoc {
  key: string;
  value: unknown;
}

export interface ModelDoc {
  version: number;
  roundId: number | null;
  createdAt: number;
  sha256: string;
  /** Little-endian float32 bytes, as in SQLite. */
  weights: Binary;
  spec: Record<string, unknown>;
}

/**
 * details holds the canonical JSON text that was hashed, not a sub-document: a BSON
 * round trip can change a value's JSON form (lone UTF-16 surrogates become U+FFFD, for
 * one), and any such change would later read as tampering.
 */
export interface AuditDoc {
  seq: number;
  at: number;
  type: string;
  actor: string;
  details: string;
  prevHash: string;
  hash: string;
}

// Explicit field-by-field copies both ways: no _id leaks out, nothing unexpected goes
// in, and a fresh object each time (insertOne adds _id to the document it is given).
// Nullable fields default to null so a missing one never reads back as undefined.

/** BSON documents are capped at 16 MiB; leave room for the other fields. */
export const MAX_WEIGHT_BYTES = 16 * 1024 * 1024 - 64 * 1024;

export function bankDoc(b: BankRecord): BankRecord {
  return {
    id: b.id,
    name: b.name,
    tokenHash: b.tokenHash,
    createdAt: b.createdAt,
    lastSeenAt: b.lastSeenAt ?? null,
    revokedAt: b.revokedAt ?? null,
  };
}

export const toBank = bankDoc;

export function roundDoc(r: RoundRecord): RoundRecord {
  return {
    id: r.id,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    config: r.config,
    selected: r.selected,
    participants: r.participants,
    banks: r.banks,
    durations: r.durations,
    ...(r.stages !== undefined ? { stages: r.stages } : {}),
    baseModelVersion: r.baseModelVersion,
    modelVersion: r.modelVersion ?? null,
    metrics: r.metrics ?? null,
    failureReason: r.failureReason ?? null,
  };
}

export const toRound = roundDoc;

export function modelDoc(m: ModelVersionRecord): ModelDoc {
  const bytes = weightsToBytes(m.weights);
  if (bytes.byteLength > MAX_WEIGHT_BYTES) {
    throw new Error(
      `model v${m.version} has ${bytes.byteLength} bytes of weights; a MongoDB document holds at most ${MAX_WEIGHT_BYTES}`,
    );
  }
  return {
    version: m.version,
    roundId: m.roundId ?? null,
    createdAt: m.createdAt,
    sha256: m.sha256,
    weights: new Binary(bytes),
    spec: m.spec,
  };
}

export function toModel(d: ModelDoc): ModelVersionRecord {
  // value() is exactly the stored bytes; weightsFromBytes copies them into an aligned array.
  return {
    version: d.version,
    roundId: d.roundId ?? null,
    createdAt: d.createdAt,
    sha256: d.sha256,
    weights: weightsFromBytes(d.weights.value()),
    spec: d.spec,
  };
}

/** The entry as stored: details as the canonical JSON text its hash covers. */
export function auditDoc(e: AuditEntry): AuditDoc {
  return {
    seq: e.seq,
    at: e.at,
    type: e.type,
    actor: e.actor,
    details: canonicalJson(e.details),
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

export function toAudit(d: AuditDoc): AuditEntry {
  // Plain JSON.parse: the text is canonical JSON, verbatim.
  const details = JSON.parse(d.details) as Record<string, unknown>;
  return { seq: d.seq, at: d.at, type: d.type, actor: d.actor, details, prevHash: d.prevHash, hash: d.hash };
}

const DUPLICATE_KEY = 11000;

/** Whether a write failed on a unique index (the natural keys: id, version, seq, key). */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}
