/**
 * Where a research command writes, checked before any work: a run must not train for an hour and
 * then fail to save its results, nor mix its files with an earlier run's.
 */
import { constants } from 'node:fs';
import { access, mkdir, readdir, stat } from 'node:fs/promises';
import { UsageError } from './cli-main.js';

/**
 * Makes `dir` (and its parents) when missing and checks that it is a directory this process may
 * write in. Throws UsageError naming `flag` and the reason (a file in the way, no permission).
 */
export async function checkOutDir(dir: string, flag = '--out'): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    await access(dir, constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EEXIST' || e.code === 'ENOTDIR' || e.message === 'not a directory'
        ? 'a file is in the way (it, or one of its parents, is not a directory)'
        : e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS'
          ? 'not writable by this user'
          : e.message;
    throw new UsageError(`${flag} ${dir}: cannot write results there: ${why}`);
  }
}

/**
 * --keep must name a new or empty directory: a second simulation there would meet the first one's
 * banks and database (its bank registrations fail) after rewriting the shards beside them.
 */
export async function checkKeepDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return checkOutDir(dir, '--keep');
    throw new UsageError(`--keep ${dir}: ${(err as Error).message}`);
  }
  if (entries.length > 0)
    throw new UsageError(
      `--keep ${dir} is not empty (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): give a new or empty directory`,
    );
  await checkOutDir(dir, '--keep');
}
