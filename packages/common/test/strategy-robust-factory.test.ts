/** The robust strategies by name, with their options validated and named in errors. */
import { describe, expect, it } from 'vitest';
import {
  AdaptiveNormBound,
  Bulyan,
  CenteredClipping,
  createStrategy,
  Krum,
  MultiKrum,
  STRATEGY_NAMES,
  TrimmedMean,
} from '../src/strategy/index.js';

describe('createStrategy (robust)', () => {
  it('builds every named strategy', () => {
    expect(STRATEGY_NAMES).toEqual([
      'fedavg',
      'fedmedian',
      'krum',
      'multikrum',
      'bulyan',
      'trimmed-mean',
      'centered-clipping',
    ]);
    expect(createStrategy('krum', { byzantineF: 1 })).toBeInstanceOf(Krum);
    const mk = createStrategy('multikrum', { byzantineF: 2, multiKrumM: 3 }) as MultiKrum;
    expect([mk.name, mk.byzantineF, mk.multiKrumM]).toEqual(['multikrum', 2, 3]);
    expect((createStrategy('multikrum', { byzantineF: 2 }) as MultiKrum).multiKrumM).toBe(0); // n − f
    expect(createStrategy('bulyan', { byzantineF: 1 })).toBeInstanceOf(Bulyan);
    expect(createStrategy('trimmed-mean', { trimFraction: 0.1 })).toBeInstanceOf(TrimmedMean);
    const cc = createStrategy('centered-clipping', { clipRadius: 2 }) as CenteredClipping;
    expect([cc.clipRadius, cc.clipIterations]).toEqual([2, 1]);
  });

  it('wraps any strategy in the adaptive norm bound when adaptiveNormK is given', () => {
    const s = createStrategy('fedavg', { adaptiveNormK: 3, adaptiveNormAction: 'clip' }) as AdaptiveNormBound;
    expect(s).toBeInstanceOf(AdaptiveNormBound);
    expect([s.name, s.k, s.action]).toEqual(['fedavg', 3, 'clip']);
    expect((createStrategy('krum', { byzantineF: 0, adaptiveNormK: 2 }) as AdaptiveNormBound).action).toBe('reject');
    expect(createStrategy('krum', { byzantineF: 0 })).toBeInstanceOf(Krum);
  });

  it('refuses bad options with a message naming the option', () => {
    const bad: [string, unknown, RegExp][] = [
      ['krum', {}, /strategy "krum".*byzantineF/s],
      ['krum', { byzantineF: -1 }, /byzantineF must be >= 0/],
      ['bulyan', { byzantineF: 1.5 }, /byzantineF must be an integer/],
      ['multikrum', { byzantineF: 1, multiKrumM: -2 }, /multiKrumM must be >= 0/],
      ['trimmed-mean', { trimFraction: 0.5 }, /trimFraction must be in \[0, 0\.5\)/],
      ['trimmed-mean', {}, /trimFraction/],
      ['centered-clipping', { clipRadius: 0 }, /clipRadius must be > 0/],
      ['centered-clipping', { clipRadius: 1, clipIterations: 0 }, /clipIterations/],
      ['fedavg', { adaptiveNormK: 0.5 }, /adaptiveNormK must be >= 1/],
      ['fedavg', { adaptiveNormAction: 'clip' }, /adaptiveNormAction needs adaptiveNormK/],
      ['fedmedian', { adaptiveNormAction: 'drop', adaptiveNormK: 2 }, /adaptiveNormAction/],
      // FedAvg-only options are not options of a robust strategy.
      ['krum', { byzantineF: 1, maxShare: 0.5 }, /strategy "krum".*maxShare/s],
      ['trimmed-mean', { trimFraction: 0.1, serverMomentum: 0.9 }, /serverMomentum/],
    ];
    for (const [name, options, message] of bad) expect(() => createStrategy(name, options), name).toThrow(message);
  });
});
