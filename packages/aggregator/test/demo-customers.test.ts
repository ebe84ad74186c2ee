/** `npm start` demo data: customer columns added once to a Kaggle-layout shard; training still reads 30 features. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset, writeSyntheticCsv } from '@finsecure/common/data';
import { customerFeaturesFromCsv } from '@finsecure/common/kmeans';
import { addDemoCustomers } from '../src/cli/demo-customers.js';
import { cleanup, tempDir } from './helpers/federation.js';

const dir = tempDir('finsecure-demo-customers-');
afterAll(() => cleanup(dir));

describe('demo customers', () => {
  it('adds CUSTOMER_ID, TX_DATETIME, TERMINAL_ID and TX_AMOUNT once, leaving the training columns alone', async () => {
    const file = path.join(dir, 'bank-1.csv');
    await writeSyntheticCsv({ rows: 2000, fraudRate: 0.01, seed: 5 }, file);
    const before = await loadDataset(file);
    expect(await addDemoCustomers(file, 1)).toBe(true);
    expect(await addDemoCustomers(file, 1)).toBe(false); // idempotent: a restart reuses the shard
    const after = await loadDataset(file);
    expect(after.numFeatures).toBe(30);
    expect(Array.from(after.features)).toEqual(Array.from(before.features));
    expect(Array.from(after.labels)).toEqual(Array.from(before.labels));
    expect(readFileSync(file, 'utf8').split('\n')[0]).toMatch(/,Class,CUSTOMER_ID,TX_DATETIME,TERMINAL_ID,TX_AMOUNT$/);
    const acc = await customerFeaturesFromCsv(file);
    expect(acc.labelled).toBe(true);
    const { points } = acc.finish();
    expect(points.n).toBeGreaterThan(40);
    // Night customers exist: some have most of their transactions between 00:00 and 05:59.
    let night = 0;
    for (let i = 0; i < points.n; i++) if (points.data[i * 6 + 3]! > 0.5) night++;
    expect(night).toBeGreaterThan(0);
  });
});
