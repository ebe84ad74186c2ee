import { describe, expect, it } from 'vitest';
import {
  SecAggAggregatorRound,
  SecAggError,
  decodeFixedPointSum,
  seededRandomSource,
  shareDigest,
  sumErrorBound,
  unmaskSum,
  type FixedPointParams,
  type SecAggStage,
} from '../src/secagg/index.js';
import { SECAGG_STAGES, consortium, runRound, seedFor, type RoundOptions } from './secagg-harness.js';

const MLP = 4097;
const FP: FixedPointParams = { fractionalBits: 16, clip: 1, maxWeight: 1, maxBanks: 10 };
const c10 = consortium(10);

function updates(n: number, len: number, label = 'u'): Float32Array[] {
  const r = seededRandomSource(seedFor(label));
  return Array.from({ length: n }, () => {
    const w = new Uint32Array(len);
    r.fill(new Uint8Array(w.buffer));
    return Float32Array.from(w, (x) => (x / 2 ** 32 - 0.5) * 0.2);
  });
}
const U10 = updates(10, MLP);
const base: RoundOptions = { c: c10, threshold: 6, fixedPoint: FP, updates: U10 };

/** Σ of the survivors' encoded vectors mod 2^32: what unmasking must give exactly. */
function expectedSum(encoded: Map<string, Uint32Array>, survivors: string[]): Uint32Array {
  const s = new Uint32Array(MLP);
  for (const b of survivors) {
    const e = encoded.get(b)!;
    for (let j = 0; j < MLP; j++) s[j] += e[j]!;
  }
  return s;
}

describe('SecAgg+ round, 10 banks, real crypto', () => {
  it('secure sum equals the plaintext weighted sum within the fixed-point bound n · 2^-f', async () => {
    const weights = [0.05, 0.1, 0.15, 0.2, 0.05, 0.1, 0.1, 0.1, 0.1, 0.05];
    const o = await runRound({ ...base, weights });
    expect(o.failure).toBeNull();
    expect(o.refusals.size).toBe(0);
    const r = o.result!;
    expect(r.survivors).toEqual(c10.ids);
    expect(r.stages.map((s) => s.stage)).toEqual([...SECAGG_STAGES]);
    expect(r.stages.every((s) => s.dropped.length === 0)).toBe(true);
    const mean = decodeFixedPointSum(r.sum, FP);
    let worst = 0;
    for (let j = 0; j < MLP; j++) {
      let plain = 0;
      for (let b = 0; b < 10; b++) plain += weights[b]! * U10[b]![j]!;
      worst = Math.max(worst, Math.abs(mean[j]! - plain));
    }
    expect(worst).toBeLessThan(sumErrorBound(FP, 10)); // 10 · 2^-16 ≈ 1.5e-4
    expect(r.sum).toEqual(expectedSum(o.encoded, c10.ids));
  });

  it('never lets the aggregator see an update: masked vectors are independent of the plaintext', async () => {
    const o = await runRound(base);
    for (const [bank, masked] of o.maskedSeen) {
      const plain = o.encoded.get(bank)!;
      // Equal coordinates happen with probability 2^-32 each: expect none.
      expect(masked.filter((v, j) => v === plain[j]).length).toBe(0);
      // Read as fixed point, the masked vector is nowhere near the update.
      const asFloat = decodeFixedPointSum(masked, FP);
      const close = asFloat.filter((v, j) => Math.abs(v - U10[c10.ids.indexOf(bank)]![j]!) < 0.01).length;
      expect(close).toBeLessThan(10); // uniform over ±32768: P(|Δ| < 0.01) ≈ 3e-7 per coordinate
      // Uniform words: each of 16 high-nibble buckets holds ≈ 1/16 (χ², 15 d.o.f., p ≈ 1e-6 cut).
      const buckets = new Array<number>(16).fill(0);
      for (const v of masked) buckets[v >>> 28]!++;
      const e = masked.length / 16;
      const chi2 = buckets.reduce((a, k) => a + (k - e) ** 2 / e, 0);
      expect(chi2).toBeLessThan(50);
    }
  });
});

describe('a tampering aggregator is detected', () => {
  it('a swapped public key in the key list: the bank refuses, naming the bank whose advertisement fails', async () => {
    const evil = consortium(1).identities.get('bank-00')!.publicKey; // any other 32 bytes
    const o = await runRound({
      ...base,
      tamperKeyList: (bank, list) =>
        bank === 'bank-00' ? list.map((k) => (k.bankId === 'bank-03' ? { ...k, cPublicKey: evil } : k)) : list,
    });
    const err = o.refusals.get('bank-00')!;
    expect(err.code).toBe('bad_signature');
    expect(err.banks).toEqual(['bank-03']);
    expect(err.message).toBe(
      'share_keys: bank-00 refuses the key list: the key advertisement of bank-03 does not verify under its registered identity key',
    );
    // The refusing bank is a dropout; the other nine still aggregate.
    expect(o.result!.survivors).not.toContain('bank-00');
  });

  it('a key list that changes within the round is refused', async () => {
    const o = await runRound({ ...base, stopAfter: 'share_keys' });
    const list = o.aggregator.setup.participants.length; // 10
    expect(list).toBe(10);
    const bank = o.banks.get('bank-02')!;
    const again = await bank.shareKeys('r1/0001', []).catch((e: SecAggError) => e);
    expect((again as SecAggError).code).toBe('inconsistent');
    expect((again as SecAggError).message).toMatch(/bank-02 refuses a second, different key list/);
  });

  it('two banks given different survivor lists refuse to unmask', async () => {
    const o = await runRound({ ...base, stopAfter: 'masked_fit' });
    const all = c10.ids;
    const groupA = all.slice(0, 5);
    const listA = all.filter((b) => b !== 'bank-09');
    const listB = all.filter((b) => b !== 'bank-00');
    const listFor = (b: string) => (groupA.includes(b) ? listA : listB);
    const sigs = all.map((b) => ({ bankId: b, signature: o.banks.get(b)!.signSurvivors('r1/0001', listFor(b)) }));
    // Forwarding every signature: the other group's do not verify over a bank's own list.
    const a = (() => {
      try {
        o.banks.get('bank-00')!.unmask('r1/0001', listA, sigs);
      } catch (e) {
        return e as SecAggError;
      }
    })()!;
    expect(a.code).toBe('inconsistent');
    expect(a.banks).toEqual(['bank-05', 'bank-06', 'bank-07', 'bank-08', 'bank-09']);
    expect(a.message).toMatch(/bank-00 refuses to unmask: the survivor-list signatures of bank-05, .* do not verify/);
    // Forwarding only the matching ones: 5 < t.
    const matching = sigs.filter((s) => listFor(s.bankId) === listB);
    expect(() => o.banks.get('bank-07')!.unmask('r1/0001', listB, matching)).toThrow(/only 5 neighbours signed/);
    // A bank never accepts a list other than the one it signed, nor signs a second one.
    expect(() => o.banks.get('bank-01')!.unmask('r1/0001', listB, sigs)).toThrow(/differs from the one it signed/);
    expect(() => o.banks.get('bank-01')!.signSurvivors('r1/0001', listB)).toThrow(/second, different survivor list/);
  });

  it('forged survivor signatures are refused', async () => {
    const o = await runRound({
      ...base,
      tamperSignatures: (bank, sigs) =>
        bank === 'bank-04'
          ? sigs.map((s) => (s.bankId === 'bank-08' ? { ...s, signature: new Uint8Array(64) } : s))
          : sigs,
    });
    expect(o.refusals.get('bank-04')!.message).toMatch(/signatures of bank-08 do not verify/);
    expect(o.result).not.toBeNull(); // nine responders are enough
  });
});

describe('replayed and cross-round messages', () => {
  it('are rejected by the aggregator and by the banks', async () => {
    const r1 = await runRound({ ...base, roundId: 'r1/aaaa', stopAfter: 'consistency_check' });
    const r2 = await runRound({ ...base, roundId: 'r2/bbbb', stopAfter: 'share_keys' });
    const agg2 = r2.aggregator;
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as SecAggError).code;
      }
      return 'accepted';
    };
    // Round 1's shares forwarded to a bank in round 2 do not decrypt (AD + keys bind the round).
    const oldShares = r2.aggregator.sharesFor('bank-00').map((s) => ({ ...s }));
    const r1Envelopes = (
      await runRound({ ...base, roundId: 'r2/bbbb-other', stopAfter: 'share_keys' })
    ).aggregator.sharesFor('bank-00');
    const bank0 = r2.banks.get('bank-00')!;
    const enc = new Uint32Array(MLP);
    expect(code(() => bank0.maskedFit('r1/aaaa', oldShares, enc))).toBe('wrong_round');
    expect(code(() => bank0.maskedFit('r2/bbbb', r1Envelopes, enc))).toBe('decryption_failed');
    // Round 1's masked update replayed into round 2: under its own round id, or relabelled.
    const masked1 = r1.maskedSeen.get('bank-03')!;
    const sig1 = { masked: masked1, signature: new Uint8Array(64) };
    // Move round 2 to masked fit with an honest bank-03 answer first missing.
    for (const b of c10.ids) {
      if (b === 'bank-03' || b === 'bank-00') continue; // bank-00 aborted above
      const update = r2.banks.get(b)!.maskedFit('r2/bbbb', agg2.sharesFor(b), new Uint32Array(MLP));
      agg2.receiveMaskedUpdate('r2/bbbb', b, update);
    }
    expect(code(() => agg2.receiveMaskedUpdate('r1/aaaa', 'bank-03', sig1))).toBe('wrong_round');
    expect(code(() => agg2.receiveMaskedUpdate('r2/bbbb', 'bank-03', sig1))).toBe('bad_signature');
    // A duplicate within the round is rejected too.
    const honest = r2.banks.get('bank-03')!.maskedFit('r2/bbbb', agg2.sharesFor('bank-03'), new Uint32Array(MLP));
    agg2.receiveMaskedUpdate('r2/bbbb', 'bank-03', honest);
    expect(code(() => agg2.receiveMaskedUpdate('r2/bbbb', 'bank-03', honest))).toBe('out_of_order');
    // Stage order: an advertisement now is out of order; a bank asked twice to unmask refuses.
    expect(code(() => agg2.receiveKeys('r2/bbbb', { ...honest, bankId: 'bank-03' } as never))).toBe('out_of_order');
    const done = await runRound(base);
    const b5 = done.banks.get('bank-05')!;
    expect(code(() => b5.unmask('r1/0001', done.result!.survivors, []))).toBe('out_of_order');
  });
});

describe('never both shares of one bank', () => {
  it('a bank reveals the seed share of survivors and the key share of dropped banks, never both', async () => {
    const o = await runRound({ ...base, dropAt: { masked_fit: ['bank-02'] }, stopAfter: 'consistency_check' });
    const agg = o.aggregator;
    const survivors = agg.survivors();
    const res = o.banks.get('bank-00')!.unmask('r1/0001', survivors, agg.signaturesFor('bank-00'));
    expect(res.seedShares.map((s) => s.of)).toEqual(survivors);
    expect(res.keyShares.map((s) => s.of)).toEqual(['bank-02']);
    // An aggregator-side answer carrying both for one bank is refused...
    const both = {
      seedShares: res.seedShares,
      keyShares: [...res.keyShares, { of: 'bank-01', share: res.seedShares[1]!.share }],
    };
    expect(() => agg.receiveUnmaskShares('r1/0001', 'bank-00', both)).toThrow(/two shares for bank-01: never both/);
    // ...and so is a key share for a survivor, or a seed share for a dropped bank.
    const swapped = {
      seedShares: [...res.seedShares, { of: 'bank-02', share: res.keyShares[0]!.share }],
      keyShares: [],
    };
    expect(() => agg.receiveUnmaskShares('r1/0001', 'bank-00', swapped)).toThrow(/seed share for bank-02/);
    // The unmasking arithmetic refuses both a seed and a pairwise key for one bank.
    const seed = seedFor('x');
    expect(() =>
      unmaskSum(new Uint32Array(4), ['a', 'b'], {
        selfSeeds: new Map([
          ['a', seed],
          ['b', seed],
        ]),
        droppedPairwise: [{ survivor: 'a', dropped: 'b', seed }],
      }),
    ).toThrow(/both the self-mask seed and the pairwise key of b/);
  });
});

describe('corrupt shares', () => {
  it('a replayed or altered share is refused when it arrives, naming its sender; the others unmask the sum', async () => {
    const o = await runRound({ ...base, stopAfter: 'consistency_check' });
    const agg = o.aggregator;
    const survivors = agg.survivors();
    for (const b of survivors) {
      const res = o.banks.get(b)!.unmask('r1/0001', survivors, agg.signaturesFor(b));
      if (b !== 'bank-00') {
        agg.receiveUnmaskShares('r1/0001', b, res);
        continue;
      }
      res.seedShares.find((s) => s.of === 'bank-03')!.share[5]! ^= 1;
      const err = (() => {
        try {
          agg.receiveUnmaskShares('r1/0001', b, res);
        } catch (e) {
          return e as SecAggError;
        }
        return null;
      })();
      expect(err?.code).toBe('corrupt_share');
      expect(err?.banks).toEqual(['bank-00']);
      expect(err?.message).toBe(
        "unmask: bank-00's seed share of bank-03 does not match what bank-03 committed to at share keys (replayed or altered)",
      );
    }
    // Nine banks' shares are more than t = 6: the sum is exact.
    const r = await agg.finish();
    expect(r.sum).toEqual(expectedSum(o.encoded, c10.ids));
  });

  it('a dealer whose share digests do not match its envelope is refused by the holder, naming the dealer', async () => {
    const o = await runRound({
      ...base,
      stopAfter: 'masked_fit',
      tamperShares: (b, shares) =>
        b === 'bank-00'
          ? shares.map((s) =>
              s.from === 'bank-03'
                ? { ...s, keyShareHash: Uint8Array.from(s.keyShareHash, (x, i) => (i ? x : x ^ 1)) }
                : s,
            )
          : shares,
    });
    const refusal = o.refusals.get('bank-00');
    expect(refusal?.code).toBe('corrupt_share');
    expect(refusal?.banks).toEqual(['bank-03']);
    expect(refusal?.message).toBe(
      "masked_fit: bank-03's shares for bank-00 do not match the digests it committed to at share keys",
    );
  });

  it('shares consistent with their digests but of another secret are caught by the commitment, naming the dealer', async () => {
    // A dishonest dealer can deal a share that matches the digest it announced yet is not a share
    // of its committed seed: the reconstruction check (seed commitment) catches it and names it.
    const o = await runRound({ ...base, stopAfter: 'consistency_check' });
    const agg = o.aggregator;
    const survivors = agg.survivors();
    const internals = agg as unknown as { shareDigests: Map<string, { seedShareHash: Uint8Array }> };
    for (const b of survivors) {
      const res = o.banks.get(b)!.unmask('r1/0001', survivors, agg.signaturesFor(b));
      if (b === 'bank-00') {
        const bad = res.seedShares.find((s) => s.of === 'bank-03')!;
        bad.share[5]! ^= 1;
        // What bank-03 would have announced for the share it dealt to bank-00.
        internals.shareDigests.get('bank-03\nbank-00')!.seedShareHash = shareDigest(
          'r1/0001',
          'seed',
          'bank-03',
          'bank-00',
          bad.share,
        );
      }
      agg.receiveUnmaskShares('r1/0001', b, res);
    }
    const err = await agg.finish().catch((e: SecAggError) => e);
    expect((err as SecAggError).code).toBe('corrupt_share');
    expect((err as SecAggError).message).toBe(
      'unmask: the reconstructed self-mask seed of bank-03 does not match its commitment',
    );
    expect(agg.stage).toBe('failed');
  });
});

describe('round parameters', () => {
  it('are refused with a message naming the setting', () => {
    const params = {
      roundId: 'r',
      participants: c10.ids,
      graph: { kind: 'complete' as const },
      vectorLength: 10,
      fixedPoint: FP,
    };
    expect(() => new SecAggAggregatorRound({ ...params, threshold: 5 }, c10.directory)).toThrow(
      /threshold 5 must be more than half/,
    );
    expect(
      () => new SecAggAggregatorRound({ ...params, threshold: 6, fixedPoint: { ...FP, maxBanks: 5 } }, c10.directory),
    ).toThrow(/maxBanks 5 is below the 10 participants/);
    const partial = new Map([...c10.directory].slice(0, 9));
    expect(() => new SecAggAggregatorRound({ ...params, threshold: 6 }, partial)).toThrow(
      /no registered identity key for bank-09/,
    );
    const stages: SecAggStage[] = [...SECAGG_STAGES];
    expect(stages).toHaveLength(5);
  });
});
