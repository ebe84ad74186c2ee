/**
 * The SQLite store's audit group commit (store/sqlite-audit-batch.ts): appends of one batch window
 * share one transaction and one head signature, and none of the chain's guarantees move:
 * order, head = last stored entry after every commit, reads and seals see every append made
 * before them, bad input rejected alone, a failed batch stores nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHeadSignature, loadAuditKey, type AuditSigner } from '../src/audit/index.js';
import { SqliteStore } from '../src/store/index.js';
import { SqliteAudit } from '../src/store/sqlite-audit.js';
import { AUDIT_BATCH_MAX } from '../src/store/sqlite-audit-batch.js';
import { migrate } from '../src/store/sqlite-schema.js';
import { checkedInput } from '../src/audit/chain.js';
import type { AuditInput } from '../src/store/types.js';

const root = mkdtempSync(path.join(tmpdir(), 'finsecure-audit-batch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newFile = () => path.join(root, `case-${++n}`, 'finsecure.db');
const input = (i: number): AuditInput => ({
  at: 1_000 + i,
  type: 'update.accepted',
  actor: `bank-${i}`,
  details: { i },
});

/** Head and last entry as another process reading the file sees them. */
function onDisk(file: string): {
  headSeq: number | null;
  lastSeq: number | null;
  headHash: string | null;
  lastHash: string | null;
} {
  const db = new Database(file, { readonly: true });
  try {
    const head = db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as
      { seq: number; hash: string } | undefined;
    const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; hash: string } | undefined;
    return {
      headSeq: head?.seq ?? null,
      lastSeq: last?.seq ?? null,
      headHash: head?.hash ?? null,
      lastHash: last?.hash ?? null,
    };
  } finally {
    db.close();
  }
}

describe('audit group commit (SQLite)', () => {
  it('writes the appends of one turn in order, in one commit whose head names the last entry', async () => {
    const file = newFile();
    const store = new SqliteStore(file);
    await store.init();
    await store.appendAudit(input(0));
    // 200 appends without awaiting: nothing is on disk until the turn ends...
    const pending = Array.from({ length: 200 }, (_, i) => store.appendAudit(input(i + 1)));
    expect(onDisk(file)).toMatchObject({ headSeq: 1, lastSeq: 1 });
    const entries = await Promise.all(pending);
    // ...then all of them, in call order, and the signed head moved to the last one.
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    expect(entries.map((e) => e.actor)).toEqual(Array.from({ length: 200 }, (_, i) => `bank-${i + 1}`));
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
    expect(onDisk(file)).toEqual({
      headSeq: 201,
      lastSeq: 201,
      headHash: entries[199]!.hash,
      lastHash: entries[199]!.hash,
    });
    const head = (await store.auditHead())!;
    expect(checkHeadSignature(head, loadAuditKey(path.join(path.dirname(file), 'audit-key.pem')))).toBeNull();
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 201 });
    await store.close();
  });

  it('deferred appends of several turns share one commit; AUDIT_BATCH_MAX waiting or an awaited append ends the window', async () => {
    const file = newFile();
    // A window no test waits out: only a read, a full batch or an awaited append can write the appends.
    const store = new SqliteStore(file, { auditBatchWindowMs: 600_000 });
    await store.init();
    const deferred = { deferred: true };
    const early = [store.appendAudit(input(1), deferred)];
    await new Promise((r) => setImmediate(r));
    early.push(store.appendAudit(input(2), deferred));
    await new Promise((r) => setTimeout(r, 5));
    expect(onDisk(file)).toMatchObject({ headSeq: null, lastSeq: null });
    // A full batch: written in the next turn, with the earlier ones of the window, under one head.
    const rest = Array.from({ length: AUDIT_BATCH_MAX - 2 }, (_, i) => store.appendAudit(input(i + 3), deferred));
    const entries = await Promise.all([...early, ...rest]);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: AUDIT_BATCH_MAX }, (_, i) => i + 1));
    expect(onDisk(file)).toMatchObject({ headSeq: AUDIT_BATCH_MAX, lastSeq: AUDIT_BATCH_MAX });
    // One batch: one signature, so the head's is the only one, and it verifies.
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: AUDIT_BATCH_MAX });
    // A deferred append, then an awaited one: both are written at the end of the turn.
    const more = store.appendAudit(input(9_998), deferred);
    expect((await store.appendAudit(input(9_999))).seq).toBe(AUDIT_BATCH_MAX + 2);
    expect((await more).seq).toBe(AUDIT_BATCH_MAX + 1);
    expect(onDisk(file)).toMatchObject({ headSeq: AUDIT_BATCH_MAX + 2, lastSeq: AUDIT_BATCH_MAX + 2 });
    await store.close();
  });

  it('a deferred append is written on its own when its window ends, and by close() before that', async () => {
    const file = newFile();
    const store = new SqliteStore(file, { auditBatchWindowMs: 20 });
    await store.init();
    // Nothing else touches the store: only the window's timer can write it (the promise settles then).
    const entry = await store.appendAudit(input(1), { deferred: true });
    expect(entry.seq).toBe(1);
    expect(onDisk(file)).toMatchObject({ headSeq: 1, lastSeq: 1 });
    await store.close();

    const file2 = newFile();
    const slow = new SqliteStore(file2, { auditBatchWindowMs: 600_000 });
    await slow.init();
    const pending = slow.appendAudit(input(2), { deferred: true });
    await slow.close();
    expect((await pending).seq).toBe(1);
    expect(onDisk(file2)).toMatchObject({ headSeq: 1, lastSeq: 1 });
  });

  it('any other use of the store writes the waiting appends first (reads, seals, checkpoints, close)', async () => {
    const file = newFile();
    const store = new SqliteStore(file);
    await store.init();
    const a = store.appendAudit(input(1));
    // Read in the same turn: the append is already there.
    expect((await store.listAudit()).map((e) => e.seq)).toEqual([1]);
    const b = store.appendAudit(input(2));
    const cp = await store.checkpointAudit(5_000);
    expect(cp?.seq).toBe(2);
    const c = store.appendAudit(input(3));
    await store.close();
    // close() wrote the last one before closing the file.
    expect((await Promise.all([a, b, c])).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(onDisk(file)).toMatchObject({ headSeq: 3, lastSeq: 3 });
    const again = new SqliteStore(file);
    await again.init();
    expect(await again.verifyAudit()).toMatchObject({ ok: true, entries: 3 });
    await again.close();
  });

  it('rejects bad input alone and at once; the others of the turn are stored', async () => {
    const store = new SqliteStore(newFile());
    await store.init();
    const ok1 = store.appendAudit(input(1));
    const bad = store.appendAudit({ at: Number.NaN, type: 'x', actor: 'y', details: {} });
    const ok2 = store.appendAudit(input(2));
    await expect(bad).rejects.toThrow(/finite timestamp/);
    expect((await Promise.all([ok1, ok2])).map((e) => e.seq)).toEqual([1, 2]);
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 2 });
    await store.close();
    await expect(store.appendAudit(input(3))).rejects.toThrow(/not open/);
  });

  it('a batch whose transaction fails stores nothing and rejects each append; the chain stays whole', async () => {
    const file = newFile();
    const store = new SqliteStore(file, { busyTimeoutMs: 100 });
    await store.init();
    await store.appendAudit(input(1));
    // Another connection holds the write lock past the busy timeout: the batch's IMMEDIATE transaction fails.
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    const results = await Promise.allSettled([store.appendAudit(input(2)), store.appendAudit(input(3))]);
    other.prepare('ROLLBACK').run();
    other.close();
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
    expect(onDisk(file)).toMatchObject({ headSeq: 1, lastSeq: 1 });
    const next = await store.appendAudit(input(4));
    expect(next.seq).toBe(2);
    expect(await store.verifyAudit()).toMatchObject({ ok: true, entries: 2 });
    await store.close();
  });

  it('appendMany signs the head once per batch, append once per entry', () => {
    const db = new Database(':memory:');
    migrate(db);
    const real = loadAuditKey(path.join(root, `key-${++n}.pem`), { create: true });
    let signatures = 0;
    const counting: AuditSigner = {
      keyId: real.keyId,
      publicKey: real.publicKey,
      sign: (h) => {
        signatures++;
        return real.sign(h);
      },
      signCheckpoint: (h) => real.signCheckpoint(h),
    };
    const audit = new SqliteAudit(
      (sql) => db.prepare(sql),
      () => counting,
    );
    const tx = <T>(fn: () => T) => db.transaction(fn).immediate();
    tx(() => audit.appendMany(Array.from({ length: 50 }, (_, i) => checkedInput(input(i)))));
    expect(signatures).toBe(1);
    tx(() => audit.append(input(50)));
    tx(() => audit.append(input(51)));
    expect(signatures).toBe(3);
    expect(audit.head()?.seq).toBe(52);
    expect(audit.verify()).toMatchObject({ ok: true, entries: 52 });
    db.close();
  });
});
