/**
 * The console as an operator runs it (the built CLI: `npx tsc -b` first):
 * `finsecure-bank users add` creates the first admin with a one-time password, and
 * `finsecure-bank console` serves the API on 127.0.0.1 from the bank's state directory,
 * where that password signs in (and must be changed before anything else). Every console
 * flag is in --help; bad settings exit 2 naming the flag.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Client, tempDir, writeTrainedModel } from './helpers/console.js';
import { TEST_STATE_KEY_ENV } from '../../aggregator/test/helpers/federation.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
// The state key is required by `console` and `users`.
const env = { PATH: process.env.PATH ?? '', FINSECURE_BACKEND: 'cpu', ...TEST_STATE_KEY_ENV };
let dir: string;
let child: ChildProcess | undefined;

function run(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...env, ...extraEnv },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dir = tempDir('finsecure-console-cli-');
  await writeTrainedModel(dir);
});
afterAll(() => {
  child?.kill('SIGTERM');
  cleanup(dir);
});

describe('finsecure-bank console and users', () => {
  it('documents every console flag in --help', () => {
    const help = run(['console', '--help']).out;
    for (const flag of [
      '--console-port',
      '--console-host',
      '--console-id-column',
      '--console-max-upload-mb',
      '--console-tls-cert',
      '--console-tls-key',
      '--state-dir',
      '--layout',
      '--mapping',
      '--config',
    ])
      expect(help).toContain(flag);
    expect(run(['start', '--help']).out).toContain('--console-port');
  });

  it('refuses bad console settings with exit code 2 naming the flag', () => {
    const r = run(['console', '--state-dir', dir, '--console-port', '99999']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--console-port');
    // Plain decimal, as every number setting: not read as port 47000.
    const hex = run(['console', '--state-dir', dir, '--console-port', '0xB798']);
    expect(hex.code).toBe(2);
    expect(hex.err).toContain('--console-port must be a number, got "0xB798" (plain decimal notation');
    const e = run(['console', '--state-dir', dir], { FINSECURE_LAYOUT: 'parquet' });
    expect(e.code).toBe(2);
    // Named by where the value came from: the variable, not a flag the user never typed.
    expect(e.err).toContain('FINSECURE_LAYOUT: must be one of auto, kaggle, handbook, got "parquet"');
    const half = run(['console', '--state-dir', dir, '--console-tls-cert', path.join(dir, 'server.crt')]);
    expect(half.code).toBe(2);
    expect(half.err).toContain('--console-tls-cert and --console-tls-key must be given together');
    const missing = path.join(dir, 'no-such.crt');
    const unread = run(['console', '--state-dir', dir], {
      FINSECURE_CONSOLE_TLS_CERT: missing,
      FINSECURE_CONSOLE_TLS_KEY: missing,
    });
    expect(unread.code).toBe(2);
    expect(unread.err).toContain(`--console-tls-cert: cannot read ${missing}`);
    const notPem = path.join(dir, 'not-a-certificate.pem');
    writeFileSync(notPem, 'hello\n');
    const bad = run(['console', '--state-dir', dir, '--console-tls-cert', notPem, '--console-tls-key', notPem]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('are not a usable certificate and key');
    const u = run(['users', 'add', 'xavier', '--role', 'auditor', '--state-dir', dir]);
    expect(u.code).toBe(2);
    expect(u.err).toContain('must be one of admin, ml-engineer, analyst');
  });

  it('creates the first admin, serves the console, and the one-time password signs in', async () => {
    const add = run(['users', 'add', 'admin', '--role', 'admin', '--state-dir', dir]);
    expect(add.code).toBe(0);
    const otp = /one-time password \(shown once\): (\S+)/.exec(add.out)![1]!;
    expect(run(['users', 'list', '--state-dir', dir]).out).toMatch(/^admin\s+admin\s+mfa=off/m);

    child = spawn(
      process.execPath,
      [cli, 'console', '--state-dir', dir, '--console-port', '0', '--log-format', 'json'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`console did not start: ${out}`)), 30_000);
      child!.stdout!.on('data', () => {
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"bank console listening"/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    const admin = new Client(url);
    await admin.login('admin', otp);
    const who = await admin.get('/api/whoami');
    expect(who.body).toMatchObject({ username: 'admin', role: 'admin', setup: 'password' });
    expect((await admin.get('/api/alerts')).body.error).toBe('setup_required');
    expect(out).not.toContain(otp);
    expect(out).not.toContain('without TLS'); // this host only: nothing crosses the network
  });

  it('warns when it listens beyond this host without TLS', async () => {
    const wide = spawn(
      process.execPath,
      [cli, 'console', '--state-dir', dir, '--console-port', '0', '--console-host', '0.0.0.0', '--log-format', 'json'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no warning: ${out}`)), 30_000);
        wide.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (/"level":40.*"msg":"the bank console listens on 0\.0\.0\.0 without TLS: /.test(out)) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      expect(out).toContain('Give --console-tls-cert and --console-tls-key');
    } finally {
      wide.kill('SIGTERM');
    }
  });
});
