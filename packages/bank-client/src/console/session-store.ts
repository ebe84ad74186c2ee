/**
 * The console's account store (@finsecure/accounts SqliteAccountStore) with two changes.
 *
 * 1. TOTP secrets are sealed (sealed-columns.ts): `accounts.totp_secret` and
 *    `sessions.pending_totp_secret` are each an AES-256-GCM envelope when the bank state is
 *    encrypted at rest. Unlike a password (an argon2id hash), RFC 6238 needs the secret itself
 *    to check a code, so whoever reads it in clear from console.sqlite (a backup, a copied
 *    disk) could make an administrator's second factor for ever. The accounts core keeps
 *    seeing the secret as text: this store seals on write and opens on read.
 *
 * 2. The idle timer's "last seen" stamp is written at most once per SESSION_TOUCH_MS per
 *    session instead of on every request.
 *
 * Why (2): every state-changing request (each `POST /api/score`) extends its session's idle
 * timer, and each of those writes is a SQLite commit with `synchronous = FULL`, i.e. an
 * fsync, the largest and most variable part of scoring one transaction (0.6 ms median,
 * 4–20 ms at the tail on a shared disk). A stamp up to SESSION_TOUCH_MS old makes an idle
 * timeout (15 minutes by default) end at most that much early; nothing else reads it.
 */
import type Database from 'better-sqlite3';
import { SqliteAccountStore, type AccountPatch, type AccountRecord, type SessionRecord } from '@finsecure/accounts';
import { PLAINTEXT_STATE, type StateCipher } from '../state-crypto/index.js';
import { openText, sealText } from './sealed-columns.js';

/** Resolution of a session's stored last-seen time, in ms. */
export const SESSION_TOUCH_MS = 5_000;

export class ConsoleAccountStore extends SqliteAccountStore {
  /** lastSeenAt as stored, from the latest read of each session (authenticateSession reads first). */
  private readonly stored = new Map<string, number>();

  /** @param cipher how the TOTP secrets are kept (the console database's, ConsoleDb.cipher) */
  constructor(
    db: () => Database.Database,
    private readonly touchMs = SESSION_TOUCH_MS,
    private readonly cipher: StateCipher = PLAINTEXT_STATE,
  ) {
    super(db);
  }

  // --- sealing of the TOTP secrets ---------------------------------------------------

  /** `rec` with its TOTP secret (when present in it) as stored; the blob passes through as is. */
  private sealAccount<T extends AccountPatch>(rec: T): T {
    if (rec.totpSecret === undefined || rec.totpSecret === null) return rec;
    return { ...rec, totpSecret: sealText(this.cipher, rec.totpSecret, 'accounts.totp_secret') as string };
  }

  private openAccount(a: AccountRecord | null): AccountRecord | null {
    return a && { ...a, totpSecret: openText(this.cipher, a.totpSecret, 'accounts.totp_secret') };
  }

  private sealSession<T extends Partial<SessionRecord>>(rec: T): T {
    if (rec.pendingTotpSecret === undefined || rec.pendingTotpSecret === null) return rec;
    const sealed = sealText(this.cipher, rec.pendingTotpSecret, 'sessions.pending_totp_secret') as string;
    return { ...rec, pendingTotpSecret: sealed };
  }

  private openSession(s: SessionRecord | null): SessionRecord | null {
    return s && { ...s, pendingTotpSecret: openText(this.cipher, s.pendingTotpSecret, 'sessions.pending_totp_secret') };
  }

  override async createAccount(a: AccountRecord): Promise<void> {
    return super.createAccount(this.sealAccount(a));
  }
  override async getAccount(id: string): Promise<AccountRecord | null> {
    return this.openAccount(await super.getAccount(id));
  }
  override async getAccountByUsername(username: string): Promise<AccountRecord | null> {
    return this.openAccount(await super.getAccountByUsername(username));
  }
  override async listAccounts(): Promise<AccountRecord[]> {
    return (await super.listAccounts()).map((a) => this.openAccount(a)!);
  }
  override async updateAccount(id: string, patch: AccountPatch): Promise<boolean> {
    return super.updateAccount(id, this.sealAccount(patch));
  }
  override async createSession(s: SessionRecord): Promise<void> {
    return super.createSession(this.sealSession(s));
  }
  override async listSessionsOf(accountId: string): Promise<SessionRecord[]> {
    return (await super.listSessionsOf(accountId)).map((s) => this.openSession(s)!);
  }

  // --- sessions (both changes) --------------------------------------------------------

  override async getSession(idHash: string): Promise<SessionRecord | null> {
    const s = this.openSession(await super.getSession(idHash));
    if (s) this.stored.set(idHash, s.lastSeenAt);
    else this.stored.delete(idHash);
    return s;
  }

  override async updateSession(
    idHash: string,
    patch: Partial<Omit<SessionRecord, 'idHash' | 'accountId'>>,
  ): Promise<boolean> {
    const keys = Object.keys(patch);
    const seen = patch.lastSeenAt;
    const was = this.stored.get(idHash);
    // Only a pure touch that moves the stamp forward by less than the resolution is skipped.
    if (keys.length === 1 && seen !== undefined && was !== undefined && seen >= was && seen - was < this.touchMs)
      return true;
    const ok = await super.updateSession(idHash, this.sealSession(patch));
    if (ok && seen !== undefined) this.stored.set(idHash, seen);
    return ok;
  }

  override async deleteSession(idHash: string): Promise<boolean> {
    this.stored.delete(idHash);
    return super.deleteSession(idHash);
  }
}
