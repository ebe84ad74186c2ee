/**
 * Where the commands that work on an existing aggregator store (`users`, `audit verify`) find it:
 * the config file, FINSECURE_* environment and --data-dir / --sqlite-path, as the aggregator does.
 * Commands that only read, or act on records that must already exist, refuse a place without a
 * store instead of creating a new, empty one there (a mistyped --data-dir would otherwise "work").
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import { CONFIG_FILE_ENV, type AggregatorConfig } from '../config/schema.js';
import { flagOfSetting } from './option-flags.js';

export interface StoreFlags {
  config?: string;
  dataDir?: string;
  sqlitePath?: string;
}

/** The SQLite file of the store (unused with MONGODB_URI). */
export const SQLITE_FILE = 'finsecure.db';

/** The aggregator configuration as the store commands see it. @throws ConfigError */
export function storeConfig(o: StoreFlags): AggregatorConfig {
  const file = o.config ?? process.env[CONFIG_FILE_ENV];
  return loadConfig({
    ...(file ? { file } : {}),
    env: process.env,
    flags: { ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.sqlitePath ? { sqlitePath: o.sqlitePath } : {}) },
    flagName: flagOfSetting,
  });
}

export function sqlitePathOf(config: AggregatorConfig): string {
  return config.sqlitePath ?? path.join(config.dataDir, SQLITE_FILE);
}

/**
 * @throws ConfigError when the configured SQLite store does not exist (nothing is created). A
 * MongoDB store is not checked here: opening it says whether it can be reached.
 */
export function requireStore(config: AggregatorConfig): void {
  if (config.mongodbUri) return;
  const file = sqlitePathOf(config);
  if (existsSync(file)) return;
  throw new ConfigError(
    config.sqlitePath
      ? `no aggregator store at ${file}: check --sqlite-path`
      : `no aggregator store at ${config.dataDir} (${SQLITE_FILE}): check --data-dir`,
  );
}
