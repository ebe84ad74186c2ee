/**
 * A bank console whose export names the model's inputs its own way (split off
 * console-api.test.ts): JSON scored by the mapped names, uploads read in the mapped layout, ids
 * kept. Real HTTP, a real SQLite file and a real trained model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic, KAGGLE_FEATURES } from '@finsecure/common/data';
import { THRESHOLD_KEY } from '../src/console/threshold.js';
import { cleanup, Client, consoleWithPeople, jsonTransaction, type RunningConsole } from './helpers/console.js';

describe('a bank with its own column mapping', () => {
  let d3: string;
  let c3: RunningConsole;
  let ana: Client;
  // The bank's export names the 30 model inputs its own way; ids and the label are mapped too.
  const names = KAGGLE_FEATURES.map((_, j) => `f${j}`);
  const mapping = { label: 'fraud', features: names, group: 'customer', time: 'ts', ignore: ['ref'] };
  beforeAll(async () => {
    let clients: Record<string, Client>;
    ({
      dir: d3,
      c: c3,
      clients,
    } = await consoleWithPeople('finsecure-console-map-', { ana: 'analyst' }, { layout: mapping, idColumn: 'ref' }));
    ana = clients.ana!;
    c3.db.setSetting(
      THRESHOLD_KEY,
      {
        logit: 0,
        probability: 0.5,
        target: { kind: 'probability', value: 0.5 },
        implied: null,
        validation: null,
        curve: [],
        modelVersion: 7,
        chosenBy: 'test',
        at: 0,
      },
      { at: 0, type: 'threshold.chosen', actor: 'test', details: {} },
    );
  });
  afterAll(async () => {
    await c3?.close();
    cleanup(d3);
  });

  it('scores JSON by the mapped names and uploads in the mapped layout, keeping ids', async () => {
    const schema = await ana.get('/api/score/schema');
    expect(schema.body.numeric).toEqual(names);
    const t = jsonTransaction(4);
    const byName = Object.fromEntries(KAGGLE_FEATURES.map((k, j) => [names[j]!, t[k]!]));
    const one = await ana.post('/api/score', byName);
    expect(one.status).toBe(200);
    expect((await ana.post('/api/score', t)).body.message).toContain('missing fields f0, f1');

    const ds = generateSynthetic({ rows: 200, fraudRate: 0.1, seed: 8 });
    const lines = [['ref', 'customer', 'ts', ...names, 'fraud'].join(',')];
    for (let i = 0; i < 200; i++) {
      const f = Array.from(ds.features.subarray(i * 30, (i + 1) * 30), String);
      lines.push([`R${i}`, `C${i % 7}`, String(1000 + i), ...f, String(ds.labels[i])].join(','));
    }
    const up = await ana.upload('/api/uploads', 'export.csv', lines.join('\n'));
    expect(up.status).toBe(201);
    expect(up.body.flagged).toBeGreaterThan(0);
    const alerts = (await ana.get('/api/alerts?limit=500')).body.alerts as {
      transactionId: string;
      accountId: string;
      time: string;
      line: number;
    }[];
    const fromFile = alerts.filter((a) => a.line !== null);
    expect(fromFile.length).toBe(up.body.flagged);
    for (const a of fromFile) {
      expect(a.transactionId).toBe(`R${a.line - 2}`);
      expect(a.accountId).toBe(`C${(a.line - 2) % 7}`);
      expect(a.time).toBe(String(1000 + a.line - 2));
    }
    // A column the mapping does not know is refused by name, nothing stored.
    const extra = await ana.upload(
      '/api/uploads',
      'extra.csv',
      lines.map((l, i) => `${l},${i ? 'x' : 'note'}`).join('\n'),
    );
    expect(extra.status).toBe(400);
    expect(extra.body.message).toContain('note');
    expect((await ana.get('/api/alerts?limit=1')).body.total).toBe(alerts.length);
  });
});
