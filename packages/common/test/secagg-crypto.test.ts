import { generateKeyPairSync, createPublicKey, diffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SecAggError,
  applyMask,
  checkThreshold,
  combineShares,
  decryptSharePair,
  deriveSharedKey,
  encryptSharePair,
  expandMask,
  generateIdentityKeyPair,
  generateX25519KeyPair,
  keyAdvertisementBytes,
  neighbourhoods,
  seededRandomSource,
  signStatement,
  splitSecret,
  verifyStatement,
  x25519PublicKey,
} from '../src/secagg/index.js';
import { seedFor } from './secagg-harness.js';

const rnd = (label: string) => seededRandomSource(seedFor(label));

describe('identity keys (Ed25519)', () => {
  it('signs key advertisements over round, bank and both raw keys; any change breaks the signature', () => {
    const id = generateIdentityKeyPair(rnd('id'));
    expect(id.publicKey).toHaveLength(32);
    const c = generateX25519KeyPair(rnd('c')).publicKey;
    const s = generateX25519KeyPair(rnd('s')).publicKey;
    const sig = signStatement(id.privateKey, keyAdvertisementBytes('7/aa', 'bank-a', c, s));
    expect(sig).toHaveLength(64);
    expect(verifyStatement(id.publicKey, keyAdvertisementBytes('7/aa', 'bank-a', c, s), sig)).toBe(true);
    expect(verifyStatement(id.publicKey, keyAdvertisementBytes('8/aa', 'bank-a', c, s), sig)).toBe(false);
    expect(verifyStatement(id.publicKey, keyAdvertisementBytes('7/aa', 'bank-b', c, s), sig)).toBe(false);
    expect(verifyStatement(id.publicKey, keyAdvertisementBytes('7/aa', 'bank-a', s, c), sig)).toBe(false);
    const other = generateIdentityKeyPair(rnd('other'));
    expect(verifyStatement(other.publicKey, keyAdvertisementBytes('7/aa', 'bank-a', c, s), sig)).toBe(false);
    expect(verifyStatement(id.publicKey, keyAdvertisementBytes('7/aa', 'bank-a', c, s), sig.subarray(1))).toBe(false);
  });

  it('is deterministic under a seeded source and random under the default one', () => {
    expect(generateIdentityKeyPair(rnd('x')).publicKey).toEqual(generateIdentityKeyPair(rnd('x')).publicKey);
    expect(generateIdentityKeyPair().publicKey).not.toEqual(generateIdentityKeyPair().publicKey);
  });
});

describe('X25519 + HKDF', () => {
  it('uses raw 32-byte keys that agree with node:crypto X25519', () => {
    const a = generateX25519KeyPair(rnd('a'));
    const ref = generateKeyPairSync('x25519');
    const refPub = new Uint8Array(Buffer.from(ref.publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    const refPriv = new Uint8Array(Buffer.from(ref.privateKey.export({ format: 'jwk' }).d!, 'base64url'));
    expect(x25519PublicKey(refPriv)).toEqual(refPub);
    // Raw DH through node directly equals the one our derivation consumes (checked via symmetry below).
    const raw = diffieHellman({
      privateKey: ref.privateKey,
      publicKey: createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(a.publicKey).toString('base64url') },
        format: 'jwk',
      }),
    });
    expect(raw).toHaveLength(32);
  });

  it('derives the same key on both sides, different per purpose, round and pair', () => {
    const a = generateX25519KeyPair(rnd('a'));
    const b = generateX25519KeyPair(rnd('b'));
    const ctx = { purpose: 'pairwise-mask' as const, roundId: '1/x' };
    const ab = deriveSharedKey(a.privateKey, b.publicKey, { ...ctx, self: 'bank-a', peer: 'bank-b' });
    const ba = deriveSharedKey(b.privateKey, a.publicKey, { ...ctx, self: 'bank-b', peer: 'bank-a' });
    expect(ab).toEqual(ba);
    expect(ab).toHaveLength(32);
    expect(
      deriveSharedKey(a.privateKey, b.publicKey, {
        ...ctx,
        purpose: 'share-encryption',
        self: 'bank-a',
        peer: 'bank-b',
      }),
    ).not.toEqual(ab);
    expect(
      deriveSharedKey(a.privateKey, b.publicKey, { ...ctx, roundId: '2/x', self: 'bank-a', peer: 'bank-b' }),
    ).not.toEqual(ab);
    expect(deriveSharedKey(a.privateKey, b.publicKey, { ...ctx, self: 'bank-a', peer: 'bank-c' })).not.toEqual(ab);
  });

  it('refuses a low-order (all-zero) peer key and wrong sizes', () => {
    const a = generateX25519KeyPair(rnd('a'));
    const ctx = { purpose: 'pairwise-mask' as const, roundId: '1', self: 'a', peer: 'evil' };
    expect(() => deriveSharedKey(a.privateKey, new Uint8Array(32), ctx)).toThrow(/evil.*low-order/);
    expect(() => deriveSharedKey(a.privateKey, new Uint8Array(31), ctx)).toThrow(/32 bytes/);
  });
});

describe('Shamir shares and share envelopes', () => {
  it('any t of n shares reconstruct a 32-byte secret; t − 1 do not', async () => {
    const secret = seedFor('secret');
    const holders = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const shares = await splitSecret(secret, holders, 4);
    expect([...shares.values()].every((s) => s.length === 33)).toBe(true);
    expect(await combineShares([shares.get('g')!, shares.get('b')!, shares.get('e')!, shares.get('a')!], 4)).toEqual(
      secret,
    );
    expect(await combineShares([...shares.values()], 4)).toEqual(secret);
    await expect(combineShares([shares.get('a')!, shares.get('b')!, shares.get('c')!], 4)).rejects.toThrow(
      /3 shares, 4 needed/,
    );
    // t − 1 shares fed to the library directly give a wrong value silently: why callers count.
    expect(await combineShares([shares.get('a')!, shares.get('b')!, shares.get('c')!], 3)).not.toEqual(secret);
    await expect(combineShares([shares.get('a')!, shares.get('a')!], 2)).rejects.toThrow(/same x coordinate/);
    // A threshold no split could have made, or a share at x = 0 (the secret's point), is refused, not combined.
    for (const t of [1, 0, -1, 2.5, 256])
      await expect(combineShares([...shares.values()], t), String(t)).rejects.toThrow(
        `Shamir: the threshold must be an integer from 2 to 255, got ${t}`,
      );
    const atZero = Uint8Array.from(shares.get('c')!);
    atZero[32] = 0;
    await expect(combineShares([shares.get('a')!, shares.get('b')!, atZero, shares.get('d')!], 4)).rejects.toThrow(
      'Shamir: a share has the x coordinate 0 (the secret itself)',
    );
  });

  it('encrypts a share pair under AES-256-GCM bound to round and both banks', () => {
    const key = seedFor('k');
    const pair = { seedShare: new Uint8Array(33).fill(1), keyShare: new Uint8Array(33).fill(2) };
    const ctx = { roundId: '3/ab', from: 'bank-a', to: 'bank-b' };
    const ct = encryptSharePair(key, ctx, pair, rnd('nonce'));
    expect(decryptSharePair(key, ctx, ct)).toEqual(pair);
    const refuse = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(SecAggError);
        expect((err as SecAggError).code).toBe('decryption_failed');
        expect((err as SecAggError).banks).toEqual(['bank-a', 'bank-b']);
        return;
      }
      throw new Error('expected a refusal');
    };
    refuse(() => decryptSharePair(key, { ...ctx, roundId: '4/ab' }, ct)); // cross-round replay
    refuse(() => decryptSharePair(key, { ...ctx, from: 'bank-b', to: 'bank-a' }, ct)); // reflected
    refuse(() => decryptSharePair(seedFor('other'), ctx, ct));
    const flipped = ct.slice();
    flipped[20]! ^= 1;
    refuse(() => decryptSharePair(key, ctx, flipped));
    refuse(() => decryptSharePair(key, ctx, ct.subarray(0, 50)));
  });
});

describe('mask PRG (AES-256-CTR)', () => {
  it('expands the full 256-bit seed: one different bit gives an unrelated mask', () => {
    const seed = seedFor('mask');
    const m = expandMask(seed, 1000);
    expect(expandMask(seed, 1000)).toEqual(m);
    const seed2 = seed.slice();
    seed2[31]! ^= 0x80; // a bit Flower's 32-bit XOR-fold would also catch: flip one in two words to defeat the fold
    seed2[27]! ^= 0x80;
    const m2 = expandMask(seed2, 1000);
    expect(m2.filter((x, i) => x === m[i]).length).toBeLessThan(3);
    // Prefix-consistent across chunk boundaries.
    expect(expandMask(seed, 200_000).subarray(0, 1000)).toEqual(m);
  });

  it('adds and removes masks mod 2^32, and its words look uniform', () => {
    const v = Uint32Array.from({ length: 100_000 }, (_, i) => i * 7919);
    const y = v.slice();
    applyMask(y, seedFor('s'), 1);
    applyMask(y, seedFor('s'), -1);
    expect(y).toEqual(v);
    const m = expandMask(seedFor('u'), 100_000);
    const mean = m.reduce((a, b) => a + b, 0) / m.length / 2 ** 32;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // σ of the mean ≈ 0.0009
    expect(() => expandMask(new Uint8Array(4), 10)).toThrow(/32 bytes/);
  });
});

describe('neighbourhood graphs', () => {
  const ids = Array.from({ length: 100 }, (_, i) => `b${String(i).padStart(3, '0')}`);

  it('complete by default; a seeded random Harary graph is k-regular, symmetric and reproducible', () => {
    expect(neighbourhoods(['b', 'a', 'c'], { kind: 'complete' }).get('b')).toEqual(['a', 'b', 'c']);
    for (const degree of [10, 11]) {
      const g = neighbourhoods(ids, { kind: 'harary', degree, seed: seedFor('g') });
      for (const [x, hood] of g) {
        expect(hood).toHaveLength(degree + 1);
        expect(hood).toContain(x);
        for (const y of hood) expect(g.get(y)).toContain(x);
      }
      expect(neighbourhoods([...ids].reverse(), { kind: 'harary', degree, seed: seedFor('g') })).toEqual(g);
      expect(neighbourhoods(ids, { kind: 'harary', degree, seed: seedFor('h') }).get('b000')).not.toEqual(
        g.get('b000'),
      );
    }
    expect(neighbourhoods(ids.slice(0, 5), { kind: 'harary', degree: 8, seed: seedFor('g') }).get('b000')).toHaveLength(
      5,
    );
    expect(() => neighbourhoods(ids.slice(0, 5), { kind: 'harary', degree: 3, seed: seedFor('g') })).toThrow(
      /odd degree/,
    );
  });

  it('requires t to be a strict majority of every neighbourhood', () => {
    const g = neighbourhoods(ids.slice(0, 10), { kind: 'complete' });
    expect(() => checkThreshold(g, 6)).not.toThrow();
    expect(() => checkThreshold(g, 5)).toThrow(/more than half/);
    expect(() => checkThreshold(g, 11)).toThrow(/at most/);
    expect(() => checkThreshold(g, 1)).toThrow(/≥ 2/);
  });
});
