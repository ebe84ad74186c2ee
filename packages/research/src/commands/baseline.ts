/**
 * `npm run baseline`: the centralized baseline. Trains the federation's MLP on the
 * pooled training shards, with exactly the split and global scaler the simulation uses
 * (prepareExperiment), and evaluates it on the shared test set.
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { prepareExperiment, type Experiment } from '../experiment.js';
import { runBaseline, RESEARCH_TRAINING, DEFAULT_ROUNDS, type BaselineResult } from '../training.js';
import { baselineMarkdown, f4, writeJson } from '../report.js';
import {
  addDataOptions,
  addTrainingOptions,
  consoleOutput,
  experimentOptions,
  intArg,
  progressBar,
  smoteCapOf,
  strictCommand,
  type DataFlags,
  type Output,
  type TrainingFlags,
} from '../cli-support.js';
import { checkOutDir } from '../output-dirs.js';

/** Centralized epochs by default: the federation's total budget (rounds × local epochs). */
export const BASELINE_EPOCHS = DEFAULT_ROUNDS * RESEARCH_TRAINING.epochs;

export interface BaselineFlags extends DataFlags, TrainingFlags {
  epochs: number;
  smote: boolean;
  out: string;
}

/** Loads the data with a progress bar and prepares the experiment. */
export async function loadExperiment(flags: DataFlags, out: Output): Promise<Experiment> {
  const opts = experimentOptions(flags);
  const bar = opts.data !== undefined ? progressBar(out, 'loading', 100, '%') : null;
  const started = performance.now();
  const exp = await prepareExperiment({
    ...opts,
    ...(bar
      ? {
          onLoadProgress: (_rows: number, bytes: number, total: number) =>
            bar.update(total > 0 ? Math.round((100 * bytes) / total) : 0),
        }
      : {}),
  });
  bar?.update(100);
  bar?.stop();
  const s = exp.summary;
  out.log(
    `Prepared ${exp.totalRows.toLocaleString('en-US')} rows (${exp.totalFrauds} frauds) in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
      `train ${s.train.rows.toLocaleString('en-US')} rows in ${exp.shards.length} shard(s) (${exp.spec.scheme}${exp.spec.alpha !== null ? ` α=${exp.spec.alpha}` : ''}), ` +
      `test ${s.test.rows.toLocaleString('en-US')} rows / ${s.test.frauds} frauds (${exp.spec.split} split)`,
  );
  return exp;
}

export async function baselineAction(
  flags: BaselineFlags,
  out: Output,
  exp?: Experiment,
): Promise<{ result: BaselineResult; json: string; md: string }> {
  await checkOutDir(flags.out);
  exp ??= await loadExperiment(flags, out);
  const bar = progressBar(out, 'centralized', flags.epochs, 'epochs', ' | loss {loss}');
  const result = await runBaseline(exp, {
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    learningRate: flags.learningRate,
    smote: flags.smote,
    smoteRatio: flags.smoteRatio,
    smoteK: flags.smoteK,
    smoteMaxMultiplier: smoteCapOf(flags),
    backend: flags.backend,
    onEpoch: (e, loss) => bar.update(e, { loss: loss.toFixed(4) }),
  });
  bar.stop();
  const json = path.join(flags.out, 'baseline.json');
  const md = path.join(flags.out, 'baseline.md');
  await writeJson(json, result);
  await writeFile(md, baselineMarkdown(result));
  const m = result.metrics;
  out.log(
    `Centralized: AUPRC ${f4(m.auprc)}  ROC AUC ${f4(m.rocAuc)}  F1@0.5 ${f4(m.f1)} (P ${f4(m.precision)} R ${f4(m.recall)})  ` +
      `best F1 ${f4(m.bestF1.f1)} @ ${f4(m.bestF1.threshold)}  recall@1%FPR ${f4(m.recallAt1PctFpr)}  trained in ${(result.trainMs / 1000).toFixed(1)} s`,
  );
  out.log(`Wrote ${json} and ${md}`);
  return { result, json, md };
}

export function baselineCommand(out: Output = consoleOutput): Command {
  const cmd = new Command('baseline').description(
    "Centralized baseline: trains the federation's MLP on all banks' training rows pooled, with exactly the split and " +
      'global scaler the federated simulation uses (the partition flags only reproduce that split), and reports precision, ' +
      'recall and F1 at 0.5 and at the best-F1 threshold, AUPRC, ROC AUC, recall at 1 % FPR and training time, as JSON and Markdown.',
  );
  addDataOptions(cmd);
  cmd.option(
    '--epochs <n>',
    "training epochs over the pooled data; the default is the federation's default rounds × local epochs",
    intArg('--epochs', 1, 10_000),
    BASELINE_EPOCHS,
  );
  cmd.option('--smote', 'oversample frauds in the pooled training data with SMOTE to --smote-ratio', false);
  addTrainingOptions(cmd);
  cmd.option('--out <dir>', 'directory for baseline.json and baseline.md', 'data/research');
  strictCommand(cmd);
  cmd.action(async (flags: BaselineFlags) => {
    await baselineAction(flags, out);
  });
  return cmd;
}
