/**
 * How a round ends: commit (global metrics from the evaluations, the new model version stored
 * with its round, the broadcast, the audit entry) or failure (the reason stored and told to the
 * banks asked); then the round is forgotten and the next one scheduled.
 */
import type { RoundRecord, StageSummary } from '@finsecure/common/api';
import { encodeFrame } from '@finsecure/common/protocol';
import { weightsSha256 } from '@finsecure/common/model';
import { capEvaluationReports, globalMetrics } from '@finsecure/common/metrics';
import * as machine from '../round/machine.js';
import type { RoundRules } from '../round/rules.js';
import { audit, noteRejection, published, statsOf, type ActiveRound, type Core } from './core.js';
import { assessHealthOf } from './consortium.js';
import { countCommittedRound } from './quarantine.js';
import { ModelFrames, rememberSha256 } from './model-frames.js';
import type { BankSession } from './session.js';
import { publishBank, publishRound, publishStatus } from './views.js';
import { collectEvaluation } from './workflows.js';

/** Time spent in each phase of the round, from the phase entry times. */
function durations(round: ActiveRound, end: number): RoundRecord['durations'] {
  const p = round.state.phaseTimes;
  const d: RoundRecord['durations'] = { totalMs: end - round.state.startedAt };
  if (p.training !== undefined) d.trainingMs = (p.aggregating ?? p.failed ?? end) - p.training;
  if (p.aggregating !== undefined) d.aggregationMs = (p.evaluating ?? p.committed ?? end) - p.aggregating;
  if (p.evaluating !== undefined) d.evaluationMs = (p.committed ?? end) - p.evaluating;
  return d;
}

/**
 * Each stage of the round: asked, answered, dropped (with reasons) and how long it took. The last
 * evaluation stage carries the reason when the round committed without federated metrics.
 */
function stageSummaries(round: ActiveRound, end: number): StageSummary[] {
  const all = [...round.state.stages, ...round.state.evaluation];
  const unavailable = round.state.evaluationUnavailable;
  return all.map((st, i) => ({
    name: st.name,
    asked: st.asked.length,
    answered: st.answeredCount,
    dropped: Object.fromEntries(st.dropped),
    ms: (st.closedTime ?? end) - st.openedAt,
    ...(unavailable !== null && i === all.length - 1 ? { note: unavailable } : {}),
  }));
}

/**
 * The evaluation gate (rules.maxAuprcDrop): why the candidate must not be committed, or null.
 * Compares with the last committed model's federated AUPRC.
 */
function gateRefusal(core: Core, round: ActiveRound, metrics: Record<string, number> | null): string | null {
  const maxDrop = (round.record.config.rules as RoundRules).maxAuprcDrop;
  const last = core.lastCommittedAuprc;
  const auprc = metrics?.auprc;
  if (maxDrop === null || maxDrop === undefined || last === null || auprc === undefined) return null;
  if (last - auprc <= maxDrop) return null;
  return `evaluation gate: federated AUPRC ${auprc.toFixed(4)} is ${(last - auprc).toFixed(4)} below the last committed model's ${last.toFixed(4)} (maxAuprcDrop ${maxDrop})`;
}

function finiteMetrics(m: Record<string, number> | null): Record<string, number> | null {
  if (!m) return null;
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

/** Selected banks that did not contribute get the reason stored with the round. */
function markMissing(core: Core, round: ActiveRound): void {
  for (const b of round.record.selected) {
    const st = round.record.banks[b];
    if (st && !st.rejected && !machine.hasContributed(round.state, b)) {
      st.rejected = machine.missingReason(round.state, b) ?? 'no update before the fit stage closed';
      noteRejection(core, b, round.record.id, st.rejected);
    }
  }
}

/**
 * The evaluation reports to pool, each bank's share capped at rules.evaluationMaxShare
 * (common/metrics/shares.ts); every bank's share is stored with the round, and a capped
 * one is an audit entry.
 */
async function cappedReports(core: Core, round: ActiveRound) {
  const { reports, shares } = capEvaluationReports(
    round.reports,
    (round.record.config.rules as RoundRules).evaluationMaxShare,
  );
  for (const s of shares) {
    const entry = round.record.banks[s.bankId];
    if (entry) entry.evaluationShare = { share: s.share, cappedShare: s.cappedShare };
  }
  const capped = shares.filter((s) => s.scale < 1);
  if (capped.length > 0)
    await audit(core, 'evaluation.capped', 'system', {
      roundId: round.record.id,
      banks: capped.map((s) => ({ bankId: s.bankId, share: s.share, cappedShare: s.cappedShare })),
    });
  return reports;
}

export async function commit(core: Core, round: ActiveRound): Promise<void> {
  const now = core.opts.clock.now();
  const weights = round.candidate!;
  const version = core.globalVersion + 1;
  const record = round.record;
  await collectEvaluation(core, round);
  if (round.reports.length > 0) {
    // The secure evaluation's one pooled report has no per-bank counts to cap.
    const g = globalMetrics(round.secureEvaluation ? round.reports : await cappedReports(core, round));
    record.metrics = {
      ...record.metrics,
      precision: g.precision,
      recall: g.recall,
      f1: g.f1,
      auprc: g.auprc,
      rocAuc: g.rocAuc,
      loss: g.loss,
      evalExamples: g.numExamples,
      tp: g.tp,
      fp: g.fp,
      tn: g.tn,
      fn: g.fn,
    };
  }
  record.metrics = finiteMetrics(record.metrics);
  const refusal = gateRefusal(core, round, record.metrics);
  if (refusal) return failRound(core, round, refusal);
  const sha256 = weightsSha256(weights);
  rememberSha256(weights, sha256);
  const frames = new ModelFrames(
    {
      type: 'round_committed',
      roundId: record.id,
      modelVersion: version,
      scaler: core.scaler!,
      ...(record.metrics ? { metrics: record.metrics } : {}),
    },
    weights,
  );
  // A bank that evaluated the candidate on its current connection holds the committed weights.
  const holds = (s: BankSession) => s.evaluatedRound === record.id;
  // Each connection's frame is chosen once, here: the round stores its bytes before it is
  // broadcast (a bank sees only a stored commit), and the broadcast sends exactly these frames.
  const planned = new Map<BankSession, Uint8Array>();
  for (const s of core.sessions.values()) {
    const frame = frames.frameFor(s, holds(s));
    planned.set(s, frame);
    const stats = record.banks[s.bankId] ?? { bytesUp: 0, bytesDown: 0 };
    stats.bytesDown += frame.byteLength;
    record.banks[s.bankId] = stats;
  }
  markMissing(core, round);
  // The in-memory record says "committed" only once the store has the round and its model.
  const committed: RoundRecord = {
    ...record,
    status: 'committed',
    endedAt: now,
    modelVersion: version,
    durations: durations(round, now),
    stages: stageSummaries(round, now),
  };
  // The round, its model and its audit entry in one transaction: a crash cannot leave a committed
  // round without its entry (the store adds the round's hash and the model's sha256 to it).
  const entry = await core.opts.store.commitRoundAudited(
    committed,
    {
      version,
      roundId: record.id,
      createdAt: now,
      sha256,
      weights,
      spec: { ...core.opts.spec },
    },
    {
      at: now,
      type: 'round.committed',
      actor: 'system',
      details: {
        participants: committed.participants,
        weights: Object.fromEntries(committed.participants.map((b) => [b, committed.banks[b]?.weight ?? 0])),
        metrics: committed.metrics,
      },
    },
  );
  published(core, entry);
  Object.assign(record, committed);
  await countCommittedRound(core, record);
  core.globalVersion = version;
  core.globalWeights = weights;
  if (record.metrics?.auprc !== undefined) core.lastCommittedAuprc = record.metrics.auprc;
  await core.ledger.save();
  core.roundsCompleted++;
  for (const b of record.participants) statsOf(core, b).rounds++;
  core.lastLosses = new Map(
    record.participants.flatMap((b) => {
      const l = record.banks[b]?.loss;
      return l === undefined ? [] : [[b, l] as [string, number]];
    }),
  );
  await assessHealthOf(core, record.participants);
  // A connection opened while the commit was stored is not in the round's count (and, new, it
  // holds nothing of this round: it gets the weights in full).
  for (const s of core.sessions.values()) {
    const bytes = frames.send(s, planned.get(s) ?? frames.frameFor(s, holds(s)), version);
    core.opts.observer?.bytes?.('down', bytes);
  }
  core.opts.logger.info({ roundId: record.id, modelVersion: version, metrics: record.metrics }, 'round committed');
  await finishRound(core, round);
}

/**
 * Stores the round as failed with `reason` and tells the selected banks `forBanks` (default the
 * reason itself, for a reason that names no other bank: the evaluation gate, an admin's stop).
 */
export async function failRound(core: Core, round: ActiveRound, reason: string, forBanks = reason): Promise<void> {
  const now = core.opts.clock.now();
  const record = round.record;
  record.status = 'failed';
  record.endedAt = now;
  record.failureReason = reason;
  record.durations = durations(round, now);
  record.stages = stageSummaries(round, now);
  markMissing(core, round);
  // The round and its round.failed entry in one transaction: a crash never keeps one without the other.
  const entry = await core.opts.store.saveRoundAudited(record, {
    at: now,
    type: 'round.failed',
    actor: 'system',
    details: { roundId: record.id, reason },
  });
  published(core, entry);
  core.quarantine?.commit(record); // a failed round counts no update, but moves the history window
  core.roundsFailed++;
  const frame = encodeFrame({ type: 'round_failed', roundId: record.id, reason: forBanks.slice(0, 500) });
  core.sessions.sendTo(record.selected, frame);
  core.opts.logger.warn({ roundId: record.id, reason }, 'round failed');
  await finishRound(core, round);
}

async function finishRound(core: Core, round: ActiveRound): Promise<void> {
  core.opts.clock.clearTimeout(core.roundTimer);
  core.active = null;
  // The round's end was stored: the store works again, so retries start over (retryDelayMs).
  core.stepFailures = 0;
  core.opts.observer?.roundFinished?.(round.record);
  publishRound(core, round.record);
  for (const b of new Set([...round.record.selected, ...Object.keys(round.record.banks)])) await publishBank(core, b);
  publishStatus(core);
  core.scheduleStart(core.settings.rules.roundIntervalMs);
}
