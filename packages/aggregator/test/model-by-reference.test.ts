/**
 * Models sent by reference (BANK_FEATURES.modelByReference; federation/model-frames.ts) over real
 * sockets: a bank that says it keeps its models is sent the commit of a candidate it evaluated, and
 * then the assignment of a model it holds, as the model's SHA-256 instead of its weights; a bank
 * that does not say so gets every model in full; a bank that declines a reference with
 * `needsModel` is sent the weights in full again.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { weightsSha256 } from '@finsecure/common/model';
import { BANK_FEATURES } from '@finsecure/common/protocol';
import { createBank, startTestAggregator, updateAccepted, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { evaluationMessage, RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097;

describe('models sent by reference', () => {
  const fx = rawFixture();

  async function join(id: string, keeps: boolean): Promise<RawBank> {
    const token = await createBank(fx.agg!, id);
    const bank = await RawBank.connect(`${fx.agg!.wsUrl}/ws/bank`);
    bank.sayHello(id, token, {
      numExamples: 300,
      numTestExamples: 200,
      ...(keeps ? { features: [BANK_FEATURES.modelByReference, 'a-later-feature'] } : {}),
    });
    await bank.next('welcome');
    fx.banks.push(bank);
    return bank;
  }

  /** Trains and evaluates `bank`'s part of the next round; returns the frames it was sent. */
  async function play(bank: RawBank, id: string) {
    const assignment = await bank.next('round_assignment');
    bank.send(updateMessage(assignment.msg, { numExamples: 300 }), [
      { name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(0.001) },
    ]);
    await updateAccepted(fx.agg!, id, assignment.msg.roundId);
    const request = await bank.next('evaluation_request');
    bank.send(evaluationMessage(request.msg));
    const committed = await bank.next('round_committed');
    return { assignment, request, committed };
  }

  it('names the committed candidate and the held model to a bank that keeps them; the other gets weights', async () => {
    fx.agg = await startTestAggregator(path.join(fx.dir, 'ref'), {
      autoStart: true,
      rules: { rounds: 2, minBanks: 2, quorum: 2, roundIntervalMs: 0 } as never,
    });
    const keeper = await join('keeper', true);
    const plain = await join('plain', false);

    const [k1, p1] = await Promise.all([play(keeper, 'keeper'), play(plain, 'plain')]);
    // Round 1: nothing held yet, so the assignment and the candidate travel in full to both.
    expect(k1.assignment.tensors.get('global')?.data.length).toBe(PARAMS);
    expect(k1.assignment.msg.modelSha256).toBeUndefined();
    const candidate = k1.request.tensors.get('global')!.data;
    // The commit names the candidate the keeper evaluated, and carries no weights.
    expect(k1.committed.tensors.size).toBe(0);
    expect(k1.committed.msg.modelSha256).toBe(weightsSha256(candidate));
    expect(k1.committed.msg.modelVersion).toBe(1);
    // The bank that did not say it keeps models is sent them, as before.
    expect(p1.committed.msg.modelSha256).toBeUndefined();
    expect(Array.from(p1.committed.tensors.get('global')!.data)).toEqual(Array.from(candidate));

    const [k2, p2] = await Promise.all([play(keeper, 'keeper'), play(plain, 'plain')]);
    // Round 2: the keeper holds v1, so its assignment names it.
    expect(k2.assignment.msg.modelVersion).toBe(1);
    expect(k2.assignment.tensors.size).toBe(0);
    expect(k2.assignment.msg.modelSha256).toBe(weightsSha256(candidate));
    expect(p2.assignment.tensors.get('global')?.data.length).toBe(PARAMS);
    expect(p2.assignment.msg.modelSha256).toBeUndefined();
    // What the keeper adopted is what the aggregator stored.
    const stored = await fx.agg.store.getModel(2);
    expect(k2.committed.msg.modelSha256).toBe(stored!.sha256);

    // A round's bytes down: the keeper was sent the weights once (the candidate), the other three times.
    const rounds = await waitRounds(
      fx.agg,
      (rs) => rs.filter((r) => r.status === 'committed').length === 2,
      '2 rounds',
    );
    const round2 = rounds.find((r) => r.id === k2.assignment.msg.roundId)!;
    const modelBytes = PARAMS * 4;
    expect(round2.banks.keeper!.bytesDown).toBeLessThan(1.5 * modelBytes);
    expect(round2.banks.plain!.bytesDown).toBeGreaterThan(3 * modelBytes);
  }, 60_000);

  it('sends the weights in full again after a bank declines a reference with needsModel', async () => {
    fx.agg = await startTestAggregator(path.join(fx.dir, 'needs'), {
      autoStart: true,
      rules: { rounds: 2, minBanks: 1, quorum: 1, roundIntervalMs: 0 } as never,
    });
    const keeper = await join('keeper', true);
    await play(keeper, 'keeper');
    // It lost what it held (say, its work restarted): it declines the reference.
    const named = await keeper.next('round_assignment');
    expect(named.tensors.size).toBe(0);
    keeper.send({
      type: 'decline',
      roundId: named.msg.roundId,
      reason: 'this bank does not hold model v1 (sent by reference); send it in full',
      needsModel: true,
    });
    await waitRounds(
      fx.agg,
      (rs) => rs.some((r) => r.id === named.msg.roundId && r.status === 'failed'),
      'declined round failed',
    );
    const again = await keeper.next('round_assignment');
    expect(again.msg.roundId).toBeGreaterThan(named.msg.roundId);
    expect(again.msg.modelSha256).toBeUndefined();
    expect(Array.from(again.tensors.get('global')!.data)).toEqual(Array.from(fx.agg.federation.globalModel().weights));
  }, 60_000);
});
