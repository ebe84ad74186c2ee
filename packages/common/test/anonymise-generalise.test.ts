/** Masking account numbers, amount bands and time generalisation: the value-coarsening transforms. */
import { describe, expect, it } from 'vitest';
import { amountBand, generaliseTime, maskLastFour } from '@finsecure/common/anonymise';

describe('masking, bands and time generalisation', () => {
  it('rounds amounts to bands', () => {
    expect(amountBand(0)).toBe('0-10');
    expect(amountBand(57.16)).toBe('50-100');
    expect(amountBand(100)).toBe('100-200');
    expect(amountBand(12000)).toBe('5000+');
    expect(amountBand(-3)).toBe('<0');
    expect(amountBand(7, [0, 5, 10])).toBe('5-10');
  });

  it('generalises timestamps to the hour or the day', () => {
    expect(generaliseTime('2018-04-01 13:47:10', 'hour')).toBe('2018-04-01 13:00');
    expect(generaliseTime('2018-04-01T13:47:10.123Z', 'day')).toBe('2018-04-01');
    expect(generaliseTime('2018-04-01', 'hour')).toBe('2018-04-01');
    expect(generaliseTime('7300.5', 'hour', 'seconds')).toBe('7200');
    expect(generaliseTime('90000', 'day', 'seconds')).toBe('86400');
    expect(generaliseTime('12', 'hour', 'days')).toBe('12');
    expect(generaliseTime('01/04/2018', 'hour')).toBeUndefined();
    expect(generaliseTime('x', 'hour', 'seconds')).toBeUndefined();
  });

  it('masks account and card numbers to the last four characters', () => {
    expect(maskLastFour('DE89 3704 0044 0532 0130 00')).toBe('****3000');
    expect(maskLastFour('4111-1111-1111-1234')).toBe('****1234');
    expect(maskLastFour('123')).toBe('***');
    expect(maskLastFour('')).toBe('');
  });
});
