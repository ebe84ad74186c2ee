/**
 * Federated simulation with the real system: one aggregator (startAggregator, port 0,
 * a temporary SQLite file) and N real bank clients (BankClient, in this process: on two
 * cores that is faster than N processes each loading TF.js) talking over real loopback
 * WebSockets. Banks are registered through the admin REST API, all evaluate on the same
 * shared test file (--test), and training is started through the API once every bank
 * has joined, so the global scaler is merged from all N shards, in bank order.
 *
 * Per round we record what the federation itself reports (GET /api/metrics/series,
 * /api/rounds: metrics from summed histograms, bytes, durations, ε) and, for a like-for-
 * like comparison with the baseline, the exact metrics of the committed model version
 * (read from the store) on the shared test set.
 */
import path from 'node:path';
import { makeTempDir, removeTempDir } from './temp-dirs.js';
import { RunFailedError } from './run-failed.js';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { RoundRecord, StatusView } from '@finsecure/common/api';
import { applyScaler, type Scaler } from '@finsecure/common/data';
import { manifestFor, MlpTrainer } from '@finsecure/common/model';
import { createStrategy } from '@finsecure/common/strategy';
import { DEFAULT_RULES, loadConfig, startAggregator, type RunningAggregator } from '@finsecure/aggregator';
import { defaultGraceMs } from './simulation-settings.js';
import {
  BankClient,
  loadBankConfig,
  loadLocalData,
  loadOrCreateStateKeyFile,
  openBankState,
} from '@finsecure/bank-client';
import { describeExperiment, writeExperimentFiles, type Experiment } from './experiment.js';
import { evaluateTrainer, type EvalMetrics } from './evaluate.js';
import {
  bankClientSeed,
  ensureBackend,
  localTrainingRecord,
  modelSpec,
  RESEARCH_STRATEGY,
  type StrategySettings,
} from './training.js';
import type { SimulationOptions, ReportedMetrics, RoundResult, SimulationResult } from './simulation-types.js';

export type * from './simulation-types.js';
export { checkSecureAggregation, defaultGraceMs } from './simulation-settings.js';

const ROUND_SERIES_POLL_MS = 200;

async function api<T>(agg: RunningAggregator, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(agg.url + url, {
    method,
    headers: {
      authorization: `Bearer ${agg.adminToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

function reportedOf(m: Record<string, number> | null): ReportedMetrics | null {
  if (!m) return null;
  const out: ReportedMetrics = {};
  for (const k of ['precision', 'recall', 'f1', 'auprc', 'rocAuc', 'loss', 'trainLoss'] as const)
    if (typeof m[k] === 'number') out[k] = m[k];
  return out;
}

function sameScaler(a: Scaler, b: Scaler): boolean {
  return a.mean.every((m, j) => m === b.mean[j] && a.std[j] === b.std[j]) && a.mean.length === b.mean.length;
}

/** Runs the federation to `rounds` committed rounds and returns the per-round record. */
export async function runSimulation(exp: Experiment, o: SimulationOptions): Promise<SimulationResult> {
  const started = performance.now();
  const stage = o.onStage ?? (() => {});
  const n = exp.shards.length;
  const quorum = o.quorum ?? n;
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > n)
    throw new RangeError(`quorum must be an integer in 1..${n}, got ${quorum}`);
  const graceMs = o.graceMs ?? defaultGraceMs(quorum, n);
  const roundTimeoutMs = o.roundTimeoutMs ?? 30 * 60_000;
  const updateEncoding = o.updateEncoding ?? 'float32';
  const seed = exp.spec.seed;
  const strategy: StrategySettings = { ...RESEARCH_STRATEGY, ...o.strategy };
  createStrategy('fedavg', strategy); // validates the combination before any work
  const backend = await ensureBackend(o.backend);
  const spec = modelSpec(exp.numFeatures);
  const logger: Logger = pino({ level: o.logLevel ?? 'silent' });

  const ownDir = o.workDir === undefined;
  const dir = o.workDir ?? (await makeTempDir('finsecure-sim-'));
  const banks: BankClient[] = [];
  let agg: RunningAggregator | null = null;
  try {
    stage(`writing ${n} bank shards and the shared test set`);
    const files = await writeExperimentFiles(exp, path.join(dir, 'shards'));

    const adminToken = `sim-admin-${randomBytes(12).toString('hex')}`;
    const config = loadConfig({
      flags: {
        host: '127.0.0.1',
        port: 0,
        dataDir: path.join(dir, 'aggregator'),
        adminToken,
        autoStart: false,
        seed,
        backend: o.backend ?? 'auto',
        logLevel: (o.logLevel ?? 'silent') as 'silent',
        // In-process banks share one thread: be generous with liveness checks.
        heartbeatIntervalMs: 5_000,
        heartbeatTimeoutMs: 300_000,
        helloTimeoutMs: 60_000,
        model: spec,
        rules: {
          ...DEFAULT_RULES,
          rounds: o.rounds,
          fraction: 1,
          minBanks: quorum,
          quorum,
          roundTimeoutMs,
          graceMs,
          evaluationTimeoutMs: roundTimeoutMs,
          latePolicy: 'reject',
          roundIntervalMs: 0,
          threshold: 0.5,
          histogramBins: 1000,
          // The aggregator builds its FedAvg from these rules, exactly as a deployment would.
          strategy: 'fedavg',
          maxShare: strategy.maxShare,
          normalizeSteps: strategy.normalizeSteps,
          lossExponent: strategy.lossExponent,
          serverLearningRate: strategy.serverLearningRate,
          serverMomentum: strategy.serverMomentum,
          privacyBudgetAction: 'exclude-bank',
          secureAggregation: o.secureAggregation ?? false,
          ...o.rules,
        },
        training: {
          epochs: o.epochs,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          smoteRatio: o.smoteRatio,
          smoteK: o.smoteK,
          ...(o.smoteMaxMultiplier !== null ? { smoteMaxMultiplier: o.smoteMaxMultiplier } : {}),
          updateEncoding,
          seed,
          ...(o.dp ? { dp: { clip: o.dp.clip, noiseMultiplier: o.dp.noiseMultiplier, delta: o.dp.delta } } : {}),
        },
      },
    });
    // "No cap" cannot be said by leaving the field out (the aggregator's default cap fills it in).
    if (o.smoteMaxMultiplier === null) delete config.training.smoteMaxMultiplier;
    stage('starting the aggregator');
    agg = await startAggregator(config, { logger: logger.child({ component: 'aggregator' }) });

    for (let b = 0; b < n; b++) {
      const bankId = `bank-${b + 1}`;
      stage(`starting ${bankId} of ${n}`);
      const { token } = await api<{ token: string }>(agg, 'POST', '/api/banks', { id: bankId, name: `Bank ${b + 1}` });
      const own = { data: files.shards[b]!, server: `${agg.wsUrl}/ws/bank` };
      const use = o.prepareBank ? await o.prepareBank({ index: b, bankId, ...own }) : own;
      const bankConfig = loadBankConfig({
        flags: {
          server: use.server,
          bankId,
          token,
          data: use.data,
          test: files.test,
          stateDir: path.join(dir, 'banks', bankId),
          seed: bankClientSeed(seed, b),
          backend: o.backend ?? 'auto',
          logLevel: o.logLevel ?? 'silent',
          reconnectMinMs: 100,
          reconnectMaxMs: 2_000,
          ...(o.dp
            ? {
                dpClip: o.dp.clip,
                dpNoiseMultiplier: o.dp.noiseMultiplier,
                dpDelta: o.dp.delta,
                insecureDpSeed: (seed * 7 + b + 1) % 2_147_483_647,
              }
            : {}),
        },
      });
      // The state key is required: one key file per simulated bank, kept in the work directory.
      openBankState(bankConfig.stateDir, loadOrCreateStateKeyFile(path.join(dir, 'banks', `${bankId}.state-key`)));
      const data = await loadLocalData(bankConfig);
      const client = new BankClient(bankConfig, data, logger.child({ bank: bankId }));
      banks.push(client);
      // Joining one at a time fixes the order in which the aggregator merges the statistics.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`${bankId} was not welcomed by the aggregator within 60 s`)),
          60_000,
        );
        const onWelcome = () => done(null);
        const onFatal = (err: Error) => done(err);
        function done(err: Error | null): void {
          clearTimeout(timer);
          client.off('welcome', onWelcome);
          client.off('fatal', onFatal);
          if (err) reject(err);
          else resolve();
        }
        client.once('welcome', onWelcome);
        client.once('fatal', onFatal);
        client.start().catch((err: Error) => done(err));
      });
    }

    // Any bank refused or crashed from now on ends the run with its error.
    let fatal: Error | null = null;
    for (const c of banks) c.on('fatal', (err) => (fatal ??= err));

    const setupMs = performance.now() - started;
    stage(`training: ${o.rounds} rounds, ${n} banks`);
    const trainingStarted = performance.now();
    await api(agg, 'POST', '/api/training/start');

    const evalTrainer = new MlpTrainer(spec, {
      data: new Float32Array(manifestFor(spec).reduce((s, t) => s + t.shape.reduce((a, c) => a * c, 1), 0)),
      manifest: manifestFor(spec),
    });
    // Committed models are scored as the federation would score them: with its own scaler (merged
    // from the banks' statistics at the start), which is the experiment's unless a bank's data
    // moved it (the attack lab's poisoned shards; scalerCheck reports by how much).
    let scored: { test: ReturnType<Experiment['scaledTest']>; scaler: Scaler } | null = null;
    const federationTest = () => {
      if (scored) return scored;
      const fed = agg!.federation.globalModel().scaler;
      const scaler = fed ? { mean: Float64Array.from(fed.mean), std: Float64Array.from(fed.std) } : exp.scaler;
      const test = sameScaler(scaler, exp.scaler) ? exp.scaledTest() : applyScaler(exp.test, scaler);
      return (scored = { test, scaler });
    };
    const results = new Map<number, RoundResult>();
    let committed = 0;
    let failed = 0;
    // A guard against a federation that stops answering, not a limit on long runs: every round is
    // bounded by its own timeouts (training, then evaluation), and at most max(5, rounds) may fail.
    const timeoutMs = o.timeoutMs ?? (o.rounds + Math.max(5, o.rounds) + 1) * 2 * roundTimeoutMs + 600_000;
    const deadline = Date.now() + timeoutMs;
    const collect = async (): Promise<void> => {
      const list = await api<RoundRecord[]>(agg!, 'GET', '/api/rounds?limit=1000');
      for (const r of list.slice().reverse()) {
        if (results.has(r.id) || (r.status !== 'committed' && r.status !== 'failed')) continue;
        const banksStats = Object.values(r.banks);
        const trainMs = banksStats.map((s) => s.trainMs).filter((x): x is number => typeof x === 'number');
        const eps = banksStats.map((s) => s.epsilon).filter((x): x is number => typeof x === 'number');
        const bytesUp = banksStats.reduce((s, b) => s + b.bytesUp, 0);
        const bytesDown = banksStats.reduce((s, b) => s + b.bytesDown, 0);
        let metrics: EvalMetrics | null = null;
        let extra: Record<string, number> | undefined;
        if (r.status === 'committed' && r.modelVersion !== null) {
          const model = await agg!.store.getModel(r.modelVersion);
          if (model) {
            evalTrainer.setWeights({ data: model.weights, manifest: manifestFor(spec) });
            const fed = federationTest();
            metrics = evaluateTrainer(evalTrainer, fed.test);
            extra = o.extraMetrics?.(model.weights, fed.scaler);
          }
          committed++;
        } else failed++;
        const res: RoundResult = {
          round: r.id,
          status: r.status,
          failureReason: r.failureReason,
          modelVersion: r.modelVersion,
          selected: r.selected.length,
          participants: r.participants.length,
          metrics,
          reported: reportedOf(r.metrics),
          bytesUp,
          bytesDown,
          bytes: bytesUp + bytesDown,
          durations: r.durations,
          stages: (r.stages ?? []).map((x) => ({
            name: x.name,
            ms: x.ms,
            asked: x.asked,
            answered: x.answered,
            dropped: Object.keys(x.dropped).length,
          })),
          maxBankTrainMs: trainMs.length ? Math.max(...trainMs) : null,
          epsilon: eps.length ? Math.max(...eps) : null,
          ...(extra ? { extra } : {}),
          banks: Object.fromEntries(
            Object.entries(r.banks).map(([id, s]) => [
              id,
              { weight: s.weight ?? null, excluded: s.reputation?.excluded ?? (s.weight === 0 ? 'weight 0' : null) },
            ]),
          ),
        };
        results.set(r.id, res);
        o.onRound?.(res, committed);
      }
    };
    for (;;) {
      if (fatal) throw fatal;
      const status = await api<StatusView>(agg, 'GET', '/api/status');
      await collect();
      if (status.state === 'finished' && committed >= o.rounds) break;
      if (status.state === 'stopped')
        throw new RunFailedError(
          `the aggregator stopped training after ${committed} of ${o.rounds} rounds (too few eligible banks left: privacy budgets spent, or banks lost)`,
        );
      if (failed > Math.max(5, o.rounds))
        throw new RunFailedError(
          `${failed} rounds failed (${committed} of ${o.rounds} committed); last reason: ${[...results.values()].reverse().find((r) => r.failureReason)?.failureReason}. ` +
            `A longer --round-timeout (now ${roundTimeoutMs} ms) or a lower --quorum gives the banks more time`,
        );
      if (Date.now() > deadline)
        throw new RunFailedError(
          `the simulation did not finish within ${Math.round(timeoutMs / 1000)} s (${committed} of ${o.rounds} rounds committed)`,
        );
      await new Promise((r) => setTimeout(r, ROUND_SERIES_POLL_MS));
    }
    const trainingWallMs = performance.now() - trainingStarted;
    evalTrainer.dispose();

    const fedScaler = agg.federation.globalModel().scaler;
    let maxAbsDiff = Infinity;
    if (fedScaler) {
      maxAbsDiff = 0;
      for (let j = 0; j < exp.numFeatures; j++) {
        maxAbsDiff = Math.max(
          maxAbsDiff,
          Math.abs(fedScaler.mean[j]! - exp.scaler.mean[j]!),
          Math.abs(fedScaler.std[j]! - exp.scaler.std[j]!),
        );
      }
    }
    const privacy = o.dp
      ? await api<{ delta: number; epsilon: Record<string, number> }>(agg, 'GET', '/api/privacy')
      : null;
    const rounds = [...results.values()].sort((a, b) => a.round - b.round);
    const last = rounds.filter((r) => r.metrics).at(-1);
    return {
      kind: 'simulation',
      version: 1,
      createdAt: new Date().toISOString(),
      experiment: describeExperiment(exp),
      model: spec,
      backend,
      training: {
        rounds: o.rounds,
        ...localTrainingRecord(o),
        quorum,
        graceMs,
        roundTimeoutMs,
        maxShare: strategy.maxShare,
        normalizeSteps: strategy.normalizeSteps,
        lossExponent: strategy.lossExponent,
        serverLearningRate: strategy.serverLearningRate,
        serverMomentum: strategy.serverMomentum,
        updateEncoding,
        dp: o.dp ?? null,
        secureAggregation: o.secureAggregation ?? false,
      },
      scalerCheck: { maxAbsDiff, identical: maxAbsDiff === 0 },
      rounds,
      final: last?.metrics ?? null,
      totals: {
        wallMs: performance.now() - started,
        setupMs,
        trainingWallMs,
        bytes: rounds.reduce((s, r) => s + r.bytes, 0),
        committed,
        failed,
      },
      privacy: privacy ? { delta: privacy.delta, epsilon: privacy.epsilon } : null,
    };
  } finally {
    for (const c of banks) c.stop();
    await Promise.all(banks.map((c) => c.idle().catch(() => {})));
    await agg?.close();
    if (ownDir) await removeTempDir(dir);
  }
}
