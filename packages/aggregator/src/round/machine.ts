/**
 * The round state machine, pure: it never touches a socket, a timer or the clock. Every
 * input carries `now`; every output is a new state plus the effects the caller must
 * carry out (send assignments, aggregate, ask for evaluations, commit, fail) and the
 * next time it wants to be woken (`wakeAt`). The coordinator owns the IO and one timer.
 *
 *   selecting → training → aggregating → evaluating → committed
 *        ↘          ↘            ↘             ↘
 *                         failed (with a stored reason)
 *
 * This is the `fedavg` workflow: two generic Stages (stage.ts), `fit` then `evaluate`, with
 * aggregation between them. The Stage owns who was asked, who answered, who dropped and when it
 * closes; this file only says what follows each stage. Secure aggregation is another workflow
 * over the same Stage (advertise keys → share keys → masked fit → unmask → evaluate).
 *
 * The state is mutated in place (each transition returns the same object): copying the sets of
 * answered banks on every update made a round O(n²) in banks.
 */
import { Stage, type Verdict } from './stage.js';

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
  /** The fit stage: the selected banks are asked for an update. */
  readonly fit: Stage;
  /** The evaluate stage, once the candidate model exists. */
  evaluate: Stage | null;
  /** When each phase was entered (ms), for the stored durations. */
  phaseTimes: Partial<Record<RoundPhase, number>>;
  failureReason: string | null;
}

export type Effect =
  | { type: 'send_assignments'; bankIds: string[]; deadline: number }
  | { type: 'aggregate' }
  | { type: 'request_evaluations'; bankIds: string[]; deadline: number }
  | { type: 'commit' }
  | { type: 'fail'; reason: string };

export interface Transition {
  state: RoundState;
  effects: Effect[];
}

function enter(state: RoundState, phase: RoundPhase, now: number): RoundState {
  state.phase = phase;
  state.phaseTimes = { ...state.phaseTimes, [phase]: now };
  return state;
}

function fail(state: RoundState, now: number, reason: string): Transition {
  state.failureReason = reason;
  return { state: enter(state, 'failed', now), effects: [{ type: 'fail', reason }] };
}

/**
 * Starts a round with the banks the strategy selected. Fails at once (with a reason)
 * if fewer banks were selected than the quorum needs: waiting could not help.
 */
export function startRound(
  roundId: number,
  baseModelVersion: number,
  selected: string[],
  limits: RoundLimits,
  now: number,
): Transition {
  const fit = new Stage(
    'fit',
    selected,
    { quorum: limits.quorum, graceMs: limits.graceMs, deadline: now + limits.roundTimeoutMs },
    now,
  );
  const state: RoundState = {
    roundId,
    phase: 'selecting',
    baseModelVersion,
    limits,
    startedAt: now,
    fit,
    evaluate: null,
    phaseTimes: { selecting: now },
    failureReason: null,
  };
  if (selected.length < limits.quorum) {
    return fail(state, now, `only ${selected.length} bank(s) selected, quorum needs ${limits.quorum}`);
  }
  enter(state, 'training', now);
  return { state, effects: [{ type: 'send_assignments', bankIds: [...selected], deadline: fit.policy.deadline }] };
}

/** When the fit stage closes: at the deadline, or `graceMs` after quorum if sooner. */
export function fitClosesAt(state: RoundState): number {
  return state.fit.closesAt();
}

/** Decides whether an update may enter the round, before its weights are looked at. */
export function judgeUpdate(
  state: RoundState,
  bankId: string,
  roundId: number,
  modelVersion: number,
  now: number,
): Verdict {
  if (roundId !== state.roundId)
    return { accepted: false, reason: `stale round id ${roundId} (current round is ${state.roundId})` };
  if (!state.fit.wasAsked(bankId))
    return { accepted: false, reason: `bank ${bankId} was not selected for round ${roundId}` };
  if (state.fit.hasAnswered(bankId))
    return { accepted: false, reason: `duplicate update from ${bankId} for round ${roundId}` };
  if (state.phase !== 'training' || !state.fit.judge(bankId, now).accepted) {
    return { accepted: false, reason: `late: the fit stage of round ${roundId} closed` };
  }
  if (modelVersion !== state.baseModelVersion) {
    return {
      accepted: false,
      reason: `update computed from model version ${modelVersion}, round ${roundId} uses version ${state.baseModelVersion}`,
    };
  }
  return { accepted: true };
}

/** What follows the fit stage once it closed: aggregation if it reached quorum, else failure. */
function afterFit(state: RoundState, now: number): Transition {
  if (state.fit.isOpen) return { state, effects: [] };
  if (state.fit.succeeded) return { state: enter(state, 'aggregating', now), effects: [{ type: 'aggregate' }] };
  return fail(state, now, quorumMessage(state));
}

function quorumMessage(state: RoundState): string {
  const { fit } = state;
  const why = fit.asked
    .filter((b) => !fit.hasAnswered(b))
    .map((b) => `${b}: ${fit.dropReason(b) ?? 'no update before the fit stage closed'}`)
    .join('; ');
  return `quorum not reached: ${fit.answeredCount} of ${state.limits.quorum} required updates (${why})`;
}

/** Records an update that `judgeUpdate` accepted and whose weights were valid. */
export function updateAccepted(state: RoundState, bankId: string, now: number): Transition {
  if (state.phase !== 'training') throw new Error(`cannot accept an update in phase ${state.phase}`);
  state.fit.answer(bankId, now);
  return afterFit(state, now);
}

/** A selected bank can no longer contribute (disconnected, declined, or sent bad weights). */
export function bankLost(state: RoundState, bankId: string, reason: string, now: number): Transition {
  if (state.phase === 'training') {
    state.fit.drop(bankId, reason, now);
    return afterFit(state, now);
  }
  if (state.phase === 'evaluating' && state.evaluate) {
    state.evaluate.drop(bankId, reason, now);
    return afterEvaluation(state, now);
  }
  return { state, effects: [] };
}

/** The strategy produced a candidate model; ask these banks to evaluate it. */
export function aggregated(state: RoundState, evaluators: string[], now: number): Transition {
  if (state.phase !== 'aggregating') throw new Error(`cannot finish aggregation in phase ${state.phase}`);
  const deadline = now + state.limits.evaluationTimeoutMs;
  // Evaluation has no quorum: the round commits with the evaluations that arrived by the deadline.
  state.evaluate = new Stage('evaluate', evaluators, { quorum: 0, graceMs: null, deadline }, now);
  enter(state, 'evaluating', now);
  if (evaluators.length === 0) return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
  return { state, effects: [{ type: 'request_evaluations', bankIds: [...evaluators], deadline }] };
}

export function judgeEvaluation(state: RoundState, bankId: string, roundId: number): Verdict {
  if (roundId !== state.roundId)
    return { accepted: false, reason: `stale round id ${roundId} (current round is ${state.roundId})` };
  const stage = state.evaluate;
  if (state.phase !== 'evaluating' || !stage || !stage.isOpen)
    return { accepted: false, reason: `late: round ${roundId} is not evaluating` };
  if (!stage.wasAsked(bankId) || stage.dropReason(bankId) !== undefined)
    return { accepted: false, reason: `bank ${bankId} was not asked to evaluate round ${roundId}` };
  if (stage.hasAnswered(bankId)) return { accepted: false, reason: `duplicate evaluation from ${bankId}` };
  return { accepted: true };
}

function afterEvaluation(state: RoundState, now: number): Transition {
  if (state.evaluate?.isOpen !== false) return { state, effects: [] };
  return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
}

export function evaluationAccepted(state: RoundState, bankId: string, now: number): Transition {
  state.evaluate!.answer(bankId, now);
  return afterEvaluation(state, now);
}

/** Aggregation itself failed (e.g. the strategy rejected the set of updates). */
export function aggregationFailed(state: RoundState, reason: string, now: number): Transition {
  return fail(state, now, reason);
}

/** Admin stop, shutdown: ends the round now unless it already ended. */
export function abortRound(state: RoundState, reason: string, now: number): Transition {
  if (state.phase === 'committed' || state.phase === 'failed') return { state, effects: [] };
  return fail(state, now, reason);
}

/** Advances time: closes the fit stage, fails on a missed quorum, or commits after the evaluation deadline. */
export function tick(state: RoundState, now: number): Transition {
  if (state.phase === 'training') {
    state.fit.tick(now);
    return afterFit(state, now);
  }
  if (state.phase === 'evaluating' && state.evaluate) {
    state.evaluate.tick(now);
    return afterEvaluation(state, now);
  }
  return { state, effects: [] };
}

/** The next moment `tick` could change something, or null. */
export function wakeAt(state: RoundState): number | null {
  if (state.phase === 'training') return state.fit.closesAt();
  if (state.phase === 'evaluating') return state.evaluate?.closesAt() ?? null;
  return null;
}

/** The stage in flight (fit until aggregation, then evaluate), for progress views. */
export function currentStage(state: RoundState): Stage | null {
  if (state.phase === 'training') return state.fit;
  if (state.phase === 'evaluating') return state.evaluate;
  return null;
}

export function isFinished(state: RoundState): boolean {
  return state.phase === 'committed' || state.phase === 'failed';
}
