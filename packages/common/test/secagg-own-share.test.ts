/**
 * A bank's share of its own self-mask seed is in no envelope, so no dealer digest covers it:
 * it must not be able to sink a round that has t checked shares of that seed, and it must be
 * named when it was needed and is corrupt.
 */
import { describe, expect, it } from 'vitest';
import { SecAggError, type FixedPointParams } from '../src/secagg/index.js';
import { consortium, runRound } from './secagg-harness.js';

const c5 = consortium(5);
const fixedPoint: FixedPointParams = { fractionalBits: 20, clip: 1, maxWeight: 1, maxBanks: 5 };
const updates = c5.ids.map((_, i) => Float32Array.from([0.1 * (i + 1), -0.05 * (i + 1), 0.3]));
const rid = 'r1/0001';
const evil = c5.ids[0]!;

/** Σ of the banks' encoded vectors mod 2^32. */
function expectedSum(encoded: Map<string, Uint32Array>, banks: string[]): Uint32Array {
  const s = new Uint32Array(3);
  for (const b of banks) encoded.get(b)!.forEach((x, j) => (s[j] = (s[j]! + x) >>> 0));
  return s;
}

/** Runs to the unmask stage (t = 3), then has `answering` reveal their shares; `evil` flips a bit of its own seed share if asked. */
async function unmaskWith(answering: (b: string) => boolean, corruptOwn: boolean) {
  const o = await runRound({ c: c5, threshold: 3, fixedPoint, updates, stopAfter: 'consistency_check' });
  const agg = o.aggregator;
  for (const b of agg.banksToAsk()) {
    if (!answering(b)) continue;
    const res = o.banks.get(b)!.unmask(rid, agg.survivors(), agg.signaturesFor(b));
    if (b === evil && corruptOwn)
      for (const s of res.seedShares) if (s.of === evil) (s.share = new Uint8Array(s.share))[0]! ^= 1;
    agg.receiveUnmaskShares(rid, b, res);
  }
  return { o, agg, result: await agg.finish().catch((e: unknown) => e) };
}

describe("a bank's own share of its self-mask seed", () => {
  it('corrupt, with t checked shares of that seed available: left out, the round unmasks the exact sum', async () => {
    const { o, result } = await unmaskWith(() => true, true);
    expect(result).not.toBeInstanceOf(Error);
    const r = result as Awaited<ReturnType<typeof o.aggregator.finish>>;
    expect(r.survivors).toEqual(c5.ids);
    expect(r.sum).toEqual(expectedSum(o.encoded, c5.ids));
  });

  it('honest, with only t − 1 checked shares: used as the t-th, the round unmasks the exact sum', async () => {
    const { o, result } = await unmaskWith((b) => b !== 'bank-03' && b !== 'bank-04', false);
    expect(result).not.toBeInstanceOf(Error);
    const r = result as Awaited<ReturnType<typeof o.aggregator.finish>>;
    expect(r.sum).toEqual(expectedSum(o.encoded, c5.ids));
  });

  it('corrupt, with only t − 1 checked shares: the round fails naming the bank', async () => {
    const { agg, result } = await unmaskWith((b) => b !== 'bank-03' && b !== 'bank-04', true);
    expect(result).toBeInstanceOf(SecAggError);
    const err = result as SecAggError;
    expect(err.code).toBe('corrupt_share');
    expect(err.banks).toEqual([evil]);
    expect(err.message).toMatch(
      new RegExp(`^unmask: the (reconstructed self-mask seed|shares) of ${evil} .*the t-th was ${evil}'s own share`),
    );
    expect(agg.stage).toBe('failed');
  });
});
