/**
 * `simulate --secure-aggregation` and `compare --secure-aggregation` as a user runs them: the
 * aggregator runs the secagg workflow (its stored stages are those of SecAgg+), and compare runs
 * the same federation plaintext and secure and puts their AUPRC side by side in report.md.
 * Tiny data (3 banks, 2 rounds, 1 epoch).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { generateSynthetic, writeCsv } from '@finsecure/common/data';
import { simulateCommand } from '../src/commands/simulate.js';
import { compareCommand } from '../src/commands/compare.js';
import type { Output } from '../src/cli-support.js';
import type { SimulationResult } from '../src/simulate.js';
import { secureComparisonMarkdown, stageMeans } from '../src/secure-report.js';

let dir: string;
let csv: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'finsecure-research-secagg-'));
  csv = path.join(dir, 'tiny.csv');
  await writeCsv(generateSynthetic({ rows: 1500, fraudRate: 0.06, seed: 5 }), csv);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(make: (out: Output) => Command, args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const cmd = make({ interactive: false, log: (l) => lines.push(l) });
  cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: (s) => lines.push(s) });
  await cmd.parseAsync(args, { from: 'user' });
  return lines;
}

const readSim = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as SimulationResult;
// The fit pass, then the evaluation pass (a second secure sum, of the evaluation counts).
const SECAGG_STAGES = [
  'advertise_keys',
  'share_keys',
  'masked_fit',
  'consistency_check',
  'unmask',
  'eval_advertise_keys',
  'eval_share_keys',
  'masked_evaluate',
  'eval_consistency_check',
  'eval_unmask',
];
const BASE = ['--banks', '3', '--rounds', '2', '--epochs', '1', '--backend', 'wasm'];

describe('the secure-vs-plaintext section', () => {
  const run = (auprc: number, dp: { clip: number; noiseMultiplier: number; delta: number } | null) =>
    ({
      training: { dp },
      rounds: [{ round: 1, status: 'committed', metrics: { auprc }, durations: { totalMs: 1000 }, stages: [] }],
      final: { auprc },
    }) as unknown as SimulationResult;

  it('judges equivalence without DP, and with DP says the arms add different noise instead', () => {
    expect(secureComparisonMarkdown(run(0.5, null), run(0.502, null))).toMatch(/differs by 0\.0020 \(within 0\.005\)/);
    const dp = { clip: 1, noiseMultiplier: 1.1, delta: 1e-5 };
    const text = secureComparisonMarkdown(run(0.04, dp), run(0.1, dp));
    expect(text).toMatch(/each adds only its share, σ = zC\/√q \(distributed DP/);
    expect(text).toMatch(/no equivalence is judged/);
    expect(text).not.toMatch(/NOT within/);
  });
});

describe('research --secure-aggregation', () => {
  it('simulate runs the secagg workflow and records its stages', async () => {
    const out = path.join(dir, 'sim');
    const lines = await run(simulateCommand, ['--data', csv, ...BASE, '--secure-aggregation', '--out', out]);
    expect(lines.some((l) => l.startsWith('Federated with secure aggregation after 2 rounds'))).toBe(true);
    const sim = readSim(path.join(out, 'simulation.json'));
    expect(sim.training.secureAggregation).toBe(true);
    expect(sim.rounds.map((r) => r.status)).toEqual(['committed', 'committed']);
    for (const r of sim.rounds) expect(r.stages!.map((s) => s.name)).toEqual(SECAGG_STAGES);
    expect(stageMeans(sim).map((s) => s.name)).toEqual(SECAGG_STAGES);
    expect(readFileSync(path.join(out, 'simulation.md'), 'utf8')).toContain('Secure aggregation (SecAgg+)');
  }, 180_000);

  it('compare runs plaintext and secure and reports their AUPRC side by side', async () => {
    const out = path.join(dir, 'compare');
    const lines = await run(compareCommand, ['--data', csv, ...BASE, '--secure-aggregation', '--out', out]);
    expect(readdirSync(out)).toEqual(
      expect.arrayContaining(['simulation.json', 'simulation-secure.json', 'report.md']),
    );
    const plain = readSim(path.join(out, 'simulation.json'));
    const secure = readSim(path.join(out, 'simulation-secure.json'));
    expect(plain.training.secureAggregation).toBe(false);
    expect(plain.rounds[0]!.stages!.map((s) => s.name)).toEqual(['fit', 'evaluate']);
    expect(secure.training.secureAggregation).toBe(true);
    // Same federation, masked or not: the secure model is the plaintext one within the fixed-point bound.
    expect(Math.abs(secure.final!.auprc - plain.final!.auprc)).toBeLessThan(0.005);

    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('## Secure aggregation vs plaintext');
    const section = report.slice(report.indexOf('## Secure aggregation vs plaintext'));
    const row = (round: number) =>
      section
        .split('\n')
        .find((l) => l.startsWith(`| ${round} | `))!
        .split('|')
        .map((c) => c.trim());
    for (const [i, r] of plain.rounds.entries()) {
      const cells = row(r.round);
      expect(cells[2]).toBe(r.metrics!.auprc.toFixed(4));
      expect(cells[3]).toBe(secure.rounds[i]!.metrics!.auprc.toFixed(4));
    }
    expect(section).toMatch(/\| masked fit \| \d+ \| 0 \|/);
    expect(lines.some((l) => /^AUPRC {2}plaintext [\d.]+ {2}secure [\d.]+/.test(l))).toBe(true);

    // --reuse reuses both federated runs (and the baseline and local-only ones).
    const again = await run(compareCommand, ['--data', csv, ...BASE, '--secure-aggregation', '--out', out, '--reuse']);
    expect(again.filter((l) => l.startsWith('Reusing'))).toHaveLength(4);
  }, 300_000);
});
