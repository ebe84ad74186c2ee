import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, normaliseJson } from '../src/audit/canonical.js';
import { ChainVerifier, GENESIS_HASH, hashEntry, nextEntry, verifyChain } from '../src/audit/chain.js';
import type { AuditEntry, AuditInput } from '../src/store/types.js';

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (let i = 1; i <= n; i++)
    out.push(
      nextEntry(out.at(-1) ?? null, {
        at: 1000 + i,
        type: 'update.accepted',
        actor: `bank-${i % 3}`,
        details: { roundId: i, bytes: i * 100 },
      }),
    );
  return out;
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('is independent of key insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('sorts by UTF-16 code units and escapes like JSON', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '\u0001': 'a"b\\c\n' })).toBe(
      '{"\\u0001":"a\\"b\\\\c\\n","Z":3,"z":2,"é":1}',
    );
  });

  it('writes numbers in their shortest round-trip form', () => {
    expect(canonicalJson([1, 1.5, 0.1, 1e21, -0, 5e-324])).toBe('[1,1.5,0.1,1e+21,0,5e-324]');
  });

  it('omits undefined properties, as storage would', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it.each([
    ['NaN', { x: Number.NaN }],
    ['Infinity', { x: Number.POSITIVE_INFINITY }],
    ['undefined in an array', [undefined]],
    ['a Date', { d: new Date(0) }],
    ['a bigint', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a Map', new Map()],
  ])('rejects %s', (_what, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('is stable through parse: canonical(parse(canonical(x))) === canonical(x)', () => {
    const x = { k: [0.1 + 0.2, 1 / 3, 123456789.12345679, -1e-7], s: 'ü\u2028\ud83d\ude00' };
    const once = canonicalJson(x);
    expect(canonicalJson(JSON.parse(once))).toBe(once);
  });

  it('normaliseJson gives what a JSON round trip gives', () => {
    expect(normaliseJson({ a: Number.NaN, b: undefined, c: new Date(0), d: [undefined] })).toStrictEqual({
      a: null,
      c: '1970-01-01T00:00:00.000Z',
      d: [null],
    });
  });
});

describe('hashEntry', () => {
  const input: AuditInput & { seq: number } = {
    seq: 1,
    at: 1_700_000_000_000,
    type: 'bank.created',
    actor: 'admin',
    details: { name: 'Alpha Bank', bankId: 'alpha' },
  };

  it('is pinned: changing the formula would invalidate every stored log', () => {
    const body = `{"actor":"admin","at":1700000000000,"details":{"bankId":"alpha","name":"Alpha Bank"},"prevHash":"${GENESIS_HASH}","seq":1,"type":"bank.created"}`;
    const expected = 'a6343e3a9f07688e851b0ba3499f007fd118059a7923abd34faca3aefd394960';
    expect(createHash('sha256').update(body).digest('hex')).toBe(expected);
    expect(hashEntry(GENESIS_HASH, input)).toBe(expected);
  });

  it('covers every field and the previous hash', () => {
    const base = hashEntry(GENESIS_HASH, input);
    expect(hashEntry('1'.repeat(64), input)).not.toBe(base);
    expect(hashEntry(GENESIS_HASH, { ...input, seq: 2 })).not.toBe(base);
    expect(hashEntry(GENESIS_HASH, { ...input, at: input.at + 1 })).not.toBe(base);
    expect(hashEntry(GENESIS_HASH, { ...input, type: 'bank.revoked' })).not.toBe(base);
    expect(hashEntry(GENESIS_HASH, { ...input, actor: 'system' })).not.toBe(base);
    expect(hashEntry(GENESIS_HASH, { ...input, details: { bankId: 'alpha' } })).not.toBe(base);
  });

  it('ignores properties outside the entry (hash, prevHash fields of an entry object)', () => {
    const e = nextEntry(null, input);
    expect(hashEntry(e.prevHash, e)).toBe(e.hash);
  });
});

describe('nextEntry', () => {
  it('hashes as hashEntry does (the details written once for both the hash and the store)', () => {
    const odd = ['', 'é', '\u0001"\\', 'bank-\ud800', 'z'.repeat(300)];
    let head: AuditEntry | null = null;
    for (let i = 0; i < 40; i++) {
      const entry: AuditEntry = nextEntry(head, {
        at: i === 3 ? -0 : 1e12 + i * 0.5,
        type: odd[i % odd.length]!,
        actor: odd[(i + 2) % odd.length]!,
        details: { n: i, s: odd[i % odd.length], nested: { b: [1, 0.1, 1e21], a: null }, skip: undefined },
      });
      expect(entry.hash).toBe(hashEntry(entry.prevHash, entry));
      head = entry;
    }
  });

  it('names where a value cannot be written, as before', () => {
    expect(() => canonicalJson({ a: [1, { b: Number.NaN }] })).toThrow('canonicalJson: non-finite number at $.a[1].b');
    expect(() => canonicalJson([new Date(0)])).toThrow('canonicalJson: not a plain object at $[0]');
    expect(() => canonicalJson({ f: () => 1 })).toThrow('canonicalJson: function is not JSON at $.f');
  });

  it('starts at seq 1 from the genesis hash and links each entry to the previous', () => {
    const [a, b, c] = chain(3);
    expect(a).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(b).toMatchObject({ seq: 2, prevHash: a.hash });
    expect(c).toMatchObject({ seq: 3, prevHash: b.hash });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('normalises details and rejects entries that are not objects or lack a timestamp', () => {
    expect(nextEntry(null, { at: 1, type: 't', actor: 'a', details: { x: Number.NaN } }).details).toStrictEqual({
      x: null,
    });
    expect(() => nextEntry(null, { at: Number.NaN, type: 't', actor: 'a', details: {} })).toThrow(/timestamp/);
    expect(() =>
      nextEntry(null, { at: 1, type: 't', actor: 'a', details: [] as unknown as Record<string, unknown> }),
    ).toThrow(/object/);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and an empty one', () => {
    expect(verifyChain(chain(10))).toEqual({ ok: true, entries: 10 });
    expect(verifyChain([])).toEqual({ ok: true, entries: 0 });
  });

  it('finds altered content at the altered entry', () => {
    const c = chain(6);
    c[3] = { ...c[3], details: { roundId: 4, bytes: 1 } };
    expect(verifyChain(c)).toEqual({ ok: false, entries: 6, brokenAt: 4, reason: expect.stringMatching(/altered/) });
  });

  it('finds a forged entry with a recomputed hash at the next link', () => {
    const c = chain(6);
    const forged = { ...c[2], actor: 'mallory' };
    c[2] = { ...forged, hash: hashEntry(forged.prevHash, forged) };
    expect(verifyChain(c)).toMatchObject({
      ok: false,
      brokenAt: 4,
      reason: expect.stringMatching(/prevHash.*entry 3/),
    });
  });

  it('finds a deleted entry, an inserted one and a reordering', () => {
    const c = chain(5);
    expect(verifyChain([c[0], c[2], c[3], c[4]])).toMatchObject({
      ok: false,
      entries: 4,
      brokenAt: 2,
      reason: expect.stringMatching(/missing/),
    });
    expect(verifyChain([c[0], c[1], c[1], c[2]])).toMatchObject({
      ok: false,
      brokenAt: 2,
      reason: expect.stringMatching(/duplicated/),
    });
    expect(verifyChain([c[1], c[0]])).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it('rejects a first entry that does not start from the genesis hash', () => {
    const e = nextEntry({ seq: 0, hash: 'f'.repeat(64) }, { at: 1, type: 't', actor: 'a', details: {} });
    expect(verifyChain([e])).toMatchObject({ ok: false, brokenAt: 1, reason: expect.stringMatching(/genesis/) });
  });

  it('streams: ChainVerifier gives the same answer entry by entry, and counts unreadable entries', () => {
    const c = chain(4);
    const v = new ChainVerifier();
    v.push(c[0]);
    v.unreadable(2, 'details are not JSON');
    v.push(c[2]);
    v.push(c[3]);
    expect(v.result()).toEqual({
      ok: false,
      entries: 4,
      brokenAt: 2,
      reason: 'entry cannot be read: details are not JSON',
    });
  });
});
