/**
 * The first administrator's one-time password never goes to the log (cli/users.ts
 * bootstrapFirstAdmin, FirstAdminOutput). The service's output is its log when it is not a
 * terminal (pino writes JSON to stdout; `> agg.log`, docker logs and journald keep stderr too):
 * then the password goes to <data-dir>/first-admin-password.txt, mode 0600, and the output gets
 * only the path. On a terminal it is shown there. The run's generated admin token likewise
 * (cli/run-token.ts). Real processes, real SQLite files.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIRST_ADMIN_PASSWORD_FILE, bootstrapFirstAdmin } from '../src/cli/users.js';
import { RUN_TOKEN_FILE } from '../src/cli/run-token.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { cleanup, tempDir } from './helpers/federation.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '../src/cli/main.ts');

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => cleanup(dir));

/** A stream as the service writes to (process.stderr), here collected: a terminal or not. */
function stream(isTTY: boolean) {
  const s = { text: '', isTTY, write: (t: string) => void (s.text += t) };
  return s;
}

const passwordIn = (text: string) => /One-time password:\s+(\S+)/.exec(text)?.[1];

describe('finsecure-aggregator with its output redirected (not a terminal)', () => {
  it('writes the one-time password to a 0600 file in the data directory, prints only its path, and the password signs in', async () => {
    const dataDir = path.join(dir, 'data');
    // The service as `finsecure-aggregator > agg.log 2>&1` runs it: both outputs are pipes here.
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', MAIN, '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0'],
      {
        // From the package: tsx resolves from here; the data directory is absolute.
        cwd: path.resolve(here, '..'),
        env: { ...process.env, FINSECURE_BACKEND: 'wasm', FINSECURE_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Event-driven: the bootstrap's last line (the reminder to delete the file, or the password itself).
      await new Promise<void>((resolve, reject) => {
        const seen = (d: Buffer) => {
          out += d.toString('utf8');
          if (/Delete \S+ after the first sign-in|One-time password:\s+\S+/.test(out)) resolve();
        };
        child.stdout.on('data', seen);
        child.stderr.on('data', seen);
        void exited.then((code) => reject(new Error(`aggregator exited (${code}) before the bootstrap:\n${out}`)));
      });
      const file = path.join(dataDir, FIRST_ADMIN_PASSWORD_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const content = readFileSync(file, 'utf8');
      const password = passwordIn(content)!;
      expect(password).toMatch(/^\S{20}$/);
      expect(content).toMatch(/Delete this file after the first sign-in/);
      // The output (the log) names the file and never holds the password.
      expect(out).toContain(file);
      expect(out).not.toContain(password);
      expect(out).not.toMatch(/One-time password/);
      // So does the run's generated admin token: in a 0600 file, never in the output.
      const tokenFile = path.join(dataDir, RUN_TOKEN_FILE);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(token).toMatch(/^fsa_/);
      expect(out).not.toContain(token);
      expect(out).toContain(tokenFile);
      const asAdmin = await fetch(`${/Sign in at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!}/api/whoami`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(asAdmin.status).toBe(200);
      // The password in the file is the admin's.
      const url = /Sign in at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const login = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(login.status).toBe(200);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('bootstrapFirstAdmin', () => {
  it('on a terminal, shows the one-time password there and writes no file', async () => {
    const store = new SqliteStore(path.join(dir, 'tty', 'finsecure.db'));
    await store.init();
    const terminal = stream(true);
    expect(await bootstrapFirstAdmin(store, { stream: terminal, dataDir: path.join(dir, 'tty') }, 'http://x')).toBe(
      true,
    );
    expect(terminal.text).toMatch(/First administrator created \(shown once, not logged\)/);
    expect(passwordIn(terminal.text)).toMatch(/^\S{20}$/);
    expect(existsSync(path.join(dir, 'tty', FIRST_ADMIN_PASSWORD_FILE))).toBe(false);
    // Only once: a store with an account gets no second admin.
    expect(await bootstrapFirstAdmin(store, { stream: terminal, dataDir: path.join(dir, 'tty') })).toBe(false);
    await store.close();
  });

  it('not on a terminal, replaces a file an earlier store left, mode 0600 even under umask 0', async () => {
    const dataDir = path.join(dir, 'piped');
    const store = new SqliteStore(path.join(dataDir, 'finsecure.db'));
    await store.init();
    const file = path.join(dataDir, FIRST_ADMIN_PASSWORD_FILE);
    mkdirSync(dataDir, { recursive: true });
    const log = stream(false);
    const umask = process.umask(0);
    try {
      expect(await bootstrapFirstAdmin(store, { stream: log, dataDir })).toBe(true);
    } finally {
      process.umask(umask);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(log.text).not.toContain(passwordIn(readFileSync(file, 'utf8'))!);
    await store.close();
  });

  it('says how to set a password when the file cannot be written, without printing it', async () => {
    const dataDir = path.join(dir, 'readonly');
    const store = new SqliteStore(path.join(dataDir, 'finsecure.db'));
    await store.init();
    chmodSync(dataDir, 0o500);
    const log = stream(false);
    try {
      // root ignores directory modes: a directory path that is a file fails for everyone.
      const target = process.getuid?.() === 0 ? path.join(dataDir, 'finsecure.db') : dataDir;
      expect(await bootstrapFirstAdmin(store, { stream: log, dataDir: target })).toBe(true);
    } finally {
      chmodSync(dataDir, 0o700);
    }
    expect(log.text).toMatch(/could not be written/);
    expect(log.text).toMatch(/users reset-password admin/);
    expect(log.text).not.toMatch(/One-time password/);
    await store.close();
  });
});
