/**
 * The analyst feedback loop (src/feedback.ts): labels confirmed in the bank console join
 * the bank's training data in the next rounds, deduplicated by transaction id and
 * repeated --feedback-weight times; end to end with a real aggregator and bank clients
 * over real sockets, on an encrypted state directory.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic, KAGGLE_FEATURES } from '@finsecure/common/data';
import {
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  TEST_STATE_KEY,
  waitFor,
  writeShards,
} from '../../aggregator/test/helpers/federation.js';
import { ConsoleDb, type AlertInput, type Decision } from '../src/console/db.js';
import { FeedbackHistoryFile, FeedbackSource, type FeedbackRead } from '../src/feedback.js';
import { createEnvelopeCipher, openBankState } from '../src/state-crypto/index.js';
import type { BankClient } from '../src/index.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('finsecure-feedback-');
});
afterAll(() => cleanup(dir));

/** `n` alerts with raw synthetic Kaggle-layout features and ids `tx-<i>`. */
function alerts(n: number, seed: number, ids = (i: number) => `tx-${i}`): AlertInput[] {
  const ds = generateSynthetic({ rows: n, fraudRate: 0.5, seed });
  return Array.from({ length: n }, (_, i) => ({
    source: 'api',
    line: null,
    transactionId: ids(i),
    accountId: null,
    time: null,
    amount: ds.features[i * 30 + 29]!,
    featureNames: [...KAGGLE_FEATURES],
    features: ds.features.slice(i * 30, (i + 1) * 30),
    logit: 3 - i * 0.1,
    probability: 0.9,
    modelVersion: 1,
    explanation: null,
  }));
}

function decide(db: ConsoleDb, alertId: number, decision: Decision, at: number): void {
  db.decide(alertId, { decision, note: 'checked', analyst: 'ana', analystId: null, at });
}

describe('FeedbackSource', () => {
  it('takes each transaction once (latest decision), skips ids of the bank own files and other layouts, repeats each label k times', () => {
    const sd = path.join(dir, 'unit');
    const cipher = createEnvelopeCipher(randomBytes(32));
    const db = new ConsoleDb(path.join(sd, 'console.sqlite'), cipher);
    const ids = db.insertApiAlerts(
      [
        ...alerts(5, 1),
        // The same transaction alerted again (second upload): one label, the latest decision.
        ...alerts(1, 2, () => 'tx-0'),
        // Another model's layout: 3 features.
        { ...alerts(1, 3, () => 'tx-other')[0]!, featureNames: ['a', 'b', 'c'], features: new Float32Array(3) },
      ],
      1,
    );
    decide(db, ids[0]!, 'confirmed_fraud', 10);
    decide(db, ids[5]!, 'false_positive', 20); // tx-0 again: wins
    decide(db, ids[1]!, 'confirmed_fraud', 11);
    decide(db, ids[2]!, 'confirmed_fraud', 12);
    decide(db, ids[2]!, 'not_sure', 13); // withdrawn
    decide(db, ids[3]!, 'confirmed_fraud', 14); // tx-3 is in the bank's own data
    decide(db, ids[4]!, 'not_sure', 15);
    decide(db, ids[6]!, 'confirmed_fraud', 16);
    db.close();
    const src = new FeedbackSource(sd, new Set(['tx-3']), 4, cipher);
    const { extra, read } = src.collect([...KAGGLE_FEATURES]);
    expect(read).toEqual({ labels: 4, added: 2, fraud: 1, legit: 1, duplicates: 1, mismatched: 1, weight: 4, rows: 8 });
    expect(extra!.numRows).toBe(8);
    expect(Array.from(extra!.labels).sort()).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    // The rows are the alerts' raw features, k copies each.
    const fp = alerts(1, 2)[0]!.features;
    const rows = Array.from({ length: 8 }, (_, r) => Array.from(extra!.features.subarray(r * 30, r * 30 + 30)));
    expect(rows.filter((r) => r.every((v, j) => v === fp[j]))).toHaveLength(4);
    // Weight 0 turns the loop off; no console database: nothing.
    expect(new FeedbackSource(sd, new Set(), 0, cipher).collect([...KAGGLE_FEATURES]).extra).toBeNull();
    expect(new FeedbackSource(path.join(dir, 'none'), new Set(), 3).collect([...KAGGLE_FEATURES]).read.labels).toBe(0);
  });

  it('"not sure" on one alert of a transaction withdraws the label given on its other alert', () => {
    const sd = path.join(dir, 'withdrawn');
    const cipher = createEnvelopeCipher(randomBytes(32));
    const db = new ConsoleDb(path.join(sd, 'console.sqlite'), cipher);
    // tx-0 alerted twice (the same file uploaded twice), tx-1 once.
    const ids = db.insertApiAlerts([...alerts(2, 5), ...alerts(1, 5, () => 'tx-0')], 1);
    decide(db, ids[0]!, 'confirmed_fraud', 10);
    decide(db, ids[1]!, 'false_positive', 11);
    decide(db, ids[2]!, 'not_sure', 20); // tx-0's second alert: withdraws the first's label
    expect(db.confirmedLabels().map((l) => [l.transactionId, l.label])).toEqual([['tx-1', 0]]);
    // Decided again later on the first alert: the latest decision over both alerts counts.
    decide(db, ids[0]!, 'false_positive', 30);
    expect(db.confirmedLabels().map((l) => [l.transactionId, l.label, l.alertId, l.at])).toEqual([
      ['tx-1', 0, ids[1], 11],
      ['tx-0', 0, ids[0], 30],
    ]);
    db.close();
    const { read } = new FeedbackSource(sd, new Set(), 3, cipher).collect([...KAGGLE_FEATURES]);
    expect(read).toMatchObject({ labels: 2, added: 2, fraud: 0, legit: 2, rows: 6 });
  });

  it('skips a label whose features are a row of the test split, whatever its id (an upload without ids)', () => {
    const sd = path.join(dir, 'test-rows');
    const cipher = createEnvelopeCipher(randomBytes(32));
    const db = new ConsoleDb(path.join(sd, 'console.sqlite'), cipher);
    // Ids the console made up for an upload without an id column ("<file>:<line>").
    const ids = db.insertApiAlerts(
      alerts(3, 7, (i) => `upload.csv:${i + 2}`),
      1,
    );
    for (const id of ids) decide(db, id, 'confirmed_fraud', 10);
    db.close();
    // The bank's test split holds the first two alerts' rows (and others).
    const rows = alerts(3, 7);
    const other = generateSynthetic({ rows: 4, fraudRate: 0.5, seed: 99 });
    const test = {
      features: Float32Array.from([...rows[0]!.features, ...other.features, ...rows[1]!.features]),
      labels: new Uint8Array(6),
      numRows: 6,
      numFeatures: 30,
      featureNames: [...KAGGLE_FEATURES],
    };
    const src = new FeedbackSource(sd, new Set(), 2, cipher, () => test);
    const { extra, read } = src.collect([...KAGGLE_FEATURES]);
    expect(read).toMatchObject({ labels: 3, added: 1, duplicates: 2, rows: 2 });
    expect(Array.from(extra!.features.subarray(0, 30))).toEqual(Array.from(rows[2]!.features));
  });
});

describe('feedback loop end to end', () => {
  it('trains the next round with the labels analysts confirm, on an encrypted state directory', async () => {
    const shards = await writeShards(dir, 2, 600);
    const stateA = path.join(dir, 'state-a');
    // The key startBank opens the state with (the state key is required).
    const { cipher } = openBankState(stateA, { key: TEST_STATE_KEY, source: 'test' });
    // Two labels before the federation starts.
    const db = new ConsoleDb(path.join(stateA, 'console.sqlite'));
    expect(db.cipher).toBe(cipher);
    const ids = db.insertApiAlerts(alerts(4, 7), 1);
    decide(db, ids[0]!, 'confirmed_fraud', 1);
    decide(db, ids[1]!, 'false_positive', 2);

    const agg = await startTestAggregator(path.join(dir, 'agg'), { autoStart: true, rules: { rounds: 3 } as never });
    const banks: BankClient[] = [];
    const reads: ({ roundId: number | null } & FeedbackRead)[] = [];
    try {
      const a = await startBank(agg, 'a', await createBank(agg, 'a'), shards[0]!, stateA, { feedbackWeight: 5 });
      banks.push(a);
      a.on('feedback', (r) => reads.push(r));
      let commits = 0;
      a.on('committed', () => commits++);
      // A third label as soon as the first global model is committed: counted from the next round.
      a.once('committed', () => decide(db, ids[2]!, 'confirmed_fraud', 3));
      banks.push(await startBank(agg, 'b', await createBank(agg, 'b'), shards[1]!, path.join(dir, 'state-b')));
      await waitFor('three commits seen by bank a', () => commits >= 3, 120_000);
      await a.idle();
      const rounds = reads.filter((r) => r.roundId !== null);
      expect(rounds.length, JSON.stringify(reads)).toBe(3);
      expect(rounds[0]).toMatchObject({ labels: 2, added: 2, fraud: 1, legit: 1, weight: 5, rows: 10 });
      expect(rounds.at(-1)).toMatchObject({ labels: 3, added: 3, fraud: 2, legit: 1, rows: 15 });
      // The console's feedback panel reads the history: labels per round, local metrics per model.
      const history = new FeedbackHistoryFile(stateA).read();
      expect(history.rounds.map((r) => r.added)).toEqual(rounds.map((r) => r.added));
      expect(history.evaluations.length).toBeGreaterThan(0);
      expect(history.evaluations[0]!.numExamples).toBeGreaterThan(0);
    } finally {
      banks.forEach((b) => b.stop());
      await agg.close();
      db.close();
    }
  }, 180_000);
});
