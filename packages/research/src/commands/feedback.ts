/**
 * `npm run feedback`: the analysts' feedback loop measured with an oracle analyst
 * (feedback/harness.ts): false positives at a fixed recall after N rounds, with and
 * without the loop, on one experiment per seed. Writes feedback.json and feedback.md.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../temp-dirs.js';
import { Command } from 'commander';
import { DEFAULT_FEEDBACK_WEIGHT } from '@finsecure/bank-client';
import { describeExperiment } from '../experiment.js';
import { writeJson } from '../report.js';
import {
  addDataOptions,
  addTrainingOptions,
  consoleOutput,
  intArg,
  numArg,
  progressBar,
  smoteCapOf,
  strictCommand,
  UsageError,
  type DataFlags,
  type Output,
  type TrainingFlags,
} from '../cli-support.js';
import { RESEARCH_TRAINING } from '../training.js';
import { loadExperiment } from './baseline.js';
import { runFeedbackExperiment } from '../feedback/harness.js';
import { feedbackMarkdown, type FeedbackReport } from '../feedback/report.js';
import { checkOutDir } from '../output-dirs.js';

export interface FeedbackFlags extends DataFlags, TrainingFlags {
  rounds: number;
  epochs: number;
  reviews: number;
  weight: number;
  streamFraction: number;
  recall: number;
  seeds?: string;
  out: string;
}

/**
 * --seeds: distinct integers in 0..2,147,483,647 (--seed's range), comma-separated. Each seed is a
 * run with its own work directory, so a repeated seed (also `0` and `-0`) is refused, as is an
 * empty item (`1,,2`), which Number() would read as seed 0. Throws UsageError naming the item.
 */
export function parseSeeds(list: string): number[] {
  const seen = new Set<number>();
  return list.split(',').map((item) => {
    const t = item.trim();
    const n = /^\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n > 2_147_483_647)
      throw new UsageError(
        `--seeds: "${t}" is not a seed (an integer from 0 to 2147483647); give them comma-separated, e.g. 1,2,3 (got "${list}")`,
      );
    if (seen.has(n)) throw new UsageError(`--seeds: seed ${n} is given twice (got "${list}")`);
    seen.add(n);
    return n;
  });
}

export async function feedbackAction(
  flags: FeedbackFlags,
  out: Output,
): Promise<{ report: FeedbackReport; json: string; md: string }> {
  const seeds = flags.seeds !== undefined ? parseSeeds(flags.seeds) : [flags.seed];
  await checkOutDir(flags.out);
  const settings = {
    rounds: flags.rounds,
    reviewsPerRound: flags.reviews,
    weight: flags.weight,
    streamFraction: flags.streamFraction,
    recall: flags.recall,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    learningRate: flags.learningRate,
    smoteRatio: flags.smoteRatio,
    smoteK: flags.smoteK,
    smoteMaxMultiplier: smoteCapOf(flags),
    backend: flags.backend,
  };
  const report: FeedbackReport = {
    kind: 'feedback',
    version: 1,
    createdAt: new Date().toISOString(),
    experiment: null,
    settings,
    runs: [],
  };
  const workDir = await makeTempDir('finsecure-feedback-');
  try {
    for (const seed of seeds) {
      const exp = await loadExperiment({ ...flags, seed }, out);
      report.experiment ??= describeExperiment(exp);
      const bar = progressBar(out, `feedback, seed ${seed}`, 2 * flags.rounds, 'rounds');
      const result = await runFeedbackExperiment(exp, {
        ...settings,
        workDir: path.join(workDir, `seed-${seed}`),
        onProgress: (arm, r) => bar.update((arm === 'with' ? flags.rounds : 0) + r),
      });
      bar.stop();
      report.runs.push({ seed, result });
      const a = result.arms.without.rounds.at(-1)!;
      const b = result.arms.with.rounds.at(-1)!;
      out.log(
        `seed ${seed}: false positives at recall ${flags.recall} after ${flags.rounds} rounds: ` +
          `${a.atRecall.falsePositives} without feedback, ${b.atRecall.falsePositives} with (${b.feedbackLabels} labels)`,
      );
    }
  } finally {
    await removeTempDir(workDir);
  }
  const json = path.join(flags.out, 'feedback.json');
  const md = path.join(flags.out, 'feedback.md');
  await writeJson(json, report);
  await writeFile(md, feedbackMarkdown(report));
  out.log(`Wrote ${json} and ${md}`);
  return { report, json, md };
}

export function feedbackCommand(out: Output = consoleOutput): Command {
  const cmd = new Command('feedback').description(
    "The analysts' feedback loop, measured: each round every bank trains with the bank client's own routine, then an " +
      'oracle analyst reviews the top alerts of its new transactions; with feedback the confirmed labels join the next ' +
      "rounds' training (the bank client's FeedbackSource: deduplicated, --weight copies). Reports false positives at a " +
      'fixed recall on the shared test set after every round, with and without the loop.',
  );
  addDataOptions(cmd);
  cmd.option('--rounds <n>', 'federated rounds', intArg('--rounds', 1, 1000), 10);
  cmd.option('--epochs <n>', 'local epochs per round', intArg('--epochs', 1, 1000), RESEARCH_TRAINING.epochs);
  cmd.option('--reviews <k>', 'alerts the oracle reviews per bank per round', intArg('--reviews', 1, 100_000), 20);
  cmd.option(
    '--weight <k>',
    "copies of each confirmed label in training (the bank client's --feedback-weight)",
    intArg('--weight', 1, 100),
    DEFAULT_FEEDBACK_WEIGHT,
  );
  cmd.option(
    '--stream-fraction <f>',
    "fraction of each bank's shard held back as its new, unlabelled transactions (the last rows), one slice per round",
    numArg('--stream-fraction', (v) => v > 0 && v < 1, 'a number in (0, 1)'),
    0.3,
  );
  cmd.option(
    '--recall <r>',
    'recall at which false positives are counted',
    numArg('--recall', (v) => v > 0 && v <= 1, 'a number in (0, 1]'),
    0.8,
  );
  cmd.option('--seeds <list>', 'run once per seed (comma-separated; overrides --seed), e.g. 1,2,3');
  addTrainingOptions(cmd);
  cmd.option('--out <dir>', 'directory for feedback.json and feedback.md', 'data/research');
  strictCommand(cmd);
  cmd.action(async (flags: FeedbackFlags) => {
    await feedbackAction(flags, out);
  });
  return cmd;
}
