/**
 * The attack lab: the real aggregator and real bank clients (runSimulation), some banks hostile
 * through the research bank client (a relay that rewrites their updates, proxy.ts, and/or
 * poisoned training files, attacks.ts), for every attack × strategy × number of attackers, plus
 * one clean run per strategy to compare with. Records AUPRC per round on the shared test set
 * and, for every run, the backdoor success rate (the share of triggered test frauds the model
 * passes as legitimate), so the clean run gives the base rate.
 */
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../temp-dirs.js';
import { applyScaler, writeCsv, type Scaler } from '@finsecure/common/data';
import { manifestFor, MlpTrainer } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import type { StrategyName } from '@finsecure/common/strategy';
import type { Dataset } from '@finsecure/common';
import { describeExperiment, type Experiment, type ExperimentDescription } from '../experiment.js';
import { runSimulation, type BankFiles, type RoundResult, type SimulationOptions } from '../simulate.js';
import { modelSpec, type Backend, type LocalTraining } from '../training.js';
import {
  alieUpdate,
  alieZ,
  backdoorData,
  backdoorSuccessRate,
  backdoorTrigger,
  flipLabels,
  fraudRows,
  gaussianUpdate,
  scaleUpdate,
  signFlip,
  stampTrigger,
  type AttackKind,
  type Trigger,
} from './attacks.js';
import { AttackProxy, Colluders, type HostileUpdate } from './proxy.js';

export interface AttackSettings {
  /** Sign flip sends −s·Δ. */
  signFlipScale: number;
  /** Gaussian noise σ relative to the honest update's rms. */
  gaussianSigma: number;
  /** Model replacement boost γ (default: the number of banks). */
  backdoorBoost: number;
  /** Trigger columns (indices). */
  backdoorFeatures: number[];
  /** Triggered copies of each of the attacker's fraud rows (labelled legitimate). */
  backdoorCopies: number;
}

export interface RobustSettings {
  /** f for krum, multikrum, bulyan (default: the largest number of attackers). */
  byzantineF?: number;
  trimFraction: number;
  clipRadius: number;
  clipIterations: number;
  /** The aggregator's fixed update-norm bound (high by default: measure the strategies, not it). */
  maxUpdateNorm: number;
}

export interface AttackLabOptions extends LocalTraining, AttackSettings, RobustSettings {
  attacks: AttackKind[];
  strategies: StrategyName[];
  /** 1-based bank numbers that may be hostile. */
  malicious: number[];
  /** Numbers of attackers to run (each uses the first k of `malicious`). Default: all of them. */
  attackerCounts?: number[];
  rounds: number;
  roundTimeoutMs?: number;
  backend?: Backend;
  logLevel?: string;
  onRun?: (label: string, index: number, total: number) => void;
  onRound?: (label: string, r: RoundResult) => void;
}

export interface AttackRoundRecord {
  round: number;
  status: string;
  auprc: number | null;
  /** Share of triggered test frauds scored legitimate. */
  backdoor: number | null;
  /** Hostile / honest updates the strategy left out this round. */
  excludedHostile: number;
  excludedHonest: number;
}

export interface AttackRun {
  attack: AttackKind | 'none';
  strategy: StrategyName;
  /** 1-based bank numbers that were hostile. */
  attackers: number[];
  status: 'ok' | 'refused' | 'failed';
  error: string | null;
  rounds: AttackRoundRecord[];
  final: { auprc: number | null; backdoor: number | null };
  wallMs: number;
}

export interface AttackLabResult {
  kind: 'attack-lab';
  version: 1;
  createdAt: string;
  experiment: ExperimentDescription;
  banks: number;
  rounds: number;
  settings: AttackSettings & RobustSettings & { byzantineF: number };
  trigger: { features: string[]; values: number[] };
  runs: AttackRun[];
}

/** The round rules of one strategy in the lab. */
export function strategyRules(
  strategy: StrategyName,
  r: RobustSettings & { byzantineF: number },
): NonNullable<SimulationOptions['rules']> {
  const base = { strategy, maxUpdateNorm: r.maxUpdateNorm };
  switch (strategy) {
    case 'krum':
    case 'bulyan':
      return { ...base, byzantineF: r.byzantineF };
    case 'multikrum':
      return { ...base, byzantineF: r.byzantineF, multiKrumM: 0 };
    case 'trimmed-mean':
      return { ...base, trimFraction: r.trimFraction };
    case 'centered-clipping':
      return { ...base, clipRadius: r.clipRadius, clipIterations: r.clipIterations };
    default:
      return base;
  }
}

/** Triggered copies of the test set's frauds, unscaled (the backdoor yardstick). */
function triggeredFrauds(exp: Experiment, trigger: Trigger): Dataset {
  return stampTrigger(exp.test, trigger, fraudRows(exp.test));
}

/** What a hostile bank does: its data file and its relay, built for one run. */
async function hostileBank(
  attack: AttackKind,
  bank: BankFiles,
  exp: Experiment,
  o: AttackLabOptions,
  ctx: { dir: string; trigger: Trigger; colluders: Colluders | null; proxies: AttackProxy[]; errors: Error[] },
): Promise<Pick<BankFiles, 'data' | 'server'>> {
  const shard = exp.shards[bank.index]!;
  let data = bank.data;
  const writeData = async (ds: Dataset) => {
    data = path.join(ctx.dir, `${bank.bankId}-${attack}.csv`);
    await writeCsv(ds, data);
  };
  let hostile: HostileUpdate | null = null;
  const rng = createRng(exp.spec.seed * 7919 + bank.index + 1);
  switch (attack) {
    case 'scale-10':
      hostile = (_m, d) => scaleUpdate(d, 10);
      break;
    case 'scale-100':
      hostile = (_m, d) => scaleUpdate(d, 100);
      break;
    case 'sign-flip':
      hostile = (_m, d) => signFlip(d, o.signFlipScale);
      break;
    case 'gaussian':
      hostile = (_m, d) => gaussianUpdate(d, rng, o.gaussianSigma);
      break;
    case 'alie':
      hostile = (m, d) => ctx.colluders!.contribute(m.roundId, d);
      break;
    case 'label-flip':
      await writeData(flipLabels(shard));
      break;
    case 'backdoor':
      await writeData(backdoorData(shard, ctx.trigger, o.backdoorCopies));
      hostile = (_m, d) => scaleUpdate(d, o.backdoorBoost);
      break;
  }
  if (!hostile) return { data, server: bank.server };
  const proxy = await AttackProxy.start(bank.server, hostile, (err) => ctx.errors.push(err));
  ctx.proxies.push(proxy);
  return { data, server: proxy.url };
}

function recordOf(r: RoundResult, hostileIds: ReadonlySet<string>): AttackRoundRecord {
  let excludedHostile = 0;
  let excludedHonest = 0;
  for (const [id, b] of Object.entries(r.banks ?? {})) {
    if (b.weight === null || b.excluded === null) continue;
    if (hostileIds.has(id)) excludedHostile++;
    else excludedHonest++;
  }
  return {
    round: r.round,
    status: r.status,
    auprc: r.metrics?.auprc ?? null,
    backdoor: r.extra?.backdoor ?? null,
    excludedHostile,
    excludedHonest,
  };
}

/** Runs the whole grid: per strategy one clean run, then every attack × number of attackers. */
export async function runAttackLab(exp: Experiment, o: AttackLabOptions): Promise<AttackLabResult> {
  const n = exp.shards.length;
  for (const m of o.malicious)
    if (!(Number.isInteger(m) && m >= 1 && m <= n))
      throw new RangeError(`--malicious ${m} is not a bank number in 1..${n}`);
  if (new Set(o.malicious).size !== o.malicious.length) throw new RangeError('--malicious lists a bank twice');
  if (o.malicious.length >= n)
    throw new RangeError(`--malicious names ${o.malicious.length} of ${n} banks: leave at least one honest bank`);
  const counts = o.attackerCounts ?? [o.malicious.length];
  for (const k of counts)
    if (!(Number.isInteger(k) && k >= 1 && k <= o.malicious.length))
      throw new RangeError(`--attackers ${k} must be in 1..${o.malicious.length} (the banks --malicious names)`);
  const byzantineF = o.byzantineF ?? Math.max(...counts);
  const first = exp.shards[o.malicious[0]! - 1]!;
  const trigger = backdoorTrigger(first, o.backdoorFeatures);
  const triggered = triggeredFrauds(exp, trigger);
  // Scaled with the federation's scaler, which a poisoned shard may have moved off the experiment's.
  let scaled: { scaler: Scaler; data: Dataset } | null = null;
  const yardstickFor = (scaler: Scaler) =>
    (scaled = scaled?.scaler === scaler ? scaled : { scaler, data: applyScaler(triggered, scaler) }).data;
  const spec = modelSpec(exp.numFeatures);
  let trainer: MlpTrainer | null = null;
  const extraMetrics = (weights: Float32Array, scaler: Scaler): Record<string, number> => {
    trainer ??= new MlpTrainer(spec, { data: new Float32Array(weights.length), manifest: manifestFor(spec) });
    trainer.setWeights({ data: weights, manifest: manifestFor(spec) });
    const yardstick = yardstickFor(scaler);
    const { probabilities } = trainer.predictWithLogits(yardstick.features, yardstick.numRows);
    return { backdoor: backdoorSuccessRate(probabilities) };
  };

  const plan: { attack: AttackKind | 'none'; strategy: StrategyName; attackers: number[] }[] = [];
  for (const strategy of o.strategies) {
    plan.push({ attack: 'none', strategy, attackers: [] });
    for (const attack of o.attacks)
      for (const k of counts) plan.push({ attack, strategy, attackers: o.malicious.slice(0, k) });
  }
  const runs: AttackRun[] = [];
  const dir = await makeTempDir('finsecure-attack-');
  try {
    for (const [i, p] of plan.entries()) {
      const label = `${p.strategy} / ${p.attack}${p.attackers.length ? ` (banks ${p.attackers.join(',')})` : ''}`;
      o.onRun?.(label, i + 1, plan.length);
      const hostileIds = new Set(p.attackers.map((b) => `bank-${b}`));
      const ctx = {
        dir,
        trigger,
        colluders:
          p.attack === 'alie'
            ? new Colluders(p.attackers.length, (ds) => alieUpdate(ds, alieZ(n, p.attackers.length)))
            : null,
        proxies: [] as AttackProxy[],
        errors: [] as Error[],
      };
      const started = performance.now();
      const run: AttackRun = {
        ...p,
        status: 'ok',
        error: null,
        rounds: [],
        final: { auprc: null, backdoor: null },
        wallMs: 0,
      };
      try {
        const sim = await runSimulation(exp, {
          rounds: o.rounds,
          epochs: o.epochs,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          smoteRatio: o.smoteRatio,
          smoteK: o.smoteK,
          smoteMaxMultiplier: o.smoteMaxMultiplier,
          ...(o.roundTimeoutMs !== undefined ? { roundTimeoutMs: o.roundTimeoutMs } : {}),
          ...(o.backend ? { backend: o.backend } : {}),
          ...(o.logLevel ? { logLevel: o.logLevel } : {}),
          rules: strategyRules(p.strategy, { ...o, byzantineF }),
          extraMetrics,
          prepareBank: (bank) =>
            hostileIds.has(bank.bankId)
              ? hostileBank(p.attack as AttackKind, bank, exp, o, ctx)
              : Promise.resolve({ data: bank.data, server: bank.server }),
          onRound: (r) => o.onRound?.(label, r),
        });
        run.rounds = sim.rounds.map((r) => recordOf(r, hostileIds));
        const last = run.rounds.filter((r) => r.auprc !== null).at(-1);
        run.final = { auprc: last?.auprc ?? null, backdoor: last?.backdoor ?? null };
        if (ctx.errors.length) run.error = `the relay dropped ${ctx.errors.length} frame(s): ${ctx.errors[0]!.message}`;
      } catch (err) {
        const msg = (err as Error).message;
        // The aggregator refuses rules a strategy cannot run with (e.g. Bulyan with n < 4f + 3).
        run.status =
          /invalid|must be|needs at least|cannot/.test(msg) && run.rounds.length === 0 ? 'refused' : 'failed';
        run.error = msg.replace(/\s*\n\s*/g, ' ').slice(0, 400);
      } finally {
        await Promise.all(ctx.proxies.map((x) => x.close()));
        run.wallMs = performance.now() - started;
      }
      runs.push(run);
    }
  } finally {
    (trainer as MlpTrainer | null)?.dispose();
    await removeTempDir(dir);
  }
  return {
    kind: 'attack-lab',
    version: 1,
    createdAt: new Date().toISOString(),
    experiment: describeExperiment(exp),
    banks: n,
    rounds: o.rounds,
    settings: {
      signFlipScale: o.signFlipScale,
      gaussianSigma: o.gaussianSigma,
      backdoorBoost: o.backdoorBoost,
      backdoorFeatures: o.backdoorFeatures,
      backdoorCopies: o.backdoorCopies,
      byzantineF,
      trimFraction: o.trimFraction,
      clipRadius: o.clipRadius,
      clipIterations: o.clipIterations,
      maxUpdateNorm: o.maxUpdateNorm,
    },
    trigger: { features: trigger.features.map((j) => exp.featureNames[j]!), values: trigger.values },
    runs,
  };
}
