/**
 * `npm run compare`: runs (or reuses the JSON of) the centralized baseline, the federated
 * simulation and local-only training on one experiment and writes report.md with SVG
 * charts: federated AUPRC and F1 per round against the centralized line and the
 * local-only mean and worst bank, bytes per round, and ε per round when DP is on.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { Experiment } from '../experiment.js';
import type { BaselineResult, LocalOnlyResult } from '../training.js';
import { checkSecureAggregation, defaultGraceMs, type SimulationResult } from '../simulate.js';
import { appendFile } from 'node:fs/promises';
import { compareResults, writeComparisonReport } from '../comparison-report.js';
import { f4 } from '../report.js';
import { secureComparisonMarkdown } from '../secure-report.js';
import {
  addDataOptions,
  addFederationOptions,
  addTrainingOptions,
  checkQuorum,
  consoleOutput,
  dpOf,
  experimentOptions,
  intArg,
  strategyOf,
  smoteCapOf,
  strictCommand,
  type DataFlags,
  type FederationFlags,
  type Output,
  type TrainingFlags,
} from '../cli-support.js';
import { baselineAction, loadExperiment } from './baseline.js';
import { simulateAction } from './simulate.js';
import { localOnlyAction } from './local-only.js';
import { checkOutDir } from '../output-dirs.js';

export interface CompareFlags extends DataFlags, TrainingFlags, FederationFlags {
  out: string;
  baselineEpochs?: number;
  reuse: boolean;
  title?: string;
  keep?: string;
}

function readResult<T>(file: string, kind: string): T | null {
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { kind?: string };
    return v.kind === kind ? (v as T) : null;
  } catch {
    return null;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function compareAction(
  flags: CompareFlags,
  out: Output,
): Promise<{
  report: string;
  baseline: BaselineResult;
  simulation: SimulationResult;
  localOnly: LocalOnlyResult;
  /** With --secure-aggregation: the same federation over masked updates (simulation stays the plaintext run). */
  secure?: SimulationResult;
}> {
  const dp = dpOf(flags);
  const strategy = strategyOf(flags);
  checkQuorum(flags, flags.banks);
  if (flags.secureAggregation)
    checkSecureAggregation({ maxShare: flags.maxShare, quorum: flags.quorum, banks: flags.banks });
  experimentOptions(flags); // flag errors before any work
  await checkOutDir(flags.out);
  const baselineEpochs = flags.baselineEpochs ?? flags.rounds * flags.epochs;
  const smote = flags.smoteRatio > 0;
  let exp: Experiment | undefined;
  const experiment = async () => (exp ??= await loadExperiment(flags, out));

  // Reuse a result only when it was made for the same experiment and settings.
  const fresh = async () => (flags.reuse ? (await experiment()).fingerprint : null);
  const fingerprint = await fresh();
  // An explicit --backend must match the one the result ran on (the backends round differently).
  const reusable = <T extends { experiment: { fingerprint: string }; training: object; backend?: string }>(
    r: T | null,
    training: object,
  ): T | null =>
    r &&
    fingerprint !== null &&
    r.experiment.fingerprint === fingerprint &&
    (flags.backend === 'auto' || r.backend === flags.backend) &&
    same(pickKeys(r.training, training), training)
      ? r
      : null;

  const common = {
    batchSize: flags.batchSize,
    learningRate: flags.learningRate,
    smoteRatio: flags.smoteRatio,
    smoteK: flags.smoteK,
    smoteMaxMultiplier: smoteCapOf(flags),
  };
  let baseline = reusable(readResult<BaselineResult>(path.join(flags.out, 'baseline.json'), 'baseline'), {
    ...common,
    epochs: baselineEpochs,
    smote,
  });
  if (baseline) out.log(`Reusing ${path.join(flags.out, 'baseline.json')}`);
  else baseline = (await baselineAction({ ...flags, epochs: baselineEpochs, smote }, out, await experiment())).result;

  let localOnly = reusable(readResult<LocalOnlyResult>(path.join(flags.out, 'local-only.json'), 'local-only'), {
    ...common,
    rounds: flags.rounds,
    epochs: flags.epochs,
  });
  if (localOnly) out.log(`Reusing ${path.join(flags.out, 'local-only.json')}`);
  else localOnly = (await localOnlyAction(flags, out, await experiment())).result;

  const simTraining = {
    ...common,
    rounds: flags.rounds,
    epochs: flags.epochs,
    ...strategy,
    updateEncoding: flags.updateEncoding,
    dp: dp ?? null,
    quorum: flags.quorum ?? flags.banks,
    // Every setting of the federation's rounds: a run made with another wait or timeout is another run.
    graceMs: flags.grace ?? defaultGraceMs(flags.quorum ?? flags.banks, flags.banks),
    roundTimeoutMs: flags.roundTimeout,
  };
  // The plaintext run is always simulation.json (the report's federated arm); with
  // --secure-aggregation the same federation also runs over masked updates, in simulation-secure.json.
  const plainFlags = { ...flags, secureAggregation: false };
  let simulation = reusable(readResult<SimulationResult>(path.join(flags.out, 'simulation.json'), 'simulation'), {
    ...simTraining,
    secureAggregation: false,
  });
  if (simulation) out.log(`Reusing ${path.join(flags.out, 'simulation.json')}`);
  else simulation = (await simulateAction(plainFlags, out, await experiment())).result;
  let secure: SimulationResult | undefined;
  if (flags.secureAggregation) {
    secure =
      reusable(readResult<SimulationResult>(path.join(flags.out, 'simulation-secure.json'), 'simulation'), {
        ...simTraining,
        secureAggregation: true,
      }) ?? undefined;
    if (secure) out.log(`Reusing ${path.join(flags.out, 'simulation-secure.json')}`);
    else {
      // Its own --keep directory: the plaintext run's database and banks are already in flags.keep.
      const secureFlags = { ...flags, ...(flags.keep !== undefined ? { keep: path.join(flags.keep, 'secure') } : {}) };
      secure = (await simulateAction(secureFlags, out, await experiment(), 'simulation-secure')).result;
    }
  }

  const { report, charts } = await writeComparisonReport(flags.out, baseline, simulation, localOnly, flags.title);
  if (secure) await appendFile(report, '\n' + secureComparisonMarkdown(simulation, secure));
  const c = compareResults(baseline, simulation, localOnly);
  out.log('');
  out.log(
    `AUPRC  centralized ${f4(c.centralizedAuprc)}  federated ${f4(c.federatedAuprc)} (${(100 * c.ratio).toFixed(1)} % of centralized: ${c.meetsRatio ? 'target met' : 'TARGET MISSED'})  local-only mean ${f4(c.localMeanAuprc)} / worst ${f4(c.localWorstAuprc)} (federated ${c.beatsLocal ? 'clearly above' : 'NOT clearly above'} the mean)`,
  );
  if (secure)
    out.log(
      `AUPRC  plaintext ${f4(simulation.final?.auprc)}  secure ${f4(secure.final?.auprc)}  (secure − plaintext ${
        simulation.final && secure.final ? (secure.final.auprc - simulation.final.auprc).toFixed(4) : 'n/a'
      })`,
    );
  out.log(`Wrote ${report} with ${charts.join(', ')}`);
  return { report, baseline, simulation, localOnly, ...(secure ? { secure } : {}) };
}

function pickKeys(obj: object, like: object): Record<string, unknown> {
  const src = obj as Record<string, unknown>;
  // Results written before --secure-aggregation existed were plaintext runs.
  return Object.fromEntries(Object.keys(like).map((k) => [k, src[k] ?? (k === 'secureAggregation' ? false : null)]));
}

export function compareCommand(out: Output = consoleOutput): Command {
  const cmd = new Command('compare').description(
    'Federated vs centralized vs local-only on one experiment: runs the baseline, the federated simulation and local-only ' +
      'training (or, with --reuse, reuses their JSON in --out when it was made with the same data and settings) and writes ' +
      "report.md with SVG charts. Centralized training gets the federation's budget (rounds × epochs) and the same SMOTE " +
      '(ratio and cap, on the pooled data) iff --smote-ratio > 0.',
  );
  addDataOptions(cmd);
  addFederationOptions(cmd);
  addTrainingOptions(cmd);
  cmd.option(
    '--baseline-epochs <n>',
    'centralized epochs (default: rounds × epochs)',
    intArg('--baseline-epochs', 1, 10_000),
  );
  cmd.option(
    '--reuse',
    'reuse baseline.json, simulation.json and local-only.json in --out when they match this experiment',
    false,
  );
  cmd.option('--title <text>', 'title of the report');
  cmd.option(
    '--keep <dir>',
    "keep the simulation's shards, SQLite database and bank state in this new or empty directory (with --secure-aggregation, the secure run's in <dir>/secure)",
  );
  cmd.option('--out <dir>', 'report directory (report.md, *.svg, and the three JSON results)', 'data/research');
  strictCommand(cmd);
  cmd.action(async (flags: CompareFlags) => {
    await compareAction(flags, out);
  });
  return cmd;
}
