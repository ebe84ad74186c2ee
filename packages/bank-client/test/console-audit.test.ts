/**
 * The console's local audit chain uses the aggregator's entry format, so one verifier
 * reads both: the same entries hash identically under both implementations, a chain
 * built by one verifies under the other, and tampering is found at the right entry.
 */
import { describe, expect, it } from 'vitest';
import {
  hashEntry as aggregatorHash,
  nextEntry as aggregatorNext,
  verifyChain as aggregatorVerify,
} from '../../aggregator/src/audit/chain.js';
import { canonicalJson as aggregatorCanonical } from '../../aggregator/src/audit/canonical.js';
import { canonicalJson, GENESIS_HASH, hashEntry, nextEntry, verifyChain } from '../src/console/audit-chain.js';

const inputs = [
  {
    at: 1_700_000_000_000,
    type: 'alert.decided',
    actor: 'ana',
    details: { alert: 3, decision: 'confirmed_fraud', note: 'called the customer ✓' },
  },
  {
    at: 1_700_000_000_500,
    type: 'threshold.chosen',
    actor: 'eng',
    details: { logit: -1.4270282983779907, implied: { recall: 0.8667, fpr: 0.0088 }, z: [1, 2.5e-9, -0] },
  },
  {
    at: 1_700_000_001_000,
    type: 'upload.scored',
    actor: 'ana',
    details: { name: 'day "1".csv', rows: 600, flagged: 40 },
  },
  {
    // A lone surrogate in the bare actor column: both chains make it U+FFFD, as SQLite would keep it.
    at: 1_700_000_001_500,
    type: 'token.created',
    actor: 'token:ops \ud800',
    details: { name: 'ops \udc00' },
  },
];

describe('console audit chain', () => {
  it('writes canonical JSON and hashes exactly as the aggregator does', () => {
    for (const i of inputs) expect(canonicalJson(i.details)).toBe(aggregatorCanonical(i.details));
    let ours = null;
    let theirs = null;
    for (const i of inputs) {
      ours = nextEntry(ours, i);
      theirs = aggregatorNext(theirs, i);
      expect(ours).toEqual(theirs);
      expect(hashEntry(ours.prevHash, ours)).toBe(aggregatorHash(theirs.prevHash, theirs));
    }
  });

  it('verifies a chain both ways and finds the tampered entry', () => {
    const chain: ReturnType<typeof nextEntry>[] = [];
    for (const i of inputs) chain.push(nextEntry(chain.at(-1) ?? null, i));
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    expect(verifyChain(chain)).toEqual({ ok: true, entries: inputs.length });
    expect(aggregatorVerify(chain)).toMatchObject({ ok: true, entries: inputs.length });
    expect(chain[3]!.actor).toBe('token:ops \ufffd');
    const tampered = chain.map((e) => ({ ...e, details: { ...e.details } }));
    tampered[1]!.details.logit = 0;
    expect(verifyChain(tampered)).toMatchObject({ ok: false, brokenAt: 2 });
    expect(aggregatorVerify(tampered)).toMatchObject({ ok: false, brokenAt: 2 });
    expect(verifyChain([chain[0]!, chain[2]!])).toMatchObject({ ok: false, brokenAt: 3 });
  });
});
