/**
 * Dispatch by workflow: which module asks a stage's question and which one turns the training
 * stages into the candidate model. The fedavg workflow's single stage is fit-stage.ts; the secagg
 * workflow's stages are secagg/stages.ts. A new workflow adds its case here and its module.
 */
import * as machine from '../round/machine.js';
import type { ActiveRound, Core } from './core.js';
import { aggregate, sendAssignments } from './fit-stage.js';
import { candidates } from './round-start.js';
import { apply } from './runner.js';
import { askSecure, finishSecure } from './secagg/stages.js';

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
  return askSecure(core, round, stage, bankIds, deadline);
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
  const evaluators = round.strategy
    .configureEvaluate(ctx, out.survivors, candidates(core))
    .filter((b) => core.sessions.has(b));
  await apply(core, machine.aggregated(round.state, evaluators, now()));
}
