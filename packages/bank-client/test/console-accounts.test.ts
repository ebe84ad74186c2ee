/**
 * The console's Accounts API over real HTTP (real socket, real SQLite file for people):
 * upload a transaction file → account report (the same report as `finsecure-bank
 * accounts`) → threshold by contamination or cut-off → CSV export; transaction-level
 * Isolation Forest scores of an unlabelled file; bad files answered with the file, line
 * and column; the size limit; who may see what.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountReportCsv, buildAccountReport, readAccountTable } from '@finsecure/common/accounts';
import { exportCsv } from './helpers/console-accounts-data.js';
import {
  addPerson,
  cleanup,
  Client,
  startConsole,
  syntheticCsv,
  tempDir,
  type RunningConsole,
} from './helpers/console.js';

let dir: string;
let c: RunningConsole;
let ana: Client;
let bob: Client;
const data = exportCsv();

beforeAll(async () => {
  dir = tempDir('finsecure-console-accounts-');
  c = await startConsole(dir, { maxUploadBytes: 1 << 20 });
  await addPerson(c, 'ana', 'analyst');
  await addPerson(c, 'bob', 'analyst');
  ana = new Client(c.url);
  bob = new Client(c.url);
  await ana.login('ana');
  await bob.login('bob');
}, 60_000);
afterAll(async () => {
  await c?.close();
  if (dir) cleanup(dir);
});

describe('console Accounts API', () => {
  it('upload → report → threshold → CSV export, equal to what `finsecure-bank accounts` computes', async () => {
    const r = await ana.upload('/api/accounts/reports?contamination=0.02', 'march.csv', data);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'accounts', file: 'march.csv', layout: 'export', rowsTotal: 81, flagged: 2 });
    expect(r.body.rows[0].id).toBe('WHALE');
    expect(r.body.rows[0].flagged).toBe(true);
    expect(r.body.rows[0].explanation).toMatch(/above/);
    expect(r.body.histogram.reduce((s: number, b: { count: number }) => s + b.count, 0)).toBe(81);
    expect(r.body.histogram.reduce((s: number, b: { flagged: number }) => s + b.flagged, 0)).toBe(2);
    const id = r.body.id as string;

    // The same report the command writes, from the same code (CSV byte for byte).
    const file = path.join(dir, 'march.csv');
    writeFileSync(file, data);
    const expected = accountReportCsv(
      buildAccountReport(await readAccountTable(file), { contamination: 0.02, seed: 1, topReasons: 3 }),
    );
    const csv = await ana.get(`/api/accounts/reports/${id}/csv`);
    expect(csv.status).toBe(200);
    expect(csv.body).toBe(expected);

    // Threshold control: by contamination, and by score cut-off.
    const wider = await ana.get(`/api/accounts/reports/${id}?contamination=0.1&flagged=1&limit=5`);
    expect(wider.status).toBe(200);
    expect(wider.body.flagged).toBeGreaterThanOrEqual(8);
    expect(wider.body.matching).toBe(wider.body.flagged);
    expect(wider.body.rows).toHaveLength(5);
    const cut = r.body.rows[0].score - 1e-9;
    const one = await ana.get(`/api/accounts/reports/${id}?cutoff=${cut}`);
    expect(one.body.flagged).toBe(1);
    expect(one.body.threshold).toBeCloseTo(cut, 12);
    const oneCsv = await ana.get(`/api/accounts/reports/${id}/csv?cutoff=${cut}`);
    const flaggedLines = (oneCsv.body as unknown as string)
      .split('\n')
      .filter((l) => /,1,[^,]*$/.test(l) || /,1,".*"$/.test(l));
    expect(flaggedLines).toHaveLength(1);
    expect(flaggedLines[0]).toMatch(/^WHALE,/);

    const bad = await ana.get(`/api/accounts/reports/${id}?contamination=0.9`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/contamination/);
    const both = await ana.get(`/api/accounts/reports/${id}?contamination=0.1&cutoff=0.5`);
    expect(both.status).toBe(400);
    expect(both.body.message).toMatch(/not both/);

    const list = await ana.get('/api/accounts/reports');
    expect(list.body.reports.map((x: { id: string }) => x.id)).toContain(id);
    // Another analyst does not see it.
    expect((await bob.get(`/api/accounts/reports/${id}`)).status).toBe(404);
    expect((await bob.get('/api/accounts/reports')).body.reports).toEqual([]);
  });

  it('LOF and an explicit layout, settings named when bad', async () => {
    const r = await ana.upload('/api/accounts/reports?detector=lof&layout=export&neighbors=10', 'march.csv', data);
    expect(r.status).toBe(201);
    expect(r.body.detector).toBe('lof');
    expect(r.body.rows[0].id).toBe('WHALE');
    const wrong = await ana.upload('/api/accounts/reports?layout=handbook', 'march.csv', data);
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toMatch(/^march\.csv:1: .*CUSTOMER_ID/);
    const q = await ana.upload('/api/accounts/reports?detector=svm&seed=x', 'march.csv', data);
    expect(q.status).toBe(400);
    expect(q.body.message).toMatch(/seed must be a number, got "x"/);
    const unknown = await ana.upload('/api/accounts/reports?colour=red', 'march.csv', data);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/colour/);
  });

  it('bad files: clear errors naming file, line and column; one account is stated, not silent', async () => {
    const lines = data.trimEnd().split('\n');
    const noAccount = await ana.upload(
      '/api/accounts/reports',
      'noaccount.csv',
      'Timestamp,TransactionID,Amount\n2024-03-01 10:00,T1,5\n',
    );
    expect(noAccount.status).toBe(400);
    expect(noAccount.body.message).toMatch(/^noaccount\.csv:1: no account column: expected CUSTOMER_ID/);
    expect(noAccount.body.line).toBe(1);

    const neg = lines.slice();
    neg[5] = neg[5]!.replace(/,(\d+\.\d\d),shop/, ',-$1,shop');
    const negative = await ana.upload('/api/accounts/reports', 'negative.csv', neg.join('\n'));
    expect(negative.status).toBe(400);
    expect(negative.body).toMatchObject({ file: 'negative.csv', line: 6, column: 'Amount' });
    expect(negative.body.message).toMatch(/^negative\.csv:6: column "Amount": negative amount -/);

    const dates = lines.slice();
    dates[9] = dates[9]!.replace(/^[^,]+/, '2024-13-45 10:00');
    const badDate = await ana.upload('/api/accounts/reports', 'dates.csv', dates.join('\n'));
    expect(badDate.status).toBe(400);
    expect(badDate.body).toMatchObject({ file: 'dates.csv', line: 10, column: 'Timestamp' });
    expect(badDate.body.message).toMatch(/^dates\.csv:10: column "Timestamp": /);

    const nan = lines.slice();
    nan[3] = nan[3]!.replace(/,(\d+\.\d\d),shop/, ',12;5,shop');
    const text = await ana.upload('/api/accounts/reports', 'nan.csv', nan.join('\n'));
    expect(text.status).toBe(400);
    expect(text.body.message).toMatch(/^nan\.csv:4: column "Amount": amount is not a number/);

    const empty = await ana.upload('/api/accounts/reports', 'empty.csv', lines[0] + '\n');
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/empty\.csv: no transactions/);

    const single = [lines[0], ...lines.filter((l) => l.includes(',WHALE,'))].join('\n');
    const one = await ana.upload('/api/accounts/reports', 'one.csv', single);
    expect(one.status).toBe(201);
    expect(one.body.rowsTotal).toBe(1);
    expect(one.body.flagged).toBe(0);
    expect(one.body.threshold).toBeNull();
    expect(one.body.notes.join(' ')).toMatch(/only one account \(WHALE\).*nothing was scored or flagged/);
    const oneCsv = await ana.get(`/api/accounts/reports/${one.body.id}/csv?contamination=0.2`);
    expect(oneCsv.body).toMatch(/^# only one account/);
  });

  it('refuses uploads over the limit and requests without a file or session', async () => {
    const big = await ana.upload('/api/accounts/reports', 'big.csv', data + 'x'.repeat(1 << 20));
    expect(big.body).toMatchObject({ error: 'payload_too_large' });
    expect(big.status).toBe(413);
    expect(big.body.message).toMatch(/big\.csv is larger than the upload limit of 1048576 bytes/);
    const notMultipart = await ana.post('/api/accounts/reports', {});
    expect(notMultipart.status).toBe(415);
    // The same status, the same name, whether the console or the framework refuses.
    expect(notMultipart.body).toMatchObject({ error: 'unsupported_media_type' });
    // A route that takes no query parameters refuses one; the reports' own query is still read by the route.
    const listed = await ana.get('/api/accounts/reports?limit=5');
    expect(listed.status).toBe(400);
    expect(listed.body.message).toMatch(/"limit" is not one of its fields/);
    // The framework's own refusals are named for what they are, not by its internal code (FST_ERR_…).
    const xml = await ana.post('/api/score', { amount: 1 }, { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    expect(xml.body).toMatchObject({ error: 'unsupported_media_type' });
    // A body with a __proto__ key is refused as such, not called malformed (json-body.ts).
    const polluted = await ana.post('/api/score', JSON.parse('{"amount":1,"__proto__":{"isAdmin":true}}'));
    expect(polluted.status).toBe(400);
    expect(polluted.body).toMatchObject({ error: 'bad_request' });
    expect(polluted.body.message).toMatch(/"__proto__" key/);
    const anon = new Client(c.url);
    expect((await anon.upload('/api/accounts/reports', 'march.csv', data)).status).toBe(401);
    // Nothing of the uploads is left on disk.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(path.join(dir, 'console-spool')).filter((f) => f.startsWith('accounts-'))).toEqual([]);
  });

  it('transaction-level Isolation Forest scores for an unlabelled file', async () => {
    // The bank's scoring layout without the label column, one transaction made extreme.
    const rows = syntheticCsv(600, 31).text.trimEnd().split('\n');
    const header = rows[0]!.split(',');
    const unlabelled = rows.map((l) => l.split(',').slice(0, -1));
    // Far out in several features (in 30 dimensions one extreme feature alone is isolated
    // by few of a tree's splits: Isolation Forest's known weakness, Liu et al. 2008 §6).
    for (const f of ['Amount', 'V1', 'V2', 'V3', 'V4', 'V5'])
      unlabelled[100]![header.indexOf(f)] = f === 'V4' ? '40' : '-40';
    unlabelled[100]![header.indexOf('Amount')] = '250000';
    const text = unlabelled.map((cells) => cells.join(',')).join('\n') + '\n';
    const r = await ana.upload('/api/accounts/transactions?contamination=0.01', 'today.csv', text);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'transactions', layout: 'kaggle', rowsTotal: 600, transactions: 600 });
    expect(r.body.flagged).toBe(6);
    expect(r.body.rows[0]).toMatchObject({ id: 'tx-31-100', line: 101, flagged: true });
    expect(r.body.rows[0].explanation).toMatch(/robust SDs (above|below) this bank's median/);
    const csv = await ana.get(`/api/accounts/reports/${r.body.id}/csv`);
    const lines = (csv.body as unknown as string).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^transaction,line,Time,V1,.*,Amount,anomaly_score,flagged,reasons$/);
    expect(lines).toHaveLength(601);
    expect(lines.find((l) => l.startsWith('tx-31-100,101,'))).toMatch(/,1,"[^"]*robust SDs/);

    const broken = rows.slice();
    broken[7] = broken[7]!.replace(/,[^,]+,[^,]+$/, ',oops,0');
    const bad = await ana.upload('/api/accounts/transactions', 'broken.csv', broken.join('\n'));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^broken\.csv:8: column "Amount": /);
  });
});
