/**
 * Writes a secret the operator must read but the log must never hold (the first administrator's
 * one-time password, users.ts bootstrapFirstAdmin; a run's generated admin token, run-token.ts)
 * to a file only its owner can read, when the service's output is not a terminal.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `content` to `file`, mode 0600 whatever the umask, replacing a file an earlier run left;
 * a directory made for it is 0700 (an existing one is left as it is). The old file is removed
 * and the new one created with 'wx': a new file with the new mode, never written through a
 * symlink. Throws what the file system throws (the callers say where the secret could not go).
 */
export function writeSecretFile(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  rmSync(file, { force: true });
  writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
}
