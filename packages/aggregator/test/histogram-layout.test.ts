/**
 * A bank whose evaluation histogram has another bin layout (layout 1: equal-width
 * probability bins, no `scale`; or another logit range) is refused over the real socket
 * with a message that says what differs, and the refusal is audited; its counts are never
 * added to bins that mean something else.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyHistogram } from '@finsecure/common/metrics';
import { encodeFrame } from '@finsecure/common/protocol';
import { api, cleanup, createBank, startTestAggregator, tempDir } from './helpers/federation.js';
import { RawBank } from './helpers/raw-bank.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('finsecure-hist-layout-');
});
afterAll(() => cleanup(dir));

function evaluation(histogram: object) {
  return {
    type: 'evaluation',
    roundId: 1,
    modelVersion: 1,
    numExamples: 4,
    threshold: 0.5,
    confusion: { tp: 1, fp: 1, tn: 1, fn: 1 },
    histogram,
    loss: 0.5,
    evalMs: 1,
  };
}

describe('histogram layout on the wire', () => {
  it('refuses layout 1 and other logit ranges with a clear message, accepts the standard layout', async () => {
    const agg = await startTestAggregator(path.join(dir, 'agg'));
    try {
      const token = await createBank(agg, 'old-bank');
      const raw = await RawBank.join(`${agg.wsUrl}/ws/bank`, 'old-bank', token);

      // Layout 1, as an older bank client sends it.
      raw.sendBytes(encodeFrame(evaluation({ bins: 4, positives: [0, 0, 0, 2], negatives: [2, 0, 0, 0] })));
      const old = await raw.next('error');
      expect(old.msg.code).toBe('bad_frame');
      expect(old.msg.message).toMatch(
        /histogram scale is missing: expected the "sigmoid\+logit" layout with logits clamped to ±40 \(bank and aggregator run different FinSecure versions/,
      );

      // The right scale but another range.
      raw.sendBytes(encodeFrame(evaluation({ ...emptyHistogram(4), logitMax: 30 })));
      const narrow = await raw.next('error');
      expect(narrow.msg.message).toMatch(/histogram logitMax is 30: expected/);

      // The standard layout passes decoding and reaches the round logic (no round runs here).
      raw.sendBytes(encodeFrame(evaluation(emptyHistogram(4))));
      const ack = await raw.next('ack');
      expect(ack.msg).toMatchObject({ of: 'evaluation', accepted: false });
      expect(ack.msg.reason).toMatch(/no round is running/);
      expect(raw.closed).toBeNull();

      const audit = await api<{ type: string; actor?: string; details: { reason?: string } }[]>(
        agg,
        'GET',
        '/api/audit?limit=100',
      );
      const rejected = audit.body.filter((e) => e.type === 'frame.rejected');
      expect(rejected.some((e) => /histogram scale is missing/.test(e.details.reason ?? ''))).toBe(true);
      raw.close();
    } finally {
      await agg.close();
    }
  });
});
