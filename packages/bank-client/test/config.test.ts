import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BANK_ENV, BankConfigError, bankSettingsHelp, loadBankConfig } from '../src/config/index.js';
import { loadConsoleConfig } from '../src/console/config.js';
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

  it('never echoes a secret of the wrong type in a config file: it names the setting and the kind of value', () => {
    const dir = tempDir();
    try {
      const key = 'k'.repeat(44);
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ token: [token] }, /token: must be a string, got an array \(not shown: it is a secret\)/],
        [{ token: { value: token } }, /token: must be a string, got an object/],
        [{ token, stateKey: [key] }, /stateKey: must be a string, got an array/],
      ];
      for (const [settings, said] of cases) {
        const file = path.join(dir, 'bank.json');
        writeFileSync(file, JSON.stringify({ server: 'ws://h:1/ws/bank', bankId: 'a', data: 'a.csv', ...settings }));
        const attempt = () => loadBankConfig({ file });
        expect(attempt).toThrow(said);
        expect(attempt).not.toThrow(token.slice(4, 20));
        expect(attempt).not.toThrow(key.slice(0, 16));
        // The console reads the same settings file.
        expect(() => loadConsoleConfig({ file })).not.toThrow(token.slice(4, 20));
      }
    } finally {
      cleanup(dir);
    }
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
      // Named by where the value came from: the file and its key.
      expect(message).toMatch(/bank\.json:1:\d+: dpClip: must be a finite number, got Infinity/);
      expect(message).toMatch(/bank\.json:1:\d+: seed: must be a finite number, got -Infinity/);
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

  it('names the setting a missing mapping file came from', () => {
    const missing = '/nonexistent/mapping.json';
    expect(() => loadBankConfig({ flags: base, env: { FINSECURE_MAPPING: missing } })).toThrow(/^FINSECURE_MAPPING: /);
    expect(() => loadBankConfig({ flags: { ...base, mapping: missing } })).toThrow(/^--mapping: /);
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
        /--mapping: cannot read column mapping .*nope\.json: no such file/,
      );
      const typo = path.join(dir, 'typo.json');
      writeFileSync(typo, JSON.stringify({ label: 'y', feature: ['a'] }));
      expect(() => loadBankConfig({ flags: { ...base, mapping: typo } })).toThrow(/invalid column mapping: .*features/);
      writeFileSync(inline, JSON.stringify({ mapping: { label: 'y' } }));
      expect(() => loadBankConfig({ file: inline, flags: base })).toThrow(/inline\.json:\d+:\d+: mapping: /);
    } finally {
      cleanup(dir);
    }
  });
});

describe('bank-client configuration: config file keys and where a bad value came from', () => {
  const base = { server: 'ws://h:1/ws/bank', bankId: 'bank-a', data: 'a.csv', token };
  const messageOf = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(BankConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a BankConfigError');
  };

  it('refuses unknown keys in the config file, naming the file, each key and the closest known one', () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'bank.json');
      writeFileSync(file, JSON.stringify({ tokn: token, dpclip: 1, server: 'ws://h:1/ws/bank' }));
      const m = messageOf(() => loadBankConfig({ file }));
      expect(m).toContain(`config file ${file}: unknown keys:`);
      expect(m).toContain('"tokn" (did you mean "token"?)');
      expect(m).toContain('"dpclip" (did you mean "dpClip"?)');
      // The console's keys (start serves it) and an "accounts" object belong in the same file.
      writeFileSync(file, JSON.stringify({ ...base, consolePort: 0, accounts: { detector: 'lof' } }));
      expect(() => loadBankConfig({ file, otherFileKeys: ['consolePort'] })).not.toThrow();
      // And the console refuses what neither reads.
      writeFileSync(file, JSON.stringify({ consolePrt: 8081 }));
      expect(messageOf(() => loadConsoleConfig({ file }))).toContain('"consolePrt" (did you mean "consolePort"?)');
    } finally {
      cleanup(dir);
    }
  });

  it('reads the token from tokenFile in the config file, like --token-file', () => {
    const dir = tempDir();
    try {
      const tok = path.join(dir, 'tok.txt');
      writeFileSync(tok, `${token}\n`);
      const file = path.join(dir, 'bank.json');
      writeFileSync(file, JSON.stringify({ ...base, token: undefined, tokenFile: tok }));
      expect(loadBankConfig({ file }).token).toBe(token);
      // The environment still overrides the file; --token-file overrides both.
      const envToken = 'fst_' + 'e'.repeat(40);
      expect(loadBankConfig({ file, env: { FINSECURE_BANK_TOKEN: envToken } }).token).toBe(envToken);
      expect(loadBankConfig({ file, env: { FINSECURE_BANK_TOKEN: envToken }, flags: { tokenFile: tok } }).token).toBe(
        token,
      );
      writeFileSync(file, JSON.stringify({ ...base, token: undefined, tokenFile: path.join(dir, 'nope.txt') }));
      expect(messageOf(() => loadBankConfig({ file }))).toMatch(
        /cannot read .*bank\.json:\d+:\d+: tokenFile .*nope\.txt/,
      );
      // An empty token file is named as such, not as a short --token the user never typed.
      const empty = path.join(dir, 'empty.txt');
      writeFileSync(empty, '\n');
      expect(messageOf(() => loadBankConfig({ flags: { ...base, token: undefined, tokenFile: empty } }))).toBe(
        `--token-file ${empty} is empty: it should hold the bank's token`,
      );
    } finally {
      cleanup(dir);
    }
  });

  it('refuses an unreadable CA file, or one without a certificate, at load, naming the setting', () => {
    const dir = tempDir();
    try {
      const missing = path.join(dir, 'nope.pem');
      expect(messageOf(() => loadBankConfig({ flags: { ...base, caFile: missing } }))).toBe(
        `--ca-file: cannot read ${missing} (ENOENT)`,
      );
      const notPem = path.join(dir, 'key.txt');
      writeFileSync(notPem, 'hello');
      expect(messageOf(() => loadBankConfig({ env: { FINSECURE_CA_FILE: notPem }, flags: base }))).toMatch(
        /^FINSECURE_CA_FILE: .*key\.txt holds no PEM certificate/,
      );
      const pem = path.join(dir, 'ca.pem');
      writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      expect(loadBankConfig({ flags: { ...base, caFile: pem } }).caFile).toBe(pem);
    } finally {
      cleanup(dir);
    }
  });

  it('names the variable, the flag or the file and key that gave a bad value, in plain words', () => {
    let m = messageOf(() =>
      loadBankConfig({ env: { FINSECURE_TEST_FRACTION: '5', FINSECURE_BANK_SEED: '1.5' }, flags: base }),
    );
    expect(m).toContain('FINSECURE_TEST_FRACTION: must be < 1, got 5');
    expect(m).toContain('FINSECURE_BANK_SEED: must be a whole number, got 1.5');
    expect(m).not.toMatch(/--seed|--test-fraction|expected int/);
    m = messageOf(() => loadBankConfig({ flags: { ...base, seed: 2.5 } }));
    expect(m).toContain('--seed: must be a whole number, got 2.5');
    const dir = tempDir();
    try {
      const file = path.join(dir, 'bank.json');
      writeFileSync(file, JSON.stringify({ testFraction: '0.3', split: 'random' }));
      m = messageOf(() => loadBankConfig({ file, flags: base }));
      expect(m).toContain(`${file}:1:17: testFraction: must be a number, got "0.3"`);
      expect(m).toContain(`${file}:1:31: split: must be one of stratified, time, got "random"`);
      // A file written by hand: the line and column of the value itself.
      writeFileSync(file, '{\n  "split": "stratified",\n  "testFraction":   1.5\n}\n');
      expect(messageOf(() => loadBankConfig({ file, flags: base }))).toContain(
        `${file}:3:21: testFraction: must be < 1, got 1.5`,
      );
      writeFileSync(file, JSON.stringify({ consolePort: 70000 }));
      expect(messageOf(() => loadConsoleConfig({ file }))).toContain(
        `${file}:1:16: consolePort: must be ≤ 65535, got 70000`,
      );
    } finally {
      cleanup(dir);
    }
  });

  it('says what the reconnect minimum is and where it comes from', () => {
    let m = messageOf(() => loadBankConfig({ flags: { ...base, reconnectMaxMs: 100 } }));
    expect(m).toContain(
      '--reconnect-max-ms: must be at least reconnectMinMs, the shortest wait between reconnection attempts: 500 (the default; lower it with reconnectMinMs in the config file), got 100',
    );
    const dir = tempDir();
    try {
      const file = path.join(dir, 'bank.json');
      writeFileSync(file, JSON.stringify({ reconnectMinMs: 2000 }));
      m = messageOf(() => loadBankConfig({ file, env: { FINSECURE_RECONNECT_MAX_MS: '1000' }, flags: base }));
      expect(m).toContain(`FINSECURE_RECONNECT_MAX_MS: must be at least reconnectMinMs`);
      expect(m).toContain(`2000 (${file}:1:19: reconnectMinMs), got 1000`);
    } finally {
      cleanup(dir);
    }
  });

  it('the settings table of --help names every key, every variable and the config-only keys', () => {
    const help = bankSettingsHelp(new Set(['server', 'seed', 'tokenFile']));
    for (const name of Object.keys(BANK_ENV)) expect(help).toContain(name);
    expect(help).toMatch(/seed +--seed; env FINSECURE_BANK_SEED/);
    expect(help).toMatch(/reconnectMinMs +config file only: /);
    expect(help).toMatch(/stateKey +env FINSECURE_STATE_KEY; config file only/);
    expect(help).toMatch(/tokenFile +--token-file/);
  });
});

describe('waits', () => {
  it('caps every wait at a day: Node would run a longer timer at once', () => {
    const base = {
      server: 'ws://h:1/ws/bank',
      bankId: 'probe',
      token,
      data: 'a.csv',
    };
    // welcomeTimeoutMs has no flag: it comes from the config file.
    const dir = tempDir();
    try {
      const file = path.join(dir, 'long-welcome.json');
      writeFileSync(file, JSON.stringify({ ...base, welcomeTimeoutMs: 2 ** 31 }));
      expect(() => loadBankConfig({ file })).toThrow(
        /long-welcome\.json:1:\d+: welcomeTimeoutMs: must be ≤ 86400000, got 2147483648/,
      );
      expect(() => loadBankConfig({ flags: { ...base, reconnectMaxMs: 2 ** 31 } })).toThrow(
        /--reconnect-max-ms: must be ≤ 86400000, got 2147483648/,
      );
      expect(loadBankConfig({ flags: { ...base, welcomeTimeoutMs: 86_400_000 } }).welcomeTimeoutMs).toBe(86_400_000);
    } finally {
      cleanup(dir);
    }
  });
});
