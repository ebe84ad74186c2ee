/** What a bank tells the aggregator about its own failures (src/outward.ts): never the local message. */
import { describe, expect, it } from 'vitest';
import { DataError } from '@finsecure/common/data';
import { outwardFailure } from '../src/outward.js';

describe('outwardFailure', () => {
  it("a data error: the file's base name, line and column, not the path or the cell", () => {
    const err = DataError.at('/srv/bank/secret-dir/tx.csv', 6, 'TX_AMOUNT', 'cannot read "4111-1111" as a number');
    const said = outwardFailure('local training', err);
    expect(said).toBe(
      `local training failed: tx.csv, line 6, column "TX_AMOUNT": a data error; the details are in the bank's log`,
    );
    expect(said).not.toMatch(/secret-dir|4111/);
    expect(outwardFailure('x', new DataError('no rows'))).toBe(
      "x failed: a data error; the details are in the bank's log",
    );
  });

  it("anything else: the error's kind only", () => {
    expect(outwardFailure('fit of round 3', new RangeError('/home/bank/model.bin: offset 12'))).toBe(
      "fit of round 3 failed (RangeError); the details are in the bank's log",
    );
    const odd = new Error('x');
    odd.name = 'Name with /path';
    expect(outwardFailure('y', odd)).toBe("y failed (Error); the details are in the bank's log");
    expect(outwardFailure('z', 'a string')).toBe("z failed (Error); the details are in the bank's log");
  });
});
