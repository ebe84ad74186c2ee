/**
 * Secure aggregation end to end: a real aggregator running the secagg workflow and real bank
 * clients over real sockets. The committed model equals the plaintext FedAvg model of the same
 * seeds within the fixed-point bound; the aggregator only ever receives masked vectors; a bank
 * that drops after sharing its keys is unmasked from its neighbours' key shares; a bank that sees
 * another bank's identity key change refuses the round and is left out, with the reason audited.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, FederationClientMessage } from '@finsecure/common/protocol';
import {
  advertisementFromWire,
  advertisementToWire,
  generateIdentityKeyPair,
  identitiesFromWire,
  maxFractionalBits,
  paramsFromWire,
  SecAggBankRound,
  sharesToWire,
  toBase64,
} from '@finsecure/common/secagg';
import { RawBank } from './helpers/raw-bank.js';
import { api, createBank, VIEWER, waitRounds } from './helpers/federation.js';
import { BANKS, train, useFederation } from './helpers/federation-fixture.js';

describe('secure aggregation (SecAgg+) over real sockets', () => {
  const fed = useFederation();

  /** One federation of four banks for `rounds` rounds; returns the committed model's weights. */
  async function federate(name: string, secure: boolean) {
    const { agg } = await fed.start(name, {
      aggregator: {
        seed: 7,
        rules: { rounds: 1, minBanks: 4, quorum: 4, secureAggregation: secure } as never,
        training: { smoteRatio: 0 } as never,
      },
      bank: (i) => ({ seed: 11 + i }),
    });
    const initial = Float32Array.from(agg.federation.globalModel().weights);
    const rounds = await train(agg);
    const model = agg.federation.globalModel();
    return { rounds, initial, weights: Float32Array.from(model.weights) };
  }

  it('commits a model equal to plaintext FedAvg within the fixed-point bound', async () => {
    const plain = await federate('plain', false);
    await fed.stop();
    const secure = await federate('secure', true);
    const round = secure.rounds.find((r) => r.status === 'committed')!;
    expect(round.participants.sort()).toEqual(BANKS);
    expect(round.config.rules).toMatchObject({ secureAggregation: true });
    let maxDiff = 0;
    for (let i = 0; i < plain.weights.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(plain.weights[i]! - secure.weights[i]!));
    // Per coordinate: < n · 2^−f on the weighted sum (f = 29 for 4 banks, clip 1), divided by
    // Σ weights (≥ 1 here, the largest bank's weight is 1), plus float32 rounding of the weights.
    const f = maxFractionalBits(1, 1, 4);
    expect(maxDiff).toBeLessThan(4 * 2 ** -f + 1e-6);
    // And the round did train: the model moved away from its initial weights.
    let moved = 0;
    for (let i = 0; i < plain.weights.length; i++)
      moved = Math.max(moved, Math.abs(plain.weights[i]! - plain.initial[i]!));
    expect(moved).toBeGreaterThan(1e-4);
  }, 180_000);

  it('the aggregator only ever receives masked vectors, never an update', async () => {
    const { agg, tap } = await fed.start('wire', {
      aggregator: {
        rules: { rounds: 1, minBanks: 4, quorum: 4, secureAggregation: true } as never,
        training: { smoteRatio: 0 } as never,
      },
      relay: true,
    });
    await train(agg, undefined, 'a committed secure round');
    const types = new Map<string, number>();
    let masked = 0;
    let maskedEvaluations = 0;
    for (const bytes of tap.frames) {
      const { msg, tensors } = decodeFrame(bytes, FederationClientMessage);
      types.set(msg.type, (types.get(msg.type) ?? 0) + 1);
      if (msg.type === 'secagg_masked_evaluation') {
        // Counts in the clear would be small integers (≤ the 100 or so test rows); masked words
        // are uniform over Z_2^32, so almost none is that small.
        maskedEvaluations++;
        const words = tensors.get('masked')!.uint32!;
        expect(words.filter((x) => x <= 1000).length / words.length).toBeLessThan(0.05);
        continue;
      }
      if (msg.type !== 'secagg_masked_update') continue;
      masked++;
      const words = tensors.get('masked')!.uint32!;
      // An unmasked weighted update is tiny (|w·Δ/τ| well below 0.01) in fixed point; a masked
      // one is uniform over Z_2^32. Read as the aggregator would decode a sum:
      const signed = new Int32Array(words.buffer, words.byteOffset, words.length);
      const f = maxFractionalBits(1, 1, 4);
      const small = signed.filter((x) => Math.abs(x * 2 ** -f) < 0.01).length / signed.length;
      expect(small).toBeLessThan(0.05);
    }
    expect(masked).toBe(4);
    expect(maskedEvaluations).toBe(4);
    // Neither an update nor an evaluation ever travels in the clear.
    expect(types.has('update')).toBe(false);
    expect(types.has('evaluation')).toBe(false);
    expect([...types.keys()]).toEqual(
      expect.arrayContaining(['hello', 'secagg_keys', 'secagg_shares', 'secagg_unmask_shares']),
    );
  }, 120_000);

  it("a bank lost after sharing its keys is unmasked from its neighbours' key shares; the round commits", async () => {
    const live = BANKS.slice(0, 3);
    const { agg } = await fed.start('dropout', {
      banks: live,
      aggregator: {
        rules: { rounds: 1, minBanks: 4, quorum: 3, graceMs: 60_000, secureAggregation: true } as never,
        training: { smoteRatio: 0 } as never,
      },
    });
    // bank-d: a hand-driven bank that advertises and shares its keys, then disappears.
    const identity = generateIdentityKeyPair();
    const token = await createBank(agg, 'bank-d');
    const raw = await RawBank.join(`${agg.wsUrl}/ws/bank`, 'bank-d', token, 400, 30, toBase64(identity.publicKey));
    await api(agg, 'POST', '/api/training/start');
    const adv = await raw.next('secagg_advertise_keys', 30_000);
    const core = new SecAggBankRound({ bankId: 'bank-d', identity, directory: identitiesFromWire(adv.msg) });
    const rid = `${adv.msg.roundId}/${adv.msg.session}`;
    const keys = core.advertiseKeys(paramsFromWire(adv.msg));
    const common = { roundId: adv.msg.roundId, session: adv.msg.session };
    raw.send({ type: 'secagg_keys', ...common, advertisement: advertisementToWire(keys) });
    const share = await raw.next('secagg_share_keys', 30_000);
    raw.send({
      type: 'secagg_shares',
      ...common,
      ...sharesToWire(await core.shareKeys(rid, share.msg.keys.map(advertisementFromWire))),
    });
    await raw.next('secagg_masked_fit', 30_000);
    raw.close();
    const rounds = await waitRounds(
      agg,
      (r) =>
        r.some(
          (x) =>
            x.status !== 'training' &&
            x.status !== 'selecting' &&
            x.status !== 'aggregating' &&
            x.status !== 'evaluating',
        ),
      'the round to end',
      90_000,
    );
    const round = rounds[0]!;
    expect(round.failureReason).toBeNull();
    expect(round.status).toBe('committed');
    expect([...round.participants].sort()).toEqual(live);
    expect(round.banks['bank-d']!.rejected).toMatch(/^masked_fit: disconnected/);
  }, 120_000);

  it('a bank shown a changed identity key refuses the round, naming the bank; the others go on', async () => {
    // bank-a pinned another key for bank-b earlier: the one the aggregator forwards now differs.
    const bankA = path.join(fed.dir, 'tamper', 'bank-a');
    mkdirSync(bankA, { recursive: true });
    writeFileSync(
      path.join(bankA, 'secagg-identities.json'),
      JSON.stringify({ 'bank-b': toBase64(generateIdentityKeyPair().publicKey) }),
    );
    const { agg } = await fed.start('tamper', {
      aggregator: {
        rules: { rounds: 1, minBanks: 4, quorum: 3, graceMs: 60_000, secureAggregation: true } as never,
        training: { smoteRatio: 0 } as never,
      },
    });
    const rounds = await train(agg);
    const round = rounds.find((r) => r.status === 'committed')!;
    expect([...round.participants].sort()).toEqual(['bank-b', 'bank-c', 'bank-d']);
    expect(round.banks['bank-a']!.rejected).toMatch(/refused advertise_keys: .*identity key of bank-b differs/);
    type Entry = { type: string; actor: string; details: { banks?: string[] } };
    const audit = await api<Entry[] | { entries: Entry[] }>(agg, 'GET', '/api/audit?limit=10000');
    const entries = Array.isArray(audit.body) ? audit.body : audit.body.entries;
    const refused = entries.filter((e) => e.type === 'secagg.refused');
    expect(refused.some((e) => e.actor === 'bank-a' && e.details.banks?.includes('bank-b'))).toBe(true);
  }, 120_000);

  it('a bank whose identity key changed is refused until an admin resets the pinned key (audited)', async () => {
    const agg = await fed.startAggregator(path.join(fed.dir, 'reset'));
    const token = await createBank(agg, 'bank-a');
    const url = `${agg.wsUrl}/ws/bank`;
    const first = generateIdentityKeyPair();
    const raw = await RawBank.join(url, 'bank-a', token, 100, 30, toBase64(first.publicKey));
    raw.close();
    await raw.waitClosed();
    const other = await RawBank.connect(url);
    other.send({
      type: 'hello',
      protocolVersion: 1,
      bankId: 'bank-a',
      token,
      clientVersion: 'raw-test',
      backend: 'cpu',
      numExamples: 100,
      numFeatures: 30,
      identityKey: toBase64(generateIdentityKeyPair().publicKey),
    } as never);
    const closed = await other.waitClosed();
    expect(closed.reason).toMatch(/identity key differs/);
    expect((await api(agg, 'POST', '/api/banks/bank-a/identity/reset', undefined, VIEWER)).status).toBe(403);
    const reset = await api<{ reset: boolean }>(agg, 'POST', '/api/banks/bank-a/identity/reset');
    expect(reset.body.reset).toBe(true);
    const again = await RawBank.join(url, 'bank-a', token, 100, 30, toBase64(generateIdentityKeyPair().publicKey));
    again.close();
    const audit = await api<{ type: string; actor: string; details: { bankId?: string } }[]>(
      agg,
      'GET',
      '/api/audit?limit=1000',
    );
    expect(audit.body.some((e) => e.type === 'bank.identity_reset' && e.details.bankId === 'bank-a')).toBe(true);
    expect(audit.body.filter((e) => e.type === 'bank.identity_pinned').length).toBe(2);
  });
});
