import { describe, expect, it } from 'vitest';
import type { Dataset } from '@finsecure/common';
import { computeScalerStats, generateSynthetic, scalerFromStats } from '@finsecure/common/data';
import { dirichletPartition, quantityPartition } from '@finsecure/common/partition';
import type { FeatureStats } from '@finsecure/common/protocol';
import { checkFeatureStats, combineFeatureStats, type BankFeatureStats } from '../src/trust/index.js';
import { robustGlobalScaler } from '../src/federation/scaler.js';

const D = 30;
const data = generateSynthetic({ rows: 30_000, seed: 11, fraudRate: 0.02 });

function subset(ds: Dataset, idx: readonly number[]): Dataset {
  const d = ds.numFeatures;
  const features = new Float32Array(idx.length * d);
  idx.forEach((r, i) => features.set(ds.features.subarray(r * d, r * d + d), i * d));
  return { ...ds, features, labels: Uint8Array.from(idx, (r) => ds.labels[r]!), numRows: idx.length };
}

function statsOf(ds: Dataset): FeatureStats {
  const s = computeScalerStats(ds);
  return { count: s.count, mean: Array.from(s.mean), m2: Array.from(s.m2) };
}

/** Honest banks of a partition, each declaring exactly the rows it trains on. */
function honestBanks(parts: number[][]): BankFeatureStats[] {
  return parts.map((p, i) => ({
    bankId: `bank-${i}`,
    stats: statsOf(subset(data, p)),
    declaredTrainExamples: p.length,
  }));
}

/** The poisoned hello of issue 12: one row, every feature 1e300. */
const poison: BankFeatureStats = {
  bankId: 'mallory',
  stats: { count: 1, mean: new Array<number>(D).fill(1e300), m2: new Array<number>(D).fill(1e300) },
  declaredTrainExamples: 5000,
};

const centralized = scalerFromStats(computeScalerStats(data));

function maxRelativeError(a: readonly number[], b: ArrayLike<number>): number {
  let e = 0;
  for (let j = 0; j < a.length; j++) e = Math.max(e, Math.abs(a[j]! - b[j]!) / Math.max(1, Math.abs(b[j]!)));
  return e;
}

describe('checkFeatureStats', () => {
  it('refuses the 1e300 hello, naming the bank and the feature', () => {
    const v = checkFeatureStats('mallory', poison.stats, { declaredTrainExamples: 5000, numFeatures: D });
    expect(v).toEqual({
      ok: false,
      bankId: 'mallory',
      feature: 0,
      reason: expect.stringMatching(
        /^bank mallory: feature 0: \|mean\| 1\.000e\+300 exceeds the plausible 1000000000000/,
      ),
    });
  });

  it('refuses counts beyond the declared training examples, count 0, non-finite values, negative m2, wrong length', () => {
    const good = statsOf(subset(data, [0, 1, 2, 3, 4]));
    const opts = { declaredTrainExamples: 5, numFeatures: D };
    expect(checkFeatureStats('b', good, opts)).toEqual({ ok: true });
    expect(checkFeatureStats('b', { ...good, count: 6 }, opts)).toMatchObject({
      reason: 'bank b: feature statistics count 6 exceeds the 5 training examples declared in the hello',
    });
    expect(checkFeatureStats('b', { ...good, count: 0 }, opts)).toMatchObject({
      reason: expect.stringMatching(/count 0 is not an integer ≥ 1/),
    });
    const nan = { ...good, mean: good.mean.map((m, j) => (j === 4 ? Number.NaN : m)) };
    expect(checkFeatureStats('b', nan, opts)).toMatchObject({
      feature: 4,
      reason: expect.stringMatching(/feature 4: mean NaN/),
    });
    const neg = { ...good, m2: good.m2.map((m, j) => (j === 2 ? -1 : m)) };
    expect(checkFeatureStats('b', neg, opts)).toMatchObject({
      feature: 2,
      reason: expect.stringMatching(/m2 -1 is negative/),
    });
    expect(checkFeatureStats('b', { ...good, mean: good.mean.slice(1), m2: good.m2.slice(1) }, opts)).toMatchObject({
      reason: expect.stringMatching(/29 features, the model expects 30/),
    });
    const wide = { ...good, m2: good.m2.map((m, j) => (j === 9 ? 5 * 1e25 : m)) };
    expect(checkFeatureStats('b', wide, opts)).toMatchObject({
      feature: 9,
      reason: expect.stringMatching(/standard deviation 3\.162e\+12/),
    });
  });

  it('judges a bank against the others: a mean 50 standard deviations off is refused, naming feature 3', () => {
    const banks = honestBanks(dirichletPartition(data, { banks: 4, seed: 2, alpha: 0.5 }));
    const liar = structuredClone(banks[0]!.stats);
    liar.mean[3]! += 50 * 2; // V3 has a standard deviation of about 2
    const others = banks.slice(1).map((b) => b.stats);
    expect(
      checkFeatureStats('bank-0', banks[0]!.stats, { declaredTrainExamples: banks[0]!.declaredTrainExamples, others }),
    ).toEqual({ ok: true });
    expect(
      checkFeatureStats('bank-0', liar, { declaredTrainExamples: banks[0]!.declaredTrainExamples, others }),
    ).toMatchObject({
      ok: false,
      feature: 3,
      reason: expect.stringMatching(
        /^bank bank-0: feature 3: mean .* robust standard deviations .* \(unlike the 3 other banks\)$/,
      ),
    });
  });
});

describe('combineFeatureStats', () => {
  it('excludes the 1e300 bank and gives the honest banks’ scaler', () => {
    const honest = honestBanks(dirichletPartition(data, { banks: 3, seed: 1, alpha: 0.5 }));
    const out = combineFeatureStats([...honest, poison], { numFeatures: D });
    expect(out.excluded).toEqual([
      { bankId: 'mallory', feature: 0, reason: expect.stringMatching(/^bank mallory: feature 0/) },
    ]);
    expect(out.used).toEqual(['bank-0', 'bank-1', 'bank-2']);
    expect(out.robust).toBe(true);
    expect(out.examples).toBe(30_000);
    // The three honest banks hold every row: the merged scaler is the centralized one.
    expect(maxRelativeError(out.scaler!.mean, centralized.mean)).toBeLessThan(1e-9);
    expect(maxRelativeError(out.scaler!.std, centralized.std)).toBeLessThan(1e-9);
  });

  it('with one honest bank and the poisoner (no median possible) the bounds alone still exclude it', () => {
    const [honest] = honestBanks([Array.from({ length: 2000 }, (_, i) => i)]);
    const out = robustGlobalScaler([honest!, poison], D);
    expect(out.robust).toBe(false);
    expect(out.banks).toEqual(['bank-0']);
    expect(out.excluded.map((e) => e.bankId)).toEqual(['mallory']);
    expect(out.scaler.std.every((s) => Number.isFinite(s) && s < 1e6)).toBe(true);
  });

  it('never excludes honest non-IID banks (Dirichlet label skew and quantity skew, synthetic data)', () => {
    let consortia = 0;
    for (const alpha of [0.05, 0.1, 0.5, 1])
      for (const banks of [3, 5, 10])
        for (const seed of [1, 2]) {
          for (const parts of [
            dirichletPartition(data, { banks, seed, alpha }),
            quantityPartition(data, { banks, seed, alpha }),
          ]) {
            const out = combineFeatureStats(honestBanks(parts), { numFeatures: D });
            expect(out.excluded, `alpha ${alpha}, ${banks} banks, seed ${seed}`).toEqual([]);
            expect(out.used).toHaveLength(banks);
            if (out.robust) consortia++;
            // Nothing was lost: within the clamping of tiny banks, the scaler is the centralized one.
            expect(maxRelativeError(out.scaler!.std, centralized.std)).toBeLessThan(0.05);
          }
        }
    expect(consortia).toBeGreaterThan(30); // most runs had ≥ 3 banks of ≥ 100 rows: the bands were applied
  });

  it('excludes a large bank whose variance is inflated 1000×, clamps a small one with absurd means', () => {
    const honest = honestBanks(dirichletPartition(data, { banks: 5, seed: 4, alpha: 1 }));
    const inflated = structuredClone(honest[1]!);
    inflated.stats.m2[7]! *= 1000;
    const small: BankFeatureStats = {
      bankId: 'tiny',
      stats: { count: 50, mean: new Array<number>(D).fill(1e6), m2: new Array<number>(D).fill(50) },
      declaredTrainExamples: 50,
    };
    const out = combineFeatureStats([honest[0]!, inflated, ...honest.slice(2), small], { numFeatures: D });
    expect(out.excluded).toEqual([
      {
        bankId: 'bank-1',
        feature: 7,
        reason: expect.stringMatching(
          /^bank bank-1: feature 7: variance .* by a factor 9\d\d \(allowed 100\) \(unlike the other 4 banks\)$/,
        ),
      },
    ]);
    expect(out.clamped).toEqual([{ bankId: 'tiny', features: Array.from({ length: D }, (_, j) => j) }]);
    // 50 rows clamped to 8 standard deviations move the scaler a little, not by 1e6.
    const honestOnly = combineFeatureStats([honest[0]!, ...honest.slice(2)], { numFeatures: D }).scaler!;
    for (let j = 1; j < D; j++)
      expect(Math.abs(out.scaler!.mean[j]! - honestOnly.mean[j]!)).toBeLessThan(0.05 * honestOnly.std[j]!);
  });

  it('caps a bank’s count in the merge without changing its mean or variance', () => {
    const honest = honestBanks(dirichletPartition(data, { banks: 3, seed: 7, alpha: 1 }));
    const capped = combineFeatureStats(
      honest.map((b, i) => (i === 0 ? { ...b, countCap: 10 } : b)),
      { numFeatures: D },
    );
    expect(capped.examples).toBe(10 + honest[1]!.stats.count + honest[2]!.stats.count);
    const twoBanks = combineFeatureStats(honest.slice(1), { numFeatures: D }).scaler!;
    expect(maxRelativeError(capped.scaler!.mean, twoBanks.mean)).toBeLessThan(0.01);
  });

  it('with no usable bank returns no scaler (the federation should wait), robustGlobalScaler the identity', () => {
    expect(combineFeatureStats([poison], { numFeatures: D }).scaler).toBeNull();
    const out = robustGlobalScaler([poison], D);
    expect(out.banks).toEqual([]);
    expect(out.scaler.std).toEqual(new Array(D).fill(1));
  });
});
