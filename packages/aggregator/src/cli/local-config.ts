/**
 * The aggregator's configuration for `npm start` (local-federation.ts): which of the launcher's
 * settings are defaults under FINSECURE_* variables and FINSECURE_CONFIG's file, and which win.
 */
import { loadConfig } from '../config/load.js';
import { CONFIG_FILE_ENV, type AggregatorConfig } from '../config/schema.js';

export interface LaunchOptions {
  dir: string;
  data?: string;
  rows: number;
  fraudRate: number;
  banks: number;
  scheme: string;
  alpha: number;
  rounds: number;
  epochs: number;
  port: number;
  host: string;
  consolePort?: number;
  seed: number;
}

/**
 * The aggregator's configuration for the local federation. The launcher's own settings (its
 * rounds, epochs, port and host; a quorum, a round timeout and a grace period fit for a few local
 * banks) are defaults below FINSECURE_* variables and FINSECURE_CONFIG's file, unless typed as
 * options here, which win over both; the tokens, data directory, seed and model are the launcher's.
 * Throws the loader's ConfigError, naming the variable, file or option of a bad value.
 */
export function localConfig(
  o: LaunchOptions,
  tokens: { adminToken: string; viewerToken: string },
  dir: string,
  inputSize: number,
  /** Whether option `name` was typed on the command line (commander's getOptionValueSource is 'cli'). */
  typed: (name: string) => boolean,
): AggregatorConfig {
  const configFile = process.env[CONFIG_FILE_ENV];
  return loadConfig({
    ...(configFile ? { file: configFile } : {}),
    env: process.env,
    defaults: {
      host: o.host,
      port: o.port,
      rules: {
        rounds: o.rounds,
        minBanks: Math.min(2, o.banks),
        quorum: Math.min(2, o.banks),
        roundTimeoutMs: 300_000,
        graceMs: 10_000,
      } as never,
      training: { epochs: o.epochs } as never,
    },
    flags: {
      adminToken: tokens.adminToken,
      viewerToken: tokens.viewerToken,
      dataDir: dir,
      // Started below, once every bank is connected, so that round 1 includes them all.
      autoStart: false,
      seed: o.seed,
      model: { inputSize, hidden: [64, 32], dropout: 0.2 },
      ...(typed('host') ? { host: o.host } : {}),
      ...(typed('port') ? { port: o.port } : {}),
      ...(typed('rounds') ? { rules: { rounds: o.rounds } as never } : {}),
      ...(typed('epochs') ? { training: { epochs: o.epochs } as never } : {}),
    },
    flagName: (p) => LAUNCH_FLAGS[p],
  });
}

/** The options of this launcher that set an aggregator setting, for the loader's messages. */
const LAUNCH_FLAGS: Record<string, string> = {
  host: '--host',
  port: '--port',
  seed: '--seed',
  'rules.rounds': '--rounds',
  'training.epochs': '--epochs',
};
