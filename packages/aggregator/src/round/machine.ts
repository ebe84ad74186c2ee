/**
 * The round state machine, pure: it never touches a socket, a timer or the clock. Every
 * input carries `now`; every output is the state plus the effects the caller must carry out
 * (ask the banks of a stage, aggregate, ask for evaluations, commit, fail) and the next time it
 * wants to be woken (`wakeAt`). The coordinator owns the IO and one timer.
 *
 *   selecting → training (the workflow's stages, in order) → aggregating → evaluating → committed
 *        ↘          ↘                                             ↘             ↘
 *                                    failed (with a stored reason)
 *
 * It runs any Workflow (workflow.ts) over the generic Stage (stage.ts): `fedavg` is one fit stage
 * and one evaluate stage, `secagg` five of each. The Stage owns who was asked, who answered, who
 * dropped and when it closes; this file only says what follows each stage. Each stage asks the
 * banks that answered the one before.
 *
 * The state is mutated in place (each transition returns the same object): copying the sets of
 * answered banks on every update made a round O(n²) in banks.
 */
import { Stage, type Verdict } from './stage.js';
import { fedavgWorkflow, type Workflow } from './workflow.js';

export type { Verdict } from './stage.js';

export type RoundPhase = 'selecting' | 'training' | 'aggregating' | 'evaluating' | 'committed' | 'failed';

export interface RoundLimits {
  quorum: number;
  roundTimeoutMs: number;
  graceMs: number;
  evaluationTimeoutMs: number;
}

export interface RoundState {
  readonly roundId: number;
  phase: RoundPhase;
  readonly baseModelVersion: number;
  readonly limits: RoundLimits;
  readonly startedAt: number;
  readonly workflow: Workflow;
  /** The training stages opened so far, in order; the last one is in flight while training. */
  readonly stages: Stage[];
  /** The evaluation stages opened so far (once the candidate model exists), in order. */
  readonly evaluation: Stage[];
  /**
   * Why the round commits without federated metrics (the secure evaluation could not finish),
   * or null.
   */
  evaluationUnavailable: string | null;
  /** When each phase was entered (ms), for the stored durations. */
  phaseTimes: Partial<Record<RoundPhase, number>>;
  failureReason: string | null;
}

export type Effect =
  /** Ask these banks the stage's question (fit: the round assignment; evaluate: the candidate model). */
  | { type: 'ask'; stage: string; bankIds: string[]; deadline: number }
  | { type: 'aggregate' }
  | { type: 'commit' }
  /**
   * `reason` is stored with the round (admins and auditors read it); `forBanks` is what the selected
   * banks are told, with nothing of another bank in it (which banks were missing and why, update
   * norms, declared example counts, a bank's own decline).
   */
  | { type: 'fail'; reason: string; forBanks: string };

export interface Transition {
  state: RoundState;
  effects: Effect[];
}

function enter(state: RoundState, phase: RoundPhase, now: number): RoundState {
  state.phase = phase;
  state.phaseTimes = { ...state.phaseTimes, [phase]: now };
  return state;
}

function fail(state: RoundState, now: number, reason: string, forBanks = reason): Transition {
  state.failureReason = reason;
  return { state: enter(state, 'failed', now), effects: [{ type: 'fail', reason, forBanks }] };
}

/** What banks are told of a failure whose stored reason names other banks (see the `fail` effect). */
const SEE_THE_RECORD = "the round's record at the aggregator says why";

/** Opens training stage `index` of the workflow, asking `bankIds`. */
function openStage(state: RoundState, index: number, bankIds: readonly string[], now: number): Transition {
  const spec = state.workflow.stages[index]!;
  const stage = new Stage(
    spec.name,
    bankIds,
    { quorum: state.limits.quorum, graceMs: state.limits.graceMs, deadline: now + spec.timeoutMs },
    now,
  );
  state.stages.push(stage);
  return {
    state,
    effects: [{ type: 'ask', stage: spec.name, bankIds: [...bankIds], deadline: stage.policy.deadline }],
  };
}

/**
 * Starts a round with the banks the strategy selected, running `workflow` (plain fedavg if
 * omitted). Fails at once (with a reason) if fewer banks were selected than the quorum needs:
 * waiting could not help.
 */
export function startRound(
  roundId: number,
  baseModelVersion: number,
  selected: string[],
  limits: RoundLimits,
  now: number,
  workflow: Workflow = fedavgWorkflow(limits.roundTimeoutMs, limits.evaluationTimeoutMs),
): Transition {
  const state: RoundState = {
    roundId,
    phase: 'selecting',
    baseModelVersion,
    limits,
    startedAt: now,
    workflow,
    stages: [],
    evaluation: [],
    evaluationUnavailable: null,
    phaseTimes: { selecting: now },
    failureReason: null,
  };
  if (selected.length < limits.quorum) {
    return fail(state, now, `only ${selected.length} bank(s) selected, quorum needs ${limits.quorum}`);
  }
  enter(state, 'training', now);
  return openStage(state, 0, selected, now);
}

/** The training stage in flight (or the last one, after training). */
export function trainingStage(state: RoundState): Stage {
  return state.stages[state.stages.length - 1]!;
}

/** The banks selected for the round (asked in its first stage). */
export function selectedBanks(state: RoundState): readonly string[] {
  return state.stages[0]?.asked ?? [];
}

/**
 * True once `bankId` answered the workflow's training stage (its update, masked or not, is in
 * the aggregate). False while that stage has not opened yet.
 */
export function hasContributed(state: RoundState, bankId: string): boolean {
  const index = state.workflow.stages.findIndex((s) => s.training);
  return state.stages[index]?.hasAnswered(bankId) ?? false;
}

/** Why a selected bank is not in the round's result: the reason of the stage it dropped in, if any. */
export function missingReason(state: RoundState, bankId: string): string | undefined {
  for (const stage of state.stages) {
    const why = stage.dropReason(bankId);
    if (why !== undefined) return state.workflow.stages.length > 1 ? `${stage.name}: ${why}` : why;
    if (stage.wasAsked(bankId) && !stage.hasAnswered(bankId) && !stage.isOpen)
      return `no ${stage.name === 'fit' ? 'update' : 'answer'} before the ${stage.name} stage closed`;
  }
  return undefined;
}

/** When the fit stage closes: at the deadline, or `graceMs` after quorum if sooner. */
export function fitClosesAt(state: RoundState): number {
  return trainingStage(state).closesAt();
}

/** Decides whether an update may enter the round, before its weights are looked at. */
export function judgeUpdate(
  state: RoundState,
  bankId: string,
  roundId: number,
  modelVersion: number,
  now: number,
): Verdict {
  if (roundId !== state.roundId) return { accepted: false, reason: wrongRound(roundId, state.roundId) };
  const fit = trainingStage(state);
  if (!fit.wasAsked(bankId)) return { accepted: false, reason: `bank ${bankId} was not selected for round ${roundId}` };
  if (fit.hasAnswered(bankId))
    return { accepted: false, reason: `duplicate update from ${bankId} for round ${roundId}` };
  if (state.phase !== 'training' || !fit.judge(bankId, now).accepted) {
    return { accepted: false, reason: `late: the ${fit.name} stage of round ${roundId} closed` };
  }
  if (modelVersion !== state.baseModelVersion) {
    return {
      accepted: false,
      reason: `update computed from model version ${modelVersion}, round ${roundId} uses version ${state.baseModelVersion}`,
    };
  }
  return { accepted: true };
}

/**
 * Judges a fit upload's offer (issue 14) by its arrival time `now`, with the same rules as an
 * update (`judgeUpdate`). If accepted, the fit stage promises the bank its answer: the update
 * itself may arrive after the stage's nominal close, and the stage waits for it (or for the bank
 * to be dropped when its upload grant times out). O(1).
 */
export function judgeOffer(
  state: RoundState,
  bankId: string,
  roundId: number,
  modelVersion: number,
  now: number,
): Verdict {
  const v = judgeUpdate(state, bankId, roundId, modelVersion, now);
  if (v.accepted) trainingStage(state).promise(bankId, now);
  return v;
}

/**
 * What follows a training stage once it closed: the next stage (asking who answered this one),
 * aggregation after the last, or failure if the quorum was missed.
 */
function afterStage(state: RoundState, now: number): Transition {
  const stage = trainingStage(state);
  if (stage.isOpen) return { state, effects: [] };
  if (!stage.succeeded) return fail(state, now, quorumMessage(state), quorumSummary(state));
  const next = state.stages.length;
  if (next < state.workflow.stages.length) return openStage(state, next, stage.answered, now);
  return { state: enter(state, 'aggregating', now), effects: [{ type: 'aggregate' }] };
}

/** The quorum failure without the other banks' names and reasons: what a selected bank is told. */
function quorumSummary(state: RoundState): string {
  const stage = trainingStage(state);
  const what = state.workflow.stages.length > 1 ? `answers in the ${stage.name} stage` : 'updates';
  return `quorum not reached: ${stage.answeredCount} of ${state.limits.quorum} required ${what}`;
}

/** The summary, then which banks were missing and why (the stored reason). */
function quorumMessage(state: RoundState): string {
  const stage = trainingStage(state);
  const why = stage.asked
    .filter((b) => !stage.hasAnswered(b))
    .map(
      (b) =>
        `${b}: ${stage.dropReason(b) ?? `no ${stage.name === 'fit' ? 'update' : 'answer'} before the ${stage.name} stage closed`}`,
    )
    .join('; ');
  return `${quorumSummary(state)} (${why})`;
}

/**
 * Records an update that `judgeUpdate` accepted and whose weights were valid. `answeredAt` (ms) is
 * when it counts as arriving, `now` (ms, default `answeredAt`) the aggregator's time: they differ
 * for a frame read just after a hold of the event loop past a deadline, which counts as arriving
 * at that deadline (federation/frames.ts). A stage this answer closes closes at `answeredAt`; the
 * next one opens at `now`, with its whole timeout (opened at `answeredAt`, the hold would come off it).
 */
export function updateAccepted(state: RoundState, bankId: string, answeredAt: number, now = answeredAt): Transition {
  if (state.phase !== 'training') throw new Error(`cannot accept an update in phase ${state.phase}`);
  trainingStage(state).answer(bankId, answeredAt);
  return afterStage(state, Math.max(now, answeredAt));
}

/** Records a valid answer to the training stage in flight (any workflow's stage). */
export const answerAccepted = updateAccepted;

/**
 * The workflow's own check of a closed stage failed (e.g. secure aggregation: a bank no longer
 * has t live neighbours). Fails the round with the reason.
 */
export function stageFailed(state: RoundState, reason: string, now: number): Transition {
  if (isFinished(state)) return { state, effects: [] };
  // Such a reason names banks (whose shares did not decrypt, who lost its neighbours).
  return fail(state, now, reason, `the ${state.stages.at(-1)?.name ?? 'training'} stage failed: ${SEE_THE_RECORD}`);
}

/** A selected bank can no longer contribute (disconnected, declined, or sent bad weights). */
/** Why an answer for another round is refused: an earlier round's is stale, a later one's unknown. */
function wrongRound(roundId: number, current: number): string {
  return roundId < current
    ? `stale round id ${roundId} (current round is ${current})`
    : `unknown round id ${roundId}: no such round yet (current round is ${current})`;
}

export function bankLost(state: RoundState, bankId: string, reason: string, now: number): Transition {
  if (state.phase === 'training') {
    trainingStage(state).drop(bankId, reason, now);
    return afterStage(state, now);
  }
  if (state.phase === 'evaluating') {
    evaluationStage(state)?.drop(bankId, reason, now);
    return afterEvaluation(state, now);
  }
  return { state, effects: [] };
}

/** Opens evaluation stage `index` of the workflow, asking `bankIds` (no quorum). */
function openEvaluationStage(state: RoundState, index: number, bankIds: readonly string[], now: number): Transition {
  const spec = state.workflow.evaluation[index]!;
  const deadline = now + spec.timeoutMs;
  // Evaluation has no quorum: the round commits with the evaluations that arrived by the deadline.
  const stage = new Stage(spec.name, bankIds, { quorum: 0, graceMs: null, deadline }, now);
  state.evaluation.push(stage);
  return { state, effects: [{ type: 'ask', stage: spec.name, bankIds: [...bankIds], deadline }] };
}

/** The strategy produced a candidate model; ask these banks to evaluate it. */
export function aggregated(state: RoundState, evaluators: string[], now: number): Transition {
  if (state.phase !== 'aggregating') throw new Error(`cannot finish aggregation in phase ${state.phase}`);
  enter(state, 'evaluating', now);
  if (evaluators.length === 0 || state.workflow.evaluation.length === 0)
    return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
  return openEvaluationStage(state, 0, evaluators, now);
}

/** The evaluation stage in flight (or the last one), or null before evaluation. */
export function evaluationStage(state: RoundState): Stage | null {
  return state.evaluation[state.evaluation.length - 1] ?? null;
}

export function judgeEvaluation(state: RoundState, bankId: string, roundId: number): Verdict {
  if (roundId !== state.roundId) return { accepted: false, reason: wrongRound(roundId, state.roundId) };
  const stage = evaluationStage(state);
  if (state.phase !== 'evaluating' || !stage || !stage.isOpen)
    return { accepted: false, reason: `late: round ${roundId} is not evaluating` };
  if (!stage.wasAsked(bankId) || stage.dropReason(bankId) !== undefined)
    return { accepted: false, reason: `bank ${bankId} was not asked to evaluate round ${roundId}` };
  if (stage.hasAnswered(bankId)) return { accepted: false, reason: `duplicate evaluation from ${bankId}` };
  return { accepted: true };
}

/** What follows an evaluation stage once it closed: the next one (asking who answered), or the commit. */
function afterEvaluation(state: RoundState, now: number): Transition {
  const stage = evaluationStage(state);
  if (stage?.isOpen !== false) return { state, effects: [] };
  const next = state.evaluation.length;
  if (next < state.workflow.evaluation.length && stage.answeredCount > 0)
    return openEvaluationStage(state, next, stage.answered, now);
  if (next < state.workflow.evaluation.length)
    state.evaluationUnavailable ??= `no bank answered the ${stage.name} stage`;
  return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
}

/** Records an accepted evaluation; `answeredAt` and `now` as for `updateAccepted`. */
export function evaluationAccepted(
  state: RoundState,
  bankId: string,
  answeredAt: number,
  now = answeredAt,
): Transition {
  evaluationStage(state)!.answer(bankId, answeredAt);
  return afterEvaluation(state, Math.max(now, answeredAt));
}

/**
 * The evaluation cannot produce metrics (secure evaluation: too few live neighbours to unmask,
 * or pooled counts that do not add up): the candidate is committed without federated metrics,
 * the reason kept with the round. Training is what the round is for; an evaluation that cannot
 * finish is no reason to throw its model away (a plain round with no evaluation commits too).
 */
export function evaluationAbandoned(state: RoundState, reason: string, now: number): Transition {
  if (state.phase !== 'evaluating') return { state, effects: [] };
  state.evaluationUnavailable = reason;
  evaluationStage(state)?.abandon(now);
  return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
}

/** Aggregation itself failed (e.g. the strategy rejected the set of updates). */
export function aggregationFailed(state: RoundState, reason: string, now: number): Transition {
  // A strategy's or a check's reason may name a bank or describe its update.
  return fail(state, now, reason, `aggregation failed: ${SEE_THE_RECORD}`);
}

/** Admin stop, shutdown: ends the round now unless it already ended. */
export function abortRound(state: RoundState, reason: string, now: number): Transition {
  if (state.phase === 'committed' || state.phase === 'failed') return { state, effects: [] };
  return fail(state, now, reason);
}

/** Advances time: closes the fit stage, fails on a missed quorum, or commits after the evaluation deadline. */
export function tick(state: RoundState, now: number): Transition {
  if (state.phase === 'training') {
    trainingStage(state).tick(now);
    return afterStage(state, now);
  }
  if (state.phase === 'evaluating') {
    evaluationStage(state)?.tick(now);
    return afterEvaluation(state, now);
  }
  return { state, effects: [] };
}

/** The next moment `tick` could change something, or null. */
export function wakeAt(state: RoundState): number | null {
  // A training stage waiting for granted uploads (judged in time by their offers) has no time to wake at.
  if (state.phase === 'training') return trainingStage(state).wakeAt();
  if (state.phase === 'evaluating') return evaluationStage(state)?.closesAt() ?? null;
  return null;
}

/** The stage in flight (a training stage until aggregation, then an evaluation stage), for progress views. */
export function currentStage(state: RoundState): Stage | null {
  if (state.phase === 'training') return trainingStage(state);
  if (state.phase === 'evaluating') return evaluationStage(state);
  return null;
}

/**
 * Records a valid answer to the stage in flight, training or evaluation (the secagg workflow's
 * answers arrive through one handler for both).
 */
export function stageAnswered(state: RoundState, bankId: string, answeredAt: number, now = answeredAt): Transition {
  return state.phase === 'evaluating'
    ? evaluationAccepted(state, bankId, answeredAt, now)
    : updateAccepted(state, bankId, answeredAt, now);
}

export function isFinished(state: RoundState): boolean {
  return state.phase === 'committed' || state.phase === 'failed';
}
