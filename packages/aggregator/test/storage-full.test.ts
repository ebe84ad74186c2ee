/**
 * A full disk, as SQLite reports it (SQLITE_FULL; made here with the real database's
 * max_page_count, no mount needed): an API change is answered 507 with what to do, nothing of it
 * is stored, and the aggregator and its audit chain go on as before.
 */
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

let dir: string;
let agg: RunningAggregator;

beforeAll(async () => {
  dir = tempDir('finsecure-storage-full-');
  agg = await startTestAggregator(path.join(dir, 'agg'));
});
afterAll(async () => {
  await agg?.close();
  cleanup(dir);
});

describe('a full disk', () => {
  it('is answered 507 with what to do; nothing half-stored, the service and the audit chain go on', async () => {
    // The store's own connection (private: a test reaches in to fill its disk).
    const db = (agg.store as unknown as { db: Database.Database }).db;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    let full: { status: number; body: unknown } | undefined;
    const created: string[] = [];
    for (let i = 0; i < 500 && !full; i++) {
      const id = `bank-${i}`;
      const r = await api(agg, 'POST', '/api/banks', { id, name: `Bank ${i} ${'x'.repeat(180)}` });
      if (r.status === 201) created.push(id);
      else full = r;
    }
    expect(full).toBeDefined();
    expect(full, JSON.stringify(full)).toMatchObject({ status: 507 });
    expect(full!.body).toMatchObject({ error: 'storage_full', message: expect.stringMatching(/disk is full/) });

    db.pragma('max_page_count = 1073741823');
    const banks = (await api<{ id: string }[]>(agg, 'GET', '/api/banks')).body.map((b) => b.id);
    // The refused bank is not there; every bank answered 201 is.
    expect(banks.sort()).toEqual(created.sort());
    expect((await api(agg, 'POST', '/api/banks', { id: 'after' })).status).toBe(201);
    expect((await api<{ ok: boolean }>(agg, 'GET', '/api/audit/verify')).body.ok).toBe(true);
  });
});
