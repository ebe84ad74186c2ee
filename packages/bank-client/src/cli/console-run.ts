/**
 * What `finsecure-bank console`, `finsecure-bank users …` and `start --console-port` do when
 * they run: read the console settings, open the state, start the console server or the account
 * store. Imported by their actions (console.ts, start.ts) only when they run, since it loads the
 * server (Fastify, SQLite, TF.js).
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { BankConfigError } from '../config/index.js';
import { loadConsoleConfig, readConsoleTls, type ConsoleConfig } from '../console/config.js';
import { ConsoleDb } from '../console/db.js';
import { buildConsole, consoleAccounts, consoleDbPath, type BankConsole } from '../console/server.js';
import type { ValidationSource } from '../console/threshold.js';
import type { OpenedAccounts } from '@finsecure/accounts/cli';
import { createBankLogger } from './terminal.js';
import { openStateOrFail, requireBankState } from './open-state.js';
import { fail } from './fail.js';
import { envNumber, plainListenWarning } from '@finsecure/common/config';

/** Console flags as loadConsoleConfig takes them (strings from the command line become numbers). */
export function consoleFlags(o: Record<string, unknown>): Record<string, unknown> {
  // Plain decimal only, as for every other number setting: "0xB798" is not read as port 47000.
  const num = (flag: string, v: unknown) => {
    if (v === undefined) return undefined;
    try {
      return envNumber(flag, String(v), (m) => new Error(m));
    } catch (err) {
      return fail((err as Error).message);
    }
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
  const plain = plainListenWarning(
    'the bank console',
    cfg.consoleHost,
    !!tls,
    '--console-tls-cert and --console-tls-key',
  );
  if (plain) logger.warn(plain);
  // On a terminal the URL also stands out as a plain line; JSON logs stay one object per line.
  if (process.stdout.isTTY) process.stdout.write(`bank console: ${address}\n`);
  if ((await c.db.accounts.countAccounts()) === 0) {
    logger.warn(
      `no console accounts yet: create the first admin with \`npx --no-install finsecure-bank users add admin --role admin --state-dir ${cfg.stateDir} --state-key-file <the same key file>\``,
    );
  }
  return c;
}

/** `finsecure-bank console`: the console alone, until SIGINT or SIGTERM. */
export async function serveConsole(o: Record<string, unknown>): Promise<void> {
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
  openStateOrFail(cfg.stateDir, o.stateKeyFile, logger, stateKeyEnv(cfg), cfg.stateKeyOrigin);
  const c = await runConsole(cfg, logger, null);
  const stop = async () => {
    await c.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/** The console's accounts for `finsecure-bank users …`, from the state directory the options name. */
export function openConsoleAccounts(o: Record<string, unknown>): OpenedAccounts {
  let stateDir: string;
  let cfg: ConsoleConfig;
  let setting = '--state-dir';
  try {
    if (!o.stateDir)
      setting = process.env.FINSECURE_STATE_DIR
        ? 'FINSECURE_STATE_DIR'
        : o.config
          ? `stateDir in ${String(o.config)}`
          : '--state-dir';
    cfg = loadConsoleConfig({
      ...(o.config ? { file: String(o.config) } : {}),
      env: process.env,
      flags: { stateDir: o.stateDir },
    });
    stateDir = cfg.stateDir;
  } catch (err) {
    fail((err as Error).message);
  }
  if (o.requireState) requireBankState(stateDir, setting);
  openStateOrFail(stateDir, o.stateKeyFile, undefined, stateKeyEnv(cfg), cfg.stateKeyOrigin);
  const db = new ConsoleDb(path.join(stateDir, 'console.sqlite'));
  return { accounts: consoleAccounts(db), close: () => db.close() };
}

/** The state key's settings as the environment openStateOrFail reads: the environment's, else the config file's. */
function stateKeyEnv(cfg: Pick<ConsoleConfig, 'stateKeyFile' | 'stateKey'>): NodeJS.ProcessEnv {
  return { FINSECURE_STATE_KEY_FILE: cfg.stateKeyFile, FINSECURE_STATE_KEY: cfg.stateKey };
}
