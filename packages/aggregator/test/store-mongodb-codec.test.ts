/**
 * The MongoDB document mapping, through a real BSON round trip (the driver's own
 * serializer, with the options MongoStore uses). Needs no server, so it always runs and
 * covers what the skipped contract suite would otherwise leave unchecked here.
 */
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { nextEntry, verifyChain } from '../src/audit/chain.js';
import {
  auditDoc,
  bankDoc,
  MAX_WEIGHT_BYTES,
  modelDoc,
  roundDoc,
  toAudit,
  toBank,
  toModel,
  toRound,
  type AuditDoc,
  type ModelDoc,
} from '../src/store/mongo-codec.js';
import type { BankRecord, RoundRecord } from '../src/store/types.js';
import { bank, model, randomWeights, round } from './store-contract.js';

/** What a document looks like after insert and find: MongoStore sets ignoreUndefined. */
function viaBson<T>(doc: T): T {
  return BSON.deserialize(BSON.serialize(doc as BSON.Document, { ignoreUndefined: true })) as T;
}

describe('MongoDB document mapping', () => {
  it('round-trips banks, with timestamps beyond int32', () => {
    const b = { ...bank('beta.eu'), createdAt: 1_760_000_000_123, lastSeenAt: 1_760_000_000_999 };
    expect(toBank(viaBson<BankRecord>(bankDoc(b)))).toStrictEqual(b);
  });

  it('round-trips rounds: NaN and infinite metrics, dotted bank ids, undefined fields dropped', () => {
    const r = round(3, 'committed', { metrics: { precision: Number.NaN, recall: Number.POSITIVE_INFINITY, f1: -0.5 } });
    r.banks = { 'beta.eu': { bytesUp: 1, bytesDown: 2, loss: undefined, metrics: { f1: 0.25 } } };
    const back = toRound(viaBson<RoundRecord>(roundDoc(r)));
    expect(back).toEqual(r);
    expect(back.banks['beta.eu']).toStrictEqual({ bytesUp: 1, bytesDown: 2, metrics: { f1: 0.25 } });
  });

  it('stores weights as Binary and reads them back bit-exact into an aligned array', () => {
    const backing = randomWeights(40);
    for (const w of [
      randomWeights(1001),
      randomWeights(3),
      new Float32Array(0),
      new Float32Array(backing.buffer, 4, 9),
    ]) {
      const doc = viaBson<ModelDoc>(modelDoc(model(1, w)));
      expect(doc.weights).toBeInstanceOf(BSON.Binary);
      const back = toModel(doc).weights;
      expect(back.byteOffset).toBe(0);
      expect(Buffer.from(back.buffer).equals(Buffer.from(w.buffer, w.byteOffset, w.byteLength))).toBe(true);
    }
  });

  it('refuses weights that cannot fit in one document', () => {
    expect(() => modelDoc(model(1, new Float32Array(MAX_WEIGHT_BYTES / 4 + 1)))).toThrow(/at most/);
  });

  it('stores audit details as the hashed JSON text, so even lone surrogates verify', () => {
    const awkward = { note: 'lone \ud800 surrogate', n: 1e21, neg: -0 };
    const e1 = nextEntry(null, { at: 1, type: 'config.changed', actor: 'admin', details: awkward });
    const e2 = nextEntry(e1, { at: 2, type: 'bank.created', actor: 'admin', details: { bankId: 'x' } });
    const back = [e1, e2].map((e) => toAudit(viaBson<AuditDoc>(auditDoc(e))));
    expect(back).toEqual([e1, e2]);
    expect(verifyChain(back)).toEqual({ ok: true, entries: 2 });
    // The reason for the text: as a BSON sub-document the string would not survive.
    expect(viaBson({ s: awkward.note }).s).not.toBe(awkward.note);
  });
});
