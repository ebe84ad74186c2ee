/**
 * The account commands both CLIs offer for operators without the web UI
 * (`finsecure-aggregator users …`, `finsecure-bank users …`): add, list, disable, enable,
 * reset-mfa, reset-password. Each CLI says where its accounts live (flags and how to open
 * them); the commands, their wording and their audit actor ("cli:<os user>") are the same.
 * One-time passwords go to `out` once, never to a log.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { AccountError } from '../deps.js';
import type { Accounts } from '../index.js';

/** The audit actor of a CLI command: "cli:<os user>" (or "cli" when the OS cannot say). */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export interface OpenedAccounts {
  accounts: Accounts;
  close: () => void | Promise<void>;
}

export interface AccountCommandsOptions {
  /** Adds the flags that say where the accounts are (config file, store, state directory). */
  withPlace: (c: Command) => Command;
  /** Opens the accounts from a command's options (errors: thrown, or the CLI's own exit). */
  open: (opts: Record<string, unknown>) => Promise<OpenedAccounts>;
  /** The roles `add --role` accepts. */
  roles: readonly string[];
  /** The app that shows a person's display name ("dashboard", "console"). */
  app: string;
  /** Printed by `list` when there is no account yet: how the first one is made. */
  emptyHint: string;
  /** What the operator must see (one-time passwords included). */
  out: (s: string) => void;
  /** Handles a refused step (unknown user, bad role, ...); by default the AccountError is thrown. */
  onAccountError?: (err: AccountError) => never;
}

/** Adds the account subcommands to `cmd`. */
export function addAccountCommands(cmd: Command, o: AccountCommandsOptions): void {
  const run = async (opts: Record<string, unknown>, fn: (accounts: Accounts) => Promise<void>) => {
    const { accounts, close } = await o.open(opts);
    try {
      await fn(accounts);
    } catch (err) {
      if (err instanceof AccountError && o.onAccountError) o.onAccountError(err);
      throw err;
    } finally {
      await close();
    }
  };

  o.withPlace(cmd.command('add <username>'))
    .description('create an account; prints a one-time password, to be changed at first sign-in')
    .requiredOption('--role <role>', `one of ${o.roles.join(', ')}`)
    .option('--display-name <name>', `name shown in the ${o.app} (default: the username)`)
    .action((username: string, opts: Record<string, unknown>) =>
      run(opts, async (accounts) => {
        const { account, oneTimePassword } = await accounts.createAccount(
          { username, role: opts.role, displayName: opts.displayName },
          cliActor(),
        );
        o.out(`created ${account.username} (${account.role})\none-time password (shown once): ${oneTimePassword}\n`);
      }),
    );

  o.withPlace(cmd.command('list'))
    .description('list accounts: username, role, MFA, state, last sign-in')
    .action((opts: Record<string, unknown>) =>
      run(opts, async (accounts) => {
        const rows = await accounts.listAccounts();
        if (!rows.length) o.out(`no accounts yet (${o.emptyHint})\n`);
        for (const a of rows) {
          const state = a.disabled ? 'disabled' : a.locked ? 'locked' : 'active';
          const last = a.lastLoginAt ? new Date(a.lastLoginAt).toISOString() : 'never';
          o.out(
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
    o.withPlace(cmd.command(`${name} <username>`))
      .description(description)
      .action((username: string, opts: Record<string, unknown>) =>
        run(opts, async (accounts) => {
          const a = await accounts.findAccount(username);
          const who = { id: null, name: cliActor() };
          if (name === 'disable') await accounts.updateAccount(a.id, { disabled: true }, who);
          if (name === 'enable') await accounts.updateAccount(a.id, { disabled: false }, who);
          if (name === 'reset-mfa') await accounts.resetMfa(a.id, who.name);
          if (name === 'reset-password') {
            o.out(
              `one-time password for ${a.username} (shown once): ${await accounts.resetPassword(a.id, who.name)}\n`,
            );
            return;
          }
          o.out(`${name}: done for ${a.username}\n`);
        }),
      );
  }
}
