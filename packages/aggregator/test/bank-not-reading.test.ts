/**
 * A bank that stops reading, while it keeps sending heartbeats (so the heartbeat timeout never
 * fires), is cut once more than maxQueuedBytesPerBank wait for it, and audited as
 * bank.not_reading; the federation goes on with the others. Before, every frame sent to it was
 * buffered in the aggregator without bound (151 → 317 MB in 30 s with a 1.1M-parameter model).
 * Real sockets on 127.0.0.1; a model of about 1.1M parameters, so that a few frames fill the
 * loopback socket's kernel buffers and the rest waits in the aggregator.
 */
import path from 'node:path';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '@finsecure/common/protocol';
import type { RunningAggregator } from '../src/index.js';
import { api, createBank, startTestAggregator, waitFor, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

// 30 inputs, hidden [2048, 512], one output.
const HIDDEN = [2048, 512];
const PARAMS = 30 * 2048 + 2048 + 2048 * 512 + 512 + 512 + 1;
type Entry = { type: string; actor: string; details: Record<string, unknown> };

const auditOf = async (agg: RunningAggregator, type: string) =>
  (await api<Entry[]>(agg, 'GET', '/api/audit?limit=10000')).body.filter((e) => e.type === type);

describe('a bank that does not read', () => {
  const fx = rawFixture();

  it('is cut when more than maxQueuedBytesPerBank wait for it; audited; the others go on', async () => {
    fx.agg = await startTestAggregator(path.join(fx.dir, 'agg'), {
      autoStart: true,
      maxQueuedBytesPerBank: 64 * 1024,
      model: { inputSize: 30, hidden: HIDDEN, dropout: 0.2 },
      rules: { rounds: 50, minBanks: 1, quorum: 1, roundTimeoutMs: 2_000, evaluationTimeoutMs: 500 } as never,
    });
    const agg = fx.agg;
    const [alice, mallory] = await Promise.all(
      ['alice', 'mallory'].map(async (id) => RawBank.join(`${agg.wsUrl}/ws/bank`, id, await createBank(agg, id))),
    );
    fx.banks.push(alice!, mallory!);
    // Mallory reads nothing more (ws has no public pause: its socket is `_socket`), but stays alive.
    (mallory!.ws as unknown as { _socket: Socket })._socket.pause();
    const beat = encodeFrame({ type: 'heartbeat', sentAt: 0 });
    const beating = setInterval(() => mallory!.sendBytes(beat), 200);
    let stop = false;
    const zeros = new Float32Array(PARAMS);
    // Alice trains every round she is asked to.
    const honest = (async () => {
      while (!stop) {
        const a = await alice!.next('round_assignment', 60_000).catch(() => null);
        if (!a) return;
        alice!.send(updateMessage(a.msg), [{ name: 'update', shape: [PARAMS], data: zeros }]);
      }
    })();
    try {
      const cut = await waitFor('mallory cut for not reading', async () =>
        (await auditOf(agg, 'bank.not_reading')).find((e) => e.actor === 'mallory'),
      );
      expect(cut.details.limitBytes).toBe(64 * 1024);
      expect(Number(cut.details.queuedBytes)).toBeGreaterThan(0);
      const committedBefore = (await waitRounds(agg, () => true, 'rounds')).filter(
        (r) => r.status === 'committed',
      ).length;
      // The federation goes on with alice.
      await waitRounds(
        agg,
        (rs) => rs.filter((r) => r.status === 'committed').length > committedBefore,
        'a round committed after the cut',
      );
      const banks = await api<{ id: string; connected: boolean }[]>(agg, 'GET', '/api/banks');
      expect(banks.body.find((b) => b.id === 'mallory')?.connected).toBe(false);
      const left = (await auditOf(agg, 'bank.left')).find((e) => e.actor === 'mallory');
      expect(left?.details.reason).toMatch(/^not reading: \d+ bytes queued, over the 65536-byte limit$/);
    } finally {
      stop = true;
      clearInterval(beating);
      alice!.close();
      await honest;
    }
  }, 120_000);
});
