/**
 * Whether a directory that holds secrets is open to other users of the machine. FinSecure
 * creates its directories with mode 0700, but one made beforehand (`mkdir`, a mounted volume, an
 * older version) keeps its own mode: the services warn rather than change a directory they did
 * not make (it may be shared on purpose).
 */
import { statSync } from 'node:fs';

/**
 * The warning for a directory the group or others have any access to: its permission bits as
 * octal text ("0755") and the message the services log; null when only its owner may enter it
 * (and on Windows, where POSIX modes mean nothing).
 * @throws the fs error when `dir` cannot be stat-ed (the callers have just made or opened it)
 */
export function openDirWarning(dir: string): { mode: string; message: string } | null {
  if (process.platform === 'win32') return null;
  const bits = statSync(dir).mode & 0o777;
  if ((bits & 0o077) === 0) return null;
  const mode = `0${bits.toString(8)}`;
  return {
    mode,
    message: `${dir} is open to other users of this machine (mode ${mode}): \`chmod 700 ${dir}\`; FinSecure makes its directories 0700 but leaves the mode of one made beforehand as it is`,
  };
}
