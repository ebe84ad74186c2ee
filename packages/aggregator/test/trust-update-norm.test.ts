import { describe, expect, it } from 'vitest';
import { l2Norm, privatizeUpdate } from '@finsecure/common/dp';
import { createRng } from '@finsecure/common/rng';
import { judgeUpdateNorm, updateNormRange } from '../src/trust/index.js';

const D = 4097; // the default MLP's weight count

function range(...args: Parameters<typeof updateNormRange>) {
  const r = updateNormRange(...args);
  if (!r.ok) throw new Error(r.reason);
  return r;
}

describe('updateNormRange: maxUpdateNorm bounds the clipped part, the noise is bounded from C, z and d', () => {
  it('the issue example: --dp-clip 1 --dp-noise-multiplier 20 updates (norm ≈ 1,280) now pass maxUpdateNorm 1,000', () => {
    const rng = createRng(5);
    const r = range(1000, { clip: 1, noiseMultiplier: 20 }, D);
    expect(r.upper).toBeGreaterThan(1370);
    expect(r.why).toMatch(/^C \+ noise bound 13\d\d\.\d for C = 1, z = 20, d = 4097$/);
    for (let t = 0; t < 50; t++) {
      const delta = new Float32Array(D).map(() => 0.1 * rng.normal());
      const u = privatizeUpdate(delta, { clip: 1, noiseMultiplier: 20 }, rng).update;
      const norm = l2Norm(u);
      expect(norm).toBeGreaterThan(1000);
      expect(judgeUpdateNorm(norm, r)).toBeNull();
    }
    // The same norm without a DP declaration is refused as before.
    expect(judgeUpdateNorm(1280, range(1000, undefined, D))).toBe('update norm 1280 exceeds maxUpdateNorm 1000');
  });

  it('small noise keeps maxUpdateNorm as the bound', () => {
    const r = range(1000, { clip: 1, noiseMultiplier: 1.1 }, D);
    expect(r.upper).toBe(1000);
    expect(r.lower).toBeGreaterThan(60);
  });

  it('refuses an update that declares noise it does not carry', () => {
    const r = range(1000, { clip: 1, noiseMultiplier: 20 }, D);
    expect(judgeUpdateNorm(0.9, r)).toMatch(
      /^update norm 0.9000 is below 11\d\d, the least the declared DP noise gives/,
    );
  });

  it('refuses a declared clip above maxUpdateNorm or a noise multiplier above the maximum', () => {
    expect(updateNormRange(1000, { clip: 5000, noiseMultiplier: 1 }, D)).toEqual({
      ok: false,
      reason: 'declared DP clip 5000 exceeds maxUpdateNorm 1000',
    });
    expect(updateNormRange(1000, { clip: 5000, noiseMultiplier: 0 }, D)).toMatchObject({ ok: false });
    expect(updateNormRange(1000, { clip: 1, noiseMultiplier: 1000 }, D)).toEqual({
      ok: false,
      reason: 'declared DP noise multiplier 1000 exceeds the maximum 50',
    });
    expect(updateNormRange(1000, { clip: 1, noiseMultiplier: 1000 }, D, { maxNoiseMultiplier: 2000 })).toMatchObject({
      ok: true,
    });
  });
});
