/**
 * The fit stage of the fedavg workflow: send the global model to the selected banks, judge each
 * bank's offer of its update and grant uploads a few at a time (upload-slots.ts), check each
 * granted update, add the valid ones to the strategy's running aggregation, and when the stage
 * closes, finish the aggregation into the candidate model.
 */
import { encodeFrame, firstNonFinite, type Update, type UpdateOffer } from '@finsecure/common/protocol';
import { parameterCount } from '@finsecure/common/model';
import * as machine from '../round/machine.js';
import type { RoundRules } from '../round/rules.js';
import { audit, auditRepeated, bankRound, noteRejection, statsOf, type ActiveRound, type Core } from './core.js';
import type { BankSession } from './session.js';
import { apply, countDown, lose } from './runner.js';
import { checkUpdate, reasonCode } from './update-checks.js';
import { publishBank, publishProgress } from './views.js';
import { recordReputation } from '../reputation/index.js';
import { candidates } from './round-start.js';
import { ModelFrames } from './model-frames.js';
import { preGrantUploads, queueOffer, releaseUpload, uploadQueue, uploadRefusal } from './upload-slots.js';

const parameterCounts = new WeakMap<object, number>();

/** Parameters of the federation's model (the length of an update); counted once per spec (it is read per update). */
export function parametersOf(core: Core): number {
  const spec = core.opts.spec;
  let n = parameterCounts.get(spec);
  if (n === undefined) {
    n = parameterCount(spec);
    parameterCounts.set(spec, n);
  }
  return n;
}

/**
 * Sends the round assignment, encoded at most twice whatever the number of banks: with the model's
 * weights, and by reference to banks that hold them (model-frames.ts). It grants every upload in
 * advance when the banks' updates fit in memory together (upload-slots.ts).
 */
export function sendAssignments(core: Core, round: ActiveRound, bankIds: string[], deadline: number): void {
  const maxBytes = preGrantUploads(round, bankIds.length, parametersOf(core));
  const version = core.globalVersion;
  const frames = new ModelFrames(
    {
      type: 'round_assignment',
      roundId: round.state.roundId,
      modelVersion: version,
      deadlineInMs: Math.max(0, deadline - core.opts.clock.now()),
      config: round.config,
      scaler: core.scaler!,
      ...(maxBytes !== null ? { preGrantedUpload: { maxBytes } } : {}),
      // Banks keep the heads they saw: any of them can later prove a rewrite of the audit log.
      ...(core.auditHead ? { auditHead: core.auditHead } : {}),
    },
    core.globalWeights,
  );
  for (const bankId of bankIds) {
    const session = core.sessions.get(bankId);
    if (!session) continue;
    countDown(core, round, bankId, frames.sendTo(session, version, session.heldModel === version));
  }
}

export async function rejectUpdate(
  core: Core,
  session: BankSession,
  msg: { roundId: number },
  reason: string,
  loseFromRound: boolean,
): Promise<void> {
  session.reply(encodeFrame({ type: 'ack', roundId: msg.roundId, of: 'update', accepted: false, reason }));
  core.opts.observer?.updateRejected?.(reasonCode(reason));
  noteRejection(core, session.bankId, msg.roundId, reason);
  const active = core.active;
  if (active && msg.roundId === active.state.roundId && !machine.hasContributed(active.state, session.bankId)) {
    active.record.banks[session.bankId] = { ...bankRound(core, session.bankId), rejected: reason };
  }
  await auditRepeated(core, {
    type: 'update.rejected',
    actor: session.bankId,
    reason,
    key: `${reasonCode(reason)} round ${msg.roundId}`,
    details: { roundId: msg.roundId },
  });
  core.opts.logger.warn({ bankId: session.bankId, roundId: msg.roundId, reason }, 'update rejected');
  if (loseFromRound) await lose(core, session.bankId, `update rejected: ${reason}`);
  await publishBank(core, session.bankId);
}

type FitRound = ActiveRound & { aggregation: NonNullable<ActiveRound['aggregation']> };

/**
 * The round whose plaintext fit stage an update (`what`, for round `roundId`) goes to,
 * or why there is none: no round running, or a secure round, whose updates travel masked.
 */
function plaintextFit(core: Core, what: 'update', roundId: number): FitRound | string {
  const round = core.active;
  if (!round) return `late: no round is running (${what} for round ${roundId})`;
  if (!round.aggregation)
    return `secure aggregation is on in round ${round.state.roundId}: updates travel masked (secagg_masked_update)`;
  return round as FitRound;
}

/**
 * The round an offer (for round `roundId`) goes to, or why there is none. A plaintext round takes
 * offers in its fit stage; a secure round takes offers of masked updates in its masked_fit stage
 * (the same pull protocol: secagg/stages.ts checks the grant when the masked update comes).
 */
function offerTarget(core: Core, roundId: number): ActiveRound | string {
  const round = core.active;
  if (!round) return `late: no round is running (offer for round ${roundId})`;
  if (round.aggregation) return round;
  const stage = machine.currentStage(round.state)?.name ?? round.state.phase;
  if (round.secure && stage === 'masked_fit') return round;
  return `secure round ${round.state.roundId} takes update offers in its masked_fit stage only, not during ${stage}`;
}

/**
 * A bank offers its update (pull protocol, issue 14; on the serial queue). Judged by the offer's
 * arrival time with the rules of an update (round, selection, duplicate, deadline, model
 * version), and its size against the frame limit; refused at once with the reason (an `ack` of
 * the update), or queued for an upload slot. An accepted offer holds the fit stage open for the
 * bank's update until it arrives, is refused, or its grant times out.
 */
export async function onOffer(core: Core, session: BankSession, msg: UpdateOffer, receivedAt: number): Promise<void> {
  // Gone while its offer waited on the queue: its disconnect already dropped it from the round.
  if (!core.sessions.isCurrent(session)) return;
  const round = offerTarget(core, msg.roundId);
  if (typeof round === 'string') return rejectUpdate(core, session, msg, round, false);
  const queue = uploadQueue(round);
  if (msg.roundId === round.state.roundId && queue.holds(session.bankId))
    return rejectUpdate(core, session, msg, `duplicate offer from ${session.bankId} for round ${msg.roundId}`, false);
  if (msg.bytes > core.opts.maxFrameBytes)
    return rejectUpdate(
      core,
      session,
      msg,
      `offered update of ${msg.bytes} bytes exceeds the frame limit of ${core.opts.maxFrameBytes} bytes`,
      false,
    );
  const verdict = machine.judgeOffer(round.state, session.bankId, msg.roundId, msg.modelVersion, receivedAt);
  if (!verdict.accepted) return rejectUpdate(core, session, msg, verdict.reason, false);
  queueOffer(core, round, session.bankId, { bytes: msg.bytes, numExamples: msg.numExamples, at: receivedAt });
}

/** One update from a bank (on the serial queue); only a granted upload is looked at. */
export async function onUpdate(
  core: Core,
  session: BankSession,
  msg: Update,
  tensors: Map<string, { data: Float32Array; shape: number[] }>,
  size: number,
  /** When the frame arrived (before it waited on the queue): deadlines are judged by it. */
  receivedAt: number = core.opts.clock.now(),
): Promise<void> {
  const now = receivedAt;
  const round = plaintextFit(core, 'update', msg.roundId);
  if (typeof round === 'string') return rejectUpdate(core, session, msg, round, false);
  // Past this, an update from a granted bank the stage waits for: any refusal drops it from the
  // stage. One granted in advance held no slot: the stage's refusal (not selected, a second update,
  // late, another model version) leaves the bank where it was; its content's refusal drops it.
  const upload = uploadRefusal(core, round, session.bankId, size, msg.numExamples);
  if ('reason' in upload) return rejectUpdate(core, session, msg, upload.reason, upload.lose);
  const verdict = machine.judgeUpdate(round.state, session.bankId, msg.roundId, msg.modelVersion, now);
  if (!verdict.accepted) return rejectUpdate(core, session, msg, verdict.reason, !upload.preGranted);
  const stats = bankRound(core, session.bankId);
  stats.bytesUp += size;
  round.record.banks[session.bankId] = stats;
  const parameters = parametersOf(core);
  // A release the bank made is privacy spent, whatever we then think of its content: record it
  // now, so the aggregator's ledger matches the bank's even for an update refused below.
  const epsilon = msg.dp
    ? core.ledger.record(
        session.bankId,
        msg.dp.noiseMultiplier,
        round.config.dp?.delta ?? session.hello.dp?.delta ?? 1e-5,
      )
    : undefined;
  if (msg.dp) await core.ledger.save();
  const rules = round.record.config.rules as RoundRules;
  const refusal = checkUpdate(msg, tensors, session.hello, {
    parameters,
    maxUpdateNorm: rules.maxUpdateNorm,
    maxNoiseMultiplier: rules.maxNoiseMultiplier,
    dp: round.config.dp,
  });
  if (refusal) return rejectUpdate(core, session, msg, refusal, true);
  // Weighted by at most the count bounded at selection; its trained rows shrink in proportion, so
  // that step normalisation sees the same rows per example as the bank reported.
  const cap = round.weightCaps.get(session.bankId) ?? msg.numExamples;
  const weight = Math.min(msg.numExamples, cap);
  const numTrained =
    weight < msg.numExamples
      ? Math.max(weight, Math.round((msg.numTrained * weight) / msg.numExamples))
      : msg.numTrained;
  try {
    round.aggregation.add({
      bankId: session.bankId,
      delta: tensors.get('update')!.data,
      numExamples: weight,
      // Rows trained after SMOTE: step normalisation counts the bank's local steps from them.
      numTrained,
      loss: msg.loss,
    });
  } catch (err) {
    return rejectUpdate(core, session, msg, `wrong weights: ${(err as Error).message}`, true);
  }
  // In the accumulator: the decoded update (and its frame) is no longer needed, and the next offer may upload.
  releaseUpload(core, round, session.bankId);
  // Contributed: a refusal of an earlier frame (an update before its grant, say) no longer
  // describes the bank in this round; it stays in the audit log and the bank's recent rejections.
  const { rejected: _earlier, ...kept } = stats;
  round.record.banks[session.bankId] = {
    ...kept,
    numExamples: msg.numExamples,
    loss: msg.loss,
    trainMs: msg.timings.trainMs,
    updateBytes: size,
    ...(epsilon !== undefined ? { epsilon } : {}),
  };
  statsOf(core, session.bankId).lastUpdateBytes = size;
  // No `ack` for an accepted update: only refusals are answered (protocol/messages.ts Ack). The
  // next instruction implies acceptance, and every frame sent costs the aggregator a socket write
  // (issue 14 item 1: the two positive acks were a third of a round's frames to each bank).
  // Deferred: one entry per bank per round, which may share a commit with the next second's entries (one batch a round when the fit stage closes within it).
  await audit(
    core,
    'update.accepted',
    session.bankId,
    {
      roundId: msg.roundId,
      numExamples: msg.numExamples,
      bytes: size,
      dp: msg.dp ?? null,
    },
    { deferred: true },
  );
  core.opts.logger.info(
    { bankId: session.bankId, roundId: msg.roundId, numExamples: msg.numExamples, loss: msg.loss },
    'update accepted',
  );
  // Judged at its arrival; a stage it closes hands over at the clock's time (round/machine.ts).
  await apply(core, machine.updateAccepted(round.state, session.bankId, now, core.opts.clock.now()));
  publishProgress(core);
}

/** The fit stage closed with quorum: the strategy finishes the aggregation into the candidate model. */
export async function aggregate(core: Core, round: ActiveRound): Promise<void> {
  const now = () => core.opts.clock.now();
  const started = performance.now();
  let outcome;
  try {
    outcome = round.aggregation!.finish();
  } catch (err) {
    return apply(core, machine.aggregationFailed(round.state, `aggregation failed: ${(err as Error).message}`, now()));
  }
  core.opts.observer?.aggregationMs?.(performance.now() - started);
  const bad = firstNonFinite(outcome.weights); // one plain pass: findIndex boxed every weight (issue 14)
  if (bad >= 0) {
    // Finite updates can still overflow float32 when added to the model.
    const reason = `aggregation produced a non-finite weight at index ${bad}; the updates are out of range`;
    return apply(core, machine.aggregationFailed(round.state, reason, now()));
  }
  round.candidate = outcome.weights;
  round.record.participants = Object.keys(outcome.bankWeights);
  for (const [bankId, weight] of Object.entries(outcome.bankWeights)) {
    round.record.banks[bankId] = { ...(round.record.banks[bankId] ?? { bytesUp: 0, bytesDown: 0 }), weight };
  }
  // Each bank's update against the aggregate, stored with the round; an exclusion is audited.
  for (const e of recordReputation(round.record.banks, outcome, round.strategy.name))
    await audit(core, 'update.excluded', e.bankId, { roundId: round.state.roundId, reason: e.reason });
  round.record.metrics = { trainLoss: outcome.meanLoss, participants: outcome.numContributors };
  const ctx = { roundId: round.state.roundId, global: core.globalWeights, config: round.config, rng: core.rng.fork() };
  const evaluators = round.strategy
    .configureEvaluate(ctx, round.record.participants, candidates(core))
    .filter((b) => core.sessions.has(b));
  await apply(core, machine.aggregated(round.state, evaluators, now()));
}
