/**
 * `finsecure-bank console` (the bank console without joining a federation),
 * `finsecure-bank users …` (people of the console, without the web UI), and the console
 * flags of `finsecure-bank start --console-port`.
 *
 * Only the commands and their flags are defined here: every invocation loads this file,
 * `--help` included. What they do when they run (console-run.ts: the server, SQLite, TF.js)
 * is imported by their actions.
 */
import type { Command } from 'commander';
import { BANK_ROLES } from '@finsecure/accounts';
import { addAccountCommands } from '@finsecure/accounts/cli';
import { addStateKeyFlag } from './state-key.js';
import { fail } from './fail.js';

/** Flags shared by `console` and `start` (where they are optional), with --state-key-file. */
export function addConsoleFlags(c: Command): Command {
  return addStateKeyFlag(c)
    .option(
      '--console-port <port>',
      'serve the bank console (web app + REST API, /docs) on this port; 0 picks a free one (env FINSECURE_CONSOLE_PORT)',
    )
    .option(
      '--console-host <host>',
      'address the console listens on (default 127.0.0.1: this host only; env FINSECURE_CONSOLE_HOST)',
    )
    .option(
      '--console-id-column <name>',
      'column of uploads holding the transaction id, when not one of TRANSACTION_ID, transaction_id, tx_id, id (env FINSECURE_CONSOLE_ID_COLUMN)',
    )
    .option(
      '--console-tls-cert <file>',
      'serve the console over HTTPS with this certificate (PEM; with --console-tls-key): Secure __Host- cookies and HSTS; needed when analysts reach it over a network (env FINSECURE_CONSOLE_TLS_CERT)',
    )
    .option('--console-tls-key <file>', "the certificate's private key (PEM; env FINSECURE_CONSOLE_TLS_KEY)")
    .option(
      '--console-max-upload-mb <mb>',
      'largest CSV upload the console accepts, in MiB, counted after decompression for a gzip file (default 256; env FINSECURE_CONSOLE_MAX_UPLOAD_MB)',
    );
}

export function addConsoleCommand(program: Command, mappingHelp: string): void {
  addConsoleFlags(
    program
      .command('console')
      .description(
        "Serve the bank console (scoring, alert queue, analyst decisions, operating threshold) from this bank's state directory, without joining a federation.\n" +
          'Settings come from (lowest to highest priority): --config file (JSON, long flags in camelCase), environment (FINSECURE_*), flags.',
      )
      .option('-c, --config <file>', 'JSON config file'),
  )
    .option(
      '--state-dir <dir>',
      "the bank's state directory: the daemon's model/ is read, console.sqlite kept (default ./bank-state; env FINSECURE_STATE_DIR)",
    )
    .option('--layout <layout>', 'CSV layout of uploads: auto, kaggle or handbook (default auto; env FINSECURE_LAYOUT)')
    .option('--mapping <file.json>', mappingHelp + ' (env FINSECURE_MAPPING)')
    .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu (default auto; env FINSECURE_BACKEND)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--log-format <format>', 'auto, pretty or json (default auto)')
    .action(async (o: Record<string, unknown>) => (await import('./console-run.js')).serveConsole(o));
}

/** `finsecure-bank users add|list|disable|enable|reset-mfa|reset-password`. */
export function addUsersCommand(program: Command, out: (s: string) => void = (s) => process.stdout.write(s)): void {
  const users = program
    .command('users')
    .description(
      "Manage the people of this bank's console (analyst, ml-engineer, admin), without the web UI. Every change is in the local audit log.",
    );
  addAccountCommands(users, {
    withPlace: (c) =>
      addStateKeyFlag(c)
        // Only `add` may start a new store; list, disable … on a mistyped --state-dir are refused.
        .hook('preAction', (cmd) => {
          if (cmd.name() !== 'add') cmd.setOptionValue('requireState', true);
        })
        .option(
          '--state-dir <dir>',
          "the bank's state directory holding console.sqlite (default ./bank-state; env FINSECURE_STATE_DIR)",
        )
        .option('-c, --config <file>', 'JSON config file (its stateDir is used)'),
    open: async (o) => (await import('./console-run.js')).openConsoleAccounts(o),
    roles: BANK_ROLES,
    app: 'console',
    emptyHint: 'finsecure-bank users add admin --role admin',
    out,
    onAccountError: (err) => fail(err.message),
  });
}
