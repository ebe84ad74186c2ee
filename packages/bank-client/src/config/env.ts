/**
 * The environment variables `finsecure-bank start` reads, each with the setting it gives and how
 * it is parsed: one table for the loader (load.ts) and for `--help` (help.ts), so the two
 * cannot drift apart.
 */
import type { BankConfigInput } from './schema.js';

export const BANK_ENV: Record<string, { key: keyof BankConfigInput; type: 'string' | 'number' }> = {
  FINSECURE_TEST_FRACTION: { key: 'testFraction', type: 'number' },
  FINSECURE_SPLIT: { key: 'split', type: 'string' },
  FINSECURE_LAYOUT: { key: 'layout', type: 'string' },
  FINSECURE_MAPPING: { key: 'mapping', type: 'string' },
  FINSECURE_DP_DELTA: { key: 'dpDelta', type: 'number' },
  FINSECURE_BANK_SEED: { key: 'seed', type: 'number' },
  FINSECURE_SECAGG_ROSTER: { key: 'secaggRoster', type: 'string' },
  FINSECURE_RECONNECT_MAX_MS: { key: 'reconnectMaxMs', type: 'number' },
  FINSECURE_SERVER: { key: 'server', type: 'string' },
  FINSECURE_BANK_ID: { key: 'bankId', type: 'string' },
  FINSECURE_BANK_TOKEN: { key: 'token', type: 'string' },
  FINSECURE_DATA: { key: 'data', type: 'string' },
  FINSECURE_TEST_DATA: { key: 'test', type: 'string' },
  FINSECURE_STATE_DIR: { key: 'stateDir', type: 'string' },
  FINSECURE_STATE_KEY_FILE: { key: 'stateKeyFile', type: 'string' },
  FINSECURE_STATE_KEY: { key: 'stateKey', type: 'string' },
  FINSECURE_FEEDBACK_WEIGHT: { key: 'feedbackWeight', type: 'number' },
  FINSECURE_CA_FILE: { key: 'caFile', type: 'string' },
  FINSECURE_DP_CLIP: { key: 'dpClip', type: 'number' },
  FINSECURE_DP_NOISE_MULTIPLIER: { key: 'dpNoiseMultiplier', type: 'number' },
  FINSECURE_DP_EPSILON_BUDGET: { key: 'dpEpsilonBudget', type: 'number' },
  FINSECURE_BACKEND: { key: 'backend', type: 'string' },
  FINSECURE_TRAINING_THREADS: { key: 'trainingThreads', type: 'number' },
  FINSECURE_LOG_LEVEL: { key: 'logLevel', type: 'string' },
  FINSECURE_LOG_FORMAT: { key: 'logFormat', type: 'string' },
};
