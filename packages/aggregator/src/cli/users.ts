/**
 * `finsecure-aggregator users add|list|disable|enable|reset-mfa|reset-password`: account
 * administration for operators without the web UI. Opens the same store as the
 * aggregator (config file, FINSECURE_* environment, --data-dir / --sqlite-path), acts as
 * "cli:<os user>" in the audit log, and prints one-time passwords on stdout once.
 */
import { userInfo } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { AccountError, createAccounts, ROLES, type Accounts } from '@finsecure/accounts';
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

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** Builds the `users` command; `out` receives what the operator must see. */
export function usersCommand(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const cmd = new Command('finsecure-aggregator users').description(
    'Manage people (accounts) in the aggregator store, without the web UI. Every change is in the audit log.',
  );
  const withStore = (c: Command) =>
    c
      .option('-c, --config <file>', 'aggregator JSON config file (env FINSECURE_CONFIG)')
      .option('--data-dir <dir>', 'directory of the SQLite database (default ./data)')
      .option('--sqlite-path <file>', 'SQLite database file (default <data-dir>/finsecure.db)');
  const run =
    <A extends unknown[]>(fn: (accounts: Accounts, ...args: A) => Promise<void>) =>
    async (...args: [...A, StoreFlags, Command]) => {
      const flags = args[args.length - 2] as StoreFlags;
      const { store, accounts } = await openAccounts(flags);
      try {
        await fn(accounts, ...(args.slice(0, -2) as A));
      } finally {
        await store.close();
      }
    };

  withStore(cmd.command('add <username>'))
    .description('create an account; prints a one-time password, to be changed at first sign-in')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--display-name <name>', 'name shown in the dashboard (default: the username)')
    .action(
      run(async (accounts, username: string) => {
        const o = cmd.commands.find((c) => c.name() === 'add')!.opts<{ role: string; displayName?: string }>();
        const { account, oneTimePassword } = await accounts.createAccount(
          { username, role: o.role, displayName: o.displayName },
          actor(),
        );
        out(`created ${account.username} (${account.role})\none-time password (shown once): ${oneTimePassword}\n`);
      }),
    );

  withStore(cmd.command('list'))
    .description('list accounts: username, role, MFA, state, last sign-in')
    .action(
      run(async (accounts) => {
        const rows = await accounts.listAccounts();
        if (!rows.length) out('no accounts yet (npm start creates the first admin)\n');
        for (const a of rows) {
          const state = a.disabled ? 'disabled' : a.locked ? 'locked' : 'active';
          const last = a.lastLoginAt ? new Date(a.lastLoginAt).toISOString() : 'never';
          out(
            `${a.username.padEnd(24)} ${a.role.padEnd(12)} mfa=${a.mfaEnabled ? 'on ' : 'off'} ${state.padEnd(8)} last sign-in ${last}\n`,
          );
        }
      }),
    );

  for (const [name, description] of [
    ['disable', 'disable an account and end its sessions'],
    ['enable', 'enable a disabled account (and clear a lockout)'],
    ['reset-mfa', 'remove TOTP and recovery codes (lost phone) and end the sessions'],
    ['reset-password', 'set a one-time password (printed once) and end the sessions'],
  ] as const) {
    withStore(cmd.command(`${name} <username>`))
      .description(description)
      .action(
        run(async (accounts, username: string) => {
          const a = await accounts.findAccount(username);
          const who = { id: null, name: actor() };
          if (name === 'disable') await accounts.updateAccount(a.id, { disabled: true }, who);
          if (name === 'enable') await accounts.updateAccount(a.id, { disabled: false }, who);
          if (name === 'reset-mfa') await accounts.resetMfa(a.id, who.name);
          if (name === 'reset-password') {
            out(`one-time password for ${a.username} (shown once): ${await accounts.resetPassword(a.id, who.name)}\n`);
            return;
          }
          out(`${name}: done for ${a.username}\n`);
        }),
      );
  }
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
