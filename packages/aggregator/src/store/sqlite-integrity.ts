/**
 * Start-up checks of the SQLite file itself, before anything is read from it:
 * - an empty (0-byte) or missing database beside the state of an existing federation
 *   (its audit key, local tokens, a write-ahead log) was truncated or lost; opening it
 *   would silently start a brand-new federation, so it is refused;
 * - a database that holds no tables at all beside that state lost its write-ahead log: in WAL
 *   mode the tables may live only in `<file>-wal` until a checkpoint, so a copy of the .db alone
 *   (or a deleted -wal) is an empty database; it is refused too;
 * - `PRAGMA quick_check` (O(N), no index cross-check: milliseconds for thousands of
 *   rounds) finds damaged pages; each problem is reported with the table it belongs to.
 */
import { accessSync, constants, existsSync, statSync, statfsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** Files beside the database that only an existing federation leaves. */
const STATE_FILES = ['local-tokens.json'];

/**
 * @param keyFile the audit signing key the store uses (null: none).
 * @throws Error naming the database file and the state found beside it.
 */
export function checkDatabaseFile(file: string, keyFile: string | null): void {
  const size = existsSync(file) ? statSync(file).size : null;
  if (size !== null && size > 0) return;
  const dir = path.dirname(path.resolve(file));
  const state: string[] = [];
  if (keyFile && existsSync(keyFile)) state.push(`audit signing key ${keyFile}`);
  if (size === 0) {
    for (const f of STATE_FILES) if (existsSync(path.join(dir, f))) state.push(path.join(dir, f));
    const wal = `${file}-wal`;
    if (existsSync(wal) && statSync(wal).size > 0) state.push(`write-ahead log ${wal}`);
  }
  if (state.length === 0) return; // a first start: a new federation
  throw new Error(
    `database file ${file} ${size === 0 ? 'is empty (0 bytes)' : 'does not exist'}, but the state of an existing ` +
      `federation is beside it (${state.join(', ')}): the database was truncated, replaced or lost. ` +
      'Restore it from a backup; to start a new federation, use a new data directory.',
  );
}

/**
 * Refuses a database without a single table (sqlite_master is empty) beside an existing
 * federation's audit key: its tables were in a write-ahead log that is gone.
 * @throws Error naming the file, the -wal file and how backups must be made.
 */
export function checkSchemaPresent(db: Database.Database, file: string, keyFile: string | null): void {
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM sqlite_master').get() as { n: number };
  if (n > 0) return;
  // Only the audit key says a federation was here: the store creates it after the tables, so a
  // key beside a database without tables means the tables were lost. Not local-tokens.json:
  // `npm start` writes it before the store first opens (a new database has no tables yet).
  const state: string[] = [];
  if (keyFile && existsSync(keyFile)) state.push(`audit signing key ${keyFile}`);
  if (state.length === 0) return; // a new database
  const wal = `${file}-wal`;
  throw new Error(
    `database file ${file} holds no tables (${statSync(file).size} bytes), but the state of an existing federation ` +
      `is beside it (${state.join(', ')}): its write-ahead log ${wal} is probably missing ` +
      `(${existsSync(wal) ? `it is ${statSync(wal).size} bytes` : 'it does not exist'}) — in WAL mode recent ` +
      'writes, even the tables, live only in the -wal file until a checkpoint. Refusing to start a new federation ' +
      `here. Restore ${path.basename(file)} together with its -wal file, or from a backup made with ` +
      "`sqlite3 <file> '.backup <copy>'` (a copy of the .db file alone is not a backup while the aggregator runs); " +
      'to start a new federation, use a new data directory.',
  );
}

/**
 * An error opening `file` (SQLITE_CANTOPEN, SQLITE_READONLY, a file-system error) that names
 * the file and says why, instead of "unable to open database file"; other errors pass through.
 */
export function cantOpenError(file: string, err: unknown): unknown {
  const code = (err as { code?: string }).code ?? '';
  if (!code.startsWith('SQLITE_CANTOPEN') && !code.startsWith('SQLITE_READONLY') && !code.startsWith('SQLITE_IOERR'))
    return err;
  const dir = path.dirname(path.resolve(file));
  let why = (err as Error).message;
  const unwritable = (f: string): string | null => {
    try {
      accessSync(f, constants.W_OK);
      return null;
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      if (c === 'ENOENT') return null;
      return c === 'EROFS' ? `${f} is on a read-only file system` : `${f} is not writable by this process (${c})`;
    }
  };
  if (!existsSync(dir)) why = `its directory ${dir} does not exist`;
  else
    why =
      diskFull(dir) ??
      unwritable(dir) ??
      unwritable(file) ??
      unwritable(`${file}-wal`) ??
      unwritable(`${file}-shm`) ??
      why;
  return new Error(
    `cannot open database file ${file}: ${why} (${code}: ${(err as Error).message}). The aggregator needs to write ` +
      'its data directory: the database, its -wal and -shm files (SQLite writes them even to read).',
  );
}

/**
 * "the disk holding <dir> is full (N KB free)" when its file system has under 1 MiB free for this
 * user, else null: SQLite then says only "disk I/O error" (SQLITE_IOERR_SHMSIZE) or "database or
 * disk is full", and the operator looked for a permission problem.
 */
export function diskFull(dir: string): string | null {
  try {
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    return free < 1 << 20
      ? `the disk holding ${dir} is full (${Math.floor(free / 1024)} KB free): free space, then start again`
      : null;
  } catch {
    return null;
  }
}

/** Runs quick_check; returns one message per problem, naming file, table and page. */
export function quickCheck(db: Database.Database, file: string): string[] {
  let rows: { quick_check: string }[];
  try {
    rows = db.pragma('quick_check') as { quick_check: string }[];
  } catch (err) {
    // Damage bad enough to stop quick_check itself (a scrambled b-tree root): find the
    // tables it is in by scanning each, so the message can name them.
    if (!isCorruption(err)) throw err;
    const damaged = damagedTables(db).map((t) => `file ${file}, table ${t.name}: ${t.message}`);
    return damaged.length ? damaged : [`file ${file}: ${(err as Error).message}`];
  }
  if (rows.length === 1 && rows[0].quick_check === 'ok') return [];
  let tables = new Map<number, string>();
  try {
    tables = new Map(
      (
        db.prepare('SELECT rootpage, name FROM sqlite_master WHERE rootpage > 0').all() as {
          rootpage: number;
          name: string;
        }[]
      ).map((r) => [r.rootpage, r.name]),
    );
  } catch {
    // the schema itself is unreadable: report pages only
  }
  return rows.map(({ quick_check: msg }) => {
    const tree = /Tree (\d+) page (\d+)/.exec(msg);
    const table = tree ? tables.get(Number(tree[1])) : undefined;
    const where = tree ? `${table ? `table ${table}` : `b-tree at page ${tree[1]}`}, page ${tree[2]}` : 'database';
    return `file ${file}, ${where}: ${msg}`;
  });
}

/** Tables (and indexes) whose full scan fails with a corruption error. */
function damagedTables(db: Database.Database): { name: string; message: string }[] {
  let names: { name: string; type: string; tbl_name: string }[];
  try {
    names = db.prepare("SELECT name, type, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')").all() as {
      name: string;
      type: string;
      tbl_name: string;
    }[];
  } catch (err) {
    return [{ name: 'sqlite_master (the schema)', message: (err as Error).message }];
  }
  const out: { name: string; message: string }[] = [];
  for (const t of names) {
    const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const sql =
      t.type === 'table'
        ? `SELECT * FROM ${quoted(t.name)}`
        : `SELECT * FROM ${quoted(t.tbl_name)} INDEXED BY ${quoted(t.name)}`;
    try {
      for (const _ of db.prepare(sql).iterate()) void _;
    } catch (err) {
      if (isCorruption(err))
        out.push({
          name: t.type === 'table' ? t.name : `${t.tbl_name} (index ${t.name})`,
          message: (err as Error).message,
        });
    }
  }
  return out;
}

/** A SQLite error that means the file is damaged or not a database at all. */
export function isCorruption(err: unknown): boolean {
  return err instanceof Database.SqliteError && (err.code.startsWith('SQLITE_CORRUPT') || err.code === 'SQLITE_NOTADB');
}

export function corruptionError(file: string, err: { code: string; message: string }, doing: string): Error {
  return new Error(
    `database file ${file} is damaged (${err.code}: ${err.message}) while ${doing}; refusing to start. ` +
      'Restore it from a backup.',
  );
}
