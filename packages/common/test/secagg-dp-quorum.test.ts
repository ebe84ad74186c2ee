/**
 * The bank core's checks of the distributed-DP quorum q (bank-checks.ts checkDpQuorum,
 * checkSurvivors): q at most the participants, no survivor list of fewer than q banks signed, and
 * q signed with the survivor list, so that banks told different quorums find out before unmasking.
 */
import { describe, expect, it } from 'vitest';
import {
  checkDpQuorum,
  encodeFixedPoint,
  SecAggError,
  setupRound,
  survivorListBytes,
  verifyStatement,
} from '../src/secagg/index.js';
import { checkSurvivors } from '../src/secagg/bank-checks.js';
import { consortium, runRound } from './secagg-harness.js';

const fixedPoint = { fractionalBits: 16, clip: 8, maxWeight: 1, maxBanks: 3 };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecAggError);
    return (err as SecAggError).code;
  }
  return 'accepted';
}

describe('distributed-DP quorum checks', () => {
  const setup = setupRound({
    roundId: 'r',
    participants: ['a', 'b', 'c'],
    threshold: 2,
    graph: { kind: 'complete' },
    vectorLength: 3,
    fixedPoint,
  });

  it('a quorum must be an integer from 1 to the participants', () => {
    for (const q of [1, 2, 3]) expect(codeOf(() => checkDpQuorum('a', q, 3, 'masked_fit'))).toBe('accepted');
    for (const q of [0, 4, 10_000, 2.5])
      expect(codeOf(() => checkDpQuorum('a', q, 3, 'masked_fit'))).toBe('invalid_params');
  });

  it('a survivor list must hold the quorum the bank noised for, not only t', () => {
    // t = 2 is met by two survivors; q = 3 is not.
    expect(codeOf(() => checkSurvivors('a', ['a', 'b'], setup, 'consistency_check'))).toBe('accepted');
    expect(codeOf(() => checkSurvivors('a', ['a', 'b'], setup, 'consistency_check', 3))).toBe('threshold_not_met');
    expect(codeOf(() => checkSurvivors('a', ['a', 'b', 'c'], setup, 'consistency_check', 3))).toBe('accepted');
  });

  it('SecAggBankRound: maskedFit refuses q above the participants; signSurvivors refuses fewer than q', async () => {
    const c = consortium(3);
    const updates = c.ids.map(() => Float32Array.from([0.1, 0.2]));
    const o = await runRound({ c, threshold: 2, fixedPoint, updates, stopAfter: 'share_keys' });
    const rid = 'r1/0001';
    const [a, b, third] = c.ids.map((id) => o.banks.get(id)!);
    const enc = encodeFixedPoint(updates[0]!, 1, fixedPoint).encoded;
    expect(codeOf(() => a!.maskedFit(rid, o.aggregator.sharesFor(c.ids[0]!), enc, { dpQuorum: 4 }))).toBe(
      'invalid_params',
    );
    for (const [i, bank] of [b!, third!].entries()) {
      const id = c.ids[i + 1]!;
      o.aggregator.receiveMaskedUpdate(rid, id, bank.maskedFit(rid, o.aggregator.sharesFor(id), enc, { dpQuorum: 3 }));
    }
    o.aggregator.closeMaskedFit();
    // bank-00 refused: two survivors, t = 2 met, q = 3 not.
    expect(o.aggregator.survivors()).toEqual([c.ids[1], c.ids[2]]);
    expect(codeOf(() => b!.signSurvivors(rid, o.aggregator.survivors()))).toBe('threshold_not_met');
    expect(() => third!.signSurvivors(rid, o.aggregator.survivors())).toThrow(
      /2 banks survived, but it added distributed DP noise for a quorum of 3/,
    );
  });

  it('q is signed with the survivor list: a bank told another quorum is caught before anyone unmasks', async () => {
    const c = consortium(3);
    const updates = c.ids.map(() => Float32Array.from([0.1, 0.2]));
    const o = await runRound({ c, threshold: 2, fixedPoint, updates, stopAfter: 'share_keys' });
    const rid = 'r1/0001';
    const banks = c.ids.map((id) => o.banks.get(id)!);
    const enc = encodeFixedPoint(updates[0]!, 1, fixedPoint).encoded;
    const told = [3, 3, 2];
    banks.forEach((bank, i) =>
      o.aggregator.receiveMaskedUpdate(
        rid,
        c.ids[i]!,
        bank.maskedFit(rid, o.aggregator.sharesFor(c.ids[i]!), enc, { dpQuorum: told[i]! }),
      ),
    );
    o.aggregator.closeMaskedFit();
    const survivors = o.aggregator.survivors();
    const signatures = banks.map((bank, i) => ({ bankId: c.ids[i]!, signature: bank.signSurvivors(rid, survivors) }));
    // The first bank checks its neighbours' signatures against its own q: the third's do not verify.
    expect(() => banks[0]!.unmask(rid, survivors, signatures)).toThrow(/signatures of bank-02 do not verify/);
    // An honest aggregator checks each signature against the q it asked for (SecAggAggregatorRound's
    // dpQuorum): it refuses the odd one at once.
    expect(
      verifyStatement(c.directory.get(c.ids[2]!)!, survivorListBytes(rid, survivors, 3), signatures[2]!.signature),
    ).toBe(false);
    expect(
      verifyStatement(c.directory.get(c.ids[0]!)!, survivorListBytes(rid, survivors, 3), signatures[0]!.signature),
    ).toBe(true);
  });

  it('no seed of a survivor that did not sign with q is revealed: an under-noised sum is never unmasked', async () => {
    // The attack signing alone does not stop (review): 5 banks, t = 3. The aggregator says one bank
    // dropped (4 survivors) and tells three banks q = 4 and one q = 5. That one adds (zC)²/5 of
    // the noise, less than its 1/4 share; the sum carries 3/4 + 1/5 = 0.95 of the variance counted.
    // It refuses to sign 4 survivors (checkSurvivors), so no signature of its is there to fail,
    // but its masked input is in the sum: revealing its seed would release the sum.
    const c = consortium(5);
    const fp = { ...fixedPoint, maxBanks: 5 };
    const updates = c.ids.map(() => Float32Array.from([0.1, 0.2]));
    const o = await runRound({ c, threshold: 3, fixedPoint: fp, updates, stopAfter: 'share_keys' });
    const rid = 'r1/0001';
    const told = [4, 4, 4, 5];
    const enc = encodeFixedPoint(updates[0]!, 1, fp).encoded;
    for (const [i, q] of told.entries()) {
      const id = c.ids[i]!;
      o.aggregator.receiveMaskedUpdate(
        rid,
        id,
        o.banks.get(id)!.maskedFit(rid, o.aggregator.sharesFor(id), enc, { dpQuorum: q }),
      );
    }
    o.aggregator.closeMaskedFit(); // bank-04 "dropped"
    const survivors = o.aggregator.survivors();
    expect(survivors).toEqual(c.ids.slice(0, 4));
    const signatures = c.ids
      .slice(0, 3)
      .map((id) => ({ bankId: id, signature: o.banks.get(id)!.signSurvivors(rid, survivors) }));
    expect(codeOf(() => o.banks.get(c.ids[3]!)!.signSurvivors(rid, survivors))).toBe('threshold_not_met');
    // t = 3 valid signatures are there, yet each bank that would reveal bank-03's seed refuses.
    for (const id of c.ids.slice(0, 3))
      expect(() => o.banks.get(id)!.unmask(rid, survivors, signatures)).toThrow(
        /bank-03 survived the masked fit but did not sign the survivor list with the distributed-DP quorum 4/,
      );
  });
});
