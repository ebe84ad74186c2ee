/**
 * Banks whose data does not fit: a late bank with differently scaled data is flagged (with
 * the reason, in /api/banks and the audit log) and can be excluded by a rule; an admin can
 * re-fix the scaler; a bank refused for its schema shows the refusal, not "offline"; a bank
 * whose clock is off gets relative deadlines and its skew is recorded.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import type { AuditEntryView, BankView } from '@finsecure/common/api';
import { generateSynthetic, writeCsv } from '@finsecure/common/data';
import { CloseCode } from '@finsecure/common/protocol';
import { assessBank } from '../src/federation/health.js';
import type { RunningAggregator } from '../src/index.js';
import {
  api,
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  waitFor,
  waitRounds,
  writeShards,
} from './helpers/federation.js';
import { RawBank } from './helpers/raw-bank.js';
import { Browser } from './helpers/people.js';

let dir: string;
let agg: RunningAggregator;
const clients: BankClient[] = [];
let shifted: string;

beforeAll(async () => {
  dir = tempDir();
  const shards = await writeShards(dir, 3);
  // The late bank's data: the same kind of transactions, but every feature on another
  // scale and offset (another data source or an unscaled export), as the ULB file was
  // against synthetic banks in the report.
  const ds = generateSynthetic({ rows: 600, fraudRate: 0.08, seed: 7 });
  const f = ds.features;
  for (let i = 0; i < f.length; i++) f[i] = f[i]! * 6 + 25;
  shifted = path.join(dir, 'shifted.csv');
  await writeCsv(ds, shifted);
  agg = await startTestAggregator(path.join(dir, 'health'), {
    autoStart: true,
    rules: { rounds: 0, minBanks: 3, quorum: 3 } as never,
  });
  for (const [i, id] of ['a', 'b', 'c'].entries()) {
    const token = await createBank(agg, id);
    clients.push(await startBank(agg, id, token, shards[i]!, path.join(dir, `${id}-state`)));
  }
  await waitRounds(agg, (rs) => rs.some((r) => r.status === 'committed'), 'a first committed round');
});
afterAll(async () => {
  await Promise.all(clients.map((b) => b.stop()));
  await agg?.close();
  cleanup(dir);
});

const banks = async () => (await api<BankView[]>(agg, 'GET', '/api/banks')).body;
const audit = async () => (await api<AuditEntryView[]>(agg, 'GET', '/api/audit?limit=1000')).body;

describe('bank health', () => {
  it('the three original banks are healthy', async () => {
    const list = await banks();
    for (const id of ['a', 'b', 'c']) expect(list.find((b) => b.id === id)?.health?.status).toBe('ok');
  });

  it('a late bank with differently scaled data is flagged with the reason, audited, and excluded by the rule', async () => {
    const token = await createBank(agg, 'late');
    clients.push(await startBank(agg, 'late', token, shifted, path.join(dir, 'late-state')));
    const late = await waitFor('the late bank flagged', async () => {
      const b = (await banks()).find((x) => x.id === 'late');
      return b?.health?.status === 'warning' ? b : null;
    });
    expect(late.health!.reasons.join(' ')).toMatch(/30 of 30 features differ from the consortium's/);
    expect(late.health!.shiftedFeatureShare).toBe(1);
    const entry = (await audit()).find((e) => e.type === 'bank.health' && e.actor === 'late');
    expect(entry?.details).toMatchObject({ status: 'warning' });
    // With the rule on, it is left out of the next rounds.
    const cfg = await api(agg, 'PUT', '/api/config', { rules: { excludeUnhealthyBanks: true } });
    expect(cfg.status).toBe(200);
    const rounds = await waitRounds(
      agg,
      (rs) =>
        rs.some(
          (r) =>
            r.status === 'committed' && (r.config.rules as { excludeUnhealthyBanks?: boolean }).excludeUnhealthyBanks,
        ),
      'a round under the rule',
    );
    const ruled = rounds.find((r) => (r.config.rules as { excludeUnhealthyBanks?: boolean }).excludeUnhealthyBanks)!;
    expect(ruled.selected).not.toContain('late');
    expect(ruled.selected).toHaveLength(3);
  });

  it('an admin re-fixes the scaler between rounds (audited); viewers may not', async () => {
    await api(agg, 'POST', '/api/training/pause');
    await waitFor('no round in flight', async () => agg.federation.status().currentRound === null);
    expect((await api(agg, 'POST', '/api/scaler/refit', {}, 'test-viewer-token-0123456789')).status).toBe(403);
    const r = await api<{ banks: string[] }>(agg, 'POST', '/api/scaler/refit', { exclude: ['late'] });
    expect(r.status).toBe(200);
    expect(r.body.banks.sort()).toEqual(['a', 'b', 'c']);
    expect((await audit()).find((e) => e.type === 'scaler.refit')?.details).toMatchObject({ excluded: ['late'] });
    // A person's refit is audited under their name, not a generic "admin".
    const password = 'ledger orbit canal 7 lantern';
    expect((await api(agg, 'POST', '/api/users', { username: 'mira', role: 'ml-engineer', password })).status).toBe(
      201,
    );
    const mira = new Browser(agg.url);
    expect((await mira.login('mira', password)).status).toBe(200);
    expect((await mira.request('POST', '/api/scaler/refit', {})).status).toBe(200);
    expect((await audit()).filter((e) => e.type === 'scaler.refit').map((e) => e.actor)).toEqual([
      'bootstrap-admin-token',
      'mira',
    ]);
  });
});

const hello = (bankId: string, token: string) => ({
  type: 'hello' as const,
  protocolVersion: 1,
  bankId,
  token,
  clientVersion: 't',
  backend: 'cpu' as const,
  numExamples: 100,
  numFeatures: 30,
});

describe('refused and skewed banks', () => {
  it('a bank refused for its schema shows the reason, under its own audit type', async () => {
    const token = await createBank(agg, 'narrow');
    const raw = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    raw.send({ ...hello('narrow', token), numFeatures: 15 });
    const closed = await raw.waitClosed();
    expect(closed.code).toBe(CloseCode.Incompatible);
    expect(closed.reason).toMatch(/15 features, the model expects 30/);
    const b = (await banks()).find((x) => x.id === 'narrow')!;
    expect(b.connected).toBe(false);
    expect(b.lastRefusal).toMatchObject({ kind: 'schema', reason: 'bank data has 15 features, the model expects 30' });
    const entry = (await audit()).find((e) => e.type === 'bank.refused' && e.actor === 'narrow');
    expect(entry?.details).toMatchObject({ kind: 'schema' });
  });

  it('a hello with a bad token is audited as unauthenticated, never under the claimed id', async () => {
    const raw = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    raw.send(hello('admin', 'not-the-right-token-at-all'));
    await raw.waitClosed();
    const failed = (await audit()).filter((e) => e.type === 'auth.failed');
    expect(failed.at(-1)?.actor).toBe('unauthenticated (claimed "admin")');
    expect((await audit()).some((e) => e.actor === 'admin' && e.type === 'auth.failed')).toBe(false);
  });

  it('records the clock skew a bank reports at hello; deadlines travel as time left', async () => {
    const token = await createBank(agg, 'skewed');
    const raw = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    raw.send({
      type: 'hello',
      protocolVersion: 1,
      bankId: 'skewed',
      token,
      clientVersion: 't',
      backend: 'cpu',
      sentAt: Date.now() + 60_000,
      numExamples: 100,
      numFeatures: 30,
    });
    await raw.next('welcome');
    const entry = await waitFor('the skew entry', async () =>
      (await audit()).find((e) => e.type === 'bank.clock_skew' && e.actor === 'skewed'),
    );
    expect(Number(entry.details.skewMs)).toBeGreaterThan(55_000);
    expect(Number(entry.details.skewMs)).toBeLessThan(65_000);
    raw.close();
  });
});

describe('assessBank (pure)', () => {
  const scaler = { mean: [0, 0, 0, 0], std: [1, 1, 1, 1] };
  const stats = (mean: number[], sd: number[]) => ({
    count: 100,
    mean,
    m2: sd.map((s) => s * s * 100),
  });
  it('does not flag one odd feature, flags a quarter', () => {
    expect(assessBank(stats([3, 0, 0, 0], [1, 1, 1, 1]), scaler, undefined, []).status).toBe('warning');
    expect(assessBank(stats([0.5, 0, 0, 0], [1, 1, 1, 1]), scaler, undefined, []).status).toBe('ok');
    expect(assessBank(stats([0, 0, 0, 0], [5, 1, 1, 1]), scaler, undefined, []).shiftedFeatureShare).toBe(0.25);
  });
  it('flags a loss far above the median of the others, not a small one', () => {
    const h = assessBank(undefined, scaler, 1.2, [0.08, 0.1, 0.09]);
    expect(h.status).toBe('warning');
    expect(h.lossRatio).toBeCloseTo(1.2 / 0.09, 6);
    expect(assessBank(undefined, scaler, 0.25, [0.05, 0.06]).status).toBe('ok'); // below 0.3
  });
});
