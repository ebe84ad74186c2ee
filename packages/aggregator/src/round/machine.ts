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
 * A round is a sequence of stages; today `fit` (training) then `evaluate`. Secure
 * aggregation will add stages (key setup, masked upload, unmasking) between them; the
 * per-stage bookkeeping (who was asked, who answered, deadline) is the same shape.
 */

export type RoundPhase = 'selecting' | 'training' | 'aggregating' | 'evaluating' | 'committed' | 'failed';

export interface RoundLimits {
  quorum: number;
  roundTimeoutMs: number;
  graceMs: number;
  evaluationTimeoutMs: number;
}

export interface RoundState {
  readonly roundId: number;
  readonly phase: RoundPhase;
  readonly baseModelVersion: number;
  readonly limits: RoundLimits;
  readonly startedAt: number;
  readonly selected: readonly string[];
  /** Fit stage. */
  readonly fitDeadline: number;
  readonly quorumAt: number | null;
  readonly accepted: readonly string[];
  /** Banks that can no longer report (disconnected or declined), with the reason. */
  readonly missing: Readonly<Record<string, string>>;
  /** Evaluate stage. */
  readonly evaluators: readonly string[];
  readonly evaluated: readonly string[];
  readonly evaluationDeadline: number | null;
  /** When each phase was entered (ms), for the stored durations. */
  readonly phaseTimes: Readonly<Partial<Record<RoundPhase, number>>>;
  readonly failureReason: string | null;
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

export type Verdict = { accepted: true } | { accepted: false; reason: string };

function enter(state: RoundState, phase: RoundPhase, now: number, extra: Partial<RoundState> = {}): RoundState {
  return { ...state, ...extra, phase, phaseTimes: { ...state.phaseTimes, [phase]: now } };
}

function fail(state: RoundState, now: number, reason: string): Transition {
  return { state: enter(state, 'failed', now, { failureReason: reason }), effects: [{ type: 'fail', reason }] };
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
  const base: RoundState = {
    roundId,
    phase: 'selecting',
    baseModelVersion,
    limits,
    startedAt: now,
    selected: [...selected],
    fitDeadline: now + limits.roundTimeoutMs,
    quorumAt: null,
    accepted: [],
    missing: {},
    evaluators: [],
    evaluated: [],
    evaluationDeadline: null,
    phaseTimes: { selecting: now },
    failureReason: null,
  };
  if (selected.length < limits.quorum) {
    return fail(base, now, `only ${selected.length} bank(s) selected, quorum needs ${limits.quorum}`);
  }
  const state = enter(base, 'training', now);
  return { state, effects: [{ type: 'send_assignments', bankIds: [...selected], deadline: state.fitDeadline }] };
}

/** When the fit stage closes: at the deadline, or `graceMs` after quorum if sooner. */
export function fitClosesAt(state: RoundState): number {
  if (state.quorumAt === null) return state.fitDeadline;
  return Math.min(state.fitDeadline, state.quorumAt + state.limits.graceMs);
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
  if (!state.selected.includes(bankId))
    return { accepted: false, reason: `bank ${bankId} was not selected for round ${roundId}` };
  if (state.accepted.includes(bankId))
    return { accepted: false, reason: `duplicate update from ${bankId} for round ${roundId}` };
  if (state.phase !== 'training' || now > fitClosesAt(state)) {
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

function afterFitProgress(state: RoundState, now: number): Transition {
  const pending = state.selected.filter((b) => !state.accepted.includes(b) && !(b in state.missing));
  if (pending.length === 0) {
    if (state.accepted.length >= state.limits.quorum) {
      return { state: enter(state, 'aggregating', now), effects: [{ type: 'aggregate' }] };
    }
    return fail(state, now, quorumMessage(state));
  }
  if (state.accepted.length + pending.length < state.limits.quorum) {
    // Waiting longer cannot help: not enough banks are left to reach quorum.
    return fail(state, now, quorumMessage(state));
  }
  return { state, effects: [] };
}

function quorumMessage(state: RoundState): string {
  const missing = state.selected.filter((b) => !state.accepted.includes(b));
  const why = missing.map((b) => `${b}: ${state.missing[b] ?? 'no update before the fit stage closed'}`).join('; ');
  return `quorum not reached: ${state.accepted.length} of ${state.limits.quorum} required updates (${why})`;
}

/** Records an update that `judgeUpdate` accepted and whose weights were valid. */
export function updateAccepted(state: RoundState, bankId: string, now: number): Transition {
  if (state.phase !== 'training') throw new Error(`cannot accept an update in phase ${state.phase}`);
  const accepted = [...state.accepted, bankId];
  const quorumAt = state.quorumAt ?? (accepted.length >= state.limits.quorum ? now : null);
  return afterFitProgress({ ...state, accepted, quorumAt }, now);
}

/** A selected bank can no longer contribute (disconnected, declined, or sent bad weights). */
export function bankLost(state: RoundState, bankId: string, reason: string, now: number): Transition {
  if (state.phase === 'training') {
    if (!state.selected.includes(bankId) || state.accepted.includes(bankId) || bankId in state.missing)
      return { state, effects: [] };
    return afterFitProgress({ ...state, missing: { ...state.missing, [bankId]: reason } }, now);
  }
  if (state.phase === 'evaluating' && state.evaluators.includes(bankId) && !state.evaluated.includes(bankId)) {
    return afterEvaluationProgress({ ...state, evaluators: state.evaluators.filter((b) => b !== bankId) }, now);
  }
  return { state, effects: [] };
}

/** The strategy produced a candidate model; ask these banks to evaluate it. */
export function aggregated(state: RoundState, evaluators: string[], now: number): Transition {
  if (state.phase !== 'aggregating') throw new Error(`cannot finish aggregation in phase ${state.phase}`);
  const deadline = now + state.limits.evaluationTimeoutMs;
  const next = enter(state, 'evaluating', now, { evaluators: [...evaluators], evaluationDeadline: deadline });
  if (evaluators.length === 0) return { state: enter(next, 'committed', now), effects: [{ type: 'commit' }] };
  return { state: next, effects: [{ type: 'request_evaluations', bankIds: [...evaluators], deadline }] };
}

export function judgeEvaluation(state: RoundState, bankId: string, roundId: number): Verdict {
  if (roundId !== state.roundId)
    return { accepted: false, reason: `stale round id ${roundId} (current round is ${state.roundId})` };
  if (state.phase !== 'evaluating') return { accepted: false, reason: `late: round ${roundId} is not evaluating` };
  if (!state.evaluators.includes(bankId))
    return { accepted: false, reason: `bank ${bankId} was not asked to evaluate round ${roundId}` };
  if (state.evaluated.includes(bankId)) return { accepted: false, reason: `duplicate evaluation from ${bankId}` };
  return { accepted: true };
}

function afterEvaluationProgress(state: RoundState, now: number): Transition {
  if (state.evaluators.every((b) => state.evaluated.includes(b))) {
    return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
  }
  return { state, effects: [] };
}

export function evaluationAccepted(state: RoundState, bankId: string, now: number): Transition {
  return afterEvaluationProgress({ ...state, evaluated: [...state.evaluated, bankId] }, now);
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
  if (state.phase === 'training' && now >= fitClosesAt(state)) {
    if (state.accepted.length >= state.limits.quorum) {
      return { state: enter(state, 'aggregating', now), effects: [{ type: 'aggregate' }] };
    }
    return fail(state, now, quorumMessage(state));
  }
  if (state.phase === 'evaluating' && state.evaluationDeadline !== null && now >= state.evaluationDeadline) {
    return { state: enter(state, 'committed', now), effects: [{ type: 'commit' }] };
  }
  return { state, effects: [] };
}

/** The next moment `tick` could change something, or null. */
export function wakeAt(state: RoundState): number | null {
  if (state.phase === 'training') return fitClosesAt(state);
  if (state.phase === 'evaluating') return state.evaluationDeadline;
  return null;
}

export function isFinished(state: RoundState): boolean {
  return state.phase === 'committed' || state.phase === 'failed';
}
