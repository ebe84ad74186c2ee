/** The round rules judge trimFraction with the strategy's own trimCount: a configuration that keeps no value, or trims none, at its quorum is refused, naming the setting. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, RoundRules } from '../src/round/rules.js';

function check(patch: Partial<RoundRules>): string | null {
  const r = RoundRules.safeParse({ ...DEFAULT_RULES, strategy: 'trimmed-mean', ...patch });
  return r.success ? null : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
}

describe('trimmed-mean round rules near β = 0.5', () => {
  it('refuse β just under 0.5 at quorum 2 (⌊β × 2⌋ = 0: the mean trims nothing; it used to trim everything)', () => {
    expect(check({ trimFraction: 0.4999999999, quorum: 2, minBanks: 2 })).toBe(
      'trimFraction: trimFraction 0.4999999999 trims nothing from a round of quorum 2 updates (⌊β × n⌋ = 0 values from each end); raise quorum (and minBanks) to at least 3',
    );
    expect(check({ trimFraction: 0.4999999999, quorum: 3, minBanks: 3 })).toBeNull();
  });

  it('refuse β within rounding of 0.5, whose ⌊β × n⌋ would keep no value at quorum', () => {
    expect(check({ trimFraction: 0.49999999999999994, quorum: 4, minBanks: 4 })).toBe(
      'trimFraction: trimFraction 0.49999999999999994 is within rounding of 0.5: ⌊β × n⌋ = 2 values from each end would leave none of a round of quorum 4 updates (the trimmed mean keeps at least one); lower trimFraction (e.g. to 0.49)',
    );
    expect(check({ trimFraction: 0.49999999999999994, quorum: 2, minBanks: 2 })).toMatch(
      /^trimFraction: .*within rounding of 0\.5/,
    );
    expect(check({ trimFraction: 0.49, quorum: 4, minBanks: 4 })).toBeNull();
  });

  it('advise a trimFraction that does trim at quorum, and no quorum for β = 0', () => {
    expect(check({ trimFraction: 0.3333, quorum: 3, minBanks: 3 })).toMatch(
      /raise quorum \(and minBanks\) to at least 4 or trimFraction to at least 0\.3334$/,
    );
    expect(check({ trimFraction: 0.3334, quorum: 3, minBanks: 3 })).toBeNull();
    expect(check({ trimFraction: 0, quorum: 5, minBanks: 5 })).toMatch(/; raise trimFraction to at least 0\.2$/);
  });
});
