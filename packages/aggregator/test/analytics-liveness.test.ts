/**
 * Liveness counts every frame a bank sends, the analytics jobs' too (server/plugins/bank-socket.ts,
 * Federation.heardFrom): a bank daemon skips its heartbeat in an interval it sent anything else
 * (bank-client heartbeat.ts), and in a long segmentation job its only frames may be analytics
 * answers. The welcome tells the bank the timeout it is held to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, encodeFrame, PROTOCOL_VERSION } from '@finsecure/common/protocol';
import type { RunningAggregator } from '../src/service.js';
import { cleanup, createBank, startTestAggregator, tempDir } from './helpers/federation.js';
import { RawBank } from './helpers/raw-bank.js';

// A timeout of 25 intervals, as in the daemon's heartbeat test: a loaded machine cannot stall a
// healthy connection into a false timeout, while the test still runs well past the timeout.
const INTERVAL_MS = 100;
const TIMEOUT_MS = 2_500;

let dir: string;
let agg: RunningAggregator;

beforeAll(async () => {
  dir = tempDir();
  agg = await startTestAggregator(dir, { heartbeatIntervalMs: INTERVAL_MS, heartbeatTimeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

describe('liveness of a bank that sends only analytics frames', () => {
  it('is kept alive by them, and timed out once it falls silent', async () => {
    const token = await createBank(agg, 'analyst');
    const raw = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    raw.answersHeartbeats = false;
    raw.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      bankId: 'analyst',
      token,
      clientVersion: 'raw-test',
      backend: 'cpu',
      numExamples: 100,
      numFeatures: 30,
      numTestExamples: 0,
    });
    const welcome = await raw.next('welcome');
    expect(welcome.msg.heartbeatTimeoutMs).toBe(TIMEOUT_MS);

    // No job asked for it: the runner ignores the answer, but it is still word from the bank.
    const answer = encodeFrame({ type: 'analytics_decline', jobId: 1, stageIndex: 0, reason: 'test' });
    const start = Date.now();
    while (Date.now() - start < 1.6 * TIMEOUT_MS) {
      raw.sendBytes(answer);
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }
    expect(raw.closed).toBeNull();

    // Silent (it does not answer the aggregator's heartbeats either): closed for the timeout.
    const closed = await raw.waitClosed(4 * TIMEOUT_MS);
    expect(closed.code).toBe(CloseCode.HeartbeatTimeout);
  });
});
