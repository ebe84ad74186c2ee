/**
 * `npm run attack`: the attack lab (attack/lab.ts). The real aggregator and one real bank
 * client per shard, some of them hostile through the research bank client, for every attack ×
 * strategy × number of attackers plus a clean run per strategy; writes attack.json, attack.md
 * and SVG charts.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { STRATEGY_NAMES, type StrategyName } from '@finsecure/common/strategy';
import { DEFAULT_RULES } from '@finsecure/aggregator';
import { ATTACK_KINDS, isAttackKind, type AttackKind } from '../attack/attacks.js';
import { runAttackLab, type AttackLabResult } from '../attack/lab.js';
import { writeAttackReport } from '../attack/report.js';
import { f4 } from '../report.js';
import {
  addDataOptions,
  addTrainingOptions,
  consoleOutput,
  intArg,
  numArg,
  smoteCapOf,
  strictCommand,
  UsageError,
  type DataFlags,
  type Output,
  type TrainingFlags,
} from '../cli-support.js';
import { RESEARCH_TRAINING } from '../training.js';
import { loadExperiment } from './baseline.js';
import { checkOutDir } from '../output-dirs.js';

export interface AttackFlags extends DataFlags, TrainingFlags {
  malicious: number[];
  attack: AttackKind[];
  strategy: StrategyName[];
  attackers?: number[];
  rounds: number;
  epochs: number;
  roundTimeout: number;
  byzantineF?: number;
  trimFraction: number;
  clipRadius: number;
  clipIterations: number;
  maxUpdateNorm: number;
  signFlipScale: number;
  gaussianSigma: number;
  backdoorBoost?: number;
  backdoorFeatures?: string[];
  backdoorCopies: number;
  logLevel: string;
  out: string;
}

/** "1,2,3" → [1, 2, 3] (integers ≥ 1). */
export function intList(flag: string) {
  return (raw: string): number[] => {
    const parts = raw.split(',').map((s) => s.trim());
    const out = parts.map(Number);
    if (parts.some((p) => p === '') || out.some((v) => !Number.isInteger(v) || v < 1))
      throw new InvalidArgumentError(`${flag} must be a comma-separated list of integers ≥ 1, got "${raw}".`);
    return out;
  };
}

function nameList<T extends string>(flag: string, known: readonly T[]) {
  return (raw: string): T[] => {
    const out = raw.split(',').map((s) => s.trim());
    const bad = out.filter((s) => !(known as readonly string[]).includes(s));
    if (bad.length)
      throw new InvalidArgumentError(
        `${flag}: unknown ${bad.map((b) => `"${b}"`).join(', ')}; choose from ${known.join(', ')}.`,
      );
    return out as T[];
  };
}

/** Trigger columns by name (or 0-based index); default the three columns before the last. */
export function triggerColumns(names: string[] | undefined, featureNames: readonly string[]): number[] {
  if (!names) {
    const d = featureNames.length;
    if (d < 4) throw new UsageError(`the data has ${d} features; give --backdoor-features`);
    return [d - 4, d - 3, d - 2];
  }
  const columns = names.map((raw) => {
    const n = raw.trim();
    // An empty item ("a,,b", " , ") is a typo, not column 0 (which Number('') would make it).
    if (n === '') throw new UsageError(`--backdoor-features: an empty name in "${names.join(',')}"`);
    const byName = featureNames.indexOf(n);
    if (byName >= 0) return byName;
    const j = /^\d+$/.test(n) ? Number(n) : NaN;
    if (Number.isInteger(j) && j >= 0 && j < featureNames.length) return j;
    throw new UsageError(`--backdoor-features: "${n}" is not a feature (${featureNames.join(', ')}) or a column index`);
  });
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice !== undefined)
    throw new UsageError(`--backdoor-features names column ${twice} ("${featureNames[twice]}") twice`);
  return columns;
}

export async function attackAction(flags: AttackFlags, out: Output): Promise<{ result: AttackLabResult; md: string }> {
  await checkOutDir(flags.out);
  if (!flags.attack.every(isAttackKind)) throw new UsageError(`--attack must be among ${ATTACK_KINDS.join(', ')}`);
  if (flags.malicious.length >= flags.banks)
    throw new UsageError(
      `--malicious names ${flags.malicious.length} banks of --banks ${flags.banks}: leave an honest one`,
    );
  for (const m of flags.malicious)
    if (m > flags.banks) throw new UsageError(`--malicious ${m} exceeds --banks ${flags.banks}`);
  const exp = await loadExperiment(flags, out);
  const result = await runAttackLab(exp, {
    attacks: flags.attack,
    strategies: flags.strategy,
    malicious: flags.malicious,
    ...(flags.attackers ? { attackerCounts: flags.attackers } : {}),
    rounds: flags.rounds,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    learningRate: flags.learningRate,
    smoteRatio: flags.smoteRatio,
    smoteK: flags.smoteK,
    smoteMaxMultiplier: smoteCapOf(flags),
    roundTimeoutMs: flags.roundTimeout,
    backend: flags.backend,
    logLevel: flags.logLevel,
    ...(flags.byzantineF !== undefined ? { byzantineF: flags.byzantineF } : {}),
    trimFraction: flags.trimFraction,
    clipRadius: flags.clipRadius,
    clipIterations: flags.clipIterations,
    maxUpdateNorm: flags.maxUpdateNorm,
    signFlipScale: flags.signFlipScale,
    gaussianSigma: flags.gaussianSigma,
    backdoorBoost: flags.backdoorBoost ?? flags.banks,
    backdoorFeatures: triggerColumns(flags.backdoorFeatures, exp.featureNames),
    backdoorCopies: flags.backdoorCopies,
    onRun: (label, i, total) => out.log(`run ${i}/${total}: ${label}`),
    onRound: (_label, r) =>
      out.log(
        `  round ${String(r.round).padStart(3)}  ${r.status === 'committed' ? `AUPRC ${f4(r.metrics?.auprc)}  backdoor ${f4(r.extra?.backdoor)}` : `FAILED: ${r.failureReason}`}`,
      ),
  });
  const files = await writeAttackReport(flags.out, result);
  for (const r of result.runs.filter((x) => x.status !== 'ok'))
    out.log(`${r.strategy} / ${r.attack}: ${r.status}: ${r.error}`);
  out.log(`Wrote ${files.md}, ${files.json} and ${files.charts.length} chart(s)`);
  return { result, md: files.md };
}

export function attackCommand(out: Output = consoleOutput): Command {
  const cmd = new Command('attack').description(
    'Attack lab: runs the real aggregator with one real bank client per shard, the banks named by --malicious hostile ' +
      '(through a research-only bank client: a relay that rewrites their updates, or poisoned training files), for every ' +
      '--attack × --strategy × --attackers, plus one clean run per strategy; reports AUPRC per round, the backdoor ' +
      'success rate and which updates each strategy excluded, in attack.md (with SVG charts) and attack.json.',
  );
  addDataOptions(cmd);
  addTrainingOptions(cmd);
  cmd
    .requiredOption(
      '--malicious <banks>',
      'comma-separated 1-based bank numbers that are hostile, e.g. 1,2',
      intList('--malicious'),
    )
    .requiredOption(
      '--attack <kinds>',
      `comma-separated attacks: ${ATTACK_KINDS.join(', ')} (scale-k: Δ × k; sign-flip: −s·Δ; gaussian: noise instead ` +
        'of Δ; label-flip: trains on flipped labels; alie: "a little is enough", Baruch et al. 2019; backdoor: model ' +
        'replacement, Bagdasaryan et al. 2020, triggered frauds labelled legitimate and the update boosted)',
      nameList('--attack', ATTACK_KINDS),
    )
    .option(
      '--strategy <names>',
      `comma-separated strategies: ${STRATEGY_NAMES.join(', ')}`,
      nameList('--strategy', STRATEGY_NAMES),
      [...STRATEGY_NAMES],
    )
    .option(
      '--attackers <counts>',
      'numbers of attackers to run, each using the first k banks of --malicious (default: all of them)',
      intList('--attackers'),
    )
    .option('--rounds <n>', 'rounds per run', intArg('--rounds', 1, 10_000), 5)
    .option('--epochs <n>', 'local epochs per round', intArg('--epochs', 1, 1000), RESEARCH_TRAINING.epochs)
    .option(
      '--round-timeout <ms>',
      'deadline of each fit and evaluation stage',
      intArg('--round-timeout', 100, 86_400_000),
      600_000,
    )
    .option(
      '--byzantine-f <f>',
      'f for krum, multikrum and bulyan (default: the number of attackers)',
      intArg('--byzantine-f', 0, 1000),
    )
    .option(
      '--trim-fraction <b>',
      'trimmed-mean: fraction dropped from each end of every coordinate',
      numArg('--trim-fraction', (v) => v >= 0 && v < 0.5, 'a number in [0, 0.5)'),
      0.2,
    )
    .option(
      '--clip-radius <tau>',
      'centered-clipping: radius around the previous aggregate',
      numArg('--clip-radius', (v) => v > 0, 'a number > 0'),
      DEFAULT_RULES.clipRadius,
    )
    .option('--clip-iterations <l>', 'centered-clipping: iterations per round', intArg('--clip-iterations', 1, 100), 1)
    .option(
      '--max-update-norm <n>',
      "the aggregator's fixed update-norm bound (high by default so the lab measures the strategies, not this bound)",
      numArg('--max-update-norm', (v) => v > 0, 'a number > 0'),
      1e9,
    )
    .option(
      '--sign-flip-scale <s>',
      'sign-flip sends −s·Δ',
      numArg('--sign-flip-scale', (v) => v > 0, 'a number > 0'),
      4,
    )
    .option(
      '--gaussian-sigma <s>',
      "gaussian: noise σ as a multiple of the honest update's rms",
      numArg('--gaussian-sigma', (v) => v > 0, 'a number > 0'),
      10,
    )
    .option(
      '--backdoor-boost <g>',
      'backdoor: model-replacement boost γ of the update (default: --banks)',
      numArg('--backdoor-boost', (v) => v > 0, 'a number > 0'),
    )
    .option(
      '--backdoor-features <cols>',
      "backdoor: trigger columns (names or 0-based indices), each set to its mean + 6 standard deviations in the attacker's data (default: the three columns before the last)",
      (raw: string) => raw.split(',').map((s) => s.trim()),
    )
    .option(
      '--backdoor-copies <k>',
      'backdoor: triggered copies of each attacker fraud row',
      intArg('--backdoor-copies', 1, 1000),
      20,
    )
    .addOption(
      new Option('--log-level <level>', 'log level of the aggregator and bank clients (to stderr)')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('silent'),
    )
    .option('--out <dir>', 'directory for attack.md, attack.json and the charts', 'data/research/attack');
  strictCommand(cmd);
  cmd.action(async (flags: AttackFlags) => {
    await attackAction(flags, out);
  });
  return cmd;
}
