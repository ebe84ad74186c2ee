/**
 * `finsecure-bank console` (the bank console without joining a federation),
 * `finsecure-bank users …` (people of the console, without the web UI), and the console
 * that `finsecure-bank start --console-port` runs beside the daemon.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { BANK_ROLES } from '@finsecure/accounts';
import { addAccountCommands } from '@finsecure/accounts/cli';
import { BankConfigError } from '../config.js';
import { loadConsoleConfig, readConsoleTls, type ConsoleConfig } from '../console/config.js';
import { ConsoleDb } from '../console/db.js';
import { buildConsole, consoleAccounts, consoleDbPath, type BankConsole } from '../console/server.js';
import type { ValidationSource } from '../console/threshold.js';
import { createBankLogger } from './terminal.js';
import { addStateKeyFlag, openStateOrFail, requireBankState } from './state-key.js';

function fail(message: string, code = 2): never {
  process.stderr.write(`finsecure-bank: ${message}\n`);
  process.exit(code);
}

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

/** Console flags as loadConsoleConfig takes them (strings from the command line become numbers). */
export function consoleFlags(o: Record<string, unknown>): Record<string, unknown> {
  const num = (flag: string, v: unknown) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (String(v).trim() === '' || !Number.isFinite(n)) fail(`${flag} must be a number, got "${String(v)}"`);
    return n;
  };
  return {
    consolePort: num('--console-port', o.consolePort),
    consoleHost: o.consoleHost,
    consoleIdColumn: o.consoleIdColumn,
    consoleTlsCert: o.consoleTlsCert,
    consoleTlsKey: o.consoleTlsKey,
    consoleMaxUploadMb: num('--console-max-upload-mb', o.consoleMaxUploadMb),
    stateDir: o.stateDir,
    layout: o.layout,
    mapping: o.mapping,
    backend: o.backend,
    logLevel: o.logLevel,
    logFormat: o.logFormat,
  };
}

/** Starts the console and prints its URL; tells how to create the first admin when there is none. */
export async function runConsole(
  cfg: ConsoleConfig,
  logger: Logger,
  validation: ValidationSource | null,
): Promise<BankConsole> {
  const tls = readConsoleTls(cfg);
  const c = await buildConsole({
    stateDir: cfg.stateDir,
    ...(tls ? { tls } : {}),
    layout: cfg.mapping ?? cfg.layout,
    ...(cfg.consoleIdColumn ? { idColumn: cfg.consoleIdColumn } : {}),
    maxUploadBytes: Math.round(cfg.consoleMaxUploadMb * 1024 * 1024),
    backend: cfg.backend,
    validation,
    logger: logger.child({ component: 'console' }),
  });
  const address = await c.app.listen({ host: cfg.consoleHost, port: cfg.consolePort ?? 8081 });
  logger.info({ url: address, db: consoleDbPath(cfg.stateDir) }, 'bank console listening');
  // On a terminal the URL also stands out as a plain line; JSON logs stay one object per line.
  if (process.stdout.isTTY) process.stdout.write(`bank console: ${address}\n`);
  if ((await c.db.accounts.countAccounts()) === 0) {
    logger.warn(
      `no console accounts yet: create the first admin with \`npx --no-install finsecure-bank users add admin --role admin --state-dir ${cfg.stateDir} --state-key-file <the same key file>\``,
    );
  }
  return c;
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
    .action(async (o: Record<string, unknown>) => {
      let cfg: ConsoleConfig;
      try {
        cfg = loadConsoleConfig({
          ...(o.config ? { file: String(o.config) } : {}),
          env: process.env,
          flags: consoleFlags(o),
        });
        readConsoleTls(cfg); // unreadable files refused now, naming the setting
      } catch (err) {
        if (err instanceof BankConfigError) fail(err.message);
        throw err;
      }
      const logger = createBankLogger('bank-console', cfg.logLevel, cfg.logFormat);
      openStateOrFail(cfg.stateDir, o.stateKeyFile, logger);
      const c = await runConsole(cfg, logger, null);
      const stop = async () => {
        await c.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
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
    open: async (o) => {
      let stateDir: string;
      let setting = '--state-dir';
      try {
        if (!o.stateDir)
          setting = process.env.FINSECURE_STATE_DIR
            ? 'FINSECURE_STATE_DIR'
            : o.config
              ? `stateDir in ${String(o.config)}`
              : '--state-dir';
        stateDir = loadConsoleConfig({
          ...(o.config ? { file: String(o.config) } : {}),
          env: process.env,
          flags: { stateDir: o.stateDir },
        }).stateDir;
      } catch (err) {
        fail((err as Error).message);
      }
      if (o.requireState) requireBankState(stateDir, setting);
      openStateOrFail(stateDir, o.stateKeyFile);
      const db = new ConsoleDb(path.join(stateDir, 'console.sqlite'));
      return { accounts: consoleAccounts(db), close: () => db.close() };
    },
    roles: BANK_ROLES,
    app: 'console',
    emptyHint: 'finsecure-bank users add admin --role admin',
    out,
    onAccountError: (err) => fail(err.message),
  });
}
