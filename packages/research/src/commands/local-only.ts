/**
 * `finsecure-local-only`: every bank trains alone on its shard for the federation's
 * budget (rounds × local epochs) and is evaluated on the shared test set.
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { Experiment } from '../experiment.js';
import { runLocalOnly, DEFAULT_ROUNDS, RESEARCH_TRAINING, type LocalOnlyResult } from '../training.js';
import { f4, localOnlyMarkdown, writeJson } from '../report.js';
import {
  addDataOptions,
  addTrainingOptions,
  consoleOutput,
  intArg,
  progressBar,
  smoteCapOf,
  strictCommand,
  type DataFlags,
  type FederationFlags,
  type Output,
  type TrainingFlags,
} from '../cli-support.js';
import { loadExperiment } from './baseline.js';
import { checkOutDir } from '../output-dirs.js';

export interface LocalOnlyFlags extends DataFlags, TrainingFlags, Pick<FederationFlags, 'rounds' | 'epochs'> {
  out: string;
}

export async function localOnlyAction(
  flags: LocalOnlyFlags,
  out: Output,
  exp?: Experiment,
): Promise<{ result: LocalOnlyResult; json: string; md: string }> {
  await checkOutDir(flags.out);
  exp ??= await loadExperiment(flags, out);
  const banks = exp.shards.length;
  const bar = progressBar(out, 'local-only', banks * flags.rounds, 'bank-rounds');
  const result = await runLocalOnly(exp, {
    rounds: flags.rounds,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    learningRate: flags.learningRate,
    smoteRatio: flags.smoteRatio,
    smoteK: flags.smoteK,
    smoteMaxMultiplier: smoteCapOf(flags),
    backend: flags.backend,
    onProgress: (b, r) => bar.update((b - 1) * flags.rounds + r),
  });
  bar.stop();
  const json = path.join(flags.out, 'local-only.json');
  const md = path.join(flags.out, 'local-only.md');
  await writeJson(json, result);
  await writeFile(md, localOnlyMarkdown(result));
  const s = result.summary;
  out.log(
    `Local-only: mean AUPRC ${f4(s.meanAuprc)}  worst ${f4(s.worstAuprc)} (bank ${s.worstBank})  best ${f4(s.bestAuprc)}  mean F1@0.5 ${f4(s.meanF1)}`,
  );
  out.log(`Wrote ${json} and ${md}`);
  return { result, json, md };
}

export function localOnlyCommand(out: Output = consoleOutput): Command {
  const cmd = new Command('local-only').description(
    "Local-only training: each bank trains alone on its own shard for the federation's budget (rounds × local epochs, " +
      "the bank client's own training routine) and is evaluated on the shared test set: what a bank gets without joining.",
  );
  addDataOptions(cmd);
  cmd.option('--rounds <n>', "the federation's rounds to match", intArg('--rounds', 1, 10_000), DEFAULT_ROUNDS);
  cmd.option('--epochs <n>', 'local epochs per round', intArg('--epochs', 1, 1000), RESEARCH_TRAINING.epochs);
  addTrainingOptions(cmd);
  cmd.option('--out <dir>', 'directory for local-only.json and local-only.md', 'data/research');
  strictCommand(cmd);
  cmd.action(async (flags: LocalOnlyFlags) => {
    await localOnlyAction(flags, out);
  });
  return cmd;
}
