/**
 * An aggregator whose event loop was held past the heartbeat timeout (a long synchronous step, a
 * starved process) does not cut the banks that kept talking meanwhile (federation/sessions.ts
 * sweep). Node runs due timers before it reads the sockets, so the first sweep after the hold saw
 * every bank "silent" while their heartbeats sat unread; a loaded CI machine cut an honest bank
 * this way mid-round (integrity-member.test.ts, "a flood of frames").
 *
 * The same for the hello timer of a new connection (server/plugins/bank-socket.ts), and for the
 * round's deadline (federation/runner.ts armTimer): updates sent in time but read after the hold
 * were refused as late, and the round failed its quorum. An answer read after the hold closes its
 * stage as of the deadline, but the next stage opens when it is read, with its whole timeout
 * (round/machine.ts updateAccepted): opened at the deadline, the hold would come off it.
 *
 * The hold is real (a busy loop on the real clock): a busier machine only makes it longer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, FederationServerMessage } from '@finsecure/common/protocol';
import {
  cleanup,
  createBank,
  startTestAggregator,
  tempDir,
  updateAccepted,
  waitFor,
  waitRounds,
} from './helpers/federation.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';
import {
  advertisementToWire,
  generateIdentityKeyPair,
  identitiesFromWire,
  paramsFromWire,
  SecAggBankRound,
  toBase64,
} from '@finsecure/common/secagg';

const INTERVAL_MS = 500;
const TIMEOUT_MS = 3_000;

/** Holds the event loop for `ms` (what a long synchronous step does). */
function hold(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('timers after the event loop was held', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  it('keeps a bank whose heartbeats waited unread, and goes on beating it', async () => {
    const agg = await startTestAggregator(dir, { heartbeatIntervalMs: INTERVAL_MS, heartbeatTimeoutMs: TIMEOUT_MS });
    try {
      const bank = await RawBank.join(`${agg.wsUrl}/ws/bank`, 'alice', await createBank(agg, 'alice'));
      let beats = 0;
      bank.ws.on('message', (raw: Buffer) => {
        const frame = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
        if (decodeFrame(frame, FederationServerMessage).msg.type === 'heartbeat') beats++;
      });
      // Beaten and answering before the hold: the sweeps run.
      await waitFor('a heartbeat before the hold', () => beats >= 1);
      hold(TIMEOUT_MS + 1_000);
      const before = beats;
      // The late sweep beats and judges no one; the next judges with the answers read: the bank
      // stays and is beaten again. Before, the late sweep closed it (HeartbeatTimeout).
      await waitFor('two sweeps after the hold, or the bank closed', () => bank.closed ?? beats >= before + 2);
      expect(bank.closed).toBeNull();
      expect(agg.federation.status().connectedBanks).toBe(1);
      bank.ws.close();
    } finally {
      await agg.close();
    }
  }, 30_000);

  it('lets in a hello sent before the hold, whose hello timer fired late', async () => {
    const agg = await startTestAggregator(`${dir}/hello`, { unknownPeerHelloTimeoutMs: 1_000, helloTimeoutMs: 1_000 });
    try {
      const token = await createBank(agg, 'alice');
      const bank = await RawBank.connect(`${agg.wsUrl}/ws/bank`);
      bank.sayHello('alice', token);
      // Sent, unread: the hello timer comes due during the hold and runs before the socket is read.
      hold(1_500);
      const welcome = await bank.next('welcome');
      expect(welcome.msg.bankId).toBe('alice');
      bank.ws.close();
    } finally {
      await agg.close();
    }
  }, 30_000);

  it('takes updates sent before the fit deadline but read after a hold past it; the round commits', async () => {
    const agg = await startTestAggregator(`${dir}/deadline`, {
      autoStart: true,
      rules: { rounds: 1, minBanks: 2, quorum: 2, roundTimeoutMs: 2_000, evaluationTimeoutMs: 200 } as never,
    });
    try {
      const banks: RawBank[] = [];
      for (const id of ['alice', 'bob'])
        banks.push(await RawBank.join(`${agg.wsUrl}/ws/bank`, id, await createBank(agg, id)));
      const assignments = await Promise.all(banks.map((b) => b.next('round_assignment')));
      const PARAMS = 4097;
      banks.forEach((b, k) =>
        b.send(
          updateMessage(assignments[k]!.msg),
          [{ name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(1e-3) }],
          'ungranted', // granted in the assignment (the small MLP's updates fit together)
        ),
      );
      // Sent in time, unread: the deadline passes during the hold.
      hold(assignments[0]!.msg.deadlineInMs + 1_000);
      await updateAccepted(agg, 'alice', assignments[0]!.msg.roundId);
      await updateAccepted(agg, 'bob', assignments[1]!.msg.roundId);
      const rounds = await waitRounds(
        agg,
        (rs) => rs.some((r) => r.status === 'committed' || r.status === 'failed'),
        'the round to end',
      );
      expect(rounds[0]!.status).toBe('committed');
      expect([...rounds[0]!.participants].sort()).toEqual(['alice', 'bob']);
    } finally {
      await agg.close();
    }
  }, 30_000);

  it('takes an upload sent within its grant but read after a hold past the grant timeout', async () => {
    const agg = await startTestAggregator(`${dir}/grant`, {
      autoStart: true,
      rules: {
        rounds: 1,
        minBanks: 1,
        quorum: 1,
        evaluationTimeoutMs: 200,
        uploadPreGrantBytes: 0, // the pull protocol: offer, grant, upload
        uploadGrantTimeoutMs: 1_000,
      } as never,
    });
    try {
      const bank = await RawBank.join(`${agg.wsUrl}/ws/bank`, 'alice', await createBank(agg, 'alice'));
      const a = await bank.next('round_assignment');
      const update = () => [{ name: 'update', shape: [4097], data: new Float32Array(4097).fill(1e-3) }];
      bank.send(updateMessage(a.msg), update(), 'offer-only');
      expect((await bank.next('upload_grant')).msg.uploadWithinMs).toBe(1_000);
      bank.send(updateMessage(a.msg), update(), 'ungranted');
      // Sent within the grant, unread: the grant's timer comes due during the hold.
      hold(2_000);
      await updateAccepted(agg, 'alice', a.msg.roundId);
      expect(agg.federation.uploadStats().expired).toBe(0);
    } finally {
      await agg.close();
    }
  }, 30_000);
  it('a secure-aggregation stage closed by answers read after a hold gives the next stage its whole timeout', async () => {
    const STAGE_MS = 3_000;
    const agg = await startTestAggregator(`${dir}/secagg`, {
      autoStart: true,
      rules: {
        rounds: 1,
        minBanks: 2,
        quorum: 2,
        secureAggregation: true,
        secaggStageTimeoutMs: STAGE_MS,
      } as never,
    });
    try {
      const banks = [];
      for (const id of ['alice', 'bob']) {
        const identity = generateIdentityKeyPair();
        const token = await createBank(agg, id);
        const raw = await RawBank.join(`${agg.wsUrl}/ws/bank`, id, token, 400, 30, toBase64(identity.publicKey));
        banks.push({ id, identity, raw });
      }
      const ads = await Promise.all(banks.map((b) => b.raw.next('secagg_advertise_keys', 30_000)));
      banks.forEach((b, k) => {
        const msg = ads[k]!.msg;
        const core = new SecAggBankRound({ bankId: b.id, identity: b.identity, directory: identitiesFromWire(msg) });
        const keys = core.advertiseKeys(paramsFromWire(msg));
        b.raw.send({
          type: 'secagg_keys',
          roundId: msg.roundId,
          session: msg.session,
          advertisement: advertisementToWire(keys),
        });
      });
      // Sent in time, unread: the advertise stage's deadline passes during the hold, by 2.5 s.
      hold(ads[0]!.msg.deadlineInMs + 2_500);
      const shares = await Promise.all(banks.map((b) => b.raw.next('secagg_share_keys', 30_000)));
      // Opened at the old deadline, share_keys would have had about 0.5 s left of its 3 s.
      for (const s of shares) expect(s.msg.deadlineInMs).toBeGreaterThan(STAGE_MS - 1_000);
    } finally {
      await agg.close();
    }
  }, 30_000);
});
