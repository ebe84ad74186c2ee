/**
 * Opaque random secrets (session ids, CSRF tokens, API tokens, recovery codes) and their
 * stored form. They carry 128+ bits from node:crypto, so one sha256 is a sufficient
 * one-way hash (as for bank tokens, auth/tokens.ts); comparisons go through the hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored sha256 hex. */
export function secretMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(sha256Hex(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Ten one-time recovery codes, 16 Crockford base32 characters each (80 bits), shown
 * once as XXXX-XXXX-XXXX-XXXX. Returns the codes and their stored hashes.
 */
export function generateRecoveryCodes(n = 10): { codes: string[]; hashes: string[] } {
  const codes: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = randomBytes(16);
    let s = '';
    for (let j = 0; j < 16; j++) s += CROCKFORD[bytes[j]! & 31];
    codes.push(s.match(/.{4}/g)!.join('-'));
  }
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

/** Canonical form before hashing: case, dashes and spaces do not matter. */
export function hashRecoveryCode(code: string): string {
  return sha256Hex(code.toUpperCase().replace(/[\s-]/g, '').slice(0, 64));
}
