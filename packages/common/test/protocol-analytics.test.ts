/** Analytics job messages: schemas at both ends, limits, and the header test the bank socket dispatches on. */
import { describe, expect, it } from 'vitest';
import {
  AnalyticsClientMessage,
  AnalyticsRequest,
  decodeFrame,
  encodeFrame,
  FederationServerMessage,
  isAnalyticsFrame,
} from '@finsecure/common/protocol';

const scaling = { mean: [1, 2], std: [1, 0.5] };

describe('analytics messages', () => {
  it('round-trips a request through a frame and the federation union', () => {
    const msg = {
      type: 'analytics_request' as const,
      jobId: 3,
      stageIndex: 2,
      stage: 'lloyd 1',
      deadlineInMs: 1000,
      task: {
        kind: 'segment_lloyd' as const,
        minCustomers: 5,
        iteration: 1,
        scaling,
        k: 2,
        d: 2,
        centres: [0, 0, 1, 1],
      },
    };
    const frame = encodeFrame(msg);
    expect(isAnalyticsFrame(frame)).toBe(true);
    expect(decodeFrame(frame, FederationServerMessage).msg).toEqual(msg);
  });

  it('refuses malformed tasks and answers with the field named', () => {
    const bad = AnalyticsRequest.safeParse({
      type: 'analytics_request',
      jobId: 1,
      stageIndex: 0,
      stage: 'x',
      deadlineInMs: 1,
      task: { kind: 'segment_lloyd', minCustomers: 1, iteration: 1, scaling, k: 2, d: 2, centres: [0, 0, 1] },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/k × d/);
    const extra = AnalyticsClientMessage.safeParse({
      type: 'analytics_decline',
      jobId: 1,
      stageIndex: 0,
      reason: 'x',
      rows: [[1, 2]],
    });
    expect(extra.success).toBe(false);
    const negative = AnalyticsClientMessage.safeParse({
      type: 'analytics_answer',
      jobId: 1,
      stageIndex: 0,
      answer: { kind: 'calibration_histogram', counts: [1, -1], source: 'accounts' },
    });
    expect(negative.success).toBe(false);
  });

  it('isAnalyticsFrame looks at the header only and recognises nothing else', () => {
    expect(isAnalyticsFrame(encodeFrame({ type: 'heartbeat', sentAt: 1 }))).toBe(false);
    expect(isAnalyticsFrame(new Uint8Array(4))).toBe(false);
    const answer = encodeFrame({ type: 'analytics_decline', jobId: 1, stageIndex: 0, reason: 'too few customers' });
    expect(isAnalyticsFrame(answer)).toBe(true);
    expect(decodeFrame(answer, AnalyticsClientMessage).msg.type).toBe('analytics_decline');
  });
});
