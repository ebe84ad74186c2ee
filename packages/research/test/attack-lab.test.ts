/**
 * One short attack-lab run end to end: the real aggregator, six real bank clients over
 * loopback sockets, bank 1 hostile through the research relay (its updates scaled ×100).
 * Multi-Krum (f = 1) must leave the hostile update out of every round and no honest one;
 * the report names the run. Tiny data, two rounds.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareExperiment } from '../src/experiment.js';
import { runAttackLab } from '../src/attack/lab.js';
import { writeAttackReport } from '../src/attack/report.js';
import { RESEARCH_TRAINING } from '../src/training.js';

describe('attack lab, end to end', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a clean and a ×100 run under Multi-Krum and reports them', async () => {
    const exp = await prepareExperiment({
      synthetic: 6_000,
      fraudRate: 0.05,
      seed: 3,
      banks: 6,
      scheme: 'iid',
      alpha: 1,
      minFraudPerBank: 5,
      split: 'stratified',
      testFraction: 0.2,
    });
    const result = await runAttackLab(exp, {
      ...RESEARCH_TRAINING,
      smoteMaxMultiplier: 5,
      epochs: 1,
      attacks: ['scale-100'],
      strategies: ['multikrum'],
      malicious: [1],
      rounds: 2,
      roundTimeoutMs: 120_000,
      backend: 'wasm',
      trimFraction: 0.2,
      clipRadius: 10,
      clipIterations: 1,
      maxUpdateNorm: 1e9,
      signFlipScale: 4,
      gaussianSigma: 10,
      backdoorBoost: 6,
      backdoorFeatures: [26, 27, 28],
      backdoorCopies: 5,
    });
    expect(result.settings.byzantineF).toBe(1);
    expect(result.runs.map((r) => [r.strategy, r.attack, r.attackers, r.status])).toEqual([
      ['multikrum', 'none', [], 'ok'],
      ['multikrum', 'scale-100', [1], 'ok'],
    ]);
    const attacked = result.runs[1]!;
    expect(attacked.error).toBeNull();
    expect(attacked.rounds.map((r) => [r.status, r.excludedHostile, r.excludedHonest])).toEqual([
      ['committed', 1, 0],
      ['committed', 1, 0],
    ]);
    for (const run of result.runs) {
      expect(run.final.auprc).toBeGreaterThan(0);
      expect(run.final.backdoor).toBeGreaterThanOrEqual(0);
    }
    dir = await mkdtemp(path.join(tmpdir(), 'finsecure-attack-test-'));
    const files = await writeAttackReport(dir, result);
    const md = await readFile(files.md, 'utf8');
    expect(md).toContain('| scale-100 | 1 (1) |');
    expect(md).toContain('| scale-100 | multikrum | 1 | 2 / 2 | 0 / 10 |');
    expect(files.charts).toEqual(['attack-scale-100-1.svg']);
    expect(await readFile(path.join(dir, files.charts[0]!), 'utf8')).toMatch(
      /<svg[^>]*>[\s\S]*AUPRC per round: scale-100/,
    );
  }, 120_000);
});
