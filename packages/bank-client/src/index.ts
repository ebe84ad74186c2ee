export * from './config.js';
export * from './client.js';
export * from './local-data.js';
export * from './round-work.js';
export * from './score.js';
export {
  buildConsole,
  consoleAccounts,
  consoleDbPath,
  DEFAULT_CONSOLE_HOST,
  type BankConsole,
  type ConsoleOptions,
} from './console/server.js';
