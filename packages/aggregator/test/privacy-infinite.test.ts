/**
 * ε = ∞ over real HTTP: a bank that clips but adds no noise (`--dp-noise-multiplier 0`)
 * has no privacy guarantee at all. The API must say so explicitly ("Infinity"), never with
 * null, which means "this bank did not use DP" (and used to blank the dashboard).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { BankClient } from '@finsecure/bank-client';
import type { BankView, LiveEvent, PrivacyView, RoundRecord } from '@finsecure/common/api';
import {
  ADMIN,
  api,
  cleanup,
  createBank,
  listRounds,
  startBank,
  startTestAggregator,
  tempDir,
  waitRounds,
  writeShards,
} from './helpers/federation.js';

let dir: string;
let shards: string[];
beforeAll(async () => {
  dir = tempDir('finsecure-dp-inf-');
  shards = await writeShards(dir, 2, 300);
});
afterAll(() => cleanup(dir));

describe('ε = ∞ (noise multiplier 0) in the API', () => {
  it('is "Infinity" in /api/privacy, /api/banks, /api/rounds and the live stream; a bank without DP stays null', async () => {
    const agg = await startTestAggregator(path.join(dir, 'agg'), {
      autoStart: true,
      rules: { rounds: 1, roundTimeoutMs: 20_000 } as never,
    });
    const banks: BankClient[] = [];
    try {
      // Bank "noiseless" clips but adds no noise; bank "plain" uses no DP at all.
      banks.push(
        await startBank(agg, 'noiseless', await createBank(agg, 'noiseless'), shards[0]!, path.join(dir, 'noiseless'), {
          dpClip: 0.5,
          dpNoiseMultiplier: 0,
          insecureDpSeed: 1,
        }),
      );
      banks.push(await startBank(agg, 'plain', await createBank(agg, 'plain'), shards[1]!, path.join(dir, 'plain')));
      await waitRounds(agg, (r) => r.some((x) => x.status === 'committed'), 'one committed round');

      const privacy = await api<PrivacyView>(agg, 'GET', '/api/privacy');
      expect(privacy.status).toBe(200);
      expect(privacy.body.epsilon).toEqual({ noiseless: 'Infinity' });
      expect(Number(privacy.body.epsilon.noiseless)).toBe(Infinity);

      const bankViews = await api<BankView[]>(agg, 'GET', '/api/banks');
      const byId = Object.fromEntries(bankViews.body.map((b) => [b.id, b]));
      expect(byId.noiseless!.epsilon).toBe('Infinity');
      expect(byId.plain!.epsilon).toBeNull();

      const [round] = await listRounds(agg);
      expect(round!.banks.noiseless!.epsilon).toBe('Infinity');
      expect(round!.banks.plain!.epsilon).toBeUndefined();
      const one = await api<RoundRecord>(agg, 'GET', `/api/rounds/${round!.id}`);
      expect(one.body.banks.noiseless!.epsilon).toBe('Infinity');

      // The live stream: a bank event for the noiseless bank carries "Infinity" too.
      const ws = new WebSocket(agg.url.replace(/^http/, 'ws') + '/ws/events');
      const events: LiveEvent[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => ws.send(JSON.stringify({ token: ADMIN })));
        ws.on('message', (data: Buffer) => {
          events.push(JSON.parse(data.toString('utf8')) as LiveEvent);
          if (events.some((e) => e.type === 'status')) resolve();
        });
        ws.on('error', reject);
      });
      banks[0]!.stop(); // the disconnect publishes the bank's view
      await new Promise<void>((resolve) => {
        const check = () => {
          if (events.some((e) => e.type === 'bank' && e.bank.id === 'noiseless')) resolve();
          else setTimeout(check, 20);
        };
        check();
      });
      ws.close();
      const bankEvent = events.find((e) => e.type === 'bank' && e.bank.id === 'noiseless') as {
        bank: BankView;
      };
      expect(bankEvent.bank.epsilon).toBe('Infinity');

      // The route documents it in its OpenAPI schema.
      const docs = await api<{ paths: Record<string, { get?: { responses?: Record<string, unknown> } }> }>(
        agg,
        'GET',
        '/docs/json',
      );
      expect(JSON.stringify(docs.body.paths['/api/privacy']?.get?.responses?.['200'])).toContain('Infinity');
    } finally {
      await Promise.all(banks.map((b) => b.stop()));
      await agg.close();
    }
  });
});
