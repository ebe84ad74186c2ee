/**
 * The distributed-DP quorum q comes from the aggregator (the masked-fit request's
 * `weighting.dpQuorum`); each bank adds N(0, (zC)²/q), so the bank checks it: q above the round's
 * participants is declined before training, and the bank signs and unmasks only survivor lists of
 * at least q banks (fewer, and the released sum carries less noise than every ledger records).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFixedPointSum } from '@finsecure/common/secagg';
import {
  consistencyCheck,
  deliverMasked,
  deliverUnmask,
  lastSent,
  maskedFit,
  openRound,
  removeSimBanks,
  simBanks,
  unmask,
} from './helpers/secure-fit-round.js';

const ids = ['bank-a', 'bank-b', 'bank-c', 'bank-d'];
afterAll(removeSimBanks);
// Clip 8 carries the noise of C = 1, z = 1.1 for any quorum ≥ 1 (C + 6·zC/√q ≤ 7.6).
const fixedPoint = { fractionalBits: 16, clip: 8, maxWeight: 1, maxBanks: ids.length };

describe('distributed-DP quorum at the bank', () => {
  it('declines a quorum above the participants before training or spending budget', async () => {
    const banks = simBanks({ ids });
    const r = await openRound(banks, { threshold: 3, fixedPoint });
    const a = banks[0]!;
    // q = 10,000 in a round of 4 would cut each bank's noise σ by 50 while every ledger records z.
    await maskedFit(r, a, 10_000);
    const refused = lastSent(a, 'secagg_refused');
    expect(refused.stage).toBe('masked_fit');
    expect(refused.code).toBe('invalid_params');
    expect(refused.reason).toMatch(/refuses distributed DP with quorum 10000: .* from 1 to the round's 4 participants/);
    // Not a budget refusal: the aggregator must not take this bank for spent.
    expect(refused.reason).not.toMatch(/privacy budget/i);
    expect(a.fits).toBe(0);
    expect(a.masked).toBeNull();
    expect(a.ledger.epsilon(1e-5)).toBe(0);
    // The round is abandoned: a later request of it is ignored.
    await consistencyCheck(r, a, ids);
    expect(a.sent.at(-1)).toBe(refused);
  });

  it('refuses to sign a survivor list shorter than the quorum it noised for', async () => {
    const banks = simBanks({ ids });
    const r = await openRound(banks, { threshold: 3, fixedPoint, dpQuorum: 4 });
    for (const b of banks) await maskedFit(r, b, 4);
    // The aggregator drops bank-d's masked update: 3 survivors, t = 3 is met, q = 4 is not.
    for (const b of banks.slice(0, 3)) deliverMasked(r, b);
    r.agg.closeMaskedFit();
    expect(r.agg.survivors()).toEqual(['bank-a', 'bank-b', 'bank-c']);
    for (const b of banks.slice(0, 3)) {
      await consistencyCheck(r, b);
      const refused = lastSent(b, 'secagg_refused');
      expect(refused.stage).toBe('consistency_check');
      expect(refused.code).toBe('threshold_not_met');
      expect(refused.reason).toBe(
        `consistency_check: ${b.id} refuses the survivor list: 3 banks survived, but it added distributed DP noise for a quorum of 4; their sum would carry too little noise`,
      );
    }
    // Nor does it unmask that list: the round is over for it (no shares, whatever the request).
    const a = banks[0]!;
    const before = a.sent.length;
    await a.fit.handle(
      {
        type: 'secagg_unmask',
        roundId: r.round,
        session: r.session,
        survivors: ['bank-a', 'bank-b', 'bank-c'],
        signatures: [],
        deadlineInMs: 60_000,
      },
      new Map(),
    );
    expect(a.sent.length).toBe(before);
  });

  it('signs and unmasks a list of at least q survivors; the sum is the survivors’ noisy sum', async () => {
    const banks = simBanks({ ids });
    const r = await openRound(banks, { threshold: 3, fixedPoint, dpQuorum: 3 });
    for (const b of banks) await maskedFit(r, b, 3);
    for (const b of banks.slice(0, 3)) deliverMasked(r, b);
    r.agg.closeMaskedFit();
    for (const b of banks.slice(0, 3)) {
      await consistencyCheck(r, b);
      r.agg.receiveSurvivorSignature(
        r.params.roundId,
        b.id,
        Buffer.from(lastSent(b, 'secagg_survivors_signed').signature, 'base64'),
      );
    }
    r.agg.closeConsistencyCheck();
    for (const b of banks.slice(0, 3)) {
      await unmask(r, b);
      deliverUnmask(r, b);
    }
    const result = await r.agg.finish();
    expect(result.survivors).toEqual(['bank-a', 'bank-b', 'bank-c']);
    const sum = decodeFixedPointSum(result.sum, fixedPoint);
    // Three weights of 1 (100 examples of 100) in the clear coordinate.
    expect(sum[3]).toBeCloseTo(3, 3);
    for (const b of banks.slice(0, 3)) expect(b.ledger.epsilon(1e-5)).toBeGreaterThan(0);
  });
});
