/**
 * Passwords after NIST SP 800-63B §5.1.1.2 ("memorized secrets"): length over
 * composition (at least 12 characters, at most 256, any Unicode including spaces, no
 * "one digit, one symbol" rules), refused when common, repetitive, sequential or made of
 * the username or product name; NFKC-normalised before hashing so that the same
 * password typed on another keyboard verifies. Hashed with argon2id (RFC 9106) through
 * @node-rs/argon2 at OWASP's minimum (m = 19 MiB, t = 2, p = 1).
 */
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { COMMON_PASSWORDS } from './common-passwords.js';
import { InvalidInputError } from './username.js';

export const PASSWORD_MIN = 12;
/** Bounded so that hashing an attacker's input costs a bounded time. */
export const PASSWORD_MAX = 256;

const COMMON = new Set(COMMON_PASSWORDS);
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** The password as hashed: NFKC (SP 800-63B §5.1.1.2 recommends normalising). */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * Throws InvalidInputError('password', reason) when the password is not acceptable.
 * `context` are words the password must not be built from (username, display name).
 */
export function checkPasswordPolicy(password: unknown, context: string[] = []): string {
  if (typeof password !== 'string') throw new InvalidInputError('password', 'must be a string');
  if (password.length > PASSWORD_MAX * 4)
    throw new InvalidInputError('password', `longer than ${PASSWORD_MAX} characters`);
  const pw = normalisePassword(password);
  const length = [...pw].length;
  if (length < PASSWORD_MIN) throw new InvalidInputError('password', `must be at least ${PASSWORD_MIN} characters`);
  if (length > PASSWORD_MAX) throw new InvalidInputError('password', `longer than ${PASSWORD_MAX} characters`);
  if (/[\p{Cc}]/u.test(pw)) throw new InvalidInputError('password', 'contains control characters');
  const lower = pw.toLowerCase();
  if (COMMON.has(lower)) throw new InvalidInputError('password', 'is on the list of commonly used passwords');
  if (new Set(lower).size <= 3) throw new InvalidInputError('password', 'repeats too few different characters');
  if (isSequence(lower)) throw new InvalidInputError('password', 'is a keyboard or alphabet sequence');
  for (const word of ['finsecure', ...context]) {
    const w = word.toLowerCase();
    if (
      w.length >= 4 &&
      lower.replace(/[^\p{L}\p{N}]/gu, '').includes(w.replace(/[^\p{L}\p{N}]/gu, '')) &&
      lower.length < w.length + 8
    ) {
      throw new InvalidInputError('password', `must not be built from "${word}"`);
    }
  }
  return pw;
}

function isSequence(s: string): boolean {
  let up = 0;
  let down = 0;
  for (let i = 1; i < s.length; i++) {
    const d = s.charCodeAt(i) - s.charCodeAt(i - 1);
    if (d === 1) up++;
    if (d === -1) down++;
  }
  return up >= s.length - 2 || down >= s.length - 2;
}

/** argon2id PHC string of the (normalised) password. */
export async function hashPassword(password: string): Promise<string> {
  return hash(normalisePassword(password), ARGON2);
}

/** Constant-time verification (inside argon2); false for a malformed hash. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX * 4) return false;
  try {
    return await verify(phc, normalisePassword(password));
  } catch {
    return false;
  }
}

/**
 * A hash of a random password, verified against when the username is unknown, so that
 * "no such user" and "wrong password" take the same time.
 */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`);
  return dummyHash;
}
