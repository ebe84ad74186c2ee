/**
 * The stages of the secagg workflow at the aggregator: what each stage asks each bank and how
 * each answer is checked and added (by the SecAgg+ core, which holds only the masked running
 * sum). Two passes run the same five SecAgg+ steps with their own keys and session: the fit pass
 * (masked updates) and the evaluation pass (masked counts, secure-evaluation.ts). Before asking
 * step k + 1 the core closes step k; when a bank is left with fewer than t live neighbours that
 * fails the round in the fit pass (naming the stage and the banks), and in the evaluation pass
 * leaves the round to commit without federated metrics, with the reason.
 */
import { encodeFrame, type SecAggClientMessage, type TensorInput } from '@finsecure/common/protocol';
import {
  advertisementFromWire,
  advertisementToWire,
  bytesFieldToWire,
  incomingToWire,
  fromBase64,
  isSecAggError,
  paramsToWire,
  sharesFromWire,
  unmaskFromWire,
  type SecAggAggregatorRound,
  type SecAggParams,
} from '@finsecure/common/secagg';
import * as machine from '../../round/machine.js';
import { audit, auditRepeated, type ActiveRound, type Core } from '../core.js';
import type { BankSession } from '../session.js';
import { apply, countDown, lose } from '../runner.js';
import { publishProgress } from '../views.js';
import { rejectUpdate } from '../fit-stage.js';
import { releaseUpload, uploadRefusal } from '../upload-slots.js';
import { newSecureEvaluation } from './secure-evaluation.js';

type Step = 'advertise' | 'share' | 'masked' | 'consistency' | 'unmask';

/** Each workflow stage: which pass it belongs to and which SecAgg+ step it runs. */
const STAGES: Record<string, { step: Step; evaluation: boolean }> = {
  advertise_keys: { step: 'advertise', evaluation: false },
  share_keys: { step: 'share', evaluation: false },
  masked_fit: { step: 'masked', evaluation: false },
  consistency_check: { step: 'consistency', evaluation: false },
  unmask: { step: 'unmask', evaluation: false },
  eval_advertise_keys: { step: 'advertise', evaluation: true },
  eval_share_keys: { step: 'share', evaluation: true },
  masked_evaluate: { step: 'masked', evaluation: true },
  eval_consistency_check: { step: 'consistency', evaluation: true },
  eval_unmask: { step: 'unmask', evaluation: true },
};

/** The answer each step expects. */
const STEP_OF: Record<Exclude<SecAggClientMessage['type'], 'secagg_refused'>, Step> = {
  secagg_keys: 'advertise',
  secagg_shares: 'share',
  secagg_masked_update: 'masked',
  secagg_masked_evaluation: 'masked',
  secagg_survivors_signed: 'consistency',
  secagg_unmask_shares: 'unmask',
};

/** What both passes have: the SecAgg+ core round, its parameters, session and identity keys. */
interface Pass {
  readonly session: string;
  readonly params: SecAggParams;
  readonly core: SecAggAggregatorRound;
  readonly identities: Map<string, Uint8Array>;
}

function passOf(round: ActiveRound, evaluation: boolean): Pass {
  const pass = evaluation ? round.secureEvaluation : round.secure;
  if (!pass) throw new Error(`round ${round.record.id} has no secure ${evaluation ? 'evaluation' : 'fit'} state`);
  return pass;
}

/**
 * Tells a bank its secure-aggregation message was refused, and why: as a refused update is
 * answered (fit-stage.ts rejectUpdate), so that the bank's log says what it did wrong.
 */
function tellRefused(session: BankSession, roundId: number, reason: string): void {
  session.reply(encodeFrame({ type: 'error', code: 'secagg_rejected', message: reason.slice(0, 2000), roundId }));
}

/**
 * A SecAgg+ step could not go on. In the fit pass the round fails (no sum, no model); in the
 * evaluation pass the candidate is committed without federated metrics, the reason kept.
 */
async function failWith(core: Core, round: ActiveRound, err: unknown, evaluation: boolean): Promise<false> {
  const now = core.opts.clock.now();
  if (evaluation) {
    const reason = `secure evaluation: ${(err as Error).message}`;
    core.opts.logger.warn({ roundId: round.state.roundId, reason }, 'committing without federated metrics');
    await apply(core, machine.evaluationAbandoned(round.state, reason, now));
  } else {
    await apply(core, machine.stageFailed(round.state, `secure aggregation: ${(err as Error).message}`, now));
  }
  return false;
}

/**
 * Asks `bankIds` the question of `stage`. Returns false if closing the previous step ended the
 * pass (the failure or abandoned evaluation is already applied).
 */
export async function askSecure(
  core: Core,
  round: ActiveRound,
  stage: string,
  bankIds: string[],
  deadline: number,
): Promise<boolean> {
  const spec = STAGES[stage];
  if (!spec) throw new Error(`the secagg workflow has no stage "${stage}"`);
  const { step, evaluation } = spec;
  const roundId = round.state.roundId;
  const deadlineInMs = Math.max(0, deadline - core.opts.clock.now());
  const send = (bankId: string, frame: Uint8Array) =>
    core.sessions.sendTo([bankId], frame, (b, n) => countDown(core, round, b, n));
  try {
    if (evaluation && step === 'advertise') round.secureEvaluation = newSecureEvaluation(core, round, bankIds);
    const s = passOf(round, evaluation);
    const base = { roundId, session: s.session, deadlineInMs };
    switch (step) {
      case 'advertise': {
        const frame = encodeFrame(paramsToWire(s.params, roundId, s.session, deadlineInMs, s.identities));
        for (const b of bankIds) send(b, frame);
        return true;
      }
      case 'share':
        s.core.closeAdvertiseKeys();
        for (const b of bankIds)
          send(
            b,
            encodeFrame({ type: 'secagg_share_keys', ...base, keys: s.core.keyListFor(b).map(advertisementToWire) }),
          );
        return true;
      case 'masked':
        s.core.closeShareKeys();
        if (evaluation) sendMaskedEvaluate(core, round, s, bankIds, base, send);
        else sendMaskedFit(core, round, s, bankIds, base, send);
        return true;
      case 'consistency': {
        s.core.closeMaskedFit();
        const frame = encodeFrame({ type: 'secagg_consistency_check', ...base, survivors: s.core.survivors() });
        for (const b of bankIds) send(b, frame);
        return true;
      }
      case 'unmask': {
        s.core.closeConsistencyCheck();
        const survivors = s.core.survivors();
        for (const b of bankIds) {
          const signatures = bytesFieldToWire(s.core.signaturesFor(b), 'signature');
          send(b, encodeFrame({ type: 'secagg_unmask', ...base, survivors, signatures }));
        }
        return true;
      }
    }
  } catch (err) {
    if (!isSecAggError(err)) throw err;
    return failWith(core, round, err, evaluation);
  }
}

type Base = { roundId: number; session: string; deadlineInMs: number };
type Send = (bankId: string, frame: Uint8Array) => void;

/** Masked fit: the round assignment plus each bank's share envelopes (tensor `global`: the model). */
function sendMaskedFit(core: Core, round: ActiveRound, s: Pass, bankIds: string[], base: Base, send: Send): void {
  const weighting = round.secure!.weighting;
  const global: TensorInput = { name: 'global', shape: [core.globalWeights.length], data: core.globalWeights };
  for (const b of bankIds) {
    const msg = {
      type: 'secagg_masked_fit' as const,
      ...base,
      modelVersion: core.globalVersion,
      config: round.config,
      scaler: core.scaler!,
      weighting,
      ...(core.auditHead ? { auditHead: core.auditHead } : {}),
      shares: incomingToWire(s.core.sharesFor(b)),
    };
    send(b, encodeFrame(msg, [global]));
  }
}

/** Masked evaluation: the evaluation request plus each bank's share envelopes (tensor `global`: the candidate). */
function sendMaskedEvaluate(core: Core, round: ActiveRound, s: Pass, bankIds: string[], base: Base, send: Send): void {
  const weights = round.candidate!;
  const global: TensorInput = { name: 'global', shape: [weights.length], data: weights };
  for (const b of bankIds) {
    const msg = {
      type: 'secagg_masked_evaluate' as const,
      ...base,
      modelVersion: core.globalVersion + 1,
      threshold: round.evaluation.threshold,
      histogramBins: round.evaluation.bins,
      scaler: core.scaler!,
      shares: incomingToWire(s.core.sharesFor(b)),
    };
    send(b, encodeFrame(msg, [global]));
  }
}

/** One secure-aggregation answer from a bank (on the serial queue). */
export async function onSecAggMessage(
  core: Core,
  session: BankSession,
  msg: SecAggClientMessage,
  tensors: ReadonlyMap<string, { uint32?: Uint32Array }>,
  receivedAt: number = core.opts.clock.now(),
  /** The frame's byte length: a masked update must be the size its offer announced. */
  size = 0,
): Promise<void> {
  const round = core.active;
  const bankId = session.bankId;
  if (msg.type === 'secagg_refused' && BUDGET_SPENT.test(msg.reason)) {
    // A bank whose own privacy budget is spent will refuse every round, even when its refusal
    // arrives after the round ended: remember it, as for a plain decline (frames.ts onDecline), so
    // that training stops when no eligible bank remains. It only ever leaves itself out.
    core.exhausted.set(bankId, msg.reason.slice(0, 200));
  }
  // The pass the message belongs to, by its session nonce (each pass has its own).
  const evaluation = round?.secureEvaluation?.session === msg.session;
  if (!round?.secure || msg.roundId !== round.state.roundId || (msg.session !== round.secure.session && !evaluation)) {
    // A message of another round or attempt: replayed, cross-round or simply late.
    const reason = 'not the round in flight (late, replayed or cross-round)';
    tellRefused(session, msg.roundId, `${msg.type}: ${reason}`);
    await auditRepeated(core, {
      type: 'secagg.rejected',
      actor: bankId,
      reason,
      key: `round ${msg.roundId}`,
      details: { roundId: msg.roundId, type: msg.type },
    });
    return;
  }
  const s = passOf(round, evaluation);
  const rid = s.params.roundId;
  const now = receivedAt;
  if (msg.type === 'secagg_refused') {
    const reason = `refused ${msg.stage}: ${msg.reason}`;
    await audit(core, 'secagg.refused', bankId, {
      roundId: msg.roundId,
      stage: msg.stage,
      code: msg.code,
      reason: msg.reason,
      banks: msg.banks,
    });
    core.opts.logger.warn(
      { bankId, roundId: msg.roundId, stage: msg.stage, code: msg.code, banks: msg.banks },
      'a bank refused a secure-aggregation step',
    );
    await lose(core, bankId, reason);
    return;
  }
  if (msg.type === 'secagg_masked_update') {
    // The masked update travels by the pull protocol of a plaintext update (fit-stage.ts onOffer,
    // upload-slots.ts): only a granted upload of the offered size is looked at.
    // A secure round grants no upload in advance (fit-stage.ts sendAssignments is the plaintext round's).
    const refusal = uploadRefusal(core, round, bankId, size);
    if ('reason' in refusal) return rejectUpdate(core, session, msg, refusal.reason, refusal.lose);
  }
  const stage = machine.currentStage(round.state);
  const spec = stage ? STAGES[stage.name] : undefined;
  // The stage in flight must be of the message's pass and step; masked updates belong to the fit
  // pass only, masked evaluations to the evaluation pass only.
  const rightKind =
    msg.type === 'secagg_masked_update' ? !evaluation : msg.type !== 'secagg_masked_evaluation' || evaluation;
  const verdict =
    stage && spec && spec.evaluation === evaluation && spec.step === STEP_OF[msg.type] && rightKind
      ? stage.judge(bankId, now)
      : { accepted: false as const, reason: `${msg.type} arrived during ${stage?.name ?? round.state.phase}` };
  if (!verdict.accepted) {
    tellRefused(session, msg.roundId, `${msg.type}: ${verdict.reason}`);
    await auditRepeated(core, {
      type: 'secagg.rejected',
      actor: bankId,
      reason: verdict.reason,
      key: `round ${msg.roundId}`,
      details: { roundId: msg.roundId, type: msg.type },
    });
    return;
  }
  try {
    switch (msg.type) {
      case 'secagg_keys':
        if (msg.advertisement.bankId !== bankId)
          throw new Error(`advertisement names ${msg.advertisement.bankId}, not ${bankId}`);
        s.core.receiveKeys(rid, advertisementFromWire(msg.advertisement));
        break;
      case 'secagg_shares':
        s.core.receiveShares(rid, bankId, sharesFromWire(msg));
        break;
      case 'secagg_masked_evaluation': {
        const masked = tensors.get('masked')?.uint32;
        if (!masked || tensors.size !== 1)
          throw new Error('a masked evaluation carries exactly one uint32 tensor "masked"');
        if (msg.modelVersion !== core.globalVersion + 1)
          throw new Error(
            `masked evaluation of model version ${msg.modelVersion}, the candidate is version ${core.globalVersion + 1}`,
          );
        const declared = core.sessions.get(bankId)?.hello.numTestExamples;
        if (declared !== undefined && msg.numExamples > declared)
          throw new Error(`numExamples ${msg.numExamples} exceeds the ${declared} test examples declared at join`);
        s.core.receiveMaskedUpdate(rid, bankId, { masked, signature: fromBase64(msg.signature, 'signature') });
        round.secureEvaluation!.clear.set(bankId, { numExamples: msg.numExamples, loss: msg.loss });
        break;
      }
      case 'secagg_masked_update': {
        // With distributed DP the bank has released its noise share, whatever we think of the
        // frame: record the release (the SUM's multiplier z, see common/secagg/distributed-dp.ts)
        // now, so that our ledger matches the bank's, which records before sending.
        const epsilon = recordDistributedDp(core, round, bankId);
        if (epsilon !== undefined) await core.ledger.save();
        const masked = tensors.get('masked')?.uint32;
        if (!masked || tensors.size !== 1)
          throw new Error('a masked update carries exactly one uint32 tensor "masked"');
        if (msg.modelVersion !== round.state.baseModelVersion)
          throw new Error(
            `masked update computed from model version ${msg.modelVersion}, round uses ${round.state.baseModelVersion}`,
          );
        s.core.receiveMaskedUpdate(rid, bankId, { masked, signature: fromBase64(msg.signature, 'signature') });
        // In the masked running sum: the frame is no longer needed, and the next offer may upload.
        releaseUpload(core, round, bankId);
        round.secure.losses.set(bankId, msg.loss);
        const entry = round.record.banks[bankId] ?? { bytesUp: 0, bytesDown: 0 };
        round.record.banks[bankId] = {
          ...entry,
          loss: msg.loss,
          trainMs: msg.timings.trainMs,
          updateBytes: masked.byteLength,
          ...(epsilon !== undefined ? { epsilon } : {}),
        };
        break;
      }
      case 'secagg_survivors_signed':
        s.core.receiveSurvivorSignature(rid, bankId, fromBase64(msg.signature, 'signature'));
        break;
      case 'secagg_unmask_shares':
        s.core.receiveUnmaskShares(rid, bankId, unmaskFromWire(msg));
        break;
    }
  } catch (err) {
    // A bad answer drops the bank from the round (its reason stored); the round goes on without it.
    // The stage is added once where the reason is stored (machine.missingReason) and kept in the
    // audit entry's details; SecAggError messages may carry it already.
    const message = (err as Error).message;
    const stageName = stage!.name;
    // The core names its own step ("masked_fit: ..." in either pass); the stored reason gets the
    // workflow's stage name instead (machine.missingReason).
    const prefix = `${isSecAggError(err) && err.stage ? err.stage : stageName}: `;
    const reason = (message.startsWith(prefix) ? message.slice(prefix.length) : message).slice(0, 500);
    tellRefused(session, msg.roundId, `${msg.type} refused in ${stageName}: ${reason}`);
    await auditRepeated(core, {
      type: 'secagg.rejected',
      actor: bankId,
      reason,
      key: `round ${msg.roundId}`,
      details: { roundId: msg.roundId, stage: stageName },
    });
    core.opts.logger.warn({ bankId, roundId: msg.roundId, reason }, 'secure-aggregation answer rejected');
    if (isSecAggError(err) && err.code === 'threshold_not_met')
      return failWith(core, round, err, evaluation).then(() => undefined);
    await lose(core, bankId, reason);
    return;
  }
  // Judged at its arrival; the next stage opens at the clock's time, with its whole timeout, even
  // when the frame was read after a hold of the event loop (round/machine.ts updateAccepted).
  await apply(core, machine.stageAnswered(round.state, bankId, now, core.opts.clock.now()));
  publishProgress(core);
}

/** What a bank says when its own privacy budget stops it (as frames.ts reads a plain decline). */
const BUDGET_SPENT = /privacy budget/i;

/**
 * Records a masked update's distributed-DP release in the aggregator's ledger: noise multiplier z
 * of the training config (the sum of any ≥ quorum shares carries (zC)², so each bank's ε per round
 * is the single-bank Gaussian mechanism's). Returns the bank's ε so far, or undefined without DP.
 */
function recordDistributedDp(core: Core, round: ActiveRound, bankId: string): number | undefined {
  const dp = round.config.dp;
  if (!dp || round.secure?.weighting.dpQuorum === undefined) return undefined;
  return core.ledger.record(bankId, dp.noiseMultiplier, dp.delta);
}
