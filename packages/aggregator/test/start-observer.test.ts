/**
 * StartOptions.observer: a program embedding the aggregator (the scale benchmark marks each
 * round's end with it) is told of finished rounds, refused updates and bytes moved, beside the
 * Prometheus metrics, which must still count the same events.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import { startAggregator, type RunningAggregator } from '../src/index.js';
import {
  aggregatorConfig,
  cleanup,
  createBank,
  quiet,
  tempDir,
  updateAccepted,
  waitRounds,
} from './helpers/federation.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097; // the default 30-64-32-1 MLP

describe('StartOptions.observer', () => {
  const dir = tempDir();
  let agg: RunningAggregator | undefined;
  const banks: RawBank[] = [];
  afterEach(async () => {
    banks.splice(0).forEach((b) => b.close());
    await agg?.close();
  });
  afterAll(() => cleanup(dir));

  it('is told of each finished round, refused update, byte and aggregation, and the metrics still count them', async () => {
    const finished: RoundRecord[] = [];
    const rejected: string[] = [];
    const bytes = { up: 0, down: 0 };
    const aggregations: number[] = [];
    agg = await startAggregator(
      // Raw banks do not evaluate: the evaluation stage closes at its (short) deadline.
      aggregatorConfig(path.join(dir, 'agg'), {
        autoStart: true,
        rules: { rounds: 1, quorum: 1, evaluationTimeoutMs: 200 } as never,
      }),
      {
        logger: quiet,
        observer: {
          roundFinished: (r) => finished.push(structuredClone(r)),
          updateRejected: (reason) => rejected.push(reason),
          bytes: (direction, n) => (bytes[direction] += n),
          aggregationMs: (ms) => {
            aggregations.push(ms);
            // An observer that throws is logged and ignored: the round still commits below.
            throw new Error('observer bug');
          },
        },
      },
    );
    for (const id of ['a', 'b'])
      banks.push(await RawBank.join(`${agg.wsUrl}/ws/bank`, id, await createBank(agg, id), 100));
    const assignments = await Promise.all(banks.map((b) => b.next('round_assignment')));
    // Bank a claims more trained rows than SMOTE can make: refused, and dropped from the round,
    // which commits with bank b alone (quorum 1).
    const delta = new Float32Array(PARAMS).fill(0.001);
    banks[0]!.send(updateMessage(assignments[0]!.msg, { numExamples: 100, numTrained: 201, loss: 0.2 }), [
      { name: 'update', shape: [PARAMS], data: delta },
    ]);
    expect((await banks[0]!.next('ack')).msg.accepted).toBe(false);
    expect(rejected).toHaveLength(1);
    banks[1]!.send(updateMessage(assignments[1]!.msg, { numExamples: 100, numTrained: 100, loss: 0.2 }), [
      { name: 'update', shape: [PARAMS], data: delta },
    ]);
    await updateAccepted(agg, 'b', assignments[1]!.msg.roundId);
    const [round] = await waitRounds(agg, (rs) => rs[0]?.status === 'committed', 'a committed round');
    // Told once, synchronously as the round ended: the record it got is the stored one.
    expect(finished.map((r) => [r.id, r.status])).toEqual([[round!.id, 'committed']]);
    expect(finished[0]!.participants).toEqual(['b']);
    expect(bytes.up).toBeGreaterThan(2 * PARAMS * 4); // two update frames
    expect(bytes.down).toBeGreaterThan(2 * PARAMS * 4); // two assignments with the global model
    expect(aggregations).toHaveLength(1);
    expect(aggregations[0]).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`${agg.url}/metrics`)).text();
    expect(metrics).toMatch(/^finsecure_rounds_total\{status="committed"\} 1$/m);
    expect(metrics).toMatch(/^finsecure_rejected_updates_total\{[^}]*\} 1$/m);
  });
});
