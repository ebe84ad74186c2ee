/**
 * Operators without the web UI: `finsecure-aggregator users …` (run in-process through
 * its commander definition, on a real SQLite file), the first-admin bootstrap of a fresh
 * store, and an existing (schema 1) database gaining the people tables on open.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapFirstAdmin, usersCommand } from '../src/cli/users.js';
import { MIGRATIONS } from '../src/store/sqlite-schema.js';
import { SqliteStore } from '../src/store/sqlite.js';

const root = mkdtempSync(path.join(tmpdir(), 'finsecure-people-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function users(file: string, ...args: string[]): Promise<string> {
  let out = '';
  const cmd = usersCommand((s) => void (out += s));
  cmd.exitOverride();
  await cmd.parseAsync([...args, '--sqlite-path', file], { from: 'user' });
  return out;
}

describe('users CLI', () => {
  it('adds, lists, disables, enables and resets accounts, audited as the operator', async () => {
    const file = path.join(root, 'cli', 'finsecure.db');
    // Only `add` may start a store: `list` (and the commands on existing accounts) refuse a place without one.
    await expect(users(file, 'list')).rejects.toThrow(`no aggregator store at ${file}: check --sqlite-path`);
    await expect(users(file, 'disable', 'carol')).rejects.toThrow(/no aggregator store/);
    expect(existsSync(path.dirname(file))).toBe(false);
    const added = await users(file, 'add', 'carol', '--role', 'auditor', '--display-name', 'Carol A.');
    expect(added).toMatch(/created carol \(auditor\)/);
    const password = /one-time password \(shown once\): (\S+)/.exec(added)![1]!;
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(await users(file, 'list')).toMatch(/carol\s+auditor\s+mfa=off active/);
    expect(await users(file, 'disable', 'carol')).toMatch(/disable: done for carol/);
    expect(await users(file, 'list')).toMatch(/carol .* disabled/);
    await users(file, 'enable', 'carol');
    await users(file, 'reset-mfa', 'carol');
    expect(await users(file, 'reset-password', 'carol')).toMatch(/one-time password for carol/);
    await expect(users(file, 'add', 'carol', '--role', 'auditor')).rejects.toThrow(/taken/);
    await expect(users(file, 'add', 'dave', '--role', 'boss')).rejects.toThrow(/role/);
    await expect(users(file, 'disable', 'nobody')).rejects.toThrow(/no account nobody/);

    const store = new SqliteStore(file);
    await store.init();
    const audit = await store.listAudit();
    expect(audit.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'user.created',
        'user.disabled',
        'user.enabled',
        'user.mfa_reset',
        'user.password_reset',
      ]),
    );
    expect(audit.every((e) => e.actor.startsWith('cli') || e.type === 'input.refused')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(password);
    await store.close();
  });

  it('lists an existing store without accounts as empty', async () => {
    const file = path.join(root, 'empty', 'finsecure.db');
    const store = new SqliteStore(file);
    await store.init();
    await store.close();
    expect(await users(file, 'list')).toMatch(/no accounts yet/);
  });

  it('creates the first admin of a fresh store once, with a one-time password', async () => {
    const store = new SqliteStore(path.join(root, 'boot', 'finsecure.db'));
    await store.init();
    let printed = '';
    expect(await bootstrapFirstAdmin(store, (s) => void (printed += s), 'http://127.0.0.1:8080')).toBe(true);
    expect(printed).toMatch(/Username:\s+admin/);
    expect(printed).toMatch(/One-time password:\s+\S{20}/);
    expect(await bootstrapFirstAdmin(store, (s) => void (printed += s))).toBe(false);
    const [admin] = await store.accounts.listAccounts();
    expect(admin).toMatchObject({ username: 'admin', role: 'admin', mustChangePassword: true });
    await store.close();
  });

  it('upgrades an existing schema-1 database without losing its data', async () => {
    const file = path.join(root, 'old.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!.sql);
    db.exec(
      'CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    db.prepare('INSERT INTO schema_version VALUES (1, ?, 0)').run(MIGRATIONS[0]!.description);
    db.prepare("INSERT INTO banks VALUES ('old-bank', 'Old', ?, 1, NULL, NULL)").run('a'.repeat(64));
    db.close();
    const store = new SqliteStore(file);
    await store.init();
    expect((await store.getBank('old-bank'))!.name).toBe('Old');
    expect(await store.accounts.countAccounts()).toBe(0);
    expect(await bootstrapFirstAdmin(store, () => {})).toBe(true);
    await store.close();
  });
});
