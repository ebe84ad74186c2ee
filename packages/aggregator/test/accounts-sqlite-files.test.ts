/**
 * restrictSqliteFiles (@finsecure/accounts/sqlite-files), shared by the aggregator's SQLite store
 * and the bank console's database: a new database file is created 0600, an existing one and its
 * -wal, -shm and -journal lose group and other permissions, and a file whose mode cannot be
 * changed (another user's) is a clear error, alike from both callers. Real files in a temporary
 * directory under umask 022; only chmodSync's EPERM (which root, running the tests, never gets) is
 * simulated.
 */
import { chmodSync, existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { restrictSqliteFiles, SQLITE_COMPANIONS } from '@finsecure/accounts/sqlite-files';
import { ConsoleDb } from '@finsecure/bank-client';
import { SqliteStore } from '../src/store/sqlite.js';
import { cleanup, tempDir } from './helpers/federation.js';

/** When set, chmodSync throws it (a file another user owns, as seen by a non-root process). */
const chmodFailure = vi.hoisted(() => ({ error: null as NodeJS.ErrnoException | null }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const chmod = (...args: Parameters<typeof actual.chmodSync>) => {
    if (chmodFailure.error) throw chmodFailure.error;
    return actual.chmodSync(...args);
  };
  return { ...actual, default: { ...actual, chmodSync: chmod }, chmodSync: chmod };
});

const errno = (code: string) => Object.assign(new Error(`${code}: operation failed`), { code });
const mode = (file: string) => statSync(file).mode & 0o777;

let dir: string;
let umask: number;
beforeEach(() => {
  dir = tempDir();
  // The usual umask, whatever this machine's is: it lets SQLite's default 0644 through.
  umask = process.umask(0o022);
});
afterEach(() => {
  chmodFailure.error = null;
  vi.restoreAllMocks();
  process.umask(umask);
  cleanup(dir);
});

describe('restrictSqliteFiles', () => {
  it('creates a missing database file empty with mode 0600, and no companion', () => {
    const file = path.join(dir, 'new.db');
    restrictSqliteFiles(file);
    expect(mode(file)).toBe(0o600);
    expect(statSync(file).size).toBe(0);
    for (const s of SQLITE_COMPANIONS) expect(existsSync(`${file}${s}`)).toBe(false);
  });

  it('creates it 0600 under umask 0 too', () => {
    const file = path.join(dir, 'umask0.db');
    process.umask(0);
    restrictSqliteFiles(file);
    expect(mode(file)).toBe(0o600);
  });

  it('a database it created keeps its WAL and SHM 0600 when SQLite makes them', () => {
    const file = path.join(dir, 'wal.db');
    restrictSqliteFiles(file);
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual([0o600, 0o600, 0o600]);
    } finally {
      db.close();
    }
  });

  it('takes group and other permissions off an existing database, keeping its content', () => {
    const file = path.join(dir, 'old.db');
    writeFileSync(file, 'not empty');
    chmodSync(file, 0o644);
    restrictSqliteFiles(file);
    expect(mode(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('not empty');
  });

  it('only takes permissions away: owner bits are kept, never added', () => {
    const cases = { wide: [0o777, 0o700], readOnly: [0o444, 0o400], ownerOnly: [0o600, 0o600], strict: [0o400, 0o400] };
    for (const [name, [before, after]] of Object.entries(cases)) {
      const file = path.join(dir, `${name}.db`);
      writeFileSync(file, '');
      chmodSync(file, before!);
      restrictSqliteFiles(file);
      expect({ name, mode: mode(file) }).toEqual({ name, mode: after });
    }
  });

  it('restricts the -wal, -shm and -journal an older version left 0644, and skips missing ones', () => {
    const file = path.join(dir, 'companions.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    for (const s of ['-wal', '-shm', '-journal']) {
      writeFileSync(`${file}${s}`, '');
      chmodSync(`${file}${s}`, s === '-shm' ? 0o666 : 0o644);
    }
    restrictSqliteFiles(file);
    expect([file, `${file}-wal`, `${file}-shm`, `${file}-journal`].map(mode)).toEqual([0o600, 0o600, 0o600, 0o600]);

    const other = path.join(dir, 'wal-only.db');
    writeFileSync(other, '');
    writeFileSync(`${other}-wal`, '');
    chmodSync(`${other}-wal`, 0o640);
    restrictSqliteFiles(other);
    expect(mode(`${other}-wal`)).toBe(0o600);
    expect(existsSync(`${other}-shm`)).toBe(false);
    expect(existsSync(`${other}-journal`)).toBe(false);
  });

  it('does not create a file through a symlink at the database path', () => {
    const target = path.join(dir, 'elsewhere.db');
    const file = path.join(dir, 'link.db');
    symlinkSync(target, file);
    restrictSqliteFiles(file);
    expect(existsSync(target)).toBe(false);
  });

  it('throws what the file system says when the file cannot be created', () => {
    const notADir = path.join(dir, 'plain-file');
    writeFileSync(notADir, '');
    expect(() => restrictSqliteFiles(path.join(notADir, 'x.db'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }) as Error,
    );
  });
});

describe('a file whose mode cannot be changed', () => {
  /** A database with a WAL left 0644, which chmodSync cannot change (another user's, as a non-root process sees it). */
  function foreignWal(name: string): string {
    chmodFailure.error = null;
    const file = path.join(dir, name);
    new Database(file).exec('CREATE TABLE t (x)').close();
    writeFileSync(`${file}-wal`, '');
    chmodSync(file, 0o600);
    chmodSync(`${file}-wal`, 0o644);
    chmodFailure.error = errno('EPERM');
    return file;
  }

  it('is a clear error naming the file, its mode, its owner and the chmod to run, not a raw EPERM', () => {
    const file = foreignWal('foreign.db');
    const owner = statSync(`${file}-wal`).uid;
    vi.spyOn(process, 'getuid').mockReturnValue(owner + 4242);
    let thrown: Error | undefined;
    try {
      restrictSqliteFiles(file);
    } catch (err) {
      thrown = err as Error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown!.message).toBe(
      `${file}-wal is readable by other users (mode 0644) and its permissions cannot be restricted: ` +
        `it belongs to uid ${owner}, not to this process (uid ${owner + 4242}). ` +
        `As its owner or root, run: chmod go-rwx '${file}-wal', then try again.`,
    );
    expect((thrown as { code?: string }).code).toBeUndefined();
    expect((thrown!.cause as NodeJS.ErrnoException).code).toBe('EPERM');
  });

  it('says why when the owner itself cannot change it (an immutable file)', () => {
    const file = foreignWal('immutable.db');
    expect(() => restrictSqliteFiles(file)).toThrow(
      `${file}-wal is readable by other users (mode 0644) and its permissions cannot be restricted: ` +
        `EPERM: operation failed. As its owner or root, run: chmod go-rwx '${file}-wal', then try again.`,
    );
  });

  it('is the same error from the aggregator store and the bank console', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(4242);
    const store = foreignWal('aggregator.db');
    const rejected = await new SqliteStore(store, { auditKeyFile: null }).init().then(
      () => null,
      (err: Error) => err,
    );
    expect(rejected?.message).toMatch(
      new RegExp(
        `^${store}-wal is readable by other users .* it belongs to uid \\d+, not to this process \\(uid 4242\\)`,
      ),
    );
    const consoleFile = foreignWal('console.sqlite');
    expect(() => new ConsoleDb(consoleFile)).toThrow(
      new RegExp(
        `^${consoleFile}-wal is readable by other users .* it belongs to uid \\d+, not to this process \\(uid 4242\\)`,
      ),
    );
  });

  it('other failures to change the mode are thrown as they are', () => {
    const file = foreignWal('readonly-fs.db');
    chmodFailure.error = errno('EROFS');
    expect(() => restrictSqliteFiles(file)).toThrow(expect.objectContaining({ code: 'EROFS' }) as Error);
  });
});
