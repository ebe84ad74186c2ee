/**
 * `npm run simulate`: a real aggregator and N real bank clients over loopback sockets,
 * on the experiment's shards, all evaluated on the shared test set. Writes the per-round
 * record (simulation.json) and a Markdown summary (simulation.md).
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { Experiment } from '../experiment.js';
import { checkSecureAggregation, runSimulation, type RoundResult, type SimulationResult } from '../simulate.js';
import { epsilonCell, f4, simulationMarkdown, writeJson } from '../report.js';
import {
  addDataOptions,
  addFederationOptions,
  addTrainingOptions,
  checkQuorum,
  consoleOutput,
  dpOf,
  progressBar,
  strategyOf,
  smoteCapOf,
  strictCommand,
  type DataFlags,
  type FederationFlags,
  type Output,
  type TrainingFlags,
} from '../cli-support.js';
import { loadExperiment } from './baseline.js';
import { checkKeepDir, checkOutDir } from '../output-dirs.js';

export interface SimulateFlags extends DataFlags, TrainingFlags, FederationFlags {
  out: string;
  keep?: string;
}

export function roundLine(r: RoundResult, dp: { noiseMultiplier: number } | undefined): string {
  if (r.status !== 'committed')
    return `  round ${String(r.round).padStart(3)}  FAILED: ${r.failureReason ?? 'unknown'}`;
  const m = r.metrics;
  return (
    `  round ${String(r.round).padStart(3)}  AUPRC ${f4(m?.auprc)}  F1 ${f4(m?.f1)}  P ${f4(m?.precision)}  R ${f4(m?.recall)}  ` +
    `loss ${f4(m?.loss)}  ${r.participants}/${r.selected} banks  ${(r.bytes / 1e6).toFixed(2)} MB  ${((r.durations.totalMs ?? 0) / 1000).toFixed(1)} s` +
    (dp ? `  cumulative ε ${epsilonCell(dp, r.epsilon)}` : '')
  );
}

export async function simulateAction(
  flags: SimulateFlags,
  out: Output,
  exp?: Experiment,
  /** Base name of the JSON and Markdown files in --out (compare writes the secure run as simulation-secure). */
  name = 'simulation',
): Promise<{ result: SimulationResult; json: string; md: string }> {
  const dp = dpOf(flags);
  await checkOutDir(flags.out);
  if (flags.keep !== undefined) await checkKeepDir(flags.keep);
  const strategy = strategyOf(flags);
  checkQuorum(flags, flags.banks);
  if (flags.secureAggregation)
    checkSecureAggregation({ maxShare: flags.maxShare, quorum: flags.quorum, banks: flags.banks });
  exp ??= await loadExperiment(flags, out);
  const bar = progressBar(
    out,
    flags.secureAggregation ? 'secure' : 'federated',
    flags.rounds,
    'rounds',
    ' | AUPRC {auprc}',
  );
  const result = await runSimulation(exp, {
    rounds: flags.rounds,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    learningRate: flags.learningRate,
    smoteRatio: flags.smoteRatio,
    smoteK: flags.smoteK,
    smoteMaxMultiplier: smoteCapOf(flags),
    ...(flags.quorum !== undefined ? { quorum: flags.quorum } : {}),
    ...(flags.grace !== undefined ? { graceMs: flags.grace } : {}),
    roundTimeoutMs: flags.roundTimeout,
    ...(dp ? { dp } : {}),
    strategy,
    secureAggregation: flags.secureAggregation,
    updateEncoding: flags.updateEncoding,
    backend: flags.backend,
    logLevel: flags.logLevel,
    ...(flags.keep !== undefined ? { workDir: flags.keep } : {}),
    onStage: (m) => {
      if (!out.interactive) out.log(`  ${m}`);
    },
    onRound: (r, committed) => {
      if (out.interactive) bar.update(committed, { auprc: f4(r.metrics?.auprc) });
      else out.log(roundLine(r, dp));
    },
  });
  bar.stop();
  const json = path.join(flags.out, `${name}.json`);
  const md = path.join(flags.out, `${name}.md`);
  await writeJson(json, result);
  await writeFile(md, simulationMarkdown(result));
  const m = result.final;
  out.log(
    `${flags.secureAggregation ? 'Federated with secure aggregation' : 'Federated'} after ${result.totals.committed} rounds: AUPRC ${f4(m?.auprc)}  ROC AUC ${f4(m?.rocAuc)}  F1@0.5 ${f4(m?.f1)}  best F1 ${f4(m?.bestF1.f1)}  ` +
      `recall@1%FPR ${f4(m?.recallAt1PctFpr)}  ${(result.totals.bytes / 1e6).toFixed(1)} MB  ${(result.totals.wallMs / 1000).toFixed(1)} s` +
      (result.scalerCheck.identical
        ? ''
        : `  (scaler differs from the baseline's by ${result.scalerCheck.maxAbsDiff})`),
  );
  out.log(`Wrote ${json} and ${md}`);
  return { result, json, md };
}

export function simulateCommand(out: Output = consoleOutput): Command {
  const cmd = new Command('simulate').description(
    'Federated simulation with the real system: starts an aggregator (in-process, random port, temporary SQLite) and one ' +
      'real bank client per shard over loopback WebSockets, runs FedAvg rounds, and writes per-round metrics (exact metrics ' +
      "of each global model on the shared test set and the federation's own), bytes, durations and ε when DP is on.",
  );
  addDataOptions(cmd);
  addFederationOptions(cmd);
  addTrainingOptions(cmd);
  cmd.option(
    '--keep <dir>',
    'keep shards, the SQLite database and bank state in this new or empty directory (default: a temp dir, removed)',
  );
  cmd.option('--out <dir>', 'directory for simulation.json and simulation.md', 'data/research');
  strictCommand(cmd);
  cmd.action(async (flags: SimulateFlags) => {
    await simulateAction(flags, out);
  });
  return cmd;
}
