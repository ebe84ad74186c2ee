/**
 * The instance lock of a file-backed SQLite store: one aggregator per database file.
 *
 * Why: SQLite serialises transactions, not federations. A second aggregator started on the
 * same data directory fails the first one's live round at its start-up (failUnfinishedRounds),
 * then both number rounds and model versions from the same counters, overwrite each other's
 * models and fill the audit log with rounds both failed and committed.
 *
 * How: `<database file>.lock`, created with 'wx' (exclusive: exactly one creator wins) and
 * holding the owner's pid, hostname and start times as JSON; removed when the store closes.
 * A lock left by a process that died (kill -9, a power cut) is taken over, with a log line,
 * when it provably is stale: its host is this host and its pid is not running, or now belongs
 * to another process (a different start time), or is this process's own pid without this
 * process holding it (a container restarted with the same pid). A lock held by a running
 * process, or by another host (a shared volume: its pid cannot be checked from here), is
 * refused with a message naming the data directory, the holder and what to do.
 *
 * Not locked: ':memory:' stores, and the CLI commands that work beside a running aggregator
 * (`audit verify` only reads; `users` changes accounts in short transactions, as the
 * aggregator's own API does): they pass `instanceLock: false`.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** What a lock file holds. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** When the lock was taken (ms since the epoch). */
  lockedAt: number;
  /** The process's start time as the kernel reports it (Linux /proc), ms since the epoch; null elsewhere. */
  processStart: number | null;
}

export class InstanceLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceLockError';
  }
}

/** Lock files held by this process (resolved paths): a second open in the same process is refused too. */
const held = new Set<string>();

export function lockFileOf(dbFile: string): string {
  return `${path.resolve(dbFile)}.lock`;
}

export interface InstanceLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/**
 * Takes the lock of `dbFile` (its parent directory must exist).
 * @param log told when a stale lock is taken over.
 * @throws InstanceLockError when another live process holds it, or the lock file cannot be created.
 */
export function acquireInstanceLock(dbFile: string, log: (message: string) => void = () => {}): InstanceLock {
  const file = lockFileOf(dbFile);
  const dir = path.dirname(file);
  const me: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    lockedAt: Date.now(),
    processStart: processStartMs(process.pid),
  };
  const text = `${JSON.stringify(me)}\n`;
  // A few rounds: each either creates the lock, refuses, or clears a stale one and tries again.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      held.add(file);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          held.delete(file);
          try {
            if (readFileSync(file, 'utf8') === text) unlinkSync(file);
          } catch {
            // already gone (removed by hand), or unreadable: nothing of ours to remove
          }
        },
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw cannotCreate(file, dir, err as NodeJS.ErrnoException);
    }
    let found: string;
    try {
      found = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
      throw cannotCreate(file, dir, err as NodeJS.ErrnoException);
    }
    const owner = parseOwner(found);
    const stale = owner ? whyStale(owner, file) : 'it does not name its owner (its writer died while creating it)';
    if (stale === null) throw heldBy(file, dir, owner!);
    if (takeOver(file, found)) {
      log(
        `instance lock ${file} was stale (${stale}${
          owner
            ? `; held by pid ${owner.pid} on ${owner.hostname} ` + `since ${new Date(owner.lockedAt).toISOString()}`
            : ''
        }): taken over`,
      );
    }
  }
  throw new InstanceLockError(
    `could not take the instance lock ${file} of data directory ${dir}: other processes keep creating it; ` +
      'is another aggregator starting on the same directory?',
  );
}

/** Why the lock is stale, or null when its owner may be alive. */
function whyStale(owner: LockOwner, file: string): string | null {
  if (owner.hostname !== hostname()) return null; // cannot see its processes from here
  if (owner.pid === process.pid)
    return held.has(file) ? null : `pid ${owner.pid} is this process, which does not hold it`;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return `process ${owner.pid} is not running`;
    // EPERM: it runs, as another user
  }
  const start = processStartMs(owner.pid);
  // Same clock source for both (/proc), so a difference beyond rounding means another process.
  if (start !== null && owner.processStart !== null && Math.abs(start - owner.processStart) > 2_000)
    return `pid ${owner.pid} now belongs to another process`;
  return null;
}

/**
 * Removes the stale lock whose content is `found`, unless it was replaced meanwhile: the file is
 * moved aside first (atomic), and put back if what was moved is not what was judged stale.
 * @returns whether a stale lock was removed.
 */
function takeOver(file: string, found: string): boolean {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // unreadable: treated as not ours to remove
  }
  if (moved !== found) {
    // Another process took the lock between our read and the rename: give it back (link fails if a third took it).
    try {
      linkSync(aside, file);
    } catch {
      // someone holds the lock now; the next attempt reads who
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // best effort
  }
  return moved === found;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.hostname !== 'string' || typeof o.lockedAt !== 'number') return null;
    return { pid: o.pid, hostname: o.hostname, lockedAt: o.lockedAt, processStart: o.processStart ?? null };
  } catch {
    return null;
  }
}

function heldBy(file: string, dir: string, owner: LockOwner): InstanceLockError {
  const sameHost = owner.hostname === hostname();
  const who =
    owner.pid === process.pid && sameHost
      ? `this same process (pid ${owner.pid}; the store is already open in it)`
      : `process ${owner.pid} on host ${owner.hostname}`;
  return new InstanceLockError(
    `data directory ${dir} is in use by another aggregator: its instance lock ${file} is held by ${who} since ` +
      `${new Date(owner.lockedAt).toISOString()}. Two aggregators on one store would fail each other's rounds and ` +
      "overwrite each other's models, so this one does not start. Stop the other aggregator first, or give this " +
      `one its own --data-dir. If no aggregator runs there any more${sameHost ? '' : ` (check on host ${owner.hostname})`}, ` +
      `delete ${file} and start again.`,
  );
}

function cannotCreate(file: string, dir: string, err: NodeJS.ErrnoException): InstanceLockError {
  const why =
    err.code === 'EROFS'
      ? 'the file system is read-only'
      : err.code === 'EACCES' || err.code === 'EPERM'
        ? `this process (uid ${process.getuid?.() ?? '?'}) may not write there`
        : err.code === 'ENOSPC'
          ? 'the disk is full'
          : err.message;
  return new InstanceLockError(
    `cannot create the instance lock ${file} in data directory ${dir}: ${why} (${err.code ?? 'error'}). ` +
      'The aggregator needs a data directory it can write to (its database, write-ahead log and lock).',
  );
}

/** A process's start time from /proc (Linux), ms since the epoch; null where that cannot be read. */
function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, clock ticks since boot); the command name (field 2) may hold spaces, so count after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return null;
    return Number(btime[1]) * 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on every Linux ABI Node supports
  } catch {
    return null;
  }
}
