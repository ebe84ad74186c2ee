/**
 * Dispatch by workflow: which module asks a stage's question, which one turns the training
 * stages into the candidate model, and which one turns the evaluation stages into the reports
 * the commit pools. The fedavg workflow's stages are fit-stage.ts and evaluate-stage.ts; the
 * secagg workflow's are secagg/stages.ts (both passes). A new workflow adds its case here and its
 * module.
 */
import * as machine from '../round/machine.js';
import type { ActiveRound, Core } from './core.js';
import { aggregate, sendAssignments } from './fit-stage.js';
import { requestEvaluations } from './evaluate-stage.js';
import { candidates } from './round-start.js';
import { apply } from './runner.js';
import { askSecure } from './secagg/stages.js';
import { finishSecure } from './secagg/secure-round.js';
import { finishSecureEvaluation } from './secagg/secure-evaluation.js';

/** Asks `bankIds` the question of `stage`; false if the round failed meanwhile (already applied). */
export async function ask(
  core: Core,
  round: ActiveRound,
  stage: string,
  bankIds: string[],
  deadline: number,
): Promise<boolean> {
  if (stage === 'fit') {
    sendAssignments(core, round, bankIds, deadline);
    return true;
  }
  if (stage === 'evaluate') {
    requestEvaluations(core, round, bankIds, deadline);
    return true;
  }
  return askSecure(core, round, stage, bankIds, deadline);
}

/**
 * The evaluation stages closed: the reports for the commit to pool. Plain rounds collected one
 * per bank as they arrived (evaluate-stage.ts); the secure evaluation pass unmasks one pooled
 * report now, or leaves the reason there is none in the round's state.
 */
export async function collectEvaluation(core: Core, round: ActiveRound): Promise<void> {
  const pass = round.secureEvaluation;
  if (!pass || round.state.evaluationUnavailable !== null) return;
  const out = await finishSecureEvaluation(core, round, pass);
  if ('report' in out) round.reports = [out.report];
  else {
    round.state.evaluationUnavailable = out.unavailable;
    core.opts.logger.warn(
      { roundId: round.state.roundId, reason: out.unavailable },
      'committing without federated metrics',
    );
  }
}

/** The training stages closed with quorum: build the candidate model, then ask for evaluations. */
export async function aggregateRound(core: Core, round: ActiveRound): Promise<void> {
  if (!round.secure) return aggregate(core, round);
  const now = () => core.opts.clock.now();
  const started = performance.now();
  const out = await finishSecure(core, round);
  if ('failed' in out) return apply(core, machine.aggregationFailed(round.state, out.failed, now()));
  core.opts.observer?.aggregationMs?.(performance.now() - started);
  const bad = out.weights.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0)
    return apply(
      core,
      machine.aggregationFailed(round.state, `secure aggregation produced a non-finite weight at index ${bad}`, now()),
    );
  round.candidate = out.weights;
  // Who is in the sum, not how much each weighed: individual weights stay with the banks.
  round.record.participants = out.survivors;
  round.record.metrics = { trainLoss: out.meanLoss, participants: out.survivors.length };
  const ctx = { roundId: round.state.roundId, global: core.globalWeights, config: round.config, rng: core.rng.fork() };
  // Evaluators take part in the secure evaluation pass, so they need a pinned identity key too.
  const evaluators = round.strategy
    .configureEvaluate(ctx, out.survivors, candidates(core))
    .filter((b) => core.sessions.has(b) && core.identities.has(b));
  await apply(core, machine.aggregated(round.state, evaluators, now()));
}
