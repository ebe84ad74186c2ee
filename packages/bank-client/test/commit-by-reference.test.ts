/**
 * A commit that names, by reference, a candidate this bank does not hold (BANK_FEATURES.modelByReference):
 * the bank ends its part of the round and tells the aggregator at once (decline with needsModel),
 * instead of staying on the round and declining the next one. FrameDispatch with a recording host.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { weightsSha256 } from '@finsecure/common/model';
import { encodeFrame, type FederationServerMessage } from '@finsecure/common/protocol';
import { FrameDispatch } from '../src/frame-dispatch.js';
import { WorkQueue } from '../src/work-queue.js';

const logger = pino({ level: 'silent' });
const scaler = { mean: [0], std: [1] };
const config = { epochs: 1, batchSize: 8, learningRate: 0.01, smoteRatio: 0, smoteK: 5 };
const w = (x: number) => new Float32Array(8).fill(x);
const global = (data: Float32Array) => [{ name: 'global', shape: [data.length], data }];
const frame = (msg: Record<string, unknown>, tensors = [] as ReturnType<typeof global>) =>
  encodeFrame(msg as unknown as FederationServerMessage, tensors);

function dispatch() {
  const sent: { type: string; roundId?: number; needsModel?: boolean }[] = [];
  const saved: number[] = [];
  const work = new WorkQueue(logger);
  const tasks = {
    logger,
    events: { emit: () => {} },
    model: {
      save: (m: { modelVersion: number }) => Promise.resolve(void saved.push(m.modelVersion)),
      effectiveDp: () => null,
      // No training here: the bank declines the fit, and the queue goes on to the next task.
      fit: () => Promise.reject(new Error('no training in this test')),
      evaluate: () => null,
      keepHistory: () => {},
    },
    // Round 5's update counts as sent (the fit is not run here): its candidate may be evaluated.
    upload: { drop: () => {}, released: 5 },
    send: (_ws: unknown, m: (typeof sent)[number]) => sent.push(m),
  };
  const d = new FrameDispatch({
    config: { bankId: 'b', stateDir: '/nonexistent', evaluationMaxBins: 1000 },
    parts: { work, auditHeads: { record: () => {} } },
    tasks,
    sendFrame: () => {},
    welcomed: () => {},
  } as never);
  d.newConnection();
  return { d, sent, saved, work };
}

/** Round 5: model v0 assigned in full, then candidate v1 (weights all 1) sent for evaluation. */
function assignAndEvaluate(d: FrameDispatch, ws: never): void {
  d.handle(
    ws,
    1,
    frame(
      { type: 'round_assignment', roundId: 5, modelVersion: 0, deadlineInMs: 60_000, config, scaler },
      global(w(0)),
    ),
  );
  d.handle(
    ws,
    1,
    frame(
      {
        type: 'evaluation_request',
        roundId: 5,
        modelVersion: 1,
        deadlineInMs: 60_000,
        threshold: 0.5,
        histogramBins: 8,
        scaler,
      },
      global(w(1)),
    ),
  );
}

describe('a commit by reference to a candidate the bank does not hold', () => {
  it('ends the round, saves nothing and declines with needsModel at once', () => {
    const { d, sent, saved } = dispatch();
    const ws = {} as never;
    assignAndEvaluate(d, ws);
    expect(d.currentTask?.roundId).toBe(5);
    // The commit names other weights than the copy the bank evaluated.
    d.handle(
      ws,
      1,
      frame({ type: 'round_committed', roundId: 5, modelVersion: 1, scaler, modelSha256: weightsSha256(w(2)) }),
    );
    expect(d.currentTask).toBeNull();
    expect(sent.filter((m) => m.needsModel)).toEqual([expect.objectContaining({ roundId: 5, needsModel: true })]);
    expect(saved).toEqual([]);
  });

  it('adopts and saves the candidate it evaluated when the reference matches it', async () => {
    const { d, sent, saved, work } = dispatch();
    const ws = {} as never;
    assignAndEvaluate(d, ws);
    d.handle(
      ws,
      1,
      frame({ type: 'round_committed', roundId: 5, modelVersion: 1, scaler, modelSha256: weightsSha256(w(1)) }),
    );
    await work.settled();
    expect(saved).toEqual([1]);
    expect(sent.filter((m) => m.needsModel)).toEqual([]);
  });
});
