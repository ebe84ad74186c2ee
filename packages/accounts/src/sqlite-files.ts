/**
 * Keeps a SQLite database file and its companions (-wal, -shm, -journal) readable by their
 * owner only: the aggregator's store and the bank console's database both hold password
 * hashes and TOTP secrets (and the console its bank's alerts).
 *
 * Why: SQLite creates a database with mode 0644 less the umask (world-readable under the usual
 * umask 022), and creates its -wal and -shm later (at the first write) with the database file's
 * mode. So a database created 0600 keeps its companions 0600 whenever SQLite recreates them,
 * and files an older version left 0644 must have group and other permissions taken off.
 *
 * Modes: a missing database file is created empty with mode 0600 (an empty file is a new
 * database to SQLite; 'wx', so no symlink is followed). An existing file, or companion, with
 * any group or other permission loses them (`chmod go-rwx`); owner bits are kept, never added.
 *
 * Errors: a companion that does not exist is skipped. A file whose mode cannot be changed
 * (EPERM: another user owns it, typically) throws an Error naming the file, its mode, why, and
 * the chmod to run: neither a raw EPERM nor a file silently left readable to others. Any other
 * failure (creating the file in a directory it cannot write, say) is thrown as it is.
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** The files SQLite keeps beside a database, by suffix. */
export const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'] as const;

/**
 * Creates `file` empty with mode 0600 unless it exists, then takes group and other permissions
 * off it and its companions. Call it before opening the database and again once it has written
 * (when the WAL and SHM exist). Not for ':memory:'.
 */
export function restrictSqliteFiles(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const f of [file, ...SQLITE_COMPANIONS.map((s) => `${file}${s}`)]) restrictToOwner(f);
}

function restrictToOwner(file: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const mode = stat.mode & 0o777;
  if (!(mode & 0o077)) return;
  try {
    chmodSync(file, mode & 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    const me = process.getuid?.();
    const why =
      me !== undefined && stat.uid !== me
        ? `it belongs to uid ${stat.uid}, not to this process (uid ${me})`
        : (err as Error).message;
    throw new Error(
      `${file} is readable by other users (mode 0${mode.toString(8)}) and its permissions cannot be restricted: ` +
        `${why}. As its owner or root, run: chmod go-rwx '${file}', then try again.`,
      { cause: err },
    );
  }
}
