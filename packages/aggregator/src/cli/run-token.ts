/**
 * The admin token a run generates when FINSECURE_ADMIN_TOKEN is not set: the operator needs it to
 * use the API, and it must never reach the log. On a terminal it is shown there (stderr); when
 * stderr is not one (`> agg.log 2>&1`, docker logs, journald: the log), it goes to
 * `<data-dir>/admin-token.txt`, mode 0600, replaced at each start, and only that path is printed.
 * The same rule as the first administrator's one-time password (users.ts bootstrapFirstAdmin).
 */
import path from 'node:path';
import { writeSecretFile } from './secret-file.js';

export const RUN_TOKEN_FILE = 'admin-token.txt';

/** Where the run's token is said: a stream (process.stderr) and the data directory for the file. */
export interface RunTokenOutput {
  stream: { isTTY?: boolean; write(text: string): unknown };
  dataDir: string;
}

/** Says where this run's generated admin token is, or shows it on a terminal. Never throws. */
export function announceRunToken(token: string, out: RunTokenOutput): void {
  if (out.stream.isTTY) {
    out.stream.write(`\nNo FINSECURE_ADMIN_TOKEN was set; this run's admin token is:\n  ${token}\n\n`);
    return;
  }
  const file = path.resolve(out.dataDir, RUN_TOKEN_FILE);
  try {
    // Replaces the last run's: a new file with mode 0600, never through a symlink.
    writeSecretFile(file, `${token}\n`);
  } catch (err) {
    out.stream.write(
      `\nNo FINSECURE_ADMIN_TOKEN was set, and this run's admin token could not be written to ${file} ` +
        `(${(err as Error).message}); set FINSECURE_ADMIN_TOKEN, or sign in with an account.\n\n`,
    );
    return;
  }
  out.stream.write(
    `\nNo FINSECURE_ADMIN_TOKEN was set; this run's admin token is in ${file} (mode 0600, not logged; a new one each start).\n\n`,
  );
}
