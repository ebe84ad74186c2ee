/**
 * Committed models are scored with the federation's own scaler: a bank whose data moves the
 * merged scaler (here its amounts ×1000, as a poisoned shard would) must not be scored with the
 * experiment's clean one. Two real banks, one round, tiny data.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { applyScaler, loadCsv, writeCsv, type Scaler } from '@finsecure/common/data';
import { manifestFor, MlpTrainer } from '@finsecure/common/model';
import { evaluateTrainer } from '../src/evaluate.js';
import { prepareExperiment } from '../src/experiment.js';
import { runSimulation } from '../src/simulate.js';
import { modelSpec, RESEARCH_TRAINING } from '../src/training.js';

let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("scores each committed model on the test set scaled with the federation's scaler", async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'finsecure-sim-scaler-'));
  const exp = await prepareExperiment({
    synthetic: 3_000,
    fraudRate: 0.05,
    seed: 4,
    banks: 2,
    scheme: 'iid',
    alpha: 1,
    minFraudPerBank: 5,
    split: 'stratified',
    testFraction: 0.2,
  });
  const seen: { scaler: Scaler; auprc: number }[] = [];
  const spec = modelSpec(exp.numFeatures);
  const result = await runSimulation(exp, {
    ...RESEARCH_TRAINING,
    smoteMaxMultiplier: 5,
    epochs: 1,
    rounds: 1,
    backend: 'wasm',
    // Bank 1's amounts ×1000: the merged scaler moves off the experiment's.
    prepareBank: async (bank) => {
      if (bank.index !== 0) return bank;
      const loaded = await loadCsv(bank.data);
      const ds = loaded.dataset;
      const amount = ds.featureNames.indexOf('Amount');
      for (let i = 0; i < ds.numRows; i++) ds.features[i * ds.numFeatures + amount]! *= 1000;
      const data = path.join(dir, 'bank-1-amounts.csv');
      await writeCsv(ds, data);
      return { ...bank, data };
    },
    extraMetrics: (weights, scaler) => {
      const t = new MlpTrainer(spec, { data: weights, manifest: manifestFor(spec) });
      const auprc = evaluateTrainer(t, applyScaler(exp.test, scaler)).auprc;
      t.dispose();
      seen.push({ scaler, auprc });
      return {};
    },
  });
  expect(result.scalerCheck.identical).toBe(false);
  expect(seen).toHaveLength(1);
  const amount = exp.test.featureNames.indexOf('Amount');
  expect(seen[0]!.scaler.mean[amount]).not.toBeCloseTo(exp.scaler.mean[amount]!, 3);
  // The round's reported metrics are those of the federation's scaler, not the clean one's.
  expect(result.rounds[0]!.metrics!.auprc).toBe(seen[0]!.auprc);
}, 180_000);
