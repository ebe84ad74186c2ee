import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.js';
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
