/** Private (secure aggregation) and robust modes: the combinations that cannot work are refused. */
import { describe, expect, it } from 'vitest';
import { checkModes, modeOf, type ModeRules } from '../src/round/modes.js';
import { DEFAULT_RULES, RoundRules } from '../src/round/rules.js';

const base: ModeRules = {
  secureAggregation: false,
  strategy: 'fedavg',
  maxShare: 1,
  adaptiveNormK: 0,
  quorum: 2,
  quarantineAfterExclusions: null,
};

describe('checkModes', () => {
  it('accepts the defaults with and without secure aggregation, and every robust defence in plaintext rounds', () => {
    expect(checkModes(DEFAULT_RULES)).toEqual([]);
    expect(checkModes({ ...DEFAULT_RULES, secureAggregation: true })).toEqual([]);
    expect(
      checkModes({
        ...base,
        strategy: 'krum',
        adaptiveNormK: 3,
        quarantineAfterExclusions: 2,
        maxShare: 0.2,
      }),
    ).toEqual([]);
  });

  it('refuses each robust defence under secure aggregation, naming both settings', () => {
    const issues = checkModes({
      ...base,
      secureAggregation: true,
      strategy: 'multikrum',
      adaptiveNormK: 3,
      quarantineAfterExclusions: 2,
      maxShare: 0.5,
    });
    // Server momentum applies to the unmasked mean (FedAvg.applyMeanStep): allowed.
    expect(issues.map((i) => i.path[0]).sort()).toEqual(
      ['adaptiveNormK', 'maxShare', 'quarantineAfterExclusions', 'strategy'].sort(),
    );
    for (const i of issues) {
      expect(i.message).toMatch(/^secureAggregation cannot be combined with /);
      expect(i.message).toContain(i.path[0]!);
    }
    const q = issues.find((i) => i.path[0] === 'quarantineAfterExclusions')!;
    expect(q.message).toMatch(/quarantineAfterExclusions 2: .*nothing can be excluded from a masked sum/);
  });

  it('refuses distributed DP without secure aggregation', () => {
    const [issue] = checkModes({ ...base, distributedDp: true });
    expect(issue!.path).toEqual(['distributedDp']);
    expect(issue!.message).toMatch(/^distributedDp needs secureAggregation/);
    expect(checkModes({ ...base, secureAggregation: true, distributedDp: true })).toEqual([]);
  });

  it('names the mode', () => {
    expect(modeOf(base)).toBe('plain');
    expect(modeOf({ ...base, strategy: 'trimmed-mean' })).toBe('robust');
    expect(modeOf({ ...base, quarantineAfterExclusions: 3 })).toBe('robust');
    expect(modeOf({ ...base, secureAggregation: true })).toBe('private');
  });
});

describe('quarantineAfterExclusions rule', () => {
  it('is off by default and validated', () => {
    expect(DEFAULT_RULES.quarantineAfterExclusions).toBeNull();
    const { quarantineAfterExclusions: _, ...old } = DEFAULT_RULES;
    expect(RoundRules.parse(old).quarantineAfterExclusions).toBeNull(); // settings stored before it existed
    expect(RoundRules.parse({ ...DEFAULT_RULES, quarantineAfterExclusions: 3 }).quarantineAfterExclusions).toBe(3);
    expect(() => RoundRules.parse({ ...DEFAULT_RULES, quarantineAfterExclusions: 0 })).toThrow();
    expect(() => RoundRules.parse({ ...DEFAULT_RULES, quarantineAfterExclusions: 1.5 })).toThrow();
  });
});
