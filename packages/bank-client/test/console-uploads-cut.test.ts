/**
 * The console against uploads that are not what they claim, over a real socket: a multipart body
 * whose file part never ends, a client that leaves before the answer, a body the multipart parser
 * cannot read, a query key given twice, a huge offset, an id of megabytes. Each gets a clear answer
 * (or none is owed), nothing stays in the spool, and the reasons of later uploads still come.
 */
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Client, consoleWithPeople, syntheticCsv, type RunningConsole } from './helpers/console.js';

let dir: string;
let c: RunningConsole;
let ana: Client;

const spool = () => (existsSync(path.join(dir, 'console-spool')) ? readdirSync(path.join(dir, 'console-spool')) : []);

/** The analyst's cookie and CSRF headers, for requests the Client cannot make (raw bodies). */
function sessionHeaders(): Record<string, string> {
  const jar = (ana as unknown as { cookies: Map<string, string> }).cookies;
  return { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': jar.get('fsb_csrf')! };
}

/** A multipart body whose file part has no closing boundary (the request itself is complete). */
const cutBody = () =>
  '--B\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\n' + syntheticCsv(5, 9).text;

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  let clients: Record<string, Client>;
  ({ dir, c, clients } = await consoleWithPeople(
    'finsecure-console-cut-',
    { ana: 'analyst', eng: 'ml-engineer' },
    { people: { requireMfaForAdmins: false } },
  ));
  expect((await clients.eng!.put('/api/threshold', { kind: 'probability', value: 0.05 })).status).toBe(200);
  ana = clients.ana!;
});

afterAll(async () => {
  await c?.close();
  if (dir) cleanup(dir);
});

describe('console uploads cut short or malformed', () => {
  it('answers a file part that never ends with 400, and keeps no spool file', async () => {
    const res = await fetch(`${c.url}/api/uploads`, {
      method: 'POST',
      headers: { ...sessionHeaders(), 'content-type': 'multipart/form-data; boundary=B' },
      body: cutBody(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string; message: string }).message).toMatch(
      /^cut\.csv: the upload ended without the multipart body's closing boundary/,
    );
    expect(spool()).toEqual([]);
  }, 30_000);

  it('a client that leaves before its answer does not hold up the reasons of later uploads', async () => {
    // The client leaves while its request waits in the handler (its file part never ends).
    await new Promise<void>((resolve) => {
      const u = new URL(`${c.url}/api/uploads`);
      const body = Buffer.from(cutBody());
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          ...sessionHeaders(),
          'content-type': 'multipart/form-data; boundary=B',
          'content-length': body.length,
        },
      });
      req.on('error', () => {});
      req.end(body, () => {
        req.destroy();
        resolve();
      });
    });
    const up = await ana.upload('/api/uploads', 'later.csv', syntheticCsv(300, 11).text);
    expect(up.status).toBe(201);
    expect(up.body.flagged).toBeGreaterThan(0);
    await until('the reasons of the later upload', () => c.explainQueue.pending === 0);
    await until('the spool emptied', () => spool().length === 0);
  }, 40_000);

  it('answers an unreadable multipart body, a query key given twice and a huge offset with 400', async () => {
    const noBoundary = await fetch(`${c.url}/api/uploads`, {
      method: 'POST',
      headers: { ...sessionHeaders(), 'content-type': 'multipart/form-data' },
      body: 'whatever',
    });
    expect(noBoundary.status).toBe(400);
    expect(((await noBoundary.json()) as { error: string }).error).toBe('bad_multipart');
    const twice = await ana.upload('/api/accounts/transactions?seed=1&seed=2', 'tx.csv', syntheticCsv(50, 3).text);
    expect(twice.status).toBe(400);
    expect(twice.body.message).toContain('seed must be given once');
    expect((await ana.get('/api/alerts?offset=99999999999999999999')).status).toBe(400);
  });

  it('keeps at most 256 characters of an id read from a CSV', async () => {
    const [header, ...rows] = syntheticCsv(200, 21).text.trimEnd().split('\n');
    const at = header!.split(',').indexOf('transaction_id');
    expect(at).toBeGreaterThanOrEqual(0);
    // Every row's id is 100,000 characters long: whichever rows are flagged, their ids are cut.
    const long = rows.map((l) => {
      const cells = l.split(',');
      cells[at] = `${cells[at]}-${'x'.repeat(100_000)}`;
      return cells.join(',');
    });
    const up = await ana.upload('/api/uploads', 'ids.csv', [header, ...long].join('\n') + '\n');
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const alerts = (await ana.get('/api/alerts?limit=500')).body as {
      alerts: { transactionId: string | null }[];
    };
    const ids = alerts.alerts.map((a) => a.transactionId ?? '').filter((t) => t.startsWith('tx-21-'));
    expect(ids.length).toBeGreaterThan(0);
    for (const t of ids) expect(t.length).toBe(256);
  });
});
