/**
 * `finsecure-bank identity` (the built CLI, spawned): prints the bank's roster entry, makes the
 * identity key once (0600) and then always prints the same one, which a roster file accepts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readSecAggRoster } from '../src/secagg/roster.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, 'identity', ...args], {
    encoding: 'utf8',
    env: { ...process.env, FINSECURE_BANK_ID: '', FINSECURE_STATE_DIR: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('finsecure-bank identity', () => {
  it('prints the roster entry, making the key once, and the same key afterwards', () => {
    const stateDir = path.join(dir, 'state');
    const first = run(['--state-dir', stateDir, '--bank-id', 'bank-a']);
    expect(first.code).toBe(0);
    expect(first.err).toContain('made a new identity key');
    const entry = JSON.parse(first.out) as Record<string, string>;
    expect(Object.keys(entry)).toEqual(['bank-a']);
    expect(statSync(path.join(stateDir, 'identity.key')).mode & 0o777).toBe(0o600);
    // The private key is not printed.
    expect(first.out).not.toContain(readFileSync(path.join(stateDir, 'identity.key'), 'utf8').trim());

    const again = run(['--state-dir', stateDir]);
    expect(again.code).toBe(0);
    expect(again.err).toBe('');
    expect(again.out.trim()).toBe(entry['bank-a']);

    // What it prints is a roster entry as the bank's roster file takes it.
    const roster = path.join(dir, 'roster.json');
    writeFileSync(
      roster,
      JSON.stringify({ ...entry, 'bank-b': entry['bank-a']!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }),
    );
    expect(readSecAggRoster(roster).keys['bank-a']).toBe(entry['bank-a']);
  });

  it('names the file when the key there is damaged, exit 1', () => {
    const stateDir = path.join(dir, 'damaged');
    run(['--state-dir', stateDir]);
    writeFileSync(path.join(stateDir, 'identity.key'), 'not a key\n');
    const r = run(['--state-dir', stateDir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/identity\.key: not a base64 Ed25519 private key/);
  });
});
