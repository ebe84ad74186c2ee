/**
 * Bank and admin tokens. Tokens are 256-bit random strings, so a single sha256 is a
 * sufficient one-way hash (no password stretching needed: there is nothing to guess).
 * Only the hash is stored; comparisons are constant-time on the hashes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateToken(prefix = 'fst'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time check of a presented token against a stored sha256 hex hash. */
export function tokenMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export type Role = 'admin' | 'viewer';

/** Holds the hashed admin and viewer tokens; the plain tokens are not kept. */
export class ApiAuth {
  private readonly adminHash: string;
  private readonly viewerHash: string | null;

  constructor(adminToken: string, viewerToken?: string) {
    this.adminHash = hashToken(adminToken);
    this.viewerHash = viewerToken ? hashToken(viewerToken) : null;
  }

  /** The role a bearer token grants, or null. Both hashes are always compared. */
  roleOf(token: string | undefined): Role | null {
    if (!token) return null;
    const admin = tokenMatches(token, this.adminHash);
    const viewer = this.viewerHash ? tokenMatches(token, this.viewerHash) : false;
    return admin ? 'admin' : viewer ? 'viewer' : null;
  }
}
