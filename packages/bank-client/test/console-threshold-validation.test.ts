/**
 * The bank console's operating threshold chosen from the bank's validation split (split off
 * console-api.test.ts): the analyst's targets met on that split, with its PR curve, and alerts
 * explained against k-means centroids of the validation rows. Real HTTP, a real SQLite file and
 * a real trained model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic } from '@finsecure/common/data';
import { cleanup, Client, consoleWithPeople, syntheticCsv, type RunningConsole } from './helpers/console.js';

describe('operating threshold from the validation split', () => {
  let d2: string;
  let c2: RunningConsole;
  let eng: Client;
  beforeAll(async () => {
    // The bank's held-out split: labelled synthetic rows with a Time column (two days).
    const validation = generateSynthetic({ rows: 3000, fraudRate: 0.05, seed: 99 });
    let clients: Record<string, Client>;
    ({
      dir: d2,
      c: c2,
      clients,
    } = await consoleWithPeople(
      'finsecure-console-thr-',
      { eng: 'ml-engineer' },
      { validation: { load: async () => validation } },
    ));
    eng = clients.eng!;
  });
  afterAll(async () => {
    await c2?.close();
    cleanup(d2);
  });

  it('offers the analyst targets and meets them on the validation split, with the PR curve', async () => {
    expect((await eng.get('/api/threshold')).body.targets).toEqual([
      'fpr',
      'precision',
      'alerts-per-day',
      'probability',
    ]);
    const fpr = await eng.put('/api/threshold', { kind: 'fpr', value: 0.01 });
    expect(fpr.status).toBe(200);
    expect(fpr.body.implied.fpr).toBeLessThanOrEqual(0.01);
    expect(fpr.body.implied.recall).toBeGreaterThan(0.3);
    expect(fpr.body.validation).toEqual({ rows: 3000, frauds: 150 });
    expect(fpr.body.curve.length).toBeGreaterThan(10);
    expect(fpr.body.probability).toBeCloseTo(1 / (1 + Math.exp(-fpr.body.logit)), 12);

    const perDay = await eng.put('/api/threshold', { kind: 'alerts-per-day', value: 40 });
    expect(perDay.status).toBe(200);
    expect(perDay.body.implied.alertsPerDay).toBeLessThanOrEqual(40);

    // One alert in the two validation days is already 0.5 a day: unreachable, with the closest point.
    const impossible = await eng.put('/api/threshold', { kind: 'alerts-per-day', value: 0.01 });
    expect(impossible.status).toBe(422);
    expect(impossible.body.message).toContain('no threshold gives at most 0.01 alerts per day');
    expect(impossible.body.closest.alertsPerDay).toBeGreaterThan(0.01);
    const bad = await eng.put('/api/threshold', { kind: 'precision', value: 2 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('minPrecision must be in (0, 1]');

    const shown = (await eng.get('/api/threshold')).body.threshold;
    expect(shown).toMatchObject({ target: { kind: 'alerts-per-day', value: 40 }, chosenBy: 'eng' });
  });

  it('explains alerts against k-means centroids of the bank validation rows', async () => {
    const r = await eng.upload('/api/uploads', 'v.csv', syntheticCsv(300, 5).text);
    expect(r.status).toBe(201);
    const top = (await eng.get('/api/alerts?limit=1')).body.alerts[0];
    const detail = await eng.get(`/api/alerts/${top.id}`);
    expect(detail.body.explanation).toMatchObject({ method: 'integrated-gradients', background: 'bank-kmeans' });
    expect(detail.body.reasons.length).toBeGreaterThan(0);
  });
});
