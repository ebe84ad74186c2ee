/**
 * `npm start` end to end: the launcher generates data, partitions it, starts the
 * aggregator and three bank processes, runs rounds, serves the dashboard, prints the URL
 * and admin token, and Ctrl-C (SIGINT) stops every process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { headerHas } from '../src/cli/local-checks.js';
import { cleanup, tempDir, waitFor } from './helpers/federation.js';

const launcher = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/local-federation.js');
const dir = tempDir('finsecure-start-');
afterAll(() => cleanup(dir));

function bankProcesses(): number {
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes('bank-client/dist/cli/main.js') && l.includes(dir)).length;
}

let firstOut = '';

describe('npm start (local federation)', () => {
  it('runs a federation with the dashboard and stops cleanly on Ctrl-C', async () => {
    const port = 21_000 + Math.floor(Math.random() * 10_000);
    // Aggregator settings beyond the launcher's flags come from a config file and the environment.
    const configFile = path.join(dir, 'conf', 'finsecure.json');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, JSON.stringify({ rules: { serverLearningRate: 0.5, rounds: 99 } }));
    const child = spawn(
      process.execPath,
      [launcher, '--dir', dir, '--rows', '6000', '--rounds', '2', '--epochs', '1', '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          FINSECURE_BACKEND: 'wasm',
          FINSECURE_CONFIG: configFile,
          FINSECURE_NORMALIZE_STEPS: 'true',
          // The launcher's own grace period for a few local banks is a default: the variable wins.
          FINSECURE_GRACE_MS: '12345',
        },
      },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor('training finished', () => out.includes('Training finished'), 90_000, 100);
      expect(out).toContain(`Dashboard and API: http://127.0.0.1:${port}`);
      const token = /Admin token:\s+(\S+)/.exec(out)![1]!;
      expect(out).toMatch(/round {3}1 committed {2}F1/);
      expect(out).toMatch(/round {3}2 committed/);
      // Each round's line comes as it ends, before the next round's progress (it lagged by a poll).
      const firstOf2 = out.search(/round 2 (fit|selecting|evaluation)/);
      expect(firstOf2).toBeGreaterThan(0);
      expect(out.indexOf('round   1 committed')).toBeLessThan(firstOf2);
      expect(bankProcesses()).toBe(3);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(await page.text()).toContain('<div id="root">');
      const banks = (await (
        await fetch(`http://127.0.0.1:${port}/api/banks`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { connected: boolean }[];
      expect(banks.filter((b) => b.connected)).toHaveLength(3);
      const settings = (await (
        await fetch(`http://127.0.0.1:${port}/api/config`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { rules: Record<string, unknown> };
      // File < environment < the launcher's own flags (--rounds 2).
      expect(settings.rules).toMatchObject({
        serverLearningRate: 0.5,
        normalizeSteps: true,
        rounds: 2,
        graceMs: 12_345,
        quorum: 2,
      });
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
    await waitFor('bank processes gone', () => bankProcesses() === 0, 10_000, 100);
    // Progress inside a round: which banks have reported (one line per change without a TTY).
    expect(out).toMatch(/round 1 fit: [123] of 3 banks reported \(bank-\d/);
    expect(out).toMatch(/Viewer token:\s+fsv_/);
    firstOut = out;
  }, 120_000);

  it('a usage error is one line and a pointer to --help, exit 2', () => {
    const r = spawnSync(process.execPath, [launcher, '--rows', 'x'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: option '--rows <n>' argument 'x' is invalid. --rows must be an integer in 1000..10000000, got "x"`,
      '(run with --help for usage)',
    ]);
  });

  it('a bad FINSECURE_* setting is named before any data is made, exit 2', () => {
    const bad = path.join(dir, 'bad-setting');
    const r = spawnSync(process.execPath, [launcher, '--dir', bad, '--rows', '6000'], {
      encoding: 'utf8',
      env: { ...process.env, FINSECURE_LOG_LEVEL: 'loud' },
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/FINSECURE_LOG_LEVEL: logLevel: /);
    expect(r.stderr).not.toMatch(/custom levels/);
    expect(existsSync(path.join(bad, 'local-federation'))).toBe(false);
  });

  it('a port another program holds is named with its flag before any data is made, exit 2; the directory is 0700', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      for (const [flags, message] of [
        [
          ['--port', String(taken), '--console-port', '0'],
          new RegExp(`port ${taken} is in use by another program; choose another with --port`),
        ],
        [
          ['--port', '0', '--console-port', String(taken)],
          new RegExp(`port ${taken} is in use .*--console-port \\(bank i listens`),
        ],
      ] as const) {
        const busy = path.join(dir, `busy-${flags[1]}`);
        const r = spawnSync(process.execPath, [launcher, '--dir', busy, '--rows', '6000', ...flags], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(existsSync(path.join(busy, 'local-federation'))).toBe(false);
        expect(statSync(busy).mode & 0o777).toBe(0o700);
      }
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('segments only data with customers: headerHas reads the header of a plain CSV', () => {
    const withIds = path.join(dir, 'with-ids.csv');
    writeFileSync(withIds, 'TRANSACTION_ID,"CUSTOMER_ID",TX_AMOUNT\n1,7,10\n');
    const without = path.join(dir, 'kaggle.csv');
    writeFileSync(without, 'Time,V1,Amount,Class\n0,1,2,0\n');
    expect(headerHas(withIds, 'CUSTOMER_ID')).toBe(true);
    expect(headerHas(without, 'CUSTOMER_ID')).toBe(false);
    // Quoted per RFC 4180: a comma inside a name does not split it, and a BOM does not hide the first column.
    const quoted = path.join(dir, 'quoted.csv');
    writeFileSync(quoted, '\uFEFFCUSTOMER_ID,"amount, EUR"\n7,10\n');
    expect(headerHas(quoted, 'CUSTOMER_ID')).toBe(true);
    expect(headerHas(quoted, ' EUR')).toBe(false);
    expect(headerHas(quoted, 'amount, EUR')).toBe(true);
  });

  it('a restart keeps the tokens, reports what is stored, and says when every round is committed', async () => {
    const tokensFile = path.join(dir, 'local-tokens.json');
    expect(statSync(tokensFile).mode & 0o777).toBe(0o600);
    // One state key per bank (required by the bank client), mode 0600, kept across restarts.
    const keyDir = path.join(dir, 'bank-keys');
    const keyFiles = readdirSync(keyDir).sort();
    expect(keyFiles).toHaveLength(3);
    const keys = keyFiles.map((f) => {
      expect(statSync(path.join(keyDir, f)).mode & 0o777).toBe(0o600);
      expect(existsSync(path.join(dir, 'bank-state', f.replace(/\.key$/, ''), 'state-key.json'))).toBe(true);
      return readFileSync(path.join(keyDir, f), 'utf8');
    });
    expect(new Set(keys).size).toBe(3);
    const port = 21_000 + Math.floor(Math.random() * 10_000);
    const child = spawn(
      process.execPath,
      [launcher, '--dir', dir, '--rows', '6000', '--rounds', '2', '--epochs', '1', '--port', String(port)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FINSECURE_BACKEND: 'wasm' } },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      await waitFor('the finished notice', () => out.includes('To train more'), 60_000, 100);
      const token = (s: string, kind: string) => new RegExp(`${kind} token:\\s+(\\S+)`).exec(s)![1];
      expect(token(out, 'Admin')).toBe(token(firstOut, 'Admin'));
      expect(token(out, 'Viewer')).toBe(token(firstOut, 'Viewer'));
      // The summary agrees with the store: 2 rounds committed, continuing from v2.
      expect(out).toMatch(
        /2 earlier round\(s\) in .* \(2 committed, 0 failed\); training continues from global model v2/,
      );
      expect(out).toMatch(/training is finished: all 2 configured rounds are committed/);
      expect(out).toContain('npm start -- --rounds 4');
    } finally {
      child.kill('SIGINT');
    }
    expect(await new Promise<number | null>((r) => child.once('exit', r))).toBe(0);
    expect(keyFiles.map((f) => readFileSync(path.join(keyDir, f), 'utf8'))).toEqual(keys);
  }, 90_000);
});
