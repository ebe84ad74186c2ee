import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BankConfigError, loadBankConfig } from '../src/config.js';
import { cleanup, tempDir } from '../../aggregator/test/helpers/federation.js';

const token = 'fst_' + 'x'.repeat(40);

describe('bank-client configuration', () => {
  it('layers file < environment < flags and applies defaults', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'bank.json');
      writeFileSync(
        file,
        JSON.stringify({
          server: 'ws://file:1/ws/bank',
          bankId: 'from-file',
          data: 'a.csv',
          dpClip: 1,
          dpNoiseMultiplier: 0.5,
          seed: 9,
        }),
      );
      const c = loadBankConfig({
        file,
        env: { FINSECURE_BANK_TOKEN: token, FINSECURE_BANK_ID: 'from-env', FINSECURE_TEST_FRACTION: '0.3' },
        flags: { data: 'b.csv', seed: undefined },
      });
      expect(c).toMatchObject({
        server: 'ws://file:1/ws/bank',
        bankId: 'from-env',
        data: 'b.csv',
        token,
        testFraction: 0.3,
        dpClip: 1,
        dpNoiseMultiplier: 0.5,
        seed: 9,
        stateDir: './bank-state',
        split: 'stratified',
      });
    } finally {
      cleanup(dir);
    }
  });

  it('names every problem, with the flag a user would type', () => {
    let message = '';
    try {
      loadBankConfig({ flags: { server: 'localhost:8080', testFraction: 2, dpNoiseMultiplier: 1 } });
    } catch (err) {
      expect(err).toBeInstanceOf(BankConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/--server: must be a ws:\/\/ or wss:\/\/ URL/);
    expect(message).toMatch(/--bank-id: is required/);
    expect(message).toMatch(/--token \/ FINSECURE_BANK_TOKEN: is required/);
    expect(message).toMatch(/--data: is required/);
    expect(message).toMatch(/--test-fraction: /);
    expect(() => loadBankConfig({ env: { FINSECURE_DP_CLIP: 'one' } })).toThrow(
      'FINSECURE_DP_CLIP must be a number, got "one"',
    );
    expect(() => loadBankConfig({ file: '/nonexistent/bank.json' })).toThrow(/cannot read config file/);
  });

  it('never echoes the token in an error', () => {
    const attempt = () => loadBankConfig({ flags: { server: 'http://x', bankId: 'a', data: 'x.csv', token } });
    expect(attempt).toThrow(BankConfigError);
    expect(attempt).not.toThrow(token);
  });
});
