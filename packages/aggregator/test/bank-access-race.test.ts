/**
 * A token rotation or revocation that lands while a bank's hello is being attached: the bank must
 * not stay connected on the old token (federation.changeBankAccess, on the serial queue with
 * attach). SQLite answers synchronously, so the race needs the latency of an asynchronous store
 * such as MongoDB: the real SQLite store's bank read is held after it has read (a stale answer
 * arriving late), as a round trip to a database server can be.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode } from '@finsecure/common/protocol';
import { api, cleanup, createBank, startTestAggregator, tempDir, waitFor, waitRounds } from './helpers/federation.js';
import { evaluationMessage, RawBank, updateMessage } from './helpers/raw-bank.js';
import { rawFixture } from './helpers/raw-fixture.js';

describe('changing a bank’s access while its hello is attached', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  for (const change of ['rotate', 'revoke'] as const) {
    it(`${change}: the hello read before the change joins, then is closed; it does not stay`, async () => {
      const agg = await startTestAggregator(path.join(dir, change));
      try {
        const token = await createBank(agg, 'alice');
        // The second read of alice (attach's, after authenticate's) is held once it has read.
        const store = agg.store as unknown as { getBank(id: string): Promise<unknown>; [k: string]: unknown };
        const getBank = store.getBank.bind(store);
        const writes = ['setBankToken', 'revokeBank'].map((m) => {
          const inner = (store[m] as (...a: unknown[]) => Promise<boolean>).bind(store);
          return new Promise<void>((wrote) => {
            store[m] = async (...a: unknown[]) => {
              const r = await inner(...a);
              wrote();
              return r;
            };
          });
        });
        let reads = 0;
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        let held!: () => void;
        const holding = new Promise<void>((r) => (held = r));
        store.getBank = async (id: string) => {
          const record = await getBank(id);
          if (id === 'alice' && ++reads === 2) {
            held();
            await released;
          }
          return record;
        };
        const bank = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
        bank.sayHello('alice', token);
        await holding;
        const request =
          change === 'rotate' ? api(agg, 'POST', '/api/banks/alice/token') : api(agg, 'DELETE', '/api/banks/alice');
        // Let attach go on once the change is written (before, it was written at once), or after
        // a moment if the change waits its turn behind attach (now): either order must end closed.
        await Promise.race([Promise.race(writes), new Promise((r) => setTimeout(r, 300))]);
        release();
        expect((await request).status).toBe(200);
        const closed = await bank.waitClosed(10_000);
        expect(closed.code).toBe(CloseCode.Unauthorized);
        expect(agg.federation.status().connectedBanks).toBe(0);
      } finally {
        await agg.close();
      }
    }, 30_000);
  }

  it('a store error while rotating a token answers the request (500) and leaves the round in flight alone', async () => {
    const agg = await startTestAggregator(path.join(dir, 'store-error'), {
      autoStart: true,
      rules: { rounds: 1, minBanks: 1, quorum: 1 } as never,
    });
    try {
      const alice = await RawBank.join(`${agg.wsUrl}/ws/bank`, 'alice', await createBank(agg, 'alice'));
      await createBank(agg, 'bob');
      const a = await alice.next('round_assignment');
      const store = agg.store as unknown as { setBankToken: () => Promise<boolean> };
      store.setBankToken = async () => {
        throw new Error('SQLITE_BUSY: database is locked');
      };
      expect((await api(agg, 'POST', '/api/banks/bob/token')).status).toBe(500);
      // Before, the error went to the federation's recovery, which failed the round in flight.
      expect(agg.federation.status()).toMatchObject({ currentRound: { id: a.msg.roundId }, roundsFailed: 0 });
      alice.ws.close();
    } finally {
      await agg.close();
    }
  }, 30_000);
});

describe('a bank whose access ends while it does not answer the close', () => {
  const fx = rawFixture();
  const PARAMS = 4097;
  const update = (v: number) => [{ name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(v) }];

  for (const change of ['revoke', 'rotate'] as const) {
    it(`${change}: what it sends afterwards is dropped, the round goes on without it, its socket is cut`, async () => {
      fx.agg = await startTestAggregator(path.join(fx.dir, `silent-${change}`), {
        autoStart: true,
        rules: { rounds: 1, minBanks: 2, quorum: 1 } as never,
      });
      const agg = fx.agg;
      const url = `${agg.wsUrl}/ws/bank`;
      const alice = await RawBank.join(url, 'alice', await createBank(agg, 'alice'), 100, 30, undefined, 200);
      const mallory = await RawBank.join(url, 'mallory', await createBank(agg, 'mallory'), 100, 30, undefined, 200);
      fx.banks.push(alice, mallory);
      const [aa, am] = await Promise.all([alice.next('round_assignment'), mallory.next('round_assignment')]);
      // Mallory stops reading: it never sees the close frame, so it never answers it, and it can still send.
      mallory.ws.pause();
      const res =
        change === 'revoke'
          ? await api(agg, 'DELETE', '/api/banks/mallory')
          : await api(agg, 'POST', '/api/banks/mallory/token');
      expect(res.status).toBe(200);
      expect(agg.federation.isConnected('mallory')).toBe(false); // at once, not when its socket closes
      const sockets = () => [...(agg.app.websocketServer?.clients ?? [])].length;
      expect(sockets()).toBe(2); // still open: the close frame is unanswered

      mallory.send(updateMessage(am.msg), update(0.05), 'ungranted');
      alice.send(updateMessage(aa.msg), update(0.001));
      const req = await alice.next('evaluation_request');
      mallory.send(evaluationMessage(req.msg, true));
      alice.send(evaluationMessage(req.msg, true));
      const [round] = await waitRounds(
        agg,
        (rs) => rs.some((r) => r.status === 'committed' || r.status === 'failed'),
        'the round ended',
      );
      expect(round!.status).toBe('committed');
      expect(round!.participants).toEqual(['alice']);
      expect(round!.banks.mallory?.weight ?? 0).toBe(0);
      const audit = (await api<{ type: string; actor: string }[]>(agg, 'GET', '/api/audit?limit=1000')).body;
      expect(audit.filter((e) => e.actor === 'mallory' && /^(update|evaluation)\./.test(e.type))).toEqual([]);
      // The socket is cut about a second after the unanswered close, not after ws's 30 s.
      await waitFor('the unanswered socket cut', async () => sockets() === 1, 5_000);
    }, 30_000);
  }
});
