import { describe, expect, it } from 'vitest';
import { seededRandomSource, type FixedPointParams } from '../src/secagg/index.js';
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

describe('dropouts at every stage (10 banks, t = 6)', () => {
  const four = ['bank-01', 'bank-03', 'bank-05', 'bank-07'];
  const five = [...four, 'bank-09'];
  for (const stage of SECAGG_STAGES) {
    it(`four banks lost in ${stage}: the round still recovers the survivors' exact sum`, async () => {
      const o = await runRound({ ...base, dropAt: { [stage]: four } });
      expect(o.failure).toBeNull();
      const r = o.result!;
      const before = SECAGG_STAGES.indexOf(stage) <= SECAGG_STAGES.indexOf('masked_fit');
      expect(r.survivors).toEqual(before ? c10.ids.filter((b) => !four.includes(b)) : c10.ids);
      expect(r.stages.find((s) => s.stage === stage)!.dropped).toEqual(four);
      expect(r.sum).toEqual(expectedSum(o.encoded, r.survivors));
    });

    it(`five banks lost in ${stage}: the round fails with a reason naming the stage`, async () => {
      const o = await runRound({ ...base, dropAt: { [stage]: five } });
      expect(o.result).toBeNull();
      const f = o.failure!;
      expect(f.code).toBe('threshold_not_met');
      expect(f.stage).toBe(stage);
      expect(f.message).toMatch(new RegExp(`^${stage}: fewer than t = 6 live neighbours`));
      expect(f.message).toContain('bank-09');
      expect(o.aggregator.stage).toBe('failed');
      expect(o.aggregator.stageReports().at(-1)!.dropped).toEqual(five);
    });
  }

  it('banks lost at several stages add up: 2 + 1 + 1 still recover, one more fails at unmask', async () => {
    const ok = await runRound({
      ...base,
      dropAt: { share_keys: ['bank-00', 'bank-02'], masked_fit: ['bank-04'], unmask: ['bank-06'] },
    });
    expect(ok.result!.survivors).toEqual(c10.ids.filter((b) => !['bank-00', 'bank-02', 'bank-04'].includes(b)));
    expect(ok.result!.sum).toEqual(expectedSum(ok.encoded, ok.result!.survivors));
    const bad = await runRound({
      ...base,
      dropAt: { share_keys: ['bank-00', 'bank-02'], masked_fit: ['bank-04'], unmask: ['bank-06', 'bank-08'] },
    });
    expect(bad.failure!.stage).toBe('unmask');
  });

  it('SecAgg+ on a random 10-regular graph of 60 banks tolerates dropouts in every neighbourhood', async () => {
    const c60 = consortium(60);
    const fp = { ...FP, maxBanks: 60 };
    const u = updates(60, 64, 'u60');
    const dropped = ['bank-03', 'bank-17', 'bank-31', 'bank-44'];
    const o = await runRound({
      c: c60,
      threshold: 6,
      graph: { kind: 'harary', degree: 10, seed: seedFor('graph') },
      fixedPoint: fp,
      updates: u,
      dropAt: { masked_fit: dropped.slice(0, 2), unmask: dropped.slice(2) },
    });
    expect(o.failure).toBeNull();
    const r = o.result!;
    expect(r.survivors).toHaveLength(58);
    const sum = new Uint32Array(64);
    for (const b of r.survivors) for (let j = 0; j < 64; j++) sum[j] += o.encoded.get(b)![j]!;
    expect(r.sum).toEqual(sum);
  });
});
