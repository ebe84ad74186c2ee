/**
 * The robust strategies as round rules: chosen and tuned from the environment or flags,
 * with their preconditions (f, β, m, enough updates per round for f) refused with a
 * message naming the settings involved.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveNormBound, createStrategy, Krum, MultiKrum, TrimmedMean } from '@finsecure/common/strategy';
import { buildCommand, type ParsedFlags } from '../src/cli/options.js';
import { loadConfig } from '../src/config/load.js';
import { DEFAULT_RULES, RoundRules, strategySpec } from '../src/round/rules.js';

function rules(env: Record<string, string>) {
  return loadConfig({ env }).rules;
}

function refusal(patch: Partial<RoundRules>): string {
  const r = RoundRules.safeParse({ ...DEFAULT_RULES, ...patch });
  if (r.success) throw new Error(`accepted: ${JSON.stringify(patch)}`);
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
}

describe('robust strategy rules', () => {
  it('come from the environment and build the strategy they name', () => {
    const krum = rules({
      FINSECURE_STRATEGY: 'krum',
      FINSECURE_BYZANTINE_F: '1',
      FINSECURE_QUORUM: '5',
      FINSECURE_MIN_BANKS: '5',
    });
    expect(strategySpec(krum)).toEqual({ name: 'krum', options: { byzantineF: 1 } });
    expect(createStrategy(strategySpec(krum).name, strategySpec(krum).options)).toBeInstanceOf(Krum);

    const mk = rules({
      FINSECURE_STRATEGY: 'multikrum',
      FINSECURE_BYZANTINE_F: '2',
      FINSECURE_MULTI_KRUM_M: '3',
      FINSECURE_QUORUM: '7',
      FINSECURE_MIN_BANKS: '8',
      FINSECURE_ADAPTIVE_NORM_K: '4',
      FINSECURE_ADAPTIVE_NORM_ACTION: 'clip',
    });
    const spec = strategySpec(mk);
    expect(spec).toEqual({
      name: 'multikrum',
      options: { byzantineF: 2, multiKrumM: 3, adaptiveNormK: 4, adaptiveNormAction: 'clip' },
    });
    const built = createStrategy(spec.name, spec.options) as AdaptiveNormBound;
    expect(built).toBeInstanceOf(AdaptiveNormBound);
    expect(built.inner).toBeInstanceOf(MultiKrum);

    const tm = rules({
      FINSECURE_STRATEGY: 'trimmed-mean',
      FINSECURE_TRIM_FRACTION: '0.2',
      FINSECURE_QUORUM: '5',
      FINSECURE_MIN_BANKS: '5',
    });
    expect(createStrategy(strategySpec(tm).name, strategySpec(tm).options)).toBeInstanceOf(TrimmedMean);
    expect(strategySpec(rules({ FINSECURE_STRATEGY: 'centered-clipping', FINSECURE_CLIP_RADIUS: '2.5' }))).toEqual({
      name: 'centered-clipping',
      options: { clipRadius: 2.5, clipIterations: 1 },
    });
    expect(
      strategySpec(
        rules({
          FINSECURE_STRATEGY: 'bulyan',
          FINSECURE_BYZANTINE_F: '1',
          FINSECURE_QUORUM: '7',
          FINSECURE_MIN_BANKS: '7',
        }),
      ),
    ).toEqual({
      name: 'bulyan',
      options: { byzantineF: 1 },
    });
    // The adaptive norm bound goes with any strategy, FedAvg included.
    expect(strategySpec(rules({ FINSECURE_ADAPTIVE_NORM_K: '3' })).options).toMatchObject({
      adaptiveNormK: 3,
      adaptiveNormAction: 'reject',
    });
  });

  it('come from the command-line flags', async () => {
    let parsed: ParsedFlags | undefined;
    await buildCommand(async (p) => {
      parsed = p;
    }).parseAsync(
      [
        '--strategy',
        'multikrum',
        '--byzantine-f',
        '1',
        '--multi-krum-m',
        '2',
        '--quorum',
        '5',
        '--min-banks',
        '6',
        '--adaptive-norm-k',
        '3',
        '--adaptive-norm-action',
        'clip',
      ],
      { from: 'user' },
    );
    const r = loadConfig({ flags: parsed!.flags }).rules;
    expect(r).toMatchObject({
      strategy: 'multikrum',
      byzantineF: 1,
      multiKrumM: 2,
      adaptiveNormK: 3,
      adaptiveNormAction: 'clip',
    });
    await buildCommand(async (p) => {
      parsed = p;
    }).parseAsync(['--trim-fraction', '0.25', '--clip-radius', '3', '--clip-iterations', '2'], { from: 'user' });
    expect(parsed!.flags.rules).toEqual({ trimFraction: 0.25, clipRadius: 3, clipIterations: 2 });
  });

  it('refuse a quorum too small for f, naming both settings', () => {
    expect(refusal({ strategy: 'krum', byzantineF: 1, quorum: 4, minBanks: 6 })).toBe(
      'byzantineF: krum with byzantineF 1 needs at least 2f + 3 = 5 updates per round, but quorum is 4 (minBanks 6): raise quorum and minBanks to at least 5, or lower byzantineF',
    );
    expect(refusal({ strategy: 'bulyan', byzantineF: 1, quorum: 6, minBanks: 6 })).toMatch(
      /bulyan with byzantineF 1 needs at least 4f \+ 3 = 7 updates per round, but quorum is 6/,
    );
    // quorum ≤ minBanks, so a minBanks too small for f is refused through quorum as well.
    expect(refusal({ strategy: 'multikrum', byzantineF: 2, quorum: 3, minBanks: 3 })).toMatch(
      /quorum is 3 \(minBanks 3\)/,
    );
    // f at its limit is accepted.
    expect(
      RoundRules.safeParse({ ...DEFAULT_RULES, strategy: 'krum', byzantineF: 1, quorum: 5, minBanks: 5 }).success,
    ).toBe(true);
    expect(
      RoundRules.safeParse({ ...DEFAULT_RULES, strategy: 'bulyan', byzantineF: 2, quorum: 11, minBanks: 11 }).success,
    ).toBe(true);
    expect(
      RoundRules.safeParse({ ...DEFAULT_RULES, strategy: 'krum', byzantineF: 0, quorum: 3, minBanks: 3 }).success,
    ).toBe(true);
  });

  it('refuse m > quorum − f and a trim fraction that trims nothing at quorum', () => {
    expect(refusal({ strategy: 'multikrum', byzantineF: 1, multiKrumM: 5, quorum: 5, minBanks: 5 })).toMatch(
      /^multiKrumM: multiKrumM 5 exceeds quorum − byzantineF = 4/,
    );
    expect(refusal({ strategy: 'trimmed-mean', trimFraction: 0.1, quorum: 4, minBanks: 4 })).toBe(
      'trimFraction: trimFraction 0.1 trims nothing from a round of quorum 4 updates (⌊β × n⌋ = 0 values from each end); raise quorum (and minBanks) to at least 10 or trimFraction to at least 0.25',
    );
    expect(refusal({ strategy: 'trimmed-mean', trimFraction: 0.2 })).toMatch(
      /quorum 2 .* raise quorum \(and minBanks\) to at least 5$/,
    );
    expect(
      RoundRules.safeParse({ ...DEFAULT_RULES, strategy: 'trimmed-mean', trimFraction: 0.25, quorum: 4, minBanks: 4 })
        .success,
    ).toBe(true);
    expect(refusal({ strategy: 'trimmed-mean', trimFraction: 0.5, quorum: 10, minBanks: 10 })).toMatch(
      /^trimFraction:/,
    );
  });

  it('refuse FedAvg options with robust strategies, and robust options with strategies that ignore them', () => {
    expect(refusal({ strategy: 'krum', serverMomentum: 0.9, quorum: 3, minBanks: 3 })).toBe(
      'strategy: the krum strategy takes none of the FedAvg options; reset serverMomentum (0.9 → 0) or use fedavg',
    );
    // normalizeSteps: true is the FedAvg default, which another strategy simply ignores; other values are refused.
    expect(refusal({ strategy: 'centered-clipping', serverLearningRate: 0.5 })).toMatch(
      /serverLearningRate \(0\.5 → 1\)/,
    );
    expect(refusal({ byzantineF: 1 })).toBe(
      'byzantineF: byzantineF 1 is used only by the krum, multikrum, bulyan strategies, not fedavg; reset it to 0 or change strategy',
    );
    expect(refusal({ strategy: 'fedmedian', clipRadius: 3 })).toMatch(
      /^clipRadius: clipRadius 3 is used only by the centered-clipping/,
    );
    expect(refusal({ strategy: 'krum', multiKrumM: 2, quorum: 3, minBanks: 3 })).toMatch(/^multiKrumM: .*not krum/);
  });

  it('refuse an adaptive norm bound below 1, or an action without the bound', () => {
    expect(refusal({ adaptiveNormK: 0.5 })).toMatch(/^adaptiveNormK: adaptiveNormK must be 0 \(off\) or >= 1/);
    expect(refusal({ adaptiveNormAction: 'clip' })).toMatch(/^adaptiveNormAction: .* while adaptiveNormK is 0/);
    expect(() => loadConfig({ env: { FINSECURE_ADAPTIVE_NORM_ACTION: 'drop' } })).toThrow(/rules\.adaptiveNormAction/);
  });

  it('say the values they refuse, for the checks across settings too', () => {
    expect(refusal({ quorum: 7, minBanks: 5 })).toBe(
      'quorum: quorum (7) cannot exceed minBanks (5): a round could never reach it',
    );
    expect(refusal({ normalizeSteps: true, maxShare: 0.25 })).toMatch(
      /^normalizeSteps: normalizeSteps cannot be combined with maxShare \(0\.25\) < 1 \(capping/,
    );
    expect(refusal({ adaptiveNormK: 0.5 })).toMatch(/, got 0\.5$/);
    expect(refusal({ quarantineAfterExclusions: 501 })).toMatch(/^quarantineAfterExclusions: at most 500, got 501: /);
  });

  it('fill in defaults for rules stored before these options existed', () => {
    const {
      byzantineF,
      multiKrumM,
      trimFraction,
      clipRadius,
      clipIterations,
      adaptiveNormK,
      adaptiveNormAction,
      ...old
    } = DEFAULT_RULES;
    void [byzantineF, multiKrumM, trimFraction, clipRadius, clipIterations, adaptiveNormK, adaptiveNormAction];
    expect(RoundRules.parse(old)).toEqual(DEFAULT_RULES);
  });
});
