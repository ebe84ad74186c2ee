/**
 * The analyst feedback loop: labels confirmed in the bank console ("confirmed fraud" = 1,
 * "false positive" = 0; console/db.ts confirmedLabels) join the bank's training data in
 * the next rounds. Read from `<state-dir>/console.sqlite` (sealed columns when the state is
 * encrypted) at every fit, so a decision counts from the next round on, without restart.
 *
 * - Deduplicated by transaction id: one label per transaction (the latest decision); a
 *   transaction already in --data or --test is not added (in the training split it is
 *   there already; in the test split, training on it would bias the federated metrics).
 *   A label whose features equal a row of the test split is not added either: an upload
 *   without an id column (or ids the bank's files do not share) gets ids of its own, so
 *   the bank's own test rows, uploaded and decided, would otherwise be trained on.
 * - Weight: each label is repeated `weight` times (--feedback-weight, default 3) before
 *   the local SMOTE and shuffling. The trainer has no sample weights; k copies of a row in
 *   mini-batch SGD give the same expected gradient as a weight of k. Analysts review the
 *   few hardest cases (the top of the queue), which are worth more than a random row.
 * - A label whose features do not match the model's layout (another model or mapping) is
 *   skipped and counted.
 *
 * The history (labels used per round, and the bank's local validation metrics of every
 * global model it evaluated) is kept in `<state-dir>/feedback.json`, sealed like the rest,
 * for the console's "feedback" panel.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '@finsecure/common';
import { declareTrainingData, type TrainingSplit } from '@finsecure/common/data';
import type { Confusion } from '@finsecure/common/protocol';
import { ConsoleDb } from './console/db.js';
import { cipherFor, readStateFile, writeStateFile, type StateCipher } from './state-crypto/index.js';

export const FEEDBACK_HISTORY_FILE = 'feedback.json';
export const DEFAULT_FEEDBACK_WEIGHT = 3;
/** Rounds and evaluations kept in the history file (oldest dropped). */
const HISTORY_LIMIT = 500;

/** What one read of the labels gave (logged and emitted by the daemon). */
export interface FeedbackRead {
  /** Labels confirmed in the console (one per transaction). */
  labels: number;
  /** Of which added to training (`rows` = added × weight). */
  added: number;
  fraud: number;
  legit: number;
  /** Skipped: transaction already in --data / --test (by id, or a test row by its values), or features of another layout. */
  duplicates: number;
  mismatched: number;
  weight: number;
  rows: number;
}

export interface FeedbackHistory {
  rounds: { roundId: number; at: number; labels: number; added: number; rows: number; weight: number }[];
  evaluations: {
    roundId: number;
    modelVersion: number;
    at: number;
    numExamples: number;
    loss: number;
    precision: number | null;
    recall: number | null;
    falsePositiveRate: number | null;
  }[];
}

/** Reads the confirmed labels of the console database in `stateDir` (none without a console). */
export class FeedbackSource {
  private readonly dbFile: string;

  /** Keys (rowKey) of the test split's rows, made at the first label that needs them. */
  private testKeys: Set<string> | null = null;

  /**
   * @param knownIds transaction ids of the bank's own --data and --test files
   * @param weight copies of each label in the training data (0: feedback off)
   * @param testRows the bank's test split (raw features), whose rows a label must not repeat
   */
  constructor(
    readonly stateDir: string,
    private readonly knownIds: ReadonlySet<string>,
    readonly weight: number,
    private readonly cipher: StateCipher = cipherFor(stateDir),
    private readonly testRows?: () => Dataset,
  ) {
    this.dbFile = path.join(stateDir, 'console.sqlite');
  }

  /** Whether `features` (one row, raw) is a row of the test split. */
  private inTestSplit(features: ArrayLike<number>): boolean {
    if (!this.testRows) return false;
    if (!this.testKeys) {
      const t = this.testRows();
      this.testKeys = new Set();
      for (let i = 0; i < t.numRows; i++)
        this.testKeys.add(rowKey(t.features.subarray(i * t.numFeatures, (i + 1) * t.numFeatures)));
    }
    return this.testKeys.has(rowKey(features));
  }

  /**
   * The confirmed labels as extra training rows (raw features; each label `weight` times),
   * for a model whose inputs are `featureNames`; `key` changes whenever the rows do.
   */
  collect(featureNames: string[]): { extra: TrainingSplit | null; read: FeedbackRead; key: string } {
    const read: FeedbackRead = {
      labels: 0,
      added: 0,
      fraud: 0,
      legit: 0,
      duplicates: 0,
      mismatched: 0,
      weight: this.weight,
      rows: 0,
    };
    if (this.weight === 0 || !existsSync(this.dbFile)) return { extra: null, read, key: '' };
    const db = new ConsoleDb(this.dbFile, this.cipher);
    let labels;
    try {
      labels = db.confirmedLabels();
    } finally {
      db.close();
    }
    // One per transaction already: its latest decision over all its alerts (readConfirmedLabels).
    read.labels = labels.length;
    const d = featureNames.length;
    const keep: (typeof labels)[number][] = [];
    for (const l of labels) {
      if (this.knownIds.has(l.transactionId)) read.duplicates++;
      else if (l.features.length !== d || !sameNames(l.featureNames, featureNames)) read.mismatched++;
      else if (this.inTestSplit(l.features)) read.duplicates++;
      else keep.push(l);
    }
    if (!keep.length) return { extra: null, read, key: '' };
    const n = keep.length * this.weight;
    const features = new Float32Array(n * d);
    const out = new Uint8Array(n);
    let row = 0;
    for (const l of keep) {
      for (let k = 0; k < this.weight; k++, row++) {
        features.set(l.features, row * d);
        out[row] = l.label;
      }
      if (l.label === 1) read.fraud++;
      else read.legit++;
    }
    read.added = keep.length;
    read.rows = n;
    const ds: Dataset = { features, labels: out, numRows: n, numFeatures: d, featureNames };
    const key = `${this.weight}:${keep.map((l) => `${l.alertId}=${l.label}`).join(',')}`;
    return { extra: declareTrainingData(ds), read, key };
  }
}

/**
 * A row's identity for the test-split check: SHA-256 of its values as float32 (the precision
 * both the loader and the console keep), 128 bits in hex.
 */
function rowKey(features: ArrayLike<number>): string {
  const f32 = Float32Array.from(features);
  return createHash('sha256').update(new Uint8Array(f32.buffer)).digest('hex').slice(0, 32);
}

/** Feature names match, ignoring case and a layout's spelling of the same column ("Amount" / "amount"). */
function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((n, i) => n.toLowerCase() === b[i]!.toLowerCase());
}

/** The sealed history of labels used and local validation metrics (`<state-dir>/feedback.json`). */
export class FeedbackHistoryFile {
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly cipher: StateCipher = cipherFor(stateDir),
  ) {
    this.file = path.join(stateDir, FEEDBACK_HISTORY_FILE);
  }

  read(): FeedbackHistory {
    const raw = readStateFile(this.cipher, this.file);
    return raw ? (JSON.parse(raw.toString('utf8')) as FeedbackHistory) : { rounds: [], evaluations: [] };
  }

  recordRound(roundId: number, read: FeedbackRead, at = Date.now()): void {
    const h = this.read();
    h.rounds.push({ roundId, at, labels: read.labels, added: read.added, rows: read.rows, weight: read.weight });
    this.write(h);
  }

  /** Records the bank's own metrics of a global model on its local test split. */
  recordEvaluation(
    e: { roundId: number; modelVersion: number; numExamples: number; loss: number; confusion: Confusion },
    at = Date.now(),
  ): void {
    const { tp, fp, fn, tn } = e.confusion;
    const h = this.read();
    h.evaluations.push({
      roundId: e.roundId,
      modelVersion: e.modelVersion,
      at,
      numExamples: e.numExamples,
      loss: e.loss,
      precision: tp + fp ? tp / (tp + fp) : null,
      recall: tp + fn ? tp / (tp + fn) : null,
      falsePositiveRate: fp + tn ? fp / (fp + tn) : null,
    });
    this.write(h);
  }

  private write(h: FeedbackHistory): void {
    h.rounds = h.rounds.slice(-HISTORY_LIMIT);
    h.evaluations = h.evaluations.slice(-HISTORY_LIMIT);
    writeStateFile(this.cipher, this.file, JSON.stringify(h));
  }
}
