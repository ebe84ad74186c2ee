/**
 * Starting a round: is training running and the round budget not spent, which connected banks
 * may be asked (health, privacy budget), the scaler, the strategy's selection, and the round's
 * workflow state and record.
 */
import {
  needsStatisticsProbe,
  withUpdateStatistics,
  type Aggregation,
  type BankCandidate,
  type Strategy,
} from '@finsecure/common/strategy';
import * as machine from '../round/machine.js';
import { strategySpec } from '../round/rules.js';
import { fedavgWorkflow, secaggWorkflow } from '../round/workflow.js';
import { newSecureRound, type SecureRound } from './secagg/secure-round.js';
import { audit, type Core } from './core.js';
import { ensureScaler } from './consortium.js';
import { boundRoundWeights } from '../trust/weight-bound.js';
import { apply } from './runner.js';
import { setState } from './admin.js';
import { publishStatus } from './views.js';
import { quarantineLedger } from './quarantine.js';

/** The connected banks a round may ask (healthy ones only, if the rules say so). */
export function candidates(core: Core): BankCandidate[] {
  const excludeUnhealthy = core.settings.rules.excludeUnhealthyBanks;
  return [...core.sessions.values()]
    .filter((s) => !(excludeUnhealthy && core.health.get(s.bankId)?.status === 'warning'))
    .map((s) => ({
      bankId: s.bankId,
      numExamples: s.hello.numExamples,
      ...(s.hello.numTestExamples !== undefined ? { numTestExamples: s.hello.numTestExamples } : {}),
    }));
}

/**
 * The strategy for the settings in force. It is kept across rounds (strategies may hold
 * state, e.g. server momentum) and rebuilt only when the settings it depends on change.
 */
function currentStrategy(core: Core): Strategy {
  const key = JSON.stringify(strategySpec(core.settings.rules));
  if (!core.strategy || key !== core.strategyKey) {
    core.strategy = core.opts.makeStrategy(core.settings);
    core.strategyKey = key;
  }
  return core.strategy;
}

/**
 * Leaves out banks whose privacy budget the next round would exceed; stops training (audited,
 * with the reason) when the rules say so or when too few banks are left to ever reach quorum.
 * Returns null when training was stopped.
 */
async function withinPrivacyBudget(core: Core, list: BankCandidate[]): Promise<BankCandidate[] | null> {
  const { rules, training } = core.settings;
  const dp = training.dp;
  const budget = dp?.epsilonBudget;
  if (budget === undefined || !dp) return list;
  const over = list.filter((c) => core.ledger.wouldExceed(c.bankId, dp.noiseMultiplier, dp.delta, budget));
  if (over.length === 0) return list;
  const names = over.map((c) => c.bankId).join(', ');
  if (rules.privacyBudgetAction === 'stop-training') {
    await audit(core, 'training.control', 'system', {
      action: 'stop',
      reason: `privacy budget ε=${budget} would be exceeded by ${names}`,
    });
    await setState(core, 'stopped');
    return null;
  }
  const overSet = new Set(over);
  const left = list.filter((c) => !overSet.has(c));
  if (left.length < rules.minBanks) {
    // Waiting cannot help: these banks' budgets only ever grow. Say so and stop.
    const reason = `privacy budget ε=${budget} would be exceeded by ${names}; only ${left.length} bank(s) left, ${rules.minBanks} needed`;
    await audit(core, 'training.control', 'system', { action: 'stop', reason });
    core.opts.logger.warn({ reason }, 'training stopped');
    await setState(core, 'stopped');
    return null;
  }
  return left;
}

/**
 * The secure part of a round for the selected banks, or null after stopping training when its
 * parameters cannot work (e.g. the fixed point overflows for this many banks): waiting cannot
 * fix that, an admin must change the rules.
 */
async function newSecure(core: Core, roundId: number, selected: BankCandidate[]): Promise<SecureRound | null> {
  const { rules, training } = core.settings;
  try {
    const ids = selected.map((c) => c.bankId);
    return newSecureRound(
      roundId,
      selected,
      core.globalWeights.length,
      rules,
      training,
      core.identities.directory(ids),
    );
  } catch (err) {
    const reason = `secure aggregation cannot start: ${(err as Error).message}`;
    core.opts.logger.error({ reason }, 'training stopped');
    await audit(core, 'training.control', 'system', { action: 'stop', reason });
    await setState(core, 'stopped');
    return null;
  }
}

/**
 * The selected banks with their example counts bounded (trust/weight-bound.ts): a bank cannot
 * weigh more than `maxExampleRatio` × the median of the others' counts, nor more than
 * `weightMaxShare` of the round. Each lowered count is an audit entry naming the bank and the bound.
 */
async function boundWeights(core: Core, roundId: number, selected: BankCandidate[]): Promise<BankCandidate[]> {
  const { rules } = core.settings;
  const bounds = boundRoundWeights(
    selected.map((c) => ({ bankId: c.bankId, claimed: c.numExamples, declared: c.numExamples })),
    { maxExampleRatio: rules.maxExampleRatio, maxShare: rules.weightMaxShare },
  );
  const out: BankCandidate[] = [];
  for (const [i, c] of selected.entries()) {
    const b = bounds[i]!;
    if (b.clamped) {
      await audit(core, 'bank.weight_bounded', c.bankId, {
        roundId,
        claimed: c.numExamples,
        weight: b.weight,
        bound: b.bound,
        reason: b.reason,
      });
      core.opts.logger.warn({ bankId: c.bankId, claimed: c.numExamples, weight: b.weight }, 'bank weight bounded');
    }
    out.push({ ...c, numExamples: b.weight });
  }
  return out;
}

/**
 * Strategies that keep only a running sum are wrapped to measure each update against the
 * aggregate for the reputation view (a copy of each update: banks × parameters × 4 bytes); the
 * buffering strategies compute those statistics themselves.
 */
function withStatistics(core: Core, strategy: Strategy, aggregation: Aggregation, global: Float32Array): Aggregation {
  return needsStatisticsProbe(strategy.name)
    ? withUpdateStatistics(aggregation, global, { arena: core.statisticsArena })
    : aggregation;
}

/** Starts the next round if training runs, none is in flight and enough banks are connected. */
export async function maybeStartRound(core: Core): Promise<void> {
  // An analytics job holds rounds while it runs (federation/jobs/runner.ts); it restarts them when it ends.
  if (core.closed || core.state !== 'running' || core.active || core.roundsHeld) return;
  const { rules, training } = core.settings;
  if (rules.rounds > 0 && core.roundsCompleted >= rules.rounds) {
    await setState(core, 'finished');
    core.opts.logger.info(
      { rounds: core.roundsCompleted, modelVersion: core.globalVersion },
      'training finished: all configured rounds are committed',
    );
    return;
  }
  const secure = rules.secureAggregation;
  let list = candidates(core);
  // A bank excluded in too many consecutive rounds sits out until an admin lifts its quarantine.
  const quarantine = await quarantineLedger(core);
  if (quarantine) list = list.filter((c) => !quarantine.stateOf(c.bankId).quarantined);
  // A bank takes part in a secure round only with a pinned identity key (it signs its messages).
  if (secure) list = list.filter((c) => core.identities.has(c.bankId));
  const spent = list.filter((c) => core.exhausted.has(c.bankId));
  list = list.filter((c) => !core.exhausted.has(c.bankId));
  const eligible = await withinPrivacyBudget(core, list);
  if (!eligible) return;
  if (eligible.length < rules.minBanks && spent.length > 0 && eligible.length + spent.length >= rules.minBanks) {
    // The banks are there but their own privacy budgets are spent: rounds could only fail.
    const reason = `no round can reach minBanks ${rules.minBanks}: the privacy budget of ${spent
      .map((c) => `${c.bankId} (${core.exhausted.get(c.bankId)})`)
      .join('; ')} is spent`;
    await audit(core, 'training.control', 'system', { action: 'stop', reason });
    core.opts.logger.warn({ reason }, 'training stopped');
    await setState(core, 'stopped');
    return;
  }
  if (eligible.length < rules.minBanks) {
    publishStatus(core);
    return; // Waiting for banks is not part of a round; attach() retries.
  }
  if (!(await ensureScaler(core, eligible))) {
    publishStatus(core);
    return; // No usable statistics yet: wait for more banks (attach() retries).
  }
  const roundId = core.nextRoundId++;
  const ctx = { roundId, global: core.globalWeights, config: training, rng: core.rng.fork() };
  const strategy = currentStrategy(core);
  const instructions = strategy.configureFit(ctx, eligible, rules.fraction, rules.minBanks);
  const selected = instructions.map((i) => i.bankId);
  const chosen = new Set(selected);
  const selectedCandidates = await boundWeights(
    core,
    roundId,
    eligible.filter((c) => chosen.has(c.bankId)),
  );
  const now = core.opts.clock.now();
  const workflow = secure
    ? secaggWorkflow(rules.roundTimeoutMs, rules.secaggStageTimeoutMs, rules.evaluationTimeoutMs)
    : fedavgWorkflow(rules.roundTimeoutMs, rules.evaluationTimeoutMs);
  const secureRound = secure ? await newSecure(core, roundId, selectedCandidates) : null;
  if (secure && !secureRound) return;
  const t = machine.startRound(roundId, core.globalVersion, selected, rules, now, workflow);
  core.active = {
    state: t.state,
    config: training,
    aggregation: secure
      ? null
      : withStatistics(
          core,
          strategy,
          strategy.beginAggregation({ ...ctx, rng: core.rng.fork() }, selectedCandidates),
          core.globalWeights,
        ),
    secure: secureRound,
    secureEvaluation: null,
    weightCaps: new Map(selectedCandidates.map((c) => [c.bankId, c.numExamples])),
    strategy,
    candidate: null,
    reports: [],
    savedPhase: null,
    evaluation: { threshold: rules.threshold, bins: rules.histogramBins },
    record: {
      id: roundId,
      status: t.state.phase,
      startedAt: now,
      endedAt: null,
      config: { training, rules, strategy: strategy.name, parameters: core.globalWeights.length },
      selected,
      participants: [],
      banks: Object.fromEntries(selected.map((b) => [b, { bytesUp: 0, bytesDown: 0 }])),
      durations: {},
      baseModelVersion: core.globalVersion,
      modelVersion: null,
      metrics: null,
      failureReason: null,
    },
  };
  core.opts.logger.info({ roundId, selected }, 'round started');
  await apply(core, t);
}
