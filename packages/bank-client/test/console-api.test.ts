/**
 * The bank console's REST API over real HTTP, with a real SQLite file and a real trained
 * model in a temporary state directory: sign-in and roles, JSON scoring (missing and
 * extra fields named, logits that rank), the operating threshold, CSV upload (ids kept,
 * malformed rows refused whole, oversized uploads refused with the limit; gzip in
 * console-upload-gzip.test.ts), the alert queue with filters, detail with similar cases,
 * decisions in the hash-chained audit log. The threshold chosen on a validation split and a bank's
 * own column mapping: console-threshold-validation.test.ts, console-column-mapping.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleDb } from '../src/console/db.js';
import {
  cleanup,
  Client,
  consoleWithPeople,
  jsonTransaction,
  syntheticCsv,
  type RunningConsole,
} from './helpers/console.js';

let dir: string;
let c: RunningConsole;
let analyst: Client;
let engineer: Client;

beforeAll(async () => {
  let clients: Record<string, Client>;
  ({ dir, c, clients } = await consoleWithPeople(
    'finsecure-console-api-',
    { ana: 'analyst', eng: 'ml-engineer' },
    { maxUploadBytes: 1024 * 1024 },
  ));
  [analyst, engineer] = [clients.ana!, clients.eng!];
});
afterAll(async () => {
  await c?.close();
  cleanup(dir);
});

describe('bank console API', () => {
  it('sends security headers: a content-security policy that allows only its own origin', async () => {
    const res = await fetch(`${c.url}/`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self';"); // no WebSocket: the console has no live stream
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses callers that are not signed in, and requests without the CSRF token', async () => {
    const anon = new Client(c.url);
    expect((await anon.post('/api/score', jsonTransaction(1))).status).toBe(401);
    expect((await anon.get('/api/alerts')).status).toBe(401);
    const r = await analyst.post('/api/score', jsonTransaction(1), { 'x-csrf-token': 'wrong' });
    expect(r.status).toBe(403);
    expect(r.body.error).toBe('csrf');
    const who = await analyst.get('/api/whoami');
    expect(who.body).toMatchObject({ username: 'ana', role: 'analyst' });
    expect(who.body.permissions).toContain('alerts.decide');
    expect(who.body.permissions).not.toContain('threshold.write');
  });

  it('says whether anyone is signed in with a 200 either way (the sign-in page logs no 401), and no more', async () => {
    const anon = new Client(c.url);
    const out = await anon.get('/api/auth/session');
    expect(out).toEqual({ status: 200, body: { signedIn: false } });
    // whoami itself still answers 401 to a caller who is not signed in.
    expect((await anon.get('/api/whoami')).status).toBe(401);
    // A forged or ended session cookie counts as signed out.
    const forged = await anon.request('GET', '/api/auth/session', undefined, { cookie: 'fsb_session=forged' });
    expect(forged).toEqual({ status: 200, body: { signedIn: false } });
    const who = (await analyst.get('/api/whoami')).body;
    expect((await analyst.get('/api/auth/session')).body).toEqual({
      signedIn: true,
      ...who,
      expiresAt: expect.any(Number),
    });
    const once = new Client(c.url);
    await once.login('ana');
    expect((await once.get('/api/auth/session')).body.signedIn).toBe(true);
    expect((await once.post('/api/auth/logout')).status).toBe(200);
    expect((await once.get('/api/auth/session')).body).toEqual({ signedIn: false });
  });

  it('scores one JSON transaction with logit and float64 probability; names missing and extra fields', async () => {
    const t = { ...jsonTransaction(2), transactionId: 'T-1', accountId: 'A-9', time: '2026-11-30T10:00:00Z' };
    const r = await analyst.post('/api/score', t);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      transactionId: 'T-1',
      accountId: 'A-9',
      modelVersion: 7,
      flagged: false,
      threshold: null,
    });
    expect(Number.isFinite(r.body.logit)).toBe(true);
    expect(r.body.probability).toBeCloseTo(1 / (1 + Math.exp(-r.body.logit)), 12);

    const { V3: _dropped, ...missing } = jsonTransaction(2);
    const bad = await analyst.post('/api/score', { ...missing, colour: 'red', merchant: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('missing field V3');
    expect(bad.body.message).toContain('unknown fields colour, merchant');

    const batch = await analyst.post('/api/score', {
      transactions: [jsonTransaction(3, 0), { ...jsonTransaction(3, 1), V1: 'x' }],
    });
    expect(batch.status).toBe(400);
    expect(batch.body.problems).toEqual([expect.stringContaining('transaction 1: field V1 must be a finite number')]);
  });

  it('lets an ML engineer, not an analyst, choose the threshold; until then nothing is flagged', async () => {
    expect((await analyst.get('/api/threshold')).body).toMatchObject({
      threshold: null,
      message: expect.stringContaining('not chosen yet'),
    });
    expect((await analyst.put('/api/threshold', { kind: 'probability', value: 0.5 })).status).toBe(403);
    expect((await engineer.put('/api/threshold', { kind: 'probability', value: 1.5 })).status).toBe(400);
    // A JSON body of the wrong type is refused, not coerced (before, "0.2" set the threshold).
    const text = await engineer.put('/api/threshold', { kind: 'probability', value: '0.2' });
    expect(text.status).toBe(400);
    expect(JSON.stringify(text.body)).toContain('value');
    expect((await analyst.get('/api/threshold')).body).toMatchObject({ threshold: null });
    const set = await engineer.put('/api/threshold', { kind: 'probability', value: 0.2 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ chosenBy: 'eng', probability: 0.2, modelVersion: 7 });
    expect(set.body.logit).toBeCloseTo(Math.log(0.2 / 0.8), 12);
  });

  it('uploads a CSV: ids kept, flagged rows stored as alerts ranked by distinct logits', async () => {
    const { text, frauds } = syntheticCsv(600, 11);
    const r = await analyst.upload('/api/uploads', 'day-1.csv', text);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ file: 'day-1.csv', rows: 600, modelVersion: 7 });
    expect(r.body.flagged).toBeGreaterThan(frauds / 3);
    expect(r.body.flagged).toBeLessThan(300);

    const list = await analyst.get('/api/alerts?limit=500');
    expect(list.status).toBe(200);
    const alerts = list.body.alerts as {
      transactionId: string;
      accountId: string;
      logit: number;
      line: number;
      source: string;
    }[];
    expect(alerts.length).toBe(r.body.flagged);
    const fromUpload = alerts.filter((a) => a.source === 'day-1.csv');
    for (const a of fromUpload) {
      // transaction_id in line L is tx-11-(L-1): the id travelled with its row.
      expect(a.transactionId).toBe(`tx-11-${a.line - 1}`);
      expect(a.accountId).toBe(`acct-${(a.line - 2) % 17}`);
    }
    for (let i = 1; i < alerts.length; i++) expect(alerts[i - 1]!.logit).toBeGreaterThanOrEqual(alerts[i]!.logit);
    const top = alerts.slice(0, 10).map((a) => a.logit);
    expect(new Set(top).size).toBe(top.length);

    // Reasons are computed after the answer, in the background; then every alert has them.
    expect(r.body.explaining).toBe(r.body.flagged);
    await c.explainQueue.idle();
    const missing = c.db.db.prepare("SELECT COUNT(*) AS n FROM alerts WHERE reasons = 'null'").get() as { n: number };
    expect(missing.n).toBe(0);
  });

  it('refuses a malformed row with its line and column and stores nothing of that file', async () => {
    const before = (await analyst.get('/api/alerts?limit=1')).body.total;
    const lines = syntheticCsv(50, 12).text.split('\n');
    const cells = lines[40]!.split(',');
    cells[5] = 'abc'; // column V3
    lines[40] = cells.join(',');
    const r = await analyst.upload('/api/uploads', 'broken.csv', lines.join('\n'));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ file: 'broken.csv', line: 41, column: 'V3' });
    expect(r.body.message).toMatch(/^broken\.csv:41: column "V3"/);
    expect((await analyst.get('/api/alerts?limit=1')).body.total).toBe(before);
  });

  it('refuses an upload over the limit and says the limit', async () => {
    const big = syntheticCsv(2500, 13).text;
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const r = await analyst.upload('/api/uploads', 'big.csv', big);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ error: 'payload_too_large', limitBytes: 1024 * 1024 });
    expect(r.body.message).toContain('1048576 bytes');
  });

  it('filters alerts by status and amount', async () => {
    const all = (await analyst.get('/api/alerts?limit=500')).body.alerts as { amount: number }[];
    const amounts = all.map((a) => a.amount).sort((a, b) => a - b);
    const mid = amounts[Math.floor(amounts.length / 2)]!;
    const above = await analyst.get(`/api/alerts?minAmount=${mid}&limit=500`);
    expect(above.body.alerts.length).toBe(amounts.filter((a) => a >= mid).length);
    expect((await analyst.get('/api/alerts?status=confirmed_fraud')).body.total).toBe(0);
    expect((await analyst.get('/api/alerts?status=bogus')).status).toBe(400);
    const today = new Date().toISOString().slice(0, 10);
    expect((await analyst.get(`/api/alerts?from=${today}&to=${today}&limit=1`)).body.total).toBe(all.length);
    expect((await analyst.get('/api/alerts?to=2000-01-01')).body.total).toBe(0);
  });

  it('refuses a contradictory amount or date range with 400 naming both values', async () => {
    const amounts = await analyst.get('/api/alerts?minAmount=100&maxAmount=10');
    expect(amounts.status).toBe(400);
    expect(amounts.body).toEqual({
      error: 'bad_range',
      message: 'minAmount (100) is greater than maxAmount (10): the amount range is empty',
    });
    const dates = await analyst.get('/api/alerts?from=2027-01-01&to=2026-01-01');
    expect(dates.status).toBe(400);
    expect(dates.body.message).toBe('from (2027-01-01) is after to (2026-01-01): the date range is empty');
    const both = await analyst.get('/api/alerts?from=2027-01-01&to=2026-01-01&minAmount=5&maxAmount=-5');
    expect(both.status).toBe(400);
    expect(both.body.message).toMatch(
      /from \(2027-01-01\) is after to \(2026-01-01\).*; minAmount \(5\) is greater than maxAmount \(-5\)/,
    );
    // Equal bounds are a range of one value (one day), not a contradiction.
    expect((await analyst.get('/api/alerts?minAmount=10&maxAmount=10')).status).toBe(200);
    expect((await analyst.get('/api/alerts?from=2026-01-01&to=2026-01-01')).status).toBe(200);
  });

  it('refuses a day that is not YYYY-MM-DD, or not a real day, naming the parameter (not an empty queue)', async () => {
    for (const q of ['from=garbage', 'to=2024-1-5', 'from=2024-99-99', 'to=2023-02-29', 'from=yesterday']) {
      const r = await analyst.get(`/api/alerts?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.message, q).toMatch(new RegExp(`querystring/${q.split('=')[0]} must match format "date"`));
    }
    expect((await analyst.get('/api/alerts?from=2024-02-29')).status).toBe(200);
  });

  it('shows an alert with similar past cases, and records decisions in the audit chain', async () => {
    const top = (await analyst.get('/api/alerts?limit=1')).body.alerts[0];
    const detail = await analyst.get(`/api/alerts/${top.id}`);
    expect(detail.status).toBe(200);
    expect(Object.keys(detail.body.features)).toHaveLength(30);
    // Reasons: integrated gradients against the scaler's mean (this console has no validation split).
    expect(detail.body.explanation).toMatchObject({ method: 'integrated-gradients', background: 'scaler-mean' });
    expect(detail.body.reasons.length).toBeGreaterThan(0);
    for (const r of detail.body.reasons) {
      expect(r.attribution).toBeGreaterThan(0);
      expect(r.text).toMatch(/^\S+ is .*; raises the fraud score \(\+\d/);
    }
    expect(detail.body.bars.length).toBeGreaterThanOrEqual(detail.body.reasons.length);
    expect(detail.body.similar.length).toBe(5);
    const d = detail.body.similar.map((s: { distance: number }) => s.distance);
    expect([...d].sort((a, b) => a - b)).toEqual(d);

    const r = await analyst.post(`/api/alerts/${top.id}/decision`, {
      decision: 'confirmed_fraud',
      note: 'card holder confirmed',
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ analyst: 'ana', decision: 'confirmed_fraud' });
    expect((await analyst.post(`/api/alerts/${top.id}/decision`, { decision: 'maybe' })).status).toBe(400);
    expect((await analyst.post('/api/alerts/999999/decision', { decision: 'not_sure' })).status).toBe(404);

    const after = await analyst.get(`/api/alerts/${top.id}`);
    expect(after.body.status).toBe('confirmed_fraud');
    expect(after.body.decisions).toEqual([expect.objectContaining({ analyst: 'ana', note: 'card holder confirmed' })]);
    expect((await analyst.get('/api/alerts?status=confirmed_fraud')).body.total).toBe(1);

    // The audit log is admin-only over HTTP; the chain itself is checked on the file.
    expect((await analyst.get('/api/audit/verify')).status).toBe(403);
    const db = new ConsoleDb(`${dir}/console.sqlite`);
    try {
      expect(db.verifyAudit()).toMatchObject({ ok: true });
      const entry = db.listAudit().find((e) => e.type === 'alert.decided')!;
      expect(entry).toMatchObject({ actor: 'ana', details: { alert: top.id, decision: 'confirmed_fraud' } });
      expect(entry.seq).toBe(r.body.auditSeq);
      // Tampering with a stored decision breaks the chain.
      db.db
        .prepare("UPDATE audit SET details = replace(details, 'confirmed_fraud', 'false_positive') WHERE seq = ?")
        .run(entry.seq);
      expect(db.verifyAudit()).toMatchObject({ ok: false, brokenAt: entry.seq });
    } finally {
      db.close();
    }
  });

  it('serves the OpenAPI document at /docs', async () => {
    const r = await analyst.get('/docs/json');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining(['/api/score', '/api/uploads', '/api/alerts/{id}/decision']),
    );
  });
});
