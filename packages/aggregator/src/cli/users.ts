/**
 * `finsecure-aggregator users add|list|disable|enable|reset-mfa|reset-password`: account
 * administration for operators without the web UI. Opens the same store as the
 * aggregator (config file, FINSECURE_* environment, --data-dir / --sqlite-path), acts as
 * "cli:<os user>" in the audit log, and prints one-time passwords on stdout once. Only `add`
 * may start a new store; the other commands refuse a place without one (exit 2, nothing created).
 */
import path from 'node:path';
import { Command } from 'commander';
import { AccountError, createAccounts, ROLES, type Accounts } from '@finsecure/accounts';
import { addAccountCommands } from '@finsecure/accounts/cli';
import { ConfigError } from '../config/load.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { requireStore, sqlitePathOf, storeConfig, type StoreFlags } from './store-place.js';
import { writeSecretFile } from './secret-file.js';
import { strictUsage, usageExitCode, withVersion } from './usage.js';

/** The one command that may start a store: the others read accounts or change ones that must exist. */
const CREATES_STORE = new Set(['add']);

async function openAccounts(o: StoreFlags): Promise<{ store: Store; accounts: Accounts }> {
  const config = storeConfig(o);
  const store = await createStore({
    ...(config.mongodbUri ? { mongodbUri: config.mongodbUri } : {}),
    sqlitePath: sqlitePathOf(config),
    dbName: config.mongodbDb,
    // Beside a running aggregator (`docker compose exec aggregator … users reset-mfa`): account changes are
    // short transactions, as the aggregator's own API makes, so this does not take its instance lock.
    instanceLock: false,
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
    withPlace: (c) => {
      // Which command is running decides whether a missing store is an error (see CREATES_STORE).
      const mayCreate = CREATES_STORE.has(c.name());
      return c
        .option('-c, --config <file>', 'aggregator JSON config file (env FINSECURE_CONFIG)')
        .option(
          '--data-dir <dir>',
          `directory of the SQLite database (default ./data; env FINSECURE_DATA_DIR)${
            mayCreate ? '' : '; must hold a store'
          }`,
        )
        .option(
          '--sqlite-path <file>',
          'SQLite database file (default <data-dir>/finsecure.db; env FINSECURE_SQLITE_PATH)',
        )
        .hook('preAction', (self) => {
          // Before anything is opened: a mistyped --data-dir must not gain an empty store.
          if (!mayCreate) requireStore(storeConfig(self.opts<StoreFlags>()));
        });
    },
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

/** Entry point from cli/main.ts: `finsecure-aggregator users …`. Exit code 2 on bad input, errors on stderr. */
export async function runUsersCli(argv: string[]): Promise<void> {
  const cmd = strictUsage(withVersion(usersCommand()));
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof AccountError || err instanceof ConfigError) {
      process.stderr.write(`finsecure-aggregator users: ${err.message}\n`);
      process.exit(2);
    }
    const code = usageExitCode(err);
    if (code !== undefined) process.exit(code);
    throw err;
  }
}

/** The file the first administrator's one-time password goes to when no terminal shows it. */
export const FIRST_ADMIN_PASSWORD_FILE = 'first-admin-password.txt';

/**
 * Where the first administrator's one-time password goes (bootstrapFirstAdmin):
 * - a function: it is shown through it, `npm start`'s console, whose log goes to a file
 *   (<dir>/logs/aggregator.log), so the demo can print it; tests collect it the same way;
 * - a stream and the data directory (the service, `finsecure-aggregator`): shown on the stream
 *   only when it is a terminal; otherwise the stream is the log (pino writes JSON to stdout, and
 *   `> agg.log`, docker logs and journald keep stderr too), so the password goes to
 *   `<dataDir>/first-admin-password.txt` (mode 0600, like the audit key) and the stream gets only
 *   that path and a reminder to delete the file after the first sign-in.
 */
export type FirstAdminOutput =
  ((s: string) => void) | { stream: { write(s: string): unknown; isTTY?: boolean }; dataDir: string };

/**
 * npm start / first run: creates the first admin when the store has no account and shows its
 * one-time password once, never in the log (see FirstAdminOutput).
 */
export async function bootstrapFirstAdmin(store: Store, out: FirstAdminOutput, url?: string): Promise<boolean> {
  const accounts = createAccounts({ store: store.accounts, audit: (e) => store.appendAudit(e), now: Date.now });
  const first = await accounts.ensureFirstAdmin();
  if (!first) return false;
  const signIn = `Sign in at ${url ?? 'the dashboard'}, then choose a new password and set up two-factor authentication.`;
  const banner = [
    '',
    'First administrator created (shown once, not logged):',
    `  Username:           ${first.username}`,
    `  One-time password:  ${first.oneTimePassword}`,
    `  ${signIn}`,
    '',
  ];
  if (typeof out === 'function') {
    out(banner.join('\n') + '\n');
    return true;
  }
  if (out.stream.isTTY) {
    out.stream.write(banner.join('\n') + '\n');
    return true;
  }
  const file = path.resolve(out.dataDir, FIRST_ADMIN_PASSWORD_FILE);
  try {
    // A file left by an earlier store is replaced: created anew (no symlink followed) with mode 0600.
    writeSecretFile(
      file,
      [
        `FinSecure aggregator: first administrator, created ${new Date().toISOString()}`,
        `Username:           ${first.username}`,
        `One-time password:  ${first.oneTimePassword}`,
        signIn,
        'Delete this file after the first sign-in: the password must be changed then, and this copy is not needed again.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    // The account exists either way; its password is not printed here (this is the log).
    out.stream.write(
      `\nFirst administrator "${first.username}" created, but its one-time password could not be written to ${file} ` +
        `(${(err as Error).message}). Set a new one with: finsecure-aggregator users reset-password ${first.username}\n\n`,
    );
    return true;
  }
  out.stream.write(
    [
      '',
      `First administrator created: username ${first.username}; its one-time password is in ${file} (mode 0600, not logged).`,
      `${signIn} Delete ${file} after the first sign-in.`,
      '',
    ].join('\n') + '\n',
  );
  return true;
}
