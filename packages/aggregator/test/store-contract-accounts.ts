/**
 * The accounts section of the store contract (called from store-contract.ts): accounts,
 * sessions, recovery codes and API tokens behave the same on every backend.
 */
import { describe, expect, it } from 'vitest';
import type { AccountRecord, ApiTokenRecord, SessionRecord } from '@finsecure/accounts';
import { StoreConflictError, type Store } from '../src/store/types.js';

export function account(id: string, username: string, createdAt = 1): AccountRecord {
  return {
    id,
    username,
    displayName: `Person ${username}`,
    role: 'auditor',
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    mustChangePassword: false,
    totpSecret: null,
    totpEnabledAt: null,
    totpLastStep: null,
    createdAt,
    lastLoginAt: null,
    disabledAt: null,
    failedLogins: 0,
    lockedUntil: null,
  };
}

export function session(idHash: string, accountId: string, createdAt = 10): SessionRecord {
  return {
    idHash,
    accountId,
    stage: 'active',
    csrfHash: 'c'.repeat(64),
    createdAt,
    lastSeenAt: createdAt,
    pendingTotpSecret: null,
    userAgent: 'test',
    ip: '127.0.0.1',
  };
}

function token(id: string, hash: string): ApiTokenRecord {
  return {
    id,
    name: `token ${id}`,
    role: 'viewer',
    tokenHash: hash,
    createdBy: 'u1',
    createdAt: 5,
    expiresAt: 1000,
    revokedAt: null,
    lastUsedAt: null,
  };
}

export function accountsContract(fresh: () => Promise<{ store: Store }>): void {
  describe('accounts', () => {
    it('creates, finds, lists, counts and updates accounts; usernames are unique', async () => {
      const { store } = await fresh();
      const a = store.accounts;
      expect(await a.countAccounts()).toBe(0);
      await a.createAccount(account('u2', 'bob', 2));
      await a.createAccount(account('u1', 'alice', 1));
      await expect(a.createAccount(account('u3', 'alice', 3))).rejects.toBeInstanceOf(StoreConflictError);
      await expect(a.createAccount(account('u1', 'carol', 3))).rejects.toBeInstanceOf(StoreConflictError);
      expect(await a.getAccount('u1')).toEqual(account('u1', 'alice', 1));
      expect(await a.getAccountByUsername('bob')).toEqual(account('u2', 'bob', 2));
      expect(await a.getAccount('nope')).toBeNull();
      expect((await a.listAccounts()).map((x) => x.username)).toEqual(['alice', 'bob']);
      expect(await a.countAccounts()).toBe(2);
      expect(await a.updateAccount('u1', { role: 'admin', mustChangePassword: true, lockedUntil: 99 })).toBe(true);
      expect(await a.getAccount('u1')).toMatchObject({ role: 'admin', mustChangePassword: true, lockedUntil: 99 });
      expect(await a.updateAccount('nope', { role: 'admin' })).toBe(false);
    });

    it('accepts each TOTP step once, in increasing order', async () => {
      const { store } = await fresh();
      await store.accounts.createAccount(account('u1', 'alice'));
      expect(await store.accounts.advanceTotpStep('u1', 100)).toBe(true);
      expect(await store.accounts.advanceTotpStep('u1', 100)).toBe(false);
      expect(await store.accounts.advanceTotpStep('u1', 99)).toBe(false);
      expect(await store.accounts.advanceTotpStep('u1', 101)).toBe(true);
      expect((await store.accounts.getAccount('u1'))!.totpLastStep).toBe(101);
    });

    it('stores, updates, lists, ends and purges sessions', async () => {
      const { store } = await fresh();
      const a = store.accounts;
      await a.createAccount(account('u1', 'alice'));
      await a.createAccount(account('u2', 'bob'));
      await a.createSession(session('h1', 'u1', 10));
      await a.createSession(session('h2', 'u1', 20));
      await a.createSession(session('h3', 'u2', 30));
      expect(await a.getSession('h1')).toEqual(session('h1', 'u1', 10));
      expect(await a.updateSession('h1', { lastSeenAt: 50, stage: 'mfa', pendingTotpSecret: 'S' })).toBe(true);
      expect(await a.getSession('h1')).toMatchObject({ lastSeenAt: 50, stage: 'mfa', pendingTotpSecret: 'S' });
      expect((await a.listSessionsOf('u1')).map((s) => s.idHash)).toEqual(['h1', 'h2']);
      expect(await a.deleteSessionsOf('u1', 'h2')).toBe(1);
      expect((await a.listSessionsOf('u1')).map((s) => s.idHash)).toEqual(['h2']);
      expect(await a.deleteSession('h2')).toBe(true);
      expect(await a.deleteSession('h2')).toBe(false);
      expect(await a.getSession('h2')).toBeNull();
      await a.createSession(session('h4', 'u2', 100));
      // h3: idle since 30 (< 40) goes; h4 stays.
      expect(await a.purgeSessions(40, 0)).toBe(1);
      expect((await a.listSessionsOf('u2')).map((s) => s.idHash)).toEqual(['h4']);
      expect(await a.purgeSessions(0, 101)).toBe(1);
    });

    it('consumes each recovery code once and replaces the set', async () => {
      const { store } = await fresh();
      const a = store.accounts;
      await a.createAccount(account('u1', 'alice'));
      await a.setRecoveryCodes('u1', ['x', 'y', 'z']);
      expect(await a.countRecoveryCodes('u1')).toBe(3);
      expect(await a.useRecoveryCode('u1', 'y')).toBe(true);
      expect(await a.useRecoveryCode('u1', 'y')).toBe(false);
      expect(await a.useRecoveryCode('u2', 'x')).toBe(false);
      expect(await a.countRecoveryCodes('u1')).toBe(2);
      await a.setRecoveryCodes('u1', ['n']);
      expect(await a.useRecoveryCode('u1', 'x')).toBe(false);
      expect(await a.countRecoveryCodes('u1')).toBe(1);
      await a.setRecoveryCodes('u1', []);
      expect(await a.countRecoveryCodes('u1')).toBe(0);
    });

    it('stores, finds by hash, lists, touches and revokes API tokens once', async () => {
      const { store } = await fresh();
      const a = store.accounts;
      await a.createApiToken(token('t1', 'h'.repeat(64)));
      await expect(a.createApiToken(token('t1', 'g'.repeat(64)))).rejects.toBeInstanceOf(StoreConflictError);
      expect(await a.getApiTokenByHash('h'.repeat(64))).toEqual(token('t1', 'h'.repeat(64)));
      expect(await a.getApiTokenByHash('x')).toBeNull();
      await a.touchApiToken('t1', 7);
      expect(await a.revokeApiToken('t1', 8)).toBe(true);
      expect(await a.revokeApiToken('t1', 9)).toBe(false);
      expect(await a.listApiTokens()).toEqual([{ ...token('t1', 'h'.repeat(64)), lastUsedAt: 7, revokedAt: 8 }]);
    });
  });
}
