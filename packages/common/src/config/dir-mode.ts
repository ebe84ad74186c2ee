/**
 * Whether a directory that holds secrets is open to other users of the machine. FinSecure
 * creates its directories with mode 0700, but one made beforehand (`mkdir`, a mounted volume, an
 * older version) keeps its own mode: the services warn rather than change a directory they did
 * not make (it may be shared on purpose).
 */
import { statSync } from 'node:fs';

/**
 * The directory's permission bits as octal text ("0755") when the group or others have any
 * access, else null (also on Windows, where POSIX modes mean nothing).
 * @throws the fs error when `dir` cannot be stat-ed (the callers have just made or opened it)
 */
export function openDirMode(dir: string): string | null {
  if (process.platform === 'win32') return null;
  const mode = statSync(dir).mode & 0o777;
  return (mode & 0o077) === 0 ? null : `0${mode.toString(8)}`;
}

/** The warning the services log for openDirMode's answer. */
export function openDirWarning(dir: string, mode: string): string {
  return `${dir} is open to other users of this machine (mode ${mode}): \`chmod 700 ${dir}\`; FinSecure makes its directories 0700 but leaves the mode of one made beforehand as it is`;
}
