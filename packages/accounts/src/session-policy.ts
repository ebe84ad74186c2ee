/**
 * When a session ends, as a pure function of its record and the time (injected clock):
 * OWASP ASVS 3.3 / NIST SP 800-63B §7.2 reauthentication — an idle timeout (default
 * 15 minutes without a request) and an absolute lifetime (default 8 hours since sign-in),
 * whichever comes first. A session waiting for its second factor lives 5 minutes.
 */
import type { SessionRecord } from './types.js';

export interface SessionPolicy {
  idleMs: number;
  absoluteMs: number;
  /** Lifetime of a password-only session that still needs its TOTP code. */
  mfaPendingMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleMs: 15 * 60_000,
  absoluteMs: 8 * 3_600_000,
  mfaPendingMs: 5 * 60_000,
};

export type SessionVerdict = { ok: true; expiresAt: number } | { ok: false; reason: 'idle' | 'absolute' };

/** Whether the session is still alive at `now`; expiresAt is the earlier of both limits. */
export function sessionVerdict(s: SessionRecord, now: number, policy: SessionPolicy): SessionVerdict {
  const absoluteEnd = s.createdAt + (s.stage === 'mfa' ? policy.mfaPendingMs : policy.absoluteMs);
  const idleEnd = s.lastSeenAt + policy.idleMs;
  if (now >= absoluteEnd) return { ok: false, reason: 'absolute' };
  if (now >= idleEnd) return { ok: false, reason: 'idle' };
  return { ok: true, expiresAt: Math.min(absoluteEnd, idleEnd) };
}
