/**
 * How a round ends: commit (global metrics from the evaluations, the new model version stored
 * with its round, the broadcast, the audit entry) or failure (the reason stored and told to the
 * banks asked); then the round is forgotten and the next one scheduled.
 */
import type { RoundRecord } from '@finsecure/common/api';
import { encodeFrame } from '@finsecure/common/protocol';
import { weightsSha256 } from '@finsecure/common/model';
import { globalMetrics } from '@finsecure/common/metrics';
import * as machine from '../round/machine.js';
import { audit, noteRejection, statsOf, type ActiveRound, type Core } from './core.js';
import { assessHealth } from './consortium.js';
import { publishBank, publishRound, publishStatus } from './views.js';

/** Time spent in each phase of the round, from the phase entry times. */
function durations(round: ActiveRound, end: number): RoundRecord['durations'] {
  const p = round.state.phaseTimes;
  const d: RoundRecord['durations'] = { totalMs: end - round.state.startedAt };
  if (p.training !== undefined) d.trainingMs = (p.aggregating ?? p.failed ?? end) - p.training;
  if (p.aggregating !== undefined) d.aggregationMs = (p.evaluating ?? p.committed ?? end) - p.aggregating;
  if (p.evaluating !== undefined) d.evaluationMs = (p.committed ?? end) - p.evaluating;
  return d;
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

export async function commit(core: Core, round: ActiveRound): Promise<void> {
  const now = core.opts.clock.now();
  const weights = round.candidate!;
  const version = core.globalVersion + 1;
  const record = round.record;
  if (round.reports.length > 0) {
    const g = globalMetrics(round.reports);
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
  // Count the commit broadcast into this round before persisting it.
  const frame = encodeFrame(
    {
      type: 'round_committed',
      roundId: record.id,
      modelVersion: version,
      scaler: core.scaler!,
      ...(record.metrics ? { metrics: record.metrics } : {}),
    },
    [{ name: 'global', shape: [weights.length], data: weights }],
  );
  for (const s of core.sessions.values()) {
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
  };
  await core.opts.store.commitRound(committed, {
    version,
    roundId: record.id,
    createdAt: now,
    sha256: weightsSha256(weights),
    weights,
    spec: { ...core.opts.spec },
  });
  Object.assign(record, committed);
  core.globalVersion = version;
  core.globalWeights = weights;
  await core.ledger.save();
  core.roundsCompleted++;
  for (const b of record.participants) statsOf(core, b).rounds++;
  core.lastLosses = new Map(
    record.participants.flatMap((b) => {
      const l = record.banks[b]?.loss;
      return l === undefined ? [] : [[b, l] as [string, number]];
    }),
  );
  for (const b of record.participants) await assessHealth(core, b);
  for (const s of core.sessions.values()) {
    s.send(frame);
    core.opts.observer?.bytes?.('down', frame.byteLength);
  }
  await audit(core, 'round.committed', 'system', {
    roundId: record.id,
    modelVersion: version,
    participants: record.participants,
    weights: Object.fromEntries(record.participants.map((b) => [b, record.banks[b]?.weight ?? 0])),
    metrics: record.metrics,
  });
  core.opts.logger.info({ roundId: record.id, modelVersion: version, metrics: record.metrics }, 'round committed');
  await finishRound(core, round);
}

export async function failRound(core: Core, round: ActiveRound, reason: string): Promise<void> {
  const now = core.opts.clock.now();
  const record = round.record;
  record.status = 'failed';
  record.endedAt = now;
  record.failureReason = reason;
  record.durations = durations(round, now);
  markMissing(core, round);
  await core.opts.store.saveRound(record);
  core.roundsFailed++;
  const frame = encodeFrame({ type: 'round_failed', roundId: record.id, reason: reason.slice(0, 500) });
  core.sessions.sendTo(record.selected, frame);
  await audit(core, 'round.failed', 'system', { roundId: record.id, reason });
  core.opts.logger.warn({ roundId: record.id, reason }, 'round failed');
  await finishRound(core, round);
}

async function finishRound(core: Core, round: ActiveRound): Promise<void> {
  core.opts.clock.clearTimeout(core.roundTimer);
  core.active = null;
  core.opts.observer?.roundFinished?.(round.record);
  publishRound(core, round.record);
  for (const b of new Set([...round.record.selected, ...Object.keys(round.record.banks)])) await publishBank(core, b);
  publishStatus(core);
  core.scheduleStart(core.settings.rules.roundIntervalMs);
}
