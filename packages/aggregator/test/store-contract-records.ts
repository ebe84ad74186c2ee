/**
 * The store contract's record builders and fixture types (store-contract.ts): banks, rounds,
 * models and audit inputs every section and several integrity tests build.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { weightsDigest } from '../src/store/integrity.js';
import type {
  AuditInput,
  BankRecord,
  ModelVersionRecord,
  RoundRecord,
  RoundStatus,
  Store,
} from '../src/store/types.js';

/** Direct writes to a store's audit log, bypassing the Store API. */
export interface AuditBackdoor {
  /** Replaces the stored details of one entry, leaving its hashes alone. */
  setDetails(seq: number, details: Record<string, unknown>): Promise<void>;
  /** Replaces the stored hash of one entry. */
  setHash(seq: number, hash: string): Promise<void>;
  deleteEntry(seq: number): Promise<void>;
}

export interface StoreFixture {
  /** Fresh, empty and initialised. */
  store: Store;
  /** A new Store instance over the same data; the caller closes the old one first. */
  reopen?: () => Promise<Store>;
  backdoor?: AuditBackdoor;
  /** Removes whatever the fixture created (files, databases). Stores are closed by the suite. */
  dispose?: () => Promise<void>;
}

export interface ContractOptions {
  /** When set, the whole suite is skipped and this reason is put in its name. */
  skip?: string;
  /** Whether fixtures provide reopen / backdoor; the dependent tests are skipped otherwise. */
  durable?: boolean;
  tamper?: boolean;
}

// ------------------------------------------------------------------ record builders

export function bank(id: string, createdAt = 1_700_000_000_000): BankRecord {
  return { id, name: `Bank ${id}`, tokenHash: 'a'.repeat(64), createdAt, lastSeenAt: null, revokedAt: null };
}

export function round(id: number, status: RoundStatus = 'committed', extra: Partial<RoundRecord> = {}): RoundRecord {
  return {
    id,
    status,
    startedAt: 1_700_000_000_000 + id * 1000,
    endedAt: status === 'committed' || status === 'failed' ? 1_700_000_000_500 + id * 1000 : null,
    config: { training: { localEpochs: 2, lr: 0.01, batchSize: 64 }, rules: { minBanks: 2, quorum: 0.5 } },
    selected: ['alpha', 'beta.eu'],
    participants: ['alpha'],
    banks: {
      alpha: {
        bytesUp: 1200,
        bytesDown: 800,
        weight: 1,
        numExamples: 5000,
        loss: 0.25,
        trainMs: 120,
        metrics: { f1: 0.5 },
      },
      'beta.eu': { bytesUp: 0, bytesDown: 800, rejected: 'timeout' },
    },
    durations: { trainingMs: 100, aggregationMs: 5, evaluationMs: 20, totalMs: 125 },
    baseModelVersion: id - 1,
    modelVersion: status === 'committed' ? id : null,
    metrics:
      status === 'committed' ? { precision: 0.75, recall: 0.5, f1: 0.6, auprc: 0.55, rocAuc: 0.9, loss: 0.31 } : null,
    failureReason: status === 'failed' ? 'quorum not reached' : null,
    ...extra,
  };
}

export function model(
  version: number,
  weights: Float32Array,
  roundId: number | null = version === 0 ? null : version,
): ModelVersionRecord {
  return {
    version,
    roundId,
    createdAt: 1_700_000_000_000 + version,
    // The real digest: stores check it on every read.
    sha256: weightsDigest(weights),
    weights,
    spec: { layers: [30, 16, 1], activation: 'relu', dropout: 0.1 },
  };
}

/** Random bit patterns (denormals and extremes included), with NaNs replaced. */
export function randomWeights(n: number): Float32Array {
  const w = new Float32Array(randomBytes(n * 4).buffer.slice(0, n * 4));
  for (let i = 0; i < n; i++) if (Number.isNaN(w[i])) w[i] = i;
  if (n > 2) {
    w[0] = -0;
    w[1] = 1.401298464324817e-45; // smallest denormal
  }
  return w;
}

function bytesOf(w: Float32Array): Buffer {
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

/** Bit-exact equality, and the result must own a fresh, aligned buffer. */
export function expectSameWeights(actual: Float32Array, expected: Float32Array): void {
  expect(actual).toBeInstanceOf(Float32Array);
  expect(actual.length).toBe(expected.length);
  expect(actual.byteOffset).toBe(0);
  expect(actual.buffer.byteLength).toBe(expected.length * 4);
  expect(bytesOf(actual).equals(bytesOf(expected))).toBe(true);
}

export function auditInput(i: number): AuditInput {
  return {
    at: 1_700_000_000_000 + i,
    type: 'bank.created',
    actor: 'admin',
    details: { bankId: `b${i}`, nested: { z: 1, a: [1, 'two', null] } },
  };
}

// ------------------------------------------------------------------ the suite
