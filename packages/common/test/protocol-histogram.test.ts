/**
 * The score histogram's count arrays are checked by one plain loop (countArray) instead of
 * zod's per-element schema: the same verdicts as `z.array(count).max(n)` on every kind of bad
 * entry, with the first bad entry named.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countArray, ScoreHistogram } from '../src/protocol/messages.js';
import { emptyHistogram } from '../src/metrics/index.js';

describe('countArray', () => {
  const fast = countArray(4);
  const reference = z.array(z.number().int().nonnegative()).max(4);
  const inputs: unknown[] = [
    [],
    [0, 1, 2, 3],
    [0, 1, 2, 3, 4],
    [1, -1],
    [1, 1.5],
    [NaN],
    [Infinity],
    [2 ** 53],
    ['1'],
    [null],
    [undefined],
    [[1]],
    [-0],
    'counts',
    null,
    { length: 1, 0: 1 },
  ];
  for (const input of inputs) {
    it(`agrees with z.array(count).max(4) on ${JSON.stringify(input) ?? String(input)}`, () => {
      expect(fast.safeParse(input).success).toBe(reference.safeParse(input).success);
    });
  }

  it('names the first bad entry', () => {
    const r = fast.safeParse([3, 2, -7, 'x']);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe('entry 2 is -7: expected a non-negative integer');
    expect(fast.safeParse([1, 2, 3, 4, 5]).error!.issues[0]!.message).toBe('expected at most 4 counts, got 5');
  });

  it('in a histogram: the path says which array', () => {
    const h = emptyHistogram(10);
    expect(ScoreHistogram.safeParse(h).success).toBe(true);
    const bad = { ...h, negatives: [...h.negatives.slice(0, 9), 0.5] };
    const issue = ScoreHistogram.safeParse(bad).error!.issues[0]!;
    expect(issue.path).toEqual(['negatives']);
    expect(issue.message).toMatch(/entry 9 is 0.5/);
  });
});
