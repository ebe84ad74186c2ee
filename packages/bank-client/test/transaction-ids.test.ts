/**
 * The ids of a bank's own rows (src/transaction-ids.ts), which keep an analyst's label on one of
 * them out of its training data: read from the declared --console-id-column when there is one.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTransactionIds } from '../src/transaction-ids.js';
import { cleanup, tempDir } from './helpers/console.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('finsecure-txids-');
});
afterAll(() => cleanup(dir));

describe('readTransactionIds', () => {
  it('reads the declared id column, else the usual names; none without either', async () => {
    const file = path.join(dir, 'own.csv');
    writeFileSync(file, '\uFEFFref,TRANSACTION_ID,Amount\r\nR-1,T-1,3.5\r\nR-2,T-2,4\r\n');
    expect([...(await readTransactionIds(file, 'ref'))]).toEqual(['R-1', 'R-2']);
    expect([...(await readTransactionIds(file))]).toEqual(['T-1', 'T-2']);
    // A declared column the file lacks: the usual names still count.
    expect([...(await readTransactionIds(file, 'nope'))]).toEqual(['T-1', 'T-2']);
    const bare = path.join(dir, 'bare.csv');
    writeFileSync(bare, 'Amount,Class\n1,0\n');
    expect((await readTransactionIds(bare, 'ref')).size).toBe(0);
  });

  it('says when ids repeat (a repeated row can be trained on and scored), once, with the first and its lines', async () => {
    const file = path.join(dir, 'repeats.csv');
    writeFileSync(file, 'TRANSACTION_ID,Amount\nT-1,1\nT-2,2\nT-1,1\nT-1,1\nT-3,3\nT-2,2\n');
    const told: string[] = [];
    expect([...(await readTransactionIds(file, undefined, (m) => told.push(m)))]).toEqual(['T-1', 'T-2', 'T-3']);
    expect(told).toEqual([
      `${file}: 2 transaction ids are on more than one row (first: "T-1" on lines 2 and 4); a repeated row can be both trained on and scored in the test split, which flatters the federation's metrics: remove the repeats`,
    ]);
    const none: string[] = [];
    await readTransactionIds(path.join(dir, 'own.csv'), undefined, (m) => none.push(m));
    expect(none).toEqual([]);
  });
});
