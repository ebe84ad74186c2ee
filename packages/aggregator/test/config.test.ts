import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { DEFAULT_TRAINING } from '../src/config/schema.js';
import { parseStoredSettings } from '../src/federation/settings.js';
import { DEFAULT_RULES } from '../src/round/rules.js';
import { flagOfSetting } from '../src/cli/option-flags.js';
import { ApiAuth, generateToken, hashToken, tokenMatches } from '../src/auth/tokens.js';
import { cleanup, tempDir } from './helpers/federation.js';

describe('aggregator configuration', () => {
  it('layers defaults < file < environment < flags', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'c.json');
      writeFileSync(
        file,
        JSON.stringify({ port: 9000, rules: { rounds: 7, quorum: 1, minBanks: 1 }, training: { epochs: 4 } }),
      );
      const c = loadConfig({
        file,
        env: { FINSECURE_PORT: '9100', FINSECURE_AUTO_START: 'true' },
        flags: { rules: { rounds: 9 } as never },
      });
      expect(c.port).toBe(9100);
      expect(c.autoStart).toBe(true);
      expect(c.rules.rounds).toBe(9);
      expect(c.rules.quorum).toBe(1);
      expect(c.training.epochs).toBe(4);
      expect(c.training.batchSize).toBe(256);
    } finally {
      cleanup(dir);
    }
  });

  it('reads round rules and training settings from the environment', () => {
    const c = loadConfig({
      env: {
        FINSECURE_ROUNDS: '3',
        FINSECURE_QUORUM: '1',
        FINSECURE_EPOCHS: '5',
        FINSECURE_UPDATE_ENCODING: 'int8',
        FINSECURE_INPUT_SIZE: '15',
      },
    });
    expect(c.rules).toMatchObject({ rounds: 3, quorum: 1, minBanks: 2 });
    expect(c.training).toMatchObject({ epochs: 5, updateEncoding: 'int8', batchSize: 256 });
    expect(c.model).toEqual({ inputSize: 15, hidden: [64, 32], dropout: 0.2 });
    expect(() => loadConfig({ env: { FINSECURE_UPDATE_ENCODING: 'float8' } })).toThrow(/training\.updateEncoding/);
  });

  it('names every invalid setting', () => {
    expect(() => loadConfig({ flags: { port: 70000, rules: { quorum: 4, minBanks: 2 } as never } })).toThrow(
      ConfigError,
    );
    try {
      loadConfig({ flags: { port: 70000, tlsCert: 'a.pem' } });
    } catch (err) {
      expect((err as Error).message).toMatch(/port: Too big/i);
      expect((err as Error).message).toMatch(/tlsCert: tlsCert and tlsKey must be given together/);
    }
    expect(() => loadConfig({ env: { FINSECURE_PORT: 'eighty' } })).toThrow(
      'FINSECURE_PORT must be a number, got "eighty"',
    );
    expect(() => loadConfig({ env: { FINSECURE_AUTO_START: 'maybe' } })).toThrow(
      'FINSECURE_AUTO_START must be true or false, got "maybe"',
    );
    expect(() => loadConfig({ env: { FINSECURE_ADMIN_TOKEN: 'short' } })).toThrow(
      /adminToken: must be at least 16 characters/,
    );
    expect(() => loadConfig({ env: { MONGODB_URI: 'postgres://x' } })).toThrow(/mongodbUri: must start with mongodb/);
    expect(() => loadConfig({ file: '/nonexistent/finsecure.json' })).toThrow(
      /cannot read config file \/nonexistent\/finsecure.json/,
    );
  });

  it('rejects a config file that is not a JSON object', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'bad.json');
      writeFileSync(file, '[1, 2');
      expect(() => loadConfig({ file })).toThrow(/is not valid JSON/);
    } finally {
      cleanup(dir);
    }
  });
});

describe('config file keys and the source of each bad value', () => {
  /** The message loadConfig throws for these sources. */
  function failure(sources: Parameters<typeof loadConfig>[0]): string {
    try {
      loadConfig(sources);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('loadConfig accepted the configuration');
  }

  it('refuses unknown keys of the config file, naming the file and each key path, with a suggestion', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'config.json');
      writeFileSync(
        file,
        JSON.stringify({
          port: 0,
          bogusKey: 1,
          rules: { roundz: 3, rounds: 2 },
          quorum: 2,
          min_banks: 2,
          training: { epochs: 1, dp: { clip: 1, noiseMultiplier: 1, delt: 1e-5 } },
        }),
      );
      const message = failure({ file });
      const lines = message.split('\n').slice(1);
      expect(lines).toEqual([
        `  - ${file}:1:22: unknown setting "bogusKey"`,
        `  - ${file}:1:42: unknown setting "rules.roundz" (did you mean "rules.rounds"?)`,
        `  - ${file}:1:65: unknown setting "quorum" (did you mean "rules.quorum"?)`,
        `  - ${file}:1:79: unknown setting "min_banks" (did you mean "rules.minBanks"?)`,
        `  - ${file}:1:146: unknown setting "training.dp.delt" (did you mean "training.dp.delta"?)`,
      ]);
      // Every key the schema knows is accepted, nested ones included.
      writeFileSync(
        file,
        JSON.stringify({
          port: 0,
          model: { inputSize: 15 },
          training: { epochs: 1, dp: { clip: 1, noiseMultiplier: 1 } },
          rules: { rounds: 2, quorum: 1, minBanks: 1 },
        }),
      );
      expect(loadConfig({ file }).rules.rounds).toBe(2);
    } finally {
      cleanup(dir);
    }
  });

  it('names the file, the environment variable or the flag that supplied a bad value', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ port: 'eighty', rules: { quorum: 0 }, training: { dp: {} } }));
      const fromFile = failure({ file });
      expect(fromFile).toContain(`  - ${file}:1:9: port: Invalid input: expected number, received string`);
      expect(fromFile).toContain(`  - ${file}:1:36: rules.quorum: Too small`);
      // A required field missing from a group the file wrote is the file's, placed at the group.
      expect(fromFile).toContain(`  - ${file}:1:56: training.dp.clip: Invalid input`);

      // The environment overrides the file: the variable is named, and the file no longer is.
      const fromEnv = failure({ file, env: { FINSECURE_QUORUM: '0', FINSECURE_PORT: '70000' } });
      expect(fromEnv).toContain('  - FINSECURE_QUORUM: rules.quorum: Too small');
      expect(fromEnv).toContain('  - FINSECURE_PORT: port: Too big');
      expect(fromEnv).not.toContain(`${file}:1:9: port`);

      // Flags override both.
      const fromFlags = failure({
        file,
        env: { FINSECURE_QUORUM: '0' },
        flags: { port: 80, rules: { quorum: 5 } as never },
        flagName: flagOfSetting,
      });
      expect(fromFlags).toContain('  - --quorum: rules.quorum: quorum (5) cannot exceed minBanks (2)');
      expect(fromFlags).not.toContain('FINSECURE_QUORUM');
      expect(fromFlags).not.toContain(': port:');
      // Without flag names (a program calling loadConfig), flags are called flags.
      expect(failure({ flags: { port: 70000 } })).toContain('  - flags: port: Too big');
      // A value left at its default is named as before.
      expect(failure({ flags: { rules: { minBanks: 1 } as never } })).toContain(
        '  - rules.quorum: quorum (2) cannot exceed minBanks (1): a round could never reach it',
      );
    } finally {
      cleanup(dir);
    }
  });

  it('maps every flag setting back to its flag', () => {
    expect(flagOfSetting('rules.quorum')).toBe('--quorum');
    expect(flagOfSetting('rules.roundTimeoutMs')).toBe('--round-timeout');
    expect(flagOfSetting('auditKeyFile')).toBe('--audit-key');
    expect(flagOfSetting('model.inputSize')).toBe('--input-size');
    expect(flagOfSetting('adminToken')).toBeUndefined();
  });

  it('still reads settings stored by other versions leniently (unknown keys are ignored there)', () => {
    const stored = {
      training: { ...DEFAULT_TRAINING, someFutureField: 1 },
      rules: { ...DEFAULT_RULES, retiredRule: true },
      extra: 'x',
    };
    expect(parseStoredSettings(stored)?.rules.rounds).toBe(DEFAULT_RULES.rounds);
  });
});

describe('tokens', () => {
  it('are random, stored as sha256 and compared through their hashes', () => {
    const t = generateToken();
    expect(t).not.toBe(generateToken());
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenMatches(t, hashToken(t))).toBe(true);
    expect(tokenMatches(t + 'x', hashToken(t))).toBe(false);
    expect(tokenMatches(t, 'not-hex')).toBe(false);
  });

  it('grant admin or viewer roles', () => {
    const auth = new ApiAuth('a'.repeat(20), 'v'.repeat(20));
    expect(auth.roleOf('a'.repeat(20))).toBe('admin');
    expect(auth.roleOf('v'.repeat(20))).toBe('viewer');
    expect(auth.roleOf('x'.repeat(20))).toBeNull();
    expect(auth.roleOf(undefined)).toBeNull();
    expect(new ApiAuth('a'.repeat(20)).roleOf('v'.repeat(20))).toBeNull();
  });
});
