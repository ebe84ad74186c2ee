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

  it('takes the training threads from the environment or a flag (default 1) and names a bad value', () => {
    const base = { server: 'ws://a:1/ws/bank', bankId: 'b', token, data: 'a.csv' };
    expect(loadBankConfig({ flags: base }).trainingThreads).toBe(1);
    expect(loadBankConfig({ env: { FINSECURE_TRAINING_THREADS: '2' }, flags: base }).trainingThreads).toBe(2);
    expect(
      loadBankConfig({ env: { FINSECURE_TRAINING_THREADS: '2' }, flags: { ...base, trainingThreads: 3 } })
        .trainingThreads,
    ).toBe(3);
    expect(() => loadBankConfig({ flags: { ...base, trainingThreads: 0 } })).toThrow(/--training-threads: /);
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

describe('bank-client configuration: numbers and the column mapping (issue 11 items 14, 16)', () => {
  const base = { server: 'ws://h:1/ws/bank', bankId: 'bank-a', data: 'a.csv', token };

  it('refuses Infinity, NaN, 1e400 and hex from the config file and the environment, naming the setting', () => {
    const dir = tempDir();
    try {
      // JSON has no Infinity literal, but 1e400 parses as Infinity.
      const file = path.join(dir, 'bank.json');
      writeFileSync(file, '{"dpClip": 1e400, "dpNoiseMultiplier": 1, "seed": -1e400}');
      let message = '';
      try {
        loadBankConfig({ file, flags: base });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/--dp-clip: must be a finite number, got Infinity/);
      expect(message).toMatch(/--seed: must be a finite number, got -Infinity/);
      for (const [raw, msg] of [
        ['Infinity', 'FINSECURE_DP_CLIP must be a finite number, got "Infinity"'],
        ['1e400', 'FINSECURE_DP_CLIP must be a finite number, got "1e400"'],
        ['NaN', 'FINSECURE_DP_CLIP must be a number, got "NaN"'],
        ['0x10', 'FINSECURE_DP_CLIP must be a number, got "0x10" (plain decimal notation, e.g. 16 rather than 0x10)'],
      ] as const) {
        expect(() => loadBankConfig({ env: { FINSECURE_DP_CLIP: raw }, flags: base })).toThrow(msg);
      }
      expect(
        loadBankConfig({ env: { FINSECURE_DP_CLIP: '2.5e-1', FINSECURE_DP_NOISE_MULTIPLIER: '1' }, flags: base })
          .dpClip,
      ).toBe(0.25);
    } finally {
      cleanup(dir);
    }
  });

  it('reads the mapping from --mapping, FINSECURE_MAPPING or the config file (path or object)', () => {
    const dir = tempDir();
    try {
      const mapping = { label: 'is_fraud', features: ['amount', 'Unnamed: 0'], ignore: ['note'] };
      const mappingFile = path.join(dir, 'mapping.json');
      writeFileSync(mappingFile, JSON.stringify(mapping));
      expect(loadBankConfig({ flags: { ...base, mapping: mappingFile } }).mapping).toEqual(mapping);
      expect(loadBankConfig({ env: { FINSECURE_MAPPING: mappingFile }, flags: base }).mapping).toEqual(mapping);
      const inline = path.join(dir, 'inline.json');
      writeFileSync(inline, JSON.stringify({ mapping }));
      expect(loadBankConfig({ file: inline, flags: base }).mapping).toEqual(mapping);
      const byPath = path.join(dir, 'bypath.json');
      writeFileSync(byPath, JSON.stringify({ mapping: mappingFile }));
      expect(loadBankConfig({ file: byPath, flags: base }).mapping).toEqual(mapping);
      expect(loadBankConfig({ flags: base }).mapping).toBeUndefined();

      expect(() => loadBankConfig({ flags: { ...base, mapping: mappingFile, layout: 'kaggle' } })).toThrow(
        /--mapping: --mapping and --layout cannot be combined/,
      );
      expect(() => loadBankConfig({ flags: { ...base, mapping: path.join(dir, 'nope.json') } })).toThrow(
        /--mapping .*nope\.json: cannot read a JSON column mapping: no such file/,
      );
      const typo = path.join(dir, 'typo.json');
      writeFileSync(typo, JSON.stringify({ label: 'y', feature: ['a'] }));
      expect(() => loadBankConfig({ flags: { ...base, mapping: typo } })).toThrow(/invalid column mapping: .*features/);
      writeFileSync(inline, JSON.stringify({ mapping: { label: 'y' } }));
      expect(() => loadBankConfig({ file: inline, flags: base })).toThrow(/--mapping: /);
    } finally {
      cleanup(dir);
    }
  });
});
