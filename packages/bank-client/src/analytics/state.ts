/**
 * What analytics jobs leave in the bank's state directory, sealed like the rest of its state
 * (state-crypto): the segmentation privacy ledger, the last segmentation (this bank's own
 * customers by segment, under keyed pseudonyms) and the consortium score threshold.
 *
 * The ledger is separate from training's privacy.json on purpose: training releases protect
 * one transaction row of the training split, segmentation releases protect one customer of
 * the transaction file, so the two ε are not in the same unit. Both use the same Rényi-DP
 * accountant (common/dp, Mironov 2017).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { RdpAccountant } from '@finsecure/common/dp';
import { cipherFor, readStateFile, writeStateFile, type StateCipher } from '../state-crypto/index.js';

export const SEGMENTS_FILE = 'segments.json';
export const CONSORTIUM_THRESHOLD_FILE = 'consortium-threshold.json';
const LEDGER_FILE = 'analytics-privacy.json';
const PSEUDONYM_KEY_FILE = 'segments-pseudonym.key';

/** The bank's own accountant of its segmentation releases. */
export class AnalyticsLedger {
  private accountant = new RdpAccountant();
  private readonly file: string;

  constructor(
    stateDir: string,
    private readonly cipher: StateCipher = cipherFor(stateDir),
  ) {
    this.file = path.join(stateDir, LEDGER_FILE);
    const raw = readStateFile(this.cipher, this.file);
    if (raw) this.accountant = RdpAccountant.fromJSON(JSON.parse(raw.toString('utf8')));
  }

  epsilon(delta: number): number {
    return this.accountant.epsilon(delta).epsilon;
  }

  wouldExceed(noiseMultiplier: number, delta: number, budget: number): boolean {
    return this.accountant.wouldExceed(noiseMultiplier, delta, budget);
  }

  /** Records one Gaussian release and persists the ledger BEFORE the release is sent. */
  record(noiseMultiplier: number): void {
    this.accountant.addGaussian(noiseMultiplier);
    writeStateFile(this.cipher, this.file, JSON.stringify(this.accountant.toJSON()));
  }
}

/** One segment of the bank's own customers, as the console shows it. */
export interface StoredSegment {
  index: number;
  name: string;
  /** Centre in original units (CUSTOMER_FEATURES order). */
  centre: number[];
  customers: string[];
}

export interface StoredSegmentation {
  jobId: number;
  at: number;
  features: string[];
  segments: StoredSegment[];
}

export interface StoredThreshold {
  jobId: number;
  at: number;
  contamination: number;
  /** IsolationForest anomaly score (higher = more anomalous) of the consortium. */
  threshold: number;
  banks: number;
  accounts: number;
}

export function writeJsonState(stateDir: string, name: string, value: unknown): void {
  writeStateFile(cipherFor(stateDir), path.join(stateDir, name), JSON.stringify(value));
}

export function readJsonState<T>(stateDir: string, name: string, cipher: StateCipher = cipherFor(stateDir)): T | null {
  const raw = readStateFile(cipher, path.join(stateDir, name));
  return raw ? (JSON.parse(raw.toString('utf8')) as T) : null;
}

/**
 * The key of the customer pseudonyms shown with segments (HMAC-SHA-256, as `anonymise`):
 * 32 random bytes made at first use, kept sealed in the state directory. The console shows
 * pseudonyms only; the bank can re-identify with this key, nobody else can.
 */
export function segmentPseudonymKey(stateDir: string): Buffer {
  const file = path.join(stateDir, PSEUDONYM_KEY_FILE);
  const cipher = cipherFor(stateDir);
  const existing = readStateFile(cipher, file);
  if (existing && existing.length >= 32) return existing;
  const key = randomBytes(32);
  writeStateFile(cipher, file, key);
  return key;
}
