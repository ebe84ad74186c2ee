/** The trust view's pure helpers: chart rows and the one-line reason. */
import { describe, expect, it } from 'vitest';
import { trustRows, trustSummary, type HistoryLike } from '../src/lib/trust.js';

const h = (roundId: number, rep: HistoryLike['reputation'], weight = 0.5): HistoryLike => ({
  roundId,
  weight,
  reputation: rep,
});
const off = { quarantined: false, streak: 0, sinceRound: null };

describe('trust view helpers', () => {
  const history = [
    h(3, { norm: 50, cosine: -0.9, distance: 49, excluded: 'krum: far', outlier: 'excluded: krum: far' }, 0),
    h(2, null),
    h(1, { norm: 1, cosine: 0.9, distance: 0.3 }),
  ];

  it('orders rows oldest first and skips rounds without reputation', () => {
    expect(trustRows(history)).toEqual([
      { round: 1, norm: 1, distance: 0.3, cosine: 0.9, outlier: null, excluded: false },
      { round: 3, norm: 50, distance: 49, cosine: -0.9, outlier: 'excluded: krum: far', excluded: true },
    ]);
  });

  it('leads with quarantine, then the latest outlier, else all clear', () => {
    expect(trustSummary({ quarantine: off, history })).toEqual({
      tone: 'error',
      text: 'Round 3: excluded: krum: far (1 of its last 2 round(s) stood out).',
    });
    expect(
      trustSummary({
        quarantine: { quarantined: true, streak: 1, sinceRound: 3 },
        history,
      }),
    ).toEqual({
      tone: 'error',
      text: 'Quarantined since round 3: excluded in 1 consecutive rounds (last: excluded: krum: far).',
    });
    expect(trustSummary({ quarantine: off, history: [history[2]!] })).toEqual({
      tone: 'ok',
      text: 'No outlier in its last 1 round(s).',
    });
    expect(trustSummary({ quarantine: off, history: [] }).text).toMatch(/No update of this bank/);
  });
});
