/**
 * A whole round over WSS: the aggregator serves HTTPS/WSS from a certificate made by
 * deploy/make-tls-certs.sh, the bank client verifies it against the CA file, and a bank
 * without the CA refuses the connection.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import type { BankClient } from '@finsecure/bank-client';
import type { RunningAggregator } from '../src/index.js';
import { ADMIN, cleanup, startBank, startTestAggregator, tempDir, waitFor, writeShards } from './helpers/federation.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let dir: string;
let agg: RunningAggregator;
const banks: BankClient[] = [];

// Node's fetch would not trust our private CA; use https with the CA file.
async function get<T>(url: string, ca: string): Promise<{ status: number; body: T }> {
  const https = await import('node:https');
  const { readFileSync } = await import('node:fs');
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: readFileSync(ca), headers: { authorization: `Bearer ${ADMIN}` } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }));
      })
      .on('error', reject);
  });
}

async function post<T>(url: string, ca: string, body: unknown): Promise<T> {
  const https = await import('node:https');
  const { readFileSync } = await import('node:fs');
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        ca: readFileSync(ca),
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text) as T));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  dir = tempDir('finsecure-tls-');
  execFileSync('sh', [path.join(repo, 'deploy/make-tls-certs.sh'), path.join(dir, 'tls')], { stdio: 'ignore' });
  agg = await startTestAggregator(path.join(dir, 'agg'), {
    tlsCert: path.join(dir, 'tls/server.crt'),
    tlsKey: path.join(dir, 'tls/server.key'),
    autoStart: true,
    rules: { rounds: 1 } as never,
  });
});
afterAll(async () => {
  await Promise.all(banks.map((b) => b.stop()));
  await agg.close();
  cleanup(dir);
});

describe('TLS', () => {
  it('runs a round over WSS with a self-signed CA on 127.0.0.1', async () => {
    expect(agg.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = path.join(dir, 'tls/ca.crt');
    const shards = await writeShards(dir, 2, 400);
    for (const [i, id] of ['a', 'b'].entries()) {
      const { token } = await post<{ token: string }>(`${agg.url}/api/banks`, ca, { id });
      banks.push(await startBank(agg, id, token, shards[i]!, path.join(dir, id), { caFile: ca }));
    }
    expect(agg.wsUrl).toMatch(/^wss:/);
    const rounds = await waitFor(
      'a round committed over WSS',
      async () => {
        const r = await get<RoundRecord[]>(`${agg.url}/api/rounds`, ca);
        return r.body.some((x) => x.status === 'committed') ? r.body : null;
      },
      60_000,
      100,
    );
    expect(rounds[0]!.participants.sort()).toEqual(['a', 'b']);
    const health = await get<{ tls: boolean }>(`${agg.url}/api/health`, ca);
    expect(health.body.tls).toBe(true);
  });

  it('a bank without the CA refuses the server certificate', async () => {
    const shards = await writeShards(path.join(dir), 1, 200);
    const { token } = await post<{ token: string }>(`${agg.url}/api/banks`, path.join(dir, 'tls/ca.crt'), {
      id: 'untrusting',
    });
    const client = await startBank(agg, 'untrusting', token, shards[0]!, path.join(dir, 'untrusting'), {
      reconnectMinMs: 1000,
      reconnectMaxMs: 1000,
    });
    banks.push(client);
    const closed = await new Promise<{ code: number }>((resolve) => client.once('disconnected', resolve));
    expect(closed.code).toBe(1006);
    const list = await get<{ id: string; connected: boolean }[]>(`${agg.url}/api/banks`, path.join(dir, 'tls/ca.crt'));
    expect(list.body.find((b) => b.id === 'untrusting')!.connected).toBe(false);
  });
});
