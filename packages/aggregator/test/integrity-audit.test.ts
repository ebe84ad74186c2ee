/**
 * The audit log cannot be rewritten undetected (issue 12, item 10): its head is signed
 * with the aggregator's Ed25519 key at every append, checkpoints are signed at every
 * commit, and banks keep the heads they were sent. Real SQLite files, edited through a
 * second connection as someone with access to the disk (but not the key) would.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditHeadLog } from '../../bank-client/src/audit-heads.js';
import { parseBankHeads, readBankHeads } from '../src/audit/bank-heads.js';
import { checkedInput, hashEntry } from '../src/audit/chain.js';
import { describeAnchors } from '../src/audit/anchor.js';
import { checkHeadSignature, loadAuditKey, publicKeyFileOf, type AuditSigner } from '../src/audit/signer.js';
import { StoredStateError, verifyStoredState } from '../src/audit/startup.js';
import { auditCommand } from '../src/cli/audit.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { SqliteAudit } from '../src/store/sqlite-audit.js';
import { migrate } from '../src/store/sqlite-schema.js';
import type { AuditEntry } from '../src/store/types.js';
import { model, randomWeights, round } from './store-contract.js';

const root = mkdtempSync(path.join(tmpdir(), 'finsecure-anchor-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newFile = () => path.join(root, `case-${++n}`, 'finsecure.db');

/** 3 rounds, each: 2 updates then the commit (entries 1..9), and a bank heads file as a bank would keep it. */
async function federation(file: string): Promise<{ heads: string }> {
  const store = new SqliteStore(file);
  await store.init();
  const bankDir = path.join(path.dirname(file), 'bank-alpha');
  const log = new AuditHeadLog(bankDir, pino({ level: 'silent' }));
  for (let i = 1; i <= 3; i++) {
    const head = await store.auditHead();
    if (head) log.record(i, head, i); // what the aggregator puts into the round assignment
    await store.appendAudit({ at: i, type: 'update.accepted', actor: 'alpha', details: { roundId: i } });
    await store.appendAudit({ at: i, type: 'update.accepted', actor: 'beta', details: { roundId: i } });
    await store.commitRoundAudited(round(i), model(i, randomWeights(8)), {
      at: i,
      type: 'round.committed',
      actor: 'system',
      details: {},
    });
  }
  await store.close();
  return { heads: log.file };
}

function withFile<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Rewrites entry `seq`'s details and recomputes every later hash, as a careful forger would. */
function rewriteFrom(file: string, seq: number, details: Record<string, unknown>): void {
  withFile(file, (db) => {
    const rows = db.prepare('SELECT * FROM audit WHERE seq >= ? ORDER BY seq').all(seq) as {
      seq: number;
      at: number;
      type: string;
      actor: string;
      details: string;
      prev_hash: string;
    }[];
    let prev = rows[0].prev_hash;
    for (const r of rows) {
      const d = r.seq === seq ? details : (JSON.parse(r.details) as Record<string, unknown>);
      const hash = hashEntry(prev, { seq: r.seq, at: r.at, type: r.type, actor: r.actor, details: d });
      db.prepare('UPDATE audit SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(
        JSON.stringify(d),
        prev,
        hash,
        r.seq,
      );
      prev = hash;
    }
    db.prepare('UPDATE audit_head SET hash = ?').run(prev);
  });
}

async function reopen(file: string): Promise<SqliteStore> {
  const s = new SqliteStore(file);
  await s.init();
  return s;
}

describe('the signing key', () => {
  it('is created on first start beside the database, mode 0600, with its public half', async () => {
    const file = newFile();
    await federation(file);
    const key = path.join(path.dirname(file), 'audit-key.pem');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(publicKeyFileOf(key), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const store = await reopen(file);
    const head = (await store.auditHead())!;
    expect(head).toMatchObject({ seq: 9, keyId: loadAuditKey(key).keyId });
    expect(await store.listCheckpoints()).toHaveLength(3); // one per commit
    const v = await store.verifyAudit();
    expect(v).toMatchObject({ ok: true, anchors: { head: 'signed', signaturesChecked: true, checkpoints: 3 } });
    await store.close();
  });

  it("a commit's checkpoint names the head's entry, signed as a checkpoint: neither signature stands in for the other", async () => {
    const file = newFile();
    await federation(file);
    const store = await reopen(file);
    const head = (await store.auditHead())!;
    const last = (await store.listCheckpoints()).at(-1)!;
    // seq 9 at 3: the commit appended its entry and checkpointed at the same time
    expect(last).toMatchObject({ seq: head.seq, hash: head.hash, at: head.at, keyId: head.keyId });
    expect(last.signature).not.toBe(head.signature);
    expect(checkHeadSignature(last, loadAuditKey(path.join(path.dirname(file), 'audit-key.pem')))).toMatch(
      /does not verify/,
    );
    expect(await store.verifyAudit()).toMatchObject({ ok: true, anchors: { checkpoints: 3, legacyCheckpoints: 0 } });
    // A checkpoint's signature must be for its own statement: one made for entry 8 fails at 9.
    const key = loadAuditKey(path.join(path.dirname(file), 'audit-key.pem'));
    const other = key.signCheckpoint({ seq: 8, hash: head.hash, at: head.at });
    withFile(file, (db) => db.prepare('UPDATE audit_checkpoints SET signature = ? WHERE seq = 9').run(other.signature));
    const v = await store.verifyAudit();
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/signed checkpoint at entry 9 has a signature that does not verify/);
    await store.close();
  });

  it('a tail cut back to a checkpoint, with that checkpoint copied into the head, is found and refuses the start', async () => {
    const file = newFile();
    await federation(file);
    // Someone who can write the database but holds no key hides entries 7…9 (round 3).
    withFile(file, (db) => {
      const cp = db.prepare('SELECT * FROM audit_checkpoints WHERE seq = 6').get() as Record<string, unknown>;
      db.prepare('DELETE FROM audit WHERE seq > 6').run();
      db.prepare('DELETE FROM audit_checkpoints WHERE seq > 6').run();
      db.prepare('UPDATE audit_head SET seq = ?, hash = ?, at = ?, key_id = ?, signature = ? WHERE id = 1').run(
        cp.seq,
        cp.hash,
        cp.at,
        cp.key_id,
        cp.signature,
      );
    });
    const store = await reopen(file);
    const v = await store.verifyAudit();
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/the audit head \(entry 6\) has a signature that does not verify/);
    await expect(verifyStoredState(store, { version: 'x', now: () => 10 })).rejects.toThrow(StoredStateError);
    await store.close();
  });

  it('checkpoints an earlier version signed as heads verify, are named, and are re-signed at the next start', async () => {
    const file = newFile();
    await federation(file);
    const key = loadAuditKey(path.join(path.dirname(file), 'audit-key.pem'));
    // What the earlier version stored: each checkpoint signed with the head's statement.
    withFile(file, (db) => {
      for (const cp of db.prepare('SELECT seq, hash, at FROM audit_checkpoints').all() as {
        seq: number;
        hash: string;
        at: number;
      }[])
        db.prepare('UPDATE audit_checkpoints SET signature = ? WHERE seq = ?').run(key.sign(cp).signature, cp.seq);
    });
    const store = await reopen(file);
    const before = await store.verifyAudit();
    expect(before).toMatchObject({ ok: true, anchors: { checkpoints: 3, legacyCheckpoints: 3 } });
    expect(describeAnchors(before)).toContain(
      '3 signed checkpoints (3 signed as heads by an earlier version: the aggregator re-signs them at its next start)',
    );
    const report = await verifyStoredState(store, { version: 'x', now: () => 10 });
    expect(report.started.details).toMatchObject({ resignedCheckpoints: 3 });
    const after = await store.verifyAudit();
    // The three re-signed, and the start's own checkpoint.
    expect(after).toMatchObject({ ok: true, anchors: { checkpoints: 4, legacyCheckpoints: 0 } });
    for (const cp of await store.listCheckpoints()) expect(checkHeadSignature(cp, key)).toMatch(/does not verify/);
    await store.close();
    // A second start has nothing left to re-sign.
    const again = await reopen(file);
    expect((await verifyStoredState(again, { version: 'x', now: () => 11 })).started.details).not.toHaveProperty(
      'resignedCheckpoints',
    );
    await again.close();
  });

  it('a commit signs the head and its checkpoint, each once', () => {
    const db = new Database(':memory:');
    migrate(db);
    const key = loadAuditKey(path.join(root, `count-${++n}`, 'audit-key.pem'), { create: true });
    let heads = 0;
    let checkpoints = 0;
    const counting: AuditSigner = {
      ...key,
      sign: (h) => (heads++, key.sign(h)),
      signCheckpoint: (h) => (checkpoints++, key.signCheckpoint(h)),
    };
    const audit = new SqliteAudit(
      (sql) => db.prepare(sql),
      () => counting,
    );
    const input = { at: 5, type: 'round.committed', actor: 'system', details: {} };
    db.transaction(() => {
      audit.appendMany([checkedInput(input)]);
      audit.checkpoint(5); // what a commit does
    })();
    expect([heads, checkpoints]).toEqual([1, 1]);
    db.transaction(() => audit.appendMany([checkedInput({ ...input, at: 6 })]))();
    db.transaction(() => audit.checkpoint(7))();
    expect([heads, checkpoints]).toEqual([2, 2]);
    expect(audit.verify()).toMatchObject({ ok: true, anchors: { checkpoints: 2, signaturesChecked: true } });
    db.close();
  });

  it('refuses a key file others can read', () => {
    const dir = path.join(root, `loose-${++n}`);
    mkdirSync(dir);
    const key = path.join(dir, 'k.pem');
    loadAuditKey(key, { create: true });
    // Both halves: a key is never re-made beside the public half of a lost one.
    rmSync(key);
    rmSync(path.join(dir, 'k.pub.pem'));
    loadAuditKey(key, { create: true });
    writeFileSync(key, readFileSync(key), { mode: 0o644 });
    // writeFileSync keeps an existing file's mode: chmod explicitly.
    return import('node:fs').then((fs) => {
      fs.chmodSync(key, 0o644);
      expect(() => loadAuditKey(key)).toThrow(/readable by others .*chmod 600/);
    });
  });
});

describe('rewrites that the chain alone cannot show', () => {
  it('a deleted tail: detected, refused at start, and its seq is never reused', async () => {
    const file = newFile();
    await federation(file);
    withFile(file, (db) => db.prepare('DELETE FROM audit WHERE seq = 9').run());
    const store = await reopen(file);
    const v = await store.verifyAudit();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/signed checkpoint at entry 9 names entry 9, but the log ends at entry 8/),
        expect.stringMatching(/head says the log ends at entry 9, but it ends at entry 8/),
      ]),
    );
    await expect(verifyStoredState(store, { version: 'x', now: () => 1 })).rejects.toThrow(StoredStateError);
    expect((await store.appendAudit({ at: 1, type: 't', actor: 'a', details: {} })).seq).toBe(10);
    await store.close();
  });

  it('an old entry altered and every later hash recomputed: the signed head and checkpoints disagree', async () => {
    const file = newFile();
    await federation(file);
    rewriteFrom(file, 2, { roundId: 1, forged: true });
    const store = await reopen(file);
    const v = await store.verifyAudit();
    expect(v).toMatchObject({ ok: false, brokenAt: 3 });
    expect(v.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/signed checkpoint at entry 3 recorded entry 3 with hash .* the log was rewritten/),
        expect.stringMatching(/audit head \(entry 9\) has a signature that does not verify/),
      ]),
    );
    await store.close();
  });

  it('the same with the checkpoints deleted and the head signature stripped: still refused, never re-signed', async () => {
    const file = newFile();
    await federation(file);
    rewriteFrom(file, 2, { roundId: 1, forged: true });
    withFile(file, (db) => {
      db.prepare('DELETE FROM audit_checkpoints').run();
      db.prepare('UPDATE audit_head SET signature = NULL, key_id = NULL').run();
    });
    for (let i = 0; i < 2; i++) {
      const store = await reopen(file);
      const v = await store.verifyAudit();
      expect(v.ok).toBe(false);
      expect(v.reason).toMatch(/audit head \(entry 9\) is not signed/);
      await store.close();
    }
  });

  it('a rewrite re-signed with a stolen key: only the banks’ heads show it, naming file and line', async () => {
    const file = newFile();
    const { heads } = await federation(file);
    rewriteFrom(file, 2, { roundId: 1, forged: true });
    // The forger holds the key: re-sign the head and every checkpoint.
    const signer = loadAuditKey(path.join(path.dirname(file), 'audit-key.pem'));
    withFile(file, (db) => {
      const hashOf = (seq: number) =>
        (db.prepare('SELECT hash FROM audit WHERE seq = ?').get(seq) as { hash: string }).hash;
      const h = db.prepare('SELECT seq, at FROM audit_head').get() as { seq: number; at: number };
      const s = signer.sign({ seq: h.seq, hash: hashOf(h.seq), at: h.at });
      db.prepare('UPDATE audit_head SET hash = ?, signature = ?').run(s.hash, s.signature);
      for (const cp of db.prepare('SELECT seq, at FROM audit_checkpoints').all() as { seq: number; at: number }[]) {
        const c = signer.signCheckpoint({ seq: cp.seq, hash: hashOf(cp.seq), at: cp.at });
        db.prepare('UPDATE audit_checkpoints SET hash = ?, signature = ? WHERE seq = ?').run(
          c.hash,
          c.signature,
          cp.seq,
        );
      }
    });
    const store = await reopen(file);
    expect((await store.verifyAudit()).ok).toBe(true); // the key's anchors are forged too
    const v = await store.verifyAudit({ bankHeads: readBankHeads(heads) });
    expect(v.ok).toBe(false);
    expect(v.reason).toContain(`bank heads file ${heads}:1 (round 2) recorded entry 3`);
    expect(v.anchors).toMatchObject({ bankHeads: 2 });
    await store.close();
  });
});

describe('finsecure-aggregator audit verify', () => {
  async function run(args: string[]): Promise<{ code: number; text: string }> {
    let text = '';
    let code = -1;
    await auditCommand(
      (s) => (text += s),
      (c) => (code = c),
    ).parseAsync(args, { from: 'user' });
    return { code, text };
  }

  it('says what it checked against, and exits 0 on a sound store', async () => {
    const file = newFile();
    const { heads } = await federation(file);
    const { code, text } = await run(['verify', '--sqlite-path', file, '--bank-heads', heads]);
    expect(text).toMatch(/audit log: 9 entries, ok/);
    expect(text).toMatch(
      /checked against: signed head at entry 9 \(key [0-9a-f]{16}\), 3 signed checkpoints, 2 heads kept by banks/,
    );
    expect(text).toMatch(/stored data: 3 models, 3 sealed rounds, database pages: ok/);
    expect(code).toBe(0);
  });

  it('exits 1 and lists the problems of a tampered store', async () => {
    const file = newFile();
    await federation(file);
    withFile(file, (db) => db.prepare('DELETE FROM audit WHERE seq = 9').run());
    const { code, text } = await run(['verify', '--sqlite-path', file]);
    expect(code).toBe(1);
    expect(text).toMatch(/audit log: 8 entries, FAILED/);
    expect(text).toMatch(/problem: .*entries 9…9 were removed/);
  });

  it('exits 2 naming the line of a malformed bank heads file', async () => {
    const file = newFile();
    const { heads } = await federation(file);
    writeFileSync(heads, `${readFileSync(heads, 'utf8')}{"seq": "x"}\n`);
    const { code, text } = await run(['verify', '--sqlite-path', file, '--bank-heads', heads]);
    expect(code).toBe(2);
    expect(text).toContain(`${heads}:3:1: "seq" must be a positive integer`);
  });
});

describe('the bank side', () => {
  it('keeps every head it is sent, appended, and logs a head that goes backwards', () => {
    const dir = path.join(root, `bank-${++n}`);
    const logged: unknown[] = [];
    const logger = pino({ level: 'error' }, { write: (s: string) => void logged.push(JSON.parse(s)) });
    const log = new AuditHeadLog(dir, logger);
    const e = (seq: number): Pick<AuditEntry, 'seq' | 'hash'> => ({ seq, hash: String(seq % 10).repeat(64) });
    log.record(1, e(5), 100);
    log.record(2, e(9), 200);
    expect(logged).toHaveLength(0);
    log.record(3, e(7), 300); // the aggregator's log went backwards
    expect(logged).toHaveLength(1);
    expect(readBankHeads(log.file).map((h) => h.seq)).toEqual([5, 9, 7]);
    expect(statSync(log.file).mode & 0o077).toBe(0);
  });
});

describe('bank heads file', () => {
  it("names the export command when given the bank's encrypted file, and the parse error otherwise", () => {
    expect(() => parseBankHeads('RlNFMc+3hnQ0aWJ2b3c=\n', 'audit-heads.jsonl')).toThrow(
      "audit-heads.jsonl:1:1: this looks like the bank's encrypted heads file; export it on the bank's host with `finsecure-bank audit-heads > heads.jsonl` and pass that file",
    );
    expect(() => parseBankHeads('{"seq": 1,\n', 'h.jsonl')).toThrow(/^h\.jsonl:1:1: not JSON \(/);
  });
});
