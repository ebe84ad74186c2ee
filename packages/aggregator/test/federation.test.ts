/**
 * Rounds over real sockets with real bank clients: quorum met, quorum missed then
 * recovered, a bank dropping mid-round, late and malformed updates, bad tokens.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, encodeFrame } from '@finsecure/common/protocol';
import type { BankClient } from '@finsecure/bank-client';
import type { RunningAggregator } from '../src/index.js';
import {
  api,
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  waitFor,
  waitRounds,
  writeShards,
} from './helpers/federation.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

let dir: string;
let shards: string[];
const running: { agg?: RunningAggregator; banks: BankClient[]; raws: RawBank[] }[] = [];

beforeAll(async () => {
  dir = tempDir();
  shards = await writeShards(dir, 3);
});
afterAll(() => cleanup(dir));

afterEach(async () => {
  for (const r of running.splice(0)) {
    await Promise.all(r.banks.map((b) => b.stop()));
    r.raws.forEach((b) => b.close());
    await r.agg?.close();
  }
});

async function setup(name: string, over: Parameters<typeof startTestAggregator>[1] = {}) {
  const agg = await startTestAggregator(path.join(dir, name), over);
  const env = { agg, banks: [] as BankClient[], raws: [] as RawBank[] };
  running.push(env);
  const bank = async (id: string, shard: number) => {
    const token = await createBank(agg, id);
    const c = await startBank(agg, id, token, shards[shard]!, path.join(dir, name, `${id}-state`));
    env.banks.push(c);
    return c;
  };
  const raw = async (id: string) => {
    const token = await createBank(agg, id);
    const r = await RawBank.join(`${agg.wsUrl}/ws/bank`, id, token);
    env.raws.push(r);
    return { r, token };
  };
  return { agg, bank, raw };
}

describe('federated rounds over real sockets', () => {
  it('commits rounds when the quorum is met, weighting banks by their real example counts', async () => {
    // Plain FedAvg weights (the default also weights by training loss^0.5: strategy-settings.test.ts).
    const plain = { normalizeSteps: false, lossExponent: 0, serverLearningRate: 1 };
    const { agg, bank } = await setup('quorum-met', { autoStart: true, rules: plain as never });
    await bank('alpha', 0);
    await bank('beta', 1);
    const rs = await waitRounds(
      agg,
      (r) => r.filter((x) => x.status === 'committed').length >= 2,
      'two committed rounds',
    );
    const first = rs.find((r) => r.id === 1)!;
    expect(first.status).toBe('committed');
    expect(first.participants.sort()).toEqual(['alpha', 'beta']);
    const a = first.banks.alpha!;
    const b = first.banks.beta!;
    // FedAvg weights follow pre-oversampling counts (SMOTE is on in this config).
    expect(a.weight! + b.weight!).toBeCloseTo(1, 6);
    expect(a.weight! / b.weight!).toBeCloseTo(a.numExamples! / b.numExamples!, 6);
    expect(a.numExamples).toBeLessThan(600);
    expect(a.bytesUp).toBeGreaterThan(16_000);
    // The model with the assignment and the candidate for evaluation; the commit names the
    // candidate the bank evaluated instead of sending it a third time (model by reference).
    expect(a.bytesDown).toBeGreaterThan(2 * 16_000);
    expect(a.bytesDown).toBeLessThan(3 * 16_000);
    for (const k of ['precision', 'recall', 'f1', 'auprc', 'loss']) expect(first.metrics![k]).toBeTypeOf('number');
    expect(first.metrics!.evalExamples).toBeGreaterThan(0);
    expect(a.metrics!.auprc).toBeTypeOf('number');
    expect(first.durations.trainingMs).toBeGreaterThan(0);
    expect(first.modelVersion).toBe(1);
    const model = await api<{ version: number }>(agg, 'GET', '/api/model');
    expect(model.body.version).toBeGreaterThanOrEqual(2);
    const status = await api<{ state: string }>(agg, 'GET', '/api/status');
    await waitFor(
      'training finished',
      async () => (await api<{ state: string }>(agg, 'GET', '/api/status')).body.state === 'finished',
    );
    expect(status.status).toBe(200);
    const audit = await api<{ ok: boolean; entries: number }>(agg, 'GET', '/api/audit/verify');
    expect(audit.body.ok).toBe(true);
    expect(audit.body.entries).toBeGreaterThan(5);
  });

  it('fails a round that misses its quorum with the reason, and the next round succeeds', async () => {
    const { agg, bank, raw } = await setup('quorum-missed', {
      autoStart: false,
      // Long enough for the two real banks to train even on a loaded CI machine.
      rules: { minBanks: 3, quorum: 3, roundTimeoutMs: 12_000, rounds: 2 } as never,
    });
    await bank('alpha', 0);
    await bank('beta', 1);
    const silent = await raw('silent');
    await api(agg, 'POST', '/api/training/start');
    await silent.r.next('round_assignment');
    const rs = await waitRounds(agg, (r) => r.some((x) => x.status === 'failed'), 'a failed round');
    const failed = rs.find((r) => r.status === 'failed')!;
    expect(failed.failureReason).toMatch(/quorum not reached: 2 of 3 required updates/);
    expect(failed.failureReason).toContain('silent: no update before the fit stage closed');
    expect(failed.banks.silent!.rejected).toBe('no update before the fit stage closed');
    // The banks are told the round failed, not which banks were missing or why (other banks' data).
    const told = await silent.r.next('round_failed');
    expect(told.msg.reason).toBe('quorum not reached: 2 of 3 required updates');
    silent.r.close();
    const put = await api(agg, 'PUT', '/api/config', { rules: { minBanks: 2, quorum: 2 } });
    expect(put.status).toBe(200);
    const after = await waitRounds(
      agg,
      (r) => r.some((x) => x.status === 'committed'),
      'a committed round after the failure',
    );
    const ok = after.find((r) => r.status === 'committed')!;
    expect(ok.id).toBeGreaterThan(failed.id);
    expect(ok.baseModelVersion).toBe(0);
  });

  it('a bank that disconnects mid-round is simply missing from it', async () => {
    const { agg, bank, raw } = await setup('drop', {
      autoStart: true,
      rules: { minBanks: 3, quorum: 2, rounds: 1, graceMs: 15_000 } as never,
    });
    await bank('alpha', 0);
    await bank('beta', 1);
    const dropper = await raw('dropper');
    await dropper.r.next('round_assignment');
    dropper.r.close();
    const rs = await waitRounds(agg, (r) => r.some((x) => x.status === 'committed'), 'a committed round');
    const round = rs[0]!;
    expect(round.selected.sort()).toEqual(['alpha', 'beta', 'dropper']);
    expect(round.participants.sort()).toEqual(['alpha', 'beta']);
    expect(round.banks.dropper!.rejected).toMatch(/disconnected/);
  });

  it('rejects late, duplicate, unselected, wrong-shaped and malformed updates, and keeps running', async () => {
    const { agg, bank, raw } = await setup('bad-updates', {
      autoStart: true,
      rules: { minBanks: 3, quorum: 2, rounds: 2, graceMs: 0 } as never,
    });
    await bank('alpha', 0);
    await bank('beta', 1);
    const late = await raw('late');
    const assignment = await late.r.next('round_assignment');
    const global = assignment.tensors.get('global')!.data;
    const update = (roundId = assignment.msg.roundId) => updateMessage({ ...assignment.msg, roundId });
    // Wrong shape: the bank is told why.
    late.r.send(update(), [{ name: 'update', shape: [10], data: new Float32Array(10) }]);
    const wrong = await late.r.next('ack');
    expect(wrong.msg.accepted).toBe(false);
    expect(wrong.msg.reason).toMatch(/wrong weights: expected one tensor "update" with 4097 values, got 10 values/);
    // Malformed bytes: an error frame, the connection stays up.
    late.r.sendBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const err = await late.r.next('error');
    expect(err.msg.code).toBe('bad_frame');
    expect(err.msg.message).toMatch(/magic|truncated/i);
    // Non-finite weights never reach aggregation: the codec refuses to even encode them,
    // so craft the frame by hand with a NaN in the payload.
    const good = encodeFrame(update(), [
      { name: 'update', shape: [global.length], data: new Float32Array(global.length) },
    ]);
    const poisoned = good.slice();
    new DataView(poisoned.buffer).setFloat32(poisoned.byteLength - 4, Number.NaN, true);
    late.r.sendBytes(poisoned);
    const nan = await late.r.next('error');
    expect(nan.msg.message).toMatch(/NaN|non-finite/i);
    // The round commits without 'late' (quorum 2, no grace); then its update is late.
    const rs = await waitRounds(
      agg,
      (r) => r.some((x) => x.id === assignment.msg.roundId && x.status !== 'training' && x.status !== 'selecting'),
      'round 1 closed',
    );
    expect(rs.find((r) => r.id === assignment.msg.roundId)!.participants.sort()).toEqual(['alpha', 'beta']);
    late.r.send(update(), [{ name: 'update', shape: [global.length], data: new Float32Array(global.length) }]);
    const lateAck = await late.r.next('ack');
    expect(lateAck.msg.accepted).toBe(false);
    expect(lateAck.msg.reason).toMatch(/^(late|stale)/);
    // Stale round id.
    late.r.send(update(999), [{ name: 'update', shape: [global.length], data: new Float32Array(global.length) }]);
    expect((await late.r.next('ack')).msg.reason).toMatch(/late|unknown round id 999: no such round yet/);
    const audit = await api<{ type: string; actor: string; details: { reason: string } }[]>(
      agg,
      'GET',
      '/api/audit?limit=1000',
    );
    const rejected = audit.body.filter(
      (e) => e.actor === 'late' && (e.type === 'update.rejected' || e.type === 'frame.rejected'),
    );
    expect(rejected.length).toBeGreaterThanOrEqual(4);
    expect((await api<{ ok: boolean }>(agg, 'GET', '/api/audit/verify')).body.ok).toBe(true);
    // Still healthy, and the next round still commits.
    await waitRounds(agg, (r) => r.filter((x) => x.status === 'committed').length >= 2, 'second committed round');
    expect((await fetch(`${agg.url}/api/health`)).status).toBe(200);
  });

  it('refuses bad tokens, unknown banks and bad hellos with clear close codes, and audits them', async () => {
    const { agg } = await setup('auth', {});
    const token = await createBank(agg, 'known');
    const bad = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    bad.send({
      type: 'hello',
      protocolVersion: 1,
      bankId: 'known',
      token: 'x'.repeat(32),
      clientVersion: 't',
      backend: 'cpu',
      numExamples: 1,
      numFeatures: 30,
    });
    expect(await bad.waitClosed()).toEqual({ code: CloseCode.Unauthorized, reason: 'unknown bank or bad token' });
    const unknown = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    unknown.send({
      type: 'hello',
      protocolVersion: 1,
      bankId: 'nobody',
      token,
      clientVersion: 't',
      backend: 'cpu',
      numExamples: 1,
      numFeatures: 30,
    });
    expect((await unknown.waitClosed()).code).toBe(CloseCode.Unauthorized);
    const garbage = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    garbage.sendBytes('not a frame');
    const closed = await garbage.waitClosed();
    expect(closed.code).toBe(CloseCode.BadHello);
    expect(closed.reason).toMatch(/^bad hello/);
    const wrongFeatures = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    wrongFeatures.send({
      type: 'hello',
      protocolVersion: 1,
      bankId: 'known',
      token,
      clientVersion: 't',
      backend: 'cpu',
      numExamples: 1,
      numFeatures: 15,
    });
    expect((await wrongFeatures.waitClosed()).reason).toMatch(/15 features, the model expects 30/);
    // Revocation closes a live connection and blocks the token.
    const ok = await RawBank.join(`${agg.wsUrl}/ws/bank`, 'known', token);
    expect((await api(agg, 'DELETE', '/api/banks/known')).status).toBe(200);
    expect((await ok.waitClosed()).code).toBe(CloseCode.Unauthorized);
    const again = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    again.send({
      type: 'hello',
      protocolVersion: 1,
      bankId: 'known',
      token,
      clientVersion: 't',
      backend: 'cpu',
      numExamples: 1,
      numFeatures: 30,
    });
    expect((await again.waitClosed()).reason).toBe('bank access revoked');
    const known = async () =>
      (await api<{ id: string; lastRefusal: { kind: string } | null }[]>(agg, 'GET', '/api/banks')).body.find(
        (b) => b.id === 'known',
      )!;
    expect((await known()).lastRefusal).toMatchObject({ kind: 'revoked' });
    // A new token lifts the revocation: the bank desk no longer says it was refused for it.
    expect((await api(agg, 'POST', '/api/banks/known/token')).status).toBe(200);
    expect((await known()).lastRefusal).toBeNull();
    const audit = await api<{ type: string; details: Record<string, unknown> }[]>(agg, 'GET', '/api/audit?limit=1000');
    // Bad credentials are auth.failed; a bank that proved its identity but cannot join
    // (schema, protocol, revoked) is bank.refused under its own id.
    const failures = audit.body.filter((e) => e.type === 'auth.failed' || e.type === 'bank.refused');
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(audit.body.filter((e) => e.type === 'bank.refused').length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(audit.body)).not.toContain(token);
  });

  it('survives a hello whose error message is long multi-byte text', async () => {
    const { agg } = await setup('multibyte', {});
    const bank = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
    const header = new TextEncoder().encode('{"msg":' + '€'.repeat(60));
    const frame = new Uint8Array(8 + header.length + ((4 - (header.length % 4)) % 4));
    frame.set(new TextEncoder().encode('FSF1'));
    new DataView(frame.buffer).setUint32(4, header.length, true);
    frame.set(header, 8);
    bank.sendBytes(frame);
    const closed = await bank.waitClosed();
    expect(closed.code).toBe(CloseCode.BadHello);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    expect(closed.reason).not.toContain('€');
    expect((await fetch(`${agg.url}/api/health`)).status).toBe(200);
  });

  it('a bank sending out-of-range updates cannot wedge the federation or take over the weights', async () => {
    const { agg, bank, raw } = await setup('hostile', {
      autoStart: true,
      rules: { minBanks: 3, quorum: 2, rounds: 3, graceMs: 2_000 } as never,
    });
    await bank('alpha', 0);
    await bank('beta', 1);
    const evil = await raw('evil');
    const update = (roundId: number, modelVersion: number, numExamples: number) =>
      updateMessage({ roundId, modelVersion }, { numExamples, loss: 0.1 });
    // Claims far more examples than it declared at hello (100): refused.
    const a1 = await evil.r.next('round_assignment');
    evil.r.send(update(a1.msg.roundId, a1.msg.modelVersion, 9e15), [
      { name: 'update', shape: [4097], data: new Float32Array(4097) },
    ]);
    const ack = await evil.r.next('ack');
    expect(ack.msg.reason).toMatch(/numExamples 9000000000000000 exceeds the 100 training examples/);
    // A huge (finite) update is refused by the norm bound before it touches the model.
    const a2 = await evil.r.next('round_assignment');
    evil.r.send(update(a2.msg.roundId, a2.msg.modelVersion, 100), [
      { name: 'update', shape: [4097], data: new Float32Array(4097).fill(3.4e38) },
    ]);
    const ack2 = await evil.r.next('ack');
    expect(ack2.msg.accepted).toBe(false);
    expect(ack2.msg.reason).toMatch(/update norm 2\.176e\+40 exceeds maxUpdateNorm 1000/);
    const rs = await waitRounds(
      agg,
      (r) => r.filter((x) => x.status === 'committed').length >= 2,
      'rounds commit without the hostile bank',
    );
    for (const r of rs.filter((x) => x.status === 'committed'))
      expect(r.participants.sort()).toEqual(['alpha', 'beta']);
    evil.r.close();
    await api(agg, 'PUT', '/api/config', { rules: { minBanks: 2 } });
    await waitRounds(agg, (r) => r.filter((x) => x.status === 'committed').length >= 3, 'training continues');
  });

  it('closes connections whose frames exceed the size limit', async () => {
    const { agg, raw } = await setup('size', { maxFrameBytes: 64 * 1024 });
    const { r } = await raw('big');
    r.sendBytes(new Uint8Array(65 * 1024));
    expect((await r.waitClosed()).code).toBe(1009);
    expect((await fetch(`${agg.url}/api/health`)).status).toBe(200);
  });
});
