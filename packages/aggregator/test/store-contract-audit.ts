/**
 * The audit section of the store contract (called from store-contract.ts): the hash chain, its
 * tamper checks, and the signed anchors and sealed rounds, the same on every backend.
 */
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashEntry } from '../src/audit/chain.js';
import { roundRecordHash } from '../src/store/integrity.js';
import type { AuditInput, RoundRecord, Store } from '../src/store/types.js';
import {
  auditInput,
  model,
  randomWeights,
  round,
  type ContractOptions,
  type StoreFixture,
} from './store-contract-records.js';

export function auditContract(
  fresh: () => Promise<{ store: Store; fixture: StoreFixture }>,
  options: ContractOptions,
): void {
  describe('audit', () => {
    it('appends a chain and lists it', async () => {
      const { store } = await fresh();
      expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 0 });
      const e1 = await store.appendAudit(auditInput(1));
      const e2 = await store.appendAudit(auditInput(2));
      const e3 = await store.appendAudit({ at: 5, type: 'round.failed', actor: 'system', details: {} });
      expect([e1.seq, e2.seq, e3.seq]).toEqual([1, 2, 3]);
      expect(e1.prevHash).toBe(GENESIS_HASH);
      expect(e2.prevHash).toBe(e1.hash);
      expect(e3.prevHash).toBe(e2.hash);
      expect(e1.hash).toBe(hashEntry(GENESIS_HASH, { ...auditInput(1), seq: 1 }));
      expect(e1).toMatchObject(auditInput(1));
      expect(await store.listAudit()).toEqual([e1, e2, e3]);
      expect(await store.listAudit({ afterSeq: 1 })).toEqual([e2, e3]);
      expect(await store.listAudit({ afterSeq: 0, limit: 2 })).toEqual([e1, e2]);
      expect(await store.listAudit({ limit: 0 })).toEqual([]);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 3 });
    });

    it('normalises details through JSON so the returned entry equals the stored one', async () => {
      const { store } = await fresh();
      const e = await store.appendAudit({
        at: 1,
        type: 't',
        actor: 'a',
        details: { gone: undefined, nan: Number.NaN, when: new Date(0) },
      });
      expect(e.details).toStrictEqual({ nan: null, when: '1970-01-01T00:00:00.000Z' });
      expect(await store.listAudit()).toEqual([e]);
      expect((await store.verifyAudit()).ok).toBe(true);
    });

    it('makes a lone surrogate in the type or actor well-formed, so the stored entry is the one hashed', async () => {
      const { store } = await fresh();
      const e = await store.appendAudit({ at: 1, type: 't\udc00', actor: 'token:ops \ud800 💳', details: {} });
      expect([e.type, e.actor]).toEqual(['t\ufffd', 'token:ops \ufffd 💳']);
      expect(await store.listAudit()).toEqual([e]);
      expect((await store.verifyAudit()).ok).toBe(true);
    });

    it('serialises concurrent appends into one unbroken chain', async () => {
      const { store } = await fresh();
      const entries = await Promise.all(Array.from({ length: 25 }, (_, i) => store.appendAudit(auditInput(i))));
      expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 25 });
    });

    it.skipIf(!options.tamper)('detects altered details at the altered entry', async () => {
      const { store, fixture } = await fresh();
      for (let i = 1; i <= 5; i++) await store.appendAudit(auditInput(i));
      await fixture.backdoor!.setDetails(3, { bankId: 'someone-else', nested: { z: 1, a: [1, 'two', null] } });
      expect(await store.verifyAudit()).toMatchObject({ ok: false, entries: 5, brokenAt: 3 });
    });

    it.skipIf(!options.tamper)('detects a forged entry whose hash was recomputed, at the next link', async () => {
      const { store, fixture } = await fresh();
      for (let i = 1; i <= 5; i++) await store.appendAudit(auditInput(i));
      const [e2] = await store.listAudit({ afterSeq: 1, limit: 1 });
      const forged = { bankId: 'forged' };
      await fixture.backdoor!.setDetails(2, forged);
      await fixture.backdoor!.setHash(2, hashEntry(e2.prevHash, { ...e2, details: forged }));
      const v = await store.verifyAudit();
      expect(v).toMatchObject({ ok: false, brokenAt: 3 });
      expect(v.reason).toMatch(/prevHash/);
    });

    it.skipIf(!options.tamper)('detects a deleted entry', async () => {
      const { store, fixture } = await fresh();
      for (let i = 1; i <= 5; i++) await store.appendAudit(auditInput(i));
      await fixture.backdoor!.deleteEntry(2);
      expect(await store.verifyAudit()).toMatchObject({ ok: false, entries: 4, brokenAt: 2 });
    });
  });

  describe('audit anchors and sealed rounds', () => {
    const committedEntry = (at: number): AuditInput => ({
      at,
      type: 'round.committed',
      actor: 'system',
      details: { participants: ['alpha'] },
    });

    it('commits a round, its model and its audit entry together; the entry carries the round hash', async () => {
      const { store } = await fresh();
      await store.saveModel(model(0, randomWeights(9)));
      const r1 = round(1);
      const e = await store.commitRoundAudited(r1, model(1, randomWeights(9)), committedEntry(10));
      expect(e).toMatchObject({ seq: 1, type: 'round.committed', details: { roundId: 1, modelVersion: 1 } });
      expect(e.details.roundHash).toBe(roundRecordHash(r1));
      expect(await store.getRound(1)).toEqual(r1);
      expect(await store.auditHead()).toMatchObject({ seq: 1, hash: e.hash });
      expect(await store.unsealedRounds()).toEqual([]);
      expect(await store.checkStorage()).toMatchObject({ ok: true, checked: { models: 2, rounds: 1 } });
      expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 1, anchors: { headSeq: 1 } });
    });

    it('seals an awkward round with the hash its stored record gives back, which every read then checks', async () => {
      const { store } = await fresh();
      const awkward = (id: number, stages: RoundRecord['stages'] | null | undefined): RoundRecord => ({
        ...round(id),
        // Integer-like ids sort first in a JS object; a surrogate pair; a field left undefined. (Lone
        // surrogates never reach a record: the protocol replaces them, see common/protocol/text.ts.)
        banks: {
          'beta.eu': { bytesUp: 0, bytesDown: 1, loss: undefined },
          '10': { bytesUp: -0, bytesDown: 2, weight: 0.1 + 0.2, note: 'pair \ud83d\udcb3 and ü' } as never,
          '2': { bytesUp: 1e21, bytesDown: 5e-324, loss: Number.NaN },
        },
        // An object shaped like the store's own number tag, and a hole that JSON writes as null.
        config: { tag: { $num: 'NaN' }, list: [1, undefined, -0] } as never,
        metrics: { auprc: Number.NaN, rocAuc: Number.POSITIVE_INFINITY, loss: Number.NEGATIVE_INFINITY, f1: -0 },
        ...(stages === undefined ? {} : { stages: stages as never }),
      });
      for (const [id, stages] of [
        [1, undefined],
        [2, null],
        [3, [{ name: 'fit', ms: 12.5, banks: 3 }]],
      ] as const) {
        const r = awkward(id, stages as never);
        const e = await store.commitRoundAudited(r, model(id, randomWeights(4)), committedEntry(10 + id));
        const back = await store.getRound(id); // throws DamagedDataError if the seal does not match
        expect(e.details.roundHash).toBe(roundRecordHash(back!));
        expect(e.details.roundHash).toBe(roundRecordHash(r));
      }
      expect(await store.checkStorage()).toMatchObject({ ok: true, checked: { rounds: 3 } });
      // A committed round has no failure reason (its one bare text column besides the status).
      await expect(
        store.commitRoundAudited({ ...round(4), failureReason: 'x' }, model(4, randomWeights(4)), committedEntry(20)),
      ).rejects.toThrow(/failure reason/);
      expect(await store.getRound(4)).toBeNull();
    });

    it('refuses to overwrite a sealed round', async () => {
      const { store } = await fresh();
      await store.commitRoundAudited(round(1), model(1, randomWeights(3)), committedEntry(10));
      await expect(store.saveRound({ ...round(1), metrics: { auprc: 1 } })).rejects.toThrow(/sealed/);
      expect(await store.getRound(1)).toEqual(round(1));
    });

    it('lists a round committed without its entry as unsealed, and seals it on request', async () => {
      const { store } = await fresh();
      await store.commitRound(round(1), model(1, randomWeights(3)));
      expect(await store.unsealedRounds()).toEqual([1]);
      const e = await store.sealRound(1, { at: 5, type: 'round.sealed', actor: 'system', details: {} });
      expect(e.details).toMatchObject({ roundId: 1, roundHash: roundRecordHash(round(1)) });
      expect(await store.unsealedRounds()).toEqual([]);
      await expect(store.sealRound(1, { at: 6, type: 'round.sealed', actor: 'system', details: {} })).rejects.toThrow(
        /already sealed/,
      );
    });

    it('moves the head with every append and never reuses a seq after the tail is deleted', async () => {
      const { store, fixture } = await fresh();
      for (let i = 1; i <= 4; i++) await store.appendAudit(auditInput(i));
      expect((await store.auditHead())!.seq).toBe(4);
      if (!options.tamper) return;
      await fixture.backdoor!.deleteEntry(4);
      const v = await store.verifyAudit();
      expect(v).toMatchObject({ ok: false, entries: 3, brokenAt: 4 });
      expect(v.reason).toMatch(/removed/);
      const next = await store.appendAudit(auditInput(5));
      expect(next.seq).toBe(5); // not 4 again
      expect(await store.verifyAudit()).toMatchObject({ ok: false, brokenAt: 4 });
    });
  });
}
