/**
 * The pure parts of the account core: username canonical form, the SP 800-63B password
 * policy, argon2id hashing, the session expiry rule, recovery codes and the TOTP match
 * (codes computed by otplib at chosen times), and the access decision of both servers' auth hooks.
 */
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import {
  accessRefusal,
  checkPasswordPolicy,
  DEFAULT_SESSION_POLICY,
  generateRecoveryCodes,
  hashPassword,
  hashRecoveryCode,
  matchTotp,
  newTotpSecret,
  normaliseDisplayName,
  normaliseUsername,
  sameOrigin,
  sessionVerdict,
  sha256Hex,
  verifyPassword,
  type SessionRecord,
} from '@finsecure/accounts';

describe('usernames', () => {
  it('NFKC-normalises and lower-cases, refuses look-alikes and invisible characters', () => {
    expect(normaliseUsername(' Alice.B ')).toBe('alice.b');
    expect(normaliseUsername('ａｌｉｃｅ')).toBe('alice');
    expect(() => normaliseUsername('аlice')).toThrow(/non-ASCII/); // Cyrillic а
    expect(() => normaliseUsername('ali\u200dce')).toThrow(/invisible/);
    expect(() => normaliseUsername('ali\nce')).toThrow(/control/);
    expect(() => normaliseUsername('a'.repeat(65))).toThrow(/longer than 64/);
    expect(() => normaliseUsername('')).toThrow(/empty/);
    expect(() => normaliseUsername(42)).toThrow(/must be a string/);
  });

  it('display and token names keep any script but refuse lone surrogates, which no store keeps as written', () => {
    expect(normaliseDisplayName(' Ops 💳 Zürich ', 'x')).toBe('Ops 💳 Zürich');
    expect(() => normaliseDisplayName('ops \ud800', 'x')).toThrow(/lone surrogate/);
    expect(() => normaliseDisplayName('\udcb3ops', 'x')).toThrow(/lone surrogate/);
  });
});

describe('passwords (NIST SP 800-63B)', () => {
  it('asks for length, not composition, and refuses common, repetitive and contextual ones', () => {
    expect(checkPasswordPolicy('all lower case words')).toBe('all lower case words');
    expect(checkPasswordPolicy('ｆｕｌｌ ｗｉｄｔｈ ｐａｓｓ')).toBe('full width pass'); // NFKC
    expect(() => checkPasswordPolicy('short')).toThrow(/at least 12/);
    expect(() => checkPasswordPolicy('password1234')).toThrow(/commonly used/);
    expect(() => checkPasswordPolicy('aaaaaaaaaaaaaaa')).toThrow(/too few different/);
    expect(() => checkPasswordPolicy('abcdefghijklmnop')).toThrow(/sequence/);
    expect(() => checkPasswordPolicy('alice-smith-2026', ['alice-smith'])).toThrow(/built from "alice-smith"/);
    expect(() => checkPasswordPolicy('x'.repeat(300))).toThrow(/longer than 256/);
  });

  it('hashes with argon2id and verifies the NFKC form', async () => {
    const phc = await hashPassword('ﬁne tuned ledger 7');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(phc, 'fine tuned ledger 7')).toBe(true); // ligature ﬁ = fi under NFKC
    expect(await verifyPassword(phc, 'fine tuned ledger 8')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });
});

describe('sessions', () => {
  const s = (over: Partial<SessionRecord> = {}): SessionRecord => ({
    idHash: 'h',
    accountId: 'a',
    stage: 'active',
    csrfHash: 'c',
    createdAt: 0,
    lastSeenAt: 0,
    pendingTotpSecret: null,
    userAgent: '',
    ip: '',
    ...over,
  });
  const p = DEFAULT_SESSION_POLICY;

  it('ends at the earlier of the idle and the absolute limit', () => {
    expect(sessionVerdict(s(), p.idleMs - 1, p)).toEqual({ ok: true, expiresAt: p.idleMs });
    expect(sessionVerdict(s(), p.idleMs, p)).toEqual({ ok: false, reason: 'idle' });
    const late = s({ lastSeenAt: p.absoluteMs - 1000 });
    expect(sessionVerdict(late, p.absoluteMs - 1, p)).toEqual({ ok: true, expiresAt: p.absoluteMs });
    expect(sessionVerdict(late, p.absoluteMs, p)).toEqual({ ok: false, reason: 'absolute' });
    expect(sessionVerdict(s({ stage: 'mfa' }), p.mfaPendingMs, p)).toEqual({ ok: false, reason: 'absolute' });
  });
});

describe('second factor', () => {
  it('ten distinct 80-bit recovery codes, matched regardless of case and dashes', () => {
    const { codes, hashes } = generateRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(hashRecoveryCode(codes[0]!.toLowerCase().replace(/-/g, ''))).toBe(hashes[0]);
  });

  it('matches a TOTP code within one 30 s step and returns its step', async () => {
    const secret = newTotpSecret();
    const t = 1_780_000_005_000;
    const step = Math.floor(t / 30_000);
    const at = (ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });
    expect(await matchTotp(secret, await at(t), t)).toBe(step);
    expect(await matchTotp(secret, await at(t - 30_000), t)).toBe(step - 1);
    expect(await matchTotp(secret, await at(t + 30_000), t)).toBe(step + 1);
    expect(await matchTotp(secret, await at(t - 90_000), t)).toBeNull();
    expect(await matchTotp(secret, '12345', t)).toBeNull();
    expect(await matchTotp(secret, 'abcdef', t)).toBeNull();
  });
});

describe('the access decision both servers share (accounts/access.ts)', () => {
  const token = 'csrf-token-of-this-session';
  const caller = {
    role: 'analyst',
    permissions: new Set(['read', 'self']),
    setup: null as 'password' | 'mfa' | null,
    csrfHash: sha256Hex(token),
  };
  const base = { method: 'POST', permission: 'read', csrfHeader: token, csrfCookie: token, caller };

  it('lets a session caller through with the header equal to the cookie and to the session hash', () => {
    expect(accessRefusal(base)).toBeNull();
    expect(accessRefusal({ ...base, method: 'GET', csrfHeader: undefined, csrfCookie: undefined })).toBeNull();
  });

  it('refuses a state change with no, a different or a forged CSRF token', () => {
    for (const csrfHeader of [undefined, [token, token], 'other'])
      expect(accessRefusal({ ...base, csrfHeader })?.code).toBe('csrf');
    expect(accessRefusal({ ...base, csrfHeader: 'forged', csrfCookie: 'forged' })?.code).toBe('csrf');
    // bearer callers carry no ambient credential: no token asked
    expect(accessRefusal({ ...base, csrfHeader: undefined, caller: { ...caller, csrfHash: null } })).toBeNull();
  });

  it('allows only self during a pending set-up, then checks the role', () => {
    const pending = { ...caller, setup: 'mfa' as const };
    expect(accessRefusal({ ...base, caller: pending })).toMatchObject({ code: 'setup_required' });
    expect(accessRefusal({ ...base, permission: 'self', caller: pending })).toBeNull();
    expect(accessRefusal({ ...base, permission: 'write', forbiddenHint: '; ask an admin' })).toEqual({
      status: 403,
      code: 'forbidden',
      message: 'your role (analyst) does not allow this (write); ask an admin',
    });
  });

  it('sameOrigin: Origin or Referer must name the Host; none passes; garbage fails', () => {
    expect(sameOrigin({ host: 'a:1' })).toBe(true);
    expect(sameOrigin({ host: 'a:1', origin: 'http://a:1' })).toBe(true);
    expect(sameOrigin({ host: 'a:1', referer: 'http://a:1/x' })).toBe(true);
    expect(sameOrigin({ host: 'a:1', origin: 'http://evil:1' })).toBe(false);
    expect(sameOrigin({ host: 'a:1', origin: 'not a url' })).toBe(false);
  });
});
