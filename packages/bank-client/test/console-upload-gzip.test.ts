/**
 * Gzip uploads to the bank console over real HTTP, with a real trained model and SQLite file: the
 * upload limit holds for the CSV inside (no decompression bomb), a gzip inside the gzip and a
 * broken gzip are refused, and no spool file is left behind.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Client, consoleWithPeople, syntheticCsv, type RunningConsole } from './helpers/console.js';

let dir: string;
let c: RunningConsole;
let analyst: Client;

beforeAll(async () => {
  let clients: Record<string, Client>;
  ({ dir, c, clients } = await consoleWithPeople(
    'finsecure-console-gzip-',
    { ana: 'analyst' },
    { maxUploadBytes: 1024 * 1024 },
  ));
  analyst = clients.ana!;
});
afterAll(async () => {
  await c?.close();
  cleanup(dir);
});

describe('bank console gzip uploads', () => {
  it('takes a gzip upload, and holds the CSV inside it to the same limit (no decompression bomb)', async () => {
    const before = (await analyst.get('/api/alerts?limit=1')).body.total;
    const small = await analyst.upload('/api/uploads', 'day-2.csv.gz', gzipSync(syntheticCsv(200, 21).text));
    expect(small.status).toBe(201);
    expect(small.body.rows).toBe(200);
    // Compressed, a little over 1 MiB of rows is far under the limit; decompressed, it is over.
    const big = syntheticCsv(2500, 13).text;
    const packed = gzipSync(big);
    expect(packed.length).toBeLessThan(1024 * 1024);
    const r = await analyst.upload('/api/uploads', 'big.csv.gz', packed);
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ error: 'payload_too_large', limitBytes: 1024 * 1024 });
    expect(r.body.message).toBe('big.csv.gz decompresses to more than the upload limit of 1048576 bytes');
    // Compressed twice, the same rows would be unpacked a second time by the reader, past the limit.
    const twice = await analyst.upload('/api/uploads', 'big.csv.gz.gz', gzipSync(packed));
    expect(twice.status).toBe(400);
    expect(twice.body).toMatchObject({
      error: 'nested_gzip',
      message: 'big.csv.gz.gz holds another gzip file: upload the CSV compressed once',
    });
    // A file that claims gzip but is not: refused with the reason, nothing stored.
    const broken = await analyst.upload('/api/uploads', 'broken.csv.gz', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    expect(broken.status).toBe(400);
    expect(broken.body.error).toBe('bad_gzip');
    expect(broken.body.message).toMatch(/^broken\.csv\.gz: cannot decompress: /);
    expect((await analyst.get('/api/alerts?limit=1')).body.total).toBe(before + small.body.flagged);
    expect(readdirSync(path.join(dir, 'console-spool'))).toEqual([]); // every spool file removed
  });
});
