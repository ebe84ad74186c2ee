/**
 * What the store refuses so that a federation's state is never silently replaced (review of the
 * store, items 1–5): a second aggregator on one data directory, a database whose write-ahead log
 * was lost, a committed round's model overwritten, a missing audit key, a read-only data
 * directory. Real SQLite files in temp dirs, real aggregators.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditCommand } from '../src/cli/audit.js';
import { usersCommand } from '../src/cli/users.js';
import { verifyStoredState } from '../src/audit/startup.js';
import { lockFileOf } from '../src/store/instance-lock.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { StoreConflictError } from '../src/store/types.js';
import { model, randomWeights, round } from './store-contract.js';
import { api, cleanup, createBank, startTestAggregator, tempDir } from './helpers/federation.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('finsecure-safety-');
});
afterEach(() => cleanup(dir));

const dbIn = (d: string) => path.join(d, 'finsecure.db');

/** A store with models v0..v`rounds` and rounds 1..`rounds`, committed with their audit entries. */
async function federation(file: string, rounds: number): Promise<SqliteStore> {
  const store = new SqliteStore(file);
  await store.init();
  await store.saveModel(model(0, randomWeights(16)));
  for (let i = 1; i <= rounds; i++)
    await store.commitRoundAudited(round(i), model(i, randomWeights(16)), {
      at: i,
      type: 'round.committed',
      actor: 'system',
      details: {},
    });
  return store;
}

/** A pid that surely is not running: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('one aggregator per data directory (instance lock)', () => {
  it('refuses a second aggregator on the same data directory, naming it, the holder and what to do', async () => {
    const dataDir = path.join(dir, 'data');
    const first = await startTestAggregator(dataDir);
    try {
      await createBank(first, 'north');
      const before = (await api<unknown[]>(first, 'GET', '/api/audit?limit=1000')).body.length;
      const err = await startTestAggregator(dataDir, { port: 0 }).then(
        async (second) => {
          await second.close();
          return null;
        },
        (e: Error) => e,
      );
      expect(err?.message).toContain(`data directory ${dataDir} is in use by another aggregator`);
      expect(err?.message).toContain(`${dbIn(dataDir)}.lock`);
      expect(err?.message).toContain(`pid ${process.pid}`);
      expect(err?.message).toMatch(/Stop the other aggregator first/);
      // The first one is untouched: no start, no failed round, no stop of the refused one in its log.
      const log = (await api<{ type: string }[]>(first, 'GET', '/api/audit?limit=1000')).body;
      expect(log.length).toBe(before);
      expect((await api(first, 'GET', '/api/status')).status).toBe(200);
    } finally {
      await first.close();
    }
    // Released at close: the next start takes it.
    expect(existsSync(`${dbIn(dataDir)}.lock`)).toBe(false);
    const again = await startTestAggregator(dataDir);
    await again.close();
  });

  it('takes over a stale lock of a process that no longer runs on this host, and says so', async () => {
    const file = dbIn(dir);
    await federation(file, 1).then((s) => s.close());
    const pid = deadPid();
    writeFileSync(
      lockFileOf(file),
      JSON.stringify({ pid, hostname: hostname(), lockedAt: 1_700_000_000_000, processStart: null }),
    );
    const logged: string[] = [];
    const store = new SqliteStore(file, { log: (m) => logged.push(m) });
    await store.init();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`process ${pid} is not running`);
    expect(JSON.parse(readFileSync(lockFileOf(file), 'utf8')).pid).toBe(process.pid);
    await store.close();
    expect(existsSync(lockFileOf(file))).toBe(false);
  });

  it('refuses a lock held by another host, or a second open in this process; memory stores never lock', async () => {
    const file = dbIn(dir);
    writeFileSync(lockFileOf(file), JSON.stringify({ pid: 1, hostname: 'elsewhere.example', lockedAt: 0 }));
    await expect(new SqliteStore(file).init()).rejects.toThrow(
      /held by process 1 on host elsewhere\.example .*check on host elsewhere\.example/s,
    );
    // Refused before anything was created or changed.
    expect(existsSync(file)).toBe(false);
    unlinkSync(lockFileOf(file));

    const first = new SqliteStore(file);
    await first.init();
    await expect(new SqliteStore(file).init()).rejects.toThrow(/held by this same process/);
    const a = new SqliteStore(':memory:');
    const b = new SqliteStore(':memory:');
    await a.init();
    await b.init();
    await Promise.all([a.close(), b.close(), first.close()]);
  });

  it('lets `audit verify` and `users` work beside a running aggregator (they do not take the lock)', async () => {
    const dataDir = path.join(dir, 'data');
    const agg = await startTestAggregator(dataDir);
    try {
      let text = '';
      let code = -1;
      await auditCommand(
        (s) => (text += s),
        (c) => (code = c),
      ).parseAsync(['verify', '--data-dir', dataDir], { from: 'user' });
      expect(text).toMatch(/audit log: \d+ entries, ok/);
      expect(code).toBe(0);
      let out = '';
      const users = usersCommand((s) => void (out += s));
      users.exitOverride();
      await users.parseAsync(['list', '--data-dir', dataDir], { from: 'user' });
      expect(out).toMatch(/admin/);
    } finally {
      await agg.close();
    }
  });
});

describe("the data directory's mode", () => {
  it('is made 0700; one made beforehand open to others is left as it is, with a warning naming it', async () => {
    const made = path.join(dir, 'new-data');
    const logged: string[] = [];
    const fresh = new SqliteStore(dbIn(made), { log: (m) => logged.push(m) });
    await fresh.init();
    await fresh.close();
    expect(statSync(made).mode & 0o777).toBe(0o700);
    expect(logged).toEqual([]);
    const shared = path.join(dir, 'shared-data');
    mkdirSync(shared);
    chmodSync(shared, 0o750);
    const store = new SqliteStore(dbIn(shared), { log: (m) => logged.push(m) });
    await store.init();
    await store.close();
    expect(statSync(shared).mode & 0o777).toBe(0o750);
    expect(logged).toEqual([
      expect.stringContaining(`${shared} is open to other users of this machine (mode 0750): \`chmod 700 ${shared}\``),
    ]);
  });
});

describe('a database whose write-ahead log was lost', () => {
  it('is refused, naming the file, the missing -wal and how to back up', async () => {
    const file = dbIn(dir);
    const store = await federation(file, 2);
    // A copy of the .db alone while the store is open: everything is still in the -wal.
    const copy = path.join(dir, 'copy');
    mkdirSync(copy);
    writeFileSync(dbIn(copy), readFileSync(file));
    writeFileSync(path.join(copy, 'audit-key.pem'), readFileSync(path.join(dir, 'audit-key.pem')), { mode: 0o600 });
    await store.close();
    const err = await new SqliteStore(dbIn(copy)).init().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`database file ${dbIn(copy)} holds no tables`);
    expect(err?.message).toContain(`write-ahead log ${dbIn(copy)}-wal is probably missing`);
    expect(err?.message).toMatch(/\.backup/);
    // Nothing was created in it: it still holds no tables.
    const db = new Database(dbIn(copy), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM sqlite_master').get() as { n: number }).n).toBe(0);
    db.close();
  });

  it('a new data directory still starts a new federation', async () => {
    const store = new SqliteStore(dbIn(dir));
    await store.init();
    expect(await store.maxRoundId()).toBe(0);
    await store.close();
  });
});

describe("a committed round's model", () => {
  it('cannot be overwritten (saveModel and commitRound raise StoreConflictError)', async () => {
    const store = await federation(dbIn(dir), 1);
    const before = await store.getModel(1);
    await expect(store.saveModel({ ...model(1, randomWeights(16)), roundId: null })).rejects.toThrow(
      StoreConflictError,
    );
    await expect(store.saveModel(model(1, randomWeights(16)))).rejects.toThrow(
      /model version 1 is the model of committed round 1 \(sealed by audit entry \d+\)/,
    );
    expect((await store.getModel(1))!.sha256).toBe(before!.sha256);
    // A model of a round not committed (left by an interrupted commit) may still be replaced.
    await store.saveRound(round(2, 'training', { modelVersion: null }));
    await store.saveModel(model(2, randomWeights(16)));
    await store.saveModel(model(2, randomWeights(16)));
    await store.close();
  });

  it('is checked against the sha256 its seal recorded', async () => {
    const file = dbIn(dir);
    const store = await federation(file, 2);
    await store.close();
    // Replaced behind the store's back, with a sha256 that matches the new weights.
    const other = model(1, randomWeights(16));
    const db = new Database(file);
    db.prepare('UPDATE models SET sha256 = ?, weights = ? WHERE version = 1').run(
      other.sha256,
      Buffer.from(other.weights.buffer, other.weights.byteOffset, other.weights.byteLength),
    );
    db.close();
    const again = new SqliteStore(file);
    await again.init();
    const report = await again.checkStorage();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `file ${file}, table models, version 1: the model of committed round 1 has sha256 ${other.sha256}, but audit entry \\d+ sealed [0-9a-f]{64}`,
        ),
      ),
    ]);
    await expect(verifyStoredState(again, { version: 't', now: () => 1 })).rejects.toThrow(/model was replaced/);
    await again.close();
  });
});

describe('a missing audit key', () => {
  it('is refused when the log has entries, and neither key file is written', async () => {
    const file = dbIn(dir);
    const store = await federation(file, 1);
    const keyId = (await store.auditHead())!.keyId!;
    await store.close();
    const pub = path.join(dir, 'audit-key.pub.pem');
    const pubBefore = readFileSync(pub, 'utf8');
    unlinkSync(path.join(dir, 'audit-key.pem'));
    await expect(new SqliteStore(file).init()).rejects.toThrow(
      `audit key ${path.join(dir, 'audit-key.pem')} is missing; the log is signed by key ${keyId}`,
    );
    expect(existsSync(path.join(dir, 'audit-key.pem'))).toBe(false);
    expect(readFileSync(pub, 'utf8')).toBe(pubBefore);
    // Without its public half too: still refused, still nothing written.
    unlinkSync(pub);
    await expect(new SqliteStore(file).init()).rejects.toThrow(/is missing; the log is signed by key/);
    expect(existsSync(path.join(dir, 'audit-key.pem'))).toBe(false);
    expect(existsSync(pub)).toBe(false);
  });

  it('is never replaced when its public half exists', async () => {
    const pub = path.join(dir, 'audit-key.pub.pem');
    writeFileSync(pub, 'the public key auditors hold\n');
    await expect(new SqliteStore(dbIn(dir)).init()).rejects.toThrow(/audit-key\.pem is missing but its public key/);
    expect(readFileSync(pub, 'utf8')).toBe('the public key auditors hold\n');
  });
});

/** A tmpfs mounted read-only with a store in it (root only, where mount is allowed); null elsewhere. */
function readOnlyStoreDir(): string | null {
  if (process.getuid?.() !== 0) return null;
  const mnt = path.join(dir, 'ro');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return mnt;
}

describe('a read-only data directory', () => {
  it('is refused naming the file and why', async (ctx) => {
    const mnt = readOnlyStoreDir();
    if (!mnt) return ctx.skip();
    try {
      const store = await federation(dbIn(mnt), 1);
      await store.close();
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      await expect(new SqliteStore(dbIn(mnt)).init()).rejects.toThrow(
        `cannot create the instance lock ${dbIn(mnt)}.lock in data directory ${mnt}: the file system is read-only`,
      );
      // Without the lock (audit verify): the database file itself, and why.
      await expect(new SqliteStore(dbIn(mnt), { instanceLock: false }).init()).rejects.toThrow(
        new RegExp(`^cannot open database file ${dbIn(mnt)}: ${mnt} is on a read-only file system`),
      );
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});

/** A real trigger that makes SQLite refuse every round.failed entry, as a full disk or a crash would. */
const REFUSE_ROUND_FAILED = `CREATE TRIGGER refuse_round_failed BEFORE INSERT ON audit WHEN NEW.type = 'round.failed'
  BEGIN SELECT RAISE(ABORT, 'round.failed refused by the test'); END`;

describe('a failed round and its round.failed entry', () => {
  it('are stored together or not at all (saveRoundAudited)', async () => {
    const file = dbIn(dir);
    const store = await federation(file, 1);
    await store.saveRound(round(2, 'training', { modelVersion: null }));
    const db = new Database(file);
    db.exec(REFUSE_ROUND_FAILED);
    const failed = round(2, 'failed', { modelVersion: null, failureReason: 'timeout' });
    const entry = { at: 5, type: 'round.failed', actor: 'system', details: { roundId: 2, reason: 'timeout' } };
    await expect(store.saveRoundAudited(failed, entry)).rejects.toThrow(/refused by the test/);
    expect((await store.getRound(2))!.status).toBe('training');
    db.exec('DROP TRIGGER refuse_round_failed');
    db.close();
    const written = await store.saveRoundAudited(failed, entry);
    expect((await store.getRound(2))!.status).toBe('failed');
    expect((await store.listAudit()).at(-1)).toEqual(written);
    await store.close();
  });

  it('a restart fails an interrupted round only together with its entry', async () => {
    const dataDir = path.join(dir, 'data');
    const file = dbIn(dataDir);
    await (await startTestAggregator(dataDir)).close();
    // A round in flight when the aggregator died.
    const store = new SqliteStore(file);
    await store.init();
    await store.saveRound(round(2, 'training', { modelVersion: null, baseModelVersion: 0 }));
    await store.close();
    const db = new Database(file);
    db.exec(REFUSE_ROUND_FAILED);
    db.close();
    await expect(startTestAggregator(dataDir)).rejects.toThrow(/refused by the test/);
    const check = new Database(file);
    expect(check.prepare('SELECT status FROM rounds WHERE id = 2').get()).toEqual({ status: 'training' });
    check.exec('DROP TRIGGER refuse_round_failed');
    check.close();
    const agg = await startTestAggregator(dataDir);
    try {
      const log = (
        await api<{ type: string; details: { roundId?: number; reason?: string } }[]>(
          agg,
          'GET',
          '/api/audit?limit=1000',
        )
      ).body;
      expect(log.filter((e) => e.type === 'round.failed')).toEqual([
        expect.objectContaining({ details: { roundId: 2, reason: 'aggregator restarted' } }),
      ]);
      expect((await api<{ status: string }>(agg, 'GET', '/api/rounds/2')).body.status).toBe('failed');
    } finally {
      await agg.close();
    }
  });
});
