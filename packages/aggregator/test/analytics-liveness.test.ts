/**
 * Analytics frames are frames like any other on arrival: they count as word from the bank and meet
 * the frame rate limit (federation/frames.ts handleAnalyticsFrame).
 *
 * Liveness counts every frame a bank sends, the analytics jobs' too (server/plugins/bank-socket.ts,
 * federation/frames.ts handleAnalyticsFrame): a bank daemon skips its heartbeat in an interval it sent anything else
 * (bank-client heartbeat.ts), and in a long segmentation job its only frames may be analytics
 * answers. The welcome tells the bank the timeout it is held to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, encodeFrame } from '@finsecure/common/protocol';
import { startAggregator, type RunningAggregator } from '../src/service.js';
import { aggregatorConfig, api, cleanup, createBank, quiet, tempDir, waitFor } from './helpers/federation.js';
import { ManualClock } from './helpers/manual-clock.js';
import { RawBank } from './helpers/raw-bank.js';

// The federation's clock is the test's: heartbeat sweeps run when the test advances it, so a loaded
// machine can neither stall a healthy connection into a timeout nor make the test wait.
const INTERVAL_MS = 100;
const TIMEOUT_MS = 2_500;

let dir: string;
let agg: RunningAggregator;
const clock = new ManualClock();

beforeAll(async () => {
  dir = tempDir();
  agg = await startAggregator(
    aggregatorConfig(dir, { heartbeatIntervalMs: INTERVAL_MS, heartbeatTimeoutMs: TIMEOUT_MS }),
    {
      logger: quiet,
      clock,
    },
  );
});

afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

/** When the aggregator last heard from the bank (its clock), as the admin API shows it. */
async function lastSeen(id: string): Promise<number | null> {
  const r = await api<{ id: string; lastSeenAt: number | null }[]>(agg, 'GET', '/api/banks');
  return r.body.find((b) => b.id === id)?.lastSeenAt ?? null;
}

/** A bank that has said hello and had its welcome, answering heartbeats or not. */
async function join(id: string, answersHeartbeats: boolean) {
  const token = await createBank(agg, id);
  const raw = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
  raw.answersHeartbeats = answersHeartbeats;
  raw.sayHello(id, token);
  return { raw, welcome: await raw.next('welcome') };
}

describe('analytics frames on arrival', () => {
  it('is kept alive by them, and timed out once it falls silent', async () => {
    const { raw, welcome } = await join('analyst', false);
    expect(welcome.msg.heartbeatTimeoutMs).toBe(TIMEOUT_MS);

    // No job asked for it: the runner ignores the answer, but it is still word from the bank. One
    // answer an interval, over 1.6 timeouts: each is seen (at the clock's time) before the sweep runs,
    // and a sweep that closed the connection would leave the next answer unseen.
    const answer = encodeFrame({ type: 'analytics_decline', jobId: 1, stageIndex: 0, reason: 'test' });
    // Past the moment the bank attached (which counts as word from it): the first answer must be seen too.
    clock.advance(INTERVAL_MS);
    for (let elapsed = 0; elapsed < 1.6 * TIMEOUT_MS; elapsed += INTERVAL_MS) {
      raw.sendBytes(answer);
      const at = clock.now();
      await waitFor(`the answer sent at ${elapsed} ms`, async () => (await lastSeen('analyst')) === at);
      clock.advance(INTERVAL_MS);
    }
    expect(raw.closed).toBeNull();

    // Silent (it does not answer the aggregator's heartbeats either): closed once the timeout has passed.
    // The sweep at exactly the timeout since the last answer keeps it; the next one closes it, and
    // says so (a sweep at the timeout itself would have said ${TIMEOUT_MS} ms).
    clock.advance(TIMEOUT_MS);
    const closed = await raw.waitClosed(30_000);
    expect(closed.code).toBe(CloseCode.HeartbeatTimeout);
    expect(closed.reason).toMatch(new RegExp(`no message for ${TIMEOUT_MS + INTERVAL_MS} ms`));
  }, 60_000);

  it('meet the frame rate limit: a flood of them is cut off, with one audit entry', async () => {
    const { raw } = await join('flooder', true);
    const answer = encodeFrame({ type: 'analytics_decline', jobId: 1, stageIndex: 0, reason: 'x'.repeat(400) });
    for (let i = 0; i < 5_000; i++) raw.sendBytes(answer);
    const closed = await raw.waitClosed(30_000);
    expect(closed.code).toBe(CloseCode.RateLimited);
    const entries = await waitFor('the audit entry', async () => {
      const r = await api<{ type: string; actor: string }[]>(agg, 'GET', '/api/audit?limit=1000');
      const found = r.body.filter((e) => e.type === 'frame.rate_limited' && e.actor === 'flooder');
      return found.length > 0 ? found : null;
    });
    expect(entries).toHaveLength(1);
  }, 60_000);
});
