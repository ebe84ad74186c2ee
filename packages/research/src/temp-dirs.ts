/**
 * The research tools' temporary directories (a simulation's shards, database and bank state; the
 * attack lab's and the feedback experiment's work): made here so that they are removed when the
 * run ends, and also when it is interrupted (Ctrl-C, SIGTERM: runMain calls removeTempDirsNow),
 * since they hold a copy of the data and the banks' state keys.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const live = new Set<string>();

/** A new directory under the system's temporary directory, `<prefix>XXXXXX`, removed at exit. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  live.add(dir);
  return dir;
}

/** Removes a directory made by makeTempDir (and everything in it). */
export async function removeTempDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Removes every directory still live, synchronously (for a signal handler about to exit). */
export function removeTempDirsNow(): string[] {
  const removed = [...live];
  for (const dir of removed) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: the process is exiting; the path was in the run's output already.
    }
  }
  live.clear();
  return removed;
}
