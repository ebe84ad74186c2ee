import { describe, expect, it } from 'vitest';
import { DEFAULT_EVALUATION_MAX_SHARE } from '@finsecure/common/metrics';
import { DEFAULT_RULES, RoundRules } from '../src/round/rules.js';

describe('trust round rules', () => {
  it('default, and fill in for settings stored before they existed', () => {
    expect(RoundRules.parse(DEFAULT_RULES)).toMatchObject({
      maxExampleRatio: 10,
      weightMaxShare: 1,
      evaluationMaxShare: DEFAULT_EVALUATION_MAX_SHARE,
      maxNoiseMultiplier: 50,
    });
    const { maxExampleRatio, weightMaxShare, evaluationMaxShare, maxNoiseMultiplier, ...older } = DEFAULT_RULES;
    void [maxExampleRatio, weightMaxShare, evaluationMaxShare, maxNoiseMultiplier];
    expect(RoundRules.parse(older)).toEqual(RoundRules.parse(DEFAULT_RULES));
  });

  it('refuse values out of range, naming the setting', () => {
    for (const bad of [
      { maxExampleRatio: 0.5 },
      { weightMaxShare: 0 },
      { evaluationMaxShare: 1.5 },
      { maxNoiseMultiplier: -1 },
    ]) {
      const r = RoundRules.safeParse({ ...DEFAULT_RULES, ...bad });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(Object.keys(bad));
    }
  });
});
