/**
 * The stages of the secagg workflow at the aggregator: what each stage asks each bank, how
 * each answer is checked and added (by the SecAgg+ core, which holds only the masked running
 * sum), and the unmasking into the candidate model. Before asking stage k + 1 the core closes
 * stage k, which fails the round (naming the stage and the banks) when a bank is left with
 * fewer than t live neighbours.
 */
import { encodeFrame, type SecAggClientMessage, type TensorInput } from '@finsecure/common/protocol';
import {
  advertisementFromWire,
  advertisementToWire,
  bytesFieldToWire,
  decodeFixedPointSum,
  fromBase64,
  isSecAggError,
  paramsToWire,
  secureFedAvgStep,
  sharesFromWire,
  unmaskFromWire,
} from '@finsecure/common/secagg';
import * as machine from '../../round/machine.js';
import { audit, auditRepeated, type ActiveRound, type Core } from '../core.js';
import type { BankSession } from '../session.js';
import { apply, countDown, lose } from '../runner.js';
import { publishProgress } from '../views.js';

function secure(round: ActiveRound) {
  if (!round.secure) throw new Error(`round ${round.record.id} has no secure-aggregation state`);
  return round.secure;
}

/** Fails the round with a secure-aggregation error (reason names the stage and the banks). */
async function failWith(core: Core, round: ActiveRound, err: unknown): Promise<false> {
  const reason = `secure aggregation: ${(err as Error).message}`;
  await apply(core, machine.stageFailed(round.state, reason, core.opts.clock.now()));
  return false;
}

/**
 * Asks `bankIds` the question of `stage`. Returns false if closing the previous stage failed
 * the round (the failure is already applied).
 */
export async function askSecure(
  core: Core,
  round: ActiveRound,
  stage: string,
  bankIds: string[],
  deadline: number,
): Promise<boolean> {
  const s = secure(round);
  const roundId = round.state.roundId;
  const deadlineInMs = Math.max(0, deadline - core.opts.clock.now());
  const base = { roundId, session: s.session, deadlineInMs };
  const send = (bankId: string, frame: Uint8Array) =>
    core.sessions.sendTo([bankId], frame, (b, n) => countDown(core, round, b, n));
  try {
    switch (stage) {
      case 'advertise_keys': {
        const frame = encodeFrame(paramsToWire(s.params, roundId, s.session, deadlineInMs, s.identities));
        for (const b of bankIds) send(b, frame);
        return true;
      }
      case 'share_keys':
        s.core.closeAdvertiseKeys();
        for (const b of bankIds)
          send(
            b,
            encodeFrame({ type: 'secagg_share_keys', ...base, keys: s.core.keyListFor(b).map(advertisementToWire) }),
          );
        return true;
      case 'masked_fit': {
        s.core.closeShareKeys();
        const global: TensorInput = { name: 'global', shape: [core.globalWeights.length], data: core.globalWeights };
        for (const b of bankIds) {
          const msg = {
            type: 'secagg_masked_fit' as const,
            ...base,
            modelVersion: core.globalVersion,
            config: round.config,
            scaler: core.scaler!,
            weighting: s.weighting,
            ...(core.auditHead ? { auditHead: core.auditHead } : {}),
            shares: bytesFieldToWire(s.core.sharesFor(b), 'ciphertext'),
          };
          send(b, encodeFrame(msg, [global]));
        }
        return true;
      }
      case 'consistency_check': {
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
      default:
        throw new Error(`the secagg workflow has no stage "${stage}"`);
    }
  } catch (err) {
    if (!isSecAggError(err)) throw err;
    return failWith(core, round, err);
  }
}

/** One secure-aggregation answer from a bank (on the serial queue). */
export async function onSecAggMessage(
  core: Core,
  session: BankSession,
  msg: SecAggClientMessage,
  tensors: ReadonlyMap<string, { uint32?: Uint32Array }>,
  receivedAt: number = core.opts.clock.now(),
): Promise<void> {
  const round = core.active;
  const bankId = session.bankId;
  if (msg.type === 'secagg_refused' && BUDGET_SPENT.test(msg.reason)) {
    // A bank whose own privacy budget is spent will refuse every round, even when its refusal
    // arrives after the round ended: remember it, as for a plain decline (frames.ts onDecline), so
    // that training stops when no eligible bank remains. It only ever leaves itself out.
    core.exhausted.set(bankId, msg.reason.slice(0, 200));
  }
  if (!round?.secure || msg.roundId !== round.state.roundId || msg.session !== round.secure.session) {
    // A message of another round or attempt: replayed, cross-round or simply late.
    await auditRepeated(core, {
      type: 'secagg.rejected',
      actor: bankId,
      reason: 'not the round in flight (late, replayed or cross-round)',
      key: `round ${msg.roundId}`,
      details: { roundId: msg.roundId, type: msg.type },
    });
    return;
  }
  const s = round.secure;
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
  const stage = machine.trainingStage(round.state);
  const expected = STAGE_OF[msg.type];
  const verdict =
    stage.name === expected
      ? stage.judge(bankId, now)
      : { accepted: false as const, reason: `${msg.type} arrived during ${stage.name}` };
  if (!verdict.accepted) {
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
        s.losses.set(bankId, msg.loss);
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
    const reason = (message.startsWith(`${stage.name}: `) ? message.slice(stage.name.length + 2) : message).slice(
      0,
      500,
    );
    await auditRepeated(core, {
      type: 'secagg.rejected',
      actor: bankId,
      reason,
      key: `round ${msg.roundId}`,
      details: { roundId: msg.roundId, stage: stage.name },
    });
    core.opts.logger.warn({ bankId, roundId: msg.roundId, reason }, 'secure-aggregation answer rejected');
    if (isSecAggError(err) && err.code === 'threshold_not_met') return failWith(core, round, err).then(() => undefined);
    await lose(core, bankId, reason);
    return;
  }
  await apply(core, machine.answerAccepted(round.state, bankId, now));
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

const STAGE_OF: Record<Exclude<SecAggClientMessage['type'], 'secagg_refused'>, string> = {
  secagg_keys: 'advertise_keys',
  secagg_shares: 'share_keys',
  secagg_masked_update: 'masked_fit',
  secagg_survivors_signed: 'consistency_check',
  secagg_unmask_shares: 'unmask',
};

/**
 * The unmask stage closed: reconstruct, remove the masks, decode the sum and take the FedAvg
 * step. Returns the candidate weights and who is in the sum, or a failure reason.
 */
export async function finishSecure(
  core: Core,
  round: ActiveRound,
): Promise<{ weights: Float32Array; survivors: string[]; meanLoss: number } | { failed: string }> {
  const s = secure(round);
  let result;
  try {
    result = await s.core.finish();
  } catch (err) {
    if (!isSecAggError(err)) throw err;
    return { failed: `secure aggregation: ${err.message}` };
  }
  const decoded = decodeFixedPointSum(result.sum, s.params.fixedPoint);
  let step;
  try {
    step = secureFedAvgStep(decoded, s.weighting.stepScale).step;
  } catch (err) {
    return { failed: `secure aggregation: ${(err as Error).message}` };
  }
  const eta = core.settings.rules.serverLearningRate;
  const g = core.globalWeights;
  const weights = new Float32Array(g.length);
  for (let j = 0; j < g.length; j++) weights[j] = g[j]! + eta * step[j]!;
  // The mean loss from clear-text losses, weighted by the example counts declared at join.
  let num = 0;
  let den = 0;
  for (const b of result.survivors) {
    const n = core.sessions.get(b)?.hello.numExamples ?? 1;
    num += n * (s.losses.get(b) ?? 0);
    den += n;
  }
  return { weights, survivors: result.survivors, meanLoss: den > 0 ? num / den : 0 };
}
