/**
 * The bank console's files at rest, on real SQLite files and a real console on 127.0.0.1:
 *
 * - the TOTP secrets (accounts.totp_secret, sessions.pending_totp_secret) are sealed when the
 *   state is encrypted, including those an earlier version left in clear (sealed at start-up),
 *   and TOTP sign-in still works;
 * - console.sqlite and its -wal and -shm are 0600, and directories the console makes 0700;
 * - the upload spool is emptied when the console starts (a crash mid-upload leaves the raw CSV).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleDb } from '../src/console/db.js';
import { openBankState } from '../src/state-crypto/index.js';
import { addPerson, cleanup, Client, startConsole, tempDir, type RunningConsole } from './helpers/console.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('finsecure-console-at-rest-');
});
afterAll(() => cleanup(dir));

/** RFC 6238 code (HMAC-SHA1, 6 digits, 30 s) of a base32 secret at `ms`: the authenticator app's side. */
function totp(secret: string, ms: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1]! & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Every file under `root`, recursively. */
function files(root: string): string[] {
  return readdirSync(root).flatMap((n) => {
    const p = path.join(root, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** The files under `root` whose bytes contain `needle`. */
function grep(root: string, needle: string): string[] {
  return files(root).filter((f) => readFileSync(f).includes(Buffer.from(needle)));
}

const mode = (f: string) => statSync(f).mode & 0o777;

/** A raw read of the people tables, beside the console (as someone with the disk would). */
function raw(stateDir: string) {
  const db = new Database(path.join(stateDir, 'console.sqlite'), { readonly: true });
  try {
    return {
      totp: db.prepare("SELECT totp_secret AS v FROM accounts WHERE username = 'root'").get() as { v: unknown },
      pending: db
        .prepare('SELECT pending_totp_secret AS v FROM sessions WHERE pending_totp_secret IS NOT NULL')
        .all() as {
        v: unknown;
      }[],
    };
  } finally {
    db.close();
  }
}

/** Signs `username` in with the password, then the TOTP code of `secret` at `ms`. */
async function signInWithTotp(url: string, username: string, secret: string, ms: number): Promise<Client> {
  const cl = new Client(url);
  const first = await cl.post('/api/auth/login', { username, password: 'correct horse battery staple 42' });
  expect(first.body.stage).toBe('mfa');
  const second = await cl.post('/api/auth/mfa', { code: totp(secret, ms) });
  expect(second.status).toBe(200);
  expect((await cl.get('/api/whoami')).body).toMatchObject({ username, mfaEnabled: true });
  return cl;
}

describe('TOTP secrets at rest', () => {
  let c: RunningConsole | undefined;
  afterAll(async () => c?.close());

  it('seals the pending and the enrolled secret, and TOTP sign-in still works', async () => {
    const sd = path.join(dir, 'totp');
    openBankState(sd, { key: randomBytes(32), source: 'test' });
    let now = Date.UTC(2026, 11, 3, 9, 0, 0);
    c = await startConsole(sd, { now: () => now });
    await addPerson(c, 'root', 'admin');
    const admin = new Client(c.url);
    await admin.login('root');
    const enrol = await admin.post('/api/me/mfa/enrol');
    expect(enrol.status).toBe(200);
    const secret = enrol.body.secret as string;
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);

    // Offered, not confirmed yet: the session's pending secret is a sealed blob.
    const pending = raw(sd).pending;
    expect(pending).toHaveLength(1);
    expect(Buffer.isBuffer(pending[0]!.v)).toBe(true);
    expect((pending[0]!.v as Buffer).includes(Buffer.from(secret))).toBe(false);

    expect((await admin.post('/api/me/mfa/confirm', { code: totp(secret, now) })).status).toBe(200);
    const stored = raw(sd).totp.v;
    expect(Buffer.isBuffer(stored)).toBe(true);
    expect((stored as Buffer).includes(Buffer.from(secret))).toBe(false);
    expect(c.db.cipher.open(stored as Buffer, 'accounts.totp_secret').toString()).toBe(secret);
    expect(grep(sd, secret)).toEqual([]);

    // A later step (the confirmed one is spent): sign-in with the code works.
    now += 30_000;
    await signInWithTotp(c.url, 'root', secret, now);
    // A wrong code is still refused.
    const wrong = new Client(c.url);
    await wrong.post('/api/auth/login', { username: 'root', password: 'correct horse battery staple 42' });
    expect((await wrong.post('/api/auth/mfa', { code: totp(secret, now + 300_000) })).status).toBe(401);
    expect(c.db.verifyAudit().ok).toBe(true);
  });

  it('seals secrets an earlier version left in clear at the next start, with a state.encrypted entry', async () => {
    await c?.close();
    c = undefined;
    const sd = path.join(dir, 'totp');
    // As the version before this fix wrote them: the secret in clear in an encrypted state.
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const db = new Database(path.join(sd, 'console.sqlite'));
    db.prepare("UPDATE accounts SET totp_secret = ?, totp_last_step = NULL WHERE username = 'root'").run(secret);
    const sid = db.prepare('SELECT id_hash FROM sessions LIMIT 1').get() as { id_hash: string };
    db.prepare('UPDATE sessions SET pending_totp_secret = ? WHERE id_hash = ?').run(`${secret}AB`, sid.id_hash);
    db.close();
    expect(grep(sd, secret).length).toBeGreaterThan(0);

    const now = Date.UTC(2026, 11, 3, 10, 0, 0);
    c = await startConsole(sd, { now: () => now });
    expect(Buffer.isBuffer(raw(sd).totp.v)).toBe(true);
    expect(raw(sd).pending.every((r) => Buffer.isBuffer(r.v))).toBe(true);
    const entry = c.db
      .listAudit()
      .filter((e) => e.type === 'state.encrypted')
      .at(-1)!;
    expect(entry.details).toMatchObject({ totpSecrets: 1, pendingTotpSecrets: 1, alerts: 0 });
    // Vacuumed and checkpointed: the clear value is gone from every file.
    expect(grep(sd, secret)).toEqual([]);
    await signInWithTotp(c.url, 'root', secret, now);
    expect(c.db.verifyAudit().ok).toBe(true);
  });
});

describe('file modes', () => {
  it('makes console.sqlite, -wal and -shm 0600 and the directories it creates 0700', async () => {
    const sd = path.join(dir, 'modes', 'state');
    const c = await startConsole(sd);
    try {
      await addPerson(c, 'ana', 'analyst');
      const db = path.join(sd, 'console.sqlite');
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect({ f, mode: mode(f) }).toEqual({ f, mode: 0o600 });
      expect(mode(sd)).toBe(0o700);
      expect(mode(path.join(sd, 'console-spool'))).toBe(0o700);
    } finally {
      await c.close();
    }
  });

  it('takes group and other permissions off a database an earlier version left 0644', () => {
    const sd = path.join(dir, 'modes-old');
    mkdirSync(sd, { recursive: true });
    const file = path.join(sd, 'console.sqlite');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x)');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
    const db = new ConsoleDb(file);
    try {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect({ f, mode: mode(f) }).toEqual({ f, mode: 0o600 });
    } finally {
      db.close();
      old.close();
    }
  });
});

describe('upload spool', () => {
  it('is emptied when the console starts, and the count is logged', async () => {
    const sd = path.join(dir, 'spool');
    const spool = path.join(sd, 'console-spool');
    mkdirSync(spool, { recursive: true, mode: 0o755 });
    chmodSync(spool, 0o755);
    // What kill -9 during an upload leaves: the raw CSV (and a half-decompressed gzip).
    writeFileSync(path.join(spool, 'upload-0123456789abcdef.csv'), 'transaction_id,Amount\ntx-secret-1,12.5\n');
    writeFileSync(path.join(spool, 'upload-fedcba9876543210.csv.plain'), 'transaction_id,Amount\n');
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const c = await startConsole(sd, { logger: pino({ level: 'info' }, sink) });
    try {
      expect(readdirSync(spool)).toEqual([]);
      expect(mode(spool)).toBe(0o700);
      expect(lines).toContainEqual(expect.objectContaining({ removed: 2, dir: spool, level: 40 }));
      expect(existsSync(sd)).toBe(true);
    } finally {
      await c.close();
    }
  });
});
