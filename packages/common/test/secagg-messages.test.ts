import { describe, expect, it } from 'vitest';
import {
  SecAggClientMessage,
  SecAggServerMessage,
  decodeFrame,
  encodeFrame,
  secaggRoundId,
  type TensorInput,
} from '../src/protocol/index.js';
import {
  SecAggAggregatorRound,
  SecAggBankRound,
  advertisementFromWire,
  advertisementToWire,
  bytesFieldToWire,
  incomingToWire,
  decodeFixedPointSum,
  encodeFixedPoint,
  incomingFromWire,
  paramsFromWire,
  paramsToWire,
  sharesFromWire,
  sharesToWire,
  signaturesFromWire,
  toBase64,
  unmaskFromWire,
  unmaskToWire,
  type SecAggParams,
} from '../src/secagg/index.js';
import { consortium } from './secagg-harness.js';

const session = '0123456789abcdef0123456789abcdef';
const round = 7;
const deadlineInMs = 30_000;

/** Every message crosses a real binary frame and its zod schema. */
function toBank(msg: object, tensors: TensorInput[] = []) {
  return decodeFrame(encodeFrame(msg, tensors), SecAggServerMessage);
}
function toAggregator(msg: object, tensors: TensorInput[] = []) {
  return decodeFrame(encodeFrame(msg, tensors), SecAggClientMessage);
}

describe('secagg wire messages', () => {
  it('carry a whole round through binary frames; the masked vector rides as a uint32 tensor', async () => {
    const c = consortium(4);
    const params: SecAggParams = {
      roundId: secaggRoundId(round, session),
      participants: c.ids,
      threshold: 3,
      graph: { kind: 'complete' },
      vectorLength: 50,
      fixedPoint: { fractionalBits: 16, clip: 1, maxWeight: 1, maxBanks: 4 },
    };
    const agg = new SecAggAggregatorRound(params, c.directory);
    const banks = new Map(
      c.ids.map((id) => [
        id,
        new SecAggBankRound({ bankId: id, identity: c.identities.get(id)!, directory: c.directory }),
      ]),
    );
    const updates = c.ids.map((_, i) => Float32Array.from({ length: 50 }, (_, j) => ((i + 1) * (j - 25)) / 1000));
    const rid = params.roundId;
    const common = { roundId: round, session };

    const req1 = toBank(paramsToWire(params, round, session, deadlineInMs, c.directory)).msg;
    for (const [id, bank] of banks) {
      if (req1.type !== 'secagg_advertise_keys') throw new Error(req1.type);
      const adv = bank.advertiseKeys(paramsFromWire(req1));
      const ans = toAggregator({ type: 'secagg_keys', ...common, advertisement: advertisementToWire(adv) }).msg;
      if (ans.type !== 'secagg_keys') throw new Error(ans.type);
      agg.receiveKeys(rid, advertisementFromWire(ans.advertisement));
      expect(ans.advertisement.bankId).toBe(id);
    }
    agg.closeAdvertiseKeys();
    for (const [id, bank] of banks) {
      const req = toBank({
        type: 'secagg_share_keys',
        ...common,
        keys: agg.keyListFor(id).map(advertisementToWire),
        deadlineInMs,
      }).msg;
      if (req.type !== 'secagg_share_keys') throw new Error(req.type);
      const res = await bank.shareKeys(rid, req.keys.map(advertisementFromWire));
      const ans = toAggregator({ type: 'secagg_shares', ...common, ...sharesToWire(res) }).msg;
      if (ans.type !== 'secagg_shares') throw new Error(ans.type);
      agg.receiveShares(rid, id, sharesFromWire(ans));
    }
    agg.closeShareKeys();
    const scaler = { mean: [0], std: [1] };
    let i = 0;
    for (const [id, bank] of banks) {
      const assignment = {
        type: 'secagg_masked_fit',
        ...common,
        modelVersion: 3,
        deadlineInMs,
        config: { epochs: 1, batchSize: 32, learningRate: 0.01, smoteRatio: 0 },
        scaler,
        shares: incomingToWire(agg.sharesFor(id)),
        weighting: { exampleScale: 1000, lossExponent: 0.5, normalizeSteps: true, stepScale: 40 },
      };
      const req = toBank(assignment, [{ name: 'global', shape: [50], data: new Float32Array(50) }]);
      if (req.msg.type !== 'secagg_masked_fit') throw new Error(req.msg.type);
      const { encoded } = encodeFixedPoint(updates[i++]!, 1, params.fixedPoint);
      const up = bank.maskedFit(rid, incomingFromWire(req.msg.shares), encoded);
      const msg = {
        type: 'secagg_masked_update',
        ...common,
        modelVersion: 3,
        signature: toBase64(up.signature),
        loss: 0.3,
        timings: { trainMs: 5 },
      };
      const ans = toAggregator(msg, [{ name: 'masked', shape: [50], data: up.masked }]);
      const t = ans.tensors.get('masked')!;
      expect(t.dtype).toBe('uint32');
      if (ans.msg.type !== 'secagg_masked_update') throw new Error(ans.msg.type);
      agg.receiveMaskedUpdate(rid, id, { masked: t.uint32!, signature: Buffer.from(ans.msg.signature, 'base64') });
    }
    agg.closeMaskedFit();
    for (const [id, bank] of banks) {
      const req = toBank({ type: 'secagg_consistency_check', ...common, survivors: agg.survivors(), deadlineInMs }).msg;
      if (req.type !== 'secagg_consistency_check') throw new Error(req.type);
      const sig = bank.signSurvivors(rid, req.survivors);
      const ans = toAggregator({ type: 'secagg_survivors_signed', ...common, signature: toBase64(sig) }).msg;
      if (ans.type !== 'secagg_survivors_signed') throw new Error(ans.type);
      agg.receiveSurvivorSignature(rid, id, Buffer.from(ans.signature, 'base64'));
    }
    agg.closeConsistencyCheck();
    for (const [id, bank] of banks) {
      const sigs = bytesFieldToWire(agg.signaturesFor(id), 'signature');
      const req = toBank({
        type: 'secagg_unmask',
        ...common,
        survivors: agg.survivors(),
        signatures: sigs,
        deadlineInMs,
      }).msg;
      if (req.type !== 'secagg_unmask') throw new Error(req.type);
      const res = bank.unmask(rid, req.survivors, signaturesFromWire(req.signatures));
      const ans = toAggregator({ type: 'secagg_unmask_shares', ...common, ...unmaskToWire(res) }).msg;
      if (ans.type !== 'secagg_unmask_shares') throw new Error(ans.type);
      agg.receiveUnmaskShares(rid, id, unmaskFromWire(ans));
    }
    const { sum } = await agg.finish();
    const dec = decodeFixedPointSum(sum, params.fixedPoint);
    for (let j = 0; j < 50; j++) {
      const plain = updates.reduce((a, u) => a + u[j]!, 0);
      expect(Math.abs(dec[j]! - plain)).toBeLessThan(4 * 2 ** -16);
    }
  });

  it('reject byte fields of the wrong length or spelling, and unknown stages', () => {
    const key = toBase64(new Uint8Array(32).fill(7));
    const good = { type: 'secagg_shares', roundId: 1, session, seedCommitment: key, shares: [] };
    expect(SecAggClientMessage.safeParse(good).success).toBe(true);
    for (const bad of [
      toBase64(new Uint8Array(31)),
      toBase64(new Uint8Array(33)),
      key.replace('=', ''),
      key.slice(0, 42) + 'd=', // non-zero unused bits: not canonical
      key.slice(0, 10) + '*' + key.slice(11),
    ]) {
      expect(SecAggClientMessage.safeParse({ ...good, seedCommitment: bad }).success).toBe(false);
    }
    expect(SecAggClientMessage.safeParse({ ...good, session: 'ABC' }).success).toBe(false);
    const refused = {
      type: 'secagg_refused',
      roundId: 1,
      session,
      stage: 'unmask',
      code: 'inconsistent',
      reason: 'x',
      banks: ['bank-01'],
    };
    expect(SecAggClientMessage.safeParse(refused).success).toBe(true);
    expect(SecAggClientMessage.safeParse({ ...refused, stage: 'setup' }).success).toBe(false);
  });
});
