/**
 * `finsecure-aggregator users add|list|disable|enable|reset-mfa|reset-password`: account
 * administration for operators without the web UI. Opens the same store as the
 * aggregator (config file, FINSECURE_* environment, --data-dir / --sqlite-path), acts as
 * "cli:<os user>" in the audit log, and prints one-time passwords on stdout once.
 */
import path from 'node:path';
import { Command } from 'commander';
import { AccountError, createAccounts, ROLES, type Accounts } from '@finsecure/accounts';
import { addAccountCommands } from '@finsecure/accounts/cli';
import { ConfigError, loadConfig } from '../config/load.js';
import { CONFIG_FILE_ENV } from '../config/schema.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/types.js';

interface StoreFlags {
  config?: string;
  dataDir?: string;
  sqlitePath?: string;
}

async function openAccounts(o: StoreFlags): Promise<{ store: Store; accounts: Accounts }> {
  const file = o.config ?? process.env[CONFIG_FILE_ENV];
  const config = loadConfig({
    ...(file ? { file } : {}),
    env: process.env,
    flags: { ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.sqlitePath ? { sqlitePath: o.sqlitePath } : {}) },
  });
  const store = await createStore({
    ...(config.mongodbUri ? { mongodbUri: config.mongodbUri } : {}),
    sqlitePath: config.sqlitePath ?? path.join(config.dataDir, 'finsecure.db'),
    dbName: config.mongodbDb,
  });
  await store.init();
  const accounts = createAccounts({ store: store.accounts, audit: (e) => store.appendAudit(e), now: Date.now });
  return { store, accounts };
}

/** Builds the `users` command; `out` receives what the operator must see. */
export function usersCommand(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const cmd = new Command('finsecure-aggregator users').description(
    'Manage people (accounts) in the aggregator store, without the web UI. Every change is in the audit log.',
  );
  addAccountCommands(cmd, {
    withPlace: (c) =>
      c
        .option('-c, --config <file>', 'aggregator JSON config file (env FINSECURE_CONFIG)')
        .option('--data-dir <dir>', 'directory of the SQLite database (default ./data)')
        .option('--sqlite-path <file>', 'SQLite database file (default <data-dir>/finsecure.db)'),
    open: async (opts) => {
      const { store, accounts } = await openAccounts(opts as StoreFlags);
      return { accounts, close: () => store.close() };
    },
    roles: ROLES,
    app: 'dashboard',
    emptyHint: 'npm start creates the first admin',
    out,
  });
  return cmd;
}

/** Entry point from cli/main.ts: `finsecure-aggregator users …`. Exit code 2 on bad input. */
export async function runUsersCli(argv: string[]): Promise<void> {
  const cmd = usersCommand();
  cmd.exitOverride();
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof AccountError || err instanceof ConfigError) {
      process.stderr.write(`finsecure-aggregator users: ${err.message}\n`);
      process.exit(2);
    }
    const code = (err as { exitCode?: number }).exitCode;
    if (typeof code === 'number') process.exit(code);
    throw err;
  }
}

/**
 * npm start / first run: creates the first admin when the store has no account and
 * prints its one-time password once (to the terminal, never to the log).
 */
export async function bootstrapFirstAdmin(
  store: Store,
  print: (s: string) => void = (s) => process.stdout.write(s),
  url?: string,
): Promise<boolean> {
  const accounts = createAccounts({ store: store.accounts, audit: (e) => store.appendAudit(e), now: Date.now });
  const first = await accounts.ensureFirstAdmin();
  if (!first) return false;
  print(
    [
      '',
      'First administrator created (shown once, not logged):',
      `  Username:           ${first.username}`,
      `  One-time password:  ${first.oneTimePassword}`,
      `  Sign in at ${url ?? 'the dashboard'}, then choose a new password and set up two-factor authentication.`,
      '',
    ].join('\n') + '\n',
  );
  return true;
}
