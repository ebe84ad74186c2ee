/**
 * The console's Anonymise API (issue 19 item 1) over real HTTP against a real console
 * (socket, SQLite file, state directory): the safe copy keeps no original id, name or
 * account number, its customer pseudonyms are the bank's Segments pseudonyms, a min-k
 * refusal and every bad input write nothing, and only analysts and admins may run it.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonym } from '@finsecure/common/anonymise';
import { segmentPseudonymKey } from '../src/analytics/state.js';
import { withoutPaths } from '../src/console/plugins/anonymise.js';
import { addPerson, cleanup, Client, startConsole, tempDir, type RunningConsole } from './helpers/console.js';

let dir: string;
let c: RunningConsole;
let analyst: Client;
let engineer: Client;
let admin: Client;

// The IBANs end alike: masked to the last four, they do not tell the customers apart.
const CUSTOMERS = Array.from({ length: 6 }, (_, i) => ({
  id: `C77${4100 + i}`,
  name: `Zephyrine Quillfeather${i}`,
  iban: `DE89370400440532${10 + i}3100`,
}));
const TX_IDS = Array.from({ length: 60 }, (_, i) => `TRX55${1000 + i}`);

/**
 * 60 transactions of 6 customers on one day, 10 each: 5 web and 5 pos. By day, the customer
 * pseudonym links each customer's 10 rows and all 6 have the same record: k = 6 people.
 */
function csv(header = 'transaction_id,customer_id,customer_name,iban,amount,timestamp,channel,terminal_code'): string {
  const lines = [header];
  for (let i = 0; i < 60; i++) {
    const cu = CUSTOMERS[i % 6]!;
    const hour = String(8 + (i % 9)).padStart(2, '0');
    lines.push(
      `${TX_IDS[i]},${cu.id},${cu.name},${cu.iban},${(12.5 + i).toFixed(2)},2018-04-03 ${hour}:20:00,${i % 12 < 6 ? 'web' : 'pos'},T${i % 4}`,
    );
  }
  return lines.join('\n') + '\n';
}

const outputs = () => (existsSync(path.join(dir, 'anonymised')) ? readdirSync(path.join(dir, 'anonymised')) : []);

beforeAll(async () => {
  dir = tempDir('finsecure-console-anonymise-');
  c = await startConsole(dir, { people: { requireMfaForAdmins: false } });
  await addPerson(c, 'ana', 'analyst');
  await addPerson(c, 'eve', 'ml-engineer');
  await addPerson(c, 'adam', 'admin');
  analyst = new Client(c.url);
  engineer = new Client(c.url);
  admin = new Client(c.url);
  await analyst.login('ana');
  await engineer.login('eve');
  await admin.login('adam');
});
afterAll(async () => {
  await c?.close();
  cleanup(dir);
});

describe('console Anonymise API', () => {
  it("audits every refusal, by kind and place, never with the file's content; refuses an ε that would add no noise", async () => {
    type Entry = { seq: number; type: string; details: Record<string, unknown> };
    const refusals = async () =>
      ((await admin.get('/api/audit')).body as Entry[])
        .filter((e) => e.type === 'anonymise.refused')
        .sort((a, b) => a.seq - b.seq);
    const before = (await refusals()).length;
    expect((await analyst.upload('/api/anonymise?time=day', 'tx.csv', csv())).status).toBe(422); // unclassified
    const bad =
      csv() + 'TRX559999,C774100,Zephyrine Quillfeather0,DE89370400440532103100,abc,2018-04-03 10:00:00,web,T1\n';
    expect((await analyst.upload('/api/anonymise?unclassified=drop', 'bad.csv', bad)).status).toBe(400);
    for (const q of ['epsilon=1e308', 'epsilon=1e-320', 'clip=1e308'])
      expect((await analyst.upload(`/api/anonymise?time=day&${q}`, 'tx.csv', csv())).status, q).toBe(400);
    const entries = (await refusals()).slice(before);
    expect(entries.map((e) => e.details.why)).toEqual(['unclassified', 'bad_file', 'settings', 'settings', 'settings']);
    expect(entries[1]!.details).toMatchObject({ file: 'bad.csv', line: 62 });
    const text = JSON.stringify(entries);
    for (const secret of ['Zephyrine', 'TRX55', 'C7741', 'DE89']) expect(text).not.toContain(secret);
  });

  it('refuses a column it cannot place, then writes a safe copy with none of the originals', async () => {
    const refused = await analyst.upload('/api/anonymise?time=day', 'tx.csv', csv());
    expect(refused.status).toBe(422);
    expect(refused.body.error).toBe('unclassified');
    expect(refused.body.columns).toEqual(['terminal_code']);
    expect(refused.body.message).toContain('tx.csv');
    expect(outputs()).toEqual([]);

    const mapping = encodeURIComponent(JSON.stringify({ columns: { terminal_code: 'drop' } }));
    const r = await analyst.upload(`/api/anonymise?time=day&epsilon=0.5&minK=3&mapping=${mapping}`, 'tx.csv', csv());
    expect(r.status).toBe(201);
    expect(r.body.rows).toBe(60);
    expect(r.body.kAnonymity).toBe(6);
    expect(r.body.report.kDefinition).toBe('whole-record');
    expect(r.body.epsilonPerTransaction).toBe(0.5);
    expect(r.body.by).toBe('ana');
    const actions = Object.fromEntries(
      (r.body.report.columns as { column: string; action: string }[]).map((x) => [x.column, x.action]),
    );
    expect(actions).toMatchObject({
      transaction_id: 'pseudonymised',
      customer_id: 'pseudonymised',
      customer_name: 'dropped',
      iban: 'masked',
      amount: 'laplace',
      timestamp: 'generalised',
      terminal_code: 'dropped',
    });

    const dl = await analyst.get(r.body.download as string);
    expect(dl.status).toBe(200);
    const text = String(dl.body);
    expect(text.split('\n').filter(Boolean)).toHaveLength(61);
    for (const cu of CUSTOMERS) {
      expect(text).not.toContain(cu.id);
      expect(text).not.toContain(cu.name);
      expect(text).not.toContain('Quillfeather');
      expect(text).not.toContain(cu.iban);
      expect(text).not.toContain(cu.iban.slice(0, 18));
    }
    for (const t of TX_IDS) expect(text).not.toContain(t);
    // The bank's own sealed key: the customer pseudonyms are the Segments page's.
    const key = segmentPseudonymKey(dir);
    expect(text).toContain(pseudonym(key, 'customer', CUSTOMERS[0]!.id));
    // Only the safe copy and its report are kept; the upload spool is gone.
    expect(outputs().sort()).toEqual([`${r.body.id}.csv`, `${r.body.id}.json`]);
    expect(readdirSync(path.join(dir, 'console-spool'))).toEqual([]);

    const list = await analyst.get('/api/anonymise');
    expect(list.status).toBe(200);
    expect(list.body.runs).toEqual([
      expect.objectContaining({ id: r.body.id, by: 'ana', file: 'tx.csv', rows: 60, kAnonymity: 6 }),
    ]);
    const audit = await admin.get('/api/audit');
    const entry = (audit.body as { type: string; actor: string; details: Record<string, unknown> }[]).find(
      (e) => e.type === 'anonymise.run',
    );
    expect(entry).toMatchObject({
      actor: 'ana',
      details: { file: 'tx.csv', rows: 60, epsilonPerTransaction: 0.5, kAnonymity: 6 },
    });
  });

  it('refuses below min k and writes nothing', async () => {
    const before = outputs();
    const r = await admin.upload('/api/anonymise?time=hour&unclassified=drop&minK=5', 'hourly.csv', csv());
    expect(r.status).toBe(422);
    expect(r.body.error).toBe('min_k');
    expect(r.body.message).toMatch(/below the required minimum 5/);
    expect(r.body.report.kAnonymity).toBeLessThan(5);
    expect(outputs()).toEqual(before);
    const audit = await admin.get('/api/audit');
    expect((audit.body as { type: string }[]).some((e) => e.type === 'anonymise.refused')).toBe(true);
  });

  it('answers bad input with the reason and writes nothing', async () => {
    const before = outputs();
    const semi = csv().replace(/,/g, ';');
    const r1 = await analyst.upload('/api/anonymise', 'semi.csv', semi);
    expect(r1.status).toBe(400);
    expect(r1.body.message).toMatch(/semi\.csv:1:.*";"-separated/);
    const r2 = await analyst.upload('/api/anonymise?epsilon=-1', 'tx.csv', csv());
    expect(r2.status).toBe(400);
    expect(r2.body.message).toContain('epsilon');
    const r3 = await analyst.upload(
      '/api/anonymise?unclassified=drop',
      'bad.csv',
      csv() + 'TRX1,C1,N,DE1,abc,2018-04-03 10:00:00,web,T1\n',
    );
    expect(r3.status).toBe(400);
    expect(r3.body).toMatchObject({ error: 'bad_file', file: 'bad.csv', line: 62 });
    const r4 = await analyst.upload('/api/anonymise?bands=10,5&amount=band', 'tx.csv', csv());
    expect(r4.status).toBe(400);
    const r5 = await analyst.upload(
      `/api/anonymise?mapping=${encodeURIComponent('{"columns":{"nope":"drop"}}')}`,
      'tx.csv',
      csv(),
    );
    expect(r5.status).toBe(400);
    expect(r5.body.message).toContain('"nope"');
    expect(outputs()).toEqual(before);
  });

  it("names the files in its messages, never the bank host's paths", () => {
    expect(withoutPaths('cannot read /var/lib/finsecure/keys/anon.key: bad length')).toBe(
      'cannot read anon.key: bad length',
    );
    expect(withoutPaths("ENOENT: no such file or directory, open '/srv/bank/state/out/x.csv'")).toBe(
      "ENOENT: no such file or directory, open 'x.csv'",
    );
    expect(withoutPaths('mapping C:\\bank\\roles.json is not JSON')).toBe('mapping roles.json is not JSON');
    expect(withoutPaths('epsilon must be > 0 (got -1); bands 0,10,50')).toBe(
      'epsilon must be > 0 (got -1); bands 0,10,50',
    );
    // Relative paths and fractions are not the host's directories: left as they are.
    expect(withoutPaths('see state/keys/a.key; a/b of the rows')).toBe('see state/keys/a.key; a/b of the rows');
    expect(withoutPaths('/etc/finsecure/segment.key: unreadable')).toBe('segment.key: unreadable');
  });

  it('is for analysts and admins only', async () => {
    const list = await analyst.get('/api/anonymise');
    const id = (list.body.runs as { id: string }[])[0]!.id;
    for (const [method, url] of [
      ['POST', '/api/anonymise'],
      ['GET', '/api/anonymise'],
      ['GET', `/api/anonymise/${id}/file`],
    ] as const) {
      const r = method === 'POST' ? await engineer.upload(url, 'tx.csv', csv()) : await engineer.get(url);
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('forbidden');
      expect((await new Client(c.url).request(method, url)).status).toBe(401);
    }
    expect((await admin.get(`/api/anonymise/${id}/file`)).status).toBe(200);
    expect((await admin.get('/api/anonymise/..%2F..%2Fconsole.sqlite/file')).status).toBe(404);
  });

  it('refuses a file over the upload limit and writes nothing', async () => {
    const small = tempDir('finsecure-console-anonymise-small-');
    const s = await startConsole(small, { maxUploadBytes: 1024, people: { requireMfaForAdmins: false } });
    try {
      await addPerson(s, 'ana', 'analyst');
      const cl = new Client(s.url);
      await cl.login('ana');
      const r = await cl.upload('/api/anonymise?unclassified=drop', 'big.csv', csv());
      expect(r.status).toBe(413);
      expect(r.body).toMatchObject({ error: 'payload_too_large', limitBytes: 1024 });
      expect(existsSync(path.join(small, 'anonymised'))).toBe(false);
      expect(readdirSync(path.join(small, 'console-spool'))).toEqual([]);
    } finally {
      await s.close();
      cleanup(small);
    }
  });

  it("counts k as k^m with knownTransactions, the CLI's --known-transactions", async () => {
    const mapping = encodeURIComponent(JSON.stringify({ columns: { terminal_code: 'drop' } }));
    // Any 2 of a customer's transactions (web or pos, by day) are shared by all six: k^2 is 6.
    const km = await analyst.upload(
      `/api/anonymise?time=day&epsilon=0.5&knownTransactions=2&mapping=${mapping}`,
      'tx.csv',
      csv(),
    );
    expect(km.status).toBe(201);
    expect(km.body.report.kDefinition).toBe('km');
    expect(km.body.kAnonymity).toBe(6);
    expect(km.body.report.kStatement).toMatch(
      /over people against an adversary who knows up to 2 of a person's transactions/,
    );
    const badM = await analyst.upload(
      `/api/anonymise?time=day&knownTransactions=0&mapping=${mapping}`,
      'tx.csv',
      csv(),
    );
    expect(badM.status).toBe(400);
    expect(badM.body.message).toMatch(/knownTransactions/);
  });
});
